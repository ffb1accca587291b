"""Fixtures for the service tests: real servers on 127.0.0.1 and free ports, always stopped afterwards."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from pymongo import MongoClient

from kubesim.servers import mariadb, mongodb, rabbitmq, stop
from services.common import LineLog, make_server
from services.common.mongo import connect

ROOT = Path(__file__).resolve().parents[3]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def free_port() -> Callable[[], int]:
    """A port on 127.0.0.1 with nothing listening, for a server the test starts on it."""
    return _free_port


@pytest.fixture
def refused_port() -> Iterator[Callable[[], int]]:
    """A port on 127.0.0.1 that refuses connections for the whole test: bound and not listening, so a connect
    gets a reset (connection refused) and no other process, e.g. a server on port 0 in another xdist worker,
    can be given the port meanwhile (it was, once: a 'refused' payment answered 404)."""
    held: list[socket.socket] = []

    def reserve() -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        held.append(sock)
        return int(sock.getsockname()[1])

    yield reserve
    for sock in held:
        sock.close()


# --------------------------------------------------------------------------- in-process servers


@dataclass
class Running:
    server: ThreadingHTTPServer
    log: io.StringIO = field(default_factory=io.StringIO)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def lines(self) -> list[str]:
        return self.log.getvalue().splitlines()


@pytest.fixture
def run_server() -> Iterator[Callable[..., Running]]:
    """Serve a ThreadingHTTPServer (already bound to 127.0.0.1:0) in a thread until the test ends."""
    started: list[tuple[ThreadingHTTPServer, threading.Thread]] = []

    def start(server: ThreadingHTTPServer, log: io.StringIO | None = None) -> Running:
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        thread.start()
        started.append((server, thread))
        return Running(server, log if log is not None else io.StringIO())

    yield start
    for server, thread in reversed(started):
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- a scriptable fake HTTP upstream


@dataclass
class Reply:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes -> as is
    delay_s: float = 0.0


@dataclass
class Fake:
    server: ThreadingHTTPServer
    replies: list[Reply]
    requests: list[dict[str, Any]]
    release: threading.Event

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])


@pytest.fixture
def reply() -> type[Reply]:
    """`reply(status, body, delay_s=...)`: one scripted answer of `fake_upstream`."""
    return Reply


@pytest.fixture
def fake_upstream() -> Iterator[Callable[..., Fake]]:
    """An HTTP server answering the scripted replies in turn (the last one repeats), recording requests."""
    fakes: list[tuple[Fake, threading.Thread]] = []

    def start(*replies: Reply) -> Fake:
        fake_ref: list[Fake] = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                fake = fake_ref[0]
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                fake.requests.append(
                    {"method": self.command, "path": self.path, "headers": dict(self.headers), "body": body}
                )
                reply = fake.replies[min(len(fake.requests) - 1, len(fake.replies) - 1)]
                if reply.delay_s:
                    fake.release.wait(reply.delay_s)
                if isinstance(reply.body, dict | list):
                    payload = json.dumps(reply.body).encode()
                elif isinstance(reply.body, str):
                    payload = reply.body.encode()
                else:
                    payload = reply.body or b""
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass

            do_GET = do_POST = do_PUT = do_DELETE = _any

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        fake = Fake(server, list(replies) or [Reply()], [], threading.Event())
        fake_ref.append(fake)
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
        thread.start()
        fakes.append((fake, thread))
        return fake

    yield start
    for fake, thread in fakes:
        fake.release.set()
        fake.server.shutdown()
        fake.server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- subprocesses


class ServiceProcess:
    """`python -m services.<name>` on 127.0.0.1; stdout collected line by line."""

    def __init__(self, module: str, args: list[str], env: dict[str, str], ready: str) -> None:
        full_env = {k: v for k, v in os.environ.items() if k not in ("PORT", "PAYMENT_GATEWAY_URL")}
        full_env.update({"BIND_HOST": "127.0.0.1", "PYTHONUNBUFFERED": "1", "PYTHONIOENCODING": "utf-8"})
        full_env.update(env)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", module, *args],
            cwd=ROOT,
            env=full_env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self.output: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.ready = ready
        self.port = 0

    def wait_ready(self) -> None:
        line = self.wait_for(self.ready)
        match = re.search(r"port:? (\d+)", line)
        assert match, line
        self.port = int(match.group(1))

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._cond:
                self.output.append(raw.decode("utf-8").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for(self, pattern: str, timeout: float = 10.0) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.output:
                    if regex.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no line matching {pattern!r} in {self.output!r}")
                self._cond.wait(min(left, 0.1))

    def stop(self, timeout: float = 5.0) -> int:
        """SIGTERM by pid, then SIGKILL if it lingers; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        return int(self.proc.returncode)


@pytest.fixture
def service_process() -> Iterator[Callable[..., ServiceProcess]]:
    procs: list[ServiceProcess] = []

    def start(module: str, *args: str, env: dict[str, str] | None = None, ready: str = r"port:? \d+") -> ServiceProcess:
        proc = ServiceProcess(module, list(args), dict(env or {}), ready)
        procs.append(proc)  # registered before waiting, so a failed start is still stopped
        proc.wait_ready()
        return proc

    yield start
    for proc in procs:
        proc.stop()


# --------------------------------------------------------------------------- a plain HTTP client


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def _call(
    method: str, url: str, body: Any = None, headers: dict[str, str] | None = None, timeout: float = 10.0
) -> Answer:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80, timeout=timeout)
    payload: bytes | None
    all_headers = dict(headers or {})
    if body is None or isinstance(body, bytes):
        payload = body
    elif isinstance(body, str):
        payload = body.encode()
    else:
        payload = json.dumps(body).encode()
        all_headers.setdefault("Content-Type", "application/json")
    try:
        conn.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=payload, headers=all_headers)
        response = conn.getresponse()
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, response.read())
    finally:
        conn.close()


