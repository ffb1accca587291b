"""Deployment controller: ReplicaSets per pod template, rolling updates, scaling events, status."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from kubesim import names, resources
from kubesim.controllers import pause, progress
from kubesim.controllers.base import Controller, Key, controlled_by, copy, owner_ref
from kubesim.registry import now_rfc3339
from kubesim.store import Change

DEPLOYMENTS = resources.get("apps", "v1", "deployments")
REPLICASETS = resources.get("apps", "v1", "replicasets")
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"


def _resolve(value: Any, total: int, round_up: bool) -> int:
    if isinstance(value, str) and value.endswith("%"):
        exact = int(value[:-1]) * total / 100
        return math.ceil(exact) if round_up else math.floor(exact)
    return int(value or 0)


def surge_and_unavailable(d: dict[str, Any]) -> tuple[int, int]:
    desired = d["spec"].get("replicas", 1)
    strategy = d["spec"].get("strategy") or {}
    if strategy.get("type") == "Recreate":
        return 0, desired
    ru = strategy.get("rollingUpdate") or {}
    surge = _resolve(ru.get("maxSurge", "25%"), desired, True)
    unavailable = _resolve(ru.get("maxUnavailable", "25%"), desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, min(unavailable, desired)


def _condition(kind: str, status: str, reason: str, message: str, old: list[dict[str, Any]]) -> dict[str, Any]:
    now = now_rfc3339()
    prev = next((c for c in old if c.get("type") == kind), None)
    if prev and prev.get("status") == status and prev.get("reason") == reason and prev.get("message") == message:
        return prev
    transition = prev["lastTransitionTime"] if prev and prev.get("status") == status else now
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": now,
        "lastTransitionTime": transition,
        "reason": reason,
        "message": message,
    }


class DeploymentController(Controller):
    primary = DEPLOYMENTS.key

    def keys_for(self, change: Change) -> Iterable[Key]:
        yield from super().keys_for(change)
        if change.key == REPLICASETS.key:
            for ref in change.obj["metadata"].get("ownerReferences") or []:
                if ref.get("kind") == "Deployment":
                    yield change.obj["metadata"]["namespace"], ref["name"]

    def reconcile(self, ns: str, name: str) -> float | None:
        d = self.store.peek(self.primary, ns, name)
        if d is None or d["metadata"].get("deletionTimestamp"):
            return None
        rss = [rs for rs in self.store.scan(REPLICASETS.key, ns) if controlled_by(rs, d)]
        template_hash = names.pod_template_hash(d["spec"]["template"], (d.get("status") or {}).get("collisionCount", 0))
        new_rs = next(
            (rs for rs in rss if rs["metadata"].get("labels", {}).get("pod-template-hash") == template_hash), None
        )
        olds = [rs for rs in rss if rs is not new_rs]
        desired = int(d["spec"].get("replicas", 1))
        surge, unavailable = surge_and_unavailable(d)
        created = False
        paused = bool(d["spec"].get("paused"))
        if new_rs is None and paused:  # no new ReplicaSet while paused: the template change waits for the resume
            self._scale_paused(d, None, olds, desired)
            return self._update_status(d, template_hash, created)
        if new_rs is None:
            active_old = any(rs["spec"].get("replicas", 0) > 0 for rs in olds)
            start = desired if not active_old else 0
            if active_old and (d["spec"].get("strategy") or {}).get("type") != "Recreate":
                total = sum(rs["spec"].get("replicas", 0) for rs in olds)
                start = max(0, min(desired, desired + surge - total))
            new_rs = self._create_rs(d, template_hash, olds, start)
            created = True
        else:
            self._sync_annotations(d, new_rs, olds)
        olds_active = [rs for rs in olds if rs["spec"].get("replicas", 0) > 0]
        if paused:
            self._scale_paused(d, new_rs, olds, desired)
        elif (d["spec"].get("strategy") or {}).get("type") == "Recreate":
            for rs in olds_active:
                self._scale(d, rs, 0)
            old_pods = sum((self._live(rs).get("status") or {}).get("replicas", 0) for rs in olds)
            if not olds_active and old_pods == 0:
                self._scale(d, new_rs, desired)
        elif not olds_active:
            self._scale(d, new_rs, desired)
        else:
            self._roll(d, new_rs, olds_active, desired=desired, surge=surge, unavailable=unavailable)
        return self._update_status(d, template_hash, created)

    def _scale_paused(
        self, d: dict[str, Any], new_rs: dict[str, Any] | None, olds: list[dict[str, Any]], desired: int
    ) -> None:
        """The controller's scale() while paused: the one active ReplicaSet (else the newest) follows
        spec.replicas; once the new one is saturated the old ones go to 0. (The proportional scaling of a paused
        rollout that is half done is not done.)"""
        everything = [self._live(rs) for rs in [*([new_rs] if new_rs is not None else []), *olds]]
        active = [rs for rs in everything if rs["spec"].get("replicas", 0) > 0]
        if len(active) <= 1:
            newest = max(
                everything,
                key=lambda rs: int((rs["metadata"].get("annotations") or {}).get(REVISION, 0) or 0),
                default=None,
            )
            target = active[0] if active else (new_rs or newest)
            if target is not None:
                self._scale(d, target, desired)
            return
        if new_rs is not None:
            live = self._live(new_rs)
            if (
                live["spec"].get("replicas", 0) == desired
                and (live.get("status") or {}).get("availableReplicas", 0) >= desired
            ):
                for rs in olds:
                    self._scale(d, rs, 0)

    def _live(self, rs: dict[str, Any]) -> dict[str, Any]:
        return self.store.peek(REPLICASETS.key, rs["metadata"]["namespace"], rs["metadata"]["name"]) or rs

    def _create_rs(
        self, d: dict[str, Any], template_hash: str, olds: list[dict[str, Any]], replicas: int
    ) -> dict[str, Any]:
        meta = d["metadata"]
        template = copy(d["spec"]["template"])
        labels = dict(template.get("metadata", {}).get("labels") or {})
        labels["pod-template-hash"] = template_hash
        template.setdefault("metadata", {})["labels"] = labels
        selector = copy(d["spec"]["selector"])
        selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
        revision = 1 + max((int(rs["metadata"].get("annotations", {}).get(REVISION, 0)) for rs in olds), default=0)
        surge, _ = surge_and_unavailable(d)
        rs: dict[str, Any] = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": f"{meta['name']}-{template_hash}",
                "namespace": meta["namespace"],
                "labels": labels,
                "ownerReferences": [owner_ref(d)],
                "annotations": {
                    "deployment.kubernetes.io/desired-replicas": str(d["spec"]["replicas"]),
                    "deployment.kubernetes.io/max-replicas": str(d["spec"]["replicas"] + surge),
                    REVISION: str(revision),
                },
            },
            "spec": {"replicas": replicas, "selector": selector, "template": template},
        }
        if d["spec"].get("minReadySeconds"):
            rs["spec"]["minReadySeconds"] = d["spec"]["minReadySeconds"]
        stored = self.registry.create(REPLICASETS, meta["namespace"], rs)
        if replicas > 0:
            self.registry.record_event(
                d,
                "ScalingReplicaSet",
                f"Scaled up replica set {stored['metadata']['name']} from 0 to {replicas}",
                component="deployment-controller",
            )
        if REVISION not in (meta.get("annotations") or {}) or meta["annotations"][REVISION] != str(revision):
            new_d = copy(d)
            new_d["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
            self.registry.write(DEPLOYMENTS, d, new_d)
        return stored

    def _sync_annotations(self, d: dict[str, Any], rs: dict[str, Any], olds: list[dict[str, Any]]) -> None:
        want = str(d["spec"].get("replicas", 1))
        annotations = rs["metadata"].get("annotations") or {}
        # A template that is an old ReplicaSet's again (a rollback) makes that ReplicaSet the newest revision,
        # its former one kept in revision-history, as upstream's SetNewReplicaSetAnnotations does.
        revision = 1 + max((int(o["metadata"].get("annotations", {}).get(REVISION, 0)) for o in olds), default=0)
        current = int(annotations.get(REVISION, 0) or 0)
        update: dict[str, str] = {}
        if annotations.get("deployment.kubernetes.io/desired-replicas") != want:
            surge, _ = surge_and_unavailable(d)
            update["deployment.kubernetes.io/desired-replicas"] = want
            update["deployment.kubernetes.io/max-replicas"] = str(int(want) + surge)
        if current < revision:
            history = [h for h in annotations.get(REVISION_HISTORY, "").split(",") if h]
            update[REVISION] = str(revision)
            update[REVISION_HISTORY] = ",".join([*history, str(current)]) if current else ",".join(history)
            if not update[REVISION_HISTORY]:
                del update[REVISION_HISTORY]
        if update:
            new = copy(rs)
            new["metadata"].setdefault("annotations", {}).update(update)
            self.registry.write(REPLICASETS, rs, new)
        revision = max(revision, current)
        if (d["metadata"].get("annotations") or {}).get(REVISION) != str(revision):
            live = self.store.peek(self.primary, d["metadata"]["namespace"], d["metadata"]["name"]) or d
            new_d = copy(live)
            new_d["metadata"].setdefault("annotations", {})[REVISION] = str(revision)
            self.registry.write(DEPLOYMENTS, live, new_d)

    def _scale(self, d: dict[str, Any], rs: dict[str, Any], replicas: int) -> None:
        rs = self._live(rs)
        before = rs["spec"].get("replicas", 0)
        if before == replicas:
            return
        new = copy(rs)
        new["spec"]["replicas"] = replicas
        self.registry.write(REPLICASETS, rs, new)
        word = "up" if replicas > before else "down"
        self.registry.record_event(
            d,
            "ScalingReplicaSet",
            f"Scaled {word} replica set {rs['metadata']['name']} from {before} to {replicas}",
            component="deployment-controller",
        )

    def _roll(
        self,
        d: dict[str, Any],
        new_rs: dict[str, Any],
        olds: list[dict[str, Any]],
        *,
        desired: int,
        surge: int,
        unavailable: int,
    ) -> None:
        new_rs = self._live(new_rs)
        everything = [new_rs, *[self._live(rs) for rs in olds]]
        total = sum(rs["spec"].get("replicas", 0) for rs in everything)
        room = desired + surge - total
        current = new_rs["spec"].get("replicas", 0)
        if room > 0 and current < desired:
            self._scale(d, new_rs, min(desired, current + room))
        available = sum((rs.get("status") or {}).get("availableReplicas", 0) for rs in everything)
        removable = max(0, available - (desired - unavailable))
        for stale in sorted(olds, key=lambda r: r["metadata"]["creationTimestamp"]):
            rs = self._live(stale)
            have = rs["spec"].get("replicas", 0)
            unhealthy = have - (rs.get("status") or {}).get("availableReplicas", 0)
            take = min(have, removable + max(0, unhealthy))
            if take > 0:
                self._scale(d, rs, have - take)
                removable -= max(0, take - max(0, unhealthy))

    def _update_status(self, d: dict[str, Any], template_hash: str, created: bool) -> float | None:
        """Write the status; the seconds until the rollout's progress deadline, when one is running."""
        d = self.store.peek(self.primary, d["metadata"]["namespace"], d["metadata"]["name"]) or d
        rss = [rs for rs in self.store.scan(REPLICASETS.key, d["metadata"]["namespace"]) if controlled_by(rs, d)]
        new_rs = next(
            (rs for rs in rss if rs["metadata"].get("labels", {}).get("pod-template-hash") == template_hash), None
        )
        desired = int(d["spec"].get("replicas", 1))
        _, unavailable = surge_and_unavailable(d)

        def total(field: str) -> int:
            return sum((rs.get("status") or {}).get(field, 0) for rs in rss)

        spec_total = sum(rs["spec"].get("replicas", 0) for rs in rss)
        available = total("availableReplicas")
        status: dict[str, Any] = {"observedGeneration": d["metadata"].get("generation", 1)}
        counts = {
            "replicas": total("replicas"),
            "updatedReplicas": (new_rs.get("status") or {}).get("replicas", 0) if new_rs else 0,
            "readyReplicas": total("readyReplicas"),
            "availableReplicas": available,
            "unavailableReplicas": max(0, spec_total - available),
        }
        status.update({k: v for k, v in counts.items() if v})
        old_conditions = (d.get("status") or {}).get("conditions") or []
        if not d["spec"].get("paused"):
            old_conditions = pause.resumed(old_conditions)
        if available >= desired - unavailable:
            avail = _condition(
                "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.", old_conditions
            )
        else:
            avail = _condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
                old_conditions,
            )
        rs_name = new_rs["metadata"]["name"] if new_rs else ""
        complete = (
            new_rs is not None
            and counts["updatedReplicas"] == desired
            and counts["replicas"] == desired
            and available == desired
        )
        deadline_in: float | None = None
        resumed = None if d["spec"].get("paused") else pause.after_resume(d, counts, rs_name, old_conditions)
        if d["spec"].get("paused"):
            prog = pause.paused_condition(old_conditions)
        elif complete:
            prog = _condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{rs_name}" has successfully progressed.',
                old_conditions,
            )
        elif created:
            prog = _condition(
                "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{rs_name}"', old_conditions
            )
        elif resumed is not None:
            prog, deadline_in = resumed
        else:
            prog, deadline_in = progress.progressing(d, counts, rs_name, old_conditions)
        status["conditions"] = [avail, prog]
        # A ReplicaSet's ReplicaFailure (its pods refused: FailedCreate) shows on the Deployment, the new one's first.
        failure = progress.replica_failure(new_rs, rss)
        if failure is not None:
            status["conditions"].append(failure)
        if (d.get("status") or {}).get("collisionCount"):
            status["collisionCount"] = d["status"]["collisionCount"]
        if status != d.get("status"):
            new = copy(d)
            new["status"] = status
            self.registry.write(DEPLOYMENTS, d, new, sub="status")
        return deadline_in
