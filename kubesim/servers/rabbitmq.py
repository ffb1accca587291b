"""The real RabbitMQ broker (Debian's rabbitmq-server 3.10) as a pod's process, and the launcher tests share.

    python -u -m kubesim.servers.rabbitmq

As a pod's program (cwd = the pod work dir; conventions of kubesim/servers/__init__.py):
- it listens only on the pod's loopback address (`KUBESIM_POD_IP`): AMQP on 5672 (`RABBITMQ_NODE_PORT`), the
  management API on 15672 (`RABBITMQ_MANAGEMENT_PORT`, ours), the Erlang distribution on a free
  port (`RABBITMQ_DIST_PORT` to choose one: RabbitMQ checks it on every address, so two clusters' brokers could not
  both have 25672); a port 0 means a free one;
- it runs its own `epmd` in the foreground as a child, on the pod address and a free port (`ERL_EPMD_PORT` to
  choose one). epmd always listens on the loopback addresses too, so the machine-wide 4369 would make two
  brokers collide: every broker gets its own port, and only its own node uses it;
- node `rabbit@<pod address>` (long names); mnesia under the `/var/lib/rabbitmq` volume when the pod mounts one
  (`KUBESIM_MOUNTS`), else under `$HOME/rabbitmq`; config, plugins file and Erlang cookie under `$HOME`;
- the broker logs to stdout (the pod's log); on SIGTERM it stops the broker, then epmd, checks that no child
  survived (by pid) and exits 0. A broker or epmd that dies on its own makes it exit 1 (the kubelet restarts it).
  Its children stay in the pod's process group and get SIGTERM should the launcher itself die.

As a library: `start(data_dir, host, ...)` starts the very same broker and returns a `Broker` handle,
`wait_ready(broker)` waits for AMQP and the management API (and records how long each took), `stop(broker)`
stops it and every process it started, by pid. Stopping takes ~6.5 s: the management plugin's shutdown pauses
5 s (with or without clients; RabbitMQ's own behaviour).
"""

from __future__ import annotations

import base64
import contextlib
import glob
import http.client
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import psutil

from kubesim.servers import data_dir as pod_data_dir
from kubesim.servers import free_port, log, pod_ip, spawn, work_dir

NAME = "rabbitmq"
RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server"
DATA_MOUNT = "/var/lib/rabbitmq"
AMQP_PORT = 5672
MANAGEMENT_PORT = 15672
DIST_PORT = 25672
DEFAULT_USER = "guest"
DEFAULT_PASSWORD = "guest"
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


class BrokerError(RuntimeError):
    """The broker could not be started, or did not become ready."""


# --------------------------------------------------------------------------- addresses and ports


def pod_address(env: Mapping[str, str]) -> str:
    """The loopback IPv4 address this pod's broker binds (KUBESIM_POD_IP; 127.0.0.1 outside a pod)."""
    host = pod_ip(env)
    try:
        ip = ipaddress.IPv4Address(host)
    except ValueError as exc:
        raise BrokerError(f"KUBESIM_POD_IP {host!r} is not an IPv4 address") from exc
    if not ip.is_loopback:
        raise BrokerError(f"KUBESIM_POD_IP {host!r} is not a loopback address")
    return host


