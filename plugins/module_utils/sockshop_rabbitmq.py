# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""RabbitMQ policies as objects of the incident engine: a `rabbitmq_policy` fault, recorded and restored exactly.

A policy lives in the broker, not in the Kubernetes API, and the broker's management API wants HTTP Basic
credentials. The API server's service proxy cannot carry them: its authentication filter removes the
Authorization header before proxying (on a real API server as on the embedded one). So the engine reaches the
management API the way a pod does: each read or write is a one-shot Job in the target namespace (the official
Python image, the short program `SCRIPT` below, standard library only) that calls the Service's management
port and prints the vhost's policy set as one JSON line; the engine reads that line from the pod's log and
deletes the Job in the foreground before it goes on, so nothing of it stays in the namespace. The Job logs in
with `username` / `password` of the Secret `<service>-management` when that Secret exists (an optional
secretKeyRef), else as guest/guest, the broker's default and the lab's; no credential passes through Ansible.

To the ledger and the faults a policy is an object like any other: `RabbitMQPolicy` of the pseudo API version
`management.rabbitmq.com/v1`, named `<service>:<port>/<vhost, URL-encoded>/<policy>`, its `spec` the policy
as the management API stores it (pattern, definition, apply-to, priority). `Routed` sends those to `Broker`
and everything else to the Kubernetes adapter, so recording (the prior policy, or that there was none),
applying, comparing and restoring are the engine's generic whole-object steps. Other policies of the vhost
are never written.

In check mode nothing is read either: reading means creating a Job. The policy then reads as
`UNREAD_SPEC`, which the plan shows as a change to make.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, unquote

from ansible.module_utils.sockshop_incident import MANAGED_BY, IncidentError, get_path

API_VERSION = "management.rabbitmq.com/v1"
KIND = "RabbitMQPolicy"
IMAGE = "python:3.12-slim"
JOB_TIMEOUT_S = 90.0  # image pull on a real cluster included; locally the Job ends in about 2 s
POLL_S = 0.2
UNREAD_SPEC = "(not read in check mode: reading the broker's policies runs a Job)"

# The Job's program. Standard library only (the official Python image). Prints one JSON line, last.
SCRIPT = r"""
import base64, json, os, sys, time, urllib.error, urllib.parse, urllib.request
base = os.environ["MANAGEMENT_URL"].rstrip("/")
vhost = urllib.parse.quote(os.environ["VHOST"], safe="")
name = urllib.parse.quote(os.environ["POLICY"], safe="")
op = os.environ["OP"]
user = os.environ.get("USERNAME") or "guest"
secret = os.environ.get("PASSWORD") or "guest"
auth = "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()

def call(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method,
                                     headers={"Authorization": auth, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as answer:
        raw = answer.read()
    return json.loads(raw) if raw else None

def attempt():
    if op == "put":
        call("PUT", f"/api/policies/{vhost}/{name}", json.loads(os.environ["BODY"]))
    elif op == "delete":
        try:
            call("DELETE", f"/api/policies/{vhost}/{name}")
        except urllib.error.HTTPError as exc:
            if exc.code != 404:
                raise
    return call("GET", f"/api/policies/{vhost}")

for tries in range(5):
    try:
        print(json.dumps({"policies": attempt()}), flush=True)
        sys.exit(0)
    except urllib.error.HTTPError as exc:
        text = exc.read()[:300].decode("utf-8", "replace")
        print(json.dumps({"error": f"{exc.code} from {exc.geturl()}: {text}"}), flush=True)
        sys.exit(1)
    except OSError as exc:
        error = f"{base}: {exc}"
        time.sleep(1)
print(json.dumps({"error": error}), flush=True)
sys.exit(1)
"""


# ---------------------------------------------------------------- the policy as an object


def object_name(service: str, port: int, vhost: str, policy: str) -> str:
    return f"{service}:{port}/{quote(vhost, safe='')}/{policy}"


