"""The programs inside a container that `kubectl exec` (and `kubectl run` of a toolbox image) can run.

A process container is not a host shell: exec runs only what the container's image would have, declared per
image in TOOLBOXES below, and anything else answers as containerd and runc do ("exec: \"bash\": executable
file not found in $PATH", exit 126). The programs:
- `curl` is Debian's curl, given the pod's view of the network (kubesim/toolbox/curl.py);
- `tar` and `find` (kubesim/toolbox/archive.py: what `kubectl cp` and kubernetes.core's k8s_cp run);
- `wget` and `nc -z` (kubesim/toolbox/net.py), `env`, `printenv`, `cat`, `ls`, `hostname`, `sleep`, `echo`,
  `true`, `false`, `pwd`, `ps`, `nslookup` and a `sh` for simple command lines (kubesim/toolbox/programs.py)
  are small Python programs with the options,
  messages and exit codes of busybox (Alpine-based images) or coreutils (Debian-based images). They are
  written here rather than run from the machine because the real ones would see the machine's files,
  processes and resolver, not the container's (kubesim/toolbox/podfs.py is the container's filesystem).
Every program runs as `python -m kubesim.toolbox <program> <args...>` with the container's environment,
in its cgroup, so exec costs the container's own CPU and memory, as it does on a node.
"""

from __future__ import annotations

from dataclasses import dataclass

# What an image's PATH holds (the default of the Alpine and Debian base images).
IMAGE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

_COMMON = frozenset(
    {"cat", "echo", "env", "false", "hostname", "ls", "printenv", "pwd", "sleep", "true"}
    | {"[", "basename", "date", "dirname", "head", "md5sum", "seq", "sha256sum", "tail", "test", "wc"}
    | {"mkdir", "rm", "touch", "tar"}
)
BUSYBOX = _COMMON | {"find", "nc", "nslookup", "ps", "sh", "wget"}  # Alpine and busybox images: busybox applets
COREUTILS = _COMMON | {"sh"}  # Debian slim images: coreutils and dash, no procps, no curl


@dataclass(frozen=True)
class Toolbox:
    """The programs of one image and whose messages they print (busybox or coreutils)."""

    flavour: str
    programs: frozenset[str]

    def has(self, program: str) -> bool:
        return program in self.programs


NONE = Toolbox("", frozenset())
_ALPINE = Toolbox("busybox", BUSYBOX)
_DEBIAN = Toolbox("coreutils", COREUTILS)

# Image repository (as kubesim.runtime.images names it) -> its toolbox. Images not listed have none (a
# FROM-scratch image such as the RabbitMQ exporter's, or one the cluster runs as a placeholder).
TOOLBOXES: dict[str, Toolbox] = {
    "docker.io/curlimages/curl": Toolbox("busybox", BUSYBOX | {"curl"}),
    "docker.io/library/busybox": _ALPINE,
    "docker.io/library/alpine": _ALPINE,
    "docker.io/library/openjdk": _DEBIAN,  # Oracle Linux: coreutils and tar, no find
    # The lab's runbooks curl from inside front-end (`kubectl exec deployment/front-end -- curl ...`).
    "quay.io/powercloud/sock-shop-front-end": Toolbox("busybox", BUSYBOX | {"curl"}),
    "quay.io/powercloud/sock-shop-catalogue": _ALPINE,
    "quay.io/powercloud/sock-shop-orders": _ALPINE,
    "quay.io/powercloud/sock-shop-user": _ALPINE,
    "quay.io/powercloud/sock-shop-carts": _ALPINE,
    "quay.io/powercloud/sock-shop-shipping": _ALPINE,
    "quay.io/powercloud/sock-shop-queue-master": _ALPINE,
    "stripe/stripe-mock": _ALPINE,
    "docker.io/stripe/stripe-mock": _ALPINE,
    "quay.io/prometheus/prometheus": _ALPINE,  # built FROM quay.io/prometheus/busybox
    "sock-shop-payment-gateway": _DEBIAN,  # python:3-slim
    "docker.io/library/sock-shop-payment-gateway": _DEBIAN,
    "docker.io/library/python": _DEBIAN,
    "docker.io/locustio/locust": _DEBIAN,
    "quay.io/powercloud/sock-shop-catalogue-db": _DEBIAN,
    "quay.io/powercloud/sock-shop-user-db": _DEBIAN,
    "docker.io/library/mariadb": _DEBIAN,
    "docker.io/library/redis": _DEBIAN,
    "docker.io/library/mongo": _DEBIAN,
    "quay.io/mongodb/mongodb": _DEBIAN,
    "docker.io/library/rabbitmq": _DEBIAN,
    "quay.io/powercloud/rabbitmq": _DEBIAN,
}


def toolbox_for(repository: str) -> Toolbox:
    return TOOLBOXES.get(repository, NONE)


def not_found(program: str) -> str:
    """runc's answer for a program the image does not have (what `kubectl exec` prints, exit 126)."""
    return (
        "OCI runtime exec failed: exec failed: unable to start container process: "
        f'exec: "{program}": executable file not found in $PATH: unknown'
    )
