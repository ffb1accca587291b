"""`kubectl exec`, `attach` and `run --rm -i` against the embedded cluster, with the real kubectl binary and the
Python client (v4.channel.k8s.io): the toolbox of each image, exit codes, stdin, curl with the pod's view of the
network (a Service with and without endpoints), and the sealed boundary (no file of the machine is readable)."""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import psutil
import pytest

from tests.integration.conftest import KUBECTLS, Cluster, require_kubectl
from tests.integration.web import busybox, container, create, deploy, ready_pod, server

IMAGE_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
NOT_FOUND = (
    'OCI runtime exec failed: exec failed: unable to start container process: exec: "{}": executable file not found '
    "in $PATH: unknown"
)


def _ready_pod(cluster: Cluster, ns: str) -> str:
    pod = ready_pod(cluster, ns)
    return str(pod["metadata"]["name"]) if pod else ""


@pytest.fixture(scope="module")
def web(cluster: Cluster) -> Iterator[str]:
    """Namespace with Deployment `web` (python:3.12-slim: a Debian toolbox) behind Service `web` (80 -> 8080),
    a ConfigMap mounted at /config and an emptyDir at /data."""
    require_kubectl()
    ns = cluster.namespace("exec")
    create(cluster, f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "cfg"}, "data": {"greeting": "hi"}})
    # the program makes a symlink out of its emptyDir to a file of the machine
    web = container(
        server('os.symlink("/etc/passwd", "/data/escape")'),
        env=[{"name": "GATEWAY_URL", "value": "http://stripe-mock"}],
        volumeMounts=[{"name": "cfg", "mountPath": "/config"}, {"name": "data", "mountPath": "/data"}],
    )
    deploy(cluster, ns, web, [{"name": "cfg", "configMap": {"name": "cfg"}}, {"name": "data", "emptyDir": {}}])
    yield ns
    cluster.json("DELETE", f"/api/v1/namespaces/{ns}")


def kubectl(cluster: Cluster, ns: str, *args: str, input: str | None = None) -> Any:
    return cluster.kubectl(KUBECTLS[0], "-n", ns, *args, input=input, check=False, timeout=60)


def test_exec_env_shows_the_containers_environment_only(cluster: Cluster, web: str) -> None:
    pod = _ready_pod(cluster, web)
    out = kubectl(cluster, web, "exec", "deployment/web", "--", "env")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[:2] == [IMAGE_PATH, f"HOSTNAME={pod}"] and lines[-1] == "HOME=/root"
    assert "GATEWAY_URL=http://stripe-mock" in lines and f"POD_NAME={pod}" in lines
    assert "KUBERNETES_SERVICE_HOST=10.96.0.1" in lines
    assert not [line for line in lines if line.startswith(("KUBESIM_", "PYTHONPATH=", "PWD="))]
    assert str(cluster.root) not in out.stdout  # nothing names the machine's directories


def test_exec_it_without_a_terminal_still_runs(cluster: Cluster, web: str) -> None:
    out = kubectl(cluster, web, "exec", "-it", "deployment/web", "--", "printenv", "GATEWAY_URL")
    assert out.returncode == 0 and out.stdout == "http://stripe-mock\n", out
    assert "Unable to use a TTY - input is not a terminal" in out.stderr


def test_programs_the_image_lacks_answer_as_runc_does(cluster: Cluster, web: str) -> None:
    for program in ("bash", "curl", "ps"):  # python:3.12-slim has dash, no bash, no curl, no procps
        out = kubectl(cluster, web, "exec", "deployment/web", "--", program, "-c", "true")
        assert out.returncode == 126, out
        assert out.stdout == NOT_FOUND.format(program) + "\n"
        assert "command terminated with exit code 126" in out.stderr


def test_exit_codes_and_stdin(cluster: Cluster, web: str) -> None:
    out = kubectl(cluster, web, "exec", "deployment/web", "--", "sh", "-c", "echo $GATEWAY_URL && exit 3")
    assert (out.returncode, out.stdout) == (3, "http://stripe-mock\n"), out
    assert "command terminated with exit code 3" in out.stderr
    out = kubectl(cluster, web, "exec", "-i", "deployment/web", "--", "cat", input="line one\nline two\n")
    assert (out.returncode, out.stdout) == (0, "line one\nline two\n"), out


