"""Container cgroups as the kubelet makes them: limits the kernel enforces (cgroup v1 here, for real; cgroup v2
against a directory tree), the kubelet's own enforcement where no cgroup can be made, and nothing left behind."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import psutil
import pytest

from kubesim.runtime import cgroups
from kubesim.runtime.cgroups import CgroupDriver, CgroupError, CgroupStats, ContainerCgroup, KernelDriver
from kubesim.runtime.cgroups_fallback import FallbackDriver
from kubesim.usage import Limits

MI = 2**20
T = TypeVar("T")
Process = asyncio.subprocess.Process
BUSY = [sys.executable, "-c", "while True: pass"]
# Allocates (and touches) 1 MiB at a time up to 512 MiB: far past a 64Mi limit, yet bounded if nothing stops it.
HOG = [
    sys.executable,
    "-c",
    "import time\nchunks = []\nprint('allocating', flush=True)\n"
    "for _ in range(512):\n    chunks.append(b'x' * 2**20)\nprint('survived', flush=True)\ntime.sleep(30)",
]


def cluster_id() -> str:
    return f"test-{secrets.token_hex(4)}"


@pytest.fixture
def v1() -> Iterator[KernelDriver]:
    if os.geteuid() != 0:
        pytest.skip("needs root: these tests create cgroups")
    try:
        driver = cgroups.detect(cluster_id(), "v1")
    except CgroupError as exc:
        pytest.skip(f"no writable cgroup v1 (cpu, cpuacct, memory) on this machine: {exc}")
    assert isinstance(driver, KernelDriver)
    try:
        yield driver
    finally:
        driver.cleanup()
        assert driver.leftovers() == []


@pytest.fixture
def fallback() -> Iterator[CgroupDriver]:
    driver = cgroups.detect(cluster_id(), "none")
    try:
        yield driver
    finally:
        driver.cleanup()


def dead(process: psutil.Process, within_s: float = 5.0) -> bool:
    """Gone, or a zombie (this machine's init reaps orphans only every couple of seconds), within `within_s`: a
    SIGKILLed process leaves its cgroup before it is a zombie, so a loaded machine may show it exiting for a
    moment after the cgroup is gone. psutil.Process compares its start time, so a reused pid is not it."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)


def kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


async def running(
    driver: CgroupDriver, cg: ContainerCgroup, argv: list[str], body: Callable[[Process], Awaitable[T]]
) -> T:
    """Run argv in cg (with the driver's enforcement loop going) while `body(proc)` runs; stop both after."""
    loop = asyncio.create_task(driver.run())
    proc = await asyncio.create_subprocess_exec(
        *cg.wrap(argv), stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, start_new_session=True
    )
    try:
        cg.attach(proc.pid)
        return await body(proc)
    finally:
        kill_group(proc.pid)
        await proc.wait()
        loop.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loop


def cpu_share(driver: CgroupDriver, limit_m: int | None, seconds: float = 5.0) -> tuple[float, CgroupStats]:
    """The share of one core a busy loop gets under a CPU limit, and the stats at the end."""
    cg = driver.create("uid-cpu", "busy", Limits(cpu_limit_m=limit_m, cpu_request_m=limit_m))

    async def measure(proc: Process) -> tuple[float, CgroupStats]:
        await asyncio.sleep(0.5)  # started, and in its cgroup
        s0, t0 = cg.stats(), time.monotonic()
        await asyncio.sleep(seconds)
        s1, t1 = cg.stats(), time.monotonic()
        assert proc.returncode is None
        return (s1.cpu_seconds_total - s0.cpu_seconds_total) / (t1 - t0), s1

    try:
        return asyncio.run(running(driver, cg, BUSY, measure))
    finally:
        cg.remove()


def oom(driver: CgroupDriver) -> tuple[int | None, float, CgroupStats]:
    """A process allocating past a 64Mi limit: its exit code, how long it lived once allocating, the stats.

    It must be killed while it allocates: a process that reaches the end of its 512 MiB says "survived"."""
    cg = driver.create("uid-mem", "hog", Limits(memory_limit=64 * MI, memory_request=64 * MI))

    async def watch(proc: Process) -> tuple[int | None, float]:
        assert proc.stdout is not None
        assert await asyncio.wait_for(proc.stdout.readline(), 10) == b"allocating\n"
        started = time.monotonic()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), 3)
        lived = time.monotonic() - started
        if proc.returncode is not None:
            assert await proc.stdout.read() == b"", "the process allocated its 512 MiB before it was stopped"
        return proc.returncode, lived

    try:
        code, lived = asyncio.run(running(driver, cg, HOG, watch))
        return code, lived, cg.stats()
    finally:
        cg.remove()


