"""What the runtime runs for an image: a load generator's Job with its locustfile from a ConfigMap, a pod's
volumes as directories its program is pointed at, and the kubelet's ErrImagePull / ImagePullBackOff when the
program an image needs is not installed on this machine (a cluster started with a PATH that lacks it)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import KUBECTLS, Cluster, make_cluster, require_kubectl, running_cluster

pytestmark = pytest.mark.integration

LOCUSTFILE = """\
from locust import HttpUser, constant, task


class Shopper(HttpUser):
    wait_time = constant(0.2)

    @task
    def health(self) -> None:
        self.client.get("/health")
"""


def create(cluster: Cluster, ns: str, path: str, body: dict[str, Any]) -> None:
    status, answer = cluster.json("POST", path.format(ns=ns), body)
    assert status == 201, answer


def target(cluster: Cluster, ns: str) -> None:
    """The payment gateway in mock mode behind Service `target`: something real for the load to hit."""
    labels = {"app": "target"}
    container = {
        "name": "target",
        "image": "sock-shop-payment-gateway:v2",
        "env": [{"name": "PAYMENT_GATEWAY_URL", "value": ""}, {"name": "PORT", "value": "8080"}],
        "readinessProbe": {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 1},
    }
    create(
        cluster,
        ns,
        "/apis/apps/v1/namespaces/{ns}/deployments",
        {
            "metadata": {"name": "target"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {"metadata": {"labels": labels}, "spec": {"containers": [container]}},
            },
        },
    )
    create(
        cluster,
        ns,
        "/api/v1/namespaces/{ns}/services",
        {"metadata": {"name": "target"}, "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]}},
    )
    cluster.wait_for(lambda: endpoints_ready(cluster, ns, "target"), timeout=30)


def endpoints_ready(cluster: Cluster, ns: str, name: str) -> bool:
    _, body = cluster.json("GET", f"/api/v1/namespaces/{ns}/endpoints/{name}")
    return any(s.get("addresses") for s in (body or {}).get("subsets") or [])


def pod_of(cluster: Cluster, ns: str, selector: str) -> dict[str, Any]:
    _, body = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector={selector}")
    items = body["items"]
    assert len(items) == 1, items
    return dict(items[0])


def test_a_locust_job_reads_its_locustfile_from_a_configmap_and_runs_to_completion(cluster: Cluster, ns: str) -> None:
    target(cluster, ns)
    create(
        cluster,
        ns,
        "/api/v1/namespaces/{ns}/configmaps",
        {"metadata": {"name": "locustfile"}, "data": {"locustfile.py": LOCUSTFILE}},
    )
    job = {
        "metadata": {"name": "load"},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {"job": "load"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "locust",
                            "image": "locustio/locust:2.32.1",
                            "command": ["locust"],
                            "args": [
                                "-f", "/mnt/locust/locustfile.py", "--headless", "-u", "5", "-r", "5",
                                "--run-time", "4s", "--host", "http://target", "--csv", "/tmp/stats", "--only-summary",
                            ],
                            "volumeMounts": [
                                {"name": "locustfile", "mountPath": "/mnt/locust"},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "locustfile", "configMap": {"name": "locustfile"}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }  # fmt: skip
    create(cluster, ns, "/apis/batch/v1/namespaces/{ns}/jobs", job)

    def succeeded() -> bool:
        _, body = cluster.json("GET", f"/apis/batch/v1/namespaces/{ns}/jobs/load")
        return int((body.get("status") or {}).get("succeeded") or 0) == 1

    cluster.wait_for(succeeded, timeout=90, interval=0.5)
    pod = pod_of(cluster, ns, "job=load")
    assert pod["status"]["phase"] == "Succeeded"
    status, _, log = cluster.request("GET", f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}/log")
    text = log.decode()
    assert status == 200
    row = re.search(r"GET\s+/health\s+(\d+)\s+(\d+)\s+\S+\s+\S+\s+\S+\s+(\d+)", text)  # 50%, 66%, ... 95%
    assert row, text[-3000:]
    assert "Aggregated" in text and "Error report" not in text.split("Response time percentiles")[0], text[-3000:]
    # The CSV went into the pod's /tmp volume, a directory of the pod's own on this machine.
    stats = next((cluster.state / "pods" / pod["metadata"]["uid"] / "volumes" / "tmp").glob("stats_stats.csv"))
    rows = stats.read_text().splitlines()
    assert rows[0].startswith("Type,Name,Request Count,Failure Count,Median Response Time")
    health = next(r.split(",") for r in rows if ",/health," in r)
    assert int(health[2]) > 5 and int(health[3]) == 0  # requests made, none failed


@pytest.fixture
def cluster_without_sbin(tmp_path: Path) -> Iterator[Cluster]:
    """A cluster whose PATH lacks /usr/sbin: for it, MariaDB (mariadbd lives there) is not installed."""
    env_path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if not p.endswith("/sbin"))
    base = make_cluster(tmp_path / "kubesim")
    base.env["PATH"] = env_path
    with running_cluster(tmp_path / "kubesim", cluster=base) as cluster:
        yield cluster


def pull_failure(cluster: Cluster, ns: str, selector: str) -> dict[str, Any] | None:
    """The waiting state of the first container that could not get its image, if any."""
    _, body = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector={selector}")
    for pod in body["items"]:
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            reason = ((status.get("state") or {}).get("waiting") or {}).get("reason")
            if reason in ("ErrImagePull", "ImagePullBackOff"):
                return dict(status["state"]["waiting"])
    return None


def test_a_sock_shop_image_without_a_local_program_is_refused_not_faked(cluster: Cluster, ns: str) -> None:
    """The shop's edge router has no local program: its pod must not turn Ready as a placeholder would."""
    body = {
        "metadata": {"name": "edge-router", "labels": {"app": "edge-router"}},
        "spec": {"containers": [{"name": "edge-router", "image": "weaveworksdemos/edge-router:0.1.1"}]},
    }
    create(cluster, ns, "/api/v1/namespaces/{ns}/pods", body)
    state = cluster.wait_for(lambda: pull_failure(cluster, ns, "app=edge-router"), timeout=20)
    assert state["message"] == (
        "no local program runs the Sock Shop image docker.io/weaveworksdemos/edge-router: "
        "the embedded cluster does not fake its services"
    ), state
    _, pod = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods/edge-router")
    ready = [c["status"] for c in pod["status"]["conditions"] if c["type"] == "Ready"]
    assert ready == ["False"], pod["status"]