def find_epmd() -> str:
    for candidate in (shutil.which("epmd"), *sorted(glob.glob("/usr/lib/erlang/erts-*/bin/epmd"), reverse=True)):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BrokerError("epmd not found (is erlang-base installed?)")


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class Layout:
    """Where one broker keeps its files and which addresses it uses."""

    data_dir: Path  # mnesia lives here (the pod's data volume, or a test's temp dir)
    host: str
    home: Path  # $HOME: the Erlang cookie; config, plugins file and logs under home/rabbitmq-etc
    amqp_port: int = AMQP_PORT
    management_port: int = MANAGEMENT_PORT
    dist_port: int = DIST_PORT
    stats_interval_ms: int | None = None  # management statistics interval; RabbitMQ's default is 5000
    cluster_name: str | None = None  # RabbitMQ's default: rabbit@<this machine's host name>

    @property
    def node(self) -> str:
        return f"rabbit@{self.host}"

    @property
    def etc_dir(self) -> Path:
        return self.home / "rabbitmq-etc"

    @property
    def config_file(self) -> Path:
        return self.etc_dir / "rabbitmq.conf"

    @property
    def plugins_file(self) -> Path:
        return self.etc_dir / "enabled_plugins"

    @property
    def env_file(self) -> Path:
        return self.etc_dir / "rabbitmq-env.conf"

    @property
    def log_dir(self) -> Path:
        return self.etc_dir / "log"

    @property
    def mnesia_base(self) -> Path:
        return self.data_dir / "mnesia"

    @property
    def amqp_url(self) -> str:
        return f"amqp://{DEFAULT_USER}:{DEFAULT_PASSWORD}@{self.host}:{self.amqp_port}/%2F"

    @property
    def management_url(self) -> str:
        return f"http://{self.host}:{self.management_port}"

    def config_text(self) -> str:
        lines = [
            "# Written by kubesim.servers.rabbitmq: this broker listens on its pod address only.",
            f"listeners.tcp.default = {self.host}:{self.amqp_port}",
            f"management.tcp.ip = {self.host}",
            f"management.tcp.port = {self.management_port}",
            "# guest/guest from other pods, as the rabbitmq image allows.",
            "loopback_users = none",
            "log.console = true",
            "log.console.level = info",
            "log.file = false",
        ]
        if self.stats_interval_ms is not None:
            lines.append(f"collect_statistics_interval = {int(self.stats_interval_ms)}")
        if self.cluster_name:
            lines.append(f"cluster_name = {self.cluster_name}")
        return "\n".join(lines) + "\n"

    def write_files(self) -> None:
        for directory in (self.etc_dir, self.log_dir, self.mnesia_base, self.home):
            directory.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(self.config_text(), encoding="utf-8")
        self.plugins_file.write_text("[rabbitmq_management].\n", encoding="utf-8")
        # Read instead of /etc/rabbitmq/rabbitmq-env.conf, so the machine's settings never leak in.
        self.env_file.write_text("# kubesim: no overrides\n", encoding="utf-8")
        advanced = self.etc_dir / "advanced.config"
        if self.stats_interval_ms is not None:
            # The management agent samples with its own interval and keeps 5 s buckets by default: the API's
            # figures lag ~5 s unless both follow the shorter interval.
            interval = int(self.stats_interval_ms)
            bucket = max(1, round(interval / 1000))
            policies = ", ".join(
                f"{{{name}, [{{{age}, {bucket}}}]}}"
                for name, age in (("global", 605), ("basic", 605), ("detailed", 10))
            )
            policies = f"[{policies}]"
            advanced.write_text(
                "[{rabbitmq_management_agent, ["
                f"{{collect_statistics_interval, {interval}}}, {{sample_retention_policies, {policies}}}"
                "]}].\n",
                encoding="utf-8",
            )
        else:
            advanced.unlink(missing_ok=True)

    def environment(self, epmd_port: int, base: Mapping[str, str]) -> dict[str, str]:
        env = {k: v for k, v in base.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        interface = "{" + self.host.replace(".", ",") + "}"
        env.update(
            {
                "HOME": str(self.home),
                "LANG": base.get("LANG") or "C.UTF-8",
                "LC_ALL": "C.UTF-8",
                "RABBITMQ_NODENAME": self.node,
                "RABBITMQ_USE_LONGNAME": "true",
                "RABBITMQ_CONF_ENV_FILE": str(self.env_file),
                "RABBITMQ_CONFIG_FILE": str(self.config_file),
                "RABBITMQ_ADVANCED_CONFIG_FILE": str(self.etc_dir / "advanced.config"),
                "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.plugins_file),
                "RABBITMQ_MNESIA_BASE": str(self.mnesia_base),
                "RABBITMQ_LOG_BASE": str(self.log_dir),
                "RABBITMQ_LOGS": "-",
                "RABBITMQ_NODE_IP_ADDRESS": self.host,
                "RABBITMQ_NODE_PORT": str(self.amqp_port),
                "RABBITMQ_DIST_PORT": str(self.dist_port),
                "ERL_EPMD_PORT": str(epmd_port),
                "ERL_EPMD_ADDRESS": self.host,
                "ERL_CRASH_DUMP": str(self.log_dir / "erl_crash.dump"),
                # Every erl this broker runs (the node, and the epmd-starter RabbitMQ runs at boot) binds its
                # distribution to the pod address and never starts an epmd of its own.
                "ERL_AFLAGS": f"-start_epmd false -kernel inet_dist_use_interface {interface}",
            }
        )
        return env


# --------------------------------------------------------------------------- the handle


@dataclass
class Broker:
    """A started broker: its epmd and rabbitmq-server processes, and what was measured about them."""

    layout: Layout
    epmd_port: int
    epmd: subprocess.Popen[bytes]
    server: subprocess.Popen[bytes]
    started_at: float
    log_file: IO[bytes] | None = None
    amqp_ready_s: float | None = None
    management_ready_s: float | None = None
    _tracked: dict[int, psutil.Process] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def host(self) -> str:
        return self.layout.host

    @property
    def amqp_port(self) -> int:
        return self.layout.amqp_port

    @property
    def management_port(self) -> int:
        return self.layout.management_port

    @property
    def amqp_url(self) -> str:
        return self.layout.amqp_url

    @property
    def management_url(self) -> str:
        return self.layout.management_url

    def track(self) -> list[psutil.Process]:
        """Remember every process this broker runs (epmd, the server script, beam and its helpers)."""
        with self._lock:
            for root in (self.epmd.pid, self.server.pid):
                try:
                    proc = psutil.Process(root)
                    found = [proc, *proc.children(recursive=True)]
                except psutil.NoSuchProcess:
                    continue
                for child in found:
                    self._tracked.setdefault(child.pid, child)
            return list(self._tracked.values())

    def pids(self) -> list[int]:
        return sorted(p.pid for p in self.track())

    def running(self) -> list[psutil.Process]:
        """Tracked processes still alive (a pid reused by another process does not count)."""
        alive: list[psutil.Process] = []
        for proc in self.track():
            with contextlib.suppress(psutil.Error):
                if proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    alive.append(proc)
        return alive

    def beam(self) -> psutil.Process | None:
        for proc in self.track():
            with contextlib.suppress(psutil.Error):
                if proc.name().startswith("beam"):
                    return proc
        return None

    def rss_bytes(self) -> dict[str, int]:
        """Resident memory of beam and epmd, in bytes."""
        sizes: dict[str, int] = {}
        beam = self.beam()
        for name, proc in (("beam", beam), ("epmd", _process(self.epmd.pid))):
            if proc is not None:
                with contextlib.suppress(psutil.Error):
                    sizes[name] = int(proc.memory_info().rss)
        return sizes

    def management(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A management API call as guest: (status, JSON answer or None)."""
        return management_request(self.host, self.management_port, method, path, body)

    def exited(self) -> str | None:
        """Why the broker is no longer running, or None while both epmd and the server run."""
        if self.server.poll() is not None:
            return f"rabbitmq-server exited with code {self.server.returncode}"
        if self.epmd.poll() is not None:
            return f"epmd exited with code {self.epmd.returncode}"
        return None

    def summary(self) -> str:
        rss = self.rss_bytes()
        parts = [f"node {self.layout.node}", f"AMQP {self.host}:{self.amqp_port}"]
        parts.append(f"management {self.host}:{self.management_port}")
        parts.append(f"epmd port {self.epmd_port}")
        if self.amqp_ready_s is not None:
            parts.append(f"AMQP ready after {self.amqp_ready_s:.2f} s")
        if self.management_ready_s is not None:
            parts.append(f"management API after {self.management_ready_s:.2f} s")
        if rss:
            parts.append("RSS " + ", ".join(f"{k} {v / 1048576:.0f} MiB" for k, v in sorted(rss.items())))
        return "; ".join(parts)


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


# --------------------------------------------------------------------------- start, readiness, stop


def start(
    data_dir: str | os.PathLike[str],
    host: str = "127.0.0.1",
    *,
    amqp_port: int = AMQP_PORT,
    management_port: int = MANAGEMENT_PORT,
    dist_port: int = 0,
    epmd_port: int | None = None,
    home: str | os.PathLike[str] | None = None,
    log_path: str | os.PathLike[str] | None = None,
    stats_interval_ms: int | None = None,
    cluster_name: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Broker:
    """Start epmd, then rabbitmq-server, bound to `host` only; returns at once (see `wait_ready`).

    A port 0 means a free one (tests: another broker may hold 5672 on 127.0.0.1); `epmd_port` None too.
    `log_path`: where both write their output (None: inherit this process's stdout/stderr, as a pod does).
    Both stay in the caller's process group (a pod's: the kubelet's signals reach them) and get SIGTERM if the
    caller dies. `home` defaults to `data_dir`.
    """
    ipaddress.IPv4Address(host)  # a literal IPv4 address: it is the node's host name and the bind address
    layout = Layout(
        data_dir=Path(data_dir).resolve(),
        host=host,
        home=Path(home).resolve() if home is not None else Path(data_dir).resolve(),
        amqp_port=amqp_port or free_port(),
        management_port=management_port or free_port(),
        dist_port=dist_port or free_port(),
        stats_interval_ms=stats_interval_ms,
        cluster_name=cluster_name,
    )
    layout.write_files()
    log_file: IO[bytes] | None = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115
    output: Any = log_file if log_file is not None else None
    epmd: subprocess.Popen[bytes] | None = None
    try:
        epmd, port = _start_epmd(layout, epmd_port, output)
        server = spawn(
            [RABBITMQ_SERVER],
            cwd=str(layout.home),
            env=layout.environment(port, env if env is not None else os.environ),
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
        )
    except BaseException:
        if epmd is not None:
            _terminate([_process(epmd.pid)], 5.0)
            epmd.wait(5)
        if log_file is not None:
            log_file.close()
        raise
    broker = Broker(layout, port, epmd, server, time.monotonic(), log_file)
    broker.track()
    return broker


def _start_epmd(layout: Layout, wanted: int | None, output: Any) -> tuple[subprocess.Popen[bytes], int]:
    """epmd in the foreground on the pod address (and, as epmd always does, loopback), on a free port."""
    exe = find_epmd()
    attempts = 1 if wanted is not None else 5
    last = ""
    for _ in range(attempts):
        port = wanted if wanted is not None else free_port()
        proc = spawn(
            [exe, "-address", layout.host, "-port", str(port)],
            cwd=str(layout.home),
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(layout.home)},
            stdout=output,
            stderr=subprocess.STDOUT if output is not None else None,
        )
        deadline = time.monotonic() + 5.0
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                last = f"epmd exited with code {proc.returncode} on port {port}"
                break
            if _listens(proc.pid, layout.host, port):
                return proc, port
            time.sleep(0.02)
        else:
            last = f"epmd did not listen on {layout.host}:{port} within 5 s"
            _terminate([_process(proc.pid)], 2.0)
        proc.wait(5)
    raise BrokerError(last)


def _listens(pid: int, host: str, port: int) -> bool:
    try:
        conns = psutil.Process(pid).net_connections(kind="tcp")
    except psutil.Error:
        return False
    return any(c.status == psutil.CONN_LISTEN and c.laddr and tuple(c.laddr)[:2] == (host, port) for c in conns)


def amqp_ready(host: str, port: int, timeout: float = 1.0) -> bool:
    """The broker answers an AMQP 0-9-1 protocol header with a method frame (connection.start)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.settimeout(timeout)
            sock.sendall(AMQP_HEADER)
            return sock.recv(1) == b"\x01"
    except OSError:
        return False


def management_get(
    host: str, port: int, path: str, timeout: float = 2.0, auth: tuple[str, str] = (DEFAULT_USER, DEFAULT_PASSWORD)
) -> tuple[int, bytes]:
    """One GET against the management API with basic auth: (status, body)."""
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Authorization": f"Basic {token}", "Accept": "application/json"})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def management_request(
    host: str,
    port: int,
    method: str,
    path: str,
    body: Any = None,
    *,
    timeout: float = 10.0,
    auth: tuple[str, str] = (DEFAULT_USER, DEFAULT_PASSWORD),
) -> tuple[int, Any]:
    """One management API call with a JSON body (or none): (status, the JSON answer or None)."""
    token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode("ascii")
    headers = {"Authorization": f"Basic {token}", "Accept": "application/json"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode("utf-8")
        headers["Content-Type"] = "application/json"
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    try:
        return response.status, json.loads(raw) if raw.strip() else None
    except ValueError:
        return response.status, raw.decode("utf-8", "replace")


def management_ready(host: str, port: int, timeout: float = 2.0) -> bool:
    try:
        status, _ = management_get(host, port, "/api/overview", timeout)
    except (OSError, http.client.HTTPException):
        return False
    return status == 200


def wait_ready(broker: Broker, timeout: float = 60.0, stop: threading.Event | None = None) -> Broker:
    """Wait until AMQP answers and `GET /api/overview` is 200; records the times since start.

    Raises BrokerError when a process exits or the timeout passes (the caller still owns `stop`)."""
    deadline = time.monotonic() + timeout
    layout = broker.layout
    while broker.amqp_ready_s is None or broker.management_ready_s is None:
        if stop is not None and stop.is_set():
            return broker
        reason = broker.exited()
        if reason is not None:
            raise BrokerError(f"{reason} before it was ready")
        if broker.amqp_ready_s is None and amqp_ready(layout.host, layout.amqp_port, 0.5):
            broker.amqp_ready_s = time.monotonic() - broker.started_at
        if broker.management_ready_s is None and management_ready(layout.host, layout.management_port, 1.0):
            broker.management_ready_s = time.monotonic() - broker.started_at
        if broker.amqp_ready_s is not None and broker.management_ready_s is not None:
            break
        if time.monotonic() > deadline:
            raise BrokerError(f"broker on {layout.host} not ready after {timeout:.0f} s")
        time.sleep(0.05)
    broker.track()
    return broker


def _terminate(procs: list[psutil.Process | None], timeout: float) -> list[int]:
    """SIGTERM the given processes, SIGKILL those still alive after `timeout`; the pids that needed a kill."""
    live = [p for p in procs if p is not None]
    for proc in live:
        with contextlib.suppress(psutil.Error):
            proc.terminate()
    _, remaining = psutil.wait_procs(live, timeout=timeout)
    for proc in remaining:
        with contextlib.suppress(psutil.Error):
            proc.kill()
    psutil.wait_procs(remaining, timeout=5.0)
    return [p.pid for p in remaining]


def stop(broker: Broker, timeout: float = 30.0) -> list[int]:
    """Stop the broker (SIGTERM: a clean shutdown), then epmd; kill by pid anything left. Returns the pids
    that had to be killed; afterwards none of the broker's processes runs."""
    tracked = broker.track()
    killed: list[int] = []
    server = _process(broker.server.pid)
    if server is not None and broker.server.poll() is None:
        # The rabbitmq-server script traps SIGTERM and forwards it to beam, which shuts down cleanly.
        with contextlib.suppress(psutil.Error):
            server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            broker.server.wait(timeout)
    else:
        beam = broker.beam()
        if beam is not None:
            killed += _terminate([beam], timeout)
    if broker.server.poll() is None:
        killed += _terminate([broker.beam(), server], 1.0)
    # Beam (and its erl_child_setup) may outlive the script by a moment.
    beam_and_helpers = [p for p in tracked if p.pid not in (broker.epmd.pid, broker.server.pid)]
    _, remaining = psutil.wait_procs(beam_and_helpers, timeout=min(timeout, 10.0))
    killed += _terminate(list(remaining), 0.1) if remaining else []
    if broker.epmd.poll() is None:
        killed += _terminate([_process(broker.epmd.pid)], 5.0)
    for popen in (broker.server, broker.epmd):
        with contextlib.suppress(subprocess.TimeoutExpired):
            popen.wait(5)
    leftovers = [p for p in tracked if _alive(p)]
    killed += _terminate(list(leftovers), 0.1) if leftovers else []
    if broker.log_file is not None:
        broker.log_file.close()
    return sorted(set(killed))


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


# --------------------------------------------------------------------------- the pod's program


def _int_env(env: Mapping[str, str], name: str, default: int) -> int:
    raw = (env.get(name) or "").strip()
    return int(raw) if raw else default


def _cluster_name(env: Mapping[str, str]) -> str | None:
    """As in the rabbitmq image, whose default cluster name carries the host name: the pod's."""
    hostname = (env.get("HOSTNAME") or "").strip()
    return f"rabbit@{hostname}" if re.fullmatch(r"[\w.-]+", hostname) else None


def main() -> int:
    env = os.environ
    try:
        host = pod_address(env)
        home = work_dir(env)
        data = pod_data_dir(env, DATA_MOUNT, "rabbitmq")
        epmd_raw = (env.get("ERL_EPMD_PORT") or "").strip()
        options: dict[str, Any] = {
            "amqp_port": _int_env(env, "RABBITMQ_NODE_PORT", AMQP_PORT),
            "management_port": _int_env(env, "RABBITMQ_MANAGEMENT_PORT", MANAGEMENT_PORT),
            # 0: a free port. RabbitMQ's prelaunch checks 25672 on every address, where another cluster's broker
            # holds it; nothing connects to the distribution port from outside the pod.
            "dist_port": _int_env(env, "RABBITMQ_DIST_PORT", 0),
            "epmd_port": int(epmd_raw) if epmd_raw else None,
            "cluster_name": _cluster_name(env),
        }
    except (ValueError, BrokerError) as exc:
        log(NAME, f"invalid configuration: {exc}")
        return 2

    stopping = threading.Event()

    def _on_signal(_signum: int, _frame: Any) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    log(NAME, f"starting RabbitMQ node rabbit@{host}: mnesia under {data}, listening on {host} only")
    try:
        broker = start(data, host, home=home, **options)
    except (OSError, BrokerError) as exc:
        log(NAME, f"cannot start: {exc}")
        return 1
    code = 0
    try:
        try:
            wait_ready(broker, timeout=120.0, stop=stopping)
        except BrokerError as exc:
            log(NAME, str(exc))
            code = 1
        else:
            if not stopping.is_set():
                log(NAME, f"ready: {broker.summary()}")
        while code == 0 and not stopping.is_set():
            reason = broker.exited()
            if reason is not None:
                if not stopping.wait(0.5):  # the kubelet's SIGTERM reaches the whole group at once
                    log(NAME, f"{reason}; stopping")
                    code = 1
                break
            stopping.wait(0.2)
    finally:
        killed = stop(broker)
        left = [p.pid for p in broker.track() if _alive(p)]
        log(NAME, f"stopped (killed after the grace period: {killed or 'none'}; still running: {left or 'none'})")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
