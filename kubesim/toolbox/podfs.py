"""A container's own filesystem as exec's toolbox sees it: its volume mounts and the files a kubelet writes.

A process container here has no root filesystem of its own, and the machine's files (the cluster's state, the
incident ledger, the repository) must stay out of reach of anyone given only a kubeconfig. So the toolbox
(`cat`, `ls`) never opens a path it is given; it asks this view, which knows only:
- each volumeMount (mountPath -> the volume's directory on this machine), read below that directory only:
  a path is normalised inside the container first (`/../etc` is `/etc`, as it is in a container), and a
  symlink that resolves outside the volume's directory is treated as absent, as it would be in a container
  whose root holds nothing else;
- the files a kubelet writes into every container: /etc/hostname, /etc/hosts and /etc/resolv.conf;
- the directories above those, so `ls /` and `ls /etc` list what exists.
Everything else answers "No such file or directory".
"""

from __future__ import annotations

import os
import posixpath
import stat
from dataclasses import dataclass
from pathlib import Path

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
    content: bytes = b""
    mode: int = 0o644


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


class PodFS:
    def __init__(self, mounts: dict[str, str], files: dict[str, bytes]) -> None:
        self.mounts = {self.normalise(m): Path(d) for m, d in mounts.items()}
        self.files = {self.normalise(p): c for p, c in files.items()}

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
            return Entry(path, False, content=self.files[path])
        found = self._mount_of(path)
        if found is not None:
            mount, root = found
            return self._from_volume(path, mount, root)
        children = self._virtual_children(path)
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
            return Entry(path, True, tuple(sorted(names)), mode=stat.S_IMODE(info.st_mode))
        with open(real, "rb") as fh:
            return Entry(path, False, content=fh.read(), mode=stat.S_IMODE(info.st_mode))

    def read(self, path: str, cwd: str = "/") -> bytes:
        entry = self.lookup(path, cwd)
        if entry.is_dir:
            raise PodFSError(21, "Is a directory", entry.path)
        return entry.content
