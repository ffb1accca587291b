"""incident_series against a real Prometheus: Debian's prometheus binary as a pod on an embedded cluster of this file's
own (test_kubesim_prometheus' deployment, scraping the API server's kube-state-metrics families), reached through the
API server's service proxy, the module run by Ansible as a task. Its series come back with points in the window, a
query Prometheus refuses is unanswered in its words, and with Prometheus scaled to 0 the task still succeeds. The
settle waits out a target whose scrapes fail (its process stopped, as a starved API server's /metrics is): a failed
scrape after the end is no sign that the series saw it.

The cluster is started in a scratch state directory and always stopped (`down`, then the server's pid killed if it
survived); `down` proves no pod process outlives it."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Cluster, running_cluster
from tests.integration.test_kubesim_prometheus import CONFIG, HAVE_PROMETHEUS, NS, deploy_prometheus, prometheus_pod
from tests.integration.test_module_paths import kube, run_task

pytestmark = pytest.mark.integration

SERVICE = f"{NS}/prometheus:9090"
AVAILABLE = f'kube_deployment_status_replicas_available{{namespace="{NS}"}}'
# A target down for good, as a control-plane component KIND does not expose: the settle leaves it out.
NEVER_UP = """\
  - job_name: never-up
    static_configs:
      - targets: ["127.0.0.1:9"]
"""
QUERIES = {
    "promql": [
        {"name": "available", "query": AVAILABLE},
        {"name": "up", "query": "up"},
        {"name": "typo", "query": "up{"},
    ]
}


def utc(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch(text: str) -> float:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


@pytest.fixture(scope="module")
def cluster_with_prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not HAVE_PROMETHEUS:  # as in test_kubesim_prometheus: a missing binary fails
        pytest.fail("prometheus is not installed: run `make setup` (Debian's prometheus package)")
    with running_cluster(tmp_path_factory.mktemp("series")) as cluster:
        deploy_prometheus(cluster, CONFIG + NEVER_UP)
        cluster.wait_for(lambda: prometheus_pod(cluster), timeout=60, interval=0.2)
        yield cluster


def series_task(cluster: Cluster, start: str, end: str, **extra: Any) -> dict[str, Any]:
    auth = {k: v for k, v in kube(cluster, NS).items() if k != "namespace"}
    args = {**auth, "queries": QUERIES, "start": start, "end": end, "prometheus_service": SERVICE, **extra}
    return run_task(cluster, "incident_series", args, in_process=False)


def prometheus_query(cluster: Cluster, query: str) -> list[dict[str, Any]]:
    asked = urllib.parse.urlencode({"query": query})
    status, body = cluster.json("GET", f"/api/v1/namespaces/{NS}/services/prometheus:9090/proxy/api/v1/query?{asked}")
    assert status == 200, body
    return list(body["data"]["result"])


def exporter_pid(cluster: Cluster) -> int:
    _, pods = cluster.json("GET", f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3Ddemo-exporter")
    (pod,) = pods["items"]
    return int((cluster.state / "pods" / f"{pod['metadata']['uid']}_exporter.pid").read_text())


def test_the_settle_waits_for_a_successful_scrape_of_a_target_whose_scrapes_fail(
    cluster_with_prometheus: Cluster,
) -> None:
    cluster = cluster_with_prometheus
    up = 'up{job="kubernetes-pods"}'
    cluster.wait_for(lambda: [r["value"][1] for r in prometheus_query(cluster, up)] == ["1"], timeout=40, interval=0.5)
    pid = exporter_pid(cluster)
    resumed: list[float] = []

    def resume() -> None:
        if not resumed:
            resumed.append(time.time())
            os.kill(pid, signal.SIGCONT)

    os.kill(pid, signal.SIGSTOP)  # connections are accepted, never answered: each scrape fails at its 2 s timeout
    timer = threading.Timer(6.0, resume)
    try:
        cluster.wait_for(
            lambda: [r["value"][1] for r in prometheus_query(cluster, up)] == ["0"], timeout=20, interval=0.3
        )
        end = time.time()
        timer.start()  # the exporter answers again 6 s after `end`: two more failed scrapes before that
        result = series_task(cluster, utc(end - 30), utc(end), names=["available"], settle_s=20)
    finally:
        if timer.is_alive():  # resumed when planned, not when the settle gave up early (that is what is tested)
            timer.join(10)
        resume()
    assert [r["value"][1] for r in prometheus_query(cluster, 'up{job="never-up"}')] == ["0"]
    assert result.get("failed") is not True and result["settled"] is True, result
    # The window ends one step past a scrape that worked: one that started at most its 2 s timeout before the
    # exporter answered again (a scrape in flight then succeeds), where a failed one would be 4 s before.
    scraped = epoch(result["window"]["end"]) - result["window"]["step_s"]
    assert scraped >= resumed[0] - 2.0, (result["window"], resumed)


def test_series_of_a_real_prometheus_through_the_service_proxy(
    cluster_with_prometheus: Cluster, tmp_path: Path
) -> None:
    cluster = cluster_with_prometheus
    started = time.time()

    def scraped() -> bool:  # both Deployments of the namespace, scraped at least three times
        query = urllib.parse.urlencode({"query": f"count_over_time({AVAILABLE}[1m]) >= 3"})
        status, body = cluster.json(
            "GET", f"/api/v1/namespaces/{NS}/services/prometheus:9090/proxy/api/v1/query?{query}"
        )
        return status == 200 and len(body["data"]["result"]) == 2

    cluster.wait_for(scraped, timeout=40, interval=0.5)
    start, end = utc(started - 60), utc(time.time())
    result = series_task(cluster, start, end, names=["available", "typo", "up"], max_series=3)
    assert result.get("failed") is not True and result["changed"] is False, result
    assert result["window"]["step_s"] == 1.0  # a window of about a minute: one point a second
    by_label = {s["label"]: s for s in result["series"]}
    assert list(by_label)[:2] == ["available deployment=demo-exporter", "available deployment=prometheus"], result
    for one in by_label.values():
        times = [epoch(p["at"]) for p in one["points"]]
        assert times and epoch(start) <= min(times) and max(times) <= epoch(end), one
    assert [p["value"] for p in by_label["available deployment=prometheus"]["points"]][-1] == 1.0
    # `up` has a series for each scrape job; the third series is the first of them, the others are dropped
    (up,) = [s for s in result["series"] if s["query"] == "up"]
    assert up["label"].startswith("up ") and "job=kubernetes-" in up["label"] and result["dropped"] >= 1, result
    (typo,) = result["unanswered"]
    assert typo["query"] == "typo" and "(HTTP 400): bad_data: " in typo["reason"] and "up{" in typo["reason"], typo

    # Prometheus scaled to 0: its Service has no endpoints, and the task still succeeds
    status, body = cluster.json(
        "PATCH",
        f"/apis/apps/v1/namespaces/{NS}/deployments/prometheus/scale",
        {"spec": {"replicas": 0}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert status == 200, body
    cluster.wait_for(lambda: prometheus_pod(cluster) is None, timeout=20, interval=0.2)
    down = cluster.wait_for(
        lambda: (got := series_task(cluster, start, end, names=["available", "up"]))["series"] == [] and got,
        timeout=20,
        interval=0.5,
    )
    assert down.get("failed") is not True and [u["query"] for u in down["unanswered"]] == ["available", "up"], down
    assert 'no endpoints available for service "prometheus"' in down["unanswered"][0]["reason"], down
