"""incident_sentinel against the embedded cluster, run as the in-process action runs it (execute + kubernetes.core's
client): a sentinel in a state namespace of its own probes INCIDENT-6's recovery check on a real payment gateway
and stripe-mock in the target namespace, records the outage and the recovery, and `read` turns its log into the
time to mitigate; an http check, a changed check that rolls the sentinel out anew, a Service that does not exist,
and the refusals. Every test deletes the sentinel and the workloads it made, also when it fails."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils.sockshop_module import ModuleError, api_client, auth_spec, execute, iso, parse_iso

from plugins.modules import incident_sentinel as module
from tests.integration import web
from tests.integration.conftest import ROOT, Cluster

pytestmark = pytest.mark.integration

PAYMENT_CHECK = yaml.safe_load((ROOT / "incidents" / "incident-6.yml").read_text())["recovery"]["confirm"][0]
SENTINEL_LABELS = "sockshop.io%2Frole%3Dsentinel"


@pytest.fixture(autouse=True)
def discovery_cache_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """kubernetes.core caches the API discovery in the temporary directory: keep it in the test's own."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))


@pytest.fixture
def state_ns(cluster: Cluster) -> str:
    """The incident's state namespace, where the sentinel runs (not the target namespace)."""
    return cluster.namespace("sentinel-state")


def sentinel(cluster: Cluster, *, check_mode: bool = False, **changes: Any) -> dict[str, Any]:
    """One run of the module with these parameters (the defaults of its argument spec for the rest)."""
    params: dict[str, Any] = {key: None for key in auth_spec()}
    params.update({key: spec.get("default") for key, spec in module.ARGUMENT_SPEC.items() if key not in params})
    params.update(kubeconfig=str(cluster.kubeconfig), context="local-sockshop", **changes)
    return execute(module.run, params, check_mode, lambda: api_client(params))


def create(cluster: Cluster, path: str, body: dict[str, Any]) -> None:
    status, out = cluster.json("POST", path, body)
    assert status == 201, out


def workload(cluster: Cluster, ns: str, name: str, container: dict[str, Any], *, port: int, target: int) -> None:
    labels = {"app": name}
    template = {"metadata": {"labels": labels}, "spec": {"containers": [container]}}
    create(
        cluster,
        f"/apis/apps/v1/namespaces/{ns}/deployments",
        {
            "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": template},
        },
    )
    create(
        cluster,
        f"/api/v1/namespaces/{ns}/services",
        {"metadata": {"name": name}, "spec": {"selector": labels, "ports": [{"port": port, "targetPort": target}]}},
    )


def endpoints(cluster: Cluster, ns: str, name: str) -> int:
    _, body = cluster.json("GET", f"/api/v1/namespaces/{ns}/endpoints/{name}")
    return sum(len(s.get("addresses") or []) for s in (body or {}).get("subsets") or [])


def scale(cluster: Cluster, ns: str, name: str, replicas: int) -> None:
    path = f"/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale"
    merge = {"Content-Type": "application/merge-patch+json"}
    status, _, body = cluster.request("PATCH", path, json.dumps({"spec": {"replicas": replicas}}), headers=merge)
    assert status == 200, body
    cluster.wait_for(lambda: endpoints(cluster, ns, name) == replicas, timeout=30, interval=0.1)


