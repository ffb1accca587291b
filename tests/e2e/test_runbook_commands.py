"""Every kubectl command of every runbook (docs/runbooks/*.md) runs unchanged against the local cluster.

On the healthy shop every command must succeed, except those that name a load Job an incident creates (kubectl
answers NotFound for them, as the runbook says). With INCIDENT-6 active its own commands must show the incident:
the curl pod gets the connection-refused answer, the gateway shows 0 replicas, its scale-down event, payment's
log names the gateway; and the namespace is exactly as before once it is recovered (the `--rm` pods are gone).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import shlex
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import BIN, ROOT, Cluster, ok

pytestmark = pytest.mark.slow
INCIDENT = "6"
RUNBOOKS = sorted((ROOT / "docs" / "runbooks").glob("incident-*.md"))
INLINE = re.compile(r"`(kubectl [^`]+)`")
# What the incidents' faults create (load Jobs, HPAs): their commands and series exist only while an incident runs.
FAULT_OBJECTS = sorted(
    fault["job"] if fault["type"] == "load" else fault["name"]
    for path in (ROOT / "incidents").glob("incident-*.yml")
    for fault in yaml.safe_load(path.read_text())["faults"]
    if fault["type"] in ("load", "hpa")
)


def commands(runbook: Path) -> list[str]:
    """The runbook's kubectl commands: its code-block lines and its inline code, in order, once each."""
    found: list[str] = []
    for line in runbook.read_text().splitlines():
        stripped = line.strip()
        if line.startswith("    ") and stripped.startswith("kubectl "):
            found.append(stripped)
        else:
            found += INLINE.findall(line)
    return list(dict.fromkeys(found))


