"""Registry write semantics (create/update/patch/delete/scale/events) on an in-memory store."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from kubesim import errors, resources
from kubesim.registry import Registry
from kubesim.store import Store

CM = resources.get("", "v1", "configmaps")
NS = resources.get("", "v1", "namespaces")
DEPLOY = resources.get("apps", "v1", "deployments")
SVC = resources.get("", "v1", "services")
JOB = resources.get("batch", "v1", "jobs")
POD = resources.get("", "v1", "pods")


@pytest.fixture
def reg() -> Registry:
    r = Registry(Store(None))
    r.create(NS, "", {"metadata": {"name": "default"}})
    # what the namespace controller makes in a running cluster (pods need it: ServiceAccount admission)
    r.create(resources.get("", "v1", "serviceaccounts"), "default", {"metadata": {"name": "default"}})
    return r


def _deploy(name: str = "d", replicas: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"a": "b"}},
            "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
        },
    }


def _raises(code: int, reason: str) -> Any:
    class _Ctx:
        def __enter__(self) -> None:
            return None

        def __exit__(self, typ: Any, exc: Any, tb: Any) -> bool:
            assert isinstance(exc, errors.APIError), f"expected APIError {code}, got {exc!r}"
            assert (exc.code, exc.reason) == (code, reason), exc.status()
            return True

    return _Ctx()


def test_create_fills_metadata_and_refuses_duplicates(reg: Registry) -> None:
    obj = reg.create(CM, "default", {"metadata": {"name": "a", "resourceVersion": "999", "uid": "x"}})
    meta = obj["metadata"]
    assert meta["uid"] != "x" and meta["resourceVersion"] != "999" and meta["namespace"] == "default"
    assert (obj["apiVersion"], obj["kind"]) == ("v1", "ConfigMap")
    with _raises(409, "AlreadyExists"):
        reg.create(CM, "default", {"metadata": {"name": "a"}})
    with _raises(404, "NotFound"):
        reg.create(CM, "nowhere", {"metadata": {"name": "a"}})
    with _raises(400, "BadRequest"):
        reg.create(CM, "default", {"metadata": {"name": "b", "namespace": "other"}})
    with _raises(400, "BadRequest"):
        reg.create(CM, "default", {"kind": "Secret", "metadata": {"name": "b"}})
    with _raises(400, "BadRequest"):
        reg.create(CM, "default", ["not", "an", "object"])
    generated = reg.create(CM, "default", {"metadata": {"generateName": "gen-"}})
    assert generated["metadata"]["name"].startswith("gen-") and len(generated["metadata"]["name"]) == 9


def test_dry_run_stores_nothing(reg: Registry) -> None:
    rv = reg.store.rv
    obj = reg.create(CM, "default", {"metadata": {"name": "dry"}}, dry_run=True)
    assert obj["metadata"]["name"] == "dry" and reg.store.rv == rv
    assert reg.peek(CM, "default", "dry") is None
    reg.create(CM, "default", {"metadata": {"name": "real"}, "data": {"a": "1"}})
    rv = reg.store.rv
    reg.patch(CM, "default", "real", "application/merge-patch+json", {"data": {"a": "2"}}, dry_run=True)
    reg.delete(CM, "default", "real", dry_run=True)
    assert reg.store.rv == rv and reg.get(CM, "default", "real")["data"] == {"a": "1"}


def test_update_conflicts_and_noop_writes(reg: Registry) -> None:
    first = reg.create(CM, "default", {"metadata": {"name": "a"}, "data": {"k": "1"}})
    same = reg.update(CM, "default", "a", {"metadata": {"name": "a"}, "data": {"k": "1"}})
    assert same["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    changed = reg.update(
        CM,
        "default",
        "a",
        {"metadata": {"name": "a", "resourceVersion": first["metadata"]["resourceVersion"]}, "data": {"k": "2"}},
    )
    assert changed["metadata"]["uid"] == first["metadata"]["uid"]
    with _raises(409, "Conflict"):
        reg.update(
            CM,
            "default",
            "a",
            {"metadata": {"name": "a", "resourceVersion": first["metadata"]["resourceVersion"]}, "data": {"k": "3"}},
        )
    with _raises(400, "BadRequest"):
        reg.update(CM, "default", "a", {"metadata": {"name": "b"}})
    created = reg.update(CM, "default", "new", {"data": {}})  # PUT of an absent object creates it
    assert created["metadata"]["name"] == "new"


def test_generation_tracks_spec_not_metadata_or_status(reg: Registry) -> None:
    d = reg.create(DEPLOY, "default", _deploy())
    assert d["metadata"]["generation"] == 1
    d = reg.patch(DEPLOY, "default", "d", "application/merge-patch+json", {"metadata": {"labels": {"x": "y"}}})
    assert d["metadata"]["generation"] == 1
    d = reg.patch(DEPLOY, "default", "d", "application/merge-patch+json", {"spec": {"replicas": 3}})
    assert d["metadata"]["generation"] == 2
    d = reg.update(DEPLOY, "default", "d", {**d, "status": {"replicas": 3}}, sub="status")
    assert d["metadata"]["generation"] == 2 and d["status"] == {"replicas": 3}
    d = reg.update(DEPLOY, "default", "d", {**d, "status": {"replicas": 99}})  # main resource ignores status
    assert d["status"] == {"replicas": 3}


def test_scale_subresource(reg: Registry) -> None:
    d = reg.create(DEPLOY, "default", _deploy(replicas=2))
    scale = reg.scale_of(DEPLOY, d)
    assert scale["spec"] == {"replicas": 2} and scale["status"]["selector"] == "a=b"
    scale = reg.patch(DEPLOY, "default", "d", "application/merge-patch+json", {"spec": {"replicas": 4}}, sub="scale")
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 4
    assert reg.get(DEPLOY, "default", "d")["spec"]["replicas"] == 4
    with _raises(422, "Invalid"):
        reg.set_scale(DEPLOY, reg.store.get(DEPLOY.key, "default", "d") or {}, {"spec": {"replicas": -1}})
    with _raises(409, "Conflict"):
        reg.set_scale(
            DEPLOY,
            reg.store.get(DEPLOY.key, "default", "d") or {},
            {"metadata": {"resourceVersion": "1"}, "spec": {"replicas": 1}},
        )


def test_patch_types_and_errors(reg: Registry) -> None:
    reg.create(CM, "default", {"metadata": {"name": "p"}, "data": {"a": "1"}})
    out = reg.patch(CM, "default", "p", "application/json-patch+json", [{"op": "add", "path": "/data/b", "value": "2"}])
    assert out["data"] == {"a": "1", "b": "2"}
    with _raises(415, "UnsupportedMediaType"):
        reg.patch(CM, "default", "p", "text/plain", {})
    with _raises(404, "NotFound"):
        reg.patch(CM, "default", "missing", "application/merge-patch+json", {})
    with _raises(422, "Invalid"):
        reg.patch(CM, "default", "p", "application/json-patch+json", [{"op": "remove", "path": "/data/zz"}])
    with _raises(400, "BadRequest"):
        reg.patch(CM, "default", "p", "application/apply-patch+yaml", {"data": {}})  # no field manager


def test_server_side_apply_ownership(reg: Registry) -> None:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "s"}, "data": {"k": "1"}}
    made = reg.patch(CM, "default", "s", "application/apply-patch+yaml", body, manager="a")
    assert [m["manager"] for m in made["metadata"]["managedFields"]] == ["a"]
    with _raises(409, "Conflict"):
        reg.patch(CM, "default", "s", "application/apply-patch+yaml", {**body, "data": {"k": "2"}}, manager="b")
    forced = reg.patch(
        CM, "default", "s", "application/apply-patch+yaml", {**body, "data": {"k": "2"}}, manager="b", force=True
    )
    assert forced["data"] == {"k": "2"}


def test_delete_preconditions_and_namespace_termination(reg: Registry) -> None:
    obj = reg.create(CM, "default", {"metadata": {"name": "x"}})
    with _raises(409, "Conflict"):
        reg.delete(CM, "default", "x", {"preconditions": {"uid": "other"}})
    with _raises(409, "Conflict"):
        reg.delete(CM, "default", "x", {"preconditions": {"resourceVersion": "1"}})
    gone = reg.delete(CM, "default", "x", {"preconditions": {"uid": obj["metadata"]["uid"]}})
    assert gone["metadata"]["name"] == "x" and reg.peek(CM, "default", "x") is None
    with _raises(404, "NotFound"):
        reg.delete(CM, "default", "x")

    reg.create(NS, "", {"metadata": {"name": "t"}})
    ns = reg.delete(NS, "", "t")
    assert ns["status"]["phase"] == "Terminating" and ns["metadata"]["deletionTimestamp"]
    with _raises(403, "Forbidden"):
        reg.create(CM, "t", {"metadata": {"name": "late"}})


def test_owner_references_orphan_and_cascade(reg: Registry) -> None:
    owner = reg.create(CM, "default", {"metadata": {"name": "owner"}})
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    reg.create(CM, "default", {"metadata": {"name": "child", "ownerReferences": [ref]}})
    assert [o["metadata"]["name"] for _, o in reg.dependents(owner["metadata"]["uid"])] == ["child"]
    reg.delete(CM, "default", "owner", {"propagationPolicy": "Orphan"})
    assert "ownerReferences" not in reg.get(CM, "default", "child")["metadata"]

    owner = reg.create(CM, "default", {"metadata": {"name": "owner2"}})
    ref["uid"], ref["name"] = owner["metadata"]["uid"], "owner2"
    reg.create(CM, "default", {"metadata": {"name": "child2", "ownerReferences": [ref]}})
    reg.delete(CM, "default", "owner2", {"propagationPolicy": "Foreground"})
    assert reg.peek(CM, "default", "child2") is None


def test_record_event_folds_repeats(reg: Registry) -> None:
    d = reg.create(DEPLOY, "default", _deploy())
    reg.record_event(d, "ScalingReplicaSet", "Scaled up", component="deployment-controller")
    reg.record_event(d, "ScalingReplicaSet", "Scaled up", component="deployment-controller")
    reg.record_event(d, "ScalingReplicaSet", "Scaled down", component="deployment-controller")
    events = reg.store.scan("events", "default")
    assert sorted((e["message"], e["count"]) for e in events) == [("Scaled down", 1), ("Scaled up", 2)]
    assert all(
        e["involvedObject"]["kind"] == "Deployment" and e["source"] == {"component": "deployment-controller"}
        for e in events
    )
    reg.record_event({"kind": "Pod", "metadata": {"name": "p", "namespace": "absent"}}, "X", "y")
    assert reg.store.scan("events", "absent") == []


def test_service_defaults_and_validation(reg: Registry) -> None:
    svc = reg.create(SVC, "default", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}})
    assert ipaddress.ip_address(svc["spec"]["clusterIP"]) in ipaddress.ip_network("10.96.0.0/12")
    assert svc["spec"]["type"] == "ClusterIP"
    assert svc["spec"]["ports"][0]["targetPort"] == 80
    with _raises(422, "Invalid"):
        reg.create(SVC, "default", {"metadata": {"name": "t"}, "spec": {"ports": []}})
    with _raises(422, "Invalid"):
        reg.patch(SVC, "default", "s", "application/merge-patch+json", {"spec": {"clusterIP": "10.96.9.9"}})


def test_foreground_deletion_keeps_the_owner_until_its_pods_are_removed(reg: Registry) -> None:
    """An owner deleted in the foreground stays (deletionTimestamp, the foregroundDeletion finalizer) while its
    running pod terminates; the kubelet's removal of the pod removes the owner, as the garbage collector does."""
    job = reg.create(JOB, "default", {"metadata": {"name": "load"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "locustio/locust"}]}}}})  # fmt: skip
    ref = {"apiVersion": "batch/v1", "kind": "Job", "name": "load", "uid": job["metadata"]["uid"], "controller": True}
    reg.create(POD, "default", {"metadata": {"name": "load-abcde", "ownerReferences": [ref]}, "spec": {
        "nodeName": "kubesim", "containers": [{"name": "c", "image": "locustio/locust"}]}})  # fmt: skip
    running = reg.store.get(POD.key, "default", "load-abcde")
    assert running is not None
    running["status"] = {"phase": "Running"}
    reg.store.put(POD.key, running)

    reg.delete(JOB, "default", "load", {"propagationPolicy": "Foreground"})
    waiting = reg.peek(JOB, "default", "load")
    assert waiting is not None and waiting["metadata"]["finalizers"] == ["foregroundDeletion"]
    assert waiting["metadata"]["deletionTimestamp"]
    terminating = reg.peek(POD, "default", "load-abcde")
    assert terminating is not None and terminating["metadata"]["deletionTimestamp"]
    reg.finalize_pod("default", "load-abcde")
    assert reg.peek(POD, "default", "load-abcde") is None
    assert reg.peek(JOB, "default", "load") is None
