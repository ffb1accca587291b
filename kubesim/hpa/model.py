"""Defaults, errors and the controller's memory of each HPA; quantities and times as upstream writes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_CEILING
from typing import Any

from kubesim import resources
from kubesim.usage import quantity

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
