"""The real RabbitMQ broker as a pod's program (`python -m kubesim.servers.rabbitmq`): one broker for the module,
started exactly as the pod runtime starts it (KUBESIM_POD_IP, HOME, KUBESIM_MOUNTS), on 127.0.0.1 and free ports;
the last test stops it with the kubelet's SIGTERM and checks, by pid, that nothing it started survives."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pika
import psutil
import pytest

from kubesim.servers import rabbitmq

ROOT = Path(__file__).resolve().parents[3]
READY = re.compile(
    r"ready: node (?P<node>\S+); AMQP (?P<host>[\d.]+):(?P<amqp>\d+); management [\d.]+:(?P<mgmt>\d+); "
    r"epmd port (?P<epmd>\d+); AMQP ready after (?P<amqp_s>[\d.]+) s; management API after (?P<mgmt_s>[\d.]+) s; "
    r"RSS beam (?P<beam>\d+) MiB, epmd (?P<epmd_mib>\d+) MiB"
)


@dataclass
class PodBroker:
    proc: subprocess.Popen[bytes]
    workdir: Path
    volume: Path
    lines: list[str] = field(default_factory=list)
    children: list[psutil.Process] = field(default_factory=list)
    ready: re.Match[str] | None = None

    def wait_for(self, pattern: str, timeout: float) -> re.Match[str]:
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.lines):
                match = regex.search(line)
                if match:
                    return match
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no line matching {pattern!r} in {self.lines[-40:]!r}")

    @property
    def host(self) -> str:
        assert self.ready is not None
        return self.ready["host"]

    @property
    def amqp_port(self) -> int:
        assert self.ready is not None
        return int(self.ready["amqp"])

    @property
    def management_port(self) -> int:
        assert self.ready is not None
        return int(self.ready["mgmt"])


def _alive(proc: psutil.Process) -> bool:
    try:
        return proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _stop_group(broker: PodBroker) -> None:
    """Stop the pod program by pid as the kubelet does (SIGTERM to its group), SIGKILL what lingers, by pid."""
    if broker.proc.poll() is None:
        os.killpg(broker.proc.pid, signal.SIGTERM)
        try:
            broker.proc.wait(40)
        except subprocess.TimeoutExpired:
            os.killpg(broker.proc.pid, signal.SIGKILL)
            broker.proc.wait(10)
    for child in broker.children:
        if _alive(child):
            child.kill()


@pytest.fixture(scope="module")
def pod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PodBroker]:
    workdir = tmp_path_factory.mktemp("pod")
    volume = tmp_path_factory.mktemp("rabbitmq-data")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_", "KUBESIM_"))}
    env.update(
        {
            "HOME": str(workdir),
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": str(ROOT),
            "KUBESIM_POD_IP": "127.0.0.1",
            "HOSTNAME": "rabbitmq-64d79f8d89-6288x",
            "KUBESIM_MOUNTS": json.dumps({"/var/lib/rabbitmq": str(volume), "/tmp": str(workdir / "tmp")}),
            # 5672/15672 on 127.0.0.1 may belong to another run: free ports instead.
            "RABBITMQ_NODE_PORT": "0",
            "RABBITMQ_MANAGEMENT_PORT": "0",
            "RABBITMQ_DIST_PORT": "0",
        }
    )
    proc = subprocess.Popen(
        [sys.executable, "-u", "-m", "kubesim.servers.rabbitmq"],
        cwd=workdir,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # as the pod runtime does
    )
    broker = PodBroker(proc, workdir, volume)

    def pump() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            broker.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        broker.ready = broker.wait_for(r"\[kubesim\.servers\.rabbitmq\] " + READY.pattern, 90)
        parent = psutil.Process(proc.pid)
        broker.children = parent.children(recursive=True)
        yield broker
    finally:
        _stop_group(broker)
        reader.join(5)
        if proc.stdout is not None:
            proc.stdout.close()


# --------------------------------------------------------------------------- pure helpers


def test_pod_address_uses_a_loopback_address_as_is() -> None:
    assert rabbitmq.pod_address({"KUBESIM_POD_IP": "127.5.1.7"}) == "127.5.1.7"
    assert rabbitmq.pod_address({}) == "127.0.0.1"


def test_pod_address_must_be_a_loopback_ipv4_address() -> None:
    with pytest.raises(rabbitmq.BrokerError):
        rabbitmq.pod_address({"KUBESIM_POD_IP": "10.244.1.16"})
    with pytest.raises(rabbitmq.BrokerError):
        rabbitmq.pod_address({"KUBESIM_POD_IP": "::1"})


def test_config_binds_every_listener_to_the_pod_address(tmp_path: Path) -> None:
    layout = rabbitmq.Layout(data_dir=tmp_path / "data", host="127.5.1.7", home=tmp_path / "home")
    text = layout.config_text()
    assert "listeners.tcp.default = 127.5.1.7:5672" in text
    assert "management.tcp.ip = 127.5.1.7" in text
    assert "management.tcp.port = 15672" in text
    assert "loopback_users = none" in text
    env = layout.environment(40001, {"RABBITMQ_NODENAME": "leaked@host", "PATH": "/usr/bin"})
    assert env["RABBITMQ_NODENAME"] == "rabbit@127.5.1.7"
    assert env["RABBITMQ_USE_LONGNAME"] == "true"
    assert env["ERL_EPMD_PORT"] == "40001"
    assert "inet_dist_use_interface {127,5,1,7}" in env["ERL_AFLAGS"]
    assert env["RABBITMQ_LOGS"] == "-"


# --------------------------------------------------------------------------- the pod's broker


def test_ready_line_reports_startup_times_and_memory(pod: PodBroker) -> None:
    ready = pod.ready
    assert ready is not None
    assert ready["node"] == "rabbit@127.0.0.1"
    assert 0 < float(ready["amqp_s"]) < 60
    assert 0 < float(ready["mgmt_s"]) < 60
    assert 20 < int(ready["beam"]) < 1000
    assert int(ready["epmd"]) not in (4369, pod.amqp_port, pod.management_port)
    # RabbitMQ's own log goes to the pod's stdout.
    assert any(f"started TCP listener on 127.0.0.1:{pod.amqp_port}" in line for line in pod.lines)


def test_mnesia_lives_on_the_data_volume_and_config_under_home(pod: PodBroker) -> None:
    assert (pod.volume / "mnesia" / "rabbit@127.0.0.1").is_dir()
    assert (pod.workdir / "rabbitmq-etc" / "rabbitmq.conf").is_file()
    assert (pod.workdir / "rabbitmq-etc" / "enabled_plugins").read_text().strip() == "[rabbitmq_management]."
    assert (pod.workdir / ".erlang.cookie").is_file()


def test_every_listener_is_on_the_pod_address(pod: PodBroker) -> None:
    pids = {p.pid for p in pod.children if _alive(p)}
    listening: dict[int, set[tuple[str, int]]] = {}
    for conn in psutil.net_connections(kind="inet"):
        if conn.pid in pids and conn.status == psutil.CONN_LISTEN:
            listening.setdefault(conn.pid, set()).add((conn.laddr[0], conn.laddr[1]))
    names = {p.pid: p.name() for p in pod.children if p.pid in listening}
    beam = {addr for pid, addrs in listening.items() if names[pid].startswith("beam") for addr in addrs}
    assert beam >= {("127.0.0.1", pod.amqp_port), ("127.0.0.1", pod.management_port)}
    assert all(host == "127.0.0.1" for host, _ in beam), beam  # AMQP, management and distribution
    epmd = {addr for pid, addrs in listening.items() if names[pid] == "epmd" for addr in addrs}
    assert pod.ready is not None
    assert {port for _, port in epmd} == {int(pod.ready["epmd"])}  # epmd adds loopback (::1 too) by design
    assert not any(host in ("0.0.0.0", "::") for pid in listening for host, _ in listening[pid])


def test_guest_can_publish_and_get_over_amqp(pod: PodBroker) -> None:
    params = pika.ConnectionParameters(pod.host, pod.amqp_port, credentials=pika.PlainCredentials("guest", "guest"))
    connection = pika.BlockingConnection(params)
    try:
        channel = connection.channel()
        channel.queue_declare("launcher-check", auto_delete=True)
        channel.basic_publish("", "launcher-check", b"hello")
        deadline = time.monotonic() + 5
        body = None
        while body is None and time.monotonic() < deadline:
            _method, _props, body = channel.basic_get("launcher-check", auto_ack=True)
        assert body == b"hello"
    finally:
        connection.close()


def test_management_api_answers_with_guest(pod: PodBroker) -> None:
    status, body = rabbitmq.management_get(pod.host, pod.management_port, "/api/overview")
    assert status == 200
    overview = json.loads(body)
    assert overview["node"] == "rabbit@127.0.0.1"
    assert overview["rabbitmq_version"].startswith("3.")
    assert overview["cluster_name"] == "rabbit@rabbitmq-64d79f8d89-6288x"  # the pod's host name
    status, _ = rabbitmq.management_get(pod.host, pod.management_port, "/api/overview", auth=("guest", "wrong"))
    assert status == 401


def test_sigterm_stops_the_broker_and_every_child(pod: PodBroker) -> None:
    """Last in the module: the kubelet's SIGTERM to the pod's process group."""
    children = [p for p in pod.children if _alive(p)]
    assert {"epmd", "beam.smp"} <= {p.name() for p in children}
    started = time.monotonic()
    os.killpg(pod.proc.pid, signal.SIGTERM)
    assert pod.proc.wait(40) == 0
    assert time.monotonic() - started < 30
    assert [p.pid for p in children if _alive(p)] == []
    pod.wait_for(r"stopped \(killed after the grace period: none; still running: none\)", 5)
    assert not rabbitmq.amqp_ready("127.0.0.1", pod.amqp_port, 0.5)


# --------------------------------------------------------------------------- the library (what tests use)


def test_library_start_wait_and_stop_by_pid(tmp_path: Path) -> None:
    """A second broker through start()/wait_ready()/stop(): its figures, then nothing left by pid."""
    broker = rabbitmq.start(tmp_path, amqp_port=0, management_port=0, dist_port=0, log_path=tmp_path / "log")
    try:
        rabbitmq.wait_ready(broker, 90)
        tracked = broker.track()
        assert broker.amqp_ready_s is not None and broker.management_ready_s is not None
        assert set(broker.rss_bytes()) == {"beam", "epmd"}
        assert broker.amqp_port != rabbitmq.AMQP_PORT or broker.management_port != rabbitmq.MANAGEMENT_PORT
    finally:
        killed = rabbitmq.stop(broker)
    assert killed == []  # a clean shutdown, nothing needed SIGKILL
    assert [p.pid for p in tracked if _alive(p)] == []
    assert broker.running() == []
    assert "SIGTERM received - shutting down" in (tmp_path / "log").read_text()
