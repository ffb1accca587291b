"""INCIDENT-8B end to end on a freshly started embedded cluster: catalogue-db's resources cut to 50m / 128Mi and a
Locust Job of looping clients; `phase=all` as an operator runs it.

What an operator would check by hand, independent of the engine's own signals: the database ran at its CPU limit
(the metrics API), the catalogue page slowed for the load's clients, and after recovery catalogue-db has exactly
the requests and limits it had before, the load's Job, ConfigMap and Service are gone, and the namespace is as it
was.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from kubernetes import client

from tests.e2e.conftest import NAMESPACE, Cluster, all_passes, assert_load_gone

pytestmark = pytest.mark.slow
INCIDENT = "8B"  # the provisioned cluster fixture of tests/e2e/conftest.py
SLOW_P95_S = {"8": 0.2, "8B": 1.0, "8C": 0.05}  # the incident files' thresholds: nothing fails, the pages slow


def resources(cluster: Cluster) -> dict[str, Any]:
    apps: Any = client.AppsV1Api(cluster.api())
    deployment = apps.read_namespaced_deployment("catalogue-db", NAMESPACE).to_dict()
    (container,) = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "catalogue-db"]
    return {key: value for key, value in container["resources"].items() if value is not None}


def test_all_passes_and_the_database_gets_its_exact_resources_back(cluster: Cluster, baseline: dict[str, Any]) -> None:
    check_slow_database(cluster, baseline, INCIDENT)


def check_slow_database(cluster: Cluster, baseline: dict[str, Any], incident: str) -> None:
    """phase=all of a slow-database incident (8B, 8C), checked against the cluster itself."""
    load = f"catalogue-browse-{incident.lower()}"
    before = resources(cluster)
    assert before == {"limits": {"cpu": "500m", "memory": "500Mi"}, "requests": {"cpu": "100m", "memory": "200Mi"}}
    report = all_passes(cluster, incident)

    signals = {s["name"]: s for s in report["signals"]}
    throttled = signals["catalogue-db is held at its CPU limit"]
    share = re.search(r"cpu [0-9.]+ of limit 0\.05 \((\d+)%\)", throttled["evidence"])
    assert throttled["status"] == "passed" and share and int(share.group(1)) >= 90, throttled
    slow = signals["the catalogue page slows for users"]
    p95 = re.search(r"current p95 ([0-9.]+) s", slow["evidence"])
    assert slow["status"] == "passed" and p95 and float(p95.group(1)) >= SLOW_P95_S[incident], slow
    kept = signals["catalogue-db stays Running without a restart"]
    assert kept["status"] == "passed", kept
    assert re.match(r"held for \d+ s \(\d+ looks\): restarts \+0", kept["evidence"]), kept
    fast = signals["the catalogue answers fast again"]
    assert fast["status"] == "passed" and "-> 200 in" in fast["evidence"], fast
    assert {s["name"] for s in report["signals"] if s["status"] == "not_checked"} == {
        "datadog shows catalogue-db's CPU at its limit",
    }
    # The cAdvisor counter of the kubelet job, as a rate over the scrapes: catalogue-db's CFS throttling.
    (throttled,) = signals["prometheus sees catalogue-db throttled"]["samples"]
    assert throttled["value"] > 0, throttled
    if incident == "8B":  # Locust's own /metrics, scraped from the load Job: the users' p95 in ms
        (users,) = signals["prometheus sees the users' p95 in seconds"]["samples"]
        assert users["value"] >= 1000 and users["labels"] == {}, users

    # After recovery: the exact resources, the load gone, the namespace as it was (catalogue-db's pod replaced).
    assert resources(cluster) == before
    assert_load_gone(cluster, load)
    assert load not in cluster.configmaps()
    assert cluster.differences(baseline) == ""
    assert not {f"sockshop-incident-{incident.lower()}-ledger", "sockshop-incident-lock"} & cluster.configmaps()
