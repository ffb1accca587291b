# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""Shared pieces of the incident engine's modules.

The operator's identity, the names of the engine's ConfigMaps, the lock's helpers and the pure helpers the
modules share (UTC timestamps come from sockshop_module). Nothing here imports the kubernetes client, so the
controller-side modules (incident_load, incident_report) stay cheap to import; the adapters over the client
live in sockshop_cluster.
"""

from __future__ import annotations

import getpass
import json
import socket
from collections.abc import Callable
from typing import Any

from ansible.module_utils.sockshop_module import NAMESPACE_SPEC, ModuleError, cluster_spec

LOCK_NAME = "sockshop-incident-lock"
INCIDENT_SPEC: dict[str, Any] = {
    "incident_id": {"type": "str", "required": True},
    "state_namespace": {"type": "str", "default": ""},
}
# Where an incident's own objects live (lock, ledger, baseline, sentinel): a namespace of their own, so that a
# responder's Role in the target namespace cannot read or change them.
STATE_NAMESPACE_SUFFIX = "-incidents"
MANAGED_BY = "sockshop-incidents"
LEDGER_KEY = "ledger.json"
# The comparisons a signal's expectation names (`{op: ge, value: 0.9}`), and a signal's verdict: True, False, or
# None for "not checked", with the evidence or the reason.
OPS: dict[str, Callable[[float, float], bool]] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}
Verdict = tuple[bool | None, str]


class Conflict(Exception):
    """The API server answered 409: the object exists already or changed under us (handled, never reported)."""


class IncidentError(ModuleError):
    """A refusal with a message that tells the operator what to do."""


class LockHeld(IncidentError):
    """A refusal because another incident or run holds the lock; the result carries that lock."""

    def __init__(self, lock: dict[str, str], message: str) -> None:
        super().__init__(message, lock=lock)
        self.lock = lock


def incident_spec(own: dict[str, Any]) -> dict[str, Any]:
    """The argument spec of an engine module that works on one incident in one namespace: connection options,
    incident_id, state_namespace, namespace, then the module's own options."""
    return cluster_spec(INCIDENT_SPEC, NAMESPACE_SPEC, own)


def state_namespace(params: dict[str, Any]) -> str:
    """The namespace of the incident's own objects: state_namespace, else <namespace>-incidents."""
    return params.get("state_namespace") or f"{params['namespace']}{STATE_NAMESPACE_SUFFIX}"


# ---------------------------------------------------------------- identity


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


# Server-owned metadata: what a put or a restore neither writes nor compares.
SERVER_METADATA = ("uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink",
                   "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "finalizers")  # fmt: skip
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


def object_ref(obj: dict[str, Any]) -> str:
    """Kind/name, as the ledger, the faults and their messages name an object."""
    return f"{obj['kind']}/{obj['name']}"


def body_ref(body: dict[str, Any]) -> dict[str, Any]:
    """api_version, kind and name of a manifest: how the ledger and the faults name an object."""
    return {"api_version": body["apiVersion"], "kind": body["kind"], "name": body["metadata"]["name"]}


def essential(obj: dict[str, Any]) -> dict[str, Any]:
    """An object as its owner wrote it: no status, no server-owned metadata, no last-applied annotation."""
    metadata = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in SERVER_METADATA and v is not None}
    annotations = {k: v for k, v in (metadata.get("annotations") or {}).items() if k != LAST_APPLIED}
    metadata.pop("annotations", None)
    if annotations:
        metadata["annotations"] = annotations
    body = {k: v for k, v in obj.items() if k not in ("status", "metadata") and v is not None}
    return dict(body, metadata=metadata)


def covers(live: Any, wanted: Any) -> bool:
    """Whether every field of `wanted` holds in `live` (fields the server added to `live` do not count)."""
    if isinstance(wanted, dict):
        return isinstance(live, dict) and all(covers(live.get(key), value) for key, value in wanted.items())
    if isinstance(wanted, list):
        return (
            isinstance(live, list)
            and len(live) == len(wanted)
            and all(covers(have, want) for have, want in zip(live, wanted, strict=True))
        )
    return bool(live == wanted)


def not_rolled_out(live: Any, objects: list[dict[str, Any]]) -> list[str]:
    """The scalable workloads among `objects` (api_version, kind, name) that are not yet updated and available at
    their size (observedGeneration current, every replica updated and available)."""
    waiting = []
    for obj in objects:
        current = live.get(obj.get("api_version", "apps/v1"), obj["kind"], obj["name"])
        wanted = get_path(current, "spec.replicas") if current else None
        if wanted is None:
            continue  # missing (a difference) or not a scalable workload
        status = current.get("status") or {}
        available = status.get("availableReplicas", status.get("readyReplicas")) or 0
        settled = (status.get("observedGeneration") or 0) >= (get_path(current, "metadata.generation") or 0) and (
            (status.get("replicas") or 0) == (status.get("updatedReplicas") or 0) == available == wanted
        )
        if not settled:
            waiting.append(f"{obj['kind']}/{obj['name']} {available}/{wanted} available")
    return waiting


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


def ledger_of(configmap: dict[str, Any] | None) -> dict[str, Any] | None:
    """The ledger a ConfigMap holds, None when there is none."""
    if configmap is None:
        return None
    try:
        return dict(json.loads((configmap.get("data") or {})[LEDGER_KEY]))
    except (KeyError, ValueError) as exc:
        raise IncidentError(
            f"the ledger ConfigMap {configmap['metadata']['name']} is damaged ({exc}); restore the recorded state by "
            "hand, then delete it"
        ) from exc


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
