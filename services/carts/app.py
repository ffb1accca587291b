"""Stand-in for the Sock Shop `carts` service: one cart of items per customer."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from services.common import App, HTTPError, LineLog, Request, Response, StateFile, object_id, rfc3339_now, serve
from services.common.web import spring_error_body

DEFAULT_PORT = 8080


def parse_item(body: dict[str, Any]) -> tuple[str, int, Decimal]:
    """(itemId, quantity, unitPrice) from a cart item body; 400 on bad input."""
    item_id = body.get("itemId")
    if not isinstance(item_id, str) or not item_id.strip():
        raise HTTPError(400, "itemId is required")
    quantity = body.get("quantity", 1)
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise HTTPError(400, "quantity must be a positive integer")
    price = body.get("unitPrice", 0)
    if isinstance(price, bool) or not isinstance(price, int | Decimal):
        raise HTTPError(400, "unitPrice must be a number")
    price = Decimal(price)
    if not price.is_finite() or price < 0:
        raise HTTPError(400, "unitPrice must be a non-negative number")
    return item_id.strip(), quantity, price


class CartsService:
    def __init__(self, log: LineLog | None = None, state_path: str | None = None) -> None:
        self.app = App("carts", log, spring_error_body)
        self.log = self.app.log
        self._state = StateFile(state_path)
        self._lock = threading.Lock()
        stored = self._state.load()
        self._carts: dict[str, list[dict[str, Any]]] = stored if isinstance(stored, dict) else {}
        app = self.app
        app.add("GET", "/carts/{customerId}", self.get_cart)
        app.add("DELETE", "/carts/{customerId}", self.delete_cart)
        app.add("GET", "/carts/{customerId}/items", self.get_items)
        app.add("POST", "/carts/{customerId}/items", self.add_item)
        app.add("PATCH", "/carts/{customerId}/items", self.update_item)
        app.add("DELETE", "/carts/{customerId}/items/{itemId}", self.delete_item)
        app.add("GET", "/health", self.health)

    def _items(self, customer_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(item) for item in self._carts.get(customer_id, [])]

    def get_cart(self, request: Request) -> Response:
        customer_id = request.params["customerId"]
        return Response(200, {"customerId": customer_id, "items": self._items(customer_id)})

    def get_items(self, request: Request) -> Response:
        return Response(200, self._items(request.params["customerId"]))

    def add_item(self, request: Request) -> Response:
        customer_id = request.params["customerId"]
        item_id, quantity, price = parse_item(request.json_object())
        with self._lock:
            items = self._carts.setdefault(customer_id, [])
            found = next((item for item in items if item["itemId"] == item_id), None)
            if found is None:
                found = {"id": object_id(), "itemId": item_id, "quantity": quantity, "unitPrice": price}
                items.append(found)
            else:
                found["quantity"] += quantity
                found["unitPrice"] = price
            result = dict(found)
            self._state.save(self._carts)
        self.log.info(f"Added item {item_id} x{quantity} to cart of customer {customer_id}")
        return Response(201, result)

    def update_item(self, request: Request) -> Response:
        customer_id = request.params["customerId"]
        item_id, quantity, price = parse_item(request.json_object())
        with self._lock:
            found = next((item for item in self._carts.get(customer_id, []) if item["itemId"] == item_id), None)
            if found is None:
                raise HTTPError(404, f"Item {item_id} not in cart of customer {customer_id}")
            found["quantity"], found["unitPrice"] = quantity, price
            self._state.save(self._carts)
        return Response(202)

    def delete_item(self, request: Request) -> Response:
        customer_id, item_id = request.params["customerId"], request.params["itemId"]
        with self._lock:
            items = self._carts.get(customer_id, [])
            self._carts[customer_id] = [item for item in items if item["itemId"] != item_id]
            self._state.save(self._carts)
        return Response(202)

    def delete_cart(self, request: Request) -> Response:
        customer_id = request.params["customerId"]
        with self._lock:
            self._carts.pop(customer_id, None)
            self._state.save(self._carts)
        self.log.info(f"Deleted cart of customer {customer_id}")
        return Response(202)

    def health(self, _request: Request) -> Response:
        return Response(200, {"health": [{"service": "carts", "status": "OK", "time": rfc3339_now()}]})


def main(argv: Sequence[str] | None = None) -> int:
    service = CartsService(state_path=os.environ.get("CARTS_STATE_FILE") or None)

    def started(port: int) -> None:
        service.log.info(f"carts service listening on port {port}")

    return serve(service.app, list(sys.argv[1:] if argv is None else argv), DEFAULT_PORT, started)
