"""A toolbox image's own command runs (busybox): what real kubectl shows of its output, exit code and reason."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration
TERMINATED = (
    "{.status.containerStatuses[0].state.terminated.exitCode} {.status.containerStatuses[0].state.terminated.reason}"
)


def _pod(cluster: Cluster, k: Path, ns: str, name: str, phase: str) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        got = json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", name, "-o", "json").stdout)
        return got if (got.get("status") or {}).get("phase") == phase else None

    return cluster.wait_for(done, timeout=20, interval=0.2)


def test_run_busybox_logs_its_output_and_completes(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(
        k, "-n", ns, "run", "hello", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo hello world"
    )
    pod = _pod(cluster, k, ns, "hello", "Succeeded")
    assert cluster.kubectl(k, "-n", ns, "logs", "hello").stdout == "hello world\n"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["reason"]) == (0, "Completed")


def test_a_shell_loop_logs_each_line(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    line = "for i in $(seq 0 9); do echo $i; done"
    cluster.kubectl(k, "-n", ns, "run", "count", "--image=busybox:1.36", "--restart=Never", "--", "sh", "-c", line)
    _pod(cluster, k, ns, "count", "Succeeded")
    assert cluster.kubectl(k, "-n", ns, "logs", "count", "--tail=3").stdout == "7\n8\n9\n"


def test_the_commands_exit_code_and_reason(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(
        k, "-n", ns, "run", "boom", "--image=busybox", "--restart=Never", "--", "sh", "-c", "echo boom >&2; exit 3"
    )
    _pod(cluster, k, ns, "boom", "Failed")
    path = TERMINATED
    assert cluster.kubectl(k, "-n", ns, "get", "pod", "boom", "-o", f"jsonpath={path}").stdout == "3 Error"
    assert cluster.kubectl(k, "-n", ns, "logs", "boom").stdout == "boom\n"


def test_a_program_the_image_lacks_is_a_start_error(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(
        k, "-n", ns, "run", "nobash", "--image=busybox", "--restart=Never", "--command", "--", "bash", "-c", ":"
    )
    _pod(cluster, k, ns, "nobash", "Failed")
    path = TERMINATED
    assert cluster.kubectl(k, "-n", ns, "get", "pod", "nobash", "-o", f"jsonpath={path}").stdout == "128 StartError"
    message = cluster.kubectl(
        k, "-n", ns, "get", "pod", "nobash", "-o", "jsonpath={.status.containerStatuses[0].state.terminated.message}"
    ).stdout
    assert message.endswith(
        'unable to start container process: exec: "bash": executable file not found in $PATH: unknown'
    )
    rows = cluster.kubectl(k, "-n", ns, "get", "pod", "nobash", "--no-headers").stdout.split()
    assert rows[1:3] == ["0/1", "StartError"]


def test_sleep_keeps_the_pod_running_through_sigterm(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    """busybox's sleep as PID 1 ignores the kubelet's SIGTERM: the pod is still Running while it terminates."""
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "run", "sleeper", "--image=busybox", "--restart=Never", "--", "sleep", "600")
    _pod(cluster, k, ns, "sleeper", "Running")
    cluster.kubectl(k, "-n", ns, "delete", "pod", "sleeper", "--grace-period=3", "--wait=false")
    got = json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", "sleeper", "-o", "json").stdout)
    assert got["metadata"]["deletionTimestamp"]
    cluster.wait_for(lambda: True, timeout=1)
    got = json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", "sleeper", "-o", "json").stdout)
    assert got["status"]["phase"] == "Running"
    out = cluster.kubectl(k, "-n", ns, "wait", "--for=delete", "pod/sleeper", "--timeout=20s")
    assert "condition met" in out.stdout
