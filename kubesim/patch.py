"""Patches and field ownership, as the apiserver applies them to plain JSON objects.

* :func:`json_patch` (RFC 6902, ``application/json-patch+json``),
* :func:`merge_patch` (RFC 7386, ``application/merge-patch+json``),
* :func:`strategic_merge_patch` (``application/strategic-merge-patch+json``),
* :func:`server_side_apply` (``application/apply-patch+yaml``) and :func:`record_update`, which keep
  ``metadata.managedFields`` in the FieldsV1 encoding.

Every function returns a new object and never mutates its arguments. List merge keys per kind and path come
from :func:`list_strategies`; kinds outside that table get plain merge-patch semantics from
:func:`strategic_merge_patch` (server-side apply still merges their ``metadata`` lists by key).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import jsonpatch
import jsonpointer


class PatchError(ValueError):
    """The patch cannot apply: the server answers 422 Invalid (400 for a malformed body)."""


class ApplyConflict(Exception):
    """Server-side apply would change fields another manager owns; the server answers 409 Conflict."""

    def __init__(self, conflicts: Iterable[tuple[str, str]], owners: Mapping[str, str] | None = None) -> None:
        self.conflicts: list[tuple[str, str]] = list(conflicts)
        # manager -> how the apiserver names it: '"kubectl" using apps/v1' for Update managers.
        self.owners: dict[str, str] = dict(owners or {})
        super().__init__(self._message())

    def _label(self, manager: str) -> str:
        return self.owners.get(manager, json.dumps(manager))

    def _message(self) -> str:
        count = len(self.conflicts)
        if count == 1:
            path, manager = self.conflicts[0]
            return f"Apply failed with 1 conflict: conflict with {self._label(manager)}: {path}"
        grouped: dict[str, list[str]] = {}
        for path, manager in self.conflicts:
            grouped.setdefault(manager, []).append(path)
        lines: list[str] = []
        for manager, paths in grouped.items():
            lines.append(f"conflicts with {self._label(manager)}:")
            lines.extend(f"- {p}" for p in paths)
        return f"Apply failed with {count} conflicts: " + "\n".join(lines)

    def causes(self) -> list[dict[str, str]]:
        """``Status.details.causes`` entries as the apiserver sends them (a cause type goes under ``reason``)."""
        return [
            {"reason": "FieldManagerConflict", "message": f"conflict with {self._label(m)}", "field": p}
            for p, m in self.conflicts
        ]


# ------------------------------------------------------------------------------------------------ list schema

SET = "$set"  # strategy marker: a list of primitives merged as a set (e.g. metadata.finalizers)
Strategies = Mapping[tuple[str, ...], str]

_OBJECT_META_LISTS = {"ownerReferences": "uid", "finalizers": SET}
_CONTAINER_LISTS = {"ports": "containerPort", "env": "name", "volumeMounts": "mountPath", "volumeDevices": "devicePath"}
_CONTAINER_FIELDS = ("containers", "initContainers", "ephemeralContainers")
_POD_SPEC_LISTS = {
    "volumes": "name",
    "imagePullSecrets": "name",
    "hostAliases": "ip",
    "topologySpreadConstraints": "topologyKey",
    "resourceClaims": "name",
    "schedulingGates": "name",
}
_TEMPLATE_SPEC = ("spec", "template", "spec")
_POD_SPEC_AT: Mapping[str, tuple[str, ...]] = {
    "Pod": ("spec",),
    "PodTemplate": ("template", "spec"),
    "Deployment": _TEMPLATE_SPEC,
    "ReplicaSet": _TEMPLATE_SPEC,
    "ReplicationController": _TEMPLATE_SPEC,
    "StatefulSet": _TEMPLATE_SPEC,
    "DaemonSet": _TEMPLATE_SPEC,
    "Job": _TEMPLATE_SPEC,
    "CronJob": ("spec", "jobTemplate", "spec", "template", "spec"),
}
_CONDITION_KINDS = frozenset(
    {
        "Pod",
        "Deployment",
        "ReplicaSet",
        "ReplicationController",
        "StatefulSet",
        "DaemonSet",
        "Job",
        "Node",
        "Namespace",
        "Service",
        "HorizontalPodAutoscaler",
        "PersistentVolumeClaim",
        "PodDisruptionBudget",
    }
)
_KIND_LISTS: Mapping[str, Mapping[tuple[str, ...], str]] = {
    "Service": {("spec", "ports"): "port"},
    "Node": {("status", "addresses"): "type"},
    "Pod": {("status", "podIPs"): "ip", ("status", "hostIPs"): "ip"},
}
_METADATA_ONLY_KINDS = frozenset(
    {
        "ConfigMap",
        "Secret",
        "ServiceAccount",
        "Endpoints",
        "EndpointSlice",
        "Event",
        "Lease",
        "LimitRange",
        "ResourceQuota",
        "PersistentVolume",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "NetworkPolicy",
        "Ingress",
        "PriorityClass",
        "StorageClass",
        "ControllerRevision",
    }
)


def list_strategies(kind: str) -> dict[tuple[str, ...], str] | None:
    """How each list of ``kind`` merges, by path of field names (list items add no step): a merge key, or
    :data:`SET`. Lists not named are atomic (replaced whole). ``None`` for kinds without a strategic schema."""
    known = kind in _POD_SPEC_AT or kind in _CONDITION_KINDS or kind in _KIND_LISTS or kind in _METADATA_ONLY_KINDS
    if not known:
        return None
    out: dict[tuple[str, ...], str] = {("metadata", name): key for name, key in _OBJECT_META_LISTS.items()}
    pod = _POD_SPEC_AT.get(kind)
    if pod is not None:
        if len(pod) > 1:
            out.update({(*pod[:-1], "metadata", name): key for name, key in _OBJECT_META_LISTS.items()})
        out.update({(*pod, name): key for name, key in _POD_SPEC_LISTS.items()})
        for cfield in _CONTAINER_FIELDS:
            out[(*pod, cfield)] = "name"
            out.update({(*pod, cfield, name): key for name, key in _CONTAINER_LISTS.items()})
    if kind in _CONDITION_KINDS:
        out["status", "conditions"] = "type"
    out.update(_KIND_LISTS.get(kind, {}))
    return out


# ------------------------------------------------------------------------------------------- JSON / merge patch


def json_patch(obj: dict, ops: object) -> dict:
    """Apply an RFC 6902 operation list; :class:`PatchError` on malformed operations or a failed ``test``."""
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise PatchError("json patch must be a JSON array of operation objects")
    try:
        result = jsonpatch.apply_patch(copy.deepcopy(obj), copy.deepcopy(ops), in_place=True)
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
        raise PatchError(f"json patch cannot apply: {exc}") from exc
    except (TypeError, KeyError, IndexError, AttributeError, ValueError) as exc:
        raise PatchError(f"json patch is malformed: {exc}") from exc
    if not isinstance(result, dict):
        raise PatchError("json patch must leave an object at the document root")
    return result


def _merge_into(target: dict, patch: Mapping[str, Any]) -> None:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, Mapping):
            current = target.get(key)
            if not isinstance(current, dict):
                current = {}
                target[key] = current
            _merge_into(current, value)
        else:
            target[key] = _prune_nulls(copy.deepcopy(value))


def _prune_nulls(value: Any) -> Any:
    """A value a merge patch sets whole: its maps' null members are dropped at every depth, inside lists too
    (json-patch's MergePatch prunes them so, for the apiserver), where a list's own null items stay."""
    if isinstance(value, dict):
        return {k: _prune_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_prune_nulls(v) for v in value]
    return value


def merge_patch(obj: dict, patch: object) -> dict:
    """RFC 7386: maps merge recursively, ``null`` deletes, any other value (lists included) replaces."""
    if not isinstance(patch, dict):
        raise PatchError("merge patch must be a JSON object")
    result = copy.deepcopy(obj)
    _merge_into(result, patch)
    return result


# ------------------------------------------------------------------------------------------ strategic merge

_PATCH = "$patch"
_RETAIN = "$retainKeys"
_DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"
_SET_ORDER = "$setElementOrder/"
_DELETED = object()


def _ident(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def strategic_merge_patch(obj: dict, patch: dict, api_version: str, kind: str) -> dict:
    """Apply a strategic merge patch the way Kubernetes does for ``kind`` (``api_version`` is accepted for
    symmetry; merge keys do not differ between the versions this project serves)."""
    if not isinstance(patch, dict):
        raise PatchError("strategic merge patch must be a JSON object")
    merged = _smp_map(obj, patch, (), list_strategies(kind) or {})
    if merged is _DELETED or not isinstance(merged, dict):
        raise PatchError("$patch: delete at the top level of a patch would delete the whole object")
    return merged


def _smp_map(orig: Mapping[str, Any], patch: Mapping[str, Any], path: tuple[str, ...], strat: Strategies) -> Any:
    directive = patch.get(_PATCH)
    if directive is not None:
        if directive == "replace":
            return _smp_map({}, {k: v for k, v in patch.items() if k != _PATCH}, path, strat)
        if directive == "delete":
            return _DELETED
        if directive != "merge":
            raise PatchError(f"unknown patch type: {directive} in map: {dict(patch)}")
    result = copy.deepcopy(dict(orig))
    retain = patch.get(_RETAIN)
    if retain is not None:
        if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
            raise PatchError(f"$retainKeys must be a list of strings, got {retain!r}")
        for key in patch:
            if not key.startswith("$") and key not in retain:
                raise PatchError(f"key {key!r} in the patch is not present in the $retainKeys list {retain}")
        result = {k: v for k, v in result.items() if k in retain}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key in (_PATCH, _RETAIN):
            continue
        if key.startswith(_DELETE_PRIMITIVE):
            name = key[len(_DELETE_PRIMITIVE) :]
            if not isinstance(value, list):
                raise PatchError(f"{key} must be a list, got {value!r}")
            current = result.get(name)
            if isinstance(current, list):
                result[name] = [item for item in current if item not in value]
        elif key.startswith(_SET_ORDER):
            if not isinstance(value, list):
                raise PatchError(f"{key} must be a list, got {value!r}")
            orders[key[len(_SET_ORDER) :]] = value
        elif key.startswith("$"):
            raise PatchError(f"unknown patch directive {key!r}")
    for key, value in patch.items():
        if key.startswith("$"):
            continue
        sub = (*path, key)
        current = result.get(key)
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict):
            merged = _smp_map(current if isinstance(current, dict) else {}, value, sub, strat)
            if merged is _DELETED:
                result.pop(key, None)
            else:
                result[key] = merged
        elif isinstance(value, list):
            result[key] = _smp_list(current if isinstance(current, list) else [], value, sub, strat)
        else:
            result[key] = value
    for name, order in orders.items():
        current = result.get(name)
        if isinstance(current, list):
            result[name] = _reorder(current, order, strat.get((*path, name)))
    return result


def _smp_clean(item: Any, path: tuple[str, ...], strat: Strategies) -> Any:
    """A patch value with nothing to merge into: directives resolved and stripped."""
    if isinstance(item, dict):
        return _smp_map({}, item, path, strat)
    if isinstance(item, list):
        return _smp_list([], item, path, strat)
    return item


def _dedupe(items: Iterable[Any]) -> list[Any]:
    seen: set[str] = set()
    out: list[Any] = []
    for item in items:
        ident = _ident(item)
        if ident not in seen:
            seen.add(ident)
            out.append(item)
    return out


def _smp_list(orig: list[Any], patch: list[Any], path: tuple[str, ...], strat: Strategies) -> list[Any]:
    strategy = strat.get(path)
    if strategy is None:
        cleaned = [_smp_clean(item, path, strat) for item in patch]
        return [item for item in cleaned if item is not _DELETED]
    if strategy == SET:
        replace = False
        values: list[Any] = []
        for item in patch:
            if isinstance(item, dict):
                if item == {_PATCH: "replace"}:
                    replace = True
                    continue
                raise PatchError(f"list of primitives at {'.'.join(path)} cannot merge the map {item}")
            values.append(item)
        return _dedupe(values if replace else [*copy.deepcopy(orig), *values])
    key = strategy
    result = copy.deepcopy(orig)
    pending: list[dict[str, Any]] = []
    replace = False
    for item in patch:
        if not isinstance(item, dict):
            raise PatchError(f"list at {'.'.join(path)} merges on key {key!r} and cannot hold {item!r}")
        directive = item.get(_PATCH)
        if directive is None:
            if key not in item:
                raise PatchError(f"map: {item} does not contain declared merge key: {key}")
            pending.append(item)
        elif directive == "replace":
            replace = True
        elif directive == "delete":
            if key not in item:
                raise PatchError(f"map: {item} does not contain declared merge key: {key}")
            result = [x for x in result if not (isinstance(x, dict) and x.get(key) == item[key])]
        elif directive == "merge":
            raise PatchError("merging lists cannot yet be specified in the patch")
        else:
            raise PatchError(f"unknown patch type: {directive} in map: {item}")
    if replace:
        return [_smp_map({}, item, path, strat) for item in pending]
    for item in pending:
        index = next((i for i, x in enumerate(result) if isinstance(x, dict) and x.get(key) == item[key]), None)
        if index is None:
            result.append(_smp_map({}, item, path, strat))
        else:
            result[index] = _smp_map(result[index], item, path, strat)
    return result


def _reorder(items: list[Any], order: list[Any], strategy: str | None) -> list[Any]:
    """``$setElementOrder``: items named in ``order`` take that order; other items keep their slots."""
    if strategy is None:
        return items
    if strategy == SET:
        names = [_ident(o) for o in order]

        def name_of(x: Any) -> str | None:
            return _ident(x)
    else:
        if not all(isinstance(o, dict) and strategy in o for o in order):
            raise PatchError(f"$setElementOrder entries must each carry the merge key {strategy!r}")
        names = [_ident(o[strategy]) for o in order]

        def name_of(x: Any) -> str | None:
            return _ident(x[strategy]) if isinstance(x, dict) and strategy in x else None

    rank = {name: i for i, name in reversed(list(enumerate(names)))}
    slots = [i for i, x in enumerate(items) if name_of(x) in rank]
    ordered = sorted((items[i] for i in slots), key=lambda x: rank[name_of(x) or ""])
    out = list(items)
    for slot, item in zip(slots, ordered, strict=True):
        out[slot] = item
    return out


# ------------------------------------------------------------------------------------ field sets (FieldsV1)

FieldPath = tuple[str, ...]  # FieldsV1 steps: 'f:spec', 'k:{"name":"web"}', 'v:"x"', 'i:0'

_IGNORED_TOP = frozenset({"apiVersion", "kind"})
_IGNORED_META = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "managedFields",
        "selfLink",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
    }
)
_MAX_UPDATE_ENTRIES = 10


def _keyed(items: list[Any], key: str) -> bool:
    if not all(isinstance(i, dict) and key in i for i in items):
        return False
    return len({_ident(i[key]) for i in items}) == len(items)


def _key_step(key: str, value: Any) -> str:
    return "k:" + _ident({key: value})


def _walk(value: Any, path: FieldPath, schema: tuple[str, ...], strat: Strategies, out: set[FieldPath]) -> None:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _walk(v, (*path, "f:" + k), (*schema, k), strat, out)
        return
    if isinstance(value, list) and value:
        strategy = strat.get(schema)
        if strategy == SET and not any(isinstance(i, dict | list) for i in value):
            out.update((*path, "v:" + _ident(i)) for i in value)
            return
        if strategy is not None and strategy != SET and _keyed(value, strategy):
            for item in value:
                step = (*path, _key_step(strategy, item[strategy]))
                out.add(step)
                for k, v in item.items():
                    _walk(v, (*step, "f:" + k), (*schema, k), strat, out)
            return
    out.add(path)


def _fieldset(obj: Mapping[str, Any], strat: Strategies) -> set[FieldPath]:
    """Every field ``obj`` sets, leaves and associative-list items, without identity and server-set metadata."""
    out: set[FieldPath] = set()
    for key, value in obj.items():
        if key in _IGNORED_TOP:
            continue
        if key == "metadata" and isinstance(value, dict):
            for mkey, mvalue in value.items():
                if mkey not in _IGNORED_META:
                    _walk(mvalue, ("f:metadata", "f:" + mkey), ("metadata", mkey), strat, out)
            continue
        _walk(value, ("f:" + key,), (key,), strat, out)
    return out


def _get(obj: Any, path: FieldPath) -> tuple[bool, Any]:
    cur = obj
    for step in path:
        kind, _, rest = step.partition(":")
        try:
            if kind == "f" and isinstance(cur, dict) and rest in cur:
                cur = cur[rest]
            elif kind == "k" and isinstance(cur, list):
                want = json.loads(rest)
                cur = next(x for x in cur if isinstance(x, dict) and all(x.get(k) == v for k, v in want.items()))
            elif kind == "v" and isinstance(cur, list) and json.loads(rest) in cur:
                cur = json.loads(rest)
            elif kind == "i" and isinstance(cur, list):
                cur = cur[int(rest)]
            else:
                return False, None
        except (ValueError, StopIteration, IndexError, AttributeError):
            return False, None
    return True, cur


def _remove(obj: Any, path: FieldPath) -> None:
    found, parent = _get(obj, path[:-1])
    if not found:
        return
    step = path[-1]
    kind, _, rest = step.partition(":")
    if kind == "f" and isinstance(parent, dict):
        parent.pop(rest, None)
    elif kind in ("k", "v") and isinstance(parent, list):
        found, item = _get(parent, (step,))
        if found:
            parent.remove(item)


def path_string(path: FieldPath) -> str:
    """A field path as the apiserver prints it in conflicts: ``.spec.containers[name="web"].image``."""
    out: list[str] = []
    for step in path:
        kind, _, rest = step.partition(":")
        if kind == "f":
            out.append("." + rest)
        elif kind == "k":
            keys = json.loads(rest)
            out.append("[" + ",".join(f"{k}={_ident(keys[k])}" for k in sorted(keys)) + "]")
        elif kind == "v":
            out.append(f"[={rest}]")
        else:
            out.append(f"[{rest}]")
    return "".join(out)


def encode_fields(paths: Iterable[FieldPath]) -> dict[str, Any]:
    """A set of paths as a FieldsV1 tree (``{}`` leaves, ``"."`` where a node with children is itself owned)."""
    owned = set(paths)
    tree: dict[str, Any] = {}
    for path in owned:
        node = tree
        for step in path:
            node = node.setdefault(step, {})
    for path in owned:
        node = tree
        for step in path:
            node = node[step]
        if node:
            node["."] = {}

    def ordered(node: dict[str, Any]) -> dict[str, Any]:
        return {k: ordered(node[k]) for k in sorted(node)}

    return ordered(tree)


def decode_fields(tree: Any, prefix: FieldPath = ()) -> set[FieldPath]:
    """The paths a FieldsV1 tree owns; ValueError when it is not one."""
    if not isinstance(tree, dict):
        raise ValueError("FieldsV1 nodes must be objects")
    out: set[FieldPath] = set()
    for step, child in tree.items():
        if step == ".":
            continue
        if not isinstance(step, str) or step[:2] not in ("f:", "k:", "v:", "i:") or not isinstance(child, dict):
            raise ValueError(f"invalid FieldsV1 step {step!r}")
        path = (*prefix, step)
        if not child or "." in child:
            out.add(path)
        out |= decode_fields(child, path)
    return out


@dataclass
class _Entry:
    manager: str
    operation: str
    api_version: str
    time: str | None
    fields: set[FieldPath]
    subresource: str | None = None

    @property
    def identity(self) -> tuple[str, str, str | None]:
        return (self.manager, self.operation, self.subresource)

    def label(self) -> str:
        name = json.dumps(self.manager)
        return name if self.operation == "Apply" else f"{name} using {self.api_version}"

    def render(self) -> dict[str, Any]:
        out: dict[str, Any] = {"manager": self.manager, "operation": self.operation, "apiVersion": self.api_version}
        if self.time is not None:
            out["time"] = self.time
        out["fieldsType"] = "FieldsV1"
        out["fieldsV1"] = encode_fields(self.fields)
        if self.subresource:
            out["subresource"] = self.subresource
        return out


def _read_entries(obj: Mapping[str, Any] | None) -> list[_Entry] | None:
    """Entries of ``metadata.managedFields``; ``None`` when the object carries none. Invalid entries are dropped."""
    raw = ((obj or {}).get("metadata") or {}).get("managedFields")
    if not isinstance(raw, list):
        return None
    entries: list[_Entry] = []
    for item in raw:
        if not isinstance(item, dict) or item.get("fieldsType", "FieldsV1") != "FieldsV1":
            continue
        try:
            fields = decode_fields(item.get("fieldsV1") or {})
        except ValueError:
            continue
        entries.append(
            _Entry(
                manager=str(item.get("manager", "")),
                operation=str(item.get("operation", "Update")),
                api_version=str(item.get("apiVersion", "")),
                time=item.get("time"),
                fields=fields,
                subresource=item.get("subresource") or None,
            )
        )
    return entries


def _finish(result: dict, entries: list[_Entry]) -> dict:
    """Drop paths that no longer exist and empty entries, cap Update entries, write managedFields."""
    for entry in entries:
        entry.fields = {p for p in entry.fields if _get(result, p)[0]}
    kept = [e for e in entries if e.fields]
    while sum(e.operation == "Update" for e in kept) > _MAX_UPDATE_ENTRIES:
        updates = sorted((e for e in kept if e.operation == "Update"), key=lambda e: e.time or "")
        first, second = updates[0], updates[1]
        merged = _Entry("ancient-changes", "Update", second.api_version, second.time, first.fields | second.fields)
        kept = [merged if e is first else e for e in kept if e is not second]
    meta = result.setdefault("metadata", {})
    if kept:
        meta["managedFields"] = [e.render() for e in kept]
    else:
        meta.pop("managedFields", None)
    return result


def _without_managed(obj: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    out["metadata"] = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return out


# ------------------------------------------------------------------------------------------ server-side apply


def _drop_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_nulls(v) for v in value]
    return value


def _apply_config(applied: Mapping[str, Any]) -> dict[str, Any]:
    cfg = _drop_nulls(copy.deepcopy(dict(applied)))
    cfg.pop("status", None)
    meta = cfg.get("metadata")
    if isinstance(meta, dict):
        for key in ("managedFields", "resourceVersion", "uid", "creationTimestamp", "generation", "selfLink"):
            meta.pop(key, None)
    return cfg


def _apply_merge(live: Any, applied: Any, schema: tuple[str, ...], strat: Strategies) -> Any:
    if isinstance(applied, dict):
        base = copy.deepcopy(live) if isinstance(live, dict) else {}
        for key, value in applied.items():
            base[key] = _apply_merge(base.get(key), value, (*schema, key), strat)
        return base
    if isinstance(applied, list) and isinstance(live, list):
        strategy = strat.get(schema)
        if strategy == SET and not any(isinstance(i, dict | list) for i in applied):
            return _dedupe([*copy.deepcopy(live), *copy.deepcopy(applied)])
        if strategy is not None and strategy != SET and _keyed(applied, strategy):
            out = copy.deepcopy(live)
            for item in applied:
                index = next(
                    (i for i, x in enumerate(out) if isinstance(x, dict) and x.get(strategy) == item[strategy]), None
                )
                if index is None:
                    out.append(copy.deepcopy(item))
                else:
                    out[index] = _apply_merge(out[index], item, schema, strat)
            return out
    return copy.deepcopy(applied)


def _ssa_strategies(kind: str) -> dict[tuple[str, ...], str]:
    known = list_strategies(kind)
    if known is not None:
        return known
    return {("metadata", name): key for name, key in _OBJECT_META_LISTS.items()}


def _owned_by(paths: set[FieldPath], path: FieldPath) -> bool:
    """True when ``path`` or anything beneath it is in ``paths``."""
    size = len(path)
    return any(p[:size] == path for p in paths)


def server_side_apply(
    live: dict | None,
    applied: dict,
    *,
    manager: str,
    force: bool,
    api_version: str,
    kind: str,
    now: str,
) -> dict:
    """Apply ``applied`` as ``manager`` (create when ``live`` is None), tracking ownership in managedFields.

    Raises :class:`ApplyConflict` when the apply changes a field another manager owns and ``force`` is false.
    """
    if not isinstance(applied, dict):
        raise PatchError("apply configuration must be a JSON object")
    strat = _ssa_strategies(kind)
    cfg = _apply_config(applied)
    new_set = _fieldset(cfg, strat)
    mine_id = (manager, "Apply", None)
    if live is None:
        created = _apply_merge({}, cfg, (), strat)
        return _finish(created, [_Entry(manager, "Apply", api_version, now, new_set)])

    entries = _read_entries(live)
    if not entries:
        seed = _fieldset({k: v for k, v in live.items() if k != "status"}, strat)
        entries = [_Entry("before-first-apply", "Update", api_version, now, seed)] if seed else []
    mine = next((e for e in entries if e.identity == mine_id), None)
    others = [e for e in entries if e is not mine]

    conflicts: list[tuple[FieldPath, _Entry]] = []
    for entry in others:
        for path in sorted(new_set & entry.fields):
            if not path[-1].startswith("f:"):
                continue  # list items themselves never conflict; their fields do
            found, live_value = _get(live, path)
            if found and live_value != _get(cfg, path)[1]:
                conflicts.append((path, entry))
    if conflicts and not force:
        raise ApplyConflict(
            [(path_string(p), e.manager) for p, e in conflicts], {e.manager: e.label() for _, e in conflicts}
        )
    for path, entry in conflicts:
        entry.fields.discard(path)

    result = copy.deepcopy(live)
    others_owned: set[FieldPath] = set().union(*(e.fields for e in others)) if others else set()
    old_set = mine.fields if mine else set()
    # Parents first: once a list item's key field is gone the item can no longer be found.
    for path in sorted(old_set - new_set, key=len):
        if _owned_by(others_owned, path):
            continue
        _remove(result, path)
        for size in range(len(path) - 1, 1, -1):
            parent = path[:size]
            found, value = _get(result, parent)
            # Go drops empty maps and slices (omitempty), so the apiserver never shows them either.
            if not found or value not in ({}, []) or parent in new_set or _owned_by(others_owned, parent):
                break
            _remove(result, parent)
    result = _apply_merge(result, cfg, (), strat)

    unchanged = mine is not None and mine.fields == new_set and _without_managed(result) == _without_managed(live)
    new_entry = _Entry(manager, "Apply", api_version, mine.time if unchanged and mine else now, new_set)
    if mine is None:
        entries.append(new_entry)
    else:
        entries = [new_entry if e is mine else e for e in entries]
    return _finish(result, entries)


def record_update(
    old: dict | None,
    new: dict,
    *,
    manager: str,
    operation: str,
    api_version: str,
    now: str,
    subresource: str | None = None,
) -> dict:
    """Record a non-apply write: ``manager`` takes the fields it set or changed from every other manager.

    ``new`` is the object about to be stored; its own ``metadata.managedFields`` (if present) is the starting
    point, as when a client sends the whole object back, else the ones of ``old``.
    """
    if operation not in ("Update", "Apply"):
        raise PatchError(f"operation must be Update or Apply, got {operation!r}")
    if not isinstance(new, dict):
        raise PatchError("object must be a JSON object")
    strat = _ssa_strategies(str(new.get("kind") or (old or {}).get("kind") or ""))
    entries = _read_entries(new)
    if entries is None:
        entries = _read_entries(old) or []
    new_set = _fieldset(new, strat)
    if old is None:
        changed = new_set
    else:
        changed = set()
        for path in new_set:
            found, before = _get(old, path)
            if not found or (path[-1].startswith("f:") and before != _get(new, path)[1]):
                changed.add(path)
    identity = (manager, operation, subresource)
    for entry in entries:
        if entry.identity != identity:
            entry.fields -= changed
    mine = next((e for e in entries if e.identity == identity), None)
    if mine is None:
        mine = _Entry(manager, operation, api_version, now, set(), subresource)
        entries.append(mine)
    if changed:
        mine.fields |= changed
        mine.time = now
        mine.api_version = api_version
    return _finish(copy.deepcopy(new), entries)
