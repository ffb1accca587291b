"""Server-side Table output (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`) for `kubectl get`.

Columns and cells follow the real apiserver's printers (pkg/printers/internalversion, Kubernetes 1.32). The server
always prints the wide columns (priority 1); kubectl hides them unless `-o wide`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from . import autoscaling, cluster, core, events, pods, workloads
from ._util import CREATED_DOC, Printer, age, col, human_duration, meta, name, name_col, parse_time

__all__ = ["BUILTIN_GROUPS", "human_duration", "printer_for", "to_table"]

_PRINTERS: dict[tuple[str, str], Printer] = {
    **pods.PRINTERS,
    **core.PRINTERS,
    **events.PRINTERS,
    **workloads.PRINTERS,
    **autoscaling.PRINTERS,
    **cluster.PRINTERS,
}

# Groups served by kube-apiserver itself: kinds there without a printer get NAME / CREATED AT
# (rest.DefaultTableConvertor).
# Anything else is taken for a custom resource without printer columns: NAME / AGE.
BUILTIN_GROUPS = frozenset(
    {
        "",
        "admissionregistration.k8s.io",
        "apiextensions.k8s.io",
        "apiregistration.k8s.io",
        "apps",
        "authentication.k8s.io",
        "authorization.k8s.io",
        "autoscaling",
        "batch",
        "certificates.k8s.io",
        "coordination.k8s.io",
        "discovery.k8s.io",
        "events.k8s.io",
        "flowcontrol.apiserver.k8s.io",
        "internal.apiserver.k8s.io",
        "networking.k8s.io",
        "node.k8s.io",
        "policy",
        "rbac.authorization.k8s.io",
        "resource.k8s.io",
        "scheduling.k8s.io",
        "storage.k8s.io",
        "storagemigration.k8s.io",
    }
)


def _created_at(obj: Mapping[str, Any], now: datetime) -> list[Any]:
    stamp = parse_time(meta(obj).get("creationTimestamp"))
    text = stamp.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if stamp else "0001-01-01T00:00:00Z"
    return [name(obj), text]


_DEFAULT_BUILTIN = Printer([name_col(), col("Created At", CREATED_DOC, type_="date")], _created_at)
_DEFAULT_CUSTOM = Printer(
    [name_col(), col("Age", CREATED_DOC, type_="date")], lambda obj, now: [name(obj), age(obj, now)]
)


def printer_for(resource: str, group: str) -> Printer:
    """The printer the apiserver would use for this plural resource in this API group."""
    found = _PRINTERS.get((group, resource))
    if found is not None:
        return found
    return _DEFAULT_BUILTIN if group in BUILTIN_GROUPS else _DEFAULT_CUSTOM


def _row_object(obj: Mapping[str, Any], include_object: str) -> dict[str, Any] | None:
    if include_object == "None":
        return None
    if include_object == "Metadata":
        return {
            "kind": "PartialObjectMetadata",
            "apiVersion": "meta.k8s.io/v1",
            "metadata": copy.deepcopy(dict(meta(obj))),
        }
    return copy.deepcopy(dict(obj))


def to_table(
    resource: str,
    group: str,
    objects: list[dict],
    *,
    now: datetime,
    include_object: str = "Metadata",
    list_meta: dict | None = None,
    printer: Printer | None = None,
) -> dict:
    """A meta.k8s.io/v1 Table for these objects, rows in the order given.

    include_object is the `includeObject` query parameter: "None", "Metadata" (the default) or "Object".
    printer overrides the resource's own (a custom resource's comes from its CRD: kubesim/crd.py).
    """
    if include_object not in ("None", "Metadata", "Object"):
        raise ValueError(f'includeObject must be one of "None", "Metadata" or "Object", not {include_object!r}')
    printer = printer or printer_for(resource, group)
    rows = []
    for obj in objects:
        row: dict[str, Any] = {"cells": printer.row(obj, now)}
        conditions = printer.conditions(obj) if printer.conditions else None
        if conditions:
            row["conditions"] = conditions
        row_object = _row_object(obj, include_object)
        if row_object is not None:
            row["object"] = row_object
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": dict(list_meta) if list_meta else {},
        "columnDefinitions": copy.deepcopy(printer.columns),
        "rows": rows,
    }