# --- the kernel enforces (cgroup v1 on this machine) ---


@pytest.mark.parametrize(("limit_m", "share"), [(50, 0.05), (100, 0.10)])
def test_a_cpu_limit_holds_a_busy_loop_to_its_share_of_a_core(v1: KernelDriver, limit_m: int, share: float) -> None:
    used, stats = cpu_share(v1, limit_m)
    assert used == pytest.approx(share, abs=0.02)
    assert stats.cfs_periods_total >= 40
    assert stats.cfs_throttled_periods_total >= 40  # a busy loop is throttled in nearly every period
    assert stats.cfs_throttled_seconds_total > 1.0


def test_without_a_cpu_limit_a_busy_loop_is_never_throttled(v1: KernelDriver) -> None:
    used, stats = cpu_share(v1, None)
    assert stats.cfs_throttled_periods_total == 0
    # About a core on an idle machine; 0.58 once in CI (this worker at nice 10 beside a load test on 2 cores), so
    # the share is asked only to be far past what the largest limit above (100m) could give.
    assert used >= 0.3


def test_past_its_memory_limit_a_process_is_killed_at_once_and_counted(v1: KernelDriver) -> None:
    code, lived, stats = oom(v1)
    assert code == -signal.SIGKILL
    assert lived < 2.0  # 0.03 s on an idle machine; 0.67 s once in CI beside a load test (this worker at nice 10)
    assert stats.oom_kills == 1


def test_the_limits_are_where_the_kubelet_puts_them(v1: KernelDriver) -> None:
    cg = v1.create("uid-files", "app", Limits(cpu_limit_m=1500, cpu_request_m=250, memory_limit=64 * MI))
    cpu, memory = cg.dirs["cpu"], cg.dirs["memory"]
    assert (cpu / "cpu.cfs_period_us").read_text() == "100000\n"
    assert (cpu / "cpu.cfs_quota_us").read_text() == "150000\n"
    assert (cpu / "cpu.shares").read_text() == "256\n"
    assert (memory / "memory.limit_in_bytes").read_text() == f"{64 * MI}\n"
    # Nested under our own cgroup in each hierarchy, as /proc/self/cgroup names it.
    own = cgroups.own_cgroups(Path("/proc/self/cgroup").read_text())
    assert cg.path == f"{own['memory'].rstrip('/')}/kubesim-{v1.cluster}/poduid-files/app"
    assert str(memory).endswith(cg.path)
    assert v1.description.startswith("limits enforced by the kernel through cgroup v1 (cpu, cpuacct, memory) under ")
    again = v1.create("uid-files", "app", Limits())  # a restart: a fresh cgroup with the new limits
    assert (cpu / "cpu.cfs_quota_us").read_text() == "-1\n"
    assert (cpu / "cpu.shares").read_text() == "2\n"
    assert int((memory / "memory.limit_in_bytes").read_text()) > 2**60
    assert again.stats().cpu_seconds_total == 0


def test_a_process_joins_its_cgroup_before_its_program_starts(v1: KernelDriver) -> None:
    cg = v1.create("uid-join", "app", Limits(cpu_limit_m=100))
    out = subprocess.run(cg.wrap(["cat", "/proc/self/cgroup"]), capture_output=True, text=True, timeout=10, check=True)
    lines = dict(line.split(":", 2)[1:] for line in out.stdout.splitlines())
    assert lines["memory"] == cg.path
    assert lines["cpu"].endswith(f"/kubesim-{v1.cluster}/poduid-join/app")
    assert lines["cpuacct"] == lines["cpu"]


