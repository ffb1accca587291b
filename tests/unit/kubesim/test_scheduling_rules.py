"""The scheduler's rules as pure functions: tolerations, node selector terms, scoring, NoExecute delays, budgets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubesim.controllers.nodes import toleration_delay
from kubesim.disruption import budget_status
from kubesim.scheduling import NodeUse, add_daemonset_tolerations, schedule, term_matches, tolerates


def _node(name: str, labels: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": spec,
        "status": {
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def _pod(**spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": "p", "namespace": "ns"}, "spec": {"containers": [{"name": "c", "image": "x"}], **spec}}


TAINT = {"key": "k", "value": "v", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("toleration", "ok"),
    [
        ({"key": "k", "operator": "Equal", "value": "v", "effect": "NoSchedule"}, True),
        ({"key": "k", "value": "v"}, True),  # no operator is Equal, no effect matches every effect
        ({"key": "k", "operator": "Equal", "value": "w"}, False),
        ({"key": "k", "operator": "Exists"}, True),
        ({"key": "k", "operator": "Exists", "effect": "NoExecute"}, False),
        ({"operator": "Exists"}, True),  # empty key with Exists: every taint
        ({"operator": "Exists", "effect": "PreferNoSchedule"}, False),
        ({"key": "other", "operator": "Exists"}, False),
    ],
)
def test_a_toleration_matches_a_taint_as_upstream_does(toleration: dict[str, Any], ok: bool) -> None:
    assert tolerates(toleration, TAINT) is ok


@pytest.mark.parametrize(
    ("expression", "ok"),
    [
        ({"key": "zone", "operator": "In", "values": ["a", "b"]}, True),
        ({"key": "zone", "operator": "NotIn", "values": ["a"]}, False),
        ({"key": "absent", "operator": "NotIn", "values": ["a"]}, True),
        ({"key": "zone", "operator": "Exists"}, True),
        ({"key": "zone", "operator": "DoesNotExist"}, False),
        ({"key": "cores", "operator": "Gt", "values": ["4"]}, True),
        ({"key": "cores", "operator": "Lt", "values": ["4"]}, False),
        ({"key": "zone", "operator": "Gt", "values": ["4"]}, False),  # not a number
    ],
)
def test_node_selector_requirements(expression: dict[str, Any], ok: bool) -> None:
    node = _node("n1", {"zone": "a", "cores": "8"})
    assert term_matches({"matchExpressions": [expression]}, node) is ok


def test_match_fields_name_the_node_and_an_empty_term_matches_nothing() -> None:
    node = _node("n1")
    assert term_matches({"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n1"]}]}, node)
    assert not term_matches({"matchFields": [{"key": "metadata.name", "operator": "NotIn", "values": ["n1"]}]}, node)
    assert not term_matches({}, node)


def test_prefer_no_schedule_steers_but_does_not_forbid() -> None:
    avoid = {"key": "spot", "value": "", "effect": "PreferNoSchedule"}
    nodes = [_node("a", taints=[avoid]), _node("b")]
    node, _ = schedule(_pod(), nodes, {"a": NodeUse(), "b": NodeUse(pods=5, cpu_m=1500)})
    assert node is not None and node["metadata"]["name"] == "b"
    node, _ = schedule(_pod(), nodes[:1], {"a": NodeUse()})
    assert node is not None and node["metadata"]["name"] == "a"


def test_cordoned_node_is_unschedulable_unless_tolerated() -> None:
    nodes = [_node("a", unschedulable=True)]
    node, why = schedule(_pod(), nodes, {})
    assert node is None
    assert why == (
        "0/1 nodes are available: 1 node(s) were unschedulable. "
        "preemption: 0/1 nodes are available: 1 Preemption is not helpful for scheduling."
    )
    pod = _pod()
    add_daemonset_tolerations(pod["spec"])
    assert schedule(pod, nodes, {})[0] is not None


def test_reasons_are_sorted_with_their_counts() -> None:
    nodes = [_node(n, taints=[TAINT]) for n in ("a", "b")] + [_node("c", {"x": "y"})]
    _, why = schedule(_pod(nodeSelector={"x": "z"}), nodes, {})
    assert why.startswith(
        "0/3 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "2 node(s) had untolerated taint {k: v}."
    )


@pytest.mark.parametrize(
    ("tolerations", "delay"),
    [
        ([], 0.0),
        ([{"key": "k", "operator": "Exists", "effect": "NoExecute"}], None),
        ([{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 30}], 30.0),
        (
            [
                {"key": "k", "operator": "Exists", "tolerationSeconds": 30},
                {"operator": "Exists", "tolerationSeconds": 5},
            ],
            30.0,
        ),
        ([{"key": "k", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": -1}], 0.0),
    ],
)
def test_no_execute_delay(tolerations: list[dict[str, Any]], delay: float | None) -> None:
    taint = {"key": "k", "effect": "NoExecute"}
    assert toleration_delay(_pod(tolerations=tolerations), [taint]) == delay


class _Store:
    def __init__(self, **objects: dict[str, Any]) -> None:
        self.objects = objects

    def peek(self, key: str, ns: str, name: str) -> dict[str, Any] | None:
        return self.objects.get(f"{key}/{name}")


def _member(name: str, ready: bool = True, **meta: Any) -> dict[str, Any]:
    cond = [{"type": "Ready", "status": "True" if ready else "False"}]
    owner = [{"kind": "ReplicaSet", "name": "rs", "controller": True}]
    return {
        "metadata": {"name": name, "namespace": "ns", "labels": {"app": "w"}, "ownerReferences": owner, **meta},
        "status": {"conditions": cond},
    }


def test_budget_status_counts_healthy_pods_against_the_budget() -> None:
    rs = {"metadata": {"uid": "u1", "ownerReferences": []}, "spec": {"replicas": 3}}
    store = _Store(**{"apps/replicasets/rs": rs})
    pods = [_member("a"), _member("b"), _member("c", ready=False), {"metadata": {"name": "x", "labels": {}}}]
    pdb = {
        "metadata": {"name": "w", "generation": 2},
        "spec": {"selector": {"matchLabels": {"app": "w"}}, "maxUnavailable": 1},
    }
    got = budget_status(pdb, pods, store)
    assert (got["expectedPods"], got["currentHealthy"], got["desiredHealthy"], got["disruptionsAllowed"]) == (
        3,
        2,
        2,
        0,
    )
    assert got["observedGeneration"] == 2
    pdb["spec"] = {"selector": {"matchLabels": {"app": "w"}}, "minAvailable": "50%"}
    got = budget_status(pdb, pods, store)
    assert (got["expectedPods"], got["desiredHealthy"], got["disruptionsAllowed"]) == (3, 2, 0)
    pdb["spec"] = {"selector": {"matchLabels": {"app": "w"}}, "minAvailable": 1}
    got = budget_status(pdb, pods, store)
    assert (got["expectedPods"], got["desiredHealthy"], got["disruptionsAllowed"]) == (3, 1, 1)
    assert got["conditions"][0]["reason"] == "SufficientPods"


def test_a_pod_an_eviction_took_is_not_healthy_until_the_entry_expires() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    pods = [_member("a"), _member("b")]
    pdb: dict[str, Any] = {
        "metadata": {"name": "w"},
        "spec": {"selector": {"matchLabels": {"app": "w"}}, "minAvailable": 1},
        "status": {"disruptedPods": {"a": now.isoformat().replace("+00:00", "Z")}},
    }
    got = budget_status(pdb, pods, _Store(), now=now + timedelta(seconds=10))
    assert (got["currentHealthy"], got["disruptionsAllowed"], got["disruptedPods"]) == (
        1,
        0,
        pdb["status"]["disruptedPods"],
    )
    got = budget_status(pdb, pods, _Store(), now=now + timedelta(minutes=3))
    assert (got["currentHealthy"], got["disruptionsAllowed"]) == (2, 1) and "disruptedPods" not in got
