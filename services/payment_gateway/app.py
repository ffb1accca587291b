"""Sock Shop payment service backed by a card gateway (image `sock-shop-payment-gateway:v2`).

Standard library plus `prometheus_client` (for `/metrics`): this package is its own Docker build
context and runs as `python -m payment_gateway` there, or as `python -m services.payment_gateway`
from the repo root.

The pure functions (`parse_payment_request`, `amount_to_cents`, `map_gateway_reply`,
`go_dial_error`, ...) hold the behaviour; the HTTP server is a thin shell around `authorise`.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TextIO
from urllib.parse import urlencode, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest

SERVICE_NAME = "payment"
DEFAULT_PORT = 8080
DEFAULT_TIMEOUT_S = 35.0
GATEWAY_API_KEY = "sk_test_mock"
CHARGE_CURRENCY = "usd"
CHARGE_SOURCE = "tok_visa"
MOCK_DECLINE_OVER = Decimal("100.00")
MAX_AMOUNT = Decimal("999999.99")  # Stripe's ceiling for a USD charge: 99,999,999 cents
MAX_BODY_BYTES = 1 << 20
MAX_REPLY_BYTES = 1 << 20
_CENT = Decimal("0.01")

# The routes served; every other path is counted under one `route` label value, so a scan of random paths
# cannot add a series per path.
ROUTE_PAYMENT_AUTH = "/paymentAuth"
ROUTE_HEALTH = "/health"
ROUTE_METRICS = "/metrics"
ROUTE_UNMATCHED = "unmatched"  # the label services/common/web.py gives a path no route matches
ROUTES = (ROUTE_PAYMENT_AUTH, ROUTE_HEALTH, ROUTE_METRICS)

# Request latency buckets (seconds): the other Sock Shop services' (services/common/web.py, 5 ms to 10 s), then
# 15 s to 60 s. A hung gateway makes payment answer only when its 35 s timeout fires; with 10 s as the top
# bucket every such answer would land in +Inf, where histogram_quantile can answer no more than the highest
# finite bound (10), so a p95 >= 30 s check could never fire. 30, 35 and 40 measure the timeout itself (an
# answer just after 35 s lands in (35, 40]); 60 bounds anything slower that is still finite.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 35.0, 40.0, 60.0)

# Emoji prefixes of the original service's log lines.
ROCKET = "\U0001f680"
CARD = "\U0001f4b3"
GLOBE = "\U0001f310"
CROSS = "\u274c"
CHECK = "\u2705"

MSG_INVALID_REQUEST = "Invalid payment request"
MSG_METHOD_NOT_ALLOWED = "Method not allowed"
MSG_MOCK_AUTHORISED = "Payment authorised"
MSG_MOCK_DECLINED = f"Payment declined: amount exceeds {MOCK_DECLINE_OVER}"
MSG_AMOUNT_MISSING = "Invalid payment amount: amount is required"
MSG_AMOUNT_NOT_NUMBER = "Invalid payment amount: amount must be a number"
MSG_AMOUNT_NOT_POSITIVE = "Invalid payment amount: amount must be greater than 0"
MSG_AMOUNT_BELOW_CENT = "Invalid payment amount: amount must be at least 0.01"
MSG_AMOUNT_TOO_LARGE = f"Invalid payment amount: amount exceeds the maximum of {MAX_AMOUNT}"
MSG_DECLINED_BY_GATEWAY = "Payment declined by gateway"
MSG_RATE_LIMITED = "Payment gateway rate limit exceeded"


class InvalidRequest(ValueError):
    """The request body is not a JSON object."""


class InvalidAmount(ValueError):
    """The amount cannot be charged; `str(exc)` is the decline message."""


class GatewayError(Exception):
    """A network-level failure talking to the gateway; `str(exc)` has Go's net/http wording."""


@dataclass(frozen=True)
class Authorisation:
    authorised: bool
    message: str

    def to_json(self) -> dict[str, Any]:
        return {"authorised": self.authorised, "message": self.message}


@dataclass(frozen=True)
class GatewayReply:
    status: int
    body: bytes


@dataclass(frozen=True)
class Config:
    gateway_url: str = ""  # empty: mock mode, no outbound call
    timeout_s: float = DEFAULT_TIMEOUT_S
    port: int = DEFAULT_PORT
    host: str = "0.0.0.0"

    @property
    def mock_mode(self) -> bool:
        return not self.gateway_url


# --------------------------------------------------------------------------- logging and time


