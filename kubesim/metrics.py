"""`/metrics` text in the Prometheus exposition format: the kube-state-metrics families the incidents' PromQL
signals name (from the store) and the kubelet's cAdvisor container families (from the measured usage), with
the names, types, HELP texts and labels those exporters use."""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from kubesim.store import Store
from kubesim.usage import ContainerUsage, Limits, UsageSource, bytes_of, millicores, quantity

Sample = tuple[dict[str, str], float]
Family = Callable[[str, str, str, list[Sample]], None]  # name, HELP, TYPE, samples
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


def _escape(value: str) -> str:
    """A label value as the text format writes it: backslash, double quote and line feed escaped."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**kw: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(str(v))}"' for k, v in kw.items()) + "}"


def _value(value: float) -> str:
    """Exact for whole numbers (1048576000, not 1.04858e+09), Go's spelling for the special values."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value.is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(value)


# ---- kube-state-metrics' resource quantities ----------------------------------------------------------
def _sanitize(name: str) -> str:
    return _INVALID_LABEL_CHARS.sub("_", name)


def _resource_samples(resources: Mapping[str, Any], *, node: bool = False) -> list[tuple[str, str, float]]:
    """(resource, unit, value) as kube-state-metrics writes a ResourceList: cpu in cores, memory and storage
    in bytes, hugepages and attachable volumes in bytes, extended resources (and a node's pods) as integers."""
    out: list[tuple[str, str, float]] = []
    for name, raw in resources.items():
        if name == "cpu":
            out.append(("cpu", "core", millicores(raw) / 1000))
        elif name in ("memory", "storage", "ephemeral-storage"):
            out.append((_sanitize(name), "byte", float(bytes_of(raw))))
        elif name == "pods" and node:
            out.append(("pods", "integer", float(quantity(raw))))
        elif name.startswith(("hugepages-", "attachable-volumes-")):
            out.append((_sanitize(name), "byte", float(bytes_of(raw))))
        elif "/" in name and "kubernetes.io/" not in name and not name.startswith("requests."):
            out.append((_sanitize(name), "integer", float(bytes_of(raw))))
    return out


def _requests(container: Mapping[str, Any]) -> dict[str, Any]:
    """The container's requests as the apiserver stores them: a limit without a request requests the limit."""
    res = container.get("resources") or {}
    return {**(res.get("limits") or {}), **(res.get("requests") or {})}


def _container_ids(pod: Mapping[str, Any]) -> dict[str, str]:
    status = pod.get("status") or {}
    out = {}
    for cs in (status.get("containerStatuses") or []) + (status.get("initContainerStatuses") or []):
        cid = cs.get("containerID") or ""
        if cid:
            out[cs["name"]] = cid.split("://", 1)[-1]
    return out


