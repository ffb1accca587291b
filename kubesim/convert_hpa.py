"""HorizontalPodAutoscaler across versions: autoscaling/v2 is the stored form, autoscaling/v1 a view of it.

As the apiserver converts (pkg/apis/autoscaling/v1/conversion.go and v2/defaults.go, Kubernetes 1.32): v1's
`spec.targetCPUUtilizationPercentage` is v2's cpu Utilization metric and `status.currentCPUUtilizationPercentage`
its current value; whatever else v2 holds travels through v1 in annotations, in autoscaling/v1's own metric shapes
(the v2beta1 ones): the other metrics (`.../metrics`), every current metric (`.../current-metrics`, so the raw cpu
value survives too), the conditions (`.../conditions`) and the behavior (`.../behavior`, marshalled from the
internal type, so with Go's field names). Reading a v1 object back into v2 takes them out of the annotations again.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from kubesim import errors

METRICS = "autoscaling.alpha.kubernetes.io/metrics"
CURRENT_METRICS = "autoscaling.alpha.kubernetes.io/current-metrics"
CONDITIONS = "autoscaling.alpha.kubernetes.io/conditions"
BEHAVIOR = "autoscaling.alpha.kubernetes.io/behavior"
ROUND_TRIP = (METRICS, CURRENT_METRICS, CONDITIONS, BEHAVIOR)
DEFAULT_CPU_UTILIZATION = 80

V1 = "autoscaling/v1"
V2 = "autoscaling/v2"

Obj = dict[str, Any]


def is_v1(res: Any) -> bool:
    """Whether `res` (a resources.Resource) is autoscaling/v1's HorizontalPodAutoscaler."""
    return bool(res.group == "autoscaling" and res.version == "v1" and res.kind == "HorizontalPodAutoscaler")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _put(out: Obj, key: str, value: Any) -> None:
    """Set an optional (omitempty) field."""
    if value is not None:
        out[key] = value


# ---- v2 defaulting (SetDefaults_HorizontalPodAutoscaler) ------------------------------------------------------------
def scale_up_rules(rules: Obj | None = None) -> Obj:
    """GenerateHPAScaleUpRules: the defaults, overridden by whatever `rules` sets."""
    out: Obj = {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    }
    return _merge_rules(out, rules)


def scale_down_rules(rules: Obj | None = None) -> Obj:
    """GenerateHPAScaleDownRules: the window stays unset (the controller's --horizontal-pod-autoscaler-downscale-
    stabilization, 5 minutes, applies)."""
    out: Obj = {"selectPolicy": "Max", "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    return _merge_rules(out, rules)


def _merge_rules(defaults: Obj, rules: Obj | None) -> Obj:
    if not rules:
        return defaults
    out: Obj = {}
    for key in ("stabilizationWindowSeconds", "selectPolicy", "policies"):
        value = rules.get(key) if rules.get(key) is not None else defaults.get(key)
        _put(out, key, copy.deepcopy(value))
    return out


def default_v2(obj: Obj) -> None:
    """The v2 defaults, in place: minReplicas 1, a cpu 80% Utilization metric when there is none, every unset
    field of a given behavior, and the status a new object starts with."""
    spec = obj.setdefault("spec", {})
    if spec.get("minReplicas") is None:
        spec["minReplicas"] = 1
    if not spec.get("metrics"):
        spec["metrics"] = [_cpu_metric(DEFAULT_CPU_UTILIZATION)]
    if spec.get("behavior") is not None:
        behavior = spec["behavior"]
        spec["behavior"] = {
            "scaleUp": scale_up_rules(behavior.get("scaleUp")),
            "scaleDown": scale_down_rules(behavior.get("scaleDown")),
        }
    if "status" not in obj:
        obj["status"] = {"currentMetrics": None, "desiredReplicas": 0}


def _cpu_metric(utilization: int) -> Obj:
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": utilization}},
    }


