#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0 (see pyproject.toml)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: order_reconcile
short_description: Reconcile Sock Shop orders after a payment incident (count, customers, exact money at risk)
description:
  - Reads orders from the orders Service through the Kubernetes API service proxy (C(GET /orders), HAL, all pages)
    or from a JSON file (O(src), either a HAL document or a list of orders).
  - Keeps the orders in O(status) (default C(PAYMENT_FAILED)) whose C(date) falls inside the UTC window
    O(since)..O(until) (both inclusive) and reports how many there are, which customers they belong to, and
    the exact amount at risk.
  - Money is exact Decimal arithmetic end to end; C(float_sum_truncated) shows what adding the totals as binary
    floats and truncating to cents would have reported (INCIDENT-3 said $374.21; exact is $374.22).
  - Flags orders in the status that nevertheless have a shipment (C(inconsistent)) and groups orders from the same
    customer with the same items within O(duplicate_window_s) (C(suspected_duplicates)), the known defect where a
    retry after a failed payment creates a new order.
  - A malformed record fails the task naming the record (index and id) and the problem; nothing is exported then.
  - Optional exports (O(export_json), O(export_csv)) are written atomically (temporary file and rename in the same
    directory) and only when their content changes, so a second run reports C(changed=false). In check mode the
    figures are computed and nothing is written.
  - Connection options (kubeconfig, context, token, certificates) behave as in M(kubernetes.core.k8s_scale); they are
    not used when O(src) is given.
author:
  - sockshop-incidents maintainers
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  src:
    description:
      - JSON file to read instead of the orders Service, a HAL document (C(_embedded.customerOrders)) or a list.
    type: path
  namespace:
    description: Namespace of the orders Service.
    type: str
    default: sock-shop
  service:
    description: Name of the orders Service.
    type: str
    default: orders
  port:
    description: Service port (number or name).
    type: str
    default: "80"
  page_size:
    description: Orders per page when reading the Service.
    type: int
    default: 100
  timeout:
    description: Seconds to wait for each page.
    type: float
    default: 30
  status:
    description: Order statuses to reconcile.
    type: list
    elements: str
    default: [PAYMENT_FAILED]
  since:
    description: Start of the window (inclusive), ISO-8601; a time without offset is UTC.
    type: str
  until:
    description: End of the window (inclusive), ISO-8601; a time without offset is UTC.
    type: str
  duplicate_window_s:
    description: Orders of one customer with the same items this many seconds apart or closer are suspected duplicates.
    type: int
    default: 300
  export_json:
    description: Write the reconciliation (figures and the matching orders) to this JSON file.
    type: path
  export_csv:
    description: Write the matching orders, one row each, to this CSV file.
    type: path
requirements:
  - "python >= 3.11"
  - "kubernetes >= 24.2.0"
notes:
  - Reading the Service needs C(get) on C(services/proxy) in O(namespace).
  - Supports check mode.
"""

EXAMPLES = r"""
- name: Reconcile INCIDENT-3's window from the live orders service and export it for follow-up
  order_reconcile:
    context: kind-sockshop
    since: "2026-03-14T08:20:00Z"
    until: "2026-03-14T08:35:00Z"
    export_json: "{{ playbook_dir }}/../reports/incident-3/failed-orders.json"
    export_csv: "{{ playbook_dir }}/../reports/incident-3/failed-orders.csv"
  register: recon

- name: The report's headline
  ansible.builtin.debug:
    msg: "{{ recon.summary }}"

- name: Reconcile a saved dump
  order_reconcile:
    src: /tmp/orders.json
    status: [PAYMENT_FAILED, PENDING]
"""

RETURN = r"""
failed_count:
  description: Orders in O(status) inside the window.
  returned: always
  type: int
  sample: 5
customers:
  description: Distinct customers among them.
  returned: always
  type: int
  sample: 2
customer_ids:
  description: Those customers' ids, sorted.
  returned: always
  type: list
  elements: str
amount_at_risk:
  description: Exact sum of their totals, 2 decimals.
  returned: always
  type: str
  sample: "374.22"
float_sum_truncated:
  description: What adding the totals as binary floats and truncating to cents gives.
  returned: always
  type: str
  sample: "374.21"
per_customer:
  description: Per customer id, C(count), C(amount) (exact string) and C(order_ids).
  returned: always
  type: dict
first_failure:
  description: Earliest matching order date, UTC (null when none).
  returned: always
  type: str
  sample: "2026-03-14T08:24:46Z"
last_failure:
  description: Latest matching order date, UTC (null when none).
  returned: always
  type: str
  sample: "2026-03-14T08:28:32Z"
