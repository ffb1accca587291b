"""The horizontal pod autoscaler controller (kube-controller-manager's pkg/controller/podautoscaler, 1.32).

Every HorizontalPodAutoscaler is synced every 15 seconds (the first time 15 seconds after it is seen, as the
controller's fixed-interval work queue does). A sync reads the target's scale (Deployment, ReplicaSet or
StatefulSet: `spec.replicas` and its selector), the pods of that selector and their measured usage
(`Cluster.usage`, what metrics-server would answer), computes a replica count per metric, takes the largest,
bounds it by minReplicas/maxReplicas and the scaling rules (`spec.behavior`, or the 2x/4-pods and 5-minute
scale-down stabilisation of an HPA without one), writes the target's `spec.replicas` as the scale subresource
does, and records status, conditions and events worded as upstream words them.

The algorithm is kept in pure functions (`sync` and what it calls) over plain objects and a clock, so it can be
tested without a cluster; `HorizontalPodAutoscalerController` gathers their input from the store.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING
from typing import Any

from kubesim import convert_hpa, errors, resources
from kubesim.controllers.base import Controller, Key, copy
from kubesim.selectors import SelectorError, parse_label_selector
from kubesim.store import Change
from kubesim.usage import ContainerUsage, format_cpu, format_memory, quantity

log = logging.getLogger("kubesim.controllers")

HPAS = resources.get("autoscaling", "v2", "horizontalpodautoscalers")
COMPONENT = "horizontal-pod-autoscaler"
FIELD_MANAGER = "kube-controller-manager"

# kube-controller-manager's defaults (--horizontal-pod-autoscaler-*).
TOLERANCE = 0.1
CPU_INITIALIZATION_PERIOD_S = 300.0
INITIAL_READINESS_DELAY_S = 30.0
DOWNSCALE_STABILIZATION_S = 300.0
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0
MAX_INT32 = 2**31 - 1
MIN_INT32 = -(2**31)

Obj = dict[str, Any]


class MetricError(Exception):
    """A metric could not be read or used; the text is upstream's error text."""


class ScaleUpdateError(Exception):
    """Writing the target's scale failed."""


@dataclass(frozen=True)
class PodMetric:
    """One pod's value of one resource, in milli-units (as PodMetricsInfo holds it)."""

    value: int
    timestamp: float
    window: float


@dataclass(frozen=True)
class Scale:
    """The target's scale subresource."""

    spec_replicas: int
    status_replicas: int
    selector: str


@dataclass
class ScaleEvent:
    change: int  # replicas added (scale up) or removed (scale down)
    timestamp: float
    outdated: bool = False


@dataclass
class Memory:
    """What the controller remembers of one HPA between syncs (lost when it is deleted)."""

    recommendations: list[tuple[int, float]] = field(default_factory=list)
    scale_up_events: list[ScaleEvent] = field(default_factory=list)
    scale_down_events: list[ScaleEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Event:
    type: str
    reason: str
    message: str


@dataclass
class Result:
    status: Obj
    events: list[Event]
    rescaled_to: int | None = None


# ---- quantities and times ------------------------------------------------------------------------------------------
def milli_value(value: Any) -> int:
    """Quantity.MilliValue(): rounded up."""
    return int((quantity(value) * 1000).to_integral_value(rounding=ROUND_CEILING))


def milli_quantity(milli: int) -> str:
    """resource.NewMilliQuantity(milli, DecimalSI).String(): 250 -> "250m", 2000 -> "2", 43000000000 -> "43M"."""
    if milli == 0:
        return "0"
    sign, value = ("-", -milli) if milli < 0 else ("", milli)
    exponent = -3
    while value % 1000 == 0 and exponent < 18:
        value //= 1000
        exponent += 3
    suffix = {-3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}[exponent]
    return f"{sign}{value}{suffix}"


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value: Any) -> float | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


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