def delete_deployments(cluster: Cluster, ns: str, *names: str) -> None:
    for name in names:
        cluster.request("DELETE", f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")

    def pods_gone() -> bool:
        _, body = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods")
        return not any(p["metadata"]["labels"].get("app") in names for p in body["items"])

    cluster.wait_for(pods_gone, timeout=30, interval=0.2)


def sentinel_pods(cluster: Cluster, ns: str) -> list[dict[str, Any]]:
    _, body = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector={SENTINEL_LABELS}")
    return list(body["items"])


@pytest.fixture
def shop(cluster: Cluster, ns: str) -> Iterator[str]:
    """The payment gateway and stripe-mock of INCIDENT-6 in `ns`, both serving; deleted afterwards."""
    workload(
        cluster,
        ns,
        "stripe-mock",
        {
            "name": "stripe-mock",
            "image": "stripe/stripe-mock:latest",
            "readinessProbe": {"tcpSocket": {"port": 12111}, "periodSeconds": 1},
        },
        port=80,
        target=12111,
    )
    workload(
        cluster,
        ns,
        "payment",
        {
            "name": "payment",
            "image": "sock-shop-payment-gateway:v2",
            "env": [{"name": "PAYMENT_GATEWAY_URL", "value": "http://stripe-mock"}, {"name": "PORT", "value": "8080"}],
            "readinessProbe": {"httpGet": {"path": "/health", "port": 8080}, "periodSeconds": 1},
        },
        port=80,
        target=8080,
    )
    try:
        cluster.wait_for(lambda: endpoints(cluster, ns, "stripe-mock") == endpoints(cluster, ns, "payment") == 1, 60)
        yield ns
    finally:
        delete_deployments(cluster, ns, "stripe-mock", "payment")


@pytest.fixture
def stopped(cluster: Cluster, state_ns: str) -> Iterator[list[str]]:
    """The ids of the sentinels a test starts: each is stopped (state=absent) afterwards, whatever happened."""
    started: list[str] = []
    try:
        yield started
    finally:
        for incident in started:
            sentinel(cluster, incident_id=incident, namespace=state_ns, target_namespace="x", state="absent")
        assert sentinel_pods(cluster, state_ns) == []


def test_the_sentinel_records_the_outage_and_when_payments_came_back(
    cluster: Cluster, shop: str, state_ns: str, stopped: list[str]
) -> None:
    where: dict[str, Any] = {"incident_id": "6", "namespace": state_ns, "target_namespace": shop}
    scale(cluster, shop, "stripe-mock", 0)  # the incident: payments declined with connection refused
    since = iso(dt.datetime.now(dt.UTC))

    stopped.append("6")
    started = time.monotonic()
    first = sentinel(cluster, **where, check=PAYMENT_CHECK)
    took = time.monotonic() - started
    print(f"present took {took:.2f}s until the first sample")
    name = "sockshop-incident-6-sentinel"
    assert first["changed"] is True and first["name"] == name
    assert first["objects"] == [f"ConfigMap/{name}", f"Deployment/{name}"]
    sample = first["first_sample"]
    assert sample["ok"] is False and sample["status"] == 200, sample
    assert sample["detail"].startswith("authorised=false: Payment gateway error"), sample
    assert took < 30

    # Idempotent: the same check changes nothing; check mode with another one says what it would replace.
    again = sentinel(cluster, **where, check=PAYMENT_CHECK)
    assert (again["changed"], again["objects"], again["first_sample"]) == (False, [], sample)
    other = dict(PAYMENT_CHECK, check=dict(PAYMENT_CHECK["check"], amount=20))
    plan = sentinel(cluster, check_mode=True, **where, check=other)
    assert plan["changed"] is True and plan["objects"] == first["objects"] and plan["first_sample"] is None
    assert "would create or replace" in plan["msg"]
    (pod,) = sentinel_pods(cluster, state_ns)  # nothing was rolled out
    assert pod["metadata"]["name"].startswith(name)

    broken = sentinel(cluster, **where, state="read", since=since)
    assert broken["changed"] is False and broken["samples"] >= 1 and broken["successes"] == 0
    assert (broken["mitigated_at"], broken["ttm_s"]) == (None, None)

    scale(cluster, shop, "stripe-mock", 1)  # the responder's fix
    fixed_at = dt.datetime.now(dt.UTC)

    def mitigated() -> dict[str, Any] | None:
        got = sentinel(cluster, **where, state="read", since=since, consecutive=3)
        return got if got["mitigated_at"] else None

    read = cluster.wait_for(mitigated, timeout=30, interval=0.5)
    mitigated_at = parse_iso(read["mitigated_at"])
    assert fixed_at - dt.timedelta(seconds=2) <= mitigated_at <= fixed_at + dt.timedelta(seconds=10), read
    assert read["ttm_s"] == round((mitigated_at - parse_iso(since)).total_seconds(), 1)
    assert read["last"]["ok"] is True and read["last"]["detail"].startswith("authorised: Payment authorized")
    assert read["successes"] >= 3 and read["failures"] >= 1
    assert read["samples"] == read["successes"] + read["failures"]
    # one sample a second
    span = (parse_iso(read["last_at"]) - parse_iso(read["first_at"])).total_seconds()
    assert abs(read["samples"] - 1 - span) <= 2, read
    one = sentinel(cluster, **where, state="read", since=since, consecutive=1)
    assert one["mitigated_at"] <= read["mitigated_at"]
    late = sentinel(cluster, **where, state="read", since=iso(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)))
    assert (late["mitigated_at"], late["ttm_s"]) == (None, None) and late["samples"] >= read["samples"]

    gone = sentinel(cluster, **where, state="absent")
    assert gone["changed"] is True and gone["objects"] == [f"Deployment/{name}", f"ConfigMap/{name}"]
    assert sentinel_pods(cluster, state_ns) == []
    assert sentinel(cluster, **where, state="absent") == {"changed": False, "name": name, "objects": []}
    assert sentinel(cluster, check_mode=True, **where, state="absent")["changed"] is False
    with pytest.raises(ModuleError, match=r"it was not started\. Responder mode starts it"):
        sentinel(cluster, **where, state="read", since=since)


