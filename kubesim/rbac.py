"""Who a request is, and whether RBAC lets it: the apiserver's authentication of bearer tokens and its RBAC
authorizer, for the cluster's admin token and ServiceAccount tokens.

- The admin token (`<state>/token`) is `kubernetes-admin` in group `system:masters`: everything is allowed,
  as on a real cluster (that group bypasses RBAC).
- A client certificate signed by the cluster CA (tls.client_user) is its CN in the groups of its O fields; the
  kubeconfig's is the same `kubernetes-admin` in `system:masters`.
- A ServiceAccount token (`kubectl create token <sa>`, the TokenRequest API) is signed by the cluster (HMAC of
  its claims with the cluster's own secret, the admin token: tokens survive a restart and need no storage) and
  names the account and its uid; it stops working when it expires or the account is deleted (a new account of
  the same name has another uid). Its user is `system:serviceaccount:<ns>:<name>`, in the groups
  `system:serviceaccounts`, `system:serviceaccounts:<ns>` and `system:authenticated`.
- A Secret-based ServiceAccount token (the token controller fills a `kubernetes.io/service-account-token` Secret,
  controllers/tokens.py) is the same user for as long as its Secret holds it and the account exists.
- Authorization evaluates Roles, ClusterRoles and their bindings as the RBAC authorizer does: verbs, apiGroups,
  resources and `resource/subresource`, `*`, resourceNames (which never match list, watch, create or
  deletecollection without a name), nonResourceURLs with a trailing `*`. Every authenticated user also has
  what the bootstrap roles system:discovery, system:basic-user and system:public-info-viewer give (discovery,
  /version, /healthz, self access reviews). A refusal is a 403 with the apiserver's own sentence.
Hand-written: no PyPI package evaluates Kubernetes RBAC; the rules are small and fully specified by the
RBAC authorizer (plugin/pkg/auth/authorizer/rbac) and its rule matching (pkg/apis/rbac/v1/evaluation_helpers.go).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from kubesim import errors
from kubesim.store import Store

TOKEN_PREFIX = "ksa."
AUDIENCE = "https://kubernetes.default.svc.cluster.local"
DEFAULT_EXPIRATION_S = 3600
MIN_EXPIRATION_S = 600  # the apiserver's minimum for a TokenRequest
MAX_EXPIRATION_S = 48 * 3600


@dataclass(frozen=True)
class User:
    name: str
    groups: tuple[str, ...]
    uid: str = field(default="", compare=False)  # a ServiceAccount's uid, for its tokens (`kubectl auth whoami`)

    @property
    def unrestricted(self) -> bool:
        return "system:masters" in self.groups


ADMIN = User("kubernetes-admin", ("kubeadm:cluster-admins", "system:masters", "system:authenticated"))


def service_account(namespace: str, name: str, uid: str = "") -> User:
    return User(
        f"system:serviceaccount:{namespace}:{name}",
        ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", "system:authenticated"),
        uid,
    )


def user_info(user: User) -> dict[str, Any]:
    """A SelfSubjectReview's status.userInfo (`kubectl auth whoami`)."""
    return {"username": user.name, **({"uid": user.uid} if user.uid else {}), "groups": list(user.groups)}


# ---------------------------------------------------------------------------------------------- tokens


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def issue_token(secret: str, account: dict[str, Any], expiration_s: int, now: float | None = None) -> tuple[str, int]:
    """A token for the ServiceAccount object `account`, and when it expires (Unix seconds)."""
    meta = account["metadata"]
    expires = int((now if now is not None else time.time()) + expiration_s)
    claims = {"ns": meta["namespace"], "name": meta["name"], "uid": meta["uid"], "exp": expires}
    payload = _b64(json.dumps(claims, sort_keys=True, separators=(",", ":")).encode())
    signature = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    return f"{TOKEN_PREFIX}{payload}.{signature}", expires


