"""The ServiceAccount token controller (kube-controller-manager's `serviceaccount-token`,
pkg/controller/serviceaccount/tokens_controller.go), for Secrets of type `kubernetes.io/service-account-token`.

- A Secret naming an account (annotation `kubernetes.io/service-account.name`) that exists, and whose
  `kubernetes.io/service-account.uid` annotation, if any, is that account's uid, gets what it lacks: `token` (a
  token that authenticates as the account, rbac.issue_secret_token), `ca.crt` (the cluster CA) and `namespace`,
  and both annotations set to the account's name and uid. A token already there is kept, as the controller keeps
  it (one not signed by the cluster authenticates nobody).
- A Secret naming an account that does not exist (or another account of that name: a different uid) is deleted,
  with the Secret's uid as precondition; so are an account's token Secrets when the account is deleted.
Since Kubernetes 1.24 nothing creates such Secrets for an account by itself: only Secrets users create are filled.
"""

from __future__ import annotations

import base64
import contextlib
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kubesim import errors, rbac, resources
from kubesim.controllers.base import Controller, Key, copy
from kubesim.store import Change

if TYPE_CHECKING:
    from kubesim.cluster import Cluster

SECRETS = resources.get("", "v1", "secrets")
SERVICEACCOUNTS = resources.get("", "v1", "serviceaccounts")
NAME_KEY = "kubernetes.io/service-account.name"
UID_KEY = "kubernetes.io/service-account.uid"
FIELD_MANAGER = "kube-controller-manager"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


class TokensController(Controller):
    """Fills ServiceAccount token Secrets, and deletes those whose account is gone."""

    primary = SECRETS.key

    def __init__(self, cluster: Cluster, signing_secret: str, root_ca: bytes) -> None:
        super().__init__(cluster)
        self.signing_secret = signing_secret
        self.root_ca = root_ca

    def keys_for(self, change: Change) -> Iterable[Key]:
        meta = change.obj["metadata"]
        if change.key == SECRETS.key and change.obj.get("type") == rbac.SECRET_TOKEN_TYPE:
            yield meta.get("namespace", ""), meta["name"]
        elif change.key == SERVICEACCOUNTS.key:
            yield from self._tokens_of(meta.get("namespace", ""), meta["name"])

    def _tokens_of(self, ns: str, account: str) -> Iterable[Key]:
        for secret in self.store.scan(SECRETS.key, ns):
            annotations = secret["metadata"].get("annotations") or {}
            if secret.get("type") == rbac.SECRET_TOKEN_TYPE and annotations.get(NAME_KEY) == account:
                yield ns, secret["metadata"]["name"]

    def enqueue_all(self) -> None:
        for secret in self.store.scan(SECRETS.key):
            if secret.get("type") == rbac.SECRET_TOKEN_TYPE:
                self.enqueue((secret["metadata"].get("namespace", ""), secret["metadata"]["name"]))

    def reconcile(self, ns: str, name: str) -> float | None:
        secret = self.store.peek(SECRETS.key, ns, name)
        if secret is None or secret.get("type") != rbac.SECRET_TOKEN_TYPE:
            return None
        meta = secret["metadata"]
        if meta.get("deletionTimestamp"):
            return None
        annotations = meta.get("annotations") or {}
        account = self.store.peek(SERVICEACCOUNTS.key, ns, annotations.get(NAME_KEY, ""))
        wanted_uid = annotations.get(UID_KEY, "")
        if account is None or (wanted_uid and account["metadata"]["uid"] != wanted_uid):
            with contextlib.suppress(errors.APIError):  # gone already, or replaced (the uid precondition)
                self.registry.delete(SECRETS, ns, name, {"preconditions": {"uid": meta["uid"]}})
            return None
        data: dict[str, Any] = dict(secret.get("data") or {})
        changed = False
        if data.get("ca.crt") != _b64(self.root_ca):
            data["ca.crt"], changed = _b64(self.root_ca), True
        if not data.get("namespace"):
            data["namespace"], changed = _b64(ns.encode()), True
        if not data.get("token"):
            token = rbac.issue_secret_token(self.signing_secret, account, name)
            data["token"], changed = _b64(token.encode()), True
        if not changed:
            return None
        new = copy(secret)
        new["data"] = data
        new["metadata"]["annotations"] = {
            **annotations,
            NAME_KEY: account["metadata"]["name"],
            UID_KEY: account["metadata"]["uid"],
        }
        try:
            self.registry.update(SECRETS, ns, name, new, manager=FIELD_MANAGER)
        except errors.APIError as exc:
            if exc.code not in (404, 409):
                raise
            # 409: someone else wrote it first; the change that made brings it back here
        return None
