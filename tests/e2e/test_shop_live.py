"""The whole Sock Shop live on the local target: every pod a real process, real protocols, faults that propagate.

A customer logs in, fills a cart and checks out through the front-end; the order is paid, shipped through
RabbitMQ and consumed by queue-master, all over cluster DNS. Then each dependency fails as in the catalog
(catalogue-db, orders-db, queue-master at zero; a max-length policy on the queue) and the shop shows it the way
operators see it on a real cluster, with the clients' own error texts. A Locust Job of 50 users runs against it.
Every test gives the namespace back exactly as it found it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from ansible.module_utils import sockshop_snapshot
from kubernetes import client

from kubesim.reach import Shopper, service_url
from tests.e2e.conftest import NAMESPACE, Cluster
from tests.integration.conftest import KUBECTLS, require_kubectl
from tests.procs import run_bounded

pytestmark = pytest.mark.slow
INCIDENT = "6"  # the provisioned cluster fixture of tests/e2e/conftest.py
HOLY = "03fef6ac-1896-4ce8-bd69-b798f85c6e0b"  # Holy, $99.99
CROSSED = "808a2de1-1aaa-4c25-a9b9-6612e8f29a38"  # Crossed, $17.32
SHOP = [
    "front-end", "catalogue", "catalogue-db", "carts", "carts-db", "orders", "orders-db", "shipping",
    "queue-master", "rabbitmq", "session-db", "user", "user-db", "payment", "stripe-mock",
]  # fmt: skip


def wait(what: Callable[[], Any], timeout: float = 60, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = what()
        if got:
            return got
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what.__doc__ or what}"
        time.sleep(interval)


def apps(cluster: Cluster) -> Any:
    return client.AppsV1Api(cluster.api())


TOUCHED: set[str] = set()  # Deployments a test scaled or rolled: their pods are replaced on purpose


def scale(cluster: Cluster, name: str, replicas: int) -> None:
    """Scale and wait until the Deployment has exactly that many available pods (none left terminating)."""
    TOUCHED.add(f"Deployment/{name}")
    apps(cluster).patch_namespaced_deployment_scale(name, NAMESPACE, {"spec": {"replicas": replicas}})

    def settled() -> bool:
        d = apps(cluster).read_namespaced_deployment(name, NAMESPACE)
        pods = cluster.core().list_namespaced_pod(NAMESPACE, label_selector=f"name={name}").items
        return (d.status.available_replicas or 0) == replicas and len(pods) == replicas

    wait(settled)


def log_of(cluster: Cluster, deployment: str, container: str | None = None) -> str:
    pods = cluster.core().list_namespaced_pod(NAMESPACE, label_selector=f"name={deployment}").items
    return "".join(
        cluster.core().read_namespaced_pod_log(p.metadata.name, NAMESPACE, container=container) for p in pods
    )


def queue_depth(cluster: Cluster) -> int:
    """Messages in shipping-task, from the broker's management API (reached as a pod reaches it)."""
    import requests

    url = service_url(cluster.state, NAMESPACE, "rabbitmq", 15672) + "/api/queues/%2F/shipping-task"
    return int(requests.get(url, auth=("guest", "guest"), timeout=10).json().get("messages", 0))


@pytest.fixture
def exact(cluster: Cluster) -> Iterator[Shopper]:
    """A logged-in shopper; afterwards the namespace must be as before the test, bar the pods it replaced."""
    before = cluster.snapshot()
    TOUCHED.clear()
    shopper = Shopper(cluster.state)
    # user-db loads its seeded customers at start, slower at its CPU limit, and the shop has no readiness probes:
    # a login right after provisioning may find no customer yet (401), so wait for one, as an operator would.
    wait(lambda: shopper.login().status_code == 200, timeout=120, interval=0.5)
    yield shopper
    found = sockshop_snapshot.compare(before, cluster.snapshot(), TOUCHED)
    assert found == [], sockshop_snapshot.describe(found)


def checkout(shopper: Shopper, *items: str) -> Any:
    for item in items:
        assert shopper.post("/cart", {"id": item}).status_code in (200, 201)
    return shopper.post("/orders")


