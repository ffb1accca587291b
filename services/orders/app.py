"""Stand-in for the Sock Shop `orders` service (`sock-shop-orders:v1.0-status-fix`) for INCIDENT-3.

Flow per `POST /orders`: fetch the customer, address, card and cart-items links; total = items + $4.99
shipping (exact decimals); store the order CREATED, then PENDING; ask `payment` to authorise; then ask
`shipping` for a shipment (`POST {SHIPPING_URL}/shipping` with `{"id": <new uuid>, "name": <customerId>}`) and
store the shipment it answers: PAID with a shipment. A declined or failed payment: PAYMENT_FAILED with
`shipment: null`. Shipping failing after the payment went through: PAID with `shipment: null` and a 500 (the
order call fails, as INCIDENT-5C shows: shipping 503 -> orders 500 -> front-end). A retry creates a new order
(the known duplicate-order defect, kept on purpose: reconciliation detects it).

Storage as the Java service keeps it: MongoDB database `data` on orders-db, collection `customerOrder` (`_id`
the order id, `customerId`, `customer`, `address`, `card`, `items`, `shipment`, `date` as a BSON date, `total`,
`status`), with PyMongo. Money (`total`, each `unitPrice`) is stored as its exact decimal text, since the
wire-protocol server here has no Decimal128. The database, as Spring Boot resolves
`spring.data.mongodb.uri=mongodb://${db:orders-db}:27017/data`, first found wins: the argument
`--spring.data.mongodb.uri=URI`, `$SPRING_DATA_MONGODB_URI`, `--db=HOST` or `$DB`, `$MONGO_HOST` (`host:port`),
else `mongodb://orders-db:27017/data`. When the database cannot be reached the call fails with 500 after
PyMongo's 2 s server selection timeout (not 30 s) and the log names PyMongo's own error
(`ServerSelectionTimeoutError: ... Connection refused`).

Downstreams: USER_URL, CARTS_URL, PAYMENT_URL, SHIPPING_URL (defaults http://user, http://carts, http://payment,
http://shipping), PAYMENT_TIMEOUT_S (40), FETCH_TIMEOUT_S (10, also the shipping call's).
"""

from __future__ import annotations

import math
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import urlsplit

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import MongoClient

from services.common import (
    App,
    ClientError,
    ConnectFailed,
    HTTPError,
    LineLog,
    LookupFailed,
    Request,
    Response,
    TimedOut,
    iso_ms,
    json_request,
    object_id,
    serve,
    spring_error_body,
    status_phrase,
    utc_now_ms,
)
from services.common.mongo import MongoBacked, connect, database_of, spring_mongo_uri, without_credentials

DEFAULT_PORT = 8080
SHIPPING = Decimal("4.99")
CENT = Decimal("0.01")
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 2000
LINKS = ("customer", "address", "card", "items")

CREATED, PENDING, PAID, PAYMENT_FAILED = "CREATED", "PENDING", "PAID", "PAYMENT_FAILED"
DEFAULT_DB_HOST = "orders-db"
COLLECTION = "customerOrder"


