"""`kubectl cp` both ways with a busybox container, as real kubectl drives it (tar through exec), and the
container's boundary: what tar writes and reads stays inside the container's own files."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration
LOOP = "while true; do date; sleep 5; done"


def _busybox(cluster: Cluster, k: Path, ns: str, name: str = "box", image: str = "busybox") -> None:
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": image, "command": ["/bin/sh", "-c", LOOP]}]},
    }
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=json.dumps(pod))
    cluster.kubectl(k, "-n", ns, "wait", "--for=condition=Ready", f"pod/{name}", "--timeout=30s")


def test_copy_a_file_into_and_out_of_a_container(cluster: Cluster, ns: str, kubectl_bin: Path, tmp_path: Path) -> None:
    k = kubectl_bin
    _busybox(cluster, k, ns)
    src = tmp_path / "notes.txt"
    src.write_text("first line\nsecond line\n")
    cluster.kubectl(k, "-n", ns, "cp", str(src), "box:/tmp/notes.txt")
    assert cluster.kubectl(k, "-n", ns, "exec", "box", "--", "cat", "/tmp/notes.txt").stdout == src.read_text()
    # Into an existing directory: the file keeps its name.
    cluster.kubectl(k, "-n", ns, "exec", "box", "--", "mkdir", "/data")
    cluster.kubectl(k, "-n", ns, "cp", str(src), "box:/data")
    assert cluster.kubectl(k, "-n", ns, "exec", "box", "--", "cat", "/data/notes.txt").stdout == src.read_text()
    back = tmp_path / "back.txt"
    out = cluster.kubectl(k, "-n", ns, "cp", "box:/tmp/notes.txt", str(back))
    assert back.read_text() == src.read_text()
    assert "tar: removing leading '/' from member names" in out.stdout + out.stderr  # busybox tar's words


def test_copy_a_directory_into_and_out_of_a_container(
    cluster: Cluster, ns: str, kubectl_bin: Path, tmp_path: Path
) -> None:
    k = kubectl_bin
    _busybox(cluster, k, ns)
    tree = tmp_path / "tree"
    (tree / "sub" / "deeper").mkdir(parents=True)
    (tree / "a.txt").write_text("alpha\n")
    (tree / "sub" / ".hidden").write_text("hidden\n")
    (tree / "sub" / "deeper" / "b.bin").write_bytes(bytes(range(256)) * 64)
    cluster.kubectl(k, "-n", ns, "cp", str(tree), f"{ns}/box:/tmp/tree")
    listing = cluster.kubectl(k, "-n", ns, "exec", "box", "--", "find", "/tmp/tree", "-type", "f").stdout
    assert sorted(listing.split()) == ["/tmp/tree/a.txt", "/tmp/tree/sub/.hidden", "/tmp/tree/sub/deeper/b.bin"]
    assert cluster.kubectl(k, "-n", ns, "exec", "box", "--", "cat", "/tmp/tree/sub/.hidden").stdout == "hidden\n"
    digest = cluster.kubectl(k, "-n", ns, "exec", "box", "--", "sha256sum", "/tmp/tree/sub/deeper/b.bin").stdout
    assert digest.split()[0] == hashlib.sha256((tree / "sub" / "deeper" / "b.bin").read_bytes()).hexdigest()
    back = tmp_path / "back"
    cluster.kubectl(k, "-n", ns, "cp", "box:/tmp/tree", str(back))
    assert (back / "a.txt").read_text() == "alpha\n"
    assert (back / "sub" / ".hidden").read_text() == "hidden\n"
    assert (back / "sub" / "deeper" / "b.bin").read_bytes() == (tree / "sub" / "deeper" / "b.bin").read_bytes()


def test_tar_stays_inside_the_container(cluster: Cluster, ns: str, kubectl_bin: Path, tmp_path: Path) -> None:
    k = kubectl_bin
    _busybox(cluster, k, ns)
    marker = f"kubesim-escape-{uuid.uuid4().hex[:8]}"
    outside = Path("/tmp") / marker
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        data = b"escaped?\n"
        info = tarfile.TarInfo(f"../../../../../../tmp/{marker}")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
        link = tarfile.TarInfo("evil")
        link.type, link.linkname = tarfile.SYMTYPE, "/"
        tar.addfile(link)
        through = tarfile.TarInfo(f"evil/tmp/{marker}-link")
        through.size = len(data)
        tar.addfile(through, io.BytesIO(data))
    out = subprocess.run(
        [str(k), "-n", ns, "exec", "-i", "box", "--", "tar", "xf", "-", "-C", "/tmp"],
        env=cluster.env,
        input=archive.getvalue(),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert not outside.exists() and not Path(f"/tmp/{marker}-link").exists()
    assert b"tar: removing leading '../../../../../../' from member names" in out.stderr
    assert b"tar: can't open 'evil/tmp/" in out.stderr and out.returncode == 1
    # As busybox tar does, the leading `../` went: the file landed under the directory given.
    assert cluster.kubectl(k, "-n", ns, "exec", "box", "--", "cat", f"/tmp/tmp/{marker}").stdout == "escaped?\n"
    # This machine's files are not the container's: nothing to copy out.
    here = Path(__file__).resolve()
    got = cluster.kubectl(k, "-n", ns, "cp", f"box:/../../..{here}", str(tmp_path / "stolen"), check=False)
    assert not (tmp_path / "stolen").exists()
    # Why: the container's tar has no such file. Asked through exec, which waits for both streams to end; kubectl
    # cp returns once the archive on stdout ends, so tar's stderr may not be printed yet (kubectl's own race).
    got = cluster.kubectl(k, "-n", ns, "exec", "box", "--", "tar", "cf", "-", f"/../../..{here}", check=False)
    assert f"tar: /../../..{here}: No such file or directory" in got.stderr and got.returncode == 1, got
    got = cluster.kubectl(k, "-n", ns, "exec", "box", "--", "cat", f"/tmp/evil{here}", check=False)
    assert got.returncode == 1 and "No such file or directory" in got.stderr


def test_images_without_tar_or_find(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    """openjdk (Oracle Linux) has tar but no find; the shell's globs list a directory there, as k8s_cp does."""
    k = kubectl_bin
    _busybox(cluster, k, ns, "jdk", "openjdk:17")
    out = cluster.kubectl(k, "-n", ns, "exec", "jdk", "--", "find", "/", check=False)
    assert out.returncode == 126 and 'exec: "find": executable file not found in $PATH' in out.stdout + out.stderr
    cluster.kubectl(k, "-n", ns, "exec", "jdk", "--", "mkdir", "-p", "/d/.sub")
    cluster.kubectl(k, "-n", ns, "exec", "jdk", "--", "touch", "/d/x y", "/d/.sub/z")
    echo = cluster.kubectl(k, "-n", ns, "exec", "jdk", "--", "/bin/sh", "-c", r"echo /d/* /d/.* /d/.sub/* /d/nomatch*")
    assert echo.stdout == "/d/x y /d/. /d/.. /d/.sub /d/.sub/z /d/nomatch*\n"


