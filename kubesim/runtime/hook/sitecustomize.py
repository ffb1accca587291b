"""Pod networking for processes the embedded cluster runs (imported by Python at start-up).

The runtime puts this directory first on PYTHONPATH of every pod process. It makes the process see the
cluster network the way a pod does, with no root and no network namespace:
- cluster DNS: `stripe-mock`, `stripe-mock.sock-shop`, `...svc`, `...svc.cluster.local` resolve to the
  Service's ClusterIP, read from the cluster's network map (KUBESIM_NET_MAP, JSON, reloaded on change);
  an unknown name in the cluster domain fails as DNS does ("Name or service not known");
- cluster addresses map onto loopback, inside the cluster's own slot `127.<slot>.0.0/16` (each running
  cluster claims a different slot, so several clusters coexist): pod IP 10.244.B.C is 127.<slot>.B.C,
  and each ClusterIP gets a virtual address 127.<slot>.128+.x from the map (a Service port below 1024
  becomes P+20000, so no root is needed). The cluster's kube-proxy listens there while the Service has
  ready endpoints and closes the socket otherwise, so a client gets a genuine "connection refused";
- binds: a server binding 0.0.0.0 (or "") binds its pod's loopback address instead (KUBESIM_POD_IP);
- localhost: the containers of a pod share its network namespace, so 127.0.0.1 (and `localhost`) is the pod's
  own address: a connect or bind there goes to KUBESIM_POD_IP (a sidecar reaches its neighbour, as the
  RabbitMQ exporter reaches the broker's management port in the rabbitmq pod).
The server process uses the same NetMap class, so both sides agree on every address.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
from typing import Any

SERVICE_NET = ipaddress.ip_network("10.96.0.0/12")
POD_NET = ipaddress.ip_network("10.244.0.0/16")
VIP_BASE = 128 * 256  # virtual service addresses start at 127.<slot>.128.0
# The API server's advertised endpoint (the control-plane node's InternalIP, port 6443): Service
# default/kubernetes' endpoint. Connections to it go to the real API server (`apiserver` in the map).
APISERVER_ENDPOINT = ("172.18.0.2", 6443)
LOCALHOST = ("127.0.0.1", "localhost")


class NetMap:
    """Cluster DNS names, ClusterIPs and their loopback images for one cluster."""

    def __init__(
        self,
        slot: int = 0,
        services: dict[str, dict[str, str]] | None = None,
        vips: dict[str, str] | None = None,
        apiserver: str = "",
    ) -> None:
        self.slot = slot
        self.services = services or {}
        self.vips = vips or {}
        self.apiserver = apiserver  # "host:port" the API server really serves on ("" before it listens)

    def to_json(self) -> str:
        data = {"slot": self.slot, "services": self.services, "vips": self.vips, "apiserver": self.apiserver}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> NetMap:
        data: dict[str, Any] = json.loads(text)
        return cls(
            int(data.get("slot", 0)), data.get("services") or {}, data.get("vips") or {}, data.get("apiserver") or ""
        )

    def vip_for(self, cluster_ip: str) -> str:
        """The loopback address of a ClusterIP, allocated on first use."""
        if cluster_ip not in self.vips:
            used = set(self.vips.values())
            n = VIP_BASE
            while f"127.{self.slot}.{n // 256}.{n % 256}" in used:
                n += 1
            self.vips[cluster_ip] = f"127.{self.slot}.{n // 256}.{n % 256}"
        return self.vips[cluster_ip]

    def loopback(self, addr: str, port: int) -> tuple[str, int]:
        """Where a connection to a cluster address really goes (unchanged for other addresses)."""
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError:
            return addr, port
        if (addr, port) == APISERVER_ENDPOINT and self.apiserver:
            host, _, real_port = self.apiserver.rpartition(":")
            return host, int(real_port)
        if ip.version == 4 and ip in POD_NET:
            _, _, b, c = str(ip).split(".")
            return f"127.{self.slot}.{b}.{c}", port
        if ip.version == 4 and ip in SERVICE_NET and addr in self.vips:
            return self.vips[addr], port + 20000 if port < 1024 else port
        return addr, port

    def resolve(self, host: str, namespace: str) -> str | None:
        """The ClusterIP of a cluster DNS name; None for names outside the cluster (left to the real
        resolver); raises gaierror for a cluster name no Service answers to, as cluster DNS does."""
        name = host.rstrip(".").lower()
        in_domain = False
        for suffix in (".svc.cluster.local", ".svc"):
            if name.endswith(suffix):
                name, in_domain = name[: -len(suffix)], True
                break
        parts = name.split(".")
        ip = None
        if len(parts) == 1 and name != "localhost":
            in_domain = True
            ip = self.services.get(namespace, {}).get(name)
        elif len(parts) == 2 and (in_domain or parts[1] in self.services):
            in_domain = True
            ip = self.services.get(parts[1], {}).get(parts[0])
        if ip:
            return ip
        if in_domain:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return None


class _FileMap:
    """The map as a pod process sees it: the cluster's JSON file, reloaded when it changes."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.mtime: int | None = None
        self.map = NetMap()

    def get(self) -> NetMap:
        try:
            mtime = os.stat(self.path).st_mtime_ns
        except OSError:
            return self.map
        if mtime != self.mtime:
            try:
                with open(self.path, encoding="utf-8") as fh:
                    self.map = NetMap.from_json(fh.read())
                self.mtime = mtime
            except (OSError, ValueError):
                pass
        return self.map


