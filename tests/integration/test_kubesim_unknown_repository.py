"""An image name without a namespace names a Docker Official Image; one that is none (`i_made_this_up`) is a
repository Docker Hub does not have, and the kubelet reports it as containerd does on KIND: ErrImagePull with
`pull access denied, repository does not exist`, then ImagePullBackOff. Official ones still run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration

BAD = "i_made_this_up:and_this_too"
REF = f"docker.io/library/{BAD}"
CONTAINERD = (
    f'rpc error: code = Unknown desc = failed to pull and unpack image "{REF}": failed to resolve reference '
    f'"{REF}": pull access denied, repository does not exist or may require authorization: server message: '
    "insufficient_scope: authorization failed"
)


def test_a_repository_docker_hub_does_not_have_is_not_pulled(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "run", "made-up", f"--image={BAD}")
    cluster.kubectl(k, "-n", ns, "run", "real", "--image=nginx")

    def status(name: str) -> str:
        return cluster.kubectl(k, "-n", ns, "get", "pod", name, "--no-headers").stdout.split()[2]

    cluster.wait_for(lambda: status("made-up") == "ImagePullBackOff", timeout=15, interval=0.2)
    got = json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", "made-up", "-o", "json").stdout)
    assert got["status"]["containerStatuses"][0]["state"]["waiting"] == {
        "reason": "ImagePullBackOff",
        "message": f'Back-off pulling image "{BAD}": ErrImagePull: {CONTAINERD}',
    }
    assert got["status"]["phase"] == "Pending"
    events = cluster.kubectl(k, "-n", ns, "events", "--for=pod/made-up").stdout
    assert f'Failed to pull image "{BAD}": {CONTAINERD}' in events
    cluster.wait_for(lambda: status("real") == "Running", timeout=15, interval=0.2)
