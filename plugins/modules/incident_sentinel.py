#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: incident_sentinel
short_description: Start, read and stop the sentinel that records when an incident's service comes back
description:
  - >-
    In responder mode a person or an agent works on the incident. The sentinel is what tells, afterwards, when
    they mitigated it - a pod in the incident's state namespace I(namespace) (which the responder's Role does not
    reach, so they can neither read nor change what it records) that probes one recovery check of the incident
    every I(interval_s) and prints one JSON line per sample to its log -
    C({"at": "<UTC, ms>", "ok": true, "status": 200, "latency_s": 0.012, "detail": "<short reason>"}).
  - C(state=present) creates (or replaces, when the check or the options differ) a ConfigMap
    C(sockshop-incident-<id>-sentinel) holding the probe script (Python 3, standard library only) and a Deployment
    of the same name (1 replica, image C(python:3.12-slim), the ConfigMap mounted at C(/sentinel)), then waits
    until its pod runs and has logged a sample. A second run with the same check changes nothing.
  - "The check is one C(recovery.confirm) entry of an incident file, C({name, kind, within_s, check}). Kind
    C(probe): a payment authorisation, C(POST /paymentAuth) with C({\"amount\": <amount>}) to the Service, a
    success when it answers HTTP 200 with C(authorised) as in C(expect.authorised) (true), and, when given, a
    message containing C(expect.message_contains) and a latency within C(expect.max_latency_s) /
    C(expect.min_latency_s). Kind C(http): a C(GET) (or C(POST)) of C(path), a success when the status is one of
    C(status) (any answer without it), the latency meets C(latency_s) ({op, value}) and the body contains
    C(body_contains). The Service is reached by its cluster DNS name C(<service>.<target_namespace>.svc), port
    C(port) (80)."
  - C(state=read) reads the sentinel pods' logs (a restarted container's previous log too) and returns the
    samples' counts, when the service came back (the first of I(consecutive) successes in a row at or after
    I(since)) and the time to mitigate from I(since). It never changes anything and runs in check mode too.
  - C(state=absent) deletes the Deployment and the ConfigMap and waits until the sentinel's pods are gone.
