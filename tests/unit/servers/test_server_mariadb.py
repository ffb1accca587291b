"""MariaDB as the catalogue-db pod runs it: the launcher, the image's first-start rules, the socks it seeds."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pymysql
import pytest

from kubesim.servers import free_port, rss_bytes
from kubesim.servers import mariadb as m

SEED = Path(m.__file__).parent / "seed" / "catalogue-db.sql"
ENV = {"MYSQL_ROOT_PASSWORD": "fake_password", "MYSQL_DATABASE": "socksdb"}

# The catalogue-db image's socks: id -> (name, price, count, tags), as the real dump holds them.
SOCKS = {
    "6d62d909-f957-430e-8689-b5129c0bb75e": ("Weave special", "17.15", 33, {"geek", "black"}),
    "a0a4f044-b040-410d-8ead-4de0446aec7e": ("Nerd leg", "7.99", 115, {"blue", "skin"}),
    "808a2de1-1aaa-4c25-a9b9-6612e8f29a38": ("Crossed", "17.32", 738, {"blue", "red", "action", "formal"}),
    "510a0d7e-8e83-4193-b483-e27e09ddc34d": ("SuperSport XL", "15", 820, {"sport", "black", "formal"}),
    "03fef6ac-1896-4ce8-bd69-b798f85c6e0b": ("Holy", "99.99", 1, {"magic", "action"}),
    "d3588630-ad8e-49df-bbd7-3167f7efb246": ("YouTube.sock", "10.99", 801, {"geek", "formal"}),
    "819e1fbf-8b7e-4f6d-811f-693534916a8b": ("Figueroa", "14", 808, {"formal", "green", "blue"}),
    "zzz4f044-b040-410d-8ead-4de0446aec7e": ("Classic", "12", 127, {"brown", "green"}),
    "3395a43e-2d88-40de-b95f-e00e1502085b": ("Colourful", "18", 438, {"brown", "blue"}),
    "837ab141-399e-4c1f-9abc-bace40296bac": ("Cat socks", "15", 175, {"brown", "green", "formal"}),
}


def connect(port: int, user: str = "root", password: str = "fake_password", **kwargs: Any) -> Any:
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, connect_timeout=3, **kwargs)


# --------------------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (ENV, m.InitConfig("fake_password", "socksdb")),
        ({"MYSQL_ROOT_PASSWORD": "a", "MARIADB_ROOT_PASSWORD": "b"}, m.InitConfig("b")),
        ({"MYSQL_ALLOW_EMPTY_PASSWORD": "yes", "MYSQL_DATABASE": "d"}, m.InitConfig("", "d")),
        (
            {"MYSQL_ROOT_PASSWORD": "r", "MYSQL_USER": "u", "MYSQL_PASSWORD": "p", "MYSQL_DATABASE": "d"},
            m.InitConfig("r", "d", "u", "p"),
        ),
    ],
)
def test_init_config_from_env(env: dict[str, str], expected: m.InitConfig) -> None:
    assert m.InitConfig.from_env(env) == expected


def test_init_config_needs_a_password_option() -> None:
    with pytest.raises(ValueError, match="Database is uninitialized and password option is not specified"):
        m.InitConfig.from_env({"MYSQL_DATABASE": "socksdb"})
    said: list[str] = []
    random = m.InitConfig.from_env({"MYSQL_RANDOM_ROOT_PASSWORD": "yes"}, say=said.append)
    assert len(random.root_password) >= 24
    assert said == [f"GENERATED ROOT PASSWORD: {random.root_password}"]
    with pytest.raises(ValueError, match=r"init file x\.sh: only \.sql files are supported"):
        m.InitConfig.from_env(ENV, ["x.sh"])


@pytest.mark.parametrize(
    ("config", "statements"),
    [
        (
            m.InitConfig("pw", "socksdb"),
            [
                ("ALTER USER 'root'@'localhost' IDENTIFIED BY %s", ("pw",)),
                ("CREATE USER 'root'@'%%' IDENTIFIED BY %s", ("pw",)),
                ("GRANT ALL ON *.* TO 'root'@'%%' WITH GRANT OPTION", ()),
                ("CREATE DATABASE IF NOT EXISTS `socksdb`", ()),
            ],
        ),
        (
            m.InitConfig("", "we`ird%", "u", "p"),
            [
                ("CREATE USER 'root'@'%%'", ()),
                ("GRANT ALL ON *.* TO 'root'@'%%' WITH GRANT OPTION", ()),
                ("CREATE DATABASE IF NOT EXISTS `we``ird%%`", ()),
                ("CREATE USER %s@'%%' IDENTIFIED BY %s", ("u", "p")),
                ("GRANT ALL ON `we``ird%%`.* TO %s@'%%'", ("u",)),
            ],
        ),
    ],
)
def test_account_statements(config: m.InitConfig, statements: list[tuple[str, tuple[str, ...]]]) -> None:
    assert m.account_statements(config) == statements


def test_socket_path_stays_short(tmp_path: Path) -> None:
    assert m.socket_path(tmp_path) == tmp_path / "mysqld.sock"
    deep = tmp_path / ("x" * 120)
    short = m.socket_path(deep)
    assert len(str(short)) <= m.MAX_SOCKET_PATH
    assert short.name.startswith("kubesim-mariadb-") and short == m.socket_path(deep)


def test_server_argv_binds_the_pod_address_only(tmp_path: Path) -> None:
    argv = m.server_argv(tmp_path, "127.5.1.7", 3306)
    assert argv[1:] == [
        "--no-defaults",
        f"--datadir={tmp_path}",
        f"--socket={tmp_path / 'mysqld.sock'}",
        "--port=3306",
        "--bind-address=127.5.1.7",
        "--user=root",
        "--skip-name-resolve",
    ]
    assert m.server_argv(tmp_path, "127.0.0.1", 1, networking=False)[-1] == "--skip-networking"


def test_seed_sql_is_the_catalogue_db_dump() -> None:
    text = SEED.read_text()
    for sock_id, (name, _price, count, _tags) in SOCKS.items():
        assert f"'{sock_id}', '{name}'" in text
        assert f", {count}, '/catalogue/images/" in text
    assert text.count("('") == 10 + 11 + 25  # socks, tags, sock_tag rows


# --------------------------------------------------------------------------- the launcher and the real server


@pytest.fixture(scope="module")
def catalogue_db(launch_module: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The catalogue-db pod: launcher with the seed, data on a /var/lib/mysql mount, once per module."""
    base = tmp_path_factory.mktemp("catalogue-db")
    port = free_port()
    mounts = {"/var/lib/mysql": str(base / "pvc")}
    db = launch_module(
        "kubesim.servers.mariadb", "--init", str(SEED), f"--port={port}", home=base / "pod", mounts=mounts, **ENV
    )
    waited = m.wait_ready("127.0.0.1", port, timeout=60, proc=db.proc)
    db.port, db.data, db.ready_s = port, base / "pvc", time.monotonic() - db.started
    print(f"catalogue-db first start: {db.ready_s:.2f}s to accept connections ({waited:.2f}s waited)")
    return db


