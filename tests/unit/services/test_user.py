"""The user stand-in: register, addresses, cards, HAL-ish reads, errors, persistence."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.common import LineLog, make_server
from services.user.app import UserService, mask_card

ALICE = {"username": "alice", "password": "pw", "email": "a@example.com", "firstName": "Alice", "lastName": "Liddell"}
ADDRESS = {"number": "1", "street": "Main St", "city": "Springfield", "postcode": "12345", "country": "US"}
CARD = {"longNum": "4111111111111111", "expires": "12/30", "ccv": "123"}
OBJECT_ID = re.compile(r"[0-9a-f]{24}")


@pytest.fixture
def user(run_server: Callable[..., Any]) -> Any:
    stream = io.StringIO()
    return run_server(make_server(UserService(LineLog(stream)).app, "127.0.0.1", 0), stream)


def _register(call: Any, url: str, body: dict[str, Any] = ALICE) -> str:
    response = call("POST", url + "/register", body)
    assert response.status == 200, response.body
    return str(response.json()["id"])


def test_register_address_card_and_reads(user: Any, call: Any) -> None:
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
    assert "password" not in customer
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


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        ("/register", {**ALICE, "username": ""}, (400, "Missing required field: username")),
        ("/register", {"username": "bob"}, (400, "Missing required field: password")),
        ("/register", {**ALICE, "username": ["x"]}, (400, "Field username must be a string")),
        ("/register", b"not json", (400, None)),
        ("/register", [ALICE], (400, "Request body must be a JSON object")),
        ("/addresses", {**ADDRESS, "userID": "000000000000000000000000"}, (404, "User not found")),
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
        ("/addresses/nope", "Address not found"),
        ("/cards/nope", "Card not found"),
        ("/customers/nope/cards", "Customer not found"),
    ],
)
def test_absent_records_are_404_json(user: Any, call: Any, path: str, message: str) -> None:
    response = call("GET", user.url + path)
    assert response.status == 404
    assert response.json() == {"error": message, "status_code": 404, "status_text": "Not Found"}


def test_health(user: Any, call: Any) -> None:
    health = call("GET", user.url + "/health").json()
    assert health["health"][0]["service"] == "user"
    assert health["health"][0]["status"] == "OK"


@pytest.mark.parametrize(("number", "masked"), [("4111111111111111", "************1111"), ("123", "123"), ("", "")])
def test_mask_card(number: str, masked: str) -> None:
    assert mask_card(number) == masked


def test_state_file_persists(tmp_path: Path, run_server: Callable[..., Any], call: Any) -> None:
    state = tmp_path / "user.json"
    first = run_server(make_server(UserService(LineLog(io.StringIO()), str(state)).app, "127.0.0.1", 0))
    customer_id = _register(call, first.url)
    assert customer_id in json.loads(state.read_text())["customers"]
    assert [p.name for p in tmp_path.iterdir()] == ["user.json"]  # no temp files left behind
    second = run_server(make_server(UserService(LineLog(io.StringIO()), str(state)).app, "127.0.0.1", 0))
    assert call("GET", f"{second.url}/customers/{customer_id}").json()["username"] == "alice"


def test_program(service_process: Callable[..., Any], call: Any) -> None:
    proc = service_process("services.user", "--port=0", ready="listening on port")
    assert _register(call, proc.url)
    assert proc.stop() == 0
