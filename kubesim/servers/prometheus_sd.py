"""Kubernetes service discovery for Prometheus, kept in file_sd files (Debian's prometheus has none built in).

    python -m kubesim.servers.prometheus_sd SPEC.json

SPEC (written by kubesim.servers.prometheus): {"api": {"server", "token_file", "ca_file"}, "sds": [{"file",
"role", "namespaces": [...] (empty: all), "selectors": [{"role", "label", "field"}], "attach_node": bool}]}.

Each SD's file holds what Prometheus' own kubernetes SD (discovery/kubernetes/*.go, v2.42) would hand to the
scrape manager: the same target groups with the same `__meta_kubernetes_*` labels, one file_sd group per target
(file_sd has per-group labels only; a target's labels win over its group's, as Prometheus merges them). The
builders below follow the Go source function by function: `pod_labels` (podLabels), `build_pod`,
`build_service`, `build_endpoints`, `build_endpointslice`, `build_node`, `node_labels_for` (addNodeLabels).

The process lists and watches the resources the roles need (pods, services, endpoints, endpointslices, nodes;
one stream each, cluster-wide, restarted with a new list when it breaks), filters them per SD by namespace and
selector, and rewrites every file whose content changed, atomically (a temporary file, then rename, so
Prometheus' fsnotify watch reads whole files only), at most every 50 ms after a change.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from kubesim.selectors import parse_field_selector, parse_label_selector

META = "__meta_kubernetes_"
NAMESPACE = META + "namespace"
PRESENT = "true"
ROLES = ("endpoints", "endpointslice", "pod", "service", "node")
# The resources each role reads (as Prometheus' informers do) and the selector roles it accepts.
NEEDS: dict[str, tuple[str, ...]] = {
    "pod": ("pods", "nodes"),
    "service": ("services",),
    "endpoints": ("endpoints", "services", "pods", "nodes"),
    "endpointslice": ("endpointslices", "services", "pods", "nodes"),
    "node": ("nodes",),
}
ALLOWED_SELECTORS: dict[str, tuple[str, ...]] = {
    "pod": ("pod",),
    "service": ("service",),
    "endpoints": ("pod", "service", "endpoints"),
    "endpointslice": ("pod", "service", "endpointslice"),
    "node": ("node",),
}
PATHS = {
    "pods": "/api/v1/pods",
    "services": "/api/v1/services",
    "endpoints": "/api/v1/endpoints",
    "endpointslices": "/apis/discovery.k8s.io/v1/endpointslices",
    "nodes": "/api/v1/nodes",
}
SELECTOR_RESOURCE = {
    "pod": "pods",
    "service": "services",
    "endpoints": "endpoints",
    "endpointslice": "endpointslices",
    "node": "nodes",
}
_INVALID = re.compile(r"[^a-zA-Z0-9_]")

Obj = Mapping[str, Any]
LabelSet = dict[str, str]


class Group(dict[str, Any]):
    """A target group: {"source", "labels": LabelSet, "targets": [LabelSet]} (targetgroup.Group)."""


def sanitize(name: str) -> str:
    """strutil.SanitizeLabelName: every character outside [a-zA-Z0-9_] becomes `_`."""
    return _INVALID.sub("_", name)


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _str(value: Any) -> str:
    """A Go string field: absent is ""."""
    return "" if value is None else str(value)


def _labels_and_annotations(prefix: str, obj: Obj, annotations: bool = True) -> LabelSet:
    out: LabelSet = {}
    kinds = (("label", "labels"), ("annotation", "annotations")) if annotations else (("label", "labels"),)
    for kind, field in kinds:
        for key, value in (_meta(obj).get(field) or {}).items():
            name = sanitize(key)
            out[f"{prefix}{kind}_{name}"] = _str(value)
            out[f"{prefix}{kind}present_{name}"] = PRESENT
    return out


def pod_ready(pod: Obj) -> str:
    for cond in (pod.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return _str(cond.get("status")).lower()
    return "unknown"


def pod_labels(pod: Obj) -> LabelSet:
    """podLabels (pod.go)."""
    meta, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    ls: LabelSet = {
        META + "pod_name": _str(meta.get("name")),
        META + "pod_ip": _str(status.get("podIP")),
        META + "pod_ready": pod_ready(pod),
        META + "pod_phase": _str(status.get("phase")),
        META + "pod_node_name": _str(spec.get("nodeName")),
        META + "pod_host_ip": _str(status.get("hostIP")),
        META + "pod_uid": _str(meta.get("uid")),
    }
    controller = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    if controller is not None:
        if controller.get("kind"):
            ls[META + "pod_controller_kind"] = _str(controller["kind"])
        if controller.get("name"):
            ls[META + "pod_controller_name"] = _str(controller["name"])
    ls.update(_labels_and_annotations(META + "pod_", pod))
    return ls


def _join(host: str, port: Any) -> str:
    """net.JoinHostPort."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def node_labels_for(target: LabelSet, nodes: Mapping[str, Obj] | None, node_name: str | None) -> LabelSet:
    """addNodeLabels: with attach_metadata.node, the node's name and labels join the target."""
    if nodes is None or node_name is None or node_name not in nodes:
        return target
    node = nodes[node_name]
    extra: LabelSet = {META + "node_name": node_name}
    for key, value in (_meta(node).get("labels") or {}).items():
        extra[f"{META}node_label_{sanitize(key)}"] = _str(value)
        extra[f"{META}node_labelpresent_{sanitize(key)}"] = PRESENT
    return {**target, **extra}


