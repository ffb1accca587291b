"""HorizontalPodAutoscalers on the embedded cluster, through real kubectl binaries and the kubernetes client:
autoscaling/v1 and v2 views of one object, `kubectl get hpa` / `describe hpa` text, an HPA without metrics, and
(slow) an HPA scaling a CPU-bound deployment out and back in."""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration

SYNC_S = 15  # the controller's sync period: the first sync comes 15 s after an HPA is created
PLACEHOLDER_IMAGE = "nginx:1.27"  # no local program: a placeholder container, never measured


def _rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


def _deployment(name: str, *, image: str, command: list[str] | None = None, cpu: str = "100m",
                cpu_limit: str | None = None, memory: str = "64Mi") -> dict[str, Any]:  # fmt: skip
    resources: dict[str, Any] = {"requests": {"cpu": cpu, "memory": memory}}
    if cpu_limit:
        resources["limits"] = {"cpu": cpu_limit}
    container: dict[str, Any] = {"name": "app", "image": image, "resources": resources}
    if command:
        container["command"] = command
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": labels},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
        },
    }


def _create(cluster: Cluster, path: str, body: dict[str, Any]) -> dict[str, Any]:
    status, obj = cluster.json("POST", path, body)
    assert status == 201, obj
    return obj


def _hpa(cluster: Cluster, ns: str, name: str, version: str = "v2") -> dict[str, Any]:
    status, obj = cluster.json("GET", f"/apis/autoscaling/{version}/namespaces/{ns}/horizontalpodautoscalers/{name}")
    assert status == 200, obj
    return obj


def _conditions(hpa: dict[str, Any]) -> dict[str, tuple[str, str, str]]:
    return {
        c["type"]: (c["status"], c["reason"], c["message"]) for c in (hpa.get("status") or {}).get("conditions") or []
    }


def _hpa_events(cluster: Cluster, ns: str, name: str) -> list[dict[str, Any]]:
    _, body = cluster.json(
        "GET",
        f"/api/v1/namespaces/{ns}/events?fieldSelector=involvedObject.kind=HorizontalPodAutoscaler,"
        f"involvedObject.name={name}",
    )
    return sorted(body["items"], key=lambda e: (e["firstTimestamp"], e["metadata"]["name"]))


