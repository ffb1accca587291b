"""Benchmark of issue 19 (hands-on kubectl on the local target): prints figures, asserts nothing.

- `kubectl run test-payment --image=curlimages/curl --rm -i --restart=Never --command -- curl ... /paymentAuth`,
  the incident reports' own command, wall time with kubectl included (goal <= 1.5 s); median and max of 10;
- `kubectl exec deployment/front-end -- curl -s http://orders:80/orders`, median of 10;
- request latency through `kubectl port-forward svc/payment 0:80` (SPDY in a WebSocket, kubectl's default):
  p50 and p95 of 100 sequential GET /health, each on its own connection (goal p50 <= 5 ms).

Starts its own cluster in a temporary directory (provision.yml) and stops it (by pid, `kubesim down`) at the end,
also on failure; the port-forward is stopped by its pid.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bench_incident import BIN, NS, Bench, line

KUBECTL = str(BIN / "kubectl")
RUN = [
    "run", "test-payment", "--image=curlimages/curl:latest", "--rm", "-i", "--restart=Never", "--command", "--",
    "curl", "-s", "-X", "POST", "http://payment:80/paymentAuth", "-H", "Content-Type: application/json",
    "-d", '{"amount":50.00}',
]  # fmt: skip
EXEC = ["exec", "deployment/front-end", "--", "curl", "-s", "http://orders:80/orders"]


def kubectl(bench: Bench, args: list[str], expect: str) -> float:
    start = time.monotonic()
    out = subprocess.run([KUBECTL, "-n", NS, *args], env=bench.env, capture_output=True, text=True, check=False)
    took = time.monotonic() - start
    if out.returncode != 0 or expect not in out.stdout:
        raise SystemExit(f"kubectl {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    return took


def forward_latency(bench: Bench) -> list[float]:
    proc = subprocess.Popen(
        [KUBECTL, "-n", NS, "port-forward", "svc/payment", "0:80"],
        env=bench.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert proc.stdout is not None
        m = re.match(r"Forwarding from 127\.0\.0\.1:(\d+) ", proc.stdout.readline())
        if not m:
            raise SystemExit("kubectl port-forward did not start")
        url = f"http://127.0.0.1:{m.group(1)}/health"
        times = []
        for _ in range(100):
            start = time.perf_counter()
            with urllib.request.urlopen(url, timeout=10) as resp:
                resp.read()
            times.append(time.perf_counter() - start)
        return sorted(times)
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-kubectl-") as tmp:
        bench = Bench(Path(tmp))
        bench.env["KUBECONFIG"] = str(bench.state / "kubeconfig")
        bench.cli("up")
        try:
            line("provision.yml", bench.playbook("provision.yml"))
            runs = [kubectl(bench, RUN, '"authorised":true') for _ in range(10)]
            line("kubectl run --rm -i curl /paymentAuth (median of 10)", statistics.median(runs), "goal <= 1.5 s")
            line("kubectl run --rm -i curl /paymentAuth (max of 10)", max(runs), "goal <= 1.5 s")
            execs = [kubectl(bench, EXEC, "customerOrders") for _ in range(10)]
            line("kubectl exec deployment/front-end -- curl (median of 10)", statistics.median(execs))
            times = forward_latency(bench)
            label = "port-forward svc/payment GET /health p50 (100 requests)"
            print(f"{label:<58} {times[49] * 1000:8.2f} ms   goal <= 5 ms")
            print(f"{'port-forward svc/payment GET /health p95':<58} {times[94] * 1000:8.2f} ms")
        finally:
            bench.cli("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