def token_user(secret: str, token: str, store: Store, now: float | None = None) -> User | None:
    """The ServiceAccount user of a valid token; None for a forged, expired or orphaned one (401)."""
    if not token.startswith(TOKEN_PREFIX) or token.count(".") != 2:
        return None
    payload, _, signature = token[len(TOKEN_PREFIX) :].partition(".")
    expected = _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())
    if not hmac.compare_digest(signature, expected):
        return None
    try:
        claims = json.loads(_unb64(payload))
    except ValueError:
        return None
    if claims.get("exp", 0) <= (now if now is not None else time.time()):
        return None
    account = store.peek("serviceaccounts", claims["ns"], claims["name"])
    if account is None or account["metadata"].get("uid") != claims.get("uid"):
        return None
    return service_account(claims["ns"], claims["name"], claims["uid"])


# Secret-based (legacy) ServiceAccount tokens: what the token controller writes into a Secret of type
# kubernetes.io/service-account-token, with the claims of pkg/serviceaccount/legacy.go (signed with HS256 by the
# cluster's secret rather than RS256 by a service-account key). No expiry: such a token works as long as its
# Secret holds it and the account it names (same uid) exists.
LEGACY_ISSUER = "kubernetes/serviceaccount"
_LEGACY = "kubernetes.io/serviceaccount/"
SECRET_TOKEN_TYPE = "kubernetes.io/service-account-token"


def _jwt_signature(secret: str, signed: str) -> str:
    return _b64(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest())


def issue_secret_token(secret: str, account: dict[str, Any], secret_name: str) -> str:
    """The token the token controller puts into Secret `secret_name` for the ServiceAccount object `account`."""
    meta = account["metadata"]
    claims = {
        "iss": LEGACY_ISSUER,
        f"{_LEGACY}namespace": meta["namespace"],
        f"{_LEGACY}secret.name": secret_name,
        f"{_LEGACY}service-account.name": meta["name"],
        f"{_LEGACY}service-account.uid": meta["uid"],
        "sub": f"system:serviceaccount:{meta['namespace']}:{meta['name']}",
    }
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    return f"{header}.{payload}.{_jwt_signature(secret, f'{header}.{payload}')}"


def secret_token_user(secret: str, token: str, store: Store) -> User | None:
    """The ServiceAccount user of a Secret-based token, checked as the legacy token validator does: signed by
    the cluster, its Secret still there (not being deleted) and holding this very token, its account there with
    the uid of the claim; None (401) otherwise."""
    if token.count(".") != 2:
        return None
    header, payload, signature = token.split(".")
    if not hmac.compare_digest(signature, _jwt_signature(secret, f"{header}.{payload}")):
        return None
    try:
        claims = json.loads(_unb64(payload))
    except ValueError:
        return None
    if not isinstance(claims, dict) or claims.get("iss") != LEGACY_ISSUER:
        return None
    ns, name = claims.get(f"{_LEGACY}namespace", ""), claims.get(f"{_LEGACY}service-account.name", "")
    holder = store.peek("secrets", ns, claims.get(f"{_LEGACY}secret.name", ""))
    if holder is None or holder["metadata"].get("deletionTimestamp"):
        return None  # "Token has been invalidated"
    try:
        held = base64.b64decode((holder.get("data") or {}).get("token", ""))
    except ValueError:
        return None
    if not hmac.compare_digest(held, token.encode()):
        return None  # "Token does not match server's copy"
    account = store.peek("serviceaccounts", ns, name)
    if account is None or account["metadata"].get("deletionTimestamp"):
        return None
    if account["metadata"].get("uid") != claims.get(f"{_LEGACY}service-account.uid"):
        return None
    return service_account(ns, name, account["metadata"]["uid"])


def expiration(spec: dict[str, Any]) -> int:
    """A TokenRequest's expirationSeconds, bounded as the apiserver bounds it."""
    value = spec.get("expirationSeconds", DEFAULT_EXPIRATION_S)
    if not isinstance(value, int) or isinstance(value, bool) or value < MIN_EXPIRATION_S:
        raise errors.bad_request(
            f"spec.expirationSeconds: Invalid value: {value!r}: may not specify a duration less than 10 minutes"
        )
    return min(value, MAX_EXPIRATION_S)