def rfc3339_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _log_stamp() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


class LineLog:
    """One UTF-8 line per event, UTC-stamped and flushed at once.

    Error lines (those marked with the cross) go to stderr, the rest to stdout: the Datadog agent gives
    stderr lines `status:error`, which the incident's log query (`"Payment gateway error" status:error`)
    relies on. `kubectl logs` shows both streams, interleaved as written.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def __call__(self, message: str) -> None:
        default = sys.stderr if message.startswith(CROSS) else sys.stdout
        stream = self._stream if self._stream is not None else default
        with self._lock:
            stream.write(f"{_log_stamp()} {message}\n")
            stream.flush()


# --------------------------------------------------------------------------- request and amount


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def parse_payment_request(body: bytes) -> dict[str, Any]:
    """Decode a /paymentAuth body; numbers come back as Decimal built from their JSON text."""
    try:
        data = json.loads(body.decode("utf-8"), parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidRequest(str(exc)) from exc
    if not isinstance(data, dict):
        raise InvalidRequest(f"expected a JSON object, got {type(data).__name__}")
    return data


_MISSING: Any = object()


def amount_to_cents(value: object) -> int:
    """Dollars (a Decimal from the JSON text) to whole cents, rounded half-up (19.99 -> 1999)."""
    if value is _MISSING or value is None:
        raise InvalidAmount(MSG_AMOUNT_MISSING)
    if not isinstance(value, Decimal) or not value.is_finite():
        raise InvalidAmount(MSG_AMOUNT_NOT_NUMBER)
    if value <= 0:
        raise InvalidAmount(MSG_AMOUNT_NOT_POSITIVE)
    if value > MAX_AMOUNT:
        raise InvalidAmount(MSG_AMOUNT_TOO_LARGE)
    with localcontext() as ctx:
        ctx.prec = 50
        cents = int((value * 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    if cents < 1:
        raise InvalidAmount(MSG_AMOUNT_BELOW_CENT)
    return cents


def format_amount(value: object) -> str:
    """The amount as the request log shows it: `50.00`."""
    if value is _MISSING:
        return "missing"
    if isinstance(value, Decimal) and value.is_finite() and value.adjusted() < 30:
        with localcontext() as ctx:
            ctx.prec = 60
            return str(value.quantize(_CENT, rounding=ROUND_HALF_UP))
    try:
        return json.dumps(value, default=str)
    except (TypeError, ValueError):
        return repr(value)


def mock_authorise(amount: Decimal) -> Authorisation:
    if amount <= MOCK_DECLINE_OVER:
        return Authorisation(True, MSG_MOCK_AUTHORISED)
    return Authorisation(False, MSG_MOCK_DECLINED)


# --------------------------------------------------------------------------- gateway result mapping


def map_gateway_reply(status: int, body: bytes) -> Authorisation:
    """REFERENCE section 2: what an HTTP answer from the gateway means for the payment."""
    if 500 <= status <= 599:
        return Authorisation(False, f"Payment gateway unavailable (HTTP {status})")
    if status == 429:
        return Authorisation(False, MSG_RATE_LIMITED)
    if 400 <= status <= 499:
        return Authorisation(False, f"Payment request failed (HTTP {status})")
    if 200 <= status <= 299:
        charge_id = charge_id_if_paid(body)
        if charge_id is not None:
            return Authorisation(True, f"Payment authorized (charge: {charge_id})")
    return Authorisation(False, MSG_DECLINED_BY_GATEWAY)


def charge_id_if_paid(body: bytes) -> str | None:
    """The charge id when the body is a charge with a `ch_` id and status succeeded/paid."""
    try:
        charge = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(charge, dict):
        return None
    charge_id = charge.get("id")
    if not isinstance(charge_id, str) or not charge_id.startswith("ch_") or len(charge_id) <= 3:
        return None
    if charge.get("status") not in ("succeeded", "paid"):
        return None
    return charge_id


def network_failure(error: GatewayError | str) -> Authorisation:
    return Authorisation(False, f"Payment gateway error: {error}")


# --------------------------------------------------------------------------- Go-shaped error texts


def _hostport(ip: str, port: int) -> str:
    return f"[{ip}]:{port}" if ":" in ip else f"{ip}:{port}"


def _syscall_text(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, ConnectionResetError):
        return "connection reset by peer"
    text = exc.strerror or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


def go_dial_error(url: str, ip: str, port: int, exc: OSError, method: str = "Post") -> str:
    """`Post "http://stripe-mock/v1/charges": dial tcp 10.96.196.183:80: connect: connection refused`."""
    return f'{method} "{url}": dial tcp {_hostport(ip, port)}: connect: {_syscall_text(exc)}'


def go_lookup_error(url: str, host: str, method: str = "Post") -> str:
    return f'{method} "{url}": dial tcp: lookup {host}: no such host'


def go_timeout_error(url: str, reading_body: bool = False, method: str = "Post") -> str:
    if reading_body:
        reason = "Client.Timeout or context cancellation while reading body"
        return f'{method} "{url}": context deadline exceeded ({reason})'
    return f'{method} "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'


# --------------------------------------------------------------------------- the outbound call

Resolver = Callable[..., Sequence[tuple[Any, ...]]]


def charges_url(gateway_url: str) -> str:
    base = gateway_url
    while base.endswith("/") and not base.endswith("://"):
        base = base[:-1]
    return base + "/v1/charges"


def charge_form(cents: int) -> bytes:
    return urlencode({"amount": str(cents), "currency": CHARGE_CURRENCY, "source": CHARGE_SOURCE}).encode()


def call_gateway(gateway_url: str, cents: int, timeout_s: float, resolver: Resolver | None = None) -> GatewayReply:
    """POST the charge; one attempt per resolved address, no retries. Raises GatewayError."""
    url = charges_url(gateway_url)
    deadline = time.monotonic() + timeout_s
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise GatewayError(f'Post "{url}": unsupported protocol scheme "{parts.scheme}"')
    host = parts.hostname or ""
    if not host:
        raise GatewayError(f'Post "{url}": http: no Host in request URL')
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as exc:
        raise GatewayError(f'Post "{url}": invalid port in URL') from exc
    resolve = resolver if resolver is not None else socket.getaddrinfo
    try:
        addresses = list(resolve(host, port, 0, socket.SOCK_STREAM))
    except (socket.gaierror, UnicodeError) as exc:
        raise GatewayError(go_lookup_error(url, host)) from exc
    if not addresses:
        raise GatewayError(go_lookup_error(url, host))

    sock = _dial(url, addresses, deadline)
    try:
        if scheme == "https":
            sock = ssl.create_default_context().wrap_socket(sock, server_hostname=host)
        return _exchange(url, sock, host=host, port=port, scheme=scheme, cents=cents, deadline=deadline)
    finally:
        sock.close()


def _remaining(url: str, deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise GatewayError(go_timeout_error(url))
    return left


def _dial(url: str, addresses: Sequence[tuple[Any, ...]], deadline: float) -> socket.socket:
    """Go's dialSerial: each address once, the first error is the one reported."""
    first_error: str | None = None
    for family, socktype, proto, _canon, sockaddr in addresses:
        ip, port = str(sockaddr[0]), int(sockaddr[1])
        sock = socket.socket(family, socktype, proto)
        try:
            sock.settimeout(_remaining(url, deadline))
            sock.connect(sockaddr)
        except TimeoutError as exc:
            sock.close()
            raise GatewayError(go_timeout_error(url)) from exc
        except GatewayError:
            sock.close()
            raise
        except OSError as exc:
            sock.close()
            if first_error is None:
                first_error = go_dial_error(url, ip, port, exc)
            continue
        return sock
    raise GatewayError(first_error or go_lookup_error(url, urlsplit(url).hostname or ""))


