"""scripts/catalog.py: the catalog's order and the one line each incident's report.json gives."""

from __future__ import annotations

from pathlib import Path

import pytest

from scripts import catalog

REPORT = {
    "incident": {"id": "5", "title": "Async consumer down"},
    "verdict": "passed",
    "passed": True,
    "timeline": {"activation_s": 1.042, "mttr_s": 5.179},
    "signals": [
        {"name": "a", "stage": "verify", "status": "passed", "time_to_signal_s": 0.84},
        {"name": "b", "stage": "verify", "status": "passed", "time_to_signal_s": 0.21},
        {"name": "c", "stage": "verify", "status": "not_checked", "time_to_signal_s": None},
        {"name": "d", "stage": "recover", "status": "passed", "time_to_signal_s": 0.05},
        {"name": "e", "stage": "recover", "status": "failed", "time_to_signal_s": None},
    ],
}


def test_ids_in_catalog_order(tmp_path: Path) -> None:
    for ident in ("10", "4B", "6", "4", "8C", "5A", "5", "4C", "1"):
        (tmp_path / f"incident-{ident}.yml").write_text("")
    (tmp_path / "schema.json").write_text("{}")
    assert catalog.incident_ids(tmp_path) == ["1", "4", "4B", "4C", "5", "5A", "6", "8C", "10"]


def test_the_committed_catalog_is_listed() -> None:
    assert catalog.incident_ids(catalog.ROOT / "incidents") == [
        "2",
        "3",
        "4",
        "4B",
        "4C",
        "5",
        "5A",
        "5C",
        "6",
        "6B",
        "7",
        "8",
        "8B",
        "8C",
    ]


@pytest.mark.parametrize(
    ("report", "expected"),
    [
        (
            REPORT,
            "INCIDENT-5    PASSED     activation    1.0 s   first signal    0.2 s   MTTR    5.2 s"
            "   signals 3/4 passed, 1 not checked   wall   12.3 s",
        ),
        (
            {**REPORT, "verdict": "failed", "timeline": {}, "signals": []},
            "INCIDENT-5    FAILED     activation      -    first signal      -    MTTR      - "
            "   signals 0/0 passed, 0 not checked   wall   12.3 s",
        ),
    ],
)
def test_one_line_per_incident(report: dict, expected: str) -> None:
    assert catalog.line(report, 12.34) == expected
