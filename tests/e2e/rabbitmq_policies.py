"""The broker's management API as an operator reads it over a port-forward (guest/guest): the e2e tests of the
rabbitmq_policy incidents check the policies themselves, independent of the engine's Jobs."""

from __future__ import annotations

import time
from typing import Any

import requests
from kubernetes import client

from kubesim.reach import service_url
from tests.e2e.conftest import NAMESPACE, Cluster
from tests.e2e.test_incident5 import consuming

AUTH = ("guest", "guest")
JOB = "rabbitmq-policy-shipping-limit"


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


def wait_consuming(cluster: Cluster, budget_s: float = 120) -> None:
    """Until queue-master consumes shipping-task (RabbitMQ boots in 12 s or more at its limit)."""
    deadline = time.monotonic() + budget_s
    while not consuming(cluster):
        assert time.monotonic() < deadline, "queue-master never consumed shipping-task"
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
