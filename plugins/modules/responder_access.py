#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: responder_access
short_description: Give an incident's responder an on-call engineer's access, and take it back
description:
  - C(state=present) makes the ServiceAccount I(name) in I(namespace), a Role of the same name with what an on-call
    engineer has there, and their RoleBinding; it then asks the API server for a token of that account
    (TokenRequest) and writes a kubeconfig holding only that token, the cluster's address and its CA to I(path),
    readable by its owner only.
  - "The Role: read pods and their logs, events, deployments, replicasets, services, endpoints, ConfigMaps, HPAs
    and statefulsets; scale and patch deployments; delete pods (a restart); exec, attach and port-forward. Nothing
    else: no Secrets, no creating pods (a pod of the python or locust images runs the host's interpreter on the
    embedded cluster), nothing cluster-wide. The incident's own objects (lock, ledger, baseline, sentinel) live in
    its state namespace, which this Role does not reach."
  - C(state=absent) deletes the three objects and the kubeconfig; the token dies with its account.
  - The token never appears in the module's result.
version_added: "0.1.0"
author: sockshop-incidents contributors
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: The incident's namespace.
    type: str
    required: true
  state:
    description: Whether the responder has access.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: Name of the ServiceAccount, Role and RoleBinding.
    type: str
    default: sockshop-responder
  path:
    description: Where the responder's kubeconfig is written (and removed from with C(state=absent)).
    type: path
    required: true
  expiration_s:
    description: Lifetime of the token, in seconds (the API server's minimum is 600).
    type: int
    default: 7200
requirements:
  - kubernetes >= 24.2.0
notes:
  - Supports check mode, which reads what is there, writes nothing and says what it would do.
"""

EXAMPLES = r"""
- name: Give the responder an on-call engineer's access
  responder_access:
    namespace: sock-shop
    path: reports/responder.kubeconfig

- name: Take it back
  responder_access:
    namespace: sock-shop
    path: reports/responder.kubeconfig
    state: absent
"""

RETURN = r"""
path:
  description: The responder's kubeconfig (present), or where it was (absent).
  returned: always
  type: str
user:
  description: The user the responder acts as.
  returned: always
  type: str
  sample: system:serviceaccount:sock-shop:sockshop-responder
expires_at:
  description: When the token expires (RFC 3339 UTC).
  returned: when state is present and not in check mode
  type: str
objects:
  description: What was made or deleted (kind/name), or would be in check mode.
  returned: always
  type: list
  elements: str
"""

import json
import os
from typing import Any

from ansible.module_utils.sockshop_cluster import LiveState
from ansible.module_utils.sockshop_module import NAMESPACE_SPEC, Connect, ModuleError, cluster_spec, main_of
from ansible.module_utils.sockshop_service_proxy import api_client_of

ARGUMENT_SPEC = cluster_spec(
    NAMESPACE_SPEC,
    {
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "name": {"type": "str", "default": "sockshop-responder"},
        "path": {"type": "path", "required": True},
        "expiration_s": {"type": "int", "default": 7200},
    },
)
RBAC_GROUP = "rbac.authorization.k8s.io"
MANAGED = {"app.kubernetes.io/managed-by": "sockshop-incidents", "sockshop.io/role": "responder"}
RULES: list[dict[str, Any]] = [
    {
        "apiGroups": [""],
        "resources": ["pods", "pods/log", "events", "services", "endpoints", "configmaps"],
        "verbs": ["get", "list", "watch"],
    },
    {
        "apiGroups": ["apps"],
        "resources": ["deployments", "deployments/scale", "replicasets", "statefulsets"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": ["autoscaling"], "resources": ["horizontalpodautoscalers"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["apps"], "resources": ["deployments", "deployments/scale"], "verbs": ["patch", "update"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]},
    {"apiGroups": [""], "resources": ["pods/exec", "pods/attach", "pods/portforward"], "verbs": ["create"]},
]


def objects(namespace: str, name: str) -> list[dict[str, Any]]:
    """The ServiceAccount, the Role and the RoleBinding, in creation order."""
    meta = {"name": name, "namespace": namespace, "labels": dict(MANAGED)}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": dict(meta)},
        {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "Role", "metadata": dict(meta), "rules": RULES},
        {
            "apiVersion": f"{RBAC_GROUP}/v1",
            "kind": "RoleBinding",
            "metadata": dict(meta),
            "roleRef": {"apiGroup": RBAC_GROUP, "kind": "Role", "name": name},
            "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": namespace}],
        },
    ]


def kubeconfig(server: str, ca_data: str | None, token: str, namespace: str, user: str) -> dict[str, Any]:
    """A kubeconfig with one context: this cluster, this namespace, this token, and nothing of the admin's."""
    cluster: dict[str, Any] = {"server": server}
    if ca_data:
        cluster["certificate-authority-data"] = ca_data
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "incident", "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": "responder", "context": {"cluster": "incident", "user": user, "namespace": namespace}}],
        "current-context": "responder",
    }


