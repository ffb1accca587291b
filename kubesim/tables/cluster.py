"""Printers for coordination, storage, scheduling, RBAC, networking, policy and admission kinds."""

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
    container_cells,
    dig,
    format_label_selector,
    format_labels,
    int_of,
    meta,
    name,
    name_col,
    spec,
    status,
)

LEASE = Printer(
    [name_col(), col("Holder", "holderIdentity contains the identity of the holder of a current lease."), age_col()],
    lambda obj, now: [name(obj), str(spec(obj).get("holderIdentity") or ""), age(obj, now)],
)

_DEFAULT_CLASS_ANNOTATIONS = (
    "storageclass.kubernetes.io/is-default-class",
    "storageclass.beta.kubernetes.io/is-default-class",
)


def _storage_class_row(obj: Obj, now: datetime) -> Cells:
    annotations = meta(obj).get("annotations") or {}
    default = any(annotations.get(key) == "true" for key in _DEFAULT_CLASS_ANNOTATIONS)
    return [
        name(obj) + (" (default)" if default else ""),
        str(obj.get("provisioner") or ""),
        obj.get("reclaimPolicy") or "Delete",
        obj.get("volumeBindingMode") or "Immediate",
        bool(obj.get("allowVolumeExpansion")),
        age(obj, now),
    ]


STORAGE_CLASS = Printer(
    [
        name_col(),
        col("Provisioner", "provisioner indicates the type of the provisioner."),
        col(
            "ReclaimPolicy",
            "reclaimPolicy controls the reclaimPolicy for dynamically provisioned PersistentVolumes of this "
            "storage class.",
        ),
        col(
            "VolumeBindingMode",
            "volumeBindingMode indicates how PersistentVolumeClaims should be provisioned and bound.",
        ),
        col("AllowVolumeExpansion", "allowVolumeExpansion shows whether the storage class allow volume expand."),
        age_col(),
    ],
    _storage_class_row,
)

PRIORITY_CLASS = Printer(
    [
        name_col(),
        col("Value", "value represents the integer value of this priority class.", type_="integer"),
        col(
            "Global-Default",
            "globalDefault specifies whether this PriorityClass should be considered as the default priority "
            "for pods that do not have any priority class.",
            type_="boolean",
        ),
        age_col(),
        col("PreemptionPolicy", "preemptionPolicy is the Policy for preempting pods with lower priority.", priority=1),
    ],
    lambda obj, now: [
        name(obj),
        int_of(obj.get("value")),
        bool(obj.get("globalDefault")),
        age(obj, now),
        str(obj.get("preemptionPolicy") or "PreemptLowerPriority"),
    ],
)


def _binding_row(obj: Obj, now: datetime) -> Cells:
    ref = obj.get("roleRef") or {}
    users: list[str] = []
    groups: list[str] = []
    sas: list[str] = []
    for subject in obj.get("subjects") or []:
        kind = subject.get("kind")
        if kind == "ServiceAccount":
            sas.append(f"{subject.get('namespace', '')}/{subject.get('name', '')}")
        elif kind == "User":
            users.append(str(subject.get("name", "")))
        elif kind == "Group":
            groups.append(str(subject.get("name", "")))
    return [
        name(obj),
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        age(obj, now),
        ", ".join(users),
        ", ".join(groups),
        ", ".join(sas),
    ]


def _binding_printer(kind: str) -> Printer:
    return Printer(
        [
            name_col(),
            col(
                "Role",
                "RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.",
            ),
            age_col(),
            col("Users", f"Users in the {kind}", priority=1),
            col("Groups", f"Groups in the {kind}", priority=1),
            col("ServiceAccounts", f"ServiceAccounts in the {kind}", priority=1),
        ],
        _binding_row,
    )


def _ingress_row(obj: Obj, now: datetime) -> Cells:
    sp = spec(obj)
    rules = sp.get("rules") or []
    hosts: list[str] = []
    more = False
    for rule in rules:  # formatHosts: "more" only once three hosts are held and another rule follows
        if len(hosts) == 3:
            more = True
        if not more and rule.get("host"):
            hosts.append(str(rule["host"]))
    host_cell = ",".join(hosts) or "*"
    if hosts and more:
        host_cell = f"{host_cell} + {len(rules) - 3} more..."
    ingress = dig(obj, "status", "loadBalancer", "ingress") or []
    address = ",".join(
        sorted({str(i.get("ip") or i.get("hostname")) for i in ingress if i.get("ip") or i.get("hostname")})
    )
    return [
        name(obj),
        sp.get("ingressClassName") or "<none>",
        host_cell,
        address,
        "80, 443" if sp.get("tls") else "80",
        age(obj, now),
    ]


INGRESS = Printer(
    [
        name_col(),
        col("Class", "The name of the IngressClass resource that should be used for additional configuration"),
        col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
        col("Address", "Address is a list containing ingress points for the load-balancer"),
        col("Ports", "Ports of TLS configurations that open"),
        age_col(),
    ],
    _ingress_row,
)


def _ingress_class_row(obj: Obj, now: datetime) -> Cells:
    params = spec(obj).get("parameters")
    text = "<none>"
    if params:
        text = str(params.get("kind", ""))
        if params.get("apiGroup") is not None:
            text += "." + str(params["apiGroup"])
        text += "/" + str(params.get("name", ""))
    return [name(obj), str(spec(obj).get("controller") or ""), text, age(obj, now)]


