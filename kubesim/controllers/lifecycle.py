"""Garbage collection (ownerReferences), namespace deletion and namespace defaults."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

from kubesim import errors, resources
from kubesim.controllers.base import Controller, Key, copy
from kubesim.registry import resource_for_key
from kubesim.store import Change

NAMESPACES = resources.get("", "v1", "namespaces")
SERVICEACCOUNTS = resources.get("", "v1", "serviceaccounts")
CONFIGMAPS = resources.get("", "v1", "configmaps")
ROOT_CA = "kube-root-ca.crt"


class GarbageCollector(Controller):
    """Deletes dependents whose owner is gone (background propagation)."""

    primary = "__gc__"

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.type == "DELETED":
            yield "", change.obj["metadata"]["uid"]

    def enqueue_all(self) -> None:
        """On start and resync: collect dependents whose owners no longer exist."""
        uids = {o["metadata"]["uid"] for key in list(self.store._objects) for o in self.store.scan(key)}
        for key in list(self.store._objects):
            for obj in self.store.scan(key):
                for ref in obj["metadata"].get("ownerReferences") or []:
                    if ref.get("uid") not in uids:
                        self.enqueue(("", ref["uid"]))

    def reconcile(self, ns: str, uid: str) -> float | None:
        self.registry.delete_dependents(uid)
        return None


class NamespaceController(Controller):
    """Gives every namespace its `default` ServiceAccount and root CA ConfigMap; empties terminating ones."""

    primary = NAMESPACES.key
    root_ca = ""  # the cluster CA (PEM), which the server sets; its ConfigMap is kept at it, as the publisher does

    def keys_for(self, change: Change) -> Iterable[Key]:
        yield from super().keys_for(change)
        # as the serviceaccounts controller does: a deleted `default` account is made again
        if (
            change.key == SERVICEACCOUNTS.key
            and change.type == "DELETED"
            and change.obj["metadata"]["name"] == "default"
        ):
            yield "", change.obj["metadata"]["namespace"]

    def reconcile(self, ns: str, name: str) -> float | None:
        namespace = self.store.peek(NAMESPACES.key, "", name)
        if namespace is None:
            return None
        if namespace["metadata"].get("deletionTimestamp"):
            return self._finalize(namespace)
        if self.store.peek(SERVICEACCOUNTS.key, name, "default") is None:
            self.registry.create(SERVICEACCOUNTS, name, {"metadata": {"name": "default"}})
        published = self.store.peek(CONFIGMAPS.key, name, ROOT_CA)
        if published is not None and self.root_ca and (published.get("data") or {}).get("ca.crt") != self.root_ca:
            self.registry.update(CONFIGMAPS, name, ROOT_CA, dict(copy(published), data={"ca.crt": self.root_ca}))
        if published is None:
            self.registry.create(
                CONFIGMAPS,
                name,
                {
                    "metadata": {
                        "name": ROOT_CA,
                        "annotations": {
                            "kubernetes.io/description": "Contains a CA bundle that can be used to verify the "
                            "kube-apiserver when using internal endpoints such as the internal service IP or "
                            "kubernetes.default.svc. No other usage is guaranteed across "
                            "distributions of Kubernetes clusters."
                        },
                    },
                    "data": {"ca.crt": self.root_ca},
                },
            )
        return None

    def _finalize(self, namespace: dict[str, Any]) -> float | None:
        name = namespace["metadata"]["name"]
        remaining = list(self.store.objects_in_namespace(name))
        for key, obj in remaining:
            res = resource_for_key(key)
            if obj["metadata"].get("deletionTimestamp"):
                continue
            with contextlib.suppress(errors.APIError):
                self.registry.delete(res, name, obj["metadata"]["name"], {"propagationPolicy": "Background"})
        if list(self.store.objects_in_namespace(name)):
            conds = [
                {
                    "type": "NamespaceContentRemaining",
                    "status": "True",
                    "reason": "SomeResourcesRemain",
                    "message": f"Some resources are remaining: {len(remaining)} objects",
                }
            ]
            if (namespace.get("status") or {}).get("conditions") != conds:
                new = copy(namespace)
                new["status"]["conditions"] = conds
                self.store.put(NAMESPACES.key, new)
            return 0.1
        self.store.remove(NAMESPACES.key, "", name)
        return None
