"""Launchers of the real servers the embedded cluster runs for Sock Shop's datastores.

The pod runtime runs `python -u -m kubesim.servers.<name> [args]` with the pod's work directory as cwd and:
- `KUBESIM_POD_IP`: the pod's own loopback address; the server listens there and only there, on the port the
  real image uses (MariaDB 3306, MongoDB 27017, Redis 6379);
- `KUBESIM_MOUNTS`: JSON {container mountPath: host directory}; the data directory is the host directory of the
  image's data mount when the container has one, else a directory under `$HOME` (the pod work directory);
- `HOME`: the pod work directory; plus the container's own env (MYSQL_ROOT_PASSWORD, ...).

A launcher prepares what the image's entrypoint prepares (a first initialisation, a seed: with temporary
children it stops again), then execs the server, as those entrypoints `exec` theirs: the container's process
becomes the server. So SIGTERM stops the server cleanly and the container exits 0, a server that dies is the
container's exit (its code, or 128+signal), and the container's memory is the server's alone (a 128Mi limit
on catalogue-db meets mariadbd, not mariadbd plus a Python supervisor). While preparing, a SIGTERM stops the
children and the launcher exits 0; every child stays in the container's process group (no setsid, no daemon
mode) and gets SIGTERM if the launcher dies first. Logs go to stdout/stderr (the container log).

The modules also expose `start(...) -> subprocess.Popen` and `wait_ready(...)`, so tests start the very same
servers the same way; this module holds what they share: the environment, child processes and signals,
readiness, the exec.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, Any

import psutil

POD_IP = "KUBESIM_POD_IP"
MOUNTS = "KUBESIM_MOUNTS"
DEFAULT_HOST = "127.0.0.1"
PR_SET_PDEATHSIG = 1

# --------------------------------------------------------------------------- the environment


def pod_ip(env: Mapping[str, str]) -> str:
    """The address to listen on: the pod's loopback address (127.0.0.1 outside a pod)."""
    return env.get(POD_IP, "").strip() or DEFAULT_HOST


def parse_mounts(raw: str | None) -> dict[str, str]:
    """`KUBESIM_MOUNTS` -> {mountPath: host directory}; ValueError when it is not a JSON object of strings."""
    if raw is None or not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{MOUNTS} is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"{MOUNTS} must be a JSON object, not {type(data).__name__}")
    mounts: dict[str, str] = {}
    for path, host_dir in data.items():
        if not isinstance(host_dir, str) or not host_dir:
            raise ValueError(f"{MOUNTS}: the host directory of {path!r} must be a non-empty string")
        mounts[path.rstrip("/") or "/"] = host_dir
    return mounts


def data_dir(env: Mapping[str, str], mount_path: str, fallback: str) -> Path:
    """The server's data directory: the host directory of `mount_path` when the container mounts it, else
    `$HOME/<fallback>` (the pod work directory, or the cwd without HOME). Created when missing."""
    mounts = parse_mounts(env.get(MOUNTS))
    chosen = mounts.get(mount_path.rstrip("/"))
    path = Path(chosen) if chosen else Path(env.get("HOME") or os.getcwd()) / fallback
    path.mkdir(parents=True, exist_ok=True)
    return path.resolve()


def work_dir(env: Mapping[str, str]) -> Path:
    return Path(env.get("HOME") or os.getcwd()).resolve()


def log(name: str, message: str) -> None:
    """One launcher line on stdout (the container log), beside the server's own lines."""
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{stamp} [kubesim.servers.{name}] {message}", flush=True)


def split_args(argv: Sequence[str], known: Sequence[str]) -> tuple[dict[str, list[str]], list[str]]:
    """`--name VALUE` / `--name=VALUE` of the known (repeatable) options, and every other argument in order."""
    values: dict[str, list[str]] = {name: [] for name in known}
    rest: list[str] = []
    args = list(argv)
    index = 0
    while index < len(args):
        arg = args[index]
        name, sep, value = arg.partition("=")
        if name in values:
            if not sep:
                if index + 1 >= len(args):
                    raise ValueError(f"{name} needs a value")
                index += 1
                value = args[index]
            values[name].append(value)
        else:
            rest.append(arg)
        index += 1
    return values, rest


