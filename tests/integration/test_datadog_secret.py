"""The Datadog API key never shows up in Ansible's output, even at -vvv and in check mode.

Runs the datadog role's `secret` entry point (the only tasks that hold the key) through
ansible-playbook: against the session's embedded cluster, and against an unreachable API
server (the failure path must not leak either).
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import Cluster
from tests.procs import run_bounded

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = """\
- name: Write the Datadog API key Secret
  hosts: all
  gather_facts: false
  tasks:
    - name: Run the datadog role's secret entry point
      ansible.builtin.include_role:
        name: datadog
        tasks_from: secret
      vars:
        datadog_kubeconfig: "{{ test_kubeconfig }}"
        datadog_context: local-sockshop
"""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def unreachable_kubeconfig(tmp_path: Path) -> Path:
    """A kubeconfig whose API server refuses connections."""
    path = tmp_path / "kubeconfig"
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": f"https://127.0.0.1:{_free_port()}"}}],
        "users": [{"name": "u", "user": {"token": "not-a-secret"}}],
        "contexts": [{"name": "local-sockshop", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "local-sockshop",
    }
    path.write_text(json.dumps(config))
    return path


def run_secret_tasks(
    tmp_path: Path, kubeconfig: Path, api_key: str | None, *extra: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    playbook = tmp_path / "secret.yml"
    playbook.write_text(PLAYBOOK)
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        json.dumps(
            {
                "all": {
                    "hosts": {
                        "datadog-test": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                    }
                }
            }
        )
    )
    env = dict(env or os.environ, TMPDIR=str(tmp_path), ANSIBLE_CONFIG=str(ROOT / "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    env.pop("DD_API_KEY", None)
    if api_key is not None:
        env["DD_API_KEY"] = api_key
    command = [
        str(Path(sys.executable).with_name("ansible-playbook")),
        "-i",
        str(inventory),
        "-e",
        f"test_kubeconfig={kubeconfig}",
        "-vvv",
        *extra,
        str(playbook),
    ]
    return run_bounded(command, 240, cwd=ROOT, env=env)


def assert_no_leak(result: subprocess.CompletedProcess[str], api_key: str) -> None:
    encoded = base64.b64encode(api_key.encode()).decode()
    for stream in (result.stdout, result.stderr):
        assert api_key not in stream
        assert encoded not in stream


def new_key() -> str:
    return f"ddkey{secrets.token_hex(16)}"


def test_check_mode_on_a_live_cluster_does_not_leak(tmp_path: Path, cluster: Cluster) -> None:
    api_key = new_key()
    result = run_secret_tasks(tmp_path, cluster.kubeconfig, api_key, "--check", "--diff", env=cluster.env)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "censored" in result.stdout  # the Secret task ran, hidden by no_log
    assert_no_leak(result, api_key)


def test_real_write_stores_the_key_and_does_not_leak(tmp_path: Path, cluster: Cluster) -> None:
    api_key = new_key()
    first = run_secret_tasks(tmp_path, cluster.kubeconfig, api_key, "--diff", env=cluster.env)
    assert first.returncode == 0, first.stdout[-3000:]
    assert_no_leak(first, api_key)
    again = run_secret_tasks(tmp_path, cluster.kubeconfig, api_key, env=cluster.env)
    assert again.returncode == 0 and "changed=0" in again.stdout
    assert_no_leak(again, api_key)

    status, secret = cluster.json("GET", "/api/v1/namespaces/datadog/secrets/datadog-secret")
    assert status == 200
    assert base64.b64decode(secret["data"]["api-key"]).decode() == api_key


def test_unreachable_cluster_does_not_leak(tmp_path: Path, unreachable_kubeconfig: Path) -> None:
    api_key = new_key()
    result = run_secret_tasks(tmp_path, unreachable_kubeconfig, api_key, "--check")
    assert result.returncode != 0
    assert_no_leak(result, api_key)


def test_missing_key_fails_clearly(tmp_path: Path, unreachable_kubeconfig: Path) -> None:
    result = run_secret_tasks(tmp_path, unreachable_kubeconfig, None, "--check")
    assert result.returncode != 0
    assert "no API key was given" in result.stdout
