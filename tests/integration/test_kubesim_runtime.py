"""The pod runtime: the stripe stand-in runs as a real process behind a Service, its logs served by pods/log."""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import KUBECTLS, Cluster

pytestmark = pytest.mark.integration

CHARGE = "amount=5000&currency=usd&source=tok_visa"


def _stripe(ns: str) -> list[dict[str, Any]]:
    labels = {"app": "stripe-mock"}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "stripe-mock", "namespace": ns, "labels": labels},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "containers": [
                            {
                                "name": "stripe-mock",
                                "image": "stripe/stripe-mock:latest",
                                "ports": [{"containerPort": 12111}],
                                "readinessProbe": {"tcpSocket": {"port": 12111}, "periodSeconds": 1},
                            }
                        ]
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "stripe-mock", "namespace": ns},
            "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": 12111}]},
        },
    ]


@pytest.fixture(scope="module")
def stripe(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    ns = cluster.namespace("stripe")
    for obj in _stripe(ns):
        plural = "deployments" if obj["kind"] == "Deployment" else "services"
        prefix = "/apis/apps/v1" if plural == "deployments" else "/api/v1"
        status, body = cluster.json("POST", f"{prefix}/namespaces/{ns}/{plural}", obj)
        assert status == 201, body
    cluster.wait_for(lambda: _endpoints(cluster, ns), timeout=20)
    yield ns
    cluster.record_pod_pids()


def _endpoints(cluster: Cluster, ns: str) -> list[str]:
    _, ep = cluster.json("GET", f"/api/v1/namespaces/{ns}/endpoints/stripe-mock")
    return [a["ip"] for s in (ep or {}).get("subsets") or [] for a in s.get("addresses") or []]


def _proxy(ns: str, rest: str) -> str:
    return f"/api/v1/namespaces/{ns}/services/stripe-mock:80/proxy/{rest}"


def _pod(cluster: Cluster, ns: str) -> dict[str, Any]:
    _, pods = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector=app%3Dstripe-mock")
    assert len(pods["items"]) == 1, pods
    return pods["items"][0]


def _on_loopback(cluster: Cluster, ip: str, port: int) -> tuple[str, int]:
    """Where a pod process's connect to ClusterIP:port lands (the cluster's published network map)."""
    from kubesim.runtime.hook.sitecustomize import NetMap

    net = NetMap.from_json((cluster.state / "net.json").read_text())
    return net.loopback(ip, port)


def _cluster_ip_post(cluster: Cluster, ip: str, path: str, body: str) -> tuple[int, Any]:
    """POST to a ClusterIP:80 the way a pod does, through the loopback address kube-proxy listens on."""
    host, port = _on_loopback(cluster, ip, 80)
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request(
            "POST",
            path,
            body=body,
            headers={"Authorization": "Bearer sk_test_mock", "Content-Type": "application/x-www-form-urlencoded"},
        )
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def test_stripe_mock_is_a_real_process(cluster: Cluster, stripe: str) -> None:
    pod = _pod(cluster, stripe)
    assert pod["status"]["phase"] == "Running"
    assert {c["type"]: c["status"] for c in pod["status"]["conditions"]}["Ready"] == "True"
    pidfiles = list((cluster.state / "pods").glob("*.pid"))
    pids = [int(p.read_text()) for p in pidfiles]
    cmdlines = [Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0") for pid in pids if Path(f"/proc/{pid}").exists()]
    assert any(b"services.stripe_mock" in c for c in cmdlines), cmdlines


def test_charge_through_the_cluster(cluster: Cluster, stripe: str) -> None:
    # The API server's service proxy reaches the process; as on a real cluster it does not pass the
    # caller's credential on, so the stand-in answers its own Stripe-style 401 (and never sees our token).
    status, _, raw = cluster.request(
        "POST", _proxy(stripe, "v1/charges"), CHARGE, headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    body = json.loads(raw)
    assert status == 401, body
    assert body["error"]["type"] == "invalid_request_error"
    assert cluster.token not in body["error"]["message"]
    assert "Authorization was ''" in body["error"]["message"]

    # kubectl get --raw through the proxy reaches the process too (its log shows the request); kubectl reads
    # the stand-in's 401 as its own, exactly as against a real API server.
    if KUBECTLS:
        out = cluster.kubectl(KUBECTLS[0], "get", "--raw", _proxy(stripe, "v1/charges/ch_missing"), check=False)
        assert out.returncode != 0 and "You must be logged in to the server" in out.stderr, out.stderr
        name = _pod(cluster, stripe)["metadata"]["name"]
        log = cluster.request("GET", f"/api/v1/namespaces/{stripe}/pods/{name}/log")[2].decode()
        assert "Request: GET /v1/charges/ch_missing status=401" in log, log

    # A pod's view: the Service's ClusterIP on port 80, with the Stripe test key.
    _, svc = cluster.json("GET", f"/api/v1/namespaces/{stripe}/services/stripe-mock")
    status, charge = _cluster_ip_post(cluster, svc["spec"]["clusterIP"], "/v1/charges", CHARGE)
    assert status == 200, charge
    assert re.fullmatch(r"ch_\w+", charge["id"]), charge
    assert (charge["object"], charge["amount"], charge["currency"], charge["paid"]) == ("charge", 5000, "usd", True)


def test_pod_logs(cluster: Cluster, stripe: str) -> None:
    _, svc = cluster.json("GET", f"/api/v1/namespaces/{stripe}/services/stripe-mock")
    for _ in range(3):
        _cluster_ip_post(cluster, svc["spec"]["clusterIP"], "/v1/charges", CHARGE)
    name = _pod(cluster, stripe)["metadata"]["name"]
    path = f"/api/v1/namespaces/{stripe}/pods/{name}/log"

    def text(query: str = "") -> str:
        status, headers, raw = cluster.request("GET", path + query)
        assert status == 200, raw
        assert headers["content-type"].startswith("text/plain")
        return raw.decode()

    every = cluster.wait_for(lambda: (t := text()).count("Request: POST /v1/charges status=200") >= 3 and t)
    lines = every.splitlines()
    assert any("Listening for HTTP on port: 12111" in line for line in lines), every
    tail = text("?tailLines=2").splitlines()
    assert tail == lines[-2:]
    stamped = text("?timestamps=true&tailLines=1").splitlines()
    assert len(stamped) == 1
    stamp, _, rest = stamped[0].partition(" ")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z", stamp) and rest == lines[-1]
    time.sleep(1.1)
    assert text("?sinceSeconds=1") == ""
    _cluster_ip_post(cluster, svc["spec"]["clusterIP"], "/v1/charges", CHARGE)
    recent = cluster.wait_for(lambda: text("?sinceSeconds=1")).splitlines()
    assert len(recent) == 1 and "Request: POST /v1/charges status=200" in recent[0]
    status, _, raw = cluster.request("GET", path + "?container=nope")
    assert status == 400 and b"container nope is not valid" in raw
    if KUBECTLS:
        out = cluster.kubectl(KUBECTLS[0], "-n", stripe, "logs", "deployment/stripe-mock", "--tail=1")
        assert "Request: POST /v1/charges status=200" in out.stdout


def test_scale_to_zero_empties_the_service(cluster: Cluster, stripe: str) -> None:
    _, svc = cluster.json("GET", f"/api/v1/namespaces/{stripe}/services/stripe-mock")
    ip = svc["spec"]["clusterIP"]
    uid = _pod(cluster, stripe)["metadata"]["uid"]  # other tests' pods share this cluster: only this one counts
    pid_before = {int(p.read_text()) for p in (cluster.state / "pods").glob(f"{uid}_*.pid")}
    assert pid_before
    status, _ = cluster.json(
        "PATCH",
        f"/apis/apps/v1/namespaces/{stripe}/deployments/stripe-mock/scale",
        json.dumps({"spec": {"replicas": 0}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert status == 200
    cluster.wait_for(lambda: not _endpoints(cluster, stripe), timeout=20)
    status, _, raw = cluster.request("GET", _proxy(stripe, "v1/charges"))
    body = json.loads(raw)
    assert (status, body["reason"], body["message"]) == (
        503,
        "ServiceUnavailable",
        'no endpoints available for service "stripe-mock"',
    )
    # kube-proxy: nothing listens on the ClusterIP port any more: a genuine connection refused
    with pytest.raises(ConnectionRefusedError), socket.create_connection(_on_loopback(cluster, ip, 80), timeout=2):
        pass
    if KUBECTLS:
        out = cluster.kubectl(KUBECTLS[0], "get", "--raw", _proxy(stripe, "v1/charges"), check=False)
        assert 'no endpoints available for service "stripe-mock"' in out.stderr
    # the stopped pod's process is gone
    cluster.wait_for(
        lambda: (
            not list((cluster.state / "pods").glob(f"{uid}_*.pid"))
            or all(not os.path.exists(f"/proc/{pid}") for pid in pid_before)
        ),
        timeout=20,
    )