def impersonated(name: str, groups: list[str]) -> tuple[User, list[Request]]:
    """The user an `Impersonate-User` (and `Impersonate-Group`) request acts as, and what the requester must be
    allowed to `impersonate` for it (the apiserver's impersonation filter)."""
    prefix = "system:serviceaccount:"
    if name.startswith(prefix) and name.count(":") == 3:
        ns, account = name[len(prefix) :].split(":")
        user = service_account(ns, account)
        needs = [Request("impersonate", "", "serviceaccounts", namespace=ns, name=account)]
    else:
        user = User(name, ("system:authenticated",))
        needs = [Request("impersonate", "", "users", name=name)]
    if groups:
        user = User(user.name, (*groups, "system:authenticated"))
        needs += [Request("impersonate", "", "groups", name=group) for group in groups]
    return user, needs


# ---------------------------------------------------------------------------------------------- authorization


@dataclass(frozen=True)
class Request:
    """The attributes RBAC decides on: a resource request (resource set) or a non-resource one (path set)."""

    verb: str
    group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def resource_path(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def verb(method: str, *, named: bool, watch: bool) -> str:
    """The RBAC verb of an HTTP request (the apiserver's RequestInfo)."""
    if watch:
        return "watch"
    return {
        "GET": "get" if named else "list",
        "HEAD": "get" if named else "list",
        "POST": "create",
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "delete" if named else "deletecollection",
    }.get(method, method.lower())


# What every authenticated user may do: the bootstrap ClusterRoles system:discovery, system:basic-user and
# system:public-info-viewer, bound to system:authenticated.
EVERYONE: tuple[dict[str, Any], ...] = (
    {
        "verbs": ["get"],
        "nonResourceURLs": [
            "/api", "/api/*", "/apis", "/apis/*", "/openapi", "/openapi/*", "/version", "/version/",
            "/healthz", "/livez", "/readyz",
        ],
    },
    {
        "verbs": ["create"],
        "apiGroups": ["authorization.k8s.io"],
        "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
    },
    {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]},
)  # fmt: skip


def _has(values: list[str] | None, wanted: str) -> bool:
    return "*" in (values or []) or wanted in (values or [])


def rule_allows(rule: dict[str, Any], req: Request) -> bool:
    """pkg/apis/rbac/v1/evaluation_helpers.go: RuleAllows / NonResourceURLMatches."""
    if not _has(rule.get("verbs"), req.verb):
        return False
    if not req.resource:
        urls = rule.get("nonResourceURLs") or []
        return any(u in (req.path, "*") or (u.endswith("*") and req.path.startswith(u[:-1])) for u in urls)
    if not _has(rule.get("apiGroups"), req.group):
        return False
    resources = rule.get("resources") or []
    combined = req.resource_path
    if not (
        "*" in resources
        or combined in resources
        or (req.subresource and f"*/{req.subresource}" in resources)
        or (req.subresource and f"{req.resource}/*" in resources)
    ):
        return False
    names = rule.get("resourceNames") or []
    return not names or req.name in names


def _subject_is(subject: dict[str, Any], user: User, binding_namespace: str) -> bool:
    kind, name = subject.get("kind"), subject.get("name", "")
    if kind == "ServiceAccount":
        return user.name == f"system:serviceaccount:{subject.get('namespace') or binding_namespace}:{name}"
    if kind == "User":
        return user.name == name
    if kind == "Group":
        return name in user.groups
    return False


def _rules_of(store: Store, ref: dict[str, Any], namespace: str) -> list[dict[str, Any]]:
    kind, name = ref.get("kind"), ref.get("name", "")
    role = store.peek("rbac.authorization.k8s.io/clusterroles", "", name) if kind == "ClusterRole" else None
    if kind == "Role":
        role = store.peek("rbac.authorization.k8s.io/roles", namespace, name)
    return list((role or {}).get("rules") or [])


