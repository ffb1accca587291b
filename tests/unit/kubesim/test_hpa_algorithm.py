"""The HPA controller's algorithm (kubesim/hpa/ against pkg/controller/podautoscaler): replica
counts from usage, tolerance, missing and unready pods, min/max, behavior policies and stabilisation windows, and
the conditions and events worded as upstream words them."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from kubesim import resources
from kubesim.controllers import hpa as hpa_controller
from kubesim.hpa import behavior as hpa_behavior
from kubesim.hpa import model as hpa_model
from kubesim.hpa import replicas as hpa_replicas
from kubesim.hpa import sync as hpa_sync
from kubesim.hpa.model import Event, Memory, MetricError, PodMetric, Result, Scale, ScaleEvent
from kubesim.registry import Registry
from kubesim.store import Store
from kubesim.usage import ContainerUsage
from tests.unit.kubesim.usage_fakes import FakeUsage, usage_record

NOW = 1_750_000_000.0
WINDOW = 5.0
HPAS = resources.get("autoscaling", "v2", "horizontalpodautoscalers")


def t(ago: float) -> str:
    return hpa_model.rfc3339(NOW - ago)


def pod(
    name: str,
    *,
    cpu: str | None = "100m",
    memory: str | None = "64Mi",
    phase: str = "Running",
    ready: str | None = "True",
    started_ago: float = 600,
    ready_ago: float = 590,
    deleted: bool = False,
    containers: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": f"uid-{name}", "labels": {"app": "web"}}
    if deleted:
        meta["deletionTimestamp"] = t(1)
    status: dict[str, Any] = {"phase": phase, "startTime": t(started_ago)}
    if ready is not None:
        status["conditions"] = [{"type": "Ready", "status": ready, "lastTransitionTime": t(ready_ago)}]
    spec = {"containers": containers or [{"name": "app", "image": "x", "resources": {"requests": requests}}]}
    return {"metadata": meta, "spec": spec, "status": status}


def usage(name: str, *, cpu_m: float = 0, mem_mi: float = 0, container: str = "app", ago: float = 1) -> ContainerUsage:
    return usage_record(
        name,
        container,
        namespace="shop",
        timestamp=NOW - ago,
        window_s=WINDOW,
        cpu_cores=cpu_m / 1000,
        memory_working_set_bytes=int(mem_mi * 1024 * 1024),
    )


def cpu_util(pct: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": pct}},
    }


def mem_util(pct: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": pct}},
    }


# ---- quantities ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("milli", "text"),
    [
        (0, "0"),
        (1, "1m"),
        (250, "250m"),
        (1000, "1"),
        (1500, "1500m"),
        (43_000_000_000, "43M"),
        (42_991_616_000, "42991616"),
    ],
)
def test_milli_quantity_is_decimal_si_canonical(milli: int, text: str) -> None:
    assert hpa_model.milli_quantity(milli) == text


# ---- usage ratio and tolerance -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("cpu_each_m", "pods_n", "target", "expected", "utilization"),
    [
        (54, 3, 50, 3, 54),  # ratio 1.08: within the 0.1 tolerance, keep 3
        (46, 3, 50, 3, 46),  # ratio 0.92: within the tolerance
        (60, 3, 50, 4, 60),  # ratio 1.2 -> ceil(3.6)
        (200, 1, 50, 4, 200),  # ratio 4 -> 4
        (20, 3, 50, 2, 20),  # ratio 0.4 -> ceil(1.2)
        (0, 4, 50, 0, 0),  # nothing used: 0 (min replicas bound it later)
        (149, 2, 50, 6, 149),  # 2.98 -> ceil(5.96)
    ],
)
def test_desired_is_ceil_of_ratio_times_ready_pods(
    cpu_each_m: int, pods_n: int, target: int, expected: int, utilization: int
) -> None:
    pods = [pod(f"web-{i}") for i in range(pods_n)]
    recs = [usage(f"web-{i}", cpu_m=cpu_each_m) for i in range(pods_n)]
    replicas, util, raw = hpa_replicas.resource_replicas(pods_n, target, "cpu", pods=pods, usage=recs, now=NOW)
    assert (replicas, util, raw) == (expected, utilization, cpu_each_m)


def test_utilization_is_a_whole_percentage_of_the_requests_of_pods_with_metrics() -> None:
    pods = [pod("web-0", cpu="300m"), pod("web-1", cpu="100m")]
    recs = [usage("web-0", cpu_m=100), usage("web-1", cpu_m=101)]
    ratio, util, raw = hpa_replicas.resource_utilization_ratio(
        hpa_replicas.resource_metrics(recs, pods, "cpu"), hpa_replicas.calculate_pod_requests(pods, "", "cpu"), 50
    )
    assert util == 50  # 201 * 100 // 400
    assert ratio == 1.0
    assert raw == 100  # 201 // 2


def test_without_tolerance_a_small_change_would_scale() -> None:
    pods = [pod(f"web-{i}") for i in range(3)]
    recs = [usage(f"web-{i}", cpu_m=54) for i in range(3)]
    assert hpa_replicas.resource_replicas(3, 50, "cpu", pods=pods, usage=recs, now=NOW)[0] == 3
    assert hpa_replicas.resource_replicas(3, 50, "cpu", pods=pods, usage=recs, now=NOW, tolerance=0.0)[0] == 4


# ---- missing metrics and unready pods ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pods", "recs", "current", "expected"),
    [
        # scale up: a running pod without metrics counts as 0%: (100+100+0)/300 = 66% -> 1.32 * 3
        (
            [pod("web-0"), pod("web-1"), pod("web-2")],
            [usage("web-0", cpu_m=100), usage("web-1", cpu_m=100)],
            3,
            4,
        ),
        # scale down: as 100% of its request: (10+10+10+100)/400 = 32% -> 0.64 * 4
        (
            [pod("web-0"), pod("web-1"), pod("web-2"), pod("web-3")],
            [usage("web-0", cpu_m=10), usage("web-1", cpu_m=10), usage("web-2", cpu_m=10)],
            4,
            3,
        ),
        # scale down, but counting the missing pod at 100% flips the direction: keep the count
        (
            [pod("web-0"), pod("web-1")],
            [usage("web-0", cpu_m=40)],
            2,
            2,
        ),
        # an unready pod (Ready False) is ignored, then counted as 0% on a scale up: 200/300 = 66% -> 1.32 * 3
        (
            [pod("web-0"), pod("web-1"), pod("web-2", ready="False")],
            [usage("web-0", cpu_m=100), usage("web-1", cpu_m=100), usage("web-2", cpu_m=100)],
            3,
            4,
        ),
        # a pending pod is unready too
        (
            [pod("web-0"), pod("web-1"), pod("web-2", phase="Pending")],
            [usage("web-0", cpu_m=100), usage("web-1", cpu_m=100)],
            3,
            4,
        ),
        # on a scale down unready pods are simply left out: 20% of the two ready ones -> 0.4 * 2
        (
            [pod("web-0"), pod("web-1"), pod("web-2", ready="False")],
            [usage("web-0", cpu_m=20), usage("web-1", cpu_m=20), usage("web-2", cpu_m=100)],
            3,
            1,
        ),
        # deleted and failed pods are ignored
        (
            [pod("web-0"), pod("web-1", deleted=True), pod("web-2", phase="Failed")],
            [usage("web-0", cpu_m=100), usage("web-1", cpu_m=0), usage("web-2", cpu_m=0)],
            3,
            2,
        ),
    ],
    ids=["missing-up", "missing-down", "missing-flips", "unready-up", "pending-up", "unready-down", "ignored"],
)
def test_missing_and_unready_pods(pods: list[Any], recs: list[ContainerUsage], current: int, expected: int) -> None:
    assert hpa_replicas.resource_replicas(current, 50, "cpu", pods=pods, usage=recs, now=NOW)[0] == expected


@pytest.mark.parametrize(
    ("kwargs", "metric_ago", "group"),
    [
        ({}, 1, "ready"),
        ({"ready": None}, 1, "unready"),  # no Ready condition
        ({"ready": "False"}, 1, "unready"),
        # within the first 5 minutes: a sample taken less than a window after becoming ready is not trusted
        ({"started_ago": 60, "ready_ago": 3}, 1, "unready"),
        ({"started_ago": 60, "ready_ago": 30}, 1, "ready"),
        # after 5 minutes: unready only if it never was ready (its readiness last changed within 30 s of starting)
        ({"started_ago": 900, "ready": "False", "ready_ago": 890}, 1, "unready"),
        ({"started_ago": 900, "ready": "False", "ready_ago": 60}, 1, "ready"),
        ({"phase": "Pending"}, 1, "unready"),
        ({"deleted": True}, 1, "ignored"),
        ({"phase": "Failed"}, 1, "ignored"),
    ],
)
def test_group_pods_for_cpu(kwargs: dict[str, Any], metric_ago: float, group: str) -> None:
    p = pod("web-0", **kwargs)
    metrics = {"web-0": PodMetric(50, NOW - metric_ago, WINDOW)}
    ready, unready, missing, ignored = hpa_replicas.group_pods([p], metrics, "cpu", NOW)
    got = {"ready": ready == 1, "unready": "web-0" in unready, "ignored": "web-0" in ignored}
    assert [k for k, v in got.items() if v] == [group]
    assert not missing


def test_readiness_only_matters_for_cpu() -> None:
    p = pod("web-0", ready="False")
    assert hpa_replicas.group_pods([p], {"web-0": PodMetric(1, NOW, WINDOW)}, "memory", NOW)[0] == 1
    assert hpa_replicas.group_pods([pod("web-1")], {}, "memory", NOW)[2] == {"web-1"}


# ---- bad input: the errors upstream gives --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("pods", "recs", "message"),
    [
        ([pod("web-0")], [], "unable to get metrics for resource cpu: no metrics returned from resource metrics API"),
        (
            [pod("web-0", cpu=None)],
            [usage("web-0", cpu_m=10)],
            "missing request for cpu in container app of Pod web-0",
        ),
        (
            [pod("web-0", ready="False"), pod("web-1", phase="Pending")],
            [usage("web-0", cpu_m=10)],
            "did not receive metrics for targeted pods (pods might be unready)",
        ),
    ],
    ids=["no-metrics", "no-request", "all-unready"],
)
def test_metric_errors(pods: list[Any], recs: list[ContainerUsage], message: str) -> None:
    with pytest.raises(MetricError) as exc:
        hpa_replicas.resource_replicas(1, 50, "cpu", pods=pods, usage=recs, now=NOW)
    assert str(exc.value) == message


def test_a_limit_without_a_request_requests_the_limit() -> None:
    c = {"name": "app", "image": "x", "resources": {"limits": {"cpu": "200m"}}}
    assert hpa_replicas.calculate_pod_requests([pod("web-0", containers=[c])], "", "cpu") == {"web-0": 200}


def test_container_metrics_sum_over_the_pod_or_one_container() -> None:
    containers = [
        {"name": "app", "image": "x", "resources": {"requests": {"cpu": "100m"}}},
        {"name": "side", "image": "x", "resources": {"requests": {"cpu": "100m"}}},
    ]
    p = pod("web-0", containers=containers)
    recs = [usage("web-0", cpu_m=150, container="app"), usage("web-0", cpu_m=10, container="side")]
    assert hpa_replicas.resource_replicas(1, 50, "cpu", pods=[p], usage=recs, now=NOW) == (2, 80, 160)
    assert hpa_replicas.resource_replicas(1, 50, "cpu", pods=[p], usage=recs, now=NOW, container="app") == (3, 150, 150)
    with pytest.raises(MetricError, match="container db not present in metrics for pod shop/web-0"):
        hpa_replicas.resource_replicas(1, 50, "cpu", pods=[p], usage=recs, now=NOW, container="db")


def test_average_value_targets() -> None:
    pods = [pod("web-0"), pod("web-1")]
    recs = [usage("web-0", mem_mi=90), usage("web-1", mem_mi=110)]
    replicas, avg = hpa_replicas.raw_resource_replicas(
        2, hpa_model.milli_value("50Mi"), "memory", pods=pods, usage=recs, now=NOW
    )
    assert replicas == 4  # 100Mi each on average against 50Mi
    assert hpa_model.milli_quantity(avg) == "104857600"


# ---- min/max without behavior ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("current", "desired", "lo", "hi", "expected"),
    [
        (3, 4, 1, 10, (4, "DesiredWithinRange", "the desired count is within the acceptable range")),
        (
            3,
            12,
            1,
            10,
            (6, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"),
        ),
        (
            1,
            20,
            1,
            10,
            (4, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"),
        ),
        (3, 12, 1, 5, (5, "TooManyReplicas", "the desired replica count is more than the maximum replica count")),
        (3, 0, 2, 10, (2, "TooFewReplicas", "the desired replica count is less than the minimum replica count")),
    ],
)
def test_convert_desired_replicas_with_rules(
    current: int, desired: int, lo: int, hi: int, expected: tuple[int, str, str]
) -> None:
    assert hpa_behavior.convert_desired_replicas_with_rules(current, desired, lo, hi) == expected


# ---- behavior: rate policies and stabilisation ----------------------------------------------------------------------
UP_DEFAULT = {
    "selectPolicy": "Max",
    "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15},
        {"type": "Percent", "value": 100, "periodSeconds": 15},
    ],
}


@pytest.mark.parametrize(
    ("current", "rules", "up_events", "expected"),
    [
        (1, UP_DEFAULT, [], 5),  # max(1+4, 1*2)
        (10, UP_DEFAULT, [], 20),  # max(14, 20)
        (10, {**UP_DEFAULT, "selectPolicy": "Min"}, [], 14),
        (10, {**UP_DEFAULT, "selectPolicy": "Disabled"}, [], 10),
        # 6 added 5 s ago: the period started at 4 -> max(8, 8)
        (10, UP_DEFAULT, [ScaleEvent(6, NOW - 5)], 8),
        # an event older than the period no longer counts
        (10, UP_DEFAULT, [ScaleEvent(6, NOW - 20)], 20),
        (3, {"policies": [{"type": "Percent", "value": 10, "periodSeconds": 60}]}, [], 4),  # ceil(3.3)
    ],
)
def test_scale_up_limit_with_policies(
    current: int, rules: dict[str, Any], up_events: list[ScaleEvent], expected: int
) -> None:
    assert hpa_behavior.calculate_scale_up_limit_with_scaling_rules(current, up_events, [], rules, NOW) == expected


@pytest.mark.parametrize(
    ("current", "rules", "down_events", "expected"),
    [
        (10, {"policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}, [], 0),
        (10, {"policies": [{"type": "Percent", "value": 50, "periodSeconds": 15}]}, [], 5),
        (7, {"policies": [{"type": "Percent", "value": 50, "periodSeconds": 15}]}, [], 3),  # int(3.5)
        (
            10,
            {
                "selectPolicy": "Max",
                "policies": [
                    {"type": "Pods", "value": 2, "periodSeconds": 60},
                    {"type": "Percent", "value": 50, "periodSeconds": 60},
                ],
            },
            [],
            5,
        ),
        (
            10,
            {
                "selectPolicy": "Min",
                "policies": [
                    {"type": "Pods", "value": 2, "periodSeconds": 60},
                    {"type": "Percent", "value": 50, "periodSeconds": 60},
                ],
            },
            [],
            8,
        ),
        # 2 removed 30 s ago within a 60 s period: it started at 12 -> 12 - 2
        (10, {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}, [ScaleEvent(2, NOW - 30)], 10),
        (10, {"selectPolicy": "Disabled", "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}, [], 10),
    ],
)
def test_scale_down_limit_with_policies(
    current: int, rules: dict[str, Any], down_events: list[ScaleEvent], expected: int
) -> None:
    assert hpa_behavior.calculate_scale_down_limit_with_behaviors(current, [], down_events, rules, NOW) == expected


@pytest.mark.parametrize(
    ("recs", "current", "desired", "windows", "expected"),
    [
        # scale down held at the highest recommendation of the window
        ([(8, NOW - 100), (6, NOW - 50)], 8, 3, (0, 300), (8, "ScaleDownStabilized")),
        ([(8, NOW - 100), (6, NOW - 50)], 8, 3, (0, 60), (6, "ScaleDownStabilized")),
        ([(8, NOW - 100), (6, NOW - 50)], 8, 3, (0, 0), (3, "ScaleDownStabilized")),
        # scale up held at the lowest recommendation of its window
        ([(2, NOW - 100), (5, NOW - 50)], 2, 9, (120, 300), (2, "ScaleUpStabilized")),
        ([(2, NOW - 100), (5, NOW - 50)], 2, 9, (60, 300), (5, "ScaleUpStabilized")),
        ([(2, NOW - 100), (5, NOW - 50)], 2, 9, (0, 300), (9, "ScaleUpStabilized")),
    ],
)
def test_stabilization_windows(
    recs: list[tuple[int, float]], current: int, desired: int, windows: tuple[float, float], expected: tuple[int, str]
) -> None:
    memory = Memory(recommendations=list(recs))
    got = hpa_behavior.stabilize_recommendation_with_behaviors(
        memory, current, desired, up_window=windows[0], down_window=windows[1], now=NOW
    )
    assert got[:2] == expected
    assert (desired, NOW) in memory.recommendations


def test_stabilization_without_behavior_keeps_the_highest_of_five_minutes() -> None:
    memory = Memory(recommendations=[(5, NOW - 400), (4, NOW - 100)])
    assert hpa_behavior.stabilize_recommendation(memory, 2, NOW, 300) == 4
    assert memory.recommendations == [(2, NOW), (4, NOW - 100)]  # the stale sample is replaced


def test_scale_events_are_kept_per_direction_and_reused_when_outdated() -> None:
    behavior = hpa_behavior.effective_behavior({})
    memory = Memory()
    hpa_behavior.store_scale_event(memory, behavior, 1, 5, NOW - 100)
    hpa_behavior.store_scale_event(memory, behavior, 5, 7, NOW)
    assert [e.change for e in memory.scale_up_events] == [2]  # the first one aged out of 15 s and was replaced
    hpa_behavior.store_scale_event(memory, behavior, 7, 3, NOW)
    assert [e.change for e in memory.scale_down_events] == [4]
    hpa_behavior.store_scale_event(memory, None, 3, 9, NOW)  # without behavior nothing is kept
    assert [e.change for e in memory.scale_up_events] == [2]


# ---- whole syncs: status, conditions, events ------------------------------------------------------------------------
def hpa_obj(metrics: list[Any], *, lo: int = 1, hi: int = 10, behavior: Any = None, status: Any = None) -> Any:
    spec: dict[str, Any] = {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": lo,
        "maxReplicas": hi,
        "metrics": metrics,
    }
    if behavior is not None:
        spec["behavior"] = behavior
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "namespace": "shop", "generation": 1},
        "spec": spec,
        "status": status or {"currentMetrics": None, "desiredReplicas": 0},
    }


class Writer:
    def __init__(self, fail: str = "") -> None:
        self.calls: list[int] = []
        self.fail = fail

    def __call__(self, n: int) -> None:
        self.calls.append(n)
        if self.fail:
            raise hpa_model.ScaleUpdateError(self.fail)


def run(hpa: Any, replicas: int, pods: list[Any], recs: list[ContainerUsage], *, memory: Memory | None = None,
        now: float = NOW, writer: Writer | None = None, scale: Any = None) -> tuple[Result, Writer]:  # fmt: skip
    writer = writer or Writer()
    scale = scale if scale is not None else Scale(replicas, replicas, "app=web")
    result = hpa_sync.sync(hpa, scale, pods=pods, usage=recs, memory=memory or Memory(), now=now, update_scale=writer)
    return result, writer


def conds(status: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {c["type"]: (c["status"], c["reason"], c["message"]) for c in status.get("conditions") or []}


def test_scale_out_on_cpu() -> None:
    result, writer = run(hpa_obj([cpu_util(50)]), 1, [pod("web-0")], [usage("web-0", cpu_m=200)])
    assert writer.calls == [4]
    assert result.events == [
        Event(
            "Normal",
            "SuccessfulRescale",
            "New size: 4; reason: cpu resource utilization (percentage of request) above target",
        )
    ]
    st = result.status
    assert st["currentReplicas"] == 1 and st["desiredReplicas"] == 4
    assert st["lastScaleTime"] == hpa_model.rfc3339(NOW) and st["observedGeneration"] == 1
    assert st["currentMetrics"] == [
        {
            "type": "Resource",
            "resource": {"name": "cpu", "current": {"averageValue": "200m", "averageUtilization": 200}},
        }
    ]
    assert conds(st) == {
        "AbleToScale": ("True", "SucceededRescale", "the HPA controller was able to update the target scale to 4"),
        "ScalingActive": (
            "True",
            "ValidMetricFound",
            "the HPA was able to successfully calculate a replica count from cpu resource utilization "
            "(percentage of request)",
        ),
        "ScalingLimited": ("False", "DesiredWithinRange", "the desired count is within the acceptable range"),
    }


def test_scale_out_on_memory_and_the_highest_metric_wins() -> None:
    pods = [pod("web-0"), pod("web-1")]
    recs = [usage("web-0", cpu_m=60, mem_mi=64), usage("web-1", cpu_m=60, mem_mi=64)]
    result, writer = run(hpa_obj([cpu_util(50), mem_util(50)]), 2, pods, recs)
    assert writer.calls == [4]  # cpu wants ceil(1.2*2) = 3, memory ceil(2*2) = 4
    assert result.events[-1].message == (
        "New size: 4; reason: memory resource utilization (percentage of request) above target"
    )


def test_within_tolerance_nothing_happens() -> None:
    pods = [pod(f"web-{i}") for i in range(3)]
    result, writer = run(hpa_obj([cpu_util(50)]), 3, pods, [usage(f"web-{i}", cpu_m=54) for i in range(3)])
    assert writer.calls == [] and result.events == [] and result.rescaled_to is None
    assert result.status["desiredReplicas"] == 3
    assert conds(result.status)["AbleToScale"] == ("True", "ReadyForNewScale", "recommended size matches current size")


def test_max_replicas_limit() -> None:
    result, writer = run(hpa_obj([cpu_util(50)], hi=3), 2, [pod("web-0"), pod("web-1")],
                         [usage("web-0", cpu_m=200), usage("web-1", cpu_m=200)])  # fmt: skip
    assert writer.calls == [3]
    assert conds(result.status)["ScalingLimited"] == (
        "True",
        "TooManyReplicas",
        "the desired replica count is more than the maximum replica count",
    )


def test_scale_down_waits_for_the_default_five_minute_window() -> None:
    memory = Memory()
    pods = [pod(f"web-{i}") for i in range(4)]
    recs = [usage(f"web-{i}", cpu_m=5) for i in range(4)]
    result, writer = run(hpa_obj([cpu_util(50)], lo=2), 4, pods, recs, memory=memory)
    assert writer.calls == []
    assert conds(result.status)["AbleToScale"] == (
        "True",
        "ScaleDownStabilized",
        "recent recommendations were higher than current one, applying the highest recent recommendation",
    )
    result, writer = run(hpa_obj([cpu_util(50)], lo=2), 4, pods, recs, memory=memory, now=NOW + 301)
    assert writer.calls == [2]
    assert result.events == [Event("Normal", "SuccessfulRescale", "New size: 2; reason: All metrics below target")]
    assert conds(result.status)["ScalingLimited"] == (
        "True",
        "TooFewReplicas",
        "the desired replica count is less than the minimum replica count",
    )


def test_behavior_shortens_the_scale_down_window_and_limits_its_rate() -> None:
    behavior = {
        "scaleDown": {"stabilizationWindowSeconds": 0, "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}
    }
    from kubesim.convert_hpa import default_v2

    hpa = hpa_obj([cpu_util(50)], behavior=behavior)
    default_v2(hpa)
    memory = Memory()
    pods = [pod(f"web-{i}") for i in range(4)]
    recs = [usage(f"web-{i}", cpu_m=5) for i in range(4)]
    result, writer = run(hpa, 4, pods, recs, memory=memory)
    assert writer.calls == [3]  # one pod per minute
    assert conds(result.status)["ScalingLimited"] == (
        "True",
        "ScaleDownLimit",
        "the desired replica count is decreasing faster than the maximum scale rate",
    )
    result, writer = run(hpa, 3, pods[:3], recs[:3], memory=memory, now=NOW + 15)
    assert writer.calls == []  # the minute is not over
    result, writer = run(hpa, 3, pods[:3], recs[:3], memory=memory, now=NOW + 61)
    assert writer.calls == [2]


def test_behavior_scale_up_rate() -> None:
    from kubesim.convert_hpa import default_v2

    hpa = hpa_obj([cpu_util(10)], hi=100, behavior={})
    default_v2(hpa)
    result, writer = run(hpa, 2, [pod("web-0"), pod("web-1")], [usage("web-0", cpu_m=100), usage("web-1", cpu_m=100)])
    assert writer.calls == [6]  # max(2+4, 2*2)
    assert conds(result.status)["ScalingLimited"][1] == "ScaleUpLimit"


def test_no_metrics_at_all() -> None:
    old = {"currentMetrics": None, "desiredReplicas": 0}
    result, writer = run(hpa_obj([cpu_util(50)], status=old), 1, [pod("web-0")], [])
    assert writer.calls == []
    err = (
        "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource "
        "metrics API"
    )
    assert result.events == [
        Event("Warning", "FailedGetResourceMetric", err),
        Event(
            "Warning",
            "FailedComputeMetricsReplicas",
            f"invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: {err}",
        ),
    ]
    st = result.status
    assert st["currentMetrics"] == [{"type": ""}]
    assert st["currentReplicas"] == 1 and st["desiredReplicas"] == 0
    assert "lastScaleTime" not in st
    assert conds(st) == {
        "AbleToScale": ("True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
        "ScalingActive": (
            "False",
            "FailedGetResourceMetric",
            f"the HPA was unable to compute the replica count: {err}",
        ),
    }


def test_a_target_without_requests() -> None:
    result, _ = run(hpa_obj([cpu_util(50)]), 1, [pod("web-0", cpu=None)], [usage("web-0", cpu_m=50)])
    assert result.events[0] == Event(
        "Warning",
        "FailedGetResourceMetric",
        "failed to get cpu utilization: missing request for cpu in container app of Pod web-0",
    )
    assert conds(result.status)["ScalingActive"] == (
        "False",
        "FailedGetResourceMetric",
        "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in "
        "container app of Pod web-0",
    )


def test_one_failed_metric_does_not_stop_a_scale_up() -> None:
    pods = [pod("web-0", memory=None)]
    result, writer = run(hpa_obj([mem_util(50), cpu_util(50)]), 1, pods, [usage("web-0", cpu_m=200, mem_mi=10)])
    assert writer.calls == [4]
    assert [e.reason for e in result.events] == ["FailedGetResourceMetric", "SuccessfulRescale"]
    assert result.status["currentMetrics"][0] == {"type": ""}
    assert conds(result.status)["ScalingActive"][1] == "ValidMetricFound"


def test_one_failed_metric_stops_a_scale_down() -> None:
    pods = [pod("web-0", memory=None), pod("web-1", memory=None)]
    recs = [usage("web-0", cpu_m=5), usage("web-1", cpu_m=5)]
    result, writer = run(hpa_obj([mem_util(50), cpu_util(50)]), 2, pods, recs)
    assert writer.calls == []
    assert [e.reason for e in result.events] == ["FailedGetResourceMetric", "FailedComputeMetricsReplicas"]
    assert conds(result.status)["ScalingActive"][:2] == ("False", "FailedGetResourceMetric")


@pytest.mark.parametrize(
    ("bounds", "scaled", "event", "condition"),
    [
        (
            (0, 1, 5),
            [],
            None,
            (
                "ScalingActive",
                "False",
                "ScalingDisabled",
                "scaling is disabled since the replica count of the target is zero",
            ),
        ),
        ((7, 1, 5), [5], "New size: 5; reason: Current number of replicas above Spec.MaxReplicas", None),
        ((1, 2, 5), [2], "New size: 2; reason: Current number of replicas below Spec.MinReplicas", None),
    ],
)
def test_replicas_outside_the_range(
    bounds: tuple[int, int, int], scaled: list[int], event: str | None, condition: tuple[str, ...] | None
) -> None:
    replicas, lo, hi = bounds
    result, writer = run(hpa_obj([cpu_util(50)], lo=lo, hi=hi), replicas, [], [])
    assert writer.calls == scaled
    assert [e.message for e in result.events] == ([event] if event else [])
    if condition:
        assert conds(result.status)[condition[0]] == condition[1:]


def test_failed_get_scale() -> None:
    result, _ = run(hpa_obj([cpu_util(50)]), 1, [], [], scale='deployments.apps "web" not found')
    assert result.events == [Event("Warning", "FailedGetScale", 'deployments.apps "web" not found')]
    assert conds(result.status) == {
        "AbleToScale": (
            "False",
            "FailedGetScale",
            'the HPA controller was unable to get the target\'s current scale: deployments.apps "web" not found',
        )
    }


def test_failed_rescale() -> None:
    result, _ = run(hpa_obj([cpu_util(50)]), 1, [pod("web-0")], [usage("web-0", cpu_m=200)], writer=Writer("boom"))
    assert result.events[-1] == Event(
        "Warning",
        "FailedRescale",
        "New size: 4; reason: cpu resource utilization (percentage of request) above target; error: boom",
    )
    assert conds(result.status)["AbleToScale"] == (
        "False",
        "FailedUpdateScale",
        "the HPA controller was unable to update the target scale: boom",
    )
    assert result.status["desiredReplicas"] == 0


def test_missing_selector() -> None:
    result, _ = run(hpa_obj([cpu_util(50)]), 1, [], [], scale=Scale(1, 1, ""))
    assert result.events[0] == Event("Warning", "SelectorRequired", "selector is required")
    assert conds(result.status)["ScalingActive"] == (
        "False",
        "InvalidSelector",
        "the HPA target's scale is missing a selector",
    )


def test_custom_metrics_are_not_served() -> None:
    pods_metric = {
        "type": "Pods",
        "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "10"}},
    }
    result, _ = run(hpa_obj([pods_metric]), 1, [pod("web-0")], [])
    assert result.events[0].reason == "FailedGetPodsMetric"
    assert result.events[0].message == (
        "unable to get metric rps: unable to fetch metrics from custom metrics API: no custom metrics API "
        "(custom.metrics.k8s.io) registered"
    )


def test_conditions_keep_their_transition_time_while_their_status_holds() -> None:
    memory = Memory()
    first, _ = run(hpa_obj([cpu_util(50)]), 1, [pod("web-0")], [], memory=memory)
    hpa = hpa_obj([cpu_util(50)], status=first.status)
    second, _ = run(hpa, 1, [pod("web-0")], [], memory=memory, now=NOW + 15)
    assert second.status == first.status


# ---- the controller against an in-process registry ------------------------------------------------------------------
class FakeCluster:
    def __init__(self) -> None:
        self.registry = Registry(Store(None))
        self.usage: FakeUsage | None = None


def test_the_controller_scales_the_deployment_through_its_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    assert hpa_controller.HorizontalPodAutoscalerController.sync_period_s == 15.0
    cluster = FakeCluster()
    reg = cluster.registry
    reg.create(resources.get("", "v1", "namespaces"), "", {"metadata": {"name": "shop"}})
    deploy = resources.get("apps", "v1", "deployments")
    reg.create(
        deploy,
        "shop",
        {
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "x"}]},
                },
            },
        },
    )
    p = pod("web-0")
    p["metadata"]["labels"] = {"app": "web"}
    reg.store.put("pods", p)
    reg.create(HPAS, "shop", hpa_obj([cpu_util(50)]))
    ctl = hpa_controller.HorizontalPodAutoscalerController(cluster)
    reg.store.subscribe(ctl.on_change)
    cluster.usage = FakeUsage([usage("web-0", cpu_m=200, ago=0)])
    monkeypatch.setattr(time, "time", lambda: NOW + 1)
    ctl.reconcile("shop", "web")
    assert reg.get(deploy, "shop", "web")["spec"]["replicas"] == 4
    stored = reg.get(HPAS, "shop", "web")
    assert stored["status"]["desiredReplicas"] == 4
    assert stored["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 200
    events = [e for e in reg.store.scan("events", "shop") if e["involvedObject"]["kind"] == "HorizontalPodAutoscaler"]
    assert [(e["reason"], e["source"]["component"]) for e in events] == [
        ("SuccessfulRescale", "horizontal-pod-autoscaler")
    ]
    # a change to the HPA does not bring its next sync forward: syncs are 15 s apart
    ctl._due.clear()
    reg.patch(HPAS, "shop", "web", "application/merge-patch+json", {"spec": {"maxReplicas": 9}})
    assert list(ctl._due) == [("shop", "web")]
    assert ctl._due[("shop", "web")] > time.monotonic() + 14
    reg.delete(HPAS, "shop", "web")
    assert not ctl._due and not ctl.memory


def test_the_cluster_runs_the_controller(tmp_path: Any) -> None:
    from kubesim.cluster import Cluster

    async def build() -> Cluster:
        return Cluster(tmp_path)

    cluster = asyncio.run(build())
    try:
        assert any(isinstance(c, hpa_controller.HorizontalPodAutoscalerController) for c in cluster.controllers)
    finally:
        cluster.store.close()
