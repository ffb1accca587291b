"""nx-27017 as the user-db, carts-db and orders-db pods run it: the launcher, the seed, data kept on a restart."""

from __future__ import annotations

import hashlib
import os
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from pymongo.errors import ServerSelectionTimeoutError

from kubesim.servers import free_port, rss_bytes
from kubesim.servers import mongodb as mongo

SEED = Path(mongo.__file__).parent / "seed" / "user-db.json"


def sha1_hex(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


# --------------------------------------------------------------------------- pure rules


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ([], "must be a non-empty object of databases"),
        ({}, "must be a non-empty object of databases"),
        ({"users": []}, "database 'users' must be an object of collections"),
        ({"users": {"customers": {}}}, r"users\.customers must be a list of documents"),
        ({"users": {"customers": [1]}}, r"users\.customers must be a list of documents"),
    ],
)
def test_check_seed_rejects(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mongo.check_seed(data)


def test_load_seed_rejects_non_json(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{users:")
    with pytest.raises(ValueError, match=r"bad\.json: not JSON"):
        mongo.load_seed(bad)


@pytest.mark.parametrize(("username", "password"), [("user", "password"), ("Eve_Berger", "eve"), ("user1", "password")])
def test_seeded_passwords_are_sha1_of_salt_and_password(username: str, password: str) -> None:
    """users.go calculatePassHash: sha1(salt + password), hex."""
    [customer] = [c for c in mongo.load_seed(SEED)["users"]["customers"] if c["username"] == username]
    assert customer["password"] == sha1_hex(customer["salt"] + password)


def test_seed_is_the_user_db_image() -> None:
    users = mongo.load_seed(SEED)["users"]
    assert [c["username"] for c in users["customers"]] == ["Eve_Berger", "user", "user1"]
    assert (len(users["addresses"]), len(users["cards"])) == (4, 4)
    addresses = {a["_id"] for a in users["addresses"]}
    cards = {c["_id"] for c in users["cards"]}
    for customer in users["customers"]:
        assert isinstance(customer["_id"], ObjectId)
        assert set(customer["addresses"]) <= addresses and set(customer["cards"]) <= cards
    [user] = [c for c in users["customers"] if c["username"] == "user"]
    assert str(user["_id"]) == "57a98d98e4b00679b4a830b2"


def test_server_argv(tmp_path: Path) -> None:
    argv = mongo.server_argv(tmp_path / "db", "127.5.1.7", 27017, tmp_path / "l", tmp_path / "p")
    assert Path(argv[0]).name == "nx-27017"
    assert argv[1:] == [
        "--data-dir", str(tmp_path / "db"), "--host", "127.5.1.7", "-p", "27017",
        "--log-file", str(tmp_path / "l"), "--pid-file", str(tmp_path / "p"),
    ]  # fmt: skip


# --------------------------------------------------------------------------- the launcher and the real server


@pytest.fixture(scope="module")
def user_db(launch_module: Callable[..., Any], tmp_path_factory: pytest.TempPathFactory) -> Any:
    base = tmp_path_factory.mktemp("user-db")
    port = free_port()
    mounts = {"/data/db": str(base / "data"), "/tmp": str(base / "tmp")}
    db = launch_module(
        "kubesim.servers.mongodb", "--init", str(SEED), f"--port={port}", home=base / "pod", mounts=mounts
    )
    waited = mongo.wait_ready("127.0.0.1", port, timeout=60, proc=db.proc)
    db.wait_for(r"seeded database users")
    db.port, db.base, db.ready_s = port, base, time.monotonic() - db.started
    print(f"user-db: ping after {db.ready_s:.2f}s ({waited:.2f}s waited)")
    return db


def test_customers_are_seeded_and_user_password_checks(user_db: Any) -> None:
    with mongo.client("127.0.0.1", user_db.port) as client:
        users = client["users"]
        assert sorted(users.list_collection_names()) == ["addresses", "cards", "customers"]
        user = users.customers.find_one({"username": "user"})
        assert user is not None
        assert user["_id"] == ObjectId("57a98d98e4b00679b4a830b2")
        assert user["password"] == sha1_hex(user["salt"] + "password")
        [address] = list(users.addresses.find({"_id": {"$in": user["addresses"]}}))
        assert (address["street"], address["city"]) == ("Whitelees Road", "Glasgow")
        [card] = list(users.cards.find({"_id": {"$in": user["cards"]}}))
        assert card["longNum"] == "5544154011345918"


def test_data_log_and_pid_files_where_they_belong(
    user_db: Any, listening: Callable[[int], set[tuple[str, int]]]
) -> None:
    assert (user_db.base / "data" / "users.db").is_file()
    assert (user_db.base / "pod" / "nx-27017.log").is_file()
    assert (user_db.base / "pod" / f"nx-27017-{user_db.port}.pid").is_file()
    user_db.wait_for(rf"nx_27017 - INFO - \[\d+\] - Listening on 127\.0\.0\.1:{user_db.port}$")  # nx's own line
    server = user_db.server_pid()
    assert server == user_db.proc.pid  # the launcher exec'd nx-27017
    assert sorted(p.name for p in (user_db.base / "pod").iterdir()) == sorted(
        ["nx-27017.log", f"nx-27017-{user_db.port}.pid"]
    )
    assert listening(server) == {("127.0.0.1", user_db.port)}
    rss = rss_bytes(server)
    print(f"user-db: RSS {rss / 2**20:.0f} MiB")
    assert 10 * 2**20 < rss < 300 * 2**20


def test_restart_keeps_data_and_seeds_only_once(
    launch: Callable[..., Any], tmp_path: Path, gone: Callable[..., bool]
) -> None:
    """orders-db on its claim: stopped (scaled to 0) PyMongo fails with its own error; started again on the same
    directory the orders are still there, and the seed does not come back over changed data."""
    port, mounts = free_port(), {"/data/db": str(tmp_path / "pvc")}
    first = launch(
        "kubesim.servers.mongodb", "--init", str(SEED), f"--port={port}", home=tmp_path / "p1", mounts=mounts
    )
    mongo.wait_ready("127.0.0.1", port, timeout=60, proc=first.proc)
    first.wait_for(r"seeded database users")
    with mongo.client("127.0.0.1", port) as client:
        client["data"].customerOrder.insert_one({"customerId": "c1", "total": "104.97", "status": "PAID"})
        client["users"].customers.delete_one({"username": "user1"})
    server = first.server_pid()
    assert first.terminate() == 0
    assert gone(server)
    with (
        mongo.client("127.0.0.1", port, timeout_ms=300) as client,
        pytest.raises(ServerSelectionTimeoutError, match=rf"127\.0\.0\.1:{port}: \[Errno 111\] Connection refused"),
    ):
        client["data"].customerOrder.find_one()

    again = launch(
        "kubesim.servers.mongodb", "--init", str(SEED), f"--port={port}", home=tmp_path / "p2", mounts=mounts
    )
    mongo.wait_ready("127.0.0.1", port, timeout=60, proc=again.proc)
    again.wait_for(r"database users already holds data: not seeded")
    with mongo.client("127.0.0.1", port) as client:
        order = client["data"].customerOrder.find_one({"customerId": "c1"})
        assert order is not None and order["total"] == "104.97"
        assert client["users"].customers.count_documents({}) == 2
    assert again.terminate() == 0


def test_server_death_is_the_containers_exit(launch: Callable[..., Any], tmp_path: Path) -> None:
    port = free_port()
    db = launch("kubesim.servers.mongodb", f"--port={port}", "--bind_ip_all", home=tmp_path)
    mongo.wait_ready("127.0.0.1", port, timeout=60, proc=db.proc)
    db.wait_for(r"ignoring arguments \['--bind_ip_all'\]")
    assert (tmp_path / "mongodb" / "admin.db").exists()  # no mount: the data lives under $HOME
    os.kill(db.server_pid(), signal.SIGKILL)
    assert db.proc.wait(20) == -signal.SIGKILL


def test_sigterm_while_seeding_stops_the_temporary_server(
    launch: Callable[..., Any], tmp_path: Path, gone: Callable[..., bool]
) -> None:
    db = launch("kubesim.servers.mongodb", "--init", str(SEED), f"--port={free_port()}", home=tmp_path)
    db.wait_for(r"\[kubesim\.servers\.mongodb\] nx-27017 answers ping after .* \(temporary port \d+\)")
    temporary = db.server_pids()
    assert temporary
    assert db.terminate() == 0
    db.wait_for(r"stopped before the server was ready")
    assert all(gone(pid) for pid in temporary)