@dataclass(frozen=True)
class Downstream:
    user_url: str = "http://user"
    carts_url: str = "http://carts"
    payment_url: str = "http://payment"
    payment_timeout_s: float = 40.0
    fetch_timeout_s: float = 10.0
    shipping_url: str = "http://shipping"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Downstream:
        return cls(
            user_url=(env.get("USER_URL") or "http://user").rstrip("/"),
            carts_url=(env.get("CARTS_URL") or "http://carts").rstrip("/"),
            payment_url=(env.get("PAYMENT_URL") or "http://payment").rstrip("/"),
            payment_timeout_s=float(env.get("PAYMENT_TIMEOUT_S") or 40.0),
            fetch_timeout_s=float(env.get("FETCH_TIMEOUT_S") or 10.0),
            shipping_url=(env.get("SHIPPING_URL") or "http://shipping").rstrip("/"),
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


def http_failure_reason(status: int, reason: str | None = "") -> str:
    """Spring RestTemplate's exception for an HTTP error: `<status> <reason phrase>`. The phrase is the one the
    server sent: Go servers send one (the default here), Tomcat (the Java services: shipping) sends none, and
    Spring then writes `null`: `HttpServerErrorException: 503 null`."""
    kind = "HttpServerErrorException" if status >= 500 else "HttpClientErrorException"
    phrase = status_phrase(status) if reason == "" else (reason or "null")
    return f"org.springframework.web.client.{kind}: {status} {phrase}"


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


# --------------------------------------------------------------------------- storage


def _storable(value: Any) -> Any:
    """Any Decimal inside as its exact text (BSON has no Python Decimal, the server no Decimal128)."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {key: _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value


def parse_date(text: str) -> datetime:
    """`2026-11-23T08:24:46.123Z` -> an aware UTC datetime."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)


def to_document(order: dict[str, Any]) -> dict[str, Any]:
    """An order as `customerOrder` keeps it: `_id` an ObjectId, `date` a BSON date, money as exact text."""
    document = {key: _storable(value) for key, value in order.items() if key not in ("id", "date")}
    return {"_id": ObjectId(order["id"]), **document, "date": parse_date(order["date"])}


def from_document(document: dict[str, Any]) -> dict[str, Any]:
    """The order the API shows: `id` first, the date in UTC to the millisecond, money as exact Decimals."""
    order: dict[str, Any] = {"id": str(document["_id"])}
    order.update({key: value for key, value in document.items() if key != "_id"})
    date = order.get("date")
    if isinstance(date, datetime):
        order["date"] = iso_ms(date if date.tzinfo else date.replace(tzinfo=UTC))
    if order.get("total") is not None:
        order["total"] = Decimal(str(order["total"]))
    items = order.get("items")
    if isinstance(items, list):
        order["items"] = [
            {**item, "unitPrice": Decimal(str(item["unitPrice"]))}
            if isinstance(item, dict) and "unitPrice" in item
            else item
            for item in items
        ]
    return order


def _object_id(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


# --------------------------------------------------------------------------- the service


class OrdersService(MongoBacked):
    name = "orders"

    def __init__(
        self,
        log: LineLog | None = None,
        client: MongoClient[dict[str, Any]] | None = None,
        downstream: Downstream | None = None,
        database: str = "data",
    ) -> None:
        self.app = App("orders", log, spring_error_body)
        self.log = self.app.log
        self.downstream = downstream or Downstream()
        self.client = client if client is not None else connect(spring_mongo_uri([], os.environ, DEFAULT_DB_HOST))
        self.orders = self.client[database][COLLECTION]
        app = self.app
        for method, pattern, handler in (
            ("POST", "/orders", self.create_order),
            ("GET", "/orders", self.list_orders),
            ("GET", "/orders/search/customerId", self.search_by_customer),
            ("GET", "/orders/{id}", self.get_order),
        ):
            app.add(method, pattern, self._guarded(handler))
        app.add("GET", "/orders/search", self.search_links)
        app.add("GET", "/health", self.health)

    # ------------------------------------------------------------------ storage

    def _put(self, order: dict[str, Any]) -> None:
        document = to_document(order)
        self._db(lambda: self.orders.replace_one({"_id": document["_id"]}, document, upsert=True))

    def _set_status(self, order: dict[str, Any], status: str, failed: bool = False) -> None:
        order["status"] = status
        change = {"$set": {"status": status, "shipment": _storable(order["shipment"])}}
        self._db(lambda: self.orders.update_one({"_id": ObjectId(order["id"])}, change))
        line = f"Order {order['id']} status updated to {status}"
        (self.log.warn if failed else self.log.info)(line)

    def all_orders(self) -> list[dict[str, Any]]:
        """Every order, in the order they were placed (the collection's natural order, as Spring Data reads it)."""
        return [from_document(document) for document in self._db(lambda: list(self.orders.find()))]

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

        shipment, reason = self._ship(order)
        order["shipment"] = shipment
        if reason is not None:
            self.log.error(f"Shipping request failed for order {order_id}: {reason}")
            self._set_status(order, PAID)
            message = f"Shipping service unavailable for order {order_id}"
            body = spring_error_body(500, message, request)
            body["orderId"] = order_id
            raise HTTPError(500, message, body)
        self._set_status(order, PAID)
        return Response(201, self.view(order, base), {"Location": f"{base}/orders/{order_id}"})

    def _ship(self, order: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """POST a new shipment to shipping: (the shipment it answers, None), or (None, the Java client's error)."""
        sent = {"id": str(uuid.uuid4()), "name": order["customerId"]}
        url = f"{self.downstream.shipping_url}/shipping"
        try:
            response = json_request("POST", url, sent, timeout=self.downstream.fetch_timeout_s)
        except ClientError as exc:
            return None, java_failure_reason(exc)
        if not 200 <= response.status <= 299:
            # shipping is a Spring Boot (Tomcat) service: no reason phrase, so Spring writes "503 null".
            return None, http_failure_reason(response.status, None)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if isinstance(answer, dict) and isinstance(answer.get("id"), str) and answer.get("name") is not None:
            return {"id": answer["id"], "name": answer["name"]}, None
        return sent, None

    # ------------------------------------------------------------------ reads

    def list_orders(self, request: Request) -> Response:
        page, size = page_params(request)
        total = self._db(lambda: self.orders.count_documents({}))
        base = self._base(request)
        total_pages = math.ceil(total / size)
        found = self._db(lambda: list(self.orders.find().skip(page * size).limit(size))) if total else []
        chunk = [from_document(document) for document in found]
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
                "page": {"size": size, "totalElements": total, "totalPages": total_pages, "number": page},
            },
        )

    def get_order(self, request: Request) -> Response:
        oid = _object_id(request.params["id"])
        document = self._db(lambda: self.orders.find_one({"_id": oid})) if oid is not None else None
        if document is None:
            raise HTTPError(404, f"Order {request.params['id']} not found")
        return Response(200, self.view(from_document(document), self._base(request)))

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
        documents = self._db(lambda: list(self.orders.find({"customerId": customer_id})))
        found = [self.view(from_document(document), base) for document in documents]
        return Response(
            200,
            {
                "_embedded": {"customerOrders": found},
                "_links": {"self": {"href": f"{base}/orders/search/customerId?custId={customer_id}"}},
            },
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    uri = spring_mongo_uri(args, os.environ, DEFAULT_DB_HOST)
    try:
        downstream = Downstream.from_env(os.environ)
        database = database_of(uri)
    except Exception as exc:  # a bad number, pymongo's InvalidURI
        print(f"orders: invalid configuration: {exc}", flush=True)
        return 2
    service = OrdersService(client=connect(uri), downstream=downstream, database=database)

    def started(port: int) -> None:
        service.log.info(
            f"Started orders service on port {port} (payment: {downstream.payment_url}, "
            f"shipping: {downstream.shipping_url}, database: {without_credentials(uri)})"
        )

    # No client.close() at the end: with the database gone it would wait for server selection to end sessions.
    return serve(service.app, args, DEFAULT_PORT, started)
