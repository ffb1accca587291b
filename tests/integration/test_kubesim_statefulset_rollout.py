"""StatefulSet template changes with real kubectl: ControllerRevisions, `controller-revision-hash` on the pods,
the rolling update from the highest ordinal down (as far as the partition), OnDelete, and ordered versus
parallel pod management, as `kubectl rollout status` and kubernetes.core's waiter see them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def _sts(image: str, *, replicas: int = 3, strategy: dict | None = None, policy: str = "", delay: int = 1) -> dict:
    container: dict[str, Any] = {"name": "web", "image": image}
    if delay:  # ready `delay` seconds after it starts: each step of an ordered rollout takes that long
        container["readinessProbe"] = {"exec": {"command": ["/bin/true"]}, "initialDelaySeconds": delay}
    spec: dict[str, Any] = {
        "replicas": replicas,
        "serviceName": "web",
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
    }
    if strategy:
        spec["updateStrategy"] = strategy
    if policy:
        spec["podManagementPolicy"] = policy
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "web"}, "spec": spec}


def _wait(cluster: Cluster, what: Any, timeout: float) -> Any:
    return cluster.wait_for(what, timeout=timeout, interval=0.3)


def _get(cluster: Cluster, k: Path, ns: str, *what: str) -> Any:
    return json.loads(cluster.kubectl(k, "-n", ns, "get", *what, "-o", "json").stdout)


def _pods(cluster: Cluster, k: Path, ns: str) -> dict[str, dict]:
    items = _get(cluster, k, ns, "pods", "-l", "app=web")["items"]
    return {p["metadata"]["name"]: p for p in items if not p["metadata"].get("deletionTimestamp")}


def _images(cluster: Cluster, k: Path, ns: str) -> dict[str, str]:
    return {name: p["spec"]["containers"][0]["image"] for name, p in _pods(cluster, k, ns).items()}


def _revisions(cluster: Cluster, k: Path, ns: str) -> list[dict]:
    items = _get(cluster, k, ns, "controllerrevisions")["items"]
    return sorted(items, key=lambda cr: cr["revision"])


def test_rolling_update_replaces_pods_from_the_highest_ordinal(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(_sts("nginx:1.26")))
    cluster.kubectl(k, "-n", ns, "rollout", "status", "statefulset/web", "--timeout=60s", timeout=90)
    (first,) = _revisions(cluster, k, ns)
    assert first["metadata"]["name"].startswith("web-")
    assert first["revision"] == 1
    assert first["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    assert first["data"]["spec"]["template"]["$patch"] == "replace"
    assert first["metadata"]["labels"]["controller.kubernetes.io/hash"] == first["metadata"]["name"][len("web-") :]
    before = _pods(cluster, k, ns)
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in before.values()} == {first["metadata"]["name"]}
    sts = _get(cluster, k, ns, "statefulset", "web")
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"] == first["metadata"]["name"]

    cluster.kubectl(k, "-n", ns, "set", "image", "statefulset/web", "web=nginx:1.27")
    out = cluster.kubectl(k, "-n", ns, "rollout", "status", "statefulset/web", "--timeout=60s", timeout=90)
    # the apiserver defaults rollingUpdate.partition to 0, so kubectl reports a partitioned roll out
    assert "partitioned roll out complete: 3 new pods have been updated..." in out.stdout
    _wait(
        cluster,
        lambda: (
            len(_pods(cluster, k, ns)) == 3
            and _get(cluster, k, ns, "statefulset", "web")["status"].get("readyReplicas") == 3
        ),
        timeout=30,
    )
    old, new = _revisions(cluster, k, ns)
    assert (old["revision"], new["revision"]) == (1, 2)
    sts = _get(cluster, k, ns, "statefulset", "web")
    status = sts["status"]
    assert status["observedGeneration"] == sts["metadata"]["generation"] == 2
    assert status["currentRevision"] == status["updateRevision"] == new["metadata"]["name"]
    assert (status["replicas"], status["readyReplicas"], status["updatedReplicas"], status["currentReplicas"]) == (
        3,
        3,
        3,
        3,
    )
    after = _pods(cluster, k, ns)
    assert {name: p["spec"]["containers"][0]["image"] for name, p in after.items()} == {
        "web-0": "nginx:1.27",
        "web-1": "nginx:1.27",
        "web-2": "nginx:1.27",
    }
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in after.values()} == {new["metadata"]["name"]}
    # one at a time from the highest ordinal, each once the one above it was ready again
    created = [after[n]["metadata"]["creationTimestamp"] for n in ("web-2", "web-1", "web-0")]
    assert created == sorted(created) and len(set(created)) == 3
    assert all(after[n]["metadata"]["uid"] != before[n]["metadata"]["uid"] for n in after)
    history = cluster.kubectl(k, "-n", ns, "rollout", "history", "statefulset/web").stdout
    assert history.split() == ["statefulset.apps/web", "REVISION", "CHANGE-CAUSE", "1", "<none>", "2", "<none>"]


def test_partition_updates_only_the_ordinals_at_or_above_it(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    doc = _sts("nginx:1.26", strategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}, delay=0)
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(doc))
    cluster.kubectl(k, "-n", ns, "rollout", "status", "statefulset/web", "--timeout=60s", timeout=90)
    cluster.kubectl(k, "-n", ns, "set", "image", "statefulset/web", "web=nginx:1.27")
    out = cluster.kubectl(k, "-n", ns, "rollout", "status", "statefulset/web", "--timeout=60s", timeout=90)
    assert "partitioned roll out complete: 1 new pods have been updated..." in out.stdout
    _wait(cluster, lambda: _images(cluster, k, ns).get("web-2") == "nginx:1.27", timeout=30)
    assert _images(cluster, k, ns) == {"web-0": "nginx:1.26", "web-1": "nginx:1.26", "web-2": "nginx:1.27"}
    status = _get(cluster, k, ns, "statefulset", "web")["status"]
    assert status["currentRevision"] != status["updateRevision"]
    assert (status["updatedReplicas"], status["currentReplicas"]) == (1, 2)
    # a pod below the partition comes back at the current revision
    cluster.kubectl(k, "-n", ns, "delete", "pod", "web-0", "--wait=false")
    _wait(
        cluster,
        lambda: (
            "web-0" in _pods(cluster, k, ns)
            and _pods(cluster, k, ns)["web-0"].get("status", {}).get("phase") == "Running"
        ),
        timeout=60,
    )
    pod = _pods(cluster, k, ns)["web-0"]
    assert pod["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert pod["metadata"]["labels"]["controller-revision-hash"] == status["currentRevision"]


def test_on_delete_updates_a_pod_only_when_it_is_deleted(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    doc = _sts("nginx:1.26", replicas=2, strategy={"type": "OnDelete"}, delay=0)
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(doc))
    _wait(cluster, lambda: _get(cluster, k, ns, "statefulset", "web")["status"].get("readyReplicas") == 2, timeout=60)
    cluster.kubectl(k, "-n", ns, "set", "image", "statefulset/web", "web=nginx:1.27")
    _wait(cluster, lambda: _get(cluster, k, ns, "statefulset", "web")["status"]["observedGeneration"] == 2, timeout=20)
    status = _get(cluster, k, ns, "statefulset", "web")["status"]
    assert status["currentRevision"] != status["updateRevision"]
    assert "updatedReplicas" not in status and status["currentReplicas"] == 2
    assert _images(cluster, k, ns) == {"web-0": "nginx:1.26", "web-1": "nginx:1.26"}
    out = cluster.kubectl(k, "-n", ns, "rollout", "status", "statefulset/web", check=False)
    assert "rollout status is only available for RollingUpdate strategy type" in out.stderr
    cluster.kubectl(k, "-n", ns, "delete", "pod", "web-1", "--wait=false")
    _wait(cluster, lambda: _images(cluster, k, ns).get("web-1") == "nginx:1.27", timeout=60)
    _wait(cluster, lambda: _get(cluster, k, ns, "statefulset", "web")["status"].get("updatedReplicas") == 1, timeout=30)
    assert _pods(cluster, k, ns)["web-1"]["metadata"]["labels"]["controller-revision-hash"] == status["updateRevision"]
    assert _images(cluster, k, ns)["web-0"] == "nginx:1.26"


def test_ordered_ready_creates_one_pod_at_a_time_parallel_all_at_once(
    cluster: Cluster, ns: str, kubectl_bin: Path
) -> None:
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(_sts("nginx:1.26", delay=3)))
    _wait(cluster, lambda: "web-0" in _pods(cluster, k, ns), timeout=20)
    assert list(_pods(cluster, k, ns)) == ["web-0"]  # web-1 waits until web-0 is Running and Ready
    cluster.kubectl(k, "-n", ns, "delete", "statefulset", "web", "--wait=false")

    doc = _sts("nginx:1.26", policy="Parallel", delay=3)
    doc["metadata"]["name"] = doc["spec"]["serviceName"] = "par"
    for part in (doc["spec"]["selector"]["matchLabels"], doc["spec"]["template"]["metadata"]["labels"]):
        part["app"] = "par"
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(doc))

    def three() -> list[dict] | None:
        items = _get(cluster, k, ns, "pods", "-l", "app=par")["items"]
        return items if len(items) == 3 else None

    items = _wait(cluster, three, timeout=20)
    assert not any(
        c.get("type") == "Ready" and c["status"] == "True" for p in items for c in p["status"].get("conditions") or []
    )
