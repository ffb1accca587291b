"""INCIDENTS 4B, 4C and 4 (pure latency: the lab's browse load with up to 350, 400 and 500 users times the local
load factor, held where Locust's p95 is 1-1.5 s) end to end, one after the other on one freshly started embedded
cluster, `phase=all` as an operator runs it.

What an operator would check by hand, independent of the engine's own signals: front-end has the lab's liveness
probe (so "no restart" means the probe kept answering), pages took a second or more while the catalogue still
answered, not one container of the namespace restarted, and after each recovery the load is gone and the namespace
is as it was - so the next incident starts from the same shop.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from kubernetes import client

from tests.e2e.conftest import NAMESPACE, Cluster, all_passes, assert_load_gone, restart_counts

pytestmark = pytest.mark.slow
INCIDENT = "4B"  # the provisioned cluster fixture of tests/e2e/conftest.py
JOBS = {"4B": "locust-pure-latency-350-test", "4C": "locust-pure-latency-400-test", "4": "locust-pure-latency-test"}
USERS = {"4B": 910, "4C": 1040, "4": 1300}  # the lab's users times the local load factor, 2.6: the hold's ceiling


def test_front_end_has_the_labs_liveness_probe(cluster: Cluster) -> None:
    apps: Any = client.AppsV1Api(cluster.api())
    (container,) = apps.read_namespaced_deployment("front-end", NAMESPACE).spec.template.spec.containers
    for probe in (container.liveness_probe, container.readiness_probe):
        assert (probe.http_get.path, probe.http_get.port, probe.initial_delay_seconds, probe.period_seconds) == (
            "/", 8079, 5, 3,
        )  # fmt: skip
        assert (probe.timeout_seconds, probe.failure_threshold) == (1, 3)


@pytest.mark.parametrize("incident", ["4B", "4C", "4"])
def test_all_passes_slow_but_nothing_restarts(cluster: Cluster, baseline: dict[str, Any], incident: str) -> None:
    before = restart_counts(cluster)
    report = all_passes(cluster, incident)

    signals = {s["name"]: s for s in report["signals"]}
    slow = signals["pages take a second or more"]
    p95 = re.search(r"current p95 ([0-9.]+) s \(want ge 1\), (\d+) users", slow["evidence"])
    assert slow["status"] == "passed" and p95 and float(p95.group(1)) >= 1.0, slow
    assert int(p95.group(2)) <= USERS[incident], slow  # Locust ran the scaled user count (still spawning, or all)
    answered = signals["the catalogue still answers"]
    assert answered["status"] == "passed" and re.search(r"failure ratio 0\.0[0-4]\d", answered["evidence"]), answered
    for name in ("front-end does not restart", "catalogue does not restart", "front-end stays available"):
        held = signals[name]
        assert held["status"] == "passed" and re.match(r"held for \d+ s \(\d+ looks\)", held["evidence"]), held
    assert {s["name"] for s in report["signals"] if s["status"] == "not_checked"} == {
        "datadog shows front-end's CPU near its limit"
    }
    assert signals["prometheus sees front-end's CPU near its limit"]["status"] == "passed"

    # Not one container restarted anywhere: the same pods, the same restart counts.
    assert restart_counts(cluster) == before
    assert_load_gone(cluster, JOBS[incident])
    assert cluster.differences(baseline, incident) == ""
    assert not {f"sockshop-incident-{incident.lower()}-ledger", "sockshop-incident-lock"} & cluster.configmaps()
