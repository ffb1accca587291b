"""namespace_snapshot and sockshop_snapshot: what a whole-namespace recovery proof sees, and what it ignores."""

from __future__ import annotations

import copy
import json
import types
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils import sockshop_snapshot as snap
from ansible.module_utils.sockshop_incident import IncidentError

from plugins.modules import namespace_snapshot
from tests.unit.modules.incident_fakes import FakeConfigMaps

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
    return {
        "namespace": NS,
        "path": str(path),
        "state": "present",
        "faulted": [],
        "force": False,
        "replaceable_pods": False,
        "wait_s": 0,
        **extra,
    }


def decide(live: Live, p: dict[str, Any], check_mode: bool, writer: Any = None) -> dict[str, Any]:
    baseline = namespace_snapshot.FileBaseline(p["path"])
    return namespace_snapshot.decide(live, baseline, p, check_mode, writer=writer, clock=CLOCK)


# A clock for restore's wait that never sleeps: each sleep moves monotonic time on by one poll.
class _Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def now(self) -> str:
        return "2026-12-07T11:00:00.000Z"

    def monotonic(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.t += s


_CLOCK = _Clock()
CLOCK = (_CLOCK.now, _CLOCK.monotonic, _CLOCK.sleep)


def test_present_records_once_then_keeps(tmp_path: Path) -> None:
    path = tmp_path / "b" / "baseline.json"
    live = Live(shop())
    first = decide(live, params(path), check_mode=False)
    assert (first["changed"], first["action"], first["objects"]) == (True, "recorded", {"objects": 6, "pods": 2})
    written = path.read_text()
    live.objects = edited(STATE[0][1])
    again = decide(live, params(path), check_mode=False)
    assert (again["changed"], again["action"], again["taken_at"]) == (False, "kept", first["taken_at"])
    assert path.read_text() == written and live.calls == 1
    forced = decide(live, params(path, force=True), check_mode=False)
    assert (
        forced["action"] == "recorded"
        and json.loads(path.read_text())["objects"]["Deployment/stripe-mock"]["spec"]["replicas"] == 0
    )


def test_present_in_check_mode_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    result = decide(Live(shop()), params(path), check_mode=True)
    assert (result["changed"], result["action"]) == (True, "would_record")
    assert not path.exists() and not list(tmp_path.iterdir())


def test_diff_finds_the_change_and_its_restore(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    live = Live(shop())
    decide(live, params(path), check_mode=False)
    live.objects = edited(STATE[0][1])
    broken = decide(live, params(path, state="diff"), check_mode=True)
    assert broken["changed"] is False
    assert broken["summary"] == "Deployment/stripe-mock spec.replicas: 1 -> 0"
    live.objects = shop()
    assert decide(live, params(path, state="diff"), check_mode=False)["summary"] == "no differences"


@pytest.mark.parametrize(
    ("content", "state", "message"),
    [
        (None, "diff", "no baseline at .*: record one with state=present before the incident"),
        ("{not json", "diff", "cannot read the baseline .*Take it again with state=present force=true"),
        ('{"objects": {}}', "present", "is not a namespace baseline"),
        ('{"namespace": "other", "objects": {}, "pods": {}, "taken_at": "x"}', "diff", "baseline of namespace other"),
        ('{"namespace": "other", "objects": {}, "pods": {}, "taken_at": "x"}', "present", "Use another one"),
    ],
)
def test_bad_baselines_are_refused(tmp_path: Path, content: str | None, state: str, message: str) -> None:
    path = tmp_path / "baseline.json"
    if content is not None:
        path.write_text(content)
    live = Live(shop())
    with pytest.raises(IncidentError, match=message):
        decide(live, params(path, state=state), check_mode=False)
    assert live.calls == 0


class _Discovered:
    def __init__(self, group_version: str, kind: str, name: str, verbs: list[str], namespaced: bool = True) -> None:
        self.group_version, self.kind, self.name, self.verbs = group_version, kind, name, verbs
        self.namespaced = namespaced


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
            # the dynamic client's search(namespaced=True) answers cluster-scoped kinds too
            _Discovered("v1", "Namespace", "namespaces", crud, namespaced=False),
        ]
    )
    assert snap.listable_kinds(client) == [("apps/v1", "Deployment"), ("v1", "Pod")]


