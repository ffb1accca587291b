"""Stand-in for the Sock Shop `orders` service (`sock-shop-orders:v1.0-status-fix`) for INCIDENT-3.

Flow per `POST /orders`: fetch the customer, address, card and cart-items links; total = items + $4.99
shipping (exact decimals); store the order CREATED, then PENDING; ask `payment` to authorise; PAID with a
shipment, or PAYMENT_FAILED with `shipment: null`. A retry creates a new order (the known duplicate-order
defect, kept on purpose: reconciliation detects it).
"""

from __future__ import annotations

import math
import os
import sys
import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

from services.common import (
    App,
    ClientError,
    ConnectFailed,
    HTTPError,
    LineLog,
    LookupFailed,
    Request,
    Response,
    StateFile,
    TimedOut,
    json_request,
    object_id,
    rfc3339_now,
    serve,
    spring_error_body,
    status_phrase,
    utc_now_ms,
)

DEFAULT_PORT = 8080
SHIPPING = Decimal("4.99")
CENT = Decimal("0.01")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 2000
LINKS = ("customer", "address", "card", "items")

CREATED, PENDING, PAID, PAYMENT_FAILED = "CREATED", "PENDING", "PAID", "PAYMENT_FAILED"


@dataclass(frozen=True)
class Downstream:
    user_url: str = "http://user"
    carts_url: str = "http://carts"
    payment_url: str = "http://payment"
    payment_timeout_s: float = 40.0
    fetch_timeout_s: float = 10.0

    @classmethod
    def from_env(cls, env: dict[str, str] | os._Environ[str]) -> Downstream:
        return cls(
            user_url=(env.get("USER_URL") or "http://user").rstrip("/"),
            carts_url=(env.get("CARTS_URL") or "http://carts").rstrip("/"),
            payment_url=(env.get("PAYMENT_URL") or "http://payment").rstrip("/"),
            payment_timeout_s=float(env.get("PAYMENT_TIMEOUT_S") or 40.0),
            fetch_timeout_s=float(env.get("FETCH_TIMEOUT_S") or 10.0),
        )

    def rewrite(self, link: str) -> str:
        """Links name `http://user/...` and `http://carts/...`; point them at the configured bases."""
        parts = urlsplit(link)
        bases = {"user": self.user_url, "carts": self.carts_url}
        if parts.hostname in bases and parts.port in (None, 80) and not parts.username:
            tail = parts.path + (f"?{parts.query}" if parts.query else "")
            return bases[parts.hostname] + tail
        return link


# --------------------------------------------------------------------------- pure helpers


def order_total(items: Sequence[dict[str, Any]]) -> Decimal:
    """Sum of quantity x unitPrice plus $4.99 shipping, exact, rounded half-up to cents."""
    subtotal = sum((Decimal(item["quantity"]) * Decimal(item["unitPrice"]) for item in items), Decimal(0))
    return (subtotal + SHIPPING).quantize(CENT, rounding=ROUND_HALF_UP)


def parse_items(data: Any) -> list[dict[str, Any]]:
    """Cart items -> `[{itemId, quantity, unitPrice}]`; ValueError on anything else."""
    if not isinstance(data, list):
        raise ValueError("items must be a JSON list")
    if not data:
        raise ValueError("cart is empty")
    items: list[dict[str, Any]] = []
    for index, raw in enumerate(data):
        if not isinstance(raw, dict):
            raise ValueError(f"item {index} is not an object")
        item_id, quantity, price = raw.get("itemId"), raw.get("quantity"), raw.get("unitPrice")
        if not isinstance(item_id, str) or not item_id:
            raise ValueError(f"item {index} has no itemId")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise ValueError(f"item {index} has an invalid quantity")
        if isinstance(price, bool) or not isinstance(price, int | Decimal) or not Decimal(price).is_finite():
            raise ValueError(f"item {index} has an invalid unitPrice")
        if Decimal(price) < 0:
            raise ValueError(f"item {index} has a negative unitPrice")
        items.append({"itemId": item_id, "quantity": quantity, "unitPrice": Decimal(price)})
    return items


def java_failure_reason(error: ClientError) -> str:
    """How the Java HTTP client names a failure to reach payment."""
    if isinstance(error, ConnectFailed):
        where = f"{error.host}/{error.ip}:{error.port}"
        if error.refused:
            return f"java.net.ConnectException: Connection refused ({where})"
        return f"java.net.ConnectException: {error} ({where})"
    if isinstance(error, TimedOut):
        return f"java.net.SocketTimeoutException: {error.phase} timed out"
    if isinstance(error, LookupFailed):
        return f"java.net.UnknownHostException: {error}"
    return f"java.io.IOException: {error}"


def http_failure_reason(status: int) -> str:
    kind = "HttpServerErrorException" if status >= 500 else "HttpClientErrorException"
    return f"org.springframework.web.client.{kind}: {status} {status_phrase(status)}"