def test_remove_kills_what_is_still_inside_and_leaves_nothing(v1: KernelDriver) -> None:
    cg = v1.create("uid-rm", "app", Limits())
    other = v1.create("uid-rm", "sidecar", Limits())
    proc = subprocess.Popen(cg.wrap(["sleep", "60"]), start_new_session=True)
    try:
        deadline = time.monotonic() + 5
        while str(proc.pid) not in (cg.dirs["memory"] / "cgroup.procs").read_text():
            assert time.monotonic() < deadline
            time.sleep(0.01)
        cg.remove()
        assert proc.wait(timeout=5) == -signal.SIGKILL
        cg.remove()  # idempotent
        assert not any(p.endswith("/app") for p in v1.leftovers())
        assert any(p.endswith("/sidecar") for p in v1.leftovers())
        v1.remove_pod("uid-rm")
        assert not any("poduid-rm" in p for p in v1.leftovers())
        v1.remove_pod("uid-rm")
        other.remove()
        assert v1.cleanup() == 3  # the cluster's root in each of the three hierarchies
        assert v1.leftovers() == []
        v1.create("uid-rm", "app", Limits())  # usable again after cleanup
    finally:
        kill_group(proc.pid)
        proc.wait()


CRASHING_SERVER = """
import subprocess, sys
from kubesim.runtime.cgroups import detect
from kubesim.usage import Limits
cg = detect(sys.argv[1], "v1").create("uid-crash", "app", Limits(cpu_limit_m=100, memory_limit=2**27))
child = subprocess.Popen(cg.wrap(["sleep", "60"]), start_new_session=True)
print(child.pid, flush=True)
sys.stdin.read()
"""


def test_a_later_run_removes_what_a_killed_one_left(v1: KernelDriver) -> None:
    cid = v1.cluster
    root = Path(__file__).resolve().parents[3]
    server = subprocess.Popen(
        [sys.executable, "-c", CRASHING_SERVER, cid],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        start_new_session=True,
    )
    child = 0
    try:
        assert server.stdout is not None
        child = int(server.stdout.readline())
        process = psutil.Process(child)
        server.kill()  # SIGKILL: no chance to clean up
        server.wait()
        fresh = cgroups.detect(cid)
        assert fresh.name == "cgroup v1"
        assert any(p.endswith("/poduid-crash/app") for p in fresh.leftovers())
        assert fresh.cleanup() == 9  # root, pod and container in each of the three hierarchies
        assert fresh.leftovers() == []
        assert dead(process)  # the process left inside was killed first
    finally:
        kill_group(server.pid)
        if child:
            kill_group(child)


def test_auto_detection_picks_v1_here_under_our_own_cgroups(v1: KernelDriver) -> None:
    driver = cgroups.detect(v1.cluster)
    assert driver.name == "cgroup v1"
    assert driver.enforced_by_kernel
    own = cgroups.own_cgroups(Path("/proc/self/cgroup").read_text())
    found = {m.point.name: m for m in cgroups.mounts(Path("/proc/self/mountinfo").read_text(), Path("/"))}
    for leftover in driver.leftovers():
        assert any(
            leftover.startswith(str(cgroups._dir(found[c], own[c])).rstrip("/") + "/kubesim-")
            for c in ("cpu", "cpuacct", "memory")
            if c in found
        ), leftover
    assert asyncio.run(asyncio.wait_for(driver.run(), 1)) is None  # the kernel enforces: nothing to loop over


@pytest.mark.parametrize(
    ("file", "value", "says"),
    [
        ("cpu.shares", "banana", "the kernel rejected the value"),
        ("cpu.cfs_quota_us", 5, "the kernel rejected the value"),
        ("cpu.max", "5000 100000", "the kernel offers no such file here"),
    ],
)
def test_a_write_the_kernel_refuses_says_which_file_and_what_to_do(
    v1: KernelDriver, file: str, value: str | int, says: str
) -> None:
    cg = v1.create("uid-bad", "app", Limits())
    path = cg.dirs["cpu"] / file
    with pytest.raises(CgroupError) as err:
        cgroups.write(path, value)
    assert str(err.value).startswith(f"cannot write {str(value)!r} to {path}: ")
    assert says in str(err.value)
    assert isinstance(err.value, OSError)  # what the kubelet catches to report a failed container start


