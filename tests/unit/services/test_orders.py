"""The orders stand-in for INCIDENT-3: flow, totals to the cent, 406/500 answers, HAL paging, log lines."""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from bson import ObjectId

from kubesim.servers import mongodb
from services.carts.app import CartsService
from services.common import (
    App,
    ConnectFailed,
    HTTPError,
    LineLog,
    LookupFailed,
    Request,
    Response,
    TimedOut,
    make_server,
    spring_error_body,
)
from services.orders.app import (
    Downstream,
    OrdersService,
    connect,
    from_document,
    http_failure_reason,
    order_total,
    parse_items,
    spring_mongo_uri,
    to_document,
)
from services.payment_gateway import app as pg
from services.stripe_mock.app import StripeMock
from services.user.app import UserService

OBJECT_ID = r"[0-9a-f]{24}"
DATE = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z"


@dataclass
class Shop:
    orders: Any
    user: Any
    carts: Any
    service: OrdersService
    call: Any
    payment_url: str
    shipping: Any = None

    def customer(self, username: str = "alice", items: list[tuple[str, int, str]] | None = None) -> dict[str, str]:
        """Register a customer with an address, a card and cart items; return the order links."""
        user_id = self.call("POST", self.user.url + "/register", {"username": username, "password": "pw"}).json()["id"]
        address = {"number": "1", "street": "s", "city": "c", "postcode": "p", "country": "US", "userID": user_id}
        address_id = self.call("POST", self.user.url + "/addresses", address).json()["id"]
        card = {"longNum": "4111111111111111", "expires": "12/30", "ccv": "123", "userID": user_id}
        card_id = self.call("POST", self.user.url + "/cards", card).json()["id"]
        for item_id, quantity, price in items if items is not None else [("sock", 2, "49.99")]:
            body = f'{{"itemId": "{item_id}", "quantity": {quantity}, "unitPrice": {price}}}'.encode()
            assert self.call("POST", f"{self.carts.url}/carts/{user_id}/items", body).status == 201
        # The links name the cluster services; the orders service maps them onto USER_URL / CARTS_URL.
        return {
            "customer": f"http://user/customers/{user_id}",
            "address": f"http://user/addresses/{address_id}",
            "card": f"http://user/cards/{card_id}",
            "items": f"http://carts/carts/{user_id}/items",
        }

    def order(self, links: Any) -> Any:
        return self.call("POST", self.orders.url + "/orders", links)

    def log(self) -> list[str]:
        return [line.split(" ", 1)[1].strip() for line in self.orders.lines()]


class ShippingStub:
    """The shipping service as orders sees it: `POST /shipping` answers 201 with the shipment it got (as the
    Java service does), or the scripted error status; the shipments it got are kept."""

    def __init__(self, status: int = 201) -> None:
        self.status = status
        self.received: list[Any] = []
        self.app = App("shipping", LineLog(io.StringIO()), spring_error_body)
        self.app.add("POST", "/shipping", self._ship)

    def _ship(self, request: Request) -> Response:
        shipment = request.json_object()
        self.received.append(shipment)
        if self.status >= 400:
            raise HTTPError(self.status, "Queue unavailable")
        return Response(self.status, shipment)


