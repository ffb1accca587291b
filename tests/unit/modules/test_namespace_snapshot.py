"""namespace_snapshot and sockshop_snapshot: what a whole-namespace recovery proof sees, and what it ignores."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import sockshop_snapshot as snap
from ansible.module_utils.sockshop_incident import IncidentError

from plugins.modules import namespace_snapshot

NS = "sock-shop"


def deployment(name: str, replicas: int = 1, image: str = "img:1", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": NS,
            "uid": f"uid-d-{name}",
            "resourceVersion": "10",
            "generation": 1,
            "creationTimestamp": "2026-11-23T08:00:00Z",
            "managedFields": [{"manager": "kubectl"}],
            "labels": {"name": name},
            "annotations": {"deployment.kubernetes.io/revision": "1", **annotations},
        },
        "spec": {
            "replicas": replicas,
            "template": {
                "spec": {"containers": [{"name": name, "image": image, "env": [{"name": "A", "value": "1"}]}]}
            },
        },
        "status": {
            "replicas": replicas,
            "availableReplicas": replicas,
            "observedGeneration": 1,
            "conditions": [{"type": "Available", "lastUpdateTime": "2026-11-23T08:00:01Z"}],
        },
    }


def replicaset(name: str, deploy: str, replicas: int = 1) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": name,
            "uid": f"uid-rs-{name}",
            "annotations": {"deployment.kubernetes.io/desired-replicas": str(replicas)},
            "ownerReferences": [{"kind": "Deployment", "name": deploy, "controller": True}],
        },
        "spec": {"replicas": replicas},
        "status": {"replicas": replicas},
    }


def pod(name: str, rs: str, uid: str, *, restarts: int = 0, ready: bool = True, node: str = "worker") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "uid": uid,
            "labels": {"name": rs.rsplit("-", 1)[0], "pod-template-hash": rs.rsplit("-", 1)[1]},
            "ownerReferences": [{"kind": "ReplicaSet", "name": rs, "controller": True}],
        },
        "spec": {
            "nodeName": node,
            "containers": [
                {
                    "name": "main",
                    "image": "img:1",
                    "volumeMounts": [{"name": "kube-api-access-x1y2z", "mountPath": "/var"}],
                }
            ],
            "volumes": [{"name": f"kube-api-access-{uid[-5:]}"}],
        },
        "status": {
            "phase": "Running",
            "podIP": f"10.0.0.{len(uid)}",
            "containerStatuses": [{"name": "main", "ready": ready, "restartCount": restarts}],
        },
    }


def endpoints(name: str, ips: list[str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {
            "name": name,
            "uid": f"uid-ep-{name}",
            "annotations": {snap.ENDPOINT_TRIGGER: "2026-11-23T08:00:00Z"},
        },
        "subsets": [{"addresses": [{"ip": ip} for ip in ips], "ports": [{"name": "http", "port": 8080}]}]
        if ips
        else [],
    }


def shop() -> list[dict[str, Any]]:
    """Two workloads: payment (must not restart) and stripe-mock (the faulted one), with their pods."""
    return [
        deployment("payment"),
        deployment("stripe-mock"),
        replicaset("payment-aaa", "payment"),
        replicaset("stripe-mock-bbb", "stripe-mock"),
        pod("payment-aaa-1", "payment-aaa", "uid-p-1"),
        pod("stripe-mock-bbb-1", "stripe-mock-bbb", "uid-s-1"),
        endpoints("stripe-mock", ["10.0.0.1"]),
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "datadog-secret", "uid": "uid-sec"},
            "data": {"api-key": "c2VjcmV0LXZhbHVl"},
        },
        {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "ev.1", "uid": "uid-ev"}, "reason": "Scaled"},
    ]


def build(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return snap.build(NS, copy.deepcopy(objects), "2026-11-23T08:00:00.000Z")


def edited(change: Any) -> list[dict[str, Any]]:
    objects = copy.deepcopy(shop())
    change({f"{o['kind']}/{o['metadata']['name']}": o for o in objects}, objects)
    return objects


def set_path(obj: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        obj = obj[int(part)] if isinstance(obj, list) else obj[part]
    obj[last] = value


def new_endpoint_address(endpoints: dict[str, Any]) -> None:
    """A replaced pod behind a Service: a new address, and the controller's trigger time moves on."""
    set_path(endpoints, "subsets.0.addresses", [{"ip": "10.9.9.9"}])
    set_path(endpoints, "metadata.annotations", {snap.ENDPOINT_TRIGGER: "2026-11-23T09:00:00Z"})


