"""Each process container in its own cgroup, with its CPU and memory limits where a real kubelet puts them.

Hand-written because no maintained PyPI package manages cgroup v1 and v2 limits for child processes: the
libraries there either read cgroups only (for metrics), speak to systemd over D-Bus, or are unmaintained v1-only
wrappers. What the kubelet needs is small: make a directory per pod and container under our own cgroup, write
the limits (the same files and the same conversions as the kubelet and runc), join the cgroup before exec, read
cAdvisor's figures back and remove it all afterwards, also after a crashed run.

Layout, in every hierarchy: <our own cgroup>/kubesim-<cluster>/pod<uid>/<container>. Where no cgroup can be
made, `cgroups_fallback` enforces the limits from the kubelet itself (stop/continue and RSS sampling).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import shlex
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from kubesim.usage import Limits

CFS_PERIOD_US = 100_000  # the kubelet's default cpuCFSQuotaPeriod
MIN_QUOTA_US = 1_000  # the kernel refuses quotas below 1 ms; the kubelet rounds up to it
MIN_SHARES, MAX_SHARES = 2, 262_144
CONTROLLERS = ("cpu", "cpuacct", "memory")  # what the v1 driver needs mounted
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class CgroupError(OSError):
    """A cgroup could not be made, written, read or removed; the message names the file and what to do."""

    def __init__(self, code: int | None, message: str) -> None:
        super().__init__(code or 0, message)

    def __str__(self) -> str:
        return str(self.strerror)


@dataclass(frozen=True)
class CgroupStats:
    cpu_seconds_total: float  # cumulative CPU time of the container
    memory_working_set_bytes: int  # usage minus inactive file cache (cAdvisor's definition), >= 0
    memory_rss_bytes: int
    cfs_periods_total: int
    cfs_throttled_periods_total: int
    cfs_throttled_seconds_total: float
    oom_kills: int  # how many times a process of this container was killed for memory


def milli_cpu_to_shares(milli: int | None) -> int:
    """The kubelet's MilliCPUToShares: cpu.shares from the CPU request (none: the minimum, 2)."""
    if not milli:
        return MIN_SHARES
    return max(MIN_SHARES, min(MAX_SHARES, milli * 1024 // 1000))


def milli_cpu_to_quota(milli: int | None, period_us: int = CFS_PERIOD_US) -> int:
    """The kubelet's MilliCPUToQuota: cpu.cfs_quota_us from the CPU limit (none: -1, unlimited)."""
    if not milli:
        return -1
    return max(MIN_QUOTA_US, milli * period_us // 1000)


def shares_to_weight(shares: int) -> int:
    """The kubelet's (runc's) CpuSharesToCpuWeight: cgroup v2 cpu.weight from cgroup v1 cpu.shares."""
    return 1 + ((shares - 2) * 9999) // 262142


def write(path: Path, value: str | int) -> None:
    """Write one cgroup interface file, raising a CgroupError that says what went wrong and what to do."""
    try:
        with open(path, "w") as f:
            f.write(str(value))
    except OSError as exc:
        raise CgroupError(
            exc.errno, f"cannot write {str(value)!r} to {path}: {exc.strerror}; {_hint(exc, path)}"
        ) from exc


def _hint(exc: OSError, path: Path) -> str:
    if not path.parent.is_dir():
        return "the cgroup directory does not exist (removed meanwhile?); create the container's cgroup again"
    if not path.exists():
        return "the kernel offers no such file here: the controller is not mounted or not enabled for this cgroup"
    if exc.errno == errno.EINVAL:
        return "the kernel rejected the value: check the container's resources and the file's format"
    if exc.errno == errno.EBUSY and path.name.startswith("memory."):
        return "the cgroup already uses more memory than that and the kernel could not reclaim it: raise the limit"
    if exc.errno == errno.EBUSY:
        return "the cgroup holds processes, and only leaf cgroups may (cgroup v2's no-internal-process rule)"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        who = "" if os.geteuid() == 0 else " (not root)"
        return f"no permission{who}: run the cluster as root, delegate this cgroup to the user, or use --cgroups none"
    return "check the cgroup filesystem, or start the cluster with --cgroups none"


def read_kv(path: Path) -> dict[str, int]:
    """A flat-keyed file (memory.stat, cpu.stat, memory.events, memory.oom_control) as numbers."""
    out = {}
    for line in _read(path).splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            out[key] = int(value)
    return out


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise CgroupError(exc.errno, f"cannot read {path}: {exc.strerror}; {_hint(exc, path)}") from exc


def _check_name(kind: str, name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"{kind} {name!r} cannot name a cgroup: use letters, digits, '.', '_' and '-'")
    return name


class ContainerCgroup:
    """One container's cgroup (or, in the fallback, what stands for it)."""

    path = ""  # as cAdvisor's `id` label shows it

    def wrap(self, argv: list[str]) -> list[str]:
        """The command line that joins this cgroup before exec'ing argv."""
        return list(argv)

    def attach(self, pid: int) -> None:
        """Called right after spawn with the process-group leader's pid."""

    def stats(self) -> CgroupStats:
        raise NotImplementedError

    def remove(self) -> None:
        raise NotImplementedError


class CgroupDriver:
    """Makes, reads and removes the containers' cgroups of one cluster."""

    name = ""
    enforced_by_kernel = False
    description = ""

    def create(self, pod_uid: str, container: str, limits: Limits) -> ContainerCgroup:
        raise NotImplementedError

    def remove_pod(self, pod_uid: str) -> None:
        raise NotImplementedError

    def cleanup(self) -> int:
        raise NotImplementedError

    def leftovers(self) -> list[str]:
        raise NotImplementedError

    async def run(self) -> None:
        """The enforcement loop: nothing to do where the kernel enforces."""


class KernelCgroup(ContainerCgroup):
    def __init__(self, driver: KernelDriver, dirs: dict[str, Path], path: str) -> None:
        self.driver, self.dirs, self.path = driver, dirs, path

    def wrap(self, argv: list[str]) -> list[str]:
        procs = " ".join(shlex.quote(str(d / "cgroup.procs")) for d in dict.fromkeys(self.dirs.values()))
        script = (
            f'for f in {procs}; do echo $$ > "$f" || '
            '{ echo "kubesim: cannot join the container\'s cgroup ($f)" >&2; exit 125; }; done; exec "$@"'
        )
        return ["/bin/sh", "-c", script, "kubesim-cgroup", *argv]

    def stats(self) -> CgroupStats:
        return self.driver.read_stats(self.dirs)

    def remove(self) -> None:
        for d in dict.fromkeys(self.dirs.values()):
            remove_tree(d)


class KernelDriver(CgroupDriver):
    """What v1 and v2 share: one directory tree per hierarchy (v2: one hierarchy for all controllers)."""

    enforced_by_kernel = True

    def __init__(self, cluster_id: str, own: dict[str, Path], own_path: str) -> None:
        self.cluster = _check_name("cluster id", cluster_id)
        self.roots = {c: d / f"kubesim-{cluster_id}" for c, d in own.items()}  # controller -> cluster root
        self.root_path = f"{own_path.rstrip('/')}/kubesim-{cluster_id}"

    def hierarchies(self) -> list[Path]:
        return list(dict.fromkeys(self.roots.values()))

    def probe(self) -> None:
        """Make the cluster's root cgroups and prove we can write there (CgroupError if not)."""
        made = []
        try:
            for root in self.hierarchies():
                if not root.is_dir():
                    try:
                        root.mkdir()
                    except OSError as exc:
                        who = "" if os.geteuid() == 0 else ": not root"
                        raise CgroupError(exc.errno, f"{str(exc.strerror).lower()} creating {root}{who}") from exc
                    made.append(root)
                self.prepare_parent(root)
            self.check_writable()
        except CgroupError:
            for root in reversed(made):
                remove_tree(root)
            raise

    def prepare_parent(self, d: Path) -> None:
        """Make `d` ready to hold child cgroups (v2: enable the controllers for them)."""

    def check_writable(self) -> None:
        """Write something harmless in the cluster's root cgroups (CgroupError if we cannot)."""

    def configure(self, dirs: dict[str, Path], limits: Limits) -> None:
        raise NotImplementedError

    def read_stats(self, dirs: dict[str, Path]) -> CgroupStats:
        raise NotImplementedError

    def create(self, pod_uid: str, container: str, limits: Limits) -> KernelCgroup:
        pod = f"pod{_check_name('pod uid', pod_uid)}"
        _check_name("container", container)
        for root in self.hierarchies():
            if not root.is_dir():  # after cleanup(): make the cluster root again
                self.probe()
            pod_dir = root / pod
            if not pod_dir.is_dir():
                _mkdir(pod_dir)
                self.prepare_parent(pod_dir)
            remove_tree(pod_dir / container)  # a restarted container starts with fresh limits and counters
            _mkdir(pod_dir / container)
        dirs = {c: root / pod / container for c, root in self.roots.items()}
        self.configure(dirs, limits)
        return KernelCgroup(self, dirs, f"{self.root_path}/{pod}/{container}")

    def remove_pod(self, pod_uid: str) -> None:
        for root in self.hierarchies():
            remove_tree(root / f"pod{_check_name('pod uid', pod_uid)}")

    def cleanup(self) -> int:
        return sum(remove_tree(root) for root in self.hierarchies())

    def leftovers(self) -> list[str]:
        out = []
        for root in self.hierarchies():
            if root.is_dir():
                out += [str(root), *sorted(str(Path(top) / d) for top, dirs, _ in os.walk(root) for d in dirs)]
        return out


def _mkdir(d: Path) -> None:
    try:
        d.mkdir()
    except OSError as exc:
        raise CgroupError(exc.errno, f"cannot create the cgroup {d}: {exc.strerror}; {_hint(exc, d)}") from exc


def remove_tree(top: Path, wait_s: float = 2.0) -> int:
    """rmdir a cgroup and every cgroup below it, deepest first, SIGKILLing processes still inside; how many."""
    if not top.is_dir():
        return 0
    removed = 0
    for d, _, _ in os.walk(top, topdown=False):
        deadline = time.monotonic() + wait_s
        while True:
            try:
                os.rmdir(d)
                removed += 1
                break
            except FileNotFoundError:
                break
            except OSError as exc:
                if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                    procs = _pids(Path(d))
                    raise CgroupError(
                        exc.errno,
                        f"cannot remove the cgroup {d}: {exc.strerror}"
                        + (f" (processes {procs} still inside: kill them)" if procs else ""),
                    ) from exc
                _kill(Path(d))
                time.sleep(0.01)
    return removed


def _pids(d: Path) -> list[int]:
    try:
        return [int(p) for p in (d / "cgroup.procs").read_text().split()]
    except OSError:
        return []


def _kill(d: Path) -> None:
    if (d / "cgroup.kill").exists():  # cgroup v2 since Linux 5.14: the whole cgroup at once
        with contextlib.suppress(CgroupError):
            write(d / "cgroup.kill", 1)
            return
    for pid in _pids(d):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class CgroupV1Driver(KernelDriver):
    """cgroup v1: cpu, cpuacct and memory are separate hierarchies (cpu and cpuacct often co-mounted)."""

    name = "cgroup v1"

    def __init__(self, cluster_id: str, own: dict[str, Path], own_path: str) -> None:
        super().__init__(cluster_id, own, own_path)
        controllers = ", ".join(sorted(own))
        self.description = f"limits enforced by the kernel through cgroup v1 ({controllers}) under {self.root_path}"

    def check_writable(self) -> None:
        write(self.roots["cpu"] / "cpu.cfs_period_us", CFS_PERIOD_US)
        for root in self.hierarchies():
            write(root / "notify_on_release", 0)

    def configure(self, dirs: dict[str, Path], limits: Limits) -> None:
        cpu, memory = dirs["cpu"], dirs["memory"]
        write(cpu / "cpu.cfs_period_us", CFS_PERIOD_US)
        write(cpu / "cpu.cfs_quota_us", milli_cpu_to_quota(limits.cpu_limit_m))
        write(cpu / "cpu.shares", milli_cpu_to_shares(limits.cpu_request_m))
        if limits.memory_limit is not None:
            write(memory / "memory.limit_in_bytes", limits.memory_limit)
            if (memory / "memory.memsw.limit_in_bytes").exists():  # no swap, as the kubelet's NoSwap asks
                write(memory / "memory.memsw.limit_in_bytes", limits.memory_limit)

    def read_stats(self, dirs: dict[str, Path]) -> CgroupStats:
        cpu, memory = read_kv(dirs["cpu"] / "cpu.stat"), read_kv(dirs["memory"] / "memory.stat")
        usage = int(_read(dirs["memory"] / "memory.usage_in_bytes"))
        return CgroupStats(
            cpu_seconds_total=int(_read(dirs["cpuacct"] / "cpuacct.usage")) / 1e9,
            memory_working_set_bytes=max(0, usage - memory.get("total_inactive_file", 0)),
            memory_rss_bytes=memory.get("total_rss", 0),
            cfs_periods_total=cpu.get("nr_periods", 0),
            cfs_throttled_periods_total=cpu.get("nr_throttled", 0),
            cfs_throttled_seconds_total=cpu.get("throttled_time", 0) / 1e9,
            oom_kills=read_kv(dirs["memory"] / "memory.oom_control").get("oom_kill", 0),
        )


class CgroupV2Driver(KernelDriver):
    """cgroup v2: one hierarchy; controllers enabled for children in each parent's cgroup.subtree_control."""

    name = "cgroup v2"

    def __init__(self, cluster_id: str, own_dir: Path, own_path: str) -> None:
        super().__init__(cluster_id, {"": own_dir}, own_path)
        self.own_dir = own_dir
        self.description = f"limits enforced by the kernel through cgroup v2 (cpu, memory) under {self.root_path}"

    def probe(self) -> None:
        controllers = self.own_dir / "cgroup.controllers"
        available = _read(controllers).split() if controllers.exists() else []
        missing = [c for c in ("cpu", "memory") if c not in available]
        if missing:
            raise CgroupError(errno.ENOTSUP, f"no {' and '.join(missing)} controller in {controllers}")
        self.prepare_parent(self.own_dir)
        super().probe()

    def prepare_parent(self, d: Path) -> None:
        control = d / "cgroup.subtree_control"
        enabled = _read(control).split() if control.exists() else []
        if "cpu" not in enabled or "memory" not in enabled:
            write(control, "+cpu +memory")

    def configure(self, dirs: dict[str, Path], limits: Limits) -> None:
        d = dirs[""]
        quota = milli_cpu_to_quota(limits.cpu_limit_m)
        write(d / "cpu.max", f"{'max' if quota < 0 else quota} {CFS_PERIOD_US}")
        write(d / "cpu.weight", shares_to_weight(milli_cpu_to_shares(limits.cpu_request_m)))
        if limits.memory_limit is not None:
            write(d / "memory.max", limits.memory_limit)
            if (d / "memory.swap.max").exists():  # no swap, as the kubelet's NoSwap asks
                write(d / "memory.swap.max", 0)
        if (d / "memory.oom.group").exists():  # the kubelet kills the whole container on OOM (1.28+)
            write(d / "memory.oom.group", 1)

    def read_stats(self, dirs: dict[str, Path]) -> CgroupStats:
        d = dirs[""]
        cpu, memory = read_kv(d / "cpu.stat"), read_kv(d / "memory.stat")
        return CgroupStats(
            cpu_seconds_total=cpu.get("usage_usec", 0) / 1e6,
            memory_working_set_bytes=max(0, int(_read(d / "memory.current")) - memory.get("inactive_file", 0)),
            memory_rss_bytes=memory.get("anon", 0),
            cfs_periods_total=cpu.get("nr_periods", 0),
            cfs_throttled_periods_total=cpu.get("nr_throttled", 0),
            cfs_throttled_seconds_total=cpu.get("throttled_usec", 0) / 1e6,
            oom_kills=read_kv(d / "memory.events").get("oom_kill", 0),
        )


@dataclass(frozen=True)
class Mount:
    root: str  # the hierarchy's directory mounted there
    point: Path
    fstype: str
    options: frozenset[str]  # super options: the v1 controllers


def mounts(mountinfo: str, root: Path) -> list[Mount]:
    """The cgroup mounts in /proc/self/mountinfo (mount points below `root`)."""
    out = []
    for line in mountinfo.splitlines():
        pre, _, post = line.partition(" - ")
        fields, tail = pre.split(), post.split()
        if len(fields) < 5 or len(tail) < 3 or tail[0] not in ("cgroup", "cgroup2"):
            continue
        point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
        out.append(Mount(fields[3], root / point.lstrip("/"), tail[0], frozenset(tail[2].split(","))))
    return out


def own_cgroups(text: str) -> dict[str, str]:
    """/proc/self/cgroup as controller -> path ("" for the v2 hierarchy)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(",") if parts[1] else [""]:
                out.setdefault(controller, parts[2])
    return out


def _dir(mount: Mount, own: str) -> Path:
    base = mount.root.rstrip("/")
    if own != base and not own.startswith(base + "/"):
        raise CgroupError(errno.ENOENT, f"our cgroup {own} is outside the hierarchy mounted at {mount.point}")
    return mount.point / own[len(base) :].lstrip("/")


def _v2(cluster_id: str, found: list[Mount], own: dict[str, str]) -> CgroupDriver:
    unified = [m for m in found if m.fstype == "cgroup2"]
    if not unified or "" not in own:
        raise CgroupError(errno.ENOENT, "no cgroup2 mount")
    driver = CgroupV2Driver(cluster_id, _dir(unified[0], own[""]), own[""])
    driver.probe()
    return driver


def _v1(cluster_id: str, found: list[Mount], own: dict[str, str]) -> CgroupDriver:
    dirs = {}
    for controller in CONTROLLERS:
        mount = next((m for m in found if m.fstype == "cgroup" and controller in m.options), None)
        if mount is None or controller not in own:
            raise CgroupError(errno.ENOENT, f"no cgroup v1 {controller} hierarchy mounted")
        dirs[controller] = _dir(mount, own[controller])
    driver = CgroupV1Driver(cluster_id, dirs, own["memory"])
    driver.probe()
    return driver


def detect(cluster_id: str, force: str | None = None, *, root: Path | str = "/") -> CgroupDriver:
    """The cluster's cgroup driver: v2, else v1, else the kubelet's own enforcement (force: "v1", "v2", "none").

    `root` prefixes /proc/self and the mount points (tests point it at a directory tree)."""
    from kubesim.runtime.cgroups_fallback import FallbackDriver  # noqa: PLC0415 - it builds on this module

    _check_name("cluster id", cluster_id)
    if force not in (None, "v1", "v2", "none"):
        raise ValueError(f"cgroups must be auto, v1, v2 or none, not {force!r}")
    if force == "none":
        return FallbackDriver(cluster_id, "--cgroups none", forced=True)
    base = Path(root)
    try:
        found = mounts((base / "proc/self/mountinfo").read_text(), base)
        own = own_cgroups((base / "proc/self/cgroup").read_text())
    except OSError as exc:
        if force:
            raise CgroupError(exc.errno, f"cannot read our cgroups: {exc}") from exc
        return FallbackDriver(cluster_id, f"cannot read our cgroups: {exc}")
    reasons = []
    for version, make in (("v2", _v2), ("v1", _v1)):
        if force in (None, version):
            try:
                return make(cluster_id, found, own)
            except CgroupError as exc:
                if force:
                    raise
                reasons.append(f"{version}: {exc.strerror or exc}")
    return FallbackDriver(cluster_id, "; ".join(reasons))
