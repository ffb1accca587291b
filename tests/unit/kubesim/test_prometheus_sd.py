"""The target groups kubesim.servers.prometheus_sd builds, against what Prometheus' kubernetes SD produces
(discovery/kubernetes/*.go at v2.42). The first cases per role are Prometheus' own tests (endpoints_test.go,
endpointslice_test.go, ...) with their objects written as the API's JSON; the others follow the Go source for
what those tests leave out: label-name sanitization, `_labelpresent_`/`_annotationpresent_`, absent fields."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kubesim.servers.prometheus_sd import (
    build_endpoints,
    build_endpointslice,
    build_node,
    build_pod,
    build_service,
    file_sd,
    groups_for,
    sanitize,
    write_atomic,
)

M = "__meta_kubernetes_"


def pod(**over: Any) -> dict[str, Any]:
    """TestEndpointsDiscoveryAdd's pod (endpoints_test.go)."""
    base: dict[str, Any] = {
        "metadata": {"name": "testpod", "namespace": "default", "uid": "deadbeef"},
        "spec": {
            "nodeName": "testnode",
            "containers": [
                {
                    "name": "c1",
                    "image": "c1:latest",
                    "ports": [{"name": "mainport", "containerPort": 9000, "protocol": "TCP"}],
                },
                {
                    "name": "c2",
                    "image": "c2:latest",
                    "ports": [{"name": "sideport", "containerPort": 9001, "protocol": "TCP"}],
                },
            ],
        },
        "status": {"hostIP": "2.3.4.5", "podIP": "1.2.3.4"},
    }
    base.update(over)
    return base


POD_LABELS = {
    M + "pod_name": "testpod",
    M + "pod_ip": "1.2.3.4",
    M + "pod_ready": "unknown",
    M + "pod_phase": "",
    M + "pod_node_name": "testnode",
    M + "pod_host_ip": "2.3.4.5",
    M + "pod_uid": "deadbeef",
}

ENDPOINTS: dict[str, Any] = {
    "metadata": {"name": "testendpoints", "namespace": "default"},
    "subsets": [
        {
            "addresses": [{"ip": "1.2.3.4", "hostname": "testendpoint1", "nodeName": "foobar"}],
            "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}],
        },
        {
            "addresses": [{"ip": "2.3.4.5"}],
            "notReadyAddresses": [{"ip": "2.3.4.5"}],
            "ports": [{"name": "testport", "port": 9001, "protocol": "TCP"}],
        },
    ],
}


def ep_target(addr: str, ready: str, **extra: str) -> dict[str, str]:
    return {
        "__address__": addr,
        M + "endpoint_port_name": "testport",
        M + "endpoint_port_protocol": "TCP",
        M + "endpoint_ready": ready,
        **extra,
    }


SERVICE: dict[str, Any] = {
    "metadata": {
        "name": "testendpoints",
        "namespace": "default",
        "labels": {"app/name": "test", "app.kubernetes.io/part-of": "shop"},
        "annotations": {"prometheus.io/scrape": "true"},
    },
    "spec": {
        "clusterIP": "10.0.0.1",
        "type": "ClusterIP",
        "ports": [{"name": "testport", "port": 30900, "protocol": "TCP"}],
    },
}
SERVICE_LABELS = {
    M + "service_name": "testendpoints",
    M + "namespace": "default",
    M + "service_label_app_name": "test",
    M + "service_labelpresent_app_name": "true",
    M + "service_label_app_kubernetes_io_part_of": "shop",
    M + "service_labelpresent_app_kubernetes_io_part_of": "true",
    M + "service_annotation_prometheus_io_scrape": "true",
    M + "service_annotationpresent_prometheus_io_scrape": "true",
}

