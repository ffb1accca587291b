"""INCIDENT-5C end to end on a freshly started embedded cluster: a RabbitMQ policy caps shipping-task at 3 messages
(reject-publish) while queue-master is down and shipping publishes with confirms; `phase=all` as an operator runs it.

Checked against the broker's management API and the orders service themselves: the first three checkouts were
accepted and four refused after the payment, and after recovery the vhost's policies are exactly what they were
(an unrelated policy set before the run included), shipping runs its own image again, the stuck messages are
consumed and no Job of the fault is left. A gate that never opens restores the policy and the image it applied.
"""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.sockshop_module import parse_iso

from tests.e2e.broker import (
    consuming,
    no_policy_job,
    policies,
    put_policy,
    shipping_image,
    shipping_task,
    wait_consuming,
)
from tests.e2e.conftest import ROOT, Cluster, all_passes

pytestmark = pytest.mark.slow
INCIDENT = "5C"  # the provisioned cluster fixture of tests/e2e/conftest.py
CONFIRMS = "quay.io/powercloud/sock-shop-shipping:publisher-confirms"


def test_all_passes_and_the_vhost_policies_are_exactly_as_before(cluster: Cluster, baseline: dict[str, Any]) -> None:
    wait_consuming(cluster)
    put_policy(cluster, "keep-me", "^keep-me$", {"max-length": 1000})  # not the fault's: must survive as it is
    before, image = policies(cluster), shipping_image(cluster)
    assert [p["name"] for p in before] == ["keep-me"] and image != CONFIRMS
    known = {o["id"] for o in cluster.orders()}

    report = all_passes(cluster, INCIDENT)
    signals = {s["name"]: s for s in report["signals"]}
    assert signals["the first three orders are accepted"]["evidence"].startswith("3 of 7 orders hold (want eq 3)")
    assert signals["later orders fail after the payment"]["evidence"].startswith("4 of 7 orders hold (want eq 4)")
    assert "503 null" in signals["orders logs shipping's 503"]["evidence"]
    held = signals["shipping-task holds three messages and no consumer"]
    assert held["evidence"] == "queue shipping-task: messages 3 (want eq 3), consumers 0 (want eq 0)", held

    # The orders service: three PAID with a shipment, four PAID without one (charged, then refused).
    timeline = report["timeline"]
    start, end = parse_iso(timeline["activated_at"]), parse_iso(timeline["recovery_started_at"])
    during = [o for o in cluster.orders() if o["id"] not in known and start <= parse_iso(o["date"]) <= end]
    assert sorted((o["status"], bool(o["shipment"])) for o in during) == [("PAID", False)] * 4 + [("PAID", True)] * 3

    # After recovery: the policies as they were, shipping's own image, the queue drained, nothing of the fault left.
    assert policies(cluster) == before
    assert shipping_image(cluster) == image
    assert shipping_task(cluster) == {"messages": 0.0, "consumers": 1.0}
    no_policy_job(cluster)
    assert cluster.differences(baseline) == ""
    assert not {"sockshop-incident-5c-ledger", "sockshop-incident-lock"} & cluster.configmaps()


def test_a_gate_that_never_opens_removes_the_policy_and_the_image(
    cluster: Cluster, baseline: dict[str, Any], tmp_path: Path
) -> None:
    """The gate after the scale-down asks for 99 consumers: the activation stops with one sentence naming the gate,
    and what it applied (the image, the policy, the scale-down) is restored in reverse."""
    wait_consuming(cluster)
    before, image = policies(cluster), shipping_image(cluster)
    catalog = tmp_path / "incidents"
    shutil.copytree(ROOT / "incidents", catalog)
    doc = yaml.safe_load((catalog / "incident-5C.yml").read_text())
    gate = doc["faults"][-1]["signal"]
    assert gate["name"] == "shipping-task has lost its consumer"
    gate.update(within_s=3, check={"queue": "shipping-task", "consumers": {"op": "eq", "value": 99}})
    (catalog / "incident-5C.yml").write_text(yaml.safe_dump(doc, sort_keys=False))

    result = cluster.run("incident-5C.yml", "-e", "phase=activate", "-e", f"incident_catalog_dir={catalog}")
    assert result.returncode != 0
    said = " ".join(result.stdout.split())
    message = re.search(r"Incident 5C was not activated: gate .*? and the lock released\.", said)
    assert message, result.stdout[-3000:]
    assert "gate 'shipping-task has lost its consumer' did not open within 3 s" in message.group(0)
    assert policies(cluster) == before
    assert shipping_image(cluster) == image
    assert cluster.replicas("queue-master") == 1
    no_policy_job(cluster)
    assert not {"sockshop-incident-5c-ledger", "sockshop-incident-lock"} & cluster.configmaps()
    deadline = time.monotonic() + 60
    while not consuming(cluster) or cluster.differences(baseline):
        assert time.monotonic() < deadline, cluster.differences(baseline)
        time.sleep(0.5)
