"""`ansible-playbook` with kubernetes.core against the embedded cluster: changes, idempotence, waits, logs."""

from __future__ import annotations

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def test_k8s_modules_and_idempotence(cluster: Cluster, ns: str) -> None:
    status, _ = cluster.json("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "doomed"}})
    assert status == 201

    run, counts = cluster.playbook("k8s_lifecycle.yml", ns=ns)
    assert counts["failed"] == 0 and counts["unreachable"] == 0, run.stdout[-4000:] + run.stderr[-2000:]
    # deployment, configmap, patched, apply, server-side apply, absent, scale
    assert counts["changed"] == 7, run.stdout[-4000:]
    assert counts["ok"] == 12

    _, dep = cluster.json("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/web")
    assert dep["spec"]["replicas"] == 3 and dep["status"]["availableReplicas"] == 3
    _, cms = cluster.json("GET", f"/api/v1/namespaces/{ns}/configmaps?labelSelector=role%3Dconfig")
    by_name = {c["metadata"]["name"]: c for c in cms["items"]}
    assert set(by_name) == {"plain", "applied", "ssa"}
    assert by_name["plain"]["data"] == {"a": "1", "b": "2"}
    assert "kubectl.kubernetes.io/last-applied-configuration" in by_name["applied"]["metadata"]["annotations"]
    assert [(m["manager"], m["operation"]) for m in by_name["ssa"]["metadata"]["managedFields"]] == [
        ("sockshop-tests", "Apply")
    ]
    assert cluster.json("GET", f"/api/v1/namespaces/{ns}/configmaps/doomed")[0] == 404
    versions = {n: c["metadata"]["resourceVersion"] for n, c in by_name.items()}

    again, counts = cluster.playbook("k8s_lifecycle.yml", ns=ns)
    assert counts["failed"] == 0, again.stdout[-4000:]
    assert counts["changed"] == 0, again.stdout[-4000:]
    _, cms = cluster.json("GET", f"/api/v1/namespaces/{ns}/configmaps?labelSelector=role%3Dconfig")
    assert {c["metadata"]["name"]: c["metadata"]["resourceVersion"] for c in cms["items"]} == versions
