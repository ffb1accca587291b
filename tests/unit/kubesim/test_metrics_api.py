"""metrics.k8s.io/v1beta1 as metrics-server serves it: PodMetrics and NodeMetrics built from a fixed set of measured
containers and the stored pods and nodes, the selectors the real server accepts, its 404s, and its discovery."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from kubesim import errors, metrics_api, resources
from kubesim.api import API
from kubesim.logs import LogStore
from kubesim.registry import Registry
from kubesim.store import Store
from kubesim.usage import ContainerUsage
from tests.unit.kubesim.usage_fakes import FakeUsage, usage_record

NOW = 1_790_000_000.0  # 2026-09-21T14:13:20Z
NOW_TEXT = "2026-09-21T14:13:20Z"
NS = "sock-shop"
WORKER = "sockshop-worker"
CONTROL_PLANE = "sockshop-control-plane"


def rec(pod: str, container: str, cpu: float, memory: int, *, ns: str = NS, **kw: Any) -> ContainerUsage:
    fields: dict[str, Any] = {
        "namespace": ns,
        "timestamp": NOW - 1,
        "window_s": 2.005,
        "cpu_seconds_total": 12.5,
        "cpu_cores": cpu,
        "memory_working_set_bytes": memory,
        "memory_rss_bytes": memory // 2,
    }
    return usage_record(pod, container, **(fields | kw))


def put_pod(
    store: Store,
    name: str,
    containers: list[str],
    *,
    ns: str = NS,
    labels: dict[str, str] | None = None,
    node: str = WORKER,
) -> None:
    meta: dict[str, Any] = {"name": name, "namespace": ns, "uid": f"uid-{name}"}
    if labels is not None:
        meta["labels"] = labels
    store.put(
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": meta,
            "spec": {"nodeName": node, "containers": [{"name": c, "image": "x"} for c in containers]},
            "status": {"phase": "Running"},
        },
    )


def put_node(store: Store, name: str, labels: dict[str, str]) -> None:
    store.put(
        "nodes",
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "status": {"allocatable": {"cpu": "2", "memory": "8Gi"}},
        },
    )


@pytest.fixture
def store() -> Store:
    s = Store(None)
    put_node(s, CONTROL_PLANE, {"kubernetes.io/hostname": CONTROL_PLANE, "node-role.kubernetes.io/control-plane": ""})
    put_node(s, WORKER, {"kubernetes.io/hostname": WORKER, "node-role.kubernetes.io/worker": ""})
    put_pod(s, "carts-1", ["carts", "sidecar"], labels={"name": "carts", "tier": "backend"})
    put_pod(s, "front-end-1", ["front-end"], labels={"name": "front-end", "tier": "frontend"})
    put_pod(s, "placeholder-1", ["pause"], labels={"name": "placeholder", "tier": "backend"})
    put_pod(s, "orders-1", ["orders"], ns="other", labels={"name": "orders", "tier": "backend"})
    put_pod(s, "unlabelled", ["main"])
    return s


@pytest.fixture
def usage() -> FakeUsage:
    return FakeUsage(
        [
            # Listed out of the spec's order: the PodMetrics follows the spec.
            rec("carts-1", "sidecar", 0.001, 2 * 1024 * 1024, timestamp=NOW - 0.5, window_s=1.5),
            rec("carts-1", "carts", 0.0123456789, 10 * 1024 * 1024 + 512),
            rec("front-end-1", "front-end", 0.25, 64 * 1024 * 1024, window_s=10.0),
            rec("orders-1", "orders", 1.5, 300 * 1024 * 1024, ns="other"),
            rec("unlabelled", "main", 0.0, 4096),
        ]
    )


def names(items: list[dict[str, Any]]) -> list[str]:
    return [f"{i['metadata'].get('namespace', '')}/{i['metadata']['name']}" for i in items]


# ---- PodMetrics ------------------------------------------------------------------------------------------------
def test_pod_metrics_shape(store: Store, usage: FakeUsage) -> None:
    got = metrics_api.get_pod_metrics(store, usage, NS, "carts-1", now=NOW)
    assert got == {
        "kind": "PodMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": "carts-1",
            "namespace": NS,
            "creationTimestamp": NOW_TEXT,
            "labels": {"name": "carts", "tier": "backend"},
        },
        # The earliest sample of the pod's containers gives the timestamp and the window.
        "timestamp": "2026-09-21T14:13:19Z",
        "window": "2.005s",
        "containers": [
            {"name": "carts", "usage": {"cpu": "12345679n", "memory": "10240Ki"}},
            {"name": "sidecar", "usage": {"cpu": "1000000n", "memory": "2048Ki"}},
        ],
    }


@pytest.mark.parametrize(("pod", "window"), [("carts-1", "2.005s"), ("front-end-1", "10s")])
def test_the_window_is_a_go_duration(store: Store, usage: FakeUsage, pod: str, window: str) -> None:
    assert metrics_api.get_pod_metrics(store, usage, NS, pod)["window"] == window


def test_pod_without_labels_has_no_labels_field(store: Store, usage: FakeUsage) -> None:
    got = metrics_api.get_pod_metrics(store, usage, NS, "unlabelled", now=NOW)
    assert got["metadata"] == {"name": "unlabelled", "namespace": NS, "creationTimestamp": NOW_TEXT}
    assert got["containers"] == [{"name": "main", "usage": {"cpu": "0n", "memory": "4Ki"}}]


@pytest.mark.parametrize(
    ("namespace", "selectors", "expected"),
    [  # ordered by namespace, then name, as the real API orders pods
        (NS, (None, None), [f"{NS}/carts-1", f"{NS}/front-end-1", f"{NS}/unlabelled"]),
        (None, (None, None), ["other/orders-1", f"{NS}/carts-1", f"{NS}/front-end-1", f"{NS}/unlabelled"]),
        ("other", (None, None), ["other/orders-1"]),
        ("empty", (None, None), []),
        (NS, ("tier=backend", None), [f"{NS}/carts-1"]),
        (None, ("tier=backend", None), ["other/orders-1", f"{NS}/carts-1"]),
        (NS, ("tier!=backend", None), [f"{NS}/front-end-1", f"{NS}/unlabelled"]),
        (None, ("name in (front-end,orders)", None), ["other/orders-1", f"{NS}/front-end-1"]),
        (None, ("!tier", None), [f"{NS}/unlabelled"]),
        (NS, (None, "metadata.name=front-end-1"), [f"{NS}/front-end-1"]),
        (NS, (None, "metadata.name!=front-end-1"), [f"{NS}/carts-1", f"{NS}/unlabelled"]),
        (None, (None, "metadata.namespace=other"), ["other/orders-1"]),
        (None, (None, "metadata.namespace!=other"), [f"{NS}/carts-1", f"{NS}/front-end-1", f"{NS}/unlabelled"]),
        (None, ("tier=backend", "metadata.namespace=other"), ["other/orders-1"]),
        (NS, (None, "metadata.name=placeholder-1"), []),  # selected, but not measured
    ],
)
def test_pod_metrics_selection(
    store: Store,
    usage: FakeUsage,
    namespace: str | None,
    selectors: tuple[str | None, str | None],
    expected: list[str],
) -> None:
    label_selector, field_selector = selectors
    got = metrics_api.pod_metrics(
        store, usage, namespace, label_selector=label_selector, field_selector=field_selector, now=NOW
    )
    assert names(got) == expected


@pytest.mark.parametrize("field", ["spec.nodeName", "status.phase", "metadata.labels"])
def test_pod_field_selectors_beyond_metadata_are_refused(store: Store, usage: FakeUsage, field: str) -> None:
    with pytest.raises(errors.APIError) as exc:
        metrics_api.pod_metrics(store, usage, NS, field_selector=f"{field}=x")
    assert exc.value.code == 400
    assert exc.value.message == f'"{field}" is not a known field selector: only "metadata.name", "metadata.namespace"'


def test_placeholder_only_pods_are_not_measured(store: Store, usage: FakeUsage) -> None:
    assert "placeholder-1" not in [i["metadata"]["name"] for i in metrics_api.pod_metrics(store, usage, NS)]
    with pytest.raises(errors.APIError) as exc:
        metrics_api.get_pod_metrics(store, usage, NS, "placeholder-1")
    assert (exc.value.code, exc.value.reason) == (404, "NotFound")
    assert exc.value.message == f'podmetrics.metrics.k8s.io "{NS}/placeholder-1" not found'
    assert exc.value.details == {"name": f"{NS}/placeholder-1", "group": "metrics.k8s.io", "kind": "podmetrics"}


def test_a_pod_that_does_not_exist_is_not_found_as_a_pod(store: Store, usage: FakeUsage) -> None:
    with pytest.raises(errors.APIError) as exc:
        metrics_api.get_pod_metrics(store, usage, NS, "nope")
    assert (exc.value.code, exc.value.message) == (404, 'pods "nope" not found')


def test_records_of_an_earlier_pod_of_the_same_name_do_not_count(store: Store) -> None:
    stale = FakeUsage([rec("front-end-1", "front-end", 0.5, 1024, uid="uid-of-a-deleted-pod")])
    assert metrics_api.pod_metrics(store, stale, NS) == []


def test_records_of_pods_not_in_the_store_are_not_served(store: Store) -> None:
    gone = FakeUsage([rec("deleted-1", "main", 0.5, 1024)])
    assert metrics_api.pod_metrics(store, gone, None) == []


def test_without_a_usage_source_nothing_is_measured(store: Store) -> None:
    assert metrics_api.pod_metrics(store, None, None) == []
    assert metrics_api.node_metrics(store, None) == []
    with pytest.raises(errors.APIError) as exc:
        metrics_api.get_node_metrics(store, None, WORKER)
    assert exc.value.message == f'nodemetrics.metrics.k8s.io "{WORKER}" not found'


# ---- NodeMetrics -----------------------------------------------------------------------------------------------
def test_node_metrics_sum_the_pods_bound_to_the_node(store: Store, usage: FakeUsage) -> None:
    got = metrics_api.node_metrics(store, usage, now=NOW)
    assert [n["metadata"]["name"] for n in got] == [CONTROL_PLANE, WORKER]
    control_plane, worker = got
    assert worker == {
        "kind": "NodeMetrics",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {
            "name": WORKER,
            "creationTimestamp": NOW_TEXT,
            "labels": {"kubernetes.io/hostname": WORKER, "node-role.kubernetes.io/worker": ""},
        },
        "timestamp": "2026-09-21T14:13:19Z",
        "window": "2.005s",
        # 12345679n + 1000000n + 250000000n + 1500000000n + 0n; 10240Ki + 2048Ki + 65536Ki + 307200Ki + 4Ki
        "usage": {"cpu": "1763345679n", "memory": "385028Ki"},
    }
    # No measured pods: zero usage, not an absent node.
    assert control_plane["usage"] == {"cpu": "0n", "memory": "0Ki"}
    assert control_plane["metadata"]["labels"]["node-role.kubernetes.io/control-plane"] == ""


def test_node_usage_follows_the_pods_binding(store: Store, usage: FakeUsage) -> None:
    put_pod(store, "front-end-1", ["front-end"], node=CONTROL_PLANE)
    got = {n["metadata"]["name"]: n["usage"] for n in metrics_api.node_metrics(store, usage, now=NOW)}
    assert got[CONTROL_PLANE] == {"cpu": "250000000n", "memory": "65536Ki"}


@pytest.mark.parametrize(
    ("label_selector", "field_selector", "expected"),
    [
        (None, None, [CONTROL_PLANE, WORKER]),
        ("node-role.kubernetes.io/worker", None, [WORKER]),
        ("!node-role.kubernetes.io/worker", None, [CONTROL_PLANE]),
        (None, f"metadata.name={CONTROL_PLANE}", [CONTROL_PLANE]),
        (None, f"metadata.name!={CONTROL_PLANE}", [WORKER]),
        ("node-role.kubernetes.io/worker", f"metadata.name={CONTROL_PLANE}", []),
    ],
)
def test_node_metrics_selection(
    store: Store, usage: FakeUsage, label_selector: str | None, field_selector: str | None, expected: list[str]
) -> None:
    got = metrics_api.node_metrics(store, usage, label_selector=label_selector, field_selector=field_selector)
    assert [n["metadata"]["name"] for n in got] == expected


def test_node_get_and_its_404s(store: Store, usage: FakeUsage) -> None:
    assert metrics_api.get_node_metrics(store, usage, WORKER, now=NOW)["usage"]["cpu"] == "1763345679n"
    with pytest.raises(errors.APIError) as exc:
        metrics_api.get_node_metrics(store, usage, "nope")
    assert (exc.value.code, exc.value.message) == (404, 'node "nope" not found')
    with pytest.raises(errors.APIError) as exc:
        metrics_api.node_metrics(store, usage, field_selector="spec.unschedulable=true")
    assert exc.value.code == 400


# ---- formatting ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0s"),
        (2.005, "2.005s"),
        (5.009972811, "5.009972811s"),
        (10, "10s"),
        (0.5, "500ms"),
        (0.0000015, "1.5µs"),
        (65.5, "1m5.5s"),
        (120, "2m0s"),
        (3600, "1h0m0s"),
    ],
)
def test_windows_are_written_as_go_durations(seconds: float, text: str) -> None:
    assert metrics_api.go_duration(seconds) == text


def test_table_as_metrics_server_converts_it(store: Store, usage: FakeUsage) -> None:
    table = metrics_api.table(metrics_api.pod_metrics(store, usage, NS, now=NOW))
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "cpu", "memory", "Window"]
    assert [r["cells"] for r in table["rows"]] == [
        ["carts-1", "13345679n", "12Mi", "2.005s"],
        ["front-end-1", "250m", "64Mi", "10s"],
        ["unlabelled", "0", "4Ki", "2.005s"],
    ]
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    nodes = metrics_api.table(metrics_api.node_metrics(store, usage, now=NOW), include_object="None")
    assert [r["cells"][:3] for r in nodes["rows"]] == [[CONTROL_PLANE, "0", "0"], [WORKER, "1763345679n", "385028Ki"]]


# ---- discovery and routing -------------------------------------------------------------------------------------
def test_discovery_lists_nodes_and_pods_get_and_list_only() -> None:
    assert resources.group_versions()["metrics.k8s.io"] == ["v1beta1"]
    assert resources.api_resource_list("metrics.k8s.io", "v1beta1") == {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": "metrics.k8s.io/v1beta1",
        "resources": [
            {"name": "nodes", "singularName": "", "namespaced": False, "kind": "NodeMetrics", "verbs": ["get", "list"]},
            {"name": "pods", "singularName": "", "namespaced": True, "kind": "PodMetrics", "verbs": ["get", "list"]},
        ],
    }


def _serve(api: API, requests: list[tuple[str, str]]) -> list[tuple[int, Any]]:
    async def run() -> list[tuple[int, Any]]:
        async with TestClient(TestServer(api.app())) as client:
            out = []
            for method, path in requests:
                # A watch the store-backed CRUD would answer never ends: bounded, it fails instead of hanging.
                resp = await client.request(
                    method, path, headers={"Authorization": "Bearer t"}, timeout=aiohttp.ClientTimeout(total=10)
                )
                out.append((resp.status, json.loads(await resp.text())))
            return out

    return asyncio.run(run())


def test_the_api_routes_the_group_to_the_metrics_builders(store: Store, usage: FakeUsage, tmp_path: Path) -> None:
    api = API(Registry(store), LogStore(tmp_path / "logs"), "t")
    api.usage = lambda: usage
    rv = store.rv
    base = "/apis/metrics.k8s.io/v1beta1"
    answers = _serve(
        api,
        [
            ("GET", "/apis"),
            ("GET", "/apis/metrics.k8s.io"),
            ("GET", f"{base}/namespaces/{NS}/pods"),
            ("GET", f"{base}/pods?labelSelector=tier%3Dbackend"),
            ("GET", f"{base}/namespaces/{NS}/pods/front-end-1"),
            ("GET", f"{base}/namespaces/{NS}/pods/placeholder-1"),
            ("GET", f"{base}/nodes"),
            ("GET", f"{base}/nodes/{WORKER}"),
            ("POST", f"{base}/namespaces/{NS}/pods"),
            ("DELETE", f"{base}/namespaces/{NS}/pods/front-end-1"),
            ("GET", f"{base}/pods?watch=true"),
            ("GET", f"{base}/namespaces/{NS}/nodes"),
            ("GET", f"{base}/namespaces/{NS}/pods/front-end-1/status"),
        ],
    )
    (groups, group, ns_list, all_list, one, placeholder, nodes, node, post, delete, watch, ns_nodes, sub) = answers
    assert groups[0] == 200
    assert {
        "name": "metrics.k8s.io",
        "versions": [{"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"}],
        "preferredVersion": {"groupVersion": "metrics.k8s.io/v1beta1", "version": "v1beta1"},
    } in groups[1]["groups"]
    assert group == (200, {"kind": "APIGroup", "apiVersion": "v1", **groups[1]["groups"][-1]})
    assert ns_list[0] == 200
    assert {k: ns_list[1][k] for k in ("kind", "apiVersion", "metadata")} == {
        "kind": "PodMetricsList",
        "apiVersion": "metrics.k8s.io/v1beta1",
        "metadata": {},
    }
    assert names(ns_list[1]["items"]) == [f"{NS}/carts-1", f"{NS}/front-end-1", f"{NS}/unlabelled"]
    assert names(all_list[1]["items"]) == ["other/orders-1", f"{NS}/carts-1"]
    assert one[0] == 200 and one[1]["containers"] == [
        {"name": "front-end", "usage": {"cpu": "250000000n", "memory": "65536Ki"}}
    ]
    assert placeholder == (
        404,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": f'podmetrics.metrics.k8s.io "{NS}/placeholder-1" not found',
            "reason": "NotFound",
            "code": 404,
            "details": {"name": f"{NS}/placeholder-1", "group": "metrics.k8s.io", "kind": "podmetrics"},
        },
    )
    assert nodes[1]["kind"] == "NodeMetricsList" and len(nodes[1]["items"]) == 2
    assert node[1]["kind"] == "NodeMetrics" and node[1]["usage"]["cpu"] == "1763345679n"
    assert (post[0], post[1]["reason"]) == (405, "MethodNotAllowed")
    assert (delete[0], delete[1]["reason"]) == (405, "MethodNotAllowed")
    assert watch == (
        405,
        {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": 'watch is not supported on resources of kind "pods.metrics.k8s.io"',
            "reason": "MethodNotAllowed",
            "code": 405,
        },
    )
    assert ns_nodes[0] == 404 and sub[0] == 404
    # Nothing was written: the generic store-backed CRUD never saw these requests.
    assert store.rv == rv
    assert store.scan("metrics.k8s.io/pods") == [] and store.peek("pods", NS, "front-end-1") is not None
