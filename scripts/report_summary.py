"""Print the newest incident report's path and summary: verdict, each signal with its time, MTTR, diff.

python scripts/report_summary.py [REPORTS_DIR] [--incident 6]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def newest(reports: Path, incident: str) -> Path | None:
    runs = sorted(reports.glob(f"incident-{incident}-*/report.json"))
    return runs[-1] if runs else None


def _seconds(value: Any) -> str:
    return f"{value:.3f} s" if isinstance(value, int | float) else "-"


def summary(report: dict[str, Any], path: Path) -> str:
    timeline = report.get("timeline") or {}
    lines = [
        f"INCIDENT-{report['incident']['id']}: {report['incident']['title']}",
        f"report: {path.parent}  (report.md, report.json, junit.xml)",
        f"verdict: {report['verdict'].upper()}",
        "signals:",
    ]
    for sig in report.get("signals") or []:
        lines.append(
            f"  {sig['status']:<11} {sig['name']} ({sig['kind']}): {_seconds(sig.get('time_to_signal_s'))}"
            f" of {sig.get('within_s')} s budget"
        )
    lines.append(
        f"activation: {_seconds(timeline.get('activation_s'))}   MTTR: {_seconds(timeline.get('mttr_s'))}"
        f"   total: {_seconds(timeline.get('total_s'))}"
    )
    lines.append(f"ledger diff after recovery: {'empty' if report.get('diff_empty') else 'NOT EMPTY'}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reports", nargs="?", type=Path, default=Path("reports"))
    parser.add_argument("--incident", default="6")
    args = parser.parse_args(argv)
    path = newest(args.reports, args.incident)
    if path is None:
        print(f"no report for incident {args.incident} under {args.reports}", file=sys.stderr)
        return 1
    report = json.loads(path.read_text())
    print(summary(report, path))
    return 0 if report.get("passed") else 2


if __name__ == "__main__":
    sys.exit(main())
