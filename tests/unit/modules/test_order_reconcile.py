"""order_reconcile on the INCIDENT-3 fixture: figures, window, malformed records, exports, paging, module."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import stat
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.sockshop_service_proxy import ProxyResponse

from plugins.modules import order_reconcile
from plugins.modules.order_reconcile import (
    MalformedOrder,
    ReconcileError,
    export,
    extract_orders,
    fetch_orders,
    load_orders_file,
    reconcile,
    run,
    write_if_changed,
)
from tests.unit.modules.sockshop_fake_apiserver import FakeApiServer, run_module, serve, status_body

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "incident3_orders.json"
C1, C2, C3 = "57a98d98e4b00679b4a830af", "57a98d98e4b00679b4a830b2", "57a98d98e4b00679b4a830b5"
WINDOW: dict[str, Any] = {"since": "2026-03-14T08:20:00Z", "until": "2026-03-14T08:35:00Z"}


@pytest.fixture
def orders() -> list[dict[str, Any]]:
    return load_orders_file(str(FIXTURE))


def params(**overrides: Any) -> dict[str, Any]:
    base = {
        "src": None,
        "namespace": "sock-shop",
        "service": "orders",
        "port": "80",
        "page_size": 100,
        "timeout": 5.0,
        "status": ["PAYMENT_FAILED"],
        "since": None,
        "until": None,
        "duplicate_window_s": 300,
        "export_json": None,
        "export_csv": None,
    }
    base.update(overrides)
    return base


def test_fixture_is_what_reference_section_3_describes(orders: list[dict[str, Any]]) -> None:
    assert len(orders) == 8
    assert [o["status"] for o in orders].count("PAID") == 2
    assert [o["status"] for o in orders].count("PAYMENT_FAILED") == 6
    assert isinstance(orders[0]["total"], Decimal)  # parsed from the JSON text, never a float


def test_incident3_window(orders: list[dict[str, Any]]) -> None:
    result = reconcile(orders, ["PAYMENT_FAILED"], **WINDOW)
    assert result["failed_count"] == 5
    assert result["customers"] == 2
    assert result["customer_ids"] == [C1, C2]
    assert result["amount_at_risk"] == "374.22"
    assert result["float_sum_truncated"] == "374.21"
    assert result["float_sum_discrepancy"] == "0.01"
    assert result["first_failure"] == "2026-03-14T08:24:46Z"
    assert result["last_failure"] == "2026-03-14T08:28:32Z"
    assert result["per_customer"] == {
        C1: {
            "count": 3,
            "amount": "232.10",
            "order_ids": ["6613f26ec9e77c0001a1b104", "6613f2c4c9e77c0001a1b106", "6613f350c9e77c0001a1b108"],
        },
        C2: {"count": 2, "amount": "142.12", "order_ids": ["6613f29bc9e77c0001a1b105", "6613f31cc9e77c0001a1b107"]},
    }
    assert [o["total"] for o in result["orders"]] == ["104.98", "19.99", "104.98", "122.13", "22.14"]
    assert result["inconsistent"] == []
    assert result["summary"] == (
        "5 PAYMENT_FAILED orders from 2 customers, $374.22 at risk (float sum truncated to cents: $374.21)"
    )


def test_known_duplicate_defect_is_flagged(orders: list[dict[str, Any]]) -> None:
    dupes = reconcile(orders, ["PAYMENT_FAILED"], **WINDOW)["suspected_duplicates"]
    assert dupes == [
        {
            "customer_id": C1,
            "items": [{"itemId": "03fef6ac-1896-4ce8-bd69-b798f85c6e0b", "quantity": 1}],
            "order_ids": ["6613f26ec9e77c0001a1b104", "6613f2c4c9e77c0001a1b106"],
            "first": "2026-03-14T08:24:46Z",
            "last": "2026-03-14T08:26:12Z",
            "span_s": 86,
            "excess_amount": "104.98",
        }
    ]
    assert reconcile(orders, duplicate_window_s=85, **WINDOW)["suspected_duplicates"] == []
    assert len(reconcile(orders, duplicate_window_s=86, **WINDOW)["suspected_duplicates"]) == 1


@pytest.mark.parametrize(
    ("window", "count", "amount"),
    [
        ({}, 6, "411.36"),  # no window: the 05:14 order is in
        (WINDOW, 5, "374.22"),
        ({"since": "2026-03-14T08:24:46Z", "until": "2026-03-14T08:28:32Z"}, 5, "374.22"),  # both ends inclusive
        ({"since": "2026-03-14T08:24:47Z", "until": "2026-03-14T08:28:32Z"}, 4, "269.24"),
        ({"since": "2026-03-14T08:24:46Z", "until": "2026-03-14T08:28:31Z"}, 4, "352.08"),
        ({"since": "2026-03-14T13:50:00+05:30", "until": "2026-03-14T14:05:00+05:30"}, 5, "374.22"),  # IST
        ({"since": "2026-03-14T08:20:00", "until": "2026-03-14T08:35:00"}, 5, "374.22"),  # naive = UTC
        ({"until": "2026-03-14T06:00:00Z"}, 1, "37.14"),
        ({"since": "2026-03-15T00:00:00Z"}, 0, "0.00"),
    ],
)
def test_window(orders: list[dict[str, Any]], window: dict[str, Any], count: int, amount: str) -> None:
    result = reconcile(orders, ["PAYMENT_FAILED"], **window)
    assert (result["failed_count"], result["amount_at_risk"]) == (count, amount)


def test_empty_selection(orders: list[dict[str, Any]]) -> None:
    result = reconcile(orders, ["SHIPPED"])
    assert result["failed_count"] == 0
    assert result["first_failure"] is None and result["last_failure"] is None
    assert result["customer_ids"] == []
    assert result["summary"].startswith("0 SHIPPED orders from 0 customers, $0.00 at risk")


def test_other_statuses_and_inconsistent(orders: list[dict[str, Any]]) -> None:
    paid = reconcile(orders, ["PAID"])
    assert (paid["failed_count"], paid["amount_at_risk"]) == (2, "124.97")
    broken = copy.deepcopy(orders)
    broken[5]["shipment"] = {"id": "ship-1", "name": "6613f2c4c9e77c0001a1b106"}  # the UI showed it as shipped
    result = reconcile(broken, ["PAYMENT_FAILED"], **WINDOW)
    assert result["inconsistent"] == [
        {
            "id": "6613f2c4c9e77c0001a1b106",
            "customer_id": C1,
            "shipment": {"id": "ship-1", "name": "6613f2c4c9e77c0001a1b106"},
        }
    ]


def test_hal_and_list_agree(orders: list[dict[str, Any]]) -> None:
    hal = json.loads(FIXTURE.read_text())
    assert extract_orders(hal) == json.loads(json.dumps(hal))["_embedded"]["customerOrders"]
    assert extract_orders({"page": {"totalElements": 0}, "_links": {}}) == []
    with pytest.raises(ReconcileError):
        extract_orders({"orders": []})
    with pytest.raises(ReconcileError):
        extract_orders("orders")


def test_customer_id_from_customer_object_or_link(orders: list[dict[str, Any]]) -> None:
    variant = copy.deepcopy(orders)
    del variant[3]["customerId"]  # customer object remains
    del variant[4]["customerId"]
    variant[4]["customer"] = f"http://user/customers/{C2}"
    assert reconcile(variant, **WINDOW)["customer_ids"] == [C1, C2]


def mutate(index: int, change: Any) -> Any:
    def apply(records: list[Any]) -> None:
        if callable(change):
            change(records[index])
        else:
            records[index] = change

    return apply


MALFORMED = [
    ("not an object", mutate(4, "oops"), 4, None, "is str, not an object"),
    ("no id", mutate(2, lambda r: r.pop("id")), 2, None, "has no id"),
    (
        "no customer",
        mutate(3, lambda r: (r.pop("customerId"), r.pop("customer"))),
        3,
        "6613f26ec9e77c0001a1b104",
        "has no customerId",
    ),
    (
        "total text",
        mutate(5, lambda r: r.update(total="a lot")),
        5,
        "6613f2c4c9e77c0001a1b106",
        "total 'a lot' is not a number",
    ),
    ("total missing", mutate(6, lambda r: r.pop("total")), 6, "6613f31cc9e77c0001a1b107", "has no total"),
    ("total negative", mutate(7, lambda r: r.update(total=-1)), 7, "6613f350c9e77c0001a1b108", "negative"),
    ("total bool", mutate(7, lambda r: r.update(total=True)), 7, "6613f350c9e77c0001a1b108", "not a number"),
    ("no date", mutate(1, lambda r: r.pop("date")), 1, "6613ebf2c9e77c0001a1b102", "has no date"),
    (
        "bad date",
        mutate(1, lambda r: r.update(date="yesterday")),
        1,
        "6613ebf2c9e77c0001a1b102",
        "'yesterday' is not an ISO-8601",
    ),
    ("no status", mutate(0, lambda r: r.update(status=None)), 0, "6613e1f2c9e77c0001a1b101", "status None"),
    ("items not list", mutate(3, lambda r: r.update(items={"a": 1})), 3, "6613f26ec9e77c0001a1b104", "items is dict"),
    (
        "item qty text",
        mutate(3, lambda r: r["items"][0].update(quantity="2")),
        3,
        "6613f26ec9e77c0001a1b104",
        "quantity '2'",
    ),
    (
        "item no id",
        mutate(3, lambda r: r["items"][0].pop("itemId")),
        3,
        "6613f26ec9e77c0001a1b104",
        "items[0] has no itemId",
    ),
]


@pytest.mark.parametrize(
    ("change", "index", "order_id", "problem"), [row[1:] for row in MALFORMED], ids=[row[0] for row in MALFORMED]
)
def test_malformed_record_is_named(
    orders: list[dict[str, Any]], change: Any, index: int, order_id: str | None, problem: str
) -> None:
    bad = copy.deepcopy(orders)
    change(bad)
    with pytest.raises(MalformedOrder) as err:
        reconcile(bad, **WINDOW)
    assert (err.value.index, err.value.order_id) == (index, order_id)
    assert f"order record #{index}" in str(err.value)
    assert problem in str(err.value)


@pytest.mark.parametrize(
    ("since", "until", "text"),
    [
        ("soon", None, "since 'soon'"),
        (None, "2026-13-01", "until '2026-13-01'"),
        ("2026-03-14T09:00:00Z", "2026-03-14T08:00:00Z", "after"),
    ],
)
def test_bad_window(orders: list[dict[str, Any]], since: str | None, until: str | None, text: str) -> None:
    with pytest.raises((ReconcileError, ValueError), match=text):
        reconcile(orders, since=since, until=until)


def test_load_orders_file_errors(tmp_path: Path) -> None:
    with pytest.raises(ReconcileError, match="cannot read src"):
        load_orders_file(str(tmp_path / "missing.json"))
    broken = tmp_path / "broken.json"
    broken.write_text('{"_embedded": ')
    with pytest.raises(ReconcileError, match="not valid JSON"):
        load_orders_file(str(broken))


# ----------------------------------------------------------------------------- exports


def test_export_writes_then_is_idempotent(orders: list[dict[str, Any]], tmp_path: Path) -> None:
    result = reconcile(orders, **WINDOW)
    out_json, out_csv = str(tmp_path / "failed.json"), str(tmp_path / "failed.csv")
    first = export(result, "file x", out_json, out_csv)
    assert first == {"json": {"path": out_json, "changed": True}, "csv": {"path": out_csv, "changed": True}}
    before = (os.stat(out_json).st_mtime_ns, os.stat(out_csv).st_mtime_ns)
    second = export(reconcile(orders, **WINDOW), "file x", out_json, out_csv)
    assert not second["json"]["changed"] and not second["csv"]["changed"]
    assert (os.stat(out_json).st_mtime_ns, os.stat(out_csv).st_mtime_ns) == before

    doc = json.loads(Path(out_json).read_text())
    assert doc["amount_at_risk"] == "374.22" and doc["float_sum_truncated"] == "374.21"
    assert doc["source"] == "file x"
    rows = list(csv.DictReader(io.StringIO(Path(out_csv).read_text())))
    assert [r["total"] for r in rows] == ["104.98", "19.99", "104.98", "122.13", "22.14"]
    assert rows[3]["items"] == "03fef6ac-1896-4ce8-bd69-b798f85c6e0bx1;808a2de1-1aaa-4c25-a9b9-6612e8f29a38x1"
    assert all(r["shipment"] == "" for r in rows)
    assert sorted(os.listdir(tmp_path)) == ["failed.csv", "failed.json"]  # no temp files left

    changed = export(reconcile(orders, since="2026-03-14T08:25:00Z"), "file x", out_json, None)
    assert changed == {"json": {"path": out_json, "changed": True}}


def test_export_check_mode_writes_nothing(orders: list[dict[str, Any]], tmp_path: Path) -> None:
    result = reconcile(orders, **WINDOW)
    target = tmp_path / "failed.json"
    assert export(result, "s", str(target), None, check_mode=True) == {"json": {"path": str(target), "changed": True}}
    assert not target.exists()
    export(result, "s", str(target), None)
    assert export(result, "s", str(target), None, check_mode=True)["json"]["changed"] is False


def test_write_if_changed_keeps_old_file_when_rename_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old\n")
    target.chmod(0o600)

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        write_if_changed(str(target), "new\n")
    assert target.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["out.csv"]
    monkeypatch.undo()
    assert write_if_changed(str(target), "new\n") is True
    assert target.read_text() == "new\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o600  # mode of the file it replaced


def test_write_if_changed_missing_directory(tmp_path: Path) -> None:
    with pytest.raises(ReconcileError, match="does not exist"):
        write_if_changed(str(tmp_path / "nope" / "x.json"), "{}")


def no_cluster() -> Any:
    raise AssertionError("reading src must not connect to a cluster")


def test_malformed_record_exports_nothing(orders: list[dict[str, Any]], tmp_path: Path) -> None:
    bad = copy.deepcopy(orders)
    bad[6]["total"] = "NaN"
    src = tmp_path / "orders.json"
    src.write_text(json.dumps(bad, default=str))
    out = tmp_path / "out.json"
    with pytest.raises(MalformedOrder, match="#6"):
        run(params(src=str(src), export_json=str(out), export_csv=str(tmp_path / "out.csv")), False, no_cluster)
    assert sorted(os.listdir(tmp_path)) == ["orders.json"]


# ----------------------------------------------------------------------------- paging through the Service


class OrdersPages:
    """The orders service's GET /orders?page=N&size=M (HAL) over a list of orders."""

    def __init__(self, records: list[Any], stuck: bool = False) -> None:
        self.records, self.stuck = records, stuck
        self.paths: list[str] = []

    def page(self, path: str) -> tuple[int, Any]:
        self.paths.append(path)
        query = dict(part.split("=") for part in path.split("?", 1)[1].split("&"))
        number, size = int(query["page"]), int(query["size"])
        if self.stuck:
            number = 0
        chunk = self.records[number * size : (number + 1) * size]
        pages = -(-len(self.records) // size)
        doc: dict[str, Any] = {
            "page": {"size": size, "totalElements": len(self.records), "totalPages": pages, "number": number}
        }
        if chunk:
            doc["_embedded"] = {"customerOrders": chunk}
        return 200, doc

    def get(self, path: str) -> ProxyResponse:
        code, doc = self.page(path)
        return ProxyResponse(code, {}, json.dumps(doc, default=str).encode(), 0.01)


def test_fetch_orders_follows_pages(orders: list[dict[str, Any]]) -> None:
    service = OrdersPages(orders)
    fetched = fetch_orders(service.get, page_size=3)
    assert service.paths == ["/orders?page=0&size=3", "/orders?page=1&size=3", "/orders?page=2&size=3"]
    assert [o["id"] for o in fetched] == [o["id"] for o in orders]
    assert reconcile(fetched, **WINDOW)["amount_at_risk"] == "374.22"


def test_fetch_orders_stops_on_broken_paging(orders: list[dict[str, Any]]) -> None:
    with pytest.raises(ReconcileError, match="paging is broken"):
        fetch_orders(OrdersPages(orders, stuck=True).get, page_size=3)


@pytest.mark.parametrize(
    ("code", "body", "text"),
    [
        (503, status_body(503, "ServiceUnavailable", 'no endpoints available for service "orders"'), "no ready pod"),
        (500, {"message": "boom"}, "HTTP 500"),
        (200, "<html>", "unusable answer"),
    ],
)
def test_fetch_orders_errors(code: int, body: Any, text: str) -> None:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    with pytest.raises(ReconcileError, match=text):
        fetch_orders(lambda _path: ProxyResponse(code, {}, raw, 0.01))


def test_single_page_without_page_info(orders: list[dict[str, Any]]) -> None:
    calls = []

    def get(path: str) -> ProxyResponse:
        calls.append(path)
        return ProxyResponse(200, {}, json.dumps(orders, default=str).encode(), 0.01)

    assert len(fetch_orders(get)) == 8
    assert len(calls) == 1


# ----------------------------------------------------------------------------- the module through Ansible


@pytest.fixture
def orders_service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[FakeApiServer, OrdersPages]]:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for key in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    pages = OrdersPages(json.loads(FIXTURE.read_text())["_embedded"]["customerOrders"])

    def app(ns: str, svc: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        if (ns, svc, method) == ("sock-shop", "orders", "GET") and path.startswith("/orders?"):
            return pages.page(path)
        return 404, status_body(404, "NotFound", "not found")

    for server in serve(app):
        yield server, pages


def test_module_reads_service_exports_and_is_idempotent(
    orders_service: tuple[FakeApiServer, OrdersPages], tmp_path: Path, capsys
) -> None:
    server, pages = orders_service
    out = tmp_path / "reports"
    out.mkdir()
    args = {
        "kubeconfig": str(server.write_kubeconfig(tmp_path)),
        "page_size": 5,
        **WINDOW,
        "export_json": str(out / "failed.json"),
        "export_csv": str(out / "failed.csv"),
    }
    first = run_module(order_reconcile.main, args, capsys)
    assert first.get("failed") is not True, first
    assert first["changed"] is True
    assert (first["failed_count"], first["customers"], first["amount_at_risk"]) == (5, 2, "374.22")
    assert first["float_sum_truncated"] == "374.21"
    assert first["source"] == "service sock-shop/orders:80"
    assert pages.paths == ["/orders?page=0&size=5", "/orders?page=1&size=5"]
    assert server.proxied()[0].path == "/api/v1/namespaces/sock-shop/services/orders:80/proxy/orders?page=0&size=5"
    second = run_module(order_reconcile.main, args, capsys)
    assert second["changed"] is False
    assert second["exports"]["json"]["changed"] is False


def test_module_check_mode_and_malformed_src(tmp_path: Path, capsys) -> None:
    out = tmp_path / "failed.json"
    checked = run_module(
        order_reconcile.main,
        {"src": str(FIXTURE), **WINDOW, "export_json": str(out), "_ansible_check_mode": True},
        capsys,
    )
    assert checked["changed"] is True  # it would write
    assert checked["amount_at_risk"] == "374.22"
    assert not out.exists()

    bad = json.loads(FIXTURE.read_text())
    bad["_embedded"]["customerOrders"][4]["total"] = "19,99"
    src = tmp_path / "bad.json"
    src.write_text(json.dumps(bad))
    failed = run_module(order_reconcile.main, {"src": str(src), "export_json": str(out)}, capsys)
    assert failed["failed"] is True
    assert failed["msg"].startswith("order record #4 (id '6613f29bc9e77c0001a1b105') is malformed: total '19,99'")
    assert "nothing was exported" in failed["msg"]
    assert (failed["record_index"], failed["record_id"]) == (4, "6613f29bc9e77c0001a1b105")
    assert not out.exists()
