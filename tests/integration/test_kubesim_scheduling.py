"""Scheduling onto nodes with real kubectl and the kubernetes client: nodeSelector and node affinity, taints and
tolerations (NoSchedule, NoExecute with tolerationSeconds), cordon, drain through the Eviction API, and
PodDisruptionBudgets refusing an eviction with the apiserver's 429.

These tests cordon, taint and add nodes, so they run on a cluster of their own (not the session's)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.integration.conftest import Cluster, running_cluster

pytestmark = pytest.mark.integration

CP, WORKER = "sockshop-control-plane", "sockshop-worker"
CP_TAINT = "{node-role.kubernetes.io/control-plane: }"
TOLERATE_CP = {"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}
VIOLATION = "Cannot evict pod as it would violate the pod's disruption budget."


@pytest.fixture(scope="module")
def sched(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("kubesim-sched")) as c:
        yield c


@pytest.fixture
def space(sched: Cluster) -> Iterator[str]:
    """A namespace whose pods are gone once the test ends (a bare pod left on a node would stop a later drain)."""
    name = sched.namespace("sched")
    yield name
    sched.json("DELETE", f"/api/v1/namespaces/{name}")
    sched.wait_for(lambda: not sched.json("GET", f"/api/v1/namespaces/{name}/pods")[1]["items"], timeout=20)


@pytest.fixture
def core(sched: Cluster) -> Iterator[Any]:
    api = sched.api_client()
    yield client.CoreV1Api(api)
    api.close()


def _pod(name: str, **spec: Any) -> str:
    body = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": "nginx"}], "terminationGracePeriodSeconds": 1, **spec},
    }
    return json.dumps(body)


def _get(c: Cluster, k: Path, ns: str, *args: str) -> Any:
    return json.loads(c.kubectl(k, "-n", ns, "get", *args, "-o", "json").stdout)


def _node_of(c: Cluster, k: Path, ns: str, pod: str) -> str:
    return str(c.wait_for(lambda: _get(c, k, ns, "pod", pod)["spec"].get("nodeName"), timeout=10))


def _events(c: Cluster, k: Path, ns: str, pod: str, reason: str) -> list[str]:
    doc = _get(c, k, ns, "events", "--field-selector", f"involvedObject.name={pod},reason={reason}")
    return [e["message"] for e in doc["items"]]


def _unschedulable_message(c: Cluster, k: Path, ns: str, pod: str) -> str:
    def cond() -> dict[str, Any] | None:
        status = _get(c, k, ns, "pod", pod).get("status") or {}
        return next((x for x in status.get("conditions") or [] if x["type"] == "PodScheduled"), None)

    got = c.wait_for(cond)
    assert (got["status"], got["reason"]) == ("False", "Unschedulable")
    assert _get(c, k, ns, "pod", pod)["status"]["phase"] == "Pending"
    assert c.wait_for(lambda: _events(c, k, ns, pod, "FailedScheduling")) == [got["message"]]
    return str(got["message"])


def test_node_selector_and_node_affinity_place_pods(sched: Cluster, space: str, kubectl_bin: Path) -> None:
    c, k, ns = sched, kubectl_bin, space
    c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("on-worker", nodeSelector={"kubernetes.io/hostname": WORKER}))
    c.kubectl(
        k,
        "-n",
        ns,
        "apply",
        "-f",
        "-",
        input=_pod("on-cp", nodeSelector={"kubernetes.io/hostname": CP}, tolerations=[TOLERATE_CP]),
    )
    not_worker = {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [
                {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "NotIn", "values": [WORKER]}]}
            ]
        }
    }
    affinity = {"nodeAffinity": not_worker}
    c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("not-worker", affinity=affinity, tolerations=[TOLERATE_CP]))
    by_name = {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [WORKER]}]}]
        }
    }
    c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("by-name", affinity={"nodeAffinity": by_name}))
    assert _node_of(c, k, ns, "on-worker") == WORKER
    assert _node_of(c, k, ns, "on-cp") == CP
    assert _node_of(c, k, ns, "not-worker") == CP
    assert _node_of(c, k, ns, "by-name") == WORKER
    scheduled = _events(c, k, ns, "on-cp", "Scheduled")
    assert scheduled == [f"Successfully assigned {ns}/on-cp to {CP}"]

    # No node carries disk=ssd: Pending, PodScheduled=False/Unschedulable, the scheduler's FailedScheduling text.
    c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("nowhere", nodeSelector={"disk": "ssd"}))
    assert _unschedulable_message(c, k, ns, "nowhere") == (
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        f"1 node(s) had untolerated taint {CP_TAINT}. preemption: 0/2 nodes are available: "
        "2 Preemption is not helpful for scheduling."
    )
    # Gt on a label that no node has a number in, and matchFields naming one node only (NodeAffinity's PreFilter).
    gt = {"key": "kubernetes.io/hostname", "operator": "Gt", "values": ["3"]}
    terms = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": [gt]}]}}
    c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("gt", affinity={"nodeAffinity": terms}))
    assert _unschedulable_message(c, k, ns, "gt") == (  # the taint filter runs before node affinity
        "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        f"1 node(s) had untolerated taint {CP_TAINT}. preemption: 0/2 nodes are available: "
        "2 Preemption is not helpful for scheduling."
    )
    pinned = {
        "requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [CP]}]}]
        }
    }
    c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("pinned", affinity={"nodeAffinity": pinned}))
    assert _unschedulable_message(c, k, ns, "pinned") == (
        f"0/2 nodes are available: 1 node(s) didn't satisfy plugin(s) [NodeAffinity], 1 node(s) had untolerated "
        f"taint {CP_TAINT}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
    )


def test_node_name_binds_without_the_scheduler(sched: Cluster, space: str, kubectl_bin: Path) -> None:
    c, k, ns = sched, kubectl_bin, space
    # spec.nodeName skips the scheduler: the control-plane taint (NoSchedule) does not keep it off.
    c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("direct", nodeName=CP))
    c.wait_for(lambda: _get(c, k, ns, "pod", "direct")["status"].get("phase") == "Running")
    assert _events(c, k, ns, "direct", "Scheduled") == []
    # A node that does not exist: no kubelet picks the pod up, it stays Pending with no IP.
    c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("ghost", nodeName="no-such-node"))
    time.sleep(1)
    pod = _get(c, k, ns, "pod", "ghost")
    assert pod["status"].get("phase") == "Pending"
    assert "podIP" not in pod["status"] and "containerStatuses" not in pod["status"]


def test_taints_keep_pods_off_and_evict_them(sched: Cluster, space: str, kubectl_bin: Path) -> None:
    c, k, ns = sched, kubectl_bin, space
    try:
        out = c.kubectl(k, "taint", "nodes", WORKER, "dedicated=gpu:NoSchedule")
        assert out.stdout.strip() == f"node/{WORKER} tainted"
        c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("plain"))
        assert _unschedulable_message(c, k, ns, "plain") == (
            "0/2 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}, 1 node(s) had untolerated "
            f"taint {CP_TAINT}. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling."
        )
        gpu = {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
        c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("tolerant", tolerations=[gpu]))
        assert _node_of(c, k, ns, "tolerant") == WORKER
        # The taint goes: the Pending pod is scheduled (the scheduler retries on node changes).
        c.kubectl(k, "taint", "nodes", WORKER, "dedicated=gpu:NoSchedule-")
        assert _node_of(c, k, ns, "plain") == WORKER
        for name in ("plain", "tolerant"):

            def running(name: str = name) -> bool:
                return bool(_get(c, k, ns, "pod", name)["status"].get("phase") == "Running")

            c.wait_for(running)

        # NoExecute: untolerating pods are evicted at once, tolerationSeconds delays it, no seconds means never.
        ne = {"key": "dedicated", "operator": "Exists", "effect": "NoExecute"}
        c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("forever", tolerations=[ne]))
        c.kubectl(k, "-n", ns, "apply", "-f", "-", input=_pod("for-2s", tolerations=[{**ne, "tolerationSeconds": 2}]))
        for name in ("forever", "for-2s"):
            assert _node_of(c, k, ns, name) == WORKER
        c.kubectl(k, "taint", "nodes", WORKER, "dedicated=gpu:NoExecute")
        started = time.monotonic()

        def names() -> set[str]:
            return {p["metadata"]["name"] for p in _get(c, k, ns, "pods")["items"]}

        c.wait_for(lambda: "plain" not in names() and "tolerant" not in names(), timeout=10)
        assert "for-2s" in names()
        assert _events(c, k, ns, "plain", "TaintManagerEviction") == [f"Marking for deletion Pod {ns}/plain"]
        c.wait_for(lambda: "for-2s" not in names(), timeout=10)
        assert time.monotonic() - started >= 1.5
        time.sleep(0.5)
        assert "forever" in names()
    finally:
        c.kubectl(k, "taint", "nodes", WORKER, "dedicated-", check=False)


NODE3 = "sockshop-worker3"


def test_cordon_and_drain_move_a_deployment(sched: Cluster, space: str, kubectl_bin: Path) -> None:
    c, k, ns = sched, kubectl_bin, space
    node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": NODE3}}
    try:
        # A Node created through the API is registered by the simulated kubelet and takes pods.
        c.kubectl(k, "apply", "-f", "-", input=json.dumps(node))
        ready = c.wait_for(lambda: "Ready" in c.kubectl(k, "get", "node", NODE3, "--no-headers").stdout.split()[1])
        assert ready
        third = json.loads(c.kubectl(k, "get", "node", NODE3, "-o", "json").stdout)
        assert third["metadata"]["labels"]["kubernetes.io/hostname"] == NODE3
        assert third["spec"]["podCIDR"].startswith("10.244.")

        out = c.kubectl(k, "cordon", NODE3)
        assert out.stdout.strip() == f"node/{NODE3} cordoned"
        row = c.kubectl(k, "get", "node", NODE3, "--no-headers").stdout.split()
        assert row[1] == "Ready,SchedulingDisabled"
        taints = c.wait_for(
            lambda: json.loads(c.kubectl(k, "get", "node", NODE3, "-o", "json").stdout)["spec"].get("taints")
        )
        assert [(t["key"], t["effect"]) for t in taints] == [("node.kubernetes.io/unschedulable", "NoSchedule")]

        c.kubectl(k, "-n", ns, "create", "deployment", "web", "--image=nginx", "--replicas=3")
        c.kubectl(k, "-n", ns, "rollout", "status", "deployment/web", "--timeout=20s")
        pods = _get(c, k, ns, "pods", "-l", "app=web")["items"]
        assert {p["spec"]["nodeName"] for p in pods} == {WORKER}

        c.kubectl(k, "uncordon", NODE3)
        assert "taints" not in json.loads(c.kubectl(k, "get", "node", NODE3, "-o", "json").stdout)["spec"]
        out = c.kubectl(k, "drain", WORKER, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=60s")
        lines = out.stdout.strip().splitlines()
        assert lines[0] == f"node/{WORKER} cordoned" and lines[-1] == f"node/{WORKER} drained"
        evicted = {line for line in lines if line.endswith(" evicted")}
        assert evicted == {f"pod/{p['metadata']['name']} evicted" for p in pods}

        def moved() -> bool:
            now = _get(c, k, ns, "pods", "-l", "app=web")["items"]
            return len(now) == 3 and all(
                p["spec"].get("nodeName") == NODE3 and p["status"].get("phase") == "Running" for p in now
            )

        c.wait_for(moved, timeout=20)
    finally:
        c.kubectl(k, "uncordon", WORKER, check=False)
        c.kubectl(k, "-n", ns, "delete", "deployment", "web", "--ignore-not-found", check=False)
        c.kubectl(k, "delete", "node", NODE3, "--ignore-not-found", check=False)


def test_a_disruption_budget_refuses_an_eviction(sched: Cluster, space: str, kubectl_bin: Path, core: Any) -> None:
    c, k, ns = sched, kubectl_bin, space
    c.kubectl(k, "-n", ns, "create", "deployment", "web", "--image=nginx", "--replicas=2")
    c.kubectl(k, "-n", ns, "rollout", "status", "deployment/web", "--timeout=20s")
    c.kubectl(k, "-n", ns, "create", "pdb", "web", "--selector=app=web", "--min-available=2")

    def status() -> dict[str, Any]:
        return dict(_get(c, k, ns, "pdb", "web").get("status") or {})

    got = c.wait_for(lambda: status().get("expectedPods") == 2 and status())
    assert (got["currentHealthy"], got["desiredHealthy"], got["disruptionsAllowed"]) == (2, 2, 0)
    assert [(x["type"], x["status"], x["reason"]) for x in got["conditions"]] == [
        ("DisruptionAllowed", "False", "InsufficientPods")
    ]
    rows = c.kubectl(k, "-n", ns, "get", "pdb", "web", "--no-headers").stdout.split()
    assert rows[:4] == ["web", "2", "N/A", "0"]

    pod = _get(c, k, ns, "pods", "-l", "app=web")["items"][0]["metadata"]["name"]
    eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name=pod, namespace=ns))
    with pytest.raises(ApiException) as refused:
        core.create_namespaced_pod_eviction(pod, ns, eviction)
    assert refused.value.status == 429
    body = json.loads(str(refused.value.body))
    assert (body["reason"], body["message"]) == ("TooManyRequests", VIOLATION)
    assert body["details"]["causes"] == [
        {"reason": "DisruptionBudget", "message": "The disruption budget web needs 2 healthy pods and has 2 currently"}
    ]
    out = c.kubectl(k, "drain", WORKER, "--pod-selector=app=web", "--timeout=3s", check=False)
    assert out.returncode != 0
    assert f'error when evicting pods/"{pod}" -n "{ns}" (will retry after 5s): {VIOLATION}' in out.stderr
    c.kubectl(k, "uncordon", WORKER)

    # One disruption allowed: the eviction deletes the pod and the ReplicaSet replaces it.
    c.kubectl(k, "-n", ns, "patch", "pdb", "web", "--type=merge", "-p", '{"spec":{"minAvailable":1}}')
    c.wait_for(lambda: status().get("disruptionsAllowed") == 1)
    body = {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": pod, "namespace": ns}}
    code, answer = c.json("POST", f"/api/v1/namespaces/{ns}/pods/{pod}/eviction", body)
    assert (code, answer["kind"], answer["status"]) == (201, "Status", "Success")

    def replaced() -> bool:
        now = [p["metadata"]["name"] for p in _get(c, k, ns, "pods", "-l", "app=web")["items"]]
        return pod not in now and len(now) == 2

    c.wait_for(replaced, timeout=15)
    c.wait_for(lambda: status().get("currentHealthy") == 2 and status().get("disruptionsAllowed") == 1)


def test_daemonset_pods_tolerate_a_cordon(sched: Cluster, space: str, kubectl_bin: Path) -> None:
    c, k, ns = sched, kubectl_bin, space
    ds = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "a", "image": "nginx"}]},
            },
        },
    }
    try:
        c.kubectl(k, "cordon", WORKER)
        c.kubectl(k, "-n", ns, "apply", "-f", "-", input=json.dumps(ds))
        pods = c.wait_for(lambda: _get(c, k, ns, "pods", "-l", "app=agent")["items"])
        # The control-plane taint is not tolerated; the cordon is (the DaemonSet controller's default tolerations).
        assert [p["spec"]["nodeName"] for p in pods] == [WORKER]
        keys = {(t["key"], t["effect"]) for t in pods[0]["spec"]["tolerations"]}
        assert {
            ("node.kubernetes.io/not-ready", "NoExecute"),
            ("node.kubernetes.io/unreachable", "NoExecute"),
            ("node.kubernetes.io/disk-pressure", "NoSchedule"),
            ("node.kubernetes.io/memory-pressure", "NoSchedule"),
            ("node.kubernetes.io/pid-pressure", "NoSchedule"),
            ("node.kubernetes.io/unschedulable", "NoSchedule"),
        } == keys
        out = c.kubectl(k, "drain", WORKER, "--ignore-daemonsets", "--timeout=20s")
        assert f"Warning: ignoring DaemonSet-managed Pods: {ns}/{pods[0]['metadata']['name']}" in out.stderr
        assert _get(c, k, ns, "pods", "-l", "app=agent")["items"][0]["metadata"]["name"] == pods[0]["metadata"]["name"]
    finally:
        c.kubectl(k, "uncordon", WORKER, check=False)
