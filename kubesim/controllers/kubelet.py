"""Scheduler and kubelet: bind pods to a node, give them an IP, run them, report their status."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from typing import Any

from kubesim import resources
from kubesim.controllers.base import Controller, Key, copy
from kubesim.controllers.phase import pod_phase
from kubesim.registry import now_rfc3339
from kubesim.runtime.base import ContainerState, normalize_image
from kubesim.scheduling import NodeUse, pod_requests, schedule
from kubesim.store import Change

PODS = resources.get("", "v1", "pods")
NODES = resources.get("", "v1", "nodes")
__all__ = ["Kubelet", "NodeUse", "pod_requests", "schedule"]


def _frees_room(change: Change) -> bool:
    """A bound pod went away or finished: a Pending pod may fit now."""
    if not change.obj["spec"].get("nodeName"):
        return False
    if change.type == "DELETED":
        return True
    done = ("Succeeded", "Failed")
    before = ((change.old or {}).get("status") or {}).get("phase")
    return (change.obj.get("status") or {}).get("phase") in done and before not in done


def _condition(
    kind: str, status: str, old: list[dict[str, Any]], reason: str = "", message: str = ""
) -> dict[str, Any]:
    prev = next((c for c in old if c.get("type") == kind), None)
    cond: dict[str, Any] = {
        "type": kind,
        "status": status,
        "lastProbeTime": None,
        "lastTransitionTime": prev["lastTransitionTime"] if prev and prev.get("status") == status else now_rfc3339(),
    }
    if reason:
        cond["reason"] = reason
    if message:
        cond["message"] = message
    return cond


def container_status(st: ContainerState) -> dict[str, Any]:
    if st.running:
        state: dict[str, Any] = {"running": {"startedAt": st.started_at}}
    elif st.terminated:
        state = {"terminated": st.terminated}
    else:
        waiting: dict[str, Any] = {"reason": st.waiting_reason}
        if st.waiting_message:
            waiting["message"] = st.waiting_message
        state = {"waiting": waiting}
    image = normalize_image(st.image)
    out: dict[str, Any] = {
        "name": st.name,
        "state": state,
        "lastState": {"terminated": st.last_terminated} if st.last_terminated else {},
        "ready": st.ready,
        "restartCount": st.restart_count,
        "image": image,
        "imageID": image.rsplit(":", 1)[0] + "@sha256:" + (st.container_id[-64:] or "0" * 64),
        "started": st.started,
    }
    if st.container_id and (st.running or st.terminated or st.last_terminated):
        out["containerID"] = st.container_id
    return out


class Kubelet(Controller):
    """One kubelet for every node of the simulated cluster, plus the default scheduler."""

    primary = PODS.key
    # Event driven: pod and node changes and the runtime's own notifications (a process exited, a probe
    # changed readiness) mark pods dirty; the full resync is only a safety net.
    resync_s = 60.0

    def keys_for(self, change: Change) -> Iterable[Key]:
        yield from super().keys_for(change)
        if change.key == NODES.key or (change.key == PODS.key and _frees_room(change)):
            # The scheduler retries Pending pods; a pod bound by name to a node that did not exist starts
            # when that node appears.
            node = change.obj["metadata"]["name"] if change.key == NODES.key else None
            for pod in self.store.scan(PODS.key):
                on = pod["spec"].get("nodeName")
                if not on or (on == node and not (pod.get("status") or {}).get("podIP")):
                    yield pod["metadata"]["namespace"], pod["metadata"]["name"]

    def reconcile(self, ns: str, name: str) -> float | None:
        pod = self.store.peek(PODS.key, ns, name)
        if pod is None:
            return None
        runtime = self.cluster.runtime_for(pod)
        if pod["metadata"].get("deletionTimestamp"):
            if runtime.kill(pod, float(pod["metadata"].get("deletionGracePeriodSeconds") or 0)):
                runtime.forget(pod["metadata"]["uid"])
                self.registry.finalize_pod(ns, name)
                return None
            return 0.1
        if not pod["spec"].get("nodeName"):
            return self._schedule(pod)
        if self.store.peek(NODES.key, "", pod["spec"]["nodeName"]) is None:
            return None  # bound to a node that does not exist: no kubelet picks it up, it stays Pending
        phase = (pod.get("status") or {}).get("phase")
        if phase in ("Succeeded", "Failed"):
            return None
        if not (pod.get("status") or {}).get("podIP"):
            pod = self._assign_ip(pod)
        states = runtime.sync(pod)
        self._report(pod, states)
        return None

    def _schedule(self, pod: dict[str, Any]) -> float | None:
        used: dict[str, NodeUse] = {}
        for other in self.store.scan(PODS.key):
            on = other["spec"].get("nodeName")
            if on and (other.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                used.setdefault(on, NodeUse()).add(other)
        node, why = schedule(pod, self.store.scan(NODES.key), used)
        meta = pod["metadata"]
        if node is None:
            new = copy(pod)
            status = new.setdefault("status", {})
            status["phase"] = "Pending"
            conds = status.get("conditions") or []
            status["conditions"] = [_condition("PodScheduled", "False", conds, "Unschedulable", why)]
            if new != pod:
                self.registry.write(PODS, pod, new, sub="status")
                self.registry.record_event(pod, "FailedScheduling", why, type_="Warning", component="default-scheduler")
            return None
        new = copy(pod)
        new["spec"]["nodeName"] = node["metadata"]["name"]
        status = new.setdefault("status", {})
        status["conditions"] = [_condition("PodScheduled", "True", status.get("conditions") or [])]
        stored = self.registry.store.put(PODS.key, new)
        self.registry.record_event(
            stored,
            "Scheduled",
            f"Successfully assigned {meta['namespace']}/{meta['name']} to {node['metadata']['name']}",
            component="default-scheduler",
        )
        return 0.0

    def _assign_ip(self, pod: dict[str, Any]) -> dict[str, Any]:
        """The sandbox gets its IP before any container starts (processes bind to it)."""
        node = self.store.peek(NODES.key, "", pod["spec"]["nodeName"])
        new = copy(pod)
        ip = self._pod_ip(pod, node)
        new.setdefault("status", {}).update({"podIP": ip, "podIPs": [{"ip": ip}]})
        self.registry.store.put(PODS.key, new)
        return self.store.peek(PODS.key, pod["metadata"]["namespace"], pod["metadata"]["name"]) or new

    def _pod_ip(self, pod: dict[str, Any], node: dict[str, Any] | None) -> str:
        if (pod.get("status") or {}).get("podIP"):
            return str(pod["status"]["podIP"])
        if pod["spec"].get("hostNetwork") and node:
            return self._host_ip(node)
        cidr = ipaddress.ip_network((node or {}).get("spec", {}).get("podCIDR") or "10.244.1.0/24")
        used = {(p.get("status") or {}).get("podIP") for p in self.store.scan(PODS.key)}
        for host in list(cidr.hosts())[1:]:
            if str(host) not in used:
                return str(host)
        raise RuntimeError(f"no pod IP left in {cidr}")

    @staticmethod
    def _host_ip(node: dict[str, Any]) -> str:
        for addr in (node.get("status") or {}).get("addresses") or []:
            if addr.get("type") == "InternalIP":
                return str(addr["address"])
        return "127.0.0.1"

    def _report(self, pod: dict[str, Any], states: list[ContainerState]) -> None:
        node_name = pod["spec"]["nodeName"]
        node = self.store.peek(NODES.key, "", node_name)
        for st in states:
            for type_, reason, message in st.events:
                self.registry.record_event(
                    pod,
                    reason,
                    message,
                    type_=type_,
                    component="kubelet",
                    host=pod["spec"]["nodeName"],
                    field_path=f"spec.{'initContainers' if st.init else 'containers'}{{{st.name}}}",
                )
            st.events.clear()
            for type_, reason, message in st.node_events:
                if node is not None:
                    self.registry.record_event(node, reason, message, type_=type_, component="kubelet", host=node_name)
            st.node_events.clear()
        new = copy(pod)
        status = new.setdefault("status", {})
        conds = status.get("conditions") or []
        restart = pod["spec"].get("restartPolicy", "Always")
        inits = [s for s in states if s.init]
        states = [s for s in states if not s.init]
        sidecars = {c["name"] for c in pod["spec"].get("initContainers") or [] if c.get("restartPolicy") == "Always"}
        incomplete = [
            s.name
            for s in inits
            if not (s.started if s.name in sidecars else s.terminated and s.terminated.get("exitCode") == 0)
        ]
        init_failed = restart == "Never" and any(
            s.terminated and s.terminated.get("exitCode") != 0 for s in inits if s.name not in sidecars
        )
        ready_states = [*states, *(s for s in inits if s.name in sidecars)]
        all_running = all(s.running for s in ready_states)
        all_ready = all_running and all(s.ready for s in ready_states)
        phase = pod_phase(states, restart)
        if incomplete and phase != "Failed":
            phase = "Pending"
        if init_failed:  # an init container failed and is not restarted: so does the pod
            phase = "Failed"
        status["phase"] = phase
        started = any(s.started_at for s in [*inits, *states])
        ready_reason = "" if all_ready else ("PodCompleted" if phase == "Succeeded" else "ContainersNotReady")
        not_ready = [s.name for s in ready_states if not s.ready]
        msg = "" if all_ready or phase == "Succeeded" else f"containers with unready status: [{' '.join(not_ready)}]"
        init_cond = (
            _condition("Initialized", "True", conds)
            if not incomplete
            else _condition(
                "Initialized",
                "False",
                conds,
                "ContainersNotInitialized",
                f"containers with incomplete status: [{' '.join(incomplete)}]",
            )
        )
        status["conditions"] = [
            _condition("PodReadyToStartContainers", "True" if started else "False", conds),
            init_cond,
            _condition("Ready", "True" if all_ready else "False", conds, ready_reason, msg),
            _condition("ContainersReady", "True" if all_ready else "False", conds, ready_reason, msg),
            _condition("PodScheduled", "True", conds),
        ]
        host_ip = self._host_ip(node) if node else "127.0.0.1"
        status["hostIP"] = host_ip
        status["hostIPs"] = [{"ip": host_ip}]
        if started:
            ip = self._pod_ip(pod, node)
            status["podIP"] = ip
            status["podIPs"] = [{"ip": ip}]
        status.setdefault("startTime", now_rfc3339())
        if inits:
            status["initContainerStatuses"] = [container_status(s) for s in inits]
        status["containerStatuses"] = [container_status(s) for s in states]
        if new != pod:
            self.registry.write(PODS, pod, new, sub="status")
