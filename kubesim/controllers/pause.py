"""A paused Deployment (`spec.paused: true`, `kubectl rollout pause`), as the deployment controller treats it.

While paused the controller creates no new ReplicaSet and rolls nothing: a template change waits for the resume;
only scaling goes on (the one active ReplicaSet follows `spec.replicas`). Its Progressing condition is `Unknown`
/ `DeploymentPaused` ("Deployment is paused"), unless the rollout had already timed out
(checkPausedConditions). On resume it is `Unknown` / `DeploymentResumed` ("Deployment is resumed") until the
rollout progresses, completes, or passes its progress deadline counted from the resume.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from kubesim.controllers import progress
from kubesim.registry import now_rfc3339

PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"


def _progressing(conditions: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((c for c in conditions if c.get("type") == "Progressing"), None)


def _unknown(reason: str, message: str, prev: dict[str, Any] | None) -> dict[str, Any]:
    now = now_rfc3339()
    return {
        "type": "Progressing",
        "status": "Unknown",
        "lastUpdateTime": now,
        "lastTransitionTime": prev["lastTransitionTime"] if prev and prev.get("status") == "Unknown" else now,
        "reason": reason,
        "message": message,
    }


def paused_condition(old_conditions: list[dict[str, Any]]) -> dict[str, Any]:
    """The Progressing condition of a paused Deployment."""
    prev = _progressing(old_conditions)
    if prev is not None and prev.get("reason") in (progress.TIMED_OUT, PAUSED):
        return prev
    return _unknown(PAUSED, "Deployment is paused", prev)


def resumed(old_conditions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The conditions of a Deployment no longer paused: a `DeploymentPaused` one becomes `DeploymentResumed`."""
    prev = _progressing(old_conditions)
    if prev is None or prev.get("reason") != PAUSED:
        return old_conditions
    fresh = _unknown(RESUMED, "Deployment is resumed", prev)
    return [fresh if c is prev else c for c in old_conditions]


def after_resume(
    d: dict[str, Any], counts: dict[str, int], rs_name: str, old_conditions: list[dict[str, Any]]
) -> tuple[dict[str, Any], float | None] | None:
    """While a resumed rollout has not progressed: the `DeploymentResumed` condition and the seconds left to its
    deadline, or the timed-out condition once it passed. None when the rollout is judged by progress.py."""
    prev = _progressing(old_conditions)
    if prev is None or prev.get("reason") != RESUMED or progress.advanced(d.get("status") or {}, counts):
        return None
    deadline = d["spec"].get("progressDeadlineSeconds")
    if deadline is None:
        return prev, None
    since = datetime.strptime(prev["lastUpdateTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    left = (since - datetime.now(UTC)).total_seconds() + float(deadline)
    if left >= 0:
        return prev, left + 1
    now = now_rfc3339()
    return {
        "type": "Progressing",
        "status": "False",
        "lastUpdateTime": now,
        "lastTransitionTime": now,
        "reason": progress.TIMED_OUT,
        "message": f'ReplicaSet "{rs_name}" has timed out progressing.',
    }, None
