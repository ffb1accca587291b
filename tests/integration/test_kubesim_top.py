"""`kubectl top` against the embedded cluster: the metrics.k8s.io API is discovered, and real kubectl prints pods'
and nodes' usage as it does against metrics-server, measured from a pod that runs as a real process.

The tests marked MEASURED need the cluster's measurement side (the runtime's usage monitor, `cluster.usage`):
without it the API answers empty lists, and they fail waiting for numbers. The others hold either way."""

from __future__ import annotations

import contextlib
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration

APP = "stripe-mock"
POD_HEADER = ["NAME", "CPU(cores)", "MEMORY(bytes)"]
NODE_HEADER = ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
CPU = re.compile(r"(\d+)m")
MEMORY = re.compile(r"(\d+)Mi")
PERCENT = re.compile(r"(\d+)%")


def _workload(ns: str) -> list[tuple[str, dict[str, Any]]]:
    labels = {"app": APP}
    return [
        (
            f"/apis/apps/v1/namespaces/{ns}/deployments",
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": APP, "namespace": ns, "labels": labels},
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {
                        "metadata": {"labels": labels},
                        "spec": {
                            "containers": [
                                {
                                    "name": APP,
                                    "image": "stripe/stripe-mock:latest",  # the project's stand-in: a real process
                                    "ports": [{"containerPort": 12111}],
                                    "readinessProbe": {"tcpSocket": {"port": 12111}, "periodSeconds": 1},
                                }
                            ]
                        },
                    },
                },
            },
        ),
        (
            f"/api/v1/namespaces/{ns}/services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": APP, "namespace": ns},
                "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": 12111}]},
            },
        ),
        (
            # An image no local program runs: a placeholder container, which nothing measures.
            f"/api/v1/namespaces/{ns}/pods",
            {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {"name": "placeholder", "namespace": ns, "labels": {"app": "placeholder"}},
                "spec": {"containers": [{"name": "web", "image": "nginx:1.27"}]},
            },
        ),
    ]


def _ready_endpoints(cluster: Cluster, ns: str) -> list[str]:
    _, ep = cluster.json("GET", f"/api/v1/namespaces/{ns}/endpoints/{APP}")
    return [a["ip"] for s in (ep or {}).get("subsets") or [] for a in s.get("addresses") or []]


@pytest.fixture(scope="module")
def shop(cluster: Cluster) -> Iterator[str]:
    """A namespace with a stripe-mock process behind a Service, a placeholder pod, and requests flowing to the
    process through the API server's service proxy (so its CPU usage is not zero)."""
    ns = cluster.namespace("top")
    for path, obj in _workload(ns):
        status, body = cluster.json("POST", path, obj)
        assert status == 201, body
    cluster.wait_for(lambda: _ready_endpoints(cluster, ns), timeout=30)
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            with contextlib.suppress(OSError):
                cluster.request("GET", f"/api/v1/namespaces/{ns}/services/{APP}:80/proxy/v1/charges", timeout=5)
            stop.wait(0.02)

    loader = threading.Thread(target=load, name="top-load", daemon=True)
    loader.start()
    try:
        yield ns
    finally:
        stop.set()
        loader.join(timeout=10)
        cluster.record_pod_pids()


def _pod_name(cluster: Cluster, ns: str) -> str:
    _, pods = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector=app%3D{APP}")
    (pod,) = pods["items"]
    return str(pod["metadata"]["name"])


def _table(text: str) -> tuple[list[str], list[list[str]]]:
    lines = [line.split() for line in text.splitlines() if line.strip()]
    assert lines, text
    return lines[0], lines[1:]


def _measured_row(cluster: Cluster, kubectl_bin: Path, *args: str) -> Any:
    """Run `kubectl top ...` until it prints a row for the stripe-mock pod with CPU and memory above zero."""

    def attempt() -> tuple[list[str], list[list[str]]] | None:
        out = cluster.kubectl(kubectl_bin, "top", *args, check=False)
        if out.returncode != 0:
            return None
        header, rows = _table(out.stdout)
        for row in rows:
            if any(cell.startswith(f"{APP}-") for cell in row):
                cpu, memory = CPU.fullmatch(row[-2]), MEMORY.fullmatch(row[-1])
                assert cpu and memory, out.stdout
                if int(cpu.group(1)) > 0 and int(memory.group(1)) > 0:
                    return header, rows
        return None

    return cluster.wait_for(attempt, timeout=45, interval=1)


