"""Node lifecycle and NoExecute taint eviction.

`NodeLifecycle` does what the node lifecycle controller, the node IPAM controller and a starting kubelet do for a
node: a cordoned node (`spec.unschedulable`) carries the `node.kubernetes.io/unschedulable:NoSchedule` taint and
loses it when uncordoned; a Node created through the API gets a podCIDR and is registered by the simulated kubelet
(capacity, conditions, addresses), so it takes pods like the nodes the cluster starts with.

`TaintEviction` is the taint eviction controller (the taint manager): a pod on a node with a NoExecute taint it
does not tolerate is marked (`DisruptionTarget`, reason `DeletionByTaintManager`) and deleted with its grace
period; tolerations with `tolerationSeconds` delay that by the smallest of them, counted from when the taint was
seen, and the deletion is cancelled when the taint goes first.
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Iterable
from typing import Any

from kubesim import resources
from kubesim.controllers.base import Controller, Key, copy
from kubesim.registry import now_rfc3339
from kubesim.scheduling import UNSCHEDULABLE_TAINT, tolerates
from kubesim.store import Change

PODS = resources.get("", "v1", "pods")
NODES = resources.get("", "v1", "nodes")
COMPONENT = "taint-eviction-controller"
_KUBELET_LABELS = {
    "beta.kubernetes.io/arch": "amd64",
    "beta.kubernetes.io/os": "linux",
    "kubernetes.io/arch": "amd64",
    "kubernetes.io/hostname": "",  # the node's name
    "kubernetes.io/os": "linux",
}


class NodeLifecycle(Controller):
    primary = NODES.key

    def reconcile(self, ns: str, name: str) -> float | None:
        node = self.store.peek(NODES.key, "", name)
        if node is None or node["metadata"].get("deletionTimestamp"):
            return None
        new = copy(node)
        spec = new.setdefault("spec", {})
        if not spec.get("podCIDR"):
            cidr = self._free_cidr()
            spec["podCIDR"], spec["podCIDRs"] = cidr, [cidr]
        labels = new["metadata"].setdefault("labels", {})
        for key, value in _KUBELET_LABELS.items():  # what a registering kubelet labels its node with
            labels.setdefault(key, value or name)
        taints = [t for t in spec.get("taints") or [] if t.get("key") != UNSCHEDULABLE_TAINT]
        had = next((t for t in spec.get("taints") or [] if t.get("key") == UNSCHEDULABLE_TAINT), None)
        if spec.get("unschedulable"):
            taints.append(had or {"key": UNSCHEDULABLE_TAINT, "effect": "NoSchedule", "timeAdded": now_rfc3339()})
        if taints:
            spec["taints"] = taints
        else:
            spec.pop("taints", None)
        if new != node:
            node = self.registry.write(NODES, node, new)
        if not any(c.get("type") == "Ready" for c in (node.get("status") or {}).get("conditions") or []):
            self._register(node)
        return None

    def _free_cidr(self) -> str:
        taken = {(n.get("spec") or {}).get("podCIDR") for n in self.store.scan(NODES.key)}
        for index in range(256):
            cidr = f"10.244.{index}.0/24"
            if cidr not in taken:
                return cidr
        raise RuntimeError("no pod CIDR left in 10.244.0.0/16")

    def _register(self, node: dict[str, Any]) -> None:
        """What a kubelet posts when it registers: the status the cluster's own nodes have."""
        from kubesim.cluster import node_manifest  # noqa: PLC0415 - kubesim.cluster imports the controllers

        name = node["metadata"]["name"]
        taken = {
            a.get("address")
            for n in self.store.scan(NODES.key)
            for a in (n.get("status") or {}).get("addresses") or []
            if a.get("type") == "InternalIP"
        }
        hosts = list(ipaddress.ip_network("172.18.0.0/16").hosts())[1:]  # .1 is the network's gateway, as on KIND
        ip = next(str(h) for h in hosts if str(h) not in taken)
        template = node_manifest(name, ip, node["spec"]["podCIDR"], control_plane=False)
        new = copy(node)
        status = new.setdefault("status", {})
        for key, value in template["status"].items():
            status.setdefault(key, value)
        if not status.get("addresses"):
            status["addresses"] = template["status"]["addresses"]
        self.registry.write(NODES, node, new, sub="status")


