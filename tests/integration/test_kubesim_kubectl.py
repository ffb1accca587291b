"""Real `kubectl` binaries against the embedded cluster: printed columns and values, not exit codes."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest
import yaml

from tests.integration.conftest import KUBECTLS, Cluster, require_kubectl

pytestmark = pytest.mark.integration


def _rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


def _deployment(cluster: Cluster, k: Path, ns: str, name: str = "web", replicas: int = 2) -> None:
    out = cluster.kubectl(k, "-n", ns, "create", "deployment", name, "--image=nginx", f"--replicas={replicas}")
    assert out.stdout.strip() == f"deployment.apps/{name} created"
    out = cluster.kubectl(k, "-n", ns, "rollout", "status", f"deployment/{name}", "--timeout=20s")
    assert f'deployment "{name}" successfully rolled out' in out.stdout


def test_create_get_and_output_formats(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    _deployment(cluster, k, ns)

    rows = _rows(cluster.kubectl(k, "-n", ns, "get", "deployment", "web", "-o", "wide").stdout)
    assert rows[0] == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "CONTAINERS", "IMAGES", "SELECTOR"]
    name, ready, updated, available, _age, containers, images, selector = rows[1]
    assert (name, ready, updated, available, containers, images, selector) == (
        "web",
        "2/2",
        "2",
        "2",
        "nginx",
        "nginx",
        "app=web",
    )

    pods = _rows(cluster.kubectl(k, "-n", ns, "get", "pods", "-l", "app=web", "-o", "wide").stdout)
    assert pods[0][:7] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE"]
    assert len(pods) == 3
    for row in pods[1:]:
        assert re.fullmatch(r"web-[0-9a-f]{8,10}-[b-df-hj-np-tv-z2-9]{5}", row[0]), row
        assert row[1:4] == ["1/1", "Running", "0"]
        assert re.fullmatch(r"10\.244\.\d+\.\d+", row[5])
        assert row[6].startswith("sockshop-")

    doc = json.loads(cluster.kubectl(k, "-n", ns, "get", "deployment", "web", "-o", "json").stdout)
    assert doc["kind"] == "Deployment" and doc["apiVersion"] == "apps/v1"
    assert doc["spec"]["replicas"] == 2
    assert doc["status"]["availableReplicas"] == 2
    assert doc["status"]["observedGeneration"] == doc["metadata"]["generation"]

    doc = yaml.safe_load(cluster.kubectl(k, "-n", ns, "get", "deployment", "web", "-o", "yaml").stdout)
    assert doc["metadata"]["name"] == "web" and doc["metadata"]["namespace"] == ns
    assert {c["type"]: c["status"] for c in doc["status"]["conditions"]} == {"Available": "True", "Progressing": "True"}

    image = cluster.kubectl(
        k, "-n", ns, "get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}"
    ).stdout
    assert image == "nginx"
    names = cluster.kubectl(
        k, "-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={range .items[*]}{.metadata.name}{'\\n'}{end}"
    ).stdout.split()
    assert len(names) == 2 and all(n.startswith("web-") for n in names)
    assert cluster.kubectl(k, "-n", ns, "get", "pods", "-l", "app=nope").stdout == ""

    described = cluster.kubectl(k, "-n", ns, "describe", "deployment", "web").stdout
    assert re.search(r"^Name:\s+web$", described, re.M)
    assert re.search(r"^Namespace:\s+" + re.escape(ns) + "$", described, re.M)
    assert re.search(
        r"^Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable$", described, re.M
    )
    assert re.search(r"^NewReplicaSet:\s+web-[0-9a-f]+ \(2/2 replicas created\)$", described, re.M)

    out = cluster.kubectl(k, "-n", ns, "delete", "deployment", "web")
    assert out.stdout.strip() in (
        'deployment.apps "web" deleted',  # kubectl 1.36+ names the namespace
        f'deployment.apps "web" deleted from {ns} namespace',
    )
    gone = cluster.kubectl(k, "-n", ns, "get", "deployment", "web", check=False)
    assert 'deployments.apps "web" not found' in gone.stderr


def test_sort_by_and_label_selectors(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    items = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n, "labels": {"group": g}}, "data": {"order": o}}
        for n, g, o in (("z1", "blue", "1"), ("a2", "blue", "2"), ("m3", "blue", "3"), ("b0", "green", "0"))
    ]
    # Separate documents (a v1 List: test_kubectl_creates_a_list).
    out = cluster.kubectl(k, "-n", ns, "create", "-f", "-", input=yaml.safe_dump_all(items))
    assert out.stdout.split() == [
        "configmap/z1",
        "created",
        "configmap/a2",
        "created",
        "configmap/m3",
        "created",
        "configmap/b0",
        "created",
    ]
    by_name = cluster.kubectl(k, "-n", ns, "get", "cm", "-l", "group=blue", "-o", "name").stdout.split()
    assert by_name == ["configmap/a2", "configmap/m3", "configmap/z1"]
    by_order = cluster.kubectl(
        k, "-n", ns, "get", "cm", "-l", "group=blue", "--sort-by=.data.order", "-o", "name"
    ).stdout.split()
    assert by_order == ["configmap/z1", "configmap/a2", "configmap/m3"]
    rows = _rows(
        cluster.kubectl(k, "-n", ns, "get", "cm", "-l", "group in (blue,green),group!=blue", "--show-labels").stdout
    )
    assert rows[0] == ["NAME", "DATA", "AGE", "LABELS"]
    assert [(r[0], r[1], r[3]) for r in rows[1:]] == [("b0", "1", "group=green")]

    dup = cluster.kubectl(k, "-n", ns, "create", "-f", "-", check=False, input=json.dumps(items[0]))
    assert dup.returncode != 0
    assert "Error from server (AlreadyExists)" in dup.stderr
    assert 'configmaps "z1" already exists' in dup.stderr
    dup = cluster.kubectl(k, "-n", ns, "create", "configmap", "z1", "--from-literal=a=b", check=False)
    assert 'configmaps "z1" already exists' in dup.stderr


def test_apply_client_side_and_server_side(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cfg", "namespace": ns}, "data": {"a": "1"}}
    assert cluster.kubectl(k, "apply", "-f", "-", input=json.dumps(cm)).stdout.strip() == "configmap/cfg created"
    assert cluster.kubectl(k, "apply", "-f", "-", input=json.dumps(cm)).stdout.strip() == "configmap/cfg unchanged"
    cm["data"] = {"a": "2", "b": "3"}
    assert cluster.kubectl(k, "apply", "-f", "-", input=json.dumps(cm)).stdout.strip() == "configmap/cfg configured"
    doc = json.loads(cluster.kubectl(k, "-n", ns, "get", "cm", "cfg", "-o", "json").stdout)
    assert doc["data"] == {"a": "2", "b": "3"}
    assert "kubectl.kubernetes.io/last-applied-configuration" in doc["metadata"]["annotations"]

    ssa = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "ssa", "namespace": ns}, "data": {"x": "1"}}
    out = cluster.kubectl(k, "apply", "--server-side", "-f", "-", input=json.dumps(ssa))
    assert out.stdout.strip() == "configmap/ssa serverside-applied"
    rv = cluster.kubectl(k, "-n", ns, "get", "cm", "ssa", "-o", "jsonpath={.metadata.resourceVersion}").stdout
    out = cluster.kubectl(k, "apply", "--server-side", "-f", "-", input=json.dumps(ssa))
    assert out.stdout.strip() == "configmap/ssa serverside-applied"
    doc = json.loads(cluster.kubectl(k, "-n", ns, "get", "cm", "ssa", "-o", "json").stdout)
    assert doc["metadata"]["resourceVersion"] == rv, "a no-op server-side apply must not write"
    assert "managedFields" not in doc["metadata"]  # kubectl hides them unless asked
    doc = json.loads(cluster.kubectl(k, "-n", ns, "get", "cm", "ssa", "-o", "json", "--show-managed-fields").stdout)
    managers = {(m["manager"], m["operation"]) for m in doc["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers
    conflict = cluster.kubectl(
        k,
        "apply",
        "--server-side",
        "--field-manager=other",
        "-f",
        "-",
        check=False,
        input=json.dumps({**ssa, "data": {"x": "2"}}),
    )
    assert conflict.returncode != 0 and "conflict" in conflict.stderr.lower()
    forced = cluster.kubectl(
        k,
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        "-",
        input=json.dumps({**ssa, "data": {"x": "2"}}),
    )
    assert forced.stdout.strip() == "configmap/ssa serverside-applied"
    assert cluster.kubectl(k, "-n", ns, "get", "cm", "ssa", "-o", "jsonpath={.data.x}").stdout == "2"


def test_scale_wait_events_and_logs(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    _deployment(cluster, k, ns)
    out = cluster.kubectl(k, "-n", ns, "wait", "--for=condition=Available", "deployment/web", "--timeout=20s")
    assert out.stdout.strip() == "deployment.apps/web condition met"
    rs = cluster.kubectl(k, "-n", ns, "get", "rs", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}").stdout
    assert re.fullmatch(r"web-[0-9a-f]+", rs)

    logs = cluster.kubectl(k, "-n", ns, "logs", "deployment/web").stdout
    assert "placeholder container nginx (nginx) started" in logs
    pod = cluster.kubectl(
        k, "-n", ns, "get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"
    ).stdout
    stamped = cluster.kubectl(k, "-n", ns, "logs", pod, "--timestamps", "--tail=1").stdout
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z placeholder container nginx \(nginx\) started", stamped)

    assert (
        cluster.kubectl(k, "-n", ns, "scale", "deployment/web", "--replicas=0").stdout.strip()
        == "deployment.apps/web scaled"
    )
    cluster.kubectl(k, "-n", ns, "wait", "--for=delete", "pod", "-l", "app=web", "--timeout=20s")
    cluster.kubectl(k, "-n", ns, "rollout", "status", "deployment/web", "--timeout=20s")
    rows = _rows(cluster.kubectl(k, "-n", ns, "get", "deployment", "web").stdout)
    assert rows[1][:4] == ["web", "0/0", "0", "0"]

    events = cluster.kubectl(
        k, "-n", ns, "get", "events", "--field-selector", "involvedObject.kind=Deployment", "--sort-by=.lastTimestamp"
    ).stdout
    assert f"Scaled up replica set {rs} from 0 to 2" in events
    assert f"Scaled down replica set {rs} from 2 to 0" in events
    rows = _rows(events)
    assert rows[0] == ["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"]
    assert ["Normal", "ScalingReplicaSet", "deployment/web", f"Scaled down replica set {rs} from 2 to 0"] in [
        r[1:] for r in rows[1:]
    ]
    described = cluster.kubectl(k, "-n", ns, "describe", "deployment", "web").stdout
    assert re.search(
        rf"Normal\s+ScalingReplicaSet\s+\S+\s+deployment-controller\s+Scaled down replica set {rs} "
        r"from 2 to 0",
        described,
    )


def test_get_watch(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "w", "namespace": ns}, "data": {"n": "0"}}
    cluster.kubectl(k, "apply", "-f", "-", input=json.dumps(cm))
    proc = subprocess.Popen(
        [
            str(k),
            "-n",
            ns,
            "get",
            "configmaps",
            "-w",
            "--output-watch-events",
            "--field-selector=metadata.name=w",
            "--request-timeout=3s",
        ],
        env=cluster.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        header = proc.stdout.readline()
        first = proc.stdout.readline()
        assert header.split() == ["EVENT", "NAME", "DATA", "AGE"]
        assert first.split()[:3] == ["ADDED", "w", "1"]
        time.sleep(0.3)  # the initial list is printed; the watch is open
        status, _ = cluster.json(
            "PATCH",
            f"/api/v1/namespaces/{ns}/configmaps/w",
            json.dumps({"data": {"n": "1", "m": "2"}}),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert status == 200
        status, _ = cluster.json("DELETE", f"/api/v1/namespaces/{ns}/configmaps/w")
        assert status == 200
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    rows = [line.split()[:3] for line in out.splitlines()]
    assert ["MODIFIED", "w", "2"] in rows, out + err
    assert rows[-1][:2] == ["DELETED", "w"], out + err


def test_delete_namespace_wait(cluster: Cluster, kubectl_bin: Path) -> None:
    k = kubectl_bin
    name = f"gone-{time.time_ns() % 10**8}"
    assert cluster.kubectl(k, "create", "namespace", name).stdout.strip() == f"namespace/{name} created"
    _deployment(cluster, k, name, replicas=1)
    dup = cluster.kubectl(k, "create", "namespace", name, check=False)
    assert f'namespaces "{name}" already exists' in dup.stderr
    out = cluster.kubectl(k, "delete", "namespace", name, "--wait", "--timeout=30s")
    assert out.stdout.strip() == f'namespace "{name}" deleted'
    gone = cluster.kubectl(k, "get", "namespace", name, check=False)
    assert gone.returncode != 0
    assert f'Error from server (NotFound): namespaces "{name}" not found' in gone.stderr
    status, body = cluster.json("GET", f"/apis/apps/v1/namespaces/{name}/deployments")
    assert status == 200 and body["items"] == []


def test_kubectl_creates_a_list(cluster: Cluster, ns: str) -> None:
    """kubectl validates a v1 List against /openapi/v2 (gnostic protobuf) before it creates the items."""
    require_kubectl()
    items = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": n}} for n in ("l1", "l2")]
    out = cluster.kubectl(
        KUBECTLS[0],
        "-n",
        ns,
        "create",
        "-f",
        "-",
        check=False,
        input=json.dumps({"apiVersion": "v1", "kind": "List", "items": items}),
    )
    assert out.stdout.split("\n")[:2] == ["configmap/l1 created", "configmap/l2 created"], out.stderr
    status, headers, body = cluster.request(
        "GET", "/openapi/v2", headers={"Accept": "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"}
    )
    assert status == 200 and headers["content-type"].startswith("application/com.github.proto-openapi")
    assert body == b"\x0a\x032.0\x12\x15\x0a\x0aKubernetes\x12\x07v1.32.0"
    status, doc = cluster.json("GET", "/openapi/v2")
    assert status == 200 and doc["swagger"] == "2.0" and doc["definitions"] == {}