def test_files_are_the_containers_and_nothing_else(cluster: Cluster, web: str) -> None:
    pod = _ready_pod(cluster, web)
    assert kubectl(cluster, web, "exec", pod, "--", "cat", "/config/greeting").stdout == "hi"
    assert kubectl(cluster, web, "exec", pod, "--", "cat", "/etc/hostname").stdout == f"{pod}\n"
    # the volumes, the kubelet's /etc files and the image's directories of the container's writable layer
    listed = kubectl(cluster, web, "exec", pod, "--", "ls", "/").stdout.split()
    assert listed == sorted({"config", "data", "etc", "bin", "dev", "home", "proc", "root", "sys", "tmp", "usr", "var"})
    assert kubectl(cluster, web, "exec", pod, "--", "ls", "/data").stdout == "escape\n"  # the link is there...
    state = str(cluster.state / "state.json")
    for path in ("/etc/passwd", "/data/escape", "/config/../../../etc/passwd", "/data/../../etc/passwd", state):
        out = kubectl(cluster, web, "exec", pod, "--", "cat", path)  # ...but leads nowhere
        assert (out.returncode, out.stdout) == (1, ""), (path, out)
        assert out.stderr.startswith(f"cat: {path}: No such file or directory\n"), out.stderr


def test_curl_pod_reaches_a_service_and_is_removed(cluster: Cluster, web: str) -> None:
    run = ("run", "probe", "--image=curlimages/curl:latest", "--rm", "-i", "--restart=Never", "--command", "--")
    out = kubectl(cluster, web, *run, "curl", "-sS", "http://web:80/hello")
    assert out.returncode == 0, out
    assert out.stdout.startswith(f"/hello from {_ready_pod(cluster, web)}"), out.stdout
    assert 'pod "probe" deleted' in out.stdout + out.stderr
    assert kubectl(cluster, web, "get", "pod", "probe").returncode == 1  # NotFound: removed
    bb = ("run", "bb", "--image=busybox", "--rm", "-i", "--restart=Never", "--")
    out = kubectl(cluster, web, *bb, "wget", "-qO-", "http://web/w")
    assert out.returncode == 0 and out.stdout.startswith("/w from web-"), out
    out = kubectl(cluster, web, *bb, "nc", "-zv", "web", "80")
    assert out.returncode == 0 and "web (10." in out.stdout + out.stderr and ":80) open" in out.stdout + out.stderr

    scale = kubectl(cluster, web, "scale", "deployment/web", "--replicas=0")
    assert scale.returncode == 0, scale
    try:
        cluster.wait_for(lambda: not _ready_pod(cluster, web), timeout=30, interval=0.2)
        out = kubectl(cluster, web, *run, "curl", "-sS", "http://web:80/hello")
        assert "curl: (7) Failed to connect to web port 80 after" in out.stdout + out.stderr, out
        assert "Couldn't connect to server" in out.stdout + out.stderr
        assert out.returncode == 7, out
        assert "127." not in out.stdout + out.stderr  # the machine's loopback images stay hidden
        out = kubectl(cluster, web, *bb, "wget", "-qO-", "http://web/w")
        assert out.returncode == 1, out
        assert re.search(
            r"wget: can't connect to remote host \(10\.[0-9.]+\): Connection refused", out.stdout + out.stderr
        )
        assert kubectl(cluster, web, *bb, "nc", "-z", "web", "80").returncode == 1
    finally:
        kubectl(cluster, web, "scale", "deployment/web", "--replicas=1")
        cluster.wait_for(lambda: _ready_pod(cluster, web), timeout=60, interval=0.2)


