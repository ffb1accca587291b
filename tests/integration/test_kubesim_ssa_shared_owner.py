"""Server-side apply by a second field manager of the same values (kubernetes.core's k8s_apply target does
it): the object is not otherwise changed, but the manager becomes a co-owner, so managedFields gains its entry."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration

CM = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: shared\ndata:\n  key: value-0\n"


def test_a_second_manager_applying_the_same_value_co_owns_it(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin

    def apply(manager: str) -> dict:
        cluster.kubectl(k, "-n", ns, "apply", "--server-side", f"--field-manager={manager}", "-f", "-", input=CM)
        out = cluster.kubectl(k, "-n", ns, "get", "configmap", "shared", "-o", "json", "--show-managed-fields")
        return json.loads(out.stdout)

    first = apply("manager-00")
    again = apply("manager-00")
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]  # a no-op
    second = apply("manager-01")
    entries = [(e["manager"], e["operation"], e["fieldsV1"]) for e in second["metadata"]["managedFields"]]
    assert entries == [
        ("manager-00", "Apply", {"f:data": {"f:key": {}}}),
        ("manager-01", "Apply", {"f:data": {"f:key": {}}}),
    ]
    assert second["metadata"]["resourceVersion"] != first["metadata"]["resourceVersion"]
