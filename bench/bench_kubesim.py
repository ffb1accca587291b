"""Embedded-cluster numbers: start-up, GET/LIST latency with 1,000 pods, scale-to-Endpoints and scale-to-Available.

    .venv/bin/python bench/bench_kubesim.py [--pods 1000] [--samples 200] [--objects 200]

Also the API server's latency for a CRD-backed object (a CronTab, validated and pruned against its schema) next
to a built-in one (a ConfigMap): create, get and list, the median of --objects requests each (issue 22).

Starts and stops its own cluster in a temporary directory; prints its figures, asserts nothing.
Goals: up -> API ready <= 1 s; scale to 0 -> Endpoints empty <= 0.5 s; scale to 1 -> Available <= 0.5 s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


class Client:
    def __init__(self, state: Path) -> None:
        info = json.loads((state / "server.json").read_text())
        host, port = info["server"].removeprefix("https://").split(":")
        ctx = ssl.create_default_context(cafile=str(state / "ca.crt"))
        self.conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
        self.token = (state / "token").read_text().strip()

    def call(self, method: str, path: str, body: Any = None, ctype: str = "application/json") -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data, headers["Content-Type"] = json.dumps(body), ctype
        self.conn.request(method, path, body=data, headers=headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, json.loads(raw) if raw else None


def _pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _timed(fn: Any, n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _until(check: Any, timeout: float = 30.0) -> float:
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout:
            return float("inf")
        time.sleep(0.005)
    return time.perf_counter() - start


def _watch_delivery(state: Path, c: Client, ns: str, n: int) -> list[float]:
    """Milliseconds from the start of a PATCH to its MODIFIED event on a watch of the namespace's pods."""
    _, listed = c.call("GET", f"/api/v1/namespaces/{ns}/pods?limit=1")
    watcher = Client(state)
    watcher.conn.timeout = 60
    watcher.conn.request(
        "GET",
        f"/api/v1/namespaces/{ns}/pods?watch=1&resourceVersion={listed['metadata']['resourceVersion']}",
        headers={"Authorization": f"Bearer {watcher.token}", "Accept": "application/json"},
    )
    stream = watcher.conn.getresponse()
    sent: dict[str, float] = {}
    got: dict[str, float] = {}
    done = threading.Event()

    def read() -> None:
        while len(got) < n:
            line = stream.readline()
            if not line:
                break
            seq = (json.loads(line)["object"]["metadata"].get("labels") or {}).get("seq")
            if seq is not None and seq not in got:
                got[seq] = time.perf_counter()
        done.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    for i in range(n):
        sent[str(i)] = time.perf_counter()
        c.call(
            "PATCH",
            f"/api/v1/namespaces/{ns}/pods/p{i % 100:04d}",
            {"metadata": {"labels": {"seq": str(i)}}},
            "application/merge-patch+json",
        )
        time.sleep(0.002)
    done.wait(30)
    watcher.conn.close()
    return [(got[k] - sent[k]) * 1000 for k in sent if k in got]


