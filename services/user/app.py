"""Stand-in for the Sock Shop `user` service (Go): customers, addresses and cards in MongoDB, with PyMongo.

Storage as the Go service keeps it: database `users` on `$MONGO_HOST` (default `user-db:27017`; MONGO_USER and
MONGO_PASS when the server wants a login), collections `customers` (`_id`, names, email, username, `password`
= sha1(salt + password) hex, `salt`, `addresses` and `cards` as lists of ObjectIds), `addresses` and `cards`;
a unique index on `customers.username`. On a fresh user-db the image's customers are there, so `GET /login`
with Basic auth `user:password` works. Ids in URLs are the documents' ObjectIds in hex.

When the database cannot be reached the request fails with 500 after PyMongo's server selection timeout
(2 s, not the driver's default 30 s), and the log names PyMongo's own error, e.g.
`ServerSelectionTimeoutError: user-db:27017: [Errno 111] Connection refused ...`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import secrets
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError

from services.common import App, HTTPError, LineLog, Request, Response, serve
from services.common.mongo import MongoBacked, connect, without_credentials
from services.common.web import status_phrase

DEFAULT_PORT = 8080
DEFAULT_MONGO_HOST = "user-db:27017"
DATABASE = "users"
KINDS = ("customers", "addresses", "cards")
REQUIRED = {
    "register": ("username", "password"),
    "addresses": ("number", "street", "city", "postcode", "country", "userID"),
    "cards": ("longNum", "expires", "ccv", "userID"),
}


def _error_body(status: int, message: str, _request: Request) -> Any:
    """The Go service's error JSON."""
    return {"error": message, "status_code": status, "status_text": status_phrase(status)}


