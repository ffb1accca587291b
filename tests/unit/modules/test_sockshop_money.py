"""sockshop_money: exact Decimal money, half-up cents, and the float-truncation bug it replaces."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from ansible.module_utils.sockshop_money import (
    MoneyError,
    float_sum_truncated,
    format_money,
    jsonable,
    loads_exact,
    money,
    money_str,
    sum_money,
    to_cents,
    to_decimal,
)

INCIDENT3_TOTALS = ["104.98", "19.99", "104.98", "122.13", "22.14"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("19.99", Decimal("19.99")),
        (19.99, Decimal("19.99")),  # via str(): never Decimal(19.99) = 19.989999...
        (0.1, Decimal("0.1")),
        (50, Decimal("50")),
        (Decimal("374.215"), Decimal("374.215")),
        (" 12.50 ", Decimal("12.50")),
        ("$7.25", Decimal("7.25")),
        ("-3", Decimal("-3")),
    ],
)
def test_to_decimal(value: Any, expected: Decimal) -> None:
    assert to_decimal(value) == expected


@pytest.mark.parametrize(
    "value", [None, True, False, "", "abc", "1,000.00", "NaN", "Infinity", float("inf"), [1], {"a": 1}]
)
def test_to_decimal_rejects(value: Any) -> None:
    with pytest.raises(MoneyError):
        to_decimal(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.005", "0.01"),  # half-up, not banker's rounding
        ("0.015", "0.02"),
        ("0.025", "0.03"),
        ("2.675", "2.68"),  # as a float 2.675 is 2.67499999..., the text is what counts
        (2.675, "2.68"),
        ("-0.005", "-0.01"),
        ("374.21999999999997", "374.22"),
        ("50", "50.00"),
    ],
)
def test_money_rounds_half_up(value: Any, expected: str) -> None:
    assert money_str(value) == expected
    assert money(value) == Decimal(expected)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("374.22", "$374.22"), (50, "$50.00"), ("-1.5", "-$1.50"), ("1234567.891", "$1234567.89"), ("0", "$0.00")],
)
def test_format_money(value: Any, expected: str) -> None:
    assert format_money(value) == expected


@pytest.mark.parametrize(
    ("value", "cents"), [("19.99", 1999), (19.99, 1999), ("50.00", 5000), (0.29, 29), ("1.005", 101)]
)
def test_to_cents_rounds_where_int_truncates(value: Any, cents: int) -> None:
    assert to_cents(value) == cents


def test_int_times_100_truncation_really_loses_a_cent() -> None:
    # The bug the payment service and the INCIDENT-3 report share; to_cents must not have it.
    assert int(0.29 * 100) == 28
    assert to_cents(0.29) == 29


def test_incident3_exact_sum_and_float_truncated() -> None:
    assert sum(float(t) for t in INCIDENT3_TOTALS) == pytest.approx(374.22)
    assert sum(float(t) for t in INCIDENT3_TOTALS) != 374.22
    assert sum_money(INCIDENT3_TOTALS) == Decimal("374.22")
    assert float_sum_truncated(INCIDENT3_TOTALS) == Decimal("374.21")
    assert str(float_sum_truncated(INCIDENT3_TOTALS)) == "374.21"


@pytest.mark.parametrize(
    ("values", "exact", "truncated"),
    [
        ([], "0.00", "0.00"),
        (["0.10", "0.20"], "0.30", "0.30"),
        (["0.29"], "0.29", "0.28"),
        (["10", "5.5"], "15.50", "15.50"),
    ],
)
def test_sums(values: list[str], exact: str, truncated: str) -> None:
    assert money_str(sum_money(values)) == exact
    assert money_str(float_sum_truncated(values)) == truncated


def test_loads_exact_keeps_json_number_text() -> None:
    doc = loads_exact('{"total": 104.98, "qty": 2, "big": 12345678901234567.89}')
    assert doc["total"] == Decimal("104.98")
    assert isinstance(doc["qty"], int)
    assert doc["big"] == Decimal("12345678901234567.89")


def test_jsonable_turns_decimals_into_same_text_floats() -> None:
    import json

    value = {"amount": Decimal("19.99"), "items": [{"unitPrice": Decimal("0.10")}, 3], "name": "x"}
    assert json.dumps(jsonable(value)) == '{"amount": 19.99, "items": [{"unitPrice": 0.1}, 3], "name": "x"}'
