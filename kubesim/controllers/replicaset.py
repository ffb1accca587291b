"""ReplicaSet controller: keep `spec.replicas` pods alive, report ready and available counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from kubesim import resources
from kubesim.controllers.base import Controller, Key, controlled_by, controller_of, copy, owner_ref
from kubesim.controllers.failures import CreateFailures, with_replica_failure
from kubesim.store import Change

if TYPE_CHECKING:
    from kubesim.cluster import Cluster

PODS = resources.get("", "v1", "pods")
REPLICASETS = resources.get("apps", "v1", "replicasets")


def pod_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def ready_since(pod: dict[str, Any]) -> datetime | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True" and c.get("lastTransitionTime"):
            return datetime.strptime(c["lastTransitionTime"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return None


def is_active(pod: dict[str, Any]) -> bool:
    return not pod["metadata"].get("deletionTimestamp") and (pod.get("status") or {}).get("phase") not in (
        "Succeeded",
        "Failed",
    )


def pod_from_template(template: dict[str, Any], owner: dict[str, Any], name: str = "") -> dict[str, Any]:
    meta = template.get("metadata") or {}
    pod_meta: dict[str, Any] = {
        "namespace": owner["metadata"]["namespace"],
        "labels": dict(meta.get("labels") or {}),
        "ownerReferences": [owner_ref(owner)],
    }
    if name:
        pod_meta["name"] = name
    else:
        pod_meta["generateName"] = f"{owner['metadata']['name']}-"
    if meta.get("annotations"):
        pod_meta["annotations"] = dict(meta["annotations"])
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": copy(template.get("spec") or {})}


class ReplicaSetController(Controller):
    primary = REPLICASETS.key

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(cluster)
        self.failures = CreateFailures()

    def keys_for(self, change: Change) -> Iterable[Key]:
        yield from super().keys_for(change)
        if change.key == PODS.key:
            ref = controller_of(change.obj)
            if ref and ref.get("kind") == "ReplicaSet":
                yield change.obj["metadata"]["namespace"], ref["name"]

    def reconcile(self, ns: str, name: str) -> float | None:
        rs = self.store.peek(self.primary, ns, name)
        if rs is None or rs["metadata"].get("deletionTimestamp"):
            return None
        pods = [p for p in self.store.scan(PODS.key, ns) if controlled_by(p, rs)]
        active = [p for p in pods if is_active(p)]
        diff = int(rs["spec"].get("replicas", 1)) - len(active)
        if diff > 0 and self.failures.due((ns, name)):
            for _ in range(diff):
                pod = self.failures.create(
                    self, rs, pod_from_template(rs["spec"]["template"], rs), component="replicaset-controller"
                )
                if pod is None:  # refused (FailedCreate): the rest of the batch waits for the next try
                    break
                self.registry.record_event(
                    rs, "SuccessfulCreate", f"Created pod: {pod['metadata']['name']}", component="replicaset-controller"
                )
        elif diff < 0:
            # Delete the least useful pods first: unscheduled, then not ready, then the newest.
            victims = sorted(active, key=lambda p: (bool(p["spec"].get("nodeName")), pod_ready(p), _neg_time(p)))[
                :-diff
            ]
            for pod in victims:
                self.registry.delete(PODS, ns, pod["metadata"]["name"])
                self.registry.record_event(
                    rs, "SuccessfulDelete", f"Deleted pod: {pod['metadata']['name']}", component="replicaset-controller"
                )
        if diff <= 0:
            self.failures.succeeded((ns, name))
        wait = self._update_status(ns, name)
        backoff = self.failures.backoff((ns, name))
        return wait if backoff is None else min(backoff, wait or backoff)

    def _update_status(self, ns: str, name: str) -> float | None:
        rs = self.store.peek(self.primary, ns, name)
        if rs is None:
            return None
        pods = [p for p in self.store.scan(PODS.key, ns) if controlled_by(p, rs) and is_active(p)]
        min_ready = int(rs["spec"].get("minReadySeconds", 0))
        now = datetime.now(UTC)
        ready = [p for p in pods if pod_ready(p)]
        available = 0
        wait: float | None = None
        for p in ready:
            since = ready_since(p)
            age = (now - since).total_seconds() if since else min_ready
            if age >= min_ready:
                available += 1
            else:
                wait = min(wait or min_ready, min_ready - age + 0.05)
        labels = rs["spec"]["template"].get("metadata", {}).get("labels") or {}
        labelled = sum(1 for p in pods if all(p["metadata"].get("labels", {}).get(k) == v for k, v in labels.items()))
        status: dict[str, Any] = {"replicas": len(pods)}
        for key, value in (
            ("fullyLabeledReplicas", labelled),
            ("readyReplicas", len(ready)),
            ("availableReplicas", available),
        ):
            if value:
                status[key] = value
        status["observedGeneration"] = rs["metadata"].get("generation", 1)
        conditions = with_replica_failure(
            (rs.get("status") or {}).get("conditions") or [], self.failures.last.get((ns, name)), "FailedCreate"
        )
        if conditions:
            status["conditions"] = conditions
        if status != rs.get("status"):
            new = copy(rs)
            new["status"] = status
            self.registry.write(REPLICASETS, rs, new, sub="status")
        return wait


def _neg_time(pod: dict[str, Any]) -> float:
    ts = datetime.strptime(pod["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    return -ts.timestamp()
