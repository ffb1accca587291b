"""A container that keeps failing, as a kubelet reports it: `CrashLoopBackOff` with its restarts and the last
termination, and the pod's phase `Running` (getPhase counts a container waiting to restart as stopped, and a
restartPolicy Always pod whose containers are all stopped is restarting them), so `status.phase=Running`
selects it as on a real node."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def test_a_crashing_container_loops_in_a_running_pod(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "run", "crash", "--image=alpine:3.8", "--command", "--", "/bin/false")

    def row() -> list[str]:
        return cluster.kubectl(k, "-n", ns, "get", "pod", "crash", "--no-headers").stdout.split()

    got = cluster.wait_for(lambda: (r := row()) and r[2] == "CrashLoopBackOff" and r, timeout=30, interval=0.3)
    assert got[1] == "0/1" and int(got[3]) >= 1
    pod = json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", "crash", "-o", "json").stdout)
    status = pod["status"]["containerStatuses"][0]
    assert status["state"]["waiting"]["reason"] == "CrashLoopBackOff"
    assert status["lastState"]["terminated"]["exitCode"] == 1
    assert status["lastState"]["terminated"]["reason"] == "Error"
    assert status["restartCount"] >= 1 and status["ready"] is False
    assert pod["status"]["phase"] == "Running"
    running = cluster.kubectl(
        k, "-n", ns, "get", "pods", "--field-selector", "status.phase=Running", "-o", "name"
    ).stdout.split()
    assert running == ["pod/crash"]
