"""The resource metrics of a target's pods and the replica calculator (replica_calculator.go)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from kubesim.hpa.model import (
    CPU_INITIALIZATION_PERIOD_S,
    INITIAL_READINESS_DELAY_S,
    TOLERANCE,
    MetricError,
    Obj,
    PodMetric,
    milli_value,
    parse_time,
)
from kubesim.usage import ContainerUsage, format_cpu, format_memory


# ---- the resource metrics API --------------------------------------------------------------------------------------
def _usage_milli(rec: ContainerUsage, resource: str) -> int | None:
    """A container's usage as metrics-server writes it (nanocores, kibibytes), then as MilliValue()."""
    if resource == "cpu":
        return milli_value(format_cpu(rec.cpu_cores))
    if resource == "memory":
        return milli_value(format_memory(rec.memory_working_set_bytes))
    return None


def resource_metrics(
    usage: Iterable[ContainerUsage], pods: Iterable[Obj], resource: str, container: str = ""
) -> dict[str, PodMetric]:
    """GetResourceMetric: metrics-server's PodMetrics of `pods` (only pods with measured containers have one),
    summed over the containers (or the one `container`), by pod name."""
    by_pod: dict[tuple[str, str], list[ContainerUsage]] = {}
    for rec in usage:
        by_pod.setdefault((rec.namespace, rec.pod), []).append(rec)
    items: list[tuple[Obj, list[ContainerUsage]]] = []
    for pod in pods:
        meta = pod["metadata"]
        uid = meta.get("uid", "")
        recs = [
            r for r in by_pod.get((meta.get("namespace", ""), meta["name"]), []) if not (r.uid and uid) or r.uid == uid
        ]
        if recs:
            items.append((pod, recs))
    if not items:
        raise MetricError("no metrics returned from resource metrics API")
    out: dict[str, PodMetric] = {}
    for pod, recs in items:
        meta = pod["metadata"]
        first = min(recs, key=lambda r: r.timestamp)  # the PodMetrics' timestamp and window
        if container:
            found = next((r for r in recs if r.container == container), None)
            if found is None:
                raise MetricError(
                    f"failed to get container metrics: container {container} not present in metrics for pod "
                    f"{meta.get('namespace', '')}/{meta['name']}"
                )
            value = _usage_milli(found, resource)
            if value is not None:
                out[meta["name"]] = PodMetric(value, first.timestamp, first.window_s)
            continue
        values = [_usage_milli(r, resource) for r in recs]
        if all(v is not None for v in values):
            out[meta["name"]] = PodMetric(sum(v for v in values if v is not None), first.timestamp, first.window_s)
    return out


# ---- the replica calculator (replica_calculator.go) ----------------------------------------------------------------
def _ready_condition(pod: Obj) -> Obj | None:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return dict(cond)
    return None


def group_pods(
    pods: Iterable[Obj],
    metrics: Mapping[str, PodMetric],
    resource: str,
    now: float,
    *,
    cpu_initialization_period: float = CPU_INITIALIZATION_PERIOD_S,
    delay_of_initial_readiness_status: float = INITIAL_READINESS_DELAY_S,
) -> tuple[int, set[str], set[str], set[str]]:
    """(ready pod count, unready, missing, ignored): deleted and failed pods are ignored, pending pods unready,
    running pods without metrics missing; for cpu, a pod is also unready while it is not ready or its sample
    predates its last readiness change by less than a window (within its first 5 minutes), or when it has
    never been ready."""
    ready, unready, missing, ignored = 0, set(), set(), set()
    for pod in pods:
        name = pod["metadata"]["name"]
        status = pod.get("status") or {}
        if pod["metadata"].get("deletionTimestamp") or status.get("phase") == "Failed":
            ignored.add(name)
            continue
        if status.get("phase") == "Pending":
            unready.add(name)
            continue
        metric = metrics.get(name)
        if metric is None:
            missing.add(name)
            continue
        if resource == "cpu":
            condition = _ready_condition(pod)
            start = parse_time(status.get("startTime"))
            if condition is None or start is None:
                not_ready = True
            else:
                transition = parse_time(condition.get("lastTransitionTime")) or 0.0
                if start + cpu_initialization_period > now:
                    not_ready = condition.get("status") == "False" or metric.timestamp < transition + metric.window
                else:
                    not_ready = (
                        condition.get("status") == "False" and start + delay_of_initial_readiness_status > transition
                    )
            if not_ready:
                unready.add(name)
                continue
        ready += 1
    return ready, unready, missing, ignored


def _request(container: Obj, resource: str) -> Any:
    res = container.get("resources") or {}
    requests, limits = res.get("requests") or {}, res.get("limits") or {}
    if resource in requests:
        return requests[resource]
    return limits.get(resource)  # the apiserver defaults a request to the limit


def calculate_pod_requests(pods: Iterable[Obj], container: str, resource: str) -> dict[str, int]:
    """Every pod's request of `resource` (milli-units), over its containers and restartable init containers
    (or the one `container`)."""
    out: dict[str, int] = {}
    for pod in pods:
        spec = pod.get("spec") or {}
        containers = list(spec.get("containers") or [])
        containers += [c for c in spec.get("initContainers") or [] if c.get("restartPolicy") == "Always"]
        total = 0
        for c in containers:
            if container and c.get("name") != container:
                continue
            request = _request(c, resource)
            if request is None:
                raise MetricError(
                    f"missing request for {resource} in container {c.get('name', '')} of Pod {pod['metadata']['name']}"
                )
            total += milli_value(request)
        out[pod["metadata"]["name"]] = total
    return out


