"""A tiny threaded JSON HTTP server and a plain HTTP client for the stand-in services (stdlib only)."""

from __future__ import annotations

import http.client
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest

from services.common.util import LineLog, dumps, loads

MAX_BODY_BYTES = 1 << 20

# --------------------------------------------------------------------------- server side


class HTTPError(Exception):
    """Raised by a handler to answer `status` with the app's error body for `message`."""

    def __init__(self, status: int, message: str, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.body = body


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Message
    body: bytes
    params: dict[str, str] = field(default_factory=dict)
    raw_query: str = ""  # the query string as sent (parse_qs drops empty values)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body as JSON (exact decimals); a 400 HTTPError when it is not JSON."""
        try:
            return loads(self.body) if self.body.strip() else _raise_empty()
        except (UnicodeDecodeError, ValueError) as exc:
            raise HTTPError(400, f"Malformed JSON request body: {exc}") from exc

    def json_object(self) -> dict[str, Any]:
        data = self.json()
        if not isinstance(data, dict):
            raise HTTPError(400, "Request body must be a JSON object")
        return data

    @property
    def host(self) -> str:
        return self.headers.get("Host") or "localhost"


def _raise_empty() -> Any:
    raise ValueError("empty body")


@dataclass
class Response:
    status: int
    body: Any = None  # JSON-serialisable; None with `raw` None means an empty body
    headers: dict[str, str | list[str]] = field(default_factory=dict)  # a list repeats the header (Set-Cookie)
    raw: bytes | None = None
    content_type: str = "application/json"


Handler = Callable[[Request], Response]
ErrorBody = Callable[[int, str, Request], Any]


def payload_of(response: Response) -> bytes:
    """The bytes of an answer's body: `raw` as it is, else the JSON of `body` (none: empty)."""
    if response.raw is not None:
        return response.raw
    return b"" if response.body is None else dumps(response.body).encode("utf-8")


def status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Unknown"


def spring_error_body(status: int, message: str, request: Request) -> Any:
    """Spring Boot's error JSON, as the Java services answer."""
    return {
        "timestamp": int(time.time() * 1000),
        "status": status,
        "error": status_phrase(status),
        "message": message,
        "path": request.path,
    }


def plain_error_body(status: int, message: str, _request: Request) -> Any:
    return {"error": message, "status": status}


# Request latency buckets (seconds): the front-end's own, from 5 ms to 10 s, with the 1 s and 2.5 s a latency
# incident's budget lies between.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class App:
    """Routes `METHOD /path/{param}` to handlers; errors become the service's own error JSON.

    Every app serves `GET /metrics` (Prometheus text format): `request_duration_seconds`, a histogram per
    method, route (the pattern, so an id does not make a new series) and status code, as the Sock Shop
    services label theirs; its `_count` is the request count.
    """

    def __init__(self, name: str, log: LineLog | None = None, error_body: ErrorBody = plain_error_body) -> None:
        self.name = name
        self.log = log or LineLog()
        self.error_body = error_body
        self._routes: list[tuple[str, re.Pattern[str], Handler, str]] = []
        self.registry = CollectorRegistry()
        self.latency = Histogram(
            "request_duration_seconds",
            "Time to answer a request, by method, route and status code.",
            ["service", "method", "route", "status_code"],
            registry=self.registry,
            buckets=LATENCY_BUCKETS,
        )
        self.add("GET", "/metrics", self._metrics)

    def _metrics(self, _request: Request) -> Response:
        return Response(200, raw=generate_latest(self.registry), content_type=CONTENT_TYPE_LATEST)

    def route(self, method: str, pattern: str) -> Callable[[Handler], Handler]:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern.rstrip("/") or "/") + "/?$")

        def register(handler: Handler) -> Handler:
            self._routes.append((method.upper(), regex, handler, pattern))
            return handler

        return register

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self.route(method, pattern)(handler)

    def error(self, status: int, message: str, request: Request) -> Response:
        return Response(status, self.error_body(status, message, request))

    def handle(self, request: Request) -> Response:
        started = time.perf_counter()
        route, response = self._dispatch(request)
        if route != "/metrics":
            self.latency.labels(self.name, request.method, route, str(response.status)).observe(
                time.perf_counter() - started
            )
        return response

    def _dispatch(self, request: Request) -> tuple[str, Response]:
        """The matched route pattern ("unmatched" for none) and the answer."""
        allowed: list[str] = []
        for method, regex, handler, pattern in self._routes:
            match = regex.match(request.path)
            if match is None:
                continue
            if method != request.method and not (method == "GET" and request.method == "HEAD"):
                allowed.append(method)
                continue
            request.params = dict(match.groupdict())
            try:
                return pattern, handler(request)
            except HTTPError as exc:
                if exc.body is not None:
                    return pattern, Response(exc.status, exc.body)
                return pattern, self.error(exc.status, exc.message, request)
            except Exception as exc:
                self.log.error(f"Unhandled error on {request.method} {request.path}: {type(exc).__name__}: {exc}")
                return pattern, self.error(500, "Internal server error", request)
        return "unmatched", self._no_route(request, allowed)

    def _no_route(self, request: Request, allowed: list[str]) -> Response:
        if allowed:
            response = self.error(405, f"Request method '{request.method}' not supported", request)
            response.headers["Allow"] = ", ".join(sorted(set(allowed)))
            return response
        return self.error(404, f"No handler for {request.method} {request.path}", request)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 511  # the listen backlog Node.js uses: a burst of load-test users must not be dropped

    def __init__(self, address: tuple[str, int], app: App) -> None:
        self.app = app
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 120
    # Keep-alive, as the real services speak it (every answer carries its Content-Length), with Nagle off: the
    # headers and the body go out as two writes, and a client's delayed ACK would hold the body 40 ms.
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: services log their own events."""

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY_BYTES:
                    raise ValueError("body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(8)
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY_BYTES:
            raise ValueError("bad Content-Length")
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        parts = urlsplit(self.path)
        request = Request(
            self.command, parts.path or "/", parse_qs(parts.query), self.headers, b"", raw_query=parts.query
        )
        try:
            request.body = self._read_body()
        except ValueError:
            self._write(self.server.app.error(400, "Unreadable request body", request))
            return
        self._write(self.server.app.handle(request))

    def _write(self, response: Response) -> None:
        payload = payload_of(response)
        self.send_response(response.status)
        if payload or response.raw is not None:
            self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            for one in value if isinstance(value, list) else [value]:
                self.send_header(name, one)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = do_GET


def parse_port(
    argv: Sequence[str], env: Mapping[str, str], default: int, flags: Sequence[str] = ("--port", "-port")
) -> int:
    """`--port=N` / `--port N` (or the given flags) win over `$PORT`, which wins over the default."""
    raw: str | None = None
    args = list(argv)
    for index, arg in enumerate(args):
        name, sep, value = arg.partition("=")
        if name in flags:
            if sep:
                raw = value
            elif index + 1 < len(args):
                raw = args[index + 1]
    if raw is None:
        raw = env.get("PORT") or None
    if raw is None:
        return default
    port = int(raw)
    if not 0 <= port <= 65535:
        raise ValueError(f"port out of range: {port}")
    return port


def make_server(app: App, host: str, port: int) -> ThreadingHTTPServer:
    return _Server((host, port), app)


def serve(
    app: App,
    argv: Sequence[str],
    default_port: int,
    on_start: Callable[[int], None],
    flags: Sequence[str] = ("--port", "-port"),
) -> int:
    """Bind `$BIND_HOST` (default 0.0.0.0) on the configured port, serve until SIGTERM/SIGINT, exit 0."""
    try:
        port = parse_port(argv, os.environ, default_port, flags)
    except ValueError as exc:
        print(f"{app.name}: invalid port: {exc}", flush=True)
        return 2
    server = make_server(app, os.environ.get("BIND_HOST", "").strip() or "0.0.0.0", port)
    stopping = threading.Event()

    def _stop(_signum: int, _frame: Any) -> None:
        if not stopping.is_set():
            stopping.set()
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    on_start(int(server.server_address[1]))
    try:
        server.serve_forever(poll_interval=0.1)
    finally:
        server.server_close()
    app.log.info(f"{app.name} stopped")
    return 0


# --------------------------------------------------------------------------- client side


class ClientError(Exception):
    """A request that got no HTTP answer."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(message)
        self.url = url