BOOKKEEPING = {
    "resourceVersion": lambda o, _: set_path(o["Deployment/payment"], "metadata.resourceVersion", "99"),
    "generation": lambda o, _: set_path(o["Deployment/payment"], "metadata.generation", 7),
    "managedFields": lambda o, _: set_path(o["Deployment/payment"], "metadata.managedFields", []),
    "revision annotation": lambda o, _: set_path(
        o["Deployment/payment"], "metadata.annotations", {"deployment.kubernetes.io/revision": "3"}
    ),
    "conditions and observedGeneration": lambda o, _: set_path(
        o["Deployment/payment"], "status", {"replicas": 1, "availableReplicas": 1, "observedGeneration": 5}
    ),
    "a replaced pod of the faulted workload": lambda _, objs: objs.__setitem__(
        5, pod("stripe-mock-bbb-2", "stripe-mock-bbb", "uid-s-2", node="other")
    ),
    "a restart in the faulted workload": lambda o, _: set_path(
        o["Pod/stripe-mock-bbb-1"], "status.containerStatuses.0.restartCount", 4
    ),
    "endpoint addresses": lambda o, _: new_endpoint_address(o["Endpoints/stripe-mock"]),
    "last-applied configuration": lambda o, _: set_path(
        o["Deployment/payment"],
        "metadata.annotations",
        {"deployment.kubernetes.io/revision": "1", "kubectl.kubernetes.io/last-applied-configuration": "{}"},
    ),
    "events": lambda _, objs: objs.append({"kind": "Event", "metadata": {"name": "ev.2", "uid": "u2"}}),
    "rollout history": lambda _, objs: objs.append(replicaset("payment-old", "payment", replicas=0)),
    "endpointslices": lambda _, objs: objs.append({"kind": "EndpointSlice", "metadata": {"name": "s-x", "uid": "u3"}}),
}


@pytest.mark.parametrize("change", BOOKKEEPING.values(), ids=BOOKKEEPING.keys())
def test_bookkeeping_is_not_a_difference(change: Any) -> None:
    assert snap.compare(build(shop()), build(edited(change)), faulted=["Deployment/stripe-mock"]) == []


