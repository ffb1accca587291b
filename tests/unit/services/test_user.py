"""The user stand-in on a real MongoDB wire-protocol server: register, addresses, cards, login, errors, outages."""

from __future__ import annotations

import base64
import functools
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from kubesim.servers import mongodb
from services.user.app import UserService, basic_auth, mask_card, mongo_uri, pass_hash

ALICE = {"username": "alice", "password": "pw", "email": "a@example.com", "firstName": "Alice", "lastName": "Liddell"}
ADDRESS = {"number": "1", "street": "Main St", "city": "Springfield", "postcode": "12345", "country": "US"}
CARD = {"longNum": "4111111111111111", "expires": "12/30", "ccv": "123"}
OBJECT_ID = re.compile(r"[0-9a-f]{24}")
USER_DB_SEED = mongodb.load_seed(mongodb.__file__.replace("mongodb.py", "seed/user-db.json"))


@pytest.fixture
def user_factory(mongo_service: Callable[..., Any]) -> Callable[..., Any]:
    """`user_factory(database, address=..., timeout_ms=...)`: a user service on 127.0.0.1 using that database."""
    return functools.partial(mongo_service, UserService)


@pytest.fixture
def user(user_factory: Callable[..., Any], mongo_database: str) -> Any:
    return user_factory(mongo_database)


@pytest.fixture
def user_db(user_factory: Callable[..., Any], mongo_server: Any, mongo_database: str) -> Any:
    """A user service on a fresh user-db: the image's customers, addresses and cards seeded."""
    mongodb.seed("127.0.0.1", mongo_server.port, {mongo_database: USER_DB_SEED["users"]}, say=lambda _line: None)
    return user_factory(mongo_database)


def _register(call: Any, url: str, body: dict[str, Any] = ALICE) -> str:
    response = call("POST", url + "/register", body)
    assert response.status == 200, response.body
    return str(response.json()["id"])


def _basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


# --------------------------------------------------------------------------- pure helpers