def build_pod(pod: Obj, nodes: Mapping[str, Obj] | None = None) -> Group:
    """buildPod (pod.go): one target per container port, one per container without ports (init containers
    too); nothing while the pod has no IP."""
    meta, spec, status = _meta(pod), pod.get("spec") or {}, pod.get("status") or {}
    group = Group(source=f"pod/{_str(meta.get('namespace'))}/{_str(meta.get('name'))}", labels={}, targets=[])
    ip = _str(status.get("podIP"))
    if not ip:
        return group
    labels = pod_labels(pod)
    labels[NAMESPACE] = _str(meta.get("namespace"))
    if nodes is not None:
        labels = node_labels_for(labels, nodes, _str(spec.get("nodeName")))
    group["labels"] = labels
    containers = [(c, False) for c in spec.get("containers") or []]
    containers += [(c, True) for c in spec.get("initContainers") or []]
    for container, is_init in containers:
        statuses = status.get("initContainerStatuses" if is_init else "containerStatuses") or []
        cid = next((_str(s.get("containerID")) for s in statuses if s.get("name") == container.get("name")), "")
        common = {
            META + "pod_container_name": _str(container.get("name")),
            META + "pod_container_id": cid,
            META + "pod_container_image": _str(container.get("image")),
            META + "pod_container_init": "true" if is_init else "false",
        }
        ports = container.get("ports") or []
        if not ports:
            group["targets"].append({"__address__": ip, **common})
            continue
        for port in ports:
            number = str(int(port.get("containerPort") or 0))
            group["targets"].append(
                {
                    "__address__": _join(ip, number),
                    **common,
                    META + "pod_container_port_number": number,
                    META + "pod_container_port_name": _str(port.get("name")),
                    META + "pod_container_port_protocol": _str(port.get("protocol")),
                }
            )
    return group


def service_labels(svc: Obj) -> LabelSet:
    """serviceLabels (service.go)."""
    ls: LabelSet = {META + "service_name": _str(_meta(svc).get("name")), NAMESPACE: _str(_meta(svc).get("namespace"))}
    ls.update(_labels_and_annotations(META + "service_", svc))
    return ls


def build_service(svc: Obj) -> Group:
    """buildService (service.go): one target per Service port, at <name>.<namespace>.svc:<port>."""
    meta, spec = _meta(svc), svc.get("spec") or {}
    name, ns = _str(meta.get("name")), _str(meta.get("namespace"))
    group = Group(source=f"svc/{ns}/{name}", labels=service_labels(svc), targets=[])
    kind = _str(spec.get("type"))
    for port in spec.get("ports") or []:
        number = str(int(port.get("port") or 0))
        target: LabelSet = {
            "__address__": _join(f"{name}.{ns}.svc", number),
            META + "service_port_name": _str(port.get("name")),
            META + "service_port_number": number,
            META + "service_port_protocol": _str(port.get("protocol")),
            META + "service_type": kind,
        }
        if kind == "ExternalName":
            target[META + "service_external_name"] = _str(spec.get("externalName"))
        else:
            target[META + "service_cluster_ip"] = _str(spec.get("clusterIP"))
        if kind == "LoadBalancer":
            target[META + "service_loadbalancer_ip"] = _str(spec.get("loadBalancerIP"))
        group["targets"].append(target)
    return group