def test_an_image_whose_server_is_not_installed_waits_in_image_pull_back_off(cluster_without_sbin: Cluster) -> None:
    cluster = cluster_without_sbin
    ns = cluster.namespace("nodb")
    labels = {"app": "catalogue-db"}
    create(
        cluster,
        ns,
        "/apis/apps/v1/namespaces/{ns}/deployments",
        {
            "metadata": {"name": "catalogue-db"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [{"name": "db", "image": "quay.io/powercloud/sock-shop-catalogue-db:latest"}]
                    },
                },
            },
        },
    )

    state = cluster.wait_for(lambda: pull_failure(cluster, ns, "app=catalogue-db"), timeout=20)
    assert "the Debian package mariadb-server is not installed" in state["message"], state
    _, events = cluster.json("GET", f"/api/v1/namespaces/{ns}/events")
    messages = [e["message"] for e in events["items"]]
    assert any(
        m.startswith('Failed to pull image "quay.io/powercloud/sock-shop-catalogue-db:latest": the Debian package')
        for m in messages
    ), messages
    if KUBECTLS:
        require_kubectl()
        out = cluster.kubectl(KUBECTLS[0], "-n", ns, "get", "pods", "--no-headers")
        assert re.search(r"catalogue-db-\S+\s+0/1\s+(ErrImagePull|ImagePullBackOff)\s+0", out.stdout), out.stdout


def test_a_command_missing_from_the_image_fails_to_start_as_runc_reports(cluster: Cluster, ns: str) -> None:
    pod = {
        "metadata": {"name": "nocmd"},
        "spec": {"containers": [{"name": "main", "image": "python:3.11-slim", "command": ["no-such-program", "-x"]}]},
    }
    create(cluster, ns, "/api/v1/namespaces/{ns}/pods", pod)

    def waiting() -> dict[str, Any] | None:
        _, got = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods/nocmd")
        statuses = (got.get("status") or {}).get("containerStatuses") or [{}]
        last = statuses[0].get("lastState", {}).get("terminated") or {}
        return statuses[0] if last.get("reason") == "StartError" else None

    status = cluster.wait_for(waiting, timeout=15)
    why = 'exec: "no-such-program": executable file not found in $PATH: unknown'
    assert status["state"]["waiting"]["reason"] in ("RunContainerError", "CrashLoopBackOff")
    last = status["lastState"]["terminated"]
    assert last["exitCode"] == 128
    assert last["message"] == (
        "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
        f"runc create failed: unable to start container process: {why}"
    )
    _, events = cluster.json("GET", f"/api/v1/namespaces/{ns}/events")
    assert any(e["reason"] == "Failed" and e["message"].endswith(why) for e in events["items"])