class _NotFound(Exception):
    status = 404


class _Lister:
    def __init__(self, items: list[dict[str, Any]] | None) -> None:
        self.items = items

    def get(self, namespace: str) -> Any:
        if self.items is None:
            raise _NotFound(f"404: the server could not find the requested resource ({namespace})")
        return types.SimpleNamespace(to_dict=lambda: {"items": self.items})


class _CachedDiscovery(_Discovery):
    """Discovery read from a cache that still lists `stale` kinds the server no longer serves (404 on a list)."""

    def __init__(self, served: list[_Discovered], stale: list[_Discovered], refreshed: list[_Discovered]) -> None:
        super().__init__(served + stale)
        self.served, self.refreshed, self.invalidated = {d.kind for d in served}, refreshed, 0

    def invalidate_cache(self) -> None:
        self.invalidated += 1
        self.found = self.refreshed

    def get(self, api_version: str, kind: str) -> _Lister:
        name = kind.lower()
        return _Lister([{"metadata": {"name": f"{name}-1"}}] if kind in self.served else None)


CRUD = ["create", "delete", "get", "list", "patch", "update", "watch"]
SERVED = [_Discovered("v1", "ConfigMap", "configmaps", CRUD)]
GONE_CRD = [_Discovered("ta275f0.example.com/v1", "CronTab", "crontabs", CRUD)]


@pytest.mark.parametrize(
    ("refreshed", "invalidated", "raises"),
    [(SERVED, 1, False), (SERVED + GONE_CRD, 1, True)],
    ids=["stale-cache-refreshed", "still-404-after-refresh"],
)
def test_a_kind_the_cached_discovery_lists_but_the_server_does_not_serve_refreshes_discovery_once(
    refreshed: list[_Discovered], invalidated: int, raises: bool
) -> None:
    """CI: a CRD test's cluster and a later one had the same address; the later snapshot listed crontabs (404)."""
    client = type("Client", (), {})()
    client.resources = _CachedDiscovery(SERVED, GONE_CRD, refreshed)
    if raises:
        with pytest.raises(_NotFound):
            snap.take(client, "sock-shop", "now")
    else:
        taken = snap.take(client, "sock-shop", "now")
        assert list(taken["objects"]) == ["ConfigMap/configmap-1"]
    assert client.resources.invalidated == invalidated


# ---------------------------------------------------------------- responder mode: in the cluster, collateral, revert


def test_a_pod_replaced_by_an_identical_one_is_no_collateral() -> None:
    replaced = edited(lambda _, objs: objs.__setitem__(4, pod("payment-aaa-2", "payment-aaa", "uid-p-2")))
    assert snap.compare(build(shop()), build(replaced), replaceable=True) == []
    restarted = edited(lambda o, _: set_path(o["Pod/payment-aaa-1"], "status.containerStatuses.0.restartCount", 2))
    found = snap.compare(build(shop()), build(restarted), replaceable=True)
    assert [(d["object"], d["field"], d["after"]) for d in found] == [("Pod/payment-aaa-1", "restarts.main", 2)]