def _is_cpu_utilization(metric: Obj) -> bool:
    resource = metric.get("resource") or {}
    return (
        metric.get("type") == "Resource"
        and resource.get("name") == "cpu"
        and (resource.get("target") or {}).get("averageUtilization") is not None
    )


# ---- metric specs and statuses: v2 <-> v1 (v2beta1 shapes) -----------------------------------------------------------
def _ref(ref: Obj | None) -> Obj:
    ref = ref or {}
    out: Obj = {"kind": ref.get("kind", ""), "name": ref.get("name", "")}
    _put(out, "apiVersion", ref.get("apiVersion") or None)
    return out


def metric_spec_to_v1(metric: Obj) -> Obj:
    mtype = metric.get("type", "")
    out: Obj = {"type": mtype}
    if metric.get("object") is not None:
        src = metric["object"]
        target, ident = src.get("target") or {}, src.get("metric") or {}
        obj: Obj = {"target": _ref(src.get("describedObject")), "metricName": ident.get("name", "")}
        obj["targetValue"] = target.get("value") if target.get("value") is not None else "0"
        _put(obj, "selector", ident.get("selector"))
        _put(obj, "averageValue", target.get("averageValue"))
        out["object"] = obj
    if metric.get("pods") is not None:
        src = metric["pods"]
        target, ident = src.get("target") or {}, src.get("metric") or {}
        pods: Obj = {"metricName": ident.get("name", "")}
        pods["targetAverageValue"] = target.get("averageValue") if target.get("averageValue") is not None else "0"
        _put(pods, "selector", ident.get("selector"))
        out["pods"] = pods
    for field in ("resource", "containerResource"):
        if metric.get(field) is not None:
            src = metric[field]
            target = src.get("target") or {}
            res: Obj = {"name": src.get("name", "")}
            _put(res, "targetAverageUtilization", target.get("averageUtilization"))
            _put(res, "targetAverageValue", target.get("averageValue"))
            if field == "containerResource":
                res["container"] = src.get("container", "")
            out[field] = res
    if metric.get("external") is not None:
        src = metric["external"]
        target, ident = src.get("target") or {}, src.get("metric") or {}
        ext: Obj = {"metricName": ident.get("name", "")}
        _put(ext, "metricSelector", ident.get("selector"))
        _put(ext, "targetValue", target.get("value"))
        _put(ext, "targetAverageValue", target.get("averageValue"))
        out["external"] = ext
    return out


def _target(ttype: str, value: Any = None, average_value: Any = None, utilization: Any = None) -> Obj:
    out: Obj = {"type": ttype}
    _put(out, "value", value)
    _put(out, "averageValue", average_value)
    _put(out, "averageUtilization", utilization)
    return out


def _ident(name: Any, selector: Any) -> Obj:
    out: Obj = {"name": name or ""}
    _put(out, "selector", selector)
    return out


def metric_spec_from_v1(metric: Obj) -> Obj:
    out: Obj = {"type": metric.get("type", "")}
    if metric.get("object") is not None:
        src = metric["object"]
        ttype = "Value" if src.get("averageValue") is None else "AverageValue"
        out["object"] = {
            "describedObject": _ref(src.get("target")),
            "target": _target(ttype, src.get("targetValue", "0"), src.get("averageValue")),
            "metric": _ident(src.get("metricName"), src.get("selector")),
        }
    if metric.get("pods") is not None:
        src = metric["pods"]
        out["pods"] = {
            "metric": _ident(src.get("metricName"), src.get("selector")),
            "target": _target("AverageValue", average_value=src.get("targetAverageValue", "0")),
        }
    for field in ("resource", "containerResource"):
        if metric.get(field) is not None:
            src = metric[field]
            utilization = src.get("targetAverageUtilization")
            ttype = "AverageValue" if utilization is None else "Utilization"
            res: Obj = {
                "name": src.get("name", ""),
                "target": _target(ttype, average_value=src.get("targetAverageValue"), utilization=utilization),
            }
            if field == "containerResource":
                res["container"] = src.get("container", "")
            out[field] = res
    if metric.get("external") is not None:
        src = metric["external"]
        ttype = "AverageValue" if src.get("targetValue") is None else "Value"
        out["external"] = {
            "metric": _ident(src.get("metricName"), src.get("metricSelector")),
            "target": _target(ttype, src.get("targetValue"), src.get("targetAverageValue")),
        }
    return out