INGRESS_CLASS = Printer(
    [
        name_col(),
        col("Controller", "Controller that is responsible for handling this class"),
        col("Parameters", "A reference to a resource with additional parameters"),
        age_col(),
    ],
    _ingress_class_row,
)

NETWORK_POLICY = Printer(
    [name_col(), col("Pod-Selector", "Selects the pods to which this NetworkPolicy object applies."), age_col()],
    lambda obj, now: [name(obj), format_label_selector(spec(obj).get("podSelector")), age(obj, now)],
)


def _int_or_string(value: Any) -> str:
    return "N/A" if value is None else str(value)


PDB = Printer(
    [
        name_col(),
        col("Min Available", "The minimum number of pods that must be available."),
        col("Max Unavailable", "The maximum number of pods that may be unavailable."),
        col("Allowed Disruptions", "Calculated number of pods that may be disrupted at this time.", type_="integer"),
        age_col(),
    ],
    lambda obj, now: [
        name(obj),
        _int_or_string(spec(obj).get("minAvailable")),
        _int_or_string(spec(obj).get("maxUnavailable")),
        int_of(status(obj).get("disruptionsAllowed")),
        age(obj, now),
    ],
)


def _controller_of(obj: Obj) -> str:
    for ref in meta(obj).get("ownerReferences") or []:
        if ref.get("controller"):
            api_version = str(ref.get("apiVersion", ""))
            group = api_version.split("/", maxsplit=1)[0] if "/" in api_version else ""
            kind = str(ref.get("kind", ""))
            group_kind = f"{kind}.{group}" if group else kind
            return f"{group_kind.lower()}/{ref.get('name', '')}" if group_kind else str(ref.get("name", ""))
    return "<none>"


CONTROLLER_REVISION = Printer(
    [
        name_col(),
        col("Controller", "Controller of the object"),
        col("Revision", "Revision indicates the revision of the state represented by Data."),
        age_col(),
    ],
    lambda obj, now: [name(obj), _controller_of(obj), int_of(obj.get("revision")), age(obj, now)],
)


def _pod_template_row(obj: Obj, now: datetime) -> Cells:
    names, images = container_cells(dig(obj, "template", "spec"))
    return [name(obj), names, images, format_labels(dig(obj, "template", "metadata", "labels"))]


POD_TEMPLATE = Printer(
    [
        name_col(),
        col("Containers", "Names of each container in the template."),
        col("Images", "Images referenced by each container in the template."),
        col("Pod Labels", "The labels for the pod template."),
    ],
    _pod_template_row,
)

WEBHOOKS = Printer(
    [
        name_col(),
        col("Webhooks", "Webhooks indicates the number of webhooks registered in this configuration", type_="integer"),
        age_col(),
    ],
    lambda obj, now: [name(obj), len(obj.get("webhooks") or []), age(obj, now)],
)

RUNTIME_CLASS = Printer(
    [
        name_col(),
        col(
            "Handler",
            "handler specifies the underlying runtime and configuration that the CRI implementation will use "
            "to handle pods of this class.",
        ),
        age_col(),
    ],
    lambda obj, now: [name(obj), str(obj.get("handler") or ""), age(obj, now)],
)


def _quota_row(obj: Obj, now: datetime) -> Cells:
    hard = status(obj).get("hard") or {}
    used = status(obj).get("used") or {}
    requests: list[str] = []
    limits: list[str] = []
    for resource in sorted(hard):
        pieces = resource.split(".")
        target = limits if len(pieces) > 1 and pieces[0] == "limits" else requests
        target.append(f"{resource}: {used.get(resource, '0')}/{hard[resource]}")
    return [name(obj), ", ".join(requests), ", ".join(limits), age(obj, now)]


RESOURCE_QUOTA = Printer(
    [
        name_col(),
        col("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
        col(
            "Limit",
            "Limits control the maximum amount of cpu/memory that a container may use independent of "
            "contention on the node.",
        ),
        age_col(),
    ],
    _quota_row,
)

PRINTERS = {
    ("coordination.k8s.io", "leases"): LEASE,
    ("storage.k8s.io", "storageclasses"): STORAGE_CLASS,
    ("scheduling.k8s.io", "priorityclasses"): PRIORITY_CLASS,
    ("rbac.authorization.k8s.io", "rolebindings"): _binding_printer("roleBinding"),
    ("rbac.authorization.k8s.io", "clusterrolebindings"): _binding_printer("clusterRoleBinding"),
    ("networking.k8s.io", "ingresses"): INGRESS,
    ("networking.k8s.io", "ingressclasses"): INGRESS_CLASS,
    ("networking.k8s.io", "networkpolicies"): NETWORK_POLICY,
    ("policy", "poddisruptionbudgets"): PDB,
    ("apps", "controllerrevisions"): CONTROLLER_REVISION,
    ("", "podtemplates"): POD_TEMPLATE,
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"): WEBHOOKS,
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): WEBHOOKS,
    ("node.k8s.io", "runtimeclasses"): RUNTIME_CLASS,
    ("", "resourcequotas"): RESOURCE_QUOTA,
}
