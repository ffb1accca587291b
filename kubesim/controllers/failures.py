"""What a workload controller does when the API server refuses a pod it creates (ServiceAccount admission,
quota, validation): a `FailedCreate` Warning event on the owner, a `ReplicaFailure` condition on a
ReplicaSet (and from it on its Deployment), and another try after a growing back-off, as the controllers'
rate-limited work queues do."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from kubesim import errors, resources
from kubesim.registry import now_rfc3339

if TYPE_CHECKING:
    from kubesim.controllers.base import Controller, Key

PODS = resources.get("", "v1", "pods")
REPLICA_FAILURE = "ReplicaFailure"
BACKOFF_MAX_S = 30.0


class CreateFailures:
    """Per owner: how many pod creates in a row failed, and the last refusal."""

    def __init__(self) -> None:
        self._count: dict[Key, int] = {}
        self._next: dict[Key, float] = {}  # monotonic time of the next try
        self.last: dict[Key, str] = {}

    def due(self, key: Key) -> bool:
        """Whether the owner may try to create pods now (its back-off, if any, has passed)."""
        return time.monotonic() >= self._next.get(key, 0.0)

    def create(
        self,
        controller: Controller,
        owner: dict[str, Any],
        pod: dict[str, Any],
        *,
        component: str,
        message: str = "Error creating: {error}",
    ) -> dict[str, Any] | None:
        """Create `pod` for `owner`; on a refusal record the controller's event and return None."""
        key = (owner["metadata"].get("namespace", ""), owner["metadata"]["name"])
        try:
            created = controller.registry.create(PODS, owner["metadata"]["namespace"], pod)
        except errors.APIError as exc:
            count = self._count[key] = self._count.get(key, 0) + 1
            self._next[key] = time.monotonic() + min(BACKOFF_MAX_S, 0.5 * 2 ** (count - 1))
            self.last[key] = exc.message
            controller.registry.record_event(
                owner, "FailedCreate", message.format(error=exc.message), type_="Warning", component=component
            )
            return None
        self.succeeded(key)
        return created

    def succeeded(self, key: Key) -> None:
        self._count.pop(key, None)
        self._next.pop(key, None)
        self.last.pop(key, None)

    def backoff(self, key: Key) -> float | None:
        """Seconds until the owner is tried again, None when its last create did not fail."""
        if key not in self._next:
            return None
        return max(0.01, self._next[key] - time.monotonic())


def with_replica_failure(conditions: list[dict[str, Any]], error: str | None, reason: str) -> list[dict[str, Any]]:
    """A ReplicaSet's conditions with `ReplicaFailure` set from the last create/delete error, or removed."""
    rest = [c for c in conditions if c.get("type") != REPLICA_FAILURE]
    if error is None:
        return rest
    prev = next((c for c in conditions if c.get("type") == REPLICA_FAILURE), None)
    if prev is not None:
        return conditions  # kept as first set, as the controller keeps an existing failure condition
    return [
        *rest,
        {
            "type": REPLICA_FAILURE,
            "status": "True",
            "lastTransitionTime": now_rfc3339(),
            "reason": reason,
            "message": error,
        },
    ]
