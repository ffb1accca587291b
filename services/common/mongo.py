"""PyMongo as the MongoDB-backed stand-ins (carts, orders, user) use it: how a Spring Boot service finds its
database, a client that reports an unreachable database within 2 s, and one retry after a dropped connection."""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import pymongo
from pymongo import MongoClient
from pymongo.errors import AutoReconnect, PyMongoError, ServerSelectionTimeoutError
from pymongo.server_type import SERVER_TYPE
from pymongo.uri_parser import parse_uri

from services.common.util import LineLog, rfc3339_now
from services.common.web import HTTPError, Request, Response

TIMEOUT_MS = 2000
HEALTH_TIMEOUT_S = 1.0  # a health check answers in a second, whatever the database does
HEARTBEAT_MS = 500  # the driver's monitor checks the server this often (its least; default 10 s)
T = TypeVar("T")


def spring_mongo_uri(argv: Sequence[str], env: Mapping[str, str], default_host: str) -> str:
    """The MongoDB URI a Spring Boot service with `mongodb://${db:<default_host>}:27017/data` would use."""

    def arg(name: str) -> str | None:
        found = None
        for item in argv:
            key, sep, value = item.partition("=")
            if key == f"--{name}" and sep:
                found = value
        return found

    uri = arg("spring.data.mongodb.uri") or env.get("SPRING_DATA_MONGODB_URI")
    if uri:
        return uri
    host = arg("db") or env.get("DB")
    if host:
        return f"mongodb://{host}:27017/data"
    if env.get("MONGO_HOST"):
        return f"mongodb://{env['MONGO_HOST']}/data"
    return f"mongodb://{default_host}:27017/data"


def database_of(uri: str, default: str = "data") -> str:
    return str(parse_uri(uri).get("database") or default)


def without_credentials(uri: str) -> str:
    return re.sub(r"//[^@/]*@", "//", uri)


def connect(uri: str) -> MongoClient[dict[str, Any]]:
    """A PyMongo client that gives up on an unreachable server after 2 s (the driver's default is 30 s)."""
    return MongoClient(
        uri,
        serverSelectionTimeoutMS=TIMEOUT_MS,
        connectTimeoutMS=TIMEOUT_MS,
        socketTimeoutMS=10 * TIMEOUT_MS,
        heartbeatFrequencyMS=HEARTBEAT_MS,
        directConnection=True,
    )


def once_more(client: MongoClient[dict[str, Any]], operation: Callable[[], T]) -> T:
    """Run a database operation, and once more after AutoReconnect, when the server went away: the first
    failure is only what the driver met first (a pooled connection closed, or a refused connect while its
    monitor still lists the server, for up to a heartbeat); once the monitor has seen the server gone (within
    HEARTBEAT_MS) the second try waits for server selection, so an unreachable database is reported the same
    way every time: ServerSelectionTimeoutError naming the refused connection, after the 2 s timeout."""
    try:
        return operation()
    except ServerSelectionTimeoutError:
        raise
    except AutoReconnect:
        deadline = time.monotonic() + 2 * HEARTBEAT_MS / 1000
        while time.monotonic() < deadline and any(
            server.server_type != SERVER_TYPE.Unknown
            for server in client.topology_description.server_descriptions().values()
        ):
            time.sleep(0.02)
        return operation()


class MongoBacked:
    """What the MongoDB-backed services share: a database failure answers 500 and logs PyMongo's own error, and
    every operation goes through `once_more`."""

    name: str  # the service as /health names it; its database is "<name>-db"
    client: MongoClient[dict[str, Any]]
    log: LineLog

    def _guarded(self, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        def guarded(request: Request) -> Response:
            try:
                return handler(request)
            except PyMongoError as exc:
                text = f"{type(exc).__name__}: {exc}"
                self.log.error(f"database error on {request.method} {request.path}: {text}")
                raise HTTPError(500, text) from exc

        return guarded

    def _db(self, operation: Callable[[], T]) -> T:
        return once_more(self.client, operation)

    def health(self, _request: Request) -> Response:
        """The service and its database, as the real services report them (the database "err" when unreachable)."""
        try:
            with pymongo.timeout(HEALTH_TIMEOUT_S):  # a health check answers in a second, whatever the database does
                self.client.admin.command("ping")
            db_status = "OK"
        except PyMongoError as exc:
            self.log.error(f"database error on health check: {type(exc).__name__}: {exc}")
            db_status = "err"
        now = rfc3339_now()
        services = [(self.name, "OK"), (f"{self.name}-db", db_status)]
        return Response(200, {"health": [{"service": s, "status": status, "time": now} for s, status in services]})