def _text_fields(body: dict[str, Any], names: Sequence[str], required: Sequence[str]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in names:
        value = body.get(name)
        if value is None or value == "":
            if name in required:
                raise HTTPError(400, f"Missing required field: {name}")
            values[name] = ""
            continue
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise HTTPError(400, f"Field {name} must be a string")
        values[name] = str(value)
    return values


def mask_card(number: str) -> str:
    visible = number[-4:]
    return "*" * (len(number) - len(visible)) + visible


def pass_hash(password: str, salt: str) -> str:
    """users.go calculatePassHash: sha1 of the salt then the password, hex."""
    return hashlib.sha1((salt + password).encode("utf-8")).hexdigest()


def new_salt() -> str:
    """A 40-hex salt, as users.go NewSalt makes (sha1 of a changing value)."""
    return hashlib.sha1(f"{time.time_ns()}{secrets.token_hex(8)}".encode()).hexdigest()


def basic_auth(header: str | None) -> tuple[str, str] | None:
    """(username, password) of an `Authorization: Basic ...` header; None when absent or malformed."""
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "basic" or not token:
        return None
    try:
        decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


def mongo_uri(env: Mapping[str, str]) -> str:
    """`mongodb://[user:pass@]$MONGO_HOST/users`, as the Go service builds its URL."""
    host = (env.get("MONGO_HOST") or DEFAULT_MONGO_HOST).strip()
    user, password = env.get("MONGO_USER") or "", env.get("MONGO_PASS") or ""
    credentials = f"{quote_plus(user)}:{quote_plus(password)}@" if user else ""
    return f"mongodb://{credentials}{host}/{DATABASE}"


def _object_id(value: str) -> ObjectId | None:
    try:
        return ObjectId(value)
    except (InvalidId, TypeError):
        return None


class UserService(MongoBacked):
    name = "user"

    def __init__(
        self, log: LineLog | None = None, client: MongoClient[dict[str, Any]] | None = None, database: str = DATABASE
    ) -> None:
        self.app = App("user", log, _error_body)
        self.log = self.app.log
        self.client = client if client is not None else connect(mongo_uri(os.environ))
        self.db = self.client[database]
        self._indexed = False
        self._index_lock = threading.Lock()
        app = self.app
        for method, pattern, handler in (
            ("GET", "/login", self.login),
            ("POST", "/register", self.register),
            ("POST", "/addresses", self.add_address),
            ("POST", "/cards", self.add_card),
            ("GET", "/customers", self.list_customers),
            ("GET", "/customers/{id}", self.get_customer),
            ("GET", "/customers/{id}/addresses", self.customer_addresses),
            ("GET", "/customers/{id}/cards", self.customer_cards),
            ("GET", "/addresses", self.list_addresses),
            ("GET", "/addresses/{id}", self.get_address),
            ("GET", "/cards", self.list_cards),
            ("GET", "/cards/{id}", self.get_card),
        ):
            app.add(method, pattern, self._guarded(handler))
        app.add("GET", "/health", self.health)

    # ------------------------------------------------------------------ storage

    def _ensure_index(self) -> None:
        """users.go EnsureIndexes: username unique (made on first write, so a start without the DB works)."""
        with self._index_lock:
            if not self._indexed:
                self._db(lambda: self.db.customers.create_index("username", unique=True))
                self._indexed = True

    def _all(self, kind: str) -> list[dict[str, Any]]:
        return self._db(lambda: list(self.db[kind].find()))

    def _get(self, kind: str, record_id: str, label: str) -> dict[str, Any]:
        oid = _object_id(record_id)
        record = self._db(lambda: self.db[kind].find_one({"_id": oid})) if oid is not None else None
        if record is None:
            raise HTTPError(404, f"{label} not found")
        return record

    # ------------------------------------------------------------------ views

    @staticmethod
    def _base(request: Request) -> str:
        return f"http://{request.host}"

    @staticmethod
    def _plain(record: dict[str, Any]) -> dict[str, Any]:
        """A document as JSON: `_id` becomes `id`, and first."""
        return {"id": str(record["_id"]), **{k: v for k, v in record.items() if k != "_id"}}

    def _customer_view(self, record: dict[str, Any], base: str) -> dict[str, Any]:
        hidden = ("password", "salt", "addresses", "cards")
        view = {key: value for key, value in self._plain(record).items() if key not in hidden}
        link = f"{base}/customers/{view['id']}"
        view["_links"] = {
            "addresses": {"href": f"{link}/addresses"},
            "cards": {"href": f"{link}/cards"},
            "customer": {"href": link},
            "self": {"href": link},
        }
        return view

    def _address_view(self, record: dict[str, Any], base: str) -> dict[str, Any]:
        view = self._plain(record)
        link = f"{base}/addresses/{view['id']}"
        return {**view, "_links": {"address": {"href": link}, "self": {"href": link}}}

    def _card_view(self, record: dict[str, Any], base: str) -> dict[str, Any]:
        view = self._plain(record)
        link = f"{base}/cards/{view['id']}"
        view["longNum"] = mask_card(str(view.get("longNum", "")))
        view["_links"] = {"card": {"href": link}, "self": {"href": link}}
        return view

    # ------------------------------------------------------------------ handlers

    def login(self, request: Request) -> Response:
        """Basic auth checked against sha1(salt + password), as the Go service: no or bad credentials 401, an
        unknown username 500 "not found" (mgo's error, which the Go service passes on)."""
        credentials = basic_auth(request.headers.get("Authorization"))
        if credentials is None:
            raise HTTPError(401, "Unauthorized")
        username, password = credentials
        record = self._db(lambda: self.db.customers.find_one({"username": username}))
        if record is None:
            self.log.warn(f"Login failed for {username}: not found")
            raise HTTPError(500, "not found")
        if record.get("password") != pass_hash(password, str(record.get("salt", ""))):
            self.log.warn(f"Login failed for {username}: Unauthorized")
            raise HTTPError(401, "Unauthorized")
        self.log.info(f"Login of customer {record['_id']} ({username})")
        return Response(200, {"user": self._customer_view(record, self._base(request))})

    def register(self, request: Request) -> Response:
        body = request.json_object()
        fields = _text_fields(body, ("username", "password", "email", "firstName", "lastName"), REQUIRED["register"])
        salt = new_salt()
        document: dict[str, Any] = {**fields, "password": pass_hash(fields["password"], salt), "salt": salt}
        document.update({"addresses": [], "cards": []})
        self._ensure_index()
        try:
            record_id = self._db(lambda: self.db.customers.insert_one(document)).inserted_id
        except DuplicateKeyError as exc:
            raise HTTPError(409, f"User already exists: {fields['username']}") from exc
        self.log.info(f"Registered customer {record_id} ({fields['username']})")
        return Response(200, {"id": str(record_id)})

    def _attach(self, kind: str, request: Request, names: Sequence[str]) -> Response:
        body = request.json_object()
        fields = _text_fields(body, names, REQUIRED[kind])
        user_id = _object_id(fields.pop("userID"))
        if user_id is None or self._db(lambda: self.db.customers.find_one({"_id": user_id}, {"_id": 1})) is None:
            raise HTTPError(404, "User not found")
        record_id = self._db(lambda: self.db[kind].insert_one(fields)).inserted_id
        self._db(lambda: self.db.customers.update_one({"_id": user_id}, {"$addToSet": {kind: record_id}}))
        self.log.info(f"Added {'card' if kind == 'cards' else 'address'} {record_id} for customer {user_id}")
        return Response(200, {"id": str(record_id)})

    def add_address(self, request: Request) -> Response:
        return self._attach("addresses", request, ("number", "street", "city", "postcode", "country", "userID"))

    def add_card(self, request: Request) -> Response:
        return self._attach("cards", request, ("longNum", "expires", "ccv", "userID"))

    def get_customer(self, request: Request) -> Response:
        record = self._get("customers", request.params["id"], "Customer")
        return Response(200, self._customer_view(record, self._base(request)))

    def get_address(self, request: Request) -> Response:
        record = self._get("addresses", request.params["id"], "Address")
        return Response(200, self._address_view(record, self._base(request)))

    def get_card(self, request: Request) -> Response:
        return Response(200, self._card_view(self._get("cards", request.params["id"], "Card"), self._base(request)))

    def list_customers(self, request: Request) -> Response:
        base = self._base(request)
        customers = [self._customer_view(record, base) for record in self._all("customers")]
        return Response(200, {"_embedded": {"customer": customers}})

    def list_addresses(self, request: Request) -> Response:
        base = self._base(request)
        addresses = [self._address_view(record, base) for record in self._all("addresses")]
        return Response(200, {"_embedded": {"address": addresses}})

    def list_cards(self, request: Request) -> Response:
        base = self._base(request)
        return Response(200, {"_embedded": {"card": [self._card_view(r, base) for r in self._all("cards")]}})

    def _owned(self, kind: str, request: Request) -> list[dict[str, Any]]:
        customer = self._get("customers", request.params["id"], "Customer")
        ids = [oid for oid in customer.get(kind) or [] if isinstance(oid, ObjectId)]
        records = self._db(lambda: list(self.db[kind].find({"_id": {"$in": ids}}))) if ids else []
        found = {record["_id"]: record for record in records}
        return [found[oid] for oid in ids if oid in found]

    def customer_addresses(self, request: Request) -> Response:
        base = self._base(request)
        return Response(
            200, {"_embedded": {"address": [self._address_view(r, base) for r in self._owned("addresses", request)]}}
        )

    def customer_cards(self, request: Request) -> Response:
        base = self._base(request)
        return Response(200, {"_embedded": {"card": [self._card_view(r, base) for r in self._owned("cards", request)]}})


def main(argv: Sequence[str] | None = None) -> int:
    uri = mongo_uri(os.environ)
    service = UserService(client=connect(uri))

    def started(port: int) -> None:
        service.log.info(f"user service listening on port {port} (database {without_credentials(uri)})")

    # No client.close() at the end: with the database gone it would wait for server selection to end sessions.
    return serve(service.app, list(sys.argv[1:] if argv is None else argv), DEFAULT_PORT, started)
