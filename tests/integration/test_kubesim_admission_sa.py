"""ServiceAccount admission with real kubectl: every namespace gets `default`, pods name an account that
exists or are refused with the plugin's 403, and controllers report the refusal (FailedCreate,
ReplicaFailure, a Deployment that does not progress)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def _apply(cluster: Cluster, k: Path, ns: str, doc: dict, check: bool = True) -> str:
    out = cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(doc), check=check)
    return out.stdout + out.stderr


def _template(account: str) -> dict:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"serviceAccountName": account, "containers": [{"name": "web", "image": "nginx:1.27"}]},
    }


def _events(cluster: Cluster, k: Path, ns: str, reason: str) -> list[dict]:
    out = cluster.kubectl(k, "-n", ns, "get", "events", "--field-selector", f"reason={reason}", "-o", "json")
    return json.loads(out.stdout)["items"]


def _refusal(ns: str, pod: str, account: str) -> str:
    return (
        f'pods "{pod}" is forbidden: error looking up service account {ns}/{account}: '
        f'serviceaccount "{account}" not found'
    )


def test_every_namespace_has_a_default_account(cluster: Cluster, kubectl_bin: Path) -> None:
    k = kubectl_bin
    ns = "sa-default-" + uuid.uuid4().hex[:6]
    cluster.kubectl(k, "create", "namespace", ns)
    cluster.wait_for(
        lambda: cluster.kubectl(k, "-n", ns, "get", "serviceaccount", "default", check=False).returncode == 0
    )
    # a pod right after its namespace: admission waits for the controller's `default`
    cluster.kubectl(k, "-n", ns, "run", "first", "--image=nginx:1.27")
    spec = json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", "first", "-o", "json").stdout)["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("default", "default")
    # the controller makes a deleted `default` again
    cluster.kubectl(k, "-n", ns, "delete", "serviceaccount", "default")
    cluster.wait_for(
        lambda: cluster.kubectl(k, "-n", ns, "get", "serviceaccount", "default", check=False).returncode == 0
    )


def test_a_pod_naming_a_missing_account_is_refused(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": _template("ghost")["spec"]}
    out = cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(pod), check=False)
    assert out.returncode == 1
    assert out.stderr.strip() == (
        f'Error from server (Forbidden): error when creating "STDIN": {_refusal(ns, "p", "ghost")}'
    )
    # the deprecated `serviceAccount` names the account too
    pod["spec"] = {"serviceAccount": "ghost", "containers": pod["spec"]["containers"]}
    out = cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=yaml.safe_dump(pod), check=False)
    assert _refusal(ns, "p", "ghost") in out.stderr
    cluster.kubectl(k, "-n", ns, "create", "serviceaccount", "ghost")
    _apply(cluster, k, ns, pod)
    spec = json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", "p", "-o", "json").stdout)["spec"]
    assert (spec["serviceAccountName"], spec["serviceAccount"]) == ("ghost", "ghost")


def test_a_deployment_with_a_missing_account_does_not_roll_out(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "progressDeadlineSeconds": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": _template("ghost"),
        },
    }
    _apply(cluster, k, ns, deployment)
    out = cluster.kubectl(k, "-n", ns, "rollout", "status", "deployment/web", "--timeout=30s", check=False)
    assert out.returncode == 1
    assert 'error: deployment "web" exceeded its progress deadline' in out.stderr

    rs = json.loads(cluster.kubectl(k, "-n", ns, "get", "replicaset", "-l", "app=web", "-o", "json").stdout)["items"]
    assert len(rs) == 1
    rs_name = rs[0]["metadata"]["name"]
    refusal = _refusal(ns, f"{rs_name}-", "ghost")
    failure = [c for c in rs[0]["status"]["conditions"] if c["type"] == "ReplicaFailure"]
    assert [(c["status"], c["reason"], c["message"]) for c in failure] == [("True", "FailedCreate", refusal)]
    events = _events(cluster, k, ns, "FailedCreate")
    assert {(e["type"], e["involvedObject"]["name"], e["message"]) for e in events} == {
        ("Warning", rs_name, f"Error creating: {refusal}")
    }
    assert events[0]["source"]["component"] == "replicaset-controller"

    d = json.loads(cluster.kubectl(k, "-n", ns, "get", "deployment", "web", "-o", "json").stdout)
    conditions = {c["type"]: c for c in d["status"]["conditions"]}
    assert (conditions["Progressing"]["status"], conditions["Progressing"]["reason"]) == (
        "False",
        "ProgressDeadlineExceeded",
    )
    assert conditions["Progressing"]["message"] == f'ReplicaSet "{rs_name}" has timed out progressing.'
    assert (conditions["ReplicaFailure"]["reason"], conditions["ReplicaFailure"]["message"]) == (
        "FailedCreate",
        refusal,
    )
    assert "availableReplicas" not in d["status"] and d["status"]["unavailableReplicas"] == 1

    # once the account exists the controller's next try creates the pod and the rollout completes
    cluster.kubectl(k, "-n", ns, "create", "serviceaccount", "ghost")

    def available() -> bool:
        out = cluster.kubectl(k, "-n", ns, "get", "deployment", "web", "-o", "jsonpath={.status.availableReplicas}")
        return out.stdout == "1"

    cluster.wait_for(available, timeout=30, interval=0.5)
    out = cluster.kubectl(k, "-n", ns, "rollout", "status", "deployment/web", "--timeout=10s")
    assert 'deployment "web" successfully rolled out' in out.stdout
    rs = json.loads(cluster.kubectl(k, "-n", ns, "get", "replicaset", rs_name, "-o", "json").stdout)
    assert "conditions" not in rs["status"]


def test_other_controllers_report_the_refusal(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    selector = {"matchLabels": {"app": "web"}}
    _apply(
        cluster,
        k,
        ns,
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": "job"},
            "spec": {
                "template": {**_template("ghost"), "spec": {**_template("ghost")["spec"], "restartPolicy": "Never"}}
            },
        },
    )
    _apply(
        cluster,
        k,
        ns,
        {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": {"name": "ds"},
            "spec": {"selector": selector, "template": _template("ghost")},
        },
    )
    _apply(
        cluster,
        k,
        ns,
        {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {"name": "sts"},
            "spec": {"selector": selector, "serviceName": "sts", "template": _template("ghost")},
        },
    )

    def failed() -> dict[str, tuple[str, str]]:
        return {
            e["involvedObject"]["kind"]: (e["message"], e["source"]["component"])
            for e in _events(cluster, k, ns, "FailedCreate")
        }

    got = cluster.wait_for(lambda: len(failed()) == 3 and failed(), timeout=20)
    assert got["Job"] == (f"Error creating: {_refusal(ns, 'job-', 'ghost')}", "job-controller")
    assert got["DaemonSet"] == (f"Error creating: {_refusal(ns, 'ds-', 'ghost')}", "daemonset-controller")
    assert got["StatefulSet"] == (
        f"create Pod sts-0 in StatefulSet sts failed error: {_refusal(ns, 'sts-0', 'ghost')}",
        "statefulset-controller",
    )
    pods = cluster.kubectl(k, "-n", ns, "get", "pods", "-o", "name").stdout
    assert pods.strip() == ""
