"""The `web` workload of the streaming tests (port-forward, exec): python:3.12-slim serving GET /<path> with
"<path> from <pod name>" on 8080, as a Deployment behind Service `web` (80 -> http)."""

from __future__ import annotations

from typing import Any

from tests.integration.conftest import Cluster

LABELS = {"app": "web"}


def server(prelude: str = "") -> str:
    """The container's program (`python3 -c`); `prelude` runs first (one line of Python)."""
    return f"""
import http.server, os
{prelude}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{{self.path}} from {{os.environ['POD_NAME']}}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 8080), H).serve_forever()
"""


def create(cluster: Cluster, path: str, body: dict[str, Any]) -> None:
    status, out = cluster.json("POST", path, body)
    assert status == 201, out


def ready_pod(cluster: Cluster, ns: str) -> dict[str, Any] | None:
    """The Ready, Running, not terminating pod of `web`, if there is one."""
    _, body = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector=app%3Dweb")
    for pod in body["items"]:
        conds = pod["status"].get("conditions") or []
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conds)
        if ready and pod["status"].get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp"):
            return dict(pod)
    return None


def deploy(cluster: Cluster, ns: str, container: dict[str, Any], volumes: list[dict[str, Any]] | None = None) -> None:
    """Deployment `web` with one replica of `container` (its port named http, 8080) and Service `web`; waits
    until the pod is Ready."""
    spec: dict[str, Any] = {"containers": [container], **({"volumes": volumes} if volumes else {})}
    template = {"metadata": {"labels": LABELS}, "spec": spec}
    create(
        cluster,
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        {
            "metadata": {"name": "web"},
            "spec": {"replicas": 1, "selector": {"matchLabels": LABELS}, "template": template},
        },
    )
    create(
        cluster,
        f"/api/v1/namespaces/{ns}/services",
        {"metadata": {"name": "web"}, "spec": {"selector": LABELS, "ports": [{"port": 80, "targetPort": "http"}]}},
    )
    cluster.wait_for(lambda: ready_pod(cluster, ns), timeout=60, interval=0.2)


def container(program: str, **extra: Any) -> dict[str, Any]:
    """The web container: python:3.12-slim running `program`, POD_NAME from the downward API, Ready on 8080."""
    env = [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}, *extra.pop("env", [])]
    return {
        "name": "web",
        "image": "python:3.12-slim",
        "command": ["python3", "-c", program],
        "ports": [{"name": "http", "containerPort": 8080}],
        "env": env,
        "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1},
        **extra,
    }


def busybox(cluster: Cluster, ns: str, name: str, command: list[str]) -> None:
    """Pod `name` with one busybox container (`c`) running `command`; waits until it is Running."""
    pod = {"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "image": "busybox", "command": command}]}}
    create(cluster, f"/api/v1/namespaces/{ns}/pods", pod)
    path = f"/api/v1/namespaces/{ns}/pods/{name}"
    cluster.wait_for(lambda: cluster.json("GET", path)[1]["status"].get("phase") == "Running", timeout=30)
