"""The resource types the embedded cluster serves, as discovery describes them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CRUD = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
READ_ONLY = ("get", "list", "watch")


@dataclass(frozen=True)
class Resource:
    """One REST resource: where it lives, how discovery names it, which subresources it has."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    verbs: tuple[str, ...] = CRUD
    subresources: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    singular: str = ""
    # Field selectors the real apiserver accepts beyond metadata.name/metadata.namespace.
    extra_fields: tuple[str, ...] = ()
    # Kinds whose writes through the main resource leave .status alone (status subresource).
    has_status: bool = False
    # Kinds whose spec changes bump metadata.generation.
    tracks_generation: bool = False
    # Kinds computed on request rather than stored (metrics.k8s.io): discovery lists them, the store-backed
    # CRUD in api.py never handles them (kubesim/metrics_api.py answers their reads).
    virtual: bool = False
    storage: str = field(default="", compare=False)
    # A custom resource: its CustomResourceDefinition's version (kubesim/crd.py Served), None for built-ins.
    custom: Any = field(default=None, compare=False, repr=False)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> str:
        """Storage key: the same object seen through two versions shares one key."""
        return self.storage or (f"{self.group}/{self.plural}" if self.group else self.plural)

    @property
    def group_resource(self) -> str:
        """`deployments.apps` / `pods`: how Status messages name the resource."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def field_selectors(self) -> tuple[str, ...]:
        return ("metadata.name", "metadata.namespace", *self.extra_fields)


def _r(group: str, version: str, plural: str, kind: str, namespaced: bool = True, **kw: object) -> Resource:
    singular = kind.lower()
    return Resource(group, version, plural, kind, namespaced, singular=singular, **kw)  # type: ignore[arg-type]


_POD_FIELDS = (
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
)
_EVENT_FIELDS = (
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
)
_ALL = ("all",)

RESOURCES: tuple[Resource, ...] = (
    _r(
        "",
        "v1",
        "namespaces",
        "Namespace",
        False,
        short_names=("ns",),
        subresources=("status", "finalize"),
        extra_fields=("status.phase",),
        has_status=True,
    ),
    _r(
        "",
        "v1",
        "nodes",
        "Node",
        False,
        short_names=("no",),
        subresources=("status", "proxy"),
        extra_fields=("spec.unschedulable",),
        has_status=True,
    ),
    _r(
        "",
        "v1",
        "pods",
        "Pod",
        short_names=("po",),
        categories=_ALL,
        extra_fields=_POD_FIELDS,
        has_status=True,
        subresources=(
            "status",
            "log",
            "proxy",
            "exec",
            "attach",
            "portforward",
            "binding",
            "eviction",
            "ephemeralcontainers",
        ),
    ),
    _r(
        "",
        "v1",
        "services",
        "Service",
        short_names=("svc",),
        categories=_ALL,
        subresources=("status", "proxy"),
        has_status=True,
    ),
    _r("", "v1", "endpoints", "Endpoints", short_names=("ep",)),
    _r("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    _r("", "v1", "secrets", "Secret", extra_fields=("type",)),
    _r("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",), subresources=("token",)),
    _r("", "v1", "events", "Event", short_names=("ev",), extra_fields=_EVENT_FIELDS),
    _r(
        "",
        "v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        short_names=("pvc",),
        subresources=("status",),
        has_status=True,
    ),
    _r(
        "",
        "v1",
        "persistentvolumes",
        "PersistentVolume",
        False,
        short_names=("pv",),
        subresources=("status",),
        has_status=True,
    ),
    _r("", "v1", "resourcequotas", "ResourceQuota", short_names=("quota",), subresources=("status",), has_status=True),
    _r("", "v1", "limitranges", "LimitRange", short_names=("limits",)),
    _r(
        "apps",
        "v1",
        "deployments",
        "Deployment",
        short_names=("deploy",),
        categories=_ALL,
        subresources=("scale", "status"),
        has_status=True,
        tracks_generation=True,
    ),
    _r(
        "apps",
        "v1",
        "replicasets",
        "ReplicaSet",
        short_names=("rs",),
        categories=_ALL,
        extra_fields=("status.replicas",),
        subresources=("scale", "status"),
        has_status=True,
        tracks_generation=True,
    ),
    _r(
        "apps",
        "v1",
        "statefulsets",
        "StatefulSet",
        short_names=("sts",),
        categories=_ALL,
        subresources=("scale", "status"),
        has_status=True,
        tracks_generation=True,
    ),
    _r(
        "apps",
        "v1",
        "daemonsets",
        "DaemonSet",
        short_names=("ds",),
        categories=_ALL,
        subresources=("status",),
        has_status=True,
        tracks_generation=True,
    ),
    _r("apps", "v1", "controllerrevisions", "ControllerRevision"),
    _r(
        "batch",
        "v1",
        "jobs",
        "Job",
        categories=_ALL,
        extra_fields=("status.successful",),
        subresources=("status",),
        has_status=True,
        tracks_generation=True,
    ),
    _r(
        "batch",
        "v1",
        "cronjobs",
        "CronJob",
        short_names=("cj",),
        categories=_ALL,
        subresources=("status",),
        has_status=True,
        tracks_generation=True,
    ),
    _r(
        "autoscaling",
        "v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        short_names=("hpa",),
        categories=_ALL,
        subresources=("status",),
        has_status=True,
        tracks_generation=True,
    ),
    # Served from the v2 objects (kubesim/convert_hpa.py); listed after v2, so discovery prefers v2.
    _r(
        "autoscaling",
        "v1",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        short_names=("hpa",),
        categories=_ALL,
        subresources=("status",),
        has_status=True,
        tracks_generation=True,
        storage="autoscaling/horizontalpodautoscalers",
    ),
    _r("coordination.k8s.io", "v1", "leases", "Lease"),
    _r("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice"),
    _r("events.k8s.io", "v1", "events", "Event", short_names=("ev",), storage="events", extra_fields=_EVENT_FIELDS),
    _r(
        "policy",
        "v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        short_names=("pdb",),
        subresources=("status",),
        has_status=True,
        tracks_generation=True,
    ),
    _r("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, short_names=("sc",)),
    _r("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, short_names=("pc",)),
    _r(
        "networking.k8s.io",
        "v1",
        "ingresses",
        "Ingress",
        short_names=("ing",),
        subresources=("status",),
        has_status=True,
        tracks_generation=True,
    ),
    _r("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", short_names=("netpol",), tracks_generation=True),
    _r(
        "apiextensions.k8s.io",
        "v1",
        "customresourcedefinitions",
        "CustomResourceDefinition",
        False,
        short_names=("crd", "crds"),
        categories=("api-extensions",),
        subresources=("status",),
        has_status=True,
        tracks_generation=True,
    ),
    _r("rbac.authorization.k8s.io", "v1", "roles", "Role"),
    _r("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding"),
    _r("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False),
    _r("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False),
    # metrics-server's resource metrics API, as it registers it: get and list only, no singular name.
    # Reviews are answered, never stored (kubesim/rbac.py): `kubectl auth can-i`, `can-i --list`.
    Resource(
        "authorization.k8s.io",
        "v1",
        "selfsubjectaccessreviews",
        "SelfSubjectAccessReview",
        False,
        verbs=("create",),
        virtual=True,
    ),
    Resource(
        "authorization.k8s.io",
        "v1",
        "selfsubjectrulesreviews",
        "SelfSubjectRulesReview",
        False,
        verbs=("create",),
        virtual=True,
    ),
    # `kubectl auth whoami`: who the request is (rbac.User), answered, never stored.
    Resource(
        "authentication.k8s.io",
        "v1",
        "selfsubjectreviews",
        "SelfSubjectReview",
        False,
        verbs=("create",),
        virtual=True,
    ),
    Resource("metrics.k8s.io", "v1beta1", "nodes", "NodeMetrics", False, verbs=("get", "list"), virtual=True),
    Resource("metrics.k8s.io", "v1beta1", "pods", "PodMetrics", True, verbs=("get", "list"), virtual=True),
)

# The custom resources of the established CustomResourceDefinitions (kubesim/crd.py keeps this current).
_custom: list[tuple[Resource, ...]] = [()]


def set_custom(served: tuple[Resource, ...]) -> None:
    _custom[0] = served


def all_resources() -> tuple[Resource, ...]:
    """The built-in resources, then the custom resources being served."""
    return RESOURCES + _custom[0] if _custom[0] else RESOURCES


_SUBRESOURCE_KINDS = {
    "scale": ("autoscaling", "v1", "Scale"),
    "binding": ("", "v1", "Binding"),
    "eviction": ("policy", "v1", "Eviction"),
}
_SUBRESOURCE_VERBS = {
    "status": ("get", "patch", "update"),
    "scale": ("get", "patch", "update"),
    "log": ("get",),
    "proxy": ("create", "delete", "get", "patch", "update"),
    "exec": ("create", "get"),
    "attach": ("create", "get"),
    "portforward": ("create", "get"),
    "binding": ("create",),
    "eviction": ("create",),
    "finalize": ("update",),
    "ephemeralcontainers": ("get", "patch", "update"),
}


def group_versions() -> dict[str, list[str]]:
    """Every API group and its versions, in discovery order (core group is "")."""
    out: dict[str, list[str]] = {}
    for r in all_resources():
        versions = out.setdefault(r.group, [])
        if r.version not in versions:
            versions.append(r.version)
    return out


def find(group: str, version: str, plural: str) -> Resource | None:
    for r in all_resources():
        if r.group == group and r.version == version and r.plural == plural:
            return r
    return None


def get(group: str, version: str, plural: str) -> Resource:
    """A resource this cluster serves (a programming error if it does not)."""
    res = find(group, version, plural)
    if res is None:
        raise KeyError(f"{group}/{version}/{plural}")
    return res


def by_kind(api_version: str, kind: str) -> Resource | None:
    group, _, version = api_version.rpartition("/")
    for r in all_resources():
        if r.group == group and r.version == version and r.kind == kind:
            return r
    return None


def api_resource_list(group: str, version: str) -> dict:
    """The APIResourceList that /api/v1 or /apis/<group>/<version> answers."""
    items: list[dict] = []
    for r in all_resources():
        if r.group != group or r.version != version:
            continue
        entry: dict = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        items.append(entry)
        for sub in r.subresources:
            sub_entry: dict = {
                "name": f"{r.plural}/{sub}",
                "singularName": "",
                "namespaced": r.namespaced,
                "kind": r.kind,
                "verbs": list(_SUBRESOURCE_VERBS.get(sub, ("get",))),
            }
            if sub in _SUBRESOURCE_KINDS:
                sgroup, sversion, skind = _SUBRESOURCE_KINDS[sub]
                sub_entry.update(kind=skind, group=sgroup, version=sversion)
                if not sgroup:
                    sub_entry.pop("group")
            elif sub in ("log", "proxy", "exec", "attach", "portforward"):
                sub_entry["kind"] = {
                    "log": "Pod",
                    "proxy": f"{r.kind}ProxyOptions",
                    "exec": "PodExecOptions",
                    "attach": "PodAttachOptions",
                    "portforward": "PodPortForwardOptions",
                }[sub]
            items.append(sub_entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": items}
