"""Prometheus as a pod on the embedded cluster: Debian's prometheus binary, with kubernetes_sd_configs served by
the launcher (kubesim/servers/prometheus.py), scraping the API server (kube-state-metrics and cAdvisor families)
through role endpoints and a pod through role pod; and ErrImagePull naming the package when it is missing."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from tests.integration.conftest import Cluster, make_cluster, running_cluster
from tests.procs import run_bounded

pytestmark = pytest.mark.integration

NS = "monitoring"
HAVE_PROMETHEUS = shutil.which("prometheus", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")


CONFIG = """\
global:
  scrape_interval: 2s
  scrape_timeout: 2s
  evaluation_interval: 2s
rule_files:
  - /etc/prometheus/rules/*.yml
scrape_configs:
  - job_name: kubernetes-apiservers
    honor_labels: true
    scheme: https
    kubernetes_sd_configs:
      - role: endpoints
    tls_config:
      ca_file: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt
    authorization:
      credentials_file: /var/run/secrets/kubernetes.io/serviceaccount/token
    relabel_configs:
      - source_labels:
          - __meta_kubernetes_namespace
          - __meta_kubernetes_service_name
          - __meta_kubernetes_endpoint_port_name
        action: keep
        regex: default;kubernetes;https
  - job_name: kubernetes-pods
    kubernetes_sd_configs:
      - role: pod
        namespaces:
          own_namespace: true
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_label_app]
        action: keep
        regex: demo-exporter
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
"""

RULES = """\
groups:
  - name: sockshop-demo
    rules:
      - record: namespace:kube_deployment_status_replicas_available:sum
        expr: sum by (namespace) (kube_deployment_status_replicas_available)
      - alert: DemoExporterDown
        expr: kube_deployment_status_replicas_available{deployment="demo-exporter"} == 0
        for: 1m
"""

EXPORTER = (
    "import time\n"
    "from prometheus_client import Gauge, start_http_server\n"
    "Gauge('demo_answer', 'The answer').set(42)\n"
    "start_http_server(8000)\n"
    "time.sleep(1e9)\n"
)


def create(cluster: Cluster, path: str, body: dict[str, Any]) -> None:
    status, answer = cluster.json("POST", path, body)
    assert status in (201, 409), answer


def deployment(name: str, labels: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": spec},
        },
    }


def deploy_prometheus(cluster: Cluster, config: str = CONFIG) -> None:
    create(cluster, "/api/v1/namespaces", {"metadata": {"name": NS}})
    create(
        cluster,
        f"/api/v1/namespaces/{NS}/configmaps",
        {"metadata": {"name": "prometheus-config"}, "data": {"prometheus.yml": config}},
    )
    create(
        cluster,
        f"/api/v1/namespaces/{NS}/configmaps",
        {"metadata": {"name": "prometheus-rules"}, "data": {"sockshop.yml": RULES}},
    )
    labels = {"app": "prometheus"}
    container = {
        "name": "prometheus",
        "image": "quay.io/prometheus/prometheus:v2.42.0",
        "args": [
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            "--storage.tsdb.retention.time=2h",
            "--web.listen-address=:9090",
            "--web.enable-lifecycle",
        ],
        "ports": [{"name": "web", "containerPort": 9090}],
        "readinessProbe": {"httpGet": {"path": "/-/ready", "port": 9090}, "periodSeconds": 1},
        "volumeMounts": [
            {"name": "config", "mountPath": "/etc/prometheus"},
            {"name": "rules", "mountPath": "/etc/prometheus/rules"},
            {"name": "data", "mountPath": "/prometheus"},
        ],
    }
    spec = {
        "containers": [container],
        "volumes": [
            {"name": "config", "configMap": {"name": "prometheus-config"}},
            {"name": "rules", "configMap": {"name": "prometheus-rules"}},
            {"name": "data", "emptyDir": {}},
        ],
    }
    create(cluster, f"/apis/apps/v1/namespaces/{NS}/deployments", deployment("prometheus", labels, spec))
    create(
        cluster,
        f"/api/v1/namespaces/{NS}/services",
        {"metadata": {"name": "prometheus"}, "spec": {"selector": labels, "ports": [{"port": 9090, "name": "web"}]}},
    )
    exporter = {
        "containers": [
            {
                "name": "exporter",
                "image": "python:3.11-slim",
                "command": ["python3", "-c", EXPORTER],
                "ports": [{"name": "metrics", "containerPort": 8000}],
            }
        ]
    }
    create(
        cluster,
        f"/apis/apps/v1/namespaces/{NS}/deployments",
        deployment("demo-exporter", {"app": "demo-exporter"}, exporter),
    )


def prometheus_pod(cluster: Cluster) -> dict[str, Any] | None:
    _, body = cluster.json("GET", f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3Dprometheus")
    for pod in body["items"]:
        ready = [c for c in pod["status"].get("conditions") or [] if c["type"] == "Ready" and c["status"] == "True"]
        if ready and pod["status"].get("podIP"):
            return dict(pod)
    return None


class PromAPI:
    def __init__(self, base: str) -> None:
        self.base = base

    def get(self, path: str, **params: str) -> Any:
        url = f"{self.base}{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        with urllib.request.urlopen(url, timeout=5) as resp:
            body = json.loads(resp.read())
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> dict[tuple[tuple[str, str], ...], float]:
        data = self.get("/api/v1/query", query=expr)
        return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in data["result"]}


@pytest.fixture
def prometheus(cluster: Cluster) -> Iterator[PromAPI]:
    if not HAVE_PROMETHEUS:  # CI has it: a missing binary fails, as a missing kubectl does
        pytest.fail("prometheus is not installed: run `make setup` (Debian's prometheus package)")
    deploy_prometheus(cluster)
    pod = cluster.wait_for(lambda: prometheus_pod(cluster), timeout=60, interval=0.2)
    slot = int(json.loads((cluster.state / "server.json").read_text())["slot"])
    _, _, b, c = pod["status"]["podIP"].split(".")
    yield PromAPI(f"http://127.{slot}.{b}.{c}:9090")
    cluster.json("DELETE", f"/api/v1/namespaces/{NS}")


def targets_up(api: PromAPI) -> dict[str, dict[str, Any]] | None:
    active = api.get("/api/v1/targets", state="active")["activeTargets"]
    by_job = {t["labels"]["job"]: t for t in active}
    if set(by_job) == {"kubernetes-apiservers", "kubernetes-pods"} and all(t["health"] == "up" for t in active):
        return by_job
    return None


def container_pids(cluster: Cluster, pod: dict[str, Any]) -> list[int]:
    pidfile = cluster.state / "pods" / f"{pod['metadata']['uid']}_prometheus.pid"
    return [int(pidfile.read_text().strip())]


def test_prometheus_discovers_the_api_server_and_pods_and_sees_a_scale_to_zero(
    cluster: Cluster, prometheus: PromAPI
) -> None:
    api = prometheus
    by_job = cluster.wait_for(lambda: targets_up(api), timeout=30, interval=0.3)
    apiserver, pod_target = by_job["kubernetes-apiservers"], by_job["kubernetes-pods"]
    # Series keep the cluster address as their instance; the scrape goes to this machine's address.
    assert apiserver["labels"]["instance"] == "172.18.0.2:6443", apiserver
    assert apiserver["discoveredLabels"]["__meta_kubernetes_endpoint_port_name"] == "https", apiserver
    assert apiserver["scrapeUrl"].startswith("https://127.0.0.1:"), apiserver
    _, pods = cluster.json("GET", f"/api/v1/namespaces/{NS}/pods?labelSelector=app%3Ddemo-exporter")
    exporter_ip = pods["items"][0]["status"]["podIP"]
    assert pod_target["labels"]["instance"] == f"{exporter_ip}:8000", pod_target
    assert pod_target["labels"]["pod"] == pods["items"][0]["metadata"]["name"], pod_target
    assert pod_target["discoveredLabels"]["__meta_kubernetes_pod_container_port_name"] == "metrics"
    assert api.query('demo_answer{job="kubernetes-pods"}') == {
        (
            ("__name__", "demo_answer"),
            ("instance", f"{exporter_ip}:8000"),
            ("job", "kubernetes-pods"),
            ("pod", pod_target["labels"]["pod"]),
        ): 42.0
    }

    available = 'kube_deployment_status_replicas_available{namespace="monitoring"}'
    got = cluster.wait_for(lambda: len(api.query(available)) == 2 and api.query(available), timeout=20, interval=0.3)
    assert sorted(got.values()) == [1.0, 1.0], got

    # Through the API server's service proxy, as the signals and `kubectl get --raw` reach it: Prometheus
    # gzips its answer for a client that accepts it, and the proxy passes the encoding on with the body.
    status, headers, raw = cluster.request(
        "GET",
        f"/api/v1/namespaces/{NS}/services/prometheus:9090/proxy/api/v1/query?query=up",
        headers={"Accept-Encoding": "gzip"},
    )
    assert status == 200, raw[:200]
    assert {k.lower(): v for k, v in headers.items()}.get("content-encoding") == "gzip", headers
    assert json.loads(gzip.decompress(raw))["status"] == "success"

    rules = api.get("/api/v1/rules")["groups"]
    assert [g["name"] for g in rules] == ["sockshop-demo"], rules
    assert [r["name"] for r in rules[0]["rules"]] == [
        "namespace:kube_deployment_status_replicas_available:sum",
        "DemoExporterDown",
    ]

    exporter = f'kube_deployment_status_replicas_available{{namespace="{NS}",deployment="demo-exporter"}}'
    started = time.monotonic()
    status, body = cluster.json(
        "PATCH",
        f"/apis/apps/v1/namespaces/{NS}/deployments/demo-exporter/scale",
        {"spec": {"replicas": 0}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert status == 200, body
    cluster.wait_for(lambda: list(api.query(exporter).values()) == [0.0], timeout=15, interval=0.1)
    elapsed = time.monotonic() - started
    print(f"\nscale to 0 -> the query shows 0 after {elapsed:.2f}s (scrape interval 2s)")
    server = psutil.Process(container_pids(cluster, prometheus_pod(cluster) or {})[0])
    print(f"prometheus RSS: {server.memory_info().rss / 2**20:.1f} MiB")  # the figures: make bench

    # The container's process is prometheus, its discovery a child; deleting the pod leaves nothing running.
    assert server.name() == "prometheus", server
    children = server.children()
    assert ["kubesim.servers.prometheus_sd" in " ".join(c.cmdline()) for c in children] == [True], children
    status, body = cluster.json("DELETE", f"/apis/apps/v1/namespaces/{NS}/deployments/prometheus")
    assert status == 200, body
    _, gone = psutil.wait_procs([server, *children], timeout=15)
    assert not gone, gone


def test_the_kubernetes_service_has_the_api_servers_endpoints_and_kube_proxy_relays_to_it(cluster: Cluster) -> None:
    status, eps = cluster.json("GET", "/api/v1/namespaces/default/endpoints/kubernetes")
    assert status == 200, eps
    assert eps["subsets"] == [
        {"addresses": [{"ip": "172.18.0.2"}], "ports": [{"name": "https", "port": 6443, "protocol": "TCP"}]}
    ]
    status, eps_slice = cluster.json("GET", "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes")
    assert status == 200, eps_slice
    assert eps_slice["endpoints"] == [{"addresses": ["172.18.0.2"], "conditions": {"ready": True}}]
    assert eps_slice["metadata"]["labels"] == {"kubernetes.io/service-name": "kubernetes"}
    net = json.loads((cluster.state / "net.json").read_text())
    vip = net["vips"]["10.96.0.1"]
    ctx = cluster.ssl_context()
    ctx.check_hostname = False  # the VIP is this machine's loopback image of 10.96.0.1

    def version() -> Any:
        req = urllib.request.Request(
            f"https://{vip}:20443/version", headers={"Authorization": f"Bearer {cluster.token}"}
        )
        try:
            with urllib.request.urlopen(req, timeout=5, context=ctx) as resp:
                return json.loads(resp.read())
        except OSError:
            return None

    assert cluster.wait_for(version, timeout=10)["gitVersion"].startswith("v1.32"), version()


@pytest.fixture
def cluster_without_prometheus(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster whose PATH holds only the venv's programs: for it, prometheus is not installed."""
    if (Path(sys.executable).parent / "prometheus").exists():
        pytest.skip("prometheus is in the venv's bin: it cannot be hidden by PATH")
    base = make_cluster(tmp_path / "kubesim")
    base.env["PATH"] = str(Path(sys.executable).parent)
    with running_cluster(tmp_path / "kubesim", cluster=base) as cluster:
        yield cluster


def test_a_prometheus_pod_waits_in_err_image_pull_naming_the_package(cluster_without_prometheus: Cluster) -> None:
    cluster = cluster_without_prometheus
    ns = cluster.namespace("noprom")
    body = {
        "metadata": {"name": "prometheus", "labels": {"app": "prometheus"}},
        "spec": {"containers": [{"name": "prometheus", "image": "quay.io/prometheus/prometheus:v2.42.0"}]},
    }
    create(cluster, f"/api/v1/namespaces/{ns}/pods", body)

    def waiting() -> dict[str, Any] | None:
        _, pod = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods/prometheus")
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            state = (status.get("state") or {}).get("waiting") or {}
            if state.get("reason") in ("ErrImagePull", "ImagePullBackOff"):
                return dict(state)
        return None

    state = cluster.wait_for(waiting, timeout=20)
    assert "the Debian package prometheus is not installed" in state["message"], state


def test_the_prometheus_role_says_how_to_install_it_and_goes_on(
    cluster_without_prometheus: Cluster, tmp_path: Path
) -> None:
    """On a machine without the binary the role does not fail the provision: it names the package (the reason
    PromQL signals are then reported not_checked) and leaves the pod waiting, as a kubelet does."""
    cluster = cluster_without_prometheus
    play = tmp_path / "prometheus.yml"
    play.write_text(
        "- hosts: localhost\n  gather_facts: false\n  roles:\n"
        f"    - {{role: prometheus, prometheus_kubeconfig: {cluster.kubeconfig}, prometheus_wait_timeout: 60}}\n"
    )
    root = Path(__file__).resolve().parents[2]
    done = run_bounded(
        [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local", str(play)],
        300,
        cwd=root,
        # The cluster was started without prometheus on its PATH; Ansible itself needs the machine's (sh, mkdir).
        env=dict(cluster.env, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"),
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    said = " ".join(done.stdout.split())
    # ErrImagePull's message, or ImagePullBackOff's ('Back-off pulling image "...": ' before it).
    assert "Prometheus does not run: " in said, said[-3000:]
    assert "the Debian package prometheus is not installed: run make setup" in said, said[-3000:]
    assert "PromQL and alert signals are reported not_checked with this reason" in said
    _, pods = cluster.json("GET", f"/api/v1/namespaces/{NS}/pods")
    (waiting,) = [s["state"]["waiting"] for p in pods["items"] for s in p["status"].get("containerStatuses") or []]
    assert waiting["reason"] in ("ErrImagePull", "ImagePullBackOff"), waiting
