#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: workloads_available
short_description: Wait until Deployments are serving - Available, with at least one available replica
description:
  - Reads the named Deployments until each has the condition C(Available=True) and at least one available replica,
    or I(wait_s) runs out; then fails naming the ones that are not serving. A Deployment scaled to 0 by hand counts
    as Available for Kubernetes but serves nothing, so it is not serving here.
  - Only reads. Runs in the Ansible worker process when the host is the controller (see C(plugins/action)), where a
    C(kubernetes.core.k8s_info) task with C(until) costs a new Python process per try.
version_added: "0.1.0"
author: sockshop-incidents contributors
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: Namespace of the Deployments.
    type: str
    required: true
  names:
    description: Names of the Deployments that must be serving.
    type: list
    elements: str
    required: true
  wait_s:
    description: Seconds to wait for them; C(0) looks once.
    type: float
    default: 0
requirements:
  - kubernetes >= 24.2.0
notes:
  - Supports check mode, and runs the same there.
"""

EXAMPLES = r"""
- name: Wait until payment and the gateway are serving
  workloads_available:
    namespace: sock-shop
    names: [payment, stripe-mock]
    wait_s: 30
"""

RETURN = r"""
workloads:
  description: Each Deployment's replicas (wanted), available replicas and whether it is serving.
  returned: always
  type: dict
  sample: {payment: {replicas: 1, available: 1, serving: true}}
unavailable:
  description: The Deployments that are not serving (empty on success).
  returned: always
  type: list
  elements: str
waited_s:
  description: Seconds waited.
  returned: always
  type: float
"""

import time
from collections.abc import Callable
from typing import Any

from ansible.module_utils.sockshop_cluster import LiveState
from ansible.module_utils.sockshop_module import NAMESPACE_SPEC, Connect, ModuleError, cluster_spec, main_of

ARGUMENT_SPEC = cluster_spec(
    NAMESPACE_SPEC,
    {
        "names": {"type": "list", "elements": "str", "required": True},
        "wait_s": {"type": "float", "default": 0},
    },
)
POLL_S = 0.2


def serving(deployment: dict[str, Any] | None) -> dict[str, Any]:
    if deployment is None:
        return {"replicas": None, "available": 0, "serving": False}
    status = deployment.get("status") or {}
    available = int(status.get("availableReplicas") or 0)
    condition = any(c.get("type") == "Available" and c.get("status") == "True" for c in status.get("conditions") or [])
    return {
        "replicas": (deployment.get("spec") or {}).get("replicas"),
        "available": available,
        "serving": condition and available >= 1,
    }


def look(live: Any, names: list[str]) -> dict[str, dict[str, Any]]:
    return {name: serving(live.get("apps/v1", "Deployment", name)) for name in names}


def wait_available(
    live: Any,
    names: list[str],
    wait_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    start = clock()
    workloads = look(live, names)
    while not all(w["serving"] for w in workloads.values()) and clock() - start < wait_s:
        sleep(POLL_S)
        workloads = look(live, names)
    unavailable = [name for name, w in workloads.items() if not w["serving"]]
    waited = round(clock() - start, 3)
    result = {"changed": False, "workloads": workloads, "unavailable": unavailable, "waited_s": waited}
    if unavailable:
        detail = ", ".join(f"{name} ({shown(workloads[name])})" for name in unavailable)
        raise ModuleError(f"not serving within {wait_s:g} s: {detail}", **result)
    return result


def shown(workload: dict[str, Any]) -> str:
    if workload["replicas"] is None:
        return "absent"
    return f"{workload['available']}/{workload['replicas']} available"


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    return wait_available(LiveState(connect(), params["namespace"]), params["names"], params["wait_s"])


def main() -> None:
    main_of(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
