"""Stand-in for the Sock Shop `carts` service (Java/Spring): one cart of items per customer, in MongoDB.

Storage as the Java service keeps it (Spring Data MongoDB, database `data` on carts-db): collection `cart`
(`customerId`, `items`: the ObjectIds of its items; Spring keeps DBRefs, the wire-protocol server here does
not store DBRefs) and collection `item` (`itemId`, `quantity`, `unitPrice`). Prices are kept as their exact
decimal text ("0.10"), so a cart gives back exactly what was put in.

The database, as Spring Boot resolves `spring.data.mongodb.uri=mongodb://${db:carts-db}:27017/data`, first
found wins: the argument `--spring.data.mongodb.uri=URI`, `$SPRING_DATA_MONGODB_URI`, the argument `--db=HOST`
or `$DB` (host of `mongodb://HOST:27017/data`), `$MONGO_HOST` (`host:port`), else `mongodb://carts-db:27017/data`.
When the database cannot be reached a request fails with 500 after PyMongo's 2 s server selection timeout
(not the driver's default 30 s) and the log names PyMongo's own error (`ServerSelectionTimeoutError: ...
Connection refused`).
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from bson import ObjectId
from pymongo import MongoClient

from services.common import App, HTTPError, LineLog, Request, Response, serve
from services.common.mongo import MongoBacked, connect, database_of, spring_mongo_uri, without_credentials
from services.common.web import spring_error_body

DEFAULT_PORT = 8080
DEFAULT_DB_HOST = "carts-db"


def parse_item(body: dict[str, Any]) -> tuple[str, int, Decimal]:
    """(itemId, quantity, unitPrice) from a cart item body; 400 on bad input.

    Missing fields take the Java entity's defaults (itemId "", quantity 1, unitPrice 0), as the real service
    binds them: front-end posts `{}` for an id the catalogue does not know (the lab's "test-item"), and the
    real carts answers 201 to it."""
    item_id = body.get("itemId", "")
    if item_id is None:
        raise HTTPError(400, "Item Id must not be null")
    if not isinstance(item_id, str):
        raise HTTPError(400, "itemId must be a string")
    quantity = body.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise HTTPError(400, "quantity must be a positive integer")
    price = body.get("unitPrice", 0)
    if isinstance(price, bool) or not isinstance(price, int | Decimal):
        raise HTTPError(400, "unitPrice must be a number")
    price = Decimal(price)
    if not price.is_finite() or price < 0:
        raise HTTPError(400, "unitPrice must be a non-negative number")
    return item_id, quantity, price


def item_view(document: dict[str, Any]) -> dict[str, Any]:
    """A stored item as the API shows it: its id, itemId, quantity and the exact unit price."""
    return {
        "id": str(document["_id"]),
        "itemId": document["itemId"],
        "quantity": int(document["quantity"]),
        "unitPrice": Decimal(str(document["unitPrice"])),
    }


class CartsService(MongoBacked):
    name = "carts"

    def __init__(
        self, log: LineLog | None = None, client: MongoClient[dict[str, Any]] | None = None, database: str = "data"
    ) -> None:
        self.app = App("carts", log, spring_error_body)
        self.log = self.app.log
        self.client = client if client is not None else connect(spring_mongo_uri([], os.environ, DEFAULT_DB_HOST))
        self.db = self.client[database]
        self._lock = threading.Lock()  # read-modify-write of a cart (one replica, as the lab runs it)
        app = self.app
        for method, pattern, handler in (
            ("GET", "/carts/{customerId}", self.get_cart),
            ("DELETE", "/carts/{customerId}", self.delete_cart),
            ("GET", "/carts/{customerId}/merge", self.merge_carts),
            ("GET", "/carts/{customerId}/items", self.get_items),
            ("POST", "/carts/{customerId}/items", self.add_item),
            ("PATCH", "/carts/{customerId}/items", self.update_item),
            ("DELETE", "/carts/{customerId}/items/{itemId}", self.delete_item),
        ):
            app.add(method, pattern, self._guarded(handler))
        app.add("GET", "/health", self.health)

    # ------------------------------------------------------------------ storage

    def _cart(self, customer_id: str) -> dict[str, Any] | None:
        return self._db(lambda: self.db.cart.find_one({"customerId": customer_id}))

    def _documents(self, cart: dict[str, Any] | None) -> list[dict[str, Any]]:
        ids = [oid for oid in (cart or {}).get("items") or [] if isinstance(oid, ObjectId)]
        if not ids:
            return []
        found = {doc["_id"]: doc for doc in self._db(lambda: list(self.db.item.find({"_id": {"$in": ids}})))}
        return [found[oid] for oid in ids if oid in found]

    def _items(self, customer_id: str) -> list[dict[str, Any]]:
        return [item_view(doc) for doc in self._documents(self._cart(customer_id))]

    def _add(self, customer_id: str, item_id: str, quantity: int, price: Decimal) -> dict[str, Any]:
        """Add to (or raise the quantity of) the customer's item; the stored item."""
        cart = self._cart(customer_id)
        if cart is None:
            created = self._db(lambda: self.db.cart.insert_one({"customerId": customer_id, "items": []}))
            cart = {"_id": created.inserted_id, "items": []}
        found = next((doc for doc in self._documents(cart) if doc["itemId"] == item_id), None)
        if found is None:
            document = {"itemId": item_id, "quantity": quantity, "unitPrice": str(price)}
            stored = dict(document)
            document["_id"] = self._db(lambda: self.db.item.insert_one(stored)).inserted_id
            self._db(lambda: self.db.cart.update_one({"_id": cart["_id"]}, {"$addToSet": {"items": document["_id"]}}))
            return document
        found["quantity"] = int(found["quantity"]) + quantity
        found["unitPrice"] = str(price)
        change = {"$set": {"quantity": found["quantity"], "unitPrice": found["unitPrice"]}}
        self._db(lambda: self.db.item.update_one({"_id": found["_id"]}, change))
        return found

    def _remove_cart(self, cart: dict[str, Any]) -> None:
        ids = [oid for oid in cart.get("items") or [] if isinstance(oid, ObjectId)]
        if ids:
            self._db(lambda: self.db.item.delete_many({"_id": {"$in": ids}}))
        self._db(lambda: self.db.cart.delete_one({"_id": cart["_id"]}))

    # ------------------------------------------------------------------ handlers

    def get_cart(self, request: Request) -> Response:
        customer_id = request.params["customerId"]
        return Response(200, {"customerId": customer_id, "items": self._items(customer_id)})

    def get_items(self, request: Request) -> Response:
        return Response(200, self._items(request.params["customerId"]))

    def add_item(self, request: Request) -> Response:
        customer_id = request.params["customerId"]
        item_id, quantity, price = parse_item(request.json_object())
        with self._lock:
            stored = self._add(customer_id, item_id, quantity, price)
        self.log.info(f"Added item {item_id} x{quantity} to cart of customer {customer_id}")
        return Response(201, item_view(stored))

    def update_item(self, request: Request) -> Response:
        customer_id = request.params["customerId"]
        item_id, quantity, price = parse_item(request.json_object())
        with self._lock:
            found = next((d for d in self._documents(self._cart(customer_id)) if d["itemId"] == item_id), None)
            if found is None:
                raise HTTPError(404, f"Item {item_id} not in cart of customer {customer_id}")
            change = {"$set": {"quantity": quantity, "unitPrice": str(price)}}
            self._db(lambda: self.db.item.update_one({"_id": found["_id"]}, change))
        return Response(202)

    def delete_item(self, request: Request) -> Response:
        customer_id, item_id = request.params["customerId"], request.params["itemId"]
        with self._lock:
            cart = self._cart(customer_id)
            gone = [d["_id"] for d in self._documents(cart) if d["itemId"] == item_id]
            if cart is not None and gone:
                kept = [oid for oid in cart.get("items") or [] if oid not in gone]
                self._db(lambda: self.db.cart.update_one({"_id": cart["_id"]}, {"$set": {"items": kept}}))
                self._db(lambda: self.db.item.delete_many({"_id": {"$in": gone}}))
        return Response(202)

    def delete_cart(self, request: Request) -> Response:
        customer_id = request.params["customerId"]
        with self._lock:
            cart = self._cart(customer_id)
            if cart is not None:
                self._remove_cart(cart)
        self.log.info(f"Deleted cart of customer {customer_id}")
        return Response(202)

    def merge_carts(self, request: Request) -> Response:
        """`GET /carts/{customerId}/merge?sessionId=S` (the front-end at login): the session's cart joins the
        customer's and is deleted."""
        customer_id, session_id = request.params["customerId"], request.arg("sessionId")
        if not session_id:
            raise HTTPError(400, "Required String parameter 'sessionId' is not present")
        with self._lock:
            session_cart = self._cart(session_id)
            if session_cart is not None and session_id != customer_id:
                for doc in self._documents(session_cart):
                    self._add(customer_id, doc["itemId"], int(doc["quantity"]), Decimal(str(doc["unitPrice"])))
                self._remove_cart(session_cart)
        self.log.info(f"Merged cart of session {session_id} into cart of customer {customer_id}")
        return Response(202)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    uri = spring_mongo_uri(args, os.environ, DEFAULT_DB_HOST)
    try:
        database = database_of(uri)
    except Exception as exc:  # pymongo's InvalidURI and friends
        print(f"carts: invalid MongoDB URI {without_credentials(uri)}: {exc}", flush=True)
        return 2
    service = CartsService(client=connect(uri), database=database)

    def started(port: int) -> None:
        service.log.info(f"carts service listening on port {port} (database {without_credentials(uri)})")

    # No client.close() at the end: with the database gone it would wait for server selection to end sessions.
    return serve(service.app, args, DEFAULT_PORT, started)
