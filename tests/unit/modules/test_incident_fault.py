"""incident_fault: apply a fault, restore every ledgered field; idempotence, check mode, waits and bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ansible.module_utils.sockshop_incident import IncidentError

from plugins.modules import incident_fault
from tests.unit.modules.incident_fakes import FakeLive, pod

GATEWAY = {"kind": "Deployment", "name": "stripe-mock"}
FAULT = {"type": "scale_to_zero", "workload": GATEWAY}


@pytest.fixture
def live() -> FakeLive:
    cluster = FakeLive()
    cluster.add("stripe-mock", 1, [pod("stripe-mock-1")])
    cluster.add("payment", 1, [pod("payment-1")])
    return cluster


class Clock:
    """A fake clock; `after[n]()` runs after the n-th sleep, as a controller would act meanwhile."""

    def __init__(self, after: dict[int, Callable[[], None]] | None = None) -> None:
        self.now, self.sleeps, self.after = 0.0, 0, after or {}

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds
        self.sleeps += 1
        if self.sleeps in self.after:
            self.after[self.sleeps]()


def test_apply_scales_to_zero_and_waits_until_no_pod_is_counted(live: FakeLive) -> None:
    clock = Clock({3: lambda: live.terminate("stripe-mock")})
    result = incident_fault.apply(live, FAULT, 60, False, clock=clock, sleep=clock.sleep)
    assert result["changed"] is True
    assert result["changes"] == [
        {"object": "Deployment/stripe-mock", "field": "spec.replicas", "before": 1, "after": 0}
    ]
    assert result["waited_s"] == round(3 * incident_fault.POLL_S, 3)
    assert live.deployments["stripe-mock"]["spec"]["replicas"] == 0 and live.writes == 1


def test_apply_a_second_time_writes_nothing(live: FakeLive) -> None:
    live.scale("apps/v1", "Deployment", "stripe-mock", 0)
    live.terminate("stripe-mock")
    writes = live.writes
    result = incident_fault.apply(live, FAULT, 60, False, clock=Clock(), sleep=Clock().sleep)
    assert (result["changed"], result["changes"], live.writes) == (False, [], writes)


def test_apply_in_check_mode_writes_nothing_and_does_not_wait(live: FakeLive) -> None:
    clock = Clock()
    result = incident_fault.apply(live, FAULT, 60, True, clock=clock, sleep=clock.sleep)
    assert result["changed"] is True and result["changes"][0]["after"] == 0
    assert (live.writes, clock.sleeps, live.deployments["stripe-mock"]["spec"]["replicas"]) == (0, 0, 1)


def test_apply_fails_when_the_pods_do_not_go(live: FakeLive) -> None:
    clock = Clock()
    with pytest.raises(
        IncidentError, match=r"still counts 1 pod\(s\) 1 s after it was scaled to 0.*run phase=recover"
    ) as err:
        incident_fault.apply(live, FAULT, 1, False, clock=clock, sleep=clock.sleep)
    assert err.value.partial["changes"][0]["field"] == "spec.replicas"  # the result says what was written


@pytest.mark.parametrize(
    ("objects", "expected_changes", "replicas"),
    [
        ([{**GATEWAY, "api_version": "apps/v1", "fields": {"spec.replicas": 1}}], 1, 1),
        ([{**GATEWAY, "api_version": "apps/v1", "fields": {"spec.replicas": 0}}], 0, 0),
        ([], 0, 0),
    ],
    ids=["restores", "already-as-recorded", "nothing-recorded"],
)
def test_restore_writes_back_what_differs(
    live: FakeLive, objects: list[dict[str, Any]], expected_changes: int, replicas: int
) -> None:
    live.scale("apps/v1", "Deployment", "stripe-mock", 0)
    writes = live.writes
    result = incident_fault.restore(live, objects, False)
    assert len(result["changes"]) == expected_changes and result["changed"] is bool(expected_changes)
    assert live.writes - writes == expected_changes
    assert live.deployments["stripe-mock"]["spec"]["replicas"] == replicas
    assert incident_fault.restore(live, objects, False)["changed"] is False  # a second restore changes nothing


def test_restore_of_any_field_by_merge_patch(live: FakeLive) -> None:
    limit = "spec.template.spec.terminationGracePeriodSeconds"
    result = incident_fault.restore(live, [{**GATEWAY, "fields": {limit: 30}}], False)
    assert result["changes"] == [{"object": "Deployment/stripe-mock", "field": limit, "before": None, "after": 30}]
    assert live.deployments["stripe-mock"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 30


def test_restore_in_check_mode_writes_nothing(live: FakeLive) -> None:
    live.scale("apps/v1", "Deployment", "stripe-mock", 0)
    writes = live.writes
    result = incident_fault.restore(live, [{**GATEWAY, "fields": {"spec.replicas": 1}}], True)
    assert result["changed"] is True and live.writes == writes


def test_a_missing_workload_is_refused(live: FakeLive) -> None:
    with pytest.raises(IncidentError, match=r"Deployment/gone does not exist in namespace sock-shop\. Provision"):
        incident_fault.apply(
            live, {"type": "scale_to_zero", "workload": {"kind": "Deployment", "name": "gone"}}, 0, False
        )
    assert live.writes == 0