def _pod_ref(ref: Obj | None, pods: Mapping[tuple[str, str], Obj]) -> Obj | None:
    """resolvePodRef: the Pod a targetRef names, when it is a Pod the (selector-filtered) pod store holds."""
    if not ref or ref.get("kind") != "Pod":
        return None
    return pods.get((_str(ref.get("namespace")), _str(ref.get("name"))))


def _container_port_labels(pod: Obj, port: int | None, protocol: str | None) -> LabelSet:
    """The first matching container port of each container (the Go loop `break`s per container only, so a
    later container's match overwrites an earlier one's). `protocol`: the endpoint port's (endpoints.go), or
    None for the container port's own (endpointslice.go)."""
    out: LabelSet = {}
    if port is None:
        return out
    for container in (pod.get("spec") or {}).get("containers") or []:
        for cport in container.get("ports") or []:
            if int(cport.get("containerPort") or 0) == port:
                out.update(
                    {
                        META + "pod_container_name": _str(container.get("name")),
                        META + "pod_container_image": _str(container.get("image")),
                        META + "pod_container_port_name": _str(cport.get("name")),
                        META + "pod_container_port_number": str(port),
                        META + "pod_container_port_protocol": _str(cport.get("protocol"))
                        if protocol is None
                        else protocol,
                    }
                )
                break
    return out


def _unseen_container_ports(seen: dict[tuple[str, str], tuple[Obj, list[int]]]) -> list[LabelSet]:
    """For every pod seen, a target per container port no endpoint port covered (the Go code's last loop)."""
    targets: list[LabelSet] = []
    for pod, ports in seen.values():
        ip = _str((pod.get("status") or {}).get("podIP"))
        for container in (pod.get("spec") or {}).get("containers") or []:
            for cport in container.get("ports") or []:
                number = int(cport.get("containerPort") or 0)
                if number in ports:
                    continue
                target = {
                    "__address__": _join(ip, number),
                    META + "pod_container_name": _str(container.get("name")),
                    META + "pod_container_image": _str(container.get("image")),
                    META + "pod_container_port_name": _str(cport.get("name")),
                    META + "pod_container_port_number": str(number),
                    META + "pod_container_port_protocol": _str(cport.get("protocol")),
                }
                targets.append({**target, **pod_labels(pod)})
    return targets


def build_endpoints(
    eps: Obj,
    services: Mapping[tuple[str, str], Obj],
    pods: Mapping[tuple[str, str], Obj],
    nodes: Mapping[str, Obj] | None = None,
) -> Group:
    """buildEndpoints (endpoints.go)."""
    meta = _meta(eps)
    ns, name = _str(meta.get("namespace")), _str(meta.get("name"))
    labels: LabelSet = {NAMESPACE: ns, META + "endpoints_name": name}
    svc = services.get((ns, name))
    if svc is not None:
        labels.update(service_labels(svc))
    for key, value in (meta.get("labels") or {}).items():
        labels[f"{META}endpoints_label_{sanitize(key)}"] = _str(value)
        labels[f"{META}endpoints_labelpresent_{sanitize(key)}"] = PRESENT
    group = Group(source=f"endpoints/{ns}/{name}", labels=labels, targets=[])
    seen: dict[tuple[str, str], tuple[Obj, list[int]]] = {}

    def add(addr: Obj, port: Obj, ready: str) -> None:
        number = int(port.get("port") or 0)
        protocol = _str(port.get("protocol"))
        target: LabelSet = {
            "__address__": _join(_str(addr.get("ip")), number),
            META + "endpoint_port_name": _str(port.get("name")),
            META + "endpoint_port_protocol": protocol,
            META + "endpoint_ready": ready,
        }
        ref = addr.get("targetRef")
        if ref is not None:
            target[META + "endpoint_address_target_kind"] = _str(ref.get("kind"))
            target[META + "endpoint_address_target_name"] = _str(ref.get("name"))
        if addr.get("nodeName") is not None:
            target[META + "endpoint_node_name"] = _str(addr["nodeName"])
        if addr.get("hostname"):
            target[META + "endpoint_hostname"] = _str(addr["hostname"])
        if nodes is not None:
            target = node_labels_for(target, nodes, addr.get("nodeName"))
        pod = _pod_ref(ref, pods)
        if pod is None:
            group["targets"].append(target)
            return
        key = (_str(_meta(pod).get("namespace")), _str(_meta(pod).get("name")))
        seen.setdefault(key, (pod, []))[1].append(number)
        target = {**target, **pod_labels(pod), **_container_port_labels(pod, number, protocol)}
        group["targets"].append(target)

    for subset in eps.get("subsets") or []:
        for port in subset.get("ports") or []:
            for addr in subset.get("addresses") or []:
                add(addr, port, "true")
            for addr in subset.get("notReadyAddresses") or []:
                add(addr, port, "false")
    group["targets"].extend(_unseen_container_ports(seen))
    return group