def page_params(request: Request) -> tuple[int, int]:
    """Spring Data paging: `page` 0-based (negative or junk -> 0), `size` default 20, at most 2000."""

    def as_int(name: str) -> int | None:
        raw = request.arg(name)
        try:
            return int(raw) if raw is not None else None
        except ValueError:
            return None

    page = as_int("page")
    size = as_int("size")
    page = page if page is not None and page >= 0 else 0
    size = size if size is not None and size >= 1 else DEFAULT_PAGE_SIZE
    return page, min(size, MAX_PAGE_SIZE)


def _strip_links(data: Any) -> Any:
    if isinstance(data, dict):
        return {key: value for key, value in data.items() if key != "_links"}
    return data


# --------------------------------------------------------------------------- the service


class OrdersService:
    def __init__(
        self, log: LineLog | None = None, state_path: str | None = None, downstream: Downstream | None = None
    ) -> None:
        self.app = App("orders", log, spring_error_body)
        self.log = self.app.log
        self.downstream = downstream or Downstream()
        self._state = StateFile(state_path)
        self._lock = threading.Lock()
        self._orders: dict[str, dict[str, Any]] = {}
        stored = self._state.load()
        if isinstance(stored, dict) and isinstance(stored.get("orders"), list):
            self._orders = {order["id"]: order for order in stored["orders"] if isinstance(order, dict)}
        app = self.app
        app.add("POST", "/orders", self.create_order)
        app.add("GET", "/orders", self.list_orders)
        app.add("GET", "/orders/search", self.search_links)
        app.add("GET", "/orders/search/customerId", self.search_by_customer)
        app.add("GET", "/orders/{id}", self.get_order)
        app.add("GET", "/health", self.health)

    # ------------------------------------------------------------------ storage

    def _put(self, order: dict[str, Any]) -> None:
        with self._lock:
            self._orders[order["id"]] = dict(order)
            self._state.save({"orders": list(self._orders.values())})

    def _set_status(self, order: dict[str, Any], status: str, failed: bool = False) -> None:
        order["status"] = status
        self._put(order)
        line = f"Order {order['id']} status updated to {status}"
        (self.log.warn if failed else self.log.info)(line)

    def all_orders(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(order) for order in self._orders.values()]

    # ------------------------------------------------------------------ views

    @staticmethod
    def _base(request: Request) -> str:
        return f"http://{request.host}"

    @staticmethod
    def view(order: dict[str, Any], base: str) -> dict[str, Any]:
        link = f"{base}/orders/{order['id']}"
        return {**order, "_links": {"self": {"href": link}, "customerOrder": {"href": link}}}

    # ------------------------------------------------------------------ POST /orders

    def _fetch(self, kind: str, link: str) -> Any:
        url = self.downstream.rewrite(link)
        try:
            response = json_request("GET", url, timeout=self.downstream.fetch_timeout_s)
        except ClientError as exc:
            raise HTTPError(500, f"Unable to fetch {kind} from {link}: {java_failure_reason(exc)}") from exc
        if response.status == 404:
            raise HTTPError(400, f"Invalid order request: {kind} not found at {link}")
        if response.status != 200:
            raise HTTPError(500, f"Unable to fetch {kind} from {link}: {http_failure_reason(response.status)}")
        try:
            return response.json()
        except ValueError as exc:
            raise HTTPError(500, f"Unable to fetch {kind} from {link}: response is not JSON") from exc

    def _links(self, request: Request) -> dict[str, str]:
        body = request.json_object()
        links: dict[str, str] = {}
        for name in LINKS:
            value = body.get(name)
            if not isinstance(value, str) or not value.strip():
                raise HTTPError(400, f"Invalid order request: missing link '{name}'")
            parts = urlsplit(value.strip())
            if parts.scheme not in ("http", "https") or not parts.hostname or parts.path in ("", "/"):
                raise HTTPError(400, f"Invalid order request: link '{name}' is not a resource URL: {value}")
            links[name] = value.strip()
        return links

    def create_order(self, request: Request) -> Response:
        links = self._links(request)
        customer = _strip_links(self._fetch("customer", links["customer"]))
        address = _strip_links(self._fetch("address", links["address"]))
        card = _strip_links(self._fetch("card", links["card"]))
        for kind, value in (("customer", customer), ("address", address), ("card", card)):
            if not isinstance(value, dict):
                raise HTTPError(400, f"Invalid order request: {kind} at {links[kind]} is not an object")
        try:
            items = parse_items(self._fetch("items", links["items"]))
        except ValueError as exc:
            raise HTTPError(400, f"Invalid order request: {exc}") from exc
        customer_id = str(customer.get("id") or urlsplit(links["customer"]).path.rstrip("/").rsplit("/", 1)[-1])

        order: dict[str, Any] = {
            "id": object_id(),
            "customerId": customer_id,
            "customer": customer,
            "address": address,
            "card": card,
            "items": items,
            "shipment": None,
            "date": utc_now_ms(),
            "total": order_total(items),
            "status": CREATED,
        }
        order_id = order["id"]
        self._put(order)
        self.log.info(f"Order {order_id} created for customer {customer_id}")
        self._set_status(order, PENDING)
        return self._pay(order, request)

    def _pay(self, order: dict[str, Any], request: Request) -> Response:
        order_id = order["id"]
        url = f"{self.downstream.payment_url}/paymentAuth"
        payload = {"amount": order["total"], "address": order["address"], "card": order["card"]}
        payload["customer"] = order["customer"]
        self.log.info(f"Sending payment request for order {order_id} (amount={order['total']})")
        reason: str | None = None
        declined: str | None = None
        try:
            response = json_request("POST", url, payload, timeout=self.downstream.payment_timeout_s)
        except ClientError as exc:
            reason = java_failure_reason(exc)
        else:
            if not 200 <= response.status <= 299:
                reason = http_failure_reason(response.status)
            else:
                try:
                    answer = response.json()
                except ValueError:
                    answer = None
                if not isinstance(answer, dict) or not isinstance(answer.get("authorised"), bool):
                    reason = "org.springframework.http.converter.HttpMessageNotReadableException: bad payment response"
                elif not answer["authorised"]:
                    declined = str(answer.get("message") or "Payment declined")
                else:
                    message = str(answer.get("message") or "")
                    self.log.info(f"Payment authorised for order {order_id}: {message}")

        base = self._base(request)
        if reason is not None or declined is not None:
            self.log.error(f"Payment authorization failed for order {order_id}: {reason or declined}")
            order["shipment"] = None
            self._set_status(order, PAYMENT_FAILED, failed=True)
            if declined is not None:
                status, message = 406, f"Payment declined for order {order_id}: {declined}"
            else:
                status, message = 500, f"Payment service unavailable for order {order_id}"
            body = spring_error_body(status, message, request)
            body["orderId"] = order_id
            raise HTTPError(status, message, body)

        order["shipment"] = {"id": str(uuid.uuid4()), "name": order["customerId"]}
        self._set_status(order, PAID)
        return Response(201, self.view(order, base), {"Location": f"{base}/orders/{order_id}"})

    # ------------------------------------------------------------------ reads

    def list_orders(self, request: Request) -> Response:
        page, size = page_params(request)
        orders = self.all_orders()
        base = self._base(request)
        total_pages = math.ceil(len(orders) / size)
        chunk = orders[page * size : (page + 1) * size]
        links: dict[str, Any] = {
            "self": {"href": f"{base}/orders?page={page}&size={size}"},
            "first": {"href": f"{base}/orders?page=0&size={size}"},
            "last": {"href": f"{base}/orders?page={max(total_pages - 1, 0)}&size={size}"},
            "profile": {"href": f"{base}/profile/orders"},
            "search": {"href": f"{base}/orders/search"},
        }
        if page > 0:
            links["prev"] = {"href": f"{base}/orders?page={min(page - 1, max(total_pages - 1, 0))}&size={size}"}
        if page + 1 < total_pages:
            links["next"] = {"href": f"{base}/orders?page={page + 1}&size={size}"}
        return Response(
            200,
            {
                "_embedded": {"customerOrders": [self.view(order, base) for order in chunk]},
                "_links": links,
                "page": {"size": size, "totalElements": len(orders), "totalPages": total_pages, "number": page},
            },
        )

    def get_order(self, request: Request) -> Response:
        with self._lock:
            order = self._orders.get(request.params["id"])
        if order is None:
            raise HTTPError(404, f"Order {request.params['id']} not found")
        return Response(200, self.view(dict(order), self._base(request)))

    def search_links(self, request: Request) -> Response:
        base = self._base(request)
        return Response(
            200,
            {
                "_links": {
                    "customerId": {"href": f"{base}/orders/search/customerId{{?custId}}", "templated": True},
                    "self": {"href": f"{base}/orders/search"},
                }
            },
        )

    def search_by_customer(self, request: Request) -> Response:
        customer_id = request.arg("custId")
        if not customer_id:
            raise HTTPError(400, "Required request parameter 'custId' is not present")
        base = self._base(request)
        found = [self.view(order, base) for order in self.all_orders() if order.get("customerId") == customer_id]
        return Response(
            200,
            {
                "_embedded": {"customerOrders": found},
                "_links": {"self": {"href": f"{base}/orders/search/customerId?custId={customer_id}"}},
            },
        )

    def health(self, _request: Request) -> Response:
        return Response(200, {"health": [{"service": "orders", "status": "OK", "time": rfc3339_now()}]})


def main(argv: Sequence[str] | None = None) -> int:
    try:
        downstream = Downstream.from_env(os.environ)
    except ValueError as exc:
        print(f"orders: invalid configuration: {exc}", flush=True)
        return 2
    service = OrdersService(state_path=os.environ.get("ORDERS_STATE_FILE") or None, downstream=downstream)

    def started(port: int) -> None:
        service.log.info(f"Started orders service on port {port} (payment: {downstream.payment_url})")

    return serve(service.app, list(sys.argv[1:] if argv is None else argv), DEFAULT_PORT, started)