# --------------------------------------------------------------------------- child processes


def _prctl() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux
        return None


_PRCTL = _prctl()  # resolved here, so the child only calls it between fork and exec


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The child gets SIGTERM if the process that started it dies first (Linux prctl PR_SET_PDEATHSIG)."""
    if _PRCTL is not None:
        _PRCTL(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)


_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}
_SPAWNED: list[subprocess.Popen[bytes]] = []  # every child spawn() started that may still run


def _child_setup() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The child takes the stop signals again (spawn blocked them around the fork) and dies with its parent."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    _die_with_parent()


def spawn(
    argv: Sequence[str],
    *,
    stdout: int | IO[Any] | None = None,
    stderr: int | IO[Any] | None = None,
    env: Mapping[str, str] | None = None,
    cwd: str | os.PathLike[str] | None = None,
) -> subprocess.Popen[bytes]:
    """A server process in the caller's process group (never a new session), stdin closed; it receives SIGTERM
    when its parent dies, so not even a SIGKILLed launcher leaves it behind.

    SIGTERM and SIGINT are held back while the child is started and recorded, so a stop that arrives meanwhile
    (the Supervisor raises Stopped) never loses a started child: `stop_spawned` finds it."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
    try:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=stderr,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            preexec_fn=_child_setup,  # noqa: PLW1509 - only sigmask and prctl, async-signal-safe enough
        )
        _SPAWNED[:] = [p for p in _SPAWNED if p.poll() is None] + [proc]
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)
    return proc


def stop_spawned(timeout: float = 20.0) -> None:
    """Stop (by pid) and wait for every child spawn() started that still runs - also one whose Popen never
    reached the caller because a stop signal interrupted it right after the start."""
    for proc in list(_SPAWNED):
        stop(proc, timeout)
    _SPAWNED.clear()


def stop(proc: subprocess.Popen[Any], timeout: float = 20.0) -> int:
    """SIGTERM the process by its pid, wait, SIGKILL when it lingers; its exit code (negative: the signal)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            proc.wait(5)
    return int(proc.returncode)


@contextlib.contextmanager
def owned(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> Iterator[subprocess.Popen[bytes]]:
    """A child that is stopped (by pid) when the block ends, however it ends."""
    try:
        yield proc
    finally:
        stop(proc, timeout)


Track = Callable[[subprocess.Popen[bytes]], contextlib.AbstractContextManager[subprocess.Popen[bytes]]]


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (for the launchers' measurements)."""
    return int(psutil.Process(pid).memory_info().rss)


def exit_code(returncode: int, stopping: bool) -> int:
    """The launcher's exit code for its server's: 0 after a requested stop the server obeyed (0 or killed by
    the stop signal), else the server's own code, a death by signal N as 128+N (as a shell reports it)."""
    if stopping and returncode in (0, -signal.SIGTERM, -signal.SIGINT):
        return 0
    if returncode < 0:
        return 128 - returncode
    return returncode


# --------------------------------------------------------------------------- readiness


class ServerExited(RuntimeError):
    """The server process ended while it was awaited."""

    def __init__(self, what: str, returncode: int) -> None:
        super().__init__(f"{what} exited with code {returncode} before it was ready")
        self.returncode = returncode


def wait_until(
    check: Callable[[], bool],
    what: str,
    timeout: float,
    proc: subprocess.Popen[Any] | None = None,
    interval: float = 0.02,
) -> float:
    """Poll `check` until it is true; seconds waited. ServerExited when `proc` ends, TimeoutError after `timeout`."""
    started = time.monotonic()
    deadline = started + timeout
    while True:
        if check():
            return time.monotonic() - started
        if proc is not None and proc.poll() is not None:
            raise ServerExited(what, int(proc.returncode))
        if time.monotonic() >= deadline:
            raise TimeoutError(f"{what} not ready after {timeout:.1f}s")
        time.sleep(interval)