def build_endpointslice(
    eps: Obj,
    services: Mapping[tuple[str, str], Obj],
    pods: Mapping[tuple[str, str], Obj],
    nodes: Mapping[str, Obj] | None = None,
) -> Group:
    """buildEndpointSlice (endpointslice.go, discovery.k8s.io/v1): optional fields become labels only when
    they are set."""
    meta = _meta(eps)
    ns, name = _str(meta.get("namespace")), _str(meta.get("name"))
    labels: LabelSet = {
        NAMESPACE: ns,
        META + "endpointslice_name": name,
        META + "endpointslice_address_type": _str(eps.get("addressType")),
    }
    svc_name = (meta.get("labels") or {}).get("kubernetes.io/service-name")
    svc = services.get((ns, svc_name)) if svc_name is not None else None
    if svc is not None:
        labels.update(service_labels(svc))
    group = Group(source=f"endpointslice/{ns}/{name}", labels=labels, targets=[])
    seen: dict[tuple[str, str], tuple[Obj, list[int]]] = {}

    def add(addr: str, ep: Obj, port: Obj) -> None:
        number = port.get("port")
        target: LabelSet = {"__address__": _join(addr, int(number)) if number is not None else addr}
        if port.get("name") is not None:
            target[META + "endpointslice_port_name"] = _str(port["name"])
        if port.get("protocol") is not None:
            target[META + "endpointslice_port_protocol"] = _str(port["protocol"])
        if number is not None:
            target[META + "endpointslice_port"] = str(int(number))
        if port.get("appProtocol") is not None:
            target[META + "endpointslice_port_app_protocol"] = _str(port["appProtocol"])
        conditions = ep.get("conditions") or {}
        for cond in ("ready", "serving", "terminating"):
            if conditions.get(cond) is not None:
                target[f"{META}endpointslice_endpoint_conditions_{cond}"] = "true" if conditions[cond] else "false"
        if ep.get("hostname") is not None:
            target[META + "endpointslice_endpoint_hostname"] = _str(ep["hostname"])
        ref = ep.get("targetRef")
        if ref is not None:
            target[META + "endpointslice_address_target_kind"] = _str(ref.get("kind"))
            target[META + "endpointslice_address_target_name"] = _str(ref.get("name"))
        for key, value in (ep.get("deprecatedTopology") or {}).items():
            target[f"{META}endpointslice_endpoint_topology_{sanitize(key)}"] = _str(value)
            target[f"{META}endpointslice_endpoint_topology_present_{sanitize(key)}"] = PRESENT
        if nodes is not None:
            target = node_labels_for(target, nodes, ep.get("nodeName"))
        pod = _pod_ref(ref, pods)
        if pod is None:
            group["targets"].append(target)
            return
        key = (_str(_meta(pod).get("namespace")), _str(_meta(pod).get("name")))
        if number is not None:
            seen.setdefault(key, (pod, []))[1].append(int(number))
        else:
            seen.setdefault(key, (pod, []))
        cport_labels = _container_port_labels(pod, int(number) if number is not None else None, None)
        group["targets"].append({**target, **pod_labels(pod), **cport_labels})

    for ep in eps.get("endpoints") or []:
        for port in eps.get("ports") or []:
            for addr in ep.get("addresses") or []:
                add(_str(addr), ep, port)
    group["targets"].extend(_unseen_container_ports(seen))
    return group


