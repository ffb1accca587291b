"""The carts stand-in: items per customer, exact prices, errors, persistence."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from services.carts.app import CartsService
from services.common import LineLog, make_server


@pytest.fixture
def carts(run_server: Callable[..., Any]) -> Any:
    stream = io.StringIO()
    return run_server(make_server(CartsService(LineLog(stream)).app, "127.0.0.1", 0), stream)


def test_add_list_and_delete(carts: Any, call: Any) -> None:
    url = carts.url + "/carts/c1/items"
    first = call("POST", url, b'{"itemId": "sock-1", "unitPrice": 49.99, "quantity": 2}')
    assert first.status == 201
    assert b'"unitPrice": 49.99' in first.body  # the exact decimal text, not a float rendering
    assert {key: first.json()[key] for key in ("itemId", "quantity")} == {"itemId": "sock-1", "quantity": 2}
    assert call("POST", url, b'{"itemId": "sock-2", "unitPrice": 10}').status == 201
    again = call("POST", url, b'{"itemId": "sock-1", "unitPrice": 49.99, "quantity": 1}')
    assert again.json()["quantity"] == 3

    items = call("GET", url).json()
    assert [(i["itemId"], i["quantity"], i["unitPrice"]) for i in items] == [("sock-1", 3, 49.99), ("sock-2", 1, 10)]
    assert call("GET", carts.url + "/carts/other/items").json() == []

    deleted = call("DELETE", carts.url + "/carts/c1")
    assert (deleted.status, deleted.body) == (202, b"")
    assert call("GET", url).json() == []
    assert call("DELETE", carts.url + "/carts/never-existed").status == 202
    assert carts.lines()[0].endswith("INFO  Added item sock-1 x2 to cart of customer c1")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"unitPrice": 1, "quantity": 1}', "itemId is required"),
        (b'{"itemId": "", "unitPrice": 1}', "itemId is required"),
        (b'{"itemId": "a", "quantity": 0}', "quantity must be a positive integer"),
        (b'{"itemId": "a", "quantity": -1}', "quantity must be a positive integer"),
        (b'{"itemId": "a", "quantity": 1.5}', "quantity must be a positive integer"),
        (b'{"itemId": "a", "quantity": "2"}', "quantity must be a positive integer"),
        (b'{"itemId": "a", "quantity": true}', "quantity must be a positive integer"),
        (b'{"itemId": "a", "unitPrice": "abc"}', "unitPrice must be a number"),
        (b'{"itemId": "a", "unitPrice": -0.01}', "unitPrice must be a non-negative number"),
        (b"[]", "Request body must be a JSON object"),
    ],
)
def test_bad_items_are_400(carts: Any, call: Any, body: bytes, message: str) -> None:
    response = call("POST", carts.url + "/carts/c1/items", body)
    assert response.status == 400
    error = response.json()
    assert (error["status"], error["error"], error["message"], error["path"]) == (
        400,
        "Bad Request",
        message,
        "/carts/c1/items",
    )


@pytest.mark.parametrize(("body", "status"), [(b"not json", 400), (b"", 400)])
def test_unparseable_body(carts: Any, call: Any, body: bytes, status: int) -> None:
    assert call("POST", carts.url + "/carts/c1/items", body).status == status


def test_unknown_route_and_health(carts: Any, call: Any) -> None:
    assert call("GET", carts.url + "/nowhere").status == 404
    assert call("PUT", carts.url + "/carts/c1/items").status == 405
    assert call("GET", carts.url + "/health").json()["health"][0]["service"] == "carts"


def test_state_file_persists(tmp_path: Path, run_server: Callable[..., Any], call: Any) -> None:
    state = str(tmp_path / "carts.json")
    first = run_server(make_server(CartsService(LineLog(io.StringIO()), state).app, "127.0.0.1", 0))
    call("POST", first.url + "/carts/c1/items", b'{"itemId": "a", "unitPrice": 0.10, "quantity": 3}')
    second = run_server(make_server(CartsService(LineLog(io.StringIO()), state).app, "127.0.0.1", 0))
    answer = call("GET", second.url + "/carts/c1/items")
    assert b'"unitPrice": 0.10' in answer.body
    assert answer.json()[0]["quantity"] == 3


def test_program(service_process: Callable[..., Any], call: Any) -> None:
    proc = service_process("services.carts", "--port=0", ready="listening on port")
    assert call("POST", proc.url + "/carts/c/items", {"itemId": "x", "unitPrice": 1}).status == 201
    assert proc.stop() == 0
