"""The catalogue stand-in on the real catalogue-db (MariaDB seeded as the image is): the API, its log lines, a
database that is down, the circuit breaker."""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import pytest

from services.catalogue.app import (
    DSN,
    BreakerOpen,
    CatalogueService,
    CircuitBreaker,
    Database,
    LogfmtLog,
    count_query,
    cut,
    flag_value,
    go_atoi,
    go_duration,
    go_duration_seconds,
    list_query,
    logfmt_value,
    parse_dsn,
    price,
)
from services.common import make_server

# The 10 socks of the catalogue-db image, by id: name, price as the Go service shows it, count.
SOCKS = {
    "03fef6ac-1896-4ce8-bd69-b798f85c6e0b": ("Holy", "99.99", 1),
    "3395a43e-2d88-40de-b95f-e00e1502085b": ("Colourful", "18", 438),
    "510a0d7e-8e83-4193-b483-e27e09ddc34d": ("SuperSport XL", "15", 820),
    "6d62d909-f957-430e-8689-b5129c0bb75e": ("Weave special", "17.15", 33),
    "808a2de1-1aaa-4c25-a9b9-6612e8f29a38": ("Crossed", "17.32", 738),
    "819e1fbf-8b7e-4f6d-811f-693534916a8b": ("Figueroa", "14", 808),
    "837ab141-399e-4c1f-9abc-bace40296bac": ("Cat socks", "15", 175),
    "a0a4f044-b040-410d-8ead-4de0446aec7e": ("Nerd leg", "7.99", 115),
    "d3588630-ad8e-49df-bbd7-3167f7efb246": ("YouTube.sock", "10.99", 801),
    "zzz4f044-b040-410d-8ead-4de0446aec7e": ("Classic", "12", 127),
}
TAGS = ["brown", "geek", "formal", "blue", "skin", "red", "action", "sport", "black", "magic", "green"]
TS = r"ts=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"
TOOK = r"took=\d+(\.\d+)?(ns|µs|ms|s)"


@pytest.fixture
def catalogue(run_server: Callable[..., Any], catalogue_db: Any) -> Callable[..., Any]:
    """`catalogue(port=...)`: the service on the module's catalogue-db (or on another port: nothing there)."""

    def start(port: int | None = None) -> Any:
        stream = io.StringIO()
        dsn = parse_dsn(f"root:fake_password@tcp(127.0.0.1:{port or catalogue_db.port})/socksdb")
        service = CatalogueService(Database(dsn), LogfmtLog(stream))
        running = run_server(make_server(service.app, "127.0.0.1", 0), stream)
        running.service = service
        return running

    return start


# --------------------------------------------------------------------------- pure logic


@pytest.mark.parametrize(
    ("text", "dsn"),
    [
        (
            "root:fake_password@tcp(catalogue-db:3306)/socksdb",
            DSN("root", "fake_password", "tcp", "catalogue-db:3306", "socksdb"),
        ),
        (
            "catalogue_user:default_password@tcp(catalogue-db:3306)/socksdb",
            DSN("catalogue_user", "default_password", "tcp", "catalogue-db:3306", "socksdb"),
        ),
        ("user:p@ss:word@tcp(db)/d?timeout=5s", DSN("user", "p@ss:word", "tcp", "db:3306", "d", {"timeout": "5s"})),
        ("/socksdb", DSN("", "", "tcp", "127.0.0.1:3306", "socksdb")),
        ("root@unix(/run/mysqld.sock)/socksdb", DSN("root", "", "unix", "/run/mysqld.sock", "socksdb")),
        ("root:pw@tcp([::1]:3307)/", DSN("root", "pw", "tcp", "[::1]:3307", "")),
    ],
)
def test_parse_dsn(text: str, dsn: DSN) -> None:
    assert parse_dsn(text) == dsn


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("root:pw@tcp(db:3306)", "invalid DSN: missing the slash separating the database name"),
        ("root:pw@tcp(db:3306/socksdb", "invalid DSN: network address not terminated"),
        ("root:pw@udp(db)/socksdb", "invalid DSN: unknown network udp"),
        ("root:pw@tcp(db)/socksdb?timeout", "invalid DSN: did you forget to escape a param value"),
    ],
)
def test_parse_dsn_rejects(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_dsn(text)


def test_dsn_parts() -> None:
    dsn = parse_dsn("root:fake_password@tcp(catalogue-db:3306)/socksdb")
    assert (dsn.host, dsn.port, dsn.masked()) == ("catalogue-db", 3306, "root:***@tcp(catalogue-db:3306)/socksdb")
    assert parse_dsn("root:pw@tcp([::1]:3307)/").host == "::1"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (850e-9, "850ns"),
        (12.5e-6, "12.5µs"),
        (0.00123, "1.23ms"),
        (0.001234567, "1.234567ms"),
        (0.25, "250ms"),
        (2.000301, "2.000301s"),
        (63.5, "1m3.5s"),
        (3600, "1h0m0s"),
    ],
)
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


