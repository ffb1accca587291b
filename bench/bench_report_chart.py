"""Benchmark of issue 21's timeline chart: the PNG of an INCIDENT-6 report, rendered in this process.

    .venv/bin/python bench/bench_report_chart.py [--renders 10] [--out chart.png]

The data is what an INCIDENT-6 run gives the chart: 4 phase bands over 3 minutes, 200 sentinel samples (fast
passes, then failures with and without a latency, then passes), 10 replica points and one Prometheus series of
90 points. Prints, asserting nothing:

- the first call in a fresh interpreter, which imports Matplotlib, both with the font cache Matplotlib keeps in
  its config directory (the usual case) and with an empty config directory (a fresh machine builds it once);
- the median and max of --renders renders once Matplotlib is loaded, and the PNG's size.

Goal of the issue: the INCIDENT-6 report in <= 1 s including the chart.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODULE_UTILS = ROOT / "plugins" / "module_utils"
sys.path.insert(0, str(MODULE_UTILS))

import sockshop_chart  # noqa: E402

T0 = dt.datetime(2026, 11, 23, 8, 24, 40, 123000, tzinfo=dt.UTC)
PHASES = [("baseline", 0, 30), ("activation", 30, 34), ("incident", 34, 120), ("recovery", 120, 180)]
# One render in a fresh interpreter: the import of the module, then the first call (which imports Matplotlib).
FIRST_CALL = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
data = json.load(sys.stdin)
start = time.perf_counter()
import sockshop_chart
imported = time.perf_counter()
sockshop_chart.render_timeline(data)
print(json.dumps({"module": imported - start, "first": time.perf_counter() - imported}))
"""


def ts(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def incident6() -> dict[str, Any]:
    probes = []
    for index in range(200):  # a sample every 0.9 s, as the sentinel's once a second with its jitter
        at = index * 0.9
        down = 36 <= at < 125
        # Down: the gateway's Service without endpoints, an error after 2-5 s, or no answer within the timeout.
        failed = None if index % 4 == 0 else 2.0 + (index % 7) * 0.4
        sample = {"at": ts(at), "ok": not down, "status": 503 if down else 200, "label": "payment authorise"}
        probes.append(dict(sample, latency_s=failed if down else 0.010 + (index % 9) * 0.002))
    replicas = [(0, 1), (15, 1), (31, 0), (45, 0), (60, 0), (90, 0), (121, 0), (124, 1), (150, 1), (178, 1)]
    return {
        "title": "INCIDENT-6: Payment gateway unavailable (run 20261123T082440Z-123)",
        "bands": [{"name": name, "start": ts(start), "end": ts(end)} for name, start, end in PHASES],
        "probes": probes,
        "replicas": {
            "label": "stripe-mock available replicas",
            "points": [{"at": ts(at), "value": value} for at, value in replicas],
        },
        "series": [
            {
                "label": 'kube_deployment_status_replicas_available{deployment="stripe-mock"}',
                "points": [{"at": ts(2 * i), "value": 0.0 if 33 <= 2 * i < 126 else 1.0} for i in range(90)],
            }
        ],
    }


def first_call(data: dict[str, Any], config_dir: str | None) -> dict[str, float]:
    env = dict(os.environ)
    if config_dir is not None:
        env["MPLCONFIGDIR"] = config_dir
    done = subprocess.run(
        [sys.executable, "-c", FIRST_CALL, str(MODULE_UTILS)],
        input=json.dumps(data),
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def line(label: str, value: float, goal: str = "") -> None:
    print(f"{label:<58} {value:8.3f} s   {goal}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--renders", type=int, default=10)
    parser.add_argument("--out", type=Path, help="write the chart there")
    args = parser.parse_args()
    data = incident6()

    warm = first_call(data, None)
    line("import sockshop_chart (no Matplotlib)", warm["module"])
    line("first render, importing Matplotlib (font cache kept)", warm["first"], "goal: report <= 1 s")
    with tempfile.TemporaryDirectory(prefix="bench-chart-mpl-") as config_dir:
        cold = first_call(data, config_dir)
    line("first render, empty MPLCONFIGDIR (builds the font cache)", cold["first"], "once per machine")

    png = sockshop_chart.render_timeline(data)  # this process: Matplotlib loaded from here on
    took = []
    for _ in range(args.renders):
        start = time.perf_counter()
        again = sockshop_chart.render_timeline(data)
        took.append(time.perf_counter() - start)
    line(f"render, Matplotlib loaded (median of {args.renders})", statistics.median(took), "goal: report <= 1 s")
    line(f"render, Matplotlib loaded (max of {args.renders})", max(took))
    print(f"{'PNG size (1000 x 600 px)':<58} {len(png) / 1024:8.1f} KiB   identical on every render: {again == png}")
    if args.out:
        args.out.write_bytes(png)
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