ENDPOINTS_CASES = [
    pytest.param(  # TestEndpointsDiscoveryBeforeRun: not-ready addresses give a second target with ready=false
        ENDPOINTS,
        {},
        {},
        {M + "namespace": "default", M + "endpoints_name": "testendpoints"},
        [
            ep_target(
                "1.2.3.4:9000", "true", **{M + "endpoint_hostname": "testendpoint1", M + "endpoint_node_name": "foobar"}
            ),
            ep_target("2.3.4.5:9001", "true"),
            ep_target("2.3.4.5:9001", "false"),
        ],
        id="before-run",
    ),
    pytest.param(  # TestEndpointsDiscoveryAdd: the pod's labels, the matching container port, and its other port
        {
            "metadata": {"name": "testendpoints", "namespace": "default"},
            "subsets": [
                {
                    "addresses": [
                        {"ip": "4.3.2.1", "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}}
                    ],
                    "ports": [{"name": "testport", "port": 9000, "protocol": "TCP"}],
                }
            ],
        },
        {},
        {("default", "testpod"): pod()},
        {M + "namespace": "default", M + "endpoints_name": "testendpoints"},
        [
            {
                **ep_target(
                    "4.3.2.1:9000",
                    "true",
                    **{M + "endpoint_address_target_kind": "Pod", M + "endpoint_address_target_name": "testpod"},
                ),
                **POD_LABELS,
                M + "pod_container_name": "c1",
                M + "pod_container_image": "c1:latest",
                M + "pod_container_port_name": "mainport",
                M + "pod_container_port_number": "9000",
                M + "pod_container_port_protocol": "TCP",
            },
            {
                "__address__": "1.2.3.4:9001",
                **POD_LABELS,
                M + "pod_container_name": "c2",
                M + "pod_container_image": "c2:latest",
                M + "pod_container_port_name": "sideport",
                M + "pod_container_port_number": "9001",
                M + "pod_container_port_protocol": "TCP",
            },
        ],
        id="pod-ref-and-unseen-container-port",
    ),
    pytest.param(  # the Service's labels and annotations, sanitized, with _labelpresent_ / _annotationpresent_
        {**ENDPOINTS, "metadata": {**ENDPOINTS["metadata"], "labels": {"my-label.io/x": "y"}}},
        {("default", "testendpoints"): SERVICE},
        {},
        {
            M + "namespace": "default",
            M + "endpoints_name": "testendpoints",
            **SERVICE_LABELS,
            M + "endpoints_label_my_label_io_x": "y",
            M + "endpoints_labelpresent_my_label_io_x": "true",
        },
        [
            ep_target(
                "1.2.3.4:9000", "true", **{M + "endpoint_hostname": "testendpoint1", M + "endpoint_node_name": "foobar"}
            ),
            ep_target("2.3.4.5:9001", "true"),
            ep_target("2.3.4.5:9001", "false"),
        ],
        id="with-service",
    ),
    pytest.param(  # a targetRef to a pod the store does not hold: no pod labels; absent port name / protocol: ""
        {
            "metadata": {"name": "e", "namespace": "ns"},
            "subsets": [
                {
                    "notReadyAddresses": [
                        {"ip": "10.244.1.9", "targetRef": {"kind": "Pod", "name": "gone", "namespace": "ns"}}
                    ],
                    "ports": [{"port": 80}],
                }
            ],
        },
        {},
        {},
        {M + "namespace": "ns", M + "endpoints_name": "e"},
        [
            {
                "__address__": "10.244.1.9:80",
                M + "endpoint_port_name": "",
                M + "endpoint_port_protocol": "",
                M + "endpoint_ready": "false",
                M + "endpoint_address_target_kind": "Pod",
                M + "endpoint_address_target_name": "gone",
            }
        ],
        id="not-ready-unknown-pod-absent-fields",
    ),
    pytest.param(  # no subsets at all: an empty group
        {"metadata": {"name": "e", "namespace": "ns"}},
        {},
        {},
        {M + "namespace": "ns", M + "endpoints_name": "e"},
        [],
        id="no-subsets",
    ),
]


@pytest.mark.parametrize(("eps", "services", "pods", "labels", "targets"), ENDPOINTS_CASES)
def test_role_endpoints(eps: Any, services: Any, pods: Any, labels: Any, targets: Any) -> None:
    group = build_endpoints(eps, services, pods)
    assert group["source"] == f"endpoints/{eps['metadata']['namespace']}/{eps['metadata']['name']}"
    assert group["labels"] == labels
    assert group["targets"] == targets


SLICE: dict[str, Any] = {
    "metadata": {
        "name": "testendpoints",
        "namespace": "default",
        "labels": {"kubernetes.io/service-name": "testendpoints"},
    },
    "addressType": "IPv4",
    "ports": [{"name": "testport", "port": 9000, "protocol": "TCP", "appProtocol": "http"}],
    "endpoints": [
        {
            "addresses": ["1.2.3.4"],
            "conditions": {"ready": True, "serving": True, "terminating": False},
            "hostname": "testendpoint1",
            "targetRef": {},
            "nodeName": "foobar",
            "deprecatedTopology": {"topology": "value"},
        },
        {"addresses": ["2.3.4.5"], "conditions": {"ready": True, "serving": True, "terminating": False}},
        {"addresses": ["3.4.5.6"], "conditions": {"ready": False, "serving": True, "terminating": True}},
    ],
}
SLICE_PORT = {
    M + "endpointslice_port": "9000",
    M + "endpointslice_port_app_protocol": "http",
    M + "endpointslice_port_name": "testport",
    M + "endpointslice_port_protocol": "TCP",
}


def conditions(ready: str, serving: str, terminating: str) -> dict[str, str]:
    return {
        M + "endpointslice_endpoint_conditions_ready": ready,
        M + "endpointslice_endpoint_conditions_serving": serving,
        M + "endpointslice_endpoint_conditions_terminating": terminating,
    }


SLICE_CASES = [
    pytest.param(  # TestEndpointSliceDiscoveryBeforeRun
        SLICE,
        {},
        {},
        {
            M + "endpointslice_address_type": "IPv4",
            M + "namespace": "default",
            M + "endpointslice_name": "testendpoints",
        },
        [
            {
                "__address__": "1.2.3.4:9000",
                M + "endpointslice_address_target_kind": "",
                M + "endpointslice_address_target_name": "",
                **conditions("true", "true", "false"),
                M + "endpointslice_endpoint_hostname": "testendpoint1",
                M + "endpointslice_endpoint_topology_present_topology": "true",
                M + "endpointslice_endpoint_topology_topology": "value",
                **SLICE_PORT,
            },
            {"__address__": "2.3.4.5:9000", **conditions("true", "true", "false"), **SLICE_PORT},
            {"__address__": "3.4.5.6:9000", **conditions("false", "true", "true"), **SLICE_PORT},
        ],
        id="before-run",
    ),
    pytest.param(  # the Service (named by kubernetes.io/service-name) and a pod: protocol from the container port
        {
            "metadata": {
                "name": "s-1",
                "namespace": "default",
                "labels": {"kubernetes.io/service-name": "testendpoints"},
            },
            "addressType": "IPv4",
            "ports": [{"name": "testport", "port": 9000}],
            "endpoints": [
                {"addresses": ["4.3.2.1"], "targetRef": {"kind": "Pod", "name": "testpod", "namespace": "default"}}
            ],
        },
        {("default", "testendpoints"): SERVICE},
        {("default", "testpod"): pod()},
        {
            M + "endpointslice_address_type": "IPv4",
            M + "endpointslice_name": "s-1",
            **SERVICE_LABELS,
        },
        [
            {
                "__address__": "4.3.2.1:9000",
                M + "endpointslice_port": "9000",
                M + "endpointslice_port_name": "testport",
                M + "endpointslice_address_target_kind": "Pod",
                M + "endpointslice_address_target_name": "testpod",
                **POD_LABELS,
                M + "pod_container_name": "c1",
                M + "pod_container_image": "c1:latest",
                M + "pod_container_port_name": "mainport",
                M + "pod_container_port_number": "9000",
                M + "pod_container_port_protocol": "TCP",
            },
            {
                "__address__": "1.2.3.4:9001",
                **POD_LABELS,
                M + "pod_container_name": "c2",
                M + "pod_container_image": "c2:latest",
                M + "pod_container_port_name": "sideport",
                M + "pod_container_port_number": "9001",
                M + "pod_container_port_protocol": "TCP",
            },
        ],
        id="service-and-pod",
    ),
    pytest.param(  # a port without a number: the bare address, no port label
        {
            "metadata": {"name": "s", "namespace": "ns"},
            "addressType": "IPv4",
            "ports": [{"name": ""}],
            "endpoints": [{"addresses": ["10.244.0.7"]}],
        },
        {},
        {},
        {M + "endpointslice_address_type": "IPv4", M + "namespace": "ns", M + "endpointslice_name": "s"},
        [{"__address__": "10.244.0.7", M + "endpointslice_port_name": ""}],
        id="port-without-number",
    ),
]


@pytest.mark.parametrize(("eps", "services", "pods", "labels", "targets"), SLICE_CASES)
def test_role_endpointslice(eps: Any, services: Any, pods: Any, labels: Any, targets: Any) -> None:
    group = build_endpointslice(eps, services, pods)
    assert group["source"] == f"endpointslice/{eps['metadata']['namespace']}/{eps['metadata']['name']}"
    assert group["labels"] == labels
    assert group["targets"] == targets


FULL_POD = {
    "metadata": {
        "name": "testpod",
        "namespace": "default",
        "uid": "abcdef",
        "labels": {"test/label": "testvalue"},
        "annotations": {"test/annotation": "testannotationvalue"},
        "ownerReferences": [{"kind": "ReplicaSet", "name": "rs-1", "controller": True}],
    },
    "spec": {
        "nodeName": "testnode",
        "containers": [
            {
                "name": "testcontainer",
                "image": "testcontainer:latest",
                "ports": [{"name": "testport", "protocol": "TCP", "containerPort": 9000}],
            },
            {"name": "noports", "image": "np:1"},
        ],
        "initContainers": [{"name": "init", "image": "init:1"}],
    },
    "status": {
        "podIP": "1.2.3.4",
        "hostIP": "2.3.4.5",
        "phase": "Running",
        "conditions": [{"type": "Ready", "status": "True"}],
        "containerStatuses": [{"name": "testcontainer", "containerID": "docker://a1b2c3d4e5f6"}],
    },
}


def test_role_pod_one_target_per_container_port_and_per_portless_container() -> None:
    group = build_pod(FULL_POD)
    assert group["source"] == "pod/default/testpod"
    assert group["labels"] == {  # TestPodDiscoveryBeforeRun's group labels, plus the controller and annotation
        M + "pod_name": "testpod",
        M + "namespace": "default",
        M + "pod_label_test_label": "testvalue",
        M + "pod_labelpresent_test_label": "true",
        M + "pod_annotation_test_annotation": "testannotationvalue",
        M + "pod_annotationpresent_test_annotation": "true",
        M + "pod_node_name": "testnode",
        M + "pod_ip": "1.2.3.4",
        M + "pod_host_ip": "2.3.4.5",
        M + "pod_ready": "true",
        M + "pod_phase": "Running",
        M + "pod_uid": "abcdef",
        M + "pod_controller_kind": "ReplicaSet",
        M + "pod_controller_name": "rs-1",
    }
    assert group["targets"] == [
        {
            "__address__": "1.2.3.4:9000",
            M + "pod_container_name": "testcontainer",
            M + "pod_container_id": "docker://a1b2c3d4e5f6",
            M + "pod_container_image": "testcontainer:latest",
            M + "pod_container_port_name": "testport",
            M + "pod_container_port_number": "9000",
            M + "pod_container_port_protocol": "TCP",
            M + "pod_container_init": "false",
        },
        {
            "__address__": "1.2.3.4",
            M + "pod_container_name": "noports",
            M + "pod_container_id": "",
            M + "pod_container_image": "np:1",
            M + "pod_container_init": "false",
        },
        {
            "__address__": "1.2.3.4",
            M + "pod_container_name": "init",
            M + "pod_container_id": "",
            M + "pod_container_image": "init:1",
            M + "pod_container_init": "true",
        },
    ]


def test_role_pod_without_an_ip_is_an_empty_group() -> None:
    group = build_pod({**FULL_POD, "status": {"phase": "Pending"}})
    assert group == {"source": "pod/default/testpod", "labels": {}, "targets": []}


def test_role_service_per_port_with_type_dependent_labels() -> None:
    external = {
        "metadata": {"name": "ext", "namespace": "ns"},
        "spec": {"type": "ExternalName", "externalName": "db.example.com", "ports": [{"port": 5432}]},
    }
    assert build_service(external)["targets"] == [
        {
            "__address__": "ext.ns.svc:5432",
            M + "service_port_name": "",
            M + "service_port_number": "5432",
            M + "service_port_protocol": "",
            M + "service_type": "ExternalName",
            M + "service_external_name": "db.example.com",
        }
    ]
    lb = {
        "metadata": {"name": "lb", "namespace": "ns"},
        "spec": {
            "type": "LoadBalancer",
            "clusterIP": "10.96.3.4",
            "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
        },
    }
    group = build_service(lb)
    assert group["labels"] == {M + "service_name": "lb", M + "namespace": "ns"}
    assert group["targets"] == [
        {
            "__address__": "lb.ns.svc:80",
            M + "service_port_name": "http",
            M + "service_port_number": "80",
            M + "service_port_protocol": "TCP",
            M + "service_type": "LoadBalancer",
            M + "service_cluster_ip": "10.96.3.4",
            M + "service_loadbalancer_ip": "",
        }
    ]
    assert build_service(SERVICE)["labels"] == SERVICE_LABELS


def test_role_node_kubelet_address_by_priority_and_instance() -> None:
    node = {
        "metadata": {"name": "sockshop-worker", "labels": {"kubernetes.io/os": "linux"}},
        "spec": {"providerID": "kind://docker/sockshop/sockshop-worker"},
        "status": {
            "addresses": [
                {"type": "Hostname", "address": "sockshop-worker"},
                {"type": "InternalIP", "address": "172.18.0.3"},
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
        },
    }
    group = build_node(node)
    assert group["source"] == "node/sockshop-worker"
    assert group["labels"] == {
        M + "node_name": "sockshop-worker",
        M + "node_provider_id": "kind://docker/sockshop/sockshop-worker",
        M + "node_label_kubernetes_io_os": "linux",
        M + "node_labelpresent_kubernetes_io_os": "true",
    }
    assert group["targets"] == [
        {
            "__address__": "172.18.0.3:10250",
            "instance": "sockshop-worker",
            M + "node_address_Hostname": "sockshop-worker",
            M + "node_address_InternalIP": "172.18.0.3",
        }
    ]
    assert build_node({"metadata": {"name": "n"}, "status": {}})["targets"] == []


@pytest.mark.parametrize(
    ("name", "sanitized"),
    [("app.kubernetes.io/name", "app_kubernetes_io_name"), ("a-b_c9", "a_b_c9"), ("ünï", "_n_")],
)
def test_label_names_are_sanitized_as_strutil_does(name: str, sanitized: str) -> None:
    assert sanitize(name) == sanitized


def test_namespaces_and_selectors_filter_what_a_role_sees() -> None:
    def named(ns: str, name: str, labels: dict[str, str], phase: str = "Running") -> dict[str, Any]:
        return {
            "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "i"}]},
            "status": {"podIP": "10.244.1.1", "phase": phase},
        }

    cache = {
        "pods": {
            ("a", "p1"): named("a", "p1", {"app": "x"}),
            ("a", "p2"): named("a", "p2", {"app": "y"}),
            ("b", "p3"): named("b", "p3", {"app": "x"}, phase="Pending"),
        }
    }
    sources = [
        g["source"]
        for g in groups_for(
            {"role": "pod", "namespaces": [], "selectors": [{"role": "pod", "label": "app=x", "field": ""}]}, cache
        )
    ]
    assert sources == ["pod/a/p1", "pod/b/p3"]
    only_a = groups_for({"role": "pod", "namespaces": ["a"], "selectors": []}, cache)
    assert [g["source"] for g in only_a] == ["pod/a/p1", "pod/a/p2"]
    running = groups_for(
        {"role": "pod", "namespaces": [], "selectors": [{"role": "pod", "label": "", "field": "status.phase=Running"}]},
        cache,
    )
    assert [g["source"] for g in running] == ["pod/a/p1", "pod/a/p2"]


def test_file_sd_has_one_entry_per_target_whose_labels_win(tmp_path: Path) -> None:
    groups = [build_endpoints(ENDPOINTS, {}, {})]
    groups[0]["labels"][M + "endpoint_ready"] = "group"  # a target label of the same name wins
    doc = file_sd(groups)
    assert [e["targets"] for e in doc] == [["1.2.3.4:9000"], ["2.3.4.5:9001"], ["2.3.4.5:9001"]]
    assert [e["labels"][M + "endpoint_ready"] for e in doc] == ["true", "true", "false"]
    assert all("__address__" not in e["labels"] for e in doc)
    path = tmp_path / "sd.json"
    write_atomic(path, json.dumps(doc))
    assert json.loads(path.read_text()) == doc
    assert [p.name for p in tmp_path.iterdir()] == ["sd.json"]