def _exchange(
    url: str, sock: socket.socket, *, host: str, port: int, scheme: str, cents: int, deadline: float
) -> GatewayReply:
    conn_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
    conn = conn_class(host, port, timeout=_remaining(url, deadline))
    conn.sock = sock  # already connected to the resolved address; the Host header keeps the name
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    reading_body = False
    try:
        sock.settimeout(_remaining(url, deadline))
        conn.request(
            "POST",
            target,
            body=charge_form(cents),
            headers={
                "Authorization": f"Bearer {GATEWAY_API_KEY}",
                "Content-Type": "application/x-www-form-urlencoded",
                "User-Agent": "sock-shop-payment-gateway/2",
            },
        )
        sock.settimeout(_remaining(url, deadline))
        response = conn.getresponse()
        reading_body = True
        sock.settimeout(_remaining(url, deadline))
        body = response.read(MAX_REPLY_BYTES)
        return GatewayReply(response.status, body)
    except TimeoutError as exc:
        raise GatewayError(go_timeout_error(url, reading_body=reading_body)) from exc
    except (http.client.RemoteDisconnected, http.client.IncompleteRead) as exc:
        raise GatewayError(f'Post "{url}": {"unexpected EOF" if reading_body else "EOF"}') from exc
    except ConnectionResetError as exc:
        local = _sockname(sock.getsockname) if sock.fileno() >= 0 else "?"
        remote = _sockname(sock.getpeername) if sock.fileno() >= 0 else "?"
        raise GatewayError(f'Post "{url}": read tcp {local}->{remote}: read: connection reset by peer') from exc
    except (OSError, http.client.HTTPException) as exc:
        raise GatewayError(f'Post "{url}": {exc or type(exc).__name__}') from exc


