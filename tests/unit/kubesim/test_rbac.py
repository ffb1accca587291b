"""RBAC without a server: ServiceAccount tokens, rule matching, bindings, the 403 sentence and the reviews."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim import rbac
from kubesim.rbac import Request
from kubesim.store import Store

SECRET = "cluster-secret"
RBAC = "rbac.authorization.k8s.io"


def obj(kind: str, ns: str, name: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "metadata": {"namespace": ns, "name": name, "uid": f"uid-{name}"}, **fields}


@pytest.fixture
def store() -> Store:
    s = Store(None)
    s.put("serviceaccounts", obj("ServiceAccount", "shop", "oncall"))
    s.put("serviceaccounts", obj("ServiceAccount", "shop", "other"))
    oncall_rules = [
        {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log", "events"]},
        {"verbs": ["get", "patch"], "apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"]},
        {"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec", "pods/portforward"]},
        {"verbs": ["get"], "apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["app-config"]},
    ]
    s.put(f"{RBAC}/roles", obj("Role", "shop", "oncall", rules=oncall_rules))
    s.put(
        f"{RBAC}/rolebindings",
        obj(
            "RoleBinding", "shop", "oncall",
            roleRef={"kind": "Role", "name": "oncall"},
            subjects=[{"kind": "ServiceAccount", "name": "oncall"}],  # namespace: the binding's
        ),
    )  # fmt: skip
    s.put(
        f"{RBAC}/clusterroles",
        obj("ClusterRole", "", "node-reader", rules=[{"verbs": ["list"], "apiGroups": [""], "resources": ["nodes"]}]),
    )
    s.put(
        f"{RBAC}/clusterrolebindings",
        obj(
            "ClusterRoleBinding", "", "all-accounts-read-nodes",
            roleRef={"kind": "ClusterRole", "name": "node-reader"},
            subjects=[{"kind": "Group", "name": "system:serviceaccounts:shop"}],
        ),
    )  # fmt: skip
    return s


ONCALL = rbac.service_account("shop", "oncall")
OTHER = rbac.service_account("shop", "other")
WHO = 'User "system:serviceaccount:shop:other"'


@pytest.mark.parametrize(
    ("user", "req", "allowed"),
    [
        (ONCALL, Request("get", "", "pods", "", "shop", "p1"), True),
        (ONCALL, Request("list", "", "pods", "", "shop"), True),
        (ONCALL, Request("watch", "", "pods", "", "shop"), True),
        (ONCALL, Request("delete", "", "pods", "", "shop", "p1"), False),
        (ONCALL, Request("get", "", "pods", "log", "shop", "p1"), True),
        (ONCALL, Request("create", "", "pods", "exec", "shop", "p1"), True),
        (ONCALL, Request("get", "", "pods", "exec", "shop", "p1"), False),
        (ONCALL, Request("create", "", "pods", "attach", "shop", "p1"), False),
        (ONCALL, Request("patch", "apps", "deployments", "scale", "shop", "d"), True),
        (ONCALL, Request("patch", "", "deployments", "", "shop", "d"), False),  # the core group has none
        (ONCALL, Request("get", "", "pods", "", "other-ns", "p1"), False),  # a RoleBinding is one namespace
        (ONCALL, Request("get", "", "configmaps", "", "shop", "app-config"), True),
        (ONCALL, Request("get", "", "configmaps", "", "shop", "sockshop-incident-lock"), False),
        (ONCALL, Request("list", "", "configmaps", "", "shop"), False),  # resourceNames never match a list
        (ONCALL, Request("list", "", "nodes"), True),  # through the group's ClusterRoleBinding
        (ONCALL, Request("list", "", "namespaces"), False),
        (ONCALL, Request("get", path="/version"), True),
        (ONCALL, Request("get", path="/apis/apps/v1"), True),
        (ONCALL, Request("get", path="/metrics"), False),
        (ONCALL, Request("create", "authorization.k8s.io", "selfsubjectaccessreviews"), True),
        (OTHER, Request("get", "", "pods", "", "shop", "p1"), False),  # not a subject of the RoleBinding
        (OTHER, Request("list", "", "nodes"), True),
        (rbac.ADMIN, Request("delete", "", "namespaces", "", "", "shop"), True),
        (rbac.ADMIN, Request("get", path="/metrics"), True),
    ],
)
def test_authorize(store: Store, user: rbac.User, req: Request, allowed: bool) -> None:
    assert rbac.authorize(store, user, req)[0] is allowed


@pytest.mark.parametrize(
    ("rule", "req", "allowed"),
    [
        ({"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}, Request("delete", "apps", "deployments"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["*/log"]}, Request("get", "", "pods", "log"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods/*"]}, Request("get", "", "pods", "status"), True),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, Request("get", "", "pods", "status"), False),
        ({"verbs": ["get"], "nonResourceURLs": ["/healthz/*"]}, Request("get", path="/healthz/etcd"), True),
        ({"verbs": ["get"], "nonResourceURLs": ["/healthz"]}, Request("get", path="/healthz/etcd"), False),
        ({"verbs": ["get"], "apiGroups": [""], "resources": ["pods"]}, Request("get", path="/api"), False),
        ({"verbs": [], "apiGroups": ["*"], "resources": ["*"]}, Request("get", "", "pods", "", "n", "p"), False),
    ],
)  # fmt: skip
def test_rule_allows(rule: dict[str, Any], req: Request, allowed: bool) -> None:
    assert rbac.rule_allows(rule, req) is allowed


@pytest.mark.parametrize(
    ("req", "message", "details"),
    [
        (
            Request("get", "", "pods", "", "shop", "p1"),
            f'pods "p1" is forbidden: {WHO} cannot get resource "pods" in API group "" in the namespace "shop"',
            {"name": "p1", "kind": "pods"},
        ),
        (
            Request("list", "", "namespaces"),
            f'namespaces is forbidden: {WHO} cannot list resource "namespaces" in API group "" at the cluster scope',
            {"kind": "namespaces"},
        ),
        (
            Request("create", "", "pods", "exec", "shop", "p1"),
            f'pods "p1" is forbidden: {WHO} cannot create resource "pods/exec" in API group "" in the namespace "shop"',
            {"name": "p1", "kind": "pods"},
        ),
        (
            Request("patch", "apps", "deployments", "", "shop", "d"),
            f'deployments.apps "d" is forbidden: {WHO} cannot patch resource "deployments" in API group "apps" '
            'in the namespace "shop"',
            {"name": "d", "group": "apps", "kind": "deployments"},
        ),
        (Request("get", path="/metrics"), f'forbidden: {WHO} cannot get path "/metrics"', None),
    ],
)  # fmt: skip
def test_forbidden_reads_as_the_apiserver(req: Request, message: str, details: dict[str, Any] | None) -> None:
    status = rbac.forbidden(OTHER, req).status()
    assert (status["code"], status["reason"], status["message"], status.get("details")) == (
        403,
        "Forbidden",
        message,
        details,
    )


@pytest.mark.parametrize(
    ("method", "named", "watch", "verb"),
    [
        ("GET", True, False, "get"),
        ("GET", False, False, "list"),
        ("GET", False, True, "watch"),
        ("POST", False, False, "create"),
        ("PUT", True, False, "update"),
        ("PATCH", True, False, "patch"),
        ("DELETE", True, False, "delete"),
        ("DELETE", False, False, "deletecollection"),
    ],
)
def test_verb(method: str, named: bool, watch: bool, verb: str) -> None:
    assert rbac.verb(method, named=named, watch=watch) == verb


def test_tokens(store: Store) -> None:
    account = store.peek("serviceaccounts", "shop", "oncall")
    assert account is not None
    token, expires = rbac.issue_token(SECRET, account, 3600, now=1000.0)
    assert expires == 4600 and token.startswith("ksa.")
    assert rbac.token_user(SECRET, token, store, now=2000.0) == ONCALL
    assert rbac.token_user(SECRET, token, store, now=4600.0) is None  # expired
    assert rbac.token_user("another-cluster", token, store, now=2000.0) is None  # not signed by this cluster
    head, _, signature = token.split(".")
    forged = rbac.issue_token(SECRET, {"metadata": {"namespace": "shop", "name": "admin", "uid": "x"}}, 3600, 1000.0)[0]
    assert rbac.token_user(SECRET, f"{head}.{forged.split('.')[1]}.{signature}", store, now=2000.0) is None
    assert rbac.token_user(SECRET, "ksa.not.base64!", store, now=2000.0) is None
    assert rbac.token_user(SECRET, "plain", store, now=2000.0) is None
    store.put("serviceaccounts", {**account, "metadata": {**account["metadata"], "uid": "recreated"}})
    assert rbac.token_user(SECRET, token, store, now=2000.0) is None  # the account it named is gone


@pytest.mark.parametrize(
    ("spec", "seconds"), [({}, 3600), ({"expirationSeconds": 600}, 600), ({"expirationSeconds": 10**9}, 172800)]
)
def test_expiration(spec: dict[str, Any], seconds: int) -> None:
    assert rbac.expiration(spec) == seconds


@pytest.mark.parametrize("value", [599, 0, -1, "3600", True, 1.5])
def test_expiration_refused(value: Any) -> None:
    with pytest.raises(Exception, match="may not specify a duration less than 10 minutes"):
        rbac.expiration({"expirationSeconds": value})


def test_reviews(store: Store) -> None:
    spec = {"resourceAttributes": {"verb": "get", "resource": "pods", "namespace": "shop"}}
    assert rbac.access_review(store, ONCALL, spec) == {
        "allowed": True,
        "reason": 'RBAC: allowed by RoleBinding "oncall" of namespace "shop"',
    }
    assert rbac.access_review(store, OTHER, spec) == {"allowed": False}
    assert rbac.access_review(store, OTHER, {"nonResourceAttributes": {"verb": "get", "path": "/version"}})["allowed"]
    listed = rbac.rules_review(store, ONCALL, "shop")
    assert {"verbs": ["create"], "apiGroups": [""], "resources": ["pods/exec", "pods/portforward"]} in listed[
        "resourceRules"
    ]
    assert {
        "verbs": ["get"],
        "apiGroups": [""],
        "resources": ["configmaps"],
        "resourceNames": ["app-config"],
    } in listed["resourceRules"]
    assert {"verbs": ["list"], "apiGroups": [""], "resources": ["nodes"]} in listed["resourceRules"]
    assert (
        listed["incomplete"] is False
        and {"verbs": ["get"], "nonResourceURLs": rbac.EVERYONE[0]["nonResourceURLs"]} in (listed["nonResourceRules"])
    )
    assert len(rbac.rules_review(store, OTHER, "shop")["resourceRules"]) == len(rbac.EVERYONE) - 1 + 1


@pytest.mark.parametrize(
    ("name", "groups", "user", "needs"),
    [
        (
            "system:serviceaccount:shop:oncall", [], ONCALL,
            [Request("impersonate", "", "serviceaccounts", namespace="shop", name="oncall")],
        ),
        ("bob", [], rbac.User("bob", ("system:authenticated",)), [Request("impersonate", "", "users", name="bob")]),
        (
            "bob", ["ops"], rbac.User("bob", ("ops", "system:authenticated")),
            [Request("impersonate", "", "users", name="bob"), Request("impersonate", "", "groups", name="ops")],
        ),
        ("system:serviceaccount:bad", [], rbac.User("system:serviceaccount:bad", ("system:authenticated",)), None),
    ],
)  # fmt: skip
def test_impersonated(name: str, groups: list[str], user: rbac.User, needs: list[Request] | None) -> None:
    got_user, got_needs = rbac.impersonated(name, groups)
    assert got_user == user
    if needs is not None:
        assert got_needs == needs


def test_only_the_admin_may_impersonate(store: Store) -> None:
    _, needs = rbac.impersonated("system:serviceaccount:shop:oncall", [])
    assert all(rbac.authorize(store, rbac.ADMIN, need)[0] for need in needs)
    assert not any(rbac.authorize(store, OTHER, need)[0] for need in needs)
