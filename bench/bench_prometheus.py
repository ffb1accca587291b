"""Benchmark of issue 18 on the local target: prints figures, asserts nothing.

- time from a scale to zero (stripe-mock, as INCIDENT-6 does it) until
  `kube_deployment_status_replicas_available{deployment="stripe-mock"}` shows 0 in a query through the API server's
  service proxy, as the signals ask it (goal <= 5 s with the 2 s scrape interval); median and max of 5;
- Prometheus' memory on the provisioned shop: the pod's working set from the metrics API (what `kubectl top`
  shows) and the server's resident set, after the 5 rounds.

Starts its own cluster in a temporary directory (provision.yml with the prometheus role) and stops it (by pid)
at the end, also on failure.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
from bench_incident import NS, Bench, line

from kubesim.usage import bytes_of

PROMETHEUS = "/api/v1/namespaces/monitoring/services/kps-kube-prometheus-stack-prometheus:9090/proxy"
AVAILABLE = f'kube_deployment_status_replicas_available{{namespace="{NS}",deployment="stripe-mock"}}'


def get(bench: Bench, path: str) -> Any:
    """GET on the API server (the service proxy included), as JSON."""
    return json.loads(bench.api.call_api(*bench.api.param_serialize("GET", path, auth_settings=["BearerToken"])).read())


def shows(bench: Bench, value: float) -> bool:
    result = get(bench, f"{PROMETHEUS}/api/v1/query?query={quote(AVAILABLE)}")["data"]["result"]
    return len(result) == 1 and float(result[0]["value"][1]) == value


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-prometheus-") as tmp:
        bench = Bench(Path(tmp))
        bench.cli("up")
        try:
            line("provision.yml with Prometheus", bench.playbook("provision.yml"))
            bench.connect()
            bench.wait(lambda: shows(bench, 1), timeout=60)
            took = []
            for _ in range(5):
                bench.scale("stripe-mock", 0)
                written = time.monotonic()
                bench.wait(lambda: shows(bench, 0), timeout=30)
                took.append(time.monotonic() - written)
                bench.scale("stripe-mock", 1)
                bench.wait(lambda: shows(bench, 1), timeout=60)
            line("scale to zero -> the query shows 0 (median of 5)", statistics.median(took), "goal <= 5 s")
            line("scale to zero -> the query shows 0 (max of 5)", max(took), "goal <= 5 s")
            selector = "labelSelector=app.kubernetes.io%2Fname%3Dprometheus"
            (pod,) = get(bench, f"/api/v1/namespaces/monitoring/pods?{selector}")["items"]
            name, uid = pod["metadata"]["name"], pod["metadata"]["uid"]
            usage = get(bench, f"/apis/metrics.k8s.io/v1beta1/namespaces/monitoring/pods/{name}")["containers"][0]
            pid = int((bench.state / "pods" / f"{uid}_prometheus.pid").read_text().strip())
            rss = psutil.Process(pid).memory_info().rss / 2**20
            working_set = bytes_of(usage["usage"]["memory"]) / 2**20
            print(f"{'Prometheus working set (metrics API, as kubectl top)':<58} {working_set:8.1f} MiB")
            print(f"{'Prometheus resident set (the prometheus process)':<58} {rss:8.1f} MiB")
        finally:
            bench.cli("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
