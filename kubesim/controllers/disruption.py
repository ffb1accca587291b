"""The disruption controller: keeps each PodDisruptionBudget's status current as its pods come, go and change
readiness (kubesim/disruption.py computes it)."""

from __future__ import annotations

from collections.abc import Iterable

from kubesim import resources
from kubesim.controllers.base import Controller, Key, copy
from kubesim.disruption import PDBS, budget_status
from kubesim.store import Change

PODS = resources.get("", "v1", "pods")
OWNERS = ("apps/deployments", "apps/replicasets", "apps/statefulsets")


class DisruptionController(Controller):
    primary = PDBS.key

    def keys_for(self, change: Change) -> Iterable[Key]:
        yield from super().keys_for(change)
        if change.key == PODS.key or change.key in OWNERS:
            ns = change.obj["metadata"].get("namespace", "")
            for pdb in self.store.scan(PDBS.key, ns):
                yield ns, pdb["metadata"]["name"]

    def reconcile(self, ns: str, name: str) -> float | None:
        pdb = self.store.peek(PDBS.key, ns, name)
        if pdb is None or pdb["metadata"].get("deletionTimestamp"):
            return None
        status = budget_status(pdb, self.store.scan(PODS.key, ns), self.store)
        new = copy(pdb)
        new["status"] = status
        if new != pdb:
            self.registry.write(PDBS, pdb, new, sub="status")
        # entries of disruptedPods expire: look again when the oldest would
        return 30.0 if status.get("disruptedPods") else None
