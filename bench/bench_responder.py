"""Benchmark of issue 20's responder mode on the local target: prints figures, asserts nothing.

The overhead of `-e responder=true` on INCIDENT-6's `phase=activate` (the responder's ServiceAccount, Role,
RoleBinding, token and kubeconfig; goal <= 1 s more), and on `phase=recover` (taking the access back), each the
median of 5 against the same phases without it. Starts its own cluster in a temporary directory (provision.yml)
and stops it (`kubesim down`, by pid) at the end, also on failure.
"""

from __future__ import annotations

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
            times: dict[str, list[float]] = {
                key: [] for key in ("activate", "activate+responder", "recover", "recover+responder")
            }
            for _ in range(5):
                for responder in ("false", "true"):
                    suffix = "+responder" if responder == "true" else ""
                    extra = ("-e", f"responder={responder}", *ENGINE_ONLY)
                    times["activate" + suffix].append(bench.playbook("incident-6.yml", "-e", "phase=activate", *extra))
                    times["recover" + suffix].append(bench.playbook("incident-6.yml", "-e", "phase=recover", *extra))
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
            line("  taking the access back", median["recover+responder"] - median["recover"])
        finally:
            bench.cli("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
