"""ControllerRevisions: the pod-template history the StatefulSet and DaemonSet controllers keep
(pkg/controller/history and the daemon controller's update.go).

A revision's `data` is the patch that restores its template, `{"spec":{"template":{...,"$patch":"replace"}}}`
(keys sorted, the template's `metadata.creationTimestamp: null` as a typed client encodes it), which is what
`kubectl rollout undo` and kubernetes.core's k8s_rollback send back as a strategic merge patch; `revision`
numbers them. A template that is an older revision's again (a rollback) gets that revision, renumbered as the
newest, rather than a new one. Revisions that no pod, nor the current or update revision, still uses are pruned
to `spec.revisionHistoryLimit`, oldest first.
"""

from __future__ import annotations

import contextlib
import json
from typing import TYPE_CHECKING, Any

from kubesim import errors, names, resources
from kubesim.controllers.base import controlled_by, copy, owner_ref

if TYPE_CHECKING:
    from kubesim.registry import Registry

REVISIONS = resources.get("apps", "v1", "controllerrevisions")
HASH_LABEL = "controller.kubernetes.io/hash"  # history.ControllerRevisionHashLabel (StatefulSets)
DAEMONSET_HASH = "controller-revision-hash"  # apps.DefaultDaemonSetUniqueLabelKey


def _sorted(value: Any) -> Any:
    """The value with every object's keys in order, as Go's encoding/json writes a map."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def template_patch(owner: dict[str, Any]) -> dict[str, Any]:
    """getPatch: the owner's pod template as a strategic merge patch that replaces the template whole."""
    template = copy(owner["spec"].get("template") or {})
    template.setdefault("metadata", {}).setdefault("creationTimestamp", None)
    template["$patch"] = "replace"
    return _sorted({"spec": {"template": template}})


def _raw(data: dict[str, Any]) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _fnv32(data: bytes) -> int:
    """FNV-1 (fnv.New32), the hash HashControllerRevision takes."""
    h = 0x811C9DC5
    for byte in data:
        h = (h * 0x01000193) & 0xFFFFFFFF
        h ^= byte
    return h


def revision_hash(data: dict[str, Any], collision_count: int = 0) -> str:
    """HashControllerRevision: FNV-1 over the data (and the collision count when set), safe-encoded."""
    raw = _raw(data)
    if collision_count:
        raw += str(collision_count).encode()
    return "".join(names.SAFE_ALPHABET[ord(d) % len(names.SAFE_ALPHABET)] for d in str(_fnv32(raw)))


def owned(registry: Registry, owner: dict[str, Any]) -> list[dict[str, Any]]:
    """The owner's revisions, oldest revision first (ties by creation, then name, as byRevision sorts)."""
    ns = owner["metadata"]["namespace"]
    mine = [cr for cr in registry.store.scan(REVISIONS.key, ns) if controlled_by(cr, owner)]
    return sorted(
        mine,
        key=lambda cr: (
            int(cr.get("revision") or 0),
            cr["metadata"].get("creationTimestamp", ""),
            cr["metadata"]["name"],
        ),
    )


def same_data(cr: dict[str, Any], data: dict[str, Any]) -> bool:
    return _raw(cr.get("data") or {}) == _raw(data)


def create(  # noqa: PLR0917 - the revision's parts
    registry: Registry,
    owner: dict[str, Any],
    name: str,
    labels: dict[str, str],
    data: dict[str, Any],
    revision: int,
) -> dict[str, Any]:
    meta = owner["metadata"]
    cr: dict[str, Any] = {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": name,
            "namespace": meta["namespace"],
            "labels": labels,
            "ownerReferences": [owner_ref(owner)],
        },
        "data": data,
        "revision": revision,
    }
    if meta.get("annotations"):
        cr["metadata"]["annotations"] = dict(meta["annotations"])
    return registry.create(REVISIONS, meta["namespace"], cr)


def renumber(registry: Registry, cr: dict[str, Any], revision: int) -> dict[str, Any]:
    """UpdateControllerRevision: the same revision under a new number (a rollback makes it the newest)."""
    if int(cr.get("revision") or 0) == revision:
        return cr
    new = copy(cr)
    new["revision"] = revision
    return registry.write(REVISIONS, cr, new)


def truncate(registry: Registry, revisions: list[dict[str, Any]], live: set[str], limit: int | None) -> None:
    """Delete the oldest revisions that nothing uses until at most `limit` of them remain."""
    if limit is None or limit < 0:
        return
    history = [cr for cr in revisions if cr["metadata"]["name"] not in live]
    for cr in history[: max(0, len(history) - limit)]:
        with contextlib.suppress(errors.APIError):
            registry.delete(REVISIONS, cr["metadata"]["namespace"], cr["metadata"]["name"])


def sync_daemonset(registry: Registry, ds: dict[str, Any], template_hash: str) -> dict[str, Any]:
    """constructHistory: the revision of the DaemonSet's current template (created, or renumbered as the newest
    when an older one matches), named `<ds>-<hash>` and labelled with the hash its pods carry."""
    data = template_patch(ds)
    revisions = owned(registry, ds)
    current = [cr for cr in revisions if same_data(cr, data)]
    old = [cr for cr in revisions if not same_data(cr, data)]
    next_revision = 1 + max((int(cr.get("revision") or 0) for cr in old), default=0)
    if current:
        return renumber(registry, current[-1], next_revision)
    labels = dict((ds["spec"]["template"].get("metadata") or {}).get("labels") or {})
    labels[DAEMONSET_HASH] = template_hash
    name = f"{ds['metadata']['name']}-{template_hash}"
    existing = registry.store.peek(REVISIONS.key, ds["metadata"]["namespace"], name)
    if existing is not None and same_data(existing, data):
        return existing
    return create(registry, ds, name, labels, data, next_revision)


def truncate_daemonset(registry: Registry, ds: dict[str, Any], pods: list[dict[str, Any]], current: str) -> None:
    """cleanupHistory: keep the revisions pods still run, the current one and `revisionHistoryLimit` others."""
    live = {current}
    by_hash = {(cr["metadata"].get("labels") or {}).get(DAEMONSET_HASH): cr for cr in owned(registry, ds)}
    for pod in pods:
        cr = by_hash.get((pod["metadata"].get("labels") or {}).get(DAEMONSET_HASH))
        if cr is not None:
            live.add(cr["metadata"]["name"])
    limit = ds["spec"].get("revisionHistoryLimit", 10)
    truncate(registry, owned(registry, ds), live, None if limit is None else int(limit))
