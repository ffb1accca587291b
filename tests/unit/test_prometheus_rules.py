"""The alerting rules kube_prometheus_stack installs, checked by Prometheus' own promtool (Debian's `prometheus`
package, which `make setup` installs or unpacks into the venv): every PrometheusRule's groups pass
`promtool check rules`, and `promtool test rules` fires each alert on the series of its incident, with its
labels, and keeps it quiet on the series that only look like it.

A missing promtool fails these tests rather than skipping them (run `make setup`), as a missing kubectl does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.unit.test_manifests import kps_manifests

VENV_BIN = Path(sys.executable).parent


def promtool() -> str:
    found = shutil.which("promtool", path=f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    if found is None:
        pytest.fail("promtool is not installed: run `make setup` (Debian's prometheus package)")
    return found


def rule_files(directory: Path) -> list[Path]:
    """Each PrometheusRule's spec (its groups) as the rule file the operator hands Prometheus."""
    files = []
    for manifest in kps_manifests():
        if manifest["kind"] == "PrometheusRule":
            path = directory / f"{manifest['metadata']['name']}.yml"
            path.write_text(yaml.safe_dump(manifest["spec"], sort_keys=False))
            files.append(path)
    return files


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([promtool(), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False)


def test_every_rule_file_passes_promtool_check_rules(tmp_path: Path) -> None:
    files = rule_files(tmp_path)
    assert [f.name for f in files] == ["sockshop-incident-6.yml"]
    done = run("check", "rules", *map(str, files), cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS: 2 rules found" in done.stdout


def test_a_broken_rule_is_refused(tmp_path: Path) -> None:
    """The check can fail: a rule whose expression does not parse."""
    (path,) = rule_files(tmp_path)
    doc = yaml.safe_load(path.read_text())
    doc["groups"][0]["rules"][0]["expr"] = "kube_deployment_status_replicas_available{ == 0"
    path.write_text(yaml.safe_dump(doc))
    done = run("check", "rules", str(path), cwd=tmp_path)
    assert done.returncode == 1 and "parse error" in done.stdout + done.stderr


def available(deployment: str, values: str) -> dict[str, str]:
    series = f'kube_deployment_status_replicas_available{{namespace="sock-shop",deployment="{deployment}"}}'
    return {"series": series, "values": values}


def alert(name: str, at: str, firing: list[dict[str, Any]]) -> dict[str, Any]:
    return {"eval_time": at, "alertname": name, "exp_alerts": firing}


GATEWAY_DOWN = {
    "exp_labels": {"severity": "critical", "incident": "6", "namespace": "sock-shop", "deployment": "stripe-mock"},
    "exp_annotations": {
        "summary": "Payment gateway stripe-mock has no available replica while payment is up.",
        "description": "deployment/stripe-mock in sock-shop has 0 available replicas and payment is available: "
        "payments are declined with connection refused. Bring the gateway back (scale stripe-mock to its usual "
        "replicas).",
    },
}
RESTART = {
    "exp_labels": {
        "severity": "warning",
        "incident": "6",
        "namespace": "sock-shop",
        "pod": "payment-5d9c7b7f6-abcde",
        "container": "payment",
    },
    "exp_annotations": {
        "summary": "A payment container restarted in the last 5 minutes.",
        "description": "Pod payment-5d9c7b7f6-abcde in sock-shop restarted. During a gateway outage payment should "
        "stay up; restarts point at the payment service itself.",
    },
}
RESTARTS = (
    'kube_pod_container_status_restarts_total{namespace="sock-shop",pod="payment-5d9c7b7f6-abcde",container="payment"}'
)


def test_the_alerts_fire_on_their_incident_and_stay_quiet_otherwise(tmp_path: Path) -> None:
    files = rule_files(tmp_path)
    tests = {
        "rule_files": [f.name for f in files],
        "evaluation_interval": "15s",
        "tests": [
            {  # INCIDENT-6: stripe-mock scaled to 0 at 1m, payment up: fires once the 30 s `for` has passed.
                "interval": "15s",
                "input_series": [available("stripe-mock", "1 1 1 1 0x12"), available("payment", "1x16")],
                "alert_rule_test": [
                    alert("PaymentGatewayUnavailable", "1m15s", []),
                    alert("PaymentGatewayUnavailable", "2m", [GATEWAY_DOWN]),
                ],
            },
            {  # Both down (a namespace-wide outage, not the gateway): no gateway alert.
                "interval": "15s",
                "input_series": [available("stripe-mock", "0x12"), available("payment", "0x12")],
                "alert_rule_test": [alert("PaymentGatewayUnavailable", "2m", [])],
            },
            {  # A payment restart: the warning fires at once, and is gone five minutes later.
                "interval": "1m",
                "input_series": [{"series": RESTARTS, "values": "0 0 1 1 1 1 1 1 1 1 1"}],
                "alert_rule_test": [
                    alert("PaymentPodRestarting", "1m", []),
                    alert("PaymentPodRestarting", "3m", [RESTART]),
                    alert("PaymentPodRestarting", "9m", []),
                ],
            },
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    done = run("test", "rules", "tests.yml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_an_alert_that_does_not_fire_as_expected_fails_the_rule_test(tmp_path: Path) -> None:
    """The rule test can fail: the gateway alert expected while payment is down too."""
    files = rule_files(tmp_path)
    tests = {
        "rule_files": [f.name for f in files],
        "tests": [
            {
                "interval": "15s",
                "input_series": [available("stripe-mock", "0x12"), available("payment", "0x12")],
                "alert_rule_test": [alert("PaymentGatewayUnavailable", "2m", [GATEWAY_DOWN])],
            }
        ],
    }
    (tmp_path / "tests.yml").write_text(yaml.safe_dump(tests, sort_keys=False))
    done = run("test", "rules", "tests.yml", cwd=tmp_path)
    assert done.returncode == 1 and "PaymentGatewayUnavailable" in done.stdout + done.stderr
