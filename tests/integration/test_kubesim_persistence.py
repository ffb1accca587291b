"""Every acknowledged write survives a SIGKILL of the server; `up` again finds it with the same uid and version."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any

import pytest

from kubesim.cli import alive
from tests.integration.conftest import running_cluster

pytestmark = pytest.mark.integration

PATHS = (
    "/api/v1/namespaces",
    "/api/v1/configmaps",
    "/api/v1/secrets",
    "/api/v1/services",
    "/apis/apps/v1/deployments",
    "/apis/apps/v1/replicasets",
    "/api/v1/pods",
)


def _snapshot(cluster: Any) -> dict[tuple[str, str, str], tuple[str, str]]:
    out = {}
    for path in PATHS:
        status, body = cluster.json("GET", path)
        assert status == 200
        for item in body["items"]:
            meta = item["metadata"]
            out[(path, meta.get("namespace", ""), meta["name"])] = (meta["uid"], meta["resourceVersion"])
    return out


def test_sigkill_loses_nothing(tmp_path: Path) -> None:
    with running_cluster(tmp_path) as cluster:
        ns = cluster.namespace("durable")
        acked: dict[str, dict[str, Any]] = {}
        for i in range(30):
            status, body = cluster.json(
                "POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": f"cm{i}"}, "data": {"i": str(i)}}
            )
            assert status == 201
            acked[f"cm{i}"] = body
        status, body = cluster.json(
            "PUT", f"/api/v1/namespaces/{ns}/configmaps/cm0", {**acked["cm0"], "data": {"i": "updated"}}
        )
        assert status == 200
        acked["cm0"] = body
        status, _ = cluster.json("DELETE", f"/api/v1/namespaces/{ns}/configmaps/cm1")
        assert status == 200
        del acked["cm1"]
        status, _ = cluster.json(
            "POST", f"/api/v1/namespaces/{ns}/secrets", {"metadata": {"name": "s"}, "stringData": {"k": "v"}}
        )
        assert status == 201
        status, _ = cluster.json(
            "POST",
            f"/apis/apps/v1/namespaces/{ns}/deployments",
            {
                "metadata": {"name": "web"},
                "spec": {
                    "replicas": 2,
                    "selector": {"matchLabels": {"app": "web"}},
                    "template": {
                        "metadata": {"labels": {"app": "web"}},
                        "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                    },
                },
            },
        )
        assert status == 201
        cluster.wait_for(
            lambda: (
                cluster.json("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/web")[1]
                .get("status", {})
                .get("availableReplicas")
                == 2
            )
        )
        # let the controllers settle so the snapshot is what is on disk at the moment of the kill
        before = _snapshot(cluster)
        for _ in range(20):
            time.sleep(0.1)
            now = _snapshot(cluster)
            if now == before:
                break
            before = now

        old_pid = cluster.pid
        os.kill(old_pid, signal.SIGKILL)
        cluster.wait_for(lambda: not alive(old_pid), timeout=5)
        cluster.up()
        assert cluster.pid != old_pid
        after = _snapshot(cluster)
        missing = {k: v for k, v in before.items() if after.get(k) != v}
        # controllers may write again after the restart (status, events); they never lose or re-create objects
        assert {k for k in before if k not in after} == set(), missing
        for key, (uid, _rv) in before.items():
            assert after[key][0] == uid, key
        for name, body in acked.items():
            status, got = cluster.json("GET", f"/api/v1/namespaces/{ns}/configmaps/{name}")
            assert status == 200
            assert (got["metadata"]["uid"], got["metadata"]["resourceVersion"], got["data"]) == (
                body["metadata"]["uid"],
                body["metadata"]["resourceVersion"],
                body["data"],
            )
        assert cluster.json("GET", f"/api/v1/namespaces/{ns}/configmaps/cm1")[0] == 404
        # resourceVersions keep growing after the restart
        status, body = cluster.json("POST", f"/api/v1/namespaces/{ns}/configmaps", {"metadata": {"name": "new"}})
        assert status == 201
        assert int(body["metadata"]["resourceVersion"]) > max(int(rv) for _, rv in before.values())
