"""A JSON merge patch whose list carries maps with null members (what kubernetes.core's `apply: yes` sends):
the apiserver drops those members, as json-patch's MergePatch prunes them, instead of storing nulls."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.integration.conftest import KUBECTLS, Cluster, require_kubectl

pytestmark = pytest.mark.integration


def test_nulls_inside_a_replaced_list_are_dropped(cluster: Cluster, ns: str) -> None:
    from kubernetes import client

    require_kubectl()

    apps: Any = client.AppsV1Api(cluster.api_client())  # the client's models are typed, the answers read loosely
    resources = {"requests": {"cpu": "100m", "memory": "100Mi"}, "limits": {"cpu": "100m", "memory": "100Mi"}}
    container = {"name": "web", "image": "nginx:1.26", "resources": resources}
    body = {
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}}, "spec": {"containers": [container]}},
        },
    }
    apps.create_namespaced_deployment(ns, body)
    patched = {**container, "image": "nginx:1.27", "resources": {"requests": {"cpu": "50m", "memory": None}}}
    patch = {"spec": {"template": {"spec": {"containers": [patched]}}}}
    cluster.kubectl(KUBECTLS[0], "-n", ns, "patch", "deployment", "web", "--type", "merge", "-p", json.dumps(patch))
    stored = apps.read_namespaced_deployment("web", ns).spec.template.spec.containers[0]
    assert stored.image == "nginx:1.27"
    assert stored.resources.requests == {"cpu": "50m"}
    assert stored.resources.limits is None
