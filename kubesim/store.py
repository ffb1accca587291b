"""Object storage: SQLite on disk for durability, an in-memory index for reads, a change feed for watches.

Every acknowledged write is committed to SQLite (WAL mode) before the API answers, so a restart, even
after SIGKILL, loses nothing that a client saw succeed. Reads never touch SQLite.
"""

from __future__ import annotations

import json
import sqlite3
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HISTORY = 20_000  # watch events kept for clients resuming from a resourceVersion


@dataclass(frozen=True)
class Change:
    """One committed write, as a watch sees it. Objects are shared: treat them as read-only."""

    type: str  # ADDED | MODIFIED | DELETED
    key: str
    obj: dict[str, Any]
    old: dict[str, Any] | None
    rv: int


def _copy(obj: dict[str, Any]) -> dict[str, Any]:
    return json.loads(json.dumps(obj))


class Store:
    """All objects of the cluster, keyed by resource storage key, namespace and name."""

    def __init__(self, path: Path | None) -> None:
        self._db = sqlite3.connect(str(path) if path else ":memory:", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS objects (key TEXT, ns TEXT, name TEXT, data TEXT, PRIMARY KEY (key, ns, name))"
        )
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v TEXT)")
        self._objects: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        for key, ns, name, data in self._db.execute("SELECT key, ns, name, data FROM objects"):
            self._objects.setdefault(key, {})[(ns, name)] = json.loads(data)
        row = self._db.execute("SELECT v FROM meta WHERE k = 'rv'").fetchone()
        self._rv = int(row[0]) if row else 1
        self._history: deque[Change] = deque(maxlen=HISTORY)
        self._listeners: list[Callable[[Change], None]] = []
        self._closed = False

    # ---- reads -------------------------------------------------------------------------------
    @property
    def rv(self) -> int:
        return self._rv

    def oldest_rv(self) -> int:
        """The oldest resourceVersion a watch can resume from."""
        return self._history[0].rv - 1 if self._history else self._rv

    def peek(self, key: str, ns: str, name: str) -> dict[str, Any] | None:
        """The stored object itself (read-only)."""
        return self._objects.get(key, {}).get((ns, name))

    def get(self, key: str, ns: str, name: str) -> dict[str, Any] | None:
        """A private copy of the stored object, safe to modify."""
        obj = self.peek(key, ns, name)
        return _copy(obj) if obj is not None else None

    def scan(self, key: str, ns: str | None = None) -> list[dict[str, Any]]:
        """Stored objects (read-only) of one resource, optionally one namespace, sorted by namespace/name."""
        bucket = self._objects.get(key, {})
        keys = sorted(k for k in bucket if ns is None or k[0] == ns)
        return [bucket[k] for k in keys]

    def objects_in_namespace(self, ns: str) -> Iterator[tuple[str, dict[str, Any]]]:
        """Every stored object in namespace `ns`, with its storage key."""
        for key, bucket in self._objects.items():
            for (obj_ns, _), obj in list(bucket.items()):
                if obj_ns == ns:
                    yield key, obj

    def changes_since(self, rv: int) -> list[Change] | None:
        """Changes after `rv`, or None when they are no longer kept (the client must re-list)."""
        if rv < self.oldest_rv():
            return None
        return [c for c in self._history if c.rv > rv]

    # ---- writes ------------------------------------------------------------------------------
    def subscribe(self, listener: Callable[[Change], None]) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Callable[[Change], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def put(self, key: str, obj: dict[str, Any]) -> dict[str, Any]:
        """Store `obj` (the store takes ownership), give it the next resourceVersion, notify watchers."""
        meta = obj["metadata"]
        ns, name = meta.get("namespace", ""), meta["name"]
        old = self.peek(key, ns, name)
        self._rv += 1
        meta["resourceVersion"] = str(self._rv)
        self._commit("INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?)", (key, ns, name, json.dumps(obj)))
        self._objects.setdefault(key, {})[(ns, name)] = obj
        self._emit(Change("MODIFIED" if old is not None else "ADDED", key, obj, old, self._rv))
        return _copy(obj)

    def remove(self, key: str, ns: str, name: str) -> dict[str, Any] | None:
        """Delete an object for good; the DELETED event carries a new resourceVersion."""
        old = self._objects.get(key, {}).pop((ns, name), None)
        if old is None:
            return None
        self._rv += 1
        gone = _copy(old)
        gone["metadata"]["resourceVersion"] = str(self._rv)
        self._commit("DELETE FROM objects WHERE key = ? AND ns = ? AND name = ?", (key, ns, name))
        self._emit(Change("DELETED", key, gone, old, self._rv))
        return _copy(gone)

    def _commit(self, sql: str, args: tuple[Any, ...]) -> None:
        self._db.execute("BEGIN")
        try:
            self._db.execute(sql, args)
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('rv', ?)", (str(self._rv),))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise

    def _emit(self, change: Change) -> None:
        self._history.append(change)
        for listener in list(self._listeners):
            listener(change)

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        self._closed = True
        self._db.close()