def test_the_baseline_lives_in_a_configmap_compressed_and_is_deleted_with_absent() -> None:
    store = FakeConfigMaps("sock-shop-incidents")
    baseline = namespace_snapshot.ConfigMapBaseline(store, "sockshop-incident-6-baseline")
    p = {**params(Path("unused")), "path": None}
    live = Live(shop())
    first = namespace_snapshot.decide(live, baseline, p, check_mode=False)
    assert (first["action"], store.namespace_made) == ("recorded", True)
    stored = store.get("sockshop-incident-6-baseline")
    assert stored is not None and list(stored["binaryData"]) == ["baseline.json.gz"] and "data" not in stored
    assert "c2VjcmV0LXZhbHVl" not in json.dumps(stored)  # compressed, and the secret is a digest anyway
    again = namespace_snapshot.decide(live, baseline, p, check_mode=False)
    assert (again["changed"], again["action"]) == (False, "kept")
    live.objects = edited(STATE[0][1])
    compared = namespace_snapshot.decide(live, baseline, {**p, "state": "diff"}, check_mode=False)
    assert compared["summary"] == "Deployment/stripe-mock spec.replicas: 1 -> 0"
    would = namespace_snapshot.decide(live, baseline, {**p, "state": "absent"}, check_mode=True)
    assert (would["changed"], would["action"], store.get("sockshop-incident-6-baseline") is not None) == (
        True,
        "would_delete",
        True,
    )
    gone = namespace_snapshot.decide(live, baseline, {**p, "state": "absent"}, check_mode=False)
    again = namespace_snapshot.decide(live, baseline, {**p, "state": "absent"}, check_mode=False)
    assert (gone["action"], again["action"], again["changed"]) == ("deleted", "absent", False)


def test_a_configmap_without_the_baseline_key_is_refused() -> None:
    store = FakeConfigMaps("sock-shop-incidents")
    store.create({"metadata": {"name": "b"}, "data": {"x": "y"}})
    baseline = namespace_snapshot.ConfigMapBaseline(store, "b")
    with pytest.raises(IncidentError, match=r"ConfigMap sock-shop-incidents/b has no baseline\.json\.gz"):
        namespace_snapshot.decide(Live(shop()), baseline, {**params(Path("x")), "state": "diff"}, check_mode=False)


def hpa(name: str, target: int = 80) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "uid": f"uid-h-{name}", "resourceVersion": "5"},
        "spec": {"minReplicas": 1, "maxReplicas": 3, "metrics": [{"target": target}]},
        "status": {"currentReplicas": 1},
    }


