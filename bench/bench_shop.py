"""Benchmarks of issue 15, the whole Sock Shop live on the local target: prints figures, asserts nothing.

- provision.yml of the whole live shop from an empty cluster (goal <= 30 s on 2 cores);
- memory of all 15 pods: resident set size of every container process and its children (goal <= 1.2 GiB);
- a checkout through the front-end, unloaded: POST /orders of a logged-in customer, p50 over 50 (goal <= 50 ms);
- the shop's capacity: Locust (the lab's browse, item, basket and login mix) at rising user counts, 20 s each,
  against the front-end Service; the figure is the request rate at which the front-end's p95 passes 1 s. The
  incidents' load factor for the local target is chosen from it (inventories/local, shared/CATALOG.md).

Starts its own cluster in a temporary directory and stops it (by pid) at the end, also on failure.
"""

from __future__ import annotations

import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import requests
from prometheus_client.parser import text_string_to_metric_families

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as `python bench/bench_shop.py`
from bench.bench_incident import Bench, line
from kubesim.reach import Shopper, service_url

LOCUSTFILE = Path(__file__).with_name("locustfile_lab.py")
STEPS = (10, 25, 50, 100, 150, 200, 300, 400, 500, 600, 700, 800, 1000, 1200)


def pod_memory(state: Path) -> tuple[int, int]:
    """(bytes of RSS of every pod process and its children, number of containers counted)."""
    total, count = 0, 0
    for pidfile in (state / "pods").glob("*.pid"):
        try:
            proc = psutil.Process(int(pidfile.read_text().strip()))
            total += sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)])
            count += 1
        except (ValueError, psutil.Error):
            continue
    return total, count


def throttled_periods(state: Path, pod_prefix: str) -> tuple[float, float]:
    """(CFS periods, throttled periods) of a pod's containers, from the cluster's cAdvisor series."""
    info = json.loads((state / "server.json").read_text())
    token = (state / "token").read_text().strip()
    auth = {"Authorization": f"Bearer {token}"}
    text = requests.get(f"{info['server']}/metrics", headers=auth, verify=str(state / "ca.crt"), timeout=10).text
    totals = {"container_cpu_cfs_periods_total": 0.0, "container_cpu_cfs_throttled_periods_total": 0.0}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name in totals and sample.labels.get("pod", "").startswith(pod_prefix):
                totals[sample.name] += sample.value
    return totals["container_cpu_cfs_periods_total"], totals["container_cpu_cfs_throttled_periods_total"]


def checkout_p50(state: Path, runs: int = 50) -> float:
    shopper = Shopper(state)
    shopper.login()
    took = []
    periods, throttled = throttled_periods(state, "front-end-")
    for _ in range(runs):
        shopper.post("/cart", {"id": "808a2de1-1aaa-4c25-a9b9-6612e8f29a38"})
        start = time.perf_counter()
        answer = shopper.post("/orders")
        took.append(time.perf_counter() - start)
        if answer.status_code != 201:
            raise SystemExit(f"checkout failed: {answer.status_code} {answer.text[:300]}")
    time.sleep(1.5)  # the kubelet samples each second
    after = throttled_periods(state, "front-end-")
    print(
        f"  front-end throttled at its CPU limit in {after[1] - throttled:.0f} of {after[0] - periods:.0f} CFS periods"
        " during the checkouts"
    )
    return statistics.median(took)


def load_step(base: Path, host: str, users: int) -> tuple[float, float]:
    """(requests per second, p95 in seconds) of the Aggregated row after 20 s at `users`."""
    prefix = base / f"step{users}"
    subprocess.run(
        [str(Path(sys.executable).parent / "locust"), "-f", str(LOCUSTFILE), "Browser", "--headless", "-u", str(users),
         "-r", str(max(users // 5, 1)), "--run-time", "20s", "--host", host, "--csv", str(prefix), "--only-summary"],
        check=True, capture_output=True, timeout=120,
    )  # fmt: skip
    with open(f"{prefix}_stats.csv", encoding="utf-8") as handle:
        row = next(r for r in csv.DictReader(handle) if r["Name"] == "Aggregated")
    return float(row["Requests/s"]), float(row["95%"]) / 1000


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-shop-") as tmp:
        bench = Bench(Path(tmp))
        bench.cli("up")
        try:
            line(
                "provision.yml of the live shop from an empty cluster", bench.playbook("provision.yml"), "goal <= 30 s"
            )
            # A checkout goes through every service and datastore: after it, each has started and served.
            line("checkout through front-end, unloaded (p50 of 50)", checkout_p50(bench.state), "goal <= 0.05 s")
            rss, containers = pod_memory(bench.state)
            print(f"{f'memory of the shop ({containers} containers, RSS incl. children)':<58} {rss / 2**30:8.3f} GiB"
                  "   goal <= 1.2 GiB")  # fmt: skip
            host = service_url(bench.state, "sock-shop", "front-end", 80)
            capacity = None
            for users in STEPS:
                rps, p95 = load_step(Path(tmp), host, users)
                print(f"  load {users:4d} users: {rps:7.1f} req/s, p95 {p95:6.3f} s")
                if p95 > 1.0:
                    capacity = rps
                    break
            if capacity is None:
                print(f"capacity: p95 stayed under 1 s up to {STEPS[-1]} users")
            else:
                print(f"{'capacity: request rate at which front-end p95 passes 1 s':<58} {capacity:8.1f} req/s")
        finally:
            bench.cli("down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
