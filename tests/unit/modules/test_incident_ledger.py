"""incident_ledger: create-only prior state, diff and a clear that needs proof."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.sockshop_incident import IncidentError, ledger_name

from plugins.modules import incident_ledger
from tests.unit.modules.incident_fakes import FakeConfigMaps, FakeLive, pod

OBJECTS = [{"api_version": "apps/v1", "kind": "Deployment", "name": "stripe-mock", "fields": ["spec.replicas"]}]
PARAMS = {"incident_id": "6", "run_id": "run-a", "objects": OBJECTS, "restart_watch": ["payment"]}
NOW = "2026-11-23T08:24:47.000Z"


@pytest.fixture
def live() -> FakeLive:
    cluster = FakeLive()
    cluster.add("stripe-mock", 1, [pod("stripe-mock-abc-1")])
    cluster.add("payment", 1, [pod("payment-def-1", restarts=2)])
    return cluster


def record(store, live, check=False):
    return incident_ledger.record(store, live, PARAMS, check, by="ops@laptop", now=NOW)


def test_record_keeps_exact_prior_state(live) -> None:
    store = FakeConfigMaps()
    result = record(store, live)
    assert result["changed"] and result["action"] == "recorded"
    stored = json.loads(store.objects[ledger_name("6")]["data"]["ledger.json"])
    assert stored == {
        "incident": "6",
        "run_id": "run-a",
        "namespace": "sock-shop",
        "recorded_at": NOW,
        "recorded_by": "ops@laptop",
        "objects": [
            {"api_version": "apps/v1", "kind": "Deployment", "name": "stripe-mock", "fields": {"spec.replicas": 1}}
        ],
        "restart_counts": {"payment": {"payment-def-1": {"main": 2}}},
    }


def test_second_record_never_overwrites(live) -> None:
    store = FakeConfigMaps()
    record(store, live)
    before = store.get(ledger_name("6"))
    live.deployments["stripe-mock"]["spec"]["replicas"] = 0
    result = incident_ledger.record(store, live, dict(PARAMS, run_id="run-b"), False, by="someone@else", now=NOW)
    assert (result["changed"], result["action"]) == (False, "kept")
    assert result["ledger"]["objects"][0]["fields"]["spec.replicas"] == 1
    assert store.get(ledger_name("6")) == before


def test_record_in_check_mode_writes_nothing(live) -> None:
    store = FakeConfigMaps()
    result = record(store, live, check=True)
    assert result["action"] == "would_record" and result["ledger"]["objects"][0]["fields"] == {"spec.replicas": 1}
    assert store.writes == 0


def test_record_refuses_a_missing_object() -> None:
    with pytest.raises(IncidentError, match="Deployment/stripe-mock in namespace sock-shop: it does not exist"):
        record(FakeConfigMaps(), FakeLive())


@pytest.mark.parametrize(
    ("live_replicas", "expected"),
    [
        (1, []),
        (0, [{"object": "Deployment/stripe-mock", "field": "spec.replicas", "ledger": 1, "live": 0}]),
        (None, [{"object": "Deployment/stripe-mock", "field": "spec.replicas", "ledger": 1, "live": "<absent>"}]),
    ],
)
def test_diff(live, live_replicas, expected) -> None:
    store = FakeConfigMaps()
    record(store, live)
    if live_replicas is None:
        del live.deployments["stripe-mock"]
    else:
        live.deployments["stripe-mock"]["spec"]["replicas"] = live_replicas
    assert incident_ledger.compare(store, live, "6")["differences"] == expected


def test_clear_refuses_until_restored_then_clears(live) -> None:
    store = FakeConfigMaps()
    record(store, live)
    live.deployments["stripe-mock"]["spec"]["replicas"] = 0
    with pytest.raises(IncidentError, match=r"spec\.replicas: ledger 1, live 0"):
        incident_ledger.clear(store, live, "6", False, False)
    assert ledger_name("6") in store.objects
    live.deployments["stripe-mock"]["spec"]["replicas"] = 1
    result = incident_ledger.clear(store, live, "6", False, False)
    assert (result["action"], result["differences"], ledger_name("6") in store.objects) == ("cleared", [], False)
    again = incident_ledger.clear(store, live, "6", False, False)
    assert (again["changed"], again["exists"]) == (False, False)


def test_force_clears_despite_differences(live) -> None:
    store = FakeConfigMaps()
    record(store, live)
    live.deployments["stripe-mock"]["spec"]["replicas"] = 3
    assert incident_ledger.clear(store, live, "6", True, False)["action"] == "cleared"


def test_clear_in_check_mode_writes_nothing(live) -> None:
    store = FakeConfigMaps()
    record(store, live)
    writes = store.writes
    live.deployments["stripe-mock"]["spec"]["replicas"] = 0
    result = incident_ledger.clear(store, live, "6", False, True)
    assert result["action"] == "would_clear" and result["differences"]
    assert store.writes == writes


def test_damaged_ledger_is_reported() -> None:
    store = FakeConfigMaps()
    store.create({"metadata": {"name": ledger_name("6")}, "data": {"ledger.json": "{not json"}})
    with pytest.raises(IncidentError, match="is damaged"):
        incident_ledger.compare(store, FakeLive(), "6")


def test_query_omits_differences(live) -> None:
    store = FakeConfigMaps()
    record(store, live)
    result = incident_ledger.run(store, live, {"state": "query", "incident_id": "6"}, False)
    assert result["exists"] and "differences" not in result
