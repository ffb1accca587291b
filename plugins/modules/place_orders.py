#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0 (see pyproject.toml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: place_orders
short_description: Place Sock Shop orders from a few customers, the traffic of a payment incident
description:
  - Places O(count) orders from O(customers) customers through Sock Shop's own services, reached through the
    Kubernetes API service proxy, the way the front-end does it. It registers each customer if needed
    (C(POST /register) on the user service, then an address and a card), fills the customer's cart on the carts
    service and posts the order to the orders service with links to customer, address, card and items.
  - Reports each order's id, customer, total (exact, 2 decimals), HTTP status, outcome (C(PAID),
    C(PAYMENT_FAILED) or C(error)) and when it was placed (UTC). While payment is down the orders service answers
    406 (declined) or 500 (C(Payment service unavailable for order <id>)); the order id is taken from that answer.
  - Bounded by O(count) (at most 1000) and O(budget_s); when the budget runs out the remaining orders are not
    placed and C(budget_exhausted) is true.
  - C(changed) is true when anything was written (customers, carts, orders). In check mode nothing is sent and
    the plan (customer, items and total of every order) is returned with C(changed=true).
  - Connection options (kubeconfig, context, token, certificates) behave as in M(kubernetes.core.k8s_scale).
author:
  - sockshop-incidents maintainers
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  namespace:
    description: Namespace of the Sock Shop services.
    type: str
    default: sock-shop
  port:
    description: Service port (number or name) of the user, carts and orders Services.
    type: str
    default: "80"
  user_service:
    description: Name of the user Service.
    type: str
    default: user
  carts_service:
    description: Name of the carts Service.
    type: str
    default: carts
  orders_service:
    description: Name of the orders Service.
    type: str
    default: orders
  count:
    description: Orders to place, 1 to 1000.
    type: int
    default: 5
  customers:
    description: Distinct customers placing them (orders go round-robin), 1 to O(count).
    type: int
    default: 2
  customer_prefix:
    description: Customers are named C(<prefix>-1), C(<prefix>-2)...; existing ones are reused.
    type: str
    default: incident-customer
  customer_password:
    description:
      - Password given to customers this module registers. (Not C(password), which is the API server's basic-auth
        password of kubernetes.core's connection options.)
    type: str
    default: incident-password
  items:
    description:
      - One cart used for every order. Mutually exclusive with O(carts).
      - Without O(items) and O(carts), a cycle of five carts reproduces the INCIDENT-3 totals
        ($104.98, $19.99, $104.98, $122.13, $22.14 with $4.99 shipping).
    type: list
    elements: dict
    suboptions:
      itemId:
        description: Catalogue item id.
        type: str
        required: true
      unitPrice:
        description: Unit price in dollars (number or numeric string).
        type: raw
        required: true
      quantity:
        description: How many.
        type: int
        default: 1
  carts:
    description: Carts used in turn, order N gets cart N modulo their number. Each has C(items) as in O(items).
    type: list
    elements: dict
    suboptions:
      items:
        description: The cart's items.
        type: list
        elements: dict
        required: true
        suboptions:
          itemId:
            description: Catalogue item id.
            type: str
            required: true
          unitPrice:
            description: Unit price in dollars.
            type: raw
            required: true
          quantity:
            description: How many.
            type: int
            default: 1
  shipping:
    description: Shipping the orders service adds to each order, used for the expected totals.
    type: raw
    default: "4.99"
  budget_s:
    description: Stop placing further orders after this many seconds.
    type: float
    default: 120
  timeout:
    description: Seconds to wait for each request.
    type: float
    default: 30
requirements:
  - "python >= 3.11"
  - "kubernetes >= 24.2.0"
notes:
  - The identity in the kubeconfig needs C(create), C(get) and C(delete) on C(services/proxy) in O(namespace).
  - Supports check mode.
"""

EXAMPLES = r"""
- name: INCIDENT-3 traffic, five orders from two customers while payment is scaled to zero
  place_orders:
    context: kind-sockshop
    count: 5
    customers: 2
  register: traffic

- name: Every order failed payment
  ansible.builtin.assert:
    that: traffic.outcomes.PAYMENT_FAILED == 5

- name: One test order after recovery
  place_orders:
    count: 1
    customers: 1
    items:
      - {itemId: 510a0d7e-8e83-4193-b483-e27e09ddc34d, unitPrice: 15.00, quantity: 1}
"""

RETURN = r"""
orders:
  description:
    - One entry per order attempted, C(n), C(id) (null when none came back), C(customer), C(customer_id), C(total)
      (exact 2-decimal string), C(http_status), C(outcome) (PAID, PAYMENT_FAILED or error), C(status) as the orders
      service gave it, C(placed_at) (UTC, when the order was posted), C(answered_at) (UTC, when the orders service
      answered, after it called payment), C(items) (the cart - itemId, unitPrice, quantity) and C(message).
  returned: always
  type: list
  elements: dict
  sample:
    - n: 1
      id: 6613f26ec9e77c0001a1b104
      customer: incident-customer-1
      customer_id: 57a98d98e4b00679b4a830af
      total: "104.98"
      http_status: 500
      outcome: PAYMENT_FAILED
      status: PAYMENT_FAILED
      placed_at: "2026-03-14T08:24:46Z"
      answered_at: "2026-03-14T08:24:46.212Z"
      items: [{itemId: 510a0d7e-8e83-4193-b483-e27e09ddc34d, unitPrice: "15.00", quantity: 1}]
      message: Payment service unavailable for order 6613f26ec9e77c0001a1b104
placed:
  description: Orders posted to the orders service (whatever the answer).
  returned: always
  type: int
  sample: 5
outcomes:
  description: Count per outcome (PAID, PAYMENT_FAILED, error).
  returned: always
  type: dict
  sample: {"PAID": 0, "PAYMENT_FAILED": 5, "error": 0}
amount_failed:
  description: Exact sum of the totals of PAYMENT_FAILED orders.
  returned: always
  type: str
  sample: "374.22"
amount_paid:
  description: Exact sum of the totals of PAID orders.
  returned: always
  type: str
  sample: "0.00"
customers:
  description: The customers used, C(username), C(id), C(address_id), C(card_id), C(created).
  returned: always
  type: list
  elements: dict
budget_exhausted:
  description: True when O(budget_s) ran out before O(count) orders were placed.
  returned: always
  type: bool
plan:
  description: In check mode, the orders that would be placed (C(n), C(customer), C(items), C(total)).
  returned: check mode
  type: list
  elements: dict
"""

import contextlib
import datetime as dt
import re
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from ansible.module_utils.sockshop_module import Connect, ModuleError, cluster_spec, iso, main_of, utc_now
from ansible.module_utils.sockshop_money import MoneyError, jsonable, loads_exact, money, money_str, to_decimal
from ansible.module_utils.sockshop_service_proxy import (
    Caller,
    ProxyResponse,
    ProxyTimeout,
    is_no_endpoints,
    make_caller,
    status_message,
)

MAX_ORDERS = 1000
HOLY = "03fef6ac-1896-4ce8-bd69-b798f85c6e0b"
SUPERSPORT = "510a0d7e-8e83-4193-b483-e27e09ddc34d"
CROSSED = "808a2de1-1aaa-4c25-a9b9-6612e8f29a38"
# Unit prices chosen so that, with $4.99 shipping, the totals are INCIDENT-3's:
# 104.98, 19.99, 104.98, 122.13, 22.14 (exact sum 374.22).
DEFAULT_CARTS = [
    [{"itemId": HOLY, "unitPrice": "99.99", "quantity": 1}],
    [{"itemId": SUPERSPORT, "unitPrice": "15.00", "quantity": 1}],
    [{"itemId": HOLY, "unitPrice": "99.99", "quantity": 1}],
    [{"itemId": HOLY, "unitPrice": "99.99", "quantity": 1}, {"itemId": CROSSED, "unitPrice": "17.15", "quantity": 1}],
    [{"itemId": CROSSED, "unitPrice": "17.15", "quantity": 1}],
]
ORDER_ID_IN_TEXT = re.compile(r"for order ([0-9A-Za-z_-]+)")

ITEM_OPTIONS = {
    "itemId": {"type": "str", "required": True},
    "unitPrice": {"type": "raw", "required": True},
    "quantity": {"type": "int", "default": 1},
}
ARGUMENT_SPEC = cluster_spec(
    {
        "namespace": {"type": "str", "default": "sock-shop"},
        "port": {"type": "str", "default": "80"},
        "user_service": {"type": "str", "default": "user"},
        "carts_service": {"type": "str", "default": "carts"},
        "orders_service": {"type": "str", "default": "orders"},
        "count": {"type": "int", "default": 5},
        "customers": {"type": "int", "default": 2},
        "customer_prefix": {"type": "str", "default": "incident-customer"},
        "customer_password": {"type": "str", "default": "incident-password", "no_log": True},
        "items": {"type": "list", "elements": "dict", "options": ITEM_OPTIONS},
        "carts": {
            "type": "list",
            "elements": "dict",
            "options": {"items": {"type": "list", "elements": "dict", "required": True, "options": ITEM_OPTIONS}},
        },
        "shipping": {"type": "raw", "default": "4.99"},
        "budget_s": {"type": "float", "default": 120},
        "timeout": {"type": "float", "default": 30},
    }
)
MUTUALLY_EXCLUSIVE = [("items", "carts")]


class PlaceOrdersError(ModuleError):
    """Orders cannot be placed; ``partial`` holds the result of what was done before it happened."""


def utc_text(moment: dt.datetime) -> str:
    """UTC to the second (2026-03-14T08:24:46Z), the documented placed_at format: not sockshop_module.iso (ms)."""
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


# ----------------------------------------------------------------------------- the plan


def normalise_cart(items: Any, label: str) -> list[dict[str, Any]]:
    if not items:
        raise PlaceOrdersError(f"{label} has no items")
    cart = []
    for position, item in enumerate(items):
        where = f"{label} item {position + 1}"
        if not isinstance(item, dict) or not item.get("itemId"):
            raise PlaceOrdersError(f"{where} needs an itemId")
        try:
            price = money(item.get("unitPrice"))
        except MoneyError as exc:
            raise PlaceOrdersError(f"{where} unitPrice: {exc}") from None
        quantity = item.get("quantity", 1)
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
            raise PlaceOrdersError(f"{where} quantity {quantity!r} must be a whole number >= 1")
        if price < 0:
            raise PlaceOrdersError(f"{where} unitPrice {price} is negative")
        cart.append({"itemId": str(item["itemId"]), "unitPrice": price, "quantity": quantity})
    return cart


def cart_total(cart: list[dict[str, Any]], shipping: Decimal) -> Decimal:
    return sum((item["unitPrice"] * item["quantity"] for item in cart), start=to_decimal(0)) + shipping


def build_plan(
    count: int,
    customers: int,
    prefix: str,
    *,
    items: list[Any] | None = None,
    carts: list[Any] | None = None,
    shipping: Any = "4.99",
) -> list[dict[str, Any]]:
    """Which customer orders which cart, and the total the orders service should charge."""
    if not 1 <= count <= MAX_ORDERS:
        raise PlaceOrdersError(f"count {count} is out of range; place 1 to {MAX_ORDERS} orders per task")
    if not 1 <= customers <= count:
        raise PlaceOrdersError(f"customers {customers} must be between 1 and count ({count})")
    if items and carts:
        raise PlaceOrdersError("give items or carts, not both")
    try:
        shipping_amount = money(shipping)
    except MoneyError as exc:
        raise PlaceOrdersError(f"shipping: {exc}") from None
    if items:
        cycle = [normalise_cart(items, "items")]
    elif carts:
        cycle = [normalise_cart((cart or {}).get("items"), f"carts[{n}]") for n, cart in enumerate(carts)]
    else:
        cycle = [normalise_cart(cart, f"default cart {n + 1}") for n, cart in enumerate(DEFAULT_CARTS)]
    plan = []
    for n in range(count):
        cart = cycle[n % len(cycle)]
        plan.append(
            {
                "n": n + 1,
                "customer": f"{prefix}-{n % customers + 1}",
                "items": cart,
                "total": cart_total(cart, shipping_amount),
            }
        )
    return plan


def plan_for_output(plan: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "n": entry["n"],
            "customer": entry["customer"],
            "items": [dict(item, unitPrice=money_str(item["unitPrice"])) for item in entry["items"]],
            "total": money_str(entry["total"]),
        }
        for entry in plan
    ]


# ----------------------------------------------------------------------------- talking to the services


def _text(response: ProxyResponse) -> str:
    return response.body[:300].decode("utf-8", "replace")


def _json(response: ProxyResponse) -> Any:
    try:
        return loads_exact(response.body)
    except ValueError:
        return None


def _problem(service: str, method: str, path: str, response: ProxyResponse) -> str:
    if is_no_endpoints(response):
        return f"{method} {service} {path}: {status_message(response.body)} (is the {service} deployment scaled down?)"
    doc = _json(response)
    detail = status_message(response.body)
    if detail is None and isinstance(doc, dict) and (doc.get("message") or doc.get("error")):
        detail = str(doc.get("message") or doc.get("error"))
    return f"{method} {service} {path} answered HTTP {response.status}: {detail or _text(response)}"


def _created_id(service: str, method: str, path: str, response: ProxyResponse) -> str:
    doc = _json(response)
    if response.status in (200, 201) and isinstance(doc, dict) and doc.get("id"):
        return str(doc["id"])
    raise PlaceOrdersError(_problem(service, method, path, response))


def find_customer(call: Caller, user_service: str, username: str, timeout: float) -> str:
    response = call(user_service, "GET", "/customers", None, timeout)
    doc = _json(response)
    if response.status != 200 or doc is None:
        raise PlaceOrdersError(_problem(user_service, "GET", "/customers", response))
    records = doc
    if isinstance(doc, dict):
        embedded = doc.get("_embedded", doc)
        records = next((value for value in embedded.values() if isinstance(value, list)), [])
    for record in records if isinstance(records, list) else []:
        if isinstance(record, dict) and record.get("username") == username and record.get("id"):
            return str(record["id"])
    raise PlaceOrdersError(f"user {username} exists (409 on /register) but GET /customers does not list it")


def ensure_customer(
    call: Caller, services: dict[str, str], username: str, password: str, timeout: float
) -> dict[str, Any]:
    """Register ``username`` (or reuse it on 409) and give it an address and a card."""
    user = services["user"]
    register = {
        "username": username,
        "password": password,
        "email": f"{username}@example.invalid",
        "firstName": "Incident",
        "lastName": username,
    }
    response = call(user, "POST", "/register", register, timeout)
    created = response.status != 409
    if created:
        customer_id = _created_id(user, "POST", "/register", response)
    else:
        customer_id = find_customer(call, user, username, timeout)
    address = {
        "number": "246",
        "street": "Whitelees Road",
        "city": "Glasgow",
        "postcode": "G67 3DL",
        "country": "United Kingdom",
        "userID": customer_id,
    }
    address_id = _created_id(user, "POST", "/addresses", call(user, "POST", "/addresses", address, timeout))
    card = {"longNum": "5544154011345918", "expires": "08/29", "ccv": "958", "userID": customer_id}
    card_id = _created_id(user, "POST", "/cards", call(user, "POST", "/cards", card, timeout))
    return {"username": username, "id": customer_id, "address_id": address_id, "card_id": card_id, "created": created}


def fill_cart(call: Caller, carts_service: str, customer_id: str, items: list[dict[str, Any]], timeout: float) -> None:
    path = f"/carts/{customer_id}"
    response = call(carts_service, "DELETE", path, None, timeout)
    if response.status not in (200, 202, 204, 404):
        raise PlaceOrdersError(_problem(carts_service, "DELETE", path, response))
    for item in items:
        item_path = f"{path}/items"
        response = call(carts_service, "POST", item_path, jsonable(item), timeout)
        if response.status not in (200, 201):
            raise PlaceOrdersError(_problem(carts_service, "POST", item_path, response))


def order_links(customer: dict[str, Any]) -> dict[str, str]:
    return {
        "customer": f"http://user/customers/{customer['id']}",
        "address": f"http://user/addresses/{customer['address_id']}",
        "card": f"http://user/cards/{customer['card_id']}",
        "items": f"http://carts/carts/{customer['id']}/items",
    }


def read_order_answer(
    response: ProxyResponse, expected_total: Decimal
) -> tuple[str | None, Decimal, str, str | None, str]:
    """(id, total, outcome, status, message) from the orders service's answer to POST /orders."""
    doc = _json(response)
    text = response.body.decode("utf-8", "replace")
    message = ""
    if isinstance(doc, dict):
        message = str(doc.get("message") or doc.get("error") or "")
    order_id = str(doc["id"]) if isinstance(doc, dict) and doc.get("id") else None
    if order_id is None:
        found = ORDER_ID_IN_TEXT.search(message or text)
        order_id = found.group(1) if found else None
    total = expected_total
    if isinstance(doc, dict) and doc.get("total") is not None:
        with contextlib.suppress(MoneyError):  # an odd total in the answer: keep the expected one
            total = money(doc["total"])
    status = doc.get("status") if isinstance(doc, dict) and isinstance(doc.get("status"), str) else None
    if response.status in (200, 201):
        outcome = "PAYMENT_FAILED" if status == "PAYMENT_FAILED" else "PAID"
        return order_id, total, outcome, status or "PAID", message
    if response.status == 406 or (response.status == 500 and "payment" in (message or text).lower()):
        return order_id, total, "PAYMENT_FAILED", status or "PAYMENT_FAILED", message or text[:300]
    return order_id, total, "error", status, _problem("orders", "POST", "/orders", response)


def place_orders(
    call: Caller,
    services: dict[str, str],
    plan: list[dict[str, Any]],
    *,
    password: str,
    budget_s: float,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    now: Callable[[], dt.datetime] = utc_now,
) -> dict[str, Any]:
    """Place the planned orders; returns the module result (raises PlaceOrdersError with partial result)."""
    start = clock()
    customers: dict[str, dict[str, Any]] = {}
    orders: list[dict[str, Any]] = []
    wrote = False
    budget_exhausted = False

    def result() -> dict[str, Any]:
        outcomes = {"PAID": 0, "PAYMENT_FAILED": 0, "error": 0}
        amounts = {"PAID": to_decimal(0), "PAYMENT_FAILED": to_decimal(0), "error": to_decimal(0)}
        for order in orders:
            outcomes[order["outcome"]] += 1
            amounts[order["outcome"]] += to_decimal(order["total"])
        return {
            "changed": wrote,
            "orders": orders,
            "placed": len(orders),
            "outcomes": outcomes,
            "amount_failed": money_str(amounts["PAYMENT_FAILED"]),
            "amount_paid": money_str(amounts["PAID"]),
            "customers": list(customers.values()),
            "budget_exhausted": budget_exhausted,
        }

    try:
        for entry in plan:
            if clock() - start >= budget_s:
                budget_exhausted = True
                break
            username = entry["customer"]
            wrote = True  # registering, filling a cart and ordering all write
            if username not in customers:
                customers[username] = ensure_customer(call, services, username, password, timeout)
            customer = customers[username]
            fill_cart(call, services["carts"], customer["id"], entry["items"], timeout)
            record = {
                "n": entry["n"],
                "customer": username,
                "customer_id": customer["id"],
                "placed_at": utc_text(now()),
                "items": [dict(item, unitPrice=money_str(item["unitPrice"])) for item in entry["items"]],
            }
            try:
                response = call(services["orders"], "POST", "/orders", order_links(customer), timeout)
            except ProxyTimeout as exc:
                record.update(
                    id=None,
                    total=money_str(entry["total"]),
                    http_status=None,
                    outcome="error",
                    status=None,
                    message=f"POST orders /orders: {exc} (the order may still have been created)",
                    answered_at=None,
                )
            else:
                order_id, total, outcome, status, message = read_order_answer(response, entry["total"])
                record.update(
                    id=order_id,
                    total=money_str(total),
                    http_status=response.status,
                    outcome=outcome,
                    status=status,
                    message=message,
                    answered_at=iso(now()),
                )
            orders.append(record)
    except ModuleError as exc:  # PlaceOrdersError, or ServiceProxyError: no answer at all
        raise PlaceOrdersError(f"{exc}; {len(orders)} order(s) placed before this", **result()) from None
    return result()


# ----------------------------------------------------------------------------- the module


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    plan = build_plan(
        params["count"],
        params["customers"],
        params["customer_prefix"],
        items=params["items"],
        carts=params["carts"],
        shipping=params["shipping"],
    )
    if check_mode:
        return {
            "changed": True,
            "plan": plan_for_output(plan),
            "orders": [],
            "placed": 0,
            "msg": f"check mode: would place {len(plan)} order(s) from {params['customers']} customer(s); nothing sent",
        }
    call = make_caller(connect(), params["namespace"], params["port"])
    services = {"user": params["user_service"], "carts": params["carts_service"], "orders": params["orders_service"]}
    password, budget_s, timeout = params["customer_password"], params["budget_s"], params["timeout"]
    result = place_orders(call, services, plan, password=password, budget_s=budget_s, timeout=timeout)
    if result["budget_exhausted"]:
        result["warnings"] = [f"budget_s ran out: placed {len(result['orders'])} of {params['count']} orders"]
    return result


def main() -> None:
    main_of(ARGUMENT_SPEC, run, mutually_exclusive=MUTUALLY_EXCLUSIVE)


if __name__ == "__main__":
    main()