CRONTAB_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "crontabs.bench.example.com"},
    "spec": {
        "group": "bench.example.com",
        "scope": "Namespaced",
        "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "additionalPrinterColumns": [{"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"}],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["cronSpec"],
                                "properties": {
                                    "cronSpec": {"type": "string"},
                                    "image": {"type": "string"},
                                    "replicas": {"type": "integer", "minimum": 0},
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


def _crd_vs_builtin(c: Client, n: int) -> None:
    """Median create / get / list latency of n ConfigMaps and n CronTabs (a CRD's objects), side by side."""
    status, body = c.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", CRONTAB_CRD)
    assert status == 201, body
    if _until(lambda: c.call("GET", "/apis/bench.example.com/v1")[0] == 200, 10) == float("inf"):
        raise RuntimeError("the CronTab CRD was not established within 10 s")
    ns = "bench-crd"
    c.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
    kinds = (
        (
            "ConfigMap (built-in)",
            f"/api/v1/namespaces/{ns}/configmaps",
            lambda i: {"metadata": {"name": f"o{i:04d}"}, "data": {"schedule": "*/5 * * * *", "image": "backup:1"}},
        ),
        (
            "CronTab (CRD)",
            f"/apis/bench.example.com/v1/namespaces/{ns}/crontabs",
            lambda i: {
                "apiVersion": "bench.example.com/v1",
                "kind": "CronTab",
                "metadata": {"name": f"o{i:04d}"},
                "spec": {"cronSpec": "*/5 * * * *", "image": "backup:1", "replicas": 1},
            },
        ),
    )
    print(f"CRD-backed vs built-in object, median of {n}:   create      get     list ({n} objects)")
    for label, path, make in kinds:
        made = iter(range(n))

        def create(path: str = path, make: Any = make, made: Any = made) -> None:
            status, body = c.call("POST", path, make(next(made)))
            assert status == 201, body

        created = _timed(create, n)
        got = _timed(lambda path=path: c.call("GET", f"{path}/o{n // 2:04d}"), n)
        listed = _timed(lambda path=path: c.call("GET", path), n)
        print(
            f"  {label:<22}                  {statistics.median(created):6.2f} ms {statistics.median(got):6.2f} ms "
            f"{statistics.median(listed):6.2f} ms"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods", type=int, default=1000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--objects", type=int, default=200, help="objects of each kind for the CRD comparison")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-kubesim-") as tmp:
        state = Path(tmp) / "state"
        env = {**os.environ, "TMPDIR": tmp, "HOME": tmp}
        cli = [sys.executable, "-m", "kubesim", "--state-dir", str(state)]
        start = time.perf_counter()
        up = subprocess.run([*cli, "up"], cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        ready = time.perf_counter() - start
        if up.returncode != 0:
            print(up.stdout, up.stderr, file=sys.stderr)
            return 1
        try:
            print(f"up -> API ready:                 {ready * 1000:7.0f} ms   (goal <= 1000 ms)")
            c = Client(state)
            _crd_vs_builtin(c, args.objects)
            labels = {"app": "web"}
            c.call(
                "POST",
                "/apis/apps/v1/namespaces/default/deployments",
                {
                    "metadata": {"name": "web"},
                    "spec": {
                        "replicas": 1,
                        "selector": {"matchLabels": labels},
                        "template": {
                            "metadata": {"labels": labels},
                            "spec": {"containers": [{"name": "c", "image": "nginx"}]},
                        },
                    },
                },
            )
            c.call(
                "POST",
                "/api/v1/namespaces/default/services",
                {"metadata": {"name": "web"}, "spec": {"selector": labels, "ports": [{"port": 80}]}},
            )

            def addresses() -> int:
                _, ep = c.call("GET", "/api/v1/namespaces/default/endpoints/web")
                return sum(len(s.get("addresses") or []) for s in (ep or {}).get("subsets") or [])

            def available() -> bool:
                _, d = c.call("GET", "/apis/apps/v1/namespaces/default/deployments/web")
                st = d.get("status") or {}
                return bool(
                    d["spec"]["replicas"] == st.get("availableReplicas", 0) == st.get("replicas", 0)
                    and st.get("observedGeneration") == d["metadata"]["generation"]
                    and not st.get("unavailableReplicas")
                    and any(x["type"] == "Available" and x["status"] == "True" for x in st.get("conditions") or [])
                )

            _until(lambda: addresses() == 1)
            downs, ups = [], []
            for _ in range(5):
                c.call(
                    "PATCH",
                    "/apis/apps/v1/namespaces/default/deployments/web/scale",
                    {"spec": {"replicas": 0}},
                    "application/merge-patch+json",
                )
                downs.append(_until(lambda: addresses() == 0))
                c.call(
                    "PATCH",
                    "/apis/apps/v1/namespaces/default/deployments/web/scale",
                    {"spec": {"replicas": 1}},
                    "application/merge-patch+json",
                )
                ups.append(_until(available))
                _until(lambda: addresses() == 1)
            print(
                f"scale 0 -> Endpoints empty:      {statistics.median(downs) * 1000:7.0f} ms median, "
                f"{max(downs) * 1000:.0f} ms max   (goal <= 500 ms)"
            )
            print(
                f"scale 1 -> Deployment Available: {statistics.median(ups) * 1000:7.0f} ms median, "
                f"{max(ups) * 1000:.0f} ms max   (goal <= 500 ms)"
            )
            ns = "bench"
            c.call("POST", "/api/v1/namespaces", {"metadata": {"name": ns}})
            pod = {"metadata": {"name": ""}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}
            start = time.perf_counter()
            for i in range(args.pods):
                pod["metadata"] = {"name": f"p{i:04d}", "labels": {"app": "bench", "i": str(i % 10)}}
                status, body = c.call("POST", f"/api/v1/namespaces/{ns}/pods", pod)
                assert status == 201, body
            took = time.perf_counter() - start
            print(
                f"create {args.pods} pods:               {took * 1000:7.0f} ms   "
                f"({took / args.pods * 1000:.2f} ms each)"
            )
            time.sleep(1.0)  # let the kubelet settle the pods' status (110 fit on the worker; the rest stay Pending)

            get = _timed(lambda: c.call("GET", f"/api/v1/namespaces/{ns}/pods/p0500"), args.samples)
            print(f"GET pod            p50 {_pct(get, 50):6.2f} ms   p99 {_pct(get, 99):6.2f} ms")
            n = max(20, args.samples // 10)
            lst = _timed(lambda: c.call("GET", f"/api/v1/namespaces/{ns}/pods"), n)
            print(
                f"LIST {args.pods} pods     p50 {_pct(lst, 50):6.2f} ms   p99 {_pct(lst, 99):6.2f} ms"
                "   (goal <= 100 ms)"
            )
            sel = _timed(lambda: c.call("GET", f"/api/v1/namespaces/{ns}/pods?labelSelector=i%3D3"), n)
            print(f"LIST by label      p50 {_pct(sel, 50):6.2f} ms   p99 {_pct(sel, 99):6.2f} ms")
            page = _timed(lambda: c.call("GET", f"/api/v1/namespaces/{ns}/pods?limit=50"), n)
            print(f"LIST limit=50      p50 {_pct(page, 50):6.2f} ms   p99 {_pct(page, 99):6.2f} ms")
            delivery = _watch_delivery(state, c, ns, n * 5)
            print(
                f"write -> watch event p50 {_pct(delivery, 50):6.2f} ms   p99 {_pct(delivery, 99):6.2f} ms"
                "   (goal <= 50 ms)"
            )

            c.conn.close()
        finally:
            subprocess.run([*cli, "down"], cwd=ROOT, env=env, capture_output=True, check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
