"""Container probes as the kubelet runs them: tcpSocket, httpGet and exec, with its failure wording."""

from __future__ import annotations

import asyncio
from typing import Any

from kubesim.runtime.hook.sitecustomize import NetMap


def resolve_port(port: Any, container: dict[str, Any]) -> int:
    if isinstance(port, int):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    for p in container.get("ports") or []:
        if p.get("name") == port:
            return int(p["containerPort"])
    raise ValueError(f"couldn't find port {port!r} in container")


async def _dial(
    net: NetMap, ip: str, port: int, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | str:
    """An open connection to a pod address, or why there is none: "timeout" or the Go dialer's words."""
    host, real_port = net.loopback(ip, port)
    try:
        return await asyncio.wait_for(asyncio.open_connection(host, real_port), timeout)
    except TimeoutError:
        return "timeout"
    except ConnectionRefusedError:
        return f"dial tcp {ip}:{port}: connect: connection refused"
    except OSError as exc:
        return f"dial tcp {ip}:{port}: {exc.strerror or exc}"


async def tcp(net: NetMap, ip: str, port: int, timeout: float) -> tuple[bool, str]:
    conn = await _dial(net, ip, port, timeout)
    if isinstance(conn, str):
        return False, f"dial tcp {ip}:{port}: i/o timeout" if conn == "timeout" else conn
    conn[1].close()
    return True, ""


async def http_get(
    net: NetMap, ip: str, port: int, path: str, *, timeout: float, headers: list[dict[str, str]]
) -> tuple[bool, str]:
    url = f"http://{ip}:{port}{path}"
    conn = await _dial(net, ip, port, timeout)
    if conn == "timeout":
        return False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    if isinstance(conn, str):
        return False, f'Get "{url}": {conn}'
    reader, writer = conn
    try:
        extra = "".join(f"{h['name']}: {h['value']}\r\n" for h in headers)
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {ip}:{port}\r\nUser-Agent: kube-probe/1.32\r\n"
            f"Accept: */*\r\n{extra}Connection: close\r\n\r\n".encode()
        )
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
    except (TimeoutError, OSError):
        return False, f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)'
    finally:
        writer.close()
    parts = line.decode(errors="replace").split()
    if len(parts) < 2 or not parts[1].isdigit():
        return False, f'Get "{url}": malformed HTTP response {line[:40]!r}'
    code = int(parts[1])
    if 200 <= code < 400:
        return True, ""
    return False, f"HTTP probe failed with statuscode: {code}"


async def exec_probe(command: list[str], env: dict[str, str], cwd: str, timeout: float) -> tuple[bool, str]:
    try:
        proc = await asyncio.create_subprocess_exec(
            *command,
            env=env,
            cwd=cwd,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
        )
    except OSError as exc:
        return False, f"OCI runtime exec failed: exec failed: unable to start container process: {exc.strerror}"
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return False, f'command timed out: "{" ".join(command)}" timed out after {timeout:g}s'
    if proc.returncode == 0:
        return True, ""
    text = out.decode(errors="replace").strip()
    return False, text or f'command "{" ".join(command)}" exited with {proc.returncode}'


async def run(
    net: NetMap, probe: dict[str, Any], container: dict[str, Any], ip: str, *, env: dict[str, str], cwd: str
) -> tuple[bool, str]:
    timeout = float(probe.get("timeoutSeconds", 1))
    if "tcpSocket" in probe:
        return await tcp(net, ip, resolve_port(probe["tcpSocket"].get("port"), container), timeout)
    if "httpGet" in probe:
        h = probe["httpGet"]
        port = resolve_port(h.get("port"), container)
        return await http_get(net, ip, port, h.get("path", "/"), timeout=timeout, headers=h.get("httpHeaders") or [])
    if "exec" in probe:
        return await exec_probe(list(probe["exec"].get("command") or []), env, cwd, timeout)
    return False, "probe handler not supported by the embedded cluster (use httpGet, tcpSocket or exec)"
