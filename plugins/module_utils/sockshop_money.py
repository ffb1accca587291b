# Apache-2.0 (see pyproject.toml)
"""Exact money for the Sock Shop modules: Decimal end to end, cents rounded half-up.

Binary floats cannot hold most cent values (19.99 is 19.989999999999998...), so a sum
of float totals truncated to cents loses a cent now and then. INCIDENT-3's report said
$374.21 at risk when the exact figure was $374.22. Everything here keeps the decimal
text the value arrived with: JSON numbers are parsed from their text
(``json.loads(..., parse_float=Decimal)``), Python floats go through ``str()`` (their
shortest round-trip text) and never through ``Decimal(float)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

CENT = Decimal("0.01")


class MoneyError(ValueError):
    """A value that is not a usable amount of money."""


def to_decimal(value: Any) -> Decimal:
    """Return ``value`` as an exact Decimal, or raise MoneyError saying why it is not money."""
    if isinstance(value, bool) or value is None:
        raise MoneyError(f"{value!r} is not a number")
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        # str() gives the shortest text that round-trips: 19.99 -> "19.99", not 19.98999...
        result = Decimal(str(value))
    elif isinstance(value, str):
        text = value.strip()
        if text.startswith("$"):
            text = text[1:]
        try:
            result = Decimal(text)
        except InvalidOperation:
            raise MoneyError(f"{value!r} is not a number") from None
    else:
        raise MoneyError(f"{value!r} ({type(value).__name__}) is not a number")
    if not result.is_finite():
        raise MoneyError(f"{value!r} is not a finite number")
    return result


def quantize(value: Decimal) -> Decimal:
    """Round to cents, half-up (0.005 -> 0.01), the way a till does."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def money(value: Any) -> Decimal:
    """Parse ``value`` and round it to cents."""
    return quantize(to_decimal(value))


def to_cents(value: Any) -> int:
    """Whole cents, rounded (not truncated): 19.99 -> 1999, where int(19.99 * 100) gives 1998."""
    return int(money(value) * 100)


def money_str(value: Any) -> str:
    """Plain two-place text: ``Decimal('374.22')`` -> ``"374.22"``; 50 -> ``"50.00"``."""
    return f"{money(value):f}"


def format_money(value: Any) -> str:
    """Display text with the dollar sign: ``"$374.22"``, ``"-$1.50"``."""
    amount = money(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):f}"


def sum_money(values: Iterable[Any]) -> Decimal:
    """Exact sum of amounts, rounded to cents once at the end."""
    total = Decimal(0)
    for value in values:
        total += to_decimal(value)
    return quantize(total)


def float_sum_truncated(values: Iterable[Any]) -> Decimal:
    """What a float-summing, cent-truncating report would have said.

    Adds the amounts as binary floats, then cuts the float's actual value down to whole
    cents. For the INCIDENT-3 totals the float sum is 374.21999999999997, which this
    reports as 374.21 where the exact sum is 374.22.
    """
    total = 0.0
    for value in values:
        total += float(to_decimal(value))
    return Decimal(total).quantize(CENT, rounding=ROUND_DOWN)


def loads_exact(text: str | bytes) -> Any:
    """``json.loads`` that keeps every JSON number with a fraction as an exact Decimal."""
    return json.loads(text, parse_float=Decimal)


def jsonable(value: Any) -> Any:
    """Copy of ``value`` with Decimals turned into floats for ``json.dumps``.

    A two-place Decimal below 2**53 / 100 becomes a float whose JSON text is the same
    digits (float repr is the shortest round-trip text), so nothing is lost on the wire.
    """
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, dict):
        return {key: jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(item) for item in value]
    return value
