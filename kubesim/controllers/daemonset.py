"""DaemonSet controller: one pod per eligible node, template changes rolled out as the daemon controller
(pkg/controller/daemon/update.go) rolls them, and the status kubectl and kubernetes.core's waiter read.

Each pod carries `controller-revision-hash` (its template's hash) and `pod-template-generation`; a pod is
*updated* when its hash is the current template's. `updateStrategy`:
- `RollingUpdate` without surge (`maxUnavailable`, default 1; a percentage of the desired nodes, rounded up):
  old pods that are not available are replaced at once, available ones are deleted while fewer than
  `maxUnavailable` nodes lack an available pod; a node whose pod is still terminating gets its new pod once
  the old one is gone.
- `RollingUpdate` with `maxSurge`: the new pod starts beside the old one, which is deleted once the new one is
  available (`minReadySeconds`).
- `OnDelete`: pods are left as they are; a pod that is deleted comes back from the current template.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from kubesim import names
from kubesim.controllers import history
from kubesim.controllers.base import Key
from kubesim.controllers.replicaset import pod_from_template, pod_ready, ready_since
from kubesim.controllers.workloads import DAEMONSETS, NODES, PODS, _OwnedPods
from kubesim.scheduling import add_daemonset_tolerations, daemon_should_run
from kubesim.store import Change

HASH = "controller-revision-hash"
GENERATION = "pod-template-generation"
COMPONENT = "daemonset-controller"


def _scaled(value: Any, total: int) -> int:
    """intstr.GetScaledValueFromIntOrPercent, rounding up."""
    if isinstance(value, str) and value.endswith("%"):
        return math.ceil(int(value[:-1]) * total / 100)
    return int(value or 0)


def _created(pod: dict[str, Any]) -> str:
    return str(pod["metadata"].get("creationTimestamp", ""))


class DaemonSetController(_OwnedPods):
    primary = DAEMONSETS.key
    owner_kind = "DaemonSet"

    def keys_for(self, change: Change) -> Iterable[Key]:
        yield from super().keys_for(change)
        if change.key == NODES.key:
            for ds in self.store.scan(DAEMONSETS.key):
                yield ds["metadata"]["namespace"], ds["metadata"]["name"]

    # ---- helpers -------------------------------------------------------------------------------
    def _available(self, pod: dict[str, Any], min_ready: int, now: datetime) -> tuple[bool, float | None]:
        """Whether the pod is available, and when not yet (ready, within minReadySeconds) in how many seconds."""
        if not pod_ready(pod):
            return False, None
        since = ready_since(pod)
        age = (now - since).total_seconds() if since else float(min_ready)
        if age >= min_ready:
            return True, None
        return False, min_ready - age + 0.05

    def _by_node(self, ds: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """The DaemonSet's pods by node, leaving out finished ones that are being deleted."""
        by_node: dict[str, list[dict[str, Any]]] = {}
        for pod in self.pods(ds):
            finished = (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")
            if finished and pod["metadata"].get("deletionTimestamp"):
                continue
            by_node.setdefault(pod["spec"].get("nodeName") or "", []).append(pod)
        return by_node

    def _eligible(self, ds: dict[str, Any]) -> list[str]:
        """The nodes that should run a daemon pod (NodeShouldRunDaemonPod): selector, affinity, taints tolerated
        with the controller's own tolerations (a cordoned node keeps its daemon pods)."""
        probe = pod_from_template(ds["spec"]["template"], ds)
        add_daemonset_tolerations(probe["spec"])
        return [node["metadata"]["name"] for node in self.store.scan(NODES.key) if daemon_should_run(probe, node)]

    def _create(self, ds: dict[str, Any], node: str, template_hash: str) -> bool:
        pod = pod_from_template(ds["spec"]["template"], ds)
        pod["metadata"]["labels"][HASH] = template_hash
        pod["metadata"]["labels"][GENERATION] = str(ds["metadata"].get("generation", 1))
        pod["spec"]["nodeName"] = node
        add_daemonset_tolerations(pod["spec"])
        created = self.failures.create(self, ds, pod, component=COMPONENT)
        if created is None:
            return False
        self.registry.record_event(
            ds, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", component=COMPONENT
        )
        return True

    def _delete(self, ds: dict[str, Any], pod: dict[str, Any]) -> None:
        name = pod["metadata"]["name"]
        if self.store.peek(PODS.key, pod["metadata"]["namespace"], name) is None:
            return
        self.registry.delete(PODS, pod["metadata"]["namespace"], name)
        self.registry.record_event(ds, "SuccessfulDelete", f"Deleted pod: {name}", component=COMPONENT)

    # ---- the loop ------------------------------------------------------------------------------
    def reconcile(self, ns: str, name: str) -> float | None:
        ds = self.store.peek(DAEMONSETS.key, ns, name)
        if ds is None or ds["metadata"].get("deletionTimestamp"):
            return None
        template_hash = names.pod_template_hash(ds["spec"]["template"])
        revision = history.sync_daemonset(self.registry, ds, template_hash)  # the ControllerRevision of this template
        min_ready = int(ds["spec"].get("minReadySeconds", 0))
        now = datetime.now(UTC)
        wake: list[float] = []

        def updated(pod: dict[str, Any]) -> bool:
            return (pod["metadata"].get("labels") or {}).get(HASH) == template_hash

        def available(pod: dict[str, Any]) -> bool:
            ok, later = self._available(pod, min_ready, now)
            if later is not None:
                wake.append(later)
            return ok

        eligible = self._eligible(ds)
        by_node = self._by_node(ds)
        # The manage loop: a pod on every eligible node, none elsewhere, failed ones replaced.
        due = self.failures.due((ns, name))
        for node, pods in by_node.items():
            live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
            if node not in eligible:
                for pod in live:
                    self._delete(ds, pod)
                continue
            for pod in live:
                if (pod.get("status") or {}).get("phase") == "Failed":
                    self._delete(ds, pod)
        for node in eligible:
            if not by_node.get(node) and due and not self._create(ds, node, template_hash):
                due = False
        strategy = ds["spec"].get("updateStrategy") or {}
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            self._roll(ds, strategy.get("rollingUpdate") or {}, eligible, by_node, updated, available, due)
        self._status(ds, eligible, template_hash, min_ready)
        history.truncate_daemonset(self.registry, ds, self.pods(ds), revision["metadata"]["name"])
        backoff = self.failures.backoff((ns, name))
        return min([*wake, *([backoff] if backoff is not None else [])], default=None)

    def _roll(  # noqa: PLR0917 - the reconcile's state, passed on
        self,
        ds: dict[str, Any],
        ru: dict[str, Any],
        eligible: list[str],
        by_node: dict[str, list[dict[str, Any]]],
        updated: Any,
        available: Any,
        may_create: bool,
    ) -> None:
        desired = len(eligible)
        surge = _scaled(ru.get("maxSurge", 0), desired)
        max_unavailable = _scaled(ru.get("maxUnavailable", 1), desired)
        if surge == 0 and max_unavailable == 0:
            max_unavailable = 1
        template_hash = names.pod_template_hash(ds["spec"]["template"])
        # (node, new pod, old pod) for nodes whose live pods are at most one new and one old
        placed = []
        crowded = 0
        for node in eligible:
            live = [p for p in by_node.get(node, []) if not p["metadata"].get("deletionTimestamp")]
            new = [p for p in live if updated(p)]
            old = [p for p in live if not updated(p)]
            if len(new) > 1 or len(old) > 1:
                crowded += 1
                continue
            placed.append((node, new[0] if new else None, old[0] if old else None))
        if surge == 0:
            unavailable = crowded
            replace: list[dict[str, Any]] = []
            candidates: list[dict[str, Any]] = []
            for _, new_pod, old_pod in placed:
                if (new_pod is None) == (old_pod is None):
                    unavailable += 1
                elif new_pod is not None:
                    if not available(new_pod):
                        unavailable += 1
                elif old_pod is not None:
                    if not available(old_pod):
                        replace.append(old_pod)
                    elif unavailable < max_unavailable:
                        candidates.append(old_pod)
            room = max(0, min(max_unavailable - unavailable, len(candidates)))
            for pod in [*replace, *sorted(candidates, key=_created)[:room]]:
                self._delete(ds, pod)
            return
        surged = crowded
        olds_to_delete = []
        allowed: list[str] = []
        candidate_nodes: list[str] = []
        for node, new_pod, old_pod in placed:
            if old_pod is None:
                continue
            if new_pod is None:
                if not available(old_pod):
                    allowed.append(node)
                elif surged < surge:
                    candidate_nodes.append(node)
            elif not available(new_pod):
                surged += 1
            else:
                olds_to_delete.append(old_pod)
        room = max(0, min(surge - surged, len(candidate_nodes)))
        for pod in olds_to_delete:
            self._delete(ds, pod)
        for node in [*allowed, *candidate_nodes[:room]]:
            if not may_create or not self._create(ds, node, template_hash):
                break

    def _status(self, ds: dict[str, Any], eligible: list[str], template_hash: str, min_ready: int) -> None:
        now = datetime.now(UTC)
        by_node = self._by_node(ds)
        current = ready = avail = updated = misscheduled = 0
        for node, pods in by_node.items():
            if node not in eligible:
                misscheduled += 1
                continue
            current += 1
            oldest = sorted(pods, key=_created)[0]  # the status counts each node's oldest pod, as upstream
            if pod_ready(oldest):
                ready += 1
                if self._available(oldest, min_ready, now)[0]:
                    avail += 1
            if (oldest["metadata"].get("labels") or {}).get(HASH) == template_hash:
                updated += 1
        status: dict[str, Any] = {
            "currentNumberScheduled": current,
            "desiredNumberScheduled": len(eligible),
            "numberMisscheduled": misscheduled,
            "numberReady": ready,
            "observedGeneration": ds["metadata"].get("generation", 1),
        }
        if updated:
            status["updatedNumberScheduled"] = updated
        if avail:
            status["numberAvailable"] = avail
        if len(eligible) - avail > 0:
            status["numberUnavailable"] = len(eligible) - avail
        old = ds.get("status") or {}
        if old.get("collisionCount"):
            status["collisionCount"] = old["collisionCount"]
        self.set_status(DAEMONSETS, ds, status)
