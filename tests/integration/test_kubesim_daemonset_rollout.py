"""DaemonSet template changes with real kubectl: RollingUpdate replaces the pods and reports it in the status
kubectl and kubernetes.core's waiter read; OnDelete leaves them until they are deleted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def _ds(image: str, strategy: dict | None = None) -> dict:
    spec: dict = {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {"containers": [{"name": "agent", "image": image}]},
        },
    }
    if strategy:
        spec["updateStrategy"] = strategy
    return {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "agent"}, "spec": spec}


def _pods(cluster: Cluster, k: Path, ns: str) -> list[dict]:
    out = cluster.kubectl(k, "-n", ns, "get", "pods", "-l", "app=agent", "-o", "json")
    return json.loads(out.stdout)["items"]


def _get(cluster: Cluster, k: Path, ns: str) -> dict:
    return json.loads(cluster.kubectl(k, "-n", ns, "get", "daemonset", "agent", "-o", "json").stdout)


def test_rolling_update_replaces_the_pods(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(_ds("nginx:1.26")))
    cluster.kubectl(k, "-n", ns, "rollout", "status", "daemonset/agent", "--timeout=30s")
    (first,) = _pods(cluster, k, ns)
    assert first["spec"]["nodeName"] == "sockshop-worker"  # the control plane is tainted
    assert first["metadata"]["labels"]["pod-template-generation"] == "1"

    cluster.kubectl(k, "-n", ns, "set", "image", "daemonset/agent", "agent=nginx:1.27")
    out = cluster.kubectl(k, "-n", ns, "rollout", "status", "daemonset/agent", "--timeout=30s")
    assert 'daemon set "agent" successfully rolled out' in out.stdout
    ds = _get(cluster, k, ns)
    status = ds["status"]
    assert status["observedGeneration"] == ds["metadata"]["generation"] == 2
    assert (status["desiredNumberScheduled"], status["updatedNumberScheduled"], status["numberAvailable"]) == (1, 1, 1)
    assert "numberUnavailable" not in status
    cluster.wait_for(lambda: len(_pods(cluster, k, ns)) == 1, timeout=20)
    (pod,) = _pods(cluster, k, ns)
    assert pod["metadata"]["name"] != first["metadata"]["name"]
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.27"
    assert pod["metadata"]["labels"]["pod-template-generation"] == "2"
    assert (
        pod["metadata"]["labels"]["controller-revision-hash"] != first["metadata"]["labels"]["controller-revision-hash"]
    )
    events = json.loads(
        cluster.kubectl(
            k, "-n", ns, "get", "events", "--field-selector", "involvedObject.kind=DaemonSet", "-o", "json"
        ).stdout
    )["items"]
    reasons = [(e["reason"], e["message"]) for e in sorted(events, key=lambda e: e["metadata"]["creationTimestamp"])]
    assert ("SuccessfulDelete", f"Deleted pod: {first['metadata']['name']}") in reasons
    assert ("SuccessfulCreate", f"Created pod: {pod['metadata']['name']}") in reasons


def test_on_delete_leaves_the_pods(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    doc = _ds("nginx:1.26", {"type": "OnDelete"})
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(doc))
    cluster.wait_for(lambda: _get(cluster, k, ns)["status"].get("numberAvailable") == 1, timeout=20)
    (first,) = _pods(cluster, k, ns)
    cluster.kubectl(k, "-n", ns, "set", "image", "daemonset/agent", "agent=nginx:1.27")
    cluster.wait_for(lambda: _get(cluster, k, ns)["status"]["observedGeneration"] == 2, timeout=20)
    status = _get(cluster, k, ns)["status"]
    assert "updatedNumberScheduled" not in status and status["numberAvailable"] == 1
    (same,) = _pods(cluster, k, ns)
    assert same["metadata"]["uid"] == first["metadata"]["uid"]
    assert same["spec"]["containers"][0]["image"] == "nginx:1.26"

    cluster.kubectl(k, "-n", ns, "delete", "pod", first["metadata"]["name"])
    cluster.wait_for(lambda: _get(cluster, k, ns)["status"].get("updatedNumberScheduled") == 1, timeout=20)
    (pod,) = _pods(cluster, k, ns)
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.27"
