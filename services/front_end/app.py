"""Stand-in for the Sock Shop front-end (`quay.io/powercloud/sock-shop-front-end`, Node.js/Express in reality).

Behaviour follows microservices-demo/front-end (api/*/index.js, helpers/index.js, server.js, config.js); the
places where the real one answers oddly are kept on purpose and marked "as the real one". See README.md.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from prometheus_client import Histogram

from services.common import App, LineLog, Request, Response, dumps, loads
from services.common.evented import Baton, serve_evented
from services.common.web import LATENCY_BUCKETS
from services.front_end import pages
from services.front_end.client import Downstream, NodeError, Reply
from services.front_end.sessions import (
    DEFAULT_SECRET,
    MemoryStore,
    RedisStore,
    Session,
    Sessions,
    Store,
    StoreDown,
    logged_in_cookie,
)

DEFAULT_PORT = 8079
# Requests in progress at once, most of them waiting on a service: more than the users of any load here, so no
# request waits for a worker and every wait is the baton's, as every wait in Node.js is the event loop's.
DEFAULT_WORKERS = 4096
SERVICE = "front-end"
HTML = "text/html; charset=utf-8"
# The first path segments the real front-end's metrics middleware records (api/metrics/index.js).
METRIC_MODELS = ("cart", "catalogue", "orders", "user")
TRUTHY = ("1", "true", "yes", "on")

# --------------------------------------------------------------------------- configuration

# endpoints.js: key -> (environment override, in-cluster URL)
ENDPOINTS: dict[str, tuple[str, str]] = {
    "catalogue": ("CATALOGUE_URL", "http://catalogue"),
    "tags": ("TAGS_URL", "http://catalogue/tags"),
    "carts": ("CARTS_URL", "http://carts/carts"),
    "orders": ("ORDERS_URL", "http://orders"),
    "customers": ("CUSTOMERS_URL", "http://user/customers"),
    "addresses": ("ADDRESS_URL", "http://user/addresses"),
    "cards": ("CARDS_URL", "http://user/cards"),
    "login": ("LOGIN_URL", "http://user/login"),
    "register": ("REGISTER_URL", "http://user/register"),
}
USER_PATHS = {"customers": "/customers", "addresses": "/addresses", "cards": "/cards"}
USER_PATHS.update({"login": "/login", "register": "/register"})


@dataclass(frozen=True)
class Endpoints:
    catalogue: str = "http://catalogue"
    tags: str = "http://catalogue/tags"
    carts: str = "http://carts/carts"
    orders: str = "http://orders"
    customers: str = "http://user/customers"
    addresses: str = "http://user/addresses"
    cards: str = "http://user/cards"
    login: str = "http://user/login"
    register: str = "http://user/register"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Endpoints:
        """Each endpoint from its variable; `USER_URL` (a base) sets the five user endpoints not set one by one."""
        values: dict[str, str] = {}
        user_base = (env.get("USER_URL") or "").strip().rstrip("/")
        for key, (variable, default) in ENDPOINTS.items():
            value = (env.get(variable) or "").strip().rstrip("/")
            if not value and user_base and key in USER_PATHS:
                value = user_base + USER_PATHS[key]
            if value and not value.startswith("http://"):
                raise ValueError(f"{variable} must be an http:// URL: {value}")
            values[key] = value or default
        return cls(**values)

    def _pairs(self) -> list[tuple[str, str]]:
        """(in-cluster URL, configured URL) of every endpoint."""
        return [(ENDPOINTS[f.name][1], str(getattr(self, f.name))) for f in fields(self)]

    @staticmethod
    def _swap(link: str, pairs: list[tuple[str, str]], forward: bool) -> str:
        """Replace the longest matching prefix (in-cluster -> configured when `forward`, else back)."""
        swaps = sorted(((c, u) if forward else (u, c) for c, u in pairs), key=lambda s: len(s[0]), reverse=True)
        for old, new in swaps:
            if old != new and link.startswith(old) and (len(link) == len(old) or link[len(old)] in "/?"):
                return new + link[len(old) :]
        return link

    def local(self, link: str) -> str:
        """Where to fetch a link a service gave (`http://user/customers/1/cards`): the configured endpoint."""
        return self._swap(link, self._pairs(), forward=True)

    def canonical(self, link: str) -> str:
        """A link as the cluster names it (`http://user/...`), for links handed on to another service."""
        return self._swap(link, self._pairs(), forward=False)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUTHY


@dataclass(frozen=True)
class Config:
    endpoints: Endpoints
    session_redis: bool = False
    redis_host: str = "session-db"
    redis_port: int = 6379
    session_secret: str = DEFAULT_SECRET
    timeout_s: float = 30.0
    workers: int = DEFAULT_WORKERS

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Config:
        port = int(env.get("SESSION_REDIS_PORT") or 6379)
        timeout = float(env.get("DOWNSTREAM_TIMEOUT_S") or 30.0)
        workers = int(env.get("WORKER_THREADS") or DEFAULT_WORKERS)
        if not 0 < port < 65536 or not timeout > 0 or workers < 1:
            raise ValueError(
                "SESSION_REDIS_PORT must be a port, DOWNSTREAM_TIMEOUT_S positive and WORKER_THREADS at least 1"
            )
        return cls(
            endpoints=Endpoints.from_env(env),
            session_redis=_flag(env.get("SESSION_REDIS")),
            redis_host=(env.get("SESSION_REDIS_HOST") or "session-db").strip(),
            redis_port=port,
            session_secret=env.get("SESSION_SECRET") or DEFAULT_SECRET,
            timeout_s=timeout,
            workers=workers,
        )


# --------------------------------------------------------------------------- errors and small JS-isms


class FrontError(Exception):
    """An error the Express error handler answers: `{"message": ..., "error": {...}}` with `status`."""

    def __init__(self, status: int, message: str, error_fields: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = error_fields or {}


def _error_body(_status: int, message: str, _request: Request) -> Any:
    """helpers.errorHandler: the message and the error object (a plain Error serialises to {})."""
    return {"message": message, "error": {}}


def js_string(value: Any) -> str:
    """`value.toString()` for JSON values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "[object Object]"
    if isinstance(value, list):
        return ",".join(js_string(item) for item in value)
    return str(value)


