"""incident_signals' promql and alert signals against a real Prometheus (Debian's `prometheus`, which `make setup`
installs or unpacks into the venv): started on 127.0.0.1 with a 1 s scrape and evaluation interval, scraping a tiny
prometheus_client exporter in this process, with a rule file of its own. The Observer and poll run as the module
runs them (not through Ansible), reaching Prometheus through prometheus_service - a `call` that answers as the API
server's service proxy does (a refused dial is its HTTP 503 Status) - and through prometheus_url with the module's
own HTTP client.

A missing prometheus binary fails these tests rather than skipping them (run `make setup`), as a missing promtool
does in test_prometheus_rules. Every process started here is stopped by its pid, also when a test fails."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError

import pytest
import yaml
from ansible.module_utils.sockshop_service_proxy import ProxyResponse
from prometheus_client import CollectorRegistry, Gauge, start_http_server

from plugins.modules import incident_signals as sig
from tests.unit.modules.incident_fakes import FakeConfigMaps, FakeLive

VENV_BIN = Path(sys.executable).parent
SERVICE = "monitoring/kps-kube-prometheus-stack-prometheus:9090"
RULES = {
    "groups": [
        {
            "name": "sockshop.test",
            "rules": [
                # Prometheus' own always-firing alert: no namespace or incident label, so never in a noise scope.
                {"alert": "Watchdog", "expr": "vector(1)", "labels": {"severity": "none"}},
                {
                    "alert": "PaymentGatewayUnavailable",
                    "expr": 'test_replicas_available{namespace="sock-shop",deployment="stripe-mock"} == 0',
                    "for": "0s",
                    "labels": {"severity": "critical", "incident": "6"},
                },
                {
                    "alert": "PaymentPodRestarting",
                    "expr": 'test_restarts{namespace="sock-shop",deployment="payment"} > 0',
                    "for": "0s",
                    "labels": {"severity": "warning", "incident": "6"},
                },
            ],
        }
    ]
}
QUERIES = {
    "promql": [
        {"name": "payment", "query": 'test_replicas_available{namespace="sock-shop",deployment="payment"}'},
        {"name": "nothing", "query": 'test_replicas_available{deployment="no-such-deployment"}'},
        {"name": "malformed", "query": 'test_replicas_available{deployment="payment"'},
    ]
}


def prometheus_binary() -> str:
    found = shutil.which("prometheus", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        pytest.fail("prometheus is not installed: run `make setup` (Debian's prometheus package)")
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Exporter:
    """A prometheus_client exporter in this process: the series the rules and queries read."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.replicas = Gauge(
            "test_replicas_available", "available", ["namespace", "deployment"], registry=self.registry
        )
        self.restarts = Gauge("test_restarts", "restarts", ["namespace", "deployment"], registry=self.registry)
        self.replicas.labels("sock-shop", "payment").set(1)
        self.replicas.labels("sock-shop", "stripe-mock").set(1)
        self.restarts.labels("sock-shop", "payment").set(0)
        self.server, self.thread = start_http_server(0, addr="127.0.0.1", registry=self.registry)
        self.port = int(self.server.server_port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


class Prometheus:
    """The real binary on a free port, with a temporary config and rule file."""

    def __init__(self, directory: Path, target_port: int) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "rules.yml").write_text(yaml.safe_dump(RULES))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(directory / "rules.yml")],
            "scrape_configs": [{"job_name": "shop", "static_configs": [{"targets": [f"127.0.0.1:{target_port}"]}]}],
        }
        (directory / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = (directory / "prometheus.log").open("wb")
        self.proc = subprocess.Popen(
            [
                prometheus_binary(),
                f"--config.file={directory / 'prometheus.yml'}",
                f"--storage.tsdb.path={directory / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.directory = directory

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            with contextlib.suppress(OSError), urllib.request.urlopen(self.url + "/-/ready", timeout=1) as answer:
                if answer.status == 200:
                    return
            time.sleep(0.1)
        raise AssertionError("prometheus did not become ready:\n" + (self.directory / "prometheus.log").read_text())

    def wait_for(self, query: str, timeout: float = 20.0) -> None:
        """Until the query has a series (the first scrapes and rule evaluations take a few seconds)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            doc = json.loads(urllib.request.urlopen(f"{self.url}/api/v1/query?query={query}", timeout=2).read())
            if doc["data"]["result"]:
                return
            time.sleep(0.2)
        raise AssertionError(f"no series for {query} within {timeout} s")

    def stop(self) -> None:
        """By its pid: SIGTERM, then SIGKILL if it has not ended within 10 s."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


@pytest.fixture
def exporter() -> Iterator[Exporter]:
    served = Exporter()
    try:
        yield served
    finally:
        served.stop()


@pytest.fixture
def prometheus(tmp_path: Path, exporter: Exporter) -> Iterator[Prometheus]:
    server = Prometheus(tmp_path / "prometheus", exporter.port)
    try:
        server.wait_ready()
        server.wait_for("test_replicas_available")
        yield server
    finally:
        server.stop()


def proxy_call(prometheus: Prometheus, asked: list[str]) -> Any:
    """call(service, port, path, namespace=) as run() gives the Observer, answering as the API server's service
    proxy: the Service's answer whatever its status, and a refused dial as the proxy's HTTP 503 Status."""

    def call(service: str, port: Any, path: str, method: str = "GET", namespace: str | None = None) -> ProxyResponse:
        assert (namespace, service, str(port)) == ("monitoring", "kps-kube-prometheus-stack-prometheus", "9090")
        asked.append(path)
        try:
            with urllib.request.urlopen(prometheus.url + path, timeout=5) as answer:
                return ProxyResponse(answer.status, {}, answer.read(), 0.0)
        except HTTPError as exc:
            return ProxyResponse(exc.code, {}, exc.read(), 0.0)
        except URLError as exc:
            message = f"error trying to reach service: dial tcp 127.0.0.1:{prometheus.port}: connect: {exc.reason}"
            status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "code": 503}
            return ProxyResponse(503, {}, json.dumps(status).encode(), 0.0)

    return call


def observer(prometheus: Prometheus, asked: list[str], *, through: str = "service") -> sig.Observer:
    params = {
        "incident_id": "6",
        "since": "2026-12-07T05:00:00Z",
        "queries": QUERIES,
        "prometheus_service": SERVICE if through == "service" else "",
        "prometheus_url": prometheus.url if through == "url" else "",
    }
    return sig.Observer(FakeLive(), FakeConfigMaps(), params, sig.http_json, proxy_call(prometheus, asked))


def run_poll(watcher: sig.Observer, *signals: dict[str, Any]) -> list[dict[str, Any]]:
    return sig.poll(list(signals), watcher, time.monotonic, time.sleep, 0.25)


def promql(name: str, query: str, expect: dict[str, Any], within_s: float = 5) -> dict[str, Any]:
    return {"name": name, "kind": "promql", "within_s": within_s, "check": {"query": query, "expect": expect}}


@pytest.mark.parametrize("through", ["service", "url"])
def test_promql_against_a_real_prometheus(prometheus: Prometheus, through: str) -> None:
    asked: list[str] = []
    started, ticking = time.time(), time.monotonic()
    data, empty, malformed = run_poll(
        observer(prometheus, asked, through=through),
        promql("payment at one", "payment", {"op": "eq", "value": 1, "labels": {"deployment": "payment"}}),
        promql("no such series", "nothing", {"op": "eq", "value": 0}, within_s=1),
        promql("a typo", "malformed", {"op": "eq", "value": 1}, within_s=30),
    )
    assert data["status"] == "passed", data
    (sample,) = data["samples"]
    labels = dict(sample["labels"])
    assert labels.pop("instance").startswith("127.0.0.1:")  # the exporter's scrape target
    assert labels == {"__name__": "test_replicas_available", "deployment": "payment", "namespace": "sock-shop",
                      "job": "shop"}  # fmt: skip
    assert sample["value"] == 1.0 and abs(sig.parse_iso(sample["at"]).timestamp() - started) < 30
    assert data["evidence"].startswith('test_replicas_available{deployment="payment",instance="127.0.0.1:')
    assert f"=1 at {sample['at']} (want eq 1)" in data["evidence"]
    assert (empty["status"], empty["evidence"]) == (
        "failed",
        f"not within 1 s: no series (got 0) (want eq 0) for {QUERIES['promql'][1]['query']}",
    )
    # refused at once (not after its 30 s budget), in Prometheus' own words, naming the query
    assert time.monotonic() - ticking < 10
    assert malformed["status"] == "failed" and "bad_data: " in malformed["evidence"], malformed
    assert "parse error" in malformed["evidence"] and QUERIES["promql"][2]["query"] in malformed["evidence"]
    if through == "service":
        assert all(path.startswith("/api/v1/query?query=test_replicas_available") for path in asked)


def test_alerts_against_a_real_prometheus(prometheus: Prometheus, exporter: Exporter) -> None:
    asked: list[str] = []
    watcher = observer(prometheus, asked)
    fires = {"name": "gateway alert fires", "kind": "alert", "within_s": 20,
             "check": {"alert": "PaymentGatewayUnavailable", "labels": {"deployment": "stripe-mock"}}}  # fmt: skip
    quiet = {"name": "no other alert", "kind": "alert", "within_s": 2, "hold": True,
             "check": {"only": ["PaymentGatewayUnavailable"], "scope": {"namespace": "sock-shop"}}}  # fmt: skip
    (absent,) = run_poll(watcher, dict(fires, within_s=1))
    assert absent["status"] == "failed" and "no active alert PaymentGatewayUnavailable" in absent["evidence"]
    assert "Watchdog" in absent["evidence"]  # Prometheus fires it all along

    exporter.replicas.labels("sock-shop", "stripe-mock").set(0)
    fired, held = run_poll(watcher, fires, quiet)
    assert fired["status"] == "passed", fired
    assert fired["evidence"].startswith('PaymentGatewayUnavailable{deployment="stripe-mock",incident="6",')
    (sample,) = fired["samples"]
    assert sample["state"] == "firing" and sample["value"] == 0.0 and sample["at"].endswith("Z")
    assert sample["labels"]["severity"] == "critical"
    assert held["status"] == "passed" and "1 firing outside the scope" in held["evidence"], held  # the Watchdog

    exporter.restarts.labels("sock-shop", "payment").set(1)
    (noisy,) = run_poll(watcher, dict(quiet, within_s=20))
    assert noisy["status"] == "failed", noisy
    assert "unexpected alert firing in scope" in noisy["evidence"]
    assert 'PaymentPodRestarting{deployment="payment",incident="6",' in noisy["evidence"]
    assert [s["labels"]["alertname"] for s in noisy["samples"]] == ["PaymentPodRestarting"]
    assert set(asked) == {"/api/v1/alerts"}


@pytest.mark.parametrize("through", ["service", "url"])
def test_a_stopped_prometheus_is_an_error_never_a_pass(prometheus: Prometheus, through: str) -> None:
    watcher = observer(prometheus, [], through=through)
    check = promql("payment at one", "payment", {"op": "eq", "value": 1, "labels": {"deployment": "payment"}})
    assert run_poll(watcher, check)[0]["status"] == "passed"  # it answers while it runs
    prometheus.stop()
    assert prometheus.proc.returncode is not None
    alert = {"name": "alert", "kind": "alert", "within_s": 1, "check": {"alert": "Watchdog"}}
    results = run_poll(watcher, dict(check, within_s=1), alert)
    assert [r["status"] for r in results] == ["error", "error"], results
    for result in results:
        assert result["evidence"].startswith("no answer within 1 s: Prometheus at ")
        assert "refused" in result["evidence"].lower(), result
