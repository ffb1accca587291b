"""The scheduler's fit by requests against node allocatable, and the resource quantities it counts."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim.controllers.kubelet import NodeUse, pod_requests, schedule
from kubesim.usage import Limits, bytes_of, format_cpu, format_memory, millicores


@pytest.mark.parametrize(
    ("text", "milli"), [("100m", 100), ("0.1", 100), ("1", 1000), ("1.5", 1500), ("250m", 250), ("1n", 1), (2, 2000)]
)
def test_cpu_quantities_in_millicores(text: Any, milli: int) -> None:
    assert millicores(text) == milli


@pytest.mark.parametrize(
    ("text", "nbytes"),
    [("64Mi", 64 * 2**20), ("1000Mi", 1048576000), ("1G", 10**9), ("128974848", 128974848), ("1.5Gi", 3 * 2**29)],
)
def test_memory_quantities_in_bytes(text: str, nbytes: int) -> None:
    assert bytes_of(text) == nbytes


@pytest.mark.parametrize("bad", ["", "abc", "10 Mi", "1Xi", "--1"])
def test_bad_quantities_say_what_a_quantity_looks_like(bad: str) -> None:
    with pytest.raises(ValueError, match="quantities must match"):
        bytes_of(bad)


def test_usage_is_written_as_metrics_server_writes_it() -> None:
    assert format_cpu(0.0123) == "12300000n"
    assert format_memory(10 * 2**20 + 5) == "10240Ki"


def test_a_limit_without_a_request_requests_the_limit() -> None:
    got = Limits.of({"resources": {"limits": {"cpu": "300m", "memory": "1000Mi"}}})
    assert got == Limits(cpu_limit_m=300, cpu_request_m=300, memory_limit=1048576000, memory_request=1048576000)
    assert Limits.of({}) == Limits()
    assert Limits.of({"resources": {"requests": {"cpu": "100m"}}}) == Limits(cpu_request_m=100)


def _node(name: str, cpu: str = "2", memory: str = "4Gi", pods: str = "110", **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name}},
        "spec": spec,
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": pods},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def _pod(cpu: str | None = None, memory: str | None = None, init: dict[str, str] | None = None) -> dict[str, Any]:
    req = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v}
    spec: dict[str, Any] = {"containers": [{"name": "c", "image": "x", "resources": {"requests": req}}]}
    if init:
        spec["initContainers"] = [{"name": "i", "image": "x", "resources": {"requests": init}}]
    return {"metadata": {"name": "p", "namespace": "ns"}, "spec": spec}


def test_requests_sum_containers_and_take_the_largest_init_container() -> None:
    pod = _pod("100m", "100Mi")
    pod["spec"]["containers"].append({"name": "d", "image": "x", "resources": {"requests": {"cpu": "200m"}}})
    assert pod_requests(pod) == (300, 100 * 2**20)
    assert pod_requests(_pod("100m", "100Mi", init={"cpu": "1", "memory": "10Mi"})) == (1000, 100 * 2**20)


TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("pod", "used", "message"),
    [
        (
            _pod("1500m"),
            NodeUse(pods=3, cpu_m=600, memory=0),
            "0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint "
            "{node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: "
            "1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
        ),
        (
            _pod(memory="5Gi"),
            NodeUse(),
            "0/2 nodes are available: 1 Insufficient memory, 1 node(s) had untolerated taint "
            "{node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: "
            "1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
        ),
        (
            _pod("3", "5Gi"),
            NodeUse(),
            "0/2 nodes are available: 1 Insufficient cpu, 1 Insufficient memory, 1 node(s) had untolerated taint "
            "{node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: "
            "1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
        ),
        (
            _pod(),
            NodeUse(pods=110),
            "0/2 nodes are available: 1 Too many pods, 1 node(s) had untolerated taint "
            "{node-role.kubernetes.io/control-plane: }. preemption: 0/2 nodes are available: "
            "1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.",
        ),
    ],
)
def test_a_pod_that_does_not_fit_gets_the_schedulers_message(pod: dict[str, Any], used: NodeUse, message: str) -> None:
    nodes = [_node("cp", taints=[TAINT]), _node("worker")]
    node, why = schedule(pod, nodes, {"worker": used})
    assert node is None
    assert why == message


def test_a_pod_fits_exactly_up_to_allocatable() -> None:
    nodes = [_node("worker", cpu="2", memory="1Gi")]
    node, why = schedule(_pod("1400m", "512Mi"), nodes, {"worker": NodeUse(pods=1, cpu_m=600, memory=512 * 2**20)})
    assert node is not None and why == ""
    node, _ = schedule(_pod("1401m"), nodes, {"worker": NodeUse(pods=1, cpu_m=600)})
    assert node is None


def test_the_node_with_most_cpu_left_wins() -> None:
    nodes = [_node("a"), _node("b")]
    node, _ = schedule(_pod("100m"), nodes, {"a": NodeUse(pods=1, cpu_m=900), "b": NodeUse(pods=1, cpu_m=300)})
    assert node is not None and node["metadata"]["name"] == "b"