class LookupFailed(ClientError):
    def __init__(self, url: str, host: str) -> None:
        super().__init__(url, f"{host}: Name or service not known")
        self.host = host


class ConnectFailed(ClientError):
    def __init__(self, url: str, host: str, ip: str, port: int, error: OSError) -> None:
        self.refused = isinstance(error, ConnectionRefusedError)
        super().__init__(url, "Connection refused" if self.refused else (error.strerror or str(error)))
        self.host, self.ip, self.port = host, ip, port


class TimedOut(ClientError):
    def __init__(self, url: str, phase: str) -> None:
        super().__init__(url, f"{phase} timed out")
        self.phase = phase  # "connect" or "Read"


@dataclass(frozen=True)
class ClientResponse:
    status: int
    body: bytes

    def json(self) -> Any:
        return loads(self.body)


def http_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> ClientResponse:
    """One plain HTTP/1.1 exchange: resolve the host, connect to the address, send the original Host header."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "http" or not parts.hostname:
        raise ClientError(url, f"unsupported URL: {url}")
    host = parts.hostname
    try:
        port = parts.port or 80
    except ValueError as exc:
        raise ClientError(url, f"invalid port in URL: {url}") from exc
    deadline = time.monotonic() + timeout
    try:
        addresses = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise LookupFailed(url, host) from exc
    sock: socket.socket | None = None
    first: ClientError | None = None
    for family, socktype, proto, _canon, sockaddr in addresses:
        candidate = socket.socket(family, socktype, proto)
        try:
            candidate.settimeout(max(deadline - time.monotonic(), 0.001))
            candidate.connect(sockaddr)
        except TimeoutError as exc:
            candidate.close()
            raise TimedOut(url, "connect") from exc
        except OSError as exc:
            candidate.close()
            first = first or ConnectFailed(url, host, str(sockaddr[0]), int(sockaddr[1]), exc)
            continue
        sock = candidate
        break
    if sock is None:
        raise first or LookupFailed(url, host)
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    conn.sock = sock
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        conn.request(method, target, body=body, headers=dict(headers or {}))
        response = conn.getresponse()
        return ClientResponse(response.status, response.read())
    except TimeoutError as exc:
        raise TimedOut(url, "Read") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise ClientError(url, f"{type(exc).__name__}: {exc}") from exc
    finally:
        conn.close()


def json_request(method: str, url: str, data: Any = None, timeout: float = 10.0) -> ClientResponse:
    body = None if data is None else dumps(data).encode("utf-8")
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    return http_request(method, url, body=body, headers=headers, timeout=timeout)
