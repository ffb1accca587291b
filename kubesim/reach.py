"""Reach a Service of the local cluster from this machine as a pod does, and the shop as a customer does.

The API server's service proxy cannot carry a shopper's Basic-auth login or a management API's credentials (it
takes the Authorization header for itself, as a real API server does), so a client on this machine (a test, a
bench) does what a pod does: it resolves the Service's ClusterIP and connects to the address the cluster's
kube-proxy listens on for it (the cluster's network map, <state>/net.json). `Shopper` is a customer's browser
on the front-end: a requests session keeps its cookies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from kubesim.runtime.hook.sitecustomize import NetMap


def service_url(state: Path, namespace: str, service: str, port: int) -> str:
    """http://<kube-proxy's address for the Service>:<port as it listens there>."""
    net = NetMap.from_json((state / "net.json").read_text())
    cluster_ip = net.services[namespace][service]
    host, mapped = net.loopback(cluster_ip, port)
    return f"http://{host}:{mapped}"


class Shopper:
    """One customer's browser: a session with the front-end's cookies."""

    def __init__(self, state: Path, namespace: str = "sock-shop") -> None:
        self.base = service_url(state, namespace, "front-end", 80)
        self.http = requests.Session()

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.base + path, timeout=30, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> requests.Response:
        return self.http.post(self.base + path, data=json.dumps(body) if body is not None else None,
                              headers={"Content-Type": "application/json"}, timeout=30, **kw)  # fmt: skip

    def login(self, username: str = "user", password: str = "password") -> requests.Response:
        return self.get("/login", auth=(username, password))