def test_curl_refuses_the_machines_files(cluster: Cluster, web: str) -> None:
    run = ("run", "files", "--image=curlimages/curl", "--rm", "-i", "--restart=Never", "--")
    refused = "not available in this cluster's toolbox: it would read or write a file of the machine"
    written = cluster.root / "written-by-curl"
    for args in (
        ["-K", "/etc/passwd", "http://web"],
        ["-d", "@/etc/passwd", "http://web"],
        ["-sSo", str(written), "http://web"],
        ["--cacert", "/etc/passwd", "http://web"],
    ):
        out = kubectl(cluster, web, *run, "-sS", *args)
        assert out.returncode == 2, (args, out)
        assert refused in out.stdout + out.stderr, (args, out)
    assert not written.exists()
    out = kubectl(cluster, web, *run, "-sS", "file:///etc/passwd")
    assert (
        out.returncode == 1
        and 'curl: (1) Protocol "file" not supported or disabled in libcurl' in out.stdout + out.stderr
    ), out
    assert "root:" not in out.stdout + out.stderr


def test_busybox_shell_over_attach(cluster: Cluster, web: str) -> None:
    """`run -i` attaches to the container's stdin: the shell reads the commands given to kubectl."""
    out = kubectl(
        cluster,
        web,
        "run", "shell", "--image=busybox", "--rm", "-i", "--restart=Never", "--", "sh",
        input="nslookup web\nhostname\nexit 4\n",
    )  # fmt: skip
    assert f"Name:\tweb.{web}.svc.cluster.local\nAddress: 10." in out.stdout, out
    assert "\nshell\n" in out.stdout
    assert out.returncode == 4, out


def test_python_client_v4_exec(cluster: Cluster, web: str) -> None:
    from kubernetes import client
    from kubernetes.stream import stream

    api = client.CoreV1Api(cluster.api_client())
    pod = _ready_pod(cluster, web)
    text = stream(
        api.connect_get_namespaced_pod_exec,
        pod,
        web,
        command=["printenv", "GATEWAY_URL"],
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
    )
    assert text == "http://stripe-mock\n"
    resp = stream(
        api.connect_get_namespaced_pod_exec,
        pod,
        web,
        command=["cat"],
        stdout=True,
        stderr=True,
        stdin=True,
        tty=False,
        _preload_content=False,
    )
    resp.write_stdin("over v4\n")
    got = ""
    for _ in range(40):
        resp.update(timeout=0.25)
        got += resp.read_stdout(timeout=0) if resp.peek_stdout() else ""
        if got:
            break
    resp.close()
    assert got == "over v4\n"
    resp = stream(
        api.connect_get_namespaced_pod_exec,
        pod,
        web,
        command=["ls", "/nope"],
        stdout=True,
        stderr=True,
        stdin=False,
        tty=False,
        _preload_content=False,
    )
    resp.run_forever(timeout=10)
    assert resp.returncode == 2  # coreutils' ls: "cannot access"
    assert "ls: cannot access '/nope': No such file or directory" in resp.read_stderr()


def test_exec_errors_before_the_upgrade(cluster: Cluster, web: str) -> None:
    base = f"/api/v1/namespaces/{web}/pods"
    create(
        cluster,
        base,
        {
            "metadata": {"name": "done"},
            "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "busybox", "command": ["true"]}]},
        },
    )
    create(
        cluster, base, {"metadata": {"name": "static"}, "spec": {"containers": [{"name": "c", "image": "nginx:1.27"}]}}
    )

    def finished() -> bool:
        _, pod = cluster.json("GET", f"{base}/done")
        return pod["status"].get("phase") == "Succeeded"

    cluster.wait_for(finished, timeout=30, interval=0.2)
    upgrade = {
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Protocol": "v5.channel.k8s.io",
    }
    status, body = cluster.json("GET", f"{base}/done/exec?command=ls&stdout=true", headers=upgrade)
    assert (status, body["message"]) == (400, 'container not found ("c")'), body
    cluster.wait_for(lambda: cluster.json("GET", f"{base}/static")[1]["status"].get("phase") == "Running", timeout=30)
    status, body = cluster.json("GET", f"{base}/static/exec?command=ls&stdout=true", headers=upgrade)
    assert status == 400 and "as a placeholder" in body["message"], body
    status, body = cluster.json("GET", f"{base}/static/exec?stdout=true", headers=upgrade)
    assert (status, body["message"]) == (400, "you must specify at least 1 command"), body
    out = kubectl(cluster, web, "exec", "done", "--", "ls")
    assert out.returncode == 1 and "completed pod" in out.stderr, out


