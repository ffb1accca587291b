"""REST semantics shared by the HTTP API and the controllers: create, update, patch, delete, events."""

from __future__ import annotations

import base64
import contextlib
import json
import random
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from kubesim import admission, convert_hpa, crd, errors, names, patch, resources, serviceaccounts, workload_strategy
from kubesim.events import core_to_events_v1, events_v1_to_core
from kubesim.resources import Resource
from kubesim.selectors import FieldSelector, LabelSelector, label_selector_from_spec
from kubesim.store import Store

NS = resources.get("", "v1", "namespaces")
EVENTS = resources.get("", "v1", "events")
HPA_V2 = resources.get("autoscaling", "v2", "horizontalpodautoscalers")

PATCH_TYPES = {
    "application/json-patch+json": "json",
    "application/merge-patch+json": "merge",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
    "application/apply-patch+json": "apply",
}


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _strip_volatile(obj: dict[str, Any]) -> dict[str, Any]:
    """The object without the fields a no-op write may still differ in."""
    out = dict(obj)
    meta = dict(out.get("metadata") or {})
    meta.pop("resourceVersion", None)
    # managedFields count without their timestamps, as the apiserver's field manager ignores a write that only
    # moves them; a manager that becomes a co-owner (server-side apply of the same values) is a change
    meta["managedFields"] = [
        {k: v for k, v in e.items() if k != "time"} if isinstance(e, dict) else e
        for e in meta.get("managedFields") or []
    ]
    out["metadata"] = meta
    return out


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


FOREGROUND = "foregroundDeletion"  # the finalizer of an owner deleted with propagationPolicy Foreground