def _ca_data(configuration: Any) -> str | None:
    """The cluster CA the admin's connection trusts, base64 as a kubeconfig embeds it."""
    import base64  # noqa: PLC0415

    path = getattr(configuration, "ssl_ca_cert", None)
    if not path:
        return None
    with open(path, "rb") as fh:
        return base64.b64encode(fh.read()).decode()


def user_of(params: dict[str, Any]) -> str:
    return f"system:serviceaccount:{params['namespace']}:{params['name']}"


def present(params: dict[str, Any], connect: Connect) -> dict[str, Any]:
    import yaml  # noqa: PLC0415
    from kubernetes import client as k8s  # noqa: PLC0415

    client = connect()
    live = LiveState(client, params["namespace"])
    made = []
    for obj in objects(params["namespace"], params["name"]):
        there = live.get(obj["apiVersion"], obj["kind"], params["name"])
        if there is None:
            live.create(obj)
            made.append(f"{obj['kind']}/{params['name']}")
        elif obj["kind"] != "ServiceAccount":  # already there: made to say exactly this
            version = {"resourceVersion": there["metadata"]["resourceVersion"]}
            live.replace({**obj, "metadata": {**obj["metadata"], **version}})
    api = api_client_of(client)
    core: Any = k8s.CoreV1Api(api)
    request = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": params["expiration_s"]},
    }
    answer = core.create_namespaced_service_account_token(params["name"], params["namespace"], request)
    user = user_of(params)
    document = kubeconfig(
        api.configuration.host, _ca_data(api.configuration), answer.status.token, params["namespace"], user
    )
    path = os.path.abspath(params["path"])
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as fh:
        os.fchmod(descriptor, 0o600)
        # plain str values (parameters may be Ansible's tagged strings, which PyYAML's safe dumper refuses)
        yaml.safe_dump(json.loads(json.dumps(document)), fh, sort_keys=False)
    expires = answer.status.expiration_timestamp
    return {
        "changed": True,  # a new token every time
        "path": path,
        "user": user,
        "expires_at": expires.strftime("%Y-%m-%dT%H:%M:%SZ") if hasattr(expires, "strftime") else str(expires),
        "objects": made,
    }


def existing(params: dict[str, Any], connect: Connect) -> list[dict[str, Any]]:
    """The three objects that are there now (as `objects` gives them)."""
    live = LiveState(connect(), params["namespace"])
    wanted = objects(params["namespace"], params["name"])
    return [obj for obj in wanted if live.get(obj["apiVersion"], obj["kind"], params["name"]) is not None]


def absent(params: dict[str, Any], connect: Connect) -> dict[str, Any]:
    client = connect()
    gone = []
    for obj in reversed(existing(params, lambda: client)):  # the binding first, the account last
        client.resource(obj["kind"], obj["apiVersion"]).delete(name=params["name"], namespace=params["namespace"])
        gone.append(f"{obj['kind']}/{params['name']}")
    removed = os.path.exists(params["path"])
    if removed:
        os.remove(params["path"])
    return {"changed": bool(gone) or removed, "path": params["path"], "user": user_of(params), "objects": gone}


def plan(params: dict[str, Any], connect: Connect) -> dict[str, Any]:
    """Check mode: what present or absent would do, from what is there; nothing is written."""
    user = user_of(params)
    there = [f"{obj['kind']}/{params['name']}" for obj in existing(params, connect)]
    if params["state"] == "present":
        made = [f"{o['kind']}/{params['name']}" for o in objects(params["namespace"], params["name"])]
        would = [obj for obj in made if obj not in there]
        msg = f"check mode: would make {', '.join(would) or 'nothing new'}, request a token and write {params['path']}"
        return {"changed": True, "path": params["path"], "user": user, "objects": would, "msg": msg}
    gone = there + ([params["path"]] if os.path.exists(params["path"]) else [])
    msg = f"check mode: would delete {', '.join(gone) or 'nothing (no responder access)'}"
    return {"changed": bool(gone), "path": params["path"], "user": user, "objects": there, "msg": msg}


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    if params["expiration_s"] < 600:
        raise ModuleError(f"expiration_s must be 600 or more (the API server's minimum), not {params['expiration_s']}")
    if check_mode:
        return plan(params, connect)
    return present(params, connect) if params["state"] == "present" else absent(params, connect)


def main() -> None:
    main_of(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
