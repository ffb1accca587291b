# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""Thin adapters over the kubernetes.core dynamic client for the incident engine's modules.

ConfigMaps (the lock and the ledger) and a read-only view of live state, as plain dicts. Everything
that decides something lives in plain functions in the modules and talks to these adapters only, so
unit tests swap them for in-memory fakes (tests/unit/modules/incident_fakes.py).
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.sockshop_incident import Conflict, get_path, selector_string

try:
    from kubernetes.dynamic.exceptions import ConflictError, NotFoundError, ResourceNotFoundError
except ImportError:  # reported by AnsibleK8SModule (requires kubernetes)
    ConflictError = NotFoundError = ResourceNotFoundError = Exception  # type: ignore[misc,assignment]


class ConfigMaps:
    """ConfigMaps of one namespace through kubernetes.core's client; plain dicts in and out."""

    def __init__(self, client: Any, namespace: str) -> None:
        self.namespace = namespace
        self._client = client
        self._resource = client.resource("ConfigMap", "v1")

    def ensure_namespace(self) -> bool:
        """Create this namespace when it is not there (the incident's state namespace on first use); True if made."""
        namespaces = self._client.resource("Namespace", "v1")
        try:
            namespaces.get(name=self.namespace)
            return False
        except NotFoundError:
            pass
        labels = {"app.kubernetes.io/managed-by": "sockshop-incidents", "sockshop.io/role": "incident-state"}
        try:
            metadata = {"name": self.namespace, "labels": labels}
            namespaces.create(body={"apiVersion": "v1", "kind": "Namespace", "metadata": metadata})
        except ConflictError:
            return False
        return True

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return self._resource.get(name=name, namespace=self.namespace).to_dict()
        except NotFoundError:
            return None

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._resource.create(body=body, namespace=self.namespace).to_dict()
        except ConflictError as exc:
            raise Conflict(str(exc)) from exc

    def replace(self, body: dict[str, Any]) -> dict[str, Any]:
        """PUT carrying metadata.resourceVersion, so a concurrent change answers 409."""
        try:
            return self._resource.replace(body=body, namespace=self.namespace).to_dict()
        except ConflictError as exc:
            raise Conflict(str(exc)) from exc

    def delete(self, name: str) -> None:
        try:
            self._resource.delete(name=name, namespace=self.namespace)
        except NotFoundError:
            return


class LiveState:
    """Live objects in one namespace: reads, and the writes a fault and its restore make."""

    def __init__(self, client: Any, namespace: str) -> None:
        self.namespace = namespace
        self._client = client

    def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return self._client.resource(kind, api_version).get(name=name, namespace=self.namespace).to_dict()
        except NotFoundError:
            return None

    def list_kind(self, api_version: str, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind in the namespace."""
        return list(self._client.resource(kind, api_version).get(namespace=self.namespace).to_dict().get("items", []))

    def scale(self, api_version: str, kind: str, name: str, replicas: int) -> None:
        """PATCH the scale subresource, as k8s_scale and `kubectl scale` do."""
        self._client.resource(kind, api_version).scale.patch(
            body={"spec": {"replicas": replicas}},
            name=name,
            namespace=self.namespace,
            content_type="application/merge-patch+json",
        )

    def json_patch(self, api_version: str, kind: str, name: str, ops: list[dict[str, Any]]) -> None:
        """RFC 6902 JSON patch, as `kubectl patch --type=json` sends it."""
        self._client.resource(kind, api_version).patch(
            body=ops, name=name, namespace=self.namespace, content_type="application/json-patch+json"
        )

    def create(self, body: dict[str, Any]) -> None:
        self._client.resource(body["kind"], body["apiVersion"]).create(body=body, namespace=self.namespace)

    def replace(self, body: dict[str, Any]) -> None:
        """PUT carrying metadata.resourceVersion, so a concurrent change answers 409."""
        self._client.resource(body["kind"], body["apiVersion"]).replace(body=body, namespace=self.namespace)

    def delete(self, api_version: str, kind: str, name: str) -> None:
        """Delete in the foreground, as `kubectl delete --cascade=foreground`: a Job's pods go before the Job."""
        try:
            self._client.resource(kind, api_version).delete(
                name=name, namespace=self.namespace, body={"propagationPolicy": "Foreground"}
            )
        except NotFoundError:
            return

    def pods_of(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        return self.pods_labelled(get_path(deployment, "spec.selector.matchLabels") or {})

    def pods_labelled(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        """The pods with these labels that are not being deleted."""
        pods = self._client.resource("Pod", "v1").get(namespace=self.namespace, label_selector=selector_string(labels))
        return [item for item in pods.to_dict().get("items", []) if not get_path(item, "metadata.deletionTimestamp")]

    def events_about(self, kind: str, name: str) -> list[dict[str, Any]]:
        events = self._client.resource("Event", "v1").get(
            namespace=self.namespace, field_selector=f"involvedObject.name={name}"
        )
        return [
            item
            for item in events.to_dict().get("items", [])
            if get_path(item, "involvedObject.kind") == kind and get_path(item, "involvedObject.name") == name
        ]

    def pod_metrics(self) -> list[dict[str, Any]]:
        """PodMetrics of the namespace (metrics.k8s.io, what `kubectl top pods` reads); [] where it is not served."""
        try:
            found = self._client.resource("PodMetrics", "metrics.k8s.io/v1beta1").get(namespace=self.namespace)
        except (NotFoundError, ResourceNotFoundError):
            return []
        return list(found.to_dict().get("items", []))

    def pod_log(self, pod: str, container: str | None = None) -> str:
        params: list[tuple[str, str]] = [("timestamps", "true")]
        if container:
            params.append(("container", container))
        response = self._client.resource("Pod", "v1").log.get(
            name=pod, namespace=self.namespace, serialize=False, query_params=params
        )
        return response.data.decode("utf-8", "replace")
