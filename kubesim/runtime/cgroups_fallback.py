"""Where no cgroup can be made, the kubelet enforces the limits itself, from outside the processes.

Every tracked container (its process-group leader and the leader's descendants) is sampled with psutil every
10 ms. CPU: a token bucket refilled at the limit's rate and holding at most one 100 ms period's quota; when the
group has spent more than it holds it is stopped (SIGSTOP to the process group) until the debt is paid
(SIGCONT), which is what the CFS bandwidth controller does, in coarser steps. Memory: a group whose resident set
goes over the limit is SIGKILLed, counted as an OOM kill. The figures (CPU time, RSS, periods, throttling) come
from psutil and these counters, so the kubelet reads the same CgroupStats as from a kernel cgroup.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time

import psutil

from kubesim.runtime.cgroups import CgroupDriver, CgroupStats, ContainerCgroup, _check_name
from kubesim.usage import Limits

TICK_S = 0.01  # how often every group is sampled
PERIOD_S = 0.1  # the CFS period the quota is counted per
RESCAN_S = 0.1  # how often new descendants are looked for (a scan of every process on the machine)


class FallbackCgroup(ContainerCgroup):
    """One container's processes, sampled and throttled from outside."""

    def __init__(self, limits: Limits, path: str) -> None:
        self.limits, self.path = limits, path
        self.pgid = 0
        self.procs: dict[int, psutil.Process] = {}
        self.cpu_seen: dict[int, float] = {}  # pid -> CPU seconds at its last sample
        self.cpu_gone = 0.0  # CPU seconds of processes that went
        self.rss = 0
        self.oom_kills = self.periods = self.throttled = 0
        self.throttled_s = 0.0
        self.stopped_since: float | None = None
        self.victims: set[int] = set()  # killed for memory, not counted twice while they die
        now = time.monotonic()
        self.tokens, self.bucket_cpu, self.bucket_t = self.quota(), 0.0, now
        self.period_start, self.period_used, self.period_throttled = now, False, False

    def quota(self) -> float:
        """CPU seconds per period (0: no limit)."""
        return (self.limits.cpu_limit_m or 0) / 1000 * PERIOD_S

    def attach(self, pid: int) -> None:
        with contextlib.suppress(psutil.Error):
            self.procs = {pid: psutil.Process(pid)}
            self.pgid = pid
            self.sample(None)
            self.tokens, self.bucket_cpu, self.bucket_t = self.quota(), self.cpu(), time.monotonic()
            self.period_start = self.bucket_t

    def cpu(self) -> float:
        return self.cpu_gone + sum(self.cpu_seen.values())

    def sample(self, children: dict[int, list[int]] | None) -> None:
        """Refresh the CPU and RSS figures; with `children` (ppid -> pids), also take in new descendants."""
        if children is not None:
            todo = list(self.procs)
            while todo:
                for child in children.get(todo.pop(), []):
                    if child not in self.procs:
                        with contextlib.suppress(psutil.Error):
                            self.procs[child] = psutil.Process(child)
                            todo.append(child)
        rss = 0
        for pid, proc in list(self.procs.items()):
            try:
                with proc.oneshot():
                    times = proc.cpu_times()
                    mem = proc.memory_info().rss if pid not in self.victims else 0
                self.cpu_seen[pid] = times.user + times.system
                rss += mem
            except psutil.Error:  # gone (or a zombie): its CPU time stays counted
                del self.procs[pid]
                self.cpu_gone += self.cpu_seen.pop(pid, 0.0)
        self.rss = rss

    def signal(self, sig: int) -> None:
        """Signal the process group and every tracked process (some may have left the group)."""
        if not self.procs:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pgid, sig)
        for proc in list(self.procs.values()):
            with contextlib.suppress(psutil.Error):  # psutil refuses a pid that was reused meanwhile
                proc.send_signal(sig)

    def enforce(self, now: float) -> None:
        limit = self.limits.memory_limit
        if limit is not None and self.rss > limit:
            self.oom_kills += 1  # before the kill: the kubelet sees the count when it sees the exit
            self.victims |= set(self.procs)
            self.signal(signal.SIGKILL)
            self.rss = 0
        quota = self.quota()
        if not quota:
            return
        cpu = self.cpu()
        used, self.bucket_cpu = cpu - self.bucket_cpu, cpu
        self.tokens = min(quota, self.tokens + quota / PERIOD_S * (now - self.bucket_t)) - used
        self.bucket_t = now
        self.period_used |= used > 0
        if self.stopped_since is None and self.tokens < 0 and self.procs:
            self.signal(signal.SIGSTOP)
            self.stopped_since, self.period_throttled = now, True
        elif self.stopped_since is not None and (self.tokens >= 0 or not self.procs):
            self.resume(now)
        if now - self.period_start > 10 * PERIOD_S:  # the loop stalled: count from here
            self.period_start = now
        while now >= self.period_start + PERIOD_S:
            if self.period_used or self.period_throttled:
                self.periods += 1
                self.throttled += self.period_throttled
            self.period_start += PERIOD_S
            self.period_used, self.period_throttled = False, self.stopped_since is not None

    def resume(self, now: float | None = None) -> None:
        if self.stopped_since is not None:
            self.signal(signal.SIGCONT)
            self.throttled_s += (now or time.monotonic()) - self.stopped_since
            self.stopped_since = None

    def stats(self) -> CgroupStats:
        self.sample(None)
        stopped = time.monotonic() - self.stopped_since if self.stopped_since is not None else 0.0
        return CgroupStats(
            cpu_seconds_total=self.cpu(),
            memory_working_set_bytes=self.rss,
            memory_rss_bytes=self.rss,
            cfs_periods_total=self.periods,
            cfs_throttled_periods_total=self.throttled,
            cfs_throttled_seconds_total=self.throttled_s + stopped,
            oom_kills=self.oom_kills,
        )

    def remove(self) -> None:
        self.sample(None)
        self.signal(signal.SIGKILL)  # works on stopped processes too
        self.stopped_since = None
        self.procs.clear()


