# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""A namespace's state as a report shows it: `kubectl get` tables, and the regression check between two states.

The tables are the API server's own (`Accept: ...;as=Table;g=meta.k8s.io`, what kubectl prints from), so they read
exactly as `kubectl get deployments,pods` does on that cluster at that moment; here they are only laid out as
kubectl lays them out (upper-case headers, columns padded to the widest cell plus three spaces, priority-0
columns only, as without `-o wide`).

The regression view keeps what an operator compares before and after an incident: each Deployment's replicas
(wanted, ready, available) and images, and each pod's workload, readiness, status and restarts. Nothing here
imports Ansible or the kubernetes client.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ansible.module_utils.sockshop_snapshot import workload_of

TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
GAP = "   "


def table_of(doc: Mapping[str, Any]) -> dict[str, Any]:
    """The priority-0 columns and their cells of a meta.k8s.io Table (a list's rows; none when it is empty)."""
    if doc.get("kind") != "Table":
        raise ValueError(f"expected a meta.k8s.io Table, got kind {doc.get('kind')!r}")
    shown = [i for i, c in enumerate(doc.get("columnDefinitions") or []) if not c.get("priority")]
    columns = [str(doc["columnDefinitions"][i]["name"]) for i in shown]
    rows = [[_cell(row["cells"][i]) for i in shown] for row in doc.get("rows") or []]
    return {"columns": columns, "rows": rows}


def _cell(value: Any) -> str:
    if value is None:
        return "<none>"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def text(table: Mapping[str, Any]) -> str:
    """The table as kubectl prints it; `No resources found.` when it has no row."""
    if not table.get("rows"):
        return "No resources found."
    lines = [[c.upper() for c in table["columns"]], *table["rows"]]
    widths = [max(len(line[i]) for line in lines) for i in range(len(table["columns"]))]
    return "\n".join(
        GAP.join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip() for line in lines
    )


def only_rows(table: Mapping[str, Any], names: Iterable[str]) -> dict[str, Any]:
    """The table with the rows whose first cell (NAME) is one of `names`."""
    wanted = set(names)
    return {"columns": list(table["columns"]), "rows": [r for r in table["rows"] if r and r[0] in wanted]}


# ---------------------------------------------------------------- the regression check


def view(
    deployments: Iterable[Mapping[str, Any]],
    replicasets: Iterable[Mapping[str, Any]],
    pods: Iterable[Mapping[str, Any]],
) -> dict[str, Any]:
    """What the regression check compares, from the raw lists of a namespace's Deployments, ReplicaSets and Pods."""
    # a pod's workload as the namespace snapshot names it: Deployment/x through its ReplicaSet
    owners = {
        f"ReplicaSet/{rs['metadata']['name']}": workload_of(rs, {})
        for rs in replicasets
        if (rs.get("metadata") or {}).get("ownerReferences")
    }
    found: dict[str, Any] = {"deployments": {}, "pods": {}}
    for d in deployments:
        status = d.get("status") or {}
        containers = (((d.get("spec") or {}).get("template") or {}).get("spec") or {}).get("containers") or []
        found["deployments"][d["metadata"]["name"]] = {
            "replicas": int((d.get("spec") or {}).get("replicas", 1) or 0),
            "ready": int(status.get("readyReplicas") or 0),
            "available": int(status.get("availableReplicas") or 0),
            "images": [str(c.get("image")) for c in containers],
        }
    for p in pods:
        meta = p.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            continue  # on its way out (an old pod a rollout replaced, still shutting down): not part of the state
        statuses = (p.get("status") or {}).get("containerStatuses") or []
        found["pods"][meta["name"]] = {
            "workload": workload_of(p, owners),
            "ready": f"{sum(1 for s in statuses if s.get('ready'))}/{len(statuses)}",
            "phase": (p.get("status") or {}).get("phase"),
            "restarts": sum(int(s.get("restartCount") or 0) for s in statuses),
        }
    return found


def regressions(
    before: Mapping[str, Any], after: Mapping[str, Any], faulted: Iterable[str] = ()
) -> list[dict[str, Any]]:
    """Every difference between the state before the fault and after recovery, each {object, field, before,
    after}: a Deployment's replicas, readiness or images, a pod gone, new, restarted or not ready. Pods of the
    `faulted` workloads (Kind/name) may be replaced by the fault and its recovery: for them only how many there
    are and how many are ready count."""
    faulted = set(faulted)
    found = []
    old_d, new_d = before.get("deployments") or {}, after.get("deployments") or {}
    for name in sorted(old_d.keys() | new_d.keys()):
        was, now = old_d.get(name), new_d.get(name)
        if was is None or now is None:
            found.append(
                _diff(f"Deployment/{name}", "", "present" if was else "absent", "present" if now else "absent")
            )
            continue
        found.extend(
            _diff(f"Deployment/{name}", key, was[key], now[key]) for key in sorted(was) if was[key] != now.get(key)
        )
    old_p, new_p = before.get("pods") or {}, after.get("pods") or {}
    for workload in sorted({p["workload"] for p in [*old_p.values(), *new_p.values()]}):
        was = {n: p for n, p in old_p.items() if p["workload"] == workload}
        now = {n: p for n, p in new_p.items() if p["workload"] == workload}
        if workload in faulted:
            ready = (_count_ready(was), _count_ready(now))
            if len(was) != len(now) or ready[0] != ready[1]:
                found.append(_diff(f"pods of {workload}", "ready", f"{ready[0]}/{len(was)}", f"{ready[1]}/{len(now)}"))
            continue
        for name in sorted(was.keys() - now.keys()):
            found.append(_diff(f"Pod/{name}", "", "present", "replaced or gone"))
        for name in sorted(now.keys() - was.keys()):
            found.append(_diff(f"Pod/{name}", "", "absent", "present"))
        for name in sorted(was.keys() & now.keys()):
            found.extend(
                _diff(f"Pod/{name}", key, was[name][key], now[name][key])
                for key in ("ready", "phase", "restarts")
                if was[name][key] != now[name][key]
            )
    return found


def _count_ready(pods: Mapping[str, Any]) -> int:
    return sum(1 for p in pods.values() if p["ready"].split("/")[0] == p["ready"].split("/")[1] != "0")


def _diff(obj: str, field: str, before: Any, after: Any) -> dict[str, Any]:
    return {"object": obj, "field": field, "before": before, "after": after}