def test_every_pod_is_a_real_process(cluster: Cluster) -> None:
    pods = cluster.core().list_namespaced_pod(NAMESPACE).items
    assert sorted(p.metadata.labels["name"] for p in pods) == sorted(SHOP)
    for pod in pods:
        statuses = pod.status.container_statuses or []
        assert all(s.ready for s in statuses), (pod.metadata.name, statuses)
        for status in statuses:
            pidfile = cluster.state / "pods" / f"{pod.metadata.uid}_{status.name}.pid"
            assert pidfile.exists(), f"{pod.metadata.name}/{status.name} is not a process (placeholder)"
    rabbit = next(p for p in pods if p.metadata.labels["name"] == "rabbitmq")
    assert [s.name for s in rabbit.status.container_statuses] == ["rabbitmq", "rabbitmq-exporter"]


def test_kubectl_top_lists_every_shop_pod_with_its_usage(cluster: Cluster) -> None:
    """metrics-server's view of the live shop: every pod measured from its containers' cgroups."""
    require_kubectl()
    kubectl = KUBECTLS[0]
    env = {**cluster.env, "KUBECONFIG": str(cluster.kubeconfig)}

    def top() -> dict[str, list[str]]:
        out = run_bounded([str(kubectl), "top", "pods", "-n", NAMESPACE, "--no-headers"], 30, env=env)
        return {line.split()[0].rsplit("-", 2)[0]: line.split() for line in out.stdout.splitlines() if line.strip()}

    rows = wait(lambda: (got := top()) and len(got) == len(SHOP) and got, timeout=30)
    assert sorted(rows) == sorted(SHOP)
    for name, (_, cpu, memory) in rows.items():
        assert re.fullmatch(r"\d+m", cpu) and re.fullmatch(r"\d+Mi", memory), (name, cpu, memory)
        assert int(memory[:-2]) > 0, (name, memory)
    metrics = cast(
        dict[str, Any],
        client.CustomObjectsApi(cluster.api()).list_namespaced_custom_object(
            "metrics.k8s.io", "v1beta1", NAMESPACE, "pods"
        ),
    )
    for item in metrics["items"]:
        for container in item["containers"]:
            assert int(container["usage"]["cpu"].rstrip("n")) > 0, (item["metadata"]["name"], container)
            assert int(container["usage"]["memory"].rstrip("Ki")) > 0, (item["metadata"]["name"], container)
    assert {c["name"] for i in metrics["items"] for c in i["containers"]} >= {"rabbitmq", "rabbitmq-exporter"}


def test_an_order_is_paid_shipped_and_its_shipment_consumed(cluster: Cluster, exact: Shopper) -> None:
    # RabbitMQ boots in about 6 CPU-seconds, 12 s or more at its 500m limit: the shop has no readiness probe that
    # waits for it, so an order placed earlier loses its shipment, as it would on a cluster. Wait as an operator
    # would: for queue-master's consumer.
    wait(lambda: "consuming shipping-task" in log_of(cluster, "queue-master"), timeout=120)
    placed = checkout(exact, HOLY, CROSSED)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    assert order["status"] == "PAID" and str(order["total"]) == "122.3"  # 99.99 + 17.32 + 4.99 shipping
    shipment = order["shipment"]
    assert shipment["id"] and shipment["name"] == order["customerId"]
    listed = exact.get("/orders").json()
    assert any(o["id"] == order["id"] and o["status"] == "PAID" for o in listed), listed
    # queue-master prints the shipment's name (the customer id), as the Java handler's getName() does.
    wait(lambda: f"Received shipment task: {shipment['name']}" in log_of(cluster, "queue-master"))
    assert "Adding shipment to queue..." in log_of(cluster, "shipping")
    wait(lambda: queue_depth(cluster) == 0)


