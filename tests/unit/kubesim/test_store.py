"""The store: SQLite durability, resourceVersions, the change feed watches resume from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kubesim.store import Change, Store


def _obj(name: str, ns: str = "default", **data: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": ns}, "data": data}


def test_put_assigns_increasing_versions_and_copies(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.db")
    start = store.rv
    a = store.put("configmaps", _obj("a"))
    b = store.put("configmaps", _obj("b"))
    assert int(a["metadata"]["resourceVersion"]) == start + 1
    assert int(b["metadata"]["resourceVersion"]) == start + 2 == store.rv
    a["data"]["x"] = "mutated"  # the returned object is a copy
    assert store.peek("configmaps", "default", "a") == {
        "metadata": {"name": "a", "namespace": "default", "resourceVersion": str(start + 1)},
        "data": {},
    }
    got = store.get("configmaps", "default", "a")
    assert got is not None
    got["data"]["y"] = "1"
    assert store.peek("configmaps", "default", "a")["data"] == {}  # type: ignore[index]
    store.close()


def test_scan_is_sorted_and_filtered_by_namespace(tmp_path: Path) -> None:
    store = Store(None)
    for ns, name in (("b", "z"), ("a", "y"), ("b", "a"), ("a", "x")):
        store.put("configmaps", _obj(name, ns))
    assert [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in store.scan("configmaps")] == [
        ("a", "x"),
        ("a", "y"),
        ("b", "a"),
        ("b", "z"),
    ]
    assert [o["metadata"]["name"] for o in store.scan("configmaps", "b")] == ["a", "z"]
    assert store.scan("secrets") == []
    assert sorted(k for k, _ in store.objects_in_namespace("a")) == ["configmaps", "configmaps"]


def test_changes_feed_and_history(tmp_path: Path) -> None:
    store = Store(None)
    seen: list[Change] = []
    store.subscribe(seen.append)
    rv0 = store.rv
    store.put("configmaps", _obj("a"))
    store.put("configmaps", _obj("a", x="1"))
    gone = store.remove("configmaps", "default", "a")
    assert store.remove("configmaps", "default", "a") is None
    assert [c.type for c in seen] == ["ADDED", "MODIFIED", "DELETED"]
    assert [c.rv for c in seen] == [rv0 + 1, rv0 + 2, rv0 + 3]
    assert seen[1].old is not None and seen[1].old["data"] == {}
    assert gone is not None and gone["metadata"]["resourceVersion"] == str(rv0 + 3)
    assert [c.type for c in store.changes_since(rv0 + 1) or []] == ["MODIFIED", "DELETED"]
    assert store.changes_since(store.rv) == []
    store.unsubscribe(seen.append)
    store.put("configmaps", _obj("b"))
    assert len(seen) == 3


def test_history_window_reports_too_old(monkeypatch: Any) -> None:
    import kubesim.store as mod

    monkeypatch.setattr(mod, "HISTORY", 3)
    store = Store(None)
    for i in range(6):
        store.put("configmaps", _obj(f"c{i}"))
    assert store.changes_since(store.rv - 6) is None
    assert [c.rv for c in store.changes_since(store.oldest_rv()) or []] == [store.rv - 2, store.rv - 1, store.rv]


def test_reopen_restores_objects_and_version(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = Store(path)
    kept = store.put("configmaps", _obj("kept", v="1"))
    store.put("configmaps", _obj("dropped"))
    store.remove("configmaps", "default", "dropped")
    rv = store.rv
    store.close()  # no explicit flush: every write committed when it returned

    again = Store(path)
    assert again.rv == rv
    assert again.peek("configmaps", "default", "kept") == kept
    assert again.peek("configmaps", "default", "dropped") is None
    assert int(again.put("configmaps", _obj("next"))["metadata"]["resourceVersion"]) == rv + 1
    again.close()
