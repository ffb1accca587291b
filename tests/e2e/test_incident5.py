"""INCIDENT-5 end to end on a freshly started embedded cluster: queue-master, the only consumer of
shipping-task, scaled to zero while orders keep coming; `phase=all` as an operator runs it.

The backlog is read from the broker itself (the exporter sidecar's /metrics, through the API server's service
proxy) and from the orders service, independent of the engine's own signals: the orders placed during the
incident are PAID with a shipment, their messages wait in shipping-task with no consumer, and after recovery
queue-master consumes every one of them and the queue is empty again.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.sockshop_module import parse_iso

from tests.e2e.broker import shipping_task, wait_consuming
from tests.e2e.conftest import NAMESPACE, ROOT, Cluster, all_passes

pytestmark = pytest.mark.slow
INCIDENT = "5"  # the provisioned cluster fixture of tests/e2e/conftest.py


def test_all_passes_and_the_backlog_is_shipped_after_recovery(cluster: Cluster, baseline: dict[str, Any]) -> None:
    # RabbitMQ boots in 12 s or more at its 500m limit and the shop has no readiness probe that waits for it:
    # start, as the lab's pre-checks do, once queue-master consumes shipping-task.
    wait_consuming(cluster)
    before = {o["id"] for o in cluster.orders()}
    report = all_passes(cluster, INCIDENT)
    assert cluster.differences(baseline) == ""

    signals = {s["name"]: s for s in report["signals"]}
    piled = signals["shipping-task piles up with no consumer"]
    assert piled["status"] == "passed" and piled["time_to_signal_s"] <= 20, piled
    depth = re.search(r"messages (\d+)", piled["evidence"])
    assert depth and int(depth.group(1)) >= 5 and "consumers 0 (want eq 0)" in piled["evidence"], piled
    drained = signals["shipping-task drains with a consumer back"]
    assert drained["status"] == "passed" and "messages 0 (want eq 0)" in drained["evidence"], drained
    # The recovery is confirmed when the last confirmation held: the backlog drained, not the restore's write.
    assert report["timeline"]["recovered_at"] == drained["answered_at"]
    assert report["timeline"]["mttr_s"] >= drained["time_to_signal_s"]
    assert {s["name"] for s in report["signals"] if s["status"] == "not_checked"} == {
        "datadog shows queue-master not running",
    }
    # Prometheus scraped the RabbitMQ exporter through the annotated rabbitmq Service.
    (consumers,) = signals["prometheus sees shipping-task growing with no consumer"]["samples"]
    assert (consumers["labels"]["queue"], consumers["labels"]["service"], consumers["value"]) == (
        "shipping-task",
        "rabbitmq",
        0.0,
    ), consumers

    # What the orders service holds: every order placed during the incident was paid and got its shipment.
    timeline = report["timeline"]
    start, end = parse_iso(timeline["activated_at"]), parse_iso(timeline["recovery_started_at"])
    during = [o for o in cluster.orders() if o["id"] not in before and start <= parse_iso(o["date"]) <= end]
    assert len(during) == 5, during
    assert all(o["status"] == "PAID" and o["shipment"] for o in during), during

    # The broker after recovery: the backlog consumed, one consumer back; queue-master logged each shipment.
    assert shipping_task(cluster) == {"messages": 0.0, "consumers": 1.0}
    (pod,) = cluster.core().list_namespaced_pod(NAMESPACE, label_selector="name=queue-master").items
    log = cluster.core().read_namespaced_pod_log(pod.metadata.name, NAMESPACE)
    assert all(f"Received shipment task: {o['shipment']['name']}" in log for o in during), log[-2000:]
    assert not {"sockshop-incident-5-ledger", "sockshop-incident-lock"} & cluster.configmaps()


def test_a_gate_that_never_opens_restores_what_was_applied(
    cluster: Cluster, baseline: dict[str, Any], tmp_path: Path
) -> None:
    """The gate after the scale-down asks for 99 consumers: the activation stops with one sentence naming the gate,
    queue-master is scaled back, the ledger and the lock are gone and the namespace is as it was."""
    catalog = tmp_path / "incidents"
    shutil.copytree(ROOT / "incidents", catalog)
    doc = yaml.safe_load((catalog / "incident-5.yml").read_text())
    gate = doc["faults"][2]["signal"]
    assert gate["name"] == "shipping-task has lost its consumer"
    gate.update(within_s=3, check={"queue": "shipping-task", "consumers": {"op": "eq", "value": 99}})
    (catalog / "incident-5.yml").write_text(yaml.safe_dump(doc, sort_keys=False))

    result = cluster.run("incident-5.yml", "-e", "phase=activate", "-e", f"incident_catalog_dir={catalog}")
    assert result.returncode != 0
    message = re.search(
        r"Incident 5 was not activated: gate .*? and the lock released\.", " ".join(result.stdout.split())
    )
    assert message, result.stdout[-3000:]
    assert "gate 'shipping-task has lost its consumer' did not open within 3 s" in message.group(0)
    assert "(want eq 99)" in message.group(0)
    assert cluster.replicas("queue-master") == 1
    assert not {"sockshop-incident-5-ledger", "sockshop-incident-lock"} & cluster.configmaps()
    wait_consuming(cluster, 60, "did not consume")
    assert cluster.differences(baseline) == ""
