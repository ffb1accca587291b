"""Endpoints and EndpointSlice controller: a Service's ready and not-ready pod addresses."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kubesim import resources
from kubesim.controllers.base import Controller, Key, copy
from kubesim.selectors import label_selector_from_map
from kubesim.store import Change

SERVICES = resources.get("", "v1", "services")
ENDPOINTS = resources.get("", "v1", "endpoints")
SLICES = resources.get("discovery.k8s.io", "v1", "endpointslices")
PODS = resources.get("", "v1", "pods")
SERVICE_NAME = "kubernetes.io/service-name"


def _target_port(port: dict[str, Any], pod: dict[str, Any]) -> int | None:
    target = port.get("targetPort", port.get("port"))
    if isinstance(target, int):
        return target
    for c in pod["spec"].get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == target:
                return int(p["containerPort"])
    return None


def _ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def service_backends(svc: dict[str, Any], pods: list[dict[str, Any]]) -> list[tuple[dict[str, Any], bool]]:
    """(pod, ready) for every pod with an IP that the Service selects and that is not terminating."""
    selector = label_selector_from_map(svc["spec"].get("selector"))
    out = []
    for pod in pods:
        if pod["metadata"].get("deletionTimestamp") or not (pod.get("status") or {}).get("podIP"):
            continue
        if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            continue
        if selector.matches(pod["metadata"].get("labels") or {}):
            out.append((pod, _ready(pod) or bool(svc["spec"].get("publishNotReadyAddresses"))))
    return out


class EndpointsController(Controller):
    primary = SERVICES.key

    def keys_for(self, change: Change) -> Iterable[Key]:
        yield from super().keys_for(change)
        if change.key == PODS.key:
            ns = change.obj["metadata"]["namespace"]
            labels = [
                (change.obj["metadata"].get("labels") or {}),
                ((change.old or {}).get("metadata", {}).get("labels") or {}),
            ]
            for svc in self.store.scan(SERVICES.key, ns):
                sel = label_selector_from_map(svc["spec"].get("selector"))
                if any(sel.matches(lbl) for lbl in labels):
                    yield ns, svc["metadata"]["name"]

    def reconcile(self, ns: str, name: str) -> float | None:
        svc = self.store.peek(SERVICES.key, ns, name)
        ep = self.store.peek(ENDPOINTS.key, ns, name)
        if svc is None:
            if ep is not None:
                self.store.remove(ENDPOINTS.key, ns, name)
            return None
        if not svc["spec"].get("selector"):
            return None  # endpoints of a selector-less Service are the user's to manage
        backends = service_backends(svc, self.store.scan(PODS.key, ns))
        self._endpoints(svc, ep, backends)
        self._slice(svc, backends)
        return None

    def _endpoints(
        self, svc: dict[str, Any], ep: dict[str, Any] | None, backends: list[tuple[dict[str, Any], bool]]
    ) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        subsets: list[dict[str, Any]] = []
        ports: list[dict[str, Any]] = []
        ready_addrs: list[dict[str, Any]] = []
        not_ready: list[dict[str, Any]] = []
        for port in svc["spec"].get("ports") or []:
            for pod, _ in backends:
                target = _target_port(port, pod)
                if target is not None:
                    entry = {"port": target, "protocol": port.get("protocol", "TCP")}
                    if port.get("name"):
                        entry["name"] = port["name"]
                    if entry not in ports:
                        ports.append(entry)
                    break
        for pod, ready in sorted(backends, key=lambda b: b[0]["status"]["podIP"]):
            addr = {
                "ip": pod["status"]["podIP"],
                "nodeName": pod["spec"].get("nodeName"),
                "targetRef": {
                    "kind": "Pod",
                    "namespace": ns,
                    "name": pod["metadata"]["name"],
                    "uid": pod["metadata"]["uid"],
                },
            }
            (ready_addrs if ready else not_ready).append(addr)
        if (ready_addrs or not_ready) and ports:
            subset: dict[str, Any] = {}
            if ready_addrs:
                subset["addresses"] = ready_addrs
            if not_ready:
                subset["notReadyAddresses"] = not_ready
            subset["ports"] = ports
            subsets.append(subset)
        labels = dict(svc["metadata"].get("labels") or {})
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": name, "namespace": ns, "labels": labels},
        }
        if subsets:
            body["subsets"] = subsets
        if ep is None:
            self.registry.create(ENDPOINTS, ns, body)
            return
        new = copy(ep)
        new["metadata"]["labels"] = labels
        if subsets:
            new["subsets"] = subsets
        else:
            new.pop("subsets", None)
        self.registry.write(ENDPOINTS, ep, new)

    def _slice(self, svc: dict[str, Any], backends: list[tuple[dict[str, Any], bool]]) -> None:
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        slice_name = f"{name}-{svc['metadata']['uid'][:5]}"
        existing = self.store.peek(SLICES.key, ns, slice_name)
        ports = []
        for port in svc["spec"].get("ports") or []:
            target = next((t for t in (_target_port(port, p) for p, _ in backends) if t is not None), None)
            entry: dict[str, Any] = {
                "name": port.get("name", ""),
                "port": target,
                "protocol": port.get("protocol", "TCP"),
            }
            if target is not None:
                ports.append(entry)
        endpoints = [
            {
                "addresses": [pod["status"]["podIP"]],
                "conditions": {"ready": ready, "serving": ready, "terminating": False},
                "nodeName": pod["spec"].get("nodeName"),
                "targetRef": {
                    "kind": "Pod",
                    "namespace": ns,
                    "name": pod["metadata"]["name"],
                    "uid": pod["metadata"]["uid"],
                },
            }
            for pod, ready in sorted(backends, key=lambda b: b[0]["status"]["podIP"])
        ]
        body: dict[str, Any] = {
            "apiVersion": "discovery.k8s.io/v1",
            "kind": "EndpointSlice",
            "metadata": {
                "name": slice_name,
                "namespace": ns,
                "labels": {
                    SERVICE_NAME: name,
                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io",
                },
                "ownerReferences": [
                    {
                        "apiVersion": "v1",
                        "kind": "Service",
                        "name": name,
                        "uid": svc["metadata"]["uid"],
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "addressType": "IPv4",
            "endpoints": endpoints or None,
            "ports": ports or None,
        }
        if existing is None:
            self.registry.create(SLICES, ns, body)
            return
        new = copy(existing)
        new["endpoints"], new["ports"] = body["endpoints"], body["ports"]
        self.registry.write(SLICES, existing, new)