def _replicas(cluster: Cluster, ns: str, name: str) -> int:
    _, d = cluster.json("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    return int(d["spec"]["replicas"])


# ---- one object, two versions ---------------------------------------------------------------------------------------
def test_created_through_v1_read_through_v2_and_back(cluster: Cluster, ns: str) -> None:
    from kubernetes import client

    api = cluster.api_client()
    v1: Any = client.AutoscalingV1Api(api)
    v2: Any = client.AutoscalingV2Api(api)
    ref = client.V1CrossVersionObjectReference(api_version="apps/v1", kind="Deployment", name="web")
    v1.create_namespaced_horizontal_pod_autoscaler(
        ns,
        client.V1HorizontalPodAutoscaler(
            metadata=client.V1ObjectMeta(name="web"),
            spec=client.V1HorizontalPodAutoscalerSpec(
                scale_target_ref=ref, max_replicas=5, target_cpu_utilization_percentage=50
            ),
        ),
    )
    got = v2.read_namespaced_horizontal_pod_autoscaler("web", ns)
    assert got.api_version == "autoscaling/v2"
    assert got.spec.min_replicas == 1  # defaulted
    assert [(m.type, m.resource.name, m.resource.target.type, m.resource.target.average_utilization)
            for m in got.spec.metrics] == [("Resource", "cpu", "Utilization", 50)]  # fmt: skip

    # v2 adds a memory metric and a behavior, which v1 cannot hold but keeps in its annotations
    got.spec.metrics.insert(
        0,
        client.V2MetricSpec(
            type="Resource",
            resource=client.V2ResourceMetricSource(
                name="memory", target=client.V2MetricTarget(type="Utilization", average_utilization=60)
            ),
        ),
    )
    got.spec.behavior = client.V2HorizontalPodAutoscalerBehavior(
        scale_down=client.V2HPAScalingRules(stabilization_window_seconds=30)
    )
    v2.replace_namespaced_horizontal_pod_autoscaler("web", ns, got)
    old = v1.read_namespaced_horizontal_pod_autoscaler("web", ns)
    assert old.api_version == "autoscaling/v1"
    assert old.spec.target_cpu_utilization_percentage == 50
    annotations = old.metadata.annotations
    assert annotations["autoscaling.alpha.kubernetes.io/metrics"] == (
        '[{"type":"Resource","resource":{"name":"memory","targetAverageUtilization":60}}]'
    )
    assert '"ScaleDown":{"StabilizationWindowSeconds":30,' in annotations["autoscaling.alpha.kubernetes.io/behavior"]

    # a v1 client changes its target: the memory metric and the behavior survive
    v1.patch_namespaced_horizontal_pod_autoscaler("web", ns, {"spec": {"targetCPUUtilizationPercentage": 70}})
    got = v2.read_namespaced_horizontal_pod_autoscaler("web", ns)
    assert [(m.resource.name, m.resource.target.average_utilization) for m in got.spec.metrics] == [
        ("memory", 60),
        ("cpu", 70),
    ]
    assert got.spec.behavior.scale_down.stabilization_window_seconds == 30
    assert not (got.metadata.annotations or {})  # the round-trip annotations never reach the stored object

    # lists (and watches) through v1 are converted item by item
    status, body = cluster.json("GET", f"/apis/autoscaling/v1/namespaces/{ns}/horizontalpodautoscalers")
    assert status == 200 and body["apiVersion"] == "autoscaling/v1"
    assert [i["spec"].get("targetCPUUtilizationPercentage") for i in body["items"]] == [70]
    assert all(i["apiVersion"] == "autoscaling/v1" for i in body["items"])

    # discovery: both versions, v2 preferred (what `kubectl get hpa` uses)
    _, group = cluster.json("GET", "/apis/autoscaling")
    assert group["preferredVersion"]["version"] == "v2"
    assert [v["version"] for v in group["versions"]] == ["v2", "v1"]


# ---- kubectl: autoscale, get, describe; an HPA whose pods have no metrics ------------------------------------------
def test_kubectl_get_and_describe_an_hpa_without_metrics(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    _create(cluster, f"/apis/apps/v1/namespaces/{ns}/deployments", _deployment("web", image=PLACEHOLDER_IMAGE))
    cluster.kubectl(k, "-n", ns, "rollout", "status", "deployment/web", "--timeout=20s")
    # kubectl 1.32 posts an autoscaling/v1 object (as protobuf), later ones autoscaling/v2
    out = cluster.kubectl(k, "-n", ns, "autoscale", "deployment", "web", "--min=1", "--max=3", "--cpu-percent=50")
    assert out.stdout.strip() == "horizontalpodautoscaler.autoscaling/web autoscaled"
    rows = _rows(cluster.kubectl(k, "-n", ns, "get", "hpa").stdout)
    assert rows[0] == ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"]
    assert rows[1][:6] == ["web", "Deployment/web", "cpu: <unknown>/50%", "1", "3", "0"]

    def failed() -> dict[str, Any] | None:
        hpa = _hpa(cluster, ns, "web")
        return hpa if "ScalingActive" in _conditions(hpa) else None

    hpa = cluster.wait_for(failed, timeout=SYNC_S + 10, interval=0.5)
    err = (
        "failed to get cpu utilization: unable to get metrics for resource cpu: no metrics returned from resource "
        "metrics API"
    )
    assert _conditions(hpa) == {
        "AbleToScale": ("True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"),
        "ScalingActive": (
            "False",
            "FailedGetResourceMetric",
            f"the HPA was unable to compute the replica count: {err}",
        ),
    }
    assert hpa["status"]["currentReplicas"] == 1 and hpa["status"]["desiredReplicas"] == 0
    assert hpa["status"]["currentMetrics"] == [{"type": ""}]
    assert _replicas(cluster, ns, "web") == 1

    rows = _rows(cluster.kubectl(k, "-n", ns, "get", "hpa", "web").stdout)
    assert rows[1][:6] == ["web", "Deployment/web", "cpu: <unknown>/50%", "1", "3", "1"]
    assert re.fullmatch(r"\d+s", rows[1][6])
    v1 = cluster.kubectl(
        k, "-n", ns, "get", "horizontalpodautoscalers.v1.autoscaling", "web", "-o", "jsonpath={.apiVersion} {.spec}"
    )
    assert v1.stdout.startswith("autoscaling/v1 ")
    assert '"targetCPUUtilizationPercentage":50' in v1.stdout

    described = cluster.kubectl(k, "-n", ns, "describe", "hpa", "web").stdout
    lines = [
        r"Name:\s+web",
        rf"Namespace:\s+{ns}",
        r"Reference:\s+Deployment/web",
        r"Metrics:\s+\( current / target \)",
        r"  resource cpu on pods  \(as a percentage of request\):\s+<unknown> / 50%",
        r"Min replicas:\s+1",
        r"Max replicas:\s+3",
        r"Deployment pods:\s+1 current / 0 desired",
        r"Conditions:",
        r"  Type\s+Status\s+Reason\s+Message",
        r"  AbleToScale\s+True\s+SucceededGetScale\s+the HPA controller was able to get the target's current scale",
        r"  ScalingActive\s+False\s+FailedGetResourceMetric\s+the HPA was unable to compute the replica count: "
        + re.escape(err),
        r"Events:",
        r"  Warning\s+FailedGetResourceMetric\s+\S+\s+horizontal-pod-autoscaler\s+" + re.escape(err),
        r"  Warning\s+FailedComputeMetricsReplicas\s+\S+\s+horizontal-pod-autoscaler\s+"
        + re.escape(
            f"invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: {err}"
        ),
    ]
    for line in lines:
        assert re.search(rf"^{line}$", described, re.M), f"{line!r} not in:\n{described}"


def test_an_hpa_on_a_target_that_does_not_exist(cluster: Cluster, ns: str) -> None:
    body = {
        "metadata": {"name": "ghost"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ghost"},
            "maxReplicas": 3,
        },
    }
    _create(cluster, f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers", body)

    def failed() -> dict[str, Any] | None:
        hpa = _hpa(cluster, ns, "ghost")
        return hpa if "AbleToScale" in _conditions(hpa) else None

    hpa = cluster.wait_for(failed, timeout=SYNC_S + 10, interval=0.5)
    assert _conditions(hpa)["AbleToScale"] == (
        "False",
        "FailedGetScale",
        'the HPA controller was unable to get the target\'s current scale: deployments.apps "ghost" not found',
    )
    assert [(e["type"], e["reason"], e["message"]) for e in _hpa_events(cluster, ns, "ghost")] == [
        ("Warning", "FailedGetScale", 'deployments.apps "ghost" not found')
    ]


# ---- end to end: real CPU load --------------------------------------------------------------------------------------
LOAD_IMAGE = "locustio/locust:2.32.1"  # a command image: its `command` runs as a real, measured process
TARGET = 50
MAX = 5


def _burn(until: float) -> list[str]:
    """A CPU-bound process until `until` (UNIX time), then an idle one."""
    code = f"import time\nend = {until:.0f}\nwhile time.time() < end:\n    pass\nwhile True:\n    time.sleep(60)\n"
    return ["python", "-c", code]


def _ready_pods(cluster: Cluster, ns: str, app: str) -> int:
    _, pods = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector=app={app}")
    return sum(
        1
        for p in pods["items"]
        if any(c["type"] == "Ready" and c["status"] == "True" for c in (p.get("status") or {}).get("conditions") or [])
    )


@pytest.mark.slow
def test_cpu_load_scales_out_and_back_in(cluster: Cluster, ns: str) -> None:
    load_s = 50  # the first sync comes 15 s after the HPA, the next 15 s later
    end = time.time() + load_s
    deployments = f"/apis/apps/v1/namespaces/{ns}/deployments"
    # 100m requested, 150m allowed: a busy loop runs at ~150% of its request
    _create(cluster, deployments, _deployment("burn", image=LOAD_IMAGE, command=_burn(end), cpu_limit="150m"))
    _create(cluster, deployments, _deployment("burn-mem", image=LOAD_IMAGE, command=_burn(end), cpu_limit="150m"))
    cluster.wait_for(lambda: _ready_pods(cluster, ns, "burn") and _ready_pods(cluster, ns, "burn-mem"), timeout=30)
    hpas = f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"
    ref = {"apiVersion": "apps/v1", "kind": "Deployment"}
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 10}}
    cpu = {
        "type": "Resource",
        "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": TARGET}},
    }
    mem = {
        "type": "Resource",
        "resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": TARGET}},
    }
    spec = {"minReplicas": 1, "maxReplicas": MAX, "behavior": behavior}
    for name, metric in (("burn", cpu), ("burn-mem", mem)):
        body = {
            "metadata": {"name": name},
            "spec": {**spec, "scaleTargetRef": {**ref, "name": name}, "metrics": [metric]},
        }
        _create(cluster, hpas, body)
    created = time.time()

    # scale out within 60 s, to what the upstream formula gives for what the HPA measured
    cluster.wait_for(lambda: _replicas(cluster, ns, "burn") > 1, timeout=60, interval=0.25)
    assert time.time() - created < 60
    hpa = _hpa(cluster, ns, "burn")
    st = hpa["status"]
    utilization = st["currentMetrics"][0]["resource"]["current"]["averageUtilization"]
    assert st["currentReplicas"] == 1
    # ready pods 1; behavior's default scale-up limit: max(1 + 4 pods, 1 * 200%) per 15 s
    expected = min(MAX, max(1 + 4, 2 * 1), math.ceil(utilization / TARGET * 1))
    assert utilization > TARGET * 1.1, st
    assert st["desiredReplicas"] == expected == _replicas(cluster, ns, "burn"), st
    assert _conditions(hpa)["AbleToScale"] == (
        "True",
        "SucceededRescale",
        f"the HPA controller was able to update the target scale to {expected}",
    )
    events = _hpa_events(cluster, ns, "burn")
    assert [(e["type"], e["reason"], e["message"], e["source"]["component"]) for e in events] == [
        (
            "Normal",
            "SuccessfulRescale",
            f"New size: {expected}; reason: cpu resource utilization (percentage of request) above target",
            "horizontal-pod-autoscaler",
        )
    ]
    _, scaled = cluster.json(
        "GET", f"/api/v1/namespaces/{ns}/events?fieldSelector=involvedObject.kind=Deployment,involvedObject.name=burn"
    )
    assert any(
        re.fullmatch(rf"Scaled up replica set burn-\w+ from 1 to {expected}", e["message"]) for e in scaled["items"]
    )

    # still loaded, still out; the memory HPA saw the same CPU load and stayed where it was
    cluster.wait_for(lambda: time.time() > end - 3, timeout=load_s, interval=0.5)
    assert _replicas(cluster, ns, "burn") > 1
    assert _replicas(cluster, ns, "burn-mem") == 1
    mem_hpa = _hpa(cluster, ns, "burn-mem")
    assert _conditions(mem_hpa)["ScalingActive"] == (
        "True",
        "ValidMetricFound",
        "the HPA was able to successfully calculate a replica count from memory resource utilization (percentage of "
        "request)",
    )
    assert mem_hpa["status"]["currentMetrics"][0]["resource"]["current"]["averageUtilization"] < TARGET
    assert mem_hpa["status"]["desiredReplicas"] == 1
    assert not [e for e in _hpa_events(cluster, ns, "burn-mem") if e["reason"] == "SuccessfulRescale"]

    # the load stops: back in to minReplicas after the (shortened) scale-down window
    cluster.wait_for(lambda: _replicas(cluster, ns, "burn") == 1, timeout=60, interval=0.5)
    downs = [e for e in _hpa_events(cluster, ns, "burn") if e["message"].endswith("; reason: All metrics below target")]
    assert downs and downs[-1]["message"] == "New size: 1; reason: All metrics below target"
    status, _ = cluster.json("DELETE", f"/api/v1/namespaces/{ns}")  # its pods must not outlive the test
    assert status == 200
