"""The carts stand-in on a real MongoDB wire-protocol server: items per customer, exact prices, errors, outages."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

import pytest

from kubesim.servers import mongodb
from services.carts.app import CartsService, database_of, spring_mongo_uri


@pytest.fixture
def carts_factory(mongo_service: Callable[..., Any]) -> Callable[..., Any]:
    """`carts_factory(database, address=..., timeout_ms=...)`: a carts service on 127.0.0.1 using that database."""
    return functools.partial(mongo_service, CartsService)


@pytest.fixture
def carts(carts_factory: Callable[..., Any], mongo_database: str) -> Any:
    return carts_factory(mongo_database)


@pytest.mark.parametrize(
    ("argv", "env", "uri"),
    [
        ([], {}, "mongodb://carts-db:27017/data"),
        (["--db=10.0.0.5"], {}, "mongodb://10.0.0.5:27017/data"),
        ([], {"DB": "db"}, "mongodb://db:27017/data"),
        ([], {"MONGO_HOST": "127.0.0.1:2000"}, "mongodb://127.0.0.1:2000/data"),
        (["--port=8080"], {"SPRING_DATA_MONGODB_URI": "mongodb://x:1/other"}, "mongodb://x:1/other"),
        (
            ["--spring.data.mongodb.uri=mongodb://y/d", "--db=z"],
            {"SPRING_DATA_MONGODB_URI": "mongodb://x/o"},
            "mongodb://y/d",
        ),
    ],
)
def test_spring_mongo_uri(argv: list[str], env: dict[str, str], uri: str) -> None:
    assert spring_mongo_uri(argv, env, "carts-db") == uri


@pytest.mark.parametrize(
    ("uri", "database"),
    [("mongodb://carts-db:27017/data", "data"), ("mongodb://x/", "data"), ("mongodb://x/o?w=1", "o")],
)
def test_database_of(uri: str, database: str) -> None:
    assert database_of(uri) == database


def test_add_list_and_delete(carts: Any, call: Any, mongo_server: Any, mongo_database: str) -> None:
    url = carts.url + "/carts/c1/items"
    first = call("POST", url, b'{"itemId": "sock-1", "unitPrice": 49.99, "quantity": 2}')
    assert first.status == 201
    assert b'"unitPrice": 49.99' in first.body  # the exact decimal text, not a float rendering
    assert {key: first.json()[key] for key in ("itemId", "quantity")} == {"itemId": "sock-1", "quantity": 2}
    assert re.fullmatch(r"[0-9a-f]{24}", first.json()["id"])
    assert call("POST", url, b'{"itemId": "sock-2", "unitPrice": 10}').status == 201
    again = call("POST", url, b'{"itemId": "sock-1", "unitPrice": 49.99, "quantity": 1}')
    assert again.json()["quantity"] == 3

    items = call("GET", url).json()
    assert [(i["itemId"], i["quantity"], i["unitPrice"]) for i in items] == [("sock-1", 3, 49.99), ("sock-2", 1, 10)]
    assert call("GET", carts.url + "/carts/other/items").json() == []
    cart = call("GET", carts.url + "/carts/c1").json()
    assert (cart["customerId"], len(cart["items"])) == ("c1", 2)

    with mongodb.client("127.0.0.1", mongo_server.port) as client:  # as Spring Data keeps them: cart and item
        stored = client[mongo_database].cart.find_one({"customerId": "c1"})
        assert stored is not None and len(stored["items"]) == 2
        assert client[mongo_database].item.count_documents({}) == 2

    deleted = call("DELETE", carts.url + "/carts/c1")
    assert (deleted.status, deleted.body) == (202, b"")
    assert call("GET", url).json() == []
    assert call("DELETE", carts.url + "/carts/never-existed").status == 202
    assert carts.lines()[0].endswith("INFO  Added item sock-1 x2 to cart of customer c1")
    with mongodb.client("127.0.0.1", mongo_server.port) as client:
        assert client[mongo_database].item.count_documents({}) == 0


def test_update_delete_item_and_merge(carts: Any, call: Any) -> None:
    url = carts.url + "/carts/c1/items"
    call("POST", url, b'{"itemId": "a", "unitPrice": 1.50}')
    call("POST", url, b'{"itemId": "b", "unitPrice": 2}')
    assert call("PATCH", url, b'{"itemId": "a", "unitPrice": 1.25, "quantity": 4}').status == 202
    assert call("PATCH", url, b'{"itemId": "zz", "quantity": 1}').status == 404
    assert call("DELETE", url + "/b").status == 202
    assert [(i["itemId"], i["quantity"], i["unitPrice"]) for i in call("GET", url).json()] == [("a", 4, 1.25)]

    call("POST", carts.url + "/carts/session-9/items", b'{"itemId": "a", "unitPrice": 1.25, "quantity": 1}')
    call("POST", carts.url + "/carts/session-9/items", b'{"itemId": "c", "unitPrice": 3.00}')
    assert call("GET", carts.url + "/carts/c1/merge?sessionId=session-9").status == 202
    merged = [(i["itemId"], i["quantity"], i["unitPrice"]) for i in call("GET", url).json()]
    assert merged == [("a", 5, 1.25), ("c", 1, 3.0)]
    assert call("GET", carts.url + "/carts/session-9/items").json() == []
    assert call("GET", carts.url + "/carts/c1/merge").status == 400


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"itemId": null}', "Item Id must not be null"),
        (b'{"itemId": 7}', "itemId must be a string"),
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


def test_an_empty_item_takes_the_java_defaults(carts: Any, call: Any) -> None:
    """front-end posts {} for an unknown catalogue id (the lab's "test-item"); the real carts stores it."""
    url = carts.url + "/carts/c-empty/items"
    assert [call("POST", url, b"{}").status for _ in range(2)] == [201, 201]
    items = [(i["itemId"], i["quantity"], i["unitPrice"]) for i in call("GET", url).json()]
    assert items == [("", 2, 0)]


@pytest.mark.parametrize(("body", "status"), [(b"not json", 400), (b"", 400)])
def test_unparseable_body(carts: Any, call: Any, body: bytes, status: int) -> None:
    assert call("POST", carts.url + "/carts/c1/items", body).status == status


def test_unknown_route_and_health(carts: Any, call: Any) -> None:
    assert call("GET", carts.url + "/nowhere").status == 404
    assert call("PUT", carts.url + "/carts/c1/items").status == 405
    health = call("GET", carts.url + "/health").json()["health"]
    assert [(h["service"], h["status"]) for h in health] == [("carts", "OK"), ("carts-db", "OK")]


def test_prices_survive_a_new_service_and_a_db_restart(
    own_mongo_server: Any, carts_factory: Callable[..., Any], call: Any
) -> None:
    """The exact price text comes back from another service instance, and from carts-db restarted on its data;
    in between (carts-db scaled to 0) the service answers 500 naming PyMongo's error."""
    first = carts_factory("data", own_mongo_server.address)
    call("POST", first.url + "/carts/c1/items", b'{"itemId": "a", "unitPrice": 0.10, "quantity": 3}')
    second = carts_factory("data", own_mongo_server.address, timeout_ms=300)  # fast: orders measures the 2 s
    answer = call("GET", second.url + "/carts/c1/items")
    assert b'"unitPrice": 0.10' in answer.body
    assert answer.json()[0]["quantity"] == 3

    own_mongo_server.stop()
    down = call("GET", second.url + "/carts/c1/items")
    assert down.status == 500
    assert re.match(
        r"ServerSelectionTimeoutError: 127\.0\.0\.1:\d+: \[Errno 111\] Connection refused", down.json()["message"]
    )
    assert re.search(r"ERROR database error on GET /carts/c1/items: ServerSelectionTimeoutError: ", second.lines()[-1])

    own_mongo_server.start()
    assert b'"unitPrice": 0.10' in call("GET", second.url + "/carts/c1/items").body


def test_program(service_process: Callable[..., Any], call: Any, mongo_server: Any, mongo_database: str) -> None:
    proc = service_process(
        "services.carts",
        "--port=0",
        f"--spring.data.mongodb.uri=mongodb://{mongo_server.address}/{mongo_database}",
        ready="listening on port",
    )
    proc.wait_for(rf"\(database mongodb://{mongo_server.address}/{mongo_database}\)")
    assert call("POST", proc.url + "/carts/c/items", {"itemId": "x", "unitPrice": 1}).status == 201
    assert proc.stop() == 0
