"""A control loop: changes mark keys dirty; the loop reconciles each dirty key, retrying on error."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kubesim import errors
from kubesim.store import Change

if TYPE_CHECKING:
    from kubesim.cluster import Cluster

log = logging.getLogger("kubesim.controllers")
Key = tuple[str, str]


def copy(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(obj))


def owner_ref(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": obj["apiVersion"],
        "kind": obj["kind"],
        "name": obj["metadata"]["name"],
        "uid": obj["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def controlled_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    uid = owner["metadata"]["uid"]
    return any(r.get("uid") == uid and r.get("controller") for r in obj["metadata"].get("ownerReferences") or [])


def controller_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    for ref in obj["metadata"].get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


class Controller:
    """Subclasses set `primary` (store key) and implement `reconcile`; `related` maps other changes to keys."""

    primary = ""
    resync_s = 10.0

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.registry = cluster.registry
        self.store = cluster.registry.store
        self._dirty: dict[Key, None] = {}
        self._wake = asyncio.Event()

    def on_change(self, change: Change) -> None:
        keys = list(self.keys_for(change))
        for key in keys:
            self._dirty[key] = None
        if keys:
            self._wake.set()

    def keys_for(self, change: Change) -> Iterable[Key]:
        if change.key == self.primary:
            meta = change.obj["metadata"]
            yield meta.get("namespace", ""), meta["name"]

    def enqueue(self, key: Key) -> None:
        self._dirty[key] = None
        self._wake.set()

    def enqueue_all(self) -> None:
        for obj in self.store.scan(self.primary):
            self.enqueue((obj["metadata"].get("namespace", ""), obj["metadata"]["name"]))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        self.enqueue_all()
        next_resync = loop.time() + self.resync_s
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=max(0.01, next_resync - loop.time()))
            if loop.time() >= next_resync:
                self.enqueue_all()
                next_resync = loop.time() + self.resync_s
            self._wake.clear()
            batch, self._dirty = list(self._dirty), {}
            for key in batch:
                try:
                    delay = self.reconcile(*key)
                except errors.APIError as exc:
                    log.debug("%s %s: %s", type(self).__name__, key, exc.message)
                    delay = 0.2
                except Exception:
                    log.exception("%s failed on %s", type(self).__name__, key)
                    delay = 1.0
                if delay is not None:
                    loop.call_later(delay, self.enqueue, key)
            await asyncio.sleep(0)

    def reconcile(self, ns: str, name: str) -> float | None:  # pragma: no cover - abstract
        raise NotImplementedError
