"""namespace_state: the events a report lists, from the API's Event objects."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.module_utils.sockshop_module import ModuleError, parse_iso

from plugins.modules import namespace_state as mod

SINCE = parse_iso("2026-12-07T14:36:50.640Z")


def event(name: str, reason: str, message: str, last: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": f"{name}.1", "creationTimestamp": extra.pop("created", "2026-12-07T14:00:00Z")},
        "involvedObject": {"kind": extra.pop("kind", "Deployment"), "name": name},
        "reason": reason,
        "message": message,
        "type": extra.pop("type", "Normal"),
        "lastTimestamp": last,
        **extra,
    }


def test_events_since_the_faults_oldest_first_with_the_second_of_the_start_included() -> None:
    events = [
        event(
            "stripe-mock", "ScalingReplicaSet", "Scaled up replica set s-1 from 0 to 1", "2026-12-07T14:37:24Z", count=2
        ),
        event("stripe-mock", "ScalingReplicaSet", "Scaled down replica set s-1 from 1 to 0", "2026-12-07T14:36:50Z"),
        event("payment", "ScalingReplicaSet", "Scaled up replica set p-1 from 0 to 1", "2026-12-07T14:36:49Z"),
        event(
            "s-1-abc",
            "Killing",
            "Stopping  container\n stripe-mock",
            None,
            kind="Pod",
            eventTime="2026-12-07T14:36:51.5Z",
        ),
        event("s-1-xyz", "Scheduled", "no time but creation", None, kind="Pod", created="2026-12-07T14:37:00Z"),
    ]
    rows = mod.event_rows(events, SINCE)
    assert [(r["at"][11:19], r["object"], r["reason"], r["count"]) for r in rows] == [
        ("14:36:50", "Deployment/stripe-mock", "ScalingReplicaSet", 1),  # the same second as the start: kept
        ("14:36:51", "Pod/s-1-abc", "Killing", 1),  # eventTime when there is no lastTimestamp
        ("14:37:00", "Pod/s-1-xyz", "Scheduled", 1),  # creation time as the last resort
        ("14:37:24", "Deployment/stripe-mock", "ScalingReplicaSet", 2),
    ]
    assert rows[1]["message"] == "Stopping container stripe-mock"  # whitespace folded for a table cell


def test_a_bad_events_since_is_refused_before_any_access() -> None:
    def connect() -> Any:
        raise AssertionError("connected")

    params = {"namespace": "sock-shop", "endpoints": [], "events_since": "yesterday"}
    with pytest.raises(ModuleError, match="events_since 'yesterday' is not an RFC 3339 time such as"):
        mod.run(params, False, connect)
