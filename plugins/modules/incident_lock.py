#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: incident_lock
short_description: Take, inspect or release the one-incident-at-a-time lock of a namespace
description:
  - The lock is the ConfigMap C(sockshop-incident-lock) in the incident's state namespace (I(state_namespace),
    by default C(<namespace>-incidents), made on first use), out of reach of a responder's Role in the target
    namespace. It is created with
    create-if-absent semantics (a POST; HTTP 409 means someone holds it), so two activations can never
    overlap, even from two machines.
  - It records the incident, the run, who took it (user@host) and since when (UTC), and once the fault is
    in place, when the incident was activated.
  - C(state=present) acquires the lock. It is a no-op when this incident and run already hold it, or when
    this incident holds it with a completed activation (a repeated activate joins that run). It fails,
    naming the holder, when another incident holds it or another run of this incident is still activating.
  - C(state=absent) releases the lock only when the given incident holds it.
version_added: "0.1.0"
author: sockshop-incidents contributors
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  incident_id:
    description: Incident id taking or releasing the lock.
    type: str
    required: true
  namespace:
    description: The incident's target namespace; one incident at a time may be active in it.
    type: str
    required: true
  state_namespace:
    description:
      - Namespace holding the lock and the ledger. Empty means C(<namespace>-incidents). Acquiring the lock
        creates it when it is not there.
    type: str
    default: ""
  state:
    description:
      - C(present) acquires, C(absent) releases, C(query) only reads.
    type: str
    choices: [present, absent, query]
    default: present
  run_id:
    description:
      - Identifies this run of the incident. Required with C(state=present).
    type: str
    default: ""
  activated:
    description:
      - With C(state=present), also record that the fault is in place (activation time, UTC), once.
    type: bool
    default: false
  with_ledger:
    description:
      - With C(state=query), also read the incident's ledger (C(sockshop-incident-<id>-ledger)), as recover needs both.
    type: bool
    default: false
requirements:
  - kubernetes >= 24.2.0
notes:
  - Supports check mode; it then reports what it would do and writes nothing.
"""

EXAMPLES = r"""
- name: Take the incident lock
  incident_lock:
    incident_id: "6"
    namespace: sock-shop
    run_id: "{{ run_id }}"
    kubeconfig: .cluster/kubeconfig
    context: local-sockshop
  register: lock

- name: Release it
  incident_lock:
    incident_id: "6"
    namespace: sock-shop
    state: absent
"""

RETURN = r"""
action:
  description: >-
    What happened - acquired, held (already ours), adopted (joined the active run of this incident),
    marked_activated, released, free (nothing held), or would_* in check mode.
  returned: always
  type: str
  sample: acquired
held:
  description: Whether the lock is held after the call (or would be, in check mode).
  returned: always
  type: bool
lock:
  description: The lock holder - incident, run_id, holder (user@host), since (UTC), activated_at (UTC or empty).
  returned: when held
  type: dict
  sample:
    incident: "6"
    run_id: 20261123T082446Z-1234
    holder: ops@laptop
    since: "2026-11-23T08:24:46.120Z"
    activated_at: ""
ledger:
  description: With I(with_ledger), whether the incident's ledger exists (C(exists)) and the ledger itself (C(ledger)).
  returned: with state query and with_ledger
  type: dict
