"""`metrics.k8s.io/v1beta1` as metrics-server serves it: PodMetrics and NodeMetrics built on each request
from the measured containers (`UsageSource.containers()`) and the stored pods and nodes.

What metrics-server does, and so what this does:
- a pod appears only when it has measured containers: pods whose containers all run as placeholders (no
  process, nothing measured) are left out of lists, and getting one answers 404
  `podmetrics.metrics.k8s.io "<namespace>/<name>" not found`; a pod that does not exist answers
  `pods "<name>" not found`, a node that does not exist `node "<name>" not found` (metrics-server's listers);
- `labelSelector` selects on the pod's (node's) labels, `fieldSelector` accepts only `metadata.name` and
  `metadata.namespace`;
- lists are ordered by namespace and name, `metadata` of a list is `{}`, `creationTimestamp` is the time of the
  request, `timestamp`/`window` are those of the pod's earliest sample;
- CPU is written in nanocores ("12345n"), memory in kibibytes ("10240Ki");
- only get and list: a watch answers 405, as it does for metrics-server's pods.

Until the cluster measures anything (no usage source) every list is empty, which is what metrics-server answers
before its first scrape (`kubectl top` then says "metrics not available yet").
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from kubesim import errors
from kubesim.resources import Resource
from kubesim.selectors import (
    FieldSelector,
    LabelSelector,
    SelectorError,
    parse_field_selector,
    parse_label_selector,
)
from kubesim.store import Store
from kubesim.usage import ContainerUsage, UsageSource, format_cpu, format_memory

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"
_META_FIELDS = ("metadata.name", "metadata.namespace")
_UNSUPPORTED = "field label not supported: "  # how kubesim.selectors refuses a field


# ---- formatting -----------------------------------------------------------------------------------------
def rfc3339(ts: float) -> str:
    """metav1.Time as JSON: RFC 3339 in UTC, whole seconds."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def go_duration(seconds: float) -> str:
    """A Go time.Duration's String() ("2.005s", "1m0.5s", "500ms", "0s"): how metav1.Duration is written."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign, ns = ("-", -ns) if ns < 0 else ("", ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _fraction(ns, size) + unit
    hours, rest = divmod(ns, 3_600_000_000_000)
    minutes, rest = divmod(rest, 60_000_000_000)
    text = _fraction(rest, 1_000_000_000) + "s"
    if hours:
        return f"{sign}{hours}h{minutes}m{text}"
    if minutes:
        return f"{sign}{minutes}m{text}"
    return sign + text


def _fraction(value: int, unit: int) -> str:
    whole, frac = divmod(value, unit)
    if not frac:
        return str(whole)
    digits = len(str(unit)) - 1
    return f"{whole}.{str(frac).rjust(digits, '0').rstrip('0')}"


def _decimal_quantity(value: int, exponent: int) -> str:
    """resource.Quantity's canonical decimal form of `value` x 10**exponent (exponent -9 for nanocores)."""
    if value == 0:
        return "0"
    for suffix, exp in (("E", 18), ("P", 15), ("T", 12), ("G", 9), ("M", 6), ("k", 3), ("", 0)):
        if exp >= exponent and value % 10 ** (exp - exponent) == 0:
            return f"{value // 10 ** (exp - exponent)}{suffix}"
    for suffix, exp in (("m", -3), ("u", -6), ("n", -9)):
        if exp >= exponent and value % 10 ** (exp - exponent) == 0:
            return f"{value // 10 ** (exp - exponent)}{suffix}"
    return f"{value}e{exponent}"