def rules(store: Store, user: User, namespace: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every rule that applies to `user` in `namespace` ("" for cluster-scoped requests), with its source."""
    for binding in store.scan("rbac.authorization.k8s.io/clusterrolebindings"):
        if any(_subject_is(s, user, "") for s in binding.get("subjects") or []):
            via = f'ClusterRoleBinding "{binding["metadata"]["name"]}"'
            yield from ((r, via) for r in _rules_of(store, binding.get("roleRef") or {}, ""))
    if namespace:
        for binding in store.scan("rbac.authorization.k8s.io/rolebindings", namespace):
            if any(_subject_is(s, user, namespace) for s in binding.get("subjects") or []):
                via = f'RoleBinding "{binding["metadata"]["name"]}" of namespace "{namespace}"'
                yield from ((r, via) for r in _rules_of(store, binding.get("roleRef") or {}, namespace))


def authorize(store: Store, user: User, req: Request) -> tuple[bool, str]:
    """(allowed, reason) as the RBAC authorizer answers a SubjectAccessReview."""
    if user.unrestricted:
        return True, ""
    if any(rule_allows(rule, req) for rule in EVERYONE):
        return True, "RBAC: allowed by the bootstrap roles every authenticated user has"
    for rule, via in rules(store, user, req.namespace):
        if rule_allows(rule, req):
            return True, f"RBAC: allowed by {via}"
    return False, ""


def forbidden(user: User, req: Request) -> errors.APIError:
    """The apiserver's 403 for a request RBAC refused."""
    if not req.resource:
        return errors.forbidden(f'forbidden: User "{user.name}" cannot {req.verb} path "{req.path}"', {})
    group_resource = f"{req.resource}.{req.group}" if req.group else req.resource
    scope = f'in the namespace "{req.namespace}"' if req.namespace else "at the cluster scope"
    named = f' "{req.name}"' if req.name else ""
    message = (
        f'{group_resource}{named} is forbidden: User "{user.name}" cannot {req.verb} resource '
        f'"{req.resource_path}" in API group "{req.group}" {scope}'
    )
    details: dict[str, Any] = {"name": req.name} if req.name else {}
    if req.group:
        details["group"] = req.group
    details["kind"] = req.resource
    return errors.forbidden(message, details)


# ---------------------------------------------------------------------------------------------- reviews


def access_review(store: Store, user: User, spec: dict[str, Any]) -> dict[str, Any]:
    """The status of a SelfSubjectAccessReview (`kubectl auth can-i`)."""
    attrs = spec.get("resourceAttributes")
    if attrs:
        req = Request(
            verb=attrs.get("verb", ""),
            group=attrs.get("group", ""),
            resource=attrs.get("resource", ""),
            subresource=attrs.get("subresource", ""),
            namespace=attrs.get("namespace", ""),
            name=attrs.get("name", ""),
        )
    else:
        plain = spec.get("nonResourceAttributes") or {}
        req = Request(verb=plain.get("verb", ""), path=plain.get("path", ""))
    allowed, reason = authorize(store, user, req)
    return {"allowed": allowed, **({"reason": reason} if reason else {})}


def rules_review(store: Store, user: User, namespace: str) -> dict[str, Any]:
    """The status of a SelfSubjectRulesReview (`kubectl auth can-i --list`)."""
    every: list[dict[str, Any]] = [*EVERYONE]
    if user.unrestricted:
        every.insert(0, {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]})
        every.insert(1, {"verbs": ["*"], "nonResourceURLs": ["*"]})
    every += [rule for rule, _ in rules(store, user, namespace)]
    resource_rules = [
        {k: rule[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if rule.get(k)}
        for rule in every
        if rule.get("resources")
    ]
    non_resource = [
        {"verbs": rule["verbs"], "nonResourceURLs": rule["nonResourceURLs"]}
        for rule in every
        if rule.get("nonResourceURLs")
    ]
    return {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}
