"""Defaulting and validation, as the apiserver applies them before an object is stored."""

from __future__ import annotations

import ipaddress
import random
from typing import Any

from kubesim import crd, names
from kubesim.resources import Resource
from kubesim.selectors import SelectorError, label_selector_from_spec

Causes = list[tuple[str, str]]

SERVICE_CIDR = ipaddress.ip_network("10.96.0.0/12")
NODE_PORTS = range(30000, 32768)


# ---- defaulting ---------------------------------------------------------------------------------
def _default_probe(probe: dict[str, Any] | None) -> None:
    if not probe:
        return
    for k, v in (("timeoutSeconds", 1), ("periodSeconds", 10), ("successThreshold", 1), ("failureThreshold", 3)):
        probe.setdefault(k, v)
    if "httpGet" in probe:
        probe["httpGet"].setdefault("scheme", "HTTP")
        probe["httpGet"].setdefault("path", "/")


def _default_container(c: dict[str, Any]) -> None:
    image = str(c.get("image", ""))
    tag = image.rsplit("/", 1)[-1]
    latest = "@" not in tag and (":" not in tag or tag.endswith(":latest"))
    c.setdefault("imagePullPolicy", "Always" if latest else "IfNotPresent")
    c.setdefault("terminationMessagePath", "/dev/termination-log")
    c.setdefault("terminationMessagePolicy", "File")
    c.setdefault("resources", {})
    for p in c.get("ports") or []:
        p.setdefault("protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _default_probe(c.get(probe))


def default_pod_spec(spec: dict[str, Any]) -> None:
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    # v1 <-> internal conversion: the deprecated serviceAccount fills an empty serviceAccountName and mirrors it
    account = spec.get("serviceAccountName") or spec.get("serviceAccount")
    if account:
        spec["serviceAccountName"] = spec["serviceAccount"] = account
    for c in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        _default_container(c)
    for v in spec.get("volumes") or []:
        if "configMap" in v:
            v["configMap"].setdefault("defaultMode", 420)
        if "secret" in v:
            v["secret"].setdefault("defaultMode", 420)


def _default_template(spec: dict[str, Any]) -> None:
    template = spec.setdefault("template", {})
    meta = template.setdefault("metadata", {})
    if meta.get("creationTimestamp", "") is None:  # a typed client's zero time: absent once stored, as a Go struct
        del meta["creationTimestamp"]
    default_pod_spec(template.setdefault("spec", {}))


def _default_workload(kind: str, obj: dict[str, Any]) -> None:
    spec = obj.setdefault("spec", {})
    if kind in ("Deployment", "ReplicaSet", "StatefulSet"):
        spec.setdefault("replicas", 1)
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        spec.setdefault("revisionHistoryLimit", 10)
    if kind == "Deployment":
        spec.setdefault("progressDeadlineSeconds", 600)
        strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
        if strategy.get("type", "RollingUpdate") == "RollingUpdate":
            strategy.setdefault("type", "RollingUpdate")
            ru = strategy.setdefault("rollingUpdate", {})
            ru.setdefault("maxUnavailable", "25%")
            ru.setdefault("maxSurge", "25%")
    elif kind == "StatefulSet":
        spec.setdefault("podManagementPolicy", "OrderedReady")
        strategy = spec["updateStrategy"] = spec.get("updateStrategy") or {}
        if not strategy.get("type"):
            strategy["type"] = "RollingUpdate"
            strategy["rollingUpdate"] = strategy.get("rollingUpdate") or {}
        if strategy["type"] == "RollingUpdate" and isinstance(strategy.get("rollingUpdate"), dict):
            strategy["rollingUpdate"].setdefault("partition", 0)
        spec.setdefault("persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    elif kind == "DaemonSet":
        strategy = spec["updateStrategy"] = spec.get("updateStrategy") or {}
        strategy["type"] = strategy.get("type") or "RollingUpdate"
        if strategy["type"] == "RollingUpdate":
            ru = strategy.get("rollingUpdate") or {}
            strategy["rollingUpdate"] = ru
            ru.setdefault("maxUnavailable", 1)
            ru.setdefault("maxSurge", 0)
    elif kind == "Job":
        for k, v in (
            ("parallelism", 1),
            ("completions", 1),
            ("backoffLimit", 6),
            ("completionMode", "NonIndexed"),
            ("suspend", False),
            ("podReplacementPolicy", "TerminatingOrFailed"),
            ("manualSelector", None),
        ):
            if v is not None:
                spec.setdefault(k, v)
        uid = obj["metadata"]["uid"]
        if not spec.get("selector"):
            spec["selector"] = {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
            labels = spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {})
            labels.update(
                {
                    "batch.kubernetes.io/controller-uid": uid,
                    "batch.kubernetes.io/job-name": obj["metadata"]["name"],
                    "controller-uid": uid,
                    "job-name": obj["metadata"]["name"],
                }
            )
        spec.setdefault("template", {}).setdefault("spec", {}).setdefault("restartPolicy", "Never")
    _default_template(spec)


def _allocate_cluster_ip(taken: set[str]) -> str:
    rng = random.Random()
    while True:
        addr = str(SERVICE_CIDR[rng.randrange(256, SERVICE_CIDR.num_addresses - 1)])
        if addr not in taken:
            return addr


def _default_service(obj: dict[str, Any], taken_ips: set[str], taken_ports: set[int]) -> None:
    spec = obj.setdefault("spec", {})
    svc_type = spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if svc_type != "ExternalName":
        if not spec.get("clusterIP"):
            spec["clusterIP"] = _allocate_cluster_ip(taken_ips)
        spec.setdefault("clusterIPs", [spec["clusterIP"]])
        if spec["clusterIP"] != "None":
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("internalTrafficPolicy", "Cluster")
    if svc_type in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    for p in spec.get("ports") or []:
        p.setdefault("protocol", "TCP")
        p.setdefault("targetPort", p.get("port"))
        if svc_type in ("NodePort", "LoadBalancer") and not p.get("nodePort"):
            free = [n for n in NODE_PORTS if n not in taken_ports]
            p["nodePort"] = random.choice(free)
            taken_ports.add(p["nodePort"])
    obj.setdefault("status", {"loadBalancer": {}})


def apply_defaults(
    res: Resource, obj: dict[str, Any], *, taken_ips: set[str] | None = None, taken_ports: set[int] | None = None
) -> None:
    """Fill the defaults the real apiserver fills on create (in place)."""
    kind = res.kind
    if res.custom is not None:  # a custom resource: its CRD's schema defaults and prunes it (kubesim/crd.py)
        crd.prune(res, obj)
        return
    if res.key == crd.CRDS.key:
        crd.default_crd(obj)
    if kind == "Pod":
        default_pod_spec(obj.setdefault("spec", {}))
        obj.setdefault("status", {"phase": "Pending", "qosClass": qos_class(obj["spec"])})
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        _default_workload(kind, obj)
    elif kind == "CronJob":
        spec = obj.setdefault("spec", {})
        spec.setdefault("concurrencyPolicy", "Allow")
        spec.setdefault("suspend", False)
        spec.setdefault("successfulJobsHistoryLimit", 3)
        spec.setdefault("failedJobsHistoryLimit", 1)
    elif kind == "Service":
        _default_service(obj, taken_ips or set(), taken_ports or set())
    elif kind == "Namespace":
        obj.setdefault("spec", {"finalizers": ["kubernetes"]})
        obj["status"] = {"phase": "Active"}
        obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
    elif kind == "Secret":
        obj.setdefault("type", "Opaque")
    elif kind == "PersistentVolumeClaim":
        spec = obj.setdefault("spec", {})
        spec.setdefault("volumeMode", "Filesystem")
        obj.setdefault("status", {"phase": "Pending"})
    elif kind == "Node":
        obj.setdefault("spec", {})


def qos_class(spec: dict[str, Any]) -> str:
    containers = spec.get("containers") or []
    requests = [c.get("resources", {}).get("requests") or {} for c in containers]
    limits = [c.get("resources", {}).get("limits") or {} for c in containers]
    if not any(requests) and not any(limits):
        return "BestEffort"
    guaranteed = all(
        lim.get("cpu")
        and lim.get("memory")
        and (
            not req or (req.get("cpu", lim["cpu"]) == lim["cpu"] and req.get("memory", lim["memory"]) == lim["memory"])
        )
        for req, lim in zip(requests, limits, strict=True)
    )
    return "Guaranteed" if guaranteed else "Burstable"


# ---- validation --------------------------------------------------------------------------------
_DNS_LABEL_NAMED = {"Namespace", "Service"}
_ANY_NAME = {"Event", "Node"}


def _validate_containers(path: str, spec: dict[str, Any], causes: Causes) -> None:
    containers = spec.get("containers")
    if not containers:
        causes.append((f"{path}.containers", "Required value"))
        return
    seen: set[str] = set()
    for i, c in enumerate(containers):
        cpath = f"{path}.containers[{i}]"
        if not c.get("name"):
            causes.append((f"{cpath}.name", "Required value"))
        elif c["name"] in seen:
            causes.append((f"{cpath}.name", f'Duplicate value: "{c["name"]}"'))
        else:
            seen.add(c["name"])
            causes.extend(
                (f"{cpath}.name", f'Invalid value: "{c["name"]}": {e}') for e in names.validate_dns1123_label(c["name"])
            )
        if not c.get("image"):
            causes.append((f"{cpath}.image", "Required value"))
        for j, p in enumerate(c.get("ports") or []):
            port = p.get("containerPort")
            if not isinstance(port, int) or not 0 < port < 65536:
                causes.append(
                    (
                        f"{cpath}.ports[{j}].containerPort",
                        f"Invalid value: {port!r}: must be between 1 and 65535, inclusive",
                    )
                )


def _validate_selector_matches(path: str, spec: dict[str, Any], causes: Causes) -> None:
    selector = spec.get("selector")
    if not selector:
        causes.append((f"{path}.selector", "Required value"))
        return
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    try:
        sel = label_selector_from_spec(selector)
    except SelectorError as exc:
        causes.append((f"{path}.selector", f"Invalid value: {exc}"))
        return
    if sel.empty:
        causes.append((f"{path}.selector", "Invalid value: empty selector is invalid for deployment"))
    elif not sel.matches(labels):
        causes.append(
            (
                f"{path}.template.metadata.labels",
                f"Invalid value: {labels!r}: `selector` does not match template `labels`",
            )
        )


def validate(res: Resource, obj: dict[str, Any], old: dict[str, Any] | None = None) -> Causes:
    """Field errors for a create or an update, worded like the apiserver's."""
    causes: Causes = []
    meta = obj.get("metadata") or {}
    name = meta.get("name") or ""
    if not name:
        causes.append(("metadata.name", "Required value: name or generateName is required"))
    elif res.kind not in _ANY_NAME:
        check = names.validate_dns1123_label if res.kind in _DNS_LABEL_NAMED else names.validate_dns1123_subdomain
        causes.extend(("metadata.name", f'Invalid value: "{name}": {e}') for e in check(name))
    causes.extend(("metadata.labels", e) for e in names.validate_labels(meta.get("labels") or {}))
    spec = obj.get("spec") or {}
    kind = res.kind
    if kind == "Pod":
        _validate_containers("spec", spec, causes)
    elif kind in ("Deployment", "ReplicaSet", "StatefulSet", "DaemonSet", "Job"):
        _validate_selector_matches("spec", spec, causes)
        _validate_containers("spec.template.spec", (spec.get("template") or {}).get("spec") or {}, causes)
        replicas = spec.get("replicas", 0)
        if not isinstance(replicas, int) or replicas < 0:
            causes.append(("spec.replicas", f"Invalid value: {replicas!r}: must be greater than or equal to 0"))
    elif kind == "Service":
        ports = spec.get("ports") or []
        if not ports and spec.get("type", "ClusterIP") != "ExternalName" and spec.get("clusterIP") != "None":
            causes.append(("spec.ports", "Required value"))
        for i, p in enumerate(ports):
            port = p.get("port")
            if not isinstance(port, int) or not 0 < port < 65536:
                causes.append(
                    (f"spec.ports[{i}].port", f"Invalid value: {port!r}: must be between 1 and 65535, inclusive")
                )
            if len(ports) > 1 and not p.get("name"):
                causes.append((f"spec.ports[{i}].name", "Required value"))
    elif kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
        if not (meta.get("annotations") or {}).get("kubernetes.io/service-account.name"):
            causes.append(("metadata.annotations[kubernetes.io/service-account.name]", "Required value"))
    elif kind == "ConfigMap":
        for key in list(obj.get("data") or {}) + list(obj.get("binaryData") or {}):
            if not key or len(key) > 253 or not all(ch.isalnum() or ch in "-._" for ch in key):
                causes.append(
                    (
                        "data",
                        f'Invalid value: "{key}": a valid config key must consist of alphanumeric '
                        f"characters, '-', '_' or '.'",
                    )
                )
    if res.custom is not None or res.key == crd.CRDS.key:  # raises the apiextensions-apiserver's 422 itself
        crd.check(res, obj, causes, old)
    return causes


_IMMUTABLE = {
    "Deployment": ("spec.selector",),
    "ReplicaSet": ("spec.selector",),
    "StatefulSet": ("spec.selector", "spec.serviceName"),
    "DaemonSet": ("spec.selector",),
    "Job": ("spec.selector", "spec.template", "spec.completions"),
    "Service": ("spec.clusterIP",),
    "PersistentVolumeClaim": ("spec.storageClassName", "spec.accessModes"),
}


def _dig(obj: dict[str, Any], path: str) -> Any:
    cur: Any = obj
    for part in path.split("."):
        cur = cur.get(part) if isinstance(cur, dict) else None
    return cur


def validate_update(res: Resource, old: dict[str, Any], new: dict[str, Any]) -> Causes:
    """Field errors that only an update can make (immutable fields)."""
    causes = validate(res, new, old)
    for path in _IMMUTABLE.get(res.kind, ()):
        if _dig(new, path) != _dig(old, path):
            causes.append((path, f"Invalid value: {_dig(new, path)!r}: field is immutable"))
    if res.kind == "Pod":
        old_spec, new_spec = dict(old.get("spec") or {}), dict(new.get("spec") or {})
        for spec in (old_spec, new_spec):
            spec["containers"] = [{k: v for k, v in c.items() if k != "image"} for c in spec.get("containers") or []]
            for k in ("activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds", "nodeName"):
                spec.pop(k, None)
        if old_spec != new_spec:
            causes.append(
                (
                    "spec",
                    "Forbidden: pod updates may not change fields other than `spec.containers[*]."
                    "image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,"
                    "`spec.tolerations` (only additions to existing tolerations),"
                    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was "
                    "previously negative)",
                )
            )
    return causes