def _sockname(getter: Callable[[], Any]) -> str:
    try:
        addr = getter()
    except OSError:
        return "?"
    return _hostport(str(addr[0]), int(addr[1]))


# --------------------------------------------------------------------------- the business operation


def _elapsed(start: float) -> str:
    return f"({time.monotonic() - start:.2f}s)"


def authorise(payload: dict[str, Any], config: Config, log: Callable[[str], None]) -> Authorisation:
    """Handle one parsed /paymentAuth request, logging as the original does."""
    raw_amount = payload.get("amount", _MISSING)
    log(f"{CARD} Payment auth request: amount={format_amount(raw_amount)}")
    try:
        cents = amount_to_cents(raw_amount)
    except InvalidAmount as exc:
        log(f"{CROSS} {exc}")
        return Authorisation(False, str(exc))

    if config.mock_mode:
        result = mock_authorise(raw_amount)
        log(f"{CHECK if result.authorised else CROSS} {result.message} (mock mode)")
        return result

    url = charges_url(config.gateway_url)
    log(f"{GLOBE} Calling payment gateway: {url} (amount={cents} cents)")
    start = time.monotonic()
    try:
        reply = call_gateway(config.gateway_url, cents, config.timeout_s)
    except GatewayError as exc:
        result = network_failure(exc)
        log(f"{CROSS} {result.message} {_elapsed(start)}")
        return result
    result = map_gateway_reply(reply.status, reply.body)
    if result.authorised:
        charge_id = result.message.removeprefix("Payment authorized (charge: ").removesuffix(")")
        log(f"{CHECK} Payment authorized: {charge_id} {_elapsed(start)}")
    else:
        log(f"{CROSS} {result.message} {_elapsed(start)}")
    return result


# --------------------------------------------------------------------------- metrics


def route_label(path: str) -> str:
    """The `route` label of a request path: the route it matches, or `unmatched`."""
    return path if path in ROUTES else ROUTE_UNMATCHED