def parse_name(name: str) -> tuple[str, int, str, str]:
    """(service, port, vhost, policy) of an object name; ValueError for anything else."""
    match = re.fullmatch(r"([a-z0-9]([-a-z0-9]*[a-z0-9])?):(\d{1,5})/([^/]+)/(.+)", name)
    if not match:
        raise ValueError(f"{name!r} is not <service>:<port>/<vhost>/<policy>")
    return match.group(1), int(match.group(3)), unquote(match.group(4)), match.group(5)


def spec_of(policy: dict[str, Any]) -> dict[str, Any]:
    """The writable part of a policy, as the management API answers and takes it."""
    return {
        "pattern": policy["pattern"],
        "definition": policy.get("definition") or {},
        "apply-to": policy.get("apply-to", "all"),
        "priority": int(policy.get("priority", 0)),
    }


def body_of(name: str, spec: Any) -> dict[str, Any]:
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec}


def manifest(fault: dict[str, Any]) -> dict[str, Any]:
    """A `rabbitmq_policy` fault of an incident file as the object the engine puts."""
    service, port, vhost = fault.get("service", "rabbitmq"), int(fault.get("port", 15672)), fault.get("vhost", "/")
    name = object_name(service, port, vhost, fault["name"])
    return body_of(name, spec_of({**fault, "apply-to": fault.get("apply_to", "queues")}))


# ---------------------------------------------------------------- the Job that talks to the broker


def job_name(policy: str) -> str:
    """rabbitmq-policy-<policy>, cut to a valid object name."""
    slug = re.sub(r"[^a-z0-9-]+", "-", policy.lower()).strip("-")
    return f"rabbitmq-policy-{slug}"[:63].rstrip("-")


def job_manifest(name: str, op: str, spec: Any = None) -> dict[str, Any]:
    """The one-shot Job that runs `op` (get, put, delete) on the policy `name` and prints the vhost's set."""
    service, port, vhost, policy = parse_name(name)
    secret = f"{service}-management"
    env = {"MANAGEMENT_URL": f"http://{service}:{port}", "VHOST": vhost, "POLICY": policy, "OP": op}
    if op == "put":
        env["BODY"] = json.dumps(spec, sort_keys=True)
    labels = {"app.kubernetes.io/managed-by": MANAGED_BY, "sockshop.io/role": "rabbitmq-policy"}
    credentials = [
        {"name": var, "valueFrom": {"secretKeyRef": {"name": secret, "key": key, "optional": True}}}
        for var, key in (("USERNAME", "username"), ("PASSWORD", "password"))
    ]
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": job_name(policy), "labels": labels},
        "spec": {
            "backoffLimit": 0,
            "activeDeadlineSeconds": int(JOB_TIMEOUT_S),
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "management-api",
                            "image": IMAGE,
                            "command": ["python3", "-c", SCRIPT],
                            "env": [{"name": k, "value": v} for k, v in env.items()] + credentials,
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "32Mi"},
                                "limits": {"cpu": "200m", "memory": "64Mi"},
                            },
                        }
                    ],
                },
            },
        },
    }


def answer_of(log: str) -> dict[str, Any]:
    """The Job's last JSON line (a log read with timestamps: the stamp before the first space is dropped)."""
    for line in reversed(log.splitlines()):
        text = line.split(" ", 1)[1] if line[:4].isdigit() and " " in line else line
        try:
            answer = json.loads(text)
        except ValueError:
            continue
        if isinstance(answer, dict) and ("policies" in answer or "error" in answer):
            return answer
    return {"error": f"the Job printed no answer (its log: {log.strip()[-300:] or 'empty'})"}


