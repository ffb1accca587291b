"""INCIDENT-6 end to end on a freshly started embedded cluster: the playbooks as an operator runs them.

The cluster runs from a temporary state directory, started here by pid and stopped in a finalizer; every
playbook gets its own reports directory, so nothing lands in the repository.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import time
from typing import Any

import pytest
from kubernetes import client
from PIL import Image

from tests.e2e.conftest import NAMESPACE, ROOT, STATE_NAMESPACE, Cluster, changed, ok

pytestmark = pytest.mark.slow
LOCK = "sockshop-incident-lock"
INCIDENT = "6"  # the provisioned cluster fixture of tests/e2e/conftest.py


def folded(result: subprocess.CompletedProcess[str]) -> str:
    return result.stdout.replace("\n        ", " ")


def test_another_incidents_lock_refuses_activation_naming_it(cluster: Cluster) -> None:
    core: Any = client.CoreV1Api(cluster.api())
    holder = {"incident": "3", "run_id": "run-x", "holder": "ops@laptop", "since": "2026-11-29T08:00:00.000Z"}
    cluster.state_namespace()
    core.create_namespaced_config_map(
        STATE_NAMESPACE,
        {"metadata": {"name": LOCK}, "data": dict(holder, activated_at="2026-11-29T08:00:01.000Z")},
    )
    try:
        before = cluster.versions()
        refused = cluster.phase("activate")
        assert refused.returncode != 0
        text = folded(refused)
        assert "is held by incident 3 (run run-x), taken by ops@laptop since 2026-11-29T08:00:00.000Z" in text, text
        assert "recover incident 3 first" in text and "Cannot take" not in text  # a refusal, not a dead API
        assert cluster.versions() == before
    finally:
        core.delete_namespaced_config_map(LOCK, STATE_NAMESPACE)


def test_a_failed_preflight_gives_the_lock_back(cluster: Cluster) -> None:
    apps: Any = client.AppsV1Api(cluster.api())
    apps.patch_namespaced_deployment_scale("payment", NAMESPACE, {"spec": {"replicas": 0}})
    try:
        before = cluster.configmaps()
        failed = cluster.phase("activate", "-e", "incident_preflight_wait_s=1")
        assert failed.returncode != 0
        text = folded(failed)
        assert (
            "Incident 6 was not activated: preflight check 'Wait until the target workloads are Available' failed "
            "(not serving within 1 s: payment (0/0 available))"
        ) in text, text[-3000:]
        assert "The lock was released; nothing else was changed." in text
        assert cluster.configmaps() == before  # no lock, no ledger
        assert cluster.replicas("stripe-mock") == 1
    finally:
        apps.patch_namespaced_deployment_scale("payment", NAMESPACE, {"spec": {"replicas": 1}})
        deadline = time.monotonic() + 60
        while (apps.read_namespaced_deployment("payment", NAMESPACE).status.available_replicas or 0) < 1:
            assert time.monotonic() < deadline, "payment did not come back"
            time.sleep(0.2)


def test_lifecycle(cluster: Cluster, baseline: dict[str, Any]) -> None:
    timings: dict[str, float] = {}

    def timed(phase: str) -> subprocess.CompletedProcess[str]:
        start = time.monotonic()
        result = cluster.phase(phase)
        timings[phase] = round(time.monotonic() - start, 1)
        ok(result)
        return result

    timed("activate")
    assert cluster.replicas("stripe-mock") == 0
    ledger = {"sockshop-incident-6-ledger", "sockshop-incident-lock"}
    assert ledger <= cluster.configmaps()
    before = cluster.versions()
    assert changed(cluster.phase("activate")) == 0
    assert cluster.versions() == before, "a second activate must leave the ledger and the lock untouched"

    timed("verify")
    timed("recover")
    assert cluster.replicas("stripe-mock") == 1
    assert not ledger & cluster.configmaps()
    assert cluster.differences(baseline) == ""
    assert changed(cluster.phase("recover")) == 0
    timed("report")

    report = json.loads(next(cluster.reports.glob("incident-6-*/report.json")).read_text())
    assert report["verdict"] == "passed", report
    assert report["diff_empty"] is True
    for entry in report["signals"]:
        # No Datadog key here; Prometheus runs in the cluster, so PromQL and alert signals are checked.
        datadog = entry["kind"] in ("datadog_logs", "datadog_metrics")
        assert entry["status"] == ("not_checked" if datadog else "passed"), entry
    signals = {entry["name"]: entry for entry in report["signals"]}
    (gateway,) = signals["prometheus sees the gateway at zero and payment at one"]["samples"]
    assert (gateway["labels"]["deployment"], gateway["value"], gateway["labels"]["job"]) == (
        "stripe-mock",
        0.0,
        "kube-state-metrics",
    ), gateway
    assert gateway["at"].endswith("Z"), gateway
    alert = signals["prometheus fires PaymentGatewayUnavailable"]
    assert alert["samples"][0]["state"] == "firing", alert
    # The rule's `for: 30s`: pending from activeAt (during activate, here), firing 30 s later at the earliest.
    active = dt.datetime.fromisoformat(alert["samples"][0]["at"][:26].rstrip("Z") + "+00:00")
    answered = dt.datetime.fromisoformat(alert["answered_at"].replace("Z", "+00:00"))
    assert (answered - active).total_seconds() >= 30, alert
    assert all(item["status"] == "passed" for item in report["checklist"])
    assert report["regressions"] == []
    # the timeline chart: the size report.md embeds it at, and a picture, not a blank
    (chart,) = cluster.reports.glob("incident-6-*/timeline.png")
    with Image.open(chart) as picture:
        assert picture.size == (1000, 600)
        assert len(picture.convert("RGB").getcolors(maxcolors=1 << 16) or []) > 20
    md = (chart.parent / "report.md").read_text()
    assert "![Timeline of the run](timeline.png)" in md
    # the evidence in full: the gateway's scale down and its scale up on recovery, the log line in its context
    events = md[md.index("## Evidence: events") : md.index("## Reproduce by hand")]
    scaled = [line for line in events.splitlines() if "| ScalingReplicaSet | Deployment/stripe-mock |" in line]
    assert [("from 1 to 0" in line, "from 0 to 1" in line) for line in scaled] == [(True, False), (False, True)], events
    logged = md[md.index("## Evidence: the log lines") : md.index("## Evidence: events")]
    (matched,) = [line for line in logged.splitlines() if line.startswith("> ")]
    assert "Payment gateway error" in matched and matched[2:6] == str(dt.date.today().year), logged
    # the incident's PromQL series over the run's window: the gateway went to 0 and came back to 1
    recover = json.loads((cluster.reports / ".runs" / "incident-6.json").read_text())["phases"]["recover"]
    gateway_series = [s for s in recover["series"] if s["label"].endswith("deployment=stripe-mock")]
    values = [p["value"] for p in gateway_series[0]["points"]]
    assert 0.0 in values and values[-1] == 1.0, recover["series"]  # the window ends once Prometheus saw the recovery
    assert "Prometheus series over the run's window: `payment_restart_rate`, `replicas_available`." in md
    print("measured phase timings (s):", timings)


def test_a_deployment_scaled_outside_the_fault_fails_the_regression_check(
    cluster: Cluster, baseline: dict[str, Any]
) -> None:
    apps: Any = client.AppsV1Api(cluster.api())
    engine_only = ("-e", "incident_prometheus_service=")  # PromQL and alert signals are the lifecycle test's
    ok(cluster.phase("activate", *engine_only))
    try:
        apps.patch_namespaced_deployment_scale("catalogue", NAMESPACE, {"spec": {"replicas": 2}})
        cluster.wait_available("catalogue", 2)
        ok(cluster.phase("verify", *engine_only))
        ok(cluster.phase("recover", *engine_only))  # the ledger holds stripe-mock only: recover is content
        before = set(cluster.reports.glob("incident-6-*/report.json"))
        ok(cluster.phase("report", *engine_only))
        (path,) = set(cluster.reports.glob("incident-6-*/report.json")) - before
        report = json.loads(path.read_text())
        assert (report["verdict"], report["failed_signals"], report["diff_empty"]) == ("not_passed", [], True)
        changes = {(d["object"], d["field"], d["before"], d["after"]) for d in report["regressions"]}
        assert ("Deployment/catalogue", "replicas", 1, 2) in changes, report["regressions"]
        assert "| Deployment/catalogue | replicas | 1 | 2 |" in (path.parent / "report.md").read_text()
    finally:
        apps.patch_namespaced_deployment_scale("catalogue", NAMESPACE, {"spec": {"replicas": 1}})
        cluster.wait_available("catalogue", 1)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
@pytest.mark.parametrize(
    "marker",
    ["TASK [incident : Record the prior state in the ledger", "TASK [incident : Probe payments as a customer would"],
    ids=["during-activate", "during-verify"],
)
def test_interrupted_all_is_recovered_exactly(
    cluster: Cluster, baseline: dict[str, Any], sig: signal.Signals, marker: str
) -> None:
    run = subprocess.Popen(
        cluster.playbook("incident-6.yml", "-e", "phase=all"), cwd=ROOT, env=cluster.env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )  # fmt: skip
    seen = []
    assert run.stdout is not None
    for line in run.stdout:
        seen.append(line)
        if line.startswith(marker):
            os.killpg(run.pid, sig)  # the group this test started, and only it
            break
    run.communicate(timeout=120)
    assert any(line.startswith(marker) for line in seen), "".join(seen)[-3000:]

    ok(cluster.phase("recover"))
    assert cluster.differences(baseline) == ""
    status = cluster.phase("status")
    ok(status)
    assert "Lock: free" in status.stdout
