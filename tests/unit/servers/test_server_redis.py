"""Redis as the session-db pod runs it; and what every launcher promises about its children."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis as redis_client

from kubesim.servers import free_port, rss_bytes
from kubesim.servers import redis as r


def test_server_argv(tmp_path: Path) -> None:
    argv = r.server_argv(tmp_path, "127.5.1.7", 6379, ["--maxmemory", "10mb"])
    assert argv[1:] == [
        "--bind", "127.5.1.7", "--port", "6379", "--save", "", "--appendonly", "no", "--protected-mode", "no",
        "--dir", str(tmp_path), "--logfile", "", "--maxmemory", "10mb",
    ]  # fmt: skip


@pytest.fixture(scope="module")
def session_db(launch_module: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("session-db")
    port = free_port()
    db = launch_module("kubesim.servers.redis", f"--port={port}", "--maxclients", "100", home=base / "pod")
    waited = r.wait_ready("127.0.0.1", port, timeout=30, proc=db.proc)
    db.port, db.base, db.ready_s = port, base, time.monotonic() - db.started
    print(f"session-db: PING after {db.ready_s:.2f}s ({waited:.2f}s waited)")
    return db


def test_sessions_are_stored(session_db: Any, listening: Callable[[int], set[tuple[str, int]]]) -> None:
    conn = redis_client.Redis(host="127.0.0.1", port=session_db.port)
    try:
        conn.set("sess:abc", "cart-1")
        assert conn.get("sess:abc") == b"cart-1"
        assert conn.config_get("maxclients") == {"maxclients": "100"}  # extra arguments reach redis-server
        assert conn.config_get("dir") == {"dir": str((session_db.base / "pod" / "redis").resolve())}
    finally:
        conn.close()
    server = session_db.server_pid()
    assert server == session_db.proc.pid  # the launcher exec'd redis-server
    assert listening(server) == {("127.0.0.1", session_db.port)}
    session_db.wait_for(r"\* Ready to accept connections")  # redis's own log, on stdout
    print(f"session-db: RSS {rss_bytes(server) / 2**20:.1f} MiB")


def test_sigterm_stops_the_server_and_exits_0(launch: Callable[..., Any], tmp_path: Path) -> None:
    port = free_port()
    db = launch("kubesim.servers.redis", f"--port={port}", home=tmp_path)
    r.wait_ready("127.0.0.1", port, timeout=30, proc=db.proc)
    db.server_pid()
    assert db.terminate() == 0
    db.wait_for(r"User requested shutdown")
    db.wait_for(r"Redis is now ready to exit, bye bye")


def test_server_death_is_the_containers_exit(launch: Callable[..., Any], tmp_path: Path) -> None:
    port = free_port()
    db = launch("kubesim.servers.redis", f"--port={port}", home=tmp_path)
    r.wait_ready("127.0.0.1", port, timeout=30, proc=db.proc)
    os.kill(db.server_pid(), signal.SIGKILL)
    assert db.proc.wait(20) == -signal.SIGKILL
