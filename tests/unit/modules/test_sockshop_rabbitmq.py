"""rabbitmq_policy: the policy as an object, the Job that talks to the management API, and the engine's generic
record / apply / restore over it.

The Job's program (`SCRIPT`) really runs here: a fake kube runs each created Job's command with its env as a
subprocess, against an in-process management API (Basic auth, per-vhost policies, as RabbitMQ answers), so the
script, the Broker and the ledger steps are tested together without a cluster.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import sys
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote

import pytest
from ansible.module_utils import sockshop_rabbitmq as rabbitmq
from ansible.module_utils.sockshop_incident import IncidentError
from ansible.module_utils.sockshop_pointer import ABSENT

from plugins.modules import incident_fault, incident_ledger, incident_load
from tests.serving import serving
from tests.unit.modules.incident_fakes import FakeLive

FAULT = {
    "type": "rabbitmq_policy",
    "name": "shipping-limit",
    "pattern": "^shipping-task$",
    "definition": {"max-length": 3, "overflow": "reject-publish"},
}
NAME = "rabbitmq:15672/%2F/shipping-limit"
OTHER = {
    "vhost": "/",
    "name": "ha-all",
    "pattern": ".*",
    "apply-to": "all",
    "definition": {"ha-mode": "all"},
    "priority": 1,
}


class Management:
    """RabbitMQ's /api/policies over HTTP with Basic auth, in memory."""

    def __init__(self, user: str = "guest", password: str = "guest") -> None:
        self.policies: dict[tuple[str, str], dict[str, Any]] = {}
        self.auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        self.calls: list[str] = []
        self.overrides: dict[str, Any] = {}  # what the broker changes in every policy it is given
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def _answer(self, status: int, body: Any = None) -> None:
                raw = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def _route(self) -> None:
                owner.calls.append(f"{self.command} {self.path}")
                if self.headers.get("Authorization") != owner.auth:
                    return self._answer(401, {"error": "not_authorised", "reason": "Login failed"})
                parts = self.path.split("/")[3:]  # /api/policies/<vhost>[/<name>]
                vhost = unquote(parts[0])
                if len(parts) == 1 and self.command == "GET":
                    found = [p for (v, _), p in sorted(owner.policies.items()) if v == vhost]
                    return self._answer(200, found)
                key = (vhost, unquote(parts[1]))
                if self.command == "PUT":
                    body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                    owner.policies[key] = dict(body, vhost=vhost, name=key[1], **owner.overrides)
                    return self._answer(201)
                if self.command == "DELETE":
                    gone = owner.policies.pop(key, None)
                    return self._answer(204) if gone else self._answer(404, {"error": "Object Not Found"})
                return self._answer(405)

            do_GET = do_PUT = do_DELETE = _route

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


