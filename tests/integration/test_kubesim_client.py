"""The `kubernetes` Python client against the embedded cluster."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client, watch
from kubernetes.client.rest import ApiException

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def api(cluster: Cluster) -> Iterator[client.ApiClient]:
    c = cluster.api_client()
    yield c
    c.close()


# The typed client's models are Optional everywhere; the tests read them as the JSON they came from.
@pytest.fixture
def core(api: client.ApiClient) -> Any:
    return client.CoreV1Api(api)


@pytest.fixture
def apps(api: client.ApiClient) -> Any:
    return client.AppsV1Api(api)


def _cm(name: str, labels: dict[str, str] | None = None, **data: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}}, "data": data}


def _deploy(name: str, replicas: int = 2) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "containers": [
                        {"name": "main", "image": "nginx:1.27", "env": [{"name": "A", "value": "1"}]},
                        {"name": "side", "image": "busybox"},
                    ]
                },
            },
        },
    }


def _status(exc: pytest.ExceptionInfo[ApiException]) -> tuple[int, str, dict[str, Any]]:
    body = json.loads(exc.value.body or "{}")
    assert body["kind"] == "Status" and body["status"] == "Failure"
    return exc.value.status, body["reason"], body


def test_crud_and_conflicts(cluster: Cluster, ns: str, core: Any) -> None:
    created = core.create_namespaced_config_map(ns, _cm("c1", {"tier": "web"}, a="1"))
    assert created.metadata.uid and created.metadata.resource_version
    assert created.metadata.creation_timestamp is not None
    got = core.read_namespaced_config_map("c1", ns)
    assert got.data == {"a": "1"} and got.metadata.uid == created.metadata.uid

    got.data["a"] = "2"
    replaced = core.replace_namespaced_config_map("c1", ns, got)
    assert replaced.data == {"a": "2"}
    assert int(replaced.metadata.resource_version) > int(created.metadata.resource_version)

    stale = core.read_namespaced_config_map("c1", ns)
    stale.metadata.resource_version = created.metadata.resource_version
    stale.data["a"] = "3"
    with pytest.raises(ApiException) as exc:
        core.replace_namespaced_config_map("c1", ns, stale)
    code, reason, body = _status(exc)
    assert (code, reason) == (409, "Conflict")
    assert "the object has been modified" in body["message"]
    assert core.read_namespaced_config_map("c1", ns).metadata.resource_version == replaced.metadata.resource_version

    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(ns, _cm("c1"))
    code, reason, body = _status(exc)
    assert (code, reason) == (409, "AlreadyExists")
    assert body["message"] == 'configmaps "c1" already exists'
    assert body["details"] == {"name": "c1", "kind": "configmaps"}

    core.delete_namespaced_config_map("c1", ns)
    with pytest.raises(ApiException) as exc:
        core.read_namespaced_config_map("c1", ns)
    assert _status(exc)[:2] == (404, "NotFound")


def test_selectors_and_pagination(ns: str, core: Any) -> None:
    for i in range(7):
        core.create_namespaced_config_map(ns, _cm(f"p{i}", {"tier": "web" if i % 2 else "db", "idx": str(i)}))
    web = core.list_namespaced_config_map(ns, label_selector="tier=web")
    assert [c.metadata.name for c in web.items] == ["p1", "p3", "p5"]
    some = core.list_namespaced_config_map(ns, label_selector="tier in (web,db),idx notin (1,2),!missing")
    assert [c.metadata.name for c in some.items] == ["p0", "p3", "p4", "p5", "p6"]
    one = core.list_namespaced_config_map(ns, field_selector="metadata.name=p4")
    assert [c.metadata.name for c in one.items] == ["p4"]
    not_one = core.list_namespaced_config_map(ns, field_selector="metadata.name!=p4", label_selector="tier=db")
    assert [c.metadata.name for c in not_one.items] == ["p0", "p2", "p6"]

    pages, token = [], None
    while True:
        page = core.list_namespaced_config_map(ns, label_selector="idx", limit=3, _continue=token)
        pages.append([c.metadata.name for c in page.items])
        token = page.metadata._continue
        if not token:
            assert page.metadata.remaining_item_count is None
            break
        assert page.metadata.remaining_item_count == 7 - sum(map(len, pages))
    assert pages == [["p0", "p1", "p2"], ["p3", "p4", "p5"], ["p6"]]

    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map(ns, label_selector="tier=(")
    assert _status(exc)[:2] == (400, "BadRequest")
    with pytest.raises(ApiException) as exc:
        core.list_namespaced_config_map(ns, field_selector="data.a=1")
    assert _status(exc)[:2] == (400, "BadRequest")


def test_watch_from_resource_version(ns: str, core: Any) -> None:
    core.create_namespaced_config_map(ns, _cm("before"))
    rv = core.list_namespaced_config_map(ns).metadata.resource_version
    core.create_namespaced_config_map(ns, _cm("w", {"k": "v"}, n="0"))
    core.patch_namespaced_config_map("w", ns, {"data": {"n": "1"}})
    core.create_namespaced_config_map(ns, _cm("other"))
    core.delete_namespaced_config_map("w", ns)
    w = watch.Watch()
    seen = [
        (e["type"], e["object"].metadata.name, (e["object"].data or {}).get("n"))
        for e in w.stream(
            core.list_namespaced_config_map, ns, label_selector="k=v", resource_version=rv, timeout_seconds=1
        )
    ]
    assert seen == [("ADDED", "w", "0"), ("MODIFIED", "w", "1"), ("DELETED", "w", "1")]


def test_patch_types(ns: str, core: Any, apps: Any) -> None:
    core.create_namespaced_config_map(ns, _cm("pt", a="1", b="2"))
    out = core.patch_namespaced_config_map(
        "pt",
        ns,
        [
            {"op": "replace", "path": "/data/a", "value": "10"},
            {"op": "remove", "path": "/data/b"},
            {"op": "add", "path": "/metadata/labels", "value": {"x": "y"}},
        ],
        _content_type="application/json-patch+json",
    )
    assert out.data == {"a": "10"} and out.metadata.labels == {"x": "y"}
    out = core.patch_namespaced_config_map(
        "pt", ns, {"data": {"a": None, "c": "3"}}, _content_type="application/merge-patch+json"
    )
    assert out.data == {"c": "3"}
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map(
            "pt", ns, [{"op": "test", "path": "/data/c", "value": "nope"}], _content_type="application/json-patch+json"
        )
    assert exc.value.status == 422

    apps.create_namespaced_deployment(ns, _deploy("sm", replicas=1))
    # strategic merge: containers merge by name, env by name; a merge patch would replace the whole list
    out = apps.patch_namespaced_deployment(
        "sm",
        ns,
        {"spec": {"template": {"spec": {"containers": [{"name": "main", "env": [{"name": "B", "value": "2"}]}]}}}},
        _content_type="application/strategic-merge-patch+json",
    )
    containers = {c.name: c for c in out.spec.template.spec.containers}
    assert set(containers) == {"main", "side"}
    assert [(e.name, e.value) for e in containers["main"].env] == [("A", "1"), ("B", "2")]
    assert out.metadata.generation == 2
    out = apps.patch_namespaced_deployment(
        "sm",
        ns,
        {"spec": {"template": {"spec": {"containers": [{"name": "only", "image": "nginx"}]}}}},
        _content_type="application/merge-patch+json",
    )
    assert [c.name for c in out.spec.template.spec.containers] == ["only"]


def test_server_side_apply_and_dry_run(cluster: Cluster, ns: str, core: Any) -> None:
    body = _cm("ssa", {"a": "b"}, k="v")
    out = core.patch_namespaced_config_map(
        "ssa", ns, body, field_manager="tester", _content_type="application/apply-patch+yaml"
    )
    assert out.data == {"k": "v"}
    assert [(m.manager, m.operation) for m in out.metadata.managed_fields] == [("tester", "Apply")]
    rv = out.metadata.resource_version
    again = core.patch_namespaced_config_map(
        "ssa", ns, body, field_manager="tester", _content_type="application/apply-patch+yaml"
    )
    assert again.metadata.resource_version == rv
    with pytest.raises(ApiException) as exc:
        core.patch_namespaced_config_map(
            "ssa", ns, _cm("ssa", k="other"), field_manager="intruder", _content_type="application/apply-patch+yaml"
        )
    code, reason, body_ = _status(exc)
    assert (code, reason) == (409, "Conflict")
    assert body_["details"]["causes"][0]["field"] == ".data.k"
    forced = core.patch_namespaced_config_map(
        "ssa",
        ns,
        _cm("ssa", k="other"),
        field_manager="intruder",
        force=True,
        _content_type="application/apply-patch+yaml",
    )
    assert forced.data == {"k": "other"}

    # dryRun=All: answers as if written, stores nothing
    before = cluster.json("GET", f"/api/v1/namespaces/{ns}/configmaps")[1]
    dry = core.create_namespaced_config_map(ns, _cm("dry", a="1"), dry_run="All")
    assert dry.metadata.name == "dry" and dry.metadata.uid
    core.patch_namespaced_config_map("ssa", ns, {"data": {"k": "dry"}}, dry_run="All")
    core.delete_namespaced_config_map("ssa", ns, dry_run="All")
    core.patch_namespaced_config_map(
        "dry2", ns, _cm("dry2", a="1"), field_manager="t", dry_run="All", _content_type="application/apply-patch+yaml"
    )
    after = cluster.json("GET", f"/api/v1/namespaces/{ns}/configmaps")[1]
    assert [(i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in after["items"]] == [
        (i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in before["items"]
    ]
    assert core.read_namespaced_config_map("ssa", ns).data == {"k": "other"}


def test_owner_reference_cascade_and_scale(cluster: Cluster, ns: str, core: Any, apps: Any) -> None:
    apps.create_namespaced_deployment(ns, _deploy("casc", replicas=2))
    cluster.wait_for(
        lambda: (
            [p.status.phase for p in core.list_namespaced_pod(ns, label_selector="app=casc").items]
            == ["Running", "Running"]
        )
    )
    rs = apps.list_namespaced_replica_set(ns, label_selector="app=casc").items
    assert len(rs) == 1 and rs[0].metadata.owner_references[0].kind == "Deployment"

    scale = apps.read_namespaced_deployment_scale("casc", ns)
    assert scale.spec.replicas == 2 and scale.status.selector.startswith("app=casc")
    scale = apps.patch_namespaced_deployment_scale("casc", ns, {"spec": {"replicas": 3}})
    assert scale.spec.replicas == 3
    assert apps.read_namespaced_deployment("casc", ns).spec.replicas == 3
    cluster.wait_for(lambda: (apps.read_namespaced_deployment("casc", ns).status.available_replicas or 0) == 3)
    # read-modify-write with the version read: a status update by the controller in between answers 409, as on a
    # real server, and the client reads again (client-go's RetryOnConflict)
    for attempt in range(5):
        scale = apps.read_namespaced_deployment_scale("casc", ns)
        scale.spec.replicas = 1
        try:
            assert apps.replace_namespaced_deployment_scale("casc", ns, scale).spec.replicas == 1
            break
        except ApiException as conflict:
            if conflict.status != 409 or attempt == 4:
                raise
    cluster.wait_for(lambda: len(core.list_namespaced_pod(ns, label_selector="app=casc").items) == 1)
    with pytest.raises(ApiException) as exc:
        apps.patch_namespaced_deployment_scale("casc", ns, {"spec": {"replicas": -1}})
    assert _status(exc)[:2] == (422, "Invalid")

    apps.delete_namespaced_deployment("casc", ns)
    cluster.wait_for(lambda: not apps.list_namespaced_replica_set(ns).items and not core.list_namespaced_pod(ns).items)


def test_namespace_deletion_cascade(cluster: Cluster, core: Any, apps: Any) -> None:
    name = cluster.namespace("doomed")
    apps.create_namespaced_deployment(name, _deploy("d", replicas=1))
    core.create_namespaced_config_map(name, _cm("c"))
    core.create_namespaced_secret(name, {"metadata": {"name": "s"}, "stringData": {"p": "w"}})
    cluster.wait_for(lambda: core.list_namespaced_pod(name).items)
    code, deleted = cluster.json("DELETE", f"/api/v1/namespaces/{name}")  # the client reads it as a V1Status
    assert (code, deleted["kind"], deleted["status"]["phase"]) == (200, "Namespace", "Terminating")
    with pytest.raises(ApiException) as exc:
        core.create_namespaced_config_map(name, _cm("late"))
    assert _status(exc)[:2] in ((403, "Forbidden"), (404, "NotFound"))

    def gone() -> bool:
        try:
            core.read_namespace(name)
        except ApiException as e:
            return e.status == 404
        return False

    cluster.wait_for(gone, timeout=20)
    for path in (
        f"/api/v1/namespaces/{name}/configmaps",
        f"/api/v1/namespaces/{name}/pods",
        f"/apis/apps/v1/namespaces/{name}/deployments",
        f"/apis/apps/v1/namespaces/{name}/replicasets",
        f"/api/v1/namespaces/{name}/secrets",
    ):
        assert cluster.json("GET", path)[1]["items"] == [], path


def test_status_subresource(ns: str, core: Any) -> None:
    svc = core.create_namespaced_service(
        ns,
        {
            "metadata": {"name": "lb"},
            "spec": {"type": "LoadBalancer", "selector": {"app": "x"}, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    )
    assert svc.spec.cluster_ip
    out = core.patch_namespaced_service_status(
        "lb", ns, {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}, "spec": {"ports": [{"port": 81}]}}
    )
    assert out.status.load_balancer.ingress[0].ip == "203.0.113.7"
    assert [p.port for p in out.spec.ports] == [80], "a status write must not change the spec"
    # a main-resource write must not change the status
    out = core.patch_namespaced_service("lb", ns, {"status": {"loadBalancer": {}}, "metadata": {"labels": {"a": "b"}}})
    assert out.status.load_balancer.ingress[0].ip == "203.0.113.7"
    assert out.metadata.labels == {"a": "b"}
    got = core.read_namespaced_service_status("lb", ns)
    assert got.status.load_balancer.ingress[0].ip == "203.0.113.7"
