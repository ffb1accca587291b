"""Service networking: cluster DNS map, kube-proxy on loopback, and the API server's service/pod proxy.

kube-proxy here is a TCP relay per Service port, listening on the loopback image of the ClusterIP
(see hook/sitecustomize.py: NetMap). It listens only while the Service has ready endpoints: with none,
the socket is closed and clients get "connection refused", as iptables' REJECT rule gives them on a
real node.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from kubesim import errors
from kubesim.controllers.base import Controller, Key
from kubesim.resources import Resource
from kubesim.runtime.hook.sitecustomize import NetMap
from kubesim.store import Change, Store

# Headers that belong to one connection (and content-length, which aiohttp sets anew). Content-Encoding is
# end to end: the body is relayed as it came (auto_decompress=False), so its encoding goes with it.
HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "host",
    "authorization",
}


def ready_backends(store: Store, svc: dict[str, Any], port: dict[str, Any]) -> list[tuple[str, int]]:
    """(pod IP, target port) of every ready endpoint behind one Service port."""
    ep = store.peek("endpoints", svc["metadata"]["namespace"], svc["metadata"]["name"])
    out: list[tuple[str, int]] = []
    for subset in (ep or {}).get("subsets") or []:
        ports = subset.get("ports") or []
        match = next(
            (p for p in ports if p.get("name", "") == port.get("name", "")), ports[0] if len(ports) == 1 else None
        )
        if match is None:
            continue
        out.extend((a["ip"], int(match["port"])) for a in subset.get("addresses") or [])
    return out


class _Listener:
    def __init__(self, net: NetMap, host: str, port: int) -> None:
        self.net = net
        self.host, self.port = host, port
        self.backends: list[tuple[str, int]] = []
        self.server: asyncio.base_events.Server | None = None
        self._rr = itertools.count()

    async def open(self) -> None:
        if self.server is None:
            self.server = await asyncio.start_server(self._relay, self.host, self.port, reuse_address=True)

    def close(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.backends:
            writer.close()
            return
        ip, port = self.backends[next(self._rr) % len(self.backends)]
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.net.loopback(ip, port))
        except OSError:
            writer.transport.abort()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, OSError):
                pass
            finally:
                with contextlib.suppress(Exception):
                    dst.write_eof() if dst.can_write_eof() else dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        writer.close()
        up_writer.close()


class ServiceNetwork(Controller):
    """Keeps the DNS map and the kube-proxy listeners in step with Services and their Endpoints."""

    primary = "services"

    def __init__(self, cluster: Any, net: NetMap) -> None:
        super().__init__(cluster)
        self.net = net
        self.net_map: Path = cluster.state_dir / "net.json"
        self.listeners: dict[tuple[str, int], _Listener] = {}
        self._written = ""

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.key in ("services", "endpoints"):
            yield change.obj["metadata"]["namespace"], change.obj["metadata"]["name"]

    def enqueue_all(self) -> None:
        super().enqueue_all()
        self.write_map()

    def reconcile(self, ns: str, name: str) -> float | None:
        self.write_map()
        svc = self.store.peek("services", ns, name)
        wanted: dict[tuple[str, int], list[tuple[str, int]]] = {}
        if svc is not None and svc["spec"].get("clusterIP") not in (None, "", "None"):
            for port in svc["spec"].get("ports") or []:
                key = self.net.loopback(svc["spec"]["clusterIP"], int(port["port"]))
                wanted[key] = ready_backends(self.store, svc, port)
        owned = {k for k, lst in self.listeners.items() if getattr(lst, "owner", None) == (ns, name)}
        for key in owned - set(wanted):
            self.listeners.pop(key).close()
        for key, backends in wanted.items():
            lst = self.listeners.get(key)
            if lst is None:
                lst = self.listeners[key] = _Listener(self.net, *key)
                lst.owner = (ns, name)  # type: ignore[attr-defined]
            lst.backends = backends
            if backends and lst.server is None:
                asyncio.get_running_loop().create_task(lst.open())
            elif not backends:
                lst.close()
        return None

    def write_map(self) -> None:
        """Publish DNS names, ClusterIPs and their loopback images for the pod processes."""
        services: dict[str, dict[str, str]] = {}
        for svc in self.store.scan("services"):
            ip = svc["spec"].get("clusterIP")
            if ip and ip != "None":
                services.setdefault(svc["metadata"]["namespace"], {})[svc["metadata"]["name"]] = ip
                self.net.vip_for(ip)
        self.net.services = services
        text = self.net.to_json()
        if text != self._written:
            tmp = self.net_map.with_name(f".net.json.{os.getpid()}")
            tmp.write_text(text)
            os.replace(tmp, self.net_map)
            self._written = text

    def close(self) -> None:
        for lst in self.listeners.values():
            lst.close()


def _split_name(raw: str) -> tuple[str, str, str]:
    """`[scheme:]name[:port]` as the proxy subresource spells it."""
    parts = raw.split(":")
    if len(parts) == 3:
        return parts[0], parts[1], parts[2]
    if len(parts) == 2:
        return "", parts[0], parts[1]
    return "", raw, ""


class APIProxy:
    """`services/<name>:<port>/proxy/...` and `pods/<name>:<port>/proxy/...`, relayed to a ready endpoint."""

    def __init__(self, store: Store, net: NetMap) -> None:
        self.store = store
        self.net = net
        self._session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request, res: Resource, ns: str, raw: str, rest: str) -> web.StreamResponse:
        scheme, name, port_name = _split_name(raw)
        if res.plural == "services":
            target, shown = self._service_target(res, ns, name, port_name)
        elif res.plural == "pods":
            target, shown = self._pod_target(res, ns, name, port_name)
        else:
            raise errors.path_not_found()
        path = "/" + rest + ("/" if request.path.endswith("/") and rest else "")
        if request.query_string:
            path += "?" + request.query_string
        host, port = self.net.loopback(*target)
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        body = await request.read()
        if self._session is None:
            self._session = aiohttp.ClientSession(auto_decompress=False)
        url = f"{scheme or 'http'}://{host}:{port}{path}"
        try:
            async with self._session.request(
                request.method,
                url,
                headers=headers,
                data=body or None,
                allow_redirects=False,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5),
            ) as up:
                data = await up.read()
                out_headers = {k: v for k, v in up.headers.items() if k.lower() not in HOP_BY_HOP}
                return web.Response(status=up.status, body=data, headers=out_headers)
        except aiohttp.ClientConnectorError as exc:
            refused = isinstance(exc.os_error, ConnectionRefusedError)
            why = "connect: connection refused" if refused else str(exc.os_error)
            raise errors.service_unavailable(f"error trying to reach service: dial tcp {shown}: {why}") from exc
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise errors.service_unavailable(f"error trying to reach service: {exc}") from exc

    def _service_target(self, res: Resource, ns: str, name: str, port_name: str) -> tuple[tuple[str, int], str]:
        svc = self.store.peek("services", ns, name)
        if svc is None:
            raise errors.not_found(res, name)
        ports = svc["spec"].get("ports") or []
        port = (
            next((p for p in ports if port_name in (p.get("name"), str(p.get("port")))), None)
            if port_name
            else (ports[0] if ports else None)
        )
        if port is None:
            raise errors.service_unavailable(f'no endpoints available for service "{name}"')
        backends = ready_backends(self.store, svc, port)
        if not backends:
            raise errors.service_unavailable(f'no endpoints available for service "{name}"')
        ip, target = backends[0]
        return (ip, target), f"{ip}:{target}"

    def _pod_target(self, res: Resource, ns: str, name: str, port_name: str) -> tuple[tuple[str, int], str]:
        pod = self.store.peek("pods", ns, name)
        if pod is None:
            raise errors.not_found(res, name)
        ip = (pod.get("status") or {}).get("podIP")
        if not ip:
            raise errors.bad_request(f"pod {name} does not have a host assigned")
        port = 80
        if port_name.isdigit():
            port = int(port_name)
        else:
            for c in pod["spec"].get("containers") or []:
                for p in c.get("ports") or []:
                    if not port_name or p.get("name") == port_name:
                        port = int(p["containerPort"])
                        break
        return (ip, port), f"{ip}:{port}"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
