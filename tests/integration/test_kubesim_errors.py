"""Bad input gets the apiserver's status code, reason and Status body, and leaves the store unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def _versions(cluster: Cluster, ns: str) -> dict[str, list[tuple[str, str]]]:
    """Name and resourceVersion of everything the tests write in `ns`."""
    out = {}
    for path in (
        f"/api/v1/namespaces/{ns}/configmaps",
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        f"/api/v1/namespaces/{ns}/services",
    ):
        status, body = cluster.json("GET", path)
        assert status == 200
        out[path] = [(i["metadata"]["name"], i["metadata"]["resourceVersion"]) for i in body["items"]]
    return out


def _failure(status: int, body: Any, code: int, reason: str) -> dict[str, Any]:
    assert isinstance(body, dict), body
    assert (status, body.get("kind"), body.get("status"), body.get("code"), body.get("reason")) == (
        code,
        "Status",
        "Failure",
        code,
        reason,
    ), body
    return body


@pytest.fixture
def seeded(cluster: Cluster, ns: str) -> str:
    status, _ = cluster.json(
        "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "keep"}, "data": {"a": "1"}}
    )
    assert status == 201
    return ns


DEPLOY: dict[str, Any] = {
    "apiVersion": "apps/v1",
    "kind": "Deployment",
    "metadata": {"name": "d"},
    "spec": {
        "replicas": 1,
        "selector": {"matchLabels": {"app": "d"}},
        "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}},
    },
}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "Bad_Name"}}, "metadata.name"),
        ("/api/v1/namespaces/{ns}/configmaps", {"metadata": {}}, "metadata.name"),
        (
            "/apis/apps/v1/namespaces/{ns}/deployments",
            {**DEPLOY, "spec": {**DEPLOY["spec"], "replicas": -2}},
            "spec.replicas",
        ),
        (
            "/apis/apps/v1/namespaces/{ns}/deployments",
            {
                **DEPLOY,
                "spec": {
                    **DEPLOY["spec"],
                    "template": {"metadata": {"labels": {"app": "d"}}, "spec": {"containers": []}},
                },
            },
            "spec.template.spec.containers",
        ),
        (
            "/apis/apps/v1/namespaces/{ns}/deployments",
            {
                **DEPLOY,
                "spec": {
                    **DEPLOY["spec"],
                    "template": {"metadata": {"labels": {"app": "other"}}, "spec": DEPLOY["spec"]["template"]["spec"]},
                },
            },
            "spec.template.metadata.labels",
        ),
        ("/api/v1/namespaces/{ns}/services", {"metadata": {"name": "s"}, "spec": {"ports": []}}, "spec.ports"),
    ],
    ids=["bad-name", "no-name", "negative-replicas", "no-containers", "selector-mismatch", "no-ports"],
)
def test_invalid_manifest(cluster: Cluster, seeded: str, path: str, body: dict[str, Any], field: str) -> None:
    before = _versions(cluster, seeded)
    status, out = cluster.json("POST", path.format(ns=seeded), body)
    out = _failure(status, out, 422, "Invalid")
    fields = [c["field"] for c in out["details"]["causes"]]
    assert field in fields, out
    assert "is invalid" in out["message"] and field in out["message"]
    assert _versions(cluster, seeded) == before


def test_invalid_update_keeps_object(cluster: Cluster, seeded: str) -> None:
    status, _ = cluster.json("POST", f"/apis/apps/v1/namespaces/{seeded}/deployments", DEPLOY)
    assert status == 201
    before = _versions(cluster, seeded)
    status, out = cluster.json(
        "PATCH",
        f"/apis/apps/v1/namespaces/{seeded}/deployments/d",
        json.dumps({"spec": {"selector": {"matchLabels": {"app": "x"}}}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    out = _failure(status, out, 422, "Invalid")
    assert "spec.selector" in [c["field"] for c in out["details"]["causes"]]
    after = _versions(cluster, seeded)
    dep_path = f"/apis/apps/v1/namespaces/{seeded}/deployments"
    # the controller may have written status meanwhile; the spec must be what it was
    assert [n for n, _ in after[dep_path]] == [n for n, _ in before[dep_path]]
    assert cluster.json("GET", f"{dep_path}/d")[1]["spec"]["selector"] == DEPLOY["spec"]["selector"]
    assert after[f"/api/v1/namespaces/{seeded}/configmaps"] == before[f"/api/v1/namespaces/{seeded}/configmaps"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/apis/apps/v1/namespaces/{ns}/widgets"),
        ("POST", "/apis/apps/v1/namespaces/{ns}/widgets"),
        ("GET", "/apis/example.com/v1/things"),
        ("GET", "/api/v2/pods"),
        ("GET", "/no/such/path"),
        ("GET", "/api/v1/namespaces/{ns}/configmaps/keep/bogus"),
        ("DELETE", "/apis/apps/v1/nonsense"),
    ],
)
def test_unknown_kind_or_path(cluster: Cluster, seeded: str, method: str, path: str) -> None:
    before = _versions(cluster, seeded)
    # An unknown path must answer, never hang: the request's own timeout fails the test if it does.
    status, headers, raw = cluster.request(
        method, path.format(ns=seeded), {"kind": "Widget"} if method == "POST" else None, timeout=3
    )
    assert headers["content-type"].startswith("application/json")
    body = _failure(status, json.loads(raw), 404, "NotFound")
    assert body["message"] == "the server could not find the requested resource"
    assert _versions(cluster, seeded) == before


def test_stale_resource_version(cluster: Cluster, seeded: str) -> None:
    path = f"/api/v1/namespaces/{seeded}/configmaps/keep"
    _, obj = cluster.json("GET", path)
    old_rv = obj["metadata"]["resourceVersion"]
    obj["data"] = {"a": "2"}
    status, fresh = cluster.json("PUT", path, obj)
    assert status == 200 and fresh["metadata"]["resourceVersion"] != old_rv
    before = _versions(cluster, seeded)
    obj["data"] = {"a": "3"}  # still carries old_rv
    status, out = cluster.json("PUT", path, obj)
    out = _failure(status, out, 409, "Conflict")
    assert out["message"] == (
        'Operation cannot be fulfilled on configmaps "keep": the object has been modified; '
        "please apply your changes to the latest version and try again"
    )
    status, out = cluster.json(
        "PATCH",
        path,
        json.dumps({"metadata": {"resourceVersion": old_rv}, "data": {"a": "4"}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    _failure(status, out, 409, "Conflict")
    status, out = cluster.json("DELETE", path, {"preconditions": {"resourceVersion": old_rv}})
    _failure(status, out, 409, "Conflict")
    assert _versions(cluster, seeded) == before
    assert cluster.json("GET", path)[1]["data"] == {"a": "2"}


@pytest.mark.parametrize("token", ["", "wrong-token"], ids=["missing", "wrong"])
def test_bad_token(cluster: Cluster, seeded: str, token: str) -> None:
    before = _versions(cluster, seeded)
    for method, path, body in (
        ("GET", f"/api/v1/namespaces/{seeded}/configmaps", None),
        ("POST", f"/api/v1/namespaces/{seeded}/configmaps", {"metadata": {"name": "x"}}),
        ("DELETE", f"/api/v1/namespaces/{seeded}/configmaps/keep", None),
        ("GET", "/api", None),
        ("GET", "/no/such/path", None),
    ):
        status, out = cluster.json(method, path, body, token=token)
        out = _failure(status, out, 401, "Unauthorized")
        assert out["message"] == "Unauthorized"
    assert _versions(cluster, seeded) == before
    assert cluster.request("GET", "/readyz", token=token)[0] == 200  # health needs no token, as in KIND


@pytest.mark.parametrize(
    ("ctype", "raw", "method"),
    [
        ("application/json", b'{"metadata": {"name": "x"', "POST"),
        ("application/json", b"\xff\xfe not json", "POST"),
        ("application/yaml", b"metadata: {name: [x\n  - : :", "POST"),
        ("application/json", b"", "POST"),
        ("application/json", b"[1, 2]", "POST"),
        ("application/merge-patch+json", b"{nope", "PATCH"),
        ("application/vnd.kubernetes.protobuf", b"k8s\x00\x0a\xff\xff", "POST"),
    ],
    ids=["truncated-json", "binary", "bad-yaml", "empty", "not-an-object", "bad-patch", "bad-protobuf"],
)
def test_malformed_body(cluster: Cluster, seeded: str, ctype: str, raw: bytes, method: str) -> None:
    before = _versions(cluster, seeded)
    path = f"/api/v1/namespaces/{seeded}/configmaps" + ("/keep" if method == "PATCH" else "")
    status, _, body = cluster.request(method, path, raw, headers={"Content-Type": ctype})
    _failure(status, json.loads(body), 400, "BadRequest")
    assert _versions(cluster, seeded) == before


def test_unsupported_patch_type_and_method(cluster: Cluster, seeded: str) -> None:
    before = _versions(cluster, seeded)
    path = f"/api/v1/namespaces/{seeded}/configmaps/keep"
    status, out = cluster.json("PATCH", path, '{"data": {"a": "9"}}', headers={"Content-Type": "text/plain"})
    out = _failure(status, out, 415, "UnsupportedMediaType")
    assert "application/strategic-merge-patch+json" in out["message"]
    status, out = cluster.json("POST", "/api/v1/configmaps", {"metadata": {"name": "x"}})
    _failure(status, out, 405, "MethodNotAllowed")
    status, out = cluster.json("POST", "/api/v1/namespaces/no-such-ns/configmaps", {"metadata": {"name": "x"}})
    out = _failure(status, out, 404, "NotFound")
    assert out["message"] == 'namespaces "no-such-ns" not found'
    assert _versions(cluster, seeded) == before


def test_watch_initial_list_and_bad_resource_version(cluster: Cluster, seeded: str) -> None:
    """A watch from version 0 starts with the current objects; a non-numeric version is a 400."""
    status, _, raw = cluster.request(
        "GET", f"/api/v1/namespaces/{seeded}/configmaps?watch=true&resourceVersion=0&timeoutSeconds=1"
    )
    assert status == 200
    events = [json.loads(line) for line in raw.decode().splitlines()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "keep"),
        ("ADDED", "kube-root-ca.crt"),
    ]
    status, _, raw = cluster.request(
        "GET", f"/api/v1/namespaces/{seeded}/configmaps?watch=true&resourceVersion=abc&timeoutSeconds=1"
    )
    _failure(status, json.loads(raw), 400, "BadRequest")
