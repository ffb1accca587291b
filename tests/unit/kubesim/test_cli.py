"""`python -m kubesim up|down|status`: state-dir bookkeeping that must never signal a stranger."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kubesim import cli
from kubesim.config import StateDir


def test_alive_and_is_ours(tmp_path: Path) -> None:
    assert cli.alive(os.getpid())
    assert not cli.alive(None)
    assert not cli.alive(0)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not cli.alive(proc.pid)
    # this pytest process is not a kubesim server for tmp_path
    assert not cli._is_ours(os.getpid(), tmp_path)


def test_running_ignores_dead_or_foreign_pids(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    assert cli.running(state) is None
    state.write_info({"pid": os.getpid(), "server": "https://127.0.0.1:1"})
    assert cli.running(state) is None  # alive, but not a kubesim server for this dir
    state.write_info({"pid": "nonsense"})
    assert cli.running(state) is None


def test_status_and_down_when_not_running(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = StateDir(tmp_path)
    assert cli.status(state) == 3
    assert "not running" in capsys.readouterr().out
    assert cli.down(state) == 0
    assert "local cluster is not running" in capsys.readouterr().out
    assert state.read_info() == {"pid": None}


def test_stop_pod_processes_kills_leftovers(tmp_path: Path) -> None:
    state = StateDir(tmp_path)
    state.pods.mkdir()
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        (state.pods / "ns_pod_c.pid").write_text(str(proc.pid))
        (state.pods / "garbage.pid").write_text("not a pid")
        assert cli.stop_pod_processes(state) == 1
        assert proc.wait(timeout=5) != 0
        assert list(state.pods.glob("*.pid")) == []
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_down_purge_removes_the_state_dir(tmp_path: Path) -> None:
    root = tmp_path / "state"
    state = StateDir(root)
    (root / "state.db").write_text("")
    assert cli.down(state, purge=True) == 0
    assert not root.exists()


def test_main_parses_state_dir_after_the_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["status", "--state-dir", str(tmp_path)]) == 3
    assert str(tmp_path.resolve()) in capsys.readouterr().out