inconsistent:
  description: Matching orders that have a non-null shipment (C(id), C(customer_id), C(shipment)).
  returned: always
  type: list
  elements: dict
suspected_duplicates:
  description:
    - Groups of matching orders from one customer with the same items within O(duplicate_window_s)
      (C(customer_id), C(items), C(order_ids), C(first), C(last), C(span_s), C(excess_amount)).
  returned: always
  type: list
  elements: dict
orders:
  description: The matching orders (C(id), C(customer_id), C(date), C(status), C(total), C(shipment)), oldest first.
  returned: always
  type: list
  elements: dict
total_orders:
  description: Records read.
  returned: always
  type: int
summary:
  description: One line for a report.
  returned: always
  type: str
  sample: "5 PAYMENT_FAILED orders from 2 customers, $374.22 at risk (float sum truncated to cents: $374.21)"
exports:
  description: For each export requested, C(path) and whether its content C(changed).
  returned: always
  type: dict
"""

import csv
import datetime as dt
import io
import json
import os
import stat
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from ansible.module_utils.sockshop_module import Connect, ModuleError, cluster_spec, main_of, write_atomic
from ansible.module_utils.sockshop_money import (
    MoneyError,
    float_sum_truncated,
    format_money,
    loads_exact,
    money_str,
    quantize,
    to_decimal,
)
from ansible.module_utils.sockshop_service_proxy import ProxyResponse, call_service, is_no_endpoints, status_message

ARGUMENT_SPEC = cluster_spec(
    {
        "src": {"type": "path"},
        "namespace": {"type": "str", "default": "sock-shop"},
        "service": {"type": "str", "default": "orders"},
        "port": {"type": "str", "default": "80"},
        "page_size": {"type": "int", "default": 100},
        "timeout": {"type": "float", "default": 30},
        "status": {"type": "list", "elements": "str", "default": ["PAYMENT_FAILED"]},
        "since": {"type": "str"},
        "until": {"type": "str"},
        "duplicate_window_s": {"type": "int", "default": 300},
        "export_json": {"type": "path"},
        "export_csv": {"type": "path"},
    }
)

MAX_PAGES = 100000

# The items of an order as compared for duplicates: sorted ((itemId, quantity), ...).
ItemsKey = tuple[tuple[str, int], ...]


class ReconcileError(ModuleError):
    """The reconciliation cannot be done; the message says why and what to do."""


class MalformedOrder(ReconcileError):
    """A record that is not an order; the failed result names it (record_index, record_id)."""

    def __init__(self, index: int, order_id: str | None, problem: str) -> None:
        self.index, self.order_id, self.problem = index, order_id, problem
        who = f"id {order_id!r}" if order_id is not None else "no id"
        super().__init__(
            f"order record #{index} ({who}) is malformed: {problem}; "
            "fix or remove that record in the source, nothing was exported",
            record_index=index,
            record_id=order_id,
        )


class Order:
    __slots__ = ("customer_id", "date", "id", "index", "items", "shipment", "status", "total")

    def __init__(
        self,
        index: int,
        order_id: str,
        customer_id: str,
        *,
        status: str,
        total: Decimal,
        date: dt.datetime,
        items: ItemsKey,
        shipment: Any,
    ) -> None:
        self.index = index
        self.id = order_id
        self.customer_id = customer_id
        self.status = status
        self.total = total
        self.date = date
        self.items = items
        self.shipment = shipment


# ----------------------------------------------------------------------------- reading


def extract_orders(doc: Any) -> list[Any]:
    """The order records of a HAL page (``_embedded.customerOrders``) or of a plain list."""
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        embedded = doc.get("_embedded")
        if embedded is None and ("page" in doc or "_links" in doc):
            return []  # an empty HAL page carries no _embedded
        if isinstance(embedded, dict) and isinstance(embedded.get("customerOrders", []), list):
            return embedded.get("customerOrders", [])
    raise ReconcileError("expected a HAL document with _embedded.customerOrders or a list of orders")


def load_orders_file(path: str) -> list[Any]:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ReconcileError(f"cannot read src {path}: {exc.strerror or exc}") from None
    try:
        doc = loads_exact(data)
    except ValueError as exc:
        raise ReconcileError(f"src {path} is not valid JSON: {exc}") from None
    try:
        return extract_orders(doc)
    except ReconcileError as exc:
        raise ReconcileError(f"src {path}: {exc}") from None


def fetch_orders(get: Callable[[str], ProxyResponse], page_size: int = 100, max_pages: int = MAX_PAGES) -> list[Any]:
    """Every order from ``GET /orders?page=N&size=M`` (HAL), following ``page.totalPages``.

    ``get(path)`` returns a ProxyResponse.
    """
    orders: list[Any] = []
    page = 0
    for _ in range(max_pages):
        path = f"/orders?page={page}&size={page_size}"
        response = get(path)
        if is_no_endpoints(response):
            raise ReconcileError(
                f"GET {path}: {status_message(response.body)}; the orders service has no ready pod, "
                "bring it back or reconcile from a saved dump with src"
            )
        if response.status != 200:
            detail = status_message(response.body) or response.body[:200].decode("utf-8", "replace")
            raise ReconcileError(f"GET {path} answered HTTP {response.status}: {detail}")
        try:
            doc = loads_exact(response.body)
            batch = extract_orders(doc)
        except (ValueError, ReconcileError) as exc:
            raise ReconcileError(f"GET {path}: unusable answer ({exc})") from None
        orders.extend(batch)
        info = doc.get("page") if isinstance(doc, dict) else None
        if not isinstance(info, dict) or not batch:
            return orders
        number = info.get("number", page)
        total_pages = info.get("totalPages")
        if not isinstance(number, int) or not isinstance(total_pages, int) or number + 1 >= total_pages:
            return orders
        if number + 1 <= page:
            raise ReconcileError(f"GET {path}: the service returned page {number} again; paging is broken")
        page = number + 1
    raise ReconcileError(f"GET /orders: more than {max_pages} pages; raise page_size")


# ----------------------------------------------------------------------------- validation


def parse_time(value: Any, what: str = "date") -> dt.datetime:
    """An aware UTC datetime from ISO-8601 text (no offset means UTC) or epoch milliseconds.

    Not sockshop_module.parse_iso: order dates may be epoch milliseconds, and since/until any ISO-8601 form
    datetime.fromisoformat reads (a date alone, a space for the T).
    """
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a time")
    if isinstance(value, int):
        return dt.datetime.fromtimestamp(value / 1000, tz=dt.UTC)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{what} {value!r} is not an ISO-8601 time")
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} {value!r} is not an ISO-8601 time") from None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=dt.UTC)
    return parsed.astimezone(dt.UTC)


def utc_text(moment: dt.datetime | None) -> str | None:
    """UTC as 2026-03-14T08:24:46Z (None stays None), the documented date format of the result.

    Not sockshop_module.iso, which always writes milliseconds: here fractions appear only when the order had them.
    """
    if moment is None:
        return None
    text = moment.astimezone(dt.UTC).isoformat()
    return text.replace("+00:00", "Z")


def _customer_id(raw: dict[str, Any]) -> str | None:
    cid = raw.get("customerId")
    if isinstance(cid, str) and cid:
        return cid
    customer = raw.get("customer")
    if isinstance(customer, dict) and isinstance(customer.get("id"), str) and customer["id"]:
        return customer["id"]
    if isinstance(customer, str) and customer.rstrip("/"):
        return customer.rstrip("/").rsplit("/", 1)[-1]
    return None


def _items_key(raw_items: Any) -> ItemsKey:
    """Sorted ((itemId, quantity), ...) of an order's items; ValueError naming a bad item."""
    if raw_items is None or raw_items == []:
        return ()
    if type(raw_items) is not list:
        raise ValueError(f"items is {type(raw_items).__name__}, not a list")
    try:  # fast path for well-formed items; anything odd is re-checked below for a precise message
        key = [(item["itemId"], item.get("quantity", 1)) for item in raw_items]
        if all(type(i) is str and i and type(q) is int and q >= 0 for i, q in key):
            key.sort()
            return tuple(key)
    except (TypeError, KeyError, AttributeError):
        pass
    for position, item in enumerate(raw_items):
        if not isinstance(item, dict):
            raise ValueError(f"items[{position}] is not an object")
        item_id = item.get("itemId")
        quantity = item.get("quantity", 1)
        if not isinstance(item_id, str) or not item_id:
            raise ValueError(f"items[{position}] has no itemId")
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise ValueError(f"items[{position}] quantity {quantity!r} is not a whole number")
    raise ValueError("items are not valid")  # pragma: no cover - the loop above names the bad item


