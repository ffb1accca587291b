"""The toolchain the roles depend on is installed and usable: a broken collection install fails here."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _run(args: list[str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_HOME": str(tmp_path / "ah"),
        "ANSIBLE_LOCAL_TEMP": str(tmp_path / "tmp"),
    }
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)


def test_kubernetes_core_module_doc_renders(tmp_path: Path) -> None:
    out = _run([str(BIN / "ansible-doc"), "-t", "module", "kubernetes.core.k8s_scale"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "kubernetes.core.k8s_scale" in out.stdout
    assert "replicas" in out.stdout and "wait_sleep" in out.stdout


@pytest.mark.parametrize("check", [False, True])
def test_playbook_with_kubernetes_core_parses(tmp_path: Path, check: bool) -> None:
    playbook = tmp_path / "scale.yml"
    playbook.write_text(
        "- name: Scale something\n  hosts: localhost\n  gather_facts: false\n  tasks:\n"
        "    - name: Scale stripe-mock to zero\n      kubernetes.core.k8s_scale:\n"
        "        api_version: apps/v1\n        kind: Deployment\n        name: stripe-mock\n"
        "        namespace: sock-shop\n        replicas: 0\n"
    )
    args = [str(BIN / "ansible-playbook"), "--syntax-check", str(playbook)] + (["--check"] if check else [])
    out = _run(args, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "playbook: " in out.stdout


def test_unknown_module_fails_syntax_check(tmp_path: Path) -> None:
    """The check above can fail: a module that no installed collection has is an error."""
    playbook = tmp_path / "bad.yml"
    playbook.write_text(
        "- name: Broken\n  hosts: localhost\n  tasks:\n    - name: No such module\n"
        "      kubernetes.core.k8s_no_such_module:\n        name: x\n"
    )
    out = _run([str(BIN / "ansible-playbook"), "--syntax-check", str(playbook)], tmp_path)
    assert out.returncode != 0
    assert "k8s_no_such_module" in out.stdout + out.stderr


def test_python_dependencies_of_kubernetes_core_import() -> None:
    import jmespath
    import jsonpatch
    import kubernetes

    assert kubernetes.__version__.split(".")[0].isdigit()
    assert jsonpatch.apply_patch({"a": 1}, [{"op": "replace", "path": "/a", "value": 2}]) == {"a": 2}
    assert jmespath.search("a.b", {"a": {"b": 3}}) == 3
