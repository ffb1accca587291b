"""`/metrics` as kube-state-metrics and the kubelet's cAdvisor write it, read back with the Prometheus client's own
text-format parser: each family's type, HELP, labels and values."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kubesim import metrics
from kubesim.store import Store
from kubesim.usage import ContainerUsage
from tests.unit.kubesim.usage_fakes import FakeUsage, usage_record

NS = "sock-shop"
NODE = "sockshop-worker"
ODD_IMAGE = 'registry.local/odd:"quoted"\\back\nslash'


def rec(pod: str, container: str, **kw: Any) -> ContainerUsage:
    fields: dict[str, Any] = {
        "cgroup": f"/kubepods/burstable/pod-{pod}/cgroup-{container}",
        "cpu_seconds_total": 42.25,
        "cpu_cores": 0.3,
        "memory_working_set_bytes": 734_003_200,
        "memory_rss_bytes": 700_000_000,
        "cfs_periods_total": 1200,
        "cfs_throttled_periods_total": 300,
        "cfs_throttled_seconds_total": 12.5,
        "oom_kills": 2,
    }
    return usage_record(pod, container, **(fields | kw))


def _pod(name: str, containers: list[dict[str, Any]], statuses: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": NS, "uid": f"uid-{name}"},
        "spec": {"nodeName": NODE, "containers": containers},
        "status": {"phase": "Running", "containerStatuses": statuses},
    }


@pytest.fixture
def store() -> Store:
    s = Store(None)
    s.put(
        "pods",
        _pod(
            "carts-1",
            [
                {
                    "name": "carts",
                    "image": "weaveworksdemos/carts:0.4.8",
                    "resources": {
                        "limits": {"cpu": "300m", "memory": "1000Mi", "ephemeral-storage": "1Gi"},
                        "requests": {"cpu": "100m", "memory": "200Mi"},
                    },
                },
                # Limits only: the apiserver defaults the requests to them.
                {"name": "sidecar", "image": "x", "resources": {"limits": {"cpu": "1", "nvidia.com/gpu": "2"}}},
            ],
            [
                {
                    "name": "carts",
                    "ready": False,
                    "restartCount": 3,
                    "containerID": "containerd://0123abcd",
                    "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s"}},
                    "lastState": {"terminated": {"reason": "OOMKilled", "exitCode": 137}},
                },
                {"name": "sidecar", "ready": True, "restartCount": 0, "state": {"running": {}}, "lastState": {}},
            ],
        ),
    )
    s.put(
        "pods",
        _pod(
            "job-1",
            [{"name": "main", "image": "python:3.11-slim"}],
            [{"name": "main", "ready": False, "restartCount": 0, "state": {"terminated": {"reason": "Completed"}}}],
        ),
    )
    s.put(
        "pods",
        _pod(
            "unlimited-1",
            [{"name": "main", "image": "python:3.11-slim"}],
            [{"name": "main", "ready": True, "restartCount": 0, "state": {"running": {}}}],
        ),
    )
    s.put(
        "autoscaling/horizontalpodautoscalers",
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "carts", "namespace": NS},
            "spec": {"minReplicas": 2, "maxReplicas": 10, "scaleTargetRef": {"kind": "Deployment", "name": "carts"}},
            "status": {
                "currentReplicas": 3,
                "desiredReplicas": 5,
                "conditions": [
                    {"type": "AbleToScale", "status": "True"},
                    {"type": "ScalingActive", "status": "False"},
                    {"type": "ScalingLimited", "status": "Unknown"},
                ],
            },
        },
    )
    s.put(
        "autoscaling/horizontalpodautoscalers",
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "fresh", "namespace": NS},
            "spec": {"maxReplicas": 4, "scaleTargetRef": {"kind": "Deployment", "name": "fresh"}},
        },
    )
    s.put(
        "nodes",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": NODE},
            "status": {
                "capacity": {"cpu": "4", "memory": "8Gi", "ephemeral-storage": "100Gi", "pods": "110"},
                "allocatable": {"cpu": "3500m", "memory": "7Gi", "hugepages-2Mi": "0", "pods": "110"},
            },
        },
    )
    return s


@pytest.fixture
def usage() -> FakeUsage:
    return FakeUsage(
        [
            rec("carts-1", "carts"),
            rec(
                "carts-1",
                "sidecar",
                image=ODD_IMAGE,
                cpu_seconds_total=0.0,
                memory_working_set_bytes=1024,
                oom_kills=0,
            ),
            rec("unlimited-1", "main", cfs_periods_total=0, cfs_throttled_periods_total=0),
        ]
    )


def families(store: Store, usage: FakeUsage | None) -> dict[str, Any]:
    text = metrics.render(store, usage)
    return {f.name: f for f in text_string_to_metric_families(text)}


def samples(fams: dict[str, Any], name: str, kind: str, help_text: str) -> list[tuple[dict[str, str], float]]:
    family = fams[name.removesuffix("_total") if kind == "counter" else name]
    assert (family.type, family.documentation) == (kind, help_text)
    assert {s.name for s in family.samples} <= {name}
    return [(s.labels, s.value) for s in family.samples]


def pod_labels(pod: str, **kw: str) -> dict[str, str]:
    return {"namespace": NS, "pod": pod, "uid": f"uid-{pod}", **kw}


# ---- kube-state-metrics ------------------------------------------------------------------------------------------
def test_container_resource_limits(store: Store, usage: FakeUsage) -> None:
    got = samples(
        families(store, usage),
        "kube_pod_container_resource_limits",
        "gauge",
        "The number of requested limit resource by a container. It is recommended to use the "
        "kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.",
    )
    carts = pod_labels("carts-1", container="carts", node=NODE)
    sidecar = pod_labels("carts-1", container="sidecar", node=NODE)
    assert got == [
        ({**carts, "resource": "cpu", "unit": "core"}, 0.3),
        ({**carts, "resource": "memory", "unit": "byte"}, 1048576000.0),
        ({**carts, "resource": "ephemeral_storage", "unit": "byte"}, 1073741824.0),
        ({**sidecar, "resource": "cpu", "unit": "core"}, 1.0),
        ({**sidecar, "resource": "nvidia_com_gpu", "unit": "integer"}, 2.0),
    ]


def test_container_resource_requests_default_to_the_limits(store: Store, usage: FakeUsage) -> None:
    got = samples(
        families(store, usage),
        "kube_pod_container_resource_requests",
        "gauge",
        "The number of requested request resource by a container. It is recommended to use the "
        "kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.",
    )
    values = {(lbl["container"], lbl["resource"], lbl["unit"]): v for lbl, v in got}
    assert values == {
        ("carts", "cpu", "core"): 0.1,
        ("carts", "memory", "byte"): 209715200.0,
        ("carts", "ephemeral_storage", "byte"): 1073741824.0,
        ("sidecar", "cpu", "core"): 1.0,
        ("sidecar", "nvidia_com_gpu", "integer"): 2.0,
    }


@pytest.mark.parametrize(
    ("name", "help_text", "expected"),
    [
        (
            "kube_pod_container_status_last_terminated_reason",
            "Describes the last reason the container was in terminated state.",
            [(pod_labels("carts-1", container="carts", reason="OOMKilled"), 1.0)],
        ),
        (
            "kube_pod_container_status_waiting_reason",
            "Describes the reason the container is currently in waiting state.",
            [(pod_labels("carts-1", container="carts", reason="CrashLoopBackOff"), 1.0)],
        ),
        (
            "kube_pod_container_status_terminated_reason",
            "Describes the reason the container is currently in terminated state.",
            [(pod_labels("job-1", container="main", reason="Completed"), 1.0)],
        ),
    ],
)
def test_container_state_reasons(
    store: Store, usage: FakeUsage, name: str, help_text: str, expected: list[tuple[dict[str, str], float]]
) -> None:
    assert samples(families(store, usage), name, "gauge", help_text) == expected


@pytest.mark.parametrize(
    ("name", "help_text", "carts", "fresh"),
    [
        (
            "kube_horizontalpodautoscaler_spec_max_replicas",
            "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.",
            10.0,
            4.0,
        ),
        (
            "kube_horizontalpodautoscaler_spec_min_replicas",
            "Lower limit for the number of pods that can be set by the autoscaler, default 1.",
            2.0,
            1.0,
        ),
        (
            "kube_horizontalpodautoscaler_status_current_replicas",
            "Current number of replicas of pods managed by this autoscaler.",
            3.0,
            0.0,
        ),
        (
            "kube_horizontalpodautoscaler_status_desired_replicas",
            "Desired number of replicas of pods managed by this autoscaler.",
            5.0,
            0.0,
        ),
    ],
)
def test_hpa_replicas(store: Store, name: str, help_text: str, carts: float, fresh: float) -> None:
    assert samples(families(store, None), name, "gauge", help_text) == [
        ({"namespace": NS, "horizontalpodautoscaler": "carts"}, carts),
        ({"namespace": NS, "horizontalpodautoscaler": "fresh"}, fresh),
    ]


def test_hpa_conditions_one_series_per_status(store: Store) -> None:
    got = samples(
        families(store, None),
        "kube_horizontalpodautoscaler_status_condition",
        "gauge",
        "The condition of this autoscaler.",
    )
    values = {(lbl["condition"], lbl["status"]): v for lbl, v in got}
    assert values == {
        ("AbleToScale", "true"): 1.0,
        ("AbleToScale", "false"): 0.0,
        ("AbleToScale", "unknown"): 0.0,
        ("ScalingActive", "true"): 0.0,
        ("ScalingActive", "false"): 1.0,
        ("ScalingActive", "unknown"): 0.0,
        ("ScalingLimited", "true"): 0.0,
        ("ScalingLimited", "false"): 0.0,
        ("ScalingLimited", "unknown"): 1.0,
    }
    assert {tuple(sorted(lbl)) for lbl, _ in got} == {("condition", "horizontalpodautoscaler", "namespace", "status")}


@pytest.mark.parametrize(
    ("name", "help_text", "expected"),
    [
        (
            "kube_node_status_capacity",
            "The capacity for different resources of a node.",
            [
                ("cpu", "core", 4.0),
                ("memory", "byte", 8589934592.0),
                ("ephemeral_storage", "byte", 107374182400.0),
                ("pods", "integer", 110.0),
            ],
        ),
        (
            "kube_node_status_allocatable",
            "The allocatable for different resources of a node that are available for scheduling.",
            [
                ("cpu", "core", 3.5),
                ("memory", "byte", 7516192768.0),
                ("hugepages_2Mi", "byte", 0.0),
                ("pods", "integer", 110.0),
            ],
        ),
    ],
)
def test_node_resources(store: Store, name: str, help_text: str, expected: list[tuple[str, str, float]]) -> None:
    got = samples(families(store, None), name, "gauge", help_text)
    assert got == [({"node": NODE, "resource": r, "unit": u}, v) for r, u, v in expected]


def test_existing_families_are_unchanged(store: Store, usage: FakeUsage) -> None:
    fams = families(store, usage)
    restarts = samples(
        fams, "kube_pod_container_status_restarts_total", "counter", "The number of container restarts per container."
    )
    assert (pod_labels("carts-1", container="carts"), 3.0) in restarts
    ready = samples(
        fams, "kube_pod_container_status_ready", "gauge", "Describes whether the containers readiness check succeeded."
    )
    assert (pod_labels("carts-1", container="sidecar"), 1.0) in ready
    phases = samples(fams, "kube_pod_status_phase", "gauge", "The pods current phase.")
    assert (pod_labels("job-1", phase="Running"), 1.0) in phases


# ---- cAdvisor ----------------------------------------------------------------------------------------------------
def cadvisor(pod: str, container: str, name: str, image: str = "weaveworksdemos/carts:0.4.8") -> dict[str, str]:
    return {
        "container": container,
        "id": f"/kubepods/burstable/pod-{pod}/cgroup-{container}",
        "image": image,
        "name": name,
        "namespace": NS,
        "pod": pod,
    }


CARTS = cadvisor("carts-1", "carts", "0123abcd")  # the status's containerID, without containerd://
SIDECAR = cadvisor("carts-1", "sidecar", "cgroup-sidecar", ODD_IMAGE)  # no containerID: the cgroup's own name
UNLIMITED = cadvisor("unlimited-1", "main", "cgroup-main")


def test_cpu_usage_seconds(store: Store, usage: FakeUsage) -> None:
    got = samples(
        families(store, usage),
        "container_cpu_usage_seconds_total",
        "counter",
        "Cumulative cpu time consumed in seconds.",
    )
    # No sample for the sidecar: cAdvisor writes none before any CPU time is accounted.
    assert got == [({**CARTS, "cpu": "total"}, 42.25), ({**UNLIMITED, "cpu": "total"}, 42.25)]


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        (
            ("container_memory_working_set_bytes", "gauge", "Current working set in bytes."),
            [(CARTS, 734003200.0), (SIDECAR, 1024.0), (UNLIMITED, 734003200.0)],
        ),
        (
            ("container_memory_rss", "gauge", "Size of RSS in bytes."),
            [(CARTS, 700000000.0), (SIDECAR, 700000000.0), (UNLIMITED, 700000000.0)],
        ),
        (
            ("container_oom_events_total", "counter", "Count of out of memory events observed for the container"),
            [(CARTS, 2.0), (SIDECAR, 0.0), (UNLIMITED, 2.0)],
        ),
        # The CFS families only for containers with a CPU limit (a CFS quota), as cAdvisor.
        (
            ("container_cpu_cfs_periods_total", "counter", "Number of elapsed enforcement period intervals."),
            [(CARTS, 1200.0), (SIDECAR, 1200.0)],
        ),
        (
            ("container_cpu_cfs_throttled_periods_total", "counter", "Number of throttled period intervals."),
            [(CARTS, 300.0), (SIDECAR, 300.0)],
        ),
        (
            (
                "container_cpu_cfs_throttled_seconds_total",
                "counter",
                "Total time duration the container has been throttled.",
            ),
            [(CARTS, 12.5), (SIDECAR, 12.5)],
        ),
    ],
)
def test_cadvisor_families(
    store: Store, usage: FakeUsage, family: tuple[str, str, str], expected: list[tuple[dict[str, str], float]]
) -> None:
    name, kind, help_text = family
    assert samples(families(store, usage), name, kind, help_text) == expected


def test_label_values_are_escaped(store: Store, usage: FakeUsage) -> None:
    text = metrics.render(store, usage)
    assert 'image="registry.local/odd:\\"quoted\\"\\\\back\\nslash"' in text
    assert "\nslash" not in text  # no raw line feed inside a sample line


def test_values_are_exact(store: Store) -> None:
    text = metrics.render(store, None)
    assert 'resource="memory",unit="byte"} 1048576000\n' in text
    assert 'resource="cpu",unit="core"} 0.3\n' in text


def test_without_usage_there_are_no_container_samples(store: Store) -> None:
    fams = families(store, None)
    assert fams["container_memory_working_set_bytes"].samples == []
    assert fams["container_cpu_usage_seconds"].samples == []
