"""`pods/<name>/portforward`: what the kubelet serves behind `kubectl port-forward`, on the pod's loopback image.

kubectl (1.31+, feature gate PortForwardWebsockets on by default) first asks for a WebSocket upgrade with the
subprotocol `SPDY/3.1+portforward.k8s.io`: every binary message then carries bytes of a SPDY/3.1 connection
(the apiserver only strips the WebSocket framing, kubectl and the kubelet speak SPDY end to end). If that
upgrade fails it falls back to a plain `Upgrade: SPDY/3.1` POST (`X-Stream-Protocol-Version:
portforward.k8s.io`). Both are served here.

Inside the SPDY connection, each local connection kubectl accepts opens two streams carrying the headers
`streamtype` (error | data), `port` and `requestid`. As the kubelet does (pkg/kubelet/cri/streaming/
portforward/httpstream.go): the pair is matched by request id, the server dials the pod's port (here
127.<slot>.B.C:port, the NetMap image of pod IP 10.244.B.C), relays the data stream both ways and closes
both streams when done; a failed dial is written as text on the error stream. The connection ends (GOAWAY,
then close) when the pod is deleted or stops running, which makes kubectl exit ("lost connection to pod").
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from kubesim import errors, spdy
from kubesim.resources import Resource
from kubesim.runtime.hook.sitecustomize import NetMap
from kubesim.store import Store

PROTOCOL = "portforward.k8s.io"
TUNNEL_PROTOCOL = "SPDY/3.1+" + PROTOCOL  # the WebSocket subprotocol of SPDY tunneled over WebSocket
CHUNK = 32 * 1024
ALIVE_POLL = 0.5  # seconds between checks that the pod is still there
STREAM_PAIR_TIMEOUT = 30.0  # the kubelet's default streamCreationTimeout


@dataclass
class _Pair:
    request_id: str
    port: int
    error_id: int = 0
    data_id: int = 0
    inbound: asyncio.Queue[bytes | None] = field(default_factory=asyncio.Queue)  # client -> pod; None: FIN
    reset: asyncio.Event = field(default_factory=asyncio.Event)  # the data stream was reset by the client
    fin_sent: bool = False  # our side of the data stream is closed
    task: asyncio.Task[None] | None = None


class Session:
    """One SPDY/3.1 port-forward connection to one pod. Transport-agnostic: bytes in via `feed`, out via `send`."""

    def __init__(
        self,
        send: Callable[[bytes], Awaitable[None]],
        dial: Callable[[int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]],
        describe_failure: Callable[[int, BaseException], str],
    ) -> None:
        self._send = send
        self._dial = dial
        self._describe = describe_failure
        self.framer = spdy.Framer()
        self.out: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.pairs: dict[str, _Pair] = {}
        self.by_stream: dict[int, _Pair] = {}
        self.last_stream = 0
        self.closed = asyncio.Event()
        self._writer = asyncio.create_task(self._write_loop())
        self._timers: set[asyncio.Task[None]] = set()

    # ---- output ----------------------------------------------------------------------------
    def emit(self, frame: spdy.Frame) -> None:
        """Queue a frame. Encoding happens here, in queue order, so the header compressor stays in step."""
        if not self.closed.is_set():
            self.out.put_nowait(self.framer.encode(frame))

    async def _write_loop(self) -> None:
        try:
            while (data := await self.out.get()) is not None:
                await self._send(data)
        except (ConnectionError, OSError, RuntimeError):
            self.closed.set()

    async def _backpressure(self) -> None:
        while self.out.qsize() > 64 and not self.closed.is_set():
            await asyncio.sleep(0.005)

    # ---- input -----------------------------------------------------------------------------
    def feed(self, data: bytes) -> None:
        """Handle received bytes. Raises spdy.SPDYError on a broken frame."""
        for frame in self.framer.feed(data):
            self._handle(frame)

    def _handle(self, frame: spdy.Frame) -> None:
        if isinstance(frame, spdy.SynStream):
            self._new_stream(frame)
        elif isinstance(frame, spdy.DataFrame):
            pair = self.by_stream.get(frame.stream_id)
            if pair is not None and frame.stream_id == pair.data_id:
                if frame.data:
                    pair.inbound.put_nowait(frame.data)
                if frame.flags & spdy.FLAG_FIN:
                    pair.inbound.put_nowait(None)
            # the error stream carries nothing from kubectl (it half-closes it at once)
        elif isinstance(frame, spdy.RstStream):
            pair = self.by_stream.get(frame.stream_id)
            if pair is not None:
                pair.reset.set()
                pair.inbound.put_nowait(None)
        elif isinstance(frame, spdy.Ping):
            self.emit(frame)  # the client's pings (odd ids) are echoed, as spdystream does
        elif isinstance(frame, spdy.GoAway):
            self.closed.set()
        # SETTINGS, WINDOW_UPDATE, HEADERS, SYN_REPLY: nothing to do (spdystream does no flow control)

    def _new_stream(self, frame: spdy.SynStream) -> None:
        sid = frame.stream_id
        self.last_stream = max(self.last_stream, sid)
        headers = {k: v[0] for k, v in frame.headers.items() if v}
        port_s = headers.get("port", "")
        kind = headers.get("streamtype", "")
        ok = port_s.isdigit() and 0 < int(port_s) < 65536 and kind in ("error", "data")
        if not ok:
            self.emit(spdy.RstStream(sid, spdy.CANCEL))  # what spdystream answers when the handler refuses
            return
        self.emit(spdy.SynReply(sid, {}))
        # kubectl always sends requestid; older clients relied on consecutive stream ids (error: n, data: n+2)
        request_id = headers.get("requestid") or str(sid if kind == "error" else sid - 2)
        pair = self.pairs.get(request_id)
        if pair is None:
            pair = self.pairs[request_id] = _Pair(request_id, int(port_s))
            timer = asyncio.create_task(self._pair_timeout(pair))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)
        if (pair.error_id if kind == "error" else pair.data_id) or (kind == "data" and pair.task is not None):
            if pair.error_id:
                self._error(pair, f"error processing stream for request {request_id}: {kind} stream already assigned")
            return
        if kind == "error":
            pair.error_id = sid
        else:
            pair.data_id = sid
        self.by_stream[sid] = pair
        if pair.error_id and pair.data_id and pair.task is None:
            pair.task = asyncio.create_task(self._forward(pair))

    async def _pair_timeout(self, pair: _Pair) -> None:
        await asyncio.sleep(STREAM_PAIR_TIMEOUT)
        if pair.task is None and self.pairs.get(pair.request_id) is pair:
            self._error(pair, f"(request={pair.request_id}) timed out waiting for streams")
            self._forget(pair)

    def _error(self, pair: _Pair, message: str) -> None:
        if pair.error_id:
            self.emit(spdy.DataFrame(pair.error_id, message.encode()))

    def _forget(self, pair: _Pair) -> None:
        self.pairs.pop(pair.request_id, None)
        for sid in (pair.error_id, pair.data_id):
            self.by_stream.pop(sid, None)

    # ---- one forwarded connection --------------------------------------------------------------
    async def _forward(self, pair: _Pair) -> None:
        writer: asyncio.StreamWriter | None = None
        try:
            try:
                reader, pod_writer = await asyncio.wait_for(self._dial(pair.port), 10)
            except (OSError, TimeoutError) as exc:
                self._error(pair, self._describe(pair.port, exc))
                return
            writer = pod_writer
            up = asyncio.create_task(self._pod_to_client(pair, reader))
            down = asyncio.create_task(self._client_to_pod(pair, pod_writer))
            reset = asyncio.create_task(pair.reset.wait())
            # done when the pod side has finished and the client side is done too (or was reset)
            await asyncio.wait({up, reset}, return_when=asyncio.FIRST_COMPLETED)
            if not pair.reset.is_set():
                await asyncio.wait({down, reset}, return_when=asyncio.FIRST_COMPLETED)
            for task in (up, down, reset):
                task.cancel()
            await asyncio.gather(up, down, reset, return_exceptions=True)
        finally:
            if writer is not None:
                writer.close()
            if not pair.reset.is_set() and not pair.fin_sent:
                self.emit(spdy.DataFrame(pair.data_id, b"", spdy.FLAG_FIN))
            self.emit(spdy.DataFrame(pair.error_id, b"", spdy.FLAG_FIN))
            self._forget(pair)

    async def _pod_to_client(self, pair: _Pair, reader: asyncio.StreamReader) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(CHUNK):
                self.emit(spdy.DataFrame(pair.data_id, data))
                await self._backpressure()
        if not pair.reset.is_set():
            self.emit(spdy.DataFrame(pair.data_id, b"", spdy.FLAG_FIN))
            pair.fin_sent = True

    async def _client_to_pod(self, pair: _Pair, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while (data := await pair.inbound.get()) is not None:
                writer.write(data)
                await writer.drain()
            if writer.can_write_eof():
                writer.write_eof()

    # ---- teardown --------------------------------------------------------------------------
    async def close(self) -> None:
        """End the connection: GOAWAY (unless the client said it first), stop every forwarded connection."""
        if not self.closed.is_set():
            self.emit(spdy.GoAway(self.last_stream, spdy.GOAWAY_OK))
        self.closed.set()
        tasks = [p.task for p in self.pairs.values() if p.task is not None] + list(self._timers)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.out.put_nowait(None)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer, 2)
        self._writer.cancel()


class PortForward:
    """The HTTP side: checks the pod, upgrades the connection (WebSocket tunnel or plain SPDY), runs a Session."""

    def __init__(self, store: Store, net: NetMap) -> None:
        self.store = store
        self.net = net

    def _pod(self, res: Resource, ns: str, name: str) -> dict[str, Any]:
        pod = self.store.peek("pods", ns, name)
        if pod is None:
            raise errors.not_found(res, name)
        status = pod.get("status") or {}
        if not status.get("podIP"):
            raise errors.bad_request(f"pod {name} does not have a host assigned")
        if status.get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
            phase = "Terminating" if pod["metadata"].get("deletionTimestamp") else status.get("phase", "Unknown")
            raise errors.bad_request(f"unable to forward port because pod is not running. Current status={phase}")
        return pod

    async def handle(self, request: web.Request, res: Resource, ns: str, name: str) -> web.StreamResponse:
        if request.method not in ("GET", "POST"):
            raise errors.method_not_allowed()
        pod = self._pod(res, ns, name)
        uid, ip = pod["metadata"]["uid"], pod["status"]["podIP"]

        def alive() -> bool:
            cur = self.store.peek("pods", ns, name)
            return (
                cur is not None
                and cur["metadata"]["uid"] == uid
                and (cur.get("status") or {}).get("phase") == "Running"
                and not cur["metadata"].get("deletionTimestamp")
            )

        async def dial(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
            return await asyncio.open_connection(*self.net.loopback(ip, port))

        def describe(port: int, exc: BaseException) -> str:
            why = "connect: connection refused" if isinstance(exc, ConnectionRefusedError) else str(exc) or "timeout"
            return (
                f"error forwarding port {port} to pod {name}, uid {uid}: failed to connect to localhost:{port} "
                f"inside the pod's network namespace, IPv4: dial tcp4 {ip}:{port}: {why}"
            )

        connection = request.headers.get("Connection", "").lower()
        upgrade = request.headers.get("Upgrade", "").lower()
        if request.method == "GET" and upgrade == "websocket":
            return await self._websocket(request, dial, describe, alive)
        if "upgrade" in connection and upgrade.startswith("spdy/3"):
            return await self._spdy(request, dial, describe, alive)
        raise errors.bad_request("Upgrade request required")

    async def _run(
        self, session: Session, recv: Callable[[], Awaitable[bytes | None]], alive: Callable[[], bool]
    ) -> None:
        async def reader() -> None:
            try:
                while not session.closed.is_set() and (data := await recv()) is not None:
                    session.feed(data)
            except spdy.SPDYError:
                session.emit(spdy.GoAway(session.last_stream, spdy.GOAWAY_PROTOCOL_ERROR))
            except (ConnectionError, OSError):
                pass

        async def watcher() -> None:
            while alive():
                await asyncio.sleep(ALIVE_POLL)

        tasks = {
            asyncio.create_task(reader()),
            asyncio.create_task(watcher()),
            asyncio.create_task(session.closed.wait()),
        }
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await session.close()

    async def _websocket(
        self, request: web.Request, dial: Any, describe: Any, alive: Callable[[], bool]
    ) -> web.StreamResponse:
        ws = web.WebSocketResponse(protocols=(TUNNEL_PROTOCOL,), max_msg_size=0, autoping=True)
        await ws.prepare(request)
        if ws.ws_protocol != TUNNEL_PROTOCOL:
            await ws.close(code=1002, message=f"subprotocol {TUNNEL_PROTOCOL} is required".encode())
            return ws

        async def recv() -> bytes | None:
            msg = await ws.receive()
            if msg.type == WSMsgType.BINARY:
                return bytes(msg.data)
            if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
                return None
            raise spdy.SPDYError(f"unexpected WebSocket message type {msg.type.name}")

        session = Session(ws.send_bytes, dial, describe)
        try:
            await self._run(session, recv, alive)
        finally:
            await ws.close()
        return ws

    async def _spdy(
        self, request: web.Request, dial: Any, describe: Any, alive: Callable[[], bool]
    ) -> web.StreamResponse:
        offered = [p.strip() for p in request.headers.getall("X-Stream-Protocol-Version", [])]
        if offered and PROTOCOL not in ",".join(offered).replace(" ", "").split(","):
            raise errors.bad_request(
                f"unable to upgrade: unable to negotiate protocol: client supports {offered}, "
                f"server supports [{PROTOCOL}]"
            )
        resp = web.StreamResponse(
            status=101,
            headers={"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": PROTOCOL},
        )
        resp.force_close()
        inbound: asyncio.Queue[bytes | None] = asyncio.Queue()
        request.protocol.set_parser(_RawParser(inbound))  # type: ignore[arg-type]
        await resp.prepare(request)
        transport = request.transport
        assert transport is not None

        async def send(data: bytes) -> None:
            if transport.is_closing():
                raise ConnectionResetError("connection closed")
            transport.write(data)
            while transport.get_write_buffer_size() > 1 << 20 and not transport.is_closing():
                await asyncio.sleep(0.005)

        session = Session(send, dial, describe)
        try:
            await self._run(session, inbound.get, alive)
        finally:
            transport.close()
        return resp


class _RawParser:
    """Takes over an upgraded aiohttp connection's bytes (what WebSocketReader does for WebSockets)."""

    def __init__(self, queue: asyncio.Queue[bytes | None]) -> None:
        self.queue = queue

    def feed_data(self, data: bytes) -> tuple[bool, bytes]:
        self.queue.put_nowait(bytes(data))
        return False, b""

    def feed_eof(self) -> None:
        self.queue.put_nowait(None)