def test_logs_follow_a_live_pod_and_end_when_it_goes(cluster: Cluster, web: str) -> None:
    busybox(cluster, web, "talker", ["sh", "-c", "echo first; sleep 0.3; echo second; sleep 600"])
    follow = subprocess.Popen(
        [str(KUBECTLS[0]), "-n", web, "logs", "-f", "talker"],
        env=cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follow.stdout is not None
        assert [follow.stdout.readline(), follow.stdout.readline()] == ["first\n", "second\n"]
        assert follow.poll() is None  # still following the live container
        assert kubectl(cluster, web, "delete", "pod", "talker", "--wait=false", "--grace-period=1").returncode == 0
        assert follow.wait(30) == 0  # the stream ends with the container
    finally:
        if follow.poll() is None:
            follow.kill()
            follow.wait(10)


def test_exec_it_gives_the_program_a_terminal(cluster: Cluster, web: str) -> None:
    """`exec -it ... sh` from a terminal: the shell prompts, the terminal echoes and edits lines, ^C stops the
    running command and not the shell, and the shell's exit code is kubectl's."""
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [str(KUBECTLS[0]), "-n", web, "exec", "-it", "deployment/web", "--", "sh"],
        env=cluster.env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    seen = b""

    def until(text: bytes) -> None:
        nonlocal seen
        deadline = time.monotonic() + 20
        while text not in seen:
            assert time.monotonic() < deadline, seen
            if select.select([primary], [], [], 0.2)[0]:
                with contextlib.suppress(OSError):
                    seen += os.read(primary, 4096)

    try:
        until(b"# ")
        os.write(primary, b"echo $GATEWAY_URL\r")
        until(b"http://stripe-mock\r\n")
        assert b"echo $GATEWAY_URL\r\n" in seen  # the terminal echoed what was typed
        os.write(primary, b"sleep 100\r")
        until(b"sleep 100\r\n")
        os.write(primary, b"\x03")  # ^C, then wait for the new prompt, as a person does (the terminal flushes
        until(b"^C\r\n# ")  # what was typed ahead of the interrupt)
        os.write(primary, b"echo $?\r")
        until(b"130\r\n")
        os.write(primary, b"exit 3\r")
        code = proc.wait(20)
        with contextlib.suppress(OSError):
            seen += os.read(primary, 4096)
        assert code == 3, seen
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(primary)


def test_kubernetes_core_k8s_exec(cluster: Cluster, web: str) -> None:
    out, counts = cluster.playbook("k8s_exec.yml", ns=web, pod=_ready_pod(cluster, web))
    assert out.returncode == 0, out.stdout[-3000:]
    assert counts["failed"] == 0 and counts["ok"] == 3


def test_an_exec_ends_with_its_container(cluster: Cluster, web: str) -> None:
    """Deleting the pod ends a running exec as a runtime does (the program killed, exit 137), and the exec'd
    program does not outlive the container."""
    busybox(cluster, web, "host", ["sleep", "600"])
    session = subprocess.Popen(
        [str(KUBECTLS[0]), "-n", web, "exec", "host", "--", "sleep", "6007"],
        env=cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def exec_processes() -> list[psutil.Process]:
        found = []
        for proc in psutil.process_iter(["cmdline"]):
            with contextlib.suppress(psutil.Error):
                if (
                    proc.info["cmdline"]
                    and proc.info["cmdline"][-2:] == ["sleep", "6007"]
                    and "kubesim.toolbox" in proc.info["cmdline"]
                ):
                    found.append(proc)
        return found

    try:
        cluster.wait_for(exec_processes, timeout=10)
        assert kubectl(cluster, web, "delete", "pod", "host", "--wait=false", "--grace-period=1").returncode == 0
        assert session.wait(30) == 137
        assert "command terminated with exit code 137" in (session.stderr.read() if session.stderr else "")
        assert not exec_processes()
    finally:
        if session.poll() is None:
            session.kill()
            session.wait(10)