@pytest.mark.parametrize(("text", "seconds"), [("5s", 5.0), ("1500ms", 1.5), ("1m30s", 90.0), ("250us", 0.00025)])
def test_go_duration_seconds(text: str, seconds: float) -> None:
    assert go_duration_seconds(text) == pytest.approx(seconds)
    with pytest.raises(ValueError, match="invalid duration"):
        go_duration_seconds("5 s")


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        ("", ""),
        ("List", "List"),
        (10, "10"),
        ("brown, geek", '"brown, geek"'),
        ("database connection error", '"database connection error"'),
        ('(2003, "Can\'t connect")', '"(2003, \\"Can\'t connect\\")"'),
        ("a=b", '"a=b"'),
    ],
)
def test_logfmt_value(value: Any, text: str) -> None:
    assert logfmt_value(value) == text


@pytest.mark.parametrize(
    ("tags", "order", "where", "sort", "args"),
    [
        ([], "id", "", "sock.sock_id", []),
        (["geek"], "price", " WHERE tag.name=%s", "sock.price, sock.sock_id", ["geek"]),
        (["geek", "magic"], "name", " WHERE tag.name=%s OR tag.name=%s", "sock.name, sock.sock_id", ["geek", "magic"]),
        ([], "price; DROP TABLE sock", "", "sock.sock_id", []),  # only known columns: never SQL from the query
    ],
)
def test_list_query(tags: list[str], order: str, where: str, sort: str, args: list[str]) -> None:
    sql, got = list_query(tags, order)
    assert sql.endswith(f"tag.tag_id{where} GROUP BY id ORDER BY {sort};")
    assert got == args


def test_count_query() -> None:
    assert count_query([]) == (count_query([])[0], [])
    sql, args = count_query(["a", "b"])
    assert sql.endswith("WHERE tag.name=%s OR tag.name=%s;") and args == ["a", "b"]


@pytest.mark.parametrize(
    ("page", "size", "expected"),
    [(1, 10, [0, 1, 2]), (1, 2, [0, 1]), (2, 2, [2]), (3, 2, []), (9, 2, []), (0, 2, []), (1, 0, []), (-1, 2, [])],
)
def test_cut(page: int, size: int, expected: list[int]) -> None:
    socks = [{"n": n} for n in range(3)]
    assert [s["n"] for s in cut(socks, page, size)] == expected


@pytest.mark.parametrize(("text", "value"), [(None, 7), ("", 7), ("3", 3), ("x", 0), ("-2", -2), ("1.5", 0)])
def test_go_atoi(text: str | None, value: int) -> None:
    assert go_atoi(text, 7) == value


@pytest.mark.parametrize(("stored", "shown"), [(17.15, "17.15"), (15.0, "15"), (99.99, "99.99"), (7.99, "7.99")])
def test_price_as_go_shows_it(stored: float, shown: str) -> None:
    from services.common import dumps

    assert dumps(price(stored)) == shown


@pytest.mark.parametrize(
    ("argv", "value"),
    [
        ([], None),
        (["-DSN=a/b"], "a/b"),
        (["--DSN", "c/d"], "c/d"),
        (["-port=80", "-DSN=x/y", "-DSN=z/w"], "z/w"),
    ],
)
def test_flag_value(argv: list[str], value: str | None) -> None:
    assert flag_value(argv, "DSN") == value


def test_circuit_breaker_as_gobreaker() -> None:
    now = [0.0]
    breaker = CircuitBreaker("List", clock=lambda: now[0])
    for _ in range(5):
        breaker.before()
        breaker.after(False)
    assert breaker.state == "closed"  # 5 consecutive failures: still closed
    breaker.before()
    breaker.after(False)
    assert breaker.state == "open"  # the 6th opens it
    with pytest.raises(BreakerOpen, match=r"^circuit breaker 'List' is open$"):
        breaker.before()
    now[0] = 29.9
    assert breaker.state == "open"
    now[0] = 30.0
    assert breaker.state == "half-open"
    breaker.before()  # the one trial call
    with pytest.raises(BreakerOpen, match=r"^too many requests$"):
        breaker.before()
    breaker.after(False)
    assert breaker.state == "open"  # the trial failed: open for another 30 s
    now[0] = 60.0
    breaker.before()
    breaker.after(True)
    assert breaker.state == "closed"
    breaker.before()
    breaker.after(False)
    breaker.before()
    breaker.after(True)  # a success resets the consecutive count
    assert breaker.state == "closed"


# --------------------------------------------------------------------------- on the real catalogue-db