class FallbackDriver(CgroupDriver):
    """The kubelet's own enforcement, for machines where no cgroup can be made."""

    name = "kubelet (no cgroup)"
    enforced_by_kernel = False

    def __init__(self, cluster_id: str, reason: str, forced: bool = False) -> None:
        self.cluster = _check_name("cluster id", cluster_id)
        self.reason = reason
        how = (
            "CPU limits enforced by SIGSTOP/SIGCONT of the process group per 100 ms period, "
            f"memory limits by RSS sampling every {TICK_S * 1000:.0f} ms and SIGKILL"
        )
        why = f"cgroups turned off ({reason})" if forced else f"no cgroup could be created ({reason})"
        self.description = f"{why}: {how}"
        self.cgroups: dict[tuple[str, str], FallbackCgroup] = {}

    def create(self, pod_uid: str, container: str, limits: Limits) -> ContainerCgroup:
        key = (_check_name("pod uid", pod_uid), _check_name("container", container))
        old = self.cgroups.pop(key, None)
        if old is not None:
            old.remove()
        cg = self.cgroups[key] = FallbackCgroup(limits, f"/kubesim-{self.cluster}/pod{pod_uid}/{container}")
        return cg

    def remove_pod(self, pod_uid: str) -> None:
        for key in [k for k in self.cgroups if k[0] == pod_uid]:
            self.cgroups.pop(key).remove()

    def cleanup(self) -> int:
        """Kill what is still tracked; there are no directories to remove."""
        for cg in self.cgroups.values():
            cg.remove()
        self.cgroups.clear()
        return 0

    def leftovers(self) -> list[str]:
        return []

    def tick(self, rescan: bool) -> None:
        groups = [cg for cg in self.cgroups.values() if cg.procs]
        children: dict[int, list[int]] | None = None
        if rescan and groups:
            children = {}
            for proc in psutil.process_iter(["ppid"]):
                children.setdefault(proc.info["ppid"], []).append(proc.pid)
        now = time.monotonic()
        for cg in groups:
            cg.sample(children)
            cg.enforce(now)

    async def run(self) -> None:
        last_scan = 0.0
        try:
            while True:
                now = time.monotonic()
                rescan = now - last_scan >= RESCAN_S
                self.tick(rescan)
                if rescan:
                    last_scan = now
                await asyncio.sleep(TICK_S)
        finally:  # never leave a container stopped
            for cg in self.cgroups.values():
                cg.resume()