def build_node(node: Obj) -> Group:
    """buildNode (node.go): the kubelet endpoint at the first address by priority, `instance` = the node name;
    no target when the node has no address."""
    meta = _meta(node)
    name = _str(meta.get("name"))
    labels: LabelSet = {
        META + "node_name": name,
        META + "node_provider_id": _str((node.get("spec") or {}).get("providerID")),
    }
    labels.update(_labels_and_annotations(META + "node_", node))
    group = Group(source=f"node/{name}", labels=labels, targets=[])
    by_type: dict[str, list[str]] = {}
    for addr in (node.get("status") or {}).get("addresses") or []:
        by_type.setdefault(_str(addr.get("type")), []).append(_str(addr.get("address")))
    chosen = next(
        (
            by_type[t][0]
            for t in ("InternalIP", "InternalDNS", "ExternalIP", "ExternalDNS", "LegacyHostIP", "Hostname")
            if t in by_type
        ),
        None,
    )
    if chosen is None:
        return group
    port = (((node.get("status") or {}).get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port", 0)
    target: LabelSet = {"__address__": _join(chosen, int(port or 0)), "instance": name}
    for kind, addresses in by_type.items():
        target[sanitize(META + "node_address_" + kind)] = addresses[0]
    group["targets"].append(target)
    return group


def file_sd(groups: Iterable[Group]) -> list[dict[str, Any]]:
    """Target groups as a file_sd document: one entry per target, its group's labels under its own."""
    out: list[dict[str, Any]] = []
    for group in groups:
        for target in group["targets"]:
            labels = {**group["labels"], **{k: v for k, v in target.items() if k != "__address__"}}
            out.append({"targets": [target["__address__"]], "labels": dict(sorted(labels.items()))})
    return out


# --------------------------------------------------------------------------- one SD config


class _AnyField(frozenset[str]):
    """Every field name: Prometheus passes field selectors on to the API server, which judges them."""

    def __contains__(self, _: object) -> bool:
        return True


ANY_FIELD = _AnyField()


class Filter:
    """Namespaces and selectors of one kubernetes_sd_config, applied to the objects of one resource."""

    def __init__(self, namespaces: Sequence[str], selectors: Sequence[Mapping[str, str]]) -> None:
        self.namespaces = set(namespaces)
        self.label: dict[str, Any] = {}
        self.field: dict[str, Any] = {}
        for sel in selectors:
            resource = SELECTOR_RESOURCE[sel["role"]]
            self.label[resource] = parse_label_selector(sel.get("label") or "")
            self.field[resource] = parse_field_selector(sel.get("field") or "", ANY_FIELD)

    def keep(self, resource: str, obj: Obj) -> bool:
        if resource != "nodes" and self.namespaces and _meta(obj).get("namespace") not in self.namespaces:
            return False
        label, field = self.label.get(resource), self.field.get(resource)
        if label is not None and not label.matches(_meta(obj).get("labels") or {}):
            return False
        return field is None or field.matches(obj)


def groups_for(sd: Mapping[str, Any], cache: Mapping[str, Mapping[tuple[str, str], Obj]]) -> list[Group]:
    """The target groups one kubernetes_sd_config yields from the cluster's objects (`cache`: resource ->
    {(namespace, name): object})."""
    flt = Filter(sd.get("namespaces") or [], sd.get("selectors") or [])

    def objects(resource: str) -> dict[tuple[str, str], Obj]:
        return {k: o for k, o in sorted(cache.get(resource, {}).items()) if flt.keep(resource, o)}

    role = sd["role"]
    nodes = {name: o for (_, name), o in cache.get("nodes", {}).items()} if sd.get("attach_node") else None
    if role == "pod":
        return [build_pod(p, nodes) for p in objects("pods").values()]
    if role == "service":
        return [build_service(s) for s in objects("services").values()]
    if role == "node":
        return [build_node(n) for n in objects("nodes").values()]
    services, pods = objects("services"), objects("pods")
    if role == "endpoints":
        return [build_endpoints(e, services, pods, nodes) for e in objects("endpoints").values()]
    if role == "endpointslice":
        return [build_endpointslice(e, services, pods, nodes) for e in objects("endpointslices").values()]
    raise ValueError(f"unsupported role {role!r}")


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


# --------------------------------------------------------------------------- list + watch


class Client:
    """HTTPS to the API server with a bearer token (the cluster's credentials)."""

    def __init__(self, server: str, token_file: str, ca_file: str) -> None:
        parts = urlsplit(server)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 443
        self.token_file = token_file
        self.context = ssl.create_default_context(cafile=ca_file)

    def open(self, path: str, timeout: float | None = 10.0) -> http.client.HTTPResponse:
        token = Path(self.token_file).read_text(encoding="utf-8").strip()
        conn = http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)
        conn.request("GET", path, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"})
        resp = conn.getresponse()
        if resp.status != 200:
            body = resp.read()[:300].decode("utf-8", "replace")
            conn.close()
            raise OSError(f"GET {path}: HTTP {resp.status}: {body}")
        return resp


def _key(obj: Obj) -> tuple[str, str]:
    return _str(_meta(obj).get("namespace")), _str(_meta(obj).get("name"))


class Informer(threading.Thread):
    """List, then watch from the list's resourceVersion; relist when the stream ends or fails."""

    def __init__(
        self,
        client: Client,
        resource: str,
        store: dict[str, dict[tuple[str, str], Obj]],
        changed: Callable[[], None],
        lock: threading.Lock,
    ) -> None:
        super().__init__(name=f"informer-{resource}", daemon=True)
        self.client, self.resource, self.store, self.changed, self.lock = client, resource, store, changed, lock
        self.synced = threading.Event()

    def run(self) -> None:
        while True:
            try:
                self._list_and_watch()
            except (OSError, ValueError, http.client.HTTPException) as exc:
                print(f"prometheus_sd: {self.resource}: {exc}", file=sys.stderr, flush=True)
                time.sleep(0.5)

    def _list_and_watch(self) -> None:
        path = PATHS[self.resource]
        with contextlib.closing(self.client.open(path)) as resp:
            listed = json.loads(resp.read())
        with self.lock:
            self.store[self.resource] = {_key(o): o for o in listed.get("items") or []}
        self.synced.set()
        self.changed()
        version = _str((listed.get("metadata") or {}).get("resourceVersion"))
        resp = self.client.open(f"{path}?watch=1&allowWatchBookmarks=true&resourceVersion={version}", timeout=None)
        with contextlib.closing(resp):
            while line := resp.readline():
                if not line.strip():
                    continue
                event = json.loads(line)
                kind, obj = event.get("type"), event.get("object") or {}
                if kind == "ERROR":
                    return  # a gone resourceVersion: list again
                if kind not in ("ADDED", "MODIFIED", "DELETED"):
                    continue
                with self.lock:
                    if kind == "DELETED":
                        self.store[self.resource].pop(_key(obj), None)
                    else:
                        self.store[self.resource][_key(obj)] = obj
                self.changed()


def run(spec: Mapping[str, Any]) -> int:
    api = spec["api"]
    client = Client(api["server"], api["token_file"], api["ca_file"])
    sds = list(spec["sds"])
    resources = sorted({r for sd in sds for r in NEEDS[sd["role"]]})
    store: dict[str, dict[tuple[str, str], Obj]] = {r: {} for r in resources}
    lock = threading.Lock()
    wake = threading.Event()
    informers = [Informer(client, r, store, wake.set, lock) for r in resources]
    for informer in informers:
        informer.start()
    written: dict[str, str] = {}
    while True:
        wake.wait()
        time.sleep(0.05)  # gather a burst of changes into one write
        wake.clear()
        if not all(i.synced.is_set() for i in informers):
            continue
        with lock:
            snapshot = {r: dict(objs) for r, objs in store.items()}
        for sd in sds:
            text = json.dumps(file_sd(groups_for(sd, snapshot)), indent=1, sort_keys=False)
            if written.get(sd["file"]) != text:
                write_atomic(Path(sd["file"]), text)
                written[sd["file"]] = text


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print("usage: python -m kubesim.servers.prometheus_sd SPEC.json", file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    return run(spec)


if __name__ == "__main__":
    raise SystemExit(main())
