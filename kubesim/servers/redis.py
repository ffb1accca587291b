"""Redis (Debian's redis-server) for session-db and the redis images.

    python -u -m kubesim.servers.redis [--port N] [redis-server options]...

`redis-server --bind $KUBESIM_POD_IP --port 6379 --save '' --appendonly no --protected-mode no --dir <data>
--logfile ""`: no persistence (as the Sock Shop session-db runs), its log on stdout. Data directory: the host
directory of the container's `/data` mount (the image's working directory), else `$HOME/redis`. Further
arguments go to redis-server after these, as the image's entrypoint passes its arguments on, so they win.
The launcher execs redis-server: SIGTERM shuts it down (exit 0).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import redis as redis_client
from redis.backoff import NoBackoff
from redis.retry import Retry

from kubesim.servers import (
    Supervisor,
    data_dir,
    exec_server,
    pod_ip,
    run_launcher,
    spawn,
    split_args,
    wait_for_port,
    wait_until,
)

NAME = "redis"
PORT = 6379
DATA_MOUNT = "/data"


def redis_server() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise FileNotFoundError("redis-server is not installed (Debian package redis-server)")
    return found


def server_argv(data: Path, host: str, port: int, extra: Sequence[str] = ()) -> list[str]:
    return [
        redis_server(),
        "--bind",
        host,
        "--port",
        str(port),
        "--save",
        "",
        "--appendonly",
        "no",
        "--protected-mode",
        "no",
        "--dir",
        str(data),
        "--logfile",
        "",
        *extra,
    ]


def start(
    data: Path, host: str = "127.0.0.1", port: int = PORT, *, extra: Sequence[str] = (), stdout: Any = None
) -> subprocess.Popen[bytes]:
    return spawn(server_argv(Path(data), host, port, extra), stdout=stdout)


def _pongs(host: str, port: int) -> bool:
    conn = redis_client.Redis(
        host=host, port=port, socket_connect_timeout=0.5, socket_timeout=0.5, retry=Retry(NoBackoff(), 0)
    )
    try:
        return bool(conn.ping())
    except redis_client.RedisError:
        return False
    finally:
        conn.close()


def wait_ready(host: str, port: int, timeout: float = 30.0, proc: subprocess.Popen[Any] | None = None) -> float:
    """Wait until the server answers PING on host:port; seconds waited."""
    started = time.monotonic()
    wait_for_port(host, port, timeout, proc)
    wait_until(lambda: _pongs(host, port), f"Redis on {host}:{port}", timeout, proc)
    return time.monotonic() - started


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)

    def body(supervisor: Supervisor) -> int:
        options, rest = split_args(args, ("--port",))
        port = int(options["--port"][-1]) if options["--port"] else PORT
        host = pod_ip(os.environ)
        data = data_dir(os.environ, DATA_MOUNT, "redis")
        exec_server(NAME, supervisor, server_argv(data, host, port, rest))
        return 1  # not reached: exec_server returns only by raising

    return run_launcher(NAME, body)


if __name__ == "__main__":
    raise SystemExit(main())
