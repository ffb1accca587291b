"""The kubelet's probes as the pod runtime runs them, with the failure wording operators read in events."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest

from kubesim.runtime import probes
from kubesim.runtime.hook.sitecustomize import NetMap

NET = NetMap(slot=77)
POD_IP = "10.244.1.5"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.77.1.5", 0))
        return int(s.getsockname()[1])


async def serve(status: int, port: int) -> asyncio.base_events.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\n\r\n".encode())
        await writer.drain()
        writer.close()

    return await asyncio.start_server(handle, "127.77.1.5", port)


@pytest.mark.parametrize(
    ("status", "ok", "message"),
    [
        (200, True, ""),
        (302, True, ""),
        (500, False, "HTTP probe failed with statuscode: 500"),
        (404, False, "HTTP probe failed with statuscode: 404"),
    ],
)
def test_http_get_judges_the_status(status: int, ok: bool, message: str) -> None:
    async def run() -> tuple[bool, str]:
        port = free_port()
        server = await serve(status, port)
        try:
            return await probes.http_get(NET, POD_IP, port, "/health", timeout=1, headers=[])
        finally:
            server.close()

    assert asyncio.run(run()) == (ok, message)


def test_refused_connections_are_worded_like_the_kubelet() -> None:
    port = free_port()  # nothing listens there
    assert asyncio.run(probes.tcp(NET, POD_IP, port, 1)) == (
        False,
        f"dial tcp {POD_IP}:{port}: connect: connection refused",
    )
    assert asyncio.run(probes.http_get(NET, POD_IP, port, "/health", timeout=1, headers=[])) == (
        False,
        f'Get "http://{POD_IP}:{port}/health": dial tcp {POD_IP}:{port}: connect: connection refused',
    )


def test_tcp_succeeds_on_a_listening_port_and_named_ports_resolve() -> None:
    async def run() -> tuple[bool, str]:
        port = free_port()
        server = await serve(200, port)
        try:
            container = {"ports": [{"name": "http", "containerPort": port}]}
            return await probes.run(NET, {"tcpSocket": {"port": "http"}}, container, POD_IP, env={}, cwd="/")
        finally:
            server.close()

    assert asyncio.run(run()) == (True, "")
    with pytest.raises(ValueError, match="couldn't find port 'grpc'"):
        probes.resolve_port("grpc", {"ports": []})


def test_exec_probe_reports_the_command_output(tmp_path: Path) -> None:
    ok, message = asyncio.run(probes.exec_probe(["sh", "-c", "echo not ready; exit 3"], {}, str(tmp_path), 2))
    assert (ok, message) == (False, "not ready")
    assert asyncio.run(probes.exec_probe(["true"], {}, str(tmp_path), 2)) == (True, "")
