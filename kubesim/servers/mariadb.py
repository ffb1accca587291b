"""MariaDB (Debian's mariadb-server) for the catalogue-db and mariadb images.

    python -u -m kubesim.servers.mariadb [--init FILE.sql]... [--port N]

Listens on `$KUBESIM_POD_IP`, port 3306 (`--port` overrides, as mysqld's own flag does). Data directory: the
host directory of the container's `/var/lib/mysql` mount, else `$HOME/mysql`. On an uninitialised data
directory (no `mysql/` in it, the official image's test) it does what the image's entrypoint does:
`mariadb-install-db`, a temporary server without networking, then over the unix socket with PyMySQL: root's
password from MYSQL_ROOT_PASSWORD (or MYSQL_ALLOW_EMPTY_PASSWORD / MYSQL_RANDOM_ROOT_PASSWORD), `root@'%'` so
root logs in over TCP from the pod network, MYSQL_DATABASE, MYSQL_USER / MYSQL_PASSWORD with all rights on
that database, and each `--init` SQL file run inside MYSQL_DATABASE (the catalogue-db image seeds its socks
so). The `MARIADB_` spellings of those variables win over the `MYSQL_` ones. A data directory that was
empty and whose initialisation failed is emptied again, so the container's next start retries it. Then the
launcher execs mariadbd (as the image's entrypoint does): it logs to stderr, shuts down cleanly on SIGTERM.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pymysql
from pymysql.constants import CLIENT

from kubesim.servers import (
    Supervisor,
    Track,
    data_dir,
    exec_server,
    log,
    owned,
    pod_ip,
    run_launcher,
    spawn,
    split_args,
    stop_spawned,
    wait_until,
)

NAME = "mariadb"
PORT = 3306
DATA_MOUNT = "/var/lib/mysql"
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes with its NUL; keep a margin

Say = Callable[[str], None]


def _say(message: str) -> None:
    log(NAME, message)


def _program(name: str, *fallbacks: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for path in fallbacks:
        if os.access(path, os.X_OK):
            return path
    raise FileNotFoundError(f"{name} is not installed (Debian package mariadb-server)")


def mariadbd() -> str:
    return _program("mariadbd", "/usr/sbin/mariadbd")


def install_db() -> str:
    return _program("mariadb-install-db", "/usr/bin/mariadb-install-db")


# --------------------------------------------------------------------------- configuration


@dataclass(frozen=True)
class InitConfig:
    """What the first start of an empty data directory sets up (the official image's variables)."""

    root_password: str = ""
    database: str = ""
    user: str = ""
    password: str = ""
    files: tuple[Path, ...] = field(default_factory=tuple)

    @classmethod
    def from_env(cls, env: Mapping[str, str], files: Sequence[str | Path] = (), say: Say = _say) -> InitConfig:
        """The image's rules; ValueError (the image's complaint) when no root password option is given."""

        def var(name: str) -> str:
            return env.get(f"MARIADB_{name}") or env.get(f"MYSQL_{name}") or ""

        password = var("ROOT_PASSWORD")
        if not password:
            if var("RANDOM_ROOT_PASSWORD"):
                password = secrets.token_urlsafe(24)
                say(f"GENERATED ROOT PASSWORD: {password}")
            elif not (env.get("MARIADB_ALLOW_EMPTY_ROOT_PASSWORD") or env.get("MYSQL_ALLOW_EMPTY_PASSWORD")):
                raise ValueError(
                    "Database is uninitialized and password option is not specified. You need to specify one of "
                    "MARIADB_ROOT_PASSWORD, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD"
                )
        for path in files:
            if Path(path).suffix != ".sql":
                raise ValueError(f"init file {path}: only .sql files are supported")
        return cls(password, var("DATABASE"), var("USER"), var("PASSWORD"), tuple(Path(p) for p in files))


def quote_ident(name: str) -> str:
    """A MariaDB identifier in backquotes (a backquote doubled); `%` doubled for PyMySQL's interpolation."""
    return "`" + name.replace("`", "``").replace("%", "%%") + "`"


def account_statements(config: InitConfig) -> list[tuple[str, tuple[str, ...]]]:
    """(SQL, args) for root, the database and the user; PyMySQL interpolates args, so a literal % is %%."""
    root = config.root_password
    statements: list[tuple[str, tuple[str, ...]]] = []
    if root:
        statements.append(("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", (root,)))
        statements.append(("CREATE USER 'root'@'%%' IDENTIFIED BY %s", (root,)))
    else:
        statements.append(("CREATE USER 'root'@'%%'", ()))
    statements.append(("GRANT ALL ON *.* TO 'root'@'%%' WITH GRANT OPTION", ()))
    if config.database:
        statements.append((f"CREATE DATABASE IF NOT EXISTS {quote_ident(config.database)}", ()))
    if config.user and config.password:
        statements.append(("CREATE USER %s@'%%' IDENTIFIED BY %s", (config.user, config.password)))
        if config.database:
            statements.append((f"GRANT ALL ON {quote_ident(config.database)}.* TO %s@'%%'", (config.user,)))
    return statements


# --------------------------------------------------------------------------- the server


def socket_path(data: Path) -> Path:
    """`<data>/mysqld.sock`, or a short path in the temp directory when that is too long for a unix socket."""
    candidate = data / "mysqld.sock"
    if len(os.fsencode(candidate)) <= MAX_SOCKET_PATH:
        return candidate
    digest = hashlib.sha1(os.fsencode(data)).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"kubesim-mariadb-{digest}.sock"


def initialised(data: Path) -> bool:
    return (data / "mysql").is_dir()


def install_argv(data: Path) -> list[str]:
    return [
        install_db(),
        f"--datadir={data}",
        "--auth-root-authentication-method=normal",
        "--skip-test-db",
        "--user=root",
    ]


def server_argv(data: Path, host: str, port: int, networking: bool = True) -> list[str]:
    argv = [
        mariadbd(),
        "--no-defaults",
        f"--datadir={data}",
        f"--socket={socket_path(data)}",
        f"--port={port}",
        f"--bind-address={host}",
        "--user=root",
        "--skip-name-resolve",
    ]
    if not networking:
        argv.append("--skip-networking")
    return argv


def start(
    data: Path,
    host: str = "127.0.0.1",
    port: int = PORT,
    *,
    networking: bool = True,
    stdout: Any = None,
    stderr: Any = None,
) -> subprocess.Popen[bytes]:
    """mariadbd on an initialised data directory; it logs to stderr (default: this process's)."""
    return spawn(server_argv(Path(data), host, port, networking), stdout=stdout, stderr=stderr)


def _greets(family: socket.AddressFamily, address: Any) -> bool:
    """The server sent its handshake (or any answer) on a new connection: it serves clients."""
    try:
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(1.0)
            sock.connect(address)
            return bool(sock.recv(4))
    except OSError:
        return False


def wait_ready(host: str, port: int, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None) -> float:
    """Wait until the server greets a TCP client on host:port; seconds waited. (The server logs each such bare
    connection as an aborted connection, as it does a kubelet's tcpSocket probe; the launcher does not probe.)"""
    return wait_until(lambda: _greets(socket.AF_INET, (host, port)), f"MariaDB on {host}:{port}", timeout, proc)


def _root_connect(sock: Path) -> pymysql.connections.Connection[Any]:
    """root over the unix socket of a freshly installed data directory (no password yet)."""
    return pymysql.connect(
        unix_socket=str(sock), user="root", password="", client_flag=CLIENT.MULTI_STATEMENTS, autocommit=True
    )


def _logs_in(sock: Path) -> bool:
    try:
        _root_connect(sock).close()
        return True
    except pymysql.MySQLError:
        return False


def wait_socket(path: Path, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None) -> float:
    """Wait until root logs in over the unix socket of the temporary server (a login, not a bare connect, so
    the server logs no aborted connection)."""
    return wait_until(lambda: _logs_in(path), f"MariaDB on {path}", timeout, proc)


def run_sql(cursor: Any, text: str) -> None:
    """Run a file's statements (multi-statement mode) and drain every result, so an error in any surfaces."""
    cursor.execute(text)
    while cursor.nextset():
        pass


def apply_init(sock: Path, config: InitConfig, say: Say = _say) -> None:
    """Accounts, database and init files, as root over the unix socket of the temporary server."""
    conn = _root_connect(sock)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT User, Host FROM mysql.user WHERE User = '' OR (User = 'root' AND Host <> 'localhost')"
            )
            for user, host in cursor.fetchall():
                cursor.execute("DROP USER %s@%s", (user, host))
            for sql, args in account_statements(config):
                cursor.execute(sql, args)
            for path in config.files:
                say(f"running {path}")
                if config.database:
                    cursor.execute(f"USE {quote_ident(config.database)}", ())
                run_sql(cursor, path.read_text(encoding="utf-8"))
    finally:
        conn.close()


