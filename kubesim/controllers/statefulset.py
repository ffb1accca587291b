"""StatefulSet controller, as pkg/controller/statefulset's defaultStatefulSetControl keeps a set.

Revisions: each pod template is a ControllerRevision `<set>-<hash>` (`controllers/history.py`, labelled
`controller.kubernetes.io/hash`), the set's `status.updateRevision` the one of its current template and
`status.currentRevision` the one its pods ran before the update, until the rolling update completes (every pod
updated and ready). Each pod carries its revision's name in `controller-revision-hash`.

Pods `<set>-<ordinal>` for ordinals 0..replicas-1, each with a claim per `volumeClaimTemplates` entry
(`<template>-<set>-<ordinal>`). With `podManagementPolicy: OrderedReady` (monotonic) the controller creates one
pod at a time in ordinal order, each once its predecessors are Running and Ready (and available for
`minReadySeconds`), removes surplus pods one at a time from the highest ordinal, and waits for terminating pods;
`Parallel` creates and deletes them all at once. A Failed or Succeeded pod is deleted and created again.

Updates: `RollingUpdate` deletes the pod with the highest ordinal at or above `partition` whose revision is not
the update revision, one at a time, each once the pods above it are available again; pods are (re)created from
the update revision, those below the partition from the current one. `OnDelete` changes no pod: a pod that is
deleted comes back at the update revision, and `currentRevision` stays where it was (as upstream).
`maxUnavailable` is not honoured: it belongs to the MaxUnavailableStatefulSet feature gate, off in v1.32, so
updates go one pod at a time as there.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from kubesim import errors, resources
from kubesim.controllers import history
from kubesim.controllers.base import copy
from kubesim.controllers.replicaset import pod_from_template, pod_ready, ready_since
from kubesim.controllers.workloads import PODS, STATEFULSETS, _OwnedPods

PVCS = resources.get("", "v1", "persistentvolumeclaims")
REVISION_LABEL = "controller-revision-hash"  # apps.StatefulSetRevisionLabel
POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"
COMPONENT = "statefulset-controller"


def _ordinal(set_name: str, pod: dict[str, Any]) -> int:
    """getOrdinal: the number after the set's name, -1 when the pod's name has none."""
    m = re.fullmatch(r"(.*)-([0-9]+)", pod["metadata"]["name"])
    if m is None or m.group(1) != set_name:
        return -1
    return int(m.group(2))


def _revision_of(pod: dict[str, Any]) -> str:
    return str((pod["metadata"].get("labels") or {}).get(REVISION_LABEL, ""))


def _terminating(pod: dict[str, Any]) -> bool:
    return bool(pod["metadata"].get("deletionTimestamp"))


def _phase(pod: dict[str, Any]) -> str:
    return str((pod.get("status") or {}).get("phase") or "")


def _running_and_ready(pod: dict[str, Any]) -> bool:
    return _phase(pod) == "Running" and pod_ready(pod)


def _template_of(cr: dict[str, Any]) -> dict[str, Any]:
    """ApplyRevision: the pod template a revision's data restores."""
    template = copy(((cr.get("data") or {}).get("spec") or {}).get("template") or {})
    template.pop("$patch", None)
    meta = template.get("metadata") or {}
    if meta.get("creationTimestamp", "") is None:
        del meta["creationTimestamp"]
    return template