# ---- conditions ---------------------------------------------------------------------------------------------------
def set_condition(conditions: list[Obj], ctype: str, status: str, reason: str, message: str, *, now: float) -> None:
    """setConditionInList: update in place (the transition time moves only when the status does), or append."""
    cond = next((c for c in conditions if c.get("type") == ctype), None)
    if cond is None:
        cond = {"type": ctype}
        conditions.append(cond)
    if cond.get("status") != status:
        cond["lastTransitionTime"] = rfc3339(now)
    cond["status"], cond["reason"], cond["message"] = status, reason, message
    # the field order of the API type
    ordered: Obj = {k: cond[k] for k in ("type", "status", "lastTransitionTime", "reason", "message") if k in cond}
    cond.clear()
    cond.update(ordered)


# ---- normalisation (horizontal.go) ---------------------------------------------------------------------------------
def calculate_scale_up_limit(current_replicas: int) -> int:
    return int(max(SCALE_UP_LIMIT_FACTOR * current_replicas, SCALE_UP_LIMIT_MINIMUM))


def convert_desired_replicas_with_rules(
    current_replicas: int, desired_replicas: int, min_replicas: int, max_replicas: int
) -> tuple[int, str, str]:
    """Without `behavior`: (replicas, ScalingLimited reason, message) bounded by min/max and by 2x (at least 4)."""
    scale_up_limit = calculate_scale_up_limit(current_replicas)
    if max_replicas > scale_up_limit:
        maximum = scale_up_limit
        reason, message = "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
    else:
        maximum = max_replicas
        reason, message = "TooManyReplicas", "the desired replica count is more than the maximum replica count"
    if desired_replicas < min_replicas:
        return min_replicas, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
    if desired_replicas > maximum:
        return maximum, reason, message
    return desired_replicas, "DesiredWithinRange", "the desired count is within the acceptable range"


def stabilize_recommendation(memory: Memory, prenormalized: int, now: float, window: float) -> int:
    """Without `behavior`: the highest recommendation of the window; the newest replaces one that fell out."""
    highest = prenormalized
    old_index: int | None = None
    cutoff = now - window
    for i, (recommendation, ts) in enumerate(memory.recommendations):
        if ts < cutoff:
            old_index = i
        elif recommendation > highest:
            highest = recommendation
    if old_index is not None:
        memory.recommendations[old_index] = (prenormalized, now)
    else:
        memory.recommendations.append((prenormalized, now))
    return highest


def stabilize_recommendation_with_behaviors(
    memory: Memory, current: int, desired: int, *, up_window: float, down_window: float, now: float
) -> tuple[int, str, str]:
    """The recommendation kept between the lowest of the scale-up window and the highest of the scale-down one."""
    up_recommendation = down_recommendation = desired
    up_cutoff, down_cutoff = now - up_window, now - down_window
    old_index: int | None = None
    for i, (recommendation, ts) in enumerate(memory.recommendations):
        if ts > up_cutoff:
            up_recommendation = min(recommendation, up_recommendation)
        if ts > down_cutoff:
            down_recommendation = max(recommendation, down_recommendation)
        if ts < up_cutoff and ts < down_cutoff:
            old_index = i
    recommendation = current
    recommendation = max(recommendation, up_recommendation)
    recommendation = min(recommendation, down_recommendation)
    if old_index is not None:
        memory.recommendations[old_index] = (desired, now)
    else:
        memory.recommendations.append((desired, now))
    if desired >= current:
        return (
            recommendation,
            "ScaleUpStabilized",
            "recent recommendations were lower than current one, applying the lowest recent recommendation",
        )
    return (
        recommendation,
        "ScaleDownStabilized",
        "recent recommendations were higher than current one, applying the highest recent recommendation",
    )


def replicas_change_per_period(period_seconds: float, events: Iterable[ScaleEvent], now: float) -> int:
    cutoff = now - period_seconds
    return sum(e.change for e in events if e.timestamp > cutoff)