@pytest.fixture
def call() -> Callable[..., Answer]:
    """`call(method, url, body=None, headers=None)` -> Answer, without raising on 4xx/5xx."""
    return _call


# --------------------------------------------------------------------------- the real datastores (kubesim.servers)


@dataclass
class DataServer:
    """A datastore started through its kubesim.servers launcher module, on 127.0.0.1 and a free port; its output
    goes to a file; `stop()` and `start()` again on the same data directory (a DB pod scaled to 0 and back)."""

    kind: str  # "mongodb" or "mariadb"
    data: Path
    port: int
    logfile: Path
    proc: subprocess.Popen[bytes] | None = None
    ready_s: float = 0.0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> DataServer:
        started = time.monotonic()
        with self.logfile.open("ab") as out:
            if self.kind == "mongodb":
                self.proc = mongodb.start(self.data, "127.0.0.1", self.port, work=self.data.parent, stdout=out)
                mongodb.wait_ready("127.0.0.1", self.port, timeout=60, proc=self.proc)
            else:
                self.proc = mariadb.start(self.data, "127.0.0.1", self.port, stdout=out, stderr=out)
                mariadb.wait_ready("127.0.0.1", self.port, timeout=60, proc=self.proc)
        self.ready_s = time.monotonic() - started
        return self

    def stop(self) -> None:
        if self.proc is not None:
            stop(self.proc)
            self.proc = None


def _data_server(kind: str, base: Path) -> DataServer:
    data = base / "data"
    data.mkdir(parents=True, exist_ok=True)
    server = DataServer(kind, data, _free_port(), base / f"{kind}.log")
    if kind == "mariadb":
        seed = Path(mariadb.__file__).parent / "seed" / "catalogue-db.sql"
        config = mariadb.InitConfig("fake_password", "socksdb", files=(seed,))
        with server.logfile.open("ab") as out:

            def say(line: str) -> None:
                out.write(f"{line}\n".encode())

            mariadb.prepare(data, config, stdout=out, say=say)
    return server


@pytest.fixture(scope="module")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataServer]:
    """One nx-27017 (a MongoDB wire-protocol server) per test module, stopped by pid at the end."""
    server = _data_server("mongodb", tmp_path_factory.mktemp("mongodb"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def mongo_service(run_server: Callable[..., Running], mongo_server: DataServer) -> Iterator[Callable[..., Running]]:
    """`mongo_service(Service, database, address=..., timeout_ms=...)`: a MongoDB-backed service (carts, user) on
    127.0.0.1, on the module's server or another; its client is closed when the test ends."""
    clients: list[MongoClient[dict[str, Any]]] = []

    def start(
        service: Callable[..., Any], database: str, address: str | None = None, timeout_ms: int | None = None
    ) -> Running:
        uri = f"mongodb://{address or mongo_server.address}/"
        client = connect(uri) if timeout_ms is None else MongoClient(uri, serverSelectionTimeoutMS=timeout_ms)
        clients.append(client)
        stream = io.StringIO()
        return run_server(make_server(service(LineLog(stream), client, database).app, "127.0.0.1", 0), stream)

    yield start
    for client in clients:
        client.close()


@pytest.fixture
def mongo_database(request: pytest.FixtureRequest) -> str:
    """A database name of this test's own on the module's server (tests do not see each other's data)."""
    return "t_" + re.sub(r"\W", "_", request.node.name)[-36:] + f"_{os.getpid()}_{time.monotonic_ns() % 10**6}"


@pytest.fixture
def own_mongo_server(tmp_path: Path) -> Iterator[DataServer]:
    """An nx-27017 of this test alone (to stop and start it again), stopped by pid at the end."""
    server = _data_server("mongodb", tmp_path / "mongodb")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="module")
def catalogue_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DataServer]:
    """MariaDB initialised as the catalogue-db image does (root/fake_password, socksdb seeded), per module."""
    server = _data_server("mariadb", tmp_path_factory.mktemp("catalogue-db"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def service_on_port() -> Iterator[Callable[..., ServiceProcess]]:
    """`start(module, *args, port=N, ready=pattern, env=...)`: as `service_process`, for a program given its port
    whose start line does not read `port N` (the Go services log logfmt: `transport=HTTP port=8080`)."""
    procs: list[ServiceProcess] = []

    def start(module: str, *args: str, port: int, ready: str, env: dict[str, str] | None = None) -> ServiceProcess:
        proc = ServiceProcess(module, list(args), dict(env or {}), ready)
        procs.append(proc)  # registered before waiting, so a failed start is still stopped
        proc.wait_for(ready)
        proc.port = port
        return proc

    yield start
    for proc in procs:
        proc.stop()


# --------------------------------------------------------------------------- RabbitMQ


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[rabbitmq.Broker]:
    """The real broker (Debian's rabbitmq-server), one per test module, statistics every 0.5 s."""
    data = tmp_path_factory.mktemp("rabbitmq")
    started = rabbitmq.start(
        data, "127.0.0.1", amqp_port=0, management_port=0, dist_port=0, log_path=data / "broker.log",
        stats_interval_ms=500,
    )  # fmt: skip
    try:
        rabbitmq.wait_ready(started, 90)
        yield started
    finally:
        rabbitmq.stop(started)
        assert started.running() == []
