"""Issue 5's checks: Sock Shop provisioned on the local cluster, and the payment path as an operator sees it.

One cluster for the module: provision once, then walk the INCIDENT-6 break by hand with kubectl and the
API service proxy (no Ansible engine involved), asserting what an operator would read.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, Cluster, running_cluster
from tests.procs import run_bounded

pytestmark = [pytest.mark.integration, pytest.mark.slow]
KUBECTL = ROOT / ".venv" / "bin" / "kubectl"
PROXY = "/api/v1/namespaces/sock-shop/services/payment:80/proxy/paymentAuth"


def provision(cluster: Cluster) -> subprocess.CompletedProcess[str]:
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "playbooks/provision.yml",
        "-e",
        f"sockshop_local_cluster_dir={cluster.state}",
        "-e",
        f"sockshop_kubeconfig={cluster.kubeconfig}",
    ]
    return run_bounded(cmd, 300, cwd=ROOT, env=cluster.env)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("shop")) as cluster:
        out = provision(cluster)
        assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
        yield cluster


def kubectl(cluster: Cluster, *args: str) -> str:
    return cluster.kubectl(KUBECTL, *args).stdout


def pay(cluster: Cluster) -> dict[str, object]:
    status, body = cluster.json("POST", PROXY, {"amount": 50.00})
    assert status == 200, body
    return dict(body)


def test_fifteen_pods_run_with_every_container_ready(shop: Cluster) -> None:
    rows = [line.split() for line in kubectl(shop, "-n", "sock-shop", "get", "pods", "--no-headers").splitlines()]
    assert len(rows) == 15
    assert {r[2] for r in rows} == {"Running"}
    ready = {re.sub(r"-[a-z0-9]+-[a-z0-9]+$", "", r[0]): r[1] for r in rows}
    assert ready["rabbitmq"] == "2/2"  # the exporter sidecar
    assert all(v == "1/1" for k, v in ready.items() if k != "rabbitmq"), ready
    table = kubectl(shop, "-n", "sock-shop", "get", "deployment", "payment", "stripe-mock")
    assert re.search(r"^payment\s+1/1\s+1\s+1\s", table, re.M), table
    assert re.search(r"^stripe-mock\s+1/1\s+1\s+1\s", table, re.M), table


def test_second_provision_changes_nothing(shop: Cluster) -> None:
    out = provision(shop)
    assert out.returncode == 0, out.stdout[-3000:]
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("local-sockshop") and " : ok=" in ln)
    counts = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    assert counts["changed"] == 0 and counts["failed"] == 0, out.stdout[-2000:]


def test_gateway_down_and_back(shop: Cluster) -> None:
    body = pay(shop)
    assert body["authorised"] is True
    assert re.fullmatch(r"Payment authorized \(charge: ch_[A-Za-z0-9]+\)", str(body["message"]))
    cluster_ip = kubectl(shop, "-n", "sock-shop", "get", "svc", "stripe-mock", "-o", "jsonpath={.spec.clusterIP}")

    assert "scaled" in kubectl(shop, "-n", "sock-shop", "scale", "deployment", "stripe-mock", "--replicas=0")
    shop.wait_for(
        lambda: (
            not json.loads(kubectl(shop, "-n", "sock-shop", "get", "endpoints", "stripe-mock", "-o", "json")).get(
                "subsets"
            )
        )
    )
    body = pay(shop)
    assert body == {
        "authorised": False,
        "message": f'Payment gateway error: Post "http://stripe-mock/v1/charges": '
        f"dial tcp {cluster_ip}:80: connect: connection refused",
    }
    pods = json.loads(kubectl(shop, "-n", "sock-shop", "get", "pods", "-l", "name=payment", "-o", "json"))["items"]
    assert len(pods) == 1
    status = pods[0]["status"]["containerStatuses"][0]
    assert status["ready"] is True and status["restartCount"] == 0
    assert re.search(r"^payment\s+1/1", kubectl(shop, "-n", "sock-shop", "get", "deployment", "payment"), re.M)
    logs = kubectl(shop, "-n", "sock-shop", "logs", "deployment/payment")
    assert f'Payment gateway error: Post "http://stripe-mock/v1/charges": dial tcp {cluster_ip}:80' in logs

    assert "scaled" in kubectl(shop, "-n", "sock-shop", "scale", "deployment", "stripe-mock", "--replicas=1")
    assert "successfully rolled out" in kubectl(
        shop, "-n", "sock-shop", "rollout", "status", "deployment/stripe-mock", "--timeout=30s"
    )
    body = pay(shop)
    assert body["authorised"] is True and str(body["message"]).startswith("Payment authorized (charge: ch_")