def metric_status_to_v1(status: Obj) -> Obj:
    out: Obj = {"type": status.get("type", "")}
    if status.get("object") is not None:
        src = status["object"]
        current, ident = src.get("current") or {}, src.get("metric") or {}
        obj: Obj = {"target": _ref(src.get("describedObject")), "metricName": ident.get("name", "")}
        obj["currentValue"] = current.get("value") if current.get("value") is not None else "0"
        _put(obj, "selector", ident.get("selector"))
        _put(obj, "averageValue", current.get("averageValue"))
        out["object"] = obj
    if status.get("pods") is not None:
        src = status["pods"]
        current, ident = src.get("current") or {}, src.get("metric") or {}
        pods: Obj = {"metricName": ident.get("name", "")}
        pods["currentAverageValue"] = current.get("averageValue") if current.get("averageValue") is not None else "0"
        _put(pods, "selector", ident.get("selector"))
        out["pods"] = pods
    for field in ("resource", "containerResource"):
        if status.get(field) is not None:
            src = status[field]
            current = src.get("current") or {}
            res: Obj = {"name": src.get("name", "")}
            _put(res, "currentAverageUtilization", current.get("averageUtilization"))
            value = current.get("averageValue")
            res["currentAverageValue"] = value if value is not None else "0"
            if field == "containerResource":
                res["container"] = src.get("container", "")
            out[field] = res
    if status.get("external") is not None:
        src = status["external"]
        current, ident = src.get("current") or {}, src.get("metric") or {}
        ext: Obj = {"metricName": ident.get("name", "")}
        _put(ext, "metricSelector", ident.get("selector"))
        ext["currentValue"] = current.get("value") if current.get("value") is not None else "0"
        _put(ext, "currentAverageValue", current.get("averageValue"))
        out["external"] = ext
    return out


def _current(value: Any = None, average_value: Any = None, utilization: Any = None) -> Obj:
    out: Obj = {}
    _put(out, "value", value)
    _put(out, "averageValue", average_value)
    _put(out, "averageUtilization", utilization)
    return out


def metric_status_from_v1(status: Obj) -> Obj:
    out: Obj = {"type": status.get("type", "")}
    if status.get("object") is not None:
        src = status["object"]
        out["object"] = {
            "metric": _ident(src.get("metricName"), src.get("selector")),
            "current": _current(src.get("currentValue", "0"), src.get("averageValue")),
            "describedObject": _ref(src.get("target")),
        }
    if status.get("pods") is not None:
        src = status["pods"]
        out["pods"] = {
            "metric": _ident(src.get("metricName"), src.get("selector")),
            "current": _current(average_value=src.get("currentAverageValue", "0")),
        }
    if status.get("resource") is not None:
        src = status["resource"]
        out["resource"] = {
            "name": src.get("name", ""),
            "current": _current(
                average_value=src.get("currentAverageValue", "0"), utilization=src.get("currentAverageUtilization")
            ),
        }
    if status.get("containerResource") is not None:
        src = status["containerResource"]
        out["containerResource"] = {
            "name": src.get("name", ""),
            "container": src.get("container", ""),
            "current": _current(
                average_value=src.get("currentAverageValue", "0"), utilization=src.get("currentAverageUtilization")
            ),
        }
    if status.get("external") is not None:
        src = status["external"]
        out["external"] = {
            "metric": _ident(src.get("metricName"), src.get("metricSelector")),
            "current": _current(src.get("currentValue", "0"), src.get("currentAverageValue")),
        }
    return out


