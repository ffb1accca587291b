"""The Datadog keys and the Grafana admin password never show: not in any playbook's output at -vvv, not in the
reports, the run journal or the rendered runbooks.

Each secret is planted as a recognisable value, and each is proven to have gone where it belongs: the Datadog API
key into Secret datadog/datadog-secret and into the requests verify makes to the Datadog API (a local stand-in
for it, which answers the two calls verify makes); the Grafana password into Secret monitoring/kps-grafana.
Every playbook that takes them runs: provision (kind's monitoring and Datadog on, against an existing cluster),
every incident phase, handoff and teardown.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import NAMESPACE, ROOT, Cluster, ok

pytestmark = pytest.mark.slow


class DatadogAPI(BaseHTTPRequestHandler):
    """The two Datadog API calls verify makes: a log search that finds one event, a metric query at 0."""

    keys: list[str] = []

    def answer(self, document: dict[str, Any]) -> None:
        self.keys.append(self.headers.get("DD-API-KEY", ""))
        body = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # /api/v2/logs/events/search
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.answer({"data": [{"id": "AQAAAYz", "attributes": {"message": "Payment gateway error"}}]})

    def do_GET(self) -> None:  # /api/v1/query
        scope = f"kube_namespace:{NAMESPACE},kube_deployment:stripe-mock"
        self.answer({"series": [{"scope": scope, "pointlist": [[time.time() * 1000, 0.0]]}]})

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture(scope="module")
def datadog() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), DatadogAPI)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


INCIDENT = "6"  # the provisioned cluster fixture of tests/e2e/conftest.py


PLANTED = {
    "DD_API_KEY": f"ddapikeyPLANTED{secrets.token_hex(12)}",
    "DD_APP_KEY": f"ddappkeyPLANTED{secrets.token_hex(12)}",
    "GRAFANA_ADMIN_PASSWORD": f"grafanaPLANTED{secrets.token_hex(12)}",
}


def forms(value: str) -> list[str]:
    """The value as a leak could show it: plain, base64 (a Secret's data), and without the random tail."""
    return [value, base64.b64encode(value.encode()).decode(), value[: value.index("PLANTED") + len("PLANTED")]]


def leaks(text: str) -> list[str]:
    return [f"{name} as {shown!r}" for name, value in PLANTED.items() for shown in forms(value) if shown in text]


def scan(folder: Path) -> list[str]:
    return [
        f"{path}: {found}"
        for path in folder.rglob("*")
        if path.is_file()
        for found in leaks(path.read_text("utf-8", "replace"))
    ]


def stored(cluster: Cluster, namespace: str, name: str, key: str) -> str:
    return base64.b64decode(cluster.core().read_namespaced_secret(name, namespace).data[key]).decode()


def test_no_secret_shows_anywhere(cluster: Cluster, datadog: str, tmp_path: Path) -> None:
    env = dict(cluster.env, **PLANTED)
    monitored = [
        "-e", "sockshop_target=cluster",  # an existing cluster: kind's monitoring and Datadog roles, no KIND
        "-e", "sockshop_monitoring_enabled=true",
        "-e", "sockshop_datadog_enabled=true",
        "-e", f"sockshop_datadog_api_url={datadog}",
        "-e", "kube_prometheus_stack_chart_repo_url=http://127.0.0.1:9",  # no chart repository: offline
        "-e", "datadog_chart_repo_url=http://127.0.0.1:9",
        "-vvv",
    ]  # fmt: skip
    runbooks = tmp_path / "runbooks"
    runbooks.mkdir()
    steps = [
        ("provision.yml",),
        *[(f"incident-{cluster.incident}.yml", "-e", f"phase={p}") for p in ("activate", "verify", "status")],
        *[(f"incident-{cluster.incident}.yml", "-e", f"phase={p}") for p in ("recover", "report", "all")],
        ("handoff.yml", "-e", f"handoff_output_dir={runbooks}"),
        ("teardown.yml", "-e", "sockshop_keep_cluster=true"),
    ]
    found = []
    DatadogAPI.keys.clear()
    for name, *args in steps:
        result = cluster.run(name, *args, *monitored, env=env)
        ok(result)
        found += [f"{name} {' '.join(args)}: {leak}" for leak in leaks(result.stdout + result.stderr)]
        if name == "provision.yml":  # the secrets went where they belong
            assert stored(cluster, "datadog", "datadog-secret", "api-key") == PLANTED["DD_API_KEY"]
            assert stored(cluster, "monitoring", "kps-grafana", "admin-password") == PLANTED["GRAFANA_ADMIN_PASSWORD"]

    assert DatadogAPI.keys and set(DatadogAPI.keys) == {PLANTED["DD_API_KEY"]}  # verify used the planted key
    newest = max(cluster.reports.glob("incident-6-*/report.json"), key=lambda p: p.stat().st_mtime)
    checked = {
        s["name"]: s["status"] for s in json.loads(newest.read_text())["signals"] if s["kind"].startswith("datadog")
    }
    assert checked == {
        "datadog has payment gateway errors": "passed",
        "datadog shows the gateway not running": "passed",
    }
    found += scan(cluster.reports) + scan(runbooks) + scan(ROOT / "docs")
    assert not found, found
