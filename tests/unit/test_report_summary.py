"""scripts/report_summary.py: what `make demo` prints after INCIDENT-6."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from scripts import report_summary

REPORT = {
    "incident": {"id": "6", "title": "Payment gateway unavailable (third-party dependency)"},
    "verdict": "passed",
    "passed": True,
    "diff_empty": True,
    "signals": [
        {
            "name": "payments declined with connection refused",
            "kind": "probe",
            "status": "passed",
            "time_to_signal_s": 0.21,
            "within_s": 5,
        },
        {
            "name": "prometheus sees no payment restarts",
            "kind": "promql",
            "status": "not_checked",
            "time_to_signal_s": None,
            "within_s": 60,
        },
    ],
    "timeline": {"activation_s": 4.5, "mttr_s": 6.25, "total_s": 17.0},
}


def write(base: Path, stamp: str, report: dict) -> Path:
    path = base / f"incident-6-{stamp}" / "report.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(report))
    return path


def test_prints_the_newest_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write(tmp_path, "20261123T100000Z", {**REPORT, "verdict": "failed", "passed": False})
    newest = write(tmp_path, "20261123T110000Z", REPORT)
    assert report_summary.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "INCIDENT-6: Payment gateway unavailable (third-party dependency)"
    assert out[1].startswith(f"report: {newest.parent}")
    assert out[2] == "verdict: PASSED"
    assert "  passed      payments declined with connection refused (probe): 0.210 s of 5 s budget" in out
    assert "  not_checked prometheus sees no payment restarts (promql): - of 60 s budget" in out
    assert "activation: 4.500 s   MTTR: 6.250 s   total: 17.000 s" in out
    assert out[-1] == "ledger diff after recovery: empty"


def test_failed_report_and_missing_report_exit_non_zero(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert report_summary.main([str(tmp_path)]) == 1
    assert "no report for incident 6" in capsys.readouterr().err
    write(tmp_path, "20261123T120000Z", {**REPORT, "verdict": "failed", "passed": False, "diff_empty": False})
    assert report_summary.main([str(tmp_path)]) == 2
    out = capsys.readouterr().out
    assert "verdict: FAILED" in out and "ledger diff after recovery: NOT EMPTY" in out
