"""The embedded cluster the end-to-end tests drive: started by pid, provisioned, stopped in a finalizer.

Every cluster runs from a temporary state directory with its own TMPDIR (kubernetes.core caches
discovery there) and Ansible home; playbooks write their reports into a temporary directory, so nothing
lands in the repository.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
from ansible.module_utils import sockshop_snapshot
from ansible.module_utils.sockshop_money import loads_exact
from ansible.module_utils.sockshop_service_proxy import call_service
from kubernetes import client, config, dynamic

from tests.procs import run_bounded

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NAMESPACE = "sock-shop"
# The incident's own objects (lock, ledger, baseline, sentinel): the engine's default, <namespace>-incidents.
STATE_NAMESPACE = "sock-shop-incidents"
LOCK = "sockshop-incident-lock"
# The workloads each incident acts on: their pods are replaced by the fault and its recovery.
FAULTED = {
    "6": ["Deployment/stripe-mock"],
    "3": ["Deployment/payment"],
    "5": ["Deployment/queue-master"],
    "8": ["Deployment/catalogue-db"],
    "8B": ["Deployment/catalogue-db"],
    "8C": ["Deployment/catalogue-db"],
    "6B": [],
    "4": [],
    "4B": [],
    "4C": [],
    "5A": ["Deployment/queue-master"],
    "5C": ["Deployment/queue-master", "Deployment/shipping"],
    "7": ["Deployment/front-end"],
    "2": ["Deployment/front-end"],  # not a ledgered fault: the kubelet restarts front-end by design
}


class Cluster:
    def __init__(self, base: Path, incident: str = "6") -> None:
        self.base = base
        self.incident = incident
        self.state = base / "cluster"
        self.kubeconfig = self.state / "kubeconfig"
        self.reports = base / "reports"
        self.env = dict(
            os.environ,
            TMPDIR=str(base / "tmp"),
            ANSIBLE_HOME=str(base / "ansible-home"),
            ANSIBLE_LOCAL_TEMP=str(base / "ansible-tmp"),
            ANSIBLE_FORCE_COLOR="0",
        )
        (base / "tmp").mkdir(parents=True, exist_ok=True)

    def extra(self) -> list[str]:
        return [
            "-e", f"sockshop_kubeconfig={self.kubeconfig}",
            "-e", f"sockshop_local_cluster_dir={self.state}",
            "-e", f"incident_reports_dir={self.reports}",
        ]  # fmt: skip

    def playbook(self, name: str, *args: str) -> list[str]:
        return [str(BIN / "ansible-playbook"), f"playbooks/{name}", *self.extra(), *args]

    def run(
        self, name: str, *args: str, timeout: float = 300, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return run_bounded(self.playbook(name, *args), timeout, cwd=ROOT, env=env or self.env)

    def phase(self, phase: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(f"incident-{self.incident}.yml", "-e", f"phase={phase}", *args)

    def api(self) -> Any:
        return client.ApiClient(config.new_client_from_config(str(self.kubeconfig)).configuration)

    def core(self) -> Any:
        return client.CoreV1Api(self.api())

    def dynamic(self) -> Any:
        return dynamic.DynamicClient(self.api())

    def snapshot(self) -> dict[str, Any]:
        """Every object of the namespace (sockshop_snapshot): the baseline an exact recovery must match."""
        return sockshop_snapshot.take(self.dynamic(), NAMESPACE, "now")

    def differences(self, baseline: dict[str, Any], *incidents: str) -> str:
        """The namespace's differences from `baseline`, as one line; empty when it is exactly as it was.

        Pods of the workloads the incidents (default: this cluster's) act on may have been replaced.
        """
        faulted = [workload for incident in incidents or (self.incident,) for workload in FAULTED[incident]]
        return sockshop_snapshot.describe(sockshop_snapshot.compare(baseline, self.snapshot(), faulted))

    def revision(self) -> int:
        """The cluster's resourceVersion: every write anywhere in the cluster advances it."""
        listed: Any = client.CoreV1Api(self.api()).list_namespace(limit=1)
        return int(listed.metadata.resource_version)

    def written_since(self, revision: int) -> list[str]:
        """Objects anywhere in the cluster written after `revision` (deletions show in revision() only)."""
        found = []
        dc = self.dynamic()
        for resource in dc.resources.search(preferred=True):
            if "/" in resource.name or resource.kind.endswith("List") or "list" not in (resource.verbs or []):
                continue
            for item in dc.get(resource).to_dict().get("items") or []:
                meta = item["metadata"]
                if int(meta.get("resourceVersion") or 0) > revision:
                    found.append(
                        f"{resource.kind} {meta.get('namespace', '')}/{meta['name']} rv={meta['resourceVersion']}"
                    )
        return sorted(found)

    def versions(self) -> dict[str, str]:
        """resourceVersion of every Deployment and ConfigMap in the namespace and every ConfigMap of the incidents'
        state namespace: a write changes this."""
        api = self.api()
        apps: Any = client.AppsV1Api(api)
        core: Any = client.CoreV1Api(api)
        found = {
            f"deploy/{d.metadata.name}": d.metadata.resource_version
            for d in apps.list_namespaced_deployment(NAMESPACE).items
        }
        for namespace in (NAMESPACE, STATE_NAMESPACE):
            found.update(
                {
                    f"cm/{namespace}/{c.metadata.name}": c.metadata.resource_version
                    for c in core.list_namespaced_config_map(namespace).items
                }
            )
        return found

    def state_namespace(self) -> None:
        """Make the incidents' state namespace, as the first activation would."""
        core: Any = client.CoreV1Api(self.api())
        with contextlib.suppress(client.ApiException):
            core.create_namespace({"metadata": {"name": STATE_NAMESPACE}})

    def replicas(self, name: str) -> int:
        apps: Any = client.AppsV1Api(self.api())
        return int(apps.read_namespaced_deployment(name, NAMESPACE).spec.replicas)

    def wait_available(self, name: str, replicas: int, timeout: float = 90) -> None:
        """Wait until Deployment `name` has exactly `replicas` pods, all available (a scale has settled)."""
        apps: Any = client.AppsV1Api(self.api())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status = apps.read_namespaced_deployment(name, NAMESPACE).status
            if (status.available_replicas or 0) == (status.replicas or 0) == replicas:
                return
            time.sleep(0.2)
        raise AssertionError(f"deployment {name} did not settle at {replicas} available replicas in {timeout} s")

    def configmaps(self) -> set[str]:
        """The incident's ConfigMaps in the state namespace (not kube-root-ca.crt, which every namespace has)."""
        core: Any = client.CoreV1Api(self.api())
        items = core.list_namespaced_config_map(STATE_NAMESPACE).items
        return {c.metadata.name for c in items if c.metadata.name != "kube-root-ca.crt"}

    def orders(self) -> list[dict[str, Any]]:
        """Every order the orders service holds, read through the API server's service proxy."""
        answer = call_service(self.api(), NAMESPACE, "orders", 80, "/orders?page=0&size=2000")
        assert answer.status == 200, answer.body[:500]
        doc = loads_exact(answer.body)
        assert doc["page"]["totalPages"] <= 1, "more orders than one page holds"
        return list(doc["_embedded"]["customerOrders"])


def changed(result: subprocess.CompletedProcess[str]) -> int:
    match = re.search(r"changed=(\d+)", result.stdout)
    assert match, result.stdout[-2000:]
    return int(match.group(1))


def all_passes(cluster: Cluster, incident: str) -> dict[str, Any]:
    """Run incident `incident`'s phase=all; it must succeed, say its report passed, and that report (the only one of
    the incident) must have verdict passed and an empty ledger diff. Returns the report."""
    result = cluster.run(f"incident-{incident}.yml", "-e", "phase=all")
    ok(result)
    assert re.search(rf"Wrote \S+/incident-{incident}-\d{{8}}T\d{{6}}Z:\s+passed", result.stdout), result.stdout[-3000:]
    (path,) = cluster.reports.glob(f"incident-{incident}-*/report.json")
    report: dict[str, Any] = json.loads(path.read_text())
    assert report["verdict"] == "passed", report["failed_signals"]
    assert report["diff_empty"] is True
    return report


def assert_load_gone(cluster: Cluster, job: str) -> None:
    """A load fault's Job, its pods, its ConfigMap and its statistics Service are all gone."""
    core, batch = cluster.core(), cast(Any, client.BatchV1Api(cluster.api()))
    assert not [j for j in batch.list_namespaced_job(NAMESPACE).items if j.metadata.name == job]
    assert not [s for s in core.list_namespaced_service(NAMESPACE).items if s.metadata.name == job]
    assert not core.list_namespaced_pod(NAMESPACE, label_selector=f"job-name={job}").items


def restart_counts(cluster: Cluster) -> dict[str, int]:
    """Container restarts of every pod of the namespace, by pod/container."""
    return {
        f"{pod.metadata.name}/{status.name}": status.restart_count
        for pod in cluster.core().list_namespaced_pod(NAMESPACE).items
        for status in pod.status.container_statuses or []
    }


def ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def stop_cluster(state: Path, env: dict[str, str]) -> None:
    """`kubesim down` for the cluster of `state`: it stops the server and every pod process by their pids."""
    subprocess.run(
        [sys.executable, "-m", "kubesim", "--state-dir", str(state), "down"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )


@contextlib.contextmanager
def provisioned(base: Path, incident: str) -> Iterator[Cluster]:
    """A cluster serving from `base`, with Sock Shop provisioned; always stopped afterwards."""
    env = Cluster(base, incident)
    log = (base / "kubesim.log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "kubesim", "--state-dir", str(env.state), "serve"],
        cwd=ROOT,
        env=env.env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not env.kubeconfig.exists():
            assert server.poll() is None, (base / "kubesim.log").read_text()[-2000:]
            assert time.monotonic() < deadline, "kubesim wrote no kubeconfig within 30 s"
            time.sleep(0.1)
        ok(env.run("provision.yml", timeout=600))
        yield env
    finally:
        stop_cluster(env.state, env.env)
        if server.poll() is None:  # `down` found no server: stop the one we started, by pid
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log.close()


@pytest.fixture(scope="module")
def cluster(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A provisioned cluster for one test file, for the incident its module names (`INCIDENT`, default 6)."""
    incident = str(getattr(request.module, "INCIDENT", "6"))
    name = request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    with provisioned(tmp_path_factory.mktemp(name), incident) as env:
        yield env


@pytest.fixture(scope="module")
def baseline(cluster: Cluster) -> dict[str, Any]:
    """Every object of the namespace before any incident: what each recovery must give back exactly."""
    return cluster.snapshot()
