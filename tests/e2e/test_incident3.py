"""INCIDENT-3 end to end on a freshly started embedded cluster: `phase=all` as an operator runs it.

Every figure of the report is checked against what the orders service itself holds, read through the API
service proxy: the orders created between the activation and the start of recovery are the orders placed
during the incident. The incident runs twice, so the second reconciliation has to leave out the first run's
failed orders, as a reconciliation of one incident's window must. The cluster runs from a temporary state
directory, started here by pid and stopped in a finalizer; reports go to a temporary directory.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.sockshop_incident import parse_iso
from ansible.module_utils.sockshop_money import loads_exact

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NAMESPACE = "sock-shop"


class Cluster:
    def __init__(self, base: Path) -> None:
        self.base = base
        self.state = base / "cluster"
        self.kubeconfig = self.state / "kubeconfig"
        self.reports = base / "reports"
        self.env = dict(
            os.environ,
            TMPDIR=str(base / "tmp"),  # kubernetes.core caches discovery there: one cache per cluster
            ANSIBLE_HOME=str(base / "ansible-home"),
            ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp"),
            ANSIBLE_FORCE_COLOR="0",
        )
        (base / "tmp").mkdir(parents=True, exist_ok=True)

    def run(self, name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        extra = [
            "-e", f"sockshop_kubeconfig={self.kubeconfig}",
            "-e", f"sockshop_local_cluster_dir={self.state}",
            "-e", f"incident_reports_dir={self.reports}",
        ]  # fmt: skip
        return subprocess.run(
            [str(BIN / "ansible-playbook"), f"playbooks/{name}", *extra, *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip

    def api(self) -> Any:
        from kubernetes import client, config

        return client.ApiClient(config.new_client_from_config(str(self.kubeconfig)).configuration)

    def orders(self) -> list[dict[str, Any]]:
        """Every order the orders service holds, read through the API server's service proxy."""
        from ansible.module_utils.sockshop_service_proxy import call_service

        answer = call_service(self.api(), NAMESPACE, "orders", 80, "/orders?page=0&size=2000")
        assert answer.status == 200, answer.body[:500]
        doc = loads_exact(answer.body)
        assert doc["page"]["totalPages"] <= 1, "more orders than one page holds"
        return list(doc["_embedded"]["customerOrders"])

    def configmaps(self) -> set[str]:
        from kubernetes import client

        core: Any = client.CoreV1Api(self.api())
        return {c.metadata.name for c in core.list_namespaced_config_map(NAMESPACE).items}

    def replicas(self, name: str) -> int:
        from kubernetes import client

        apps: Any = client.AppsV1Api(self.api())
        return int(apps.read_namespaced_deployment(name, NAMESPACE).spec.replicas)


def ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    env = Cluster(tmp_path_factory.mktemp("incident3"))
    log = (env.base / "kubesim.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "kubesim", "--state-dir", str(env.state), "serve"],
        cwd=ROOT, env=env.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip

    def stop() -> None:
        subprocess.run(
            [sys.executable, "-m", "kubesim", "--state-dir", str(env.state), "down"],
            cwd=ROOT, env=env.env, capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        if server.poll() is None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log.close()

    try:
        deadline = time.monotonic() + 30
        while not env.kubeconfig.exists():
            assert server.poll() is None, (env.base / "kubesim.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "kubesim wrote no kubeconfig within 30 s"
            time.sleep(0.1)
        ok(env.run("provision.yml", timeout=600))
        yield env
    finally:
        stop()


def test_check_mode_places_no_order_and_writes_nothing(cluster: Cluster) -> None:
    before = (len(cluster.orders()), cluster.configmaps())
    for phase in ("activate", "recover"):
        ok(cluster.run("incident-3.yml", "-e", f"phase={phase}", "--check"))
    assert (len(cluster.orders()), cluster.configmaps()) == before
    assert cluster.replicas("payment") == 1
    assert not (cluster.reports / ".runs").exists()


def test_all_reports_the_orders_placed_during_the_incident(cluster: Cluster) -> None:
    seen_reports: set[Path] = set()
    for run in (1, 2):  # the second run's window must leave out the first run's failed orders
        before = {o["id"] for o in cluster.orders()}
        result = cluster.run("incident-3.yml", "-e", "phase=all")
        ok(result)
        assert re.search(r"Wrote \S+/incident-3-\d{8}T\d{6}Z:\s+passed", result.stdout), result.stdout[-3000:]

        reports = set(cluster.reports.glob("incident-3-*/report.json")) - seen_reports
        assert len(reports) == 1, reports
        path = reports.pop()
        seen_reports.add(path)
        report = json.loads(path.read_text())
        assert report["verdict"] == "passed", report["failed_signals"]
        assert report["diff_empty"] is True

        # What the orders service holds: orders created while the fault was in place, and the test order.
        timeline = report["timeline"]
        start, end = parse_iso(timeline["activated_at"]), parse_iso(timeline["recovery_started_at"])
        new = [o for o in cluster.orders() if o["id"] not in before]
        during = [o for o in new if start <= parse_iso(o["date"]) <= end]
        failed_everywhere = [o for o in cluster.orders() if o["status"] == "PAYMENT_FAILED"]
        assert len(during) == 5 and len(failed_everywhere) == 5 * run
        assert all(o["status"] == "PAYMENT_FAILED" and o["shipment"] is None for o in during), during

        impact = report["business_impact"]
        assert impact["orders_placed"] == len(during)
        assert impact["failed_orders"] == len(during)
        assert sorted(impact["order_ids"]) == sorted(o["id"] for o in during)
        assert impact["customers"] == len({o["customerId"] for o in during}) == 2
        exact = sum((Decimal(str(o["total"])) for o in during), Decimal(0))
        assert Decimal(impact["amount_at_risk"]) == exact == Decimal("374.22")
        assert impact["float_sum_truncated"] == "374.21"
        assert "float-truncation error" in impact["seed"]["note"] and impact["seed"]["exact_amount"] == "374.22"

        test_order = impact["test_order"]
        live_test = next(o for o in new if o["id"] == test_order["id"])
        assert test_order["status"] == live_test["status"] == "PAID"
        assert live_test["shipment"] and parse_iso(live_test["date"]) > end

        rows = list(csv.DictReader((path.parent / "failed-orders.csv").open()))
        assert sorted(r["id"] for r in rows) == sorted(o["id"] for o in during)
        assert all(r["shipment"] == "" for r in rows)
        exported = json.loads((path.parent / "failed-orders.json").read_text())
        assert exported["amount_at_risk"] == "374.22" and exported["failed_count"] == 5

        markdown = (path.parent / "report.md").read_text()
        assert "## Business impact" in markdown
        assert "$374.21 for its five failed orders is a float-truncation error" in markdown

    assert cluster.replicas("payment") == 1
    assert not {"sockshop-incident-3-ledger", "sockshop-incident-lock"} & cluster.configmaps()
