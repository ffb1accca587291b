"""responder_access without a cluster: the objects and the Role's rules, the kubeconfig it writes, its refusals and
what check mode says it would do from what is there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.sockshop_module import ModuleError

from plugins.modules import responder_access as ra


def params(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    return {"namespace": "sock-shop", "name": "sockshop-responder", "state": "present",
            "path": str(tmp_path / "r.kubeconfig"), "expiration_s": 7200, **changes}  # fmt: skip


def test_objects_and_rules() -> None:
    sa, role, binding = ra.objects("sock-shop", "resp")
    assert [o["kind"] for o in (sa, role, binding)] == ["ServiceAccount", "Role", "RoleBinding"]
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "resp"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "resp", "namespace": "sock-shop"}]
    granted = {
        (group, res, verb)
        for r in role["rules"]
        for group in r["apiGroups"]
        for res in r["resources"]
        for verb in r["verbs"]
    }
    assert ("", "pods/exec", "create") in granted and ("apps", "deployments/scale", "patch") in granted
    assert ("", "pods", "delete") in granted  # a restart
    # the application's ConfigMaps, read only (the incident's own objects are in another namespace)
    assert {g for g in granted if g[1] == "configmaps"} == {("", "configmaps", v) for v in ("get", "list", "watch")}
    # never secrets, new pods or anything cluster-scoped (a Role cannot grant those; nor a wildcard)
    assert not {g for g in granted if g[1] in ("secrets", "namespaces", "nodes") or "*" in g}
    assert ("", "pods", "create") not in granted
    assert role["kind"] == "Role" and role["metadata"]["namespace"] == "sock-shop"


def test_kubeconfig_holds_only_the_token() -> None:
    doc = ra.kubeconfig("https://127.0.0.1:6443", "Q0E=", "tok", "sock-shop", "system:serviceaccount:sock-shop:r")
    assert doc["clusters"] == [
        {"name": "incident", "cluster": {"server": "https://127.0.0.1:6443", "certificate-authority-data": "Q0E="}}
    ]
    assert doc["users"] == [{"name": "system:serviceaccount:sock-shop:r", "user": {"token": "tok"}}]
    assert doc["contexts"][0]["context"]["namespace"] == "sock-shop" and doc["current-context"] == "responder"
    assert "certificate-authority-data" not in ra.kubeconfig("http://x", None, "t", "n", "u")["clusters"][0]["cluster"]


def test_refuses_a_short_token(tmp_path: Path) -> None:
    with pytest.raises(ModuleError, match="expiration_s must be 600 or more"):
        ra.run(params(tmp_path, expiration_s=60), False, lambda: None)


ALL = ["ServiceAccount/sockshop-responder", "Role/sockshop-responder", "RoleBinding/sockshop-responder"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (("present", [], False), (True, ALL, "would make ServiceAccount")),
        (("present", ALL, True), (True, [], "would make nothing new, request a token")),
        (("absent", [], False), (False, [], "would delete nothing (no responder access)")),
        (("absent", ALL[1:2], True), (True, ALL[1:2], "would delete Role/sockshop-responder, ")),
    ],
)
def test_check_mode_says_what_it_would_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, case: tuple[Any, ...], expected: tuple[Any, ...]
) -> None:
    state, there, file = case
    changed, objects, msg = expected
    monkeypatch.setattr(
        ra,
        "existing",
        lambda p, c: [o for o in ra.objects(p["namespace"], p["name"]) if f"{o['kind']}/{p['name']}" in there],
    )
    if file:
        (tmp_path / "r.kubeconfig").write_text("x")
    result = ra.run(params(tmp_path, state=state), True, lambda: None)
    assert (result["changed"], result["objects"]) == (changed, objects) and msg in result["msg"]
    assert (tmp_path / "r.kubeconfig").exists() is file  # check mode writes and removes nothing
