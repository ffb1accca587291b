"""A Deployment rollout's progress, as the deployment controller's progress.go judges it: the Progressing
condition is refreshed while the rollout advances, and turns False with `ProgressDeadlineExceeded` once
`spec.progressDeadlineSeconds` passed without progress; a ReplicaSet's `ReplicaFailure` shows on its
Deployment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubesim.registry import now_rfc3339

TIMED_OUT = "ProgressDeadlineExceeded"
UPDATED = "ReplicaSetUpdated"


def _parse(stamp: str) -> datetime:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def advanced(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """util.DeploymentProgressing: more updated, ready or available replicas, or fewer old ones."""

    def get(status: dict[str, Any], key: str) -> int:
        return int(status.get(key) or 0)

    old_olds = get(old, "replicas") - get(old, "updatedReplicas")
    new_olds = get(new, "replicas") - get(new, "updatedReplicas")
    return (
        get(new, "updatedReplicas") > get(old, "updatedReplicas")
        or new_olds < old_olds
        or get(new, "readyReplicas") > get(old, "readyReplicas")
        or get(new, "availableReplicas") > get(old, "availableReplicas")
    )


def progressing(
    d: dict[str, Any], counts: dict[str, int], rs_name: str, old_conditions: list[dict[str, Any]]
) -> tuple[dict[str, Any], float | None]:
    """The Progressing condition of a rollout that is not complete, and the seconds left until its deadline
    (None once it timed out, or without a deadline)."""
    now = now_rfc3339()
    prev = next((c for c in old_conditions if c.get("type") == "Progressing"), None)
    deadline = d["spec"].get("progressDeadlineSeconds")
    message = f'ReplicaSet "{rs_name}" is progressing.'
    if prev is not None and prev.get("reason") == TIMED_OUT and not advanced(d.get("status") or {}, counts):
        return prev, None
    fresh = prev is None or prev.get("reason") != UPDATED or prev.get("message") != message
    if fresh or advanced(d.get("status") or {}, counts):
        transition = prev["lastTransitionTime"] if prev and prev.get("status") == "True" else now
        cond = {
            "type": "Progressing",
            "status": "True",
            "lastUpdateTime": now,
            "lastTransitionTime": transition,
            "reason": UPDATED,
            "message": message,
        }
        return cond, None if deadline is None else float(deadline) + 1
    assert prev is not None
    if deadline is None:
        return prev, None
    left = (_parse(prev["lastUpdateTime"]) - datetime.now(UTC)).total_seconds() + float(deadline)
    if left >= 0:
        return prev, left + 1
    return {
        "type": "Progressing",
        "status": "False",
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": TIMED_OUT,
        "message": f'ReplicaSet "{rs_name}" has timed out progressing.',
    }, None


def replica_failure(new_rs: dict[str, Any] | None, rss: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The Deployment's ReplicaFailure condition: the new ReplicaSet's, else any other's."""
    for rs in [*([new_rs] if new_rs is not None else []), *rss]:
        cond = _failure_of(rs)
        if cond is not None:
            return cond
    return None


def _failure_of(rs: dict[str, Any]) -> dict[str, Any] | None:
    for c in (rs.get("status") or {}).get("conditions") or []:
        if c.get("type") == "ReplicaFailure":
            return {
                "type": "ReplicaFailure",
                "status": c.get("status", "True"),
                "lastUpdateTime": c.get("lastTransitionTime"),
                "lastTransitionTime": c.get("lastTransitionTime"),
                "reason": c.get("reason", ""),
                "message": c.get("message", ""),
            }
    return None
