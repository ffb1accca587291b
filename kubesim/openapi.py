"""A minimal OpenAPI v3 surface: enough for kubectl to see that every kind supports server-side field
validation (`fieldValidation`), so `kubectl apply`/`create -f` validate on the server instead of failing
with "failed to download openapi". It describes operations, not schemas."""

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
    for res in resources.RESOURCES:
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
