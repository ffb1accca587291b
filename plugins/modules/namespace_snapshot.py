#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: namespace_snapshot
short_description: Record every object of a namespace, and prove later that the namespace is as it was
description:
  - The ledger holds only the fields a fault changes. This module is the wider proof of an exact recovery - a
    baseline of every object in the namespace, taken before an incident, compared with the live namespace after it.
  - The snapshot holds every object's spec (replicas, images, env, resources...), data, labels and annotations,
    the replica counts and phase from its status, and every pod with its readiness and container restart counts.
    Bookkeeping is left out - resourceVersion, generation, managedFields, timestamps, controller annotations
    (C(deployment.kubernetes.io/*), C(last-applied-configuration)), Events, EndpointSlices and the pod addresses
    of Endpoints. Secret values are kept only as a digest, so the file never holds a secret.
  - C(state=present) writes the baseline to I(path) on the machine that runs the module, unless one is there
    already (then nothing changes, so a second run reports changed=false); I(force) takes a new one.
  - C(state=diff) compares the live namespace with the baseline at I(path) and returns every difference. Pods of
    the I(faulted) workloads may have been replaced or restarted by the incident (their count, spec and readiness
    must still match); a pod of any other workload that was replaced or restarted is a difference.
version_added: "0.1.0"
author: sockshop-incidents contributors
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: Namespace to record or compare.
    type: str
    required: true
  path:
    description: File of the baseline (JSON).
    type: path
    required: true
  state:
    description: Record the baseline (C(present)) or compare the live namespace with it (C(diff)).
    type: str
    choices: [present, diff]
    default: present
  faulted:
    description:
      - With C(state=diff), workloads (C(Kind/name), such as C(Deployment/stripe-mock)) whose pods the incident
        replaces or restarts on purpose.
    type: list
    elements: str
    default: []
  force:
    description: With C(state=present), replace a baseline that is already there.
    type: bool
    default: false
requirements:
  - kubernetes >= 24.2.0
notes:
  - Supports check mode; C(state=present) then reports what it would record and writes nothing.
"""

EXAMPLES = r"""
- name: Record the namespace before the incident
  namespace_snapshot:
    namespace: sock-shop
    path: "{{ playbook_dir }}/baseline.json"

- name: Compare the recovered namespace with the baseline
  namespace_snapshot:
    namespace: sock-shop
    path: "{{ playbook_dir }}/baseline.json"
    state: diff
    faulted: [Deployment/stripe-mock]
  register: compared

- name: Check that the recovery was exact
  ansible.builtin.assert:
    that: compared.differences == []
    fail_msg: "{{ compared.summary }}"
"""

RETURN = r"""
action:
  description: recorded, kept (a baseline was there already), would_record (check mode) or compared.
  returned: always
  type: str
objects:
  description: How many objects and pods the snapshot holds.
  returned: always
  type: dict
  sample: {objects: 75, pods: 15}
taken_at:
  description: When the baseline was taken (UTC).
  returned: always
  type: str
differences:
  description: Every difference between the baseline and the live namespace, each with object, field, before, after.
  returned: with state diff
  type: list
  elements: dict
  sample: [{object: Deployment/stripe-mock, field: spec.replicas, before: 1, after: 0}]
summary:
  description: The differences as one line a person reads, or C(no differences).
  returned: with state diff
  type: str
"""

import json
from typing import Any

from ansible.module_utils.sockshop_incident import IncidentError
from ansible.module_utils.sockshop_module import (
    NAMESPACE_SPEC,
    Connect,
    cluster_spec,
    iso,
    main_of,
    utc_now,
    write_atomic,
)
from ansible.module_utils.sockshop_snapshot import compare, describe, take

ARGUMENT_SPEC = cluster_spec(
    NAMESPACE_SPEC,
    {
        "path": {"type": "path", "required": True},
        "state": {"type": "str", "choices": ["present", "diff"], "default": "present"},
        "faulted": {"type": "list", "elements": "str", "default": []},
        "force": {"type": "bool", "default": False},
    },
)


def counts(snapshot: dict[str, Any]) -> dict[str, int]:
    return {"objects": len(snapshot["objects"]), "pods": len(snapshot["pods"])}


def load(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            snapshot = json.load(handle)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise IncidentError(
            f"cannot read the baseline {path}: {exc}. Take it again with state=present force=true."
        ) from exc
    if not isinstance(snapshot, dict) or not {"objects", "pods", "namespace"} <= snapshot.keys():
        raise IncidentError(f"{path} is not a namespace baseline. Take it again with state=present force=true.")
    return snapshot


def record(live: Any, params: dict[str, Any], check_mode: bool, now: str) -> dict[str, Any]:
    existing = None if params["force"] else load(params["path"])
    if existing is not None:
        if existing["namespace"] != params["namespace"]:
            raise IncidentError(
                f"{params['path']} holds the baseline of namespace {existing['namespace']}, not {params['namespace']}. "
                "Use another path, or force=true to replace it."
            )
        return {"changed": False, "action": "kept", "objects": counts(existing), "taken_at": existing["taken_at"]}
    snapshot = live(now)
    if not check_mode:
        write_atomic(params["path"], json.dumps(snapshot, indent=1, sort_keys=True))
    action = "would_record" if check_mode else "recorded"
    return {"changed": True, "action": action, "objects": counts(snapshot), "taken_at": snapshot["taken_at"]}


def diff(live: Any, params: dict[str, Any], now: str) -> dict[str, Any]:
    baseline = load(params["path"])
    if baseline is None:
        raise IncidentError(f"no baseline at {params['path']}: record one with state=present before the incident.")
    if baseline["namespace"] != params["namespace"]:
        raise IncidentError(
            f"{params['path']} is the baseline of namespace {baseline['namespace']}, not {params['namespace']}."
        )
    current = live(now)
    found = compare(baseline, current, params["faulted"])
    return {
        "changed": False,
        "action": "compared",
        "objects": counts(current),
        "taken_at": baseline["taken_at"],
        "differences": found,
        "summary": describe(found) or "no differences",
    }


def decide(live: Any, params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    """`live(now)` takes a snapshot of the live namespace."""
    now = iso(utc_now())
    if params["state"] == "present":
        return record(live, params, check_mode, now)
    return diff(live, params, now)


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    return decide(lambda now: take(connect(), params["namespace"], now), params, check_mode)


def main() -> None:
    main_of(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
