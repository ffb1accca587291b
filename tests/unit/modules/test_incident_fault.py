"""incident_fault: apply a fault, restore every ledgered field; idempotence, check mode, waits and bad input."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from ansible.module_utils import sockshop_hpa, sockshop_incident
from ansible.module_utils.sockshop_incident import IncidentError
from ansible.module_utils.sockshop_pointer import ABSENT

from plugins.modules import incident_fault
from tests.unit.modules.incident_fakes import FakeLive, pod

GATEWAY = {"api_version": "apps/v1", "kind": "Deployment", "name": "stripe-mock"}
FAULT = [{"step": 0, "type": "scale_to_zero", "object": GATEWAY}]


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
        {"object": "Deployment/stripe-mock", "field": "/spec/replicas", "before": 1, "after": 0}
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
        IncidentError,
        match=r"not in effect 1 s after it was written: Deployment/stripe-mock still counts 1 pod\(s\)"
        r".*run phase=recover",
    ) as err:
        incident_fault.apply(live, FAULT, 1, False, clock=clock, sleep=clock.sleep)
    assert err.value.partial["changes"][0]["field"] == "/spec/replicas"  # the result says what was written


@pytest.mark.parametrize(
    ("objects", "expected_changes", "replicas"),
    [
        ([{**GATEWAY, "fields": {"/spec/replicas": 1}}], 1, 1),
        ([{**GATEWAY, "fields": {"/spec/replicas": 0}}], 0, 0),
        ([{**GATEWAY, "fields": {"spec.replicas": 1}}], 1, 1),
        ([], 0, 0),
    ],
    ids=["restores", "already-as-recorded", "a-first-format-ledger-with-a-dotted-path", "nothing-recorded"],
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


def test_restore_of_any_field_by_json_patch(live: FakeLive) -> None:
    limit = "/spec/template/spec/terminationGracePeriodSeconds"
    result = incident_fault.restore(live, [{**GATEWAY, "fields": {limit: 30}}], False)
    assert result["changes"] == [{"object": "Deployment/stripe-mock", "field": limit, "before": ABSENT, "after": 30}]
    assert live.patches == [
        [{"op": "add", "path": "/spec/template", "value": {"spec": {"terminationGracePeriodSeconds": 30}}}]
    ]
    assert live.deployments["stripe-mock"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] == 30


def test_restore_in_check_mode_writes_nothing(live: FakeLive) -> None:
    live.scale("apps/v1", "Deployment", "stripe-mock", 0)
    writes = live.writes
    result = incident_fault.restore(live, [{**GATEWAY, "fields": {"spec.replicas": 1}}], True)
    assert result["changed"] is True and live.writes == writes


def test_a_missing_workload_is_refused(live: FakeLive) -> None:
    with pytest.raises(IncidentError, match=r"Deployment/gone does not exist in namespace sock-shop\. Provision"):
        incident_fault.apply(
            live, [{"step": 0, "type": "scale_to_zero", "object": dict(GATEWAY, name="gone")}], 0, False
        )
    assert live.writes == 0


# ---------------------------------------------------------------- patch (set_resources) and put (load)

DB = {"api_version": "apps/v1", "kind": "Deployment", "name": "catalogue-db"}
CPU = "/spec/template/spec/containers/name=catalogue-db/resources/limits/cpu"
MEMORY_REQUEST = "/spec/template/spec/containers/name=catalogue-db/resources/requests/memory"


@pytest.fixture
def db(live: FakeLive) -> FakeLive:
    live.add("catalogue-db", 1, [pod("catalogue-db-1")])
    live.deployments["catalogue-db"]["spec"]["template"] = {
        "spec": {
            "containers": [
                {"name": "exporter", "image": "exporter"},
                {"name": "catalogue-db", "image": "mariadb", "resources": {"limits": {"cpu": "500m"}}},
            ]
        }
    }
    return live


def patch_step(*sets: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"step": 0, "type": "patch", "object": DB, "set": list(sets)}]


def test_patch_sets_a_field_by_container_name_and_adds_missing_parents(db: FakeLive) -> None:
    steps = patch_step({"path": CPU, "value": "50m"}, {"path": MEMORY_REQUEST, "value": "64Mi"})
    result = incident_fault.apply(db, steps, 0, False)
    container = "/spec/template/spec/containers/1/resources"
    assert result["changes"] == [
        {"object": "Deployment/catalogue-db", "field": f"{container}/limits/cpu", "before": "500m", "after": "50m"},
        {
            "object": "Deployment/catalogue-db",
            "field": f"{container}/requests/memory",
            "before": ABSENT,
            "after": "64Mi",
        },
    ]
    assert db.patches == [
        [
            {"op": "replace", "path": f"{container}/limits/cpu", "value": "50m"},
            {"op": "add", "path": f"{container}/requests", "value": {"memory": "64Mi"}},
        ]
    ]
    assert db.deployments["catalogue-db"]["spec"]["template"]["spec"]["containers"][1]["resources"] == {
        "limits": {"cpu": "50m"},
        "requests": {"memory": "64Mi"},
    }
    writes = db.writes
    assert incident_fault.apply(db, steps, 0, False)["changed"] is False and db.writes == writes  # idempotent


def test_restore_removes_a_field_that_was_absent_and_puts_back_the_rest(db: FakeLive) -> None:
    incident_fault.apply(
        db, patch_step({"path": CPU, "value": "50m"}, {"path": MEMORY_REQUEST, "value": "64Mi"}), 0, False
    )
    container = "/spec/template/spec/containers/1/resources"
    ledger = [{**DB, "step": 0, "fields": {f"{container}/limits/cpu": "500m", f"{container}/requests/memory": ABSENT}}]
    result = incident_fault.restore(db, ledger, False)
    assert [(c["field"], c["after"]) for c in result["changes"]] == [
        (f"{container}/limits/cpu", "500m"),
        (f"{container}/requests/memory", ABSENT),
    ]
    resources = db.deployments["catalogue-db"]["spec"]["template"]["spec"]["containers"][1]["resources"]
    assert resources == {"limits": {"cpu": "500m"}, "requests": {}}
    assert incident_fault.restore(db, ledger, False)["changed"] is False


@pytest.mark.parametrize(
    ("path", "message"),
    [
        (
            "/spec/template/spec/containers/name=nope/resources/limits/cpu",
            r"no element named 'nope' \(names: exporter, catalogue-db\)",
        ),
        ("/spec/template/spec/containers/7/resources/limits/cpu", r"index 7 is past the end of a list of 2"),
        ("/spec/replicas/x", r"/spec/replicas holds int, not an object"),
    ],
    ids=["unknown-container", "index-past-the-end", "through-a-number"],
)
def test_a_pointer_to_a_missing_place_is_refused_with_nothing_written(db: FakeLive, path: str, message: str) -> None:
    with pytest.raises(IncidentError, match=message):
        incident_fault.apply(db, patch_step({"path": path, "value": "1"}), 0, False)
    assert db.writes == 0


def test_patch_in_check_mode_reports_and_writes_nothing(db: FakeLive) -> None:
    result = incident_fault.apply(db, patch_step({"path": CPU, "value": "50m"}), 60, True)
    assert result["changed"] is True and result["changes"][0]["before"] == "500m"
    assert db.writes == 0


def test_patch_waits_for_the_rollout(db: FakeLive) -> None:
    def rolled() -> None:
        db.deployments["catalogue-db"]["status"]["observedGeneration"] = 2

    clock = Clock({2: rolled})
    result = incident_fault.apply(
        db, patch_step({"path": CPU, "value": "50m"}), 60, False, clock=clock, sleep=clock.sleep
    )
    assert result["waited_s"] == round(2 * incident_fault.POLL_S, 3)


JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "locust-x", "namespace": "sock-shop", "labels": {"sockshop.io/role": "load"}},
    "spec": {"backoffLimit": 0, "template": {"spec": {"containers": [{"name": "locust"}]}}},
}
CONFIGMAP = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "locustfile-x"}, "data": {"a": "b"}}


def test_put_creates_then_leaves_alone_and_the_restore_deletes_in_reverse(live: FakeLive) -> None:
    steps = [{"step": 0, "type": "put", "objects": [CONFIGMAP, JOB]}]
    result = incident_fault.apply(live, steps, 0, False)
    assert [c["object"] for c in result["changes"]] == ["ConfigMap/locustfile-x", "Job/locust-x"]
    # the server adds fields (status, uid, defaults): a second put still sees its objects in place
    live.others[("batch/v1", "Job", "locust-x")]["spec"]["completions"] = 1
    assert incident_fault.apply(live, steps, 0, False)["changed"] is False
    ledger = [
        {"api_version": "v1", "kind": "ConfigMap", "name": "locustfile-x", "step": 0, "whole": None},
        {"api_version": "batch/v1", "kind": "Job", "name": "locust-x", "step": 0, "whole": None},
    ]
    restored = incident_fault.restore(live, ledger, False)
    assert [(c["object"], c["after"]) for c in restored["changes"]] == [
        ("ConfigMap/locustfile-x", ABSENT),
        ("Job/locust-x", ABSENT),
    ]
    assert live.others == {}
    assert incident_fault.restore(live, ledger, False)["changed"] is False


def test_put_waits_until_the_job_has_a_pod(live: FakeLive) -> None:
    def started() -> None:
        live.others[("batch/v1", "Job", "locust-x")]["status"] = {"active": 1}

    clock = Clock({3: started})
    result = incident_fault.apply(
        live, [{"step": 0, "type": "put", "objects": [JOB]}], 60, False, clock=clock, sleep=clock.sleep
    )
    assert result["waited_s"] == round(3 * incident_fault.POLL_S, 3)


def test_restore_goes_through_the_steps_in_reverse(db: FakeLive) -> None:
    order: list[str] = []
    db.scale = lambda *args: order.append("scale")  # type: ignore[method-assign]
    db.json_patch = lambda *args: order.append("patch")  # type: ignore[method-assign]
    db.scale("apps/v1", "Deployment", "stripe-mock", 0)
    order.clear()
    db.deployments["stripe-mock"]["spec"]["replicas"] = 0
    ledger = [
        {**GATEWAY, "step": 0, "fields": {"/spec/replicas": 1}},
        {**DB, "step": 1, "fields": {"/spec/template/spec/containers/1/resources/limits/cpu": "1"}},
    ]
    incident_fault.restore(db, ledger, False)
    assert order == ["patch", "scale"]


def test_each_step_is_in_effect_before_the_next_is_written(db: FakeLive) -> None:
    """A load starts only once the patched database has rolled out (its clients would otherwise lose it)."""
    seen: list[bool] = []

    def rolled() -> None:
        seen.append(db.get("batch/v1", "Job", "locust-x") is None)  # no load while the rollout is under way
        db.deployments["catalogue-db"]["status"]["observedGeneration"] = 2

    def started() -> None:
        db.others[("batch/v1", "Job", "locust-x")]["status"] = {"active": 1}

    clock = Clock({2: rolled, 3: started})
    steps = [*patch_step({"path": CPU, "value": "50m"}), {"step": 1, "type": "put", "objects": [JOB]}]
    result = incident_fault.apply(db, steps, 60, False, clock=clock, sleep=clock.sleep)
    assert seen == [True] and [c["object"] for c in result["changes"]] == ["Deployment/catalogue-db", "Job/locust-x"]
    assert clock.sleeps == 3


def test_a_step_not_in_effect_in_time_stops_before_the_next(db: FakeLive) -> None:
    clock = Clock()
    steps = [*patch_step({"path": CPU, "value": "50m"}), {"step": 1, "type": "put", "objects": [JOB]}]
    with pytest.raises(IncidentError, match=r"not in effect 1 s after it was written: Deployment/catalogue-db 1/1"):
        incident_fault.apply(db, steps, 1, False, clock=clock, sleep=clock.sleep)
    assert db.get("batch/v1", "Job", "locust-x") is None


# ---------------------------------------------------------------- hpa


def hpa_body(name: str, target: str = "front-end", metric: str = "memory") -> dict[str, Any]:
    fault = {
        "name": name,
        "workload": {"kind": "Deployment", "name": target},
        "max_replicas": 10,
        "metrics": [{"resource": metric, "utilization": 80}],
    }
    return sockshop_hpa.manifest(fault, namespace="sock-shop", incident_id="7")


@pytest.fixture
def shop() -> FakeLive:
    cluster = FakeLive()
    cluster.add("front-end", 1, [pod("front-end-1")])
    return cluster


def test_an_hpa_waits_until_the_controller_has_looked_at_it(shop: FakeLive) -> None:
    body = hpa_body("front-end-hpa-broken")

    def looked() -> None:
        stored = shop.others[("autoscaling/v2", "HorizontalPodAutoscaler", "front-end-hpa-broken")]
        stored["status"] = {"conditions": [{"type": "ScalingActive", "status": "True"}]}

    clock = Clock({2: looked})
    result = incident_fault.apply(
        shop, [{"step": 0, "type": "put", "objects": [body]}], 60, False, clock=clock, sleep=clock.sleep
    )
    assert [c["object"] for c in result["changes"]] == ["HorizontalPodAutoscaler/front-end-hpa-broken"]
    assert clock.sleeps == 2


@pytest.mark.parametrize("check_mode", [False, True])
def test_a_second_hpa_on_a_workload_is_refused_before_anything_is_written(shop: FakeLive, check_mode: bool) -> None:
    shop.create(hpa_body("front-end-cpu", metric="cpu"))
    shop.create(hpa_body("carts-hpa", target="carts"))  # another workload's HPA is no conflict
    writes = shop.writes
    step = {"step": 0, "type": "put", "objects": [hpa_body("front-end-hpa-broken")]}
    with pytest.raises(IncidentError) as err:
        incident_fault.apply(shop, [step], 60, check_mode)
    assert str(err.value) == (
        "HorizontalPodAutoscaler front-end-cpu already scales Deployment/front-end; a second one would fight it "
        "(AmbiguousSelector). Remove it or run the incident on a namespace without it; nothing of "
        "HorizontalPodAutoscaler/front-end-hpa-broken was written."
    )
    assert (
        shop.writes == writes and shop.get("autoscaling/v2", "HorizontalPodAutoscaler", "front-end-hpa-broken") is None
    )


def test_an_hpa_of_the_same_name_is_replaced_and_restored_as_it_was(shop: FakeLive) -> None:
    shop.create(hpa_body("front-end-hpa-broken", metric="cpu"))
    prior = shop.get("autoscaling/v2", "HorizontalPodAutoscaler", "front-end-hpa-broken")
    step = {"step": 0, "type": "put", "objects": [hpa_body("front-end-hpa-broken")]}
    incident_fault.apply(shop, [step], 0, False)
    now = shop.get("autoscaling/v2", "HorizontalPodAutoscaler", "front-end-hpa-broken")
    assert now is not None and now["spec"]["metrics"][0]["resource"]["name"] == "memory"
    ledger = [{"api_version": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": "front-end-hpa-broken",
               "step": 0, "whole": sockshop_incident.essential(prior)}]  # fmt: skip
    incident_fault.restore(shop, ledger, False)
    back = shop.get("autoscaling/v2", "HorizontalPodAutoscaler", "front-end-hpa-broken")
    assert back is not None and back["spec"] == prior["spec"]  # type: ignore[index]


def test_the_restore_deletes_the_hpa_before_it_puts_the_replicas_back(shop: FakeLive) -> None:
    """The HPA rescaled front-end to 4: deleting it first means nothing scales the replicas again after the restore."""
    shop.create(hpa_body("front-end-hpa-broken"))
    shop.deployments["front-end"]["spec"]["replicas"] = 4
    order: list[str] = []
    delete, scale = shop.delete, shop.scale

    def deleting(*args: Any) -> None:
        order.append("delete")
        delete(*args)

    def scaling(*args: Any) -> None:
        order.append("scale")
        scale(*args)

    shop.delete, shop.scale = deleting, scaling  # type: ignore[method-assign,assignment]
    ledger = [
        {"api_version": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "name": "front-end-hpa-broken",
         "step": 0, "whole": None},
        {"api_version": "apps/v1", "kind": "Deployment", "name": "front-end", "step": 0,
         "fields": {"/spec/replicas": 1}},
    ]  # fmt: skip
    incident_fault.restore(shop, ledger, False)
    assert order == ["delete", "scale"] and shop.deployments["front-end"]["spec"]["replicas"] == 1
    assert shop.list_kind("autoscaling/v2", "HorizontalPodAutoscaler") == []
