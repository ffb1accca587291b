"""Run every incident of the catalog in sequence (`phase=all`) and print one line each.

    python scripts/catalog.py [--reports DIR] [--only 5,6] [ansible-playbook options...]

Each line: the incident, its verdict, activation time, the time to its first signal, MTTR (recovery start to
its last confirmation), signals passed / checked / not checked, and the run's wall time; then the whole
catalog's time. Expects a provisioned cluster (`make catalog` provisions one first). Exits 1 when an incident
did not pass.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PLAYBOOK = Path(sys.executable).with_name("ansible-playbook")


def incident_ids(catalog: Path) -> list[str]:
    """The ids of `incident-<id>.yml` in catalog order: by number, then letter (4, 4B, 4C, 5, ... 10)."""

    def key(ident: str) -> tuple[int, str]:
        number = re.match(r"\d+", ident)
        return (int(number.group()) if number else sys.maxsize, ident)

    ids = [p.name.removeprefix("incident-").removesuffix(".yml") for p in catalog.glob("incident-*.yml")]
    return sorted(ids, key=key)


def _s(value: Any) -> str:
    return f"{value:6.1f} s" if isinstance(value, int | float) else "     - "


def line(report: dict[str, Any], wall_s: float) -> str:
    """One incident's figures from its report.json."""
    timeline = report.get("timeline") or {}
    verify = [s for s in report.get("signals") or [] if s.get("stage", "verify") == "verify"]
    times = [s["time_to_signal_s"] for s in verify if s.get("time_to_signal_s") is not None]
    passed = sum(1 for s in report.get("signals") or [] if s["status"] == "passed")
    not_checked = sum(1 for s in report.get("signals") or [] if s["status"] == "not_checked")
    total = len(report.get("signals") or [])
    return (
        f"INCIDENT-{report['incident']['id']:<4} {report['verdict'].upper():<10}"
        f" activation {_s(timeline.get('activation_s'))}   first signal {_s(min(times) if times else None)}"
        f"   MTTR {_s(timeline.get('mttr_s'))}   signals {passed}/{total - not_checked} passed,"
        f" {not_checked} not checked   wall {wall_s:6.1f} s"
    )


def run(ident: str, reports: Path, extra: list[str]) -> tuple[dict[str, Any] | None, float, str]:
    """phase=all of one incident: its report (None if it wrote none), wall time, and the run's last output."""
    before = set(reports.glob(f"incident-{ident}-*/report.json"))
    start = time.monotonic()
    command = [str(PLAYBOOK), f"playbooks/incident-{ident}.yml", "-e", "phase=all"]
    done = subprocess.run(
        [*command, "-e", f"incident_reports_dir={reports}", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.monotonic() - start
    new = sorted(set(reports.glob(f"incident-{ident}-*/report.json")) - before)
    report = json.loads(new[-1].read_text()) if new else None
    return report, wall, (done.stdout + done.stderr)[-1500:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=Path, default=ROOT / "reports")
    parser.add_argument("--only", default="", help="comma-separated ids (default: every incident)")
    args, extra = parser.parse_known_args(argv)
    ids = [i for i in args.only.split(",") if i] or incident_ids(ROOT / "incidents")
    args.reports.mkdir(parents=True, exist_ok=True)
    failed = []
    start = time.monotonic()
    for ident in ids:
        report, wall, tail = run(ident, args.reports.resolve(), extra)
        if report is None:
            print(f"INCIDENT-{ident:<4} NO REPORT  (wall {wall:.1f} s); the run ended with:\n{tail}")
            failed.append(ident)
            continue
        print(line(report, wall), flush=True)
        if not report.get("passed"):
            failed.append(ident)
    took = time.monotonic() - start
    print(f"catalog: {len(ids) - len(failed)} of {len(ids)} passed in {took / 60:.1f} min   (goal <= 15 min)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
