"""The official python image has no ENTRYPOINT: `args` replace its CMD (python3), so a shell loop given in `args`
runs (kubernetes.core's k8s_generate_name target does this with python:3.7-alpine), through the image's toolbox."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def test_a_shell_loop_in_args_runs(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    pod: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "loop"},
        "spec": {
            "containers": [
                {
                    "name": "c0",
                    "image": "python:3.7-alpine",
                    "imagePullPolicy": "Always",
                    "args": ["/bin/sh", "-c", "while true; do echo tick $(seq 2 2); sleep 10; done"],
                }
            ]
        },
    }
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=json.dumps(pod))
    cluster.kubectl(k, "-n", ns, "wait", "--for=condition=Ready", "pod/loop", "--timeout=20s")
    cluster.wait_for(lambda: cluster.kubectl(k, "-n", ns, "logs", "loop").stdout == "tick 2\n", timeout=10)
    status = json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", "loop", "-o", "json").stdout)["status"]
    assert status["containerStatuses"][0]["restartCount"] == 0


def test_python_in_args_is_the_interpreter(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(
        k, "-n", ns, "run", "py", "--image=python:3.12-slim", "--restart=Never", "--", "python3", "-c", "print(6 * 7)"
    )

    def done() -> bool:
        got = json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", "py", "-o", "json").stdout)
        return (got.get("status") or {}).get("phase") == "Succeeded"

    cluster.wait_for(done, timeout=20, interval=0.2)
    assert cluster.kubectl(k, "-n", ns, "logs", "py").stdout == "42\n"