def _binary_quantity(nbytes: int) -> str:
    """resource.Quantity's canonical form of a byte count parsed from "...Ki" (BinarySI)."""
    if -1024 < nbytes < 1024:
        return str(nbytes)
    for suffix, power in (("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if nbytes % (1 << power) == 0:
            return f"{nbytes >> power}{suffix}"
    return _decimal_quantity(nbytes, 0)


def _nanocores(cores: float) -> int:
    return int(format_cpu(cores)[:-1])


def _kib_bytes(nbytes: int) -> int:
    return int(format_memory(nbytes)[:-2]) * 1024


# ---- selection ------------------------------------------------------------------------------------------
def _labels(text: str | None) -> LabelSelector | None:
    return parse_label_selector(text) if text else None


def _fields(text: str | None) -> FieldSelector | None:
    if not text:
        return None
    try:
        return parse_field_selector(text, _META_FIELDS)
    except SelectorError as exc:
        field = str(exc).removeprefix(_UNSUPPORTED)
        if field == str(exc):
            raise
        # Worded by the apiserver library's default field label conversion, which the metrics types use.
        raise errors.bad_request(
            f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"'
        ) from exc


def _selected(
    objs: Iterable[dict[str, Any]], labels: LabelSelector | None, fields: FieldSelector | None
) -> list[dict[str, Any]]:
    out = []
    for obj in objs:
        if labels is not None and not labels.matches(obj["metadata"].get("labels") or {}):
            continue
        if fields is not None and not fields.matches(obj):
            continue
        out.append(obj)
    return out


# ---- building -------------------------------------------------------------------------------------------
def _read(usage: UsageSource | None) -> list[ContainerUsage]:
    return usage.containers() if usage is not None else []


def _measured(records: Iterable[ContainerUsage]) -> dict[tuple[str, str], list[ContainerUsage]]:
    by_pod: dict[tuple[str, str], list[ContainerUsage]] = {}
    for rec in records:
        by_pod.setdefault((rec.namespace, rec.pod), []).append(rec)
    return by_pod


def _pod_records(
    pod: Mapping[str, Any], measured: Mapping[tuple[str, str], list[ContainerUsage]]
) -> list[ContainerUsage]:
    """The pod's measured containers (a record of an earlier pod of the same name does not count), in the
    order of the pod's spec."""
    meta = pod["metadata"]
    uid = meta.get("uid", "")
    recs = [
        r for r in measured.get((meta.get("namespace", ""), meta["name"]), []) if not (r.uid and uid) or r.uid == uid
    ]
    order = {c.get("name"): i for i, c in enumerate((pod.get("spec") or {}).get("containers") or [])}
    return sorted(recs, key=lambda r: (order.get(r.container, len(order)), r.container))


def _earliest(recs: list[ContainerUsage]) -> ContainerUsage:
    return min(recs, key=lambda r: r.timestamp)


def _metadata(obj: Mapping[str, Any], now: float, namespaced: bool) -> dict[str, Any]:
    meta = obj["metadata"]
    out: dict[str, Any] = {"name": meta["name"]}
    if namespaced:
        out["namespace"] = meta.get("namespace", "")
    out["creationTimestamp"] = rfc3339(now)
    if meta.get("labels"):
        out["labels"] = dict(meta["labels"])
    return out


def _pod_metrics(pod: Mapping[str, Any], recs: list[ContainerUsage], now: float) -> dict[str, Any]:
    first = _earliest(recs)
    return {
        "kind": "PodMetrics",
        "apiVersion": API_VERSION,
        "metadata": _metadata(pod, now, namespaced=True),
        "timestamp": rfc3339(first.timestamp),
        "window": go_duration(first.window_s),
        "containers": [
            {
                "name": r.container,
                "usage": {"cpu": format_cpu(r.cpu_cores), "memory": format_memory(r.memory_working_set_bytes)},
            }
            for r in recs
        ],
    }


def pod_metrics(
    store: Store,
    usage: UsageSource | None,
    namespace: str | None = None,
    *,
    label_selector: str | None = None,
    field_selector: str | None = None,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """PodMetrics of every measured pod (in `namespace`, or all), ordered by namespace and name."""
    labels, fields = _labels(label_selector), _fields(field_selector)
    now = datetime.now(UTC).timestamp() if now is None else now
    measured = _measured(_read(usage))
    out = []
    for pod in _selected(store.scan("pods", namespace or None), labels, fields):
        recs = _pod_records(pod, measured)
        if recs:
            out.append(_pod_metrics(pod, recs, now))
    return out


def get_pod_metrics(
    store: Store, usage: UsageSource | None, namespace: str, name: str, *, now: float | None = None
) -> dict[str, Any]:
    pod = store.peek("pods", namespace, name)
    if pod is None:
        raise errors.APIError(404, "NotFound", f'pods "{name}" not found', {"name": name, "kind": "pods"})
    recs = _pod_records(pod, _measured(_read(usage)))
    if not recs:
        ref = f"{namespace}/{name}"
        raise errors.APIError(
            404,
            "NotFound",
            f'podmetrics.{GROUP} "{ref}" not found',
            {"name": ref, "group": GROUP, "kind": "podmetrics"},
        )
    return _pod_metrics(pod, recs, datetime.now(UTC).timestamp() if now is None else now)


def _node_pods(store: Store) -> dict[str, list[dict[str, Any]]]:
    by_node: dict[str, list[dict[str, Any]]] = {}
    for pod in store.scan("pods"):
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            by_node.setdefault(node, []).append(pod)
    return by_node


def _node_metrics(
    node: Mapping[str, Any],
    pods: list[dict[str, Any]],
    measured: Mapping[tuple[str, str], list[ContainerUsage]],
    fallback_window: float,
    now: float,
) -> dict[str, Any]:
    recs = [r for pod in pods for r in _pod_records(pod, measured)]
    nanocores = sum(_nanocores(r.cpu_cores) for r in recs)
    nbytes = sum(_kib_bytes(r.memory_working_set_bytes) for r in recs)
    first = _earliest(recs) if recs else None
    return {
        "kind": "NodeMetrics",
        "apiVersion": API_VERSION,
        "metadata": _metadata(node, now, namespaced=False),
        "timestamp": rfc3339(first.timestamp if first else now),
        "window": go_duration(first.window_s if first else fallback_window),
        "usage": {"cpu": f"{nanocores}n", "memory": f"{nbytes // 1024}Ki"},
    }


def node_metrics(
    store: Store,
    usage: UsageSource | None,
    *,
    label_selector: str | None = None,
    field_selector: str | None = None,
    now: float | None = None,
) -> list[dict[str, Any]]:
    """NodeMetrics of every node, ordered by name.

    A node's usage here is the sum of the measured containers of the pods bound to it (`spec.nodeName`): the
    pods' usage, not the whole machine's as metrics-server reports it (the embedded cluster's nodes share one
    host, and its other processes belong to no node). A node with no measured pods reports zero. Without a
    usage source nothing is measured at all, and the list is empty.
    """
    if usage is None:
        return []
    labels, fields = _labels(label_selector), _fields(field_selector)
    now = datetime.now(UTC).timestamp() if now is None else now
    records = usage.containers()
    measured = _measured(records)
    fallback = min((r.window_s for r in records), default=0.0)
    by_node = _node_pods(store)
    return [
        _node_metrics(node, by_node.get(node["metadata"]["name"], []), measured, fallback, now)
        for node in _selected(store.scan("nodes"), labels, fields)
    ]


def get_node_metrics(store: Store, usage: UsageSource | None, name: str, *, now: float | None = None) -> dict[str, Any]:
    if store.peek("nodes", "", name) is None:
        raise errors.APIError(404, "NotFound", f'node "{name}" not found', {"name": name, "kind": "node"})
    found = node_metrics(store, usage, field_selector=f"metadata.name={name}", now=now)
    if not found:
        raise errors.APIError(
            404,
            "NotFound",
            f'nodemetrics.{GROUP} "{name}" not found',
            {"name": name, "group": GROUP, "kind": "nodemetrics"},
        )
    return found[0]


def metrics_list(kind: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"kind": f"{kind}List", "apiVersion": API_VERSION, "metadata": {}, "items": items}


# ---- Table (kubectl get pods.metrics.k8s.io) --------------------------------------------------------------
def _usage_cells(obj: Mapping[str, Any]) -> tuple[str, str]:
    usages = [obj["usage"]] if obj["kind"] == "NodeMetrics" else [c["usage"] for c in obj["containers"]]
    nanocores = sum(int(u["cpu"][:-1]) for u in usages)
    nbytes = sum(int(u["memory"][:-2]) * 1024 for u in usages)
    return _decimal_quantity(nanocores, -9), _binary_quantity(nbytes)


def table(items: list[dict[str, Any]], include_object: str = "Metadata") -> dict[str, Any]:
    """The Table metrics-server's table convertor answers: Name, cpu, memory, Window."""
    if include_object not in ("None", "Metadata", "Object"):
        raise errors.bad_request(f'includeObject must be one of "None", "Metadata" or "Object", not "{include_object}"')
    columns: list[dict[str, Any]] = []
    if items:
        columns = [
            {"name": "Name", "type": "string", "format": "name", "description": "Name of the resource", "priority": 0},
            {"name": "cpu", "type": "string", "format": "quantity", "description": "", "priority": 0},
            {"name": "memory", "type": "string", "format": "quantity", "description": "", "priority": 0},
            {"name": "Window", "type": "string", "format": "duration", "description": "", "priority": 0},
        ]
    rows = []
    for obj in items:
        cpu, memory = _usage_cells(obj)
        row: dict[str, Any] = {"cells": [obj["metadata"]["name"], cpu, memory, obj["window"]]}
        if include_object == "Metadata":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": copy.deepcopy(obj["metadata"]),
            }
        elif include_object == "Object":
            row["object"] = copy.deepcopy(obj)
        rows.append(row)
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {}, "columnDefinitions": columns, "rows": rows}


# ---- serving --------------------------------------------------------------------------------------------
def serve(
    res: Resource,
    *,
    method: str,
    query: Mapping[str, str],
    namespace: str,
    name: str,
    watch: bool,
    store: Store,
    usage: UsageSource | None,
    wants_table: bool = False,
) -> tuple[int, dict[str, Any]]:
    """Answer one request for a metrics.k8s.io resource: (status, body). Raises APIError."""
    if res.group != GROUP or res.version != VERSION:
        raise errors.path_not_found()
    if watch:
        raise errors.path_not_found()  # metrics-server registers no watch paths
    if method != "GET":
        raise errors.method_not_allowed()
    if not name and query.get("watch", "false").lower() not in ("false", "0"):
        raise errors.APIError(
            405, "MethodNotAllowed", f'watch is not supported on resources of kind "{res.group_resource}"'
        )
    pods = res.plural == "pods"
    if name:
        obj = get_pod_metrics(store, usage, namespace, name) if pods else get_node_metrics(store, usage, name)
        return 200, table([obj], query.get("includeObject", "Metadata")) if wants_table else obj
    labels, fields = query.get("labelSelector"), query.get("fieldSelector")
    items = (
        pod_metrics(store, usage, namespace or None, label_selector=labels, field_selector=fields)
        if pods
        else node_metrics(store, usage, label_selector=labels, field_selector=fields)
    )
    if wants_table:
        return 200, table(items, query.get("includeObject", "Metadata"))
    return 200, metrics_list(res.kind, items)