def test_catalogue_db_at_zero_fails_with_the_mysql_clients_error(cluster: Cluster, exact: Shopper) -> None:
    assert len(exact.get("/catalogue").json()) == 10
    scale(cluster, "catalogue-db", 0)
    try:
        answer = exact.get("/catalogue")
        assert answer.status_code == 500, answer.text
        assert "Can't connect to MySQL server on 'catalogue-db' ([Errno 111] Connection refused)" in log_of(
            cluster, "catalogue"
        )
    finally:
        scale(cluster, "catalogue-db", 1)
    wait(lambda: exact.get("/catalogue").status_code == 200, timeout=90)


def test_orders_db_at_zero_fails_checkout_with_a_500(cluster: Cluster, exact: Shopper) -> None:
    scale(cluster, "orders-db", 0)
    try:
        answer = checkout(exact, HOLY)
        assert answer.status_code == 500, answer.text
        assert re.search(r"ServerSelectionTimeoutError.*Connection refused", log_of(cluster, "orders"))
    finally:
        scale(cluster, "orders-db", 1)
        exact.http.delete(exact.base + "/cart", timeout=30)


def test_queue_master_at_zero_orders_still_paid_and_the_queue_grows(cluster: Cluster, exact: Shopper) -> None:
    scale(cluster, "queue-master", 0)
    try:
        for _ in range(3):
            assert checkout(exact, CROSSED).json()["status"] == "PAID"
        wait(lambda: queue_depth(cluster) == 3)
    finally:
        scale(cluster, "queue-master", 1)
    wait(lambda: queue_depth(cluster) == 0)  # the consumer that came back drains the backlog


def test_a_max_length_policy_with_publisher_confirms_rejects_the_fourth(cluster: Cluster, exact: Shopper) -> None:
    import requests

    management = service_url(cluster.state, NAMESPACE, "rabbitmq", 15672)
    policy = management + "/api/policies/%2F/shipping-limit"
    shipping = apps(cluster).read_namespaced_deployment("shipping", NAMESPACE)
    image = shipping.spec.template.spec.containers[0].image
    confirms = image.rsplit(":", 1)[0] + ":publisher-confirms"
    container = {"spec": {"template": {"spec": {"containers": [{"name": "shipping", "image": confirms}]}}}}
    TOUCHED.add("Deployment/shipping")
    apps(cluster).patch_namespaced_deployment("shipping", NAMESPACE, container)
    scale(cluster, "queue-master", 0)
    body: dict[str, Any] = {
        "pattern": "^shipping-task$",
        "definition": {"max-length": 3, "overflow": "reject-publish"},
        "apply-to": "queues",
    }
    assert requests.put(policy, json=body, auth=("guest", "guest"), timeout=10).ok
    try:
        # The shop has no readiness probes: wait until the old shipping pod is gone and the new one serves (its
        # start takes a few seconds at its 300m CPU limit), as an operator would before placing orders.
        def rolled() -> bool:
            pods = cluster.core().list_namespaced_pod(NAMESPACE, label_selector="name=shipping").items
            return len(pods) == 1 and "publisher confirms on" in log_of(cluster, "shipping")

        wait(rolled)
        answers = [checkout(exact, CROSSED) for _ in range(4)]
        assert [a.status_code for a in answers[:3]] == [201, 201, 201], [a.text for a in answers]
        assert answers[3].status_code == 500, answers[3].text
        wait(lambda: queue_depth(cluster) == 3)  # the management API's figures lag by its collection interval
        text = log_of(cluster, "shipping")
        assert text.count("Message confirmed by RabbitMQ") >= 3 and "Message rejected by RabbitMQ: Unknown" in text
    finally:
        requests.delete(policy, auth=("guest", "guest"), timeout=10)
        container["spec"]["template"]["spec"]["containers"][0]["image"] = image
        apps(cluster).patch_namespaced_deployment("shipping", NAMESPACE, container)
        scale(cluster, "queue-master", 1)
        wait(lambda: queue_depth(cluster) == 0)
        exact.http.delete(exact.base + "/cart", timeout=30)


# The lab's browse, item, basket and login tasks, and a checkout: the Buyer of bench/locustfile_lab.py.
LOCUSTFILE = (Path(__file__).resolve().parents[2] / "bench" / "locustfile_lab.py").read_text(encoding="utf-8")


