"""JSON, merge and strategic merge patches as the apiserver applies them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from kubesim.patch import (
    ApplyConflict,
    PatchError,
    decode_fields,
    encode_fields,
    json_patch,
    merge_patch,
    path_string,
    record_update,
    server_side_apply,
    strategic_merge_patch,
)


def _directive_keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [k for k in value if k.startswith("$")]
        for v in value.values():
            found += _directive_keys(v)
        return found
    if isinstance(value, list):
        return [k for v in value for k in _directive_keys(v)]
    return []


# ---------------------------------------------------------------------------------------------- JSON patch

BASE = {"metadata": {"name": "a", "labels": {"x": "1"}}, "spec": {"replicas": 1, "args": ["a", "b"]}}


@pytest.mark.parametrize(
    ("ops", "expected"),
    [
        (
            [{"op": "replace", "path": "/spec/replicas", "value": 3}],
            {**BASE, "spec": {"replicas": 3, "args": ["a", "b"]}},
        ),
        (
            [{"op": "add", "path": "/metadata/labels/y", "value": "2"}],
            {**BASE, "metadata": {"name": "a", "labels": {"x": "1", "y": "2"}}},
        ),
        ([{"op": "remove", "path": "/metadata/labels"}], {**BASE, "metadata": {"name": "a"}}),
        (
            [{"op": "test", "path": "/spec/replicas", "value": 1}, {"op": "add", "path": "/spec/args/-", "value": "c"}],
            {**BASE, "spec": {"replicas": 1, "args": ["a", "b", "c"]}},
        ),
        ([], BASE),
    ],
)
def test_json_patch_applies(ops: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(BASE)
    assert json_patch(BASE, ops) == expected
    assert before == BASE


@pytest.mark.parametrize(
    "ops",
    [
        {"op": "add", "path": "/a", "value": 1},  # not a list
        ["add"],  # element not an object
        [{"op": "frobnicate", "path": "/spec"}],
        [{"op": "add", "path": "/spec/x"}],  # no value
        [{"op": "test", "path": "/spec/replicas", "value": 2}],
        [{"op": "remove", "path": "/spec/missing"}],
        [{"op": "replace", "path": "", "value": 5}],  # root stops being an object
        "not even json ops",
    ],
)
def test_json_patch_rejects(ops: object) -> None:
    with pytest.raises(PatchError):
        json_patch(BASE, ops)


def test_json_patch_result_shares_nothing_with_the_ops() -> None:
    ops = [{"op": "add", "path": "/spec/extra", "value": {"k": ["v"]}}]
    result = json_patch(BASE, ops)
    result["spec"]["extra"]["k"].append("w")
    assert ops[0]["value"] == {"k": ["v"]}


# ---------------------------------------------------------------------------------------------- merge patch


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ({"spec": {"replicas": 2}}, {**BASE, "spec": {"replicas": 2, "args": ["a", "b"]}}),
        ({"metadata": {"labels": None}}, {**BASE, "metadata": {"name": "a"}}),
        ({"spec": {"args": ["z"]}}, {**BASE, "spec": {"replicas": 1, "args": ["z"]}}),
        ({"spec": "gone"}, {**BASE, "spec": "gone"}),
        ({"status": {"phase": "Running", "x": None}}, {**BASE, "status": {"phase": "Running"}}),
        ({"metadata": {"missing": None}}, BASE),
    ],
)
def test_merge_patch(patch: dict[str, Any], expected: dict[str, Any]) -> None:
    before = copy.deepcopy(BASE)
    assert merge_patch(BASE, patch) == expected
    assert before == BASE


@pytest.mark.parametrize("patch", [["a"], "x", 3, None])
def test_merge_patch_rejects_non_objects(patch: object) -> None:
    with pytest.raises(PatchError):
        merge_patch(BASE, patch)


# ------------------------------------------------------------------------------------------ strategic merge


def _pod_spec(**extra: Any) -> dict[str, Any]:
    return {"containers": [{"name": "web", "image": "nginx:1"}], **extra}


def _deploy(spec: dict[str, Any], kind: str = "Deployment") -> dict[str, Any]:
    return {"kind": kind, "metadata": {"name": "d"}, "spec": {"template": {"spec": spec}}}


def _pod(spec: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


def _container(**fields: Any) -> dict[str, Any]:
    return {"name": "web", "image": "nginx:1", **fields}


SMP_CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], dict[str, Any]]] = [
    (
        "containers merge by name, new ones appended",
        "Deployment",
        _deploy(_pod_spec()),
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "image": "nginx:2"}, {"name": "side"}]}}}},
        _deploy({"containers": [{"name": "web", "image": "nginx:2"}, {"name": "side"}]}),
    ),
    (
        "initContainers and ephemeralContainers by name",
        "Pod",
        _pod({"initContainers": [{"name": "i", "image": "a"}], "ephemeralContainers": [{"name": "e", "image": "a"}]}),
        {
            "spec": {
                "initContainers": [{"name": "i", "image": "b"}],
                "ephemeralContainers": [{"name": "e", "tty": True}],
            }
        },
        _pod(
            {
                "initContainers": [{"name": "i", "image": "b"}],
                "ephemeralContainers": [{"name": "e", "image": "a", "tty": True}],
            }
        ),
    ),
    (
        "env by name",
        "Pod",
        _pod({"containers": [_container(env=[{"name": "A", "value": "1"}, {"name": "B", "value": "2"}])]}),
        {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "3"}]}]}},
        _pod({"containers": [_container(env=[{"name": "A", "value": "1"}, {"name": "B", "value": "3"}])]}),
    ),
    (
        "container ports by containerPort",
        "Pod",
        _pod({"containers": [_container(ports=[{"containerPort": 80, "name": "http"}])]}),
        {"spec": {"containers": [{"name": "web", "ports": [{"containerPort": 80, "protocol": "TCP"}]}]}},
        _pod({"containers": [_container(ports=[{"containerPort": 80, "name": "http", "protocol": "TCP"}])]}),
    ),
    (
        "volumeMounts by mountPath, volumeDevices by devicePath",
        "Pod",
        _pod(
            {
                "containers": [
                    _container(
                        volumeMounts=[{"mountPath": "/a", "name": "v"}],
                        volumeDevices=[{"devicePath": "/d", "name": "x"}],
                    )
                ]
            }
        ),
        {
            "spec": {
                "containers": [
                    {
                        "name": "web",
                        "volumeMounts": [{"mountPath": "/a", "readOnly": True}],
                        "volumeDevices": [{"devicePath": "/e", "name": "y"}],
                    }
                ]
            }
        },
        _pod(
            {
                "containers": [
                    _container(
                        volumeMounts=[{"mountPath": "/a", "name": "v", "readOnly": True}],
                        volumeDevices=[{"devicePath": "/d", "name": "x"}, {"devicePath": "/e", "name": "y"}],
                    )
                ]
            }
        ),
    ),
    (
        "volumes, imagePullSecrets by name",
        "StatefulSet",
        _deploy(_pod_spec(volumes=[{"name": "v", "emptyDir": {}}], imagePullSecrets=[{"name": "s1"}]), "StatefulSet"),
        {"spec": {"template": {"spec": {"volumes": [{"name": "w"}], "imagePullSecrets": [{"name": "s2"}]}}}},
        _deploy(
            _pod_spec(
                volumes=[{"name": "v", "emptyDir": {}}, {"name": "w"}],
                imagePullSecrets=[{"name": "s1"}, {"name": "s2"}],
            ),
            "StatefulSet",
        ),
    ),
    (
        "hostAliases by ip, topologySpreadConstraints by topologyKey",
        "DaemonSet",
        _deploy(
            _pod_spec(
                hostAliases=[{"ip": "10.0.0.1", "hostnames": ["a"]}],
                topologySpreadConstraints=[{"topologyKey": "zone", "maxSkew": 1}],
            ),
            "DaemonSet",
        ),
        {
            "spec": {
                "template": {
                    "spec": {
                        "hostAliases": [{"ip": "10.0.0.1", "hostnames": ["b"]}],
                        "topologySpreadConstraints": [{"topologyKey": "zone", "maxSkew": 2}],
                    }
                }
            }
        },
        _deploy(
            _pod_spec(
                hostAliases=[{"ip": "10.0.0.1", "hostnames": ["b"]}],
                topologySpreadConstraints=[{"topologyKey": "zone", "maxSkew": 2}],
            ),
            "DaemonSet",
        ),
    ),
    (
        "CronJob pod spec sits under jobTemplate",
        "CronJob",
        {"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": {"spec": _pod_spec()}}}}},
        {"spec": {"jobTemplate": {"spec": {"template": {"spec": {"containers": [{"name": "b", "image": "x"}]}}}}}},
        {
            "kind": "CronJob",
            "spec": {
                "jobTemplate": {
                    "spec": {"template": {"spec": {"containers": [_container(), {"name": "b", "image": "x"}]}}}
                }
            },
        },
    ),
    (
        "Job and ReplicaSet keep containers by name",
        "Job",
        _deploy(_pod_spec(), "Job"),
        {"spec": {"template": {"spec": {"containers": [{"name": "web", "command": ["run"]}]}}}},
        _deploy({"containers": [_container(command=["run"])]}, "Job"),
    ),
    (
        "Service ports by port",
        "Service",
        {"kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 8080}, {"port": 443}]}},
        {"spec": {"ports": [{"port": 80, "targetPort": 9090}]}},
        {"kind": "Service", "spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]}},
    ),
    (
        "ownerReferences by uid",
        "ConfigMap",
        {"kind": "ConfigMap", "metadata": {"ownerReferences": [{"uid": "u1", "name": "a"}]}},
        {"metadata": {"ownerReferences": [{"uid": "u1", "controller": True}, {"uid": "u2", "name": "b"}]}},
        {
            "kind": "ConfigMap",
            "metadata": {
                "ownerReferences": [{"uid": "u1", "name": "a", "controller": True}, {"uid": "u2", "name": "b"}]
            },
        },
    ),
    (
        "finalizers merge as a set",
        "Pod",
        _pod(_pod_spec()) | {"metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"finalizers": ["b", "c"]}},
        _pod(_pod_spec()) | {"metadata": {"finalizers": ["a", "b", "c"]}},
    ),
    (
        "status.conditions by type",
        "Deployment",
        {"kind": "Deployment", "status": {"conditions": [{"type": "Available", "status": "False"}, {"type": "P"}]}},
        {"status": {"conditions": [{"type": "Available", "status": "True"}]}},
        {"kind": "Deployment", "status": {"conditions": [{"type": "Available", "status": "True"}, {"type": "P"}]}},
    ),
    (
        "Node status.addresses by type",
        "Node",
        {"kind": "Node", "status": {"addresses": [{"type": "InternalIP", "address": "1"}, {"type": "Hostname"}]}},
        {"status": {"addresses": [{"type": "InternalIP", "address": "2"}]}},
        {"kind": "Node", "status": {"addresses": [{"type": "InternalIP", "address": "2"}, {"type": "Hostname"}]}},
    ),
    (
        "lists without a merge key are replaced",
        "Pod",
        _pod({"containers": [_container(args=["a", "b"])], "tolerations": [{"key": "x"}]}),
        {"spec": {"containers": [{"name": "web", "args": ["c"]}], "tolerations": [{"key": "y"}]}},
        _pod({"containers": [_container(args=["c"])], "tolerations": [{"key": "y"}]}),
    ),
    (
        "null deletes a key",
        "ConfigMap",
        {"kind": "ConfigMap", "data": {"a": "1", "b": "2"}},
        {"data": {"a": None, "c": "3"}},
        {"kind": "ConfigMap", "data": {"b": "2", "c": "3"}},
    ),
    (
        "$patch: replace on a map",
        "ConfigMap",
        {"kind": "ConfigMap", "data": {"a": "1", "b": "2"}},
        {"data": {"$patch": "replace", "c": "3"}},
        {"kind": "ConfigMap", "data": {"c": "3"}},
    ),
    (
        "$patch: delete on a map",
        "Deployment",
        {"kind": "Deployment", "spec": {"strategy": {"type": "Recreate"}, "replicas": 1}},
        {"spec": {"strategy": {"$patch": "delete"}}},
        {"kind": "Deployment", "spec": {"replicas": 1}},
    ),
    (
        "$patch: merge on a map is a plain merge",
        "ConfigMap",
        {"kind": "ConfigMap", "data": {"a": "1"}},
        {"data": {"$patch": "merge", "b": "2"}},
        {"kind": "ConfigMap", "data": {"a": "1", "b": "2"}},
    ),
    (
        "$patch: delete on a list element",
        "Pod",
        _pod({"containers": [_container(), {"name": "side", "image": "x"}]}),
        {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}},
        _pod({"containers": [_container()]}),
    ),
    (
        "$patch: replace on a list element replaces the list",
        "Pod",
        _pod({"containers": [_container(), {"name": "side", "image": "x"}]}),
        {"spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "y"}]}},
        _pod({"containers": [{"name": "only", "image": "y"}]}),
    ),
    (
        "$retainKeys clears keys not listed",
        "Deployment",
        {"kind": "Deployment", "spec": {"strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}}},
        {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}},
        {"kind": "Deployment", "spec": {"strategy": {"type": "Recreate"}}},
    ),
    (
        "$deleteFromPrimitiveList",
        "Pod",
        _pod(_pod_spec()) | {"metadata": {"finalizers": ["a", "b", "c"]}},
        {"metadata": {"$deleteFromPrimitiveList/finalizers": ["b"]}},
        _pod(_pod_spec()) | {"metadata": {"finalizers": ["a", "c"]}},
    ),
    (
        "$setElementOrder on a keyed list",
        "Pod",
        _pod({"containers": [{"name": "a"}, {"name": "b"}, {"name": "c"}]}),
        {
            "spec": {
                "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}],
                "containers": [{"name": "c", "x": 1}],
            }
        },
        _pod({"containers": [{"name": "c", "x": 1}, {"name": "b"}, {"name": "a"}]}),
    ),
    (
        "$setElementOrder on a primitive list",
        "ConfigMap",
        {"kind": "ConfigMap", "metadata": {"finalizers": ["a", "b"]}},
        {"metadata": {"$setElementOrder/finalizers": ["b", "a", "z"], "finalizers": ["z"]}},
        {"kind": "ConfigMap", "metadata": {"finalizers": ["b", "a", "z"]}},
    ),
    (
        "directives inside new items are resolved",
        "Pod",
        _pod(_pod_spec()),
        {"spec": {"containers": [{"name": "n", "resources": {"$patch": "replace", "limits": {"cpu": "1"}}}]}},
        _pod({"containers": [_container(), {"name": "n", "resources": {"limits": {"cpu": "1"}}}]}),
    ),
    (
        "unknown kinds behave like a merge patch",
        "Widget",
        {"kind": "Widget", "spec": {"containers": [{"name": "a", "x": 1}], "m": {"k": 1}}},
        {"spec": {"containers": [{"name": "b"}], "m": {"j": 2, "$patch": "merge"}}},
        {"kind": "Widget", "spec": {"containers": [{"name": "b"}], "m": {"k": 1, "j": 2}}},
    ),
]


@pytest.mark.parametrize(
    ("kind", "obj", "patch", "expected"), [c[1:] for c in SMP_CASES], ids=[c[0] for c in SMP_CASES]
)
def test_strategic_merge_patch(kind: str, obj: dict[str, Any], patch: dict[str, Any], expected: dict[str, Any]) -> None:
    before_obj, before_patch = copy.deepcopy(obj), copy.deepcopy(patch)
    result = strategic_merge_patch(obj, patch, "v1", kind)
    assert result == expected
    assert _directive_keys(result) == []
    assert (obj, patch) == (before_obj, before_patch)
    # Applying the same patch again changes nothing.
    assert strategic_merge_patch(result, patch, "v1", kind) == expected


def test_strategic_merge_patch_result_is_independent_of_the_input() -> None:
    obj = _pod({"containers": [_container(env=[{"name": "A", "value": "1"}])]})
    result = strategic_merge_patch(obj, {"metadata": {"labels": {"a": "b"}}}, "v1", "Pod")
    result["spec"]["containers"][0]["env"].append({"name": "B"})
    assert obj["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}]


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        (["not", "a", "map"], "must be a JSON object"),
        ({"data": {"$patch": "explode"}}, "unknown patch type: explode"),
        ({"spec": {"containers": [{"image": "x"}]}}, "does not contain declared merge key: name"),
        ({"spec": {"containers": [{"$patch": "delete"}]}}, "does not contain declared merge key: name"),
        ({"spec": {"containers": [{"name": "a", "$patch": "merge"}]}}, "merging lists cannot yet be specified"),
        ({"spec": {"containers": [{"name": "a", "$patch": "bogus"}]}}, "unknown patch type: bogus"),
        ({"spec": {"containers": ["web"]}}, "merges on key 'name'"),
        ({"spec": {"$frob": 1}}, "unknown patch directive '$frob'"),
        ({"spec": {"$retainKeys": "type"}}, "$retainKeys must be a list"),
        ({"spec": {"$retainKeys": ["a"], "b": 1}}, "not present in the $retainKeys list"),
        ({"spec": {"$setElementOrder/containers": {"name": "a"}}}, "must be a list"),
        ({"spec": {"$setElementOrder/containers": ["a"]}}, "must each carry the merge key 'name'"),
        ({"metadata": {"$deleteFromPrimitiveList/finalizers": "a"}}, "must be a list"),
        ({"metadata": {"finalizers": [{"a": 1}]}}, "list of primitives"),
        ({"$patch": "delete"}, "delete the whole object"),
    ],
)
def test_strategic_merge_patch_rejects(patch: Any, message: str) -> None:
    with pytest.raises(PatchError, match=message.replace("$", r"\$")):
        strategic_merge_patch(_pod(_pod_spec()), patch, "v1", "Pod")


# ------------------------------------------------------------------------------- server-side apply and owners


def _web(replicas: int = 1, image: str = "nginx:1", env: list[dict[str, str]] | None = None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "web", "image": image}
    if env is not None:
        container["env"] = env
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
        "spec": {"replicas": replicas, "template": {"spec": {"containers": [container]}}},
    }


def _apply(live: dict[str, Any] | None, cfg: dict[str, Any], manager: str = "kubectl", **kw: Any) -> dict[str, Any]:
    opts: dict[str, Any] = {"force": False, "api_version": "apps/v1", "kind": "Deployment", "now": "T1"} | kw
    return server_side_apply(live, cfg, manager=manager, **opts)


def _update(old: dict[str, Any] | None, new: dict[str, Any], manager: str, now: str = "T2") -> dict[str, Any]:
    return record_update(old, new, manager=manager, operation="Update", api_version="apps/v1", now=now)


def _owners(obj: dict[str, Any]) -> dict[str, tuple[str, Any]]:
    return {e["manager"]: (e["operation"], e["fieldsV1"]) for e in obj["metadata"].get("managedFields", [])}


def _strip(obj: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(obj)
    out["metadata"].pop("managedFields", None)
    return out


def test_apply_creates_with_fieldsv1_ownership() -> None:
    cfg = _web(env=[{"name": "A", "value": "1"}]) | {"status": {"replicas": 9}}
    cfg["metadata"] |= {"resourceVersion": "7", "uid": "u", "managedFields": [{"manager": "x"}]}
    before = copy.deepcopy(cfg)
    live = _apply(None, cfg)
    assert cfg == before
    assert _strip(live) == _web(env=[{"name": "A", "value": "1"}])
    assert live["metadata"]["managedFields"] == [
        {
            "manager": "kubectl",
            "operation": "Apply",
            "apiVersion": "apps/v1",
            "time": "T1",
            "fieldsType": "FieldsV1",
            "fieldsV1": {
                "f:metadata": {"f:labels": {"f:app": {}}},
                "f:spec": {
                    "f:replicas": {},
                    "f:template": {
                        "f:spec": {
                            "f:containers": {
                                'k:{"name":"web"}': {
                                    ".": {},
                                    "f:env": {'k:{"name":"A"}': {".": {}, "f:name": {}, "f:value": {}}},
                                    "f:image": {},
                                    "f:name": {},
                                }
                            }
                        }
                    },
                },
            },
        }
    ]


def test_apply_twice_is_identical() -> None:
    live = _apply(None, _web())
    again = _apply(live, _web(), now="T9")
    assert again == live
    changed = _apply(live, _web(image="nginx:2"), now="T9")
    assert changed["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:2"
    assert changed["metadata"]["managedFields"][0]["time"] == "T9"


@pytest.mark.parametrize(
    ("first", "second", "expected_env", "expected_labels"),
    [
        ([{"name": "A", "value": "1"}, {"name": "B", "value": "2"}], [{"name": "A", "value": "1"}], ["A"], {"app"}),
        ([{"name": "A", "value": "1"}], [], None, {"app"}),
    ],
)
def test_apply_removes_fields_it_no_longer_applies(
    first: list[dict[str, str]], second: list[dict[str, str]], expected_env: list[str] | None, expected_labels: set[str]
) -> None:
    live = _apply(None, _web(env=first))
    live = _apply(live, _web(env=second) if second else _web())
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert ([e["name"] for e in container["env"]] if "env" in container else None) == expected_env
    assert set(live["metadata"]["labels"]) == expected_labels


def test_apply_drops_a_label_and_its_empty_map() -> None:
    live = _apply(None, _web())
    cfg = _web()
    del cfg["metadata"]["labels"]
    result = _apply(live, cfg)
    assert "labels" not in result["metadata"]
    assert "f:metadata" not in _owners(result)["kubectl"][1]


def test_apply_keeps_a_removed_field_another_manager_also_owns() -> None:
    live = _apply(None, _web())
    labelled = copy.deepcopy(live)
    labelled["metadata"]["labels"]["team"] = "socks"
    live = _update(live, labelled, "kubectl-label")
    cfg = _web()
    cfg["metadata"]["labels"]["team"] = "socks"
    live = _apply(live, cfg)  # same value: shared, no conflict
    del cfg["metadata"]["labels"]["team"]
    result = _apply(live, cfg)
    assert result["metadata"]["labels"] == {"app": "web", "team": "socks"}
    assert _owners(result)["kubectl-label"] == ("Update", {"f:metadata": {"f:labels": {"f:team": {}}}})


def test_update_then_apply_conflicts_and_force_takes_over() -> None:
    live = _apply(None, _web())
    scaled = strategic_merge_patch(live, {"spec": {"replicas": 3}}, "apps/v1", "Deployment")
    scaled = _update(live, scaled, "kubectl-scale")
    assert _owners(scaled)["kubectl-scale"] == ("Update", {"f:spec": {"f:replicas": {}}})
    assert "f:replicas" not in _owners(scaled)["kubectl"][1]["f:spec"]
    with pytest.raises(ApplyConflict) as info:
        _apply(scaled, _web(replicas=1))
    assert info.value.conflicts == [(".spec.replicas", "kubectl-scale")]
    assert str(info.value) == (
        'Apply failed with 1 conflict: conflict with "kubectl-scale" using apps/v1: .spec.replicas'
    )
    assert info.value.causes() == [
        {
            "reason": "FieldManagerConflict",
            "message": 'conflict with "kubectl-scale" using apps/v1',
            "field": ".spec.replicas",
        }
    ]
    # Applying the value already there is no conflict: ownership is shared.
    shared = _apply(scaled, _web(replicas=3))
    assert _owners(shared)["kubectl-scale"] == ("Update", {"f:spec": {"f:replicas": {}}})
    snapshot = copy.deepcopy(scaled)
    forced = _apply(scaled, _web(replicas=1), force=True)
    assert scaled == snapshot  # neither the live object nor its managedFields were touched
    assert forced["spec"]["replicas"] == 1
    assert set(_owners(forced)) == {"kubectl"}


def test_conflicts_with_several_fields_are_listed_per_manager() -> None:
    live = _apply(None, _web(), manager="a")
    with pytest.raises(ApplyConflict) as info:
        _apply(live, _web(replicas=2, image="nginx:2"), manager="b")
    assert str(info.value) == (
        'Apply failed with 2 conflicts: conflicts with "a":\n'
        "- .spec.replicas\n"
        '- .spec.template.spec.containers[name="web"].image'
    )


def test_apply_on_an_object_without_managed_fields_conflicts_with_before_first_apply() -> None:
    live = _web(replicas=5)
    with pytest.raises(ApplyConflict) as info:
        _apply(live, _web(replicas=2))
    assert info.value.conflicts == [(".spec.replicas", "before-first-apply")]
    assert _apply(live, _web(replicas=5))["spec"]["replicas"] == 5


def test_apply_merges_sets_and_unknown_kinds() -> None:
    cfg: dict[str, Any] = {
        "apiVersion": "x/v1",
        "kind": "Widget",
        "metadata": {"name": "w", "finalizers": ["a"]},
        "spec": {"l": [1]},
    }
    live = _apply(None, cfg, kind="Widget", api_version="x/v1")
    assert _owners(live)["kubectl"][1] == {"f:metadata": {"f:finalizers": {'v:"a"': {}}}, "f:spec": {"f:l": {}}}
    other = copy.deepcopy(live)
    other["metadata"]["finalizers"].append("b")
    live = _update(live, other, "ctrl")
    cfg["metadata"]["finalizers"] = []
    cfg["spec"]["l"] = [2]
    result = _apply(live, cfg, kind="Widget", api_version="x/v1")
    assert result["metadata"]["finalizers"] == ["b"]
    assert result["spec"]["l"] == [2]


@pytest.mark.parametrize("cfg", [["a"], "x", None])
def test_apply_rejects_non_objects(cfg: Any) -> None:
    with pytest.raises(PatchError):
        _apply(None, cfg)


def test_record_update_create_and_noop() -> None:
    created = _update(None, _web(), "kubectl-create", now="T1")
    ((operation, fields),) = _owners(created).values()
    assert operation == "Update"
    assert decode_fields(fields) == {
        ("f:metadata", "f:labels", "f:app"),
        ("f:spec", "f:replicas"),
        ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}'),
        ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}', "f:name"),
        ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"web"}', "f:image"),
    }
    snapshot = copy.deepcopy(created)
    same = _update(created, copy.deepcopy(created), "kubectl-edit", now="T5")
    assert same == created
    edited = copy.deepcopy(created)
    edited["spec"]["replicas"] = 4
    after = _update(created, edited, "kubectl-edit", now="T6")
    assert created == snapshot
    assert _owners(after)["kubectl-edit"] == ("Update", {"f:spec": {"f:replicas": {}}})


def test_record_update_prunes_removed_fields_and_respects_client_sent_fields() -> None:
    created = _update(None, _web(env=[{"name": "A", "value": "1"}]), "a", now="T1")
    edited = copy.deepcopy(created)
    del edited["spec"]["template"]["spec"]["containers"][0]["env"]
    result = _update(created, edited, "kubectl-edit")
    assert "f:env" not in str(result["metadata"]["managedFields"])
    assert set(_owners(result)) == {"a"}  # nothing set, so no entry for kubectl-edit
    bare = _strip(created)
    kept = _update(created, bare, "b")
    assert _owners(kept) == _owners(created)


def test_record_update_caps_update_entries() -> None:
    obj = _update(None, {"kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}, "m0", now="T00")
    for i in range(1, 13):
        new = copy.deepcopy(obj)
        new["data"][f"k{i}"] = "v"
        obj = _update(obj, new, f"m{i}", now=f"T{i:02d}")
    managers = [e["manager"] for e in obj["metadata"]["managedFields"]]
    assert len(managers) == 10
    assert managers[-1] == "m12"
    assert "ancient-changes" in managers


@pytest.mark.parametrize("operation", ["Patch", "", "update"])
def test_record_update_rejects_unknown_operations(operation: str) -> None:
    with pytest.raises(PatchError):
        record_update(None, _web(), manager="m", operation=operation, api_version="v1", now="T")


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (("f:spec", "f:replicas"), ".spec.replicas"),
        (("f:spec", "f:ports", 'k:{"port":80}', "f:name"), ".spec.ports[port=80].name"),
        (("f:metadata", "f:finalizers", 'v:"x"'), '.metadata.finalizers[="x"]'),
        (("f:a", "i:2"), ".a[2]"),
    ],
)
def test_path_string(path: tuple[str, ...], text: str) -> None:
    assert path_string(path) == text
    assert decode_fields(encode_fields({path})) == {path}


@pytest.mark.parametrize("tree", [[], {"x:bad": {}}, {"f:a": "leaf"}, {"f:a": {"f:b": 1}}])
def test_decode_fields_rejects_malformed_trees(tree: Any) -> None:
    with pytest.raises(ValueError):
        decode_fields(tree)
