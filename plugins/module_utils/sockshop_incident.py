# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""Shared pieces of the incident engine's modules.

UTC timestamps, the operator's identity, the names of the engine's ConfigMaps, and two thin
adapters over the kubernetes.core dynamic client (ConfigMaps, and read-only live state).
Everything that decides something lives in plain functions in the modules and talks to these
adapters only, so unit tests swap them for in-memory fakes.
"""

from __future__ import annotations

import datetime as dt
import getpass
import json
import re
import socket
from typing import Any

try:
    from kubernetes.dynamic.exceptions import ConflictError, NotFoundError
except ImportError:  # reported by AnsibleK8SModule (requires kubernetes)
    ConflictError = NotFoundError = Exception  # type: ignore[misc,assignment]

LOCK_NAME = "sockshop-incident-lock"
MANAGED_BY = "sockshop-incidents"
LEDGER_KEY = "ledger.json"


class Conflict(Exception):
    """The API server answered 409: the object exists already or changed under us."""


class IncidentError(Exception):
    """A refusal with a message that tells the operator what to do."""


# ---------------------------------------------------------------- time and identity


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """RFC 3339 UTC with milliseconds: 2026-11-23T08:24:46.123Z."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


def parse_iso(text: str) -> dt.datetime:
    """Parse the RFC 3339 forms Kubernetes and this project write; naive means UTC."""
    match = _ISO.match(text.strip())
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    base, frac, zone = match.groups()
    moment = dt.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    if frac:
        moment = moment.replace(microsecond=int((frac[1:] + "000000")[:6]))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        return moment.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes)))
    return moment.replace(tzinfo=dt.UTC)


def who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def ledger_name(incident_id: str) -> str:
    return f"sockshop-incident-{incident_id.lower()}-ledger"


def managed_labels(incident_id: str, role: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/managed-by": MANAGED_BY,
        "sockshop.io/incident": incident_id,
        "sockshop.io/role": role,
    }


# ---------------------------------------------------------------- object helpers


def get_path(obj: Any, dotted: str) -> Any:
    """Value at a dotted path (spec.replicas), None when any step is missing."""
    node = obj
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def selector_string(match_labels: dict[str, str]) -> str:
    return ",".join(f"{key}={value}" for key, value in sorted(match_labels.items()))


def restart_counts(pods: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """{pod name: {container name: restartCount}} for the given pods."""
    counts: dict[str, dict[str, int]] = {}
    for pod in pods:
        statuses = get_path(pod, "status.containerStatuses") or []
        counts[pod["metadata"]["name"]] = {s["name"]: int(s.get("restartCount") or 0) for s in statuses}
    return counts


def ready_ratio(pod: dict[str, Any]) -> str:
    """READY as kubectl prints it: ready containers / containers."""
    containers = get_path(pod, "spec.containers") or []
    statuses = get_path(pod, "status.containerStatuses") or []
    return f"{sum(1 for s in statuses if s.get('ready'))}/{len(containers)}"


# ---------------------------------------------------------------- adapters over the dynamic client


class ConfigMaps:
    """ConfigMaps of one namespace through kubernetes.core's client; plain dicts in and out."""

    def __init__(self, client: Any, namespace: str) -> None:
        self.namespace = namespace
        self._resource = client.resource("ConfigMap", "v1")

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
    """Read-only view of live objects in one namespace."""

    def __init__(self, client: Any, namespace: str) -> None:
        self.namespace = namespace
        self._client = client

    def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        try:
            return self._client.resource(kind, api_version).get(name=name, namespace=self.namespace).to_dict()
        except NotFoundError:
            return None

    def pods_of(self, deployment: dict[str, Any]) -> list[dict[str, Any]]:
        labels = get_path(deployment, "spec.selector.matchLabels") or {}
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

    def pod_log(self, pod: str, container: str | None = None) -> str:
        params: list[tuple[str, str]] = [("timestamps", "true")]
        if container:
            params.append(("container", container))
        response = self._client.resource("Pod", "v1").log.get(
            name=pod, namespace=self.namespace, serialize=False, query_params=params
        )
        return response.data.decode("utf-8", "replace")


def dumps(data: Any) -> str:
    return json.dumps(data, indent=1, sort_keys=True)
