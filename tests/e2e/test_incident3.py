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
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.sockshop_module import parse_iso

from tests.e2e.conftest import Cluster, ok

pytestmark = pytest.mark.slow
INCIDENT = "3"  # the provisioned cluster fixture of tests/e2e/conftest.py


def test_check_mode_places_no_order_and_writes_nothing(cluster: Cluster, baseline: dict[str, Any]) -> None:
    before = (len(cluster.orders()), cluster.configmaps())
    for phase in ("activate", "recover"):
        ok(cluster.run("incident-3.yml", "-e", f"phase={phase}", "--check"))
    assert (len(cluster.orders()), cluster.configmaps()) == before
    assert cluster.differences(baseline) == ""
    assert not (cluster.reports / ".runs").exists()


def test_all_reports_the_orders_placed_during_the_incident(cluster: Cluster, baseline: dict[str, Any]) -> None:
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
        assert cluster.differences(baseline) == ""  # the whole namespace, not only what the ledger held

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

    assert not {"sockshop-incident-3-ledger", "sockshop-incident-lock"} & cluster.configmaps()
