"""The Event printer, shared by core/v1 and events.k8s.io/v1 (both are served from one internal type)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._util import Cells, Obj, Printer, col, int_of, name, name_col, parse_time, since


def _core_view(event: Obj) -> dict[str, Any]:
    """An events.k8s.io/v1 Event seen through core/v1 field names; core events pass through."""
    if "regarding" not in event and "note" not in event and "deprecatedSource" not in event:
        return dict(event)
    return {
        "metadata": event.get("metadata") or {},
        "involvedObject": event.get("regarding") or {},
        "message": event.get("note") or "",
        "reason": event.get("reason") or "",
        "type": event.get("type") or "",
        "source": event.get("deprecatedSource") or {},
        "firstTimestamp": event.get("deprecatedFirstTimestamp"),
        "lastTimestamp": event.get("deprecatedLastTimestamp"),
        "count": event.get("deprecatedCount") or 0,
        "eventTime": event.get("eventTime"),
        "series": event.get("series"),
        "reportingComponent": event.get("reportingController") or "",
        "reportingInstance": event.get("reportingInstance") or "",
    }


def _source(ev: Obj) -> str:
    src = ev.get("source") or {}
    component = src.get("component") or ev.get("reportingComponent") or ""
    instance = src.get("host") or ev.get("reportingInstance") or ""
    return f"{component}, {instance}" if instance else str(component)


def _event_row(event: Obj, now: datetime) -> Cells:
    ev = _core_view(event)
    if parse_time(ev.get("firstTimestamp")) is not None:
        first = since(ev.get("firstTimestamp"), now)
    else:
        first = since(ev.get("eventTime"), now)
    last = since(ev.get("lastTimestamp"), now) if parse_time(ev.get("lastTimestamp")) is not None else first
    count = int_of(ev.get("count"))
    series = ev.get("series")
    if series is not None:
        last = since(series.get("lastObservedTime"), now)
        count = int_of(series.get("count"))
    elif count == 0:
        count = 1
    involved = ev.get("involvedObject") or {}
    kind = str(involved.get("kind") or "").lower()
    target = f"{kind}/{involved['name']}" if involved.get("name") else kind
    return [
        last,
        str(ev.get("type") or ""),
        str(ev.get("reason") or ""),
        target,
        str(involved.get("fieldPath") or ""),
        _source(ev),
        str(ev.get("message") or "").strip(),
        first,
        count,
        name(event),
    ]


EVENT = Printer(
    [
        col("Last Seen", "The time at which the most recent occurrence of this event was recorded."),
        col("Type", "Type of this event (Normal, Warning), new types could be added in the future"),
        col(
            "Reason",
            "This should be a short, machine understandable string that gives the reason for the transition "
            "into the object's current status.",
        ),
        col("Object", "The object that this event is about."),
        col(
            "Subobject",
            "If referring to a piece of an object instead of an entire object, this string should contain a "
            "valid JSON/Go field access statement, such as desiredState.manifest.containers[2].",
            priority=1,
        ),
        col(
            "Source", "The component reporting this event. Should be a short machine understandable string.", priority=1
        ),
        col("Message", "A human-readable description of the status of this operation."),
        col(
            "First Seen",
            "The time at which the event was first recorded. (Time of server receipt is in TypeMeta.)",
            priority=1,
        ),
        col("Count", "The number of times this event has occurred.", priority=1),
        {**name_col(), "priority": 1},
    ],
    _event_row,
)

PRINTERS = {("", "events"): EVENT, ("events.k8s.io", "events"): EVENT}