"""

from typing import Any

from ansible.module_utils.sockshop_cluster import ConfigMaps
from ansible.module_utils.sockshop_incident import (
    LOCK_NAME,
    Conflict,
    IncidentError,
    LockHeld,
    describe,
    incident_spec,
    ledger_name,
    ledger_of,
    lock_of,
    managed_labels,
    release,
    state_namespace,
    who,
)
from ansible.module_utils.sockshop_module import Connect, iso, main_of, utc_now

ARGUMENT_SPEC = incident_spec(
    {
        "state": {"type": "str", "choices": ["present", "absent", "query"], "default": "present"},
        "run_id": {"type": "str", "default": ""},
        "activated": {"type": "bool", "default": False},
        "with_ledger": {"type": "bool", "default": False},
    }
)


def lock_body(namespace: str, lock: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": LOCK_NAME, "namespace": namespace, "labels": managed_labels(lock["incident"], "lock")},
        "data": dict(lock),
    }


def acquire(
    store: Any, incident_id: str, run_id: str, *, holder: str, now: str, check_mode: bool, mark_activated: bool
) -> dict[str, Any]:
    """Take the lock for incident_id/run_id, or join the completed activation of the same incident."""
    if not run_id:
        raise IncidentError("run_id is required to take the incident lock")
    current = store.get(LOCK_NAME)
    changed, action = False, ""
    if current is None:
        wanted = {"incident": incident_id, "run_id": run_id, "holder": holder, "since": now, "activated_at": ""}
        if check_mode:
            current = lock_body(store.namespace, wanted)
            changed, action = True, "would_acquire"
        else:
            store.ensure_namespace()
            try:
                current = store.create(lock_body(store.namespace, wanted))
                changed, action = True, "acquired"
            except Conflict:
                current = store.get(LOCK_NAME)  # lost a race: judge the winner below
                if current is None:
                    raise IncidentError(
                        "the incident lock appeared and vanished at once; run the phase again"
                    ) from None
    lock = lock_of(current)
    assert lock is not None
    if not action:
        if lock["incident"] != incident_id:
            raise LockHeld(
                lock,
                f"the incident lock {LOCK_NAME} in namespace {store.namespace} is held by {describe(lock)}. "
                f"Only one incident may be active at a time: recover incident {lock['incident']} first "
                f"(ansible-playbook playbooks/incident-{lock['incident']}.yml -e phase=recover). Nothing was changed.",
            )
        if lock["run_id"] == run_id:
            action = "held"
        elif lock["activated_at"]:
            action = "adopted"
        else:
            raise LockHeld(
                lock,
                f"incident {incident_id} is being activated by another run: the lock {LOCK_NAME} in namespace "
                f"{store.namespace} is held by {describe(lock)} and the activation has not completed. Wait for it, or "
                f"if that run died, run phase=recover (it restores from the ledger). Nothing was changed.",
            )
    if mark_activated and not lock["activated_at"]:
        if check_mode:
            changed, action = True, "would_mark_activated"
        else:
            body = dict(current, data=dict(current.get("data") or {}, activated_at=now))
            try:
                current = store.replace(body)
            except Conflict:
                current = store.get(LOCK_NAME)
                if lock_of(current) is None or not lock_of(current)["activated_at"]:
                    raise IncidentError(
                        "the incident lock changed while marking the activation; run activate again"
                    ) from None
            changed, action = True, "marked_activated"
        lock = lock_of(current) if not check_mode else dict(lock, activated_at=now)
    return {"changed": changed, "action": action, "held": True, "lock": lock}


def query(store: Any, ledger_of_incident: str = "") -> dict[str, Any]:
    lock = lock_of(store.get(LOCK_NAME))
    result: dict[str, Any] = {"changed": False, "action": "free" if lock is None else "held", "held": lock is not None}
    if lock is not None:
        result["lock"] = lock
    if ledger_of_incident:  # recover reads both in one call
        ledger = ledger_of(store.get(ledger_name(ledger_of_incident)))
        result["ledger"] = {"exists": ledger is not None, **({"ledger": ledger} if ledger is not None else {})}
    return result


def decide(store: Any, params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    if params["state"] == "query":
        return query(store, params["incident_id"] if params["with_ledger"] else "")
    if params["state"] == "absent":
        return release(store, params["incident_id"], check_mode)
    return acquire(
        store,
        params["incident_id"],
        params["run_id"],
        holder=who(),
        now=iso(utc_now()),
        check_mode=check_mode,
        mark_activated=params["activated"],
    )


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    return decide(ConfigMaps(connect(), state_namespace(params)), params, check_mode)


def main() -> None:
    main_of(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