def test_the_ten_socks_with_their_prices_and_tags(catalogue_db: Any) -> None:
    with connect(catalogue_db.port, database="socksdb") as conn, conn.cursor() as cursor:
        cursor.execute(
            "SELECT sock.sock_id, sock.name, sock.price, sock.count, GROUP_CONCAT(tag.name) FROM sock "
            "JOIN sock_tag ON sock.sock_id = sock_tag.sock_id JOIN tag ON sock_tag.tag_id = tag.tag_id "
            "GROUP BY sock.sock_id"
        )
        rows = cursor.fetchall()
    found = {
        sid: (name, str(Decimal(str(price)).normalize()), count, set(tags.split(",")))
        for sid, name, price, count, tags in rows
    }
    expected = {
        sid: (name, str(Decimal(price).normalize()), count, tags) for sid, (name, price, count, tags) in SOCKS.items()
    }
    assert found == expected


def test_root_over_tcp_and_the_images_catalogue_user(catalogue_db: Any) -> None:
    with connect(catalogue_db.port) as conn, conn.cursor() as cursor:
        cursor.execute("SELECT CURRENT_USER()")
        assert cursor.fetchone() == ("root@%",)
    image_user = connect(catalogue_db.port, "catalogue_user", "default_password", database="socksdb")
    with image_user as conn, conn.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM tag")
        assert cursor.fetchone() == (11,)
    with pytest.raises(pymysql.err.OperationalError, match=r"Access denied for user 'root'@'127\.0\.0\.1'"):
        connect(catalogue_db.port, password="wrong")


def test_listens_on_the_pod_address_only(catalogue_db: Any, listening: Callable[[int], set[tuple[str, int]]]) -> None:
    server = catalogue_db.server_pid()
    assert server == catalogue_db.proc.pid  # the launcher exec'd mariadbd: the container's process is the server
    assert listening(server) == {("127.0.0.1", catalogue_db.port)}
    with pytest.raises(pymysql.err.OperationalError, match=r"Can't connect to MySQL server on '127\.0\.0\.2'"):
        pymysql.connect(host="127.0.0.2", port=catalogue_db.port, user="root", connect_timeout=2)


def test_logs_go_to_the_container_log(catalogue_db: Any) -> None:
    catalogue_db.wait_for(r"\[kubesim\.servers\.mariadb\] initialising the data directory .*/pvc$")
    catalogue_db.wait_for(r"\[kubesim\.servers\.mariadb\] running .*/catalogue-db\.sql$")
    catalogue_db.wait_for(r"\[kubesim\.servers\.mariadb\] exec .*/mariadbd --no-defaults --datadir=.*/pvc ")
    catalogue_db.wait_for(r"mariadbd: ready for connections")
    catalogue_db.wait_for(rf"Version: .*port: {catalogue_db.port}")
    server = catalogue_db.server_pid()
    rss = rss_bytes(server)
    print(f"catalogue-db: ready after {catalogue_db.ready_s:.2f}s, RSS {rss / 2**20:.0f} MiB")
    assert 20 * 2**20 < rss < 400 * 2**20


