"""INCIDENT-6B end to end on a freshly started embedded cluster: a delaying proxy in front of the payment gateway
(`service_latency`); `phase=all` as an operator runs it.

Checked independently of the engine's signals: during the incident the stripe-mock Service selects the proxy's pod
and the gateway's own pod is untouched; after recovery the Service selects the gateway again with exactly its
provisioned selector, the proxy's Deployment, ConfigMap and upstream Service are gone, a payment is authorised at
once, and the namespace is as it was (no pod replaced anywhere).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from ansible.module_utils.sockshop_service_proxy import call_service

from tests.e2e.conftest import NAMESPACE, Cluster, all_passes

pytestmark = pytest.mark.slow
INCIDENT = "6B"  # the provisioned cluster fixture of tests/e2e/conftest.py
PROXY = "stripe-mock-latency-proxy"


def selector(cluster: Cluster) -> dict[str, str]:
    return dict(cluster.core().read_namespaced_service("stripe-mock", NAMESPACE).spec.selector)


def test_all_passes_and_the_gateway_service_selects_the_gateway_again(
    cluster: Cluster, baseline: dict[str, Any]
) -> None:
    assert selector(cluster) == {"name": "stripe-mock"}
    report = all_passes(cluster, INCIDENT)

    signals = {s["name"]: s for s in report["signals"]}
    declined = signals["payments declined after the gateway timeout"]
    latency = re.search(r"latency=([0-9.]+) s", declined["evidence"])
    assert declined["status"] == "passed" and latency and 34 <= float(latency.group(1)) <= 40, declined
    assert "context deadline exceeded (Client.Timeout exceeded while awaiting headers)" in declined["evidence"]
    assert signals["the gateway stays up"]["status"] == "passed"
    # The lab's PromQL on payment's own request_duration_seconds histogram (scraped through its annotated Service):
    # the p95 sits in the (35, 40] bucket of the 35 s gateway timeout.
    p95 = signals["prometheus sees payment's latency at the gateway timeout"]
    assert p95["status"] == "passed" and 35 < p95["samples"][0]["value"] <= 40, p95
    assert signals["payments authorised again"]["status"] == "passed"

    # After recovery: the provisioned selector, the proxy gone, a payment authorised at once, nothing else changed.
    assert selector(cluster) == {"name": "stripe-mock"}
    core, names = cluster.core(), {PROXY, "stripe-mock-upstream"}
    assert not names & {s.metadata.name for s in core.list_namespaced_service(NAMESPACE).items}
    assert PROXY not in cluster.configmaps()
    assert not core.list_namespaced_pod(NAMESPACE, label_selector="sockshop.io/latency-proxy=stripe-mock").items
    start = time.monotonic()
    answer = call_service(cluster.api(), NAMESPACE, "payment", 80, "/paymentAuth", method="POST", body={"amount": 50})
    assert answer.status == 200 and json.loads(answer.body)["authorised"] is True
    assert time.monotonic() - start < 2
    assert cluster.differences(baseline) == ""
    assert not {"sockshop-incident-6b-ledger", "sockshop-incident-lock"} & cluster.configmaps()
