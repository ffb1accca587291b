"""Responder mode's access (issue 20, first part): `-e responder=true` on activate hands a responder a kubeconfig
with an on-call engineer's rights in the namespace and nothing more; recover takes it back and leaves the
namespace exactly as before, whatever the responder did."""

from __future__ import annotations

import re
import subprocess
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import BIN, Cluster, ok

pytestmark = pytest.mark.slow
INCIDENT = "6"


def as_responder(cluster: Cluster, kubeconfig: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in cluster.env.items() if k != "KUBECONFIG"}
    argv = [str(BIN / "kubectl"), f"--kubeconfig={kubeconfig}", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)


def test_the_responder_gets_on_call_access_and_loses_it_at_recover(cluster: Cluster, baseline: dict[str, Any]) -> None:
    path = cluster.reports / "incident-6-responder.kubeconfig"
    activated = cluster.phase("activate", "-e", "responder=true")
    ok(activated)
    assert "Page: Every payment is declined" in activated.stdout
    assert f"export KUBECONFIG={path}" in activated.stdout
    assert path.stat().st_mode & 0o777 == 0o600
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    document = yaml.safe_load(path.read_text())
    assert document["contexts"][0]["context"]["namespace"] == "sock-shop"
    assert admin["users"][0]["user"]["token"] not in path.read_text()  # nothing of the admin's credentials
    kubeconfig = str(path)

    # The responder sees the incident...
    state = as_responder(cluster, kubeconfig, "get", "deployment", "stripe-mock")
    assert state.returncode == 0 and re.search(r"stripe-mock\s+0/0", state.stdout), state
    assert as_responder(cluster, kubeconfig, "logs", "deployment/payment", "--since=5m").returncode == 0
    who = 'User "system:serviceaccount:sock-shop:sockshop-responder"'
    # ...but not the incident's own objects, nor anything cluster-wide
    for args, refusal in (
        (["get", "configmap", "sockshop-incident-lock"], f'configmaps "sockshop-incident-lock" is forbidden: {who}'),
        (
            ["get", "configmap", "sockshop-incident-6-ledger"],
            f'configmaps "sockshop-incident-6-ledger" is forbidden: {who}',
        ),
        (["get", "configmaps"], f"configmaps is forbidden: {who}"),
        (["get", "secrets"], f"secrets is forbidden: {who}"),
        (["get", "namespaces"], f"namespaces is forbidden: {who}"),
        (["-n", "monitoring", "get", "pods"], f"pods is forbidden: {who}"),
        (["run", "x", "--image=busybox", "--", "true"], f"pods is forbidden: {who} cannot create"),
    ):
        out = as_responder(cluster, kubeconfig, *args)
        assert out.returncode == 1 and refusal in out.stderr, (args, out.stderr)
    listed = as_responder(cluster, kubeconfig, "auth", "can-i", "--list").stdout
    assert re.search(r"\npods/exec\s+\[\]\s+\[\]\s+\[create\]", listed), listed
    assert "configmaps" not in listed and "secrets" not in listed

    # The responder fixes it; recover takes the access back and the namespace is as it was.
    assert as_responder(cluster, kubeconfig, "scale", "deployment", "stripe-mock", "--replicas=1").returncode == 0
    kept = path.read_text()
    ok(cluster.phase("recover"))
    assert not path.exists()
    copy = cluster.base / "kept.kubeconfig"
    copy.write_text(kept)
    out = as_responder(cluster, str(copy), "get", "pods")
    assert out.returncode == 1 and "Unauthorized" in out.stderr  # the token died with its account
    assert cluster.differences(baseline) == ""