def js_parse_int(value: Any) -> int | None:
    """`parseInt(value)`: the leading integer of its string (one sign allowed), None for NaN."""
    text = js_string(value).strip()
    sign = -1 if text[:1] == "-" else 1
    if text[:1] in "+-":
        text = text[1:]
    digits = len(text) - len(text.lstrip("0123456789"))
    return sign * int(text[:digits]) if digits else None


def _no_property(name: str) -> FrontError:
    return FrontError(500, f"Cannot read property '{name}' of undefined")


def _syntax_error(exc: json.JSONDecodeError) -> str:
    """How JSON.parse words the same error."""
    if exc.pos >= len(exc.doc):
        return "Unexpected end of JSON input"
    return f"Unexpected token {exc.doc[exc.pos]} in JSON at position {exc.pos}"


def _json_or_error(reply: Reply) -> Any:
    """JSON.parse(body) of a service's answer; a 500 worded as Node's SyntaxError when it is not JSON."""
    try:
        return reply.json()
    except json.JSONDecodeError as exc:
        raise FrontError(500, _syntax_error(exc)) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrontError(500, f"Unexpected token in JSON: {exc}") from exc


def _path(data: Any, *keys: str | int) -> Any:
    """data.a.b[0].c as JavaScript reads it: None where a step is missing (not a crash)."""
    for key in keys:
        if isinstance(key, int):
            if not isinstance(data, list) or len(data) <= key:
                return None
            data = data[key]
        else:
            if not isinstance(data, dict):
                return None
            data = data.get(key)
    return data