def port_open(host: str, port: int, timeout: float = 0.5) -> bool:
    """A TCP connect to host:port succeeds."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def wait_for_port(host: str, port: int, timeout: float = 30.0, proc: subprocess.Popen[Any] | None = None) -> float:
    """Wait until host:port accepts TCP connections; seconds waited."""
    return wait_until(lambda: port_open(host, port), f"{host}:{port}", timeout, proc)


def free_port() -> int:
    """A TCP port nothing listens on right now, at any address. Erlang checks a port by listening on every
    address (RabbitMQ's prelaunch does so for the distribution port; epmd listens on loopback too), so a port in
    use at another cluster's pod address would fail there: the kernel's pick for the wildcard is free everywhere."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("", 0))
        return int(sock.getsockname()[1])


# --------------------------------------------------------------------------- signals


class Stopped(BaseException):
    """SIGTERM/SIGINT arrived while the launcher was preparing its server (a control flow signal, like
    KeyboardInterrupt: not an Exception, so no `except Exception` swallows it)."""


class Supervisor:
    """While a launcher prepares its server (a first initialisation, a seed): SIGTERM/SIGINT go on to its
    current children as SIGTERM and raise Stopped in the main flow, whose blocks then stop those children by
    pid; the launcher exits 0."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.stopping = False
        self._children: list[subprocess.Popen[bytes]] = []
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            self._previous[signum] = signal.signal(signum, self._on_signal)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        first = not self.stopping
        self.stopping = True
        if first:
            log(self.name, f"received {signal.Signals(signum).name} while preparing the server: stopping")
        for child in self._children:
            if child.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    child.send_signal(signal.SIGTERM)
        if first:
            raise Stopped

    def adopt(self, proc: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        """Track a child; when a stop was already requested, stop it at once."""
        self._children.append(proc)
        if self.stopping and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        return proc

    def release(self, proc: subprocess.Popen[bytes]) -> None:
        if proc in self._children:
            self._children.remove(proc)

    @contextlib.contextmanager
    def child(self, proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
        """A child the signal handler knows about, stopped (by pid) when the block ends (a `Track`)."""
        self.adopt(proc)
        try:
            with owned(proc):
                yield proc
        finally:
            self.release(proc)

    def stop_all(self) -> None:
        for child in list(self._children):
            stop(child)
            self.release(child)


def exec_server(name: str, supervisor: Supervisor, argv: Sequence[str], stderr_to_stdout: bool = False) -> None:
    """Become the server (execv): no child is left by then; the signal handlers go back to the defaults (a
    SIGTERM before the exec ends the launcher, after it the server). Returns only by raising OSError."""
    supervisor.stop_all()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    log(name, "exec " + " ".join(shlex.quote(word) for word in argv))
    sys.stdout.flush()
    sys.stderr.flush()
    if stderr_to_stdout:
        os.dup2(sys.stdout.fileno(), sys.stderr.fileno())
    os.execv(argv[0], list(argv))


def run_launcher(name: str, body: Callable[[Supervisor], int]) -> int:
    """Run a launcher's main flow (which normally ends in `exec_server`) under a Supervisor: exit 0 on a stop
    during preparation, a dead child's exit code, 1 on an error; never return with a child still running."""
    supervisor = Supervisor(name)
    supervisor.install()
    try:
        return body(supervisor)
    except Stopped:
        log(name, "stopped before the server was ready")
        return 0
    except ServerExited as exc:
        log(name, str(exc))
        return exit_code(exc.returncode, supervisor.stopping)
    except Exception as exc:
        log(name, f"error: {type(exc).__name__}: {exc}")
        return 1
    finally:
        supervisor.stop_all()
        supervisor.restore()
        sys.stdout.flush()
