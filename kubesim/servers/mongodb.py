"""A MongoDB wire-protocol server (PyPI's nx-27017, over SQLite) for the mongodb images and user-db.

    python -u -m kubesim.servers.mongodb [--init FILE.json]... [--port N]

Debian ships no MongoDB; nx-27017 answers the wire protocol PyMongo speaks. It listens on `$KUBESIM_POD_IP`,
port 27017 (`--port` overrides, as mongod's own flag does), one SQLite file per database in the data
directory: the host directory of the container's `/data/db` mount, else `$HOME/mongodb`. Its log file and pid
file live in the pod work directory (`$HOME`); its log lines also go to the container log (its stderr is
merged into stdout). Each `--init` file is JSON `{database: {collection: [documents]}}` in MongoDB Extended JSON
(`{"$oid": ...}` for ObjectIds); a database of the file that has no collection yet is seeded once, with
PyMongo, after the server answers ping (the user-db image's customers, addresses and cards): on a temporary
port, so clients never meet a half-seeded database. Then the launcher execs nx-27017 on the real port (as an
image's entrypoint execs mongod): SIGTERM stops it (exit 0). Other arguments (mongod flags such as
`--bind_ip_all`) do not apply to nx-27017 and are logged and ignored.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bson import json_util
from pymongo import MongoClient
from pymongo.errors import PyMongoError

from kubesim.servers import (
    Supervisor,
    data_dir,
    exec_server,
    free_port,
    log,
    pod_ip,
    run_launcher,
    spawn,
    split_args,
    wait_for_port,
    wait_until,
    work_dir,
)

NAME = "mongodb"
PORT = 27017
DATA_MOUNT = "/data/db"

Seed = dict[str, dict[str, list[dict[str, Any]]]]


def _say(message: str) -> None:
    log(NAME, message)


def nx_27017() -> str:
    """The nx-27017 console script: on PATH, or beside this interpreter (the venv's bin)."""
    found = shutil.which("nx-27017") or shutil.which("nx-27017", path=str(Path(sys.executable).parent))
    if not found:
        raise FileNotFoundError("nx-27017 is not installed (PyPI package nx-27017)")
    return found


def files(work: Path, port: int) -> tuple[Path, Path]:
    """nx-27017's log file (one per pod) and pid file (one per port) in the pod work directory."""
    return work / "nx-27017.log", work / f"nx-27017-{port}.pid"


def server_argv(data: Path, host: str, port: int, log_file: Path, pid_file: Path) -> list[str]:
    return [
        nx_27017(),
        "--data-dir",
        str(data),
        "--host",
        host,
        "-p",
        str(port),
        "--log-file",
        str(log_file),
        "--pid-file",
        str(pid_file),
    ]


def start(
    data: Path,
    host: str = "127.0.0.1",
    port: int = PORT,
    *,
    work: Path | None = None,
    stdout: Any = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.Popen[bytes]:
    """nx-27017 in the foreground, its log and pid files in `work` (default: the data directory's parent); its
    log lines (written to stderr) go to `stdout` with its other output (default: this process's stdout)."""
    return spawn(_argv(Path(data), host, port, work), stdout=stdout, stderr=subprocess.STDOUT, env=env)


def _argv(data: Path, host: str, port: int, work: Path | None) -> list[str]:
    work = Path(work) if work is not None else Path(data).resolve().parent
    work.mkdir(parents=True, exist_ok=True)
    log_file, pid_file = files(work, port)
    # nx-27017 refuses to start while its pid file names a live process; after a restart that pid may
    # belong to anything, and only this launcher runs the server of this pod: a stale file goes.
    pid_file.unlink(missing_ok=True)
    return server_argv(data, host, port, log_file, pid_file)


def client(host: str, port: int, timeout_ms: int = 2000) -> MongoClient[dict[str, Any]]:
    return MongoClient(
        host, port, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, directConnection=True
    )


def _pings(host: str, port: int) -> bool:
    with contextlib.closing(client(host, port, 500)) as mongo:
        try:
            mongo.admin.command("ping")
            return True
        except PyMongoError:
            return False


def wait_ready(host: str, port: int, timeout: float = 60.0, proc: subprocess.Popen[Any] | None = None) -> float:
    """Wait until the server answers ping on host:port; seconds waited. (A fast TCP poll first: PyMongo's own
    server selection retries only every half second.)"""
    started = time.monotonic()
    wait_for_port(host, port, timeout, proc)
    wait_until(lambda: _pings(host, port), f"nx-27017 on {host}:{port}", timeout, proc)
    return time.monotonic() - started


# --------------------------------------------------------------------------- seeds


def load_seed(path: str | Path) -> Seed:
    """A seed file: {database: {collection: [documents]}} in Extended JSON; ValueError when it is not that."""
    try:
        data = json_util.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ValueError(f"seed {path}: not JSON: {exc}") from exc
    return check_seed(data, str(path))


def check_seed(data: Any, where: str = "seed") -> Seed:
    if not isinstance(data, dict) or not data:
        raise ValueError(f"{where}: must be a non-empty object of databases")
    for database, collections in data.items():
        if not isinstance(collections, dict):
            raise ValueError(f"{where}: database {database!r} must be an object of collections")
        for collection, documents in collections.items():
            if not isinstance(documents, list) or not all(isinstance(d, dict) for d in documents):
                raise ValueError(f"{where}: {database}.{collection} must be a list of documents")
    return data


def seed(host: str, port: int, seeds: Seed, say: Any = _say) -> dict[str, int]:
    """Insert each database's documents when that database has no collection yet; {db.collection: inserted}."""
    inserted: dict[str, int] = {}
    with contextlib.closing(client(host, port)) as mongo:
        for database, collections in seeds.items():
            db = mongo[database]
            if db.list_collection_names():
                say(f"database {database} already holds data: not seeded")
                continue
            for collection, documents in collections.items():
                if documents:
                    db[collection].insert_many([dict(d) for d in documents])
                else:
                    db.create_collection(collection)
                inserted[f"{database}.{collection}"] = len(documents)
            say(f"seeded database {database}: " + ", ".join(f"{c} {len(d)}" for c, d in collections.items()))
    return inserted


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)

    def body(supervisor: Supervisor) -> int:
        options, rest = split_args(args, ("--init", "--port"))
        if rest:
            _say(f"ignoring arguments {rest} (mongod flags do not apply to nx-27017)")
        seeds = [load_seed(path) for path in options["--init"]]
        port = int(options["--port"][-1]) if options["--port"] else PORT
        env = os.environ
        host = pod_ip(env)
        data = data_dir(env, DATA_MOUNT, "mongodb")
        work = work_dir(env)
        if seeds:
            # Seeded on a temporary port first, so clients on the real one never see the database half-made.
            temporary = free_port()
            with supervisor.child(start(data, host, temporary, work=work)) as proc:
                waited = wait_ready(host, temporary, proc=proc)
                _say(f"nx-27017 answers ping after {waited:.2f}s (temporary port {temporary})")
                for one in seeds:
                    seed(host, temporary, one)
        exec_server(NAME, supervisor, _argv(data, host, port, work), stderr_to_stdout=True)
        return 1  # not reached: exec_server returns only by raising

    return run_launcher(NAME, body)


if __name__ == "__main__":
    raise SystemExit(main())