def test_the_ten_socks_with_their_prices(catalogue: Callable[..., Any], call: Any) -> None:
    c = catalogue()
    answer = call("GET", c.url + "/catalogue?size=100")
    assert answer.status == 200
    socks = answer.json()
    assert [s["id"] for s in socks] == sorted(SOCKS)  # ordered by id
    assert {s["id"]: (s["name"], str(Decimal(str(s["price"]))), s["count"]) for s in socks} == SOCKS
    assert b'"price": 15,' in answer.body and b'"price": 17.15,' in answer.body  # float32 as Go writes it
    holy = next(s for s in socks if s["name"] == "Holy")
    assert list(holy) == ["id", "name", "description", "imageUrl", "price", "count", "tag"]
    assert holy["imageUrl"] == ["/catalogue/images/holy_1.jpeg", "/catalogue/images/holy_2.jpeg"]
    assert sorted(holy["tag"]) == ["action", "magic"]
    assert holy["description"].startswith("Socks fit for a Messiah.")
    assert re.fullmatch(
        rf"{TS} caller=logging\.go:27 method=List tags= order=id pageNum=1 pageSize=100 result=10 err=null {TOOK}",
        c.lines()[-1],
    )


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("", ["Holy", "Colourful", "SuperSport XL", "Weave special", "Crossed", "Figueroa", "Cat socks", "Nerd leg",
              "YouTube.sock", "Classic"]),
        ("?order=price&size=3", ["Nerd leg", "YouTube.sock", "Classic"]),
        ("?sort=price&size=2&page=5", ["Colourful", "Holy"]),  # the last two by price
        ("?order=price&size=2&page=3", ["SuperSport XL", "Cat socks"]),  # same price: by id
        ("?order=name&size=2&page=2", ["Colourful", "Crossed"]),
        ("?tags=geek", ["Weave special", "YouTube.sock"]),
        ("?tags=magic,sport&order=price", ["SuperSport XL", "Holy"]),
        ("?tags=nothing", []),
        ("?page=2", []),
        ("?page=0", []),
        ("?size=junk", []),
    ],
)  # fmt: skip
def test_list_queries(catalogue: Callable[..., Any], call: Any, query: str, names: list[str]) -> None:
    c = catalogue()
    assert [s["name"] for s in call("GET", c.url + "/catalogue" + query).json()] == names


def test_size_tags_get_and_health(catalogue: Callable[..., Any], call: Any) -> None:
    c = catalogue()
    assert call("GET", c.url + "/catalogue/size").json() == {"size": 10, "err": None}
    assert call("GET", c.url + "/catalogue/size?tags=brown,geek").json() == {"size": 5, "err": None}
    assert call("GET", c.url + "/tags").json() == {"tags": TAGS, "err": None}
    sock = call("GET", c.url + "/catalogue/a0a4f044-b040-410d-8ead-4de0446aec7e").json()
    assert (sock["name"], sock["price"], sock["count"], sorted(sock["tag"])) == (
        "Nerd leg",
        7.99,
        115,
        ["blue", "skin"],
    )
    missing = call("GET", c.url + "/catalogue/test-item")
    assert (missing.status, missing.json()) == (
        404,
        {"error": "not found", "status_code": 404, "status_text": "Not Found"},
    )
    health = call("GET", c.url + "/health").json()["health"]
    assert [(h["service"], h["status"]) for h in health] == [("catalogue", "OK"), ("catalogue-db", "OK")]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6} \+0000 UTC", health[0]["time"])
    lines = c.lines()
    assert re.fullmatch(rf"{TS} caller=logging\.go:43 method=Count tags= result=10 err=null {TOOK}", lines[0])
    assert re.fullmatch(rf"{TS} caller=logging\.go:69 method=Tags result=11 err=null {TOOK}", lines[2])
    assert re.fullmatch(
        rf"{TS} caller=logging\.go:56 method=Get id=a0a4f044-b040-410d-8ead-4de0446aec7e "
        rf"sock=a0a4f044-b040-410d-8ead-4de0446aec7e err=null {TOOK}",
        lines[3],
    )
    assert re.fullmatch(rf'{TS} caller=logging\.go:56 method=Get id=test-item sock= err="not found" {TOOK}', lines[5])
    assert re.fullmatch(rf'{TS} err="not found"', lines[6])
    assert re.fullmatch(rf"{TS} caller=logging\.go:81 method=Health result=2 {TOOK}", lines[-1])


