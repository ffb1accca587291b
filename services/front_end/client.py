"""The front-end's HTTP client for its downstreams: kept-alive connections, failures worded as Node reports them.

The real front-end (Node.js, the `request` library) opens a connection per call. Here idle connections are kept
per host and port and reused while the server keeps them open (HTTP/1.1 keep-alive); a server answering
HTTP/1.0 or `Connection: close` simply gets a new connection per call. A call that fails on a reused connection
before any answer (the server closed it while idle) is sent once more on a new connection.

A call that gets no HTTP answer raises `NodeError`, whose message and fields are those of Node's error object
(`connect ECONNREFUSED 10.96.12.7:80`, `getaddrinfo ENOTFOUND catalogue catalogue:80`, ...), so the front-end's
log lines and error bodies read as the real one's.
"""

from __future__ import annotations

import contextlib
import errno
import http.client
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from services.common import loads

IDLE_KEEP_S = 4.0  # an idle connection older than this is closed rather than reused
MAX_IDLE_PER_HOST = 64


class NodeError(Exception):
    """A downstream call with no HTTP answer, as Node names it: `message` and the error object's own fields."""

    def __init__(self, message: str, fields: dict[str, Any]) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields

    @property
    def code(self) -> str:
        return str(self.fields.get("code", ""))

    def __str__(self) -> str:
        return f"Error: {self.message}"


def _errno_name(error: OSError) -> str:
    return errno.errorcode.get(error.errno or 0, "ECONNREFUSED" if isinstance(error, ConnectionRefusedError) else "EIO")


def connect_error(error: OSError, ip: str, port: int) -> NodeError:
    name = _errno_name(error)
    fields = {"errno": name, "code": name, "syscall": "connect", "address": ip, "port": port}
    return NodeError(f"connect {name} {ip}:{port}", fields)


def lookup_error(host: str, port: int) -> NodeError:
    fields: dict[str, Any] = {"errno": "ENOTFOUND", "code": "ENOTFOUND", "syscall": "getaddrinfo"}
    fields.update({"hostname": host, "host": host, "port": port})
    return NodeError(f"getaddrinfo ENOTFOUND {host} {host}:{port}", fields)


def timeout_error(connecting: bool) -> NodeError:
    code = "ETIMEDOUT" if connecting else "ESOCKETTIMEDOUT"
    return NodeError(code, {"code": code, "connect": connecting})


def reset_error(error: BaseException) -> NodeError:
    if isinstance(error, http.client.RemoteDisconnected):
        return NodeError("socket hang up", {"code": "ECONNRESET"})
    name = _errno_name(error) if isinstance(error, OSError) and error.errno else "ECONNRESET"
    syscall = "write" if isinstance(error, BrokenPipeError) else "read"
    return NodeError(f"{syscall} {name}", {"errno": name, "code": name, "syscall": syscall})


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        """The body as JSON (exact decimals); ValueError when it is not JSON."""
        return loads(self.body)


def _quick_ack(sock: socket.socket | None) -> None:
    """Acknowledge the answer's first segment at once (Linux): a kept-alive server that writes its headers and its
    body separately (Nagle's algorithm on its side) would otherwise wait for the delayed ACK, 40 ms a call."""
    if sock is not None and hasattr(socket, "TCP_QUICKACK"):
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)


_RETRYABLE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)


class Downstream:
    """Thread-safe keep-alive HTTP/1.1 client (plain http only)."""

    def __init__(
        self,
        timeout_s: float = 30.0,
        idle_keep_s: float = IDLE_KEEP_S,
        waiting: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
    ) -> None:
        self.timeout_s = timeout_s
        self.waiting = waiting  # wraps each exchange with a service: the server's baton is given up meanwhile
        self.idle_keep_s = idle_keep_s
        self._lock = threading.Lock()
        self._idle: dict[tuple[str, int], list[tuple[http.client.HTTPConnection, float]]] = {}

    # ------------------------------------------------------------------ connections

    def _take(self, key: tuple[str, int]) -> http.client.HTTPConnection | None:
        """The most recently used idle connection; when even that one idled too long, all of them are stale."""
        stale: list[http.client.HTTPConnection] = []
        with self._lock:
            idle = self._idle.get(key)
            if not idle:
                return None
            conn, since = idle.pop()
            if time.monotonic() - since <= self.idle_keep_s:
                return conn
            stale = [conn, *(older for older, _since in idle)]
            idle.clear()
        for old in stale:
            old.close()
        return None

    def _give(self, key: tuple[str, int], conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < MAX_IDLE_PER_HOST:
                idle.append((conn, time.monotonic()))
                return
        conn.close()

    def _connect(self, host: str, port: int) -> http.client.HTTPConnection:
        # socket.getaddrinfo is looked up at call time: the local cluster patches it to resolve its Service names.
        try:
            addresses = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise lookup_error(host, port) from exc
        first: NodeError | None = None
        for family, socktype, proto, _canon, sockaddr in addresses:
            sock = socket.socket(family, socktype, proto)
            try:
                sock.settimeout(self.timeout_s)
                sock.connect(sockaddr)
            except TimeoutError as exc:
                sock.close()
                raise timeout_error(connecting=True) from exc
            except OSError as exc:
                sock.close()
                first = first or connect_error(exc, str(sockaddr[0]), int(sockaddr[1]))
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = http.client.HTTPConnection(host, port, timeout=self.timeout_s)
            conn.sock = sock
            return conn
        raise first or lookup_error(host, port)

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for entries in idle.values():
            for conn, _since in entries:
                conn.close()

    # ------------------------------------------------------------------ calls

    def request(self, method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> Reply:
        with self.waiting():
            return self._exchange(method, url, body, headers)

    def _exchange(self, method: str, url: str, body: bytes | None, headers: dict[str, str] | None) -> Reply:
        parts = urlsplit(url)
        host = parts.hostname
        if parts.scheme != "http" or not host:
            raise NodeError(f'Invalid URI "{url}"', {})
        port = parts.port or 80
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        key = (host, port)
        send_headers = dict(headers or {})
        if body is not None:
            send_headers.setdefault("Content-Type", "application/json")
        while True:
            conn = self._take(key)
            reused = conn is not None
            if conn is None:
                conn = self._connect(host, port)
            try:
                conn.request(method, target, body=body, headers=send_headers)
                _quick_ack(conn.sock)
                response = conn.getresponse()
                data = response.read()
            except _RETRYABLE as exc:
                conn.close()
                if reused:
                    continue
                raise reset_error(exc) from exc
            except TimeoutError as exc:
                conn.close()
                raise timeout_error(connecting=False) from exc
            except (OSError, http.client.HTTPException) as exc:
                conn.close()
                raise reset_error(exc) from exc
            if response.will_close or conn.sock is None:
                conn.close()
            else:
                self._give(key, conn)
            return Reply(response.status, response.getheader("Content-Type") or "", data)
