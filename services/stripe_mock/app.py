"""Stand-in for `stripe/stripe-mock:latest`: the charges API the payment gateway uses.

`localstripe` was evaluated and rejected: it refuses `source=tok_visa` (the real stripe-mock and the
payment gateway use it), binds all interfaces and writes /tmp/localstripe.pickle. This fake is small
and keeps charges in memory.
"""

from __future__ import annotations

import base64
import secrets
import string
import sys
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from services.common import App, HTTPError, LineLog, Request, Response, serve

DEFAULT_PORT = 12111
ID_ALPHABET = string.ascii_letters + string.digits

# Test tokens the real Stripe accepts, with the card they stand for.
CARD_TOKENS: dict[str, tuple[str, str, str]] = {
    "tok_visa": ("Visa", "4242", "credit"),
    "tok_visa_debit": ("Visa", "5556", "debit"),
    "tok_mastercard": ("MasterCard", "4444", "credit"),
    "tok_mastercard_debit": ("MasterCard", "8210", "debit"),
    "tok_mastercard_prepaid": ("MasterCard", "5100", "prepaid"),
    "tok_amex": ("American Express", "8431", "credit"),
    "tok_discover": ("Discover", "1117", "credit"),
    "tok_diners": ("Diners Club", "0004", "credit"),
    "tok_jcb": ("JCB", "0000", "credit"),
    "tok_unionpay": ("UnionPay", "0005", "credit"),
}
DECLINE_TOKEN = "tok_chargeDeclined"  # the one token that answers 402 card_declined

AUTH_MESSAGE = (
    "Please authenticate by specifying an `Authorization` header with any valid looking testmode secret "
    "API key. For example, `Authorization: Bearer sk_test_123`. Authorization was '{given}'."
)


def random_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(ID_ALPHABET) for _ in range(length))


def stripe_error(status: int, message: str, param: str | None = None, **extra: Any) -> HTTPError:
    error: dict[str, Any] = {"type": extra.pop("type", "invalid_request_error"), "message": message}
    if param is not None:
        error["param"] = param
    error.update(extra)
    return HTTPError(status, message, {"error": error})


def _error_body(status: int, message: str, request: Request) -> Any:
    if status == 404:
        message = f"Unrecognized request URL ({request.method}: {request.path})."
    return {"error": {"type": "invalid_request_error", "message": message}}


def check_api_key(authorization: str | None) -> str:
    """The secret key from `Bearer sk_test_...` or HTTP Basic with the key as user name."""
    given = (authorization or "").strip()
    key = ""
    scheme, _, credentials = given.partition(" ")
    if scheme.lower() == "bearer":
        key = credentials.strip()
    elif scheme.lower() == "basic":
        try:
            key = base64.b64decode(credentials.strip(), validate=True).decode("utf-8").split(":", 1)[0]
        except (ValueError, UnicodeDecodeError):
            key = ""
    if not key.startswith("sk_test_") or len(key) <= len("sk_test_"):
        raise stripe_error(401, AUTH_MESSAGE.format(given=given))
    return key


def parse_form(body: bytes) -> dict[str, str]:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise stripe_error(400, "Request body is not valid UTF-8.") from exc
    return {name: values[-1] for name, values in fields.items()}


def validate_charge(form: dict[str, str]) -> tuple[int, str, str | None, str | None]:
    """(amount, currency, source, customer) or a Stripe-style 400/402 HTTPError."""
    raw_amount = form.get("amount")
    if raw_amount is None or raw_amount == "":
        raise stripe_error(400, "Missing required param: amount.", "amount")
    if not raw_amount.isascii() or not raw_amount.lstrip("-").isdigit():
        raise stripe_error(400, f"Invalid integer: {raw_amount}", "amount")
    amount = int(raw_amount)
    if amount < 1:
        raise stripe_error(400, "This value must be greater than or equal to 1.", "amount")
    if amount > 99_999_999:
        raise stripe_error(400, "Amount must be no more than $999,999.99", "amount", code="amount_too_large")
    currency = form.get("currency", "")
    if not currency:
        raise stripe_error(400, "Missing required param: currency.", "currency")
    if len(currency) != 3 or not currency.isascii() or not currency.isalpha():
        raise stripe_error(400, f"Invalid currency: {currency.lower()}.", "currency")
    source = form.get("source") or None
    customer = form.get("customer") or None
    if source is None and customer is None:
        raise stripe_error(400, "Must provide source or customer.", "source")
    if source == DECLINE_TOKEN:
        raise stripe_error(
            402,
            "Your card was declined.",
            "",
            type="card_error",
            code="card_declined",
            decline_code="generic_decline",
        )
    if source is not None and source not in CARD_TOKENS:
        raise stripe_error(400, f"No such token: '{source}'", "source", code="resource_missing")
    return amount, currency.lower(), source, customer