class Registry:
    """The cluster's objects with Kubernetes write semantics on top of the store."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._rng = random.Random()
        crd.watch(store)  # serve the custom resources of the established CustomResourceDefinitions

    # ---- reads -------------------------------------------------------------------------------
    def get(self, res: Resource, ns: str, name: str) -> dict[str, Any]:
        obj = self.store.get(res.key, ns if res.namespaced else "", name)
        if obj is None:
            raise errors.not_found(res, name)
        return self._present(res, obj)

    def peek(self, res: Resource, ns: str, name: str) -> dict[str, Any] | None:
        return self.store.peek(res.key, ns if res.namespaced else "", name)

    def select(
        self, res: Resource, ns: str | None, labels: LabelSelector | None = None, fields: FieldSelector | None = None
    ) -> list[dict[str, Any]]:
        """Stored objects (read-only) matching the selectors."""
        out = []
        for obj in self.store.scan(res.key, ns if res.namespaced else None):
            if labels is not None and not labels.matches(obj["metadata"].get("labels") or {}):
                continue
            if fields is not None and not fields.matches(obj):
                continue
            out.append(obj)
        return out

    def _present(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        """The object as served through `res` (events.k8s.io shares storage with core events)."""
        if res.group == "events.k8s.io":
            return core_to_events_v1(obj)
        if convert_hpa.is_v1(res):  # autoscaling/v1 is a view of the stored autoscaling/v2 object
            return convert_hpa.v2_to_v1(obj)
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        return obj

    # ---- create ------------------------------------------------------------------------------
    def create(
        self, res: Resource, ns: str, obj: Any, *, dry_run: bool = False, manager: str = "", ssa: bool = False
    ) -> dict[str, Any]:
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be a JSON or YAML object")
        if res.group == "events.k8s.io":
            obj = events_v1_to_core(obj)
            res = EVENTS
        if convert_hpa.is_v1(res):  # stored as autoscaling/v2, answered as v1
            self._check_type(res, obj)
            stored = self.create(HPA_V2, ns, convert_hpa.v1_to_v2(obj), dry_run=dry_run, manager=manager, ssa=ssa)
            return self._present(res, stored)
        self._check_type(res, obj)
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        ns = self._check_namespace(res, ns, meta)
        display_name = meta.get("name") or meta.get("generateName") or ""  # what admission calls the object
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = f"{meta['generateName']}{names.generate_name_suffix(self._rng)}"
        name = meta.get("name") or ""
        if name and self.store.peek(res.key, ns, name) is not None:
            raise errors.already_exists(res, name)
        if res.namespaced and res.kind != "Namespace":
            namespace = self.store.peek(NS.key, "", ns)
            if namespace is None:
                raise errors.APIError(
                    404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"}
                )
            if namespace["metadata"].get("deletionTimestamp") and res.kind != "Event":
                raise errors.forbidden_terminating(res, name, ns)
        for k in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(k, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if res.tracks_generation:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if res.has_status and res.kind not in ("Node",):
            obj.pop("status", None)
        if res.kind == "Secret":
            _fold_string_data(obj)
        if res.kind == "HorizontalPodAutoscaler":
            convert_hpa.default_v2(obj)
        admission.apply_defaults(res, obj, taken_ips=self._cluster_ips(), taken_ports=self._node_ports())
        workload_strategy.prepare(res, None, obj)
        if res.kind == "Pod":
            serviceaccounts.admit_pod(self.store, ns, obj, display_name)
        causes = admission.validate(res, obj)
        if causes:
            raise errors.invalid(res, name, causes)
        if not ssa and manager:
            obj = patch.record_update(
                None, obj, manager=manager, operation="Update", api_version=res.api_version, now=now_rfc3339()
            )
        obj["apiVersion"], obj["kind"] = res.api_version, res.kind
        if dry_run:
            return obj
        return self._present(res, self.store.put(res.key, obj))

    def _check_type(self, res: Resource, obj: dict[str, Any]) -> None:
        api_version, kind = obj.get("apiVersion"), obj.get("kind")
        if kind and kind != res.kind:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({res.api_version})"
                if api_version != res.api_version
                else f"kind {kind} does not match the expected kind {res.kind}"
            )
        if api_version and api_version != res.api_version and res.key != "events":
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected "
                f"API version ({res.api_version})"
            )

    def _check_namespace(self, res: Resource, ns: str, meta: dict[str, Any]) -> str:
        if not res.namespaced:
            meta.pop("namespace", None)
            return ""
        body_ns = meta.get("namespace")
        if body_ns and ns and body_ns != ns:
            raise errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the request"
            )
        ns = ns or body_ns or "default"
        meta["namespace"] = ns
        return ns

    def _cluster_ips(self) -> set[str]:
        return {s["spec"].get("clusterIP", "") for s in self.store.scan("services")}

    def _node_ports(self) -> set[int]:
        return {
            p.get("nodePort")
            for s in self.store.scan("services")
            for p in s["spec"].get("ports") or []
            if p.get("nodePort")
        }

    # ---- update ------------------------------------------------------------------------------
    def update(
        self,
        res: Resource,
        ns: str,
        name: str,
        obj: Any,
        *,
        sub: str = "",
        dry_run: bool = False,
        manager: str = "",
        operation: str = "Update",
    ) -> dict[str, Any]:
        """PUT semantics: optimistic concurrency when the body carries a resourceVersion."""
        if not isinstance(obj, dict):
            raise errors.bad_request("the body of the request must be a JSON or YAML object")
        if res.group == "events.k8s.io":
            obj, res = events_v1_to_core(obj), EVENTS
        if convert_hpa.is_v1(res):  # stored as autoscaling/v2, answered as v1
            self._check_type(res, obj)
            v2 = convert_hpa.v1_to_v2(obj)
            stored = self.update(HPA_V2, ns, name, v2, sub=sub, dry_run=dry_run, manager=manager, operation=operation)
            return self._present(res, stored)
        self._check_type(res, obj)
        meta = obj.setdefault("metadata", {})
        ns = self._check_namespace(res, ns, meta)
        if meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        old = self.store.get(res.key, ns, name)
        if old is None:
            if sub:
                raise errors.not_found(res, name)
            meta["name"] = name
            return self.create(res, ns, obj, dry_run=dry_run, manager=manager)
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.stale(res, name)
        return self.write(res, old, obj, sub=sub, dry_run=dry_run, manager=manager, operation=operation)

    def write(
        self,
        res: Resource,
        old: dict[str, Any],
        new: dict[str, Any],
        *,
        sub: str = "",
        dry_run: bool = False,
        manager: str = "",
        operation: str = "Update",
    ) -> dict[str, Any]:
        """Store `new` over `old` with the apiserver's rules for metadata, status and generation."""
        name = old["metadata"]["name"]
        if sub == "status":
            merged = json.loads(json.dumps(old))
            merged["status"] = new.get("status") or {}
            new = merged
        else:
            if res.has_status:
                if "status" in old:
                    new["status"] = old["status"]
                else:
                    new.pop("status", None)
            meta = new.setdefault("metadata", {})
            for k in (
                "uid",
                "creationTimestamp",
                "namespace",
                "name",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ):
                if k in old["metadata"]:
                    meta[k] = old["metadata"][k]
                else:
                    meta.pop(k, None)
            if res.tracks_generation and _spec_part(new) != _spec_part(old):
                meta["generation"] = int(old["metadata"].get("generation", 1)) + 1
            if res.kind == "Secret":
                _fold_string_data(new)
            if res.kind == "HorizontalPodAutoscaler":
                convert_hpa.default_v2(new)
            admission.apply_defaults(res, new, taken_ips=self._cluster_ips(), taken_ports=self._node_ports())
            workload_strategy.prepare(res, old, new)
            causes = admission.validate_update(res, old, new)
            if causes:
                raise errors.invalid(res, name, causes)
        new["apiVersion"], new["kind"] = res.api_version, res.kind
        if manager and operation == "Update":
            new = patch.record_update(
                old, new, manager=manager, operation="Update", api_version=res.api_version, now=now_rfc3339()
            )
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        if _strip_volatile(new) == _strip_volatile(old):  # a no-op write stores nothing and keeps the version
            return self._present(res, old)
        if dry_run:
            return new
        if (
            new["metadata"].get("deletionTimestamp")
            and not new["metadata"].get("finalizers")
            and res.kind not in ("Pod", "Namespace")
        ):
            self.store.remove(res.key, old["metadata"].get("namespace", ""), name)
            self._release_owners(old)
            return new
        return self._present(res, self.store.put(res.key, new))

    # ---- patch -------------------------------------------------------------------------------
    def patch(
        self,
        res: Resource,
        ns: str,
        name: str,
        ptype: str,
        body: Any,
        *,
        sub: str = "",
        dry_run: bool = False,
        manager: str = "",
        force: bool = False,
    ) -> dict[str, Any]:
        kind = PATCH_TYPES.get(ptype)
        if kind is None or (kind == "strategic" and res.custom is not None):
            raise errors.unsupported_media(ptype, custom=res.custom is not None)
        ns = ns if res.namespaced else ""
        old = self.store.get(res.key, ns, name)
        if kind == "apply":
            return self._apply(res, ns, name, old, body, sub=sub, dry_run=dry_run, manager=manager, force=force)
        if old is None:
            raise errors.not_found(res, name)
        if sub == "scale":
            scale = self.scale_of(res, old)
            new_scale = self._patched(res, scale, kind, body, api_version="autoscaling/v1", kind_name="Scale")
            return self.set_scale(res, old, new_scale, dry_run=dry_run, manager=manager)
        target = self._present(res, json.loads(json.dumps(old)))
        new = self._patched(res, target, kind, body, api_version=res.api_version, kind_name=res.kind)
        rv = (new.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.stale(res, name)
        if res.group == "events.k8s.io":
            new, res = events_v1_to_core(new), EVENTS
        if convert_hpa.is_v1(res):  # patched in v1's shape, stored as v2
            stored = self.write(HPA_V2, old, convert_hpa.v1_to_v2(new), sub=sub, dry_run=dry_run, manager=manager)
            return self._present(res, stored)
        return self.write(res, old, new, sub=sub, dry_run=dry_run, manager=manager)

    def _patched(
        self, res: Resource, target: dict[str, Any], kind: str, body: Any, *, api_version: str, kind_name: str
    ) -> dict[str, Any]:
        try:
            if kind == "json":
                return patch.json_patch(target, body)
            if not isinstance(body, dict):
                raise errors.bad_request("the body of a merge patch must be a JSON object")
            if kind == "merge":
                return patch.merge_patch(target, body)
            return patch.strategic_merge_patch(target, body, api_version, kind_name)
        except patch.PatchError as exc:
            raise errors.APIError(422, "Invalid", str(exc)) from exc

    def _apply(
        self,
        res: Resource,
        ns: str,
        name: str,
        old: dict[str, Any] | None,
        body: Any,
        *,
        sub: str,
        dry_run: bool,
        manager: str,
        force: bool,
    ) -> dict[str, Any]:
        if not manager:
            raise errors.bad_request("PATCH, application/apply-patch+yaml requires fieldManager to be set")
        if not isinstance(body, dict):
            raise errors.bad_request("the body of an apply patch must be an object")
        body.setdefault("metadata", {})
        body_name = body["metadata"].get("name")
        if body_name and body_name != name:
            raise errors.bad_request(
                f"the name of the object ({body_name}) does not match the name on the URL ({name})"
            )
        body["metadata"]["name"] = name
        self._check_type(res, body)
        v1_hpa = convert_hpa.is_v1(res)  # applied to the v1 view, stored as v2
        base = convert_hpa.v2_to_v1(old) if v1_hpa and old is not None else old
        try:
            new = patch.server_side_apply(
                base, body, manager=manager, force=force, api_version=res.api_version, kind=res.kind, now=now_rfc3339()
            )
        except patch.ApplyConflict as exc:
            raise errors.APIError(
                409,
                "Conflict",
                str(exc),
                {
                    "causes": [
                        {"reason": "FieldManagerConflict", "message": f'conflict with "{m}"', "field": f}
                        for f, m in exc.conflicts
                    ]
                },
            ) from exc
        except patch.PatchError as exc:
            raise errors.APIError(422, "Invalid", str(exc)) from exc
        if v1_hpa:
            new = convert_hpa.v1_to_v2(new)
        if old is None:
            if sub:
                raise errors.not_found(res, name)
            if v1_hpa:
                return self._present(res, self.create(HPA_V2, ns, new, dry_run=dry_run, manager=manager, ssa=True))
            return self.create(res, ns, new, dry_run=dry_run, manager=manager, ssa=True)
        if v1_hpa:
            stored = self.write(HPA_V2, old, new, sub=sub, dry_run=dry_run, manager=manager, operation="Apply")
            return self._present(res, stored)
        return self.write(res, old, new, sub=sub, dry_run=dry_run, manager=manager, operation="Apply")

    # ---- scale subresource -------------------------------------------------------------------
    def scale_of(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        if res.custom is not None:  # through the CRD's scale paths
            return crd.scale_of(res, obj)
        meta = obj["metadata"]
        selector = str(label_selector_from_spec((obj.get("spec") or {}).get("selector")))
        return {
            "kind": "Scale",
            "apiVersion": "autoscaling/v1",
            "metadata": {
                k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp") if k in meta
            },
            "spec": {"replicas": (obj.get("spec") or {}).get("replicas", 0)},
            "status": {"replicas": (obj.get("status") or {}).get("replicas", 0), "selector": selector},
        }

    def set_scale(
        self, res: Resource, old: dict[str, Any], scale: Any, *, dry_run: bool = False, manager: str = ""
    ) -> dict[str, Any]:
        if not isinstance(scale, dict):
            raise errors.bad_request("the body of the request must be a Scale object")
        rv = (scale.get("metadata") or {}).get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise errors.stale(res, old["metadata"]["name"])
        replicas = (scale.get("spec") or {}).get("replicas", 0)
        if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
            raise errors.APIError(
                422,
                "Invalid",
                f'Scale.autoscaling "{old["metadata"]["name"]}" is invalid: '
                f"spec.replicas: Invalid value: {replicas!r}: must be greater "
                f"than or equal to 0",
            )
        new = json.loads(json.dumps(old))
        if res.custom is not None:
            crd.set_replicas(res, new, replicas)
        else:
            new["spec"]["replicas"] = replicas
        stored = self.write(res, old, new, dry_run=dry_run, manager=manager)
        return self.scale_of(res, stored)

    # ---- delete ------------------------------------------------------------------------------
    def delete(
        self, res: Resource, ns: str, name: str, options: dict[str, Any] | None = None, *, dry_run: bool = False
    ) -> dict[str, Any]:
        options = options or {}
        ns = ns if res.namespaced else ""
        old = self.store.get(res.key, ns, name)
        if old is None:
            raise errors.not_found(res, name)
        pre = options.get("preconditions") or {}
        if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
            raise errors.conflict(
                res,
                name,
                f"Precondition failed: UID in precondition: {pre['uid']}, UID in object meta: {old['metadata']['uid']}",
            )
        if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
            raise errors.conflict(
                res,
                name,
                "Precondition failed: ResourceVersion in precondition: "
                f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                f"{old['metadata']['resourceVersion']}",
            )
        if dry_run:
            return self._present(res, old)
        policy = options.get("propagationPolicy") or ("Orphan" if options.get("orphanDependents") else "Background")
        uid = old["metadata"]["uid"]
        if policy == "Orphan":
            self._orphan_dependents(uid)
        elif policy == "Foreground":
            # As the garbage collector does: the owner stays (deletionTimestamp and the foregroundDeletion
            # finalizer) until its last dependent is removed, so a Job is gone only once its pods are.
            self.delete_dependents(uid)
            if self.dependents(uid) and FOREGROUND not in (old["metadata"].get("finalizers") or []):
                old["metadata"]["finalizers"] = [*(old["metadata"].get("finalizers") or []), FOREGROUND]
        if res.key == crd.CRDS.key:  # the cleanup finalizer: the CRD controller deletes its objects first
            crd.mark_deleting(old, now_rfc3339())
        meta = old["metadata"]
        graceful = self._graceful(res, old, options)
        if graceful is not None or meta.get("finalizers") or res.kind == "Namespace":
            if meta.get("deletionTimestamp"):
                return self._present(res, old)
            meta["deletionTimestamp"] = now_rfc3339()
            meta["deletionGracePeriodSeconds"] = graceful or 0
            if res.kind == "Namespace":
                old.setdefault("status", {})["phase"] = "Terminating"
            return self._present(res, self.store.put(res.key, old))
        gone = self.store.remove(res.key, ns, name)
        assert gone is not None
        self._release_owners(gone)
        return self._present(res, gone)

    def _graceful(self, res: Resource, obj: dict[str, Any], options: dict[str, Any]) -> int | None:
        """Seconds of grace for a pod the kubelet must stop first, or None to delete at once."""
        if res.kind != "Pod":
            return None
        grace = options.get("gracePeriodSeconds")
        if grace is None:
            grace = obj["spec"].get("terminationGracePeriodSeconds", 30)
        if (
            grace == 0
            or not obj["spec"].get("nodeName")
            or obj.get("status", {}).get("phase") in ("Succeeded", "Failed", "Pending")
        ):
            return None
        return int(grace)

    def finalize_pod(self, ns: str, name: str) -> None:
        """The kubelet has stopped every container: remove the pod for good."""
        gone = self.store.remove("pods", ns, name)
        if gone is not None:
            self._release_owners(gone)

    def _release_owners(self, removed: dict[str, Any]) -> None:
        """An owner deleted in the foreground goes when `removed` was its last dependent (then its own owners)."""
        for ref in removed["metadata"].get("ownerReferences") or []:
            res = resources.by_kind(ref.get("apiVersion", ""), ref.get("kind", ""))
            if res is None:
                continue
            ns = removed["metadata"].get("namespace", "") if res.namespaced else ""
            owner = self.store.get(res.key, ns, ref.get("name", ""))
            if (
                owner is None
                or owner["metadata"].get("uid") != ref.get("uid")
                or FOREGROUND not in (owner["metadata"].get("finalizers") or [])
                or self.dependents(owner["metadata"]["uid"])
            ):
                continue
            rest = [f for f in owner["metadata"]["finalizers"] if f != FOREGROUND]
            if rest:
                owner["metadata"]["finalizers"] = rest
                self.store.put(res.key, owner)
            elif self.store.remove(res.key, ns, owner["metadata"]["name"]) is not None:
                self._release_owners(owner)

    def dependents(self, uid: str) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for res in resources.all_resources():
            if res.storage:  # another version's storage (events.k8s.io, autoscaling/v1): scanned once already
                continue
            for obj in self.store.scan(res.key):
                if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or []):
                    out.append((res.key, obj))
        return out

    def delete_dependents(self, uid: str) -> None:
        for key, obj in self.dependents(uid):
            res = _by_key(key)
            meta = obj["metadata"]
            if self.store.peek(key, meta.get("namespace", ""), meta["name"]) is None:
                continue
            with contextlib.suppress(errors.APIError):
                self.delete(res, meta.get("namespace", ""), meta["name"], {"propagationPolicy": "Background"})

    def _orphan_dependents(self, uid: str) -> None:
        for key, obj in self.dependents(uid):
            new = json.loads(json.dumps(obj))
            new["metadata"]["ownerReferences"] = [r for r in obj["metadata"]["ownerReferences"] if r.get("uid") != uid]
            if not new["metadata"]["ownerReferences"]:
                del new["metadata"]["ownerReferences"]
            self.store.put(key, new)

    # ---- events ------------------------------------------------------------------------------
    def record_event(
        self,
        involved: dict[str, Any],
        reason: str,
        message: str,
        *,
        type_: str = "Normal",
        component: str = "",
        host: str = "",
        field_path: str = "",
    ) -> None:
        """Record a core/v1 Event about `involved`, folding repeats into `count` as the event recorder does."""
        meta = involved["metadata"]
        ns = meta.get("namespace") or "default"
        if self.store.peek(NS.key, "", ns) is None:
            return
        now = now_rfc3339()
        ref = {
            "kind": involved.get("kind"),
            "namespace": meta.get("namespace"),
            "name": meta["name"],
            "uid": meta.get("uid"),
            "apiVersion": involved.get("apiVersion"),
            "resourceVersion": meta.get("resourceVersion"),
        }
        if field_path:
            ref["fieldPath"] = field_path
        ref = {k: v for k, v in ref.items() if v}
        for ev in self.store.scan("events", ns):
            io = ev.get("involvedObject") or {}
            if (
                io.get("uid") == ref.get("uid")
                and ev.get("reason") == reason
                and ev.get("message") == message
                and io.get("fieldPath", "") == field_path
            ):
                new = json.loads(json.dumps(ev))
                new["count"] = int(ev.get("count", 1)) + 1
                new["lastTimestamp"] = now
                self.store.put("events", new)
                return
        source: dict[str, str] = {"component": component}
        if host:
            source["host"] = host
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {
                "name": f"{meta['name']}.{time.time_ns():x}",
                "namespace": ns,
                "uid": str(uuid.uuid4()),
                "creationTimestamp": now,
            },
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "type": type_,
            "source": source,
            "firstTimestamp": now,
            "lastTimestamp": now,
            "count": 1,
            "eventTime": None,
            "reportingComponent": component,
            "reportingInstance": host,
        }
        self.store.put("events", event)


def _fold_string_data(obj: dict[str, Any]) -> None:
    string_data = obj.pop("stringData", None)
    if string_data:
        data = obj.setdefault("data", {})
        for k, v in string_data.items():
            data[k] = base64.b64encode(str(v).encode()).decode()


def _by_key(key: str) -> Resource:
    for res in resources.all_resources():
        if res.key == key and not res.storage:
            return res
    raise KeyError(key)


def resource_for_key(key: str) -> Resource:
    return _by_key(key)