@pytest.fixture
def shop(
    run_server: Callable[..., Any],
    call: Any,
    refused_port: Callable[[], int],
    mongo_server: Any,
    mongo_database: str,
) -> Iterator[Callable[..., Shop]]:
    """`shop(payment=..., shipping=...)`: payment is "stripe" (gateway -> stripe stand-in), "mock",
    "gateway-down", "refused" (nothing listening), or a URL; shipping a ShippingStub, "refused" or a URL. User,
    carts and orders keep their data in this test's own database on the module's nx-27017; `orders_db` puts
    the orders on another server."""
    clients: list[Any] = []

    def client(address: str) -> Any:
        clients.append(connect(f"mongodb://{address}/"))
        return clients[-1]

    def start(
        payment: str = "stripe",
        payment_timeout_s: float = 5.0,
        shipping: ShippingStub | str | None = None,
        orders_db: str | None = None,
    ) -> Shop:
        shared = client(mongo_server.address)
        user = run_server(make_server(UserService(LineLog(io.StringIO()), shared, mongo_database).app, "127.0.0.1", 0))
        carts_app = CartsService(LineLog(io.StringIO()), shared, mongo_database).app
        carts = run_server(make_server(carts_app, "127.0.0.1", 0))
        if payment in ("stripe", "mock", "gateway-down"):
            gateway = ""
            if payment == "stripe":
                gateway = run_server(make_server(StripeMock(LineLog(io.StringIO())).app, "127.0.0.1", 0)).url
            elif payment == "gateway-down":
                gateway = f"http://127.0.0.1:{refused_port()}"
            config = pg.Config(gateway_url=gateway, host="127.0.0.1", port=0)
            payment_url = run_server(pg.PaymentServer(config, pg.LineLog(io.StringIO()))).url
        elif payment == "refused":
            payment_url = f"http://127.0.0.1:{refused_port()}"
        else:
            payment_url = payment
        stub = ShippingStub() if shipping is None else shipping
        if isinstance(stub, ShippingStub):
            shipping_url = run_server(make_server(stub.app, "127.0.0.1", 0)).url
        elif stub == "refused":
            shipping_url = f"http://127.0.0.1:{refused_port()}"
        else:
            shipping_url = stub
        stream = io.StringIO()
        downstream = Downstream(
            user.url, carts.url, payment_url, payment_timeout_s=payment_timeout_s, shipping_url=shipping_url
        )
        orders_client = client(orders_db) if orders_db else shared
        service = OrdersService(LineLog(stream), orders_client, downstream, database=mongo_database)
        orders = run_server(make_server(service.app, "127.0.0.1", 0), stream)
        return Shop(orders, user, carts, service, call, payment_url, stub if isinstance(stub, ShippingStub) else None)

    yield start
    for opened in clients:
        opened.close()


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("items", "total"),
    [
        ([(2, "49.99")], "104.97"),
        ([(1, "99.99")], "104.98"),
        ([(1, "15.00")], "19.99"),
        ([(1, "99.99"), (1, "17.15")], "122.13"),
        ([(1, "17.15")], "22.14"),
        ([(3, "0.10")], "5.29"),  # 3 x 0.1 as floats is 0.30000000000000004
        ([(1, "0.005")], "5.00"),  # half-up
        ([(7, "0")], "4.99"),
    ],
)
def test_order_total_is_exact(items: list[tuple[int, str]], total: str) -> None:
    rows = [{"itemId": "x", "quantity": q, "unitPrice": Decimal(p)} for q, p in items]
    assert order_total(rows) == Decimal(total)
    assert str(order_total(rows)) == total


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "items must be a JSON list"),
        ([], "cart is empty"),
        ([1], "item 0 is not an object"),
        ([{"quantity": 1, "unitPrice": 1}], "item 0 has no itemId"),
        ([{"itemId": "a", "quantity": 0, "unitPrice": 1}], "item 0 has an invalid quantity"),
        ([{"itemId": "a", "quantity": True, "unitPrice": 1}], "item 0 has an invalid quantity"),
        ([{"itemId": "a", "quantity": 1, "unitPrice": "1"}], "item 0 has an invalid unitPrice"),
        ([{"itemId": "a", "quantity": 1, "unitPrice": Decimal("-1")}], "item 0 has a negative unitPrice"),
    ],
)
def test_parse_items_rejects(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        parse_items(data)


@pytest.mark.parametrize(
    ("link", "rewritten"),
    [
        ("http://user/customers/1", "http://127.0.0.1:1/customers/1"),
        ("http://user:80/cards/2", "http://127.0.0.1:1/cards/2"),
        ("http://carts/carts/3/items", "http://127.0.0.1:2/carts/3/items"),
        ("http://user:8080/customers/1", "http://user:8080/customers/1"),
        ("http://10.0.0.1/customers/1", "http://10.0.0.1/customers/1"),
    ],
)
def test_links_are_mapped_to_the_configured_bases(link: str, rewritten: str) -> None:
    assert Downstream("http://127.0.0.1:1", "http://127.0.0.1:2").rewrite(link) == rewritten


def test_downstream_from_env() -> None:
    assert Downstream.from_env({}) == Downstream()
    env = {"USER_URL": "http://u/", "CARTS_URL": "http://c", "PAYMENT_URL": "http://p", "PAYMENT_TIMEOUT_S": "2"}
    assert Downstream.from_env(env) == Downstream("http://u", "http://c", "http://p", payment_timeout_s=2.0)
    shipping = Downstream.from_env({"SHIPPING_URL": "http://127.0.0.1:9/"})
    assert (shipping.shipping_url, Downstream().shipping_url) == ("http://127.0.0.1:9", "http://shipping")


# --------------------------------------------------------------------------- the order flow


def test_paid_order(shop: Callable[..., Shop]) -> None:
    s = shop("stripe")
    links = s.customer()
    response = s.order(links)
    assert response.status == 201, response.body
    assert b'"total": 104.97' in response.body
    order = response.json()
    customer_id = links["customer"].rsplit("/", 1)[1]
    assert re.fullmatch(OBJECT_ID, order["id"])
    assert re.fullmatch(DATE, order["date"])
    assert (order["status"], order["customerId"], order["total"]) == ("PAID", customer_id, 104.97)
    assert order["items"] == [{"itemId": "sock", "quantity": 2, "unitPrice": 49.99}]
    assert order["shipment"]["name"] == customer_id
    assert re.fullmatch(r"[0-9a-f-]{36}", order["shipment"]["id"])
    assert order["customer"]["username"] == "alice"
    assert "_links" not in order["customer"]
    assert order["card"]["longNum"] == "************1111"
    assert order["address"]["city"] == "c"
    assert response.headers["location"].endswith(f"/orders/{order['id']}")
    oid = order["id"]
    log = s.log()
    assert log[:3] == [
        f"INFO  Order {oid} created for customer {customer_id}",
        f"INFO  Order {oid} status updated to PENDING",
        f"INFO  Sending payment request for order {oid} (amount=104.97)",
    ]
    assert re.fullmatch(
        rf"INFO  Payment authorised for order {oid}: Payment authorized \(charge: ch_\w{{24}}\)", log[3]
    )
    assert log[4:] == [f"INFO  Order {oid} status updated to PAID"]
    assert s.call("GET", f"{s.orders.url}/orders/{oid}").json()["status"] == "PAID"


def test_declined_order_is_406(shop: Callable[..., Shop]) -> None:
    s = shop("mock")  # mock payment declines over $100.00
    response = s.order(s.customer())
    assert response.status == 406
    error = response.json()
    oid = error["orderId"]
    assert error["message"] == f"Payment declined for order {oid}: Payment declined: amount exceeds 100.00"
    assert (error["status"], error["error"], error["path"]) == (406, "Not Acceptable", "/orders")
    order = s.call("GET", f"{s.orders.url}/orders/{oid}").json()
    assert (order["status"], order["shipment"], order["total"]) == ("PAYMENT_FAILED", None, 104.97)
    assert s.log()[-2:] == [
        f"ERROR Payment authorization failed for order {oid}: Payment declined: amount exceeds 100.00",
        f"WARN  Order {oid} status updated to PAYMENT_FAILED",
    ]


def test_gateway_down_is_406_naming_the_gateway_error(shop: Callable[..., Shop]) -> None:
    """INCIDENT-6 seen from orders: payment answers authorised:false with the Go-shaped error."""
    s = shop("gateway-down")
    response = s.order(s.customer(items=[("sock", 1, "10.00")]))
    assert response.status == 406
    error = response.json()
    oid = error["orderId"]
    assert re.fullmatch(
        rf"Payment declined for order {oid}: Payment gateway error: Post \"http://127\.0\.0\.1:\d+/v1/charges\": "
        r"dial tcp 127\.0\.0\.1:\d+: connect: connection refused",
        error["message"],
    )
    assert "ERROR Payment authorization failed for order" in s.log()[-2]
    assert "connection refused" in s.log()[-2]


def test_payment_refused_is_500(shop: Callable[..., Shop]) -> None:
    """INCIDENT-3: payment scaled to zero, the connection is refused."""
    s = shop("refused")
    links = s.customer()
    response = s.order(links)
    assert response.status == 500
    error = response.json()
    oid = error["orderId"]
    assert error["message"] == f"Payment service unavailable for order {oid}"
    assert (error["status"], error["error"]) == (500, "Internal Server Error")
    order = s.call("GET", f"{s.orders.url}/orders/{oid}").json()
    assert (order["status"], order["shipment"]) == ("PAYMENT_FAILED", None)
    port = s.payment_url.rsplit(":", 1)[1]
    customer_id = links["customer"].rsplit("/", 1)[1]
    assert s.log() == [
        f"INFO  Order {oid} created for customer {customer_id}",
        f"INFO  Order {oid} status updated to PENDING",
        f"INFO  Sending payment request for order {oid} (amount=104.97)",
        f"ERROR Payment authorization failed for order {oid}: "
        f"java.net.ConnectException: Connection refused (127.0.0.1/127.0.0.1:{port})",
        f"WARN  Order {oid} status updated to PAYMENT_FAILED",
    ]


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((503, {"error": "down"}), "org.springframework.web.client.HttpServerErrorException: 503 Service Unavailable"),
        ((500, ""), "org.springframework.web.client.HttpServerErrorException: 500 Internal Server Error"),
        ((400, {"authorised": False}), "org.springframework.web.client.HttpClientErrorException: 400 Bad Request"),
        ((200, "not json"), "org.springframework.http.converter.HttpMessageNotReadableException: bad payment response"),
        (
            (200, {"message": "?"}),
            "org.springframework.http.converter.HttpMessageNotReadableException: bad payment response",
        ),
    ],
)
def test_payment_errors_are_500(
    shop: Callable[..., Shop], fake_upstream: Callable[..., Any], reply: Any, answer: tuple[int, Any], reason: str
) -> None:
    fake = fake_upstream(reply(*answer))
    s = shop(fake.url)
    response = s.order(s.customer())
    oid = response.json()["orderId"]
    assert (response.status, response.json()["message"]) == (500, f"Payment service unavailable for order {oid}")
    assert s.log()[-2] == f"ERROR Payment authorization failed for order {oid}: {reason}"
    sent = json.loads(fake.requests[0]["body"], parse_float=Decimal)
    assert (fake.requests[0]["path"], sent["amount"]) == ("/paymentAuth", Decimal("104.97"))
    assert set(sent) == {"amount", "address", "card", "customer"}