def locust_stats(cluster: Cluster) -> dict[str, Any] | None:
    """Locust's own statistics (its web UI's /stats/requests), read through the API server's service proxy."""
    try:
        answer = cluster.core().connect_get_namespaced_service_proxy_with_path(
            "locust-shop:8089", NAMESPACE, "stats/requests", _preload_content=False
        )
    except client.ApiException:  # 503 until the web UI listens
        return None
    return dict(json.loads(answer.data))


def test_a_locust_job_of_50_users_runs_to_completion_with_its_percentiles(cluster: Cluster) -> None:
    """The statistics are readable while it runs (web UI through the Service proxy, the log's stats table) and its
    final log has p95 per endpoint."""
    core, batch = cluster.core(), cast(Any, client.BatchV1Api(cluster.api()))
    labels = {"job-name": "locust-shop"}
    core.create_namespaced_config_map(
        NAMESPACE, {"metadata": {"name": "locustfile-shop"}, "data": {"locustfile.py": LOCUSTFILE}}
    )
    core.create_namespaced_service(
        NAMESPACE, {"metadata": {"name": "locust-shop"}, "spec": {"selector": labels, "ports": [{"port": 8089}]}}
    )
    host = "http://front-end.sock-shop.svc.cluster.local"
    args = ["-f", "/mnt/locust/locustfile.py", "--autostart", "--autoquit", "1", "-u", "50", "-r", "10",
            "--run-time", "30s", "--host", host, "--csv", "/tmp/shop", "--print-stats", "Buyer"]  # fmt: skip
    job: dict[str, Any] = {
        "metadata": {"name": "locust-shop"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "locust",
                            "image": "locustio/locust:2.32.1",
                            "command": ["locust"],
                            "args": args,
                            "ports": [{"containerPort": 8089, "name": "web"}],
                            "volumeMounts": [
                                {"name": "locustfile", "mountPath": "/mnt/locust"},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "locustfile", "configMap": {"name": "locustfile-shop"}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }
    batch.create_namespaced_job(NAMESPACE, job)
    try:
        running = wait(lambda: (s := locust_stats(cluster)) and s["user_count"] == 50 and s, timeout=60, interval=1)
        assert running["state"] in ("spawning", "running"), running
        rows = {row["name"]: row for row in running["stats"]}
        assert rows["/catalogue"]["num_requests"] > 0 and rows["/catalogue"]["response_time_percentile_0.95"] > 0
        assert {"num_failures", "response_time_percentile_0.99", "median_response_time"} <= set(rows["/catalogue"])
        pod = core.list_namespaced_pod(NAMESPACE, label_selector="job-name=locust-shop").items[0]
        assert batch.read_namespaced_job("locust-shop", NAMESPACE).status.succeeded is None  # still running
        live = core.read_namespaced_pod_log(pod.metadata.name, NAMESPACE)
        assert re.search(r"^\s*Aggregated\s+[1-9]\d*\s", live, re.MULTILINE), live
        wait(
            lambda: (batch.read_namespaced_job("locust-shop", NAMESPACE).status.succeeded or 0) == 1,
            timeout=120,
            interval=1,
        )
        text = core.read_namespaced_pod_log(pod.metadata.name, NAMESPACE)
        table = text.split("Response time percentiles")[-1]
        p95 = {}
        for name in ("/catalogue", "/catalogue/{id}", "/basket.html", "/login", "/orders"):
            row = re.search(rf"^(GET|POST)\s+{re.escape(name)}\s+((?:\d+\s+){{5}})(\d+)", table, re.MULTILINE)
            assert row, f"no percentile row for {name}:\n{table}"
            p95[name] = int(row.group(3))
        print("locust p95 per endpoint (ms):", p95)
        assert all(value > 0 for value in p95.values())
    finally:
        batch.delete_namespaced_job("locust-shop", NAMESPACE, propagation_policy="Foreground")
        core.delete_namespaced_service("locust-shop", NAMESPACE)
        core.delete_namespaced_config_map("locustfile-shop", NAMESPACE)
        wait(lambda: not core.list_namespaced_pod(NAMESPACE, label_selector="job-name=locust-shop").items)
