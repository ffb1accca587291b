"""The stripe-mock stand-in: charges API, Stripe-style errors, request log lines."""

from __future__ import annotations

import base64
import io
import re
import time
from collections.abc import Callable
from typing import Any

import pytest

from services.common import LineLog, make_server, parse_port
from services.stripe_mock.app import AUTH_MESSAGE, StripeMock, check_api_key, validate_charge

BEARER = {"Authorization": "Bearer sk_test_mock", "Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
def stripe(run_server: Callable[..., Any]) -> Any:
    stream = io.StringIO()
    mock = StripeMock(LineLog(stream))
    return run_server(make_server(mock.app, "127.0.0.1", 0), stream)


def test_charge_created_and_fetched(stripe: Any, call: Any) -> None:
    before = int(time.time())
    created = call("POST", stripe.url + "/v1/charges", b"amount=5000&currency=usd&source=tok_visa", BEARER)
    assert created.status == 200
    charge = created.json()
    assert re.fullmatch(r"ch_[A-Za-z0-9]{24}", charge["id"])
    expected = {"object": "charge", "amount": 5000, "currency": "usd", "status": "succeeded"}
    assert {key: charge[key] for key in expected} == expected
    assert (charge["paid"], charge["captured"], charge["livemode"]) == (True, True, False)
    assert before <= charge["created"] <= int(time.time())
    assert charge["source"]["brand"] == "Visa"
    assert charge["source"]["last4"] == "4242"

    fetched = call("GET", f"{stripe.url}/v1/charges/{charge['id']}", headers=BEARER)
    assert (fetched.status, fetched.json()) == (200, charge)
    listed = call("GET", stripe.url + "/v1/charges", headers=BEARER).json()
    assert (listed["object"], [item["id"] for item in listed["data"]]) == ("list", [charge["id"]])

    assert re.fullmatch(
        r"\S+ INFO  Request: POST /v1/charges status=200 charge=ch_\w{24} amount=5000 currency=usd elapsed=\d+\.\dms",
        stripe.lines()[0],
    )
    assert re.search(r"Request: GET /v1/charges/ch_\w+ status=200 ", stripe.lines()[1])


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ("currency=usd&source=tok_visa", 400, {"message": "Missing required param: amount.", "param": "amount"}),
        (
            "amount=&currency=usd&source=tok_visa",
            400,
            {"message": "Missing required param: amount.", "param": "amount"},
        ),
        ("amount=abc&currency=usd&source=tok_visa", 400, {"message": "Invalid integer: abc", "param": "amount"}),
        ("amount=50.5&currency=usd&source=tok_visa", 400, {"message": "Invalid integer: 50.5", "param": "amount"}),
        (
            "amount=0&currency=usd&source=tok_visa",
            400,
            {"message": "This value must be greater than or equal to 1.", "param": "amount"},
        ),
        (
            "amount=-5&currency=usd&source=tok_visa",
            400,
            {"message": "This value must be greater than or equal to 1.", "param": "amount"},
        ),
        (
            "amount=100000000&currency=usd&source=tok_visa",
            400,
            {"message": "Amount must be no more than $999,999.99", "param": "amount", "code": "amount_too_large"},
        ),
        ("amount=5000&source=tok_visa", 400, {"message": "Missing required param: currency.", "param": "currency"}),
        (
            "amount=5000&currency=dollars&source=tok_visa",
            400,
            {"message": "Invalid currency: dollars.", "param": "currency"},
        ),
        ("amount=5000&currency=usd", 400, {"message": "Must provide source or customer.", "param": "source"}),
        (
            "amount=5000&currency=usd&source=tok_bogus",
            400,
            {"message": "No such token: 'tok_bogus'", "param": "source", "code": "resource_missing"},
        ),
        (
            "amount=5000&currency=usd&source=tok_chargeDeclined",
            402,
            {
                "type": "card_error",
                "message": "Your card was declined.",
                "param": "",
                "code": "card_declined",
                "decline_code": "generic_decline",
            },
        ),
    ],
)
def test_charge_validation_errors(stripe: Any, call: Any, form: str, status: int, error: dict[str, Any]) -> None:
    response = call("POST", stripe.url + "/v1/charges", form.encode(), BEARER)
    assert response.status == status
    assert response.json() == {"error": {"type": "invalid_request_error", **error}}
    assert f"status={status}" in stripe.lines()[-1]