def _no_execute(node: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [t for t in ((node or {}).get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]


def toleration_delay(pod: dict[str, Any], taints: list[dict[str, Any]]) -> float | None:
    """Seconds before a pod on a node with these NoExecute taints is evicted: 0 when one is not tolerated,
    the smallest tolerationSeconds of the tolerations used, None (never) when none of them sets it
    (the taint eviction controller's getMinTolerationTime)."""
    used = []
    for taint in taints:
        match = next((t for t in pod["spec"].get("tolerations") or [] if tolerates(t, taint)), None)
        if match is None:
            return 0.0
        used.append(match)
    if not used:
        return None
    seconds = [int(t["tolerationSeconds"]) for t in used if t.get("tolerationSeconds") is not None]
    if not seconds:
        return None
    return float(max(0, min(seconds)))


class TaintEviction(Controller):
    primary = PODS.key
    resync_s = 30.0

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        self._scheduled: dict[str, tuple[float, float]] = {}  # pod uid -> (first seen, evict at), monotonic

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.key == PODS.key:
            if change.type != "DELETED" and change.obj["spec"].get("nodeName"):
                yield change.obj["metadata"]["namespace"], change.obj["metadata"]["name"]
            elif change.type == "DELETED":
                self._scheduled.pop(change.obj["metadata"]["uid"], None)
        elif change.key == NODES.key:
            if _no_execute(change.obj) == _no_execute(change.old):
                return
            name = change.obj["metadata"]["name"]
            for pod in self.store.scan(PODS.key):
                if pod["spec"].get("nodeName") == name:
                    yield pod["metadata"]["namespace"], pod["metadata"]["name"]

    def reconcile(self, ns: str, name: str) -> float | None:
        pod = self.store.peek(PODS.key, ns, name)
        if pod is None or pod["metadata"].get("deletionTimestamp") or not pod["spec"].get("nodeName"):
            return None
        uid = pod["metadata"]["uid"]
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            self._scheduled.pop(uid, None)
            return None
        node = self.store.peek(NODES.key, "", pod["spec"]["nodeName"])
        delay = toleration_delay(pod, _no_execute(node))
        if delay is None:
            if self._scheduled.pop(uid, None) is not None:
                self.registry.record_event(
                    pod, "TaintManagerEviction", f"Cancelling deletion of Pod {ns}/{name}", component=COMPONENT
                )
            return None
        now = time.monotonic()
        started, _ = self._scheduled.get(uid, (now, 0.0))
        due = started + delay
        self._scheduled[uid] = (started, due)
        if due > now:
            return due - now
        self._evict(pod)
        self._scheduled.pop(uid, None)
        return None

    def _evict(self, pod: dict[str, Any]) -> None:
        meta = pod["metadata"]
        self.registry.record_event(
            pod,
            "TaintManagerEviction",
            f"Marking for deletion Pod {meta['namespace']}/{meta['name']}",
            component=COMPONENT,
        )
        new = copy(pod)
        conds = [
            c for c in (new.setdefault("status", {}).get("conditions") or []) if c.get("type") != "DisruptionTarget"
        ]
        conds.append(
            {
                "type": "DisruptionTarget",
                "status": "True",
                "lastProbeTime": None,
                "lastTransitionTime": now_rfc3339(),
                "reason": "DeletionByTaintManager",
                "message": "Taint manager: deleting due to NoExecute taint",
            }
        )
        new["status"]["conditions"] = conds
        self.registry.write(PODS, pod, new, sub="status")
        self.registry.delete(PODS, meta["namespace"], meta["name"], {})