# ---- discovery (holds without measurement) -----------------------------------------------------------------------
def test_discovery_lists_the_metrics_api(cluster: Cluster, kubectl_bin: Path) -> None:
    status, groups = cluster.json("GET", "/apis")
    assert status == 200
    assert {
        "name": "metrics.k8s.io",
        "versions": [{"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}],
        "preferredVersion": {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"},
    } in groups["groups"]
    versions = cluster.kubectl(kubectl_bin, "api-versions").stdout.split()
    assert "metrics.k8s.io/v1beta1" in versions
    out = cluster.kubectl(kubectl_bin, "api-resources", "--api-group=metrics.k8s.io", "-o", "wide").stdout
    header, rows = _table(out)
    assert header[:5] == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert sorted(rows) == [
        ["nodes", "metrics.k8s.io/v1beta1", "false", "NodeMetrics", "get,list"],
        ["pods", "metrics.k8s.io/v1beta1", "true", "PodMetrics", "get,list"],
    ]


def test_the_metrics_api_is_read_only(cluster: Cluster, shop: str) -> None:
    base = f"/apis/metrics.k8s.io/v1beta1/namespaces/{shop}/pods"
    status, body = cluster.json("POST", base, {"metadata": {"name": "x"}})
    assert (status, body["reason"]) == (405, "MethodNotAllowed")
    status, body = cluster.json("GET", f"{base}?watch=true")
    assert (status, body["message"]) == (405, 'watch is not supported on resources of kind "pods.metrics.k8s.io"')


def test_top_pod_of_a_placeholder_is_not_found(cluster: Cluster, shop: str, kubectl_bin: Path) -> None:
    out = cluster.kubectl(kubectl_bin, "top", "pod", "placeholder", "-n", shop, check=False)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f'Error from server (NotFound): podmetrics.metrics.k8s.io "{shop}/placeholder" not found'
    ), out.stderr


def test_top_pods_in_an_empty_namespace(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    out = cluster.kubectl(kubectl_bin, "top", "pods", "-n", ns)
    assert out.stdout == ""
    assert out.stderr.strip() == f"No resources found in {ns} namespace."


def test_field_selectors_beyond_metadata_are_refused(cluster: Cluster, shop: str) -> None:
    status, body = cluster.json(
        "GET", f"/apis/metrics.k8s.io/v1beta1/namespaces/{shop}/pods?fieldSelector=spec.nodeName%3Dx"
    )
    assert (status, body["message"]) == (
        400,
        '"spec.nodeName" is not a known field selector: only "metadata.name", "metadata.namespace"',
    )


# ---- kubectl top with numbers (MEASURED: these need the measurement side) ----------------------------------------
def test_top_pods_in_a_namespace(cluster: Cluster, shop: str, kubectl_bin: Path) -> None:
    # MEASURED: waits for the usage monitor's numbers for the stripe-mock process.
    header, rows = _measured_row(cluster, kubectl_bin, "pods", "-n", shop)
    assert header == POD_HEADER
    # The placeholder pod is not measured, so metrics-server-like it is left out.
    assert [row[0] for row in rows] == [_pod_name(cluster, shop)]
    # What kubectl printed is what the API serves: memory in Mi from the PodMetrics' Ki.
    _, pm = cluster.json("GET", f"/apis/metrics.k8s.io/v1beta1/namespaces/{shop}/pods/{rows[0][0]}")
    served = sum(int(c["usage"]["memory"].removesuffix("Ki")) for c in pm["containers"]) // 1024
    printed = MEMORY.fullmatch(rows[0][2])
    assert printed and abs(int(printed.group(1)) - served) <= 2, (rows, pm)


def test_top_pods_in_all_namespaces(cluster: Cluster, shop: str, kubectl_bin: Path) -> None:
    # MEASURED: waits for the usage monitor's numbers for the stripe-mock process.
    header, rows = _measured_row(cluster, kubectl_bin, "pods", "-A")
    assert header == ["NAMESPACE", *POD_HEADER]
    ours = [row for row in rows if row[0] == shop]
    assert [row[1] for row in ours] == [_pod_name(cluster, shop)]
    for row in rows:
        assert len(row) == 4 and CPU.fullmatch(row[2]) and MEMORY.fullmatch(row[3]), row


def test_top_pod_containers(cluster: Cluster, shop: str, kubectl_bin: Path) -> None:
    # MEASURED: waits for the usage monitor's numbers for the stripe-mock process.
    name = _pod_name(cluster, shop)
    header, rows = _measured_row(cluster, kubectl_bin, "pod", name, "-n", shop, "--containers")
    assert header == ["POD", *POD_HEADER]
    assert [row[:2] for row in rows] == [[name, APP]]


def test_top_nodes(cluster: Cluster, shop: str, kubectl_bin: Path) -> None:
    # MEASURED: without a usage source the node list is empty and kubectl says "metrics not available yet".
    _measured_row(cluster, kubectl_bin, "pods", "-n", shop)  # the pod is measured by now

    def worker_measured() -> tuple[list[str], list[list[str]]] | None:
        out = cluster.kubectl(kubectl_bin, "top", "nodes", check=False)
        if out.returncode != 0:
            return None
        header, rows = _table(out.stdout)
        worker = next(r for r in rows if r[0] == "sockshop-worker")
        return (header, rows) if worker[1] != "0m" and worker[3] != "0Mi" else None

    header, rows = cluster.wait_for(worker_measured, timeout=30, interval=1)
    assert header == NODE_HEADER
    assert sorted(row[0] for row in rows) == ["sockshop-control-plane", "sockshop-worker"]
    nodes = {n["metadata"]["name"]: n for n in cluster.json("GET", "/api/v1/nodes")[1]["items"]}
    for name, cpu_text, cpu_pct, mem_text, mem_pct in rows:
        cpu, pct, mem, mpct = (
            CPU.fullmatch(cpu_text),
            PERCENT.fullmatch(cpu_pct),
            MEMORY.fullmatch(mem_text),
            PERCENT.fullmatch(mem_pct),
        )
        assert cpu and pct and mem and mpct, rows
        allocatable = nodes[name]["status"]["allocatable"]
        cores_m = int(float(allocatable["cpu"].removesuffix("m")) * (1 if allocatable["cpu"].endswith("m") else 1000))
        # CPU% is the usage's millicores over the node's allocatable millicores, truncated, as kubectl computes it.
        assert int(pct.group(1)) == int(int(cpu.group(1)) / cores_m * 100), (name, rows, allocatable)
        mem_kib = int(allocatable["memory"].removesuffix("Ki"))
        assert abs(int(mpct.group(1)) - int(int(mem.group(1)) * 1024 / mem_kib * 100)) <= 1, (name, rows)


def test_get_podmetrics_table(cluster: Cluster, shop: str, kubectl_bin: Path) -> None:
    # MEASURED: the table's row exists only once the pod is measured.
    _measured_row(cluster, kubectl_bin, "pods", "-n", shop)
    out = cluster.kubectl(kubectl_bin, "get", "pods.metrics.k8s.io", "-n", shop).stdout
    header, rows = _table(out)
    assert header == ["NAME", "CPU", "MEMORY", "WINDOW"]
    assert [row[0] for row in rows] == [_pod_name(cluster, shop)]
    assert re.fullmatch(r"\d+(n|u|m)?", rows[0][1]) and re.fullmatch(r"\d+(Ki|Mi)", rows[0][2]), rows
    assert re.fullmatch(r"[\d.]+(s|ms)", rows[0][3]), rows


def test_cadvisor_series_for_the_process(cluster: Cluster, shop: str) -> None:
    # MEASURED: the cAdvisor families come from the usage monitor's records.
    name = _pod_name(cluster, shop)

    def series() -> dict[str, Any] | None:
        _, _, raw = cluster.request("GET", "/metrics", headers={"Accept": "text/plain"})
        fams = {f.name: f for f in text_string_to_metric_families(raw.decode())}
        mine = [s for s in fams["container_cpu_usage_seconds"].samples if s.labels.get("pod") == name]
        return fams if mine and mine[0].value > 0 else None

    fams = cluster.wait_for(series, timeout=30, interval=1)
    (cpu,) = [s for s in fams["container_cpu_usage_seconds"].samples if s.labels["pod"] == name]
    _, pod = cluster.json("GET", f"/api/v1/namespaces/{shop}/pods/{name}")
    container_id = pod["status"]["containerStatuses"][0]["containerID"].split("://", 1)[1]
    assert cpu.labels["container"] == APP and cpu.labels["cpu"] == "total"
    assert (cpu.labels["namespace"], cpu.labels["image"], cpu.labels["name"]) == (
        shop,
        "stripe/stripe-mock:latest",
        container_id,
    )
    (ws,) = [s for s in fams["container_memory_working_set_bytes"].samples if s.labels["pod"] == name]
    assert ws.value > 0 and ws.labels["id"] == cpu.labels["id"]
    # No CPU limit, no CFS quota: cAdvisor writes no CFS series for the container.
    assert not [s for s in fams["container_cpu_cfs_periods"].samples if s.labels["pod"] == name]
    # The placeholder is not measured at all.
    assert not [s for s in fams["container_memory_working_set_bytes"].samples if s.labels["pod"] == "placeholder"]
    # kube-state-metrics' view of the same namespace, from the store.
    phases = [s for s in fams["kube_pod_status_phase"].samples if s.labels["namespace"] == shop and s.value == 1]
    assert sorted((s.labels["pod"], s.labels["phase"]) for s in phases) == sorted(
        [(name, "Running"), ("placeholder", "Running")]
    )


def test_label_selected_top(cluster: Cluster, shop: str, kubectl_bin: Path) -> None:
    # MEASURED: waits for the usage monitor's numbers for the stripe-mock process.
    header, rows = _measured_row(cluster, kubectl_bin, "pods", "-n", shop, "-l", f"app={APP}")
    assert header == POD_HEADER and len(rows) == 1
    out = cluster.kubectl(kubectl_bin, "top", "pods", "-n", shop, "-l", "app=placeholder", check=False)
    # Nothing measured: kubectl says the metrics are not ready yet, or (past its two-minute grace for a new pod)
    # that they are not available for the pod.
    assert out.returncode == 1, out
    assert "metrics not available yet" in out.stderr or f"Metrics not available for pod {shop}/placeholder" in (
        out.stderr
    ), out.stderr
    raw = json.loads(
        cluster.kubectl(kubectl_bin, "get", "--raw", f"/apis/metrics.k8s.io/v1beta1/namespaces/{shop}/pods").stdout
    )
    assert [i["metadata"]["labels"] for i in raw["items"]] == [
        {"app": APP, "pod-template-hash": raw["items"][0]["metadata"]["labels"]["pod-template-hash"]}
    ]
