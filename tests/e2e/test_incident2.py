"""INCIDENT-2 (the lab's hybrid load on the single front-end replica: latency, then liveness kills) end to end on a
freshly started embedded cluster, `phase=all` as an operator runs it.

What an operator would check by hand, independent of the engine's own signals: front-end's restart count went up
and its last termination was the kubelet's (after failed liveness probes: a Killing event saying so), not an
OOMKill; the backends behind it kept their restart counts; after the recovery the load is gone and the namespace is
as it was, but for front-end's restarts.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.e2e.conftest import NAMESPACE, Cluster, all_passes, assert_load_gone, restart_counts

pytestmark = pytest.mark.slow
INCIDENT = "2"  # the provisioned cluster fixture of tests/e2e/conftest.py
LOAD = "locust-hybrid-crash-test"


def test_all_passes_front_end_is_killed_by_its_liveness_probe_and_the_backends_survive(
    cluster: Cluster, baseline: dict[str, Any]
) -> None:
    before = restart_counts(cluster)
    report = all_passes(cluster, INCIDENT)
    signals = {s["name"]: s for s in report["signals"]}

    restarted = signals["front-end is restarted"]
    assert restarted["status"] == "passed" and re.search(r"restarts \+[1-9]", restarted["evidence"]), restarted
    failing = signals["users see failed requests"]
    ratio = re.search(r"failure ratio ([0-9.]+) \(want gt 0\.2\)", failing["evidence"])
    assert failing["status"] == "passed" and ratio and float(ratio.group(1)) > 0.2, failing
    for name in ("catalogue does not restart", "user does not restart"):
        held = signals[name]
        assert held["status"] == "passed" and re.match(r"held for \d+ s \(\d+ looks\)", held["evidence"]), held
    assert {s["name"] for s in report["signals"] if s["status"] == "not_checked"} == {"datadog shows front-end restart"}
    assert signals["prometheus sees front-end restart"]["status"] == "passed"

    after = restart_counts(cluster)
    grew = {pod: count for pod, count in after.items() if count != before.get(pod, 0)}
    assert grew and all(pod.startswith("front-end-") for pod in grew), (before, after)
    restarted_pods = {name.split("/")[0] for name in grew}
    (front_end,) = [p for p in cluster.core().list_namespaced_pod(NAMESPACE).items if p.metadata.name in restarted_pods]
    last = front_end.status.container_statuses[0].last_state.terminated
    assert last is not None and last.reason != "OOMKilled", last
    events = cluster.core().list_namespaced_event(
        NAMESPACE, field_selector=f"involvedObject.name={front_end.metadata.name}"
    )
    kills = [e.message or "" for e in events.items if e.reason == "Killing"]
    assert any(k.endswith("failed liveness probe, will be restarted") for k in kills), kills
    assert_load_gone(cluster, LOAD)
    assert cluster.differences(baseline, INCIDENT) == ""
    assert not {"sockshop-incident-2-ledger", "sockshop-incident-lock"} & cluster.configmaps()