REVERTS = [
    ("nothing changed", lambda o, objs: None, []),
    ("status only", lambda o, _: set_path(o["Deployment/payment"], "status.availableReplicas", 0), []),
    (
        "an image",
        lambda o, _: set_path(o["Deployment/payment"], "spec.template.spec.containers.0.image", "img:2"),
        [("replace", "Deployment", "payment")],
    ),
    (
        "a rollout restart",
        lambda o, _: set_path(
            o["Deployment/payment"],
            "spec.template.metadata",
            {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-12-07T11:00:00Z"}},
        ),
        [("replace", "Deployment", "payment")],
    ),
    (
        "a removed HPA",
        lambda _, objs: objs.remove(next(x for x in objs if x["kind"] == "HorizontalPodAutoscaler")),
        [("create", "HorizontalPodAutoscaler", "payment")],
    ),
    (
        "a new HPA",
        lambda _, objs: objs.append(hpa("stripe-mock")),
        [("delete", "HorizontalPodAutoscaler", "stripe-mock")],
    ),
    (
        "a secret is never written back",
        lambda o, _: set_path(o["Secret/datadog-secret"], "data.api-key", "b3RoZXI="),
        [],
    ),
    ("endpoints follow their service", lambda o, _: set_path(o["Endpoints/stripe-mock"], "subsets", []), []),
]


@pytest.mark.parametrize(("change", "expected"), [(c, e) for _, c, e in REVERTS], ids=[n for n, _, _ in REVERTS])
def test_restore_puts_back_what_changed(change: Any, expected: list[tuple[str, str, str]]) -> None:
    before = build([*shop(), hpa("payment")])
    objects = [*shop(), hpa("payment")]
    change({f"{o['kind']}/{o['metadata']['name']}": o for o in objects}, objects)
    plan = snap.revert_plan(before, build(objects))
    assert [(s["action"], s["kind"], s["name"]) for s in plan] == expected
    for step in plan:
        assert (
            step["api_version"] == {"Deployment": "apps/v1", "HorizontalPodAutoscaler": "autoscaling/v2"}[step["kind"]]
        )


def test_a_reverted_body_keeps_the_live_version_and_bookkeeping_and_drops_the_change() -> None:
    live = deployment("payment", image="img:2", note="by responder")
    live["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = "3"
    plan = snap.revert_plan(build(shop()), build([live]))
    step = next(s for s in plan if s["name"] == "payment")
    body = snap.reverted(live, step["state"], NS, step)
    assert body["spec"]["template"]["spec"]["containers"][0]["image"] == "img:1"
    assert body["metadata"]["annotations"] == {"deployment.kubernetes.io/revision": "3"}
    assert body["metadata"]["resourceVersion"] == "10" and "uid" not in body["metadata"]
    assert (body["apiVersion"], body["kind"], "status" in body) == ("apps/v1", "Deployment", False)


def test_restore_writes_each_step_and_nothing_in_check_mode(tmp_path: Path) -> None:
    path = tmp_path / "baseline.json"
    live = Live(shop())
    decide(live, params(path), check_mode=False)
    live.objects = edited(STATE[1][1])
    written: list[dict[str, Any]] = []
    would = decide(live, params(path, state="restore"), check_mode=True, writer=written.append)
    assert (would["action"], would["reverted"], written) == ("would_restore", ["replace Deployment/payment"], [])
    done = decide(live, params(path, state="restore"), check_mode=False, writer=written.append)
    assert (done["changed"], done["action"], [s["name"] for s in written]) == (True, "restored", ["payment"])
    # the fake writer changed nothing: what is left is returned after the wait
    assert done["summary"] == "Deployment/payment spec.template.spec.containers[0].image: 'img:1' -> 'img:2'"
    live.objects = shop()
    same = decide(live, params(path, state="restore"), check_mode=False, writer=written.append)
    assert (same["changed"], same["reverted"], len(written)) == (False, [], 1)


def test_restore_waits_until_the_namespace_is_back(tmp_path: Path) -> None:
    """The writer puts the image back; the pods follow two polls later, as a rollout does."""
    path = tmp_path / "baseline.json"
    decide(Live(shop()), params(path), check_mode=False)
    states = iter([edited(STATE[1][1])] * 3)

    def rolling(now: str) -> dict[str, Any]:
        return build(next(states, shop()))

    clock = _Clock()
    ticks = (clock.now, clock.monotonic, clock.sleep)
    baseline = namespace_snapshot.FileBaseline(str(path))
    p = params(path, state="restore", wait_s=5)
    done = namespace_snapshot.decide(rolling, baseline, p, False, writer=lambda step: None, clock=ticks)
    assert (done["reverted"], done["summary"]) == (["replace Deployment/payment"], "no differences")
    assert done["waited_s"] == pytest.approx(2 * namespace_snapshot.POLL_S)
    stuck = Live(edited(STATE[1][1]))
    late = namespace_snapshot.decide(stuck, baseline, {**p, "wait_s": 1}, False, writer=lambda step: None, clock=ticks)
    assert late["differences"] and late["waited_s"] >= 1


def test_a_rollout_is_one_difference_not_one_per_replicaset() -> None:
    """`kubectl rollout restart`: the template changes, a new ReplicaSet runs, the old one is kept at 0 (history)."""

    def restart(o: dict[str, Any], objs: list[dict[str, Any]]) -> None:
        set_path(o["Deployment/payment"], "spec.template.metadata", {"annotations": {"restartedAt": "now"}})
        set_path(o["ReplicaSet/payment-aaa"], "spec.replicas", 0)
        objs.append(replicaset("payment-ccc", "payment"))
        objs[4] = pod("payment-ccc-1", "payment-ccc", "uid-p-9")  # the pod replaced by the rollout

    found = snap.compare(build(shop()), build(edited(restart)), replaceable=True)
    assert [(d["object"], d["field"]) for d in found] == [("Deployment/payment", "spec.template.metadata")]
    # a ReplicaSet changed by itself is still a difference
    alone = edited(lambda o, _: set_path(o["ReplicaSet/payment-aaa"], "metadata.labels", {"x": "y"}))
    assert [d["object"] for d in snap.compare(build(shop()), build(alone))] == ["ReplicaSet/payment-aaa"]