def test_a_write_to_a_removed_cgroup_says_so(tmp_path: Path) -> None:
    with pytest.raises(CgroupError, match=r"/gone/cpu.max: No such file or directory; the cgroup directory does not"):
        cgroups.write(tmp_path / "gone" / "cpu.max", "max 100000")


# --- the kubelet enforces, where no cgroup can be made ---


def test_fallback_holds_a_busy_loop_to_its_share_of_a_core(fallback: CgroupDriver) -> None:
    assert not fallback.enforced_by_kernel
    assert fallback.name == "kubelet (no cgroup)"
    used, stats = cpu_share(fallback, 50)
    assert used == pytest.approx(0.05, abs=0.02)
    assert stats.cfs_periods_total >= 40
    assert stats.cfs_throttled_periods_total >= 40
    assert stats.cfs_throttled_seconds_total > 1.0


def test_fallback_kills_a_process_past_its_memory_limit(fallback: CgroupDriver) -> None:
    code, lived, stats = oom(fallback)
    assert code == -signal.SIGKILL
    assert lived < 2.0  # killed before its allocation ends (oom()); the bound only guards against a slow poll
    assert stats.oom_kills == 1


def test_fallback_runs_commands_as_they_are_and_says_why(fallback: CgroupDriver) -> None:
    cg = fallback.create("uid", "app", Limits(cpu_limit_m=50))
    assert cg.wrap(["sleep", "1"]) == ["sleep", "1"]
    assert cg.stats() == CgroupStats(0.0, 0, 0, 0, 0, 0.0, 0)
    assert fallback.description.startswith("cgroups turned off (--cgroups none): CPU limits enforced by SIGSTOP/")
    assert fallback.leftovers() == []
    reason = FallbackDriver("x", "v1: permission denied creating /sys/fs/cgroup/memory/kubesim-x: not root")
    assert reason.description.startswith("no cgroup could be created (v1: permission denied creating ")


# --- cgroup v2, against a directory tree laid out as the kernel would ---


def v2_tree(tmp_path: Path, controllers: str = "cpuset cpu io memory pids") -> Path:
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/mountinfo").write_text(
        "24 30 0:22 / /sys rw,nosuid - sysfs sysfs rw\n"
        "25 24 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate\n"
    )
    (tmp_path / "proc/self/cgroup").write_text("0::/user.slice/session-1.scope\n")
    own = tmp_path / "sys/fs/cgroup/user.slice/session-1.scope"
    own.mkdir(parents=True)
    (own / "cgroup.controllers").write_text(controllers + "\n")
    (own / "cgroup.subtree_control").write_text("\n")
    return own


def test_v2_is_detected_and_the_limits_are_where_the_kubelet_puts_them(tmp_path: Path) -> None:
    own = v2_tree(tmp_path)
    driver = cgroups.detect("t2", root=tmp_path)
    assert isinstance(driver, cgroups.CgroupV2Driver)
    assert driver.description == (
        "limits enforced by the kernel through cgroup v2 (cpu, memory) under /user.slice/session-1.scope/kubesim-t2"
    )
    assert (own / "cgroup.subtree_control").read_text() == "+cpu +memory"
    assert (own / "kubesim-t2/cgroup.subtree_control").read_text() == "+cpu +memory"

    cg = driver.create("uid", "app", Limits(cpu_limit_m=50, cpu_request_m=500, memory_limit=64 * MI))
    leaf = own / "kubesim-t2/poduid/app"
    assert cg.path == "/user.slice/session-1.scope/kubesim-t2/poduid/app"
    assert (own / "kubesim-t2/poduid/cgroup.subtree_control").read_text() == "+cpu +memory"
    assert (leaf / "cpu.max").read_text() == "5000 100000"
    assert (leaf / "cpu.weight").read_text() == "20"
    assert (leaf / "memory.max").read_text() == str(64 * MI)
    assert not (leaf / "cgroup.subtree_control").exists()  # only leaves hold processes
    assert f"for f in {leaf}/cgroup.procs; do" in cg.wrap(["true"])[2]

    unlimited = driver.create("uid", "side", Limits())
    assert (own / "kubesim-t2/poduid/side/cpu.max").read_text() == "max 100000"
    assert (own / "kubesim-t2/poduid/side/cpu.weight").read_text() == "1"
    assert not (own / "kubesim-t2/poduid/side/memory.max").exists()
    assert unlimited.path.endswith("/poduid/side")