def resource_utilization_ratio(
    metrics: Mapping[str, PodMetric], requests: Mapping[str, int], target_utilization: int
) -> tuple[float, int, int]:
    """(usage ratio, current utilization %, raw average value): usage over the requests of the pods with
    metrics, as a whole percentage."""
    metrics_total = requests_total = entries = 0
    for name, metric in metrics.items():
        if name not in requests:
            continue
        metrics_total += metric.value
        requests_total += requests[name]
        entries += 1
    if requests_total == 0:
        raise MetricError("no metrics returned matched known pods")
    utilization = (metrics_total * 100) // requests_total
    return utilization / target_utilization, utilization, metrics_total // entries


def metric_usage_ratio(metrics: Mapping[str, PodMetric], target_usage: int) -> tuple[float, int]:
    total = sum(m.value for m in metrics.values())
    current = total // len(metrics)
    return current / target_usage, current


def _missing_pods(pods: list[Obj]) -> None:
    if not pods:
        raise MetricError("no pods returned by selector while calculating replica count")


def _usable_metrics(
    usage: Iterable[ContainerUsage], pods: list[Obj], resource: str, container: str, now: float
) -> tuple[dict[str, PodMetric], int, set[str], set[str]]:
    """The metrics a recommendation may use (unready and ignored pods dropped), the ready count, and the unready
    and missing pods, as both replica calculations start."""
    try:
        metrics = resource_metrics(usage, pods, resource, container)
    except MetricError as exc:
        raise MetricError(f"unable to get metrics for resource {resource}: {exc}") from exc
    _missing_pods(pods)
    ready_count, unready, missing, ignored = group_pods(pods, metrics, resource, now)
    for name in ignored | unready:
        metrics.pop(name, None)
    if not metrics:
        raise MetricError("did not receive metrics for targeted pods (pods might be unready)")
    return metrics, ready_count, unready, missing


def resource_replicas(
    current_replicas: int,
    target_utilization: int,
    resource: str,
    *,
    pods: list[Obj],
    usage: Iterable[ContainerUsage],
    now: float,
    container: str = "",
    tolerance: float = TOLERANCE,
) -> tuple[int, int, int]:
    """GetResourceReplicas: (replica count, utilization %, raw average value in milli-units)."""
    metrics, ready_count, unready, missing = _usable_metrics(usage, pods, resource, container, now)
    requests = calculate_pod_requests(pods, container, resource)
    ratio, utilization, raw = resource_utilization_ratio(metrics, requests, target_utilization)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= tolerance:
            return current_replicas, utilization, raw  # too small a change
        return math.ceil(ratio * ready_count), utilization, raw
    if missing:
        if ratio < 1.0:  # scaling down: a pod without metrics uses 100% of its request (or the target, if higher)
            fallback = max(100, target_utilization)
            for name in missing:
                metrics[name] = PodMetric(requests[name] * fallback // 100, 0.0, 0.0)
        elif ratio > 1.0:  # scaling up: it uses nothing
            for name in missing:
                metrics[name] = PodMetric(0, 0.0, 0.0)
    if scale_up_with_unready:
        for name in unready:
            metrics[name] = PodMetric(0, 0.0, 0.0)
    new_ratio, _, _ = resource_utilization_ratio(metrics, requests, target_utilization)
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current_replicas, utilization, raw  # too small a change, or the direction would flip
    new_replicas = math.ceil(new_ratio * len(metrics))
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (new_ratio > 1.0 and new_replicas < current_replicas):
        return current_replicas, utilization, raw
    return new_replicas, utilization, raw


def raw_resource_replicas(
    current_replicas: int,
    target_usage: int,
    resource: str,
    *,
    pods: list[Obj],
    usage: Iterable[ContainerUsage],
    now: float,
    container: str = "",
    tolerance: float = TOLERANCE,
) -> tuple[int, int]:
    """GetRawResourceReplicas (an AverageValue target): (replica count, average usage in milli-units)."""
    metrics, ready_count, unready, missing = _usable_metrics(usage, pods, resource, container, now)
    ratio, current = metric_usage_ratio(metrics, target_usage)
    scale_up_with_unready = bool(unready) and ratio > 1.0
    if not scale_up_with_unready and not missing:
        if abs(1.0 - ratio) <= tolerance:
            return current_replicas, current
        return math.ceil(ratio * ready_count), current
    if missing:
        for name in missing:  # scaling down: exactly the target; scaling up: nothing
            if ratio < 1.0:
                metrics[name] = PodMetric(target_usage, 0.0, 0.0)
            elif ratio > 1.0:
                metrics[name] = PodMetric(0, 0.0, 0.0)
    if scale_up_with_unready:
        for name in unready:
            metrics[name] = PodMetric(0, 0.0, 0.0)
    new_ratio, _ = metric_usage_ratio(metrics, target_usage)
    if abs(1.0 - new_ratio) <= tolerance or (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio):
        return current_replicas, current
    new_replicas = math.ceil(new_ratio * len(metrics))
    if (new_ratio < 1.0 and new_replicas > current_replicas) or (new_ratio > 1.0 and new_replicas < current_replicas):
        return current_replicas, current
    return new_replicas, current