def render(store: Store, usage: UsageSource | None = None) -> str:
    lines: list[str] = []

    def family(name: str, help_text: str, kind: str, samples: list[Sample]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{_labels(**lbl)} {_value(value)}" for lbl, value in samples)

    deployments = store.scan("apps/deployments")

    def dep(field: str, src: str = "status") -> list[Sample]:
        return [
            (
                {"namespace": d["metadata"]["namespace"], "deployment": d["metadata"]["name"]},
                float((d.get(src) or {}).get(field, 0)),
            )
            for d in deployments
        ]

    family(
        "kube_deployment_spec_replicas", "Number of desired pods for a deployment.", "gauge", dep("replicas", "spec")
    )
    family("kube_deployment_status_replicas", "The number of replicas per deployment.", "gauge", dep("replicas"))
    family(
        "kube_deployment_status_replicas_available",
        "The number of available replicas per deployment.",
        "gauge",
        dep("availableReplicas"),
    )
    family(
        "kube_deployment_status_replicas_ready",
        "The number of ready replicas per deployment.",
        "gauge",
        dep("readyReplicas"),
    )
    family(
        "kube_deployment_status_replicas_unavailable",
        "The number of unavailable replicas per deployment.",
        "gauge",
        dep("unavailableReplicas"),
    )
    pods = store.scan("pods")
    phases = ("Pending", "Succeeded", "Failed", "Unknown", "Running")
    phase_samples: list[Sample] = []
    restarts: list[Sample] = []
    ready: list[Sample] = []
    limits: list[Sample] = []
    requests: list[Sample] = []
    last_terminated: list[Sample] = []
    waiting: list[Sample] = []
    terminated: list[Sample] = []
    for p in pods:
        meta: dict[str, Any] = p["metadata"]
        status = p.get("status") or {}
        pod_lbl = {"namespace": meta["namespace"], "pod": meta["name"], "uid": meta["uid"]}
        for phase in phases:
            phase_samples.append(({**pod_lbl, "phase": phase}, 1.0 if status.get("phase") == phase else 0.0))
        node = (p.get("spec") or {}).get("nodeName") or ""
        for c in (p.get("spec") or {}).get("containers") or []:
            for out, resources in ((limits, (c.get("resources") or {}).get("limits") or {}), (requests, _requests(c))):
                for resource, unit, value in _resource_samples(resources):
                    out.append(
                        ({**pod_lbl, "container": c["name"], "node": node, "resource": resource, "unit": unit}, value)
                    )
        for cs in status.get("containerStatuses") or []:
            lbl = {**pod_lbl, "container": cs["name"]}
            restarts.append((lbl, float(cs.get("restartCount", 0))))
            ready.append((lbl, 1.0 if cs.get("ready") else 0.0))
            last = (cs.get("lastState") or {}).get("terminated")
            if last is not None:
                last_terminated.append(({**lbl, "reason": last.get("reason") or ""}, 1.0))
            state = cs.get("state") or {}
            if state.get("waiting") is not None:
                waiting.append(({**lbl, "reason": state["waiting"].get("reason") or ""}, 1.0))
            if state.get("terminated") is not None:
                terminated.append(({**lbl, "reason": state["terminated"].get("reason") or ""}, 1.0))
    family("kube_pod_status_phase", "The pods current phase.", "gauge", phase_samples)
    family(
        "kube_pod_container_status_restarts_total",
        "The number of container restarts per container.",
        "counter",
        restarts,
    )
    family(
        "kube_pod_container_status_ready", "Describes whether the containers readiness check succeeded.", "gauge", ready
    )
    family(
        "kube_pod_container_resource_limits",
        "The number of requested limit resource by a container. It is recommended to use the "
        "kube_pod_resource_limits metric exposed by kube-scheduler instead, as it is more precise.",
        "gauge",
        limits,
    )
    family(
        "kube_pod_container_resource_requests",
        "The number of requested request resource by a container. It is recommended to use the "
        "kube_pod_resource_requests metric exposed by kube-scheduler instead, as it is more precise.",
        "gauge",
        requests,
    )
    family(
        "kube_pod_container_status_last_terminated_reason",
        "Describes the last reason the container was in terminated state.",
        "gauge",
        last_terminated,
    )
    family(
        "kube_pod_container_status_waiting_reason",
        "Describes the reason the container is currently in waiting state.",
        "gauge",
        waiting,
    )
    family(
        "kube_pod_container_status_terminated_reason",
        "Describes the reason the container is currently in terminated state.",
        "gauge",
        terminated,
    )
    _hpa_families(store, family)
    _node_families(store, family)
    _cadvisor_families(pods, usage, family)
    return "\n".join(lines) + "\n"


def _hpa_families(store: Store, family: Family) -> None:
    hpas = store.scan("autoscaling/horizontalpodautoscalers")

    def per_hpa(value: Any) -> list[Sample]:
        return [
            ({"namespace": h["metadata"]["namespace"], "horizontalpodautoscaler": h["metadata"]["name"]}, value(h))
            for h in hpas
        ]

    def spec(h: dict[str, Any]) -> dict[str, Any]:
        return h.get("spec") or {}

    def status(h: dict[str, Any]) -> dict[str, Any]:
        return h.get("status") or {}

    family(
        "kube_horizontalpodautoscaler_spec_max_replicas",
        "Upper limit for the number of pods that can be set by the autoscaler; cannot be smaller than MinReplicas.",
        "gauge",
        per_hpa(lambda h: float(spec(h).get("maxReplicas") or 0)),
    )
    family(
        "kube_horizontalpodautoscaler_spec_min_replicas",
        "Lower limit for the number of pods that can be set by the autoscaler, default 1.",
        "gauge",
        per_hpa(lambda h: float(spec(h)["minReplicas"] if spec(h).get("minReplicas") is not None else 1)),
    )
    family(
        "kube_horizontalpodautoscaler_status_current_replicas",
        "Current number of replicas of pods managed by this autoscaler.",
        "gauge",
        per_hpa(lambda h: float(status(h).get("currentReplicas") or 0)),
    )
    family(
        "kube_horizontalpodautoscaler_status_desired_replicas",
        "Desired number of replicas of pods managed by this autoscaler.",
        "gauge",
        per_hpa(lambda h: float(status(h).get("desiredReplicas") or 0)),
    )
    conditions: list[Sample] = []
    for h in hpas:
        lbl = {"namespace": h["metadata"]["namespace"], "horizontalpodautoscaler": h["metadata"]["name"]}
        for cond in status(h).get("conditions") or []:
            for value in ("True", "False", "Unknown"):
                conditions.append(
                    (
                        {**lbl, "condition": cond.get("type", ""), "status": value.lower()},
                        1.0 if cond.get("status") == value else 0.0,
                    )
                )
    family("kube_horizontalpodautoscaler_status_condition", "The condition of this autoscaler.", "gauge", conditions)


def _node_families(store: Store, family: Family) -> None:
    nodes = store.scan("nodes")
    for name, field, help_text in (
        (
            "kube_node_status_capacity",
            "capacity",
            "The capacity for different resources of a node.",
        ),
        (
            "kube_node_status_allocatable",
            "allocatable",
            "The allocatable for different resources of a node that are available for scheduling.",
        ),
    ):
        samples: list[Sample] = [
            ({"node": n["metadata"]["name"], "resource": resource, "unit": unit}, value)
            for n in nodes
            for resource, unit, value in _resource_samples((n.get("status") or {}).get(field) or {}, node=True)
        ]
        family(name, help_text, "gauge", samples)


def _cadvisor_families(pods: list[dict[str, Any]], usage: UsageSource | None, family: Family) -> None:
    """The kubelet's /metrics/cadvisor families for each measured container (`id` is its cgroup, `name` the
    runtime's container ID). The CFS families exist only for containers with a CPU limit (a CFS quota)."""
    records: list[ContainerUsage] = sorted(
        usage.containers() if usage is not None else [], key=lambda r: (r.namespace, r.pod, r.container)
    )
    by_pod = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in pods}
    cpu: list[Sample] = []
    working_set: list[Sample] = []
    rss: list[Sample] = []
    periods: list[Sample] = []
    throttled_periods: list[Sample] = []
    throttled_seconds: list[Sample] = []
    ooms: list[Sample] = []
    for r in records:
        pod = by_pod.get((r.namespace, r.pod))
        uid = (pod or {}).get("metadata", {}).get("uid")
        if uid and r.uid and uid != r.uid:
            pod = None  # a record of an earlier pod of the same name
        spec: dict[str, Any] = next(
            (c for c in ((pod or {}).get("spec") or {}).get("containers") or [] if c.get("name") == r.container), {}
        )
        name = _container_ids(pod or {}).get(r.container) or r.cgroup.rstrip("/").rsplit("/", 1)[-1]
        lbl = {
            "container": r.container,
            "id": r.cgroup,
            "image": r.image,
            "name": name,
            "namespace": r.namespace,
            "pod": r.pod,
        }
        if r.cpu_seconds_total > 0:  # as cAdvisor: no sample before the first CPU time is accounted
            cpu.append(({"container": r.container, "cpu": "total", **lbl}, r.cpu_seconds_total))
        working_set.append((lbl, float(r.memory_working_set_bytes)))
        rss.append((lbl, float(r.memory_rss_bytes)))
        if Limits.of(spec).cpu_limit_m is not None:
            periods.append((lbl, float(r.cfs_periods_total)))
            throttled_periods.append((lbl, float(r.cfs_throttled_periods_total)))
            throttled_seconds.append((lbl, r.cfs_throttled_seconds_total))
        ooms.append((lbl, float(r.oom_kills)))
    family("container_cpu_usage_seconds_total", "Cumulative cpu time consumed in seconds.", "counter", cpu)
    family("container_memory_working_set_bytes", "Current working set in bytes.", "gauge", working_set)
    family("container_memory_rss", "Size of RSS in bytes.", "gauge", rss)
    family("container_cpu_cfs_periods_total", "Number of elapsed enforcement period intervals.", "counter", periods)
    family(
        "container_cpu_cfs_throttled_periods_total",
        "Number of throttled period intervals.",
        "counter",
        throttled_periods,
    )
    family(
        "container_cpu_cfs_throttled_seconds_total",
        "Total time duration the container has been throttled.",
        "counter",
        throttled_seconds,
    )
    family("container_oom_events_total", "Count of out of memory events observed for the container", "counter", ooms)