def _policy_limit(
    current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent], rules: Obj, now: float, *, up: bool
) -> int:
    """The replica bound the policies of one direction allow now: each policy proposes a bound from the replica
    count at the start of its period (Pods: +/- value; Percent: *(1 +/- value%)), and selectPolicy Max picks the
    one that allows the largest change, Min the smallest."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    largest_change = select != "Min"
    pick: Callable[[int, int], int] = max if largest_change == up else min
    result = MIN_INT32 if pick is max else MAX_INT32
    for policy in rules.get("policies") or []:
        period = policy.get("periodSeconds", 0)
        start = (
            current
            - replicas_change_per_period(period, up_events, now)
            + replicas_change_per_period(period, down_events, now)
        )
        value = policy.get("value", 0)
        if policy.get("type") == "Pods":
            proposed = start + value if up else start - value
        elif policy.get("type") == "Percent":
            proposed = math.ceil(start * (1 + value / 100)) if up else int(start * (1 - value / 100))
        else:
            continue
        result = pick(result, proposed)
    return result


def calculate_scale_up_limit_with_scaling_rules(
    current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent], rules: Obj, now: float
) -> int:
    """The most replicas the scale-up policies allow now (selectPolicy Max: the largest; Min: the smallest)."""
    return _policy_limit(current, up_events, down_events, rules, now, up=True)


def calculate_scale_down_limit_with_behaviors(
    current: int, up_events: list[ScaleEvent], down_events: list[ScaleEvent], rules: Obj, now: float
) -> int:
    """The fewest replicas the scale-down policies allow now."""
    return _policy_limit(current, up_events, down_events, rules, now, up=False)


def convert_desired_replicas_with_behavior_rate(
    memory: Memory,
    current: int,
    desired: int,
    *,
    min_replicas: int,
    max_replicas: int,
    behavior: Obj,
    now: float,
) -> tuple[int, str, str]:
    if desired > current:
        limit = calculate_scale_up_limit_with_scaling_rules(
            current, memory.scale_up_events, memory.scale_down_events, behavior["scaleUp"], now
        )
        limit = max(limit, current)  # no further scale up until the events age out
        if max_replicas > limit:
            maximum = limit
            reason, message = (
                "ScaleUpLimit",
                "the desired replica count is increasing faster than the maximum scale rate",
            )
        else:
            maximum = max_replicas
            reason, message = "TooManyReplicas", "the desired replica count is more than the maximum replica count"
        if desired > maximum:
            return maximum, reason, message
    elif desired < current:
        limit = calculate_scale_down_limit_with_behaviors(
            current, memory.scale_up_events, memory.scale_down_events, behavior["scaleDown"], now
        )
        limit = min(limit, current)
        if min_replicas < limit:
            minimum = limit
            reason, message = (
                "ScaleDownLimit",
                "the desired replica count is decreasing faster than the maximum scale rate",
            )
        else:
            minimum = min_replicas
            reason, message = "TooFewReplicas", "the desired replica count is less than the minimum replica count"
        if desired < minimum:
            return minimum, reason, message
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"


def effective_behavior(behavior: Obj, downscale_window: float = DOWNSCALE_STABILIZATION_S) -> Obj:
    """The behavior with every default filled in, the scale-down window included (maybeInitScaleDown...)."""
    out = {
        "scaleUp": convert_hpa.scale_up_rules(behavior.get("scaleUp")),
        "scaleDown": convert_hpa.scale_down_rules(behavior.get("scaleDown")),
    }
    if out["scaleDown"].get("stabilizationWindowSeconds") is None:
        out["scaleDown"]["stabilizationWindowSeconds"] = int(downscale_window)
    return out


def _longest_period(rules: Obj) -> int:
    return max((p.get("periodSeconds", 0) for p in rules.get("policies") or []), default=0)


def store_scale_event(memory: Memory, behavior: Obj | None, previous: int, new: int, now: float) -> None:
    """Remember a rescale for the rate policies (only an HPA with `behavior` uses them)."""
    if behavior is None:
        return
    if new > previous:
        events, rules, change = memory.scale_up_events, behavior["scaleUp"], new - previous
    else:
        events, rules, change = memory.scale_down_events, behavior["scaleDown"], previous - new
    cutoff = now - _longest_period(rules)
    old_index: int | None = None
    for i, event in enumerate(events):
        if event.timestamp < cutoff:
            event.outdated = True
        if event.outdated:
            old_index = i
    if old_index is not None:
        events[old_index] = ScaleEvent(change, now)
    else:
        events.append(ScaleEvent(change, now))


# ---- one sync (reconcileAutoscaler) --------------------------------------------------------------------------------
_UNAVAILABLE_CUSTOM = (
    "unable to fetch metrics from custom metrics API: no custom metrics API (custom.metrics.k8s.io) registered"
)
_UNAVAILABLE_EXTERNAL = (
    "unable to fetch metrics from external metrics API: no external metrics API (external.metrics.k8s.io) registered"
)


def _go_selector(selector: Any) -> str:
    """%+v of a *metav1.LabelSelector."""
    if not selector:
        return "nil"
    labels = "".join(f"{k}: {v}," for k, v in sorted((selector.get("matchLabels") or {}).items()))
    return (
        f"&LabelSelector{{MatchLabels:map[string]string{{{labels}}},MatchExpressions:[]LabelSelectorRequirement{{}},}}"
    )


@dataclass
class _Sync:
    hpa: Obj
    conditions: list[Obj]
    events: list[Event]
    now: float

    def event(self, type_: str, reason: str, message: str) -> None:
        self.events.append(Event(type_, reason, message))

    def condition(self, ctype: str, status: str, reason: str, message: str) -> None:
        set_condition(self.conditions, ctype, status, reason, message, now=self.now)

    def unable(self, reason: str, err: str) -> tuple[str, str, str]:
        """getUnableComputeReplicaCountCondition: the event now, the ScalingActive condition for later."""
        self.event("Warning", reason, err)
        return ("ScalingActive", reason, f"the HPA was unable to compute the replica count: {err}")


class _MetricFailure(Exception):
    def __init__(self, condition: tuple[str, str, str] | None, error: str) -> None:
        super().__init__(error)
        self.condition, self.error = condition, error


def _resource_generic(
    current_replicas: int,
    target: Obj,
    name: str,
    *,
    container: str,
    pods: list[Obj],
    usage: list[ContainerUsage],
    now: float,
    tolerance: float,
) -> tuple[int, Obj, str]:
    """computeStatusForResourceMetricGeneric: (replicas, current MetricValueStatus, metric description)."""
    if target.get("averageValue") is not None:
        try:
            replicas, raw = raw_resource_replicas(
                current_replicas,
                milli_value(target["averageValue"]),
                name,
                pods=pods,
                usage=usage,
                now=now,
                container=container,
                tolerance=tolerance,
            )
        except MetricError as exc:
            raise MetricError(f"failed to get {name} usage: {exc}") from exc
        return replicas, {"averageValue": milli_quantity(raw)}, f"{name} resource"
    if target.get("averageUtilization") is None:
        raise MetricError(
            "invalid resource metric source: neither an average utilization target nor an average value (usage) "
            "target was set"
        )
    try:
        replicas, utilization, raw = resource_replicas(
            current_replicas,
            int(target["averageUtilization"]),
            name,
            pods=pods,
            usage=usage,
            now=now,
            container=container,
            tolerance=tolerance,
        )
    except MetricError as exc:
        raise MetricError(f"failed to get {name} utilization: {exc}") from exc
    what = "container resource" if container else "resource"
    status = {"averageValue": milli_quantity(raw), "averageUtilization": utilization}
    return replicas, status, f"{name} {what} utilization (percentage of request)"


def compute_replicas_for_metric(
    s: _Sync,
    metric: Obj,
    spec_replicas: int,
    *,
    pods: list[Obj],
    usage: list[ContainerUsage],
    tolerance: float,
) -> tuple[int, str, Obj]:
    """One metric's (replica proposal, description, MetricStatus); _MetricFailure when it cannot be computed."""
    mtype = metric.get("type", "")
    ns = s.hpa["metadata"].get("namespace", "")
    if mtype in ("Resource", "ContainerResource"):
        field_name = "resource" if mtype == "Resource" else "containerResource"
        src = metric.get(field_name) or {}
        name, container = src.get("name", ""), src.get("container", "") if mtype == "ContainerResource" else ""
        try:
            replicas, current, description = _resource_generic(
                spec_replicas,
                src.get("target") or {},
                name,
                container=container,
                pods=pods,
                usage=usage,
                now=s.now,
                tolerance=tolerance,
            )
        except MetricError as exc:
            if mtype == "Resource":
                cond = s.unable("FailedGetResourceMetric", str(exc))
                raise _MetricFailure(cond, f"failed to get {name} resource metric value: {exc}") from exc
            cond = s.unable("FailedGetContainerResourceMetric", str(exc))
            raise _MetricFailure(cond, f"failed to get {container} container metric value: {exc}") from exc
        block: Obj = {"name": name}
        if mtype == "ContainerResource":
            block["container"] = container
        block["current"] = current
        return replicas, description, {"type": mtype, field_name: block}
    if mtype == "Pods":
        metric_name = ((metric.get("pods") or {}).get("metric") or {}).get("name", "")
        err = f"unable to get metric {metric_name}: {_UNAVAILABLE_CUSTOM}"
        cond = s.unable("FailedGetPodsMetric", err)
        raise _MetricFailure(cond, f"failed to get pods metric value: {err}")
    if mtype == "Object":
        src = metric.get("object") or {}
        metric_name = (src.get("metric") or {}).get("name", "")
        target = src.get("target") or {}
        described = src.get("describedObject") or {}
        if target.get("type") == "Value" and target.get("value") is not None:
            err = (
                f"unable to get metric {metric_name}: {described.get('kind', '')} on {ns} "
                f"{described.get('name', '')}/{_UNAVAILABLE_CUSTOM}"
            )
            cond = s.unable("FailedGetObjectMetric", err)
            raise _MetricFailure(cond, f"failed to get object metric value: {err}")
        if target.get("type") == "AverageValue" and target.get("averageValue") is not None:
            err = (
                f"unable to get metric {metric_name}: {described.get('kind', '')} on {ns} "
                f"{described.get('name', '')}/{_UNAVAILABLE_CUSTOM}"
            )
            cond = s.unable("FailedGetObjectMetric", err)
            raise _MetricFailure(
                cond, f"failed to get object metric value: failed to get {metric_name} object metric: {err}"
            )
        err = "invalid object metric source: neither a value target nor an average value target was set"
        cond = s.unable("FailedGetObjectMetric", err)
        raise _MetricFailure(cond, f"failed to get object metric value: {err}")
    if mtype == "External":
        src = metric.get("external") or {}
        ident, target = src.get("metric") or {}, src.get("target") or {}
        metric_name = ident.get("name", "")
        selector = _go_selector(ident.get("selector"))
        err = f"unable to get external metric {ns}/{metric_name}/{selector}: {_UNAVAILABLE_EXTERNAL}"
        if target.get("averageValue") is not None:
            cond = s.unable("FailedGetExternalMetric", err)
            wrapped = f"failed to get {metric_name} external metric: {err}"
        elif target.get("value") is not None:
            cond = s.unable("FailedGetExternalMetric", err)
            wrapped = f"failed to get external metric {metric_name}: {err}"
        else:
            wrapped = "invalid external metric source: neither a value target nor an average value target was set"
            cond = s.unable("FailedGetExternalMetric", wrapped)
        raise _MetricFailure(cond, f"failed to get {metric_name} external metric value: {wrapped}")
    err = f'unknown metric source type "{mtype}"'
    cond = s.unable("InvalidMetricSourceType", err)
    raise _MetricFailure(cond, err)