def _empty(data: Path) -> None:
    for child in data.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child, ignore_errors=True)
        else:
            child.unlink(missing_ok=True)


def prepare(data: Path, config: InitConfig, *, track: Track = owned, say: Say = _say, stdout: Any = None) -> bool:
    """Initialise an empty data directory (True), or leave an initialised one alone (False). The programs' output
    goes to `stdout` (default: this process's), each child is run inside `track` (default: stopped at the end)."""
    data = Path(data)
    if initialised(data):
        return False
    fresh = not any(data.iterdir())
    started = time.monotonic()
    say(f"initialising the data directory {data}")
    try:
        with track(spawn(install_argv(data), stdout=stdout, stderr=stdout)) as install:
            code = install.wait()
            if code != 0:
                raise RuntimeError(f"mariadb-install-db failed with exit code {code}")
        with track(start(data, networking=False, stdout=stdout, stderr=stdout)) as temporary:
            wait_socket(socket_path(data), proc=temporary)
            apply_init(socket_path(data), config, say)
    except BaseException:
        if fresh:
            stop_spawned()  # a child started just as a stop arrived is not in any `track` block
            _empty(data)
        raise
    say(f"data directory initialised in {time.monotonic() - started:.2f}s")
    return True


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)

    def body(supervisor: Supervisor) -> int:
        options, rest = split_args(args, ("--init", "--port"))
        if rest:
            _say(f"ignoring arguments {rest}")
        port = int(options["--port"][-1]) if options["--port"] else PORT
        env = os.environ
        host = pod_ip(env)
        data = data_dir(env, DATA_MOUNT, "mysql")
        if not initialised(data):
            prepare(data, InitConfig.from_env(env, options["--init"]), track=supervisor.child)
        exec_server(NAME, supervisor, server_argv(data, host, port))
        return 1  # not reached: exec_server returns only by raising

    return run_launcher(NAME, body)


if __name__ == "__main__":
    raise SystemExit(main())
