"""Serve an App the way Node.js serves Express: one event loop owns every connection.

The threaded server (`web.serve`) gives each connection a thread for its whole life. That is how the Go and
Java services behave (a goroutine or a pool thread per connection), but not Node.js: under a thousand kept-alive
load-test users the threaded front-end ran a thousand Python threads, which queued on the few locks they share
(the log, the session store's connection pool) and, once the container's CPU quota throttled them, stalled for
seconds, so the kubelet's probe of a static page timed out while the service had CPU to spare. In Node.js the
same probe is answered by the event loop at once; only CPU saturation delays it.

Here aiohttp's server (already a dependency of the embedded cluster) owns the connections, and the App's
handlers run on worker threads, because they call their services with blocking clients: a bounded pool for the
API, two threads of their own for the routes that wait for nothing (`inline`: static pages, /health, /metrics),
so those never wait for a busy worker. Either way a handler runs only while it holds the `Baton`, which stands
for Node.js's one JavaScript thread: CPU work one request at a time, first come, first served, given up around
every wait on a service. Hand-written because no maintained package runs blocking handlers with Node.js's
scheduling; the HTTP itself is aiohttp's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from http.client import HTTPMessage
from urllib.parse import parse_qs

from aiohttp import web

from services.common.web import MAX_BODY_BYTES, App, Request, Response, parse_port, payload_of

BACKLOG = 511  # Node.js's listen backlog, as the threaded server's
SHUTDOWN_S = 0.5  # how long a stopping server waits for the requests in flight


class Baton:
    """Node.js's one JavaScript thread as a first-come, first-served hand-off between worker threads.

    A request's code runs only while its thread holds the baton; it gives the baton up while it waits on a
    socket (`waiting`) and queues at the back to take it again, as a callback waits its turn in Node.js's
    queue. So the front-end spends its CPU one request at a time, in arrival order: under a load its CPU
    cannot serve, the queue (and with it the wait of the kubelet's probe) grows, as the event loop's lag does.
    Each waiter sleeps on its own Event and is woken alone, so a thousand waiting requests cost nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._holder: int | None = None
        self._queue: deque[tuple[threading.Event, int]] = deque()

    def take(self) -> None:
        me = threading.get_ident()
        with self._lock:
            if self._holder is None and not self._queue:
                self._holder = me
                return
            turn = threading.Event()
            self._queue.append((turn, me))
        turn.wait()  # give() made us the holder before setting it

    def give(self) -> None:
        with self._lock:
            if self._queue:
                turn, self._holder = self._queue.popleft()
                turn.set()
            else:
                self._holder = None

    @property
    def queued(self) -> int:
        """How many threads wait for the baton (the event loop's backlog)."""
        return len(self._queue)

    def held_here(self) -> bool:
        return self._holder == threading.get_ident()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self.take()
        try:
            yield
        finally:
            self.give()

    @contextlib.contextmanager
    def waiting(self) -> Iterator[None]:
        """Give the baton up around a blocking wait (a no-op in a thread that does not hold it)."""
        if not self.held_here():
            yield
            return
        self.give()
        try:
            yield
        finally:
            self.take()


def to_request(request: web.BaseRequest, body: bytes) -> Request:
    """The App's Request from aiohttp's: the same header object (an email Message) the threaded server gives."""
    headers = HTTPMessage()
    for name, value in request.headers.items():
        headers[name] = value
    raw_query = request.rel_url.raw_query_string
    return Request(request.method, request.path or "/", parse_qs(raw_query), headers, body, raw_query=raw_query)


def to_response(request: web.BaseRequest, response: Response) -> web.Response:
    """aiohttp's answer: the App's status, headers (a list repeats one) and body with its Content-Length."""
    payload = payload_of(response)
    answer = web.Response(status=response.status)
    if payload or response.raw is not None:
        answer.headers["Content-Type"] = response.content_type
    for name, value in response.headers.items():
        for one in value if isinstance(value, list) else [value]:
            answer.headers.add(name, one)
    if request.method != "HEAD":
        answer.body = payload
    else:
        answer.headers["Content-Length"] = str(len(payload))
    return answer


class EventedServer:
    """An App on one event loop: `workers` threads for the requests that `inline` does not claim, two for those
    it claims (they never wait for a busy worker), every one of them running its code only under `baton`."""

    def __init__(self, app: App, inline: Callable[[Request], bool], workers: int, baton: Baton) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.app, self.inline, self.baton = app, inline, baton
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix=f"{app.name}-worker")
        self.inline_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix=f"{app.name}-inline")

    def run_handler(self, request: Request) -> Response:
        with self.baton.held():
            return self.app.handle(request)

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        try:
            body = await request.read()
        except (ValueError, web.HTTPException):
            body = None
        if body is None or len(body) > MAX_BODY_BYTES:
            ours = to_request(request, b"")
            return to_response(request, self.app.error(400, "Unreadable request body", ours))
        ours = to_request(request, body)
        pool = self.inline_pool if self.inline(ours) else self.pool
        answer = await asyncio.get_running_loop().run_in_executor(pool, self.run_handler, ours)
        return to_response(request, answer)

    async def run(self, host: str, port: int, on_start: Callable[[int], None], stop: asyncio.Event) -> None:
        server = web.Server(self.handle)  # its requests refuse bodies past 1 MiB (MAX_BODY_BYTES), as ours do
        # On SIGTERM Node.js exits without waiting for the calls in flight: half a second to answer what is ready.
        runner = web.ServerRunner(server, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_S)
        await runner.setup()
        site = web.TCPSite(runner, host, port, backlog=BACKLOG)
        await site.start()
        on_start(int(runner.addresses[0][1]))  # the port the kernel chose when 0 was asked for
        try:
            await stop.wait()
        finally:
            await runner.cleanup()
            for pool in (self.pool, self.inline_pool):
                pool.shutdown(wait=False, cancel_futures=True)


def serve_evented(
    app: App,
    argv: Sequence[str],
    default_port: int,
    on_start: Callable[[int], None],
    *,
    inline: Callable[[Request], bool],
    workers: int,
    baton: Baton,
) -> int:
    """`web.serve`'s contract (port from --port/$PORT, `$BIND_HOST`, SIGTERM/SIGINT end it with 0) on a loop."""
    try:
        port = parse_port(argv, os.environ, default_port)
    except ValueError as exc:
        print(f"{app.name}: invalid port: {exc}", flush=True)
        return 2
    host = os.environ.get("BIND_HOST", "").strip() or "0.0.0.0"

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await EventedServer(app, inline, workers, baton).run(host, port, on_start, stop)

    asyncio.run(main())
    app.log.info(f"{app.name} stopped")
    sys.stdout.flush()
    sys.stderr.flush()
    # Worker threads still waiting on a service (up to DOWNSTREAM_TIMEOUT_S) would hold the interpreter's exit, and
    # the pod in Terminating for its grace period; Node.js drops them, and so does this.
    os._exit(0)
