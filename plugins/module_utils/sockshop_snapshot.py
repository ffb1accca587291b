# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""A snapshot of every object in a namespace, and the differences between two snapshots.

The ledger holds only the fields a fault changes; this is the wider proof that a recovery restored the
namespace exactly: every object's spec (replicas, images, env, resources...), labels and annotations, the
replica counts in status, and every pod, with the restart counts of the pods that must not restart.

What is left out is bookkeeping that changes whenever anything happens and says nothing about the state:
resourceVersion, generation, managedFields, timestamps, the controllers' own annotations, Events (history),
resources computed on each read rather than stored (metrics.k8s.io), old ReplicaSets a Deployment keeps at 0
replicas (rollout history: the Deployment's spec says what runs), EndpointSlices (the same facts as Endpoints)
and the pod addresses behind an Endpoints object.
Secret values are reduced to a digest, so a snapshot on disk never holds a secret.

Pods are compared by the workload that owns them (Deployment -> ReplicaSet -> Pod): a pod replaced by its
controller has a new name, so pods are matched by uid, and only the pods of the workloads an incident
acts on (`faulted`) may be replaced or restart. Nothing here imports the kubernetes client; `take` works
on any client with the dynamic client's `resources` and `resource.get` (kubernetes.core's or the
kubernetes package's).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from typing import Any

ABSENT = "<absent>"
# Kinds that record history or repeat another object's facts: never part of the state.
SKIPPED_KINDS = frozenset({"Event", "EndpointSlice"})
# Annotations written by controllers and clients as bookkeeping, not as intent.
ENDPOINT_TRIGGER = "endpoints.kubernetes.io/last-change-trigger-time"
BOOKKEEPING_ANNOTATIONS = frozenset(
    {
        "kubectl.kubernetes.io/last-applied-configuration",
        ENDPOINT_TRIGGER,
        "control-plane.alpha.kubernetes.io/leader",
    }
)
BOOKKEEPING_ANNOTATION_PREFIXES = ("deployment.kubernetes.io/",)
# Status fields that are state (how many replicas run, the phase), not a moment's observation.
STATUS_FIELDS = (
    "replicas",
    "readyReplicas",
    "availableReplicas",
    "updatedReplicas",
    "currentReplicas",
    "desiredReplicas",
    "numberReady",
    "numberAvailable",
    "desiredNumberScheduled",
    "phase",
    "active",
    "succeeded",
    "failed",
)
# Pod spec fields the scheduler or admission fill in per pod.
POD_PER_INSTANCE = ("nodeName", "hostname", "subdomain")
SERVICE_ACCOUNT_VOLUME = "kube-api-access-"


def ref(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['metadata']['name']}"


def digest(value: str) -> str:
    return "sha256:" + hashlib.sha256(value.encode()).hexdigest()[:16]


def _metadata(meta: dict[str, Any]) -> dict[str, Any]:
    annotations = {
        key: value
        for key, value in (meta.get("annotations") or {}).items()
        if key not in BOOKKEEPING_ANNOTATIONS and not key.startswith(BOOKKEEPING_ANNOTATION_PREFIXES)
    }
    kept: dict[str, Any] = {
        "uid": meta.get("uid"),
        "labels": dict(meta.get("labels") or {}),
        "annotations": annotations,
        "owners": sorted(f"{o.get('kind')}/{o.get('name')}" for o in meta.get("ownerReferences") or []),
    }
    for key in ("finalizers", "deletionTimestamp"):
        if meta.get(key):
            kept[key] = meta[key]
    return kept


def _status(status: dict[str, Any] | None) -> dict[str, Any]:
    return {key: (status or {})[key] for key in STATUS_FIELDS if key in (status or {})}


def _endpoint_subsets(subsets: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    """How many ready and not-ready addresses serve which ports; the addresses change with every new pod."""
    return sorted(
        (
            {
                "ports": sorted(
                    f"{p.get('name', '')}:{p.get('port')}/{p.get('protocol', 'TCP')}" for p in s.get("ports") or []
                ),
                "ready": len(s.get("addresses") or []),
                "not_ready": len(s.get("notReadyAddresses") or []),
            }
            for s in subsets or []
        ),
        key=repr,
    )


def normalize(obj: dict[str, Any]) -> dict[str, Any]:
    """The state of one object, without bookkeeping (see the module docstring)."""
    body = {key: value for key, value in obj.items() if key not in ("apiVersion", "kind", "metadata", "status")}
    if obj["kind"] == "Secret":
        body["data"] = {key: digest(value) for key, value in (obj.get("data") or {}).items()}
        body.pop("stringData", None)
    if obj["kind"] == "Endpoints":
        body["subsets"] = _endpoint_subsets(obj.get("subsets"))
    normalized = {"metadata": _metadata(obj.get("metadata") or {}), **body}
    status = _status(obj.get("status"))
    if status:
        normalized["status"] = status
    return normalized


def pod_spec(spec: dict[str, Any]) -> dict[str, Any]:
    """A pod's spec without what the scheduler and admission fill in for each instance."""
    kept = {key: value for key, value in spec.items() if key not in POD_PER_INSTANCE}
    kept["volumes"] = [v for v in spec.get("volumes") or [] if not v.get("name", "").startswith(SERVICE_ACCOUNT_VOLUME)]
    for group in ("containers", "initContainers"):
        if group in spec:
            kept[group] = [
                dict(
                    c,
                    volumeMounts=[
                        m
                        for m in c.get("volumeMounts") or []
                        if not m.get("name", "").startswith(SERVICE_ACCOUNT_VOLUME)
                    ],
                )
                for c in spec[group]
            ]
    return kept


def pod_entry(pod: dict[str, Any], workload: str) -> dict[str, Any]:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    meta = pod.get("metadata") or {}
    labels = {k: v for k, v in (meta.get("labels") or {}).items() if k != "pod-template-hash"}
    return {
        "name": meta.get("name"),
        "workload": workload,
        "restarts": {s["name"]: int(s.get("restartCount") or 0) for s in statuses},
        "shape": {
            "labels": labels,
            "spec": pod_spec(pod.get("spec") or {}),
            "phase": (pod.get("status") or {}).get("phase"),
            "ready": sorted(f"{s['name']}={bool(s.get('ready'))}" for s in statuses),
            "terminating": bool(meta.get("deletionTimestamp")),
        },
    }


def workload_of(pod: dict[str, Any], owners: dict[str, str]) -> str:
    """Deployment/x for a pod of a Deployment's ReplicaSet, the owner (Kind/name) otherwise, Pod/x when bare."""
    meta = pod.get("metadata") or {}
    controller = next(
        (o for o in meta.get("ownerReferences") or [] if o.get("controller")),
        (meta.get("ownerReferences") or [None])[0],
    )
    if not controller:
        return f"Pod/{meta.get('name')}"
    owner = f"{controller.get('kind')}/{controller.get('name')}"
    return owners.get(owner, owner)


def rollout_history(obj: dict[str, Any]) -> bool:
    """An old ReplicaSet a Deployment keeps at 0 replicas after a rollout (`kubectl rollout history`)."""
    owned = any(o.get("kind") == "Deployment" for o in (obj.get("metadata") or {}).get("ownerReferences") or [])
    return obj.get("kind") == "ReplicaSet" and owned and not (obj.get("spec") or {}).get("replicas")


def build(namespace: str, objects: Iterable[dict[str, Any]], taken_at: str) -> dict[str, Any]:
    """A snapshot from the raw objects of a namespace (any kinds, in any order)."""
    objects = [o for o in objects if o.get("kind") not in SKIPPED_KINDS and not rollout_history(o)]
    owners = {}  # ReplicaSet/x -> Deployment/y
    for obj in objects:
        if obj["kind"] == "ReplicaSet":
            for owner in obj["metadata"].get("ownerReferences") or []:
                if owner.get("controller"):
                    owners[ref(obj)] = f"{owner.get('kind')}/{owner.get('name')}"
    snapshot: dict[str, Any] = {"namespace": namespace, "taken_at": taken_at, "objects": {}, "pods": {}}
    snapshot["api_versions"] = {o["kind"]: o["apiVersion"] for o in objects if o.get("apiVersion")}
    for obj in objects:
        if obj["kind"] == "Pod":
            snapshot["pods"][obj["metadata"]["uid"]] = pod_entry(obj, workload_of(obj, owners))
        else:
            snapshot["objects"][ref(obj)] = normalize(obj)
    return snapshot


def listable_kinds(client: Any) -> list[tuple[str, str]]:
    """(apiVersion, kind) of every namespaced resource the server stores and lists, at its group's preferred
    version. Resources that cannot be watched are computed on request, not stored (metrics.k8s.io's PodMetrics,
    a fresh sample on every read): they are not state to restore. The dynamic client's search does not filter on
    `namespaced` itself, so cluster-scoped kinds (a Namespace, a ClusterRole) are left out here."""
    found = []
    for resource in client.resources.search(namespaced=True, preferred=True):
        verbs = set(resource.verbs or [])
        if (
            not resource.namespaced
            or "/" in resource.name
            or resource.kind.endswith("List")
            or not {"list", "watch"} <= verbs
        ):
            continue
        if resource.kind not in SKIPPED_KINDS:
            found.append((resource.group_version, resource.kind))
    return sorted(set(found))


def read_namespace(client: Any, namespace: str) -> Iterator[dict[str, Any]]:
    for api_version, kind in listable_kinds(client):
        listed = client.resources.get(api_version=api_version, kind=kind).get(namespace=namespace).to_dict()
        for item in listed.get("items") or []:
            yield dict(item, apiVersion=api_version, kind=kind)


def take(client: Any, namespace: str, taken_at: str) -> dict[str, Any]:
    """Snapshot every object of `namespace` through a dynamic client.

    The dynamic clients cache discovery in the temporary directory, per server address: a kind listed there that
    the server answers 404 for (a CRD deleted since, another cluster that had the same address) means the cache
    is stale, so discovery is asked again, once."""
    try:
        objects = list(read_namespace(client, namespace))
    except Exception as exc:
        if getattr(exc, "status", None) != 404:
            raise
        client.resources.invalidate_cache()
        objects = list(read_namespace(client, namespace))
    return build(namespace, objects, taken_at)


# ---------------------------------------------------------------- comparing


def changes(before: Any, after: Any, path: str = "") -> Iterator[tuple[str, Any, Any]]:
    """(dotted path, before, after) for every leaf that differs; lists compare item by item."""
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            yield from changes(before.get(key, ABSENT), after.get(key, ABSENT), f"{path}.{key}" if path else str(key))
    elif isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        for index, (old, new) in enumerate(zip(before, after, strict=True)):
            yield from changes(old, new, f"{path}[{index}]")
    elif before != after:
        yield path, before, after


def difference(obj: str, field: str, before: Any, after: Any) -> dict[str, Any]:
    return {"object": obj, "field": field, "before": before, "after": after}


def _pod_differences(
    before: dict[str, Any], after: dict[str, Any], faulted: set[str], replaceable: bool
) -> list[dict[str, Any]]:
    found = []
    workloads = sorted({p["workload"] for p in before.values()} | {p["workload"] for p in after.values()})
    for workload in workloads:
        old = {uid: p for uid, p in before.items() if p["workload"] == workload}
        new = {uid: p for uid, p in after.items() if p["workload"] == workload}
        shapes_old = sorted((p["shape"] for p in old.values()), key=repr)
        shapes_new = sorted((p["shape"] for p in new.values()), key=repr)
        if len(old) != len(new):
            found.append(difference(f"pods of {workload}", "count", len(old), len(new)))
        elif shapes_old != shapes_new:
            for one, two in zip(shapes_old, shapes_new, strict=True):
                found.extend(difference(f"pods of {workload}", f, a, b) for f, a, b in changes(one, two))
        for uid in sorted(old.keys() & new.keys()):
            for container, count in sorted(new[uid]["restarts"].items()):
                was = old[uid]["restarts"].get(container, 0)
                if count != was and workload not in faulted:
                    found.append(difference(f"Pod/{new[uid]['name']}", f"restarts.{container}", was, count))
        if workload not in faulted and not replaceable:
            found.extend(
                difference(f"Pod/{old[uid]['name']}", "replaced", uid, "gone")
                for uid in sorted(old.keys() - new.keys())
            )
    return found


def compare(
    before: dict[str, Any], after: dict[str, Any], faulted: Iterable[str] = (), *, replaceable: bool = False
) -> list[dict[str, Any]]:
    """Every difference between two snapshots of one namespace; empty means the namespace is as it was.

    `faulted` names the workloads (Kind/name) an incident acts on: their pods may be replaced or restart,
    but how many there are, their spec and their readiness must still match. With `replaceable`, a pod of any
    workload may have been replaced by an identical one (a responder's `kubectl delete pod`); its restarts still
    count outside `faulted`.
    """
    found = []
    old, new = before["objects"], after["objects"]
    for key in sorted(old.keys() | new.keys()):
        if key not in new:
            found.append(difference(key, "", "present", ABSENT))
        elif key not in old:
            found.append(difference(key, "", ABSENT, "present"))
        else:
            found.extend(difference(key, f, a, b) for f, a, b in changes(old[key], new[key]))
    return _owned_rollouts_folded(found, old, new) + _pod_differences(
        before["pods"], after["pods"], set(faulted), replaceable
    )


def _owned_rollouts_folded(
    found: list[dict[str, Any]], old: dict[str, Any], new: dict[str, Any]
) -> list[dict[str, Any]]:
    """Leave out the ReplicaSets that a changed pod template made or retired: the template's difference says it."""
    rolled = {d["object"] for d in found if d["field"].startswith("spec.template")}

    def follows(d: dict[str, Any]) -> bool:
        meta = (new.get(d["object"]) or old.get(d["object"]) or {}).get("metadata") or {}
        return d["object"].startswith("ReplicaSet/") and bool(set(meta.get("owners") or []) & rolled)

    return [d for d in found if not follows(d)]


def describe(differences: list[dict[str, Any]]) -> str:
    """One line per difference, as a person reads it."""
    return "; ".join(
        f"{d['object']}{' ' + d['field'] if d['field'] else ''}: {d['before']!r} -> {d['after']!r}" for d in differences
    )


# ---------------------------------------------------------------- reverting to a snapshot

# Kinds whose stored state a snapshot holds in full (spec or data, labels, annotations), so an object of them can
# be put back as it was: what a person with kubectl changes in a namespace. Pods follow their workloads; Secrets
# are kept only as a digest; ReplicaSets and Endpoints follow Deployments and Services.
RESTORABLE_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "Service", "ConfigMap", "HorizontalPodAutoscaler"}
)