STATE = [
    (
        "replicas",
        lambda o, _: set_path(o["Deployment/stripe-mock"], "spec.replicas", 0),
        [("Deployment/stripe-mock", "spec.replicas", 1, 0)],
    ),
    (
        "image",
        lambda o, _: set_path(o["Deployment/payment"], "spec.template.spec.containers.0.image", "img:2"),
        [("Deployment/payment", "spec.template.spec.containers[0].image", "img:1", "img:2")],
    ),
    (
        "env",
        lambda o, _: set_path(o["Deployment/payment"], "spec.template.spec.containers.0.env.0.value", "2"),
        [("Deployment/payment", "spec.template.spec.containers[0].env[0].value", "1", "2")],
    ),
    (
        "resources",
        lambda o, _: set_path(
            o["Deployment/payment"], "spec.template.spec.containers.0.resources", {"limits": {"cpu": "50m"}}
        ),
        [("Deployment/payment", "spec.template.spec.containers[0].resources", snap.ABSENT, {"limits": {"cpu": "50m"}})],
    ),
    (
        "label",
        lambda o, _: set_path(o["Deployment/payment"], "metadata.labels.team", "x"),
        [("Deployment/payment", "metadata.labels.team", snap.ABSENT, "x")],
    ),
    (
        "annotation",
        lambda o, _: set_path(o["Deployment/payment"], "metadata.annotations", {"note": "x"}),
        [("Deployment/payment", "metadata.annotations.note", snap.ABSENT, "x")],
    ),
    (
        "available replicas",
        lambda o, _: set_path(o["Deployment/payment"], "status.availableReplicas", 0),
        [("Deployment/payment", "status.availableReplicas", 1, 0)],
    ),
    (
        "recreated object",
        lambda o, _: set_path(o["Deployment/payment"], "metadata.uid", "uid-new"),
        [("Deployment/payment", "metadata.uid", "uid-d-payment", "uid-new")],
    ),
    (
        "left-over lock",
        lambda _, objs: objs.append({"kind": "ConfigMap", "metadata": {"name": "sockshop-incident-lock", "uid": "u"}}),
        [("ConfigMap/sockshop-incident-lock", "", "<absent>", "present")],
    ),
    (
        "deleted service endpoints",
        lambda _, objs: objs.remove(next(x for x in objs if x["kind"] == "Endpoints")),
        [("Endpoints/stripe-mock", "", "present", "<absent>")],
    ),
    (
        "no ready endpoint",
        lambda o, _: set_path(o["Endpoints/stripe-mock"], "subsets", []),
        [("Endpoints/stripe-mock", "subsets", [{"ports": ["http:8080/TCP"], "ready": 1, "not_ready": 0}], [])],
    ),
    (
        "secret value",
        lambda o, _: set_path(o["Secret/datadog-secret"], "data.api-key", "b3RoZXI="),
        [("Secret/datadog-secret", "data.api-key", snap.digest("c2VjcmV0LXZhbHVl"), snap.digest("b3RoZXI="))],
    ),
    (
        "a restart outside the fault",
        lambda o, _: set_path(o["Pod/payment-aaa-1"], "status.containerStatuses.0.restartCount", 1),
        [("Pod/payment-aaa-1", "restarts.main", 0, 1)],
    ),
    (
        "a pod replaced outside the fault",
        lambda _, objs: objs.__setitem__(4, pod("payment-aaa-2", "payment-aaa", "uid-p-2")),
        [("Pod/payment-aaa-1", "replaced", "uid-p-1", "gone")],
    ),
    (
        "a faulted pod not ready",
        lambda o, _: set_path(o["Pod/stripe-mock-bbb-1"], "status.containerStatuses.0.ready", False),
        [("pods of Deployment/stripe-mock", "ready[0]", "main=True", "main=False")],
    ),
    (
        "a faulted workload with no pod",
        lambda _, objs: objs.pop(5),
        [("pods of Deployment/stripe-mock", "count", 1, 0)],
    ),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in STATE], ids=[n for n, _, _ in STATE])
def test_state_is_a_difference(change: Any, expected: list[tuple[str, str, Any, Any]]) -> None:
    found = snap.compare(build(shop()), build(edited(change)), faulted=["Deployment/stripe-mock"])
    assert [(d["object"], d["field"], d["before"], d["after"]) for d in found] == expected


def test_a_secret_never_lands_in_the_snapshot() -> None:
    text = json.dumps(build(shop()))
    assert "c2VjcmV0LXZhbHVl" not in text and "secret-value" not in text
    assert snap.digest("c2VjcmV0LXZhbHVl") in text


def test_describe_reads_as_one_line() -> None:
    found = snap.compare(build(shop()), build(edited(STATE[0][1])))
    assert snap.describe(found) == "Deployment/stripe-mock spec.replicas: 1 -> 0"
    assert snap.describe([]) == ""


# ---------------------------------------------------------------- the module's run()


class Live:
    """The live namespace the module reads: a list of raw objects, snapshotted on each call."""

    def __init__(self, objects: list[dict[str, Any]]) -> None:
        self.objects = objects
        self.calls = 0

    def __call__(self, now: str) -> dict[str, Any]:
        self.calls += 1
        return snap.build(NS, copy.deepcopy(self.objects), now)


