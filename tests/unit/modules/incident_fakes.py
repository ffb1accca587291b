"""In-memory stand-ins for the incident modules' Kubernetes adapters (sockshop_cluster.ConfigMaps, LiveState)."""

from __future__ import annotations

import copy
from typing import Any

import jsonpatch
from ansible.module_utils.sockshop_incident import Conflict


class FakeConfigMaps:
    """ConfigMaps of one namespace with resourceVersions and 409s, counting every write."""

    def __init__(self, namespace: str = "sock-shop-incidents") -> None:
        self.namespace = namespace
        self.objects: dict[str, dict[str, Any]] = {}
        self.writes = 0
        self._version = 100
        self.namespace_made = False

    def ensure_namespace(self) -> bool:
        made, self.namespace_made = not self.namespace_made, True
        return made

    def _stamp(self, body: dict[str, Any]) -> dict[str, Any]:
        self._version += 1
        self.writes += 1
        stored = copy.deepcopy(body)
        stored["metadata"]["resourceVersion"] = str(self._version)
        self.objects[stored["metadata"]["name"]] = stored
        return copy.deepcopy(stored)

    def get(self, name: str) -> dict[str, Any] | None:
        found = self.objects.get(name)
        return copy.deepcopy(found) if found else None

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        if body["metadata"]["name"] in self.objects:
            raise Conflict("AlreadyExists")
        return self._stamp(body)

    def replace(self, body: dict[str, Any]) -> dict[str, Any]:
        current = self.objects.get(body["metadata"]["name"])
        if current is None or current["metadata"]["resourceVersion"] != body["metadata"].get("resourceVersion"):
            raise Conflict("the object has been modified")
        return self._stamp(body)

    def delete(self, name: str) -> None:
        if self.objects.pop(name, None) is not None:
            self.writes += 1


def deployment(name: str, replicas: int, available: int) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "sock-shop", "generation": 1},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"name": name}}},
        "status": (
            {
                "observedGeneration": 1,
                "replicas": available,
                "updatedReplicas": available,
                "availableReplicas": available,
            }
            if available
            else {"observedGeneration": 1}
        ),
    }


def pod(name: str, restarts: int = 0, ready: bool = True) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main"}]},
        "status": {
            "phase": "Running",
            "containerStatuses": [{"name": "main", "ready": ready, "restartCount": restarts}],
        },
    }


class FakeLive:
    """Live Deployments and their pods, and any other object by (api_version, kind, name); counts every write."""

    def __init__(self, namespace: str = "sock-shop") -> None:
        self.namespace = namespace
        self.deployments: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, list[dict[str, Any]]] = {}
        self.others: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.patches: list[list[dict[str, Any]]] = []
        self._version = 500

    def add(self, name: str, replicas: int, pods: list[dict[str, Any]]) -> None:
        self.deployments[name] = deployment(name, replicas, len(pods))
        self.pods[name] = pods

    def _store(self, api_version: str, kind: str) -> dict[str, dict[str, Any]]:
        if (api_version, kind) == ("apps/v1", "Deployment"):
            return self.deployments
        return {key[2]: body for key, body in self.others.items() if key[:2] == (api_version, kind)}

    def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        found = self._store(api_version, kind).get(name)
        return copy.deepcopy(found) if found else None

    def pods_of(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self.pods.get(deployment["metadata"]["name"], []))

    def list_kind(self, api_version: str, kind: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(body) for body in self._store(api_version, kind).values()]

    # The writes incident_fault makes; `writes` counts them, a scale leaves the pods to the controller (terminate()).
    writes = 0

    def scale(self, api_version: str, kind: str, name: str, replicas: int) -> None:
        self.writes += 1
        self.deployments[name]["spec"]["replicas"] = replicas

    def json_patch(self, api_version: str, kind: str, name: str, ops: list[dict[str, Any]]) -> None:
        """RFC 6902 applied by jsonpatch, as the API server applies it (a bad op raises)."""
        self.writes += 1
        self.patches.append(ops)
        target = self.deployments if kind == "Deployment" else None
        current = self.get(api_version, kind, name)
        assert current is not None, f"{kind}/{name} does not exist"
        patched = jsonpatch.apply_patch(current, ops)
        patched["metadata"]["generation"] = int(patched["metadata"].get("generation") or 1) + 1
        if target is not None:
            target[name] = patched
        else:
            self.others[(api_version, kind, name)] = patched

    def create(self, body: dict[str, Any]) -> None:
        key = (body["apiVersion"], body["kind"], body["metadata"]["name"])
        assert self.get(*key) is None, f"{key} exists"
        self.writes += 1
        self._version += 1
        stored = copy.deepcopy(body)
        stored["metadata"].update(resourceVersion=str(self._version), uid=f"uid-{self._version}")
        self.others[key] = stored

    def replace(self, body: dict[str, Any]) -> None:
        key = (body["apiVersion"], body["kind"], body["metadata"]["name"])
        assert self.others[key]["metadata"]["resourceVersion"] == body["metadata"]["resourceVersion"]
        self.writes += 1
        self.others[key] = copy.deepcopy(body)

    def delete(self, api_version: str, kind: str, name: str) -> None:
        if self.others.pop((api_version, kind, name), None) is not None:
            self.writes += 1

    def terminate(self, name: str) -> None:
        """The controller caught up: the Deployment counts as many pods as it wants."""
        status = self.deployments[name].setdefault("status", {})
        status["replicas"] = self.deployments[name]["spec"]["replicas"]


def offline() -> Any:
    """The `connect` of a module that must not touch a cluster: calling it fails the test."""
    raise AssertionError("this module must not connect to a cluster here")