def normalise(index: int, raw: Any) -> Order:
    """An Order from one raw record, or MalformedOrder naming the record and the problem."""
    if not isinstance(raw, dict):
        raise MalformedOrder(index, None, f"is {type(raw).__name__}, not an object")
    order_id = raw.get("id")
    if isinstance(order_id, bool) or not isinstance(order_id, str | int) or order_id == "":
        raise MalformedOrder(index, None, "has no id")
    order_id = str(order_id)
    customer_id = _customer_id(raw)
    if customer_id is None:
        raise MalformedOrder(index, order_id, "has no customerId")
    status = raw.get("status")
    if not isinstance(status, str) or not status:
        raise MalformedOrder(index, order_id, f"status {status!r} is not a status name")
    if "total" not in raw:
        raise MalformedOrder(index, order_id, "has no total")
    try:
        total = to_decimal(raw["total"])
    except MoneyError as exc:
        raise MalformedOrder(index, order_id, f"total {exc}") from None
    if total < 0:
        raise MalformedOrder(index, order_id, f"total {total} is negative")
    if "date" not in raw:
        raise MalformedOrder(index, order_id, "has no date")
    try:
        date = parse_time(raw["date"])
        items = _items_key(raw.get("items"))
    except ValueError as exc:
        raise MalformedOrder(index, order_id, str(exc)) from None
    return Order(
        index, order_id, customer_id, status=status, total=total, date=date, items=items, shipment=raw.get("shipment")
    )


