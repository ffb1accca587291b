"""Printers for core/v1 kinds other than pods and events, and for discovery EndpointSlices."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._util import (
    Cells,
    Obj,
    Printer,
    age,
    age_col,
    col,
    dig,
    format_labels,
    meta,
    name,
    name_col,
    quantity,
    spec,
    status,
)

_MORE_MAX = 3


def _join_host_port(host: str, port: Any) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _with_more(items: list[str], more: bool, count: int) -> str:
    text = ",".join(items)
    if more:
        return f"{text} + {count - _MORE_MAX} more..."
    return text


# --- services -------------------------------------------------------------------------------------------------


def _lb_ingress(ingress: list[Any]) -> str:
    found = {i.get("ip") or i.get("hostname") for i in ingress or [] if i.get("ip") or i.get("hostname")}
    return ",".join(sorted(str(x) for x in found))


def _external_ip(svc: Obj) -> str:
    sp = spec(svc)
    stype = sp.get("type") or "ClusterIP"
    external = [str(ip) for ip in sp.get("externalIPs") or []]
    if stype in ("ClusterIP", "NodePort"):
        return ",".join(external) if external else "<none>"
    if stype == "LoadBalancer":
        lb = _lb_ingress(dig(svc, "status", "loadBalancer", "ingress") or [])
        if external:
            return ",".join((lb.split(",") if lb else []) + external)
        return lb or "<pending>"
    if stype == "ExternalName":
        return str(sp.get("externalName") or "")
    return "<unknown>"


def _ports(ports: list[Any]) -> str:
    pieces = []
    for port in ports:
        proto = port.get("protocol") or "TCP"
        node_port = port.get("nodePort") or 0
        if node_port > 0:
            pieces.append(f"{port.get('port')}:{node_port}/{proto}")
        else:
            pieces.append(f"{port.get('port')}/{proto}")
    return ",".join(pieces) or "<none>"


def _service_row(svc: Obj, now: datetime) -> Cells:
    sp = spec(svc)
    ips = sp.get("clusterIPs") or ([sp["clusterIP"]] if sp.get("clusterIP") else [])
    return [
        name(svc),
        sp.get("type") or "ClusterIP",
        ips[0] if ips else "<none>",
        _external_ip(svc),
        _ports(sp.get("ports") or []),
        age(svc, now),
        format_labels(sp.get("selector")),
    ]


SERVICE = Printer(
    [
        name_col(),
        col("Type", "type determines how the Service is exposed."),
        col("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
        col(
            "External-IP",
            "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic "
            "for this service.",
        ),
        col("Port(s)", "The list of ports that are exposed by this service."),
        age_col(),
        col("Selector", "Route service traffic to pods with label keys and values matching this selector.", priority=1),
    ],
    _service_row,
)

# --- endpoints --------------------------------------------------------------------------------------------------


def format_endpoints(endpoints: Obj) -> str:
    subsets = endpoints.get("subsets") or []
    if not subsets:
        return "<none>"
    items: list[str] = []
    more = False
    count = 0
    for subset in subsets:
        addresses = subset.get("addresses") or []
        ports = subset.get("ports") or []
        if not ports:
            count += len(addresses)
            for addr in addresses:
                if len(items) == _MORE_MAX:
                    more = True
                    break
                items.append(str(addr.get("ip", "")))
            continue
        for port in ports:
            count += len(addresses)
            for addr in addresses:
                if len(items) == _MORE_MAX:
                    more = True
                    break
                items.append(_join_host_port(str(addr.get("ip", "")), port.get("port")))
    return _with_more(items, more, count)


ENDPOINTS = Printer(
    [
        name_col(),
        col("Endpoints", "The set of all endpoints is the union of all subsets."),
        age_col(),
    ],
    lambda obj, now: [name(obj), format_endpoints(obj), age(obj, now)],
)


def _slice_ports(ports: list[Any]) -> str:
    items: list[str] = []
    more = False
    for port in ports:
        if len(items) < _MORE_MAX:
            if port.get("port") is not None:
                items.append(str(port["port"]))
            elif port.get("name") is not None:
                items.append(str(port["name"]))
            else:
                items.append("*")
        elif len(items) == _MORE_MAX:
            more = True
    return _with_more(items, more, len(ports)) or "<unset>"


def _slice_endpoints(endpoints: list[Any]) -> str:
    items: list[str] = []
    more = False
    count = 0
    for endpoint in endpoints:
        for address in endpoint.get("addresses") or []:
            if len(items) < _MORE_MAX:
                items.append(str(address))
            elif len(items) == _MORE_MAX:
                more = True
            count += 1
    return _with_more(items, more, count) or "<unset>"


ENDPOINT_SLICE = Printer(
    [
        name_col(),
        col("AddressType", "addressType specifies the type of address carried by this EndpointSlice."),
        col("Ports", "ports specifies the list of network ports exposed by each endpoint in this slice."),
        col("Endpoints", "endpoints is a list of unique endpoints in this slice."),
        age_col(),
    ],
    lambda obj, now: [
        name(obj),
        str(obj.get("addressType") or ""),
        _slice_ports(obj.get("ports") or []),
        _slice_endpoints(obj.get("endpoints") or []),
        age(obj, now),
    ],
)

# --- nodes and namespaces ---------------------------------------------------------------------------------------


def _node_status(node: Obj) -> str:
    parts = []
    for cond in status(node).get("conditions") or []:
        if cond.get("type") == "Ready":
            parts = ["Ready" if cond.get("status") == "True" else "NotReady"]
    if not parts:
        parts = ["Unknown"]
    if spec(node).get("unschedulable"):
        parts.append("SchedulingDisabled")
    return ",".join(parts)


def _node_roles(node: Obj) -> str:
    roles = set()
    for key, value in (meta(node).get("labels") or {}).items():
        if key.startswith("node-role.kubernetes.io/"):
            role = key[len("node-role.kubernetes.io/") :]
            if role:
                roles.add(role)
        elif key == "kubernetes.io/role" and value:
            roles.add(str(value))
    return ",".join(sorted(roles)) or "<none>"


def _node_address(node: Obj, kind: str) -> str:
    for address in status(node).get("addresses") or []:
        if address.get("type") == kind:
            return str(address.get("address", ""))
    return "<none>"


def _node_row(node: Obj, now: datetime) -> Cells:
    info = status(node).get("nodeInfo") or {}
    return [
        name(node),
        _node_status(node),
        _node_roles(node),
        age(node, now),
        str(info.get("kubeletVersion") or ""),
        _node_address(node, "InternalIP"),
        _node_address(node, "ExternalIP"),
        info.get("osImage") or "<unknown>",
        info.get("kernelVersion") or "<unknown>",
        info.get("containerRuntimeVersion") or "<unknown>",
    ]


NODE = Printer(
    [
        name_col(),
        col("Status", "The status of the node"),
        col("Roles", "The roles of the node"),
        age_col(),
        col("Version", "Kubelet Version reported by the node."),
        col("Internal-IP", "List of addresses reachable to the node.", priority=1),
        col("External-IP", "List of addresses reachable to the node.", priority=1),
        col(
            "OS-Image",
            "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
            priority=1,
        ),
        col(
            "Kernel-Version",
            "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
            priority=1,
        ),
        col(
            "Container-Runtime",
            "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
            priority=1,
        ),
    ],
    _node_row,
)


def _namespace_phase(ns: Obj) -> str:
    phase = status(ns).get("phase")
    if phase:
        return str(phase)
    return "Terminating" if meta(ns).get("deletionTimestamp") else "Active"


NAMESPACE = Printer(
    [name_col(), col("Status", "The status of the namespace"), age_col()],
    lambda obj, now: [name(obj), _namespace_phase(obj), age(obj, now)],
)

# --- config and identity ----------------------------------------------------------------------------------------

CONFIG_MAP = Printer(
    [name_col(), col("Data", "Data contains the configuration data."), age_col()],
    lambda obj, now: [name(obj), len(obj.get("data") or {}) + len(obj.get("binaryData") or {}), age(obj, now)],
)

SECRET = Printer(
    [
        name_col(),
        col("Type", "Used to facilitate programmatic handling of secret data."),
        col("Data", "Data contains the secret data."),
        age_col(),
    ],
    lambda obj, now: [
        name(obj),
        str(obj.get("type") or "Opaque"),
        len(set(obj.get("data") or {}) | set(obj.get("stringData") or {})),
        age(obj, now),
    ],
)

SERVICE_ACCOUNT = Printer(
    [
        name_col(),
        col(
            "Secrets",
            "Secrets is a list of the secrets in the same namespace that pods running using this "
            "ServiceAccount are allowed to use.",
        ),
        age_col(),
    ],
    lambda obj, now: [name(obj), len(obj.get("secrets") or []), age(obj, now)],
)

# --- storage ----------------------------------------------------------------------------------------------------

_MODE_ABBREV = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)


def access_modes(modes: list[Any] | None) -> str:
    present = set(modes or [])
    return ",".join(short for full, short in _MODE_ABBREV if full in present)


def _storage_class(obj: Obj) -> str:
    annotated = (meta(obj).get("annotations") or {}).get("volume.beta.kubernetes.io/storage-class")
    if annotated is not None:
        return str(annotated)
    return str(spec(obj).get("storageClassName") or "")


def _pv_row(pv: Obj, now: datetime) -> Cells:
    sp = spec(pv)
    claim = sp.get("claimRef")
    phase = "Terminating" if meta(pv).get("deletionTimestamp") else str(status(pv).get("phase") or "")
    return [
        name(pv),
        quantity((sp.get("capacity") or {}).get("storage")) or "0",
        access_modes(sp.get("accessModes")),
        str(sp.get("persistentVolumeReclaimPolicy") or ""),
        phase,
        f"{claim.get('namespace', '')}/{claim.get('name', '')}" if claim else "",
        _storage_class(pv),
        sp.get("volumeAttributesClassName") or "<unset>",
        str(status(pv).get("reason") or ""),
        age(pv, now),
        sp.get("volumeMode") or "<unset>",
    ]


PERSISTENT_VOLUME = Printer(
    [
        name_col(),
        col("Capacity", "capacity is the description of the persistent volume's resources and capacity."),
        col("Access Modes", "accessModes contains all ways the volume can be mounted."),
        col(
            "Reclaim Policy",
            "persistentVolumeReclaimPolicy defines what happens to a persistent volume when released from its claim.",
        ),
        col("Status", "phase indicates if a volume is available, bound to a claim, or released by a claim."),
        col(
            "Claim", "claimRef is part of a bi-directional binding between PersistentVolume and PersistentVolumeClaim."
        ),
        col("StorageClass", "StorageClass of the pv"),
        col("VolumeAttributesClass", "VolumeAttributesClass of the pv"),
        col(
            "Reason",
            "reason is a brief CamelCase string that describes any failure and is meant for machine parsing "
            "and tidy display in the CLI.",
        ),
        age_col(),
        col(
            "VolumeMode",
            "volumeMode defines if a volume is intended to be used with a formatted filesystem or to remain "
            "in raw block state.",
            priority=1,
        ),
    ],
    _pv_row,
)


def _pvc_row(pvc: Obj, now: datetime) -> Cells:
    sp = spec(pvc)
    phase = "Terminating" if meta(pvc).get("deletionTimestamp") else str(status(pvc).get("phase") or "")
    capacity = ""
    modes = ""
    if sp.get("volumeName"):
        modes = access_modes(status(pvc).get("accessModes"))
        capacity = quantity((status(pvc).get("capacity") or {}).get("storage")) or "0"
    return [
        name(pvc),
        phase,
        str(sp.get("volumeName") or ""),
        capacity,
        modes,
        _storage_class(pvc),
        sp.get("volumeAttributesClassName") or "<unset>",
        age(pvc, now),
        sp.get("volumeMode") or "<unset>",
    ]


PERSISTENT_VOLUME_CLAIM = Printer(
    [
        name_col(),
        col("Status", "phase represents the current phase of PersistentVolumeClaim."),
        col("Volume", "volumeName is the binding reference to the PersistentVolume backing this claim."),
        col("Capacity", "capacity represents the actual resources of the underlying volume."),
        col("Access Modes", "accessModes contains the actual access modes the volume backing the PVC has."),
        col("StorageClass", "StorageClass of the pvc"),
        col("VolumeAttributesClass", "VolumeAttributesClass of the pvc"),
        age_col(),
        col("VolumeMode", "volumeMode defines what type of volume is required by the claim.", priority=1),
    ],
    _pvc_row,
)

PRINTERS = {
    ("", "services"): SERVICE,
    ("", "endpoints"): ENDPOINTS,
    ("discovery.k8s.io", "endpointslices"): ENDPOINT_SLICE,
    ("", "nodes"): NODE,
    ("", "namespaces"): NAMESPACE,
    ("", "configmaps"): CONFIG_MAP,
    ("", "secrets"): SECRET,
    ("", "serviceaccounts"): SERVICE_ACCOUNT,
    ("", "persistentvolumes"): PERSISTENT_VOLUME,
    ("", "persistentvolumeclaims"): PERSISTENT_VOLUME_CLAIM,
}
