"""Benchmark of issue 21's report: INCIDENT-6's whole report (report.md, report.json, junit.xml and the timeline
chart) rendered from a recorded journal (tests/fixtures/journals/incident-6.json, a real run on the local target),
as `phase=report` renders it. Prints figures, asserts nothing.

The first render in this interpreter imports Matplotlib (its font cache kept, as on any machine after the first
run); then the median of 10 renders. Goal: <= 1 s including the chart.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ansible.module_utils  # noqa: E402

ansible.module_utils.__path__.append(str(ROOT / "plugins" / "module_utils"))

from plugins.modules import incident_load, incident_report  # noqa: E402


def main() -> int:
    incident = incident_load.load_incident(str(ROOT / "incidents"), "6")["incident"]
    journal = (ROOT / "tests" / "fixtures" / "journals" / "incident-6.json").read_text()
    times = []
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        incident_report.write_atomic(incident_report.journal_path(tmp, "6"), journal)
        for n in range(11):
            params = {
                "state": "render",
                "incident": incident,
                "reports_dir": tmp,
                "timestamp": f"2026-12-07T12:00:{n:02d}Z",  # a new directory each time: a full render
            }
            start = time.perf_counter()
            done = incident_report.run(params, False, lambda: None)
            times.append(time.perf_counter() - start)
        sizes = {Path(f).name: Path(f).stat().st_size for f in done["files"]}
    print(f"{'first render (imports Matplotlib)':<50} {times[0]:8.3f} s   goal <= 1 s")
    print(f"{'median of 10 renders':<50} {statistics.median(times[1:]):8.3f} s   goal <= 1 s")
    print(f"{'files':<50} {json.dumps(sizes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