@pytest.mark.parametrize(
    ("salt", "password", "digest"),
    [
        ("6c1c6176e8b455ef37da13d953df971c249d0d8e", "password", "e2de7202bb2201842d041f6de201b10438369fb8"),
        ("c748112bc027878aa62812ba1ae00e40ad46d497", "eve", "fec51acb3365747fc61247da5e249674cf8463c2"),
        ("", "", "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
    ],
)
def test_pass_hash_is_sha1_of_salt_and_password(salt: str, password: str, digest: str) -> None:
    assert pass_hash(password, salt) == digest


@pytest.mark.parametrize(
    ("header", "credentials"),
    [
        ("Basic dXNlcjpwYXNzd29yZA==", ("user", "password")),
        ("basic dXNlcjpwYTpzcw==", ("user", "pa:ss")),
        ("Basic dXNlcjo=", ("user", "")),
        (None, None),
        ("", None),
        ("Bearer abc", None),
        ("Basic !!!", None),
        ("Basic dXNlcg==", None),  # "user" without a colon
    ],
)
def test_basic_auth(header: str | None, credentials: tuple[str, str] | None) -> None:
    assert basic_auth(header) == credentials


@pytest.mark.parametrize(
    ("env", "uri"),
    [
        ({}, "mongodb://user-db:27017/users"),
        ({"MONGO_HOST": "127.0.0.1:1234"}, "mongodb://127.0.0.1:1234/users"),
        ({"MONGO_HOST": "db", "MONGO_USER": "u", "MONGO_PASS": "p@ss"}, "mongodb://u:p%40ss@db/users"),
    ],
)
def test_mongo_uri(env: dict[str, str], uri: str) -> None:
    assert mongo_uri(env) == uri


@pytest.mark.parametrize(("number", "masked"), [("4111111111111111", "************1111"), ("123", "123"), ("", "")])
def test_mask_card(number: str, masked: str) -> None:
    assert mask_card(number) == masked


# --------------------------------------------------------------------------- the API


def test_register_address_card_and_reads(user: Any, call: Any, mongo_server: Any, mongo_database: str) -> None:
    customer_id = _register(call, user.url)
    assert OBJECT_ID.fullmatch(customer_id)
    address = call("POST", user.url + "/addresses", {**ADDRESS, "userID": customer_id})
    card = call("POST", user.url + "/cards", {**CARD, "userID": customer_id})
    assert (address.status, card.status) == (200, 200)
    address_id, card_id = address.json()["id"], card.json()["id"]
    assert list(address.json()) == ["id"]

    customer = call("GET", f"{user.url}/customers/{customer_id}").json()
    expected = {key: value for key, value in ALICE.items() if key != "password"}
    assert {key: customer[key] for key in ("id", *expected)} == {"id": customer_id, **expected}
    assert "password" not in customer and "salt" not in customer
    assert customer["_links"]["self"]["href"].endswith(f"/customers/{customer_id}")

    got_address = call("GET", f"{user.url}/addresses/{address_id}").json()
    assert {key: got_address[key] for key in ("id", *ADDRESS)} == {"id": address_id, **ADDRESS}
    got_card = call("GET", f"{user.url}/cards/{card_id}").json()
    assert (got_card["id"], got_card["longNum"], got_card["expires"]) == (card_id, "************1111", "12/30")

    listed = call("GET", user.url + "/customers").json()["_embedded"]["customer"]
    assert [item["id"] for item in listed] == [customer_id]
    cards = call("GET", f"{user.url}/customers/{customer_id}/cards").json()["_embedded"]["card"]
    assert [item["id"] for item in cards] == [card_id]
    addresses = call("GET", f"{user.url}/customers/{customer_id}/addresses").json()["_embedded"]["address"]
    assert [item["id"] for item in addresses] == [address_id]
    assert user.lines()[0].endswith(f"INFO  Registered customer {customer_id} (alice)")

    # Stored as the Go service stores it: salted sha1, ObjectId links.
    with mongodb.client("127.0.0.1", mongo_server.port) as client:
        stored = client[mongo_database].customers.find_one({"username": "alice"})
    assert stored is not None
    assert stored["password"] == pass_hash("pw", stored["salt"]) and re.fullmatch(r"[0-9a-f]{40}", stored["salt"])
    assert [str(oid) for oid in stored["addresses"]] == [address_id]
    assert [str(oid) for oid in stored["cards"]] == [card_id]


def test_login_of_the_seeded_customers(user_db: Any, call: Any) -> None:
    """A fresh user-db: `user`/`password` logs in (the shop's demo account), `Eve_Berger`/`eve` too."""
    answer = call("GET", user_db.url + "/login", headers=_basic("user", "password"))
    assert answer.status == 200, answer.body
    logged = answer.json()["user"]
    assert (logged["id"], logged["username"], logged["firstName"], logged["lastName"]) == (
        "57a98d98e4b00679b4a830b2",
        "user",
        "User",
        "Name",
    )
    assert "password" not in logged and "salt" not in logged
    assert call("GET", user_db.url + "/login", headers=_basic("Eve_Berger", "eve")).status == 200
    cards = call("GET", f"{user_db.url}/customers/57a98d98e4b00679b4a830b2/cards").json()["_embedded"]["card"]
    assert [(c["id"], c["longNum"]) for c in cards] == [("57a98d98e4b00679b4a830b1", "************5918")]
    assert any(line.endswith("INFO  Login of customer 57a98d98e4b00679b4a830b2 (user)") for line in user_db.lines())


@pytest.mark.parametrize(
    ("headers", "status", "error"),
    [
        ({}, 401, "Unauthorized"),
        ({"Authorization": "Bearer x"}, 401, "Unauthorized"),
        (_basic("user", "wrong"), 401, "Unauthorized"),
        (_basic("nobody", "password"), 500, "not found"),  # the Go service passes mgo's error on
    ],
)
def test_login_refusals(user_db: Any, call: Any, headers: dict[str, str], status: int, error: str) -> None:
    answer = call("GET", user_db.url + "/login", headers=headers)
    assert (answer.status, answer.json()) == (
        status,
        {"error": error, "status_code": status, "status_text": answer.json()["status_text"]},
    )


def test_registered_customer_logs_in(user: Any, call: Any) -> None:
    customer_id = _register(call, user.url)
    answer = call("GET", user.url + "/login", headers=_basic("alice", "pw"))
    assert (answer.status, answer.json()["user"]["id"]) == (200, customer_id)
    assert call("GET", user.url + "/login", headers=_basic("alice", "PW")).status == 401


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/register", {**ALICE, "username": ""}, (400, "Missing required field: username")),
        ("/register", {"username": "bob"}, (400, "Missing required field: password")),
        ("/register", {**ALICE, "username": ["x"]}, (400, "Field username must be a string")),
        ("/register", b"not json", (400, None)),
        ("/register", [ALICE], (400, "Request body must be a JSON object")),
        ("/addresses", {**ADDRESS, "userID": "000000000000000000000000"}, (404, "User not found")),
        ("/addresses", {**ADDRESS, "userID": "not-an-id"}, (404, "User not found")),
        ("/addresses", {"street": "x", "userID": "u"}, (400, "Missing required field: number")),
        ("/cards", {**CARD, "userID": "000000000000000000000000"}, (404, "User not found")),
        ("/cards", {"longNum": "4111", "userID": "u"}, (400, "Missing required field: expires")),
    ],
)
def test_bad_input(user: Any, call: Any, path: str, body: Any, expected: tuple[int, str | None]) -> None:
    status, message = expected
    response = call("POST", user.url + path, body)
    assert response.status == status
    error = response.json()
    if message is not None:
        assert error["error"] == message
    assert error["status_code"] == status