def build_charge(
    amount: int, currency: str, source: str | None, customer: str | None, form: dict[str, str]
) -> dict[str, Any]:
    brand, last4, funding = CARD_TOKENS.get(source or "tok_visa", CARD_TOKENS["tok_visa"])
    captured = form.get("capture", "true").lower() != "false"
    metadata = {key[len("metadata[") : -1]: value for key, value in form.items() if key.startswith("metadata[")}
    card_id = random_id("card_")
    return {
        "id": random_id("ch_"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if captured else 0,
        "amount_refunded": 0,
        "balance_transaction": random_id("txn_"),
        "captured": captured,
        "created": int(time.time()),
        "currency": currency,
        "customer": customer,
        "description": form.get("description") or None,
        "failure_code": None,
        "failure_message": None,
        "livemode": False,
        "metadata": metadata,
        "outcome": {"network_status": "approved_by_network", "risk_level": "normal", "type": "authorized"},
        "paid": True,
        "refunded": False,
        "source": {"id": card_id, "object": "card", "brand": brand, "last4": last4, "funding": funding},
        "status": "succeeded",
    }


class StripeMock:
    def __init__(self, log: LineLog | None = None) -> None:
        self.app = App("stripe-mock", log, _error_body)
        self.log = self.app.log
        self._charges: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self.app.add("POST", "/v1/charges", self._logged(self.create_charge))
        self.app.add("GET", "/v1/charges", self._logged(self.list_charges))
        self.app.add("GET", "/v1/charges/{charge_id}", self._logged(self.get_charge))

    def _logged(self, handler: Any) -> Any:
        def wrapper(request: Request) -> Response:
            start = time.monotonic()
            try:
                response: Response = handler(request)
            except HTTPError as exc:
                self._log(request, exc.status, start, f"error={exc.message!r}")
                raise
            detail = ""
            if isinstance(response.body, dict) and response.body.get("object") == "charge":
                body = response.body
                detail = f"charge={body['id']} amount={body['amount']} currency={body['currency']}"
            self._log(request, response.status, start, detail)
            return response

        return wrapper

    def _log(self, request: Request, status: int, start: float, detail: str) -> None:
        elapsed = (time.monotonic() - start) * 1000
        suffix = f" {detail}" if detail else ""
        self.log.info(f"Request: {request.method} {request.path} status={status}{suffix} elapsed={elapsed:.1f}ms")

    def create_charge(self, request: Request) -> Response:
        check_api_key(request.headers.get("Authorization"))
        form = parse_form(request.body)
        amount, currency, source, customer = validate_charge(form)
        charge = build_charge(amount, currency, source, customer, form)
        with self._lock:
            self._charges[charge["id"]] = charge
        return Response(200, charge, {"Request-Id": random_id("req_", 14)})

    def get_charge(self, request: Request) -> Response:
        check_api_key(request.headers.get("Authorization"))
        charge_id = request.params["charge_id"]
        with self._lock:
            charge = self._charges.get(charge_id)
        if charge is None:
            raise stripe_error(404, f"No such charge: '{charge_id}'", "id", code="resource_missing")
        return Response(200, charge)

    def list_charges(self, request: Request) -> Response:
        check_api_key(request.headers.get("Authorization"))
        try:
            limit = int(request.arg("limit", "10") or "10")
        except ValueError as exc:
            raise stripe_error(400, f"Invalid integer: {request.arg('limit')}", "limit") from exc
        if not 1 <= limit <= 100:
            raise stripe_error(400, "This value must be between 1 and 100.", "limit")
        with self._lock:
            charges = sorted(self._charges.values(), key=lambda item: item["created"], reverse=True)
        return Response(
            200, {"object": "list", "data": charges[:limit], "has_more": len(charges) > limit, "url": "/v1/charges"}
        )


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    mock = StripeMock()
    if any(arg.partition("=")[0] in ("-https-port", "--https-port") for arg in args):
        mock.log.warn("HTTPS is not served by this stand-in; -https-port ignored")

    def started(port: int) -> None:
        mock.log.info(f"Listening for HTTP on port: {port}")

    return serve(mock.app, args, DEFAULT_PORT, started, flags=("--port", "-port", "-http-port", "--http-port"))