def install(path: str, namespace: str, pod_ip: str) -> None:
    """Patch the socket module of this process (called at start-up of every pod process).

    gevent (Locust) replaces the socket module's class and resolver when it monkey-patches; the patch is put on
    again right after that, through gevent's own notification (zope.event), so a load generator resolves
    cluster names and reaches cluster addresses like any other pod process.
    """
    if getattr(socket, "_kubesim_net_map", None):  # imported again under its package name: patched already
        return
    socket._kubesim_net_map = path  # type: ignore[attr-defined]
    source = _FileMap(path)
    own = source.get().loopback(pod_ip, 0)[0] if pod_ip else ""
    _patch(source, namespace, own)
    try:
        import zope.event  # noqa: PLC0415 - only where gevent is installed
    except ImportError:
        return

    def after_gevent(event: object) -> None:
        if type(event).__name__ == "GeventDidPatchAllEvent":
            _patch(source, namespace, own)

    zope.event.subscribers.append(after_gevent)


def _patch(source: _FileMap, namespace: str, own: str) -> None:
    """Wrap the socket module's current getaddrinfo and socket class (the stdlib's, or gevent's once it patched)."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_bind = socket.socket.bind

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: PLR0917 - socket's signature
        if isinstance(host, bytes):
            host = host.decode()
        if isinstance(host, str) and host and not host[0].isdigit():
            ip = source.get().resolve(host, namespace)
            if ip:
                host = ip
        return real_getaddrinfo(host, port, family, type, proto, flags)

    def mapped(address):
        if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[0], str):
            if own and address[0] in LOCALHOST:
                return (own, *address[1:])
            host, port = source.get().loopback(address[0], int(address[1]))
            return (host, port, *address[2:])
        return address

    def connect(self, address):
        return real_connect(self, mapped(address))

    def connect_ex(self, address):
        return real_connect_ex(self, mapped(address))

    def bind(self, address):
        if own and isinstance(address, tuple) and address:
            if self.family == socket.AF_INET and address[0] in ("", "0.0.0.0", *LOCALHOST):
                address = (own, *address[1:])
            elif self.family == socket.AF_INET6 and address[0] in ("", "::", "::1"):
                # gevent's servers listen on "::" for "" (Locust's web UI): the pod's address, IPv4-mapped.
                address = (f"::ffff:{own}", *address[1:])
        return real_bind(self, address)

    socket.getaddrinfo = getaddrinfo
    socket.socket.connect = connect  # type: ignore[method-assign]
    socket.socket.connect_ex = connect_ex  # type: ignore[method-assign]
    socket.socket.bind = bind  # type: ignore[method-assign]


if os.environ.get("KUBESIM_NET_MAP"):
    install(
        os.environ["KUBESIM_NET_MAP"],
        os.environ.get("KUBESIM_POD_NAMESPACE", "default"),
        os.environ.get("KUBESIM_POD_IP", ""),
    )
