"""A minimal OpenAPI surface.

v3: enough for kubectl to see that every kind supports server-side field validation (`fieldValidation`), so
`kubectl apply`/`create -f` validate on the server instead of failing with "failed to download openapi". It
describes operations, not schemas.

v2 (/openapi/v2): kubectl downloads it to validate on the client what the server cannot take in one request,
a `kind: List` of objects. The document has no definitions, so kubectl's schema validation finds no model for
the items and leaves each one to the server's validation as it creates it (kubesim does not yet reject unknown
fields under `fieldValidation=Strict`: kubesim/README.md, "Not served"). Served as gnostic's
openapi_v2.Document protobuf, the format client-go asks for (Document swagger=1, info=2; Info title=1,
version=2), or as JSON.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from kubesim import resources

_PARAMS = [
    {"name": name, "in": "query", "description": text, "schema": {"type": "string", "uniqueItems": True}}
    for name, text in (
        ("dryRun", "When present, indicates that modifications should not be persisted."),
        ("fieldManager", "fieldManager is a name associated with the actor or entity making these changes."),
        (
            "fieldValidation",
            "fieldValidation instructs the server on how to handle objects in the request "
            "containing unknown or duplicate fields.",
        ),
    )
]


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def group_document(group: str, version: str) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    for res in resources.all_resources():
        if res.group != group or res.version != version:
            continue
        gvk = {"group": group, "kind": res.kind, "version": version}
        base = f"/{_gv_path(group, version)}/" + ("namespaces/{namespace}/" if res.namespaced else "") + res.plural
        op = {
            "x-kubernetes-group-version-kind": gvk,
            "parameters": _PARAMS,
            "responses": {"200": {"description": "OK"}},
        }
        # Only the operations the resource's verbs allow (metrics.k8s.io is read-only).
        paths[base] = {
            http: {**op, "operationId": f"{name}{res.kind}"}
            for http, name, verb in (("post", "create", "create"), ("get", "list", "list"))
            if verb in res.verbs
        }
        paths[base + "/{name}"] = {
            http: {**op, "operationId": f"{http}{res.kind}"}
            for http, verb in (("get", "get"), ("put", "update"), ("patch", "patch"), ("delete", "delete"))
            if verb in res.verbs
        }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def root_document() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for group, versions in resources.group_versions().items():
        for version in versions:
            path = _gv_path(group, version)
            digest = hashlib.sha512(json.dumps(group_document(group, version)).encode()).hexdigest()[:128].upper()
            out[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": out}


V2_PROTOBUF = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"
V2_INFO = {"title": "Kubernetes", "version": "v1.32.0"}


def v2_document() -> dict[str, Any]:
    return {"swagger": "2.0", "info": dict(V2_INFO), "paths": {}, "definitions": {}}


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (wire type 2); the lengths here are all below 128."""
    assert len(payload) < 128
    return bytes([number << 3 | 2, len(payload)]) + payload


def v2_protobuf() -> bytes:
    info = _field(1, V2_INFO["title"].encode()) + _field(2, V2_INFO["version"].encode())
    return _field(1, b"2.0") + _field(2, info)
