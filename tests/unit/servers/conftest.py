"""Run the server launchers as the pod runtime does: `python -u -m kubesim.servers.<name>`, cwd = a pod work
directory, KUBESIM_POD_IP / KUBESIM_MOUNTS / HOME set, in a process group of their own; always stopped by pid."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[3]


class Launched:
    """One launcher process; its stdout and stderr collected line by line (the container log)."""

    def __init__(self, module: str, args: list[str], home: Path, mounts: dict[str, str], env: dict[str, str]) -> None:
        home.mkdir(parents=True, exist_ok=True)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith(("MYSQL_", "MARIADB_", "KUBESIM_"))}
        full_env.update(
            {
                "HOME": str(home),
                "KUBESIM_POD_IP": "127.0.0.1",
                "KUBESIM_MOUNTS": json.dumps(mounts),
                "PYTHONPATH": str(ROOT),
                "PYTHONUNBUFFERED": "1",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )
        full_env.update(env)
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", module, *args],
            cwd=home,
            env=full_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, as the runtime gives every container
        )
        self.output: list[str] = []
        self._cond = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.children: dict[int, psutil.Process] = {}

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._cond:
                self.output.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def text(self) -> str:
        with self._cond:
            return "\n".join(self.output)

    def wait_for(self, pattern: str, timeout: float = 30.0) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for line in self.output:
                    if regex.search(line):
                        return line
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no line matching {pattern!r} in:\n" + "\n".join(self.output[-40:]))
                self._cond.wait(min(left, 0.1))

    def server_pids(self) -> set[int]:
        """The launcher's live children (the server), remembered so the finalizer can stop them by pid."""
        try:
            found = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            found = []
        self.children.update({child.pid: child for child in found})
        return {child.pid for child in found}

    def server_pid(self, timeout: float = 30.0) -> int:
        """The server's pid: the launcher's own once it has exec'd the server (its command line is no longer
        `python -m kubesim.servers.<name>`), remembered for the finalizer."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                process = psutil.Process(self.proc.pid)
                if "kubesim.servers." not in " ".join(process.cmdline()):
                    self.children[process.pid] = process
                    return process.pid
            except psutil.NoSuchProcess:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise AssertionError("the launcher did not exec its server:\n" + self.text())
            time.sleep(0.01)

    def terminate(self, timeout: float = 30.0) -> int:
        """SIGTERM to the launcher's process group (as the runtime stops a container); its exit code."""
        self.server_pids()
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
        code = self.proc.wait(timeout)
        self._reader.join(timeout=5)
        return code

    def cleanup(self) -> None:
        """Whatever happened: the group SIGKILLed if the launcher still runs, each remembered child by pid."""
        self.server_pids()
        if self.proc.poll() is None:
            try:
                self.terminate(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        for child in self.children.values():  # psutil.Process: a reused pid is never signalled
            try:
                child.kill()
                child.wait(10)
            except psutil.NoSuchProcess:
                pass
        self._reader.join(timeout=5)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


Launch = Callable[..., Launched]


def _launcher() -> Iterator[Launch]:
    """`launch(module, *args, home=..., mounts={...}, env={...})`; every launched server is cleaned up after."""
    started: list[Launched] = []

    def start(module: str, *args: str, home: Path, mounts: dict[str, str] | None = None, **env: str) -> Launched:
        launched = Launched(module, list(args), home, dict(mounts or {}), env)
        started.append(launched)
        return launched

    yield start
    for launched in started:
        launched.cleanup()


@pytest.fixture(scope="module")
def launch_module() -> Iterator[Launch]:
    """`launch(...)`, stopped when the module's tests end."""
    yield from _launcher()


@pytest.fixture
def launch() -> Iterator[Launch]:
    """As `launch_module`, stopped when the test ends (also when it fails)."""
    yield from _launcher()


@pytest.fixture
def gone() -> Callable[..., bool]:
    return _gone


@pytest.fixture
def listening() -> Callable[[int], set[tuple[str, int]]]:
    return _listening


def _gone(pid: int, timeout: float = 10.0) -> bool:
    """The process has ended (or is a zombie nobody waits for) within the timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(0.02)
    return False


def _listening(pid: int) -> set[tuple[str, int]]:
    return {
        (conn.laddr.ip, conn.laddr.port)
        for conn in psutil.Process(pid).net_connections(kind="inet")
        if conn.status == psutil.CONN_LISTEN
    }
