"""Resource enforcement figures: CPU held at 50m / 100m, time to OOMKilled at 64Mi, and the kubelet's own
overhead with 30 process containers under limits.

    .venv/bin/python bench/bench_resources.py [--containers 30] [--seconds 20]

Starts and stops its own cluster in a temporary directory; prints its figures, asserts nothing.
Goals: 50m -> 5% of a core (+/- 2 points), 100m -> 10%, no limit -> a whole core; OOMKilled <= 0.5 s after
the limit is crossed; kubelet (the cluster process) <= 5% of one core with 30 process containers under limits.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_kubesim import Client

ROOT = Path(__file__).resolve().parents[1]
SLEEPER = ["python3", "-c", "import time\nwhile True: time.sleep(1)"]
HOG = ["python3", "-c", "while True: pass"]
# Holds 40 MiB, prints the monotonic clock, then grows by 1 MiB until the kernel kills it at its 64Mi limit.
EATER = [
    "python3",
    "-c",
    "import time\nheld = [b'x' * (40 << 20)]\nprint(time.clock_gettime(time.CLOCK_MONOTONIC), flush=True)\n"
    "while True: held.append(b'x' * (1 << 20))\n",
]


def pod(name: str, command: list[str], cpu: str, memory: str, restart: str = "Always") -> dict[str, Any]:
    limits = {"cpu": cpu, "memory": memory}
    return {
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": restart,
            "containers": [
                {
                    "name": "main",
                    "image": "python:3.11-slim",
                    "command": command,
                    "resources": {"limits": limits, "requests": limits},
                }
            ],
        },
    }


def pid_of(state: Path, c: Client, ns: str, name: str, timeout: float = 60.0) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _, body = c.call("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
        pidfile = state / "pods" / f"{body['metadata']['uid']}_main.pid"
        if pidfile.exists():
            return int(pidfile.read_text())
        time.sleep(0.05)
    raise TimeoutError(f"pod {name} has no process after {timeout}s")


def cpu_shares(procs: list[psutil.Process], seconds: float) -> list[float]:
    before = [sum(p.cpu_times()[:2]) for p in procs]
    t0 = time.monotonic()
    time.sleep(seconds)
    took = time.monotonic() - t0
    return [(sum(p.cpu_times()[:2]) - b) / took for p, b in zip(procs, before, strict=True)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=30)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-resources-") as tmp:
        state = Path(tmp) / "state"
        env = {**os.environ, "TMPDIR": tmp, "HOME": tmp}
        cli = [sys.executable, "-m", "kubesim", "--state-dir", str(state)]
        up = subprocess.run([*cli, "up"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        if up.returncode != 0:
            print(up.stdout, up.stderr, file=sys.stderr)
            return 1
        try:
            c = Client(state)
            _, node = c.call("GET", "/api/v1/nodes/sockshop-worker")
            cond = next(x for x in node["status"]["conditions"] if x["type"] == "ResourceEnforcement")
            print(f"enforcement: {cond['reason']}: {cond['message']}")
            ns = "bench"
            c.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})

            unlimited = pod("hog-none", HOG, "1", "64Mi")
            del unlimited["spec"]["containers"][0]["resources"]
            for body in (pod("hog-50m", HOG, "50m", "64Mi"), pod("hog-100m", HOG, "100m", "64Mi"), unlimited):
                c.call("POST", f"/api/v1/namespaces/{ns}/pods", body)
            hogs = [psutil.Process(pid_of(state, c, ns, f"hog-{cpu}")) for cpu in ("50m", "100m", "none")]
            time.sleep(1.0)
            at50, at100, none = cpu_shares(hogs, 10.0)
            print(f"busy loop at 50m:  {at50 * 100:5.2f}% of a core over 10 s   (goal 5 +/- 2)")
            print(f"busy loop at 100m: {at100 * 100:5.2f}% of a core over 10 s   (goal 10 +/- 2)")
            print(f"busy loop, no limit: {none * 100:5.1f}% of a core over 10 s   (goal: a whole core)")
            for cpu in ("50m", "100m", "none"):
                c.call("DELETE", f"/api/v1/namespaces/{ns}/pods/hog-{cpu}?gracePeriodSeconds=0")

            kills = []
            for i in range(5):
                name = f"eater-{i}"
                c.call("POST", f"/api/v1/namespaces/{ns}/pods", pod(name, EATER, "1", "64Mi", restart="Never"))
                proc = psutil.Process(pid_of(state, c, ns, name))
                while proc.is_running() and proc.status() != psutil.STATUS_ZOMBIE:
                    time.sleep(0.001)
                died = time.clock_gettime(time.CLOCK_MONOTONIC)
                _, body = c.call("GET", f"/api/v1/namespaces/{ns}/pods/{name}/log")
                crossed = float(str(body).split()[-1]) if body else died
                kills.append(died - crossed)
            print(
                f"64Mi crossed -> killed: {max(kills) * 1000:6.0f} ms worst of {len(kills)}, "
                f"{sorted(kills)[len(kills) // 2] * 1000:.0f} ms median   (goal <= 500 ms)"
            )

            for i in range(args.containers):
                c.call("POST", f"/api/v1/namespaces/{ns}/pods", pod(f"idle-{i:02d}", SLEEPER, "50m", "64Mi"))
            for i in range(args.containers):
                pid_of(state, c, ns, f"idle-{i:02d}")
            time.sleep(3.0)  # past their start
            server = psutil.Process(int(json.loads((state / "server.json").read_text())["pid"]))
            (share,) = cpu_shares([server], args.seconds)
            print(
                f"kubelet overhead, {args.containers} process containers under limits: "
                f"{share * 100:5.2f}% of one core over {args.seconds:.0f} s   (goal <= 5%)"
            )
            c.conn.close()
        finally:
            subprocess.run([*cli, "down"], cwd=ROOT, env=env, capture_output=True, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
