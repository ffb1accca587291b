"""The launchers' shared rules: the environment, arguments, exit codes, readiness (no server needed)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from kubesim.servers import (
    ServerExited,
    data_dir,
    exit_code,
    free_port,
    parse_mounts,
    pod_ip,
    split_args,
    wait_for_port,
)

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, {}),
        ("", {}),
        ("  ", {}),
        ("{}", {}),
        ('{"/data/db": "/srv/a"}', {"/data/db": "/srv/a"}),
        ('{"/data/db/": "/srv/a", "/tmp": "/srv/t"}', {"/data/db": "/srv/a", "/tmp": "/srv/t"}),
        ('{"/": "/srv/root"}', {"/": "/srv/root"}),
    ],
)
def test_parse_mounts(raw: str | None, expected: dict[str, str]) -> None:
    assert parse_mounts(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("{not json", "KUBESIM_MOUNTS is not JSON"),
        ('["/data/db"]', "KUBESIM_MOUNTS must be a JSON object, not list"),
        ('{"/data/db": 3}', "the host directory of '/data/db' must be a non-empty string"),
        ('{"/data/db": ""}', "the host directory of '/data/db' must be a non-empty string"),
    ],
)
def test_parse_mounts_rejects(raw: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_mounts(raw)


def test_data_dir_is_the_mounts_host_dir_else_under_home(tmp_path: Path) -> None:
    volume, home = tmp_path / "pvc", tmp_path / "pod"
    env = {"HOME": str(home), "KUBESIM_MOUNTS": f'{{"/data/db": "{volume}", "/tmp": "{tmp_path / "t"}"}}'}
    assert data_dir(env, "/data/db", "mongodb") == volume.resolve()
    assert volume.is_dir()
    assert data_dir(env, "/var/lib/mysql", "mysql") == (home / "mysql").resolve()
    assert (home / "mysql").is_dir()
    assert data_dir({"HOME": str(home)}, "/data/db", "mongodb") == (home / "mongodb").resolve()


@pytest.mark.parametrize(
    ("env", "ip"),
    [({"KUBESIM_POD_IP": "127.5.1.7"}, "127.5.1.7"), ({"KUBESIM_POD_IP": " "}, "127.0.0.1"), ({}, "127.0.0.1")],
)
def test_pod_ip(env: dict[str, str], ip: str) -> None:
    assert pod_ip(env) == ip


@pytest.mark.parametrize(
    ("argv", "values", "rest"),
    [
        ([], {"--init": [], "--port": []}, []),
        (["--init", "a.sql", "--init=b.sql"], {"--init": ["a.sql", "b.sql"], "--port": []}, []),
        (["--port=1", "--bind_ip_all", "--port", "2"], {"--init": [], "--port": ["1", "2"]}, ["--bind_ip_all"]),
        (["--appendonly", "yes"], {"--init": [], "--port": []}, ["--appendonly", "yes"]),
    ],
)
def test_split_args(argv: list[str], values: dict[str, list[str]], rest: list[str]) -> None:
    assert split_args(argv, ("--init", "--port")) == (values, rest)


def test_split_args_needs_a_value() -> None:
    with pytest.raises(ValueError, match="--init needs a value"):
        split_args(["--init"], ("--init",))


@pytest.mark.parametrize(
    ("returncode", "stopping", "code"),
    [
        (0, True, 0),  # stopped on request, cleanly
        (-signal.SIGTERM, True, 0),  # stopped on request by the signal itself
        (-signal.SIGINT, True, 0),
        (1, True, 1),  # a failed shutdown stays a failure
        (-signal.SIGKILL, True, 137),
        (0, False, 0),  # the server ended by itself
        (3, False, 3),
        (-signal.SIGTERM, False, 143),  # someone else killed it
        (-signal.SIGKILL, False, 137),  # OOM killer
    ],
)
def test_exit_code(returncode: int, stopping: bool, code: int) -> None:
    assert exit_code(returncode, stopping) == code


def test_wait_for_port() -> None:
    port = free_port()
    with pytest.raises(TimeoutError, match=f"127.0.0.1:{port} not ready after 0.2s"):
        wait_for_port("127.0.0.1", port, timeout=0.2)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", port))
        listener.listen()
        assert wait_for_port("127.0.0.1", port, timeout=2) < 1


def test_wait_for_port_notices_a_dead_server() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "raise SystemExit(7)"])
    try:
        with pytest.raises(ServerExited, match="exited with code 7 before it was ready") as caught:
            wait_for_port("127.0.0.1", free_port(), timeout=10, proc=proc)
        assert caught.value.returncode == 7
    finally:
        proc.kill()
        proc.wait()


def test_a_child_dies_with_its_launcher(tmp_path: Path) -> None:
    """`spawn` children get SIGTERM when the launcher that started them dies, even by SIGKILL."""
    script = (
        "import sys, time; from kubesim.servers import spawn; "
        "child = spawn(['sleep', '60']); print(child.pid, flush=True); time.sleep(60)"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, cwd=ROOT)
    child = None
    try:
        assert parent.stdout is not None
        child = psutil.Process(int(parent.stdout.readline()))
        assert child.ppid() == parent.pid and os.getpgid(child.pid) == os.getpgid(parent.pid)
        parent.kill()
        parent.wait(10)
        child.wait(10)  # ended by the death signal: would raise TimeoutExpired otherwise
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait(10)
        if child is not None and child.is_running():
            child.kill()
        if parent.stdout is not None:
            parent.stdout.close()


SPAWN_INTERRUPTED = """
import os, signal, subprocess
from kubesim.servers import spawn, stop_spawned

class Stop(BaseException):  # as the Supervisor's Stopped
    pass

real_popen, started = subprocess.Popen, []

def popen_then_signal(*args, **kwargs):
    proc = real_popen(*args, **kwargs)
    started.append(proc)
    os.kill(os.getpid(), signal.SIGTERM)  # the stop arrives before spawn() has returned the child
    return proc

def raise_stop(signum, frame):
    raise Stop

subprocess.Popen = popen_then_signal
signal.signal(signal.SIGTERM, raise_stop)
try:
    spawn(["sleep", "60"])
    print("spawn returned")
except Stop:
    (child,) = started
    print("running" if child.poll() is None else "exited")
    stop_spawned(timeout=5)
    print(child.returncode)
"""


def test_a_stop_signal_during_spawn_loses_no_child() -> None:
    """SIGTERM arriving right after the fork (the Supervisor raises Stopped) must not lose the started child:
    stop_spawned still finds it, stops it by pid and waits for it. Run in a fresh process, single-threaded as the
    launchers are: in a pytest worker another thread may take the signal, and blocking it in this one defers
    nothing."""
    result = subprocess.run(
        [sys.executable, "-c", SPAWN_INTERRUPTED],
        capture_output=True, text=True, timeout=60, cwd=ROOT, check=False,
    )  # fmt: skip
    assert result.stdout.split() == ["running", str(-signal.SIGTERM)], result.stdout + result.stderr
