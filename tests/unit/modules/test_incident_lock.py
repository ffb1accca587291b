"""incident_lock: create-if-absent lock semantics against an in-memory API."""

from __future__ import annotations

import pytest
from ansible.module_utils.sockshop_incident import LOCK_NAME, Conflict, IncidentError

from plugins.modules import incident_lock
from tests.unit.modules.incident_fakes import FakeConfigMaps

T0, T1 = "2026-11-23T08:24:46.000Z", "2026-11-23T08:25:08.000Z"


def take(
    store: FakeConfigMaps, run_id: str = "run-a", incident_id: str = "6", check: bool = False, mark: bool = False
) -> dict:
    return incident_lock.acquire(
        store, incident_id, run_id, holder="ops@laptop", now=T1 if mark else T0, check_mode=check, mark_activated=mark
    )


def test_acquire_free_lock() -> None:
    store = FakeConfigMaps()
    result = take(store)
    assert result["changed"] and result["action"] == "acquired"
    assert result["lock"] == {
        "incident": "6",
        "run_id": "run-a",
        "holder": "ops@laptop",
        "since": T0,
        "activated_at": "",
    }
    assert store.objects[LOCK_NAME]["metadata"]["labels"]["sockshop.io/incident"] == "6"


def test_same_run_is_a_noop() -> None:
    store = FakeConfigMaps()
    take(store)
    writes = store.writes
    result = take(store)
    assert (result["changed"], result["action"], store.writes) == (False, "held", writes)


def test_mark_activated_once() -> None:
    store = FakeConfigMaps()
    take(store)
    marked = take(store, mark=True)
    assert marked["changed"] and marked["lock"]["activated_at"] == T1
    again = take(store, mark=True)
    assert not again["changed"] and again["lock"]["activated_at"] == T1


def test_new_run_joins_a_completed_activation_without_writing() -> None:
    store = FakeConfigMaps()
    take(store)
    take(store, mark=True)
    writes = store.writes
    result = take(store, run_id="run-b", mark=True)
    assert (result["changed"], result["action"], result["lock"]["run_id"], store.writes) == (
        False,
        "adopted",
        "run-a",
        writes,
    )


def test_concurrent_activation_of_the_same_incident_is_refused() -> None:
    store = FakeConfigMaps()
    take(store)
    with pytest.raises(
        IncidentError, match=r"being activated by another run.*run run-a.*ops@laptop since 2026-11-23T08:24:46.000Z"
    ):
        take(store, run_id="run-b")


def test_other_incident_is_named_with_holder_and_time() -> None:
    store = FakeConfigMaps()
    take(store, incident_id="3")
    with pytest.raises(IncidentError) as error:
        take(store)
    text = str(error.value)
    assert "held by incident 3 (run run-a), taken by ops@laptop since 2026-11-23T08:24:46.000Z" in text
    assert "playbooks/incident-3.yml -e phase=recover" in text


def test_lost_race_judges_the_winner() -> None:
    class Racing(FakeConfigMaps):
        def create(self, body):
            winner = dict(body, data=dict(body["data"], run_id="run-winner"))
            FakeConfigMaps.create(self, winner)
            raise Conflict("AlreadyExists")

    racing = Racing()
    with pytest.raises(IncidentError, match="run run-winner"):
        take(racing)
    assert racing.objects[LOCK_NAME]["data"]["run_id"] == "run-winner"


def test_check_mode_writes_nothing() -> None:
    store = FakeConfigMaps()
    result = take(store, check=True, mark=True)
    assert result["changed"] and result["action"] == "would_mark_activated"
    assert result["lock"]["activated_at"] == T1
    assert store.writes == 0 and not store.objects


def test_run_id_required() -> None:
    with pytest.raises(IncidentError, match="run_id is required"):
        take(FakeConfigMaps(), run_id="")


@pytest.mark.parametrize(
    ("holder", "check", "action", "changed", "left"),
    [
        (None, False, "free", False, False),
        ("6", False, "released", True, False),
        ("6", True, "would_release", True, True),
    ],
)
def test_release(holder, check, action, changed, left) -> None:
    store = FakeConfigMaps()
    if holder:
        take(store, incident_id=holder)
    result = incident_lock.release(store, "6", check)
    assert (result["action"], result["changed"], LOCK_NAME in store.objects) == (action, changed, left)


def test_release_refuses_another_incidents_lock() -> None:
    store = FakeConfigMaps()
    take(store, incident_id="3")
    with pytest.raises(IncidentError, match=r"not releasing .* held by incident 3"):
        incident_lock.release(store, "6", False)
    assert LOCK_NAME in store.objects


def test_query() -> None:
    store = FakeConfigMaps()
    assert incident_lock.query(store) == {"changed": False, "action": "free", "held": False}
    take(store)
    assert incident_lock.query(store)["lock"]["run_id"] == "run-a"


def test_query_with_the_ledger_reads_both_in_one_call() -> None:
    store = FakeConfigMaps()
    assert incident_lock.query(store, "6")["ledger"] == {"exists": False}
    take(store)
    store.create(
        {
            "metadata": {"name": "sockshop-incident-6-ledger"},
            "data": {"ledger.json": '{"run_id": "run-a", "objects": []}'},
        }
    )
    result = incident_lock.query(store, "6")
    assert (result["held"], result["ledger"]) == (True, {"exists": True, "ledger": {"run_id": "run-a", "objects": []}})
    assert "ledger" not in incident_lock.query(store)  # only when asked