@pytest.mark.parametrize(
    ("form", "expected"),
    [
        ({"amount": "5000", "currency": "USD", "source": "tok_mastercard"}, (5000, "usd", "tok_mastercard", None)),
        ({"amount": "1", "currency": "eur", "customer": "cus_123"}, (1, "eur", None, "cus_123")),
        ({"amount": "99999999", "currency": "usd", "source": "tok_amex"}, (99999999, "usd", "tok_amex", None)),
    ],
)
def test_validate_charge_accepts(form: dict[str, str], expected: tuple[Any, ...]) -> None:
    assert validate_charge(form) == expected


@pytest.mark.parametrize(
    ("headers", "shown"),
    [
        ({}, ""),
        ({"Authorization": "Bearer"}, "Bearer"),
        ({"Authorization": "Bearer pk_test_123"}, "Bearer pk_test_123"),
        ({"Authorization": "Bearer sk_live_123"}, "Bearer sk_live_123"),
        ({"Authorization": "Bearer sk_test_"}, "Bearer sk_test_"),
        ({"Authorization": "Basic !!!"}, "Basic !!!"),
    ],
)
def test_missing_or_bad_key_is_401(stripe: Any, call: Any, headers: dict[str, str], shown: str) -> None:
    response = call("POST", stripe.url + "/v1/charges", b"amount=5000&currency=usd&source=tok_visa", headers)
    assert response.status == 401
    assert response.json() == {"error": {"type": "invalid_request_error", "message": AUTH_MESSAGE.format(given=shown)}}
    assert call("GET", stripe.url + "/v1/charges/ch_x", headers=headers).status == 401


def test_basic_auth_key_accepted() -> None:
    token = base64.b64encode(b"sk_test_abc:").decode()
    assert check_api_key(f"Basic {token}") == "sk_test_abc"
    assert check_api_key("Bearer sk_test_mock") == "sk_test_mock"


@pytest.mark.parametrize(
    ("route", "status", "message"),
    [
        ("GET /v1/charges/ch_unknown", 404, "No such charge: 'ch_unknown'"),
        ("GET /v1/customers", 404, "Unrecognized request URL (GET: /v1/customers)."),
        ("DELETE /v1/charges", 405, "Request method 'DELETE' not supported"),
    ],
)
def test_not_found_and_method(stripe: Any, call: Any, route: str, status: int, message: str) -> None:
    method, path = route.split()
    response = call(method, stripe.url + path, headers=BEARER)
    assert response.status == status
    assert response.json()["error"]["message"] == message


@pytest.mark.parametrize(
    ("argv", "env", "port"),
    [
        ([], {}, 12111),
        (["-http-port", "12200"], {}, 12200),
        (["-http-port=12201", "-https-port", "12112"], {}, 12201),
        (["--port=9000"], {"PORT": "9100"}, 9000),
        ([], {"PORT": "9100"}, 9100),
    ],
)
def test_port_selection(argv: list[str], env: dict[str, str], port: int) -> None:
    flags = ("--port", "-port", "-http-port", "--http-port")
    assert parse_port(argv, env, 12111, flags) == port


def test_program_runs_and_stops_on_sigterm(service_process: Callable[..., Any], call: Any) -> None:
    proc = service_process("services.stripe_mock", "-http-port", "0", "-https-port", "0", ready="Listening for HTTP")
    assert "-https-port ignored" in proc.output[0]
    response = call("POST", proc.url + "/v1/charges", b"amount=1999&currency=usd&source=tok_visa", BEARER)
    assert response.json()["amount"] == 1999
    assert proc.stop() == 0