def test_v2_stats_are_read_as_cadvisor_reads_them(tmp_path: Path) -> None:
    own = v2_tree(tmp_path)
    driver = cgroups.detect("t2", "v2", root=tmp_path)
    cg = driver.create("uid", "app", Limits(cpu_limit_m=100))
    leaf = own / "kubesim-t2/poduid/app"
    (leaf / "cpu.stat").write_text(
        "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n"
        "nr_periods 120\nnr_throttled 30\nthrottled_usec 1500000\nnr_bursts 0\nburst_usec 0\n"
    )
    (leaf / "memory.current").write_text("52428800\n")
    (leaf / "memory.stat").write_text("anon 41943040\nfile 10485760\nactive_file 4194304\ninactive_file 6291456\n")
    (leaf / "memory.events").write_text("low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n")
    assert cg.stats() == CgroupStats(
        cpu_seconds_total=2.5,
        memory_working_set_bytes=52428800 - 6291456,
        memory_rss_bytes=41943040,
        cfs_periods_total=120,
        cfs_throttled_periods_total=30,
        cfs_throttled_seconds_total=1.5,
        oom_kills=2,
    )
    (leaf / "memory.stat").write_text("anon 0\ninactive_file 99999999\n")
    assert cg.stats().memory_working_set_bytes == 0  # never negative


def test_v2_removal_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = v2_tree(tmp_path)
    real_rmdir = os.rmdir

    def rmdir(path: str | Path) -> None:  # cgroupfs removes a cgroup's interface files with its directory
        for f in Path(path).iterdir():
            if f.is_file():
                f.unlink()
        real_rmdir(path)

    monkeypatch.setattr(cgroups.os, "rmdir", rmdir)
    driver = cgroups.detect("t2", root=tmp_path)
    driver.create("uid", "app", Limits(cpu_limit_m=100))
    driver.create("uid", "app", Limits(cpu_limit_m=200))  # a restart
    assert (own / "kubesim-t2/poduid/app/cpu.max").read_text() == "20000 100000"
    driver.create("uid2", "app", Limits())
    driver.remove_pod("uid")
    assert driver.leftovers() == [
        str(own / "kubesim-t2"),
        str(own / "kubesim-t2/poduid2"),
        str(own / "kubesim-t2/poduid2/app"),
    ]
    assert driver.cleanup() == 3
    assert driver.leftovers() == []


@pytest.mark.parametrize(
    ("subtree", "says"),
    [
        ("cpuset io pids", "v2: no cpu and memory controller in "),  # not delegated to us
    ],
)
def test_without_usable_cgroups_detection_falls_back_and_says_why(tmp_path: Path, subtree: str, says: str) -> None:
    v2_tree(tmp_path, controllers=subtree)
    driver = cgroups.detect("t2", root=tmp_path)
    assert isinstance(driver, FallbackDriver)
    assert says in driver.description
    assert "v1: no cgroup v1 cpu hierarchy mounted" in driver.description
    with pytest.raises(CgroupError, match="no cpu and memory controller in "):
        cgroups.detect("t2", "v2", root=tmp_path)