version_added: "0.1.0"
author: sockshop-incidents contributors
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  incident_id:
    description: The incident's id (C(6), C(6B)); it names the sentinel's objects and labels them.
    type: str
    required: true
  namespace:
    description:
      - Where the sentinel runs - the incident's state namespace, out of the responder's reach. It must exist;
        the module creates nothing but the sentinel's ConfigMap and Deployment.
    type: str
    required: true
  target_namespace:
    description: Namespace of the Service the check probes (the incident's target namespace).
    type: str
    required: true
  state:
    description: Start the sentinel (C(present)), stop it (C(absent)) or read what it recorded (C(read)).
    type: str
    choices: [present, absent, read]
    default: present
  check:
    description:
      - With C(state=present), required - one C(recovery.confirm) entry of the incident file, exactly as written
        there - C(name), C(kind) (C(probe) or C(http)), C(within_s) and C(check).
    type: dict
  interval_s:
    description: Seconds between the starts of two samples (a sample slower than this is followed at once).
    type: float
    default: 1.0
  timeout_s:
    description:
      - Seconds one request may take; a request that takes longer is a failed sample (C(timeout)).
      - It applies to every request; the check's own C(timeout_s) and C(within_s) are not used by the sentinel.
    type: float
    default: 2.0
  consecutive:
    description:
      - With C(state=read), how many successful samples in a row count as mitigated.
    type: int
    default: 3
  since:
    description:
      - With C(state=read), the moment the time to mitigate counts from (the activation), ISO-8601 UTC such as
        C(2026-11-23T08:24:46.000Z). Samples before it neither start nor break a run of successes. Without it,
        every sample counts and C(ttm_s) is null.
    type: str
  wait_s:
    description:
      - Seconds C(state=present) waits for the first sample, and C(state=absent) for the pods to be gone.
    type: float
    default: 60
requirements:
  - kubernetes >= 24.2.0
notes:
  - Supports check mode - C(present) and C(absent) read what is there, write nothing and say what they would do;
    C(read) reads as always.
  - The pod needs no API access (no service account token is mounted) and reaches the Service as any pod does;
    on a cluster whose NetworkPolicies isolate the target namespace, allow the state namespace in.
  - The samples are the pod's log - a Deployment or pod deleted by hand takes them with it; so does the
    kubelet's log rotation after some hours (about 200 bytes a sample).
"""

EXAMPLES = r"""
- name: Start the sentinel on INCIDENT-6's recovery check (payments authorised again)
  incident_sentinel:
    incident_id: "6"
    namespace: sock-shop-incidents
    target_namespace: sock-shop
    check: "{{ incident.recovery.confirm[0] }}"
  register: sentinel

- name: Read when the responder mitigated it
  incident_sentinel:
    incident_id: "6"
    namespace: sock-shop-incidents
    target_namespace: sock-shop
    state: read
    since: "{{ activated_at }}"
    consecutive: 3
  register: samples

- name: Show the time to mitigate
  ansible.builtin.debug:
    msg: "{{ 'mitigated after %s s' % samples.ttm_s if samples.ttm_s is not none else 'not mitigated' }}"

- name: Stop the sentinel
  incident_sentinel:
    incident_id: "6"
    namespace: sock-shop-incidents
    target_namespace: sock-shop
    state: absent
"""

RETURN = r"""
name:
  description: Name of the sentinel's ConfigMap and Deployment.
  returned: always
  type: str
  sample: sockshop-incident-6-sentinel
objects:
  description: What was created or replaced (present) or deleted (absent), as Kind/name; in check mode, what would be.
  returned: with state present or absent
  type: list
  elements: str
  sample: [ConfigMap/sockshop-incident-6-sentinel, Deployment/sockshop-incident-6-sentinel]
first_sample:
  description: The first sample the sentinel's pod logged (null in check mode).
  returned: with state present
  type: dict
  sample: {at: "2026-11-23T08:24:47.012Z", ok: false, status: 200, latency_s: 0.011,
           detail: "authorised=false: Payment gateway error: ... connection refused"}
samples:
  description: How many samples the sentinel's logs hold.
  returned: with state read
  type: int
  sample: 94
successes:
  description: How many of them were successes.
  returned: with state read
  type: int
failures:
  description: How many of them were failures (not C(failed), which Ansible reads as the task's own outcome).
  returned: with state read
  type: int
first_at:
  description: Time of the first sample (null when there is none).
  returned: with state read
  type: str
last_at:
  description: Time of the last sample (null when there is none).
  returned: with state read
  type: str
mitigated_at:
  description:
    - Time of the first sample of the first run of I(consecutive) successes at or after I(since); null when the
      service has not come back.
  returned: with state read
  type: str
  sample: "2026-11-23T08:26:12.004Z"
ttm_s:
  description: Time to mitigate, I(mitigated_at) - I(since) in seconds, rounded to 0.1; null when not mitigated.
  returned: with state read
  type: float
  sample: 85.9
last:
  description: The last sample (null when there is none).
  returned: with state read
  type: dict
"""

import time
from collections.abc import Callable
from typing import Any

from ansible.module_utils.sockshop_cluster import LiveState
from ansible.module_utils.sockshop_incident import IncidentError, get_path, selector_string
from ansible.module_utils.sockshop_module import Connect, cluster_spec, main_of
from ansible.module_utils.sockshop_sentinel import (
    DIGEST,
    SentinelError,
    differs,
    manifests,
    merge,
    parse_time,
    selector,
    sentinel_name,
    summarize,
)

ARGUMENT_SPEC = cluster_spec(
    {
        "incident_id": {"type": "str", "required": True},
        "namespace": {"type": "str", "required": True},
        "target_namespace": {"type": "str", "required": True},
        "state": {"type": "str", "choices": ["present", "absent", "read"], "default": "present"},
        "check": {"type": "dict"},
        "interval_s": {"type": "float", "default": 1.0},
        "timeout_s": {"type": "float", "default": 2.0},
        "consecutive": {"type": "int", "default": 3},
        "since": {"type": "str"},
        "wait_s": {"type": "float", "default": 60},
    }
)
REQUIRED_IF = [("state", "present", ["check"])]
POLL_S = 0.2
# A pod that waits for one of these will not start by itself: say so at once rather than at the end of wait_s.
STUCK = ("ErrImagePull", "ImagePullBackOff", "InvalidImageName", "CreateContainerConfigError", "CrashLoopBackOff")
Clock = Callable[[], float]
Sleep = Callable[[float], None]


def refused(exc: SentinelError) -> IncidentError:
    return IncidentError(f"{exc}. Nothing was changed.")


def all_pods(client: Any, namespace: str, incident_id: str) -> list[dict[str, Any]]:
    """The sentinel's pods, those being deleted too."""
    found = client.resource("Pod", "v1").get(namespace=namespace, label_selector=selector_string(selector(incident_id)))
    return list(found.to_dict().get("items", []))


def pod_state(pod: dict[str, Any]) -> tuple[str, str]:
    """(phase or the reason its container waits, what the kubelet says about it)."""
    for status in get_path(pod, "status.containerStatuses") or []:
        waiting = get_path(status, "state.waiting")
        if waiting and waiting.get("reason"):
            return str(waiting["reason"]), str(waiting.get("message") or "")
    return str(get_path(pod, "status.phase") or "Pending"), ""


def logs_of(client: Any, live: LiveState, pod: dict[str, Any]) -> list[str]:
    """The pod's log, and its previous container's when it restarted ([] while it has none to give)."""
    name = pod["metadata"]["name"]
    restarts = sum(int(s.get("restartCount") or 0) for s in get_path(pod, "status.containerStatuses") or [])
    logs = []
    if restarts:
        try:
            answer = client.resource("Pod", "v1").log.get(
                name=name,
                namespace=live.namespace,
                serialize=False,
                query_params=[("timestamps", "true"), ("previous", "true")],
            )
            logs.append(answer.data.decode("utf-8", "replace"))
        except Exception as exc:
            if getattr(exc, "status", None) not in (400, 404):
                raise
    try:
        logs.append(live.pod_log(name))
    except Exception as exc:  # a container waiting to start (400) or a pod gone meanwhile (404) has no log yet
        if getattr(exc, "status", None) not in (400, 404):
            raise
    return logs


def require_namespace(client: Any, namespace: str) -> None:
    try:
        client.resource("Namespace", "v1").get(name=namespace)
    except Exception as exc:
        if getattr(exc, "status", None) == 404:
            raise IncidentError(
                f"the namespace {namespace} does not exist: the sentinel runs in the incident's state namespace, "
                "which the engine makes before it starts the sentinel. Create it, or pass the state namespace."
            ) from exc
        raise


def service_warnings(live: LiveState, service: str) -> list[str]:
    try:
        found = live.get("v1", "Service", service)
    except Exception:  # only a warning: the sentinel records failures until the Service answers
        return []
    if found is None:
        return [
            f"there is no Service {service} in namespace {live.namespace}: the sentinel records failed samples "
            "until there is one"
        ]
    return []


def first_sample(
    client: Any,
    live: LiveState,
    params: dict[str, Any],
    digest: str,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    """Wait until the pod of this version of the sentinel runs and has logged a sample; return that sample."""
    name, wait_s = sentinel_name(params["incident_id"]), params["wait_s"]
    deadline = clock() + wait_s
    seen = "no pod yet"
    while True:
        pods = [
            pod
            for pod in live.pods_labelled(selector(params["incident_id"]))
            if (get_path(pod, "metadata.annotations") or {}).get(DIGEST) == digest
        ]
        for pod in pods:
            state, message = pod_state(pod)
            pod_name = pod["metadata"]["name"]
            if state == "Running":
                samples = merge(*logs_of(client, live, pod))
                if samples:
                    return samples[0]
                seen = f"pod {pod_name} is Running and has logged no sample yet"
                continue
            seen = f"pod {pod_name} is {state}" + (f": {message}" if message else "")
            if state in STUCK:
                raise IncidentError(
                    f"the sentinel {name} cannot start ({seen}). Check the image python:3.12-slim can be pulled "
                    f"(`kubectl -n {live.namespace} describe pod {pod_name}`), then run state=present again.",
                    name=name,
                )
        if clock() >= deadline:
            raise IncidentError(
                f"the sentinel {name} logged no sample within {wait_s:g}s ({seen}). Look at "
                f"`kubectl -n {live.namespace} describe pod -l sockshop.io/role=sentinel,sockshop.io/incident="
                f"{params['incident_id']}` and its log, or raise wait_s; state=absent removes it.",
                name=name,
            )
        sleep(POLL_S)


def present(
    params: dict[str, Any],
    check_mode: bool,
    connect: Connect,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    try:
        wanted = manifests(
            params["incident_id"],
            params["namespace"],
            params["target_namespace"],
            params["check"],
            interval_s=params["interval_s"],
            timeout_s=params["timeout_s"],
        )
    except SentinelError as exc:
        raise refused(exc) from exc
    name = sentinel_name(params["incident_id"])
    client = connect()
    require_namespace(client, params["namespace"])
    live = LiveState(client, params["namespace"])
    changed = []
    for obj in wanted:
        there = live.get(obj["apiVersion"], obj["kind"], name)
        if not differs(there, obj):
            continue
        changed.append(f"{obj['kind']}/{name}")
        if check_mode:
            continue
        if there is None:
            live.create(obj)
        else:  # made to say exactly this, carrying the version read (a concurrent change answers 409)
            version = {"resourceVersion": there["metadata"]["resourceVersion"]}
            live.replace({**obj, "metadata": {**obj["metadata"], **version}})
    warnings = service_warnings(LiveState(client, params["target_namespace"]), params["check"]["check"]["service"])
    result: dict[str, Any] = {"changed": bool(changed), "name": name, "objects": changed}
    if warnings:
        result["warnings"] = warnings
    if check_mode:
        what = f"create or replace {', '.join(changed)}" if changed else "change nothing (the sentinel is as wanted)"
        return dict(result, first_sample=None, msg=f"check mode: would {what}")
    digest = wanted[-1]["metadata"]["annotations"][DIGEST]
    return dict(result, first_sample=first_sample(client, live, params, digest, clock=clock, sleep=sleep))


def absent(
    params: dict[str, Any],
    check_mode: bool,
    connect: Connect,
    *,
    clock: Clock = time.monotonic,
    sleep: Sleep = time.sleep,
) -> dict[str, Any]:
    name = sentinel_name(params["incident_id"])
    client = connect()
    live = LiveState(client, params["namespace"])
    kinds = (("apps/v1", "Deployment"), ("v1", "ConfigMap"))  # the pods' owner first
    there = [(version, kind) for version, kind in kinds if live.get(version, kind, name) is not None]
    gone = [f"{kind}/{name}" for _, kind in there]
    if check_mode:
        what = f"delete {', '.join(gone)}" if gone else "change nothing (no sentinel)"
        return {"changed": bool(gone), "name": name, "objects": gone, "msg": f"check mode: would {what}"}
    for version, kind in there:
        live.delete(version, kind, name)
    deadline = clock() + params["wait_s"]
    while True:
        left = [pod["metadata"]["name"] for pod in all_pods(client, params["namespace"], params["incident_id"])]
        if live.get("apps/v1", "Deployment", name) is not None:
            left.append(f"Deployment/{name}")
        if not left:
            return {"changed": bool(gone), "name": name, "objects": gone}
        if clock() >= deadline:
            raise IncidentError(
                f"the sentinel {name} is deleted but {', '.join(left)} still there after {params['wait_s']:g}s. "
                f"Look at `kubectl -n {params['namespace']} get pods -l sockshop.io/role=sentinel`, then run "
                "state=absent again.",
                name=name,
                objects=gone,
            )
        sleep(POLL_S)


def read(params: dict[str, Any], connect: Connect) -> dict[str, Any]:
    try:
        if params.get("since"):
            parse_time(params["since"])
        summarize([], params["consecutive"])  # refuses a bad consecutive before anything is read
    except SentinelError as exc:
        raise refused(exc) from exc
    name = sentinel_name(params["incident_id"])
    client = connect()
    live = LiveState(client, params["namespace"])
    pods = all_pods(client, params["namespace"], params["incident_id"])
    if not pods and live.get("apps/v1", "Deployment", name) is None:
        raise IncidentError(
            f"there is no sentinel {name} in namespace {params['namespace']}: it was not started. Responder mode "
            "starts it when it activates the incident (phase=activate -e responder=true); without it there is no "
            "time to mitigate to read.",
            name=name,
        )
    logs = [log for pod in pods for log in logs_of(client, live, pod)]
    return {"changed": False, "name": name, **summarize(merge(*logs), params["consecutive"], params.get("since"))}


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    try:
        sentinel_name(params["incident_id"])
    except SentinelError as exc:
        raise refused(exc) from exc
    if params["wait_s"] <= 0:
        raise IncidentError(f"wait_s must be above 0, not {params['wait_s']:g}. Nothing was changed.")
    if params["state"] == "present":
        if not params.get("check"):
            raise IncidentError("state=present needs check: one recovery.confirm entry of the incident file.")
        return present(params, check_mode, connect)
    if params["state"] == "absent":
        return absent(params, check_mode, connect)
    return read(params, connect)


def main() -> None:
    main_of(ARGUMENT_SPEC, run, required_if=REQUIRED_IF)


if __name__ == "__main__":
    main()
