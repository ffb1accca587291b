"""Measured usage for tests of what reads it (metrics API, /metrics, HPA): a fixed UsageSource and records."""

from __future__ import annotations

from typing import Any

from kubesim.usage import ContainerUsage


class FakeUsage:
    """A UsageSource answering a fixed list of records."""

    def __init__(self, records: list[ContainerUsage]) -> None:
        self.records = records

    def containers(self) -> list[ContainerUsage]:
        return list(self.records)


def usage_record(pod: str, container: str, **fields: Any) -> ContainerUsage:
    """One container's record: nothing used unless `fields` says otherwise."""
    base: dict[str, Any] = {
        "namespace": "sock-shop",
        "pod": pod,
        "uid": f"uid-{pod}",
        "container": container,
        "node": "sockshop-worker",
        "image": "weaveworksdemos/carts:0.4.8",
        "cgroup": f"/kubepods/pod-{pod}/{container}",
        "timestamp": 1_790_000_000.0,
        "window_s": 5.0,
        "cpu_seconds_total": 0.0,
        "cpu_cores": 0.0,
        "memory_working_set_bytes": 0,
        "memory_rss_bytes": 0,
        "cfs_periods_total": 0,
        "cfs_throttled_periods_total": 0,
        "cfs_throttled_seconds_total": 0.0,
        "oom_kills": 0,
    }
    return ContainerUsage(**(base | fields))