class StatefulSetController(_OwnedPods):
    primary = STATEFULSETS.key
    owner_kind = "StatefulSet"

    # ---- revisions -----------------------------------------------------------------------------
    def _revisions(self, sts: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], int]:
        """getStatefulSetRevisions: the current and update revisions and the collision count."""
        revisions = history.owned(self.registry, sts)
        collisions = int((sts.get("status") or {}).get("collisionCount") or 0)
        data = history.template_patch(sts)
        next_revision = int(revisions[-1].get("revision") or 0) + 1 if revisions else 1
        equal = [cr for cr in revisions if history.same_data(cr, data)]
        if equal and equal[-1] is revisions[-1]:
            update = revisions[-1]
        elif equal:
            update = history.renumber(self.registry, equal[-1], next_revision)
        else:
            update = self._create_revision(sts, data, next_revision, collisions)
            collisions = int(update.pop("_collisions", collisions))
        wanted = (sts.get("status") or {}).get("currentRevision")
        current = next((cr for cr in revisions if cr["metadata"]["name"] == wanted), None) or update
        if current["metadata"]["name"] == update["metadata"]["name"]:
            current = update
        return current, update, collisions

    def _create_revision(
        self, sts: dict[str, Any], data: dict[str, Any], revision: int, collisions: int
    ) -> dict[str, Any]:
        """CreateControllerRevision: a name taken by other data is a collision, counted into the next name."""
        ns, name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        while True:
            digest = history.revision_hash(data, collisions)
            cr_name = f"{name[:223]}-{digest}"
            existing = self.store.peek(history.REVISIONS.key, ns, cr_name)
            if existing is not None:
                if history.same_data(existing, data):
                    return {**existing, "_collisions": collisions}
                collisions += 1
                continue
            labels = dict((sts["spec"]["template"].get("metadata") or {}).get("labels") or {})
            labels[history.HASH_LABEL] = digest
            created = history.create(self.registry, sts, cr_name, labels, data, revision)
            return {**created, "_collisions": collisions}

    # ---- pods ----------------------------------------------------------------------------------
    def _new_pod(
        self, sts: dict[str, Any], current: dict[str, Any], update: dict[str, Any], ordinal: int
    ) -> dict[str, Any]:
        """newVersionedStatefulSetPod: below the partition from the current revision, else the update one."""
        strategy = sts["spec"].get("updateStrategy") or {}
        rolling = strategy.get("type", "RollingUpdate") == "RollingUpdate"
        ru = strategy.get("rollingUpdate")
        current_count = int((sts.get("status") or {}).get("currentReplicas") or 0)
        use_current = (rolling and ru is None and ordinal < current_count) or (
            ru is not None and ordinal < int(ru.get("partition") or 0)
        )
        revision = current if use_current else update
        name = f"{sts['metadata']['name']}-{ordinal}"
        pod = pod_from_template(_template_of(revision), sts, name=name)
        labels = pod["metadata"]["labels"]
        labels[POD_NAME_LABEL] = name
        labels[POD_INDEX_LABEL] = str(ordinal)
        labels[REVISION_LABEL] = revision["metadata"]["name"]
        pod["spec"]["hostname"] = name
        if sts["spec"].get("serviceName"):
            pod["spec"]["subdomain"] = sts["spec"]["serviceName"]
        self._claims(sts, pod, ordinal)
        return pod

    def _claims(self, sts: dict[str, Any], pod: dict[str, Any], ordinal: int) -> None:
        """updateStorage and createPersistentVolumeClaims: a claim per volumeClaimTemplate, mounted by name."""
        ns, set_name = sts["metadata"]["namespace"], sts["metadata"]["name"]
        volumes = pod["spec"].setdefault("volumes", [])
        for template in sts["spec"].get("volumeClaimTemplates") or []:
            tname = (template.get("metadata") or {}).get("name", "")
            claim = f"{tname}-{set_name}-{ordinal}"
            volumes[:] = [v for v in volumes if v.get("name") != tname]
            volumes.append({"name": tname, "persistentVolumeClaim": {"claimName": claim}})
            if self.store.peek(PVCS.key, ns, claim) is not None:
                continue
            pvc_meta = copy(template.get("metadata") or {})
            pvc_meta.update({"name": claim, "namespace": ns})
            labels = {
                **(pvc_meta.get("labels") or {}),
                **((sts["spec"].get("selector") or {}).get("matchLabels") or {}),
            }
            if labels:
                pvc_meta["labels"] = labels
            pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": pvc_meta}
            pvc["spec"] = copy(template.get("spec") or {})
            try:
                self.registry.create(PVCS, ns, pvc)
            except errors.APIError as exc:
                if exc.code != 409:
                    raise
            self.registry.record_event(
                sts,
                "SuccessfulCreate",
                f"create Claim {claim} Pod {pod['metadata']['name']} in StatefulSet {set_name} success",
                component=COMPONENT,
            )
        if not volumes:
            del pod["spec"]["volumes"]

    def _create(self, sts: dict[str, Any], pod: dict[str, Any]) -> dict[str, Any] | None:
        ns, set_name, pod_name = sts["metadata"]["namespace"], sts["metadata"]["name"], pod["metadata"]["name"]
        if not self.failures.due((ns, set_name)):
            return None
        created = self.failures.create(
            self,
            sts,
            pod,
            component=COMPONENT,
            message=f"create Pod {pod_name} in StatefulSet {set_name} failed error: {{error}}",
        )
        if created is not None:
            self.registry.record_event(
                sts,
                "SuccessfulCreate",
                f"create Pod {pod_name} in StatefulSet {set_name} successful",
                component=COMPONENT,
            )
        return created

    def _delete(self, sts: dict[str, Any], pod: dict[str, Any]) -> None:
        ns, pod_name = pod["metadata"]["namespace"], pod["metadata"]["name"]
        try:
            self.registry.delete(PODS, ns, pod_name)
        except errors.APIError as exc:
            if exc.code != 404:
                raise
            return
        self.registry.record_event(
            sts,
            "SuccessfulDelete",
            f"delete Pod {pod_name} in StatefulSet {sts['metadata']['name']} successful",
            component=COMPONENT,
        )

    # ---- the loop ------------------------------------------------------------------------------
    def reconcile(self, ns: str, name: str) -> float | None:
        sts = self.store.peek(STATEFULSETS.key, ns, name)
        if sts is None:
            return None
        current, update, collisions = self._revisions(sts)
        wake: list[float] = []
        min_ready = int(sts["spec"].get("minReadySeconds") or 0)
        now = datetime.now(UTC)

        def available(pod: dict[str, Any]) -> bool:
            """isRunningAndAvailable; a pod that will be available after minReadySeconds wakes the loop then."""
            if not _running_and_ready(pod):
                return False
            if min_ready <= 0:
                return True
            since = ready_since(pod)
            age = (now - since).total_seconds() if since else float(min_ready)
            if age >= min_ready:
                return True
            wake.append(min_ready - age + 0.05)
            return False

        if not sts["metadata"].get("deletionTimestamp"):
            self._update(sts, current, update, available)
        self._status(sts, current, update, collisions, available)
        live = {current["metadata"]["name"], update["metadata"]["name"]}
        live.update(_revision_of(p) for p in self.pods(sts))
        limit = sts["spec"].get("revisionHistoryLimit", 10)
        history.truncate(self.registry, history.owned(self.registry, sts), live, None if limit is None else int(limit))
        backoff = self.failures.backoff((ns, name))
        return min([*wake, *([backoff] if backoff is not None else [])], default=None)

    def _update(self, sts: dict[str, Any], current: dict[str, Any], update: dict[str, Any], available: Any) -> None:
        """updateStatefulSet: replicas in ordinal order, then the condemned, then the rolling update."""
        set_name = sts["metadata"]["name"]
        count = int(sts["spec"].get("replicas", 1))
        replicas: list[dict[str, Any] | None] = [None] * count
        condemned: list[dict[str, Any]] = []
        for pod in self.pods(sts):
            ordinal = _ordinal(set_name, pod)
            if 0 <= ordinal < count:
                replicas[ordinal] = pod
            elif ordinal >= 0:
                condemned.append(pod)
        condemned.sort(key=lambda p: _ordinal(set_name, p), reverse=True)
        monotonic = sts["spec"].get("podManagementPolicy", "OrderedReady") != "Parallel"
        first_unhealthy = next(
            (p for p in [*[r for r in replicas if r is not None], *reversed(condemned)] if not available(p)), None
        )
        # the replicas, in ordinal order
        for ordinal in range(count):
            replica = replicas[ordinal]
            if replica is not None and _phase(replica) in ("Failed", "Succeeded"):
                if not _terminating(replica):
                    self._delete(sts, replica)
                if monotonic:
                    return
                continue
            if replica is None:
                replica = replicas[ordinal] = self._create(sts, self._new_pod(sts, current, update, ordinal))
                if monotonic or replica is None:
                    return
            if monotonic and (_terminating(replica) or not available(replica)):
                return
        # the condemned, from the highest ordinal
        for pod in condemned:
            if _terminating(pod):
                if monotonic:
                    return
                continue
            if monotonic and not available(pod) and pod is not first_unhealthy:
                return
            self._delete(sts, pod)
            if monotonic:
                return
        strategy = sts["spec"].get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "OnDelete":
            return
        partition = int((strategy.get("rollingUpdate") or {}).get("partition") or 0)
        update_name = update["metadata"]["name"]
        for ordinal in range(count - 1, partition - 1, -1):
            replica = replicas[ordinal]
            if replica is None:
                return
            if _revision_of(replica) != update_name and not _terminating(replica):
                self._delete(sts, replica)
                return
            if not available(replica):
                return

    def _status(
        self, sts: dict[str, Any], current: dict[str, Any], update: dict[str, Any], collisions: int, available: Any
    ) -> None:
        live = self.store.peek(STATEFULSETS.key, sts["metadata"]["namespace"], sts["metadata"]["name"]) or sts
        current_name, update_name = current["metadata"]["name"], update["metadata"]["name"]
        set_name = sts["metadata"]["name"]
        replicas = ready = avail = current_count = updated = 0
        for pod in self.pods(sts):
            if _ordinal(set_name, pod) < 0:
                continue
            created = bool(_phase(pod))
            replicas += created
            if _running_and_ready(pod):
                ready += 1
                avail += available(pod)
            if created and not _terminating(pod):
                current_count += _revision_of(pod) == current_name
                updated += _revision_of(pod) == update_name
        strategy = sts["spec"].get("updateStrategy") or {}
        # completeRollingUpdate: every pod updated and ready makes the update revision the current one
        if strategy.get("type", "RollingUpdate") == "RollingUpdate" and updated == replicas and ready == replicas:
            current_count, current_name = updated, update_name
        status: dict[str, Any] = {
            "observedGeneration": sts["metadata"].get("generation", 1),
            "replicas": replicas,
            "readyReplicas": ready,
            "currentReplicas": current_count,
            "updatedReplicas": updated,
            "currentRevision": current_name,
            "updateRevision": update_name,
            "collisionCount": collisions,
            "availableReplicas": avail,
        }
        for key in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if not status[key]:
                del status[key]
        old = live.get("status") or {}
        if old.get("conditions"):
            status["conditions"] = old["conditions"]
        self.set_status(STATEFULSETS, live, status)
