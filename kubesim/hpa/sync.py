"""One sync of one HPA (reconcileAutoscaler): metrics, recommendation, bounds, status and events."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kubesim.hpa.behavior import (
    convert_desired_replicas_with_behavior_rate,
    convert_desired_replicas_with_rules,
    effective_behavior,
    set_condition,
    stabilize_recommendation,
    stabilize_recommendation_with_behaviors,
    store_scale_event,
)
from kubesim.hpa.model import (
    DOWNSCALE_STABILIZATION_S,
    TOLERANCE,
    Event,
    Memory,
    MetricError,
    Obj,
    Result,
    Scale,
    ScaleUpdateError,
    milli_quantity,
    milli_value,
    rfc3339,
)
from kubesim.hpa.replicas import raw_resource_replicas, resource_replicas
from kubesim.selectors import SelectorError, parse_label_selector
from kubesim.usage import ContainerUsage

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
