"""sockshop_state_tables: kubectl's layout of the API server's tables, and the regression check."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from ansible.module_utils import sockshop_state_tables as st

DEPLOYMENTS_TABLE = {
    "kind": "Table",
    "apiVersion": "meta.k8s.io/v1",
    "columnDefinitions": [
        {"name": "Name", "type": "string", "priority": 0},
        {"name": "Ready", "type": "string", "priority": 0},
        {"name": "Up-to-date", "type": "integer", "priority": 0},
        {"name": "Available", "type": "integer", "priority": 0},
        {"name": "Age", "type": "string", "priority": 0},
        {"name": "Containers", "type": "string", "priority": 1},
    ],
    "rows": [
        {"cells": ["payment", "1/1", 1, 1, "5m12s", "payment"]},
        {"cells": ["stripe-mock", "0/0", 0, 0, "5m12s", "stripe-mock"]},
    ],
}


def test_a_table_reads_as_kubectl_prints_it() -> None:
    table = st.table_of(DEPLOYMENTS_TABLE)
    assert table["columns"] == ["Name", "Ready", "Up-to-date", "Available", "Age"]  # not the -o wide column
    assert st.text(table) == (
        "NAME          READY   UP-TO-DATE   AVAILABLE   AGE\n"
        "payment       1/1     1            1           5m12s\n"
        "stripe-mock   0/0     0            0           5m12s"
    )
    assert st.text(st.only_rows(table, ["stripe-mock"])).splitlines()[1].startswith("stripe-mock   0/0")
    assert st.text({"columns": ["Name"], "rows": []}) == "No resources found."


@pytest.mark.parametrize(
    ("doc", "message"),
    [({"kind": "DeploymentList", "items": []}, "expected a meta.k8s.io Table, got kind 'DeploymentList'")],
)
def test_a_list_that_is_not_a_table_is_refused(doc: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        st.table_of(doc)


def deployment(name: str, replicas: int = 1, image: str = "img:1") -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [{"name": name, "image": image}]}}},
        "status": {"readyReplicas": replicas, "availableReplicas": replicas},
    }


def replicaset(name: str, deploy: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "ownerReferences": [{"kind": "Deployment", "name": deploy, "controller": True}]}}


def pod(name: str, rs: str, restarts: int = 0, ready: bool = True) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": True}]},
        "status": {"phase": "Running", "containerStatuses": [{"ready": ready, "restartCount": restarts}]},
    }


def shop() -> dict[str, list[dict[str, Any]]]:
    return {
        "deployments": [deployment("payment"), deployment("stripe-mock"), deployment("catalogue")],
        "replicasets": [replicaset("payment-a", "payment"), replicaset("stripe-mock-b", "stripe-mock"),
                        replicaset("catalogue-c", "catalogue")],
        "pods": [pod("payment-a-1", "payment-a"), pod("stripe-mock-b-1", "stripe-mock-b"),
                 pod("catalogue-c-1", "catalogue-c")],
    }  # fmt: skip


def state(change: Any = None) -> dict[str, Any]:
    raw = copy.deepcopy(shop())
    if change:
        change(raw)
    return st.view(raw["deployments"], raw["replicasets"], raw["pods"])


def _replace_gateway_pod(raw: dict[str, Any]) -> None:
    raw["pods"][1] = pod("stripe-mock-b-2", "stripe-mock-b")


def _old_gateway_pod_terminating(raw: dict[str, Any]) -> None:
    """After a rollout: the new pod ready, the old one still shutting down (and ready until it has)."""
    old = pod("stripe-mock-a-1", "stripe-mock-a")
    old["metadata"]["deletionTimestamp"] = "2026-12-08T01:14:50Z"
    raw["pods"][1:2] = [pod("stripe-mock-b-2", "stripe-mock-b"), old]


def _catalogue_pod_terminating(raw: dict[str, Any]) -> None:
    raw["pods"][2]["metadata"]["deletionTimestamp"] = "2026-12-08T01:14:50Z"


def _scale_catalogue(raw: dict[str, Any]) -> None:
    raw["deployments"][2] = deployment("catalogue", replicas=2)
    raw["pods"].append(pod("catalogue-c-2", "catalogue-c"))


CASES = [
    ("the same state", None, []),
    ("the faulted workload's pod replaced by the recovery", _replace_gateway_pod, []),
    ("the faulted workload's old pod still terminating after its rollout", _old_gateway_pod_terminating, []),
    (
        "a pod outside the fault terminating",
        _catalogue_pod_terminating,
        [("Pod/catalogue-c-1", "", "present", "replaced or gone")],
    ),
    (
        "an unrelated deployment scaled during the incident",
        _scale_catalogue,
        [
            ("Deployment/catalogue", "available", 1, 2),
            ("Deployment/catalogue", "ready", 1, 2),
            ("Deployment/catalogue", "replicas", 1, 2),
            ("Pod/catalogue-c-2", "", "absent", "present"),
        ],
    ),
    (
        "a restart outside the fault",
        lambda raw: raw["pods"].__setitem__(0, pod("payment-a-1", "payment-a", restarts=1)),
        [("Pod/payment-a-1", "restarts", 0, 1)],
    ),
    (
        "a changed image",
        lambda raw: raw["deployments"].__setitem__(0, deployment("payment", image="img:2")),
        [("Deployment/payment", "images", ["img:1"], ["img:2"])],
    ),
    (
        "a pod outside the fault replaced",
        lambda raw: raw["pods"].__setitem__(2, pod("catalogue-c-9", "catalogue-c")),
        [("Pod/catalogue-c-1", "", "present", "replaced or gone"), ("Pod/catalogue-c-9", "", "absent", "present")],
    ),
    (
        "the faulted workload not ready again",
        lambda raw: raw["pods"].__setitem__(1, pod("stripe-mock-b-2", "stripe-mock-b", ready=False)),
        [("pods of Deployment/stripe-mock", "ready", "1/1", "0/1")],
    ),
    (
        "a deleted deployment",
        lambda raw: raw["deployments"].pop(2),
        [("Deployment/catalogue", "", "present", "absent")],
    ),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in CASES], ids=[n for n, _, _ in CASES])
def test_the_regression_check_names_what_changed_outside_the_fault(change: Any, expected: list[tuple]) -> None:
    found = st.regressions(state(), state(change), faulted=["Deployment/stripe-mock"])
    assert [(d["object"], d["field"], d["before"], d["after"]) for d in found] == expected


def test_the_view_keeps_what_an_operator_compares() -> None:
    seen = state()
    assert seen["deployments"]["payment"] == {"replicas": 1, "ready": 1, "available": 1, "images": ["img:1"]}
    assert seen["pods"]["payment-a-1"] == {
        "workload": "Deployment/payment",
        "ready": "1/1",
        "phase": "Running",
        "restarts": 0,
    }
