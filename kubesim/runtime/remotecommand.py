"""`pods/<name>/exec` and `pods/<name>/attach`: what the kubelet serves behind `kubectl exec`, `attach` and `run -i`.

kubectl (1.30+) asks for a WebSocket with the subprotocol `v5.channel.k8s.io`, the Python client with
`v4.channel.k8s.io`. Every binary message starts with its channel: 0 stdin, 1 stdout, 2 stderr, 3 error
(a metav1.Status in v4 and v5: Success, or Failure with reason NonZeroExitCode and the exit code as a cause),
4 terminal resize; v5 adds 255, "close this channel" (kubectl's end of stdin). As k8s.io/apiserver's wsstream
does, the server first sends an empty message on the lowest output channel, and closes the connection after
the status. `tty=true` gives an exec'd program a terminal of its own (a pty: echo, line editing, ^C as SIGINT,
\\r\\n line ends, resizes applied); an attach to a container, which has none here, gets stderr merged into stdout
and \\r\\n line ends. A request that cannot be served (no such container, a container that does not run) gets an
error before the upgrade, so kubectl's SPDY fallback gets it too and prints "unable to upgrade connection: ...",
as against a real node.

exec runs a program of the container's toolbox (kubesim/toolbox) in the container's cgroup, with its
environment; attach joins the running container's own output (from now on, as a runtime's attach does) and,
when the container was created with `stdin: true`, its stdin (`stdinOnce`: closed when the first attach ends).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import pty
import signal
import struct
import sys
import termios
from typing import Any

from aiohttp import WSMsgType, web

from kubesim import errors
from kubesim.resources import Resource
from kubesim.runtime.images import repository
from kubesim.runtime.process import Container, ProcessRuntime
from kubesim.store import Store
from kubesim.toolbox import not_found, toolbox_for

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io", "channel.k8s.io")
STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
NOT_FOUND_EXIT = 126  # runc could not start the program
TRUE = ("1", "true", "yes")


def success() -> dict[str, Any]:
    return {"metadata": {}, "status": "Success"}


def exit_status(command: list[str], code: int) -> dict[str, Any]:
    """The kubelet's Status for a command that ended with a non-zero exit code (kubectl exits with that code)."""
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"command terminated with non-zero exit code: error executing command {command}, exit code {code}",
        "reason": "NonZeroExitCode",
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def internal_error(message: str) -> dict[str, Any]:
    return {
        "metadata": {},
        "status": "Failure",
        "message": f"Internal error occurred: {message}",
        "reason": "InternalError",
        "details": {"causes": [{"message": message}]},
        "code": 500,
    }


def terminal(data: bytes) -> bytes:
    """Output as a terminal shows it (onlcr): every bare \\n becomes \\r\\n."""
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class Channels:
    """One upgraded connection: frames out by channel, the stream's options, the status at the end."""

    def __init__(self, ws: web.WebSocketResponse, tty: bool, onlcr: bool) -> None:
        self.ws = ws
        self.tty = tty  # stderr goes to stdout, as on a terminal
        self.onlcr = onlcr  # and \n is written \r\n here (attach: the container has no terminal of its own)
        self.v4 = ws.ws_protocol in PROTOCOLS[:2]
        self.lock = asyncio.Lock()

    async def send(self, channel: int, data: bytes) -> None:
        if self.tty and channel in (STDOUT, STDERR):
            channel, data = STDOUT, terminal(data) if self.onlcr else data
        async with self.lock:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await self.ws.send_bytes(bytes([channel]) + data)

    async def finish(self, status: dict[str, Any]) -> None:
        if self.v4:
            await self.send(ERROR, json.dumps(status).encode())
        elif status["status"] != "Success":
            await self.send(ERROR, status["message"].encode())
        await self.ws.close()


def container_image(pod: dict[str, Any], name: str) -> str:
    spec = pod["spec"]
    return next(c["image"] for c in [*(spec.get("initContainers") or []), *spec["containers"]] if c["name"] == name)


