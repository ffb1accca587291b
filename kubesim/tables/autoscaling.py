"""The HorizontalPodAutoscaler printer (autoscaling/v1 and v2 objects alike)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kubesim import convert_hpa

from ._util import Cells, Obj, Printer, age, age_col, col, dig, int_of, name, name_col, spec, status

_MAX_METRICS = 2


def _q(value: Any) -> str:
    """Quantity.String(); a nil *Quantity prints as <nil>."""
    return "<nil>" if value is None else str(value)


def _metrics(hpa: Obj) -> tuple[list[Any], list[Any]]:
    """spec.metrics and status.currentMetrics in v2 shape: the apiserver prints its internal (v2) object, so a v1
    object is converted back, its annotations' metrics and current metrics included, and v2 defaulting applied."""
    if hpa.get("apiVersion") == convert_hpa.V1 or spec(hpa).get("metrics") is None:
        hpa = convert_hpa.v1_to_v2(dict(hpa))
    specs = spec(hpa).get("metrics") or []
    statuses = status(hpa).get("currentMetrics") or []
    return specs, statuses


def _current(statuses: list[Any], i: int, source: str) -> Any:
    return statuses[i].get(source) if i < len(statuses) else None


def _format_one(metric: Any, statuses: list[Any], i: int) -> str:
    mtype = metric.get("type")
    if mtype in ("External", "Object"):
        source = "external" if mtype == "External" else "object"
        target = dig(metric, source, "target") or {}
        cur = _current(statuses, i, source)
        if target.get("averageValue") is not None:
            value = dig(cur, "current", "averageValue")
            return f"{_q(value) if value is not None else '<unknown>'}/{_q(target['averageValue'])} (avg)"
        current = _q(dig(cur, "current", "value")) if cur is not None else "<unknown>"
        return f"{current}/{_q(target.get('value'))}"
    if mtype == "Pods":
        cur = _current(statuses, i, "pods")
        current = _q(dig(cur, "current", "averageValue")) if cur is not None else "<unknown>"
        return f"{current}/{_q(dig(metric, 'pods', 'target', 'averageValue'))}"
    if mtype in ("Resource", "ContainerResource"):
        source = "resource" if mtype == "Resource" else "containerResource"
        block = metric.get(source) or {}
        target = block.get("target") or {}
        cur = _current(statuses, i, source)
        if target.get("averageValue") is not None:
            current = _q(dig(cur, "current", "averageValue")) if cur is not None else "<unknown>"
            return f"{block.get('name', '')}: {current}/{_q(target['averageValue'])}"
        utilization = dig(cur, "current", "averageUtilization")
        current = f"{int_of(utilization)}%" if utilization is not None else "<unknown>"
        wanted = (
            f"{int_of(target['averageUtilization'])}%" if target.get("averageUtilization") is not None else "<auto>"
        )
        return f"{block.get('name', '')}: {current}/{wanted}"
    return "<unknown type>"


def format_hpa_metrics(hpa: Obj) -> str:
    specs, statuses = _metrics(hpa)
    if not specs:
        return "<none>"
    items = [_format_one(metric, statuses, i) for i, metric in enumerate(specs)]
    if len(items) > _MAX_METRICS:
        return f"{', '.join(items[:_MAX_METRICS])} + {len(items) - _MAX_METRICS} more..."
    return ", ".join(items)


def _hpa_row(hpa: Obj, now: datetime) -> Cells:
    sp = spec(hpa)
    ref = sp.get("scaleTargetRef") or {}
    return [
        name(hpa),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        format_hpa_metrics(hpa),
        str(int_of(sp.get("minReplicas"), 1)),  # the apiserver defaults minReplicas to 1
        int_of(sp.get("maxReplicas")),
        int_of(status(hpa).get("currentReplicas")),
        age(hpa, now),
    ]


HPA = Printer(
    [
        name_col(),
        col(
            "Reference",
            "reference to scaled resource; horizontal pod autoscaler will learn the current resource "
            "consumption and will set the desired number of pods by using its Scale subresource.",
        ),
        col("Targets", "metrics contains the specifications for which to use to calculate the desired replica count."),
        col(
            "MinPods",
            "minReplicas is the lower limit for the number of replicas to which the autoscaler can scale down.",
        ),
        col(
            "MaxPods", "maxReplicas is the upper limit for the number of replicas to which the autoscaler can scale up."
        ),
        col("Replicas", "currentReplicas is current number of replicas of pods managed by this autoscaler."),
        age_col(),
    ],
    _hpa_row,
)

PRINTERS = {("autoscaling", "horizontalpodautoscalers"): HPA}