def test_an_archive_sent_before_the_client_hangs_up_is_written(
    cluster: Cluster, ns: str, kubectl_bin: Path, tmp_path: Path
) -> None:
    """kubernetes.core's k8s_cp writes the archive to `tar -xmf - -C /` and closes the connection at once: tar
    still reads to the end of its stdin and writes the file, as a runtime's exec runs on after its client."""
    from kubernetes.client import CoreV1Api
    from kubernetes.stream import stream

    _busybox(cluster, kubectl_bin, ns)
    payload = bytes(range(256)) * 4096  # 1 MiB
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w") as tar:
        info = tarfile.TarInfo("tmp/sent.bin")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    api = CoreV1Api(cluster.api_client())
    resp = stream(
        api.connect_get_namespaced_pod_exec,
        "box",
        ns,
        command=["tar", "-xmf", "-", "-C", "/"],
        stdin=True,
        stdout=True,
        stderr=True,
        tty=False,
        _preload_content=False,
    )
    data = archive.getvalue()
    for i in range(0, len(data), 256 * 1024):
        resp.write_stdin(data[i : i + 256 * 1024])
    resp.close()

    def digest() -> str:
        out = cluster.kubectl(kubectl_bin, "-n", ns, "exec", "box", "--", "sha256sum", "/tmp/sent.bin", check=False)
        return out.stdout.split()[0] if out.returncode == 0 else ""

    assert cluster.wait_for(digest, timeout=10, interval=0.2) == hashlib.sha256(payload).hexdigest()
