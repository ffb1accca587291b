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
  events_since:
    description:
      - Also return the namespace's events last seen at or after this time (UTC, RFC 3339), oldest first, so a
        report shows the scale down and the scale up on recovery. Empty reads no events.
    type: str
    default: ""
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

- name: Record the state after recovery, with every event since the activation started
  namespace_state:
    namespace: sock-shop
    events_since: "2026-11-23T08:24:40Z"
  register: after
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
events:
  description:
    - With I(events_since), the namespace's events last seen since then, oldest first - C(at) (last seen),
      C(type), C(reason), C(object) (Kind/name), C(message) and C(count).
  returned: when events_since is set
  type: list
  elements: dict
  sample:
    - {at: "2026-11-23T08:24:41Z", type: Normal, reason: ScalingReplicaSet, object: Deployment/stripe-mock,
       message: Scaled down replica set stripe-mock-7d4b9 from 1 to 0, count: 1}
"""

from typing import Any

from ansible.module_utils.sockshop_module import (
    NAMESPACE_SPEC,
    Connect,
    ModuleError,
    cluster_spec,
    iso,
    main_of,
    parse_iso,
    utc_now,
)
from ansible.module_utils.sockshop_state_tables import TABLE_ACCEPT, only_rows, table_of, view

ARGUMENT_SPEC = cluster_spec(
    NAMESPACE_SPEC,
    {
        "endpoints": {"type": "list", "elements": "str", "default": []},
        "events_since": {"type": "str", "default": ""},
    },
)
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


def event_rows(events: list[dict[str, Any]], since: Any) -> list[dict[str, Any]]:
    """Events last seen at or after `since` (a datetime), oldest first, as a report lists them. Event times have
    whole seconds, so an event of the same second as `since` counts."""
    since = since.replace(microsecond=0)
    rows = []
    for event in events:
        meta = event.get("metadata") or {}
        at = event.get("lastTimestamp") or event.get("eventTime") or event.get("firstTimestamp")
        at = at or meta.get("creationTimestamp")
        if not at or parse_iso(str(at)) < since:
            continue
        about = event.get("involvedObject") or event.get("regarding") or {}
        rows.append(
            {
                "at": str(at),
                "type": event.get("type") or "",
                "reason": event.get("reason") or "",
                "object": f"{about.get('kind', '?')}/{about.get('name', '?')}",
                "message": " ".join(str(event.get("message") or "").split()),
                "count": int(event.get("count") or 1),
            }
        )
    return sorted(rows, key=lambda row: (parse_iso(row["at"]), row["object"], row["reason"]))


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    since = None
    if params["events_since"]:
        try:
            since = parse_iso(params["events_since"])
        except ValueError as exc:
            raise ModuleError(
                f"events_since {params['events_since']!r} is not an RFC 3339 time such as 2026-11-23T08:24:40Z"
            ) from exc
    client = connect()
    state = read(client, params["namespace"], params["endpoints"])
    if since is not None:
        dynamic = client if hasattr(client, "request") else client.client
        events = dynamic.resources.get(api_version="v1", kind="Event").get(namespace=params["namespace"])
        state["events"] = event_rows(events.to_dict()["items"], since)
    return state


def main() -> None:
    main_of(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
