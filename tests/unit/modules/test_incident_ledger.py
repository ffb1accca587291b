"""incident_ledger: create-only prior state, diff and a clear that needs proof."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.sockshop_incident import LOCK_NAME, IncidentError, LockHeld, ledger_name

from plugins.modules import incident_ledger
from tests.unit.modules.incident_fakes import FakeConfigMaps, FakeLive, pod

OBJECTS = [{"api_version": "apps/v1", "kind": "Deployment", "name": "stripe-mock", "fields": ["/spec/replicas"]}]
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
            {
                "api_version": "apps/v1",
                "kind": "Deployment",
                "name": "stripe-mock",
                "step": 0,
                "fields": {"/spec/replicas": 1},
            }
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
    assert result["ledger"]["objects"][0]["fields"]["/spec/replicas"] == 1
    assert store.get(ledger_name("6")) == before


def test_record_in_check_mode_writes_nothing(live) -> None:
    store = FakeConfigMaps()
    result = record(store, live, check=True)
    assert result["action"] == "would_record" and result["ledger"]["objects"][0]["fields"] == {"/spec/replicas": 1}
    assert store.writes == 0


def test_record_refuses_a_missing_object() -> None:
    with pytest.raises(IncidentError, match="Deployment/stripe-mock in namespace sock-shop: it does not exist"):
        record(FakeConfigMaps(), FakeLive())


@pytest.mark.parametrize(
    ("live_replicas", "expected"),
    [
        (1, []),
        (0, [{"object": "Deployment/stripe-mock", "field": "/spec/replicas", "ledger": 1, "live": 0}]),
        (None, [{"object": "Deployment/stripe-mock", "field": "/spec/replicas", "ledger": 1, "live": "<absent>"}]),
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
    with pytest.raises(IncidentError, match=r"/spec/replicas: ledger 1, live 0"):
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
    result = incident_ledger.decide(store, live, {"state": "query", "incident_id": "6"}, False)
    assert result["exists"] and "differences" not in result


def rolled(replicas: int, available: int, *, updated: int | None = None, observed: int = 1) -> dict:
    total = max(replicas, available)
    return {
        "metadata": {"name": "stripe-mock", "generation": 2},
        "spec": {"replicas": replicas},
        "status": {
            "observedGeneration": observed,
            "replicas": total,
            "updatedReplicas": total if updated is None else updated,
            "availableReplicas": available,
        },
    }


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (rolled(1, 1, observed=2), []),
        (rolled(0, 0, observed=2), []),
        (rolled(1, 0, observed=2), ["Deployment/stripe-mock 0/1 available"]),
        (rolled(1, 1, observed=1), ["Deployment/stripe-mock 1/1 available"]),  # the new generation is not seen yet
        (rolled(2, 2, updated=1, observed=2), ["Deployment/stripe-mock 2/2 available"]),  # rollout half done
    ],
    ids=["settled", "settled-at-zero", "not-available", "old-generation", "rolling"],
)
def test_not_rolled_out(live, current, expected) -> None:
    live.deployments["stripe-mock"] = current
    ledger = {"objects": OBJECTS}
    assert incident_ledger.not_rolled_out(live, incident_ledger.rolled_out_objects(ledger)) == expected


class Clock:
    """A fake clock; each sleep advances it and may change the cluster."""

    def __init__(self, on_sleep=None) -> None:
        self.now, self.sleeps, self.on_sleep = 0.0, 0, on_sleep

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        if self.on_sleep:
            self.on_sleep(self.sleeps)


def test_clear_waits_for_the_rollout_then_clears(live) -> None:
    store = FakeConfigMaps()
    record(store, live)
    live.deployments["stripe-mock"] = rolled(1, 0, observed=2)  # restored, pod not ready yet

    def becomes_ready(sleeps: int) -> None:
        if sleeps == 3:
            live.deployments["stripe-mock"] = rolled(1, 1, observed=2)

    clock = Clock(becomes_ready)
    result = incident_ledger.clear(store, live, "6", False, False, wait_s=30, clock=clock, sleep=clock.sleep)
    assert (result["action"], result["differences"], result["waited_s"]) == (
        "cleared",
        [],
        round(3 * incident_ledger.POLL_S, 3),
    )
    assert ledger_name("6") not in store.objects


def test_clear_keeps_the_ledger_when_the_rollout_never_finishes(live) -> None:
    store = FakeConfigMaps()
    record(store, live)
    live.deployments["stripe-mock"] = rolled(1, 0, observed=2)
    clock = Clock()
    with pytest.raises(
        IncidentError, match=r"Deployment/stripe-mock 0/1 available \(rollout not finished\)\) after waiting 1 s"
    ):
        incident_ledger.clear(store, live, "6", False, False, wait_s=1, clock=clock, sleep=clock.sleep)
    assert ledger_name("6") in store.objects
    assert clock.sleeps == round(1 / incident_ledger.POLL_S)


def test_clear_without_wait_checks_once(live) -> None:
    store = FakeConfigMaps()
    record(store, live)
    live.deployments["stripe-mock"] = rolled(1, 0, observed=2)
    clock = Clock()
    with pytest.raises(IncidentError, match="rollout not finished"):
        incident_ledger.clear(store, live, "6", False, False, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == 0


def held_by(store: FakeConfigMaps, incident_id: str) -> None:
    store.create({"metadata": {"name": LOCK_NAME}, "data": {"incident": incident_id, "run_id": "run-a", "since": NOW}})


ABSENT_AND_RELEASE = {"state": "absent", "incident_id": "6", "force": False, "wait_s": 0, "release_lock": True}


@pytest.mark.parametrize("check", [False, True], ids=["apply", "check-mode"])
def test_clear_and_release_the_lock_in_one_call(live, check) -> None:
    store = FakeConfigMaps()
    record(store, live)
    held_by(store, "6")
    writes = store.writes
    result = incident_ledger.decide(store, live, ABSENT_AND_RELEASE, check)
    expected = ("would_clear", "would_release") if check else ("cleared", "released")
    assert (result["changed"], result["action"], result["lock_release"]["action"]) == (True, *expected)
    assert (LOCK_NAME in store.objects, ledger_name("6") in store.objects) == (check, check)
    assert store.writes == writes + (0 if check else 2)
    again = incident_ledger.decide(store, live, ABSENT_AND_RELEASE, False)
    assert (again["changed"], again["exists"], again["lock_release"]["action"]) == (
        check,
        check,
        "released" if check else "free",
    )


def test_release_without_a_ledger_frees_an_interrupted_activation(live) -> None:
    store = FakeConfigMaps()
    held_by(store, "6")
    result = incident_ledger.decide(store, live, ABSENT_AND_RELEASE, False)
    assert (result["changed"], result["exists"], result["lock_release"]) == (
        True,
        False,
        {"action": "released", "held": False},
    )
    assert LOCK_NAME not in store.objects


def test_another_incidents_lock_keeps_ledger_and_lock(live) -> None:
    store = FakeConfigMaps()
    record(store, live)
    held_by(store, "3")
    writes = store.writes
    with pytest.raises(
        LockHeld, match=r"lock is held by incident 3 \(run run-a\).*Recover incident 3 instead"
    ) as refused:
        incident_ledger.decide(store, live, ABSENT_AND_RELEASE, False)
    assert refused.value.lock["incident"] == "3"
    assert store.writes == writes and ledger_name("6") in store.objects


def test_a_ledger_that_differs_keeps_the_lock(live) -> None:
    store = FakeConfigMaps()
    record(store, live)
    held_by(store, "6")
    live.deployments["stripe-mock"]["spec"]["replicas"] = 0
    with pytest.raises(IncidentError, match="live state differs"):
        incident_ledger.decide(store, live, ABSENT_AND_RELEASE, False)
    assert {LOCK_NAME, ledger_name("6")} <= set(store.objects)


# ---------------------------------------------------------------- fields by pointer, absent fields, whole objects

RESOURCES = "/spec/template/spec/containers/name=main/resources"
CATALOGUE_DB = {"api_version": "apps/v1", "kind": "Deployment", "name": "catalogue-db"}
JOB = {"api_version": "batch/v1", "kind": "Job", "name": "locust-x"}


@pytest.fixture
def db(live: FakeLive) -> FakeLive:
    live.add("catalogue-db", 1, [pod("catalogue-db-1")])
    live.deployments["catalogue-db"]["spec"]["template"] = {
        "spec": {"containers": [{"name": "side"}, {"name": "main", "resources": {"limits": {"cpu": "500m"}}}]}
    }
    return live


def test_snapshot_resolves_names_and_records_an_absent_field_at_its_first_missing_parent(db: FakeLive) -> None:
    fields = [f"{RESOURCES}/limits/cpu", f"{RESOURCES}/requests/cpu", f"{RESOURCES}/requests/memory"]
    recorded = incident_ledger.snapshot(db, [dict(CATALOGUE_DB, step=1, fields=fields), dict(JOB, step=2, whole=True)])
    resources = "/spec/template/spec/containers/1/resources"
    assert recorded == [
        dict(CATALOGUE_DB, step=1, fields={f"{resources}/limits/cpu": "500m", f"{resources}/requests": "<absent>"}),
        dict(JOB, step=2, whole=None),
    ]


def test_snapshot_refuses_a_pointer_to_a_container_that_does_not_exist(db: FakeLive) -> None:
    with pytest.raises(
        IncidentError, match=r"cannot record Deployment/catalogue-db: .*no element named 'db'.*Nothing was changed"
    ):
        incident_ledger.snapshot(db, [dict(CATALOGUE_DB, fields=["/spec/template/spec/containers/name=db/image"])])


def test_differences_of_whole_objects(db: FakeLive) -> None:
    ledger = {"objects": [dict(JOB, step=0, whole=None)]}
    assert incident_ledger.differences(ledger, db) == []
    db.create({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "locust-x"}, "spec": {}})
    assert incident_ledger.differences(ledger, db) == [
        {"object": "Job/locust-x", "field": "", "ledger": "<absent>", "live": "(present)"}
    ]
    db.others[("batch/v1", "Job", "locust-x")]["metadata"]["deletionTimestamp"] = "2026-12-03T06:00:00Z"
    assert incident_ledger.differences(ledger, db)[0]["live"] == "(deleting)"
    del db.others[("batch/v1", "Job", "locust-x")]["metadata"]["deletionTimestamp"]
    body = db.get("batch/v1", "Job", "locust-x")
    kept = {"objects": [dict(JOB, step=0, whole=incident_ledger.essential(body))]}
    assert incident_ledger.differences(kept, db) == []
    db.others[("batch/v1", "Job", "locust-x")]["spec"]["parallelism"] = 2
    assert incident_ledger.differences(kept, db)[0]["live"] == "(changed)"