def compute_replicas_for_metrics(
    s: _Sync, scale: Scale, metrics: list[Obj], *, pods: list[Obj], usage: list[ContainerUsage], tolerance: float
) -> tuple[int, str, list[Obj], str | None]:
    """(replicas, metric description, MetricStatuses, error): the largest proposal of the valid metrics; -1 when
    nothing can be done (every metric failed, or a failure and a proposal below the current count)."""
    if not scale.selector:
        s.event("Warning", "SelectorRequired", "selector is required")
        s.condition("ScalingActive", "False", "InvalidSelector", "the HPA target's scale is missing a selector")
        return -1, "", [], "selector is required"
    try:
        selector = parse_label_selector(scale.selector)
    except SelectorError as exc:
        msg = f"couldn't convert selector into a corresponding internal selector object: {exc}"
        s.event("Warning", "InvalidSelector", msg)
        s.condition("ScalingActive", "False", "InvalidSelector", msg)
        return -1, "", [], msg
    selected = sorted(
        (p for p in pods if selector.matches(p["metadata"].get("labels") or {})), key=lambda p: p["metadata"]["name"]
    )
    statuses: list[Obj] = [{"type": ""} for _ in metrics]
    replicas, metric_name = 0, ""
    invalid, first_error, first_condition = 0, "", None
    for i, metric in enumerate(metrics):
        try:
            proposal, name, status = compute_replicas_for_metric(
                s, metric, scale.spec_replicas, pods=selected, usage=usage, tolerance=tolerance
            )
        except _MetricFailure as failure:
            if invalid == 0:
                first_condition, first_error = failure.condition, failure.error
            invalid += 1
            continue
        statuses[i] = status
        if replicas == 0 or proposal > replicas:
            replicas, metric_name = proposal, name
    error = (
        f"invalid metrics ({invalid} invalid out of {len(metrics)}), first error is: {first_error}" if invalid else None
    )
    if metrics and (invalid >= len(metrics) or (invalid > 0 and replicas < scale.spec_replicas)):
        if first_condition is not None:
            ctype, reason, message = first_condition
            s.condition(ctype, "False", reason, message)
        return -1, "", statuses, error
    s.condition(
        "ScalingActive",
        "True",
        "ValidMetricFound",
        f"the HPA was able to successfully calculate a replica count from {metric_name}",
    )
    return replicas, metric_name, statuses, error