def stored_state(normalized: dict[str, Any]) -> dict[str, Any]:
    """What a revert puts back: the normalized object without its identity (uid, owners) and status."""
    meta = normalized.get("metadata") or {}
    kept = {key: value for key, value in normalized.items() if key not in ("metadata", "status")}
    return {"labels": meta.get("labels") or {}, "annotations": meta.get("annotations") or {}, **kept}


def revert_plan(baseline: dict[str, Any], current: dict[str, Any]) -> list[dict[str, Any]]:
    """What to do so that every restorable object is as in `baseline`: replace the changed ones, create the deleted
    ones, delete the new ones. Status is not state to revert: it follows once the spec is back."""
    plan = []
    old, new = baseline["objects"], current["objects"]
    versions = {**current.get("api_versions", {}), **baseline.get("api_versions", {})}
    for key in sorted(old.keys() | new.keys()):
        kind, name = key.split("/", 1)
        if kind not in RESTORABLE_KINDS:
            continue
        step = {"kind": kind, "name": name, "api_version": versions.get(kind, "")}
        if key not in new:
            plan.append({**step, "action": "create", "state": stored_state(old[key])})
        elif key not in old:
            plan.append({**step, "action": "delete"})
        elif stored_state(old[key]) != stored_state(new[key]):
            plan.append({**step, "action": "replace", "state": stored_state(old[key])})
    return plan


def reverted(
    live: dict[str, Any] | None, state: dict[str, Any], namespace: str, step: dict[str, Any]
) -> dict[str, Any]:
    """The body that puts `state` back: over the live object (its resourceVersion and bookkeeping annotations
    kept) for a replace, from nothing for a create."""
    body = {key: value for key, value in state.items() if key not in ("labels", "annotations")}
    live_meta = (live or {}).get("metadata") or {}
    bookkeeping = {
        key: value
        for key, value in (live_meta.get("annotations") or {}).items()
        if key in BOOKKEEPING_ANNOTATIONS or key.startswith(BOOKKEEPING_ANNOTATION_PREFIXES)
    }
    metadata: dict[str, Any] = {
        "name": step["name"],
        "namespace": namespace,
        "labels": dict(state["labels"]),
        "annotations": {**bookkeeping, **state["annotations"]},
    }
    if live_meta.get("resourceVersion"):
        metadata["resourceVersion"] = live_meta["resourceVersion"]
    return {"apiVersion": step["api_version"], "kind": step["kind"], "metadata": metadata, **body}
