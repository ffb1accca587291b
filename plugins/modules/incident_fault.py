#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: incident_fault
short_description: Apply an incident's fault, or restore what the ledger recorded before it
description:
  - C(state=present) applies the fault of an incident's plan (from incident_load). C(scale_to_zero) scales the
    workload to 0 through its C(scale) subresource, as C(kubernetes.core.k8s_scale) does, and with I(wait_s) waits
    until no pod of it is counted any more. A workload already at 0 is left alone (changed=false).
  - C(state=absent) writes back every field the ledger recorded (C(incident_ledger)), whatever the fault type -
    C(spec.replicas) through the C(scale) subresource, any other field by merge patch - and does not wait;
    the caller waits on the conditions that prove the recovery (the recovery probes, the ledger's rollout wait).
    Fields already at their recorded value are left alone.
  - Runs in the Ansible worker process when the host is the controller (see C(plugins/action)), where a
    C(k8s_scale) task costs a new Python process, about 1 s of the activation's budget.
version_added: "0.1.0"
author: sockshop-incidents contributors
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: Namespace of the incident's target.
    type: str
    required: true
  state:
    description: Apply the fault (C(present)) or restore the recorded state (C(absent)).
    type: str
    choices: [present, absent]
    default: present
  fault:
    description: With C(state=present), the fault as incident_load's plan gives it.
    type: dict
    suboptions:
      type:
        description: Fault type.
        type: str
        choices: [scale_to_zero]
        required: true
      workload:
        description: The workload the fault acts on (C(kind), C(name), optional C(api_version), default apps/v1).
        type: dict
        required: true
  objects:
    description: With C(state=absent), the ledger's objects, each with the recorded value of every field.
    type: list
    elements: dict
    default: []
  wait_s:
    description: With C(state=present), seconds to wait for the fault to be in effect; C(0) does not wait.
    type: float
    default: 0
requirements:
  - kubernetes >= 24.2.0
notes:
  - Supports check mode; it then reports what it would change and writes nothing.
"""

EXAMPLES = r"""
- name: Scale the gateway to zero and wait until its pod is gone
  incident_fault:
    namespace: sock-shop
    fault: {type: scale_to_zero, workload: {kind: Deployment, name: stripe-mock}}
    wait_s: 60

- name: Write back what the ledger recorded
  incident_fault:
    namespace: sock-shop
    state: absent
    objects: "{{ ledger.ledger.objects }}"
"""

RETURN = r"""
changes:
  description: Every field written (or that would be, in check mode), with its value before and after.
  returned: always
  type: list
  elements: dict
  sample: [{object: Deployment/stripe-mock, field: spec.replicas, before: 1, after: 0}]
waited_s:
  description: Seconds waited for the fault to be in effect.
  returned: with state present
  type: float
written_at:
  description: When the writes were done (UTC); with nothing to write, when that was found.
  returned: always
  type: str
  sample: "2026-11-23T08:26:48.021Z"
"""

import time
from collections.abc import Callable
from typing import Any

from ansible.module_utils.sockshop_cluster import LiveState
from ansible.module_utils.sockshop_incident import IncidentError, get_path
from ansible.module_utils.sockshop_module import NAMESPACE_SPEC, Connect, cluster_spec, iso, main_of, utc_now

ARGUMENT_SPEC = cluster_spec(
    NAMESPACE_SPEC,
    {
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "fault": {
            "type": "dict",
            "options": {
                "type": {"type": "str", "choices": ["scale_to_zero"], "required": True},
                "workload": {"type": "dict", "required": True},
            },
        },
        "objects": {"type": "list", "elements": "dict", "default": []},
        "wait_s": {"type": "float", "default": 0},
    },
)
REQUIRED_IF = [("state", "present", ("fault",))]
POLL_S = 0.1


def ref(obj: dict[str, Any]) -> str:
    return f"{obj['kind']}/{obj['name']}"


def current(live: Any, obj: dict[str, Any]) -> dict[str, Any]:
    found = live.get(obj.get("api_version", "apps/v1"), obj["kind"], obj["name"])
    if found is None:
        raise IncidentError(
            f"{ref(obj)} does not exist in namespace {live.namespace}. Provision the environment first "
            "(ansible-playbook playbooks/provision.yml)."
        )
    return found


def write_field(live: Any, obj: dict[str, Any], field: str, value: Any) -> None:
    api_version = obj.get("api_version", "apps/v1")
    if field == "spec.replicas":
        live.scale(api_version, obj["kind"], obj["name"], value)
        return
    patch: dict[str, Any] = {}
    node = patch
    *parents, last = field.split(".")
    for part in parents:
        node = node.setdefault(part, {})
    node[last] = value
    live.merge_patch(api_version, obj["kind"], obj["name"], patch)


def set_fields(live: Any, obj: dict[str, Any], wanted: dict[str, Any], check_mode: bool) -> list[dict[str, Any]]:
    """Write each field of `wanted` that differs from the live object; the changes made (or planned)."""
    live_obj = current(live, obj)
    changes = []
    for field, value in wanted.items():
        before = get_path(live_obj, field)
        if before == value:
            continue
        if not check_mode:
            write_field(live, obj, field, value)
        changes.append({"object": ref(obj), "field": field, "before": before, "after": value})
    return changes


def pods_counted(live: Any, workload: dict[str, Any]) -> int:
    status = current(live, workload).get("status") or {}
    return int(status.get("replicas") or 0)


def apply(
    live: Any,
    fault: dict[str, Any],
    wait_s: float,
    check_mode: bool,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    workload = fault["workload"]
    changes = set_fields(live, workload, {"spec.replicas": 0}, check_mode)
    written_at = iso(utc_now())
    start = clock()
    if not check_mode and wait_s:
        while pods_counted(live, workload) and clock() - start < wait_s:
            sleep(POLL_S)
        left = pods_counted(live, workload)
        if left:
            raise IncidentError(
                f"{ref(workload)} still counts {left} pod(s) {wait_s:g} s after it was scaled to 0. The fault is "
                "written and the ledger holds the prior state: run phase=recover, then look at why its pods do not "
                "terminate.",
                changes=changes,
            )
    return {
        "changed": bool(changes),
        "changes": changes,
        "written_at": written_at,
        "waited_s": round(clock() - start, 3),
    }


def restore(live: Any, objects: list[dict[str, Any]], check_mode: bool) -> dict[str, Any]:
    changes = []
    for obj in objects:
        changes += set_fields(live, obj, obj.get("fields") or {}, check_mode)
    return {"changed": bool(changes), "changes": changes, "written_at": iso(utc_now())}


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    live = LiveState(connect(), params["namespace"])
    if params["state"] == "present":
        return apply(live, params["fault"], params["wait_s"], check_mode)
    return restore(live, params["objects"], check_mode)


def main() -> None:
    main_of(ARGUMENT_SPEC, run, required_if=REQUIRED_IF)


if __name__ == "__main__":
    main()