class RemoteCommand:
    def __init__(self, store: Store, runtime: ProcessRuntime) -> None:
        self.store = store
        self.runtime = runtime

    def _container(self, res: Resource, ns: str, name: str, wanted: str) -> tuple[dict[str, Any], Container]:
        pod = self.store.peek("pods", ns, name)
        if pod is None:
            raise errors.not_found(res, name)
        names = [c["name"] for c in pod["spec"].get("containers") or []]
        inits = [c["name"] for c in pod["spec"].get("initContainers") or []]
        if not wanted:
            if len(names) != 1:
                raise errors.bad_request(
                    f"a container name must be specified for pod {name}, choose one of: [{' '.join(names)}]"
                    + (f" or one of the init containers: [{' '.join(inits)}]" if inits else "")
                )
            wanted = names[0]
        if wanted not in names + inits:
            raise errors.bad_request(f"container {wanted} is not valid for pod {name}")
        running = self.runtime.pods.get(pod["metadata"]["uid"])
        container = next((c for c in running.all_containers if c.name == wanted), None) if running else None
        status = pod.get("status") or {}
        statuses = [*(status.get("containerStatuses") or []), *(status.get("initContainerStatuses") or [])]
        shown_running = any(s.get("name") == wanted and "running" in (s.get("state") or {}) for s in statuses)
        if container is None and shown_running:  # the cluster runs this image as a placeholder
            raise errors.bad_request(
                f"container {wanted} runs image {container_image(pod, wanted)} as a "
                "placeholder on the embedded cluster: it has no process to exec into or attach to"
            )
        proc = container.proc if container else None
        if container is None or proc is None or proc.returncode is not None or pod["metadata"].get("deletionTimestamp"):
            raise errors.bad_request(f'container not found ("{wanted}")')
        return pod, container

    async def handle(self, request: web.Request, res: Resource, ns: str, name: str, sub: str) -> web.StreamResponse:
        if request.method not in ("GET", "POST"):
            raise errors.method_not_allowed()
        q = request.query
        flags = {k: q.get(k, "").lower() in TRUE for k in ("stdin", "stdout", "stderr", "tty")}
        command = q.getall("command", []) if sub == "exec" else []
        if sub == "exec" and not command:
            raise errors.bad_request("you must specify at least 1 command")
        if not (flags["stdin"] or flags["stdout"] or flags["stderr"]):
            raise errors.bad_request("you must specify at least 1 of stdin, stdout, stderr")
        _pod, container = self._container(res, ns, name, q.get("container", ""))
        if request.headers.get("Upgrade", "").lower() != "websocket":
            raise errors.bad_request("Upgrade request required")
        ws = web.WebSocketResponse(protocols=PROTOCOLS, max_msg_size=0, autoping=True)
        await ws.prepare(request)
        if ws.ws_protocol is None:
            await ws.close(code=1002, message=b"a channel.k8s.io subprotocol is required")
            return ws
        channels = Channels(ws, flags["tty"], onlcr=flags["tty"] and sub == "attach")
        first = STDOUT if flags["stdout"] else STDERR if flags["stderr"] else ERROR
        await channels.send(first, b"")  # "the connection is established" (wsstream)
        if sub == "exec":
            await self._exec(channels, container, command, flags)
        else:
            await self._attach(channels, container, flags)
        return ws

    # ---- exec ------------------------------------------------------------------------------------
    async def _exec(self, ch: Channels, container: Container, command: list[str], flags: dict[str, bool]) -> None:
        program = command[0].rsplit("/", 1)[-1]
        if not toolbox_for(repository(container.spec["image"])).has(program):
            await ch.send(STDOUT, not_found(command[0]).encode() + b"\n")
            await ch.finish(exit_status(command, NOT_FOUND_EXIT))
            return
        argv = [sys.executable, "-u", "-m", "kubesim.toolbox", *command]
        if container.cgroup is not None:
            argv = container.cgroup.wrap(argv)
        master = slave = -1
        if flags["tty"]:  # a terminal of its own: echo, line editing, ^C, \r\n, as a runtime's exec -t gives
            master, slave = pty.openpty()
            streams: dict[str, Any] = {"stdin": slave, "stdout": slave, "stderr": slave, "preexec_fn": _take_terminal}
        else:
            pipe, devnull = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
            streams = {"stdin": pipe if flags["stdin"] else devnull, "stdout": pipe, "stderr": pipe}
        try:
            proc = await asyncio.create_subprocess_exec(
                *argv, env=container.env, cwd=str(container.pod.workdir), start_new_session=True, **streams
            )
        except OSError as exc:
            await ch.finish(internal_error(f"error executing command in container: {exc}"))
            return
        finally:
            if slave >= 0:
                os.close(slave)
        if container.cgroup is not None:
            container.cgroup.attach(proc.pid)
        if master >= 0:
            outputs = [asyncio.create_task(_copy_terminal(master, ch))]
            stdin = _Stdin(master=master if flags["stdin"] else None)
        else:
            outputs = [
                asyncio.create_task(_copy(proc.stdout, ch, STDOUT if flags["stdout"] else None)),
                asyncio.create_task(_copy(proc.stderr, ch, STDERR if flags["stderr"] else None)),
            ]
            stdin = _Stdin(writer=proc.stdin)
        reader = asyncio.create_task(_input(ch, stdin))
        waiter = asyncio.create_task(proc.wait())
        main = container.proc
        assert main is not None
        container_ended = asyncio.create_task(main.wait())
        try:
            await asyncio.wait({waiter, reader, container_ended}, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done() and not container_ended.done() and reader.done() and master < 0:
                # The client went away: its stdin has ended (closed when the client's frames ended), and the
                # program runs on to its end, as a runtime's exec does (k8s_cp closes the connection right after
                # it sent the archive, and tar still has to write it out).
                await asyncio.wait({waiter, container_ended}, return_when=asyncio.FIRST_COMPLETED)
            if not waiter.done() and (ch.ws.closed or container_ended.done()):
                _kill(proc)  # the terminal hung up, or the container ended: its exec'd programs end with it
            code = await waiter
            await asyncio.gather(*outputs, return_exceptions=True)
        finally:  # also when the server shuts down mid-exec: nothing exec started outlives it
            if proc.returncode is None:
                _kill(proc)
                await proc.wait()
            for task in (reader, container_ended):
                task.cancel()
            await asyncio.gather(reader, container_ended, return_exceptions=True)
            if master >= 0:
                os.close(master)
        await ch.finish(success() if code == 0 else exit_status(command, code if code > 0 else 128 - code))

    # ---- attach ----------------------------------------------------------------------------------
    async def _attach(self, ch: Channels, container: Container, flags: dict[str, bool]) -> None:
        proc = container.proc
        assert proc is not None
        queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()

        def listener(channel: int, line: bytes) -> None:
            if flags["stdout" if channel == STDOUT else "stderr"]:
                queue.put_nowait((channel, line))

        async def relay() -> None:
            while True:
                channel, line = await queue.get()
                await ch.send(channel, line)

        stdin = proc.stdin if flags["stdin"] and container.spec.get("stdin") and not container.attached_once else None
        container.listeners.add(listener)
        tasks = {
            asyncio.create_task(relay()),
            asyncio.create_task(_input(ch, _Stdin(writer=stdin), at_end=False) if stdin else _until_closed(ch.ws)),
            asyncio.create_task(proc.wait()),
        }
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            container.listeners.discard(listener)
            if stdin is not None and container.spec.get("stdinOnce"):
                container.attached_once = True
                stdin.close()
            while not queue.empty():
                channel, line = queue.get_nowait()
                await ch.send(channel, line)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        await ch.finish(success())


class _Stdin:
    """Where the client's stdin goes: the program's pipe, or the master side of its terminal."""

    def __init__(self, writer: asyncio.StreamWriter | None = None, master: int | None = None) -> None:
        self.writer = writer
        self.master = master

    async def write(self, data: bytes) -> None:
        if self.writer is not None and not self.writer.is_closing():
            self.writer.write(data)
            with contextlib.suppress(ConnectionError):
                await self.writer.drain()
        elif self.master is not None:
            with contextlib.suppress(OSError):
                os.write(self.master, data)

    def close(self) -> None:
        if self.writer is not None and not self.writer.is_closing():
            self.writer.close()
        elif self.master is not None:
            with contextlib.suppress(OSError):
                os.write(self.master, b"\x04")  # end of input, as a terminal's ^D

    def resize(self, raw: bytes) -> None:
        if self.master is None:
            return
        with contextlib.suppress(ValueError, KeyError, TypeError, OSError):
            size = json.loads(raw)
            fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", size["Height"], size["Width"], 0, 0))


async def _input(ch: Channels, stdin: _Stdin, at_end: bool = True) -> None:
    """Client frames: stdin bytes, the v5 close of stdin, terminal resizes; ends when the client closes (and
    closes stdin then, unless `at_end` is False: a container's stdin outlives an attach without stdinOnce)."""
    try:
        async for msg in ch.ws:
            if msg.type not in (WSMsgType.BINARY, WSMsgType.TEXT) or not msg.data:
                continue
            # the Python client sends str stdin as a text frame, its channel prefix a character
            data: bytes = msg.data.encode() if msg.type == WSMsgType.TEXT else msg.data
            if data[0] == CLOSE and len(data) == 2 and data[1] == STDIN:
                stdin.close()
            elif data[0] == STDIN:
                await stdin.write(data[1:])
            elif data[0] == RESIZE:
                stdin.resize(data[1:])
    finally:
        if at_end:
            stdin.close()


async def _copy(stream: asyncio.StreamReader | None, ch: Channels, channel: int | None) -> None:
    if stream is None:
        return
    while data := await stream.read(32 * 1024):
        if channel is not None:
            await ch.send(channel, data)


async def _copy_terminal(master: int, ch: Channels) -> None:
    """The terminal's output until every program holding it has gone (the master then reads EIO)."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[bytes] = asyncio.Queue()

    def readable() -> None:
        try:
            data = os.read(master, 32 * 1024)
        except OSError:
            data = b""
        if not data:
            loop.remove_reader(master)
        queue.put_nowait(data)

    loop.add_reader(master, readable)
    try:
        while data := await queue.get():
            await ch.send(STDOUT, data)
    finally:
        loop.remove_reader(master)


def _take_terminal() -> None:
    """In the child, after setsid: make its terminal the controlling one, so ^C reaches it as SIGINT."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


async def _until_closed(ws: web.WebSocketResponse) -> None:
    async for _msg in ws:
        pass


def _kill(proc: asyncio.subprocess.Process) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
