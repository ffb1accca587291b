"""Stand-in for the Sock Shop `catalogue` service (Go, go-kit): the socks on sale, read from catalogue-db (MariaDB).

`python -m services.catalogue [-port=8080] [-DSN=root:fake_password@tcp(catalogue-db:3306)/socksdb]`, the Go
service's flags (the DSN in the Go MySQL driver's form). The HTTP API, as transport.go and service.go define it:

- `GET /catalogue?tags=a,b&order=price&page=1&size=10`: a JSON list of socks (`id`, `name`, `description`,
  `imageUrl` [2 urls], `price`, `count`, `tag` [names]); `page` is 1-based, default 1, `size` default 10; a page
  past the end, or page/size 0 or junk, is `[]`. The Go service reads the order from `sort` and binds it as a
  query parameter (`ORDER BY ?`), which sorts by nothing; here `order` (or `sort`) = `id` (default), `price` or
  `name` really sorts.
- `GET /catalogue/size?tags=...`: `{"size": n, "err": null}`; `GET /tags`: `{"tags": [...], "err": null}`.
- `GET /catalogue/{id}`: the sock; an unknown id is 404 `{"error": "not found", "status_code": 404,
  "status_text": "Not Found"}`. As in the Go service, every database error of this call is reported as
  "not found" (404) too.
- `GET /health`: `{"health": [{"service": "catalogue", "status": "OK", ...}, {"service": "catalogue-db",
  "status": "OK" | "err", ...}]}`, 200 either way.
- A database that is down or refuses: 500 `{"error": "database connection error", ...}`, and the log line
  names the MySQL client's own error, e.g. `(2003, "Can't connect to MySQL server on 'catalogue-db' ([Errno 111]
  Connection refused)")`.
- Each endpoint sits behind a circuit breaker as go-kit's gobreaker wraps it: more than 5 consecutive failures
  open it for 30 s (500 `circuit breaker 'List' is open`, the database not asked), then one trial call decides.

Logs go to stderr in go-kit's logfmt, one line per call as logging.go writes them:
`ts=... caller=logging.go:27 method=List tags= order=id pageNum=1 pageSize=10 result=10 err=null took=1.23ms`,
`method=Health result=2 took=...`. The database is reached with PyMySQL over at most 32 connections, kept open
for reuse; a call that finds them all busy waits for one, as database/sql does under `SetMaxOpenConns(32)`, a 2 s
connect timeout. The Go service leaves the number open unbounded, which costs it little: a goroutine and a
driver connection are a few KB. Here each extra connection is a new MySQL handshake (milliseconds of PyMySQL CPU)
on a thread holding its buffers; under an overload of several hundred front-end calls the unbounded pool churned
connections past MariaDB's 151 and grew the process to its 200Mi limit (OOMKilled), which the Go service does
not do. The bound keeps the database as busy (32 concurrent statements saturate it) and the memory flat.
"""

from __future__ import annotations

import contextlib
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TextIO
from urllib.parse import unquote

import pymysql

from services.common import App, HTTPError, LineLog, Request, Response, serve
from services.common.web import status_phrase

DEFAULT_PORT = 8080
DEFAULT_DSN = "root:fake_password@tcp(catalogue-db:3306)/socksdb"
CONNECT_TIMEOUT_S = 2.0
QUERY_TIMEOUT_S = 60
MAX_OPEN_CONNECTIONS = 32  # open at once; a call beyond waits for one to come back
BREAKER_TIMEOUT_S = 30.0
BREAKER_MAX_CONSECUTIVE_FAILURES = 5

ERR_NOT_FOUND = "not found"
ERR_DB_CONNECTION = "database connection error"