class Metrics:
    """`request_duration_seconds`, the histogram Sock Shop's Go kit payment serves on `/metrics`, labelled
    service (`payment`), method, route and status_code; its `_count` is the request count.

    A registry of its own per server (not the process-wide default), so two servers in one process, as in
    the tests, count apart.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "request_duration_seconds",
            "Time to answer a request, by method, route and status code.",
            ["service", "method", "route", "status_code"],
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.latency.labels(SERVICE_NAME, method, route, str(status)).observe(seconds)

    def exposition(self) -> bytes:
        """The Prometheus text format, served with `CONTENT_TYPE_LATEST`."""
        return generate_latest(self.registry)


# --------------------------------------------------------------------------- HTTP server


class PaymentServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: Config, log: Callable[[str], None]) -> None:
        self.config = config
        self.log = log
        self.metrics = Metrics()
        super().__init__((config.host, config.port), PaymentHandler)


class PaymentHandler(BaseHTTPRequestHandler):
    server: PaymentServer
    server_version = "sock-shop-payment-gateway/2"
    timeout = 120
    # The request being answered, for the latency histogram (one handler instance per connection).
    _started = 0.0
    _route_label = ROUTE_UNMATCHED
    _observed = False

    def log_message(self, format: str, *args: Any) -> None:
        """Access logging is off: only the events above are logged."""

    def _send(self, status: int, body: bytes, content_type: str, extra: dict[str, str] | None = None) -> None:
        self._observe(status)
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (extra or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _send_json(self, status: int, data: Any, extra: dict[str, str] | None = None) -> None:
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        self._send(status, body, "application/json", extra)

    def _route(self) -> str:
        return urlsplit(self.path).path

    def _read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            return None
        if length < 0 or length > MAX_BODY_BYTES:
            return None
        return self.rfile.read(length) if length else b""

    def _read_chunked(self) -> bytes | None:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";", 1)[0].strip() or b"x", 16)
            except ValueError:
                return None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            total += size
            if total > MAX_BODY_BYTES:
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(8)

    def _dispatch(self, route: str) -> None:
        if route == ROUTE_PAYMENT_AUTH:
            if self.command != "POST":
                self._send_json(405, Authorisation(False, MSG_METHOD_NOT_ALLOWED).to_json(), {"Allow": "POST"})
                return
            self._payment_auth()
        elif route in (ROUTE_HEALTH, ROUTE_METRICS):
            if self.command not in ("GET", "HEAD"):
                self._send_json(405, {"error": MSG_METHOD_NOT_ALLOWED}, {"Allow": "GET, HEAD"})
                return
            if route == ROUTE_HEALTH:
                self._send_json(200, [{"service": SERVICE_NAME, "status": "OK", "time": rfc3339_now()}])
            else:
                self._send(200, self.server.metrics.exposition(), CONTENT_TYPE_LATEST)
        else:
            self._send(404, b"404 page not found\n", "text/plain; charset=utf-8")

    def _serve(self) -> None:
        self._started = time.monotonic()
        self._route_label = route_label(self._route())
        self._observed = False
        try:
            self._dispatch(self._route_label)
        finally:
            self._observe(500)  # a no-op once answered; a request that raised before any answer counts as a 500

    def _observe(self, status: int) -> None:
        """Observe the request once, when its answer is computed (a gateway timeout's too) and before it is
        written, as services/common/web.py does: a client that reads the answer and scrapes at once finds it
        counted. `/metrics` itself is not observed, as there: the scrapes would fill the histogram they read.
        """
        if self._observed or self._route_label == ROUTE_METRICS:
            return
        self._observed = True
        self.server.metrics.observe(self.command, self._route_label, status, time.monotonic() - self._started)

    def _payment_auth(self) -> None:
        body = self._read_body()
        try:
            if body is None:
                raise InvalidRequest("unreadable body")
            payload = parse_payment_request(body)
        except InvalidRequest as exc:
            self.server.log(f"{CROSS} {MSG_INVALID_REQUEST}: {exc}")
            self._send_json(400, Authorisation(False, MSG_INVALID_REQUEST).to_json())
            return
        result = authorise(payload, self.server.config, self.server.log)
        self._send_json(200, result.to_json())

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET


# --------------------------------------------------------------------------- entry point


def parse_port(argv: Sequence[str], env: dict[str, str] | os._Environ[str], default: int = DEFAULT_PORT) -> int:
    """`--port=N` / `--port N` win over `$PORT`, which wins over the default."""
    raw: str | None = None
    args = list(argv)
    for index, arg in enumerate(args):
        if arg.startswith(("--port=", "-port=")):
            raw = arg.split("=", 1)[1]
        elif arg in ("--port", "-port") and index + 1 < len(args):
            raw = args[index + 1]
    if raw is None:
        raw = env.get("PORT") or None
    if raw is None:
        return default
    port = int(raw)  # ValueError reported by main
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range: {port}")
    return port


def load_config(argv: Sequence[str], env: dict[str, str] | os._Environ[str]) -> Config:
    raw_timeout = env.get("PAYMENT_GATEWAY_TIMEOUT_S", "").strip()
    timeout = float(raw_timeout) if raw_timeout else DEFAULT_TIMEOUT_S
    if not timeout > 0:
        raise ValueError(f"PAYMENT_GATEWAY_TIMEOUT_S must be positive, got {raw_timeout!r}")
    return Config(
        gateway_url=env.get("PAYMENT_GATEWAY_URL", "").strip(),
        timeout_s=timeout,
        port=parse_port(argv, env),
        host=env.get("BIND_HOST", "").strip() or "0.0.0.0",
    )


def main(argv: Sequence[str] | None = None) -> int:
    with contextlib.suppress(AttributeError, ValueError):
        sys.stdout.reconfigure(encoding="utf-8")  # type: ignore[union-attr]
    log = LineLog()
    try:
        config = load_config(sys.argv[1:] if argv is None else argv, os.environ)
    except ValueError as exc:
        print(f"payment: invalid configuration: {exc}", file=sys.stderr, flush=True)
        return 2
    server = PaymentServer(config, log)
    stopping = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    log(f"{GLOBE} Payment gateway: {config.gateway_url or 'none (mock mode)'}")
    log(f"{ROCKET} Payment service starting on port {server.server_address[1]}")
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    log("Payment service stopped")
    return 0
