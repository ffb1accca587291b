"""The horizontal pod autoscaler controller (kube-controller-manager's pkg/controller/podautoscaler, 1.32).

Every HorizontalPodAutoscaler is synced every 15 seconds (the first time 15 seconds after it is seen, as the
controller's fixed-interval work queue does). A sync reads the target's scale (Deployment, ReplicaSet or
StatefulSet: `spec.replicas` and its selector), the pods of that selector and their measured usage
(`Cluster.usage`, what metrics-server would answer), computes a replica count per metric, takes the largest,
bounds it by minReplicas/maxReplicas and the scaling rules (`spec.behavior`, or the 2x/4-pods and 5-minute
scale-down stabilisation of an HPA without one), writes the target's `spec.replicas` as the scale subresource
does, and records status, conditions and events worded as upstream words them.

The algorithm lives in `kubesim.hpa` (pure functions over plain objects and a clock, tested without a cluster);
this controller gathers their input from the store and writes their result.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from typing import Any

from kubesim import errors, resources
from kubesim.controllers.base import Controller, Key, copy
from kubesim.hpa.model import COMPONENT, FIELD_MANAGER, HPAS, Memory, Obj, Scale, ScaleUpdateError
from kubesim.hpa.sync import sync
from kubesim.store import Change

log = logging.getLogger("kubesim.controllers")


class HorizontalPodAutoscalerController(Controller):
    """Syncs each HPA every `sync_period_s`; a change to an HPA does not bring its next sync forward."""

    primary = HPAS.key
    sync_period_s = 15.0

    def __init__(self, cluster: Any) -> None:
        super().__init__(cluster)
        self._due: dict[Key, float] = {}
        self.memory: dict[Key, Memory] = {}

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.key == self.primary:
            meta = change.obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            if change.type == "DELETED":
                self._due.pop(key, None)
                self.memory.pop(key, None)
            else:
                self._due.setdefault(key, time.monotonic() + self.sync_period_s)
        return ()

    def enqueue(self, key: Key) -> None:
        """Sync `key` at the next turn of the loop (nothing in the cluster asks for that; the period rules)."""
        self._due[key] = time.monotonic()

    def enqueue_all(self) -> None:
        for obj in self.store.scan(self.primary):
            key = (obj["metadata"].get("namespace", ""), obj["metadata"]["name"])
            self._due.setdefault(key, time.monotonic() + self.sync_period_s)

    async def run(self) -> None:
        self.enqueue_all()
        while True:
            now = time.monotonic()
            for key, due in sorted(self._due.items(), key=lambda kv: kv[1]):
                if due > now:
                    continue
                self._due[key] = now + self.sync_period_s
                try:
                    self.reconcile(*key)
                except errors.APIError as exc:
                    log.debug("%s %s: %s", type(self).__name__, key, exc.message)
                except Exception:
                    log.exception("%s failed on %s", type(self).__name__, key)
            wait = min((d for d in self._due.values()), default=now + 1.0) - time.monotonic()
            await asyncio.sleep(min(1.0, max(0.05, wait)))

    def _target(self, ns: str, ref: Obj) -> tuple[resources.Resource, Obj] | str:
        """The scale target's resource and object, or the error the scale client would give."""
        api_version, kind, name = ref.get("apiVersion", ""), ref.get("kind", ""), ref.get("name", "")
        if api_version.count("/") > 1:
            return f"unexpected GroupVersion string: {api_version}"
        group = api_version.split("/", 1)[0] if "/" in api_version else ""
        res = next((r for r in resources.RESOURCES if r.group == group and r.kind == kind and not r.storage), None)
        if res is None:
            return f'no matches for kind "{kind}" in group "{group}"'
        if "scale" not in res.subresources:
            return "the server could not find the requested resource"
        obj = self.store.peek(res.key, ns, name)
        if obj is None:
            return f'{res.group_resource} "{name}" not found'
        return res, obj

    def reconcile(self, ns: str, name: str) -> float | None:
        stored = self.store.peek(self.primary, ns, name)
        if stored is None:
            self._due.pop((ns, name), None)
            self.memory.pop((ns, name), None)
            return None
        hpa = copy(stored)
        target = self._target(ns, (hpa.get("spec") or {}).get("scaleTargetRef") or {})
        scale: Scale | str
        if isinstance(target, str):
            scale = target
        else:
            res, obj = target
            scale_obj = self.registry.scale_of(res, obj)
            scale = Scale(
                int(scale_obj["spec"]["replicas"] or 0),
                int(scale_obj["status"]["replicas"] or 0),
                scale_obj["status"]["selector"],
            )

        def update_scale(replicas: int) -> None:
            assert not isinstance(target, str)
            res, obj = target
            old = self.store.get(res.key, ns, obj["metadata"]["name"])
            if old is None:
                raise ScaleUpdateError(f'{res.group_resource} "{obj["metadata"]["name"]}" not found')
            try:
                self.registry.set_scale(res, old, {"spec": {"replicas": replicas}}, manager=FIELD_MANAGER)
            except errors.APIError as exc:
                raise ScaleUpdateError(exc.message) from exc

        source = getattr(self.cluster, "usage", None)
        usage = source.containers() if source is not None else []
        pods = self.store.scan("pods", ns)
        memory = self.memory.setdefault((ns, name), Memory())
        result = sync(hpa, scale, pods=pods, usage=usage, memory=memory, now=time.time(), update_scale=update_scale)
        for event in result.events:
            self.registry.record_event(hpa, event.reason, event.message, type_=event.type, component=COMPONENT)
        current = self.store.peek(self.primary, ns, name)
        if current is not None and result.status != current.get("status"):
            new = copy(current)
            new["status"] = result.status
            self.registry.write(HPAS, current, new, sub="status", manager=FIELD_MANAGER)
        return None
