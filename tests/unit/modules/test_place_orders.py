"""place_orders: the plan, the order flow against a Sock Shop stand-in, failures, budget, check mode, end to end."""

from __future__ import annotations

import itertools
import json
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.sockshop_money import loads_exact
from ansible.module_utils.sockshop_service_proxy import ProxyResponse, ProxyTimeout

from plugins.modules import order_reconcile, place_orders
from plugins.modules.place_orders import PlaceOrdersError, build_plan, plan_for_output, read_order_answer
from plugins.modules.place_orders import place_orders as place
from tests.unit.modules.sockshop_fake_apiserver import FakeApiServer, run_module, serve, status_body

SERVICES = {"user": "user", "carts": "carts", "orders": "orders"}
SHIPPING = Decimal("4.99")


class SockShopStandIn:
    """The user, carts and orders services as the REFERENCE contract describes them."""

    def __init__(self, payment: str = "down") -> None:
        self.payment = payment  # up | down | declined
        self.customers: dict[str, dict[str, Any]] = {}
        self.addresses: dict[str, dict[str, Any]] = {}
        self.cards: dict[str, dict[str, Any]] = {}
        self.carts: dict[str, list[dict[str, Any]]] = {}
        self.orders: list[dict[str, Any]] = []
        self.calls: list[tuple[str, str, str]] = []
        self.fail: dict[tuple[str, str, str], tuple[int, Any]] = {}
        self.down: set[str] = set()  # services scaled to zero
        self.ids = (f"{n:024x}" for n in itertools.count(0x6613F26EC9E77C0001A1B100))
        self.clock = datetime(2026, 3, 14, 8, 24, 46, tzinfo=UTC)

    def handle(self, svc: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        self.calls.append((svc, method, path))
        route = path.split("?", 1)[0]
        if svc in self.down:
            return 503, status_body(503, "ServiceUnavailable", f'no endpoints available for service "{svc}"')
        if (svc, method, route) in self.fail:
            return self.fail[(svc, method, route)]
        parts = route.strip("/").split("/")
        if svc == "user":
            if (method, route) == ("POST", "/register"):
                if any(c["username"] == body["username"] for c in self.customers.values()):
                    return 409, {"error": "username already exists"}
                cid = next(self.ids)
                self.customers[cid] = dict(body, id=cid)
                return 200, {"id": cid}
            if (method, route) == ("GET", "/customers"):
                return 200, {"_embedded": {"customer": list(self.customers.values())}}
            if method == "POST" and route in ("/addresses", "/cards"):
                store = self.addresses if route == "/addresses" else self.cards
                new_id = next(self.ids)
                store[new_id] = dict(body, id=new_id)
                return 200, {"id": new_id}
        if svc == "carts" and parts[0] == "carts":
            if method == "DELETE" and len(parts) == 2:
                self.carts.pop(parts[1], None)
                return 202, b""
            if method == "POST" and len(parts) == 3 and parts[2] == "items":
                self.carts.setdefault(parts[1], []).append(body)
                return 201, body
        if svc == "orders" and route == "/orders":
            if method == "POST":
                return self.place(body)
            if method == "GET":
                return 200, {"_embedded": {"customerOrders": self.orders}, "page": {"number": 0, "totalPages": 1}}
        return 404, {"error": f"no route {method} {svc}{path}"}

    def place(self, links: dict[str, str]) -> tuple[int, Any]:
        cid = links["customer"].rsplit("/", 1)[-1]
        assert links == {
            "customer": f"http://user/customers/{cid}",
            "address": links["address"],
            "card": links["card"],
            "items": f"http://carts/carts/{cid}/items",
        }
        assert links["address"].rsplit("/", 1)[-1] in self.addresses
        assert links["card"].rsplit("/", 1)[-1] in self.cards
        items = self.carts.get(cid, [])
        total = sum((Decimal(str(i["unitPrice"])) * i["quantity"] for i in items), start=SHIPPING)
        order_id = next(self.ids)
        self.clock += timedelta(seconds=45)
        order = {
            "id": order_id,
            "customerId": cid,
            "items": items,
            "total": float(total),
            "date": self.clock.isoformat().replace("+00:00", "Z"),
            "shipment": None,
            "status": "PAYMENT_FAILED",
        }
        self.orders.append(order)
        if self.payment == "down":
            return 500, {
                "status": 500,
                "error": "Internal Server Error",
                "message": f"Payment service unavailable for order {order_id}",
            }
        if self.payment == "declined":
            return 406, {"message": f"Payment declined for order {order_id}"}
        order.update(status="PAID", shipment={"id": f"s-{order_id}", "name": order_id})
        return 201, order

    def call(self, svc: str, method: str, path: str, body: Any = None, timeout: float = 10.0) -> ProxyResponse:
        code, payload = self.handle(svc, method, path, body)
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return ProxyResponse(code, {}, raw, 0.01)


class Ticker:
    """A monotonic clock that advances `step` seconds every time it is read."""

    def __init__(self, step: float = 0.0) -> None:
        self.t, self.step = 0.0, step

    def __call__(self) -> float:
        self.t += self.step
        return self.t


def fixed_now() -> datetime:
    return datetime(2026, 3, 14, 8, 24, 46, tzinfo=UTC)


def run(shop: SockShopStandIn, count: int = 5, customers: int = 2, **kw: Any) -> dict[str, Any]:
    plan = build_plan(count, customers, "incident-customer", **kw)
    return place(shop.call, SERVICES, plan, password="pw", budget_s=60, timeout=5, clock=Ticker(), now=fixed_now)


# ----------------------------------------------------------------------------- the plan


def test_default_plan_reproduces_incident3_totals() -> None:
    plan = plan_for_output(build_plan(5, 2, "c"))
    assert [p["total"] for p in plan] == ["104.98", "19.99", "104.98", "122.13", "22.14"]
    assert [p["customer"] for p in plan] == ["c-1", "c-2", "c-1", "c-2", "c-1"]
    assert sum(Decimal(p["total"]) for p in plan) == Decimal("374.22")
    assert plan[3]["items"] == [
        {"itemId": "03fef6ac-1896-4ce8-bd69-b798f85c6e0b", "unitPrice": "99.99", "quantity": 1},
        {"itemId": "808a2de1-1aaa-4c25-a9b9-6612e8f29a38", "unitPrice": "17.15", "quantity": 1},
    ]
    assert [p["total"] for p in plan_for_output(build_plan(7, 1, "c"))][5:] == ["104.98", "19.99"]  # it cycles


def test_plan_with_items_and_carts() -> None:
    one = plan_for_output(build_plan(2, 1, "c", items=[{"itemId": "a", "unitPrice": 0.1, "quantity": 3}], shipping=0))
    assert [p["total"] for p in one] == ["0.30", "0.30"]  # exact, not 0.30000000000000004
    carts = [
        {"items": [{"itemId": "a", "unitPrice": "10"}]},
        {"items": [{"itemId": "b", "unitPrice": "2.50", "quantity": 2}]},
    ]
    assert [p["total"] for p in plan_for_output(build_plan(3, 3, "c", carts=carts))] == ["14.99", "9.99", "14.99"]


@pytest.mark.parametrize(
    ("args", "kwargs", "text"),
    [
        ((0, 1, "c"), {}, "count 0 is out of range"),
        ((1001, 1, "c"), {}, "count 1001 is out of range"),
        ((3, 4, "c"), {}, "customers 4 must be between 1 and count (3)"),
        ((3, 0, "c"), {}, "customers 0"),
        ((1, 1, "c"), {"items": [{"itemId": "a", "unitPrice": "ten"}]}, "items item 1 unitPrice"),
        ((1, 1, "c"), {"items": [{"itemId": "a", "unitPrice": "1", "quantity": 0}]}, "quantity 0"),
        ((1, 1, "c"), {"items": [{"itemId": "a", "unitPrice": "-1"}]}, "negative"),
        ((1, 1, "c"), {"items": [{"unitPrice": "1"}]}, "needs an itemId"),
        ((1, 1, "c"), {"carts": [{"items": []}]}, "carts[0] has no items"),
        (
            (1, 1, "c"),
            {"items": [{"itemId": "a", "unitPrice": 1}], "carts": [{"items": [{"itemId": "a", "unitPrice": 1}]}]},
            "not both",
        ),
        ((1, 1, "c"), {"shipping": "free"}, "shipping"),
    ],
)
def test_plan_rejects_bad_input(args: tuple[Any, ...], kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(PlaceOrdersError) as err:
        build_plan(*args, **kwargs)
    assert text in str(err.value)


# ----------------------------------------------------------------------------- the flow


def test_payment_down_every_order_fails_with_its_id() -> None:
    shop = SockShopStandIn(payment="down")
    result = run(shop)
    assert result["changed"] is True
    assert result["placed"] == 5
    assert result["outcomes"] == {"PAID": 0, "PAYMENT_FAILED": 5, "error": 0}
    assert result["amount_failed"] == "374.22"
    assert [o["id"] for o in result["orders"]] == [o["id"] for o in shop.orders]
    assert [o["total"] for o in result["orders"]] == ["104.98", "19.99", "104.98", "122.13", "22.14"]
    assert {o["http_status"] for o in result["orders"]} == {500}
    assert result["orders"][0]["message"] == f"Payment service unavailable for order {shop.orders[0]['id']}"
    assert result["orders"][0]["placed_at"] == "2026-03-14T08:24:46Z"
    assert [c["username"] for c in result["customers"]] == ["incident-customer-1", "incident-customer-2"]
    assert all(c["created"] for c in result["customers"])
    assert len(shop.customers) == 2 and len(shop.addresses) == 2 and len(shop.cards) == 2
    assert [o["customerId"] for o in shop.orders] == [result["customers"][n % 2]["id"] for n in range(5)]
    # every cart was emptied before it was filled: one item per order except the fourth
    assert [len(o["items"]) for o in shop.orders] == [1, 1, 1, 2, 1]


def test_payment_up_orders_are_paid() -> None:
    shop = SockShopStandIn(payment="up")
    result = run(shop, count=2, customers=1)
    assert [(o["outcome"], o["status"], o["http_status"]) for o in result["orders"]] == [("PAID", "PAID", 201)] * 2
    assert result["amount_paid"] == "124.97"
    assert [o["id"] for o in result["orders"]] == [o["id"] for o in shop.orders]


def test_declined_is_payment_failed() -> None:
    result = run(SockShopStandIn(payment="declined"), count=1, customers=1)
    order = result["orders"][0]
    assert (order["outcome"], order["http_status"]) == ("PAYMENT_FAILED", 406)
    assert order["id"] is not None


def test_existing_customer_is_reused() -> None:
    shop = SockShopStandIn()
    first = run(shop, count=1, customers=1)
    second = run(shop, count=1, customers=1)
    assert second["customers"][0]["created"] is False
    assert second["customers"][0]["id"] == first["customers"][0]["id"]
    assert len(shop.customers) == 1


@pytest.mark.parametrize(
    ("code", "body", "outcome", "order_id", "text"),
    [
        (201, {"id": "o1", "total": 104.98, "status": "PAID"}, "PAID", "o1", ""),
        (201, {"id": "o2", "total": 104.98, "status": "PAYMENT_FAILED"}, "PAYMENT_FAILED", "o2", ""),
        (201, {"id": "o3", "total": 104.98}, "PAID", "o3", ""),  # the original orders service has no status
        (500, {"message": "Payment service unavailable for order 5f0c1e"}, "PAYMENT_FAILED", "5f0c1e", "unavailable"),
        (500, "Payment service unavailable for order abc-123", "PAYMENT_FAILED", "abc-123", "unavailable"),
        (406, {"id": "o4", "status": "PAYMENT_FAILED"}, "PAYMENT_FAILED", "o4", ""),
        (500, {"message": "NullPointerException"}, "error", None, "HTTP 500"),
        (
            503,
            status_body(503, "ServiceUnavailable", 'no endpoints available for service "orders"'),
            "error",
            None,
            "scaled down",
        ),
    ],
)
def test_read_order_answer(code: int, body: Any, outcome: str, order_id: str | None, text: str) -> None:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    got_id, total, got_outcome, _status, message = read_order_answer(
        ProxyResponse(code, {}, raw, 0.1), Decimal("104.98")
    )
    assert (got_id, got_outcome) == (order_id, outcome)
    assert total == Decimal("104.98")
    assert text in message


def test_order_total_comes_from_the_answer() -> None:
    raw = b'{"id": "o9", "total": 109.97, "status": "PAID"}'
    assert read_order_answer(ProxyResponse(201, {}, raw, 0.1), Decimal("104.98"))[1] == Decimal("109.97")


def test_budget_stops_further_orders() -> None:
    shop = SockShopStandIn()
    plan = build_plan(5, 2, "c")
    result = place(
        shop.call, SERVICES, plan, password="pw", budget_s=2.5, timeout=5, clock=Ticker(step=1.0), now=fixed_now
    )
    assert result["budget_exhausted"] is True
    assert result["placed"] == 2
    assert len(shop.orders) == 2


def test_register_failure_reports_progress() -> None:
    shop = SockShopStandIn()
    shop.fail[("user", "POST", "/cards")] = (500, {"message": "db down"})
    with pytest.raises(PlaceOrdersError) as err:
        run(shop)
    assert "POST user /cards answered HTTP 500: db down" in str(err.value)
    assert "0 order(s) placed before this" in str(err.value)
    assert err.value.partial["changed"] is True  # a customer was registered
    assert shop.orders == []


def test_carts_scaled_to_zero_is_named() -> None:
    shop = SockShopStandIn()
    shop.down.add("carts")
    with pytest.raises(PlaceOrdersError) as err:
        run(shop, count=1, customers=1)
    assert str(err.value).startswith("DELETE carts /carts/")
    assert 'no endpoints available for service "carts" (is the carts deployment scaled down?)' in str(err.value)
    assert shop.orders == []


def test_order_timeout_is_an_error_outcome() -> None:
    shop = SockShopStandIn()

    def call(svc: str, method: str, path: str, body: Any = None, timeout: float = 10.0) -> ProxyResponse:
        if svc == "orders":
            raise ProxyTimeout("no answer through the service proxy within 5s", 5.0)
        return shop.call(svc, method, path, body, timeout)

    result = place(
        call, SERVICES, build_plan(1, 1, "c"), password="pw", budget_s=60, timeout=5, clock=Ticker(), now=fixed_now
    )
    order = result["orders"][0]
    assert (order["outcome"], order["http_status"], order["id"]) == ("error", None, None)
    assert "may still have been created" in order["message"]
    assert result["outcomes"]["error"] == 1


def base_params(**overrides: Any) -> dict[str, Any]:
    params = {
        "namespace": "sock-shop",
        "port": "80",
        "user_service": "user",
        "carts_service": "carts",
        "orders_service": "orders",
        "count": 5,
        "customers": 2,
        "customer_prefix": "incident-customer",
        "customer_password": "pw",
        "items": None,
        "carts": None,
        "shipping": "4.99",
        "budget_s": 60.0,
        "timeout": 5.0,
    }
    params.update(overrides)
    return params


def test_check_mode_returns_plan_and_connects_to_nothing() -> None:
    def no_client() -> Any:
        raise AssertionError("check mode must not connect")

    result = place_orders.run(base_params(), True, no_client)
    assert result["changed"] is True
    assert result["placed"] == 0
    assert [p["total"] for p in result["plan"]] == ["104.98", "19.99", "104.98", "122.13", "22.14"]
    assert "nothing sent" in result["msg"]


# ----------------------------------------------------------------------------- end to end through Ansible


@pytest.fixture
def shop() -> SockShopStandIn:
    return SockShopStandIn(payment="down")


@pytest.fixture
def apiserver(shop: SockShopStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApiServer]:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for key in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY"):
        monkeypatch.delenv(key, raising=False)

    def app(ns: str, svc: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        if ns != "sock-shop":
            return 404, status_body(404, "NotFound", f'namespaces "{ns}" not found')
        return shop.handle(svc, method, path, body)

    yield from serve(app)


def test_module_places_incident3_traffic_then_reconcile_agrees(
    apiserver: FakeApiServer, shop: SockShopStandIn, tmp_path: Path, capsys
) -> None:
    kubeconfig = str(apiserver.write_kubeconfig(tmp_path))
    placed = run_module(place_orders.main, {"kubeconfig": kubeconfig, "count": 5, "customers": 2}, capsys)
    assert placed.get("failed") is not True, placed
    assert placed["changed"] is True
    assert placed["outcomes"] == {"PAID": 0, "PAYMENT_FAILED": 5, "error": 0}
    assert placed["amount_failed"] == "374.22"
    assert "pw" not in json.dumps(placed)
    proxied = {r.path.split("/proxy/")[0] for r in apiserver.proxied()}
    assert proxied == {f"/api/v1/namespaces/sock-shop/services/{s}:80" for s in ("user", "carts", "orders")}
    cart_posts = [json.loads(r.body) for r in apiserver.proxied() if r.path.endswith("/items")]
    assert cart_posts[0] == {"itemId": "03fef6ac-1896-4ce8-bd69-b798f85c6e0b", "unitPrice": 99.99, "quantity": 1}

    recon = run_module(order_reconcile.main, {"kubeconfig": kubeconfig}, capsys)
    assert (recon["failed_count"], recon["customers"], recon["amount_at_risk"]) == (5, 2, "374.22")
    assert recon["float_sum_truncated"] == "374.21"
    assert sorted(o["id"] for o in recon["orders"]) == sorted(o["id"] for o in placed["orders"])


def test_module_check_mode_sends_nothing(
    apiserver: FakeApiServer, shop: SockShopStandIn, tmp_path: Path, capsys
) -> None:
    args = {
        "kubeconfig": str(apiserver.write_kubeconfig(tmp_path)),
        "count": 3,
        "customers": 1,
        "_ansible_check_mode": True,
    }
    result = run_module(place_orders.main, args, capsys)
    assert result["changed"] is True
    assert len(result["plan"]) == 3
    assert apiserver.requests == []
    assert shop.calls == []


def test_module_rejects_items_and_carts_together(apiserver: FakeApiServer, tmp_path: Path, capsys) -> None:
    item = {"itemId": "a", "unitPrice": 1}
    args = {"kubeconfig": str(apiserver.write_kubeconfig(tmp_path)), "items": [item], "carts": [{"items": [item]}]}
    result = run_module(place_orders.main, args, capsys)
    assert result["failed"] is True
    assert "mutually exclusive" in result["msg"]


def test_order_dates_parse_exactly(shop: SockShopStandIn) -> None:
    run(shop, count=1, customers=1)
    doc = loads_exact(json.dumps(shop.orders))
    assert doc[0]["total"] == Decimal("104.98")