def _status(hpa: Obj, s: _Sync, current: int, desired: int, *, statuses: list[Obj], rescale: bool) -> Obj:
    """setStatus: the whole status anew, keeping lastScaleTime unless this sync rescaled."""
    old = hpa.get("status") or {}
    out: Obj = {}
    generation = hpa["metadata"].get("generation")
    if generation is not None:
        out["observedGeneration"] = generation
    last = rfc3339(s.now) if rescale else old.get("lastScaleTime")
    if last:
        out["lastScaleTime"] = last
    if current:
        out["currentReplicas"] = current
    out["desiredReplicas"] = desired
    out["currentMetrics"] = statuses or None
    if s.conditions:
        out["conditions"] = s.conditions
    return out


def sync(
    hpa: Obj,
    scale: Scale | str,
    *,
    pods: list[Obj],
    usage: list[ContainerUsage],
    memory: Memory,
    now: float,
    update_scale: Callable[[int], None],
    tolerance: float = TOLERANCE,
    downscale_window: float = DOWNSCALE_STABILIZATION_S,
) -> Result:
    """One reconcileAutoscaler: `scale` is the target's scale, or the error text of reading it; `pods` the pods of
    the HPA's namespace; `update_scale(n)` writes the target's replicas (raising ScaleUpdateError)."""
    spec = hpa.get("spec") or {}
    old_status = hpa.get("status") or {}
    s = _Sync(hpa, [dict(c) for c in old_status.get("conditions") or []], [], now)
    if isinstance(scale, str):
        s.event("Warning", "FailedGetScale", scale)
        s.condition(
            "AbleToScale",
            "False",
            "FailedGetScale",
            f"the HPA controller was unable to get the target's current scale: {scale}",
        )
        return Result({**old_status, "conditions": s.conditions}, s.events)
    s.condition(
        "AbleToScale", "True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"
    )
    current = scale.spec_replicas
    previous_desired = int(old_status.get("desiredReplicas") or 0)
    if not memory.recommendations:
        memory.recommendations.append((current, now))
    min_replicas = spec.get("minReplicas")
    min_replicas = 1 if min_replicas is None else int(min_replicas)
    max_replicas = int(spec.get("maxReplicas") or 0)
    behavior = spec.get("behavior")
    statuses: list[Obj] = []
    desired, reason, rescale = 0, "", True
    if current == 0 and min_replicas != 0:
        rescale = False
        s.condition(
            "ScalingActive",
            "False",
            "ScalingDisabled",
            "scaling is disabled since the replica count of the target is zero",
        )
    elif current > max_replicas:
        reason, desired = "Current number of replicas above Spec.MaxReplicas", max_replicas
    elif current < min_replicas:
        reason, desired = "Current number of replicas below Spec.MinReplicas", min_replicas
    else:
        proposal, metric_name, statuses, error = compute_replicas_for_metrics(
            s, scale, spec.get("metrics") or [], pods=pods, usage=usage, tolerance=tolerance
        )
        if error is not None and proposal == -1:
            status = _status(hpa, s, current, previous_desired, statuses=statuses, rescale=False)
            s.event("Warning", "FailedComputeMetricsReplicas", error)
            return Result(status, s.events)
        rescale_metric = ""
        if proposal > desired:
            desired, rescale_metric = proposal, metric_name
        if desired > current:
            reason = f"{rescale_metric} above target"
        if desired < current:
            reason = "All metrics below target"
        if behavior is None:
            stabilized = stabilize_recommendation(memory, desired, now, downscale_window)
            if stabilized != desired:
                s.condition(
                    "AbleToScale",
                    "True",
                    "ScaleDownStabilized",
                    "recent recommendations were higher than current one, applying the highest recent recommendation",
                )
            else:
                s.condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
            desired, limit_reason, limit_message = convert_desired_replicas_with_rules(
                current, stabilized, min_replicas, max_replicas
            )
        else:
            rules = effective_behavior(behavior, downscale_window)
            stabilized, stab_reason, stab_message = stabilize_recommendation_with_behaviors(
                memory,
                current,
                desired,
                up_window=rules["scaleUp"].get("stabilizationWindowSeconds") or 0,
                down_window=rules["scaleDown"]["stabilizationWindowSeconds"],
                now=now,
            )
            if stabilized != desired:
                s.condition("AbleToScale", "True", stab_reason, stab_message)
            else:
                s.condition("AbleToScale", "True", "ReadyForNewScale", "recommended size matches current size")
            desired, limit_reason, limit_message = convert_desired_replicas_with_behavior_rate(
                memory,
                current,
                stabilized,
                min_replicas=min_replicas,
                max_replicas=max_replicas,
                behavior=rules,
                now=now,
            )
        limited = "False" if desired == stabilized else "True"
        s.condition("ScalingLimited", limited, limit_reason, limit_message)
        rescale = desired != current
    if rescale:
        try:
            update_scale(desired)
        except ScaleUpdateError as exc:
            s.event("Warning", "FailedRescale", f"New size: {desired}; reason: {reason}; error: {exc}")
            s.condition(
                "AbleToScale",
                "False",
                "FailedUpdateScale",
                f"the HPA controller was unable to update the target scale: {exc}",
            )
            status = _status(hpa, s, current, previous_desired, statuses=statuses, rescale=False)
            return Result(status, s.events)
        s.condition(
            "AbleToScale",
            "True",
            "SucceededRescale",
            f"the HPA controller was able to update the target scale to {desired}",
        )
        s.event("Normal", "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
        store_scale_event(
            memory, effective_behavior(behavior, downscale_window) if behavior else None, current, desired, now
        )
    else:
        desired = current
    status = _status(hpa, s, current, desired, statuses=statuses, rescale=rescale)
    return Result(status, s.events, desired if rescale else None)


# ---- the controller ------------------------------------------------------------------------------------------------
class HorizontalPodAutoscalerController(Controller):
    """Syncs each HPA every `sync_period_s`; a change to an HPA does not bring its next sync forward."""

    primary = HPAS.key
    sync_period_s = 15.0

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        self._due: dict[Key, float] = {}
        self.memory: dict[Key, Memory] = {}

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.key == self.primary:
            meta = change.obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if change.type == "DELETED":
                self._due.pop(key, None)
                self.memory.pop(key, None)
            else:
                self._due.setdefault(key, time.monotonic() + self.sync_period_s)
        return ()

    def enqueue(self, key: Key) -> None:
        """Sync `key` at the next turn of the loop (nothing in the cluster asks for that; the period rules)."""
        self._due[key] = time.monotonic()

    def enqueue_all(self) -> None:
        for obj in self.store.scan(self.primary):
            key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            self._due.setdefault(key, time.monotonic() + self.sync_period_s)

    async def run(self) -> None:
        self.enqueue_all()
        while True:
            now = time.monotonic()
            for key, due in sorted(self._due.items(), key=lambda kv: kv[1]):
                if due > now:
                    continue
                self._due[key] = now + self.sync_period_s
                try:
                    self.reconcile(*key)
                except errors.APIError as exc:
                    log.debug("%s %s: %s", type(self).__name__, key, exc.message)
                except Exception:
                    log.exception("%s failed on %s", type(self).__name__, key)
            wait = min((d for d in self._due.values()), default=now + 1.0) - time.monotonic()
            await asyncio.sleep(min(1.0, max(0.05, wait)))

    def _target(self, ns: str, ref: Obj) -> tuple[resources.Resource, Obj] | str:
        """The scale target's resource and object, or the error the scale client would give."""
        api_version, kind, name = ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", "")
        if api_version.count("/") > 1:
            return f"unexpected GroupVersion string: {api_version}"
        group = api_version.split("/", 1)[0] if "/" in api_version else ""
        res = next((r for r in resources.RESOURCES if r.group == group and r.kind == kind and not r.storage), None)
        if res is None:
            return f'no matches for kind "{kind}" in group "{group}"'
        if "scale" not in res.subresources:
            return "the server could not find the requested resource"
        obj = self.store.peek(res.key, ns, name)
        if obj is None:
            return f'{res.group_resource} "{name}" not found'
        return res, obj

    def reconcile(self, ns: str, name: str) -> float | None:
        stored = self.store.peek(self.primary, ns, name)
        if stored is None:
            self._due.pop((ns, name), None)
            self.memory.pop((ns, name), None)
            return None
        hpa = copy(stored)
        target = self._target(ns, (hpa.get("spec") or {}).get("scaleTargetRef") or {})
        scale: Scale | str
        if isinstance(target, str):
            scale = target
        else:
            res, obj = target
            scale_obj = self.registry.scale_of(res, obj)
            scale = Scale(
                int(scale_obj["spec"]["replicas"] or 0),
                int(scale_obj["status"]["replicas"] or 0),
                scale_obj["status"]["selector"],
            )

        def update_scale(replicas: int) -> None:
            assert not isinstance(target, str)
            res, obj = target
            old = self.store.get(res.key, ns, obj["metadata"]["name"])
            if old is None:
                raise ScaleUpdateError(f'{res.group_resource} "{obj["metadata"]["name"]}" not found')
            try:
                self.registry.set_scale(res, old, {"spec": {"replicas": replicas}}, manager=FIELD_MANAGER)
            except errors.APIError as exc:
                raise ScaleUpdateError(exc.message) from exc

        source = getattr(self.cluster, "usage", None)
        usage = source.containers() if source is not None else []
        pods = self.store.scan("pods", ns)
        memory = self.memory.setdefault((ns, name), Memory())
        result = sync(hpa, scale, pods=pods, usage=usage, memory=memory, now=time.time(), update_scale=update_scale)
        for event in result.events:
            self.registry.record_event(hpa, event.reason, event.message, type_=event.type, component=COMPONENT)
        current = self.store.peek(self.primary, ns, name)
        if current is not None and result.status != current.get("status"):
            new = copy(current)
            new["status"] = result.status
            self.registry.write(HPAS, current, new, sub="status", manager=FIELD_MANAGER)
        return None