def _condition_to_v1(cond: Obj) -> Obj:
    out: Obj = {"type": cond.get("type", ""), "status": cond.get("status", "")}
    out["lastTransitionTime"] = cond.get("lastTransitionTime")  # a metav1.Time: never omitted
    _put(out, "reason", cond.get("reason") or None)
    _put(out, "message", cond.get("message") or None)
    return out


def _condition_from_v1(cond: Obj) -> Obj:
    out: Obj = {"type": cond.get("type", ""), "status": cond.get("status", "")}
    _put(out, "lastTransitionTime", cond.get("lastTransitionTime"))
    _put(out, "reason", cond.get("reason") or None)
    _put(out, "message", cond.get("message") or None)
    return out


# ---- behavior: marshalled from the internal type (no json tags: Go's field names) ------------------------------------
_RULE_FIELDS = (("stabilizationWindowSeconds", "StabilizationWindowSeconds"), ("selectPolicy", "SelectPolicy"))
_POLICY_FIELDS = (("type", "Type"), ("value", "Value"), ("periodSeconds", "PeriodSeconds"))


def _rules_internal(rules: Obj | None) -> Obj | None:
    if rules is None:
        return None
    out: Obj = {internal: rules.get(field) for field, internal in _RULE_FIELDS}
    policies = rules.get("policies")
    out["Policies"] = (
        None
        if policies is None
        else [{i: p.get(f, "" if f == "type" else 0) for f, i in _POLICY_FIELDS} for p in policies]
    )
    return out


def _rules_external(rules: Any) -> Obj | None:
    if not isinstance(rules, dict):
        return None
    out: Obj = {}
    for field, internal in _RULE_FIELDS:
        _put(out, field, rules.get(internal))
    if rules.get("Policies") is not None:
        out["policies"] = [{f: p.get(i) for f, i in _POLICY_FIELDS} for p in rules["Policies"]]
    return out


# ---- whole objects -------------------------------------------------------------------------------------------------
def v2_to_v1(obj: Obj) -> Obj:
    """The stored (v2) object as autoscaling/v1 serves it; `obj` is left as it is."""
    src = copy.deepcopy(obj)
    meta: Obj = src.get("metadata") or {}
    had_annotations = "annotations" in meta
    annotations = {k: v for k, v in (meta.get("annotations") or {}).items() if k not in ROUND_TRIP}
    spec: Obj = src.get("spec") or {}
    status: Obj = src.get("status") or {}
    metrics = spec.get("metrics") or []
    other = [metric_spec_to_v1(m) for m in metrics if not _is_cpu_utilization(m)]
    if other:
        annotations[METRICS] = _dumps(other)
    current = status.get("currentMetrics") or []
    if current:
        annotations[CURRENT_METRICS] = _dumps([metric_status_to_v1(s) for s in current])
    if spec.get("behavior") is not None:
        behavior = spec["behavior"]
        annotations[BEHAVIOR] = _dumps(
            {
                "ScaleUp": _rules_internal(behavior.get("scaleUp")),
                "ScaleDown": _rules_internal(behavior.get("scaleDown")),
            }
        )
    conditions = status.get("conditions") or []
    if conditions:
        annotations[CONDITIONS] = _dumps([_condition_to_v1(c) for c in conditions])
    if annotations or had_annotations:
        meta["annotations"] = annotations
    v1spec: Obj = {"scaleTargetRef": _ref(spec.get("scaleTargetRef"))}
    _put(v1spec, "minReplicas", spec.get("minReplicas"))
    v1spec["maxReplicas"] = spec.get("maxReplicas", 0)
    for metric in metrics:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            _put(v1spec, "targetCPUUtilizationPercentage", (resource.get("target") or {}).get("averageUtilization"))
            break
    v1status: Obj = {}
    _put(v1status, "observedGeneration", status.get("observedGeneration"))
    _put(v1status, "lastScaleTime", status.get("lastScaleTime"))
    v1status["currentReplicas"] = status.get("currentReplicas", 0)
    v1status["desiredReplicas"] = status.get("desiredReplicas", 0)
    for metric in current:
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            utilization = (resource.get("current") or {}).get("averageUtilization")
            if utilization is not None:
                v1status["currentCPUUtilizationPercentage"] = utilization
    out: Obj = {"apiVersion": V1, "kind": src.get("kind", "HorizontalPodAutoscaler"), "metadata": meta}
    out["spec"] = v1spec
    out["status"] = v1status
    return out