def json_body(request: Request) -> dict[str, Any]:
    """body-parser's json(): parsed when the Content-Type is JSON, else {}; a bad body is a 400."""
    content_type = (request.headers.get("Content-Type") or "").lower()
    if "json" not in content_type or not request.body.strip():
        return {}
    parse_failed = {"type": "entity.parse.failed", "status": 400, "statusCode": 400}
    try:
        data = loads(request.body)
    except json.JSONDecodeError as exc:
        raise FrontError(400, _syntax_error(exc), parse_failed) from exc
    except (UnicodeDecodeError, ValueError) as exc:
        raise FrontError(400, str(exc), parse_failed) from exc
    return data if isinstance(data, dict) else {}


def _add_header(response: Response, name: str, value: str) -> None:
    """One more header of that name (a second Set-Cookie): the server sends each value of a list."""
    current = response.headers.get(name)
    if current is None:
        response.headers[name] = value
    else:
        response.headers[name] = [*(current if isinstance(current, list) else [current]), value]


def _query_string(request: Request) -> str:
    return f"?{request.raw_query}" if request.raw_query else ""


# --------------------------------------------------------------------------- the app


class FrontEndApp(App):
    """App plus what Express adds around the routes: the trailing-slash redirect, the real front-end's
    `http_request_duration_seconds`, a morgan-style access log line, and Express's 404 page."""

    def __init__(self, log: LineLog | None = None) -> None:
        super().__init__(SERVICE, log, _error_body)
        self.node_latency = Histogram(
            "http_request_duration_seconds",
            "request duration in seconds",
            ["service", "method", "path", "status_code"],
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )

    def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        path = request.path
        if len(path) > 1 and path.endswith("/") and not request.query:
            target = path[:-1]
            if "//" in target:
                response = Response(400, raw=b"invalid URL to redirect to", content_type=HTML)
            else:
                body = f"Moved Permanently. Redirecting to {target}".encode()
                response = Response(301, raw=body, headers={"Location": target}, content_type="text/plain")
        else:
            response = super().handle(request)
        if response.raw is None and response.body is not None:
            response.raw = dumps(response.body).encode("utf-8")
        elapsed = time.perf_counter() - started
        model = path.split("/", 2)[1] if path.count("/") else ""
        if model in METRIC_MODELS:
            self.node_latency.labels(SERVICE, request.method.lower(), model, str(response.status)).observe(elapsed)
        length = str(len(response.raw)) if response.raw else "-"
        url = path + _query_string(request)
        self.log.info(f"{request.method} {url} {response.status} {elapsed * 1000:.3f} ms - {length}")
        return response

    def _no_route(self, request: Request, allowed: list[str]) -> Response:
        return Response(404, raw=pages.cannot(request.method, request.path), content_type=HTML)


SessionHandler = Callable[[Request, Session | None], Response]


