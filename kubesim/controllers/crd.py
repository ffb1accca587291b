"""apiextensions-apiserver's controllers for CustomResourceDefinitions: naming, establishing, finalizing.

- Naming: a CRD's names are accepted (`NamesAccepted` True, `NoConflicts`) unless another CRD of the same group
  already uses its plural or kind (`PluralConflict` / `KindConflict`, `"<name>" is already in use`); accepted
  names go to `status.acceptedNames`.
- Establishing: once its names are accepted the CRD is `Established` (`InitialNamesAccepted`), and from then
  on its custom resources are served (kubesim/crd.py watches the store for that).
- Finalizing: a deleted CRD (marked `Terminating` with the cleanup finalizer by the registry) has all its
  objects deleted, then loses the finalizer and goes.
"""

from __future__ import annotations

import contextlib
from typing import Any

from kubesim import crd, errors
from kubesim.controllers.base import Controller, copy
from kubesim.registry import now_rfc3339


class CustomResourceDefinitionController(Controller):
    primary = crd.CRDS.key
    resync_s = 30.0

    def reconcile(self, ns: str, name: str) -> float | None:
        obj = self.store.peek(crd.CRDS.key, "", name)
        if obj is None:
            return None
        if obj["metadata"].get("deletionTimestamp"):
            return self._finalize(obj)
        new = copy(obj)
        now = now_rfc3339()
        conflict = self._conflict(obj)
        if conflict is None:
            names = dict(obj["spec"]["names"])
            new["status"]["acceptedNames"] = names
            crd.set_condition(new, "NamesAccepted", "True", reason="NoConflicts", message="no conflicts found", now=now)
            if not crd.established(obj):
                crd.set_condition(
                    new,
                    "Established",
                    "True",
                    reason="InitialNamesAccepted",
                    message="the initial names have been accepted",
                    now=now,
                )
        else:
            reason, message = conflict
            crd.set_condition(new, "NamesAccepted", "False", reason=reason, message=message, now=now)
            if not crd.established(obj):
                crd.set_condition(
                    new, "Established", "False", reason="NotAccepted", message="not all names are accepted", now=now
                )
        if new != obj:
            self.registry.write(crd.CRDS, copy(obj), new, sub="status")
        return None

    def _conflict(self, obj: dict[str, Any]) -> tuple[str, str] | None:
        spec = obj["spec"]
        mine = spec["names"]
        for other in self.store.scan(crd.CRDS.key):
            if other["metadata"]["name"] == obj["metadata"]["name"] or other["spec"].get("group") != spec["group"]:
                continue
            theirs = (other.get("status") or {}).get("acceptedNames") or {}
            if mine.get("plural") and mine["plural"] == theirs.get("plural"):
                return "PluralConflict", f'"{mine["plural"]}" is already in use'
            if mine.get("kind") and mine["kind"] == theirs.get("kind"):
                return "KindConflict", f'"{mine["kind"]}" is already in use'
            if mine.get("listKind") and mine["listKind"] == theirs.get("listKind"):
                return "ListKindConflict", f'"{mine["listKind"]}" is already in use'
        return None

    def _finalize(self, obj: dict[str, Any]) -> float | None:
        if crd.CLEANUP_FINALIZER not in (obj["metadata"].get("finalizers") or []):
            return None
        res = crd.resource_of(obj)
        remaining = list(self.store.scan(res.key)) if res is not None else []
        for item in remaining:
            assert res is not None
            if item["metadata"].get("deletionTimestamp"):
                continue
            with contextlib.suppress(errors.APIError):
                self.registry.delete(res, item["metadata"].get("namespace", ""), item["metadata"]["name"])
        if res is not None and self.store.scan(res.key):
            new = copy(obj)
            crd.set_condition(
                new,
                "Terminating",
                "True",
                reason="InstanceDeletionInProgress",
                message="CustomResource deletion is in progress",
                now=now_rfc3339(),
            )
            if new != obj:
                self.registry.write(crd.CRDS, copy(obj), new, sub="status")
            return 0.1
        new = copy(obj)
        new["metadata"]["finalizers"] = [f for f in obj["metadata"]["finalizers"] if f != crd.CLEANUP_FINALIZER]
        self.registry.write(crd.CRDS, copy(obj), new)
        return None
