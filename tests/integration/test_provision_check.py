"""playbooks/provision.yml and teardown.yml against a fresh embedded cluster.

- `--check` with the kind inventory's variables (storage class, monitoring on...) pointed at
  the local cluster: the plan is shown, nothing is written, and the Helm roles skip with a
  reason because there is no helm binary.
- A real provision brings up 15 pods (rabbitmq 2/2); a second run changes nothing; teardown
  removes the namespace and stops the cluster.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import VENV_BIN, Cluster, running_cluster
from tests.procs import run_bounded

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def fresh_cluster(tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(tmp_path / "kubesim") as cluster:
        yield cluster


def local_overrides(cluster: Cluster) -> dict[str, Any]:
    """Variables that point any inventory at this test's cluster."""
    return {
        "sockshop_target": "local",
        "sockshop_local_cluster_dir": str(cluster.state),
        "sockshop_kubeconfig": str(cluster.kubeconfig),
        "sockshop_context": "local-sockshop",
        "sockshop_allowed_contexts": ["local-sockshop"],
        # Fail within minutes, not the default ten, when a pod never becomes ready.
        "sockshop_wait_timeout": 180,
        "stripe_mock_wait_timeout": 180,
        "payment_gateway_wait_timeout": 180,
    }


def playbook(
    cluster: Cluster, name: str, inventory: str, extra_vars: dict[str, Any], *args: str
) -> subprocess.CompletedProcess[str]:
    command = [
        str(VENV_BIN / "ansible-playbook"),
        "-i",
        str(ROOT / "inventories" / inventory),
        str(ROOT / "playbooks" / name),
        "-e",
        json.dumps(extra_vars),
        *args,
    ]
    return run_bounded(command, 600, cwd=ROOT, env=cluster.env)


def recap(result: subprocess.CompletedProcess[str]) -> dict[str, int]:
    lines = [line for line in result.stdout.splitlines() if " : ok=" in line]
    assert len(lines) == 1, result.stdout[-3000:]
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", lines[0])}


def items(cluster: Cluster, path: str) -> list[Any]:
    status, body = cluster.json("GET", path)
    if status == 404:
        return []
    assert status == 200, body
    return list(body["items"])


def snapshot(cluster: Cluster) -> dict[str, list[str]]:
    """Names of namespaces and of everything in sock-shop: what a dry run must leave alone."""
    return {
        kind: sorted(obj["metadata"]["name"] for obj in items(cluster, path))
        for kind, path in (
            ("namespaces", "/api/v1/namespaces"),
            ("deployments", "/apis/apps/v1/namespaces/sock-shop/deployments"),
            ("services", "/api/v1/namespaces/sock-shop/services"),
            ("claims", "/api/v1/namespaces/sock-shop/persistentvolumeclaims"),
        )
    }


def test_check_mode_with_the_kind_variables_shows_the_plan_and_writes_nothing(fresh_cluster: Cluster) -> None:
    before = snapshot(fresh_cluster)
    assert "sock-shop" not in before["namespaces"]

    # An unreachable chart repository keeps the run offline even where helm is installed.
    overrides = dict(local_overrides(fresh_cluster), kube_prometheus_stack_chart_repo_url="http://127.0.0.1:9")
    result = playbook(fresh_cluster, "provision.yml", "kind", overrides, "--check", "--diff")

    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    counts = recap(result)
    assert counts["failed"] == 0 and counts["changed"] >= 1
    assert "Namespace sock-shop does not exist yet" in result.stdout
    assert "would create Service and Deployment stripe-mock" in result.stdout
    assert "would create Service and Deployment payment" in result.stdout
    assert "Namespace monitoring does not exist yet; would create it" in " ".join(result.stdout.split())
    # kube-prometheus-stack is on in the kind inventory; without helm it is skipped with a reason.
    assert "Skipping the kps release of kube-prometheus-stack" in result.stdout
    assert snapshot(fresh_cluster) == before


@pytest.mark.slow
def test_provision_is_idempotent_and_teardown_stops_the_cluster(fresh_cluster: Cluster) -> None:
    first = playbook(fresh_cluster, "provision.yml", "local", local_overrides(fresh_cluster))
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]
    assert recap(first)["changed"] >= 1

    pods = items(fresh_cluster, "/api/v1/namespaces/sock-shop/pods")
    assert len(pods) == 15
    ready = {
        p["metadata"]["labels"]["name"]: sum(bool(c.get("ready")) for c in p["status"].get("containerStatuses", []))
        for p in pods
    }
    assert ready["rabbitmq"] == 2
    assert all(n >= 1 for n in ready.values()), ready
    deployments = items(fresh_cluster, "/apis/apps/v1/namespaces/sock-shop/deployments")
    assert sorted(d["status"].get("availableReplicas", 0) for d in deployments) == [1] * 15
    (prometheus,) = items(fresh_cluster, "/apis/apps/v1/namespaces/monitoring/deployments")
    assert (prometheus["metadata"]["name"], prometheus["status"].get("availableReplicas")) == (
        "kps-kube-prometheus-stack-prometheus",
        1,
    )

    second = playbook(fresh_cluster, "provision.yml", "local", local_overrides(fresh_cluster))
    assert second.returncode == 0, second.stdout[-4000:]
    assert recap(second)["changed"] == 0, second.stdout[-4000:]

    down = playbook(fresh_cluster, "teardown.yml", "local", local_overrides(fresh_cluster))
    assert down.returncode == 0, down.stdout[-4000:] + down.stderr[-2000:]
    status = fresh_cluster.cli("status")
    assert status.returncode != 0 and "not running" in status.stdout, status.stdout