def test_payment_timeout_is_500(shop: Callable[..., Shop], fake_upstream: Callable[..., Any], reply: Any) -> None:
    fake = fake_upstream(reply(200, {"authorised": True, "message": "late"}, delay_s=5))
    s = shop(fake.url, payment_timeout_s=0.3)
    response = s.order(s.customer())
    oid = response.json()["orderId"]
    assert response.status == 500
    assert (
        s.log()[-2]
        == f"ERROR Payment authorization failed for order {oid}: java.net.SocketTimeoutException: Read timed out"
    )


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (
            LookupFailed("http://payment/paymentAuth", "payment"),
            "java.net.UnknownHostException: payment: Name or service not known",
        ),
        (
            ConnectFailed("http://payment/paymentAuth", "payment", "10.96.4.5", 80, ConnectionRefusedError()),
            "java.net.ConnectException: Connection refused (payment/10.96.4.5:80)",
        ),
        (TimedOut("http://payment/paymentAuth", "connect"), "java.net.SocketTimeoutException: connect timed out"),
    ],
)
def test_java_failure_reasons(error: Any, reason: str) -> None:
    from services.orders.app import java_failure_reason

    assert java_failure_reason(error) == reason


def test_retry_creates_a_new_order(shop: Callable[..., Shop]) -> None:
    """The known duplicate-order defect, kept on purpose for reconciliation to find."""
    s = shop("refused")
    links = s.customer()
    first, second = s.order(links), s.order(links)
    assert first.json()["orderId"] != second.json()["orderId"]
    orders = s.call("GET", s.orders.url + "/orders").json()["_embedded"]["customerOrders"]
    assert [o["status"] for o in orders] == ["PAYMENT_FAILED", "PAYMENT_FAILED"]
    assert len({o["customerId"] for o in orders}) == 1


