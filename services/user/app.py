"""Stand-in for the Sock Shop `user` service: customers, addresses and cards (in memory, optional JSON state)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from typing import Any

from services.common import App, HTTPError, LineLog, Request, Response, StateFile, object_id, rfc3339_now, serve
from services.common.web import status_phrase

DEFAULT_PORT = 8080
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


class UserService:
    def __init__(self, log: LineLog | None = None, state_path: str | None = None) -> None:
        self.app = App("user", log, _error_body)
        self.log = self.app.log
        self._state = StateFile(state_path)
        self._lock = threading.Lock()
        self._data: dict[str, dict[str, dict[str, Any]]] = {kind: {} for kind in KINDS}
        stored = self._state.load()
        if isinstance(stored, dict):
            for kind in KINDS:
                if isinstance(stored.get(kind), dict):
                    self._data[kind] = stored[kind]
        app = self.app
        app.add("POST", "/register", self.register)
        app.add("POST", "/addresses", self.add_address)
        app.add("POST", "/cards", self.add_card)
        app.add("GET", "/customers", self.list_customers)
        app.add("GET", "/customers/{id}", self.get_customer)
        app.add("GET", "/customers/{id}/addresses", self.customer_addresses)
        app.add("GET", "/customers/{id}/cards", self.customer_cards)
        app.add("GET", "/addresses", self.list_addresses)
        app.add("GET", "/addresses/{id}", self.get_address)
        app.add("GET", "/cards", self.list_cards)
        app.add("GET", "/cards/{id}", self.get_card)
        app.add("GET", "/health", self.health)

    # ------------------------------------------------------------------ storage

    def _save(self) -> None:
        self._state.save(self._data)

    def _insert(self, kind: str, record: dict[str, Any]) -> str:
        with self._lock:
            record_id = object_id()
            self._data[kind][record_id] = {"id": record_id, **record}
            self._save()
        return record_id

    def _get(self, kind: str, record_id: str, label: str) -> dict[str, Any]:
        with self._lock:
            record = self._data[kind].get(record_id)
        if record is None:
            raise HTTPError(404, f"{label} not found")
        return dict(record)

    def _require_customer(self, user_id: str) -> None:
        with self._lock:
            known = user_id in self._data["customers"]
        if not known:
            raise HTTPError(404, "User not found")

    # ------------------------------------------------------------------ views

    @staticmethod
    def _base(request: Request) -> str:
        return f"http://{request.host}"

    def _customer_view(self, record: dict[str, Any], base: str) -> dict[str, Any]:
        view = {key: value for key, value in record.items() if key not in ("password", "addresses", "cards")}
        link = f"{base}/customers/{record['id']}"
        view["_links"] = {
            "addresses": {"href": f"{link}/addresses"},
            "cards": {"href": f"{link}/cards"},
            "customer": {"href": link},
            "self": {"href": link},
        }
        return view

    @staticmethod
    def _address_view(record: dict[str, Any], base: str) -> dict[str, Any]:
        link = f"{base}/addresses/{record['id']}"
        return {**record, "_links": {"address": {"href": link}, "self": {"href": link}}}

    @staticmethod
    def _card_view(record: dict[str, Any], base: str) -> dict[str, Any]:
        link = f"{base}/cards/{record['id']}"
        view = {**record, "longNum": mask_card(str(record.get("longNum", "")))}
        view["_links"] = {"card": {"href": link}, "self": {"href": link}}
        return view

    # ------------------------------------------------------------------ handlers

    def register(self, request: Request) -> Response:
        body = request.json_object()
        fields = _text_fields(body, ("username", "password", "email", "firstName", "lastName"), REQUIRED["register"])
        with self._lock:
            if any(item.get("username") == fields["username"] for item in self._data["customers"].values()):
                raise HTTPError(409, f"User already exists: {fields['username']}")
            record_id = object_id()
            self._data["customers"][record_id] = {"id": record_id, **fields, "addresses": [], "cards": []}
            self._save()
        self.log.info(f"Registered customer {record_id} ({fields['username']})")
        return Response(200, {"id": record_id})

    def _attach(self, kind: str, request: Request, names: Sequence[str]) -> Response:
        body = request.json_object()
        fields = _text_fields(body, names, REQUIRED[kind])
        user_id = fields.pop("userID")
        with self._lock:
            customer = self._data["customers"].get(user_id)
            if customer is None:
                raise HTTPError(404, "User not found")
            record_id = object_id()
            self._data[kind][record_id] = {"id": record_id, **fields}
            customer.setdefault(kind, []).append(record_id)
            self._save()
        self.log.info(f"Added {kind[:-1] if kind == 'cards' else 'address'} {record_id} for customer {user_id}")
        return Response(200, {"id": record_id})

    def add_address(self, request: Request) -> Response:
        return self._attach("addresses", request, ("number", "street", "city", "postcode", "country", "userID"))

    def add_card(self, request: Request) -> Response:
        return self._attach("cards", request, ("longNum", "expires", "ccv", "userID"))

    def get_customer(self, request: Request) -> Response:
        record = self._get("customers", request.params["id"], "Customer")
        return Response(200, self._customer_view(record, self._base(request)))

    def get_address(self, request: Request) -> Response:
        return Response(
            200, self._address_view(self._get("addresses", request.params["id"], "Address"), self._base(request))
        )

    def get_card(self, request: Request) -> Response:
        return Response(200, self._card_view(self._get("cards", request.params["id"], "Card"), self._base(request)))

    def _all(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(record) for record in self._data[kind].values()]

    def list_customers(self, request: Request) -> Response:
        base = self._base(request)
        customers = [self._customer_view(record, base) for record in self._all("customers")]
        return Response(200, {"_embedded": {"customer": customers}})

    def list_addresses(self, request: Request) -> Response:
        base = self._base(request)
        return Response(200, {"_embedded": {"address": [self._address_view(r, base) for r in self._all("addresses")]}})

    def list_cards(self, request: Request) -> Response:
        base = self._base(request)
        return Response(200, {"_embedded": {"card": [self._card_view(r, base) for r in self._all("cards")]}})

    def _owned(self, kind: str, request: Request) -> list[dict[str, Any]]:
        customer = self._get("customers", request.params["id"], "Customer")
        with self._lock:
            return [dict(self._data[kind][i]) for i in customer.get(kind, []) if i in self._data[kind]]

    def customer_addresses(self, request: Request) -> Response:
        base = self._base(request)
        return Response(
            200, {"_embedded": {"address": [self._address_view(r, base) for r in self._owned("addresses", request)]}}
        )

    def customer_cards(self, request: Request) -> Response:
        base = self._base(request)
        return Response(200, {"_embedded": {"card": [self._card_view(r, base) for r in self._owned("cards", request)]}})

    def health(self, _request: Request) -> Response:
        return Response(200, {"health": [{"service": "user", "status": "OK", "time": rfc3339_now()}]})


def main(argv: Sequence[str] | None = None) -> int:
    service = UserService(state_path=os.environ.get("USER_STATE_FILE") or None)

    def started(port: int) -> None:
        service.log.info(f"user service listening on port {port}")

    return serve(service.app, list(sys.argv[1:] if argv is None else argv), DEFAULT_PORT, started)