class Broker:
    """The management API's policies through one-shot Jobs (see the module docstring)."""

    def __init__(
        self,
        kube: Any,
        check_mode: bool,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        timeout_s: float = JOB_TIMEOUT_S,
    ) -> None:
        self.kube, self.check_mode = kube, check_mode
        self.clock, self.sleep, self.timeout_s = clock, sleep, timeout_s

    def get(self, name: str) -> dict[str, Any] | None:
        if self.check_mode:
            return body_of(name, UNREAD_SPEC)
        return self._named(name, self.run(name, "get"))

    def put(self, body: dict[str, Any]) -> None:
        name = body["metadata"]["name"]
        found = self._named(name, self.run(name, "put", body["spec"]))
        if found is None or found["spec"] != spec_of(body["spec"]):
            raise IncidentError(f"{KIND}/{name}: the broker did not keep the policy as written (it has {found}).")

    def delete(self, name: str) -> None:
        if self._named(name, self.run(name, "delete")) is not None:
            raise IncidentError(f"{KIND}/{name}: the policy is still there after the broker answered its DELETE.")

    @staticmethod
    def _named(name: str, policies: list[dict[str, Any]]) -> dict[str, Any] | None:
        policy = parse_name(name)[3]
        found = [p for p in policies if p.get("name") == policy]
        return body_of(name, spec_of(found[0])) if found else None

    def run(self, name: str, op: str, spec: Any = None) -> list[dict[str, Any]]:
        """Run one Job to its end and return the vhost's policies; the Job is gone when this returns."""
        job = job_manifest(name, op, spec)
        job_ref = job["metadata"]["name"]
        self._gone(job_ref)  # a Job of an interrupted earlier run
        self.kube.create(dict(job, metadata=dict(job["metadata"], namespace=self.kube.namespace)))
        try:
            status = self._finished(job_ref)
            pods = self.kube.pods_labelled({"job-name": job_ref})
            log = "\n".join(self.kube.pod_log(get_path(p, "metadata.name")) for p in pods)
        finally:
            self._gone(job_ref)
        answer = answer_of(log)
        if status != "succeeded" or "error" in answer:
            raise IncidentError(
                f"{KIND}/{name}: the management API Job ({op}) {status}: {answer.get('error', 'no error printed')}. "
                f"Check that Service {parse_name(name)[0]} serves the management API on that port and that the "
                "Job's credentials (Secret <service>-management, else guest/guest) are accepted from a pod."
            )
        return list(answer["policies"] or [])

    def _finished(self, job: str) -> str:
        deadline = self.clock() + self.timeout_s
        while True:
            status = (self.kube.get("batch/v1", "Job", job) or {}).get("status") or {}
            if status.get("succeeded"):
                return "succeeded"
            if status.get("failed"):
                return "failed"
            if self.clock() >= deadline:
                return f"did not finish within {self.timeout_s:g} s"
            self.sleep(POLL_S)

    def _gone(self, job: str) -> None:
        """Delete the Job in the foreground (its pods go first) and wait until it is gone."""
        found = self.kube.get("batch/v1", "Job", job)
        if found is None:
            return
        if not get_path(found, "metadata.deletionTimestamp"):
            self.kube.delete("batch/v1", "Job", job)
        deadline = self.clock() + self.timeout_s
        while self.kube.get("batch/v1", "Job", job) is not None:
            if self.clock() >= deadline:
                raise IncidentError(
                    f"Job/{job} is still there {self.timeout_s:g} s after its deletion: delete it by hand"
                )
            self.sleep(POLL_S)


class Routed:
    """A LiveState whose RabbitMQPolicy objects live in the broker (Broker), everything else in Kubernetes."""

    def __init__(self, kube: Any, broker: Broker) -> None:
        self.kube, self.broker = kube, broker
        self.namespace = kube.namespace

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self.kube, attribute)

    def get(self, api_version: str, kind: str, name: str) -> dict[str, Any] | None:
        if (api_version, kind) == (API_VERSION, KIND):
            return self.broker.get(name)
        return self.kube.get(api_version, kind, name)

    def create(self, body: dict[str, Any]) -> None:
        if (body["apiVersion"], body["kind"]) == (API_VERSION, KIND):
            return self.broker.put(body)
        return self.kube.create(body)

    def replace(self, body: dict[str, Any]) -> None:
        if (body["apiVersion"], body["kind"]) == (API_VERSION, KIND):
            return self.broker.put(body)
        return self.kube.replace(body)

    def delete(self, api_version: str, kind: str, name: str) -> None:
        if (api_version, kind) == (API_VERSION, KIND):
            return self.broker.delete(name)
        return self.kube.delete(api_version, kind, name)


def routed(kube: Any, check_mode: bool) -> Routed:
    return Routed(kube, Broker(kube, check_mode))