class JobRunner(FakeLive):
    """A namespace whose Jobs run: a created Job's container runs as a subprocess with its env, its stdout is the
    pod's log and its exit code the Job's status; the Secret `rabbitmq-management` feeds its secretKeyRefs."""

    def __init__(self, management_url: str, secret: dict[str, str] | None = None, leftover: bool = False) -> None:
        super().__init__()
        self.management_url, self.secret = management_url, secret
        self.jobs_run: list[dict[str, Any]] = []
        self.logs: dict[str, str] = {}
        if leftover:
            self.others[("batch/v1", "Job", rabbitmq.job_name("shipping-limit"))] = {"metadata": {"name": "x"}}

    def create(self, body: dict[str, Any]) -> None:
        super().create(body)
        if body["kind"] != "Job":
            return
        (container,) = body["spec"]["template"]["spec"]["containers"]
        env = {"PATH": "/usr/bin:/bin"}
        for var in container["env"]:
            if "value" in var:
                env[var["name"]] = var["value"]
            elif self.secret is not None:
                env[var["name"]] = self.secret[var["valueFrom"]["secretKeyRef"]["key"]]
        env["MANAGEMENT_URL"] = self.management_url  # the Service's address as a pod resolves it
        done = subprocess.run(
            [sys.executable, *container["command"][1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        name = body["metadata"]["name"]
        self.jobs_run.append({"name": name, "env": env, "exit": done.returncode})
        stamped = [f"2026-12-03T10:00:00.000000000Z {line}\n" for line in done.stdout.splitlines()]
        self.logs[f"{name}-pod"] = "".join(stamped)
        self.others[("batch/v1", "Job", name)]["status"] = {"succeeded" if done.returncode == 0 else "failed": 1}

    def pods_labelled(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        return [{"metadata": {"name": f"{labels['job-name']}-pod"}}]

    def pod_log(self, pod: str, container: str | None = None) -> str:
        return self.logs.get(pod, "")

    def delete(self, api_version: str, kind: str, name: str) -> None:
        if self.others.pop((api_version, kind, name), None) is not None:
            self.writes += 1

    def jobs(self) -> list[str]:
        return [key[2] for key in self.others if key[1] == "Job"]


@pytest.fixture
def management() -> Iterator[Management]:
    broker = Management()
    with serving(broker.server):
        yield broker


def routed(kube: JobRunner, check_mode: bool = False) -> rabbitmq.Routed:
    return rabbitmq.Routed(kube, rabbitmq.Broker(kube, check_mode, sleep=lambda s: None))


# ---------------------------------------------------------------- names, manifests, answers


@pytest.mark.parametrize(
    ("service", "port", "vhost", "policy"),
    [("rabbitmq", 15672, "/", "shipping-limit"), ("mq-0", 8080, "shop/eu", "a.b_c"), ("r", 1, "%", "p")],
)
def test_an_object_name_round_trips(service: str, port: int, vhost: str, policy: str) -> None:
    name = rabbitmq.object_name(service, port, vhost, policy)
    assert "/" not in name.split("/", 1)[1].rsplit("/", 1)[0]  # the vhost is URL-encoded
    assert rabbitmq.parse_name(name) == (service, port, vhost, policy)


@pytest.mark.parametrize("name", ["rabbitmq/%2F/x", "Rabbit:15672/%2F/x", "rabbitmq:15672/x", "rabbitmq:15672//x"])
def test_a_malformed_object_name_is_refused(name: str) -> None:
    with pytest.raises(ValueError, match="is not <service>:<port>/<vhost>/<policy>"):
        rabbitmq.parse_name(name)


def test_the_fault_becomes_the_policy_as_the_management_api_stores_it() -> None:
    assert rabbitmq.manifest(FAULT) == {
        "apiVersion": "management.rabbitmq.com/v1",
        "kind": "RabbitMQPolicy",
        "metadata": {"name": NAME},
        "spec": {
            "pattern": "^shipping-task$",
            "definition": {"max-length": 3, "overflow": "reject-publish"},
            "apply-to": "queues",
            "priority": 0,
        },
    }
    other = rabbitmq.manifest(dict(FAULT, service="mq", port=8080, vhost="eu", apply_to="all", priority=5))
    assert other["metadata"]["name"] == "mq:8080/eu/shipping-limit"
    assert (other["spec"]["apply-to"], other["spec"]["priority"]) == ("all", 5)


def test_the_job_takes_its_credentials_from_an_optional_secret_never_from_its_own_spec() -> None:
    job = rabbitmq.job_manifest(NAME, "put", {"pattern": "x"})
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MANAGEMENT_URL"]["value"] == "http://rabbitmq:15672"
    assert (env["VHOST"]["value"], env["POLICY"]["value"], env["OP"]["value"]) == ("/", "shipping-limit", "put")
    assert json.loads(env["BODY"]["value"]) == {"pattern": "x"}
    for var, key in (("USERNAME", "username"), ("PASSWORD", "password")):
        assert env[var] == {
            "name": var,
            "valueFrom": {"secretKeyRef": {"name": "rabbitmq-management", "key": key, "optional": True}},
        }
    assert job["metadata"]["name"] == "rabbitmq-policy-shipping-limit"
    assert job["spec"]["backoffLimit"] == 0 and job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    (reader,) = rabbitmq.job_manifest(NAME, "get")["spec"]["template"]["spec"]["containers"]
    assert "BODY" not in {e["name"] for e in reader["env"]}


def test_a_long_or_odd_policy_name_still_makes_a_valid_job_name() -> None:
    name = rabbitmq.job_name("A.very_long.Policy-name-" + "x" * 60)
    assert len(name) <= 63 and name == name.lower() and not name.endswith("-")
    assert name.startswith("rabbitmq-policy-a-very-long-policy-name-x")


@pytest.mark.parametrize(
    ("log", "answer"),
    [
        ('2026-12-03T10:00:00Z {"policies": []}\n', {"policies": []}),
        ('{"policies": [{"name": "a"}]}', {"policies": [{"name": "a"}]}),
        ('2026-12-03T10:00:00Z noise\n2026-12-03T10:00:01Z {"error": "401"}\n', {"error": "401"}),
        ('2026-12-03T10:00:00Z {"other": 1}\n', None),
        ("", None),
    ],
)
def test_the_answer_is_the_jobs_last_json_line(log: str, answer: dict[str, Any] | None) -> None:
    found = rabbitmq.answer_of(log)
    if answer is None:
        assert found["error"].startswith("the Job printed no answer")
    else:
        assert found == answer


# ---------------------------------------------------------------- the Broker, its Job really running


def test_get_put_delete_through_jobs_leave_no_job_behind(management: Management) -> None:
    kube = JobRunner(management.url)
    live = routed(kube)
    assert live.get(rabbitmq.API_VERSION, rabbitmq.KIND, NAME) is None
    live.create(rabbitmq.manifest(FAULT))
    assert management.policies[("/", "shipping-limit")]["definition"] == {"max-length": 3, "overflow": "reject-publish"}
    assert live.get(rabbitmq.API_VERSION, rabbitmq.KIND, NAME) == rabbitmq.manifest(FAULT)
    live.delete(rabbitmq.API_VERSION, rabbitmq.KIND, NAME)
    assert management.policies == {}
    assert [j["env"]["OP"] for j in kube.jobs_run] == ["get", "put", "get", "delete"]
    assert all(j["exit"] == 0 for j in kube.jobs_run) and kube.jobs() == []
    assert "PUT /api/policies/%2F/shipping-limit" in management.calls


def test_credentials_come_from_the_secret_when_it_exists(management: Management) -> None:
    management.auth = "Basic " + base64.b64encode(b"ops:s3cret").decode()
    with pytest.raises(IncidentError, match=r"\(get\) failed: 401 from .*Login failed.*Secret <service>-management"):
        routed(JobRunner(management.url)).get(rabbitmq.API_VERSION, rabbitmq.KIND, NAME)
    kube = JobRunner(management.url, secret={"username": "ops", "password": "s3cret"})
    assert routed(kube).get(rabbitmq.API_VERSION, rabbitmq.KIND, NAME) is None
    assert kube.jobs() == []


def test_an_unreachable_management_api_fails_with_the_address_and_the_job_is_removed() -> None:
    kube = JobRunner("http://127.0.0.1:9")  # discard port: nothing listens
    with pytest.raises(IncidentError, match=r"\(get\) failed: http://127.0.0.1:9: .*refused"):
        routed(kube).get(rabbitmq.API_VERSION, rabbitmq.KIND, NAME)
    assert kube.jobs() == []


def test_a_job_left_by_an_interrupted_run_is_removed_first(management: Management) -> None:
    kube = JobRunner(management.url, leftover=True)
    assert routed(kube).get(rabbitmq.API_VERSION, rabbitmq.KIND, NAME) is None
    assert kube.jobs() == [] and len(kube.jobs_run) == 1


def test_a_job_that_never_finishes_times_out_and_is_removed() -> None:
    class Stuck(JobRunner):
        def create(self, body: dict[str, Any]) -> None:
            FakeLive.create(self, body)

    now = [0.0]
    kube = Stuck("http://unused")
    broker = rabbitmq.Broker(
        kube, False, clock=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s), timeout_s=5
    )
    with pytest.raises(IncidentError, match=r"\(get\) did not finish within 5 s: the Job printed no answer"):
        broker.get(NAME)
    assert kube.jobs() == []


def test_a_policy_the_broker_does_not_keep_as_written_is_an_error(management: Management) -> None:
    management.overrides = {"priority": 9}
    with pytest.raises(IncidentError, match="the broker did not keep the policy as written"):
        routed(JobRunner(management.url)).create(rabbitmq.manifest(FAULT))


def test_check_mode_runs_no_job(management: Management) -> None:
    kube = JobRunner(management.url)
    found = routed(kube, check_mode=True).get(rabbitmq.API_VERSION, rabbitmq.KIND, NAME)
    assert found == rabbitmq.body_of(NAME, rabbitmq.UNREAD_SPEC)
    assert kube.writes == 0 and kube.jobs_run == []


def test_other_kinds_go_to_kubernetes(management: Management) -> None:
    kube = JobRunner(management.url)
    live = routed(kube)
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}}
    live.create(body)
    assert live.get("v1", "ConfigMap", "c")["data"] == {}
    live.delete("v1", "ConfigMap", "c")
    assert live.get("v1", "ConfigMap", "c") is None and kube.jobs_run == []


# ---------------------------------------------------------------- the engine's record / apply / restore


def plan_of(fault: dict[str, Any]) -> dict[str, Any]:
    incident = {"id": "5C", "faults": [fault], "signals": [], "recovery": {"confirm": []}, "traffic": []}
    return incident_load.build_plan(incident, "sock-shop")


def test_the_plan_puts_the_policy_and_records_it_whole() -> None:
    plan = plan_of(FAULT)
    assert plan["faults"] == [{"type": "put", "objects": [rabbitmq.manifest(FAULT)], "step": 0}]
    assert plan["ledger_objects"] == [
        {"api_version": rabbitmq.API_VERSION, "kind": rabbitmq.KIND, "name": NAME, "whole": True, "step": 0}
    ]


@pytest.mark.parametrize(
    "prior",
    [None, {"pattern": "^shipping-task$", "apply-to": "queues", "definition": {"max-length": 100}, "priority": 2}],
    ids=["absent", "a-different-policy-of-that-name"],
)
def test_record_apply_restore_puts_back_exactly_what_was_there(management: Management, prior: Any) -> None:
    management.policies[("/", "ha-all")] = dict(OTHER)
    if prior is not None:
        management.policies[("/", "shipping-limit")] = dict(prior, vhost="/", name="shipping-limit")
    before = copy.deepcopy(management.policies)
    kube = JobRunner(management.url)
    live = routed(kube)
    plan = plan_of(FAULT)

    recorded = incident_ledger.snapshot(live, plan["ledger_objects"])
    assert recorded[0]["whole"] == (None if prior is None else rabbitmq.body_of(NAME, rabbitmq.spec_of(prior)))
    applied = incident_fault.apply(live, plan["faults"], 0, False)
    assert applied["changes"] == [
        {
            "object": f"RabbitMQPolicy/{NAME}",
            "field": "",
            "before": ABSENT if prior is None else "(other)",
            "after": "(created)",
        }
    ]
    assert management.policies[("/", "shipping-limit")]["definition"] == FAULT["definition"]
    assert incident_fault.apply(live, plan["faults"], 0, False)["changes"] == []  # in effect: nothing written
    assert incident_ledger.differences({"objects": recorded}, live)[0]["object"] == f"RabbitMQPolicy/{NAME}"

    restored = incident_fault.restore(live, recorded, False)
    assert restored["changed"] is True
    assert management.policies == before  # the other policy never touched, this one as it was
    assert incident_fault.restore(live, recorded, False)["changes"] == []
    assert incident_ledger.differences({"objects": recorded}, live) == []
    assert kube.jobs() == []


def test_apply_and_restore_in_check_mode_run_no_job(management: Management) -> None:
    kube = JobRunner(management.url)
    live = routed(kube, check_mode=True)
    plan = plan_of(FAULT)
    assert incident_fault.apply(live, plan["faults"], 0, True)["changed"] is True
    assert incident_fault.restore(live, [dict(plan["ledger_objects"][0], whole=None)], True)["changed"] is True
    assert kube.jobs_run == [] and kube.writes == 0 and management.policies == {}