def _annotation(annotations: Obj, key: str) -> Any:
    try:
        return json.loads(annotations[key])
    except (TypeError, ValueError) as exc:
        raise errors.bad_request(f"annotation {key}: {exc}") from exc


def v1_to_v2(obj: Obj) -> Obj:
    """An autoscaling/v1 object (a request body) as the v2 object it stands for; `obj` is left as it is."""
    src = copy.deepcopy(obj)
    meta: Obj = src["metadata"] if isinstance(src.get("metadata"), dict) else {}
    annotations: Obj = dict(meta.get("annotations") or {})
    spec1: Obj = src.get("spec") or {}
    status1: Obj = src.get("status") or {}
    spec: Obj = {"scaleTargetRef": _ref(spec1.get("scaleTargetRef"))}
    _put(spec, "minReplicas", spec1.get("minReplicas"))
    spec["maxReplicas"] = spec1.get("maxReplicas", 0)
    metrics: list[Obj] = []
    if spec1.get("targetCPUUtilizationPercentage") is not None:
        metrics = [_cpu_metric(spec1["targetCPUUtilizationPercentage"])]
    if METRICS in annotations:  # the other metrics first, the cpu target after them
        metrics = [metric_spec_from_v1(m) for m in _annotation(annotations, METRICS) or []] + metrics
    if not metrics:  # v1's implicit default, made explicit
        metrics = [_cpu_metric(DEFAULT_CPU_UTILIZATION)]
    spec["metrics"] = metrics
    if BEHAVIOR in annotations:
        try:
            raw = json.loads(annotations[BEHAVIOR])
        except (TypeError, ValueError):
            raw = None
        if isinstance(raw, dict) and (raw.get("ScaleUp") is not None or raw.get("ScaleDown") is not None):
            behavior: Obj = {}
            _put(behavior, "scaleUp", _rules_external(raw.get("ScaleUp")))
            _put(behavior, "scaleDown", _rules_external(raw.get("ScaleDown")))
            spec["behavior"] = behavior
    status: Obj = {}
    _put(status, "observedGeneration", status1.get("observedGeneration"))
    _put(status, "lastScaleTime", status1.get("lastScaleTime"))
    if status1.get("currentReplicas"):
        status["currentReplicas"] = status1["currentReplicas"]
    status["desiredReplicas"] = status1.get("desiredReplicas", 0)
    current: list[Obj] | None = None
    if status1.get("currentCPUUtilizationPercentage") is not None:
        current = [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": status1["currentCPUUtilizationPercentage"]},
                },
            }
        ]
    if CURRENT_METRICS in annotations:  # more than the percentage: these win
        current = [metric_status_from_v1(s) for s in _annotation(annotations, CURRENT_METRICS) or []]
    status["currentMetrics"] = current
    if CONDITIONS in annotations:
        conditions = [_condition_from_v1(c) for c in _annotation(annotations, CONDITIONS) or []]
        if conditions:
            status["conditions"] = conditions
    for key in ROUND_TRIP:
        annotations.pop(key, None)
    if "annotations" in meta:
        if annotations:
            meta["annotations"] = annotations
        else:
            del meta["annotations"]
    out: Obj = {"apiVersion": V2, "kind": src.get("kind") or "HorizontalPodAutoscaler", "metadata": meta}
    out["spec"] = spec
    if "status" in src:
        out["status"] = status
    return out
