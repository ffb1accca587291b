#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: namespace_snapshot
short_description: Record every object of a namespace, prove later that the namespace is as it was, and put it back
description:
  - The ledger holds only the fields a fault changes. This module is the wider proof of an exact recovery - a
    baseline of every object in the namespace, taken before an incident, compared with the live namespace after it.
    Responder mode uses it to find what a responder changed beyond the fault (collateral) and to put it back.
  - The snapshot holds every object's spec (replicas, images, env, resources...), data, labels and annotations,
    the replica counts and phase from its status, and every pod with its readiness and container restart counts.
    Bookkeeping is left out - resourceVersion, generation, managedFields, timestamps, controller annotations
    (C(deployment.kubernetes.io/*), C(last-applied-configuration)), Events, EndpointSlices and the pod addresses
    of Endpoints. Secret values are kept only as a digest, so the baseline never holds a secret.
  - The baseline is a JSON file on the machine that runs the module (I(path)), or a ConfigMap in the cluster
    (I(configmap) in I(configmap_namespace), gzip-compressed under C(binaryData)), where a responder's Role in the
    target namespace does not reach it. The ConfigMap's namespace is created when it is not there.
  - C(state=present) records the baseline, unless one is there already (then nothing changes, so a second run
    reports changed=false); I(force) takes a new one.
  - C(state=diff) compares the live namespace with the baseline and returns every difference. Pods of the
    I(faulted) workloads may have been replaced or restarted by the incident (their count, spec and readiness
    must still match); a pod of any other workload that was replaced or restarted is a difference, unless
    I(replaceable_pods) (a pod replaced by an identical one is then no difference).
  - C(state=restore) puts back every Deployment, StatefulSet, DaemonSet, Service, ConfigMap and HPA that differs
    from the baseline (spec or data, labels, annotations) - changed ones are replaced, deleted ones created again,
    new ones deleted. Pods follow their workloads; other kinds are only reported by C(state=diff).
  - C(state=absent) deletes the baseline.
version_added: "0.1.0"
author: sockshop-incidents contributors
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: Namespace to record, compare or restore.
    type: str
    required: true
  path:
    description: File of the baseline (JSON). One of I(path) and I(configmap) is required.
    type: path
  configmap:
    description: Name of the ConfigMap holding the baseline, in I(configmap_namespace).
    type: str
  configmap_namespace:
    description: Namespace of I(configmap), such as the incident's state namespace; required with I(configmap).
    type: str
  state:
    description: Record the baseline, compare the live namespace with it, restore the namespace to it, or delete it.
    type: str
    choices: [present, diff, restore, absent]
    default: present
  faulted:
    description:
      - With C(state=diff), workloads (C(Kind/name), such as C(Deployment/stripe-mock)) whose pods the incident
        replaces or restarts on purpose.
    type: list
    elements: str
    default: []
  replaceable_pods:
    description: With C(state=diff), a pod of any workload replaced by an identical one is no difference.
    type: bool
    default: false
  force:
    description: With C(state=present), replace a baseline that is already there.
    type: bool
    default: false
  wait_s:
    description:
      - With C(state=restore), seconds to wait until the namespace compares equal to the baseline (as C(state=diff)
        with I(faulted) and I(replaceable_pods)), so the workloads put back have rolled out. The differences left when
        it runs out are returned; C(0) compares once.
    type: float
    default: 0
requirements:
  - kubernetes >= 24.2.0
notes:
  - Supports check mode; C(state=present), C(restore) and C(absent) then report what they would do and write nothing.
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

- name: Keep a baseline in the cluster, out of a responder's reach
  namespace_snapshot:
    namespace: sock-shop
    configmap: sockshop-incident-6-baseline
    configmap_namespace: sock-shop-incidents

- name: Put back whatever a responder changed
  namespace_snapshot:
    namespace: sock-shop
    configmap: sockshop-incident-6-baseline
    configmap_namespace: sock-shop-incidents
    state: restore
"""

RETURN = r"""
action:
  description: recorded, kept (a baseline was there already), would_record (check mode), compared, restored,
    would_restore, deleted, would_delete or absent.
  returned: always
  type: str
objects:
  description: How many objects and pods the snapshot holds.
  returned: with state present, diff and restore
  type: dict
  sample: {objects: 75, pods: 15}
taken_at:
  description: When the baseline was taken (UTC).
  returned: with state present, diff and restore
  type: str
differences:
  description:
    - Every difference between the baseline and the live namespace, each with object, field, before, after.
    - With C(state=restore), the differences left after the revert and its wait (empty when the namespace is back).
  returned: with state diff and restore
  type: list
  elements: dict
  sample: [{object: Deployment/stripe-mock, field: spec.replicas, before: 1, after: 0}]
summary:
  description: The differences as one line a person reads, or C(no differences).
  returned: with state diff and restore
  type: str
reverted:
  description: What C(state=restore) replaced, created or deleted (or would, in check mode), as C(action Kind/name).
  returned: with state restore
  type: list
  elements: str
  sample: [replace Deployment/payment]
"""

import base64
import gzip
import json
import os
import time
from typing import Any

from ansible.module_utils.sockshop_cluster import ConfigMaps
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
from ansible.module_utils.sockshop_snapshot import compare, describe, revert_plan, reverted, take

ARGUMENT_SPEC = cluster_spec(
    NAMESPACE_SPEC,
    {
        "path": {"type": "path"},
        "configmap": {"type": "str"},
        "configmap_namespace": {"type": "str"},
        "state": {"type": "str", "choices": ["present", "diff", "restore", "absent"], "default": "present"},
        "faulted": {"type": "list", "elements": "str", "default": []},
        "replaceable_pods": {"type": "bool", "default": False},
        "force": {"type": "bool", "default": False},
        "wait_s": {"type": "float", "default": 0},
    },
)
POLL_S = 0.2
BASELINE_KEY = "baseline.json.gz"


def counts(snapshot: dict[str, Any]) -> dict[str, int]:
    return {"objects": len(snapshot["objects"]), "pods": len(snapshot["pods"])}


def parsed(text: str | bytes, where: str) -> dict[str, Any]:
    try:
        snapshot = json.loads(text)
    except ValueError as exc:
        raise IncidentError(
            f"cannot read the baseline {where}: {exc}. Take it again with state=present force=true."
        ) from exc
    if not isinstance(snapshot, dict) or not {"objects", "pods", "namespace"} <= snapshot.keys():
        raise IncidentError(f"{where} is not a namespace baseline. Take it again with state=present force=true.")
    return snapshot


class FileBaseline:
    """The baseline as a JSON file on the machine that runs the module."""

    def __init__(self, path: str) -> None:
        self.where = path

    def load(self) -> dict[str, Any] | None:
        try:
            with open(self.where, encoding="utf-8") as handle:
                return parsed(handle.read(), self.where)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise IncidentError(f"cannot read the baseline {self.where}: {exc}.") from exc

    def save(self, snapshot: dict[str, Any]) -> None:
        write_atomic(self.where, json.dumps(snapshot, indent=1, sort_keys=True))

    def delete(self) -> bool:
        try:
            os.remove(self.where)
        except FileNotFoundError:
            return False
        return True


class ConfigMapBaseline:
    """The baseline as a ConfigMap (gzip JSON under binaryData), out of reach of a Role in the target namespace."""

    def __init__(self, store: Any, name: str) -> None:
        self.store, self.name = store, name
        self.where = f"ConfigMap {store.namespace}/{name}"

    def load(self) -> dict[str, Any] | None:
        found = self.store.get(self.name)
        if found is None:
            return None
        packed = (found.get("binaryData") or {}).get(BASELINE_KEY)
        if not packed:
            raise IncidentError(f"{self.where} has no {BASELINE_KEY}. Take the baseline again with force=true.")
        return parsed(gzip.decompress(base64.b64decode(packed)), self.where)

    def save(self, snapshot: dict[str, Any]) -> None:
        packed = base64.b64encode(gzip.compress(json.dumps(snapshot, sort_keys=True).encode(), mtime=0)).decode()
        labels = {"app.kubernetes.io/managed-by": "sockshop-incidents", "sockshop.io/role": "baseline"}
        body: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": self.name, "namespace": self.store.namespace, "labels": labels},
            "binaryData": {BASELINE_KEY: packed},
        }
        self.store.ensure_namespace()
        found = self.store.get(self.name)
        if found is None:
            self.store.create(body)
        else:
            body["metadata"]["resourceVersion"] = found["metadata"]["resourceVersion"]
            self.store.replace(body)

    def delete(self) -> bool:
        if self.store.get(self.name) is None:
            return False
        self.store.delete(self.name)
        return True


def record(live: Any, baseline: Any, params: dict[str, Any], check_mode: bool, now: str) -> dict[str, Any]:
    existing = None if params["force"] else baseline.load()
    if existing is not None:
        if existing["namespace"] != params["namespace"]:
            raise IncidentError(
                f"{baseline.where} holds the baseline of namespace {existing['namespace']}, not {params['namespace']}. "
                "Use another one, or force=true to replace it."
            )
        return {"changed": False, "action": "kept", "objects": counts(existing), "taken_at": existing["taken_at"]}
    snapshot = live(now)
    if not check_mode:
        baseline.save(snapshot)
    action = "would_record" if check_mode else "recorded"
    return {"changed": True, "action": action, "objects": counts(snapshot), "taken_at": snapshot["taken_at"]}


def recorded(baseline: Any, params: dict[str, Any]) -> dict[str, Any]:
    found = baseline.load()
    if found is None:
        raise IncidentError(f"no baseline at {baseline.where}: record one with state=present before the incident.")
    if found["namespace"] != params["namespace"]:
        raise IncidentError(
            f"{baseline.where} is the baseline of namespace {found['namespace']}, not {params['namespace']}."
        )
    return found


def diff(live: Any, baseline: Any, params: dict[str, Any], now: str) -> dict[str, Any]:
    before = recorded(baseline, params)
    current = live(now)
    found = compare(before, current, params["faulted"], replaceable=params["replaceable_pods"])
    return {
        "changed": False,
        "action": "compared",
        "objects": counts(current),
        "taken_at": before["taken_at"],
        "differences": found,
        "summary": describe(found) or "no differences",
    }


def restore(
    live: Any, baseline: Any, writer: Any, params: dict[str, Any], check_mode: bool, *, clock: Any
) -> dict[str, Any]:
    """`writer(step)` carries out one step of the revert plan (see sockshop_snapshot.revert_plan); then the namespace
    is compared with the baseline until it is equal or wait_s runs out. `clock` is (now, monotonic, sleep)."""
    now, monotonic, sleep = clock
    before = recorded(baseline, params)
    current = live(now())
    plan = revert_plan(before, current)
    for step in plan:
        if not check_mode:
            writer(step)
    start = monotonic()
    while True:
        if plan and not check_mode:
            current = live(now())
        found = compare(before, current, params["faulted"], replaceable=params["replaceable_pods"])
        if not found or check_mode or monotonic() - start >= params["wait_s"]:
            break
        sleep(POLL_S)
    done = [f"{step['action']} {step['kind']}/{step['name']}" for step in plan]
    action = ("would_restore" if check_mode else "restored") if plan else "compared"
    return {
        "changed": bool(plan),
        "action": action,
        "objects": counts(before),
        "taken_at": before["taken_at"],
        "reverted": done,
        "differences": found,
        "summary": describe(found) or "no differences",
        "waited_s": round(monotonic() - start, 3),
    }


def forget(baseline: Any, check_mode: bool) -> dict[str, Any]:
    if check_mode:
        there = baseline.load() is not None
        return {"changed": there, "action": "would_delete" if there else "absent"}
    gone = baseline.delete()
    return {"changed": gone, "action": "deleted" if gone else "absent"}


def decide(
    live: Any, baseline: Any, params: dict[str, Any], check_mode: bool, *, writer: Any = None, clock: Any = None
) -> dict[str, Any]:
    """`live(now)` takes a snapshot of the live namespace; `baseline` loads, saves and deletes the recorded one."""
    now = iso(utc_now())
    state = params["state"]
    if state == "present":
        return record(live, baseline, params, check_mode, now)
    if state == "diff":
        return diff(live, baseline, params, now)
    if state == "restore":
        return restore(
            live,
            baseline,
            writer,
            params,
            check_mode,
            clock=clock or (lambda: iso(utc_now()), time.monotonic, time.sleep),
        )
    return forget(baseline, check_mode)


def revert_with(client: Any, namespace: str) -> Any:
    """One revert step through the dynamic client."""

    def write(step: dict[str, Any]) -> None:
        resource = client.resource(step["kind"], step["api_version"])
        if step["action"] == "delete":
            resource.delete(name=step["name"], namespace=namespace)
            return
        live = None
        if step["action"] == "replace":
            live = resource.get(name=step["name"], namespace=namespace).to_dict()
        body = reverted(live, step["state"], namespace, step)
        if live is None:
            resource.create(body=body, namespace=namespace)
        else:
            resource.replace(body=body, namespace=namespace)

    return write


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    if bool(params["path"]) == bool(params["configmap"]):
        raise IncidentError("give the baseline's place: either path (a file) or configmap (with configmap_namespace).")
    if params["configmap"] and not params["configmap_namespace"]:
        raise IncidentError("configmap needs configmap_namespace: the namespace that holds the baseline.")
    baseline: Any
    if params["path"]:
        baseline = FileBaseline(params["path"])
    else:
        baseline = ConfigMapBaseline(ConfigMaps(connect(), params["configmap_namespace"]), params["configmap"])
    return decide(
        lambda now: take(connect(), params["namespace"], now),
        baseline,
        params,
        check_mode,
        writer=revert_with(connect(), params["namespace"]) if params["state"] == "restore" else None,
    )


def main() -> None:
    main_of(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
