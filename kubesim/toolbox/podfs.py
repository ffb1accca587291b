"""A container's own filesystem as exec's toolbox sees it: its volume mounts and the files a kubelet writes.

A process container here has no root filesystem of its own, and the machine's files (the cluster's state, the
incident ledger, the repository) must stay out of reach of anyone given only a kubeconfig. So the toolbox
(`cat`, `ls`) never opens a path it is given; it asks this view, which knows only:
- each volumeMount (mountPath -> the volume's directory on this machine), read below that directory only:
  a path is normalised inside the container first (`/../etc` is `/etc`, as it is in a container), and a
  symlink that resolves outside the volume's directory is treated as absent, as it would be in a container
  whose root holds nothing else;
- the files a kubelet writes into every container: /etc/hostname, /etc/hosts and /etc/resolv.conf;
- the directories above those, so `ls /` and `ls /etc` list what exists;
- the container's own writable layer (`rootfs`, a directory of the pod's work directory, one per container, as
  a container runtime keeps one): every other path, with the image's top-level directories (/tmp, /root, ...),
  so `tar -x`, `> file`, `mkdir`, `rm` (kubectl cp, k8s_cp) write into the container and nowhere else. It is
  confined as a volume is, and goes with the pod.
Everything else answers "No such file or directory".
"""

from __future__ import annotations

import io
import os
import posixpath
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

CLUSTER_DNS = "10.96.0.10"
POD_NET_PREFIX = "10.244."


class PodFSError(OSError):
    """A path the container does not have (ENOENT), or a directory where a file was wanted (EISDIR)."""


@dataclass(frozen=True)
class Entry:
    """What a container path is: a directory (with its children's names) or a file (with its bytes)."""

    path: str
    is_dir: bool
    children: tuple[str, ...] = ()
    data: bytes = b""
    mode: int = 0o644
    real: str = ""  # the file (or directory) on this machine, read when its content is wanted
    size: int = 0

    @property
    def content(self) -> bytes:
        if self.real and not self.is_dir:
            with open(self.real, "rb") as fh:
                return fh.read()
        return self.data


def kubelet_files(hostname: str, namespace: str, pod_ip: str) -> dict[str, bytes]:
    """The files a kubelet puts into every container (contents as on a kind node with cluster DNS)."""
    hosts = (
        "# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n"
        f"{pod_ip}\t{hostname}\n"
    )
    search = f"{namespace}.svc.cluster.local svc.cluster.local cluster.local"
    return {
        "/etc/hostname": f"{hostname}\n".encode(),
        "/etc/hosts": hosts.encode(),
        "/etc/resolv.conf": f"search {search}\nnameserver {CLUSTER_DNS}\noptions ndots:5\n".encode(),
    }


def cluster_pod_ip(loopback_ip: str) -> str:
    """The pod IP 10.244.B.C of its loopback image 127.<slot>.B.C (the NetMap rule, reversed)."""
    parts = loopback_ip.split(".")
    return POD_NET_PREFIX + ".".join(parts[2:]) if len(parts) == 4 else loopback_ip


# What the writable layer of a fresh container holds: the image's top-level directories.
IMAGE_DIRS = ("bin", "dev", "etc", "home", "proc", "root", "sys", "tmp", "usr", "var")


def make_rootfs(path: Path) -> None:
    """A container's writable layer, created when the container is."""
    for name in IMAGE_DIRS:
        (path / name).mkdir(parents=True, exist_ok=True)
    (path / "tmp").chmod(0o1777)


