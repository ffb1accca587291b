"""In-memory stand-ins for the incident modules' Kubernetes adapters (sockshop_cluster.ConfigMaps, LiveState)."""

from __future__ import annotations

import copy
from typing import Any

from ansible.module_utils.sockshop_incident import Conflict


class FakeConfigMaps:
    """ConfigMaps of one namespace with resourceVersions and 409s, counting every write."""

    def __init__(self, namespace: str = "sock-shop") -> None:
        self.namespace = namespace
        self.objects: dict[str, dict[str, Any]] = {}
        self.writes = 0
        self._version = 100

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
    """Live Deployments and their pods."""

    def __init__(self, namespace: str = "sock-shop") -> None:
        self.namespace = namespace
        self.deployments: dict[str, dict[str, Any]] = {}
        self.pods: dict[str, list[dict[str, Any]]] = {}

    def add(self, name: str, replicas: int, pods: list[dict[str, Any]]) -> None:
        self.deployments[name] = deployment(name, replicas, len(pods))
        self.pods[name] = pods

    def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        assert (api_version, kind) == ("apps/v1", "Deployment")
        found = self.deployments.get(name)
        return copy.deepcopy(found) if found else None

    def pods_of(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        return copy.deepcopy(self.pods.get(deployment["metadata"]["name"], []))

    # The writes incident_fault makes; `writes` counts them, a scale leaves the pods to the controller (terminate()).
    writes = 0

    def scale(self, api_version: str, kind: str, name: str, replicas: int) -> None:
        self.writes += 1
        self.deployments[name]["spec"]["replicas"] = replicas

    def merge_patch(self, api_version: str, kind: str, name: str, patch: dict[str, Any]) -> None:
        self.writes += 1

        def merge(into: dict[str, Any], change: dict[str, Any]) -> None:
            for key, value in change.items():
                if isinstance(value, dict):
                    merge(into.setdefault(key, {}), value)
                else:
                    into[key] = value

        merge(self.deployments[name], patch)

    def terminate(self, name: str) -> None:
        """The controller caught up: the Deployment counts as many pods as it wants."""
        status = self.deployments[name].setdefault("status", {})
        status["replicas"] = self.deployments[name]["spec"]["replicas"]


def offline() -> Any:
    """The `connect` of a module that must not touch a cluster: calling it fails the test."""
    raise AssertionError("this module must not connect to a cluster here")
