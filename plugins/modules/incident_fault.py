#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: incident_fault
short_description: Apply an incident's faults in order, or restore what the ledger recorded before them
description:
  - C(state=present) applies the steps of an incident's plan (from incident_load) in order, each one of three
    primitives the incident's fault types reduce to. C(scale_to_zero) scales a workload to 0 through its
    C(scale) subresource, as C(kubernetes.core.k8s_scale) does. C(patch) sets (or removes) fields addressed by
    JSON pointer with an RFC 6902 JSON patch (C(set_resources) is a patch of a container's resources). C(put)
    creates objects, or replaces them when they exist and differ (a C(load) fault's ConfigMap, Service and Job,
    an C(hpa) fault's HorizontalPodAutoscaler; a second HPA for a workload that already has one is refused before
    anything of it is written, as the two would fight).
  - A C(rabbitmq_policy) fault's object, kind C(RabbitMQPolicy) of C(management.rabbitmq.com/v1), lives in the
    broker, not in the API server - read, put and deleted through the management API by a one-shot Job in the
    namespace that is gone before the module goes on (see C(sockshop_rabbitmq)); in check mode no Job runs.
  - With I(wait_s) it then waits until every step is in effect - no pod counted for a workload scaled to 0, a
    patched Deployment rolled out, a created Job's pod started, a created HPA looked at by the HPA controller.
    Steps already in effect write nothing (changed=false).
  - C(state=absent) writes back every entry the ledger recorded (C(incident_ledger)), in the reverse order of
    the steps - a field to its recorded value (C(spec.replicas) through the C(scale) subresource, anything else
    by JSON patch, a field that was absent removed), an object that did not exist deleted (foreground, so a
    Job's pods go first), an object that existed put back as it was - and does not wait; the caller waits on the
    conditions that prove the recovery (the recovery probes, the ledger's wait).
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
    description: Apply the faults (C(present)) or restore the recorded state (C(absent)).
    type: str
    choices: [present, absent]
    default: present
  faults:
    description:
      - With C(state=present), the plan's steps in order, each with C(type) (C(scale_to_zero), C(patch), C(put))
        and C(step) (its position, recorded in the ledger).
      - C(scale_to_zero) and C(patch) name their C(object) (C(api_version), C(kind), C(name)); C(patch) has C(set),
        a list of C(path) (a JSON pointer, list elements by index or C(name=<value>)) with C(value), or with
        C(absent=true) to remove the field. C(put) has C(objects), full manifests.
    type: list
    elements: dict
    default: []
  objects:
    description: With C(state=absent), the ledger's entries, each with its recorded C(fields) or C(whole) object.
    type: list
    elements: dict
    default: []
  wait_s:
    description: With C(state=present), seconds to wait for the faults to be in effect; C(0) does not wait.
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
    faults:
      - {step: 0, type: scale_to_zero, object: {api_version: apps/v1, kind: Deployment, name: stripe-mock}}
    wait_s: 60

- name: Hold catalogue-db at 50m of CPU and wait for the rollout
  incident_fault:
    namespace: sock-shop
    faults:
      - step: 0
        type: patch
        object: {api_version: apps/v1, kind: Deployment, name: catalogue-db}
        set:
          - {path: /spec/template/spec/containers/name=catalogue-db/resources/limits/cpu, value: 50m}
    wait_s: 120

- name: Write back what the ledger recorded
  incident_fault:
    namespace: sock-shop
    state: absent
    objects: "{{ ledger.ledger.objects }}"
"""

RETURN = r"""
changes:
  description: Every field or object written (or that would be, in check mode), with its value before and after.
  returned: always
  type: list
  elements: dict
  sample: [{object: Deployment/stripe-mock, field: /spec/replicas, before: 1, after: 0}]
waited_s:
  description: Seconds waited for the faults to be in effect.
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

from ansible.module_utils import sockshop_hpa as hpa
from ansible.module_utils import sockshop_rabbitmq as rabbitmq
from ansible.module_utils.sockshop_cluster import LiveState
from ansible.module_utils.sockshop_incident import (
    IncidentError,
    body_ref,
    covers,
    essential,
    get_path,
    not_rolled_out,
    object_ref,
)
from ansible.module_utils.sockshop_module import NAMESPACE_SPEC, Connect, cluster_spec, iso, main_of, utc_now
from ansible.module_utils.sockshop_pointer import ABSENT, PointerError, get, patch_ops, resolve

ARGUMENT_SPEC = cluster_spec(
    NAMESPACE_SPEC,
    {
        "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
        "faults": {"type": "list", "elements": "dict", "default": []},
        "objects": {"type": "list", "elements": "dict", "default": []},
        "wait_s": {"type": "float", "default": 0},
    },
)
REQUIRED_IF = [("state", "present", ("faults",))]
POLL_S = 0.1
REPLICAS = "/spec/replicas"


def current(live: Any, obj: dict[str, Any]) -> dict[str, Any]:
    found = live.get(obj.get("api_version", "apps/v1"), obj["kind"], obj["name"])
    if found is None:
        raise IncidentError(
            f"{object_ref(obj)} does not exist in namespace {live.namespace}. Provision the environment first "
            "(ansible-playbook playbooks/provision.yml)."
        )
    return found


def set_fields(live: Any, obj: dict[str, Any], wanted: dict[str, Any], check_mode: bool) -> list[dict[str, Any]]:
    """Make each pointer of `wanted` hold its value (ABSENT: removed); the changes made (or planned)."""
    api_version = obj.get("api_version", "apps/v1")
    live_obj = current(live, obj)
    changes: list[dict[str, Any]] = []
    ops: list[dict[str, Any]] = []
    for pointer, value in wanted.items():
        try:
            path = resolve(live_obj, pointer)
            before = get(live_obj, path)
            if before == value:
                continue
            if path == REPLICAS and value != ABSENT:
                if not check_mode:
                    live.scale(api_version, obj["kind"], obj["name"], value)
            else:
                ops += patch_ops(live_obj, path, value)
        except PointerError as exc:
            raise IncidentError(
                f"{object_ref(obj)}: {exc}. Correct the pointer in the incident file; nothing more was written.",
                changes=changes,
            ) from exc
        changes.append({"object": object_ref(obj), "field": path, "before": before, "after": value})
    if ops and not check_mode:
        live.json_patch(api_version, obj["kind"], obj["name"], ops)
    return changes


def put(live: Any, body: dict[str, Any], check_mode: bool) -> list[dict[str, Any]]:
    """Create the object, or replace it when it exists and differs; the change made (or planned)."""
    obj = body_ref(body)
    found = live.get(obj["api_version"], obj["kind"], obj["name"])
    if found is not None and covers(essential(found), essential(body)):
        return []
    if not check_mode:
        if found is None:
            live.create(body)
        else:
            version = found["metadata"].get("resourceVersion")  # none for a broker's policy
            live.replace(dict(body, metadata=dict(body["metadata"], resourceVersion=version)) if version else body)
    return [
        {"object": object_ref(obj), "field": "", "before": ABSENT if found is None else "(other)", "after": "(created)"}
    ]


def remove(live: Any, obj: dict[str, Any], check_mode: bool) -> list[dict[str, Any]]:
    """Delete the object (foreground: a Job's pods first); nothing when it is gone or already going."""
    found = live.get(obj["api_version"], obj["kind"], obj["name"])
    if found is None or get_path(found, "metadata.deletionTimestamp"):
        return []
    if not check_mode:
        live.delete(obj["api_version"], obj["kind"], obj["name"])
    return [{"object": object_ref(obj), "field": "", "before": "(present)", "after": ABSENT}]


def refuse_second_hpa(live: Any, body: dict[str, Any]) -> None:
    """An HPA fault must not add a second HPA to a workload: the two would fight (AmbiguousSelector)."""
    if body["kind"] != "HorizontalPodAutoscaler":
        return
    others = hpa.conflicts(body, live.list_kind(body["apiVersion"], body["kind"]))
    if others:
        kind, name = hpa.target_of(body)
        raise IncidentError(
            f"HorizontalPodAutoscaler {', '.join(others)} already scales {kind}/{name}; a second one would fight it "
            f"(AmbiguousSelector). Remove it or run the incident on a namespace without it; nothing of "
            f"HorizontalPodAutoscaler/{body['metadata']['name']} was written."
        )


def apply_step(live: Any, step: dict[str, Any], check_mode: bool) -> list[dict[str, Any]]:
    kind = step["type"]
    if kind == "scale_to_zero":
        return set_fields(live, step["object"], {REPLICAS: 0}, check_mode)
    if kind == "patch":
        wanted = {entry["path"]: ABSENT if entry.get("absent") else entry["value"] for entry in step["set"]}
        return set_fields(live, step["object"], wanted, check_mode)
    if kind == "put":
        for body in step["objects"]:
            refuse_second_hpa(live, body)
        return [change for body in step["objects"] for change in put(live, body, check_mode)]
    raise IncidentError(f"unknown fault step type {kind!r} (known: scale_to_zero, patch, put)")


def pending(live: Any, step: dict[str, Any]) -> list[str]:
    """What of the step is not in effect yet."""
    if step["type"] == "scale_to_zero":
        left = int(get_path(current(live, step["object"]), "status.replicas") or 0)
        return [f"{object_ref(step['object'])} still counts {left} pod(s)"] if left else []
    if step["type"] == "patch":
        return not_rolled_out(live, [step["object"]])
    waiting = not_rolled_out(live, [body_ref(b) for b in step["objects"] if b["kind"] == "Deployment"])
    waiting += [
        f"HorizontalPodAutoscaler/{b['metadata']['name']} not yet looked at by the HPA controller"
        for b in step["objects"]
        if b["kind"] == "HorizontalPodAutoscaler"
        and hpa.unobserved(live.get(b["apiVersion"], b["kind"], b["metadata"]["name"]))
    ]
    for body in step["objects"]:
        if body["kind"] != "Job":
            continue
        found = live.get(body["apiVersion"], "Job", body["metadata"]["name"])
        status = (found or {}).get("status") or {}
        if not (status.get("active") or status.get("succeeded") or status.get("failed")):
            waiting.append(f"Job/{body['metadata']['name']} has no pod started")
    return waiting


def wait_in_effect(
    live: Any, step: dict[str, Any], deadline: float, clock: Callable[[], float], sleep: Callable[[float], None]
) -> list[str]:
    """Poll until the step is in effect or the deadline passes; what is still pending."""
    waiting = pending(live, step)
    while waiting and clock() < deadline:
        sleep(POLL_S)
        waiting = pending(live, step)
    return waiting


def apply(
    live: Any,
    steps: list[dict[str, Any]],
    wait_s: float,
    check_mode: bool,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    """Apply the steps in order; with wait_s, each is in effect before the next is written (a load starts once the
    patched database has rolled out), all within wait_s."""
    changes: list[dict[str, Any]] = []
    start = clock()
    written_at = iso(utc_now())
    for step in steps:
        try:
            changes += apply_step(live, step, check_mode)
        except IncidentError as exc:
            raise IncidentError(str(exc), changes=changes + exc.partial.get("changes", [])) from exc
        written_at = iso(utc_now())
        if check_mode or not wait_s:
            continue
        waiting = wait_in_effect(live, step, start + wait_s, clock, sleep)
        if waiting:
            raise IncidentError(
                f"the fault is not in effect {wait_s:g} s after it was written: {'; '.join(waiting)}. It is written "
                "and the ledger holds the prior state: run phase=recover, then look at why.",
                changes=changes,
            )
    return {
        "changed": bool(changes),
        "changes": changes,
        "written_at": written_at,
        "waited_s": round(clock() - start, 3),
    }


def restore(live: Any, objects: list[dict[str, Any]], check_mode: bool) -> dict[str, Any]:
    """Write back every ledger entry, the last step's first."""
    changes: list[dict[str, Any]] = []
    for entry in sorted(objects, key=lambda e: -int(e.get("step", 0))):
        if "whole" not in entry:
            changes += set_fields(live, entry, entry.get("fields") or {}, check_mode)
        elif entry["whole"] is None:
            changes += remove(live, entry, check_mode)
        else:
            changes += put(live, entry["whole"], check_mode)
    return {"changed": bool(changes), "changes": changes, "written_at": iso(utc_now())}


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    live = rabbitmq.routed(LiveState(connect(), params["namespace"]), check_mode)
    if params["state"] == "present":
        return apply(live, params["faults"], params["wait_s"], check_mode)
    return restore(live, params["objects"], check_mode)


def main() -> None:
    main_of(ARGUMENT_SPEC, run, required_if=REQUIRED_IF)


if __name__ == "__main__":
    main()
