"""The kubelet's resource analyzer: every process container's cgroup sampled on a short period, kept over a
window, and handed to the metrics API, the HPA controller and `/metrics` as `ContainerUsage` records."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import TYPE_CHECKING

from kubesim.runtime.cgroups import CgroupStats
from kubesim.usage import ContainerUsage

if TYPE_CHECKING:
    from kubesim.runtime.process import Container, ProcessRuntime

Sample = tuple[float, CgroupStats]


class UsageMonitor:
    """CPU usage is a rate: the difference of the cumulative CPU time over the window (at least two samples,
    as metrics-server needs two scrapes); memory is the latest working set."""

    def __init__(self, runtime: ProcessRuntime, interval_s: float = 1.0, window_s: float = 5.0) -> None:
        self.runtime = runtime
        self.interval_s = interval_s
        self.window_s = window_s
        self._samples: dict[str, deque[Sample]] = {}  # by container ID: a restart starts a new series
        self._owners: dict[str, Container] = {}

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval_s)

    def sample(self) -> None:
        now = time.time()
        seen: set[str] = set()
        for pod in list(self.runtime.pods.values()):
            for c in pod.all_containers:
                if c.cgroup is None or c.proc is None or c.proc.returncode is not None or not c.state.running:
                    continue
                try:
                    stats = c.cgroup.stats()
                except OSError:  # removed between the check and the read: the container just went
                    continue
                cid = c.state.container_id
                seen.add(cid)
                series = self._samples.setdefault(cid, deque())
                series.append((now, stats))
                while len(series) > 2 and now - series[1][0] >= self.window_s:
                    series.popleft()
                self._owners[cid] = c
        for cid in set(self._samples) - seen:
            del self._samples[cid]
            self._owners.pop(cid, None)

    def containers(self) -> list[ContainerUsage]:
        out = []
        for cid, series in self._samples.items():
            if len(series) < 2:
                continue
            (t0, first), (t1, last) = series[0], series[-1]
            c = self._owners[cid]
            assert c.cgroup is not None
            out.append(
                ContainerUsage(
                    namespace=c.pod.ns,
                    pod=c.pod.name,
                    uid=c.pod.uid,
                    container=c.name,
                    node=c.pod.node,
                    image=c.spec["image"],
                    cgroup=c.cgroup.path,
                    timestamp=t1,
                    window_s=t1 - t0,
                    cpu_seconds_total=last.cpu_seconds_total,
                    cpu_cores=max(0.0, (last.cpu_seconds_total - first.cpu_seconds_total) / max(t1 - t0, 1e-6)),
                    memory_working_set_bytes=last.memory_working_set_bytes,
                    memory_rss_bytes=last.memory_rss_bytes,
                    cfs_periods_total=last.cfs_periods_total,
                    cfs_throttled_periods_total=last.cfs_throttled_periods_total,
                    cfs_throttled_seconds_total=last.cfs_throttled_seconds_total,
                    oom_kills=last.oom_kills,
                )
            )
        return out