def test_incident3_totals_sum_exactly(shop: Callable[..., Shop]) -> None:
    """$104.98 + $19.99 + $104.98 + $122.13 + $22.14 = $374.22 (floats give 374.21999999999997)."""
    s = shop("refused")
    carts = [
        [("a", 1, "99.99")],
        [("b", 1, "15.00")],
        [("a", 1, "99.99")],
        [("a", 1, "99.99"), ("c", 1, "17.15")],
        [("c", 1, "17.15")],
    ]
    for index, items in enumerate(carts):
        assert s.order(s.customer(f"u{index}", items)).status == 500
    raw = s.call("GET", s.orders.url + "/orders").body
    orders = json.loads(raw, parse_float=Decimal)["_embedded"]["customerOrders"]
    totals = [o["total"] for o in orders]
    assert totals == [Decimal(t) for t in ("104.98", "19.99", "104.98", "122.13", "22.14")]
    assert sum(totals) == Decimal("374.22")
    assert sum(float(t) for t in totals) != 374.22


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"not json", None),
        (b"[]", "Request body must be a JSON object"),
        ({}, "Invalid order request: missing link 'customer'"),
        ({"customer": "http://user/customers/x"}, "Invalid order request: missing link 'address'"),
        (
            {"customer": "not a url", "address": "a", "card": "c", "items": "i"},
            "Invalid order request: link 'customer' is not a resource URL: not a url",
        ),
        (
            {"customer": "http://user/customers/x", "address": "http://user/", "card": "c", "items": "i"},
            "Invalid order request: link 'address' is not a resource URL: http://user/",
        ),
    ],
)
def test_bad_links_are_400(shop: Callable[..., Shop], body: Any, message: str | None) -> None:
    s = shop("refused")
    response = s.order(body)
    assert response.status == 400
    if message is not None:
        assert response.json()["message"] == message
    assert s.call("GET", s.orders.url + "/orders").json()["page"]["totalElements"] == 0


