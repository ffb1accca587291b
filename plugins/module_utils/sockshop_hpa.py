# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""A HorizontalPodAutoscaler as an incident's fault (C(hpa)) and as a signal (C(hpa)).

- ``manifest``: the ``autoscaling/v2`` HorizontalPodAutoscaler an ``hpa`` fault puts, rendered from the incident's
  data (target workload, min/max replicas, Resource metrics at an average utilization, ``behavior`` verbatim).
- ``conflicts``: other HPAs of the namespace that scale the same workload. Two HPAs on one target fight (the
  controller marks both ``AmbiguousSelector`` and stops scaling), so a fault refuses to add a second one.
- ``unobserved``: whether the HPA controller has not looked at the HPA yet (no conditions in its status).
- ``judge_hpa``: the HPA's status against a check - the current utilization of a resource metric, its target,
  current and desired replicas, a condition - as ``kubectl describe hpa`` shows them.

Pure functions over plain dicts; a malformed check raises ValueError, what the cluster shows is judged.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.sockshop_incident import OPS, Verdict, get_path, managed_labels
from ansible.module_utils.sockshop_resource_signals import expect_rule

API_VERSION = "autoscaling/v2"
RESOURCES = ("cpu", "memory")
HPA_FIELDS = (
    "name",
    "resource",
    "current_utilization",
    "target_utilization",
    "current_replicas",
    "desired_replicas",
    "condition",
)


def manifest(fault: dict[str, Any], *, namespace: str, incident_id: str) -> dict[str, Any]:
    """The HorizontalPodAutoscaler of an ``hpa`` fault."""
    workload = fault["workload"]
    metrics = [
        {
            "type": "Resource",
            "resource": {
                "name": metric["resource"],
                "target": {"type": "Utilization", "averageUtilization": int(metric["utilization"])},
            },
        }
        for metric in fault["metrics"]
    ]
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": workload["kind"], "name": workload["name"]},
        "minReplicas": int(fault.get("min_replicas", 1)),
        "maxReplicas": int(fault["max_replicas"]),
        "metrics": metrics,
    }
    if fault.get("behavior"):
        spec["behavior"] = fault["behavior"]
    return {
        "apiVersion": API_VERSION,
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": fault["name"], "namespace": namespace, "labels": managed_labels(incident_id, "hpa")},
        "spec": spec,
    }


def target_of(hpa: dict[str, Any]) -> tuple[str, str]:
    ref = get_path(hpa, "spec.scaleTargetRef") or {}
    return str(ref.get("kind") or ""), str(ref.get("name") or "")


def conflicts(body: dict[str, Any], hpas: list[dict[str, Any]]) -> list[str]:
    """Names of the other HPAs in `hpas` that scale the workload `body` targets."""
    target, name = target_of(body), get_path(body, "metadata.name")
    return sorted(
        str(get_path(hpa, "metadata.name"))
        for hpa in hpas
        if target_of(hpa) == target and get_path(hpa, "metadata.name") != name
    )


def unobserved(hpa: dict[str, Any] | None) -> bool:
    """True until the HPA controller has written a condition into the HPA's status."""
    return not (get_path(hpa or {}, "status.conditions") or [])


def _metric(hpa: dict[str, Any], section: str, resource: str) -> dict[str, Any] | None:
    for item in get_path(hpa, section) or []:
        if item.get("type") == "Resource" and get_path(item, "resource.name") == resource:
            return dict(item["resource"])
    return None


def judge_hpa(check: dict[str, Any], hpa: dict[str, Any] | None) -> Verdict:
    """The HPA's status against the check, e.g. ``front-end-hpa-broken: memory 31% of target 80%, replicas 1 (desired
    1), ScalingActive=True (ValidMetricFound) (want current_utilization lt 50)``. Every given field must hold; a
    metric the controller could not read yet (``<unknown>`` in kubectl) does not hold."""
    unknown = sorted(set(check) - set(HPA_FIELDS))
    if unknown:
        raise ValueError(f"unknown hpa check fields {unknown} (known: {', '.join(HPA_FIELDS)})")
    if not isinstance(check.get("name"), str) or not check["name"]:
        raise ValueError(f"check.name must name a HorizontalPodAutoscaler, not {check.get('name')!r}")
    resource = check.get("resource")
    needs_metric = "current_utilization" in check or "target_utilization" in check
    if needs_metric and resource not in RESOURCES:
        raise ValueError(f"check.resource must be one of {', '.join(RESOURCES)} for a utilization, not {resource!r}")
    rules = {
        field: expect_rule(check[field], f"check.{field}")
        for field in ("current_utilization", "target_utilization", "current_replicas", "desired_replicas")
        if field in check
    }
    condition = check.get("condition")
    if condition is not None and (not isinstance(condition, dict) or not {"type", "status"} <= set(condition)):
        raise ValueError(f"check.condition must have type and status (and may have reason), not {condition!r}")
    if hpa is None:
        return False, f"no HorizontalPodAutoscaler {check['name']}"

    values: dict[str, float | None] = {
        "current_replicas": get_path(hpa, "status.currentReplicas"),
        "desired_replicas": get_path(hpa, "status.desiredReplicas"),
    }
    shown = []
    if resource:
        current = _metric(hpa, "status.currentMetrics", resource) or {}
        target = _metric(hpa, "spec.metrics", resource) or {}
        values["current_utilization"] = get_path(current, "current.averageUtilization")
        values["target_utilization"] = get_path(target, "target.averageUtilization")
        now = values["current_utilization"]
        target_text = "-" if values["target_utilization"] is None else f"{values['target_utilization']:g}%"
        shown.append(f"{resource} {'<unknown>' if now is None else f'{now:g}%'} of target {target_text}")
    shown.append(f"replicas {values['current_replicas']} (desired {values['desired_replicas']})")
    conditions = get_path(hpa, "status.conditions") or []
    shown += [f"{c.get('type')}={c.get('status')} ({c.get('reason')})" for c in conditions]

    misses = []
    for field, (op, want) in rules.items():
        value = values[field]
        if value is None or not OPS[op](float(value), want):
            misses.append(f"{field} {'unknown' if value is None else f'{value:g}'} (want {op} {want:g})")
    if condition is not None:
        found = next((c for c in conditions if c.get("type") == condition["type"]), None)
        if (
            found is None
            or found.get("status") != condition["status"]
            or ("reason" in condition and found.get("reason") != condition["reason"])
        ):
            wanted = f"{condition['type']}={condition['status']}" + (
                f" ({condition['reason']})" if "reason" in condition else ""
            )
            misses.append(f"condition {wanted} not set")
    wanted_text = ", ".join(f"{field} {op} {want:g}" for field, (op, want) in rules.items())
    text = f"{check['name']}: {', '.join(shown)}"
    if misses:
        return False, f"{text}; not holding: {'; '.join(misses)}"
    return True, f"{text} (want {wanted_text or 'the condition'})"