def test_database_refusing_is_500_naming_the_mysql_error(
    catalogue: Callable[..., Any], call: Any, refused_port: Callable[[], int]
) -> None:
    """catalogue-db scaled to 0 (nothing listens): 500 with the Go service's body, the MySQL client's own error
    in the log, fast (no hang); Get says "not found" as the Go service does; health reports the database."""
    port = refused_port()
    c = catalogue(port)
    started = time.monotonic()
    answer = call("GET", c.url + "/catalogue")
    assert time.monotonic() - started < 2
    assert (answer.status, answer.json()) == (
        500,
        {"error": "database connection error", "status_code": 500, "status_text": "Internal Server Error"},
    )
    refused = "Can't connect to MySQL server on '127.0.0.1' ([Errno 111] Connection refused)"
    db_line, list_line, err_line = c.lines()[-3:]
    assert re.fullmatch(rf'{TS} caller=service\.go:98 database error="\(2003, \\"{re.escape(refused)}\\"\)"', db_line)
    assert re.fullmatch(
        rf"{TS} caller=logging\.go:27 method=List tags= order=id pageNum=1 pageSize=10 result=0 "
        rf'err="database connection error" {TOOK}',
        list_line,
    )
    assert re.fullmatch(rf'{TS} err="database connection error"', err_line)
    assert call("GET", c.url + "/catalogue/size").status == 500
    assert call("GET", c.url + "/tags").status == 500
    assert call("GET", c.url + "/catalogue/03fef6ac-1896-4ce8-bd69-b798f85c6e0b").status == 404
    health = call("GET", c.url + "/health")
    assert health.status == 200
    assert [(h["service"], h["status"]) for h in health.json()["health"]] == [
        ("catalogue", "OK"),
        ("catalogue-db", "err"),
    ]


def test_the_list_breaker_opens_after_6_failures(
    catalogue: Callable[..., Any], call: Any, refused_port: Callable[[], int]
) -> None:
    c = catalogue(refused_port())
    for _ in range(6):
        assert call("GET", c.url + "/catalogue").json()["error"] == "database connection error"
    lines = len(c.lines())
    answer = call("GET", c.url + "/catalogue")
    assert (answer.status, answer.json()["error"]) == (500, "circuit breaker 'List' is open")
    assert c.lines()[lines:] == [c.lines()[lines]]  # the database was not asked: only the error line
    assert re.fullmatch(rf"{TS} err=\"circuit breaker 'List' is open\"", c.lines()[-1])
    assert call("GET", c.url + "/tags").json()["error"] == "database connection error"  # each endpoint its own


def test_catalogue_db_restart_keeps_the_socks_and_the_service_recovers(
    catalogue: Callable[..., Any], call: Any, catalogue_db: Any
) -> None:
    """catalogue-db down and up again on its data: the service's pooled connections were to the old server,
    it answers 500 meanwhile and the socks again after (a stale pooled connection is replaced)."""
    c = catalogue()
    assert len(call("GET", c.url + "/catalogue").json()) == 10
    catalogue_db.stop()
    try:
        assert call("GET", c.url + "/catalogue").status == 500
        assert "Connection refused" in "\n".join(c.lines()[-3:])
    finally:
        catalogue_db.start()
    print(f"catalogue-db restart: {catalogue_db.ready_s:.2f}s to accept connections")
    assert len(call("GET", c.url + "/catalogue").json()) == 10
    assert call("GET", c.url + "/catalogue/size").json() == {"size": 10, "err": None}


def test_program(
    service_on_port: Callable[..., Any], call: Any, catalogue_db: Any, free_port: Callable[[], int]
) -> None:
    port = free_port()
    proc = service_on_port(
        "services.catalogue",
        f"-port={port}",
        f"-DSN=root:fake_password@tcp(127.0.0.1:{catalogue_db.port})/socksdb",
        port=port,
        ready=rf"caller=main\.go:147 transport=HTTP port={port}$",
    )
    assert len(call("GET", proc.url + "/catalogue?size=20").json()) == 10
    proc.wait_for(r"method=List tags= order=id pageNum=1 pageSize=20 result=10 err=null took=")
    assert proc.stop() == 0
    proc.wait_for(r"caller=main\.go:158 exit=terminated$")


def test_open_connections_are_bounded_and_reused(catalogue_db: Any) -> None:
    """Twelve concurrent statements on a pool of three: all answer, in four rounds of the 0.2 s statement (the
    others wait for a connection), and the server saw three connections, not twelve (no connection churn)."""
    dsn = parse_dsn(f"root:fake_password@tcp(127.0.0.1:{catalogue_db.port})/socksdb")
    database, watcher = Database(dsn, max_open=3), Database(dsn, max_open=1)
    before = int(watcher.query("SHOW GLOBAL STATUS LIKE 'Connections'")[0][1])
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(pool.map(lambda _: database.query("SELECT SLEEP(0.2), CONNECTION_ID()"), range(12)))
    elapsed = time.monotonic() - started
    opened = int(watcher.query("SHOW GLOBAL STATUS LIKE 'Connections'")[0][1]) - before
    database.close()
    watcher.close()
    assert len({rows[0][1] for rows in answers}) == 3  # three connection ids served the twelve
    assert opened == 3
    assert 0.8 <= elapsed < 2.4  # four rounds, not one (unbounded) nor twelve (one connection)
