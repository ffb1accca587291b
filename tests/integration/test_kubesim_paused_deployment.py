"""`kubectl rollout pause` / `resume` with real kubectl: a paused Deployment shows `Progressing Unknown
DeploymentPaused`, keeps its pods through template changes (no new ReplicaSet), still scales, and rolls out
once resumed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def _get(cluster: Cluster, k: Path, ns: str, *what: str) -> Any:
    return json.loads(cluster.kubectl(k, "-n", ns, "get", *what, "-o", "json").stdout)


def _progressing(cluster: Cluster, k: Path, ns: str) -> tuple[str, str, str]:
    conditions = _get(cluster, k, ns, "deployment", "web")["status"]["conditions"]
    (cond,) = [c for c in conditions if c["type"] == "Progressing"]
    return cond["status"], cond["reason"], cond["message"]


def _replicasets(cluster: Cluster, k: Path, ns: str) -> dict[str, int]:
    items = _get(cluster, k, ns, "replicasets")["items"]
    return {rs["spec"]["template"]["spec"]["containers"][0]["image"]: rs["spec"]["replicas"] for rs in items}


def test_pause_holds_the_rollout_until_resume(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "create", "deployment", "web", "--image=nginx:1.26", "--replicas=2")
    cluster.kubectl(k, "-n", ns, "rollout", "status", "deployment/web", "--timeout=30s", timeout=60)

    out = cluster.kubectl(k, "-n", ns, "rollout", "pause", "deployment/web")
    assert out.stdout.strip() == "deployment.apps/web paused"
    cluster.wait_for(
        lambda: _progressing(cluster, k, ns) == ("Unknown", "DeploymentPaused", "Deployment is paused"),
        timeout=10,
        interval=0.2,
    )
    described = cluster.kubectl(k, "-n", ns, "describe", "deployment", "web").stdout
    assert any(line.split() == ["Progressing", "Unknown", "DeploymentPaused"] for line in described.splitlines())

    cluster.kubectl(k, "-n", ns, "set", "image", "deployment/web", "nginx=nginx:1.27")
    cluster.kubectl(k, "-n", ns, "scale", "deployment/web", "--replicas=3")
    cluster.wait_for(lambda: _replicasets(cluster, k, ns) == {"nginx:1.26": 3}, timeout=10, interval=0.2)
    d = _get(cluster, k, ns, "deployment", "web")
    assert d["status"]["observedGeneration"] == d["metadata"]["generation"]
    assert _progressing(cluster, k, ns)[1] == "DeploymentPaused"

    out = cluster.kubectl(k, "-n", ns, "rollout", "resume", "deployment/web")
    assert out.stdout.strip() == "deployment.apps/web resumed"
    status = cluster.kubectl(k, "-n", ns, "rollout", "status", "deployment/web", "--timeout=30s", timeout=60)
    assert 'deployment "web" successfully rolled out' in status.stdout
    cluster.wait_for(lambda: _replicasets(cluster, k, ns) == {"nginx:1.26": 0, "nginx:1.27": 3}, timeout=20)
    state, reason, message = _progressing(cluster, k, ns)
    assert (state, reason) == ("True", "NewReplicaSetAvailable")
    assert message.endswith("has successfully progressed.")