def params(path: Path, **extra: Any) -> dict[str, Any]:
    return {"namespace": NS, "path": str(path), "state": "present", "faulted": [], "force": False, **extra}


def test_present_records_once_then_keeps(tmp_path: Path) -> None:
    path = tmp_path / "b" / "baseline.json"
    live = Live(shop())
    first = namespace_snapshot.decide(live, params(path), check_mode=False)
    assert (first["changed"], first["action"], first["objects"]) == (True, "recorded", {"objects": 6, "pods": 2})
    written = path.read_text()
    live.objects = edited(STATE[0][1])
    again = namespace_snapshot.decide(live, params(path), check_mode=False)
    assert (again["changed"], again["action"], again["taken_at"]) == (False, "kept", first["taken_at"])
    assert path.read_text() == written and live.calls == 1
    forced = namespace_snapshot.decide(live, params(path, force=True), check_mode=False)
    assert (
        forced["action"] == "recorded"
        and json.loads(path.read_text())["objects"]["Deployment/stripe-mock"]["spec"]["replicas"] == 0
    )


def test_present_in_check_mode_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    result = namespace_snapshot.decide(Live(shop()), params(path), check_mode=True)
    assert (result["changed"], result["action"]) == (True, "would_record")
    assert not path.exists() and not list(tmp_path.iterdir())


def test_diff_finds_the_change_and_its_restore(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    live = Live(shop())
    namespace_snapshot.decide(live, params(path), check_mode=False)
    live.objects = edited(STATE[0][1])
    broken = namespace_snapshot.decide(live, params(path, state="diff"), check_mode=True)
    assert broken["changed"] is False
    assert broken["summary"] == "Deployment/stripe-mock spec.replicas: 1 -> 0"
    live.objects = shop()
    assert namespace_snapshot.decide(live, params(path, state="diff"), check_mode=False)["summary"] == "no differences"


@pytest.mark.parametrize(
    ("content", "state", "message"),
    [
        (None, "diff", "no baseline at .*: record one with state=present before the incident"),
        ("{not json", "diff", "cannot read the baseline .*Take it again with state=present force=true"),
        ('{"objects": {}}', "present", "is not a namespace baseline"),
        ('{"namespace": "other", "objects": {}, "pods": {}, "taken_at": "x"}', "diff", "baseline of namespace other"),
        ('{"namespace": "other", "objects": {}, "pods": {}, "taken_at": "x"}', "present", "Use another path"),
    ],
)
def test_bad_baselines_are_refused(tmp_path: Path, content: str | None, state: str, message: str) -> None:
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    live = Live(shop())
    with pytest.raises(IncidentError, match=message):
        namespace_snapshot.decide(live, params(path, state=state), check_mode=False)
    assert live.calls == 0


class _Discovered:
    def __init__(self, group_version: str, kind: str, name: str, verbs: list[str]) -> None:
        self.group_version, self.kind, self.name, self.verbs = group_version, kind, name, verbs


class _Discovery:
    """The dynamic client's `resources.search`, answering what the embedded cluster's discovery lists."""

    def __init__(self, found: list[_Discovered]) -> None:
        self.found = found

    def search(self, **_: Any) -> list[_Discovered]:
        return self.found


def test_only_stored_objects_are_snapshotted_not_metrics_computed_per_read() -> None:
    crud = ["create", "delete", "get", "list", "patch", "update", "watch"]
    client = type("Client", (), {})()
    client.resources = _Discovery(
        [
            _Discovered("apps/v1", "Deployment", "deployments", crud),
            _Discovered("apps/v1", "Deployment", "deployments/scale", ["get", "patch", "update"]),
            _Discovered("v1", "Event", "events", crud),
            _Discovered("v1", "Pod", "pods", crud),
            _Discovered("metrics.k8s.io/v1beta1", "PodMetrics", "pods", ["get", "list"]),
            _Discovered("v1", "Binding", "bindings", ["create"]),
        ]
    )
    assert snap.listable_kinds(client) == [("apps/v1", "Deployment"), ("v1", "Pod")]
