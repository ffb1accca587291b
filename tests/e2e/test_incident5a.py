"""INCIDENT-5A end to end on a freshly started embedded cluster: INCIDENT-5C's policy with shipping publishing
without confirms, so four of seven shipments vanish without an error; `phase=all` as an operator runs it.

A policy of the same name already exists before the run (a harmless cap of 1000): the fault replaces it and the
recovery puts that one back, not "no policy" - the lab's recovery check assumed the vhost had none. The loss is
checked where it shows: seven orders PAID with a shipment, and queue-master receiving only three.
"""

from __future__ import annotations

from typing import Any

import pytest
from ansible.module_utils.sockshop_module import parse_iso

from tests.e2e.broker import no_policy_job, policies, put_policy, shipping_task, wait_consuming
from tests.e2e.conftest import NAMESPACE, Cluster, all_passes

pytestmark = pytest.mark.slow
INCIDENT = "5A"  # the provisioned cluster fixture of tests/e2e/conftest.py


def test_all_passes_the_loss_is_silent_and_the_prior_policy_comes_back(
    cluster: Cluster, baseline: dict[str, Any]
) -> None:
    wait_consuming(cluster)
    put_policy(cluster, "shipping-limit", "^shipping-task$", {"max-length": 1000})
    before = policies(cluster)
    known = {o["id"] for o in cluster.orders()}

    report = all_passes(cluster, INCIDENT)
    signals = {s["name"]: s for s in report["signals"]}
    assert signals["every order is accepted with a shipment"]["evidence"].startswith("7 of 7 orders hold, e.g.")
    held = signals["shipping-task holds three messages and no consumer"]
    assert held["evidence"] == "queue shipping-task: messages 3 (want eq 3), consumers 0 (want eq 0)", held

    timeline = report["timeline"]
    start, end = parse_iso(timeline["activated_at"]), parse_iso(timeline["recovery_started_at"])
    during = [o for o in cluster.orders() if o["id"] not in known and start <= parse_iso(o["date"]) <= end]
    assert len(during) == 7 and all(o["status"] == "PAID" and o["shipment"] for o in during), during
    # queue-master (a new pod since the recovery) received the three that were queued, and no more.
    (pod,) = cluster.core().list_namespaced_pod(NAMESPACE, label_selector="name=queue-master").items
    log = cluster.core().read_namespaced_pod_log(pod.metadata.name, NAMESPACE)
    assert log.count("Received shipment task") == 3, log[-2000:]

    assert policies(cluster) == before  # the cap of 1000 is back, exactly
    assert before[0]["definition"] == {"max-length": 1000}
    assert shipping_task(cluster) == {"messages": 0.0, "consumers": 1.0}
    no_policy_job(cluster)
    assert cluster.differences(baseline) == ""
    assert not {"sockshop-incident-5a-ledger", "sockshop-incident-lock"} & cluster.configmaps()
