#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: incident_ledger
short_description: Record, read, compare and clear the prior state an incident's fault changes
description:
  - The ledger is the ConfigMap C(sockshop-incident-<id>-ledger) in the incident's state namespace
    (I(state_namespace)), out of reach of a responder's Role in the target namespace. It holds the exact
    prior value of every field the fault changes, the container restart counts verify compares against,
    when it was written (UTC) and by whom (user@host). Because it lives in the cluster, any machine can recover.
  - A RabbitMQ policy (C(RabbitMQPolicy), a C(rabbitmq_policy) fault's object) is read from the broker's
    management API by a one-shot Job, as C(incident_fault) writes it; in check mode it is not read.
  - C(state=present) writes it before the fault, create-only; an existing ledger is never overwritten
    (a second activate reports changed=false and returns the recorded state).
  - C(state=query) returns it; C(state=diff) compares live state with it.
  - C(state=absent) clears it, but only when live state matches it (or with I(force)); the diff it checked
    is returned as the proof. With I(wait_s) it first waits until every recorded workload has rolled out at its
    recorded size (the restore's condition - observedGeneration current, all replicas updated and available).
version_added: "0.1.0"
author: sockshop-incidents contributors
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  incident_id:
    description: Incident id; names the ledger ConfigMap.
    type: str
    required: true
  namespace:
    description: Namespace of every recorded object (the incident's target namespace).
    type: str
    required: true
  state_namespace:
    description:
      - Namespace of the incident's lock and ledger. Empty means C(<namespace>-incidents).
    type: str
    default: ""
  state:
    description: What to do with the ledger.
    type: str
    choices: [present, query, diff, absent]
    default: query
  run_id:
    description: Run of the incident writing the ledger (recorded with it).
    type: str
    default: ""
  objects:
    description: With C(state=present), the objects and fields the fault changes.
    type: list
    elements: dict
    default: []
    suboptions:
      api_version:
        description: API version of the object.
        type: str
        required: true
      kind:
        description: Kind of the object.
        type: str
        required: true
      name:
        description: Name of the object.
        type: str
        required: true
      step:
        description: Position of the fault step that changes it; the restore goes through the steps in reverse.
        type: int
        default: 0
      fields:
        description:
          - JSON pointers of the fields the fault changes, such as C(/spec/replicas); a list element may be named
            C(name=<value>) and is recorded by its index. A field that does not exist is recorded as C(<absent>).
        type: list
        elements: str
        default: []
      whole:
        description:
          - Record the whole object (its spec or data, labels and annotations) instead of fields, or that it does
            not exist - for the objects a fault creates or replaces.
        type: bool
        default: false
  restart_watch:
    description: With C(state=present), Deployments whose pods' container restart counts are recorded.
    type: list
    elements: str
    default: []
  force:
    description: With C(state=absent), clear the ledger even when live state differs from it.
    type: bool
    default: false
  wait_s:
    description:
      - With C(state=absent), seconds to wait for live state to match the ledger and for every recorded workload
        to roll out at its recorded size before the proof. C(0) checks once.
      - When the time runs out the ledger is kept and the module fails naming what is still different or not ready.
    type: float
    default: 0
  release_lock:
    description:
      - With C(state=absent), also release the incident lock (C(sockshop-incident-lock)) once the ledger is cleared,
        or at once when there is no ledger (an activation interrupted before it recorded one). A lock held by another
        incident is refused, and a ledger that cannot be cleared keeps the lock too.
    type: bool
    default: false
requirements:
  - kubernetes >= 24.2.0
notes:
  - Supports check mode; it then reports what it would record or clear and writes nothing.
"""

EXAMPLES = r"""
- name: Record the gateway's replicas before scaling it to zero
  incident_ledger:
    incident_id: "6"
    namespace: sock-shop
    state: present
    run_id: "{{ run_id }}"
    objects:
      - {api_version: apps/v1, kind: Deployment, name: stripe-mock, fields: [/spec/replicas]}
    restart_watch: [payment]

- name: Wait for the restored workloads, prove recovery, clear the ledger and release the lock
  incident_ledger:
    incident_id: "6"
    namespace: sock-shop
    state: absent
    wait_s: 60
    release_lock: true
  register: cleared
"""

RETURN = r"""
exists:
  description: Whether a ledger exists (before a clear).
  returned: always
  type: bool
ledger:
  description: >-
    The ledger - incident, run_id, recorded_at (UTC), recorded_by, objects (each with its recorded fields)
    and restart_counts ({deployment: {pod: {container: count}}}).
  returned: when it exists, or would be written in check mode
  type: dict
differences:
  description: Recorded fields whose live value differs, each with object, field, ledger and live.
  returned: with state diff and absent
  type: list
  elements: dict
  sample: [{object: Deployment/stripe-mock, field: /spec/replicas, ledger: 1, live: 0}]
action:
  description: recorded, kept (already recorded), cleared, none, or would_* in check mode.
  returned: always
  type: str
lock_release:
  description: With I(release_lock), what happened to the lock - C(action) (released, free, would_release) and C(held).
  returned: with state absent and release_lock
  type: dict
  sample: {action: released, held: false}
waited_s:
  description: Seconds C(state=absent) waited for the recorded workloads before its proof.
  returned: with state absent when a ledger exists
  type: float
  sample: 2.41
"""

import time
from collections.abc import Callable
from typing import Any

from ansible.module_utils import sockshop_rabbitmq as rabbitmq
from ansible.module_utils.sockshop_cluster import ConfigMaps, LiveState
from ansible.module_utils.sockshop_incident import (
    LEDGER_KEY,
    LOCK_NAME,
    Conflict,
    IncidentError,
    LockHeld,
    describe,
    essential,
    incident_spec,
    state_namespace,
    dumps,
    get_path,
    ledger_name,
    ledger_of,
    lock_of,
    managed_labels,
    not_rolled_out,
    object_ref,
    release,
    restart_counts,
    who,
)
from ansible.module_utils.sockshop_module import Connect, iso, main_of, utc_now
from ansible.module_utils.sockshop_pointer import ABSENT, PointerError, absent_root, get, resolve

ARGUMENT_SPEC = incident_spec(
    {
        "state": {"type": "str", "choices": ["present", "query", "diff", "absent"], "default": "query"},
        "run_id": {"type": "str", "default": ""},
        "objects": {
            "type": "list",
            "elements": "dict",
            "default": [],
            "options": {
                "api_version": {"type": "str", "required": True},
                "kind": {"type": "str", "required": True},
                "name": {"type": "str", "required": True},
                "step": {"type": "int", "default": 0},
                "fields": {"type": "list", "elements": "str", "default": []},
                "whole": {"type": "bool", "default": False},
            },
        },
        "restart_watch": {"type": "list", "elements": "str", "default": []},
        "force": {"type": "bool", "default": False},
        "wait_s": {"type": "float", "default": 0},
        "release_lock": {"type": "bool", "default": False},
    }
)
REQUIRED_IF = [("state", "present", ("objects", "run_id"))]

POLL_S = 0.05  # between two looks at the restored rollout: the recovery's measured time ends at the first that holds


def snapshot(live: Any, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The current value of every listed field, or the whole object; a missing object whose fields a fault changes
    is a refusal (nothing to record)."""
    recorded = []
    for spec in objects:
        entry = {key: spec[key] for key in ("api_version", "kind", "name")}
        entry["step"] = spec.get("step") or 0
        current = live.get(spec["api_version"], spec["kind"], spec["name"])
        if spec.get("whole"):
            entry["whole"] = None if current is None else essential(current)
        elif current is None:
            raise IncidentError(
                f"cannot record {object_ref(spec)} in namespace {live.namespace}: it does not exist. "
                "Provision the environment first (ansible-playbook playbooks/provision.yml). Nothing was changed."
            )
        else:
            try:
                paths = [resolve(current, field) for field in spec["fields"]]
            except PointerError as exc:
                raise IncidentError(
                    f"cannot record {object_ref(spec)}: {exc}. Correct the pointer in the incident file. "
                    "Nothing was changed."
                ) from exc
            entry["fields"] = {}
            for path in paths:
                value = get(current, path)
                entry["fields"][absent_root(current, path) if value == ABSENT else path] = value
        recorded.append(entry)
    return recorded


def restarts_of(live: Any, deployments: list[str]) -> dict[str, dict[str, dict[str, int]]]:
    counts = {}
    for name in deployments:
        deployment = live.get("apps/v1", "Deployment", name)
        counts[name] = restart_counts(live.pods_of(deployment)) if deployment else {}
    return counts


def build_ledger(
    *,
    incident_id: str,
    run_id: str,
    namespace: str,
    objects: list[dict[str, Any]],
    restarts: dict[str, Any],
    by: str,
    now: str,
) -> dict[str, Any]:
    return {
        "incident": incident_id,
        "run_id": run_id,
        "namespace": namespace,
        "recorded_at": now,
        "recorded_by": by,
        "objects": objects,
        "restart_counts": restarts,
    }


def differences(ledger: dict[str, Any], live: Any) -> list[dict[str, Any]]:
    """Every recorded field whose live value is not the recorded one, and every recorded object not as it was."""
    found = []
    for recorded in ledger["objects"]:
        current = live.get(recorded["api_version"], recorded["kind"], recorded["name"])
        if "whole" in recorded:
            was, now = recorded["whole"], current and essential(current)
            deleting = current is not None and get_path(current, "metadata.deletionTimestamp")
            if now != was or deleting:
                seen = "(deleting)" if deleting else ("(present)" if was is None else "(changed)")
                found.append(
                    {
                        "object": object_ref(recorded),
                        "field": "",
                        "ledger": ABSENT if was is None else "(as recorded)",
                        "live": ABSENT if current is None else seen,
                    }
                )
            continue
        for field, value in sorted(recorded["fields"].items()):
            now = ABSENT if current is None else get(current, field)
            if now != value:
                found.append({"object": object_ref(recorded), "field": field, "ledger": value, "live": now})
    return found


def ledger_body(namespace: str, incident_id: str, ledger: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": ledger_name(incident_id),
            "namespace": namespace,
            "labels": managed_labels(incident_id, "ledger"),
        },
        "data": {LEDGER_KEY: dumps(ledger)},
    }


def record(store: Any, live: Any, params: dict[str, Any], check_mode: bool, *, by: str, now: str) -> dict[str, Any]:
    incident_id = params["incident_id"]
    existing = ledger_of(store.get(ledger_name(incident_id)))
    if existing is not None:
        return {"changed": False, "action": "kept", "exists": True, "ledger": existing}
    ledger = build_ledger(
        incident_id=incident_id,
        run_id=params["run_id"],
        namespace=live.namespace,
        objects=snapshot(live, params["objects"]),
        restarts=restarts_of(live, params["restart_watch"]),
        by=by,
        now=now,
    )
    if check_mode:
        return {"changed": True, "action": "would_record", "exists": False, "ledger": ledger}
    store.ensure_namespace()
    try:
        store.create(ledger_body(store.namespace, incident_id, ledger))
    except Conflict:  # another run recorded first: theirs is the prior state
        theirs = ledger_of(store.get(ledger_name(incident_id)))
        return {"changed": False, "action": "kept", "exists": True, "ledger": theirs}
    return {"changed": True, "action": "recorded", "exists": True, "ledger": ledger}


def compare(store: Any, live: Any, incident_id: str) -> dict[str, Any]:
    ledger = ledger_of(store.get(ledger_name(incident_id)))
    if ledger is None:
        return {"changed": False, "action": "none", "exists": False, "differences": []}
    return {
        "changed": False,
        "action": "none",
        "exists": True,
        "ledger": ledger,
        "differences": differences(ledger, live),
    }


def rolled_out_objects(ledger: dict[str, Any]) -> list[dict[str, Any]]:
    """The recorded objects whose fields the restore wrote back: the ones whose rollout the clear waits for."""
    return [entry for entry in ledger["objects"] if "whole" not in entry]


def clear(
    store: Any,
    live: Any,
    incident_id: str,
    force: bool,
    check_mode: bool,
    *,
    wait_s: float = 0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> dict[str, Any]:
    result = compare(store, live, incident_id)
    if not result["exists"]:
        return result
    if check_mode:  # the plan: recovery restores first, so differences now are what it would undo
        return dict(result, changed=True, action="would_clear")
    start = clock()
    waiting = not_rolled_out(live, rolled_out_objects(result["ledger"]))
    while (result["differences"] or waiting) and clock() - start < wait_s:
        sleep(POLL_S)
        result = compare(store, live, incident_id)
        if not result["exists"]:
            return result  # another run cleared it meanwhile
        waiting = not_rolled_out(live, rolled_out_objects(result["ledger"]))
    result["waited_s"] = round(clock() - start, 3)
    if (result["differences"] or waiting) and not force:
        listed = "; ".join(
            [f"{d['object']} {d['field']}: ledger {d['ledger']}, live {d['live']}" for d in result["differences"]]
            + [f"{entry} (rollout not finished)" for entry in waiting]
        )
        raise IncidentError(
            f"not clearing the ledger {ledger_name(incident_id)}: live state differs from it ({listed})"
            f"{f' after waiting {wait_s:g} s' if wait_s else ''}. Run phase=recover to restore it, or clear with "
            "force=true once you have restored it by other means."
        )
    store.delete(ledger_name(incident_id))
    return dict(result, changed=True, action="cleared")


def decide(store: Any, live: Any, params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    state = params["state"]
    if state == "present":
        return record(store, live, params, check_mode, by=who(), now=iso(utc_now()))
    if state == "absent":
        holder = lock_of(store.get(LOCK_NAME)) if params.get("release_lock") else None
        if holder and holder["incident"] != params["incident_id"]:
            raise LockHeld(
                holder,
                f"not clearing the ledger of incident {params['incident_id']} nor releasing the incident lock: "
                f"the lock is held by {describe(holder)}. Recover incident {holder['incident']} instead.",
            )
        result = clear(
            store, live, params["incident_id"], params["force"], check_mode, wait_s=params.get("wait_s") or 0
        )
        if params.get("release_lock"):
            released = release(store, params["incident_id"], check_mode)
            result = dict(result, changed=result["changed"] or released["changed"])
            result["lock_release"] = {"action": released["action"], "held": released["held"]}
        return result
    result = compare(store, live, params["incident_id"])
    if state == "query":
        result.pop("differences")
    return result


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    client, namespace = connect(), params["namespace"]
    live = rabbitmq.routed(LiveState(client, namespace), check_mode)
    return decide(ConfigMaps(client, state_namespace(params)), live, params, check_mode)


def main() -> None:
    main_of(ARGUMENT_SPEC, run, required_if=REQUIRED_IF)


if __name__ == "__main__":
    main()
