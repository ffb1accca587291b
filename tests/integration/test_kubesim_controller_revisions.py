"""A DaemonSet's history with real kubectl: one ControllerRevision per template, numbered, carrying
`deprecated.daemonset.template.generation`, so `kubectl rollout history` lists it and `kubectl rollout undo`
restores a template from it; revisions beyond `revisionHistoryLimit` are pruned."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration

GENERATION = "deprecated.daemonset.template.generation"


def _ds(image: str, limit: int | None = None) -> dict:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": "agent"}},
        "template": {
            "metadata": {"labels": {"app": "agent"}},
            "spec": {"containers": [{"name": "agent", "image": image}]},
        },
    }
    if limit is not None:
        spec["revisionHistoryLimit"] = limit
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent", "annotations": {"kubernetes.io/change-cause": f"deploy {image}"}},
        "spec": spec,
    }


def _get(cluster: Cluster, k: Path, ns: str, *what: str) -> Any:
    return json.loads(cluster.kubectl(k, "-n", ns, "get", *what, "-o", "json").stdout)


def _revisions(cluster: Cluster, k: Path, ns: str) -> list[dict]:
    return sorted(_get(cluster, k, ns, "controllerrevisions")["items"], key=lambda cr: cr["revision"])


def _images(cluster: Cluster, k: Path, ns: str) -> list[str]:
    pods = _get(cluster, k, ns, "pods", "-l", "app=agent")["items"]
    return [p["spec"]["containers"][0]["image"] for p in pods if not p["metadata"].get("deletionTimestamp")]


def _rolled_out(cluster: Cluster, k: Path, ns: str) -> None:
    cluster.kubectl(k, "-n", ns, "rollout", "status", "daemonset/agent", "--timeout=30s", timeout=60)


def test_rollout_history_and_undo(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(_ds("nginx:1.26")))
    _rolled_out(cluster, k, ns)
    ds = _get(cluster, k, ns, "daemonset", "agent")
    assert ds["metadata"]["annotations"][GENERATION] == "1"
    (first,) = _revisions(cluster, k, ns)
    pod_hash = _get(cluster, k, ns, "pods", "-l", "app=agent")["items"][0]["metadata"]["labels"][
        "controller-revision-hash"
    ]
    assert first["metadata"]["name"] == f"agent-{pod_hash}"
    assert first["metadata"]["labels"] == {"app": "agent", "controller-revision-hash": pod_hash}
    assert first["metadata"]["annotations"][GENERATION] == "1"
    assert first["revision"] == 1
    assert first["data"]["spec"]["template"]["$patch"] == "replace"

    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(_ds("nginx:1.27")))
    _rolled_out(cluster, k, ns)
    ds = _get(cluster, k, ns, "daemonset", "agent")
    assert (ds["metadata"]["generation"], ds["metadata"]["annotations"][GENERATION]) == (2, "2")
    history = cluster.kubectl(k, "-n", ns, "rollout", "history", "daemonset/agent").stdout
    assert [line.split(None, 1) for line in history.splitlines()[1:] if line.strip()] == [
        ["REVISION", "CHANGE-CAUSE"],
        ["1", "deploy nginx:1.26"],
        ["2", "deploy nginx:1.27"],
    ]
    one = cluster.kubectl(k, "-n", ns, "rollout", "history", "daemonset/agent", "--revision=1").stdout
    assert "daemonset.apps/agent with revision #1" in one
    assert "Image:\tnginx:1.26" in one

    out = cluster.kubectl(k, "-n", ns, "rollout", "undo", "daemonset/agent")
    assert out.stdout.strip() == "daemonset.apps/agent rolled back"
    _rolled_out(cluster, k, ns)
    cluster.wait_for(lambda: _images(cluster, k, ns) == ["nginx:1.26"], timeout=30, interval=0.3)
    ds = _get(cluster, k, ns, "daemonset", "agent")
    assert ds["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert ds["metadata"]["annotations"][GENERATION] == "3"
    # the first template is revision 3 now, under its old name: no new revision
    revisions = _revisions(cluster, k, ns)
    assert [(cr["metadata"]["name"], cr["revision"]) for cr in revisions][-1] == (first["metadata"]["name"], 3)
    assert [cr["revision"] for cr in revisions] == [2, 3]
    again = cluster.kubectl(k, "-n", ns, "rollout", "undo", "daemonset/agent", "--to-revision=3")
    # kubectl compares its own JSON of the template with the revision's bytes: a v1.32 kubectl writes the
    # template's `creationTimestamp: null` as the v1.32 controller did; newer ones omit it, see no match and
    # send the (no-op) patch, as they would to a real v1.32 cluster
    client = json.loads(cluster.kubectl(k, "version", "--client", "-o", "json").stdout)["clientVersion"]
    if (int(client["major"]), int(client["minor"].rstrip("+"))) <= (1, 32):
        assert "skipped rollback (current template already matches revision 3)" in again.stdout
    assert [cr["revision"] for cr in _revisions(cluster, k, ns)] == [2, 3]
    missing = cluster.kubectl(k, "-n", ns, "rollout", "undo", "daemonset/agent", "--to-revision=1", check=False)
    assert "unable to find specified revision 1 in history" in missing.stderr


def test_history_is_pruned_to_the_limit(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    for image in ("nginx:1.24", "nginx:1.25", "nginx:1.26", "nginx:1.27"):
        cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(_ds(image, limit=1)))
        _rolled_out(cluster, k, ns)
    cluster.wait_for(lambda: len(_revisions(cluster, k, ns)) == 2, timeout=20, interval=0.3)
    assert [cr["revision"] for cr in _revisions(cluster, k, ns)] == [3, 4]
