"""Sessions as the real front-end keeps them (express-session, connect-redis): cookie `md.sid`, store `sess:<id>`.

- The cookie is `md.sid=s%3A<id>.<signature>`: the id (24 random bytes, base64url, 32 characters) signed as
  cookie-signature does (HMAC-SHA256 with the secret, base64 without padding). A missing, unsigned or forged
  cookie, or one naming a session the store no longer has, gets a new session and a new cookie.
- Every request through the session layer gets a session, saved even when nothing was put in it
  (`saveUninitialized: true`): an anonymous visitor's session id is also the id of their cart.
- Redis (`SESSION_REDIS`): the session JSON under `sess:<id>` with a one-day TTL (connect-redis's default when
  the cookie has no max age), re-armed on every request that reads the session (connect-redis `touch`).
- When the store cannot be reached, express-session carries on without a session (`req.session` undefined):
  pages that need none still work; the ones that do fail with Node's TypeError.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, unquote

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

SESSION_COOKIE = "md.sid"
LOGGED_IN_COOKIE = "logged_in"
SESSION_TTL_S = 86400
LOGGED_IN_MAX_AGE_S = 3600
DEFAULT_SECRET = "sooper secret"
_NEW_COOKIE = {"originalMaxAge": None, "expires": None, "httpOnly": True, "path": "/"}


# --------------------------------------------------------------------------- cookies


def sign(value: str, secret: str) -> str:
    """cookie-signature's `sign`: `<value>.<base64 HMAC-SHA256, padding stripped>`."""
    digest = hmac.new(secret.encode("utf-8"), value.encode("utf-8"), hashlib.sha256).digest()
    return f"{value}.{base64.b64encode(digest).decode('ascii').rstrip('=')}"


def unsign(signed: str, secret: str) -> str | None:
    value, dot, _signature = signed.rpartition(".")
    if not dot:
        return None
    return value if hmac.compare_digest(sign(value, secret), signed) else None


def parse_cookies(header: str | None) -> dict[str, str]:
    """The `Cookie` header as the `cookie` package reads it: the first of a repeated name wins."""
    cookies: dict[str, str] = {}
    if not header:
        return cookies
    for pair in header.split(";"):
        name, eq, value = pair.partition("=")
        name = name.strip()
        if not eq or not name or name in cookies:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        try:
            cookies[name] = unquote(value, errors="strict")
        except UnicodeDecodeError:
            cookies[name] = value
    return cookies


def session_cookie(session_id: str, secret: str) -> str:
    return f"{SESSION_COOKIE}={quote('s:' + sign(session_id, secret), safe='')}; Path=/; HttpOnly"


def logged_in_cookie(session_id: str) -> str:
    """Express's `res.cookie("logged_in", id, {maxAge: 3600000})`."""
    expires = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + LOGGED_IN_MAX_AGE_S))
    return f"{LOGGED_IN_COOKIE}={quote(session_id, safe='')}; Max-Age={LOGGED_IN_MAX_AGE_S}; Path=/; Expires={expires}"


def new_session_id() -> str:
    return secrets.token_urlsafe(24)


# --------------------------------------------------------------------------- sessions and stores


@dataclass
class Session:
    id: str
    data: dict[str, Any]
    is_new: bool = False
    modified: bool = False
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def customer_id(self) -> str | None:
        value = self.data.get("customerId")
        return None if value is None else str(value)

    def set_customer(self, customer_id: str) -> None:
        self.data["customerId"] = customer_id
        self.modified = True

    @property
    def logged_in(self) -> bool:
        return bool(self.cookies.get(LOGGED_IN_COOKIE))


class StoreDown(Exception):
    """The session store cannot be reached; `message` reads as the Node Redis client's error."""


class Store(Protocol):
    def load(self, session_id: str) -> dict[str, Any] | None:
        """The stored session (its TTL re-armed), or None."""
        ...

    def save(self, session_id: str, data: dict[str, Any]) -> None: ...


