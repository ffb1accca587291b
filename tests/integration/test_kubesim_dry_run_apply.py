"""Server-side dry run of an apply, as `kubectl diff` and `kubectl apply --dry-run=server` use it (and
kubernetes.core's k8s with apply in check mode / --diff): the answer is the object as it would be, nothing is
stored, and the live object is unchanged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def deployment(image: str, replicas: int) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "web", "image": image}]},
            },
        },
    }


def live(cluster: Cluster, k: Path, ns: str) -> dict[str, Any]:
    return dict(json.loads(cluster.kubectl(k, "-n", ns, "get", "deployment", "web", "-o", "json").stdout))


def test_kubectl_diff_and_a_server_dry_run_show_the_change_and_store_nothing(
    cluster: Cluster, ns: str, kubectl_bin: Path
) -> None:
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "apply", "--server-side", "-f", "-", input=yaml.safe_dump(deployment("nginx:1.27", 1)))
    before = live(cluster, k, ns)
    changed = yaml.safe_dump(deployment("nginx:1.28", 3))

    diff = cluster.kubectl(k, "-n", ns, "diff", "--server-side", "-f", "-", input=changed, check=False)
    assert diff.returncode == 1, diff.stderr  # 1: there are differences (>1 would be an error)
    lines = diff.stdout.splitlines()
    assert "-  replicas: 1" in lines and "+  replicas: 3" in lines, diff.stdout
    assert any(line.startswith("-") and "image: nginx:1.27" in line for line in lines), diff.stdout
    assert any(line.startswith("+") and "image: nginx:1.28" in line for line in lines), diff.stdout

    dry = cluster.kubectl(
        k, "-n", ns, "apply", "--server-side", "--dry-run=server", "-o", "json", "-f", "-", input=changed
    )
    answered = json.loads(dry.stdout)
    assert answered["spec"]["replicas"] == 3
    assert answered["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    after = live(cluster, k, ns)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert (after["spec"]["replicas"], after["metadata"]["generation"]) == (1, before["metadata"]["generation"])

    unchanged = yaml.safe_dump(deployment("nginx:1.27", 1))
    same = cluster.kubectl(k, "-n", ns, "diff", "--server-side", "-f", "-", input=unchanged, check=False)
    assert (same.returncode, same.stdout) == (0, ""), same.stderr  # no difference: exit 0, nothing printed
