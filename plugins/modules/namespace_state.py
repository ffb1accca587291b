#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: namespace_state
short_description: Read a namespace's state as a report shows it - kubectl tables and what a regression check compares
description:
  - Reads the namespace's Deployments and Pods, and the Endpoints of the named Services, as the API server's own
    tables (what C(kubectl get) prints from), so a report can show the state before, during and after an incident
    exactly as an operator would have seen it.
  - Also returns what the report's regression check compares (each Deployment's replicas, readiness and images;
    each pod's workload, readiness, phase and restarts), the images of every Deployment, the API server's version
    and the number of nodes.
  - Only reads. Runs in the Ansible worker process when the host is the controller (see C(plugins/action)).
version_added: "0.1.0"
author: sockshop-incidents contributors
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: Namespace to read.
    type: str
    required: true
  endpoints:
    description: Services whose Endpoints to show (the incident's target workloads).
    type: list
    elements: str
    default: []
requirements:
  - kubernetes >= 24.2.0
notes:
  - Supports check mode, and runs the same there.
"""

EXAMPLES = r"""
- name: Record the namespace's state before the fault
  namespace_state:
    namespace: sock-shop
    endpoints: [payment, stripe-mock]
  register: before
"""

RETURN = r"""
taken_at:
  description: When the state was read (UTC).
  returned: always
  type: str
tables:
  description:
    - C(deployments), C(pods) and C(endpoints), each with C(columns) and C(rows) (cells as strings), the
      priority-0 columns of the API server's table, as C(kubectl get) shows them without C(-o wide).
  returned: always
  type: dict
images:
  description: Each Deployment's container images, in order.
  returned: always
  type: dict
  sample: {payment: ["quay.io/powercloud/sock-shop-payment:0.4.3"]}
view:
  description: What the regression check compares - C(deployments) (replicas, ready, available, images) and C(pods)
    (workload, ready, phase, restarts).
  returned: always
  type: dict
server_version:
  description: The API server's gitVersion.
  returned: always
  type: str
  sample: v1.32.0
nodes:
  description: How many nodes the cluster has.
  returned: always
  type: int
"""

from typing import Any

from ansible.module_utils.sockshop_module import NAMESPACE_SPEC, Connect, cluster_spec, iso, main_of, utc_now
from ansible.module_utils.sockshop_state_tables import TABLE_ACCEPT, only_rows, table_of, view

ARGUMENT_SPEC = cluster_spec(NAMESPACE_SPEC, {"endpoints": {"type": "list", "elements": "str", "default": []}})
TABLES = {
    "deployments": "/apis/apps/v1/namespaces/{ns}/deployments",
    "pods": "/api/v1/namespaces/{ns}/pods",
    "endpoints": "/api/v1/namespaces/{ns}/endpoints",
}


def read(client: Any, namespace: str, services: list[str]) -> dict[str, Any]:
    """`client` is kubernetes.core's K8SClient, or the kubernetes package's DynamicClient it wraps."""
    client = client if hasattr(client, "request") else client.client
    tables = {}
    for key, path in TABLES.items():
        answer = client.request("GET", path.format(ns=namespace), header_params={"Accept": TABLE_ACCEPT})
        tables[key] = table_of(answer.to_dict())
    tables["endpoints"] = only_rows(tables["endpoints"], services)

    def items(api_version: str, kind: str) -> list[dict[str, Any]]:
        return client.resources.get(api_version=api_version, kind=kind).get(namespace=namespace).to_dict()["items"]

    deployments = items("apps/v1", "Deployment")
    version = (getattr(client, "version", None) or {}).get("kubernetes") or {}  # discovery's /version
    nodes = client.resources.get(api_version="v1", kind="Node").get().to_dict()["items"]
    images = {
        d["metadata"]["name"]: [c.get("image") for c in d["spec"]["template"]["spec"].get("containers") or []]
        for d in deployments
    }
    return {
        "changed": False,
        "taken_at": iso(utc_now()),
        "tables": tables,
        "images": images,
        "view": view(deployments, items("apps/v1", "ReplicaSet"), items("v1", "Pod")),
        "server_version": str(version.get("gitVersion", "")),
        "nodes": len(nodes),
    }


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    return read(connect(), params["namespace"], params["endpoints"])


def main() -> None:
    main_of(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