@pytest.mark.parametrize(
    ("broken", "message"),
    [
        ("customer", "Invalid order request: customer not found at http://user/customers/000000000000000000000000"),
        ("address", "Invalid order request: address not found at http://user/addresses/000000000000000000000000"),
        ("card", "Invalid order request: card not found at http://user/cards/000000000000000000000000"),
    ],
)
def test_links_to_absent_records_are_400(shop: Callable[..., Shop], broken: str, message: str) -> None:
    s = shop("refused")
    links = s.customer()
    links[broken] = links[broken].rsplit("/", 1)[0] + "/000000000000000000000000"
    response = s.order(links)
    assert (response.status, response.json()["message"]) == (400, message)


def test_empty_cart_is_400(shop: Callable[..., Shop]) -> None:
    s = shop("refused")
    response = s.order(s.customer(items=[]))
    assert (response.status, response.json()["message"]) == (400, "Invalid order request: cart is empty")


def test_user_unreachable_is_500(shop: Callable[..., Shop], refused_port: Callable[[], int]) -> None:
    s = shop("refused")
    link = f"http://127.0.0.1:{refused_port()}/customers/1"
    links = {**s.customer(), "customer": link}
    response = s.order(links)
    assert response.status == 500
    assert response.json()["message"].startswith(
        f"Unable to fetch customer from {link}: java.net.ConnectException: Connection refused"
    )


# --------------------------------------------------------------------------- reads and paging


