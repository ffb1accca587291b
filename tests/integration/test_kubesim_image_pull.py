"""An image no registry has is never run: the kubelet's ErrImagePull / ImagePullBackOff, a rollout that stops
at its progress deadline, and `kubectl rollout undo` to recover, all as real kubectl shows them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration

BAD = "nginx:1.0.23449928384992872784"
REF = f"docker.io/library/{BAD}"
CONTAINERD = (
    f'rpc error: code = NotFound desc = failed to pull and unpack image "{REF}": '
    f'failed to resolve reference "{REF}": {REF}: not found'
)


def test_a_tag_no_registry_has_waits_in_image_pull_back_off(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "run", "ghost", f"--image={BAD}")

    def status() -> str:
        rows = cluster.kubectl(k, "-n", ns, "get", "pod", "ghost", "--no-headers").stdout.split()
        return rows[2] if rows[2] == "ImagePullBackOff" else ""

    cluster.wait_for(status, timeout=15, interval=0.2)
    got = json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", "ghost", "-o", "json").stdout)
    waiting = got["status"]["containerStatuses"][0]["state"]["waiting"]
    assert waiting == {
        "reason": "ImagePullBackOff",
        "message": f'Back-off pulling image "{BAD}": ErrImagePull: {CONTAINERD}',
    }
    events = cluster.kubectl(k, "-n", ns, "events", "--for=pod/ghost").stdout
    assert f'Failed to pull image "{BAD}": {CONTAINERD}' in events
    assert "Error: ErrImagePull" in events and f'Back-off pulling image "{BAD}"' in events


def test_a_rollout_to_a_missing_tag_exceeds_its_deadline_and_undo_recovers(
    cluster: Cluster, ns: str, kubectl_bin: Path
) -> None:
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "create", "deployment", "web", "--image=nginx:1.27", "--replicas=2")
    cluster.kubectl(k, "-n", ns, "rollout", "status", "deployment/web", "--timeout=20s")
    cluster.kubectl(k, "-n", ns, "patch", "deployment", "web", "-p", '{"spec":{"progressDeadlineSeconds":3}}')
    cluster.kubectl(k, "-n", ns, "set", "image", "deployment/web", f"nginx={BAD}")

    out = cluster.kubectl(k, "-n", ns, "rollout", "status", "deployment/web", "--timeout=30s", check=False)
    assert out.returncode == 1
    assert 'error: deployment "web" exceeded its progress deadline' in out.stderr
    pods = cluster.kubectl(k, "-n", ns, "get", "pods", "--no-headers").stdout
    assert re.search(r"web-\S+\s+0/1\s+(ErrImagePull|ImagePullBackOff)\s+0", pods), pods
    assert len(re.findall(r"\s1/1\s+Running", pods)) == 2  # the old pods keep serving
    got = json.loads(cluster.kubectl(k, "-n", ns, "get", "deployment", "web", "-o", "json").stdout)
    progressing = next(c for c in got["status"]["conditions"] if c["type"] == "Progressing")
    assert (progressing["status"], progressing["reason"]) == ("False", "ProgressDeadlineExceeded")
    assert re.fullmatch(r'ReplicaSet "web-[0-9a-z]+" has timed out progressing\.', progressing["message"])

    cluster.kubectl(k, "-n", ns, "rollout", "undo", "deployment/web")
    out = cluster.kubectl(k, "-n", ns, "rollout", "status", "deployment/web", "--timeout=30s")
    assert 'deployment "web" successfully rolled out' in out.stdout
    images = cluster.kubectl(k, "-n", ns, "get", "deployment", "web", "-o", "jsonpath={..containers[0].image}")
    assert images.stdout == "nginx:1.27"
    # revision 1's ReplicaSet is the newest again: revision 3, as the deployment controller numbers a rollback
    revision = r"jsonpath={.metadata.annotations.deployment\.kubernetes\.io/revision}"
    assert cluster.kubectl(k, "-n", ns, "get", "deployment", "web", "-o", revision).stdout == "3"
    history = cluster.kubectl(k, "-n", ns, "rollout", "history", "deployment/web").stdout
    assert [line.split()[0] for line in history.strip().splitlines()[2:]] == ["2", "3"]
    cluster.wait_for(
        lambda: "ImagePull" not in cluster.kubectl(k, "-n", ns, "get", "pods", "--no-headers").stdout, timeout=20
    )