# ----------------------------------------------------------------------------- the figures


def find_duplicates(orders: list[Order], window_s: float) -> list[dict[str, Any]]:
    """Groups of orders (same customer, same non-empty items) chained within ``window_s`` seconds."""
    by_key: dict[tuple[str, ItemsKey], list[Order]] = {}
    for order in orders:
        if order.items:
            by_key.setdefault((order.customer_id, order.items), []).append(order)
    groups: list[tuple[str, ItemsKey, list[Order]]] = []
    for (customer_id, items), candidates in by_key.items():
        if len(candidates) < 2:
            continue
        candidates.sort(key=lambda o: (o.date, o.id))
        run = [candidates[0]]
        for order in candidates[1:]:
            if (order.date - run[-1].date).total_seconds() <= window_s:
                run.append(order)
                continue
            if len(run) > 1:
                groups.append((customer_id, items, run))
            run = [order]
        if len(run) > 1:
            groups.append((customer_id, items, run))
    result = []
    for customer_id, items, run in sorted(groups, key=lambda g: (g[2][0].date, g[0])):
        result.append(
            {
                "customer_id": customer_id,
                "items": [{"itemId": item_id, "quantity": quantity} for item_id, quantity in items],
                "order_ids": [o.id for o in run],
                "first": utc_text(run[0].date),
                "last": utc_text(run[-1].date),
                "span_s": int((run[-1].date - run[0].date).total_seconds()),
                "excess_amount": money_str(sum((o.total for o in run[1:]), start=to_decimal(0))),
            }
        )
    return result


def reconcile(
    raw_orders: list[Any],
    statuses: Iterable[str] = ("PAYMENT_FAILED",),
    since: str | None = None,
    until: str | None = None,
    duplicate_window_s: float = 300,
) -> dict[str, Any]:
    """The reconciliation of ``raw_orders``: a JSON-ready dict. Raises MalformedOrder on a bad record."""
    wanted = set(statuses)
    start = parse_time(since, "since") if since else None
    end = parse_time(until, "until") if until else None
    if start and end and start > end:
        raise ReconcileError(f"since {since} is after until {until}")
    matched = []
    for index, raw in enumerate(raw_orders):
        order = normalise(index, raw)
        if order.status not in wanted:
            continue
        if (start is not None and order.date < start) or (end is not None and order.date > end):
            continue
        matched.append(order)
    matched_by_time = sorted(matched, key=lambda o: (o.date, o.id))

    per_customer: dict[str, dict[str, Any]] = {}
    exact = to_decimal(0)
    for order in matched_by_time:
        exact += order.total
        entry = per_customer.setdefault(order.customer_id, {"count": 0, "amount": to_decimal(0), "order_ids": []})
        entry["count"] += 1
        entry["amount"] += order.total
        entry["order_ids"].append(order.id)
    for entry in per_customer.values():
        entry["amount"] = money_str(entry["amount"])

    amount = quantize(exact)
    truncated = float_sum_truncated(o.total for o in matched)  # source order, as the original summed them
    status_text = "/".join(sorted(wanted))
    count = len(matched)
    summary_line = (
        f"{count} {status_text} order{'s' if count != 1 else ''} from {len(per_customer)} "
        f"customer{'s' if len(per_customer) != 1 else ''}, {format_money(amount)} at risk "
        f"(float sum truncated to cents: {format_money(truncated)})"
    )
    return {
        "status": sorted(wanted),
        "since": utc_text(start),
        "until": utc_text(end),
        "total_orders": len(raw_orders),
        "failed_count": count,
        "customers": len(per_customer),
        "customer_ids": sorted(per_customer),
        "amount_at_risk": money_str(amount),
        "float_sum_truncated": money_str(truncated),
        "float_sum_discrepancy": money_str(amount - truncated),
        "per_customer": {cid: per_customer[cid] for cid in sorted(per_customer)},
        "first_failure": utc_text(matched_by_time[0].date) if matched else None,
        "last_failure": utc_text(matched_by_time[-1].date) if matched else None,
        "inconsistent": [
            {"id": o.id, "customer_id": o.customer_id, "shipment": o.shipment}
            for o in matched_by_time
            if o.shipment is not None
        ],
        "suspected_duplicates": find_duplicates(matched, duplicate_window_s),
        "orders": [
            {
                "id": o.id,
                "customer_id": o.customer_id,
                "date": utc_text(o.date),
                "status": o.status,
                "total": money_str(o.total),
                "shipment": o.shipment,
                "items": [{"itemId": i, "quantity": q} for i, q in o.items],
            }
            for o in matched_by_time
        ],
        "summary": summary_line,
    }