BASE_QUERY = (
    "SELECT sock.sock_id AS id, sock.name, sock.description, sock.price, sock.count, sock.image_url_1, "
    "sock.image_url_2, GROUP_CONCAT(tag.name) AS tag_name FROM sock "
    "JOIN sock_tag ON sock.sock_id=sock_tag.sock_id JOIN tag ON sock_tag.tag_id=tag.tag_id"
)
COUNT_QUERY = (
    "SELECT COUNT(DISTINCT sock.sock_id) FROM sock "
    "JOIN sock_tag ON sock.sock_id=sock_tag.sock_id JOIN tag ON sock_tag.tag_id=tag.tag_id"
)
ORDER_COLUMNS = {"id": "sock.sock_id", "price": "sock.price", "name": "sock.name"}

# Where the Go service logs each line (its source at microservices-demo/catalogue HEAD).
CALLERS = {"List": 27, "Count": 43, "Get": 56, "Tags": 69, "Health": 81}
DB_ERROR_CALLERS = {"List": 98, "Count": 143, "Get": 156, "Tags": 189}

# --------------------------------------------------------------------------- the DSN


@dataclass(frozen=True)
class DSN:
    """A Go MySQL driver DSN: `[user[:password]@][protocol[(address)]]/dbname[?param=value&...]`."""

    user: str = ""
    password: str = ""
    protocol: str = "tcp"
    address: str = "127.0.0.1:3306"
    database: str = ""
    params: dict[str, str] = field(default_factory=dict)

    @property
    def host(self) -> str:
        return self.address.rsplit(":", 1)[0].strip("[]") if self.protocol == "tcp" else ""

    @property
    def port(self) -> int:
        return int(self.address.rsplit(":", 1)[1]) if self.protocol == "tcp" else 0

    def masked(self) -> str:
        secret = ":***" if self.password else ""
        who = f"{self.user}{secret}@" if self.user or self.password else ""
        return f"{who}{self.protocol}({self.address})/{self.database}"


def parse_dsn(text: str) -> DSN:
    """Parse as go-sql-driver/mysql's ParseDSN does; ValueError with the driver's own messages."""
    slash = text.rfind("/")
    if slash < 0:
        raise ValueError("invalid DSN: missing the slash separating the database name")
    head, tail = text[:slash], text[slash + 1 :]
    user = password = ""
    at = head.rfind("@")
    if at >= 0:
        user, _, password = head[:at].partition(":")
        head = head[at + 1 :]
    protocol, address = "tcp", ""
    if head:
        paren = head.find("(")
        if paren >= 0:
            if not head.endswith(")"):
                raise ValueError("invalid DSN: network address not terminated (missing closing brace)")
            protocol, address = head[:paren], head[paren + 1 : -1]
        else:
            protocol = head
    if protocol not in ("tcp", "unix"):
        raise ValueError(f"invalid DSN: unknown network {protocol}")
    if protocol == "tcp":
        address = address or "127.0.0.1:3306"
        if not re.search(r":\d+$", address):
            address = f"{address}:3306"
    elif not address:
        address = "/tmp/mysql.sock"
    database, _, query = tail.partition("?")
    params: dict[str, str] = {}
    for pair in filter(None, query.split("&")):
        key, sep, value = pair.partition("=")
        if not sep:
            raise ValueError("invalid DSN: did you forget to escape a param value?")
        params[key] = unquote(value)
    return DSN(user, password, protocol, address, unquote(database), params)


def go_duration_seconds(text: str) -> float:
    """A Go duration such as `5s`, `1500ms`, `1m30s` in seconds (the DSN's `timeout` param)."""
    units = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"time: invalid duration {text!r}")
    return sum(float(number) * units[unit] for number, unit in parts)


# --------------------------------------------------------------------------- go-kit's logfmt


