# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""Shared pieces of the incident engine's modules.

UTC timestamps, the operator's identity, the names of the engine's ConfigMaps and the pure helpers
the modules share. Nothing here imports the kubernetes client, so the controller-side modules
(incident_load, incident_report) stay cheap to import; the adapters over the client live in
sockshop_cluster.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import re
import socket
from typing import Any

LOCK_NAME = "sockshop-incident-lock"
MANAGED_BY = "sockshop-incidents"
LEDGER_KEY = "ledger.json"


class Conflict(Exception):
    """The API server answered 409: the object exists already or changed under us."""


class IncidentError(Exception):
    """A refusal with a message that tells the operator what to do."""


class LockHeld(IncidentError):
    """A refusal because another incident or run holds the lock; carries that lock (modules return it)."""

    def __init__(self, lock: dict[str, str], message: str) -> None:
        super().__init__(message)
        self.lock = lock


# ---------------------------------------------------------------- time and identity


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """RFC 3339 UTC with milliseconds: 2026-11-23T08:24:46.123Z."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


def parse_iso(text: str) -> dt.datetime:
    """Parse the RFC 3339 forms Kubernetes and this project write; naive means UTC."""
    match = _ISO.match(text.strip())
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    base, frac, zone = match.groups()
    moment = dt.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    if frac:
        moment = moment.replace(microsecond=int((frac[1:] + "000000")[:6]))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        return moment.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes)))
    return moment.replace(tzinfo=dt.UTC)


def who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def ledger_name(incident_id: str) -> str:
    return f"sockshop-incident-{incident_id.lower()}-ledger"


def managed_labels(incident_id: str, role: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "sockshop.io/incident": incident_id,
        "sockshop.io/role": role,
    }


# ---------------------------------------------------------------- object helpers


def get_path(obj: Any, dotted: str) -> Any:
    """Value at a dotted path (spec.replicas), None when any step is missing."""
    node = obj
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def selector_string(match_labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(match_labels.items()))


def restart_counts(pods: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """{pod name: {container name: restartCount}} for the given pods."""
    counts: dict[str, dict[str, int]] = {}
    for pod in pods:
        statuses = get_path(pod, "status.containerStatuses") or []
        counts[pod["metadata"]["name"]] = {s["name"]: int(s.get("restartCount") or 0) for s in statuses}
    return counts


def ready_ratio(pod: dict[str, Any]) -> str:
    """READY as kubectl prints it: ready containers / containers."""
    containers = get_path(pod, "spec.containers") or []
    statuses = get_path(pod, "status.containerStatuses") or []
    return f"{sum(1 for s in statuses if s.get('ready'))}/{len(containers)}"


def dumps(data: Any) -> str:
    return json.dumps(data, indent=1, sort_keys=True)


# ---------------------------------------------------------------- the incident lock (incident_lock, incident_ledger)

LOCK_FIELDS = ("incident", "run_id", "holder", "since", "activated_at")


def lock_of(configmap: dict[str, Any] | None) -> dict[str, str] | None:
    if configmap is None:
        return None
    data = configmap.get("data") or {}
    return {field: str(data.get(field, "")) for field in LOCK_FIELDS}


def describe(lock: dict[str, str]) -> str:
    return f"incident {lock['incident']} (run {lock['run_id']}), taken by {lock['holder']} since {lock['since']}"


def release(store: Any, incident_id: str, check_mode: bool) -> dict[str, Any]:
    lock = lock_of(store.get(LOCK_NAME))
    if lock is None:
        return {"changed": False, "action": "free", "held": False}
    if lock["incident"] != incident_id:
        raise LockHeld(
            lock,
            f"not releasing the incident lock {LOCK_NAME} in namespace {store.namespace}: it is held by "
            f"{describe(lock)}, not by incident {incident_id}. Recover incident {lock['incident']} instead.",
        )
    if check_mode:
        return {"changed": True, "action": "would_release", "held": True, "lock": lock}
    store.delete(LOCK_NAME)
    return {"changed": True, "action": "released", "held": False, "lock": lock}