# ----------------------------------------------------------------------------- exports


def _plain(value: Any) -> Any:
    """JSON-ready copy (Decimals inside shipments become exact strings)."""
    return json.loads(json.dumps(value, default=str))


def render_json(result: dict[str, Any], source: str) -> str:
    doc = {"source": source, **{k: v for k, v in result.items() if k != "exports"}}
    return json.dumps(_plain(doc), indent=2, sort_keys=True) + "\n"


def render_csv(result: dict[str, Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["id", "customer_id", "date", "status", "total", "shipment", "items"])
    for order in result["orders"]:
        shipment = "" if order["shipment"] is None else json.dumps(_plain(order["shipment"]), sort_keys=True)
        items = ";".join(f"{i['itemId']}x{i['quantity']}" for i in order["items"])
        writer.writerow(
            [order["id"], order["customer_id"], order["date"], order["status"], order["total"], shipment, items]
        )
    return out.getvalue()


def write_if_changed(path: str, content: str, check_mode: bool = False) -> bool:
    """Write ``content`` to ``path`` (sockshop_module.write_atomic) unless the file already holds it.

    Returns True when the file's content changed (or would, in check mode); an identical file is left untouched.
    A replaced file keeps its mode. Unlike write_atomic it creates no directory: a missing one is reported.
    """
    data = content.encode("utf-8")
    try:
        with open(path, "rb") as handle:
            if handle.read() == data:
                return False
            mode = stat.S_IMODE(os.fstat(handle.fileno()).st_mode)
    except FileNotFoundError:
        mode = 0o644
    except OSError as exc:
        raise ReconcileError(f"cannot read {path}: {exc.strerror or exc}") from None
    if check_mode:
        return True
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ReconcileError(f"cannot export to {path}: directory {directory} does not exist; create it first")
    write_atomic(path, content, mode)
    return True


def export(
    result: dict[str, Any],
    source: str,
    export_json: str | None = None,
    export_csv: str | None = None,
    check_mode: bool = False,
) -> dict[str, dict[str, Any]]:
    """Render every requested export first, then write them; returns {kind: {path, changed}}."""
    rendered = []
    if export_json:
        rendered.append(("json", export_json, render_json(result, source)))
    if export_csv:
        rendered.append(("csv", export_csv, render_csv(result)))
    exports = {}
    for kind, path, content in rendered:
        try:
            changed = write_if_changed(path, content, check_mode)
        except OSError as exc:  # a file error, not the cluster's: say which export
            raise ReconcileError(f"cannot export to {path}: {exc.strerror or exc}") from None
        exports[kind] = {"path": path, "changed": changed}
    return exports


# ----------------------------------------------------------------------------- the module


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    if params["page_size"] < 1:
        raise ReconcileError("page_size must be at least 1")
    if params["src"]:
        raw = load_orders_file(params["src"])
        source = f"file {params['src']}"
    else:
        client = connect()

        def get(path: str) -> ProxyResponse:
            return call_service(
                client, params["namespace"], params["service"], params["port"], path, timeout=params["timeout"]
            )

        raw = fetch_orders(get, params["page_size"])
        source = f"service {params['namespace']}/{params['service']}:{params['port']}"
    try:
        result = reconcile(raw, params["status"], params["since"], params["until"], params["duplicate_window_s"])
    except ValueError as exc:  # since/until that are not times
        raise ReconcileError(f"{exc}; use ISO-8601 such as 2026-03-14T08:24:46Z") from None
    result["exports"] = export(result, source, params["export_json"], params["export_csv"], check_mode)
    result["source"] = source
    result["changed"] = any(entry["changed"] for entry in result["exports"].values())
    return _plain(result)


def main() -> None:
    main_of(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