class PodFS:
    def __init__(self, mounts: dict[str, str], files: dict[str, bytes], rootfs: str = "") -> None:
        self.mounts = {self.normalise(m): Path(d) for m, d in mounts.items()}
        self.files = {self.normalise(p): c for p, c in files.items()}
        self.rootfs = Path(rootfs) if rootfs else None

    @staticmethod
    def normalise(path: str, cwd: str = "/") -> str:
        """The absolute container path; `..` stops at the container's root."""
        joined = posixpath.normpath(posixpath.join("/", cwd, path))
        return "/" + joined.lstrip("/")  # POSIX keeps a leading "//"; a container's root is one "/"

    def _mount_of(self, path: str) -> tuple[str, Path] | None:
        for mount in sorted(self.mounts, key=len, reverse=True):
            if path == mount or path.startswith(mount.rstrip("/") + "/"):
                return mount, self.mounts[mount]
        return None

    def _virtual_children(self, path: str) -> set[str]:
        """Names directly under `path` that mounts and kubelet files make exist."""
        prefix = path.rstrip("/") + "/"
        names = set()
        for known in (*self.mounts, *self.files):
            if known.startswith(prefix) and known != prefix:
                names.add(known[len(prefix) :].split("/", 1)[0])
        return names

    def lookup(self, path: str, cwd: str = "/") -> Entry:
        """The entry at a container path; PodFSError(ENOENT) when the container has no such path."""
        path = self.normalise(path, cwd)
        if path in self.files:
            return Entry(path, False, data=self.files[path], size=len(self.files[path]))
        found = self._mount_of(path)
        if found is not None:
            mount, root = found
            return self._from_volume(path, mount, root)
        children = self._virtual_children(path)
        if self.rootfs is not None:
            try:
                return self._from_volume(path, "/", self.rootfs)
            except PodFSError:
                if not children:
                    raise
        if children or path == "/":
            return Entry(path, True, tuple(sorted(children)), mode=0o755)
        raise PodFSError(2, "No such file or directory", path)

    def _from_volume(self, path: str, mount: str, root: Path) -> Entry:
        relative = path[len(mount) :].lstrip("/")
        real_root = os.path.realpath(root)
        real = os.path.realpath(os.path.join(real_root, relative))
        if real != real_root and not real.startswith(real_root + os.sep):  # a symlink out of the volume
            raise PodFSError(2, "No such file or directory", path)
        try:
            info = os.stat(real)
        except OSError as exc:
            raise PodFSError(2, "No such file or directory", path) from exc
        if stat.S_ISDIR(info.st_mode):
            names = set(os.listdir(real)) | self._virtual_children(path)
            return Entry(path, True, tuple(sorted(names)), mode=stat.S_IMODE(info.st_mode), real=real)
        return Entry(path, False, mode=stat.S_IMODE(info.st_mode), real=real, size=info.st_size)

    # ---- writing: into a volume or the container's writable layer, never elsewhere
    def host_path(self, path: str, cwd: str = "/") -> str:
        """Where a container path is written on this machine; EROFS for the kubelet's files, ENOENT where the
        container has no writable place (no writable layer), and never a path outside the volume or layer (a
        symlink that leaves it is refused)."""
        path = self.normalise(path, cwd)
        if path in self.files:
            raise PodFSError(30, "Read-only file system", path)
        found = self._mount_of(path)
        mount, root = found if found is not None else ("/", self.rootfs)
        if root is None:
            raise PodFSError(30, "Read-only file system", path)
        real_root = os.path.realpath(root)
        relative = path[len(mount) :].lstrip("/")
        parent = os.path.realpath(os.path.join(real_root, os.path.dirname(relative)))
        if parent != real_root and not parent.startswith(real_root + os.sep):
            raise PodFSError(2, "No such file or directory", path)
        target = os.path.join(parent, os.path.basename(relative)) if relative else real_root
        if os.path.islink(target):
            resolved = os.path.realpath(target)
            if resolved != real_root and not resolved.startswith(real_root + os.sep):
                raise PodFSError(2, "No such file or directory", path)
        return target

    def open_write(self, path: str, *, append: bool = False, cwd: str = "/") -> BinaryIO:
        target = self.host_path(path, cwd)
        if os.path.isdir(target):
            raise PodFSError(21, "Is a directory", path)
        if not os.path.isdir(os.path.dirname(target)):
            raise PodFSError(2, "No such file or directory", path)
        return open(target, "ab" if append else "wb")

    def mkdir(self, path: str, *, parents: bool = False, mode: int = 0o755, cwd: str = "/") -> None:
        target = self.host_path(path, cwd)
        if parents:
            if os.path.isfile(target):
                raise PodFSError(17, "File exists", path)
            os.makedirs(target, mode=mode, exist_ok=True)
            return
        if os.path.lexists(target) or self.normalise(path, cwd) in self.mounts:
            raise PodFSError(17, "File exists", path)
        if not os.path.isdir(os.path.dirname(target)):
            raise PodFSError(2, "No such file or directory", path)
        os.mkdir(target, mode)

    def remove(self, path: str, *, recursive: bool = False, cwd: str = "/") -> None:
        normal = self.normalise(path, cwd)
        if normal in self.mounts or normal == "/":
            raise PodFSError(16, "Resource busy", path)
        target = self.host_path(path, cwd)
        if not os.path.lexists(target):
            raise PodFSError(2, "No such file or directory", path)
        if os.path.isdir(target) and not os.path.islink(target):
            if not recursive:
                raise PodFSError(21, "Is a directory", path)
            shutil.rmtree(target)
        else:
            os.unlink(target)

    def walk(self, path: str, cwd: str = "/") -> list[Entry]:
        """The entry and, for a directory, everything below it (depth first, as find lists them)."""
        top = self.lookup(path, cwd)
        out = [top]
        if top.is_dir:
            for name in top.children:
                out.extend(self.walk(top.path.rstrip("/") + "/" + name))
        return out

    def open_read(self, path: str, cwd: str = "/") -> BinaryIO:
        """A file of the container opened for reading (streamed: kubectl cp and k8s_cp read large files)."""
        entry = self.lookup(path, cwd)
        if entry.is_dir:
            raise PodFSError(21, "Is a directory", entry.path)
        if entry.real:
            return open(entry.real, "rb")
        return io.BytesIO(entry.data)

    def read(self, path: str, cwd: str = "/") -> bytes:
        entry = self.lookup(path, cwd)
        if entry.is_dir:
            raise PodFSError(21, "Is a directory", entry.path)
        return entry.content
