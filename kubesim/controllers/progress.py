"""A Deployment's progress deadline (spec.progressDeadlineSeconds), as the deployment controller judges it.

While a rollout is not complete, the Progressing condition's lastUpdateTime moves each time the rollout makes
progress (more updated, ready or available replicas, fewer old ones: upstream's DeploymentProgressing). When
none was made for progressDeadlineSeconds, the condition turns False with reason ProgressDeadlineExceeded and
`ReplicaSet "<rs>" has timed out progressing.` (DeploymentTimedOut), which `kubectl rollout status` reports as
`error: deployment "<name>" exceeded its progress deadline`. The controller looks again when the deadline falls.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubesim.registry import now_rfc3339

TIMED_OUT = "ProgressDeadlineExceeded"


def _progressed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    def get(status: dict[str, Any], key: str) -> int:
        return int(status.get(key, 0) or 0)

    old_olds = get(old, "replicas") - get(old, "updatedReplicas")
    new_olds = get(new, "replicas") - get(new, "updatedReplicas")
    return (
        get(new, "updatedReplicas") > get(old, "updatedReplicas")
        or new_olds < old_olds
        or get(new, "readyReplicas") > get(old, "readyReplicas")
        or get(new, "availableReplicas") > get(old, "availableReplicas")
    )


def _seconds_since(stamp: str) -> float:
    then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return (datetime.now(UTC) - then).total_seconds()


def rollout_condition(
    d: dict[str, Any], counts: dict[str, int], rs_name: str, old_conditions: list[dict[str, Any]]
) -> tuple[dict[str, Any], float | None]:
    """The Progressing condition of a rollout that is not complete, and in how many seconds to look again."""
    prev = next((c for c in old_conditions if c.get("type") == "Progressing"), None)
    deadline = d["spec"].get("progressDeadlineSeconds")
    now = now_rfc3339()
    if prev is None or _progressed(d.get("status") or {}, counts):
        cond = {
            "type": "Progressing",
            "status": "True",
            "lastUpdateTime": now,
            "lastTransitionTime": prev["lastTransitionTime"] if prev and prev.get("status") == "True" else now,
            "reason": "ReplicaSetUpdated",
            "message": f'ReplicaSet "{rs_name}" is progressing.',
        }
        return cond, float(deadline) if deadline else None
    if prev.get("reason") == TIMED_OUT or not deadline:
        return prev, None
    left = float(deadline) - _seconds_since(prev.get("lastUpdateTime") or now)
    if left >= 0:
        return prev, left + 0.5
    return {
        "type": "Progressing",
        "status": "False",
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": TIMED_OUT,
        "message": f'ReplicaSet "{rs_name}" has timed out progressing.',
    }, None