def test_hal_paging(shop: Callable[..., Shop]) -> None:
    s = shop("mock")
    links = s.customer(items=[("sock", 1, "10.00")])
    ids = [s.order(links).json()["id"] for _ in range(5)]

    def page(query: str) -> Any:
        answer = s.call("GET", f"{s.orders.url}/orders{query}")
        assert answer.status == 200
        return answer.json()

    default = page("")
    assert default["page"] == {"size": 20, "totalElements": 5, "totalPages": 1, "number": 0}
    assert [o["id"] for o in default["_embedded"]["customerOrders"]] == ids
    first = default["_embedded"]["customerOrders"][0]
    assert set(first) >= {"id", "customerId", "customer", "address", "card", "items", "shipment", "date", "total"}
    assert (first["status"], first["total"]) == ("PAID", 14.99)

    second = page("?page=1&size=2")
    assert second["page"] == {"size": 2, "totalElements": 5, "totalPages": 3, "number": 1}
    assert [o["id"] for o in second["_embedded"]["customerOrders"]] == ids[2:4]
    assert second["_links"]["next"]["href"].endswith("/orders?page=2&size=2")
    assert second["_links"]["prev"]["href"].endswith("/orders?page=0&size=2")

    last = page("?page=2&size=2")
    assert [o["id"] for o in last["_embedded"]["customerOrders"]] == ids[4:]
    assert "next" not in last["_links"]
    assert page("?page=9&size=2")["_embedded"]["customerOrders"] == []


@pytest.mark.parametrize(
    ("query", "number", "size"),
    [("?page=abc", 0, 20), ("?page=-1", 0, 20), ("?size=0", 0, 20), ("?size=x", 0, 20), ("?size=5000", 0, 2000)],
)
def test_paging_junk_falls_back_to_defaults(shop: Callable[..., Shop], query: str, number: int, size: int) -> None:
    s = shop("refused")
    answer = s.call("GET", f"{s.orders.url}/orders{query}").json()
    assert answer["page"] == {"size": size, "totalElements": 0, "totalPages": 0, "number": number}
    assert answer["_embedded"] == {"customerOrders": []}


def test_get_and_search(shop: Callable[..., Shop]) -> None:
    s = shop("refused")
    alice, bob = s.customer("alice"), s.customer("bob")
    oid_a = s.order(alice).json()["orderId"]
    s.order(bob)
    alice_id = alice["customer"].rsplit("/", 1)[1]
    found = s.call("GET", f"{s.orders.url}/orders/search/customerId?custId={alice_id}").json()
    assert [o["id"] for o in found["_embedded"]["customerOrders"]] == [oid_a]
    assert s.call("GET", f"{s.orders.url}/orders/search/customerId?custId=nobody").json()["_embedded"] == {
        "customerOrders": []
    }
    missing = s.call("GET", f"{s.orders.url}/orders/search/customerId")
    assert (missing.status, missing.json()["message"]) == (400, "Required request parameter 'custId' is not present")
    absent = s.call("GET", f"{s.orders.url}/orders/000000000000000000000000")
    assert (absent.status, absent.json()["message"]) == (404, "Order 000000000000000000000000 not found")
    assert s.call("GET", s.orders.url + "/health").json()["health"][0] == {
        "service": "orders",
        "status": "OK",
        "time": s.call("GET", s.orders.url + "/health").json()["health"][0]["time"],
    }


# --------------------------------------------------------------------------- persistence and the real program


def test_orders_are_kept_in_customer_order(shop: Callable[..., Shop], mongo_server: Any, mongo_database: str) -> None:
    """As the Java service keeps them: collection customerOrder, `_id` the order id, a BSON date, exact money;
    another service instance reads them back to the cent."""
    s = shop("refused")
    oid = s.order(s.customer()).json()["orderId"]
    with mongodb.client("127.0.0.1", mongo_server.port) as client:
        [stored] = list(client[mongo_database].customerOrder.find())
    assert stored["_id"] == ObjectId(oid)
    assert (stored["total"], stored["status"], stored["shipment"]) == ("104.97", "PAYMENT_FAILED", None)
    assert stored["items"] == [{"itemId": "sock", "quantity": 2, "unitPrice": "49.99"}]
    assert isinstance(stored["date"], datetime)
    with mongodb.client("127.0.0.1", mongo_server.port) as client:
        reloaded = OrdersService(LineLog(io.StringIO()), client, s.service.downstream, database=mongo_database)
        [order] = reloaded.all_orders()
    assert (order["id"], order["total"], order["status"]) == (oid, Decimal("104.97"), "PAYMENT_FAILED")
    assert order["items"][0]["unitPrice"] == Decimal("49.99")


