"""autoscaling/v1 <-> autoscaling/v2 HorizontalPodAutoscalers, as the apiserver converts them: v1 is a view of the
stored v2 object, with what v1 cannot hold kept in the `autoscaling.alpha.kubernetes.io/*` annotations."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from kubesim import convert_hpa, errors, resources
from kubesim.convert_hpa import BEHAVIOR, CONDITIONS, CURRENT_METRICS, METRICS
from kubesim.registry import Registry
from kubesim.store import Store
from kubesim.tables import to_table

V1 = resources.get("autoscaling", "v1", "horizontalpodautoscalers")
V2 = resources.get("autoscaling", "v2", "horizontalpodautoscalers")
REF = {"kind": "Deployment", "name": "web", "apiVersion": "apps/v1"}


def util(name: str, pct: int) -> dict[str, Any]:
    return {
        "type": "Resource",
        "resource": {"name": name, "target": {"type": "Utilization", "averageUtilization": pct}},
    }


def v2(spec: dict[str, Any], status: dict[str, Any] | None = None, annotations: dict[str, str] | None = None) -> Any:
    meta: dict[str, Any] = {"name": "web", "namespace": "shop"}
    if annotations is not None:
        meta["annotations"] = annotations
    obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": meta}
    obj["spec"] = {"scaleTargetRef": REF, **spec}
    if status is not None:
        obj["status"] = status
    return obj


CONDS = [
    {
        "type": "AbleToScale",
        "status": "True",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
        "reason": "ReadyForNewScale",
        "message": "recommended size matches current size",
    },
    {
        "type": "ScalingActive",
        "status": "True",
        "lastTransitionTime": "2025-01-01T00:00:00Z",
        "reason": "ValidMetricFound",
        "message": "the HPA was able to successfully calculate a replica count from cpu resource utilization "
        "(percentage of request)",
    },
]

# Every kind of metric, the cpu Utilization one last: v1 -> v2 puts the annotation's metrics first, so this
# order survives a round trip unchanged.
EVERY_METRIC: list[dict[str, Any]] = [
    util("memory", 60),
    {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}},
    {
        "type": "ContainerResource",
        "containerResource": {
            "name": "cpu",
            "target": {"type": "Utilization", "averageUtilization": 70},
            "container": "app",
        },
    },
    {
        "type": "Pods",
        "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "10"}},
    },
    {
        "type": "Object",
        "object": {
            "describedObject": {"kind": "Ingress", "name": "main", "apiVersion": "networking.k8s.io/v1"},
            "target": {"type": "Value", "value": "2k"},
            "metric": {"name": "hits", "selector": {"matchLabels": {"a": "b"}}},
        },
    },
    {
        "type": "External",
        "external": {"metric": {"name": "queue"}, "target": {"type": "AverageValue", "averageValue": "30"}},
    },
    util("cpu", 50),
]
EVERY_STATUS: list[dict[str, Any]] = [
    {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "41Mi", "averageUtilization": 33}}},
    {"type": ""},
    {
        "type": "ContainerResource",
        "containerResource": {
            "name": "cpu",
            "container": "app",
            "current": {"averageValue": "80m", "averageUtilization": 80},
        },
    },
    {"type": "Pods", "pods": {"metric": {"name": "rps"}, "current": {"averageValue": "12"}}},
    {
        "type": "Object",
        "object": {
            "metric": {"name": "hits"},
            "current": {"value": "1500"},
            "describedObject": {"kind": "Ingress", "name": "main", "apiVersion": "networking.k8s.io/v1"},
        },
    },
    {"type": "External", "external": {"metric": {"name": "queue"}, "current": {"value": "0", "averageValue": "7"}}},
    {"type": "Resource", "resource": {"name": "cpu", "current": {"averageValue": "45m", "averageUtilization": 45}}},
]
BEHAVIOR_V2 = {
    "scaleUp": {
        "stabilizationWindowSeconds": 0,
        "selectPolicy": "Max",
        "policies": [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    },
    "scaleDown": {"selectPolicy": "Min", "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]},
}


# ---- round trips -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "obj",
    [
        v2(
            {"minReplicas": 1, "maxReplicas": 5, "metrics": [util("cpu", 50)]},
            {"currentMetrics": None, "desiredReplicas": 0},
        ),
        v2(
            {"minReplicas": 2, "maxReplicas": 9, "metrics": [util("cpu", 50)]},
            {"currentReplicas": 3, "desiredReplicas": 3, "currentMetrics": [EVERY_STATUS[-1]], "conditions": CONDS},
        ),
        v2(
            {"minReplicas": 1, "maxReplicas": 10, "metrics": EVERY_METRIC, "behavior": BEHAVIOR_V2},
            {
                "observedGeneration": 4,
                "lastScaleTime": "2025-01-01T00:01:00Z",
                "currentReplicas": 4,
                "desiredReplicas": 6,
                "currentMetrics": EVERY_STATUS,
                "conditions": CONDS,
            },
            annotations={"team": "shop"},
        ),
        v2({"maxReplicas": 3, "metrics": [util("memory", 80)]}, {"desiredReplicas": 0, "currentMetrics": None}),
    ],
    ids=["cpu-only", "cpu-with-status", "every-metric-behavior-status", "memory-only"],
)
def test_v2_to_v1_and_back_is_the_same_object(obj: dict[str, Any]) -> None:
    before = copy.deepcopy(obj)
    assert convert_hpa.v1_to_v2(convert_hpa.v2_to_v1(obj)) == obj
    assert obj == before  # the stored object is never touched


def test_v1_to_v2_and_back_keeps_a_v1_object() -> None:
    v1 = convert_hpa.v2_to_v1(
        v2(
            {"minReplicas": 1, "maxReplicas": 10, "metrics": EVERY_METRIC, "behavior": BEHAVIOR_V2},
            {"currentReplicas": 4, "desiredReplicas": 6, "currentMetrics": EVERY_STATUS, "conditions": CONDS},
        )
    )
    assert convert_hpa.v2_to_v1(convert_hpa.v1_to_v2(v1)) == v1


def test_v1_shape_of_a_cpu_hpa() -> None:
    obj = v2(
        {"minReplicas": 1, "maxReplicas": 5, "metrics": [util("cpu", 50)]},
        {"currentReplicas": 2, "desiredReplicas": 3, "currentMetrics": [EVERY_STATUS[-1]], "lastScaleTime": "T"},
    )
    v1 = convert_hpa.v2_to_v1(obj)
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"] == {
        "scaleTargetRef": REF,
        "minReplicas": 1,
        "maxReplicas": 5,
        "targetCPUUtilizationPercentage": 50,
    }
    assert v1["status"] == {
        "lastScaleTime": "T",
        "currentReplicas": 2,
        "desiredReplicas": 3,
        "currentCPUUtilizationPercentage": 45,
    }
    # the raw value is kept too, as upstream keeps every current metric
    assert json.loads(v1["metadata"]["annotations"][CURRENT_METRICS]) == [
        {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 45, "currentAverageValue": "45m"}}
    ]
    assert METRICS not in v1["metadata"]["annotations"]


def test_other_metrics_travel_in_v1_annotations_in_v1_shapes() -> None:
    v1 = convert_hpa.v2_to_v1(
        v2(
            {"maxReplicas": 10, "metrics": EVERY_METRIC, "behavior": BEHAVIOR_V2},
            {"desiredReplicas": 1, "currentMetrics": EVERY_STATUS[:1], "conditions": CONDS[:1]},
        )
    )
    annotations = v1["metadata"]["annotations"]
    # exactly as the apiserver writes them (encoding/json of autoscaling/v1 types: compact, struct field order)
    assert annotations[METRICS] == (
        '[{"type":"Resource","resource":{"name":"memory","targetAverageUtilization":60}},'
        '{"type":"Resource","resource":{"name":"memory","targetAverageValue":"100Mi"}},'
        '{"type":"ContainerResource","containerResource":{"name":"cpu","targetAverageUtilization":70,"container":"app"}},'
        '{"type":"Pods","pods":{"metricName":"rps","targetAverageValue":"10"}},'
        '{"type":"Object","object":{"target":{"kind":"Ingress","name":"main","apiVersion":"networking.k8s.io/v1"},'
        '"metricName":"hits","targetValue":"2k","selector":{"matchLabels":{"a":"b"}}}},'
        '{"type":"External","external":{"metricName":"queue","targetAverageValue":"30"}}]'
    )
    assert annotations[CURRENT_METRICS] == (
        '[{"type":"Resource","resource":{"name":"memory","currentAverageUtilization":33,"currentAverageValue":"41Mi"}}]'
    )
    assert annotations[CONDITIONS] == (
        '[{"type":"AbleToScale","status":"True","lastTransitionTime":"2025-01-01T00:00:00Z",'
        '"reason":"ReadyForNewScale","message":"recommended size matches current size"}]'
    )
    # the behavior is the internal type marshalled: Go's field names, nil pointers as null
    assert annotations[BEHAVIOR] == (
        '{"ScaleUp":{"StabilizationWindowSeconds":0,"SelectPolicy":"Max","Policies":[{"Type":"Pods","Value":4,'
        '"PeriodSeconds":15},{"Type":"Percent","Value":100,"PeriodSeconds":15}]},"ScaleDown":'
        '{"StabilizationWindowSeconds":null,"SelectPolicy":"Min","Policies":[{"Type":"Pods","Value":1,"PeriodSeconds":60}]}}'
    )
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 50
    assert "currentCPUUtilizationPercentage" not in v1["status"]


@pytest.mark.parametrize(
    ("v1_spec", "v1_status", "annotations", "metrics", "current"),
    [
        # no target at all: v1's implicit default, made explicit
        ({"maxReplicas": 3}, None, {}, [util("cpu", 80)], None),
        ({"maxReplicas": 3, "targetCPUUtilizationPercentage": 50}, None, {}, [util("cpu", 50)], None),
        # the annotation's metrics come first, the cpu target after them
        (
            {"maxReplicas": 3, "targetCPUUtilizationPercentage": 50},
            None,
            {METRICS: '[{"type":"Resource","resource":{"name":"memory","targetAverageUtilization":60}}]'},
            [util("memory", 60), util("cpu", 50)],
            None,
        ),
        # only the annotation: no cpu metric is added
        (
            {"maxReplicas": 3},
            None,
            {METRICS: '[{"type":"Resource","resource":{"name":"memory","targetAverageValue":"1Gi"}}]'},
            [
                {
                    "type": "Resource",
                    "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "1Gi"}},
                }
            ],
            None,
        ),
        # the v1 percentage alone becomes a cpu status with the utilization only
        (
            {"maxReplicas": 3, "targetCPUUtilizationPercentage": 50},
            {"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 73},
            {},
            [util("cpu", 50)],
            [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 73}}}],
        ),
        # the annotation's current metrics win over the percentage
        (
            {"maxReplicas": 3, "targetCPUUtilizationPercentage": 50},
            {"currentReplicas": 1, "desiredReplicas": 1, "currentCPUUtilizationPercentage": 73},
            {
                CURRENT_METRICS: '[{"type":"Resource","resource":{"name":"cpu","currentAverageUtilization":73,'
                '"currentAverageValue":"73m"}}]'
            },
            [util("cpu", 50)],
            [
                {
                    "type": "Resource",
                    "resource": {"name": "cpu", "current": {"averageValue": "73m", "averageUtilization": 73}},
                }
            ],
        ),
    ],
    ids=["default-80", "target", "annotation-first", "annotation-only", "percentage", "annotation-wins"],
)
def test_v1_to_v2(
    v1_spec: dict[str, Any],
    v1_status: dict[str, Any] | None,
    annotations: dict[str, str],
    metrics: list[Any],
    current: list[Any] | None,
) -> None:
    v1: dict[str, Any] = {
        "apiVersion": "autoscaling/v1",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web", "annotations": {"team": "shop", **annotations}},
        "spec": {"scaleTargetRef": REF, **v1_spec},
    }
    if v1_status is not None:
        v1["status"] = v1_status
    out = convert_hpa.v1_to_v2(v1)
    assert out["apiVersion"] == "autoscaling/v2"
    assert out["spec"]["metrics"] == metrics
    assert out["metadata"]["annotations"] == {"team": "shop"}  # round-trip annotations never reach storage
    if v1_status is not None:
        assert out["status"]["currentMetrics"] == current
        assert out["status"]["currentReplicas"] == 1


def test_a_malformed_metrics_annotation_is_a_bad_request() -> None:
    v1 = {
        "metadata": {"name": "web", "annotations": {METRICS: "[{"}},
        "spec": {"scaleTargetRef": REF, "maxReplicas": 2},
    }
    with pytest.raises(errors.APIError) as exc:
        convert_hpa.v1_to_v2(v1)
    assert exc.value.code == 400


# ---- v2 defaulting -----------------------------------------------------------------------------------------------
def test_v2_defaulting() -> None:
    obj: dict[str, Any] = {
        "spec": {"scaleTargetRef": REF, "maxReplicas": 4, "behavior": {"scaleDown": {"stabilizationWindowSeconds": 30}}}
    }
    convert_hpa.default_v2(obj)
    assert obj["spec"]["minReplicas"] == 1
    assert obj["spec"]["metrics"] == [util("cpu", 80)]
    assert obj["spec"]["behavior"] == {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [
                {"type": "Pods", "value": 4, "periodSeconds": 15},
                {"type": "Percent", "value": 100, "periodSeconds": 15},
            ],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": 30,
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}],
        },
    }
    assert obj["status"] == {"currentMetrics": None, "desiredReplicas": 0}
    kept: dict[str, Any] = {"spec": {"minReplicas": 3, "maxReplicas": 4, "metrics": [util("memory", 50)]}}
    convert_hpa.default_v2(kept)
    assert kept["spec"]["minReplicas"] == 3 and kept["spec"]["metrics"] == [util("memory", 50)]
    assert "behavior" not in kept["spec"]  # no behavior stays no behavior (the controller's own defaults apply)


# ---- through the registry: one stored object, two versions --------------------------------------------------------
@pytest.fixture
def registry() -> Registry:
    reg = Registry(Store(None))
    reg.create(resources.get("", "v1", "namespaces"), "", {"metadata": {"name": "shop"}})
    return reg


V1_BODY: dict[str, Any] = {
    "apiVersion": "autoscaling/v1",
    "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "web"},
    "spec": {"scaleTargetRef": REF, "minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50},
}


def test_created_through_v1_stored_and_read_as_v2(registry: Registry) -> None:
    created = registry.create(V1, "shop", copy.deepcopy(V1_BODY), manager="kubectl")
    assert created["apiVersion"] == "autoscaling/v1"
    assert created["spec"]["targetCPUUtilizationPercentage"] == 50
    assert created["status"] == {"currentReplicas": 0, "desiredReplicas": 0}
    stored = registry.store.peek(V2.key, "shop", "web")
    assert stored is not None and stored["apiVersion"] == "autoscaling/v2"
    as_v2 = registry.get(V2, "shop", "web")
    assert as_v2["spec"]["metrics"] == [util("cpu", 50)]
    assert as_v2["status"] == {"currentMetrics": None, "desiredReplicas": 0}
    assert "annotations" not in as_v2["metadata"]


def test_written_through_v2_read_through_v1(registry: Registry) -> None:
    registry.create(V1, "shop", copy.deepcopy(V1_BODY))
    obj = registry.get(V2, "shop", "web")
    obj["spec"]["metrics"] = [util("memory", 60), util("cpu", 70)]
    registry.update(V2, "shop", "web", obj)
    status = registry.get(V2, "shop", "web")
    status["status"] = {
        "currentReplicas": 2,
        "desiredReplicas": 2,
        "currentMetrics": EVERY_STATUS[:1] + EVERY_STATUS[-1:],
    }
    registry.update(V2, "shop", "web", status, sub="status")
    v1 = registry.get(V1, "shop", "web")
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 70
    assert v1["status"]["currentCPUUtilizationPercentage"] == 45
    assert json.loads(v1["metadata"]["annotations"][METRICS]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageUtilization": 60}}
    ]
    # a v1 client that changes its target and puts the object back keeps the memory metric and the status
    v1["spec"]["targetCPUUtilizationPercentage"] = 40
    back = registry.update(V1, "shop", "web", v1)
    assert back["apiVersion"] == "autoscaling/v1" and back["spec"]["targetCPUUtilizationPercentage"] == 40
    stored = registry.get(V2, "shop", "web")
    assert stored["spec"]["metrics"] == [util("memory", 60), util("cpu", 40)]
    assert stored["status"]["currentMetrics"] == EVERY_STATUS[:1] + EVERY_STATUS[-1:]
    assert "annotations" not in stored["metadata"]


def test_patched_and_applied_through_v1(registry: Registry) -> None:
    registry.create(V1, "shop", copy.deepcopy(V1_BODY))
    patched = registry.patch(
        V1, "shop", "web", "application/strategic-merge-patch+json", {"spec": {"targetCPUUtilizationPercentage": 65}}
    )
    assert patched["apiVersion"] == "autoscaling/v1" and patched["spec"]["targetCPUUtilizationPercentage"] == 65
    assert registry.get(V2, "shop", "web")["spec"]["metrics"] == [util("cpu", 65)]
    applied = registry.patch(
        V1,
        "shop",
        "web",
        "application/apply-patch+yaml",
        {**copy.deepcopy(V1_BODY), "spec": {**V1_BODY["spec"], "maxReplicas": 8}},
        manager="kubectl",
        force=True,
    )
    assert applied["apiVersion"] == "autoscaling/v1" and applied["spec"]["maxReplicas"] == 8
    assert registry.get(V2, "shop", "web")["spec"]["maxReplicas"] == 8


def test_a_v2_body_sent_to_v1_is_refused(registry: Registry) -> None:
    body = {**copy.deepcopy(V1_BODY), "apiVersion": "autoscaling/v2"}
    with pytest.raises(errors.APIError) as exc:
        registry.create(V1, "shop", body)
    assert exc.value.code == 400
    assert "does not match the expected API version (autoscaling/v1)" in exc.value.message


def test_discovery_prefers_v2() -> None:
    assert resources.group_versions()["autoscaling"] == ["v2", "v1"]
    assert V1.key == V2.key


def test_v1_objects_print_every_metric() -> None:
    v1 = convert_hpa.v2_to_v1(
        v2(
            {"minReplicas": 1, "maxReplicas": 5, "metrics": [util("memory", 60), util("cpu", 50)]},
            {"currentReplicas": 1, "desiredReplicas": 1, "currentMetrics": EVERY_STATUS[:1] + EVERY_STATUS[-1:]},
        )
    )
    table = to_table("horizontalpodautoscalers", "autoscaling", [v1], now=__import__("datetime").datetime.now())
    assert table["rows"][0]["cells"][2] == "memory: 33%/60%, cpu: 45%/50%"