def test_an_http_check_a_changed_check_and_a_missing_service(
    cluster: Cluster, ns: str, state_ns: str, stopped: list[str]
) -> None:
    web.deploy(cluster, ns, web.container(web.server()))
    try:
        where: dict[str, Any] = {"namespace": state_ns, "target_namespace": ns}
        check: dict[str, Any] = {
            "name": "web answers",
            "kind": "http",
            "within_s": 10,
            "check": {"service": "web", "path": "/x"},
        }
        stopped.append("8")
        up = sentinel(cluster, incident_id="8", **where, check=dict(check, check=dict(check["check"], status=[200])))
        assert up["first_sample"]["ok"] is True and up["first_sample"]["detail"] == "HTTP 200", up
        # Another check: both objects replaced, and the first sample is the new pod's.
        changed = dict(check, check=dict(check["check"], status=[404]))
        rolled = sentinel(cluster, incident_id="8", **where, check=changed)
        assert rolled["changed"] is True and len(rolled["objects"]) == 2
        assert rolled["first_sample"]["ok"] is False
        assert rolled["first_sample"]["detail"].startswith("HTTP 200 (want 404)"), rolled

        stopped.append("8B")
        missing = dict(check, check={"service": "nothing", "path": "/", "status": [200]})
        dns = sentinel(cluster, incident_id="8B", **where, check=missing)
        assert dns["warnings"] == [
            f"there is no Service nothing in namespace {ns}: the sentinel records failed samples until there is one"
        ]
        assert dns["first_sample"]["ok"] is False and dns["first_sample"]["detail"].startswith("dns: "), dns
    finally:
        delete_deployments(cluster, ns, "web")


def test_refusals(cluster: Cluster, ns: str) -> None:
    with pytest.raises(ModuleError, match="the namespace no-such-state does not exist"):
        sentinel(cluster, incident_id="6", namespace="no-such-state", target_namespace=ns, check=PAYMENT_CHECK)
    with pytest.raises(ModuleError, match="there is no sentinel sockshop-incident-6-sentinel in namespace"):
        sentinel(cluster, incident_id="6", namespace=ns, target_namespace=ns, state="read")
    orders = {"name": "orders", "kind": "orders", "within_s": 1, "check": {}}
    with pytest.raises(ModuleError, match="supports probe and http"):
        sentinel(cluster, incident_id="6", namespace=ns, target_namespace=ns, check=orders)
    _, body = cluster.json("GET", f"/api/v1/namespaces/{ns}/configmaps?labelSelector={SENTINEL_LABELS}")
    assert body["items"] == []  # nothing was written