class FrontEnd:
    def __init__(self, config: Config, log: LineLog | None = None, store: Store | None = None) -> None:
        self.config = config
        self.ep = config.endpoints
        self.app = FrontEndApp(log)
        self.log = self.app.log
        # Node.js's one JavaScript thread: a request's code runs while it holds the baton, given up while it waits.
        self.baton = Baton()
        self.client = Downstream(config.timeout_s, waiting=self.baton.waiting)
        if store is None and config.session_redis:
            store = RedisStore(config.redis_host, config.redis_port, waiting=self.baton.waiting)
        elif store is None:
            store = MemoryStore()
        self.sessions = Sessions(store, config.session_secret)
        add, api = self.app.add, self._api
        # Static pages and the probe: before the session layer, as express.static is.
        for route, page in pages.PAGES.items():
            add("GET", route, self._page(page))
        add("GET", "/health", self.health)
        self.inline_paths = frozenset([*pages.PAGES, "/health", "/metrics"])
        # api/cart
        add("GET", "/cart", api(self.get_cart))
        add("DELETE", "/cart", api(self.delete_cart))
        add("POST", "/cart", api(self.add_to_cart))
        add("POST", "/cart/update", api(self.update_cart))
        add("DELETE", "/cart/{id}", api(self.delete_cart_item))
        # api/catalogue
        add("GET", "/catalogue/images/{name}", api(self.catalogue_image))
        add("GET", "/catalogue", api(self.catalogue))
        add("GET", "/catalogue/{id}", api(self.catalogue))
        add("GET", "/tags", api(self.tags))
        # api/orders
        add("GET", "/orders", api(self.list_orders))
        add("GET", "/orders/{id}", api(self.get_order))
        add("POST", "/orders", api(self.place_order))
        # api/user
        add("GET", "/login", api(self.login))
        add("POST", "/register", api(self.register))
        add("GET", "/customers/{id}", api(self.get_customer))
        add("GET", "/cards/{id}", api(self.passthrough("cards")))
        add("GET", "/addresses/{id}", api(self.passthrough("addresses")))
        add("GET", "/customers", api(self.passthrough("customers")))
        add("GET", "/addresses", api(self.passthrough("addresses")))
        add("GET", "/cards", api(self.passthrough("cards")))
        add("POST", "/customers", api(self.post_user_record("customers", own=False)))
        add("POST", "/addresses", api(self.post_user_record("addresses", own=True)))
        add("POST", "/cards", api(self.post_user_record("cards", own=True)))
        add("DELETE", "/customers/{id}", api(self.delete_user_record("customers")))
        add("DELETE", "/addresses/{id}", api(self.delete_user_record("addresses")))
        add("DELETE", "/cards/{id}", api(self.delete_user_record("cards")))
        add("GET", "/card", api(self.first_card))
        add("GET", "/address", api(self.first_address))

    # ------------------------------------------------------------------ plumbing

    def waits_for_nothing(self, request: Request) -> bool:
        """Whether a request calls nothing (the static pages, /health, /metrics): it never waits for a worker."""
        return request.method in ("GET", "HEAD") and request.path in self.inline_paths

    def _page(self, page: bytes) -> Callable[[Request], Response]:
        def serve_page(_request: Request) -> Response:
            return Response(200, raw=page, content_type=HTML)

        return serve_page

    def health(self, _request: Request) -> Response:
        return Response(200, [{"service": SERVICE, "status": "OK"}])

    def _api(self, handler: SessionHandler) -> Callable[[Request], Response]:
        """The session layer and the Express error handler around a route."""

        def route(request: Request) -> Response:
            session: Session | None = None
            try:
                try:
                    session = self.sessions.open(request.headers.get("Cookie"))
                except StoreDown as exc:
                    self.log.error(f"Error: {exc}")
                response = handler(request, session)
            except NodeError as exc:
                self.log.error(str(exc))
                response = Response(500, {"message": exc.message, "error": exc.fields})
            except FrontError as exc:
                if exc.status >= 500:
                    self.log.error(f"Error: {exc.message}")
                response = Response(exc.status, {"message": exc.message, "error": exc.fields})
            if session is not None:
                try:
                    for cookie in self.sessions.commit(session):
                        _add_header(response, "Set-Cookie", cookie)
                except StoreDown as exc:
                    self.log.error(f"Error: {exc}")
            return response

        return route

    @staticmethod
    def _session(session: Session | None) -> Session:
        """req.session, which is undefined when the store was down."""
        if session is None:
            raise _no_property("id")
        return session

    def _customer_id(self, session: Session | None) -> str:
        """helpers.getCustomerId: the session id until the `logged_in` cookie is there, then the customer id."""
        current = self._session(session)
        if not current.logged_in:
            return current.id
        return current.customer_id or "undefined"  # as the real one: a lost session reads `undefined`

    def _logged_in_customer(self, session: Session | None) -> str:
        current = self._session(session)
        if not current.logged_in:
            raise FrontError(500, "User not logged in.")  # a plain Error: 500, as the real one
        return current.customer_id or "undefined"

    def _call(self, method: str, url: str, data: Any = None, headers: dict[str, str] | None = None) -> Reply:
        body = None if data is None else dumps(data).encode("utf-8")
        return self.client.request(method, url, body=body, headers=headers)

    @staticmethod
    def _relay(status: int, reply: Reply) -> Response:
        return Response(status, raw=reply.body, content_type=reply.content_type or "application/json")

    def _simple(self, url: str) -> Response:
        """helpers.simpleHttpRequest: the body with a 200, whatever the service answered; except that here a 5xx
        stays a 500 (the real one turns it into a 200), so a failing dependency shows in the front-end's errors."""
        reply = self._call("GET", url)
        if reply.status >= 500:
            excerpt = reply.body.decode("utf-8", "replace").strip()[:300]
            self.log.error(f"Error: GET {url} answered {reply.status}: {excerpt}")
            return self._relay(500, reply)
        return self._relay(200, reply)

    # ------------------------------------------------------------------ catalogue

    def catalogue(self, request: Request, _session: Session | None) -> Response:
        return self._simple(self.ep.catalogue + request.path + _query_string(request))

    def catalogue_image(self, request: Request, _session: Session | None) -> Response:
        """Piped: the catalogue's own status and body."""
        reply = self._call("GET", self.ep.catalogue + request.path)
        return self._relay(reply.status, reply)

    def tags(self, _request: Request, _session: Session | None) -> Response:
        return self._simple(self.ep.tags)

    # ------------------------------------------------------------------ cart

    def get_cart(self, _request: Request, session: Session | None) -> Response:
        reply = self._call("GET", f"{self.ep.carts}/{self._customer_id(session)}/items")
        return self._relay(reply.status, reply)

    def delete_cart(self, _request: Request, session: Session | None) -> Response:
        customer_id = self._customer_id(session)
        reply = self._call("DELETE", f"{self.ep.carts}/{customer_id}")
        self.log.info(f"User cart deleted with status: {reply.status}")
        return Response(reply.status)

    def delete_cart_item(self, request: Request, session: Session | None) -> Response:
        customer_id = self._customer_id(session)
        reply = self._call("DELETE", f"{self.ep.carts}/{customer_id}/items/{request.params['id']}")
        self.log.info(f"Item deleted with status: {reply.status}")
        return Response(reply.status)

    def _item(self, item_id: Any) -> dict[str, Any]:
        """The catalogue's answer for an item id, whatever it is (an unknown id gives its error JSON)."""
        data = _json_or_error(self._call("GET", f"{self.ep.catalogue}/catalogue/{js_string(item_id)}"))
        return data if isinstance(data, dict) else {}

    def add_to_cart(self, request: Request, session: Session | None) -> Response:
        body = json_body(request)
        self.log.info(f"Attempting to add to cart: {dumps(body)}")
        if body.get("id") is None:
            raise FrontError(500, "Must pass id of item to add")
        customer_id = self._customer_id(session)
        item = self._item(body["id"])
        # JSON.stringify drops undefined: an unknown id (no `id`/`price` in the catalogue's answer) posts {}.
        line = {key: item[source] for key, source in (("itemId", "id"), ("unitPrice", "price")) if source in item}
        url = f"{self.ep.carts}/{customer_id}/items"
        self.log.info(f"POST to carts: {url} body: {dumps(line)}")
        reply = self._call("POST", url, line)
        if reply.status != 201:
            raise FrontError(500, f"Unable to add to cart. Status code: {reply.status}")
        return Response(201)

    def update_cart(self, request: Request, session: Session | None) -> Response:
        body = json_body(request)
        self.log.info(f"Attempting to update cart item: {dumps(body)}")
        if body.get("id") is None:
            raise FrontError(500, "Must pass id of item to update")
        if body.get("quantity") is None:
            raise FrontError(500, "Must pass quantity to update")
        customer_id = self._customer_id(session)
        item = self._item(body["id"])
        line: dict[str, Any] = {}
        if "id" in item:
            line["itemId"] = item["id"]
        line["quantity"] = js_parse_int(body["quantity"])  # NaN serialises as null
        if "price" in item:
            line["unitPrice"] = item["price"]
        url = f"{self.ep.carts}/{customer_id}/items"
        self.log.info(f"PATCH to carts: {url} body: {dumps(line)}")
        reply = self._call("PATCH", url, line)
        if reply.status != 202:
            raise FrontError(500, f"Unable to add to cart. Status code: {reply.status}")
        return Response(202)

    # ------------------------------------------------------------------ orders

    def list_orders(self, _request: Request, session: Session | None) -> Response:
        customer_id = self._logged_in_customer(session)
        reply = self._call("GET", f"{self.ep.orders}/orders/search/customerId?sort=date&custId={customer_id}")
        if reply.status == 404:
            self.log.info(f"No orders found for user: {customer_id}")
            return Response(201, [])
        orders = _path(_json_or_error(reply), "_embedded", "customerOrders")
        if orders is None:
            raise _no_property("customerOrders")
        return Response(201, orders)  # 201 for a read, as the real one

    def get_order(self, request: Request, _session: Session | None) -> Response:
        reply = self._call("GET", f"{self.ep.orders}{request.path}{_query_string(request)}")
        return self._relay(reply.status, reply)

    def _first_link(self, link: str, kind: str) -> str | None:
        """The self link of the first address/card at a customer's link, or None."""
        data = _json_or_error(self._call("GET", self.ep.local(link)))
        if _path(data, "status_code") == 500:
            return None
        href = _path(data, "_embedded", kind, 0, "_links", "self", "href")
        return self.ep.canonical(str(href)) if href else None

    def place_order(self, _request: Request, session: Session | None) -> Response:
        customer_id = self._logged_in_customer(session)
        customer = _json_or_error(self._call("GET", f"{self.ep.customers}/{customer_id}"))
        links = _path(customer, "_links")
        if not isinstance(links, dict):
            raise _no_property("customer")
        customer_link = _path(links, "customer", "href")
        addresses_link = _path(links, "addresses", "href")
        cards_link = _path(links, "cards", "href")
        if not (customer_link and addresses_link and cards_link):
            raise _no_property("href")
        order = {
            "customer": self.ep.canonical(str(customer_link)),
            "address": self._first_link(str(addresses_link), "address"),
            "card": self._first_link(str(cards_link), "card"),
            "items": f"{ENDPOINTS['carts'][1]}/{customer_id}/items",
        }
        self.log.info(f"Posting Order: {dumps(order)}")
        reply = self._call("POST", f"{self.ep.orders}/orders", order)
        self.log.info(f"Order response: {reply.status} {reply.body.decode('utf-8', 'replace')[:500]}")
        # The orders service's status and body, whatever they are (201, 406 declined, 500 ...), as the real one.
        return self._relay(reply.status, reply)

    # ------------------------------------------------------------------ user

    def _merge_carts(self, customer_id: str, session: Session) -> None:
        self.log.info(f"Merging carts for customer id: {customer_id} and session id: {session.id}")
        self._call("GET", f"{self.ep.carts}/{customer_id}/merge?sessionId={session.id}")
        self.log.info("Carts merged.")

    def login(self, request: Request, session: Session | None) -> Response:
        self.log.info("Received login request")
        current = self._session(session)
        headers = {}
        authorization = request.headers.get("Authorization")
        if authorization:
            headers["Authorization"] = authorization
        try:
            reply = self._call("GET", self.ep.login, headers=headers)
        except NodeError as exc:
            self.log.error(f"Error with log in: {exc}")
            return Response(401)  # any failure of the login call is a 401, as the real one
        customer_id = _path(self._json(reply), "user", "id") if reply.status == 200 and reply.body else None
        if not customer_id:
            self.log.info(f"Error with log in: user service answered {reply.status}")
            return Response(401)
        current.set_customer(str(customer_id))
        try:
            self._merge_carts(str(customer_id), current)
        except NodeError as exc:
            self.log.error(str(exc))  # a failed merge does not prevent the login, as the real one
        response = Response(200, raw=b"Cookie is set", content_type=HTML)
        _add_header(response, "Set-Cookie", logged_in_cookie(current.id))
        self.log.info("Sent cookies.")
        return response

    @staticmethod
    def _json(reply: Reply) -> Any:
        try:
            return reply.json()
        except ValueError:
            return None

    def register(self, request: Request, session: Session | None) -> Response:
        current = self._session(session)
        body = json_body(request)
        self.log.info(f"Posting Customer: {dumps({k: v for k, v in body.items() if k != 'password'})}")
        try:
            reply = self._call("POST", self.ep.register, body)
            answer = self._json(reply) if reply.status == 200 and reply.body else None
            if isinstance(answer, dict) and answer.get("error"):
                raise FrontError(500, str(answer["error"]))
            customer_id = _path(answer, "id")
            if not customer_id:
                raise FrontError(500, f"user service answered {reply.status}")
            current.set_customer(str(customer_id))
            self._merge_carts(str(customer_id), current)
        except (NodeError, FrontError) as exc:
            self.log.error(f"Error with log in: {exc}")
            return Response(500)  # an empty 500, as the real one
        response = Response(200, {"id": str(customer_id)})
        _add_header(response, "Set-Cookie", logged_in_cookie(current.id))
        return response

    def get_customer(self, request: Request, session: Session | None) -> Response:
        """The real one reads the session's customer, not the path's; the path's id only without a session one."""
        customer_id = (session.customer_id if session is not None else None) or request.params["id"]
        return self._simple(f"{self.ep.customers}/{customer_id}")

    def passthrough(self, endpoint: str) -> SessionHandler:
        def handler(request: Request, _session: Session | None) -> Response:
            base = str(getattr(self.ep, endpoint))
            suffix = f"/{request.params['id']}" if "id" in request.params else ""
            return self._simple(base + suffix)

        return handler

    def post_user_record(self, endpoint: str, own: bool) -> SessionHandler:
        def handler(request: Request, session: Session | None) -> Response:
            body = json_body(request)
            if own:
                body["userID"] = self._customer_id(session)
            reply = self._call("POST", str(getattr(self.ep, endpoint)), body)
            return self._relay(200, reply)

        return handler

    def delete_user_record(self, endpoint: str) -> SessionHandler:
        def handler(request: Request, _session: Session | None) -> Response:
            self.log.info(f"Deleting {endpoint} {request.params['id']}")
            reply = self._call("DELETE", f"{getattr(self.ep, endpoint)}/{request.params['id']}")
            return self._relay(200, reply)

        return handler

    def _first_of(self, session: Session | None, kind: str) -> Any:
        customer_id = self._customer_id(session)
        data = _json_or_error(self._call("GET", f"{self.ep.customers}/{customer_id}/{USER_PATHS[kind][1:]}"))
        entries = _path(data, "_embedded", "address" if kind == "addresses" else "card")
        if _path(data, "status_code") != 500 and isinstance(entries, list) and entries:
            return entries[0]
        return None

    def first_card(self, _request: Request, session: Session | None) -> Response:
        card = self._first_of(session, "cards")
        if isinstance(card, dict):
            return Response(200, {"number": str(card.get("longNum") or "")[-4:]})
        return Response(200, {"status_code": 500})

    def first_address(self, _request: Request, session: Session | None) -> Response:
        address = self._first_of(session, "addresses")
        return Response(200, address if address is not None else {"status_code": 500})


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    try:
        config = Config.from_env(os.environ)
    except ValueError as exc:
        print(f"front-end: invalid configuration: {exc}", flush=True)
        return 2
    service = FrontEnd(config)
    if config.session_redis:
        service.log.info(f"Using the redis based session manager ({config.redis_host}:{config.redis_port})")
    else:
        service.log.info("Using local session manager")

    def started(port: int) -> None:
        service.log.info(f"App now running in production mode on port {port}")

    try:
        args = list(sys.argv[1:] if argv is None else argv)
        return serve_evented(
            service.app,
            args,
            DEFAULT_PORT,
            started,
            inline=service.waits_for_nothing,
            workers=config.workers,
            baton=service.baton,
        )
    finally:
        service.client.close()