class MemoryStore:
    """express-session's MemoryStore: in this process only, expired entries dropped when read."""

    def __init__(self, ttl_s: float = SESSION_TTL_S) -> None:
        self.ttl_s = ttl_s
        self._lock = threading.Lock()
        self._data: dict[str, tuple[str, float]] = {}

    def load(self, session_id: str) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            entry = self._data.get(session_id)
            if entry is None:
                return None
            if entry[1] <= now:
                del self._data[session_id]
                return None
            self._data[session_id] = (entry[0], now + self.ttl_s)
        loaded = json.loads(entry[0])
        return loaded if isinstance(loaded, dict) else None

    def save(self, session_id: str, data: dict[str, Any]) -> None:
        text = json.dumps(data, separators=(",", ":"))
        with self._lock:
            self._data[session_id] = (text, time.monotonic() + self.ttl_s)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)


class RedisStore:
    """connect-redis: `sess:<id>` -> session JSON, SETEX with the TTL; a read re-arms the TTL (touch)."""

    def __init__(
        self,
        host: str,
        port: int,
        ttl_s: int = SESSION_TTL_S,
        timeout_s: float = 2.0,
        waiting: Callable[[], AbstractContextManager[None]] = contextlib.nullcontext,
    ) -> None:
        self.host, self.port, self.ttl_s = host, port, ttl_s
        self.waiting = waiting  # wraps each round trip to Redis: the server's baton is given up meanwhile
        self.client = redis.Redis(
            host=host,
            port=port,
            socket_connect_timeout=timeout_s,
            socket_timeout=timeout_s,
            retry=Retry(NoBackoff(), 1),  # one quick retry on a fresh connection; the library default backs off
            decode_responses=True,
        )

    def _down(self, exc: Exception) -> StoreDown:
        cause = exc.__cause__ or exc.__context__ or exc
        reason = str(cause)
        if isinstance(cause, ConnectionRefusedError) or "refused" in reason.lower():
            try:
                ip = socket.getaddrinfo(self.host, self.port, 0, socket.SOCK_STREAM)[0][4][0]
            except (OSError, IndexError):
                ip = self.host
            reason = f"connect ECONNREFUSED {ip}:{self.port}"
        elif isinstance(exc, redis.TimeoutError):
            reason = "connect ETIMEDOUT"
        return StoreDown(f"Redis connection to {self.host}:{self.port} failed - {reason}")

    def load(self, session_id: str) -> dict[str, Any] | None:
        key = f"sess:{session_id}"
        try:
            pipe = self.client.pipeline(transaction=False)
            pipe.get(key)
            pipe.expire(key, self.ttl_s)
            with self.waiting():
                text, _touched = pipe.execute()
        except redis.RedisError as exc:
            raise self._down(exc) from exc
        if not text:
            return None
        try:
            loaded = json.loads(text)
        except ValueError:
            return None
        return loaded if isinstance(loaded, dict) else None

    def save(self, session_id: str, data: dict[str, Any]) -> None:
        try:
            text = json.dumps(data, separators=(",", ":"))
            with self.waiting():
                self.client.setex(f"sess:{session_id}", self.ttl_s, text)
        except redis.RedisError as exc:
            raise self._down(exc) from exc


class Sessions:
    """Opens the request's session (or a new one) and saves it with the response, as express-session does."""

    def __init__(self, store: Store, secret: str = DEFAULT_SECRET) -> None:
        self.store = store
        self.secret = secret

    def open(self, cookie_header: str | None) -> Session:
        """The session the cookie names, else a new one; StoreDown when the store cannot be reached."""
        cookies = parse_cookies(cookie_header)
        raw = cookies.get(SESSION_COOKIE, "")
        session_id = unsign(raw[2:], self.secret) if raw.startswith("s:") else None
        if session_id:
            data = self.store.load(session_id)
            if data is not None:
                return Session(session_id, data, cookies=cookies)
        # Saved at once rather than with the response (saveUninitialized saves it either way): a store that is down
        # is found here, so the request goes on without a session, as express-session does with its store down.
        session = Session(new_session_id(), {"cookie": dict(_NEW_COOKIE)}, is_new=True, cookies=cookies)
        self.store.save(session.id, session.data)
        return session

    def commit(self, session: Session) -> list[str]:
        """Save a changed session; the Set-Cookie values to send (StoreDown when it cannot be saved)."""
        if session.modified:
            self.store.save(session.id, session.data)
        return [session_cookie(session.id, self.secret)] if session.is_new else []
