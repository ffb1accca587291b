"""What the engine learnt for INCIDENT-3: traffic, orders signals, reconciliation and the business impact report."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.sockshop_module import parse_iso

from plugins.modules import incident_load
from plugins.modules import incident_report as rep
from plugins.modules import incident_signals as sig

CATALOG = Path(__file__).resolve().parents[3] / "incidents"
LOADED = incident_load.load_incident(str(CATALOG), "3")
INCIDENT = LOADED["incident"]
PLAN = LOADED["plan"]
SIGNALS = {s["name"]: s for s in INCIDENT["signals"] + INCIDENT["recovery"]["confirm"]}
TOTALS = ["104.98", "19.99", "104.98", "122.13", "22.14"]
CUSTOMERS = ["c-1", "c-2", "c-1", "c-2", "c-1"]


def placed(n: int, total: str, customer: str, **extra: Any) -> dict[str, Any]:
    oid = f"order-{n}"
    order = {
        "n": n,
        "id": oid,
        "customer": f"incident-customer-{customer[-1]}",
        "customer_id": customer,
        "total": total,
        "http_status": 500,
        "outcome": "PAYMENT_FAILED",
        "status": "PAYMENT_FAILED",
        "placed_at": "2026-11-23T08:24:46Z",
        "answered_at": f"2026-11-23T08:24:46.{200 + n}Z",
        "items": [{"itemId": "510a0d7e-8e83-4193-b483-e27e09ddc34d", "unitPrice": "15.00", "quantity": n}],
        "message": f"Payment service unavailable for order {oid}",
    }
    order.update(extra)
    return order


TRAFFIC = [placed(n + 1, t, c) for n, (t, c) in enumerate(zip(TOTALS, CUSTOMERS, strict=True))]


def reconciled(orders: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """What order_reconcile returns for these orders (only the keys the journal keeps matter)."""
    result = {
        "since": "2026-11-23T08:24:40Z",
        "until": "2026-11-23T08:30:00Z",
        "status": ["PAYMENT_FAILED"],
        "failed_count": len(orders),
        "customers": len({o["customer_id"] for o in orders}),
        "customer_ids": sorted({o["customer_id"] for o in orders}),
        "amount_at_risk": rep.dollars([o["total"] for o in orders]),
        "float_sum_truncated": "374.21",
        "per_customer": {},
        "first_failure": "2026-11-23T08:24:46Z",
        "last_failure": "2026-11-23T08:28:32Z",
        "inconsistent": [],
        "suspected_duplicates": [],
        "summary": f"{len(orders)} PAYMENT_FAILED orders",
        "orders": [{"id": o["id"], "shipment": None, "items": [{"itemId": "x", "quantity": 1}]} for o in orders],
        "exports": {"json": {"path": "/r/failed-orders.json", "changed": True}, "csv": {"path": "/r/f.csv"}},
        "changed": True,
    }
    result.update(extra)
    return result


def journal(traffic: list[dict[str, Any]], reconcile: dict[str, Any] | None = None) -> dict[str, Any]:
    j = rep.record(None, "3", "run-3", "activate", {"started_at": "2026-11-23T08:24:30.000Z"})
    j = rep.record(j, "3", "run-3", "verify", {"started_at": "2026-11-23T08:24:45.000Z", "traffic": traffic})
    test = {"orders": [placed(9, "19.99", "c-9", http_status=201, outcome="PAID", status="PAID", message="")]}
    data = {
        "started_at": "2026-11-23T08:29:00.000Z",
        "differences": [],
        "confirm": [],
        "confirm_signals": [],
        "business_impact": {"reconcile": reconcile or {}, "test_order": test},
        "report_dir": "/r",
    }
    return rep.record(j, "3", "run-3", "recover", data)


# ---------------------------------------------------------------- the incident data and its plan


def test_plan_knows_traffic_test_order_and_reconciliation() -> None:
    assert PLAN["traffic"][0]["count"] == 5 and PLAN["traffic"][0]["customers"] == 2
    assert [s["name"] for s in PLAN["confirm_orders"]] == ["test order paid and shipped"]
    assert PLAN["reconcile"]["check"]["exports"] == ["json", "csv"]
    assert PLAN["test_order"]["items"][0]["unitPrice"] == "15.00"
    assert "orders answer that payment is unavailable" in [s["name"] for s in PLAN["cluster_signals"]]
    assert all("service:sock-shop-orders" in q["query"] for q in INCIDENT["queries"]["datadog_logs"])


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda d: d.update(traffic=[]), "judges the orders placed, but traffic is empty"),
        (lambda d: d["recovery"].pop("test_order"), "judges the orders placed, but recovery has no test_order"),
        (
            lambda d: d["signals"].append(dict(d["recovery"]["confirm"][2], name="early")),
            "reconcile signals belong in recovery.confirm",
        ),
        (lambda d: d["faults"][0].update(kind="x"), "unknown field 'kind' at faults[0]"),
    ],
)
def test_order_signals_need_something_to_judge(change: Any, problem: str) -> None:
    doc = copy.deepcopy(INCIDENT)
    change(doc)
    schema = json.loads((CATALOG / "schema.json").read_text())
    assert any(problem in p for p in incident_load.validate(doc, schema)), incident_load.validate(doc, schema)


def test_schema_keeps_incident_6_valid_and_without_traffic() -> None:
    six = incident_load.load_incident(str(CATALOG), "6")
    assert six["plan"]["traffic"] == [] and six["plan"]["test_order"] is None and six["plan"]["reconcile"] is None
    assert yaml.safe_load((CATALOG / "incident-6.yml").read_text()) == six["incident"]


# ---------------------------------------------------------------- incident_signals: orders and per-order logs


def test_orders_answers_and_state() -> None:
    answer = SIGNALS["orders answer that payment is unavailable"]["check"]
    ok, text = sig.judge_orders(answer, TRAFFIC)
    assert ok and text.startswith("5 of 5 orders hold") and "Payment service unavailable for order order-1" in text

    declined = placed(6, "1.00", "c-1", http_status=406, message="Payment declined for order order-6: no funds")
    assert sig.judge_orders(answer, [declined])[0]

    wrong = [*TRAFFIC, placed(7, "1.00", "c-1", message="Payment service unavailable for order order-1")]
    ok, text = sig.judge_orders(answer, wrong)
    assert not ok and "1 of 6 orders do not hold" in text and "order-7: message" in text

    state = SIGNALS["orders end PAYMENT_FAILED with no shipment"]["check"]
    live: dict[str, Any] = {o["id"]: {"status": "PAYMENT_FAILED", "shipment": None} for o in TRAFFIC}
    assert sig.judge_orders(state, TRAFFIC, live) == (
        True,
        "5 of 5 orders hold, e.g. order-1: HTTP 500, 'Payment service unavailable for order order-1', "
        "status PAYMENT_FAILED, shipment null",
    )
    live["order-3"] = {"status": "PAYMENT_FAILED", "shipment": {"id": "s-1"}}
    live["order-4"] = "GET /orders/order-4 answered HTTP 404: Order order-4 not found"
    ok, text = sig.judge_orders(state, TRAFFIC, live)
    assert not ok and 'order-3: shipment {"id": "s-1"}, want null' in text and "cannot read the order" in text

    assert sig.judge_orders(state, []) == (False, "no orders were placed")


def test_test_order_needs_a_shipment() -> None:
    check = SIGNALS["test order paid and shipped"]["check"]
    order = placed(1, "19.99", "c-1", http_status=201, status="PAID", outcome="PAID", message="")
    assert sig.judge_orders(check, [order], {"order-1": {"status": "PAID", "shipment": {"id": "s-9"}}})[0]
    ok, text = sig.judge_orders(check, [order], {"order-1": {"status": "PAID", "shipment": None}})
    assert not ok and "no shipment, want one" in text


def test_per_order_log_lines() -> None:
    check = SIGNALS["orders logs the refused payment call"]["check"]
    since = parse_iso("2026-11-23T08:24:40Z")
    line = "2026-11-23T08:24:46.{n}Z ERROR Payment authorization failed for order order-{n}: java.net.ConnectException"
    log = "\n".join(line.format(n=n) + ": Connection refused (payment/10.96.0.9:80)" for n in (1, 2, 3, 4, 5))
    ok, text = sig.judge_pod_log(check, {"orders-1": log}, since, TRAFFIC)
    assert ok and text.startswith("5 of 5 orders have a line")
    ok, text = sig.judge_pod_log(check, {"orders-1": log}, since, [*TRAFFIC, placed(6, "1.00", "c-1")])
    assert not ok and text.endswith("none for order-6")
    old = "2026-11-23T08:00:00Z ERROR Payment authorization failed for order order-1: java.net.ConnectException: x"
    assert not sig.judge_pod_log(check, {"orders-1": old}, since, TRAFFIC[:1])[0]


def test_poll_reports_not_checked_with_its_reason() -> None:
    signal = SIGNALS["orders answer that payment is unavailable"]
    result = sig.poll([signal], lambda s: (None, "no orders placed in check mode"), lambda: 0.0, lambda s: None, 0.1)
    assert result[0]["status"] == "not_checked" and result[0]["evidence"] == "no orders placed in check mode"


class _Live:
    def get(self, *args: Any) -> None:
        return None


class _Store:
    def get(self, name: str) -> None:
        return None


def test_observer_reads_each_order_through_the_service_proxy() -> None:
    seen = []

    class Answer:
        status = 200

        def __init__(self, body: dict[str, Any]) -> None:
            self.body = json.dumps(body).encode()

    def call(service: str, port: Any, path: str) -> Answer:
        seen.append((service, port, path))
        return Answer({"id": path.rsplit("/", 1)[-1], "status": "PAYMENT_FAILED", "shipment": None})

    params = {"since": "2026-11-23T08:24:40Z", "incident_id": "3", "orders": TRAFFIC}
    observer = sig.Observer(_Live(), _Store(), params, lambda *a, **k: {}, call)
    verdict = observer(SIGNALS["orders end PAYMENT_FAILED with no shipment"])
    assert verdict is not None and verdict[0] and seen[0] == ("orders", 80, "/orders/order-1") and len(seen) == 5

    empty = sig.Observer(_Live(), _Store(), dict(params, orders=[], check_mode=True), lambda *a, **k: {}, call)
    assert empty(SIGNALS["orders end PAYMENT_FAILED with no shipment"]) == (None, "no orders placed in check mode")
    real = sig.Observer(_Live(), _Store(), dict(params, orders=[]), lambda *a, **k: {}, call)
    assert real(SIGNALS["orders logs each failed payment"]) == (False, "no orders were placed by this phase")


# ---------------------------------------------------------------- incident_report: journal, reconciliation, report


def test_repeated_verifies_keep_every_order_of_the_run() -> None:
    j = rep.record(None, "3", "run-3", "activate", {})
    j = rep.record(j, "3", "run-3", "verify", {"traffic": TRAFFIC[:2]})
    j = rep.record(j, "3", "run-3", "verify", {"traffic": TRAFFIC[2:]})
    assert [o["id"] for o in j["phases"]["verify"]["traffic"]] == [o["id"] for o in TRAFFIC]
    j = rep.record(j, "3", "run-4", "activate", {})
    j = rep.record(j, "3", "run-4", "verify", {"traffic": TRAFFIC[:1]})
    assert len(j["phases"]["verify"]["traffic"]) == 1


def test_recover_keeps_figures_and_ids_not_whole_orders() -> None:
    j = journal(TRAFFIC, reconciled(TRAFFIC))
    kept = j["phases"]["recover"]["business_impact"]["reconcile"]
    assert kept["order_ids"] == [o["id"] for o in TRAFFIC] and "orders" not in kept
    assert j["phases"]["recover"]["report_dir"] == "/r"
    six = rep.record(None, "6", "r", "recover", {"confirm": [], "confirm_signals": [], "business_impact": {}})
    assert sorted(six["phases"]["recover"]) == ["confirm"]


def test_reconciliation_must_match_the_orders_placed_to_the_cent() -> None:
    signal = SIGNALS["failed orders reconciled and exported"]
    assert rep.judge_reconcile(signal, journal(TRAFFIC)) is None  # recovery did not reconcile

    good = rep.judge_reconcile(signal, journal(TRAFFIC, reconciled(TRAFFIC)))
    assert good is not None and good["status"] == "passed"
    assert "placed during the incident: 5 orders from 2 customers totalling $374.22" in good["evidence"]

    older = [*TRAFFIC, placed(0, "37.14", "c-0")]  # an older failure the window should have left out
    bad = rep.judge_reconcile(signal, journal(TRAFFIC, reconciled(older)))
    assert bad is not None and bad["status"] == "failed"
    assert "reconciled 6 orders, placed 5; not placed by this run: order-0" in bad["evidence"]
    assert "amount 411.36, the orders placed total 374.22" in bad["evidence"]

    shipped = reconciled(TRAFFIC, inconsistent=[{"id": "order-1"}], exports={"json": {"path": "/r/x.json"}})
    bad = rep.judge_reconcile(signal, journal(TRAFFIC, shipped))
    assert bad is not None and "1 reconciled orders have a shipment" in bad["evidence"]
    assert "no csv export" in bad["evidence"]


def test_seed_comparison_names_the_float_truncation_error() -> None:
    seed = rep.seed_comparison(INCIDENT["seed"]["business_impact"])
    assert seed["exact_amount"] == "374.22" and seed["float_sum"] == "374.21999999999997"
    assert seed["float_truncation_error"] is True
    assert seed["note"] == (
        "The source report's $374.21 for its five failed orders is a float-truncation error: adding the totals "
        "as binary floats gives 374.21999999999997, and truncating that to cents loses $0.01; exact is $374.22."
    )
    fine = rep.seed_comparison({"failed_orders": 1, "totals": ["10.00"], "reported_amount": "10.00"})
    assert fine["note"] == "The source report's $10.00 for its one failed order matches the exact sum."


def test_report_shows_the_business_impact() -> None:
    j = journal(TRAFFIC, reconciled(TRAFFIC))
    files = rep.render(INCIDENT, j, "2026-11-23T08:30:00.000Z")
    doc = json.loads(files["report.json"])
    impact = doc["business_impact"]
    assert (impact["orders_placed"], impact["failed_orders"], impact["customers"]) == (5, 5, 2)
    assert impact["amount_at_risk"] == impact["amount_placed_failed"] == "374.22"
    assert impact["test_order"]["status"] == "PAID"
    assert impact["seed"]["reported_amount"] == "374.21"
    recon = next(s for s in doc["signals"] if s["kind"] == "reconcile")
    assert recon["status"] == "passed"
    md = files["report.md"]
    assert "## Business impact" in md
    assert "| customers affected | 2 | 2 |" in md
    assert "| dollars at risk (exact decimal sum) | $374.22 | $374.22 (exact sum of its totals) |" in md
    assert "The source report's $374.21 for its five failed orders is a float-truncation error" in md
    assert "test order after recovery | order-9: PAID (HTTP 201, $19.99)" in md
    assert 'name="signal: failed orders reconciled and exported"' in files["junit.xml"]
    # the per-order timeline: posted, answered after orders called payment, what it held, how it ended
    orders = md[md.index("## Orders placed during the incident") :].splitlines()
    assert orders[7] == (
        "| 2 | 2026-11-23T08:24:46Z | 2026-11-23T08:24:46.202Z | order-2 | incident-customer-2 "
        "| 2 x 510a0d7e at 15.00 | 19.99 | 500 | PAYMENT_FAILED | Payment service unavailable for order order-2 |"
    )
    assert len([line for line in orders if line.startswith("| ") and "order-" in line]) == 5


def test_incident_6_report_has_no_business_impact() -> None:
    six = incident_load.load_incident(str(CATALOG), "6")["incident"]
    j = rep.record(None, "6", "r", "activate", {})
    files = rep.render(six, j, "2026-11-23T08:30:00.000Z")
    assert "business_impact" not in json.loads(files["report.json"])
    assert "## Business impact" not in files["report.md"]


@pytest.mark.parametrize(
    ("count", "verdict", "evidence"),
    [
        ({"op": "eq", "value": 3}, True, "3 of 5 orders hold (want eq 3), e.g. order-1: HTTP 201"),
        ({"op": "eq", "value": 4}, False, "3 of 5 orders hold (want eq 4); the others: order-4: HTTP 500, want 201"),
        ({"op": "ge", "value": 0}, True, "3 of 5 orders hold (want ge 0), e.g. order-1"),
        ({"op": "eq", "value": 0}, False, "3 of 5 orders hold (want eq 0); the others: order-4"),
    ],
)
def test_a_count_judges_how_many_orders_hold(count: dict[str, Any], verdict: bool, evidence: str) -> None:
    """INCIDENT-5C: the first three checkouts are accepted, the other two refused; every order is not the rule."""
    orders = [placed(n, "19.99", "c-1", http_status=201 if n <= 3 else 500) for n in range(1, 6)]
    live = {o["id"]: {"status": "PAID", "shipment": {"id": "s"} if o["http_status"] == 201 else None} for o in orders}
    check = {"http_status": [201], "status": "PAID", "shipment": "present", "count": count}
    ok, text = sig.judge_orders(check, orders, live)
    assert (ok, text.startswith(evidence)) == (verdict, True), text


def test_a_count_of_zero_holds_when_no_order_does() -> None:
    orders = [placed(n, "19.99", "c-1", http_status=500) for n in range(1, 3)]
    assert sig.judge_orders({"http_status": [201], "count": {"op": "eq", "value": 0}}, orders) == (
        True,
        "0 of 2 orders hold (want eq 0)",
    )
