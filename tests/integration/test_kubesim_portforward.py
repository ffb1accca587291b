"""`kubectl port-forward` against the embedded cluster: svc/, deployment/ and pod/ forms, both wire forms
(SPDY tunneled in a WebSocket, kubectl's default, and the plain SPDY upgrade it falls back to), concurrent
connections, a refused port, and the session ending when the pod goes away."""

from __future__ import annotations

import contextlib
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.integration.conftest import KUBECTLS, Cluster, require_kubectl
from tests.integration.web import container, create, deploy, ready_pod, server


@pytest.fixture(scope="module")
def web(cluster: Cluster) -> Iterator[str]:
    """Namespace with Deployment `web` (python http.server on 8080) behind Service `web` (80 -> http)."""
    require_kubectl()
    ns = cluster.namespace("portforward")
    deploy(cluster, ns, container(server()))
    yield ns
    cluster.json("DELETE", f"/api/v1/namespaces/{ns}")


@dataclass
class Forward:
    proc: subprocess.Popen[str]
    port: int
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    def get(self, path: str, timeout: float = 10) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=timeout) as resp:
            assert resp.status == 200
            return str(resp.read().decode())

    def stderr(self) -> str:
        return "".join(self.err)


@contextlib.contextmanager
def forward(cluster: Cluster, ns: str, target: str, remote: str, *flags: str, **env: str) -> Iterator[Forward]:
    """`kubectl port-forward <target> 0:<remote>` running until the block ends (stopped by its pid)."""
    proc = subprocess.Popen(
        [str(KUBECTLS[0]), "-n", ns, "port-forward", *flags, target, f"0:{remote}"],
        env={**cluster.env, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    fwd = Forward(proc, 0)
    ready = threading.Event()

    def pump(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)
            m = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) -> ", line)
            if m:
                fwd.port = int(m.group(1))
                ready.set()
        ready.set()  # the stream ended: kubectl exited

    threads = [
        threading.Thread(target=pump, args=(proc.stdout, fwd.out), daemon=True),
        threading.Thread(target=pump, args=(proc.stderr, fwd.err), daemon=True),
    ]
    for t in threads:
        t.start()
    try:
        assert ready.wait(30), "kubectl port-forward printed nothing in 30s"
        assert fwd.port, f"kubectl port-forward did not start:\n{''.join(fwd.out)}{fwd.stderr()}"
        yield fwd
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        for t in threads:
            t.join(5)


def test_service_forward_serves_concurrent_connections(cluster: Cluster, web: str) -> None:
    pod = ready_pod(cluster, web)
    assert pod is not None
    with forward(cluster, web, "svc/web", "80", "-v=4") as fwd:
        assert fwd.out[0].startswith(f"Forwarding from 127.0.0.1:{fwd.port} -> 8080")  # svc 80 -> targetPort
        with ThreadPoolExecutor(20) as pool:
            bodies = list(pool.map(lambda i: fwd.get(f"/req-{i}"), range(20)))
        assert bodies == [f"/req-{i} from {pod['metadata']['name']}" for i in range(20)]
        # small requests, one connection each: a rough latency figure for the report
        times = []
        for i in range(30):
            start = time.perf_counter()
            assert fwd.get(f"/t{i}").startswith(f"/t{i} ")
            times.append(time.perf_counter() - start)
        times.sort()
        print(f"port-forward request latency: p50 {times[15] * 1000:.1f} ms, max {times[-1] * 1000:.1f} ms")
        assert fwd.proc.poll() is None
        assert fwd.out.count(f"Handling connection for {fwd.port}\n") == 50
        # kubectl's default: SPDY tunneled in a WebSocket, negotiated without falling back
        assert '"Negotiation complete" protocol="portforward.k8s.io"' in fwd.stderr()


def test_deployment_and_pod_forms(cluster: Cluster, web: str) -> None:
    pod = ready_pod(cluster, web)
    assert pod is not None
    name = pod["metadata"]["name"]
    with forward(cluster, web, "deployment/web", "8080") as fwd:
        assert fwd.get("/d") == f"/d from {name}"
    with forward(cluster, web, f"pod/{name}", "http") as fwd:  # a named container port
        assert fwd.get("/p") == f"/p from {name}"


def test_plain_spdy_fallback(cluster: Cluster, web: str) -> None:
    """With the WebSocket tunnel turned off kubectl upgrades to SPDY/3.1 directly; that is served too."""
    with forward(cluster, web, "svc/web", "80", "-v=4", KUBECTL_PORT_FORWARD_WEBSOCKETS="false") as fwd:
        with ThreadPoolExecutor(10) as pool:
            bodies = list(pool.map(lambda i: fwd.get(f"/s{i}"), range(10)))
        assert all(b.startswith(f"/s{i} from web-") for i, b in enumerate(bodies))
        assert "WebSocket" not in fwd.stderr()


def test_refused_port_is_reported(cluster: Cluster, web: str) -> None:
    pod = ready_pod(cluster, web)
    assert pod is not None
    with forward(cluster, web, f"pod/{pod['metadata']['name']}", "9999") as fwd:
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            fwd.get("/nothing-listens", timeout=5)
        cluster.wait_for(lambda: "error forwarding port 9999" in fwd.stderr(), timeout=10)
        assert f"dial tcp4 {pod['status']['podIP']}:9999: connect: connection refused" in fwd.stderr()
        # kubectl >= 1.31 closes the session after an error on the error stream, as against a real kubelet
        fwd.proc.wait(10)
        assert fwd.proc.returncode != 0


def test_deleting_the_pod_ends_the_forward(cluster: Cluster, web: str) -> None:
    pod = ready_pod(cluster, web)
    assert pod is not None
    name = pod["metadata"]["name"]
    with forward(cluster, web, f"pod/{name}", "8080") as fwd:
        assert fwd.get("/before") == f"/before from {name}"
        cluster.kubectl(KUBECTLS[0], "-n", web, "delete", "pod", name, "--wait=false")
        start = time.monotonic()
        fwd.proc.wait(15)
        assert time.monotonic() - start < 10
        assert fwd.proc.returncode == 1
        assert "lost connection to pod" in fwd.stderr()
    cluster.wait_for(lambda: ready_pod(cluster, web), timeout=60, interval=0.2)  # the Deployment replaces it


def test_api_refusals(cluster: Cluster, web: str) -> None:
    pod = ready_pod(cluster, web)
    assert pod is not None
    base = f"/api/v1/namespaces/{web}/pods"
    name = pod["metadata"]["name"]
    # no credentials: refused before anything else, as every other request
    status, _, _ = cluster.request("POST", f"{base}/{name}/portforward", token="")
    assert status == 401
    # not an upgrade request
    status, body = cluster.json("POST", f"{base}/{name}/portforward")
    assert status == 400 and "Upgrade request required" in body["message"], body
    status, body = cluster.json("POST", f"{base}/missing/portforward", headers={"Upgrade": "SPDY/3.1"})
    assert status == 404, body
    # a pod that is not running (never scheduled)
    create(
        cluster,
        base,
        {
            "metadata": {"name": "pending"},
            "spec": {
                "nodeSelector": {"no-such-label": "x"},
                "containers": [{"name": "c", "image": "python:3.12-slim", "command": ["sleep", "60"]}],
            },
        },
    )
    hdrs = {"Connection": "Upgrade", "Upgrade": "SPDY/3.1", "X-Stream-Protocol-Version": "portforward.k8s.io"}
    status, body = cluster.json("POST", f"{base}/pending/portforward", headers=hdrs)
    assert status == 400 and "pending" in body["message"], body
    # exec without the WebSocket upgrade: kubelet's answer to a request kubectl never makes
    status, body = cluster.json("POST", f"{base}/{name}/exec?command=ls&stdout=true")
    assert (status, body["message"]) == (400, "Upgrade request required"), body
