"""Benchmark of issue 20's responder mode on the local target: prints figures, asserts nothing.

The overhead of `-e responder=true` on INCIDENT-6's `phase=activate` (the namespace's baseline, the sentinel, the
responder's ServiceAccount, Role, RoleBinding, token and kubeconfig; goal <= 1 s more), on `phase=recover` (taking
it all back), and what `phase=grade` costs beyond the recovery it includes (goal <= 5 s): grade of a responder who
did nothing against recover after the same activation. Each the median of 5. Starts its own cluster in a temporary
directory (provision.yml) and stops it (`kubesim down`, by pid) at the end, also on failure.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

from bench_incident import Bench, line

# The engine alone: no PromQL or alert signal is waited for (see bench_incident.py).
ENGINE_ONLY = ("-e", "incident_prometheus_service=")


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-responder-") as tmp:
        bench = Bench(Path(tmp))
        bench.cli("up")
        try:
            line("provision.yml", bench.playbook("provision.yml"))
            answer = Path(tmp) / "nothing.json"
            answer.write_text(json.dumps({"detected": False, "evidence": ["nothing"], "remediation": "none"}))
            keys = ("activate", "activate+responder", "recover", "recover+responder", "grade")
            times: dict[str, list[float]] = {key: [] for key in keys}
            for _ in range(5):
                for responder in ("false", "true"):
                    suffix = "+responder" if responder == "true" else ""
                    extra = ("-e", f"responder={responder}", *ENGINE_ONLY)
                    times["activate" + suffix].append(bench.playbook("incident-6.yml", "-e", "phase=activate", *extra))
                    times["recover" + suffix].append(bench.playbook("incident-6.yml", "-e", "phase=recover", *extra))
                bench.playbook("incident-6.yml", "-e", "phase=activate", "-e", "responder=true", *ENGINE_ONLY)
                graded = ("-e", "phase=grade", "-e", f"diagnosis=@{answer}", *ENGINE_ONLY)
                times["grade"].append(bench.playbook("incident-6.yml", *graded))
            median = {key: statistics.median(values) for key, values in times.items()}
            line("phase=activate (median of 5)", median["activate"])
            line("phase=activate -e responder=true", median["activate+responder"])
            line(
                "  responder mode's overhead on activate",
                median["activate+responder"] - median["activate"],
                "goal <= 1 s",
            )
            line("phase=recover (median of 5)", median["recover"])
            line("phase=recover after responder mode", median["recover+responder"])
            line("  taking it all back", median["recover+responder"] - median["recover"])
            line("phase=grade of a responder who did nothing (median of 5)", median["grade"])
            line(
                "  grade beyond the recovery it includes",
                median["grade"] - median["recover+responder"],
                "goal <= 5 s",
            )
        finally:
            bench.cli("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