def run(cluster: Cluster, command: str) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    assert argv[0] == "kubectl"
    env = {**cluster.env, "KUBECONFIG": str(cluster.kubeconfig)}
    return subprocess.run(
        [str(BIN / "kubectl"), *argv[1:]], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def forward(cluster: Cluster, command: str) -> str:
    """A port-forward command: started, one request through it, stopped by its pid; returns the answer."""
    argv = shlex.split(command)
    local = int(argv[-1].split(":")[0])
    env = {**cluster.env, "KUBECONFIG": str(cluster.kubeconfig)}
    proc = subprocess.Popen(
        [str(BIN / "kubectl"), *argv[1:]], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith(f"Forwarding from 127.0.0.1:{local} -> "), first + (
            proc.stderr.read() if proc.stderr else ""
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{local}/-/ready", timeout=10) as resp:
            return str(resp.read().decode())
    finally:
        proc.terminate()
        proc.wait(10)


def test_every_runbook_has_commands_to_run() -> None:
    assert len(RUNBOOKS) >= 9
    for runbook in RUNBOOKS:
        cmds = commands(runbook)
        assert "kubectl -n sock-shop get deployments,pods" in cmds, runbook.name
        assert len(cmds) >= 5, (runbook.name, cmds)


@pytest.fixture(scope="module")
def all_commands() -> list[str]:
    return list(dict.fromkeys(c for runbook in RUNBOOKS for c in commands(runbook)))


def test_every_command_runs_on_the_healthy_shop(
    cluster: Cluster, baseline: dict[str, Any], all_commands: list[str]
) -> None:
    up = next(c for c in all_commands if c.endswith("/query?query=up'"))
    deadline = time.monotonic() + 60  # Prometheus' first scrapes after provisioning
    while '"result":[{' not in run(cluster, up).stdout:
        assert time.monotonic() < deadline, "Prometheus scraped nothing within 60 s"
        time.sleep(0.5)
    failures = []
    for command in all_commands:
        if " port-forward " in command:
            assert "Prometheus Server is Ready." in forward(cluster, command)
            continue
        out = run(cluster, command)
        of_a_fault = any(name in command for name in FAULT_OBJECTS)  # absent on the healthy shop
        deadline = time.monotonic() + 30  # a series Prometheus has not scraped twice yet: wait for it
        while (
            "query?query=" in command and '"result":[]' in out.stdout and not of_a_fault and time.monotonic() < deadline
        ):
            time.sleep(1)
            out = run(cluster, command)
        job = re.search(r" job/([a-z0-9-]+)", command)
        if job and out.returncode == 1 and f'jobs.batch "{job.group(1)}" not found' in out.stderr:
            continue  # the incident's load Job: there only while the incident runs
        if out.returncode != 0:
            failures.append(f"{command}\n  -> {out.returncode}: {out.stderr.strip()[-400:]}")
        elif "/paymentAuth" in command:
            assert '"authorised":true' in out.stdout, out.stdout
        elif "query?query=" in command:
            assert '"status":"success"' in out.stdout, (command, out.stdout)
            assert '"result":[{' in out.stdout or of_a_fault, (command, out.stdout)
    assert not failures, "\n".join(failures)
    assert cluster.differences(baseline) == ""  # every curl pod removed itself (--rm)


@pytest.fixture
def incident_active(cluster: Cluster, baseline: dict[str, Any]) -> Iterator[None]:
    ok(cluster.phase("activate"))
    try:
        yield
    finally:
        ok(cluster.phase("recover"))
    assert cluster.differences(baseline) == ""


def test_incident6_commands_show_the_incident(cluster: Cluster, incident_active: None) -> None:
    cmds = commands(ROOT / "docs" / "runbooks" / "incident-6.md")
    by = {
        key: next(c for c in cmds if key in c)
        for key in ("/paymentAuth", "deployment stripe-mock", "events --for", "logs deployment/payment")
    }
    probe = run(cluster, by["/paymentAuth"])
    assert probe.returncode == 0, probe.stderr
    assert '"authorised":false' in probe.stdout and "connect: connection refused" in probe.stdout, probe.stdout
    assert "stripe-mock" in probe.stdout
    state = run(cluster, by["deployment stripe-mock"]).stdout.splitlines()
    assert state[1].split()[:4] == ["stripe-mock", "0/0", "0", "0"], state
    deadline = time.monotonic() + 10
    while "Scaled down replica set stripe-mock-" not in (events := run(cluster, by["events --for"]).stdout):
        assert time.monotonic() < deadline, events
        time.sleep(0.5)
    logs = run(cluster, by["logs deployment/payment"])
    assert "stripe-mock" in logs.stdout and "connection refused" in logs.stdout, logs.stdout[-2000:]


@contextlib.contextmanager
def lab_forward(cluster: Cluster, target: str, ports: str) -> Iterator[str]:
    """The lab's access table: `kubectl -n sock-shop port-forward <target> <local>:<remote>`, stopped by its pid."""
    env = {**cluster.env, "KUBECONFIG": str(cluster.kubeconfig)}
    argv = [str(BIN / "kubectl"), "-n", "sock-shop", "port-forward", target, ports]
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith(f"Forwarding from 127.0.0.1:{ports.split(':', maxsplit=1)[0]} -> "), line
        yield f"http://127.0.0.1:{ports.split(':', maxsplit=1)[0]}"
    finally:
        proc.terminate()
        proc.wait(10)


def test_lab_forwards_serve_payments_and_the_broker(cluster: Cluster) -> None:
    with lab_forward(cluster, "svc/payment", "2026:80") as url:

        def pay(i: int) -> dict[str, Any]:
            body = json.dumps({"amount": 10 + i}).encode()
            req = urllib.request.Request(f"{url}/paymentAuth", body, {"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=20) as resp:
                return dict(json.loads(resp.read()))

        with ThreadPoolExecutor(20) as pool:
            answers = list(pool.map(pay, range(20)))
        assert [a["authorised"] for a in answers] == [True] * 20, answers
    with lab_forward(cluster, "svc/rabbitmq", "5025:15672") as url:
        auth = base64.b64encode(b"guest:guest").decode()
        req = urllib.request.Request(f"{url}/api/queues/%2F/shipping-task", headers={"Authorization": f"Basic {auth}"})
        with urllib.request.urlopen(req, timeout=10) as resp:
            queue = json.loads(resp.read())
        assert queue["name"] == "shipping-task" and queue["consumers"] == 1, queue


def test_exec_it_into_payment_shows_its_gateway(cluster: Cluster) -> None:
    """The reports' `kubectl -n sock-shop exec -it deployment/payment -- env`, without a terminal as a script runs
    it: kubectl says it cannot use a TTY and runs it anyway; payment's environment names its gateway."""
    out = run(cluster, "kubectl -n sock-shop exec -it deployment/payment -- env")
    assert out.returncode == 0, out.stderr
    assert "PAYMENT_GATEWAY_URL=http://stripe-mock" in out.stdout.splitlines()
    assert "Unable to use a TTY" in out.stderr