def test_restart_on_the_same_data_keeps_it_and_sigterm_exits_0(
    launch: Callable[..., Any], tmp_path: Path, gone: Callable[..., bool]
) -> None:
    """A DB pod stopped and started again on its volume: data kept, no second initialisation; stopped, the
    client library reports its own error."""
    port, mounts = free_port(), {"/var/lib/mysql": str(tmp_path / "pvc")}
    first = launch(
        "kubesim.servers.mariadb", "--init", str(SEED), f"--port={port}", home=tmp_path / "p1", mounts=mounts, **ENV
    )
    m.wait_ready("127.0.0.1", port, timeout=60, proc=first.proc)
    with connect(port, database="socksdb", autocommit=True) as conn, conn.cursor() as cursor:
        cursor.execute("UPDATE sock SET count = 32 WHERE name = 'Weave special'")
    server = first.server_pid()
    assert first.terminate() == 0
    assert gone(server)
    first.wait_for(r"mariadbd \(initiated by: unknown\): Normal shutdown")
    first.wait_for(r"mariadbd: Shutdown complete")
    with pytest.raises(
        pymysql.err.OperationalError,
        match=r"Can't connect to MySQL server on '127\.0\.0\.1' \(\[Errno 111\] Connection refused\)",
    ):
        connect(port)

    again = launch(
        "kubesim.servers.mariadb", "--init", str(SEED), f"--port={port}", home=tmp_path / "p2", mounts=mounts, **ENV
    )
    started = time.monotonic()
    m.wait_ready("127.0.0.1", port, timeout=60, proc=again.proc)
    print(f"catalogue-db restart on existing data: {time.monotonic() - started:.2f}s to accept connections")
    with connect(port, database="socksdb") as conn, conn.cursor() as cursor:
        cursor.execute("SELECT count FROM sock WHERE name = 'Weave special'")
        assert cursor.fetchone() == (32,)
    assert "initialising" not in again.text()
    assert again.terminate() == 0


def test_server_death_is_the_containers_exit(launch: Callable[..., Any], tmp_path: Path) -> None:
    """mariadbd killed (the OOM killer's SIGKILL): the container's process is the server, so it ends with it."""
    port = free_port()
    db = launch("kubesim.servers.mariadb", f"--port={port}", home=tmp_path, MYSQL_ALLOW_EMPTY_PASSWORD="yes")
    m.wait_ready("127.0.0.1", port, timeout=60, proc=db.proc)
    assert (tmp_path / "mysql" / "mysql").is_dir()  # no mount: the data lives under $HOME
    os.kill(db.server_pid(), signal.SIGKILL)
    assert db.proc.wait(20) == -signal.SIGKILL  # the runtime reports 137


def test_sigterm_while_initialising_stops_everything_and_exits_0(
    launch: Callable[..., Any], tmp_path: Path, gone: Callable[..., bool]
) -> None:
    db = launch("kubesim.servers.mariadb", "--init", str(SEED), f"--port={free_port()}", home=tmp_path, **ENV)
    db.wait_for(r"initialising the data directory", timeout=30)
    children = db.server_pids()  # mariadb-install-db (or already the temporary mariadbd)
    assert db.terminate() == 0
    db.wait_for(r"received SIGTERM while preparing the server: stopping")
    db.wait_for(r"stopped before the server was ready")
    assert all(gone(pid) for pid in children | db.server_pids())
    assert list((tmp_path / "mysql").iterdir()) == []  # the half-made data directory is emptied again


def test_uninitialised_without_password_fails_like_the_image(launch: Callable[..., Any], tmp_path: Path) -> None:
    db = launch("kubesim.servers.mariadb", f"--port={free_port()}", home=tmp_path, MYSQL_DATABASE="socksdb")
    assert db.proc.wait(20) == 1
    db.wait_for(r"error: ValueError: Database is uninitialized and password option is not specified")
    assert not (tmp_path / "mysql" / "mysql").exists()


def test_a_failed_init_empties_the_fresh_data_dir(launch: Callable[..., Any], tmp_path: Path) -> None:
    broken = tmp_path / "broken.sql"
    broken.write_text("CREATE TABLE t (id int);\nINSERT INTO nowhere VALUES (1);\n")
    db = launch("kubesim.servers.mariadb", "--init", str(broken), f"--port={free_port()}", home=tmp_path / "pod", **ENV)
    assert db.proc.wait(30) == 1
    db.wait_for(r"error: ProgrammingError: \(1146, \"Table 'socksdb\.nowhere' doesn't exist\"\)")
    assert list((tmp_path / "pod" / "mysql").iterdir()) == []
    assert db.server_pids() == set()
