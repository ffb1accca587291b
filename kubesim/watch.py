"""Watch streams: newline-delimited JSON events from a resourceVersion, as `kubectl get -w` reads them."""

from __future__ import annotations

import asyncio
import contextlib
import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web

from kubesim import crd, errors, tables
from kubesim.selectors import parse_field_selector, parse_label_selector
from kubesim.store import Change

if TYPE_CHECKING:
    from kubesim.api import API, Target

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


class _Filter:
    def __init__(self, request: web.Request, t: Target) -> None:
        q = request.query
        self.ns = t.ns
        self.labels = parse_label_selector(q.get("labelSelector")) if q.get("labelSelector") else None
        self.fields = (
            parse_field_selector(q.get("fieldSelector"), t.res.field_selectors) if q.get("fieldSelector") else None
        )
        self.key = t.res.key

    def matches(self, obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        if self.ns and obj["metadata"].get("namespace") != self.ns:
            return False
        if self.labels is not None and not self.labels.matches(obj["metadata"].get("labels") or {}):
            return False
        return self.fields is None or self.fields.matches(obj)

    def event(self, change: Change) -> str | None:
        """The event type a client with these selectors sees for `change`, if any."""
        if change.key != self.key:
            return None
        now, before = self.matches(change.obj), self.matches(change.old)
        if change.type == "DELETED":
            return "DELETED" if before else None
        if change.type == "ADDED":
            return "ADDED" if now else None
        if now and before:
            return "MODIFIED"
        if now:
            return "ADDED"
        return "DELETED" if before else None


async def stream_watch(api: API, request: web.Request, t: Target) -> web.StreamResponse:
    q = request.query
    flt = _Filter(request, t)
    as_table = "as=Table" in request.headers.get("Accept", "")
    include = q.get("includeObject", "Metadata")
    queue: asyncio.Queue[Change] = asyncio.Queue()

    def listener(change: Change) -> None:
        if change.key == flt.key:
            queue.put_nowait(change)

    store = api.registry.store
    rv_param = q.get("resourceVersion", "")
    send_initial = q.get("sendInitialEvents") == "true"
    if rv_param not in ("", "0") and not rv_param.isdigit():
        raise errors.bad_request(f"invalid resourceVersion {rv_param!r}")
    resp = web.StreamResponse(headers={"Content-Type": "application/json"})
    resp.enable_chunked_encoding()
    await resp.prepare(request)

    async def send(kind: str, obj: dict[str, Any]) -> None:
        if kind not in ("ERROR", "BOOKMARK"):
            obj = api.registry._present(t.res, json.loads(json.dumps(obj)))
            if as_table:
                obj = tables.to_table(
                    t.res.plural,
                    t.res.group,
                    [obj],
                    now=datetime.now(UTC),
                    include_object=include,
                    list_meta={"resourceVersion": obj["metadata"]["resourceVersion"]},
                    printer=crd.printer_for(t.res),
                )
        await resp.write((json.dumps({"type": kind, "object": obj}, separators=(",", ":")) + "\n").encode())

    # Subscribe before reading the backlog or the initial list, so no change falls in between.
    store.subscribe(listener)
    backlog: list[Change] | None = []
    if rv_param not in ("", "0") and not send_initial:
        backlog = store.changes_since(int(rv_param))
    start_rv = store.rv
    timeout = float(q.get("timeoutSeconds") or 1800)
    try:
        if backlog is None:
            await send("ERROR", errors.gone(f"too old resource version: {rv_param} ({store.oldest_rv()})").status())
            return resp
        if rv_param in ("", "0") or send_initial:
            for obj in api.registry.select(t.res, t.ns or None, flt.labels, flt.fields):
                await send("ADDED", obj)
            if send_initial:
                await send(
                    "BOOKMARK",
                    {
                        "kind": t.res.kind,
                        "apiVersion": t.res.api_version,
                        "metadata": {"resourceVersion": str(store.rv), "annotations": {INITIAL_EVENTS_END: "true"}},
                    },
                )
        seen = start_rv
        for change in backlog:
            kind = flt.event(change)
            if kind:
                await send(kind, change.obj)
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            try:
                change = await asyncio.wait_for(queue.get(), timeout=min(remaining, 1.0))
            except TimeoutError:
                # A client that went away, or a server shutting down, ends the stream within a second
                # (the server's shutdown otherwise waits on every open watch).
                if request.transport is None or request.transport.is_closing() or store.closed:
                    break
                continue
            if change.rv <= seen:
                continue
            kind = flt.event(change)
            if kind:
                await send(kind, change.obj)
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    finally:
        store.unsubscribe(listener)
    with contextlib.suppress(ConnectionResetError, RuntimeError):
        await resp.write_eof()
    return resp