def test_when_the_controllers_cannot_be_enabled_for_children_detection_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = v2_tree(tmp_path)
    (own / "cgroup.subtree_control").unlink()
    (own / "cgroup.subtree_control").mkdir()  # unusable
    driver = cgroups.detect("t2", root=tmp_path)
    assert isinstance(driver, FallbackDriver)
    assert f"v2: cannot read {own}/cgroup.subtree_control: Is a directory;" in driver.reason

    (own / "cgroup.subtree_control").rmdir()
    real_write = cgroups.write

    def write(path: Path, value: str | int) -> None:  # what the kernel answers where a cgroup holds processes
        if path.parent.name == "kubesim-t2":
            raise CgroupError(errno.EBUSY, f"cannot write {value!r} to {path}: Device or resource busy")
        real_write(path, value)

    monkeypatch.setattr(cgroups, "write", write)
    driver = cgroups.detect("t2", root=tmp_path)
    assert isinstance(driver, FallbackDriver)
    assert "kubesim-t2/cgroup.subtree_control: Device or resource busy" in driver.reason
    assert not (own / "kubesim-t2").exists()  # what the failed attempt made is gone


def test_v1_mounts_are_found_co_mounted_or_not(tmp_path: Path) -> None:
    (tmp_path / "proc/self").mkdir(parents=True)
    (tmp_path / "proc/self/mountinfo").write_text(
        "31 23 0:28 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755\n"
        "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
        "35 31 0:32 /docker/abc /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    )
    (tmp_path / "proc/self/cgroup").write_text(
        "4:memory:/docker/abc/app\n2:cpu,cpuacct:/\n0::/\n"  # the v2 line of a hybrid host
    )
    (tmp_path / "sys/fs/cgroup/cpu,cpuacct").mkdir(parents=True)
    (tmp_path / "sys/fs/cgroup/memory/app").mkdir(parents=True)
    (tmp_path / "sys/fs/cgroup/unified").mkdir(parents=True)
    (tmp_path / "sys/fs/cgroup/unified/cgroup.controllers").write_text("\n")
    driver = cgroups.detect("t1", root=tmp_path)
    assert isinstance(driver, cgroups.CgroupV1Driver)
    cg = driver.create("uid", "app", Limits(cpu_limit_m=50, memory_limit=64 * MI))
    assert cg.path == "/docker/abc/app/kubesim-t1/poduid/app"
    assert (tmp_path / "sys/fs/cgroup/cpu,cpuacct/kubesim-t1/poduid/app/cpu.cfs_quota_us").read_text() == "5000"
    assert (tmp_path / "sys/fs/cgroup/memory/app/kubesim-t1/poduid/app/memory.limit_in_bytes").read_text() == str(
        64 * MI
    )
    assert cg.wrap(["true"])[2].count("cgroup.procs") == 2  # cpu and cpuacct are one directory


# --- the kubelet's conversions ---


@pytest.mark.parametrize(
    ("request_m", "shares", "weight"),
    [
        (None, 2, 1),
        (0, 2, 1),
        (1, 2, 1),
        (100, 102, 4),
        (250, 256, 10),
        (500, 512, 20),
        (1000, 1024, 39),
        (300_000, 262_144, 10_000),
    ],
)
def test_cpu_requests_become_shares_and_weights(request_m: int | None, shares: int, weight: int) -> None:
    assert cgroups.milli_cpu_to_shares(request_m) == shares
    assert cgroups.shares_to_weight(shares) == weight


@pytest.mark.parametrize(
    ("limit_m", "quota"), [(50, 5_000), (100, 10_000), (1500, 150_000), (None, -1), (0, -1), (5, 1_000)]
)
def test_cpu_limits_become_quotas_per_100ms(limit_m: int | None, quota: int) -> None:
    assert cgroups.milli_cpu_to_quota(limit_m) == quota


@pytest.mark.parametrize("name", ["", "..", "a/b", "../x", "-x"])
def test_names_that_could_leave_the_cluster_s_cgroup_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="cannot name a cgroup"):
        cgroups.detect(name, "none")
    with pytest.raises(ValueError, match="cannot name a cgroup"):
        FallbackDriver("x", "").create(name, "app", Limits())
