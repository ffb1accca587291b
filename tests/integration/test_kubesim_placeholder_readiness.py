"""Readiness of placeholder containers with real kubectl: an exec probe makes them Ready only after its
initialDelaySeconds; an httpGet probe fails (nothing listens) as the kubelet reports it."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def _pod(name: str, probe: dict | None) -> dict:
    container: dict = {"name": "web", "image": "nginx:1.27", "ports": [{"name": "http", "containerPort": 80}]}
    if probe:
        container["readinessProbe"] = probe
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [container]}}


def _get(cluster: Cluster, k: Path, ns: str, name: str) -> dict:
    return json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", name, "-o", "json").stdout)


def _stamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def test_exec_probe_waits_for_its_initial_delay(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    probe = {"exec": {"command": ["/bin/true"]}, "initialDelaySeconds": 4, "periodSeconds": 1}
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(_pod("slow", probe)))
    cluster.wait_for(lambda: _get(cluster, k, ns, "slow")["status"].get("phase") == "Running", timeout=10)
    status = _get(cluster, k, ns, "slow")["status"]
    assert status["containerStatuses"][0]["ready"] is False
    ready = {c["type"]: c for c in status["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"]) == ("False", "ContainersNotReady")
    started = time.monotonic()
    cluster.kubectl(k, "-n", ns, "wait", "--for=condition=Ready", "pod/slow", "--timeout=20s")
    assert time.monotonic() - started < 10
    status = _get(cluster, k, ns, "slow")["status"]
    became_ready = {c["type"]: c for c in status["conditions"]}["Ready"]["lastTransitionTime"]
    running_since = status["containerStatuses"][0]["state"]["running"]["startedAt"]
    assert (_stamp(became_ready) - _stamp(running_since)).total_seconds() >= 3


def test_without_a_probe_ready_at_once(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(_pod("plain", None)))
    cluster.kubectl(k, "-n", ns, "wait", "--for=condition=Ready", "pod/plain", "--timeout=5s")


def test_http_probe_of_a_placeholder_fails(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    probe = {"httpGet": {"path": "/healthz", "port": "http"}, "periodSeconds": 1}
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(_pod("web", probe)))

    def unhealthy() -> list[dict]:
        out = cluster.kubectl(k, "-n", ns, "get", "events", "--field-selector", "reason=Unhealthy", "-o", "json")
        return [e for e in json.loads(out.stdout)["items"] if e.get("count", 1) >= 2]

    (event,) = cluster.wait_for(unhealthy, timeout=15, interval=0.5)
    ip = _get(cluster, k, ns, "web")["status"]["podIP"]
    assert event["type"] == "Warning"
    assert event["message"] == (
        f'Readiness probe failed: Get "http://{ip}:80/healthz": dial tcp {ip}:80: connect: connection refused'
    )
    assert event["involvedObject"]["fieldPath"] == "spec.containers{web}"
    status = _get(cluster, k, ns, "web")["status"]
    assert status["phase"] == "Running" and status["containerStatuses"][0]["ready"] is False
