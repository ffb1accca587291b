"""RabbitMQ as the e2e tests of the queue incidents (5, 5A, 5C) read it, independent of the engine: shipping-task's
depth and consumers from the exporter sidecar (through the API server's service proxy), and the policies from the
management API as an operator reads them over a port-forward (guest/guest)."""

from __future__ import annotations

import re
import time
from typing import Any

import requests
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kubesim.reach import service_url
from tests.e2e.conftest import NAMESPACE, Cluster

AUTH = ("guest", "guest")
JOB = "rabbitmq-policy-shipping-limit"


def shipping_task(cluster: Cluster) -> dict[str, float]:
    """Depth and consumers of shipping-task, from the rabbitmq pod's exporter sidecar."""
    text = client.CoreV1Api(cluster.api()).connect_get_namespaced_service_proxy_with_path(
        "rabbitmq:9090", NAMESPACE, "metrics"
    )
    found = {}
    for name in ("messages", "consumers"):
        line = re.search(rf'^rabbitmq_queue_{name}{{[^}}]*queue="shipping-task"[^}}]*}} (\S+)$', text, re.M)
        assert line, f"no rabbitmq_queue_{name} for shipping-task in the exporter's answer"
        found[name] = float(line.group(1))
    return found


def consuming(cluster: Cluster) -> bool:
    """Whether shipping-task has its consumer (False while the broker or the queue is not there yet)."""
    try:
        return shipping_task(cluster)["consumers"] >= 1
    except (AssertionError, ApiException):
        return False


def management(cluster: Cluster) -> str:
    return service_url(cluster.state, NAMESPACE, "rabbitmq", 15672)


def policies(cluster: Cluster) -> list[dict[str, Any]]:
    """The policies of vhost / as GET /api/policies/%2F answers, sorted by name."""
    answer = requests.get(f"{management(cluster)}/api/policies/%2F", auth=AUTH, timeout=10)
    answer.raise_for_status()
    return sorted(answer.json(), key=lambda p: p["name"])


def put_policy(cluster: Cluster, name: str, pattern: str, definition: dict[str, Any]) -> None:
    body: dict[str, Any] = {"pattern": pattern, "definition": definition, "apply-to": "queues", "priority": 0}
    answer = requests.put(f"{management(cluster)}/api/policies/%2F/{name}", json=body, auth=AUTH, timeout=10)
    assert answer.status_code in (201, 204), answer.text


def wait_consuming(cluster: Cluster, budget_s: float = 120, failure: str = "never consumed") -> None:
    """Until queue-master consumes shipping-task (RabbitMQ boots in 12 s or more at its limit)."""
    deadline = time.monotonic() + budget_s
    while not consuming(cluster):
        assert time.monotonic() < deadline, f"queue-master {failure} shipping-task"
        time.sleep(0.5)


def shipping_image(cluster: Cluster) -> str:
    apps: Any = client.AppsV1Api(cluster.api())
    (container,) = apps.read_namespaced_deployment("shipping", NAMESPACE).spec.template.spec.containers
    return str(container.image)


def no_policy_job(cluster: Cluster) -> None:
    """The management API's Jobs and their pods are gone."""
    batch: Any = client.BatchV1Api(cluster.api())
    assert not [j.metadata.name for j in batch.list_namespaced_job(NAMESPACE).items if j.metadata.name == JOB]
    assert not cluster.core().list_namespaced_pod(NAMESPACE, label_selector=f"job-name={JOB}").items
