"""sockshop_hpa: the HPA an hpa fault puts, the conflict rule, and the hpa signal's verdicts (table-driven)."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.module_utils import sockshop_hpa as hpa

FAULT = {
    "type": "hpa",
    "name": "front-end-hpa-broken",
    "workload": {"kind": "Deployment", "name": "front-end"},
    "min_replicas": 1,
    "max_replicas": 10,
    "metrics": [{"resource": "memory", "utilization": 80}],
    "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
}


def test_manifest_is_the_labs_broken_hpa() -> None:
    body = hpa.manifest(FAULT, namespace="sock-shop", incident_id="7")
    assert body == {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {
            "name": "front-end-hpa-broken",
            "namespace": "sock-shop",
            "labels": {
                "app.kubernetes.io/managed-by": "sockshop-incidents",
                "sockshop.io/incident": "7",
                "sockshop.io/role": "hpa",
            },
        },
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "front-end"},
            "minReplicas": 1,
            "maxReplicas": 10,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}},
                }
            ],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 300}},
        },
    }
    without = hpa.manifest(
        {k: v for k, v in FAULT.items() if k not in ("behavior", "min_replicas")}, namespace="n", incident_id="7"
    )
    assert "behavior" not in without["spec"] and without["spec"]["minReplicas"] == 1


def named(name: str, target: str) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": target}}}


@pytest.mark.parametrize(
    ("existing", "conflicts"),
    [
        ([], []),
        ([named("front-end-hpa-broken", "front-end")], []),  # the same HPA: replaced, not a second one
        ([named("carts", "carts")], []),
        ([named("fe-cpu", "front-end"), named("carts", "carts"), named("a-fe", "front-end")], ["a-fe", "fe-cpu"]),
    ],
)
def test_conflicts_are_other_hpas_of_the_same_workload(existing: list[dict[str, Any]], conflicts: list[str]) -> None:
    assert hpa.conflicts(named("front-end-hpa-broken", "front-end"), existing) == conflicts


def status(memory: int | None = 31, current: int = 1, desired: int = 1, active: str = "True") -> dict[str, Any]:
    metrics = (
        [
            {
                "type": "Resource",
                "resource": {"name": "memory", "current": {"averageUtilization": memory, "averageValue": "93Mi"}},
            }
        ]
        if memory is not None
        else None
    )
    return {
        "spec": {
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}},
                }
            ]
        },
        "status": {
            "currentReplicas": current,
            "desiredReplicas": desired,
            "currentMetrics": metrics,
            "conditions": [{"type": "ScalingActive", "status": active, "reason": "ValidMetricFound"}],
        },
    }


BELOW = {"name": "fe", "resource": "memory", "current_utilization": {"op": "lt", "value": 50}}
FLAT = {"name": "fe", "current_replicas": {"op": "eq", "value": 1}, "desired_replicas": {"op": "eq", "value": 1}}
ACTIVE = {"name": "fe", "condition": {"type": "ScalingActive", "status": "True", "reason": "ValidMetricFound"}}


@pytest.mark.parametrize(
    ("check", "hpa_state", "holds", "evidence"),
    [
        (
            BELOW,
            status(),
            True,
            "fe: memory 31% of target 80%, replicas 1 (desired 1), ScalingActive=True (ValidMetricFound) "
            "(want current_utilization lt 50)",
        ),
        (BELOW, status(memory=85), False, "not holding: current_utilization 85 (want lt 50)"),
        (BELOW, status(memory=None), False, "memory <unknown> of target 80%"),
        (FLAT, status(), True, "(want current_replicas eq 1, desired_replicas eq 1)"),
        (FLAT, status(desired=4), False, "not holding: desired_replicas 4 (want eq 1)"),
        (ACTIVE, status(), True, "(want the condition)"),
        (ACTIVE, status(active="False"), False, "not holding: condition ScalingActive=True (ValidMetricFound) not set"),
        (FLAT, None, False, "no HorizontalPodAutoscaler fe"),
    ],
)
def test_judge_hpa(check: dict[str, Any], hpa_state: dict[str, Any] | None, holds: bool, evidence: str) -> None:
    verdict = hpa.judge_hpa(check, hpa_state)
    assert verdict[0] is holds and evidence in verdict[1], verdict


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"name": "fe", "replicas": 1}, r"unknown hpa check fields \['replicas'\]"),
        ({"name": "", "current_replicas": {"op": "eq", "value": 1}}, "check.name must name"),
        ({"name": "fe", "current_utilization": {"op": "lt", "value": 50}}, "check.resource must be one of cpu, memory"),
        (
            {"name": "fe", "resource": "memory", "current_utilization": {"op": "below", "value": 5}},
            r"check.current_utilization.op: unknown op 'below'",
        ),
        (
            {"name": "fe", "current_replicas": {"op": "eq", "value": True}},
            "check.current_replicas.value must be a number, not True",
        ),
        ({"name": "fe", "condition": {"type": "ScalingActive"}}, "check.condition must have type and status"),
    ],
)
def test_bad_checks_are_refused(check: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        hpa.judge_hpa(check, status())


def test_unobserved_until_the_controller_writes_a_condition() -> None:
    assert hpa.unobserved(None) and hpa.unobserved({"status": {}}) and not hpa.unobserved(status())