def go_duration(seconds: float) -> str:
    """Go's time.Duration String: `0s`, `850ns`, `12.5µs`, `1.234567ms`, `2.000301s`, `1m3.5s`."""
    n = round(seconds * 1e9)
    if n == 0:
        return "0s"
    sign, n = ("-", -n) if n < 0 else ("", n)

    def decimal(whole: int, fraction: int, digits: int) -> str:
        frac = f"{fraction:0{digits}d}".rstrip("0")
        return f"{whole}.{frac}" if frac else str(whole)

    if n < 1_000:
        return f"{sign}{n}ns"
    if n < 1_000_000:
        return f"{sign}{decimal(n // 1_000, n % 1_000, 3)}µs"
    if n < 1_000_000_000:
        return f"{sign}{decimal(n // 1_000_000, n % 1_000_000, 6)}ms"
    hours, rest = divmod(n, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = decimal(rest // 1_000_000_000, rest % 1_000_000_000, 9) + "s"
    if hours or minutes:
        text = f"{minutes}m{text}"
    if hours:
        text = f"{hours}h{text}"
    return sign + text


def logfmt_value(value: Any) -> str:
    """A value as go-logfmt writes it: nil as null, plain when safe, else a quoted, escaped string."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    text = str(value)
    if text and not re.search(r'[\s="\\]', text) and text.isprintable():
        return text
    if not text:
        return ""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\t", "\\t")
    return f'"{escaped}"'


def rfc3339_nano(moment: datetime) -> str:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f").rstrip("0").rstrip(".")
    return text + "Z"


class LogfmtLog(LineLog):
    """go-kit's logger as the catalogue sets it up: logfmt on stderr, `ts` (UTC, RFC3339Nano) first."""

    def __init__(self, stream: TextIO | None = None) -> None:
        super().__init__(stream)
        self._out = stream
        self._guard = threading.Lock()

    def log(self, *keyvals: Any) -> None:
        """`log("method", "List", "took", "1ms", ...)`: keys and values in turn, as go-kit's Log takes them."""
        pairs = [("ts", rfc3339_nano(datetime.now(UTC))), *zip(keyvals[0::2], keyvals[1::2], strict=False)]
        line = " ".join(f"{key}={logfmt_value(value)}" for key, value in pairs)
        stream = self._out if self._out is not None else sys.stderr
        with self._guard:
            stream.write(line + "\n")
            stream.flush()

    def _write(self, level: str, message: str) -> None:  # what services.common's App logs (unhandled errors)
        self.log("level", level.lower(), "msg", message)


# --------------------------------------------------------------------------- pure query logic


def list_query(tags: Sequence[str], order: str) -> tuple[str, list[str]]:
    """The List query: the socks with any of the tags (all without tags), grouped per sock, sorted."""
    query, args = BASE_QUERY, list(tags)
    if tags:
        query += " WHERE " + " OR ".join("tag.name=%s" for _ in tags)
    query += " GROUP BY id"
    column = ORDER_COLUMNS.get(order, ORDER_COLUMNS["id"])
    query += f" ORDER BY {column}" + (", sock.sock_id" if column != ORDER_COLUMNS["id"] else "")
    return query + ";", args


def count_query(tags: Sequence[str]) -> tuple[str, list[str]]:
    query, args = COUNT_QUERY, list(tags)
    if tags:
        query += " WHERE " + " OR ".join("tag.name=%s" for _ in tags)
    return query + ";", args


def get_query() -> str:
    return BASE_QUERY + " WHERE sock.sock_id =%s GROUP BY sock.sock_id;"


def cut(socks: list[dict[str, Any]], page: int, size: int) -> list[dict[str, Any]]:
    """service.go cut: page is 1-based; 0 (or less) for either gives nothing, as does a page past the end."""
    if page <= 0 or size <= 0:
        return []
    start = page * size - size
    if start > len(socks):
        return []
    return socks[start : min(page * size, len(socks))]


def go_atoi(text: str | None, default: int) -> int:
    """strconv.Atoi as transport.go uses it: absent -> default, junk -> 0."""
    if text is None or text == "":
        return default
    try:
        return int(text, 10)
    except ValueError:
        return 0


def split_tags(text: str | None) -> list[str]:
    return text.split(",") if text else []


def price(value: Any) -> Decimal | int:
    """A FLOAT column's value as Go's float32 JSON shows it: 17.15, 7.99, 15 (no trailing .0)."""
    number = Decimal(repr(float(value))).normalize()
    return int(number) if number == number.to_integral_value() else number


def sock(row: Sequence[Any]) -> dict[str, Any]:
    sock_id, name, description, cost, count, url_1, url_2, tag_names = row
    return {
        "id": sock_id,
        "name": name,
        "description": description,
        "imageUrl": [url_1, url_2],
        "price": price(cost),
        "count": count,
        "tag": (tag_names or "").split(","),
    }


# --------------------------------------------------------------------------- the database


class Database:
    """PyMySQL connections to catalogue-db: at most `max_open` at once, each kept for reuse; a reused one that
    fails (the server restarted) is replaced once, as Go's database/sql retries a bad connection."""

    def __init__(self, dsn: DSN, max_open: int = MAX_OPEN_CONNECTIONS) -> None:
        self.dsn = dsn
        self._idle: queue.LifoQueue[Any] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(max_open)
        timeout = dsn.params.get("timeout")
        self.connect_timeout = go_duration_seconds(timeout) if timeout else CONNECT_TIMEOUT_S

    def _connect(self) -> Any:
        where: dict[str, Any] = (
            {"host": self.dsn.host, "port": self.dsn.port}
            if self.dsn.protocol == "tcp"
            else {"unix_socket": self.dsn.address}
        )
        return pymysql.connect(
            **where,
            user=self.dsn.user or "root",
            password=self.dsn.password,
            database=self.dsn.database or None,
            connect_timeout=self.connect_timeout,
            read_timeout=QUERY_TIMEOUT_S,
            write_timeout=QUERY_TIMEOUT_S,
            charset="utf8mb4",
            autocommit=True,
        )

    def _take(self) -> tuple[Any, bool]:
        """An idle connection (True: reused) or a new one (False); the caller holds a slot."""
        try:
            return self._idle.get_nowait(), True
        except queue.Empty:
            return self._connect(), False

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Rows of one statement, on one of the open connections (waiting for a slot when all are busy). A reused
        connection that fails is dropped and the statement tried once more on a new one; errors of a new
        connection (refused, access denied, a bad query) are the caller's."""
        with self._slots:
            while True:
                conn, reused = self._take()
                try:
                    with conn.cursor() as cursor:
                        cursor.execute(sql, tuple(args) or None)
                        rows = list(cursor.fetchall())
                except (pymysql.err.OperationalError, pymysql.err.InterfaceError):
                    with contextlib.suppress(Exception):
                        conn.close()
                    if reused:
                        continue
                    raise
                except BaseException:
                    with contextlib.suppress(Exception):
                        conn.close()
                    raise
                self._idle.put_nowait(conn)
                return rows

    def ping(self) -> None:
        self.query("SELECT 1")

    def close(self) -> None:
        while True:
            try:
                conn = self._idle.get_nowait()
            except queue.Empty:
                return
            with contextlib.suppress(Exception):
                conn.close()


# --------------------------------------------------------------------------- the circuit breaker


class BreakerOpen(Exception):
    """The breaker refused the call (open, or half-open with its one trial call under way)."""


class CircuitBreaker:
    """gobreaker with go-kit's settings: closed until more than 5 consecutive failures, then open for 30 s;
    then half-open, where one call may try: its success closes the breaker, its failure opens it again."""

    CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"

    def __init__(
        self,
        name: str,
        timeout_s: float = BREAKER_TIMEOUT_S,
        max_failures: int = BREAKER_MAX_CONSECUTIVE_FAILURES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.name, self.timeout_s, self.max_failures, self.clock = name, timeout_s, max_failures, clock
        self._state, self._failures, self._opened_at, self._trials = self.CLOSED, 0, 0.0, 0
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        with self._lock:
            return self._current()

    def _current(self) -> str:
        if self._state == self.OPEN and self.clock() - self._opened_at >= self.timeout_s:
            self._state, self._trials = self.HALF_OPEN, 0
        return self._state

    def before(self) -> None:
        with self._lock:
            state = self._current()
            if state == self.OPEN:
                raise BreakerOpen(f"circuit breaker '{self.name}' is open")
            if state == self.HALF_OPEN:
                if self._trials >= 1:
                    raise BreakerOpen("too many requests")
                self._trials += 1

    def after(self, success: bool) -> None:
        with self._lock:
            state = self._current()
            if success:
                self._failures = 0
                if state == self.HALF_OPEN:
                    self._state = self.CLOSED
                return
            self._failures += 1
            if state == self.HALF_OPEN or self._failures > self.max_failures:
                self._state, self._opened_at, self._failures = self.OPEN, self.clock(), 0


# --------------------------------------------------------------------------- the service


class CatalogueFailure(Exception):
    """An endpoint error with the Go service's text (`not found`, `database connection error`)."""

    def __init__(self, text: str, status: int) -> None:
        super().__init__(text)
        self.status = status


def _error_body(status: int, message: str, _request: Request) -> Any:
    """transport.go encodeError."""
    return {"error": message, "status_code": status, "status_text": status_phrase(status)}


def _go_time_string(moment: datetime) -> str:
    """Go's time.Now().String() without the monotonic reading: `2026-11-23 08:24:46.123456 +0000 UTC`."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f +0000 UTC")


class CatalogueService:
    def __init__(self, database: Database, log: LogfmtLog | None = None) -> None:
        self.log: LogfmtLog = log or LogfmtLog()
        self.app = App("catalogue", self.log, _error_body)
        self.db = database
        self.breakers = {name: CircuitBreaker(name) for name in ("List", "Count", "Get", "Tags", "Health")}
        app = self.app
        app.add("GET", "/catalogue", self._endpoint("List", self.list_socks))
        app.add("GET", "/catalogue/size", self._endpoint("Count", self.count_socks))
        app.add("GET", "/catalogue/{id}", self._endpoint("Get", self.get_sock))
        app.add("GET", "/tags", self._endpoint("Tags", self.tags))
        app.add("GET", "/health", self._endpoint("Health", self.health))

    def _endpoint(self, name: str, handler: Callable[[Request], Response]) -> Callable[[Request], Response]:
        """go-kit's server around an endpoint: the breaker, then the error encoder and the error log line."""
        breaker = self.breakers[name]

        def serve_request(request: Request) -> Response:
            try:
                breaker.before()
                try:
                    response = handler(request)
                except CatalogueFailure:
                    breaker.after(False)
                    raise
                breaker.after(True)
                return response
            except (CatalogueFailure, BreakerOpen) as exc:
                self.log.log("err", str(exc))
                status = exc.status if isinstance(exc, CatalogueFailure) else 500
                raise HTTPError(status, str(exc)) from exc

        return serve_request

    def _db_error(self, method: str, exc: Exception) -> None:
        self.log.log("caller", f"service.go:{DB_ERROR_CALLERS[method]}", "database error", str(exc))

    def _logged(self, method: str, started: float, *keyvals: Any) -> None:
        took = go_duration(time.perf_counter() - started)
        self.log.log("caller", f"logging.go:{CALLERS[method]}", "method", method, *keyvals, "took", took)

    # ------------------------------------------------------------------ endpoints

    def list_socks(self, request: Request) -> Response:
        page = go_atoi(request.arg("page"), 1)
        size = go_atoi(request.arg("size"), 10)
        order = (request.arg("order") or request.arg("sort") or "id").lower()
        tags = split_tags(request.arg("tags"))
        started = time.perf_counter()
        socks: list[dict[str, Any]] = []
        error: str | None = None
        try:
            sql, args = list_query(tags, order)
            socks = cut([sock(row) for row in self.db.query(sql, args)], page, size)
        except pymysql.MySQLError as exc:
            self._db_error("List", exc)
            error = ERR_DB_CONNECTION
        self._logged(
            "List", started, "tags", ", ".join(tags), "order", order, "pageNum", page, "pageSize", size,
            "result", len(socks), "err", error,
        )  # fmt: skip
        if error:
            raise CatalogueFailure(error, 500)
        return Response(200, socks)

    def count_socks(self, request: Request) -> Response:
        tags = split_tags(request.arg("tags"))
        started = time.perf_counter()
        count, error = 0, None
        try:
            sql, args = count_query(tags)
            count = int(self.db.query(sql, args)[0][0])
        except pymysql.MySQLError as exc:
            self._db_error("Count", exc)
            error = ERR_DB_CONNECTION
        self._logged("Count", started, "tags", ", ".join(tags), "result", count, "err", error)
        if error:
            raise CatalogueFailure(error, 500)
        return Response(200, {"size": count, "err": None})

    def get_sock(self, request: Request) -> Response:
        sock_id = request.params["id"]
        started = time.perf_counter()
        found: dict[str, Any] | None = None
        try:
            rows = self.db.query(get_query(), [sock_id])
            found = sock(rows[0]) if rows else None
            if found is None:
                self._db_error("Get", Exception("sql: no rows in result set"))
        except pymysql.MySQLError as exc:
            self._db_error("Get", exc)
        error = None if found else ERR_NOT_FOUND
        self._logged("Get", started, "id", sock_id, "sock", found["id"] if found else "", "err", error)
        if found is None:
            raise CatalogueFailure(ERR_NOT_FOUND, 404)
        return Response(200, found)

    def tags(self, _request: Request) -> Response:
        started = time.perf_counter()
        names: list[str] = []
        error = None
        try:
            names = [str(row[0]) for row in self.db.query("SELECT name FROM tag;")]
        except pymysql.MySQLError as exc:
            self._db_error("Tags", exc)
            error = ERR_DB_CONNECTION
        self._logged("Tags", started, "result", len(names), "err", error)
        if error:
            raise CatalogueFailure(error, 500)
        return Response(200, {"tags": names, "err": None})

    def health(self, _request: Request) -> Response:
        started = time.perf_counter()
        db_status = "OK"
        try:
            self.db.ping()
        except pymysql.MySQLError:
            db_status = "err"
        now = _go_time_string(datetime.now(UTC))
        health = [
            {"service": "catalogue", "status": "OK", "time": now},
            {"service": "catalogue-db", "status": db_status, "time": now},
        ]
        self._logged("Health", started, "result", len(health))
        return Response(200, {"health": health})


# --------------------------------------------------------------------------- the program


def flag_value(argv: Sequence[str], name: str) -> str | None:
    """A Go flag's value: `-name=v`, `--name=v`, `-name v` or `--name v` (the last one wins)."""
    found: str | None = None
    args = list(argv)
    for index, arg in enumerate(args):
        key, sep, value = arg.partition("=")
        if key in (f"-{name}", f"--{name}"):
            if sep:
                found = value
            elif index + 1 < len(args):
                found = args[index + 1]
    return found


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    log = LogfmtLog()
    try:
        dsn = parse_dsn(flag_value(args, "DSN") or DEFAULT_DSN)
    except ValueError as exc:
        log.log("caller", "main.go:111", "err", str(exc))
        return 1
    database = Database(dsn)
    try:
        database.ping()
    except pymysql.MySQLError:
        log.log("caller", "main.go:119", "Error", "Unable to connect to Database", "DSN", dsn.masked())
    service = CatalogueService(database, log)

    def started(port: int) -> None:
        log.log("caller", "main.go:147", "transport", "HTTP", "port", port)

    code = serve(service.app, args, DEFAULT_PORT, started)
    log.log("caller", "main.go:158", "exit", "terminated")
    database.close()
    return code