@pytest.mark.parametrize(
    "order",
    [
        {
            "id": "6b0f9d1f6b4132e205bda4d7",
            "customerId": "c1",
            "customer": {"id": "c1", "username": "alice"},
            "address": {"city": "c"},
            "card": {"longNum": "************1111"},
            "items": [{"itemId": "a", "quantity": 3, "unitPrice": Decimal("0.10")}],
            "shipment": {"id": "4d3c1d1e-0000-4000-8000-000000000000", "name": "c1"},
            "date": "2026-11-23T08:24:46.123Z",
            "total": Decimal("5.29"),
            "status": "PAID",
        },
        {
            "id": "6b0f9d1f6b4132e205bda4d8",
            "customerId": "c2",
            "customer": {},
            "address": {},
            "card": {},
            "items": [{"itemId": "b", "quantity": 1, "unitPrice": Decimal("100.00")}],
            "shipment": None,
            "date": "2026-11-23T23:59:59.999Z",
            "total": Decimal("104.99"),
            "status": "PAYMENT_FAILED",
        },
    ],
)
def test_order_document_round_trip(order: dict[str, Any]) -> None:
    document = to_document(order)
    assert document["_id"] == ObjectId(order["id"])
    assert document["total"] == format(order["total"], "f")
    assert document["date"] == datetime.strptime(order["date"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    back = from_document({**document, "date": document["date"].replace(tzinfo=None)})  # PyMongo gives naive UTC
    assert back == order
    assert str(back["items"][0]["unitPrice"]) == str(order["items"][0]["unitPrice"])  # "0.10" keeps its zero


@pytest.mark.parametrize(
    ("status", "reason", "text"),
    [
        (503, "", "org.springframework.web.client.HttpServerErrorException: 503 Service Unavailable"),
        (503, None, "org.springframework.web.client.HttpServerErrorException: 503 null"),
        (500, "Oops", "org.springframework.web.client.HttpServerErrorException: 500 Oops"),
        (404, None, "org.springframework.web.client.HttpClientErrorException: 404 null"),
    ],
)
def test_http_failure_reason(status: int, reason: str | None, text: str) -> None:
    assert http_failure_reason(status, reason) == text


@pytest.mark.parametrize(
    ("argv", "env", "uri"),
    [
        ([], {}, "mongodb://orders-db:27017/data"),
        (["--port=8080", "--db=db"], {}, "mongodb://db:27017/data"),
        ([], {"MONGO_HOST": "127.0.0.1:9"}, "mongodb://127.0.0.1:9/data"),
        ([], {"SPRING_DATA_MONGODB_URI": "mongodb://x/y", "MONGO_HOST": "z"}, "mongodb://x/y"),
    ],
)
def test_spring_mongo_uri(argv: list[str], env: dict[str, str], uri: str) -> None:
    assert spring_mongo_uri(argv, env, "orders-db") == uri


# --------------------------------------------------------------------------- shipping


def test_paid_order_ships(shop: Callable[..., Shop]) -> None:
    """A PAID order asks shipping for a shipment (a new uuid, the customer's id as name) and keeps what it got."""
    s = shop("mock")
    links = s.customer(items=[("sock", 1, "10.00")])
    response = s.order(links)
    assert response.status == 201, response.body
    customer_id = links["customer"].rsplit("/", 1)[1]
    assert s.shipping is not None
    [sent] = s.shipping.received
    assert set(sent) == {"id", "name"} and sent["name"] == customer_id
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", sent["id"])
    order = s.call("GET", f"{s.orders.url}/orders/{response.json()['id']}").json()
    assert (order["status"], order["shipment"]) == ("PAID", sent)


@pytest.mark.parametrize(
    ("shipping", "reason"),
    [
        (503, "org.springframework.web.client.HttpServerErrorException: 503 null"),  # INCIDENT-5C
        (500, "org.springframework.web.client.HttpServerErrorException: 500 null"),
        ("refused", r"java.net.ConnectException: Connection refused (127.0.0.1/127.0.0.1:{port})"),
    ],
)
def test_shipping_failure_is_500(shop: Callable[..., Shop], shipping: int | str, reason: str) -> None:
    """shipping 503 -> orders 500 -> front-end: the payment went through, the order stays PAID with no shipment."""
    s = shop("mock", shipping=ShippingStub(shipping) if isinstance(shipping, int) else shipping)
    response = s.order(s.customer(items=[("sock", 1, "10.00")]))
    assert response.status == 500
    error = response.json()
    oid = error["orderId"]
    assert (error["message"], error["error"]) == (
        f"Shipping service unavailable for order {oid}",
        "Internal Server Error",
    )
    port = s.service.downstream.shipping_url.rsplit(":", 1)[1]
    assert s.log()[-3:] == [
        f"INFO  Payment authorised for order {oid}: Payment authorised",
        f"ERROR Shipping request failed for order {oid}: {reason.format(port=port)}",
        f"INFO  Order {oid} status updated to PAID",
    ]
    order = s.call("GET", f"{s.orders.url}/orders/{oid}").json()
    assert (order["status"], order["shipment"]) == ("PAID", None)


# --------------------------------------------------------------------------- the database down and back


def test_orders_db_down_is_500_with_pymongo_error_then_back_with_its_data(
    own_mongo_server: Any, shop: Callable[..., Shop], mongo_database: str
) -> None:
    """orders-db scaled to 0: placing and listing orders fail with 500 naming PyMongo's error (within ~2 s, no
    30 s hang); orders-db back on the same data directory, the orders placed before are there."""
    s = shop("refused", orders_db=own_mongo_server.address)
    oid = s.order(s.customer()).json()["orderId"]
    own_mongo_server.stop()

    started = time.monotonic()
    response = s.order(s.customer("bob"))
    assert 1.5 < time.monotonic() - started < 6
    assert response.status == 500
    assert response.json()["message"].startswith("ServerSelectionTimeoutError: 127.0.0.1:")
    assert "[Errno 111] Connection refused" in response.json()["message"]
    assert re.match(
        r"ERROR database error on POST /orders: ServerSelectionTimeoutError: 127\.0\.0\.1:\d+: \[Errno 111\] "
        r"Connection refused",
        s.log()[-1],
    )

    own_mongo_server.start()
    orders = s.call("GET", s.orders.url + "/orders").json()["_embedded"]["customerOrders"]
    assert [(o["id"], o["total"], o["status"]) for o in orders] == [(oid, 104.97, "PAYMENT_FAILED")]


def test_program_incident3(
    shop: Callable[..., Shop],
    service_process: Callable[..., Any],
    refused_port: Callable[[], int],
    mongo_server: Any,
    mongo_database: str,
) -> None:
    s = shop("refused")
    payment_port = refused_port()
    proc = service_process(
        "services.orders",
        "--port=0",
        env={
            "USER_URL": s.user.url,
            "CARTS_URL": s.carts.url,
            "PAYMENT_URL": f"http://127.0.0.1:{payment_port}",
            "SPRING_DATA_MONGODB_URI": f"mongodb://{mongo_server.address}/{mongo_database}",
        },
        ready="Started orders service on port",
    )
    response = s.call("POST", proc.url + "/orders", s.customer())
    oid = response.json()["orderId"]
    assert (response.status, response.json()["message"]) == (500, f"Payment service unavailable for order {oid}")
    proc.wait_for(
        rf"^{STAMP} ERROR Payment authorization failed for order {oid}: "
        rf"java\.net\.ConnectException: Connection refused \(127\.0\.0\.1/127\.0\.0\.1:{payment_port}\)$"
    )
    proc.wait_for(rf"^{STAMP} WARN  Order {oid} status updated to PAYMENT_FAILED$")
    assert proc.stop() == 0
