"""Conversion between core/v1 Events (the storage form) and events.k8s.io/v1 Events."""

from __future__ import annotations

from typing import Any

_SHARED = ("reason", "type", "action", "related", "reportingComponent", "reportingInstance", "eventTime")


def core_to_events_v1(ev: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": ev["metadata"]}
    for k in _SHARED:
        if ev.get(k) is not None:
            out[k] = ev[k]
    out["regarding"] = ev.get("involvedObject") or {}
    if ev.get("message"):
        out["note"] = ev["message"]
    source = ev.get("source") or {}
    if source.get("component"):
        out["deprecatedSource"] = source
    for old, new in (
        ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"),
        ("count", "deprecatedCount"),
    ):
        if ev.get(old) is not None:
            out[new] = ev[old]
    out.setdefault("reportingController", ev.get("reportingComponent") or source.get("component", ""))
    out.pop("reportingComponent", None)
    if ev.get("series"):
        out["series"] = ev["series"]
    return out


def events_v1_to_core(ev: dict[str, Any]) -> dict[str, Any]:
    if ev.get("apiVersion") != "events.k8s.io/v1":
        return ev
    out: dict[str, Any] = {"apiVersion": "v1", "kind": "Event", "metadata": ev.get("metadata") or {}}
    for k in _SHARED:
        if ev.get(k) is not None:
            out[k] = ev[k]
    out["involvedObject"] = ev.get("regarding") or {}
    out["message"] = ev.get("note", "")
    out["reportingComponent"] = ev.get("reportingController", "")
    out["source"] = ev.get("deprecatedSource") or {"component": ev.get("reportingController", "")}
    for new, old in (
        ("deprecatedFirstTimestamp", "firstTimestamp"),
        ("deprecatedLastTimestamp", "lastTimestamp"),
        ("deprecatedCount", "count"),
    ):
        if ev.get(new) is not None:
            out[old] = ev[new]
    if ev.get("series"):
        out["series"] = ev["series"]
    return out
