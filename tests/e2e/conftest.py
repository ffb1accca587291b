"""The embedded cluster the end-to-end tests drive: started by pid, provisioned, stopped in a finalizer.

Every cluster runs from a temporary state directory with its own TMPDIR (kubernetes.core caches
discovery there) and Ansible home; playbooks write their reports into a temporary directory, so nothing
lands in the repository.
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ansible.module_utils.sockshop_money import loads_exact
from ansible.module_utils.sockshop_service_proxy import call_service
from kubernetes import client, config

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
NAMESPACE = "sock-shop"


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

    def run(self, name: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.playbook(name, *args),
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def phase(self, phase: str, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run(f"incident-{self.incident}.yml", "-e", f"phase={phase}", *args)

    def api(self) -> Any:
        return client.ApiClient(config.new_client_from_config(str(self.kubeconfig)).configuration)

    def versions(self) -> dict[str, str]:
        """resourceVersion of every Deployment and ConfigMap in the namespace: a write changes this."""
        api = self.api()
        apps: Any = client.AppsV1Api(api)
        core: Any = client.CoreV1Api(api)
        found = {
            f"deploy/{d.metadata.name}": d.metadata.resource_version
            for d in apps.list_namespaced_deployment(NAMESPACE).items
        }
        found.update(
            {
                f"cm/{c.metadata.name}": c.metadata.resource_version
                for c in core.list_namespaced_config_map(NAMESPACE).items
            }
        )
        return found

    def replicas(self, name: str) -> int:
        apps: Any = client.AppsV1Api(self.api())
        return int(apps.read_namespaced_deployment(name, NAMESPACE).spec.replicas)

    def configmaps(self) -> set[str]:
        core: Any = client.CoreV1Api(self.api())
        return {c.metadata.name for c in core.list_namespaced_config_map(NAMESPACE).items}

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


def ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


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
        subprocess.run(
            [sys.executable, "-m", "kubesim", "--state-dir", str(env.state), "down"],
            cwd=ROOT,
            env=env.env,
            capture_output=True,
            timeout=60,
            check=False,
        )
        if server.poll() is None:  # `down` found no server: stop the one we started, by pid
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log.close()
