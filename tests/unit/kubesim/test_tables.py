"""Server-side Table output: the exact column names and cells `kubectl get` would print from a real apiserver."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubesim.tables import human_duration, to_table

NOW = datetime(2026, 11, 2, 12, 0, 0, tzinfo=UTC)


def ago(**kw: float) -> str:
    """An RFC3339 timestamp this long before NOW."""
    return (NOW - timedelta(**kw)).strftime("%Y-%m-%dT%H:%M:%SZ")


def md(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "namespace": "sock-shop", "uid": f"uid-{name}", "creationTimestamp": ago(minutes=5), **extra}


def cond(ctype: str, status: str = "True") -> dict[str, Any]:
    return {"type": ctype, "status": status}


def cells(resource: str, group: str, obj: dict[str, Any]) -> list[Any]:
    table = to_table(resource, group, [obj], now=NOW)
    return table["rows"][0]["cells"]


def header(resource: str, group: str) -> list[tuple[str, int]]:
    table = to_table(resource, group, [], now=NOW)
    return [(c["name"], c["priority"]) for c in table["columnDefinitions"]]


# --- human_duration ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("delta", "expected"),
    [
        (timedelta(seconds=-3), "<invalid>"),
        (timedelta(seconds=-2), "<invalid>"),
        (timedelta(seconds=-1.5), "0s"),
        (timedelta(seconds=-1), "0s"),
        (timedelta(0), "0s"),
        (timedelta(seconds=0.9), "0s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(seconds=59), "59s"),
        (timedelta(seconds=119.9), "119s"),
        (timedelta(minutes=2), "2m"),
        (timedelta(minutes=2, seconds=10), "2m10s"),
        (timedelta(minutes=2, seconds=59), "2m59s"),
        (timedelta(minutes=9, seconds=59), "9m59s"),
        (timedelta(minutes=10), "10m"),
        (timedelta(minutes=10, seconds=59), "10m"),
        (timedelta(hours=3) - timedelta(seconds=1), "179m"),
        (timedelta(hours=3), "3h"),
        (timedelta(hours=3, minutes=5), "3h5m"),
        (timedelta(hours=7, minutes=59, seconds=59), "7h59m"),
        (timedelta(hours=8), "8h"),
        (timedelta(hours=47, minutes=59), "47h"),
        (timedelta(hours=48), "2d"),
        (timedelta(days=3), "3d"),
        (timedelta(days=3, hours=4), "3d4h"),
        (timedelta(days=7, hours=23), "7d23h"),
        (timedelta(days=8), "8d"),
        (timedelta(days=8, hours=5), "8d"),
        (timedelta(days=400), "400d"),
        (timedelta(days=729), "729d"),
        (timedelta(days=730), "2y"),
        (timedelta(days=775), "2y45d"),
        (timedelta(days=365 * 8 - 1), "7y364d"),
        (timedelta(days=365 * 8), "8y"),
        (timedelta(days=365 * 10 + 100), "10y"),
    ],
)
def test_human_duration(delta: timedelta, expected: str) -> None:
    assert human_duration(delta) == expected


# --- column sets --------------------------------------------------------------------------------------------------

WIDE = 1


@pytest.mark.parametrize(
    ("resource", "group", "columns"),
    [
        ("pods", "", [("Name", 0), ("Ready", 0), ("Status", 0), ("Restarts", 0), ("Age", 0), ("IP", WIDE),
                      ("Node", WIDE), ("Nominated Node", WIDE), ("Readiness Gates", WIDE)]),
        ("deployments", "apps", [("Name", 0), ("Ready", 0), ("Up-to-date", 0), ("Available", 0), ("Age", 0),
                                 ("Containers", WIDE), ("Images", WIDE), ("Selector", WIDE)]),
        ("replicasets", "apps", [("Name", 0), ("Desired", 0), ("Current", 0), ("Ready", 0), ("Age", 0),
                                 ("Containers", WIDE), ("Images", WIDE), ("Selector", WIDE)]),
        ("statefulsets", "apps", [("Name", 0), ("Ready", 0), ("Age", 0), ("Containers", WIDE), ("Images", WIDE)]),
        ("daemonsets", "apps", [("Name", 0), ("Desired", 0), ("Current", 0), ("Ready", 0), ("Up-to-date", 0),
                                ("Available", 0), ("Node Selector", 0), ("Age", 0), ("Containers", WIDE),
                                ("Images", WIDE), ("Selector", WIDE)]),
        ("jobs", "batch", [("Name", 0), ("Status", 0), ("Completions", 0), ("Duration", 0), ("Age", 0),
                           ("Containers", WIDE), ("Images", WIDE), ("Selector", WIDE)]),
        ("cronjobs", "batch", [("Name", 0), ("Schedule", 0), ("Timezone", 0), ("Suspend", 0), ("Active", 0),
                               ("Last Schedule", 0), ("Age", 0), ("Containers", WIDE), ("Images", WIDE),
                               ("Selector", WIDE)]),
        ("services", "", [("Name", 0), ("Type", 0), ("Cluster-IP", 0), ("External-IP", 0), ("Port(s)", 0),
                          ("Age", 0), ("Selector", WIDE)]),
        ("endpoints", "", [("Name", 0), ("Endpoints", 0), ("Age", 0)]),
        ("endpointslices", "discovery.k8s.io", [("Name", 0), ("AddressType", 0), ("Ports", 0), ("Endpoints", 0),
                                                ("Age", 0)]),
        ("nodes", "", [("Name", 0), ("Status", 0), ("Roles", 0), ("Age", 0), ("Version", 0), ("Internal-IP", WIDE),
                       ("External-IP", WIDE), ("OS-Image", WIDE), ("Kernel-Version", WIDE),
                       ("Container-Runtime", WIDE)]),
        ("namespaces", "", [("Name", 0), ("Status", 0), ("Age", 0)]),
        ("configmaps", "", [("Name", 0), ("Data", 0), ("Age", 0)]),
        ("secrets", "", [("Name", 0), ("Type", 0), ("Data", 0), ("Age", 0)]),
        ("serviceaccounts", "", [("Name", 0), ("Secrets", 0), ("Age", 0)]),
        ("events", "", [("Last Seen", 0), ("Type", 0), ("Reason", 0), ("Object", 0), ("Subobject", WIDE),
                        ("Source", WIDE), ("Message", 0), ("First Seen", WIDE), ("Count", WIDE), ("Name", WIDE)]),
        ("leases", "coordination.k8s.io", [("Name", 0), ("Holder", 0), ("Age", 0)]),
        ("horizontalpodautoscalers", "autoscaling", [("Name", 0), ("Reference", 0), ("Targets", 0), ("MinPods", 0),
                                                     ("MaxPods", 0), ("Replicas", 0), ("Age", 0)]),
        ("persistentvolumeclaims", "", [("Name", 0), ("Status", 0), ("Volume", 0), ("Capacity", 0),
                                        ("Access Modes", 0), ("StorageClass", 0), ("VolumeAttributesClass", 0),
                                        ("Age", 0), ("VolumeMode", WIDE)]),
        ("persistentvolumes", "", [("Name", 0), ("Capacity", 0), ("Access Modes", 0), ("Reclaim Policy", 0),
                                   ("Status", 0), ("Claim", 0), ("StorageClass", 0), ("VolumeAttributesClass", 0),
                                   ("Reason", 0), ("Age", 0), ("VolumeMode", WIDE)]),
        ("storageclasses", "storage.k8s.io", [("Name", 0), ("Provisioner", 0), ("ReclaimPolicy", 0),
                                              ("VolumeBindingMode", 0), ("AllowVolumeExpansion", 0), ("Age", 0)]),
        ("priorityclasses", "scheduling.k8s.io", [("Name", 0), ("Value", 0), ("Global-Default", 0), ("Age", 0),
                                                  ("PreemptionPolicy", WIDE)]),
        ("rolebindings", "rbac.authorization.k8s.io", [("Name", 0), ("Role", 0), ("Age", 0), ("Users", WIDE),
                                                       ("Groups", WIDE), ("ServiceAccounts", WIDE)]),
        ("roles", "rbac.authorization.k8s.io", [("Name", 0), ("Created At", 0)]),
        ("widgets", "example.com", [("Name", 0), ("Age", 0)]),
    ],
)  # fmt: skip
def test_column_sets(resource: str, group: str, columns: list[tuple[str, int]]) -> None:
    assert header(resource, group) == columns
    assert header(resource, group) == header(resource, group), "two calls must not share mutable columns"


def test_column_definition_fields() -> None:
    columns = to_table("pods", "", [], now=NOW)["columnDefinitions"]
    assert columns[0]["format"] == "name" and columns[0]["type"] == "string"
    assert all(set(c) == {"name", "type", "format", "description", "priority"} for c in columns)
    assert columns[4]["description"].startswith("CreationTimestamp is a timestamp")
    assert [c["type"] for c in to_table("replicasets", "apps", [], now=NOW)["columnDefinitions"][:5]] == [
        "string", "integer", "integer", "integer", "string"
    ]  # fmt: skip
    assert to_table("roles", "rbac.authorization.k8s.io", [], now=NOW)["columnDefinitions"][1]["type"] == "date"


# --- pods ---------------------------------------------------------------------------------------------------------


def pod(status: dict[str, Any] | None = None, **spec_extra: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "kind": "Pod",
        "apiVersion": "v1",
        "metadata": md("payment-7d9f8b6c5d-x2x7q", labels={"name": "payment"}),
        "spec": {"containers": [{"name": "payment", "image": "weaveworksdemos/payment:0.4.3"}], **spec_extra},
    }
    if status is not None:
        obj["status"] = status
    return obj


def running(ready: bool = True, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    state = {"running": {"startedAt": ago(minutes=4)}}
    return {"name": "payment", "ready": ready, "restartCount": restarts, "state": state, **extra}


def waiting(reason: str, restarts: int = 0, **extra: Any) -> dict[str, Any]:
    state = {"waiting": {"reason": reason}}
    return {"name": "payment", "ready": False, "restartCount": restarts, "state": state, **extra}


def terminated(exit_code: int, reason: str = "", signal: int = 0) -> dict[str, Any]:
    term: dict[str, Any] = {"exitCode": exit_code, "finishedAt": ago(minutes=1)}
    if reason:
        term["reason"] = reason
    if signal:
        term["signal"] = signal
    return {"name": "payment", "ready": False, "restartCount": 0, "state": {"terminated": term}}


LAST_CRASH: dict[str, Any] = {
    "lastState": {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": ago(seconds=12)}}
}
READY = [{"type": "Initialized", "status": "True"}, {"type": "Ready", "status": "True"}]


def init_status(state: dict[str, Any], name: str = "init-db", restarts: int = 0) -> dict[str, Any]:
    return {"name": name, "ready": False, "restartCount": restarts, "state": state}


INITS = {"initContainers": [{"name": "init-db", "image": "busybox"}, {"name": "init-cfg", "image": "busybox"}]}


@pytest.mark.parametrize(
    ("case", "obj", "ready", "status", "restarts"),
    [
        ("no status yet", pod(), "0/1", "Pending", "0"),
        ("scheduled, image pulling", pod({"phase": "Pending", "containerStatuses": [waiting("ContainerCreating")]}),
         "0/1", "ContainerCreating", "0"),
        ("running and ready", pod({"phase": "Running", "conditions": READY, "containerStatuses": [running()]}),
         "1/1", "Running", "0"),
        ("running, not ready", pod({"phase": "Running", "containerStatuses": [running(ready=False)]}),
         "0/1", "Running", "0"),
        ("crash looping",
         pod({"phase": "Running", "containerStatuses": [waiting("CrashLoopBackOff", 5, **LAST_CRASH)]}),
         "0/1", "CrashLoopBackOff", "5 (12s ago)"),
        ("restarted, running again",
         pod({"phase": "Running", "containerStatuses": [running(restarts=2, **LAST_CRASH)]}),
         "1/1", "Running", "2 (12s ago)"),
        ("restarts without a finish time", pod({"phase": "Running", "containerStatuses": [running(restarts=3)]}),
         "1/1", "Running", "3"),
        ("completed", pod({"phase": "Succeeded", "containerStatuses": [terminated(0, "Completed")]}),
         "0/1", "Completed", "0"),
        ("failed", pod({"phase": "Failed", "containerStatuses": [terminated(1, "Error")]}), "0/1", "Error", "0"),
        ("exit code without reason", pod({"phase": "Failed", "containerStatuses": [terminated(2)]}),
         "0/1", "ExitCode:2", "0"),
        ("killed by signal", pod({"phase": "Failed", "containerStatuses": [terminated(137, signal=9)]}),
         "0/1", "Signal:9", "0"),
        ("evicted", pod({"phase": "Failed", "reason": "Evicted"}), "0/1", "Evicted", "0"),
        ("scheduling gated",
         pod({"phase": "Pending", "conditions": [{**cond("PodScheduled", "False"), "reason": "SchedulingGated"}]}),
         "0/1", "SchedulingGated", "0"),
        ("unschedulable",
         pod({"phase": "Pending", "conditions": [{**cond("PodScheduled", "False"), "reason": "Unschedulable"}]}),
         "0/1", "Pending", "0"),
        ("init running", pod({"phase": "Pending", "initContainerStatuses": [
            init_status({"running": {}}), init_status({"waiting": {"reason": "PodInitializing"}}, "init-cfg")],
            "containerStatuses": [waiting("PodInitializing")]}, **INITS), "0/1", "Init:0/2", "0"),
        ("second init running", pod({"phase": "Pending", "initContainerStatuses": [
            init_status({"terminated": {"exitCode": 0, "reason": "Completed"}}),
            init_status({"running": {}}, "init-cfg")],
            "containerStatuses": [waiting("PodInitializing")]}, **INITS), "0/1", "Init:1/2", "0"),
        ("init crash looping", pod({"phase": "Pending", "initContainerStatuses": [
            init_status({"waiting": {"reason": "CrashLoopBackOff"}}, restarts=4)]}, **INITS),
         "0/1", "Init:CrashLoopBackOff", "4"),
        ("init failed", pod({"phase": "Pending", "initContainerStatuses": [
            init_status({"terminated": {"exitCode": 1, "reason": "Error"}})]}, **INITS), "0/1", "Init:Error", "0"),
        ("init exit code", pod({"phase": "Pending", "initContainerStatuses": [
            init_status({"terminated": {"exitCode": 3}})]}, **INITS), "0/1", "Init:ExitCode:3", "0"),
        ("init signal", pod({"phase": "Pending", "initContainerStatuses": [
            init_status({"terminated": {"exitCode": 137, "signal": 9}})]}, **INITS), "0/1", "Init:Signal:9", "0"),
    ],
)  # fmt: skip
def test_pod_ready_status_restarts(case: str, obj: dict[str, Any], ready: str, status: str, restarts: str) -> None:
    assert cells("pods", "", obj)[1:4] == [ready, status, restarts], case


def test_pod_running_wide_cells() -> None:
    obj = pod(
        {
            "phase": "Running",
            "conditions": READY,
            "podIP": "10.244.1.5",
            "podIPs": [{"ip": "10.244.1.5"}],
            "containerStatuses": [running()],
        },
        nodeName="sockshop-worker",
    )
    assert cells("pods", "", obj) == [
        "payment-7d9f8b6c5d-x2x7q", "1/1", "Running", "0", "5m", "10.244.1.5", "sockshop-worker", "<none>", "<none>"
    ]  # fmt: skip


def test_pod_without_status_wide_cells_are_none() -> None:
    assert cells("pods", "", pod()) == [
        "payment-7d9f8b6c5d-x2x7q", "0/1", "Pending", "0", "5m", "<none>", "<none>", "<none>", "<none>"
    ]  # fmt: skip


def test_pod_crash_loop_with_latest_restart_time_across_containers() -> None:
    older: dict[str, Any] = {"lastState": {"terminated": {"exitCode": 1, "finishedAt": ago(minutes=3)}}}
    obj = pod(
        {
            "phase": "Running",
            "containerStatuses": [
                waiting("CrashLoopBackOff", 12, **LAST_CRASH),
                {**running(restarts=1, **older), "name": "sidecar"},
            ],
        }
    )
    obj["spec"]["containers"].append({"name": "sidecar", "image": "envoy"})
    assert cells("pods", "", obj)[:4] == ["payment-7d9f8b6c5d-x2x7q", "1/2", "CrashLoopBackOff", "13 (12s ago)"]


def test_pod_terminating_unknown_and_completed_with_running_sidecar() -> None:
    deleting = pod({"phase": "Running", "containerStatuses": [running()]})
    deleting["metadata"]["deletionTimestamp"] = ago(seconds=3)
    assert cells("pods", "", deleting)[2] == "Terminating"

    lost = pod({"phase": "Running", "reason": "NodeLost", "containerStatuses": [running()]})
    lost["metadata"]["deletionTimestamp"] = ago(seconds=3)
    assert cells("pods", "", lost)[2] == "Unknown"

    done = pod({"phase": "Succeeded", "containerStatuses": [terminated(0, "Completed")]})
    done["metadata"]["deletionTimestamp"] = ago(seconds=3)
    assert cells("pods", "", done)[2] == "Completed", "terminal pods are never shown as Terminating"

    mixed = pod({"phase": "Running", "containerStatuses": [running(), {**terminated(0, "Completed"), "name": "b"}]})
    mixed["spec"]["containers"].append({"name": "b", "image": "busybox"})
    assert cells("pods", "", mixed)[1:3] == ["1/2", "NotReady"]
    mixed["status"]["conditions"] = READY
    assert cells("pods", "", mixed)[1:3] == ["1/2", "Running"]


def test_pod_sidecar_init_container_and_readiness_gates() -> None:
    obj = pod(
        {
            "phase": "Running",
            "conditions": [*READY, {"type": "example.com/lb", "status": "True"}],
            "initContainerStatuses": [
                {**init_status({"running": {}}, "proxy", restarts=2), "started": True, "ready": True, **LAST_CRASH}
            ],
            "containerStatuses": [running()],
        },
        initContainers=[{"name": "proxy", "image": "envoy", "restartPolicy": "Always"}],
        readinessGates=[{"conditionType": "example.com/lb"}, {"conditionType": "example.com/dns"}],
    )
    row = cells("pods", "", obj)
    assert row[1:4] == ["2/2", "Running", "2 (12s ago)"]
    assert row[8] == "1/2"


def test_pod_row_conditions_for_finished_pods() -> None:
    table = to_table("pods", "", [pod({"phase": "Succeeded"}), pod({"phase": "Failed"}), pod()], now=NOW)
    assert [r.get("conditions") for r in table["rows"]] == [
        [{**cond("Completed"), "reason": "Succeeded", "message": "The pod has completed successfully."}],
        [{**cond("Completed"), "reason": "Failed", "message": "The pod failed."}],
        None,
    ]  # fmt: skip


# --- workloads ----------------------------------------------------------------------------------------------------

TEMPLATE: dict[str, Any] = {
    "metadata": {"labels": {"name": "payment"}},
    "spec": {
        "containers": [
            {"name": "payment", "image": "weaveworksdemos/payment:0.4.3"},
            {"name": "istio-proxy", "image": "istio/proxyv2:1.22"},
        ]
    },
}
SELECTOR = {"matchLabels": {"name": "payment", "app": "sock-shop"}}
CONTAINERS = ["payment,istio-proxy", "weaveworksdemos/payment:0.4.3,istio/proxyv2:1.22"]


def workload(kind: str, spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    obj: dict[str, Any] = {"kind": kind, "metadata": md("payment"), "spec": spec}
    if status is not None:
        obj["status"] = status
    return obj


@pytest.mark.parametrize(
    ("resource", "group", "obj", "expected"),
    [
        ("deployments", "apps",
         workload("Deployment", {"replicas": 3, "selector": SELECTOR, "template": TEMPLATE},
                  {"replicas": 3, "readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}),
         ["payment", "2/3", 3, 2, "5m", *CONTAINERS, "app=sock-shop,name=payment"]),
        ("deployments", "apps", workload("Deployment", {"replicas": 0, "selector": SELECTOR, "template": TEMPLATE}),
         ["payment", "0/0", 0, 0, "5m", *CONTAINERS, "app=sock-shop,name=payment"]),
        ("deployments", "apps", workload("Deployment", {"selector": {
            "matchLabels": {"name": "payment"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["web", "backend"]},
                                 {"key": "canary", "operator": "DoesNotExist"},
                                 {"key": "zone", "operator": "Exists"},
                                 {"key": "env", "operator": "NotIn", "values": ["dev"]}]}, "template": TEMPLATE}),
         ["payment", "0/1", 0, 0, "5m", *CONTAINERS,
          "!canary,env notin (dev),name=payment,tier in (backend,web),zone"]),
        ("replicasets", "apps",
         workload("ReplicaSet", {"replicas": 1, "selector": SELECTOR, "template": TEMPLATE},
                  {"replicas": 1, "readyReplicas": 1, "availableReplicas": 1}),
         ["payment", 1, 1, 1, "5m", *CONTAINERS, "app=sock-shop,name=payment"]),
        ("replicasets", "apps", workload("ReplicaSet", {"replicas": 2, "selector": {}, "template": TEMPLATE}),
         ["payment", 2, 0, 0, "5m", *CONTAINERS, "<none>"]),
        ("replicationcontrollers", "",
         workload("ReplicationController", {"replicas": 2, "selector": {"name": "payment"}, "template": TEMPLATE},
                  {"replicas": 2}),
         ["payment", 2, 2, 0, "5m", *CONTAINERS, "name=payment"]),
        ("statefulsets", "apps",
         workload("StatefulSet", {"replicas": 3, "selector": SELECTOR, "template": TEMPLATE}, {"readyReplicas": 1}),
         ["payment", "1/3", "5m", *CONTAINERS]),
        ("daemonsets", "apps",
         workload("DaemonSet", {"selector": SELECTOR, "template": {**TEMPLATE, "spec": {
             **TEMPLATE["spec"], "nodeSelector": {"kubernetes.io/os": "linux"}}}},
             {"desiredNumberScheduled": 2, "currentNumberScheduled": 2, "numberReady": 1,
              "updatedNumberScheduled": 2, "numberAvailable": 1}),
         ["payment", 2, 2, 1, 2, 1, "kubernetes.io/os=linux", "5m", *CONTAINERS, "app=sock-shop,name=payment"]),
        ("daemonsets", "apps", workload("DaemonSet", {"selector": SELECTOR, "template": TEMPLATE}),
         ["payment", 0, 0, 0, 0, 0, "<none>", "5m", *CONTAINERS, "app=sock-shop,name=payment"]),
    ],
)  # fmt: skip
def test_workload_rows(resource: str, group: str, obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells(resource, group, obj) == expected


def job(spec: dict[str, Any], status: dict[str, Any] | None = None, deleting: bool = False) -> dict[str, Any]:
    obj = workload(
        "Job",
        {
            "template": {"spec": {"containers": [{"name": "load", "image": "weaveworksdemos/load-test"}]}},
            "selector": {"matchLabels": {"batch.kubernetes.io/controller-uid": "abc"}},
            **spec,
        },
        status,
    )
    if deleting:
        obj["metadata"]["deletionTimestamp"] = ago(seconds=1)
    return obj  # fmt: skip


@pytest.mark.parametrize(
    ("obj", "status", "completions", "duration"),
    [
        (job({"completions": 1}), "Running", "0/1", ""),
        (job({"completions": 1}, {"startTime": ago(seconds=40), "active": 1}), "Running", "0/1", "40s"),
        (job({"completions": 1}, {"startTime": ago(minutes=4), "completionTime": ago(minutes=1, seconds=50),
                                   "succeeded": 1, "conditions": [cond("SuccessCriteriaMet"), cond("Complete")]}),
         "Complete", "1/1", "2m10s"),
        (job({"completions": 3, "parallelism": 3}, {"startTime": ago(hours=1), "failed": 4,
                                                     "conditions": [cond("FailureTarget"), cond("Failed")]}),
         "Failed", "0/3", "60m"),
        (job({"parallelism": 2}, {"succeeded": 1}), "Running", "1/1 of 2", ""),
        (job({}, {"conditions": [cond("Suspended")]}), "Suspended", "0/1", ""),
        (job({}, {"conditions": [cond("Suspended", "False")]}), "Running", "0/1", ""),
        (job({}, {"conditions": [cond("FailureTarget")]}), "FailureTarget", "0/1", ""),
        (job({}, {"conditions": [cond("Suspended")]}, deleting=True), "Terminating", "0/1", ""),
    ],
)  # fmt: skip
def test_job_rows(obj: dict[str, Any], status: str, completions: str, duration: str) -> None:
    assert cells("jobs", "batch", obj) == [
        "payment", status, completions, duration, "5m", "load", "weaveworksdemos/load-test",
        "batch.kubernetes.io/controller-uid=abc",
    ]  # fmt: skip


def test_cron_job_rows() -> None:
    spec = {"schedule": "*/5 * * * *", "jobTemplate": {"spec": {"template": TEMPLATE}}}
    assert cells("cronjobs", "batch", workload("CronJob", spec)) == [
        "payment", "*/5 * * * *", "<none>", "False", 0, "<none>", "5m", *CONTAINERS, "<none>"
    ]  # fmt: skip
    busy = workload(
        "CronJob",
        {**spec, "timeZone": "Etc/UTC", "suspend": True},
        {"active": [{"name": "payment-1"}], "lastScheduleTime": ago(seconds=90)},
    )
    assert cells("cronjobs", "batch", busy)[:7] == ["payment", "*/5 * * * *", "Etc/UTC", "True", 1, "90s", "5m"]


def hpa(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    base = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "payment"}, "maxReplicas": 5}
    return workload("HorizontalPodAutoscaler", {**base, **spec}, status)


def cpu(target: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Resource", "resource": {"name": "cpu", "target": target}}


def util(value: int) -> dict[str, Any]:
    return {"type": "Utilization", "averageUtilization": value}


@pytest.mark.parametrize(
    ("obj", "targets", "min_pods", "replicas"),
    [
        (hpa({"minReplicas": 2, "metrics": [cpu(util(80))]},
             {"currentReplicas": 2, "currentMetrics": [{"type": "Resource", "resource": {
                 "name": "cpu", "current": {"averageUtilization": 10, "averageValue": "5m"}}}]}),
         "cpu: 10%/80%", "2", 2),
        (hpa({"minReplicas": 1, "metrics": [cpu(util(80))]}), "cpu: <unknown>/80%", "1", 0),
        (hpa({}), "cpu: <unknown>/80%", "1", 0),
        (hpa({"targetCPUUtilizationPercentage": 50}, {"currentReplicas": 3, "currentCPUUtilizationPercentage": 73}),
         "cpu: 73%/50%", "1", 3),
        (hpa({"metrics": [{"type": "Resource", "resource": {
            "name": "memory", "target": {"type": "AverageValue", "averageValue": "200Mi"}}}]}),
         "memory: <unknown>/200Mi", "1", 0),
        (hpa({"metrics": [cpu(util(80)),
                          {"type": "Pods", "pods": {"metric": {"name": "rps"},
                                                    "target": {"type": "AverageValue", "averageValue": "10"}}},
                          {"type": "External", "external": {"metric": {"name": "queue"},
                                                            "target": {"type": "Value", "value": "30"}}}]},
             {"currentMetrics": [{"type": "Resource",
                                  "resource": {"name": "cpu", "current": {"averageUtilization": 95}}},
                                 {"type": "Pods", "pods": {"current": {"averageValue": "12"}}}]}),
         "cpu: 95%/80%, 12/10 + 1 more...", "1", 0),
        (hpa({"metrics": [{"type": "External", "external": {"metric": {"name": "queue"},
                                                            "target": {"type": "AverageValue", "averageValue": "30"}}},
                          {"type": "Object", "object": {"metric": {"name": "hits"},
                                                        "target": {"type": "Value", "value": "1k"}}}]}),
         "<unknown>/30 (avg), <unknown>/1k", "1", 0),
    ],
)  # fmt: skip
def test_hpa_rows(obj: dict[str, Any], targets: str, min_pods: str, replicas: int) -> None:
    assert cells("horizontalpodautoscalers", "autoscaling", obj) == [
        "payment", "Deployment/payment", targets, min_pods, 5, replicas, "5m"
    ]  # fmt: skip


# --- services and endpoints ---------------------------------------------------------------------------------------


def svc(spec: dict[str, Any], status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"kind": "Service", "metadata": md("payment"), "spec": spec, **({"status": status} if status else {})}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (svc({"type": "ClusterIP", "clusterIP": "10.96.12.7", "clusterIPs": ["10.96.12.7"],
              "selector": {"name": "payment"},
              "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}]}),
         ["payment", "ClusterIP", "10.96.12.7", "<none>", "80/TCP", "5m", "name=payment"]),
        (svc({"clusterIP": "10.96.0.20", "ports": [{"port": 80}, {"port": 53, "protocol": "UDP"}]}),
         ["payment", "ClusterIP", "10.96.0.20", "<none>", "80/TCP,53/UDP", "5m", "<none>"]),
        (svc({"type": "NodePort", "clusterIPs": ["10.96.3.3"], "selector": {"name": "front-end", "app": "x"},
              "ports": [{"port": 80, "nodePort": 30001, "protocol": "TCP"}, {"port": 443, "nodePort": 30443}]}),
         ["payment", "NodePort", "10.96.3.3", "<none>", "80:30001/TCP,443:30443/TCP", "5m", "app=x,name=front-end"]),
        (svc({"clusterIP": "None", "clusterIPs": ["None"], "selector": {"name": "rabbitmq"}}),
         ["payment", "ClusterIP", "None", "<none>", "<none>", "5m", "name=rabbitmq"]),
        (svc({"type": "LoadBalancer", "clusterIPs": ["10.96.4.4"], "ports": [{"port": 80, "nodePort": 31000}]}),
         ["payment", "LoadBalancer", "10.96.4.4", "<pending>", "80:31000/TCP", "5m", "<none>"]),
        (svc({"type": "LoadBalancer", "clusterIPs": ["10.96.4.4"], "externalIPs": ["192.0.2.9"],
              "ports": [{"port": 80, "nodePort": 31000}]},
             {"loadBalancer": {"ingress": [{"ip": "203.0.113.10"}, {"hostname": "lb.example.com"}]}}),
         ["payment", "LoadBalancer", "10.96.4.4", "203.0.113.10,lb.example.com,192.0.2.9", "80:31000/TCP", "5m",
          "<none>"]),
        (svc({"type": "ExternalName", "externalName": "api.stripe.com"}),
         ["payment", "ExternalName", "<none>", "api.stripe.com", "<none>", "5m", "<none>"]),
        (svc({"type": "ClusterIP", "clusterIPs": ["10.96.1.1"], "externalIPs": ["192.0.2.1", "192.0.2.2"]}),
         ["payment", "ClusterIP", "10.96.1.1", "192.0.2.1,192.0.2.2", "<none>", "5m", "<none>"]),
    ],
)  # fmt: skip
def test_service_rows(obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells("services", "", obj) == expected


def addrs(*ips: str) -> list[dict[str, Any]]:
    return [{"ip": ip} for ip in ips]


@pytest.mark.parametrize(
    ("subsets", "expected"),
    [
        (None, "<none>"),
        ([], "<none>"),
        ([{"addresses": addrs("10.244.1.5"), "ports": [{"port": 8080, "protocol": "TCP"}]}], "10.244.1.5:8080"),
        ([{"notReadyAddresses": addrs("10.244.1.5"), "ports": [{"port": 8080}]}], ""),
        ([{"addresses": addrs("10.244.1.5", "10.244.2.6", "10.244.1.7", "10.244.2.8", "10.244.1.9"),
           "ports": [{"port": 80}]}], "10.244.1.5:80,10.244.2.6:80,10.244.1.7:80 + 2 more..."),
        ([{"addresses": addrs("10.244.1.5", "10.244.2.6"), "ports": [{"name": "http", "port": 80},
                                                                      {"name": "amqp", "port": 5672}]}],
         "10.244.1.5:80,10.244.2.6:80,10.244.1.5:5672 + 1 more..."),
        ([{"addresses": addrs("10.244.1.5", "10.244.2.6")}], "10.244.1.5,10.244.2.6"),
        ([{"addresses": addrs("fd00::5"), "ports": [{"port": 80}]}], "[fd00::5]:80"),
    ],
)  # fmt: skip
def test_endpoints_rows(subsets: Any, expected: str) -> None:
    obj: dict[str, Any] = {"kind": "Endpoints", "metadata": md("payment")}
    if subsets is not None:
        obj["subsets"] = subsets
    assert cells("endpoints", "", obj) == ["payment", expected, "5m"]


@pytest.mark.parametrize(
    ("ports", "endpoints", "expected_ports", "expected_endpoints"),
    [
        ([{"name": "http", "port": 80, "protocol": "TCP"}], [{"addresses": ["10.244.1.5"]}], "80", "10.244.1.5"),
        ([], [], "<unset>", "<unset>"),
        ([{"name": "http"}, {}], [{"addresses": [f"10.0.0.{i}"]} for i in range(5)], "http,*",
         "10.0.0.0,10.0.0.1,10.0.0.2 + 2 more..."),
        ([{"port": p} for p in (1, 2, 3, 4)], [{"addresses": ["10.0.0.1", "10.0.0.2"]}], "1,2,3 + 1 more...",
         "10.0.0.1,10.0.0.2"),
    ],
)  # fmt: skip
def test_endpoint_slice_rows(ports: Any, endpoints: Any, expected_ports: str, expected_endpoints: str) -> None:
    obj = {"kind": "EndpointSlice", "metadata": md("payment-abcde"), "addressType": "IPv4", "ports": ports,
           "endpoints": endpoints}  # fmt: skip
    assert cells("endpointslices", "discovery.k8s.io", obj) == [
        "payment-abcde", "IPv4", expected_ports, expected_endpoints, "5m"
    ]  # fmt: skip


# --- nodes, namespaces, config ------------------------------------------------------------------------------------

NODE_INFO = {
    "kubeletVersion": "v1.32.2",
    "osImage": "Debian GNU/Linux 12 (bookworm)",
    "kernelVersion": "6.8.0-1015-gcp",
    "containerRuntimeVersion": "containerd://1.7.24",
}


def node(labels: dict[str, str], conditions: list[Any] | None, unschedulable: bool = False) -> dict[str, Any]:
    meta = {"name": "sockshop-control-plane", "creationTimestamp": ago(days=3, hours=4), "labels": labels}
    status: dict[str, Any] = {
        "nodeInfo": NODE_INFO,
        "addresses": [{"type": "InternalIP", "address": "172.18.0.2"}, {"type": "Hostname", "address": "sockshop"}],
    }
    if conditions is not None:
        status["conditions"] = conditions
    return {"kind": "Node", "metadata": meta, "spec": {"unschedulable": unschedulable}, "status": status}  # fmt: skip


WIDE_NODE = ["172.18.0.2", "<none>", "Debian GNU/Linux 12 (bookworm)", "6.8.0-1015-gcp", "containerd://1.7.24"]


@pytest.mark.parametrize(
    ("obj", "status", "roles"),
    [
        (node({"node-role.kubernetes.io/control-plane": "", "kubernetes.io/os": "linux"},
              [cond("MemoryPressure", "False"), cond("Ready")]), "Ready", "control-plane"),
        (node({"kubernetes.io/os": "linux"}, [cond("Ready", "False")]), "NotReady", "<none>"),
        (node({"node-role.kubernetes.io/worker": "", "node-role.kubernetes.io/infra": "x",
               "kubernetes.io/role": "edge"},
              [cond("Ready", "Unknown")], unschedulable=True), "NotReady,SchedulingDisabled", "edge,infra,worker"),
        (node({"node-role.kubernetes.io/": ""}, None), "Unknown", "<none>"),
    ],
)  # fmt: skip
def test_node_rows(obj: dict[str, Any], status: str, roles: str) -> None:
    assert cells("nodes", "", obj) == ["sockshop-control-plane", status, roles, "3d4h", "v1.32.2", *WIDE_NODE]


def test_node_without_status_wide_cells() -> None:
    bare = {"kind": "Node", "metadata": {"name": "n1", "creationTimestamp": ago(seconds=30)}}
    assert cells("nodes", "", bare) == ["n1", "Unknown", "<none>", "30s", "", "<none>", "<none>", "<unknown>",
                                        "<unknown>", "<unknown>"]  # fmt: skip


@pytest.mark.parametrize(
    ("resource", "obj", "expected"),
    [
        ("namespaces", {"metadata": {"name": "sock-shop", "creationTimestamp": ago(hours=2)},
                        "status": {"phase": "Active"}}, ["sock-shop", "Active", "120m"]),
        ("namespaces", {"metadata": {"name": "sock-shop", "creationTimestamp": ago(hours=9),
                                     "deletionTimestamp": ago(seconds=5)}, "status": {"phase": "Terminating"}},
         ["sock-shop", "Terminating", "9h"]),
        ("namespaces", {"metadata": {"name": "new", "creationTimestamp": ago(seconds=1)}}, ["new", "Active", "1s"]),
        ("configmaps", {"metadata": md("incident-ledger"), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}},
         ["incident-ledger", 3, "5m"]),
        ("configmaps", {"metadata": md("empty")}, ["empty", 0, "5m"]),
        ("secrets", {"metadata": md("stripe-key"), "type": "Opaque", "data": {"key": "c2s="}},
         ["stripe-key", "Opaque", 1, "5m"]),
        ("secrets", {"metadata": md("tls"), "type": "kubernetes.io/tls", "data": {"tls.crt": "", "tls.key": ""}},
         ["tls", "kubernetes.io/tls", 2, "5m"]),
        ("secrets", {"metadata": md("raw"), "stringData": {"a": "x"}, "data": {"a": "eA==", "b": "eQ=="}},
         ["raw", "Opaque", 2, "5m"]),
        ("serviceaccounts", {"metadata": md("default")}, ["default", 0, "5m"]),
        ("serviceaccounts", {"metadata": md("builder"), "secrets": [{"name": "builder-token"}]}, ["builder", 1, "5m"]),
    ],
)  # fmt: skip
def test_simple_core_rows(resource: str, obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells(resource, "", obj) == expected


# --- events -------------------------------------------------------------------------------------------------------


def event(**fields: Any) -> dict[str, Any]:
    base = {
        "metadata": md("stripe-mock.17f3a2b4c5d6e7f8"),
        "involvedObject": {"kind": "Deployment", "namespace": "sock-shop", "name": "stripe-mock"},
        "reason": "ScalingReplicaSet",
        "message": "Scaled down replica set stripe-mock-6b7c8d9f to 0 from 1\n",
        "source": {"component": "deployment-controller"},
        "type": "Normal",
    }
    return {**base, **fields}


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (event(firstTimestamp=ago(minutes=10), lastTimestamp=ago(minutes=5), count=3),
         ["5m", "Normal", "ScalingReplicaSet", "deployment/stripe-mock", "", "deployment-controller",
          "Scaled down replica set stripe-mock-6b7c8d9f to 0 from 1", "10m", 3, "stripe-mock.17f3a2b4c5d6e7f8"]),
        (event(eventTime="2026-11-02T11:59:18.123456Z", reportingComponent="kubelet", reportingInstance="node-1",
               source={}, involvedObject={"kind": "Pod", "name": "payment-x", "fieldPath": "spec.containers{payment}"},
               type="Warning", reason="BackOff", message="Back-off restarting failed container"),
         ["41s", "Warning", "BackOff", "pod/payment-x", "spec.containers{payment}", "kubelet, node-1",
          "Back-off restarting failed container", "41s", 1, "stripe-mock.17f3a2b4c5d6e7f8"]),
        (event(eventTime=ago(minutes=30), series={"count": 7, "lastObservedTime": ago(seconds=20)},
               source={"component": "kubelet", "host": "sockshop-worker"}),
         ["20s", "Normal", "ScalingReplicaSet", "deployment/stripe-mock", "", "kubelet, sockshop-worker",
          "Scaled down replica set stripe-mock-6b7c8d9f to 0 from 1", "30m", 7, "stripe-mock.17f3a2b4c5d6e7f8"]),
        (event(involvedObject={"kind": "Node"}, source={}),
         ["<unknown>", "Normal", "ScalingReplicaSet", "node", "", "",
          "Scaled down replica set stripe-mock-6b7c8d9f to 0 from 1", "<unknown>", 1, "stripe-mock.17f3a2b4c5d6e7f8"]),
    ],
)  # fmt: skip
def test_core_event_rows(obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells("events", "", obj) == expected


def test_events_k8s_io_rows_use_the_same_printer() -> None:
    new_style = {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": md("payment.1"),
        "eventTime": ago(minutes=2),
        "series": {"count": 4, "lastObservedTime": ago(seconds=15)},
        "reportingController": "kubelet",
        "reportingInstance": "sockshop-worker",
        "regarding": {"kind": "Pod", "name": "payment-x", "fieldPath": "spec.containers{payment}"},
        "reason": "Unhealthy",
        "note": "Readiness probe failed: connection refused",
        "type": "Warning",
    }
    assert cells("events", "events.k8s.io", new_style) == [
        "15s", "Warning", "Unhealthy", "pod/payment-x", "spec.containers{payment}", "kubelet, sockshop-worker",
        "Readiness probe failed: connection refused", "2m", 4, "payment.1",
    ]  # fmt: skip
    assert header("events", "events.k8s.io") == header("events", "")


# --- coordination, storage, scheduling, rbac, networking ----------------------------------------------------------


@pytest.mark.parametrize(
    ("resource", "group", "obj", "expected"),
    [
        ("leases", "coordination.k8s.io", {"metadata": md("incident-lock"), "spec": {"holderIdentity": "runner-1"}},
         ["incident-lock", "runner-1", "5m"]),
        ("leases", "coordination.k8s.io", {"metadata": md("free"), "spec": {}}, ["free", "", "5m"]),
        ("persistentvolumeclaims", "", {"metadata": md("data"), "status": {"phase": "Pending"}, "spec": {
            "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}},
         ["data", "Pending", "", "", "", "", "<unset>", "5m", "<unset>"]),
        ("persistentvolumeclaims", "", {"metadata": md("data"), "spec": {
            "accessModes": ["ReadWriteOnce"], "volumeName": "pvc-1234", "storageClassName": "standard",
            "volumeMode": "Filesystem"}, "status": {"phase": "Bound", "capacity": {"storage": "1Gi"},
                                                     "accessModes": ["ReadWriteMany", "ReadWriteOnce"]}},
         ["data", "Bound", "pvc-1234", "1Gi", "RWO,RWX", "standard", "<unset>", "5m", "Filesystem"]),
        ("persistentvolumes", "", {"metadata": md("pvc-1234"), "spec": {
            "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "persistentVolumeReclaimPolicy": "Delete",
            "claimRef": {"namespace": "sock-shop", "name": "data"}, "storageClassName": "standard",
            "volumeMode": "Filesystem"}, "status": {"phase": "Bound"}},
         ["pvc-1234", "1Gi", "RWO", "Delete", "Bound", "sock-shop/data", "standard", "<unset>", "", "5m",
          "Filesystem"]),
        ("storageclasses", "storage.k8s.io", {"metadata": md("standard", annotations={
            "storageclass.kubernetes.io/is-default-class": "true"}), "provisioner": "rancher.io/local-path",
            "reclaimPolicy": "Delete", "volumeBindingMode": "WaitForFirstConsumer"},
         ["standard (default)", "rancher.io/local-path", "Delete", "WaitForFirstConsumer", False, "5m"]),
        ("storageclasses", "storage.k8s.io", {"metadata": md("fast"), "provisioner": "pd.csi.storage.gke.io",
                                              "allowVolumeExpansion": True},
         ["fast", "pd.csi.storage.gke.io", "Delete", "Immediate", True, "5m"]),
        ("priorityclasses", "scheduling.k8s.io", {"metadata": md("system-node-critical"), "value": 2000001000,
                                                  "globalDefault": False, "preemptionPolicy": "PreemptLowerPriority"},
         ["system-node-critical", 2000001000, False, "5m", "PreemptLowerPriority"]),
        ("rolebindings", "rbac.authorization.k8s.io", {"metadata": md("runner"), "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "edit"}, "subjects": [
            {"kind": "ServiceAccount", "name": "runner", "namespace": "sock-shop"},
            {"kind": "User", "name": "alice"}, {"kind": "User", "name": "bob"},
            {"kind": "Group", "name": "sre"}]},
         ["runner", "ClusterRole/edit", "5m", "alice, bob", "sre", "sock-shop/runner"]),
        ("clusterrolebindings", "rbac.authorization.k8s.io", {"metadata": md("admin"), "roleRef": {
            "kind": "ClusterRole", "name": "cluster-admin"}}, ["admin", "ClusterRole/cluster-admin", "5m", "", "", ""]),
        ("ingresses", "networking.k8s.io", {"metadata": md("front-end"), "spec": {
            "ingressClassName": "nginx", "tls": [{"hosts": ["shop.example.com"]}],
            "rules": [{"host": "shop.example.com"}, {}, {"host": "a.example.com"}, {"host": "b.example.com"},
                      {"host": "c.example.com"}]}, "status": {"loadBalancer": {"ingress": [{"ip": "172.18.0.5"}]}}},
         ["front-end", "nginx", "shop.example.com,a.example.com,b.example.com + 2 more...", "172.18.0.5", "80, 443",
          "5m"]),
        ("ingresses", "networking.k8s.io", {"metadata": md("catch-all"), "spec": {"rules": [{}]}},
         ["catch-all", "<none>", "*", "", "80", "5m"]),
        ("networkpolicies", "networking.k8s.io", {"metadata": md("deny"), "spec": {"podSelector": {}}},
         ["deny", "<none>", "5m"]),
        ("poddisruptionbudgets", "policy", {"metadata": md("payment"), "spec": {"minAvailable": 1},
                                            "status": {"disruptionsAllowed": 0}}, ["payment", "1", "N/A", 0, "5m"]),
        ("poddisruptionbudgets", "policy", {"metadata": md("orders"), "spec": {"maxUnavailable": "50%"}},
         ["orders", "N/A", "50%", 0, "5m"]),
        ("controllerrevisions", "apps", {"metadata": md("rabbitmq-5d8f", ownerReferences=[
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "rabbitmq", "controller": True}]), "revision": 2},
         ["rabbitmq-5d8f", "statefulset.apps/rabbitmq", 2, "5m"]),
        ("resourcequotas", "", {"metadata": md("quota"), "status": {
            "hard": {"pods": "10", "limits.cpu": "4", "requests.cpu": "2"},
            "used": {"pods": "3", "limits.cpu": "1", "requests.cpu": "500m"}}},
         ["quota", "pods: 3/10, requests.cpu: 500m/2", "limits.cpu: 1/4", "5m"]),
    ],
)  # fmt: skip
def test_cluster_rows(resource: str, group: str, obj: dict[str, Any], expected: list[Any]) -> None:
    assert cells(resource, group, obj) == expected


# --- default printers, include_object, table envelope --------------------------------------------------------------


def test_builtin_kind_without_printer_shows_created_at() -> None:
    role = {"metadata": {"name": "pod-reader", "creationTimestamp": "2026-10-30T08:15:00Z"}}
    assert cells("roles", "rbac.authorization.k8s.io", role) == ["pod-reader", "2026-10-30T08:15:00Z"]
    assert cells("clusterroles", "rbac.authorization.k8s.io", {"metadata": {"name": "x"}}) == [
        "x", "0001-01-01T00:00:00Z"
    ]  # fmt: skip


def test_custom_resource_without_printer_columns_shows_age() -> None:
    widget = {"metadata": {"name": "w1", "creationTimestamp": ago(days=400)}}
    assert cells("widgets", "example.com", widget) == ["w1", "400d"]
    assert cells("widgets", "example.com", {"metadata": {"name": "w2"}}) == ["w2", "<unknown>"]


def test_include_object_modes_and_envelope() -> None:
    obj = pod({"phase": "Running", "containerStatuses": [running()]})
    meta_only = to_table("pods", "", [obj], now=NOW, list_meta={"resourceVersion": "42"})
    assert {k: v for k, v in meta_only.items() if k not in ("columnDefinitions", "rows")} == {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": "42"}
    }  # fmt: skip
    assert meta_only["rows"][0]["object"] == {
        "kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": obj["metadata"]
    }  # fmt: skip
    full = to_table("pods", "", [obj], now=NOW, include_object="Object")
    assert full["rows"][0]["object"] == obj
    full["rows"][0]["object"]["metadata"]["name"] = "changed"
    assert obj["metadata"]["name"] == "payment-7d9f8b6c5d-x2x7q", "the row must hold a copy"
    bare = to_table("pods", "", [obj], now=NOW, include_object="None")
    assert "object" not in bare["rows"][0]
    assert to_table("pods", "", [], now=NOW)["metadata"] == {}
    with pytest.raises(ValueError, match="includeObject"):
        to_table("pods", "", [obj], now=NOW, include_object="Full")


def test_rows_keep_the_given_order_and_naive_now_is_utc() -> None:
    first = {"metadata": {"name": "b", "creationTimestamp": ago(seconds=10)}, "data": {}}
    second = {"metadata": {"name": "a", "creationTimestamp": ago(hours=30)}, "data": {}}
    table = to_table("configmaps", "", [first, second], now=NOW.replace(tzinfo=None))
    assert [r["cells"] for r in table["rows"]] == [["b", 0, "10s"], ["a", 0, "30h"]]