def test_duplicate_username_is_409(user: Any, call: Any) -> None:
    _register(call, user.url)
    response = call("POST", user.url + "/register", ALICE)
    assert response.status == 409
    assert response.json() == {"error": "User already exists: alice", "status_code": 409, "status_text": "Conflict"}


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/customers/nope", "Customer not found"),
        ("/customers/000000000000000000000000", "Customer not found"),
        ("/addresses/nope", "Address not found"),
        ("/cards/nope", "Card not found"),
        ("/customers/nope/cards", "Customer not found"),
    ],
)
def test_absent_records_are_404_json(user: Any, call: Any, path: str, message: str) -> None:
    response = call("GET", user.url + path)
    assert response.status == 404
    assert response.json() == {"error": message, "status_code": 404, "status_text": "Not Found"}


def test_health_names_the_database(user: Any, call: Any) -> None:
    health = call("GET", user.url + "/health").json()["health"]
    assert [(h["service"], h["status"]) for h in health] == [("user", "OK"), ("user-db", "OK")]


# --------------------------------------------------------------------------- the database down and back


def test_user_db_down_is_500_with_pymongo_error_then_back_with_its_data(
    own_mongo_server: Any, user_factory: Callable[..., Any], call: Any
) -> None:
    """user-db scaled to 0: the service answers 500 and logs PyMongo's own error; the pod back on the same data
    directory, the customer is still there. (A short server selection timeout here, to keep the test fast: the
    service's own 2 s is measured in the orders test.)"""
    user = user_factory("users", own_mongo_server.address, timeout_ms=300)
    customer_id = _register(call, user.url)
    own_mongo_server.stop()
    answer = call("GET", f"{user.url}/customers/{customer_id}")
    assert answer.status == 500
    error = answer.json()["error"]
    assert error.startswith(f"ServerSelectionTimeoutError: {own_mongo_server.address}: [Errno 111] Connection refused")
    assert re.search(
        rf"ERROR database error on GET /customers/{customer_id}: ServerSelectionTimeoutError: "
        rf"127\.0\.0\.1:\d+: \[Errno 111\] Connection refused",
        user.lines()[-1],
    )
    health = call("GET", user.url + "/health").json()["health"]
    assert [(h["service"], h["status"]) for h in health] == [("user", "OK"), ("user-db", "err")]

    own_mongo_server.start()
    assert call("GET", f"{user.url}/customers/{customer_id}").json()["username"] == "alice"
    assert call("GET", user.url + "/login", headers=_basic("alice", "pw")).status == 200


def test_program(service_process: Callable[..., Any], call: Any, mongo_server: Any) -> None:
    proc = service_process(
        "services.user", "--port=0", env={"MONGO_HOST": mongo_server.address}, ready="listening on port"
    )
    proc.wait_for(rf"user service listening on port \d+ \(database mongodb://{mongo_server.address}/users\)")
    assert _register(call, proc.url, {**ALICE, "username": f"prog-{time.monotonic_ns()}"})
    assert proc.stop() == 0
