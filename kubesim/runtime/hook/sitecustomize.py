"""Pod networking for processes the embedded cluster runs (imported by Python at start-up).

The runtime puts this directory first on PYTHONPATH of every pod process. It makes the process see the
cluster network the way a pod does, with no root and no network namespace:
- cluster DNS: `stripe-mock`, `stripe-mock.sock-shop`, `...svc`, `...svc.cluster.local` resolve to the
  Service's ClusterIP, read from the cluster's network map (KUBESIM_NET_MAP, JSON, reloaded on change);
  an unknown name in the cluster domain fails as DNS does ("Name or service not known");
- ClusterIP `10.96.0.0/12` and pod IP `10.244.0.0/16` addresses map onto loopback: 10.A.B.C:P becomes
  127.A.B.C:P (a Service port below 1024 becomes P+20000, so no root is needed). The cluster's kube-proxy
  listens on those loopback addresses while a Service has ready endpoints and closes them otherwise,
  so a client gets a genuine "connection refused";
- binds: a server binding 0.0.0.0 (or "") binds its pod's loopback address instead (KUBESIM_POD_IP).
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket

_MAP_PATH = os.environ.get("KUBESIM_NET_MAP", "")
_NAMESPACE = os.environ.get("KUBESIM_POD_NAMESPACE", "default")
_POD_IP = os.environ.get("KUBESIM_POD_IP", "")
_SERVICES = ipaddress.ip_network("10.96.0.0/12")
_PODS = ipaddress.ip_network("10.244.0.0/16")
_cache: dict[str, object] = {"mtime": None, "map": {}}


def _services() -> dict[str, dict[str, str]]:
    try:
        mtime = os.stat(_MAP_PATH).st_mtime_ns
    except OSError:
        return {}
    if mtime != _cache["mtime"]:
        try:
            with open(_MAP_PATH, encoding="utf-8") as fh:
                _cache["map"] = json.load(fh).get("services", {})
            _cache["mtime"] = mtime
        except (OSError, ValueError):
            pass
    return _cache["map"]  # type: ignore[return-value]


def cluster_ip(host: str) -> str | None:
    """The ClusterIP a cluster DNS name resolves to, None for names outside the cluster (left to the real
    resolver); raises gaierror for a cluster name no Service answers to, as cluster DNS does."""
    name = host.rstrip(".").lower()
    in_domain = False
    for suffix in (".svc.cluster.local", ".svc"):
        if name.endswith(suffix):
            name, in_domain = name[: -len(suffix)], True
            break
    parts = name.split(".")
    services = _services()
    if len(parts) == 1 and name != "localhost":
        in_domain = True
        ip = services.get(_NAMESPACE, {}).get(name)
    elif len(parts) == 2 and (in_domain or parts[1] in services):
        in_domain = True
        ip = services.get(parts[1], {}).get(parts[0])
    else:
        ip = None
    if ip:
        return ip
    if in_domain:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return None


def loopback(addr: str, port: int) -> tuple[str, int]:
    """Where a connection to a cluster address really goes."""
    try:
        ip = ipaddress.ip_address(addr)
    except ValueError:
        return addr, port
    if ip.version == 4 and (ip in _SERVICES or ip in _PODS):
        a, b, c = str(ip).split(".")[1:]
        return f"127.{a}.{b}.{c}", (port + 20000 if ip in _SERVICES and port < 1024 else port)
    return addr, port


_real_getaddrinfo = socket.getaddrinfo
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_bind = socket.socket.bind


def _getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):  # noqa: PLR0917 - socket.getaddrinfo's signature
    if isinstance(host, bytes):
        host = host.decode()
    if isinstance(host, str) and host and not host[0].isdigit() and host not in ("localhost",):
        ip = cluster_ip(host)
        if ip:
            host = ip
    return _real_getaddrinfo(host, port, family, type, proto, flags)


def _mapped(address):
    if isinstance(address, tuple) and len(address) >= 2 and isinstance(address[0], str):
        host, port = loopback(address[0], int(address[1]))
        return (host, port, *address[2:])
    return address


def _connect(self, address):
    return _real_connect(self, _mapped(address))


def _connect_ex(self, address):
    return _real_connect_ex(self, _mapped(address))


def _bind(self, address):
    if (
        _POD_IP
        and isinstance(address, tuple)
        and address
        and address[0] in ("", "0.0.0.0")
        and self.family == socket.AF_INET
    ):
        address = (loopback(_POD_IP, int(address[1]))[0], *address[1:])
    return _real_bind(self, address)


if _MAP_PATH:
    socket.getaddrinfo = _getaddrinfo
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
    socket.socket.bind = _bind  # type: ignore[method-assign]
