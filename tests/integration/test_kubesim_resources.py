"""Resources enforced as under a kubelet: CPU limits held by the kernel's CFS quota, OOMKilled at the memory
limit, pods placed by their requests, and every cgroup removed again. Measured with psutil on the pods' own
pids (independent of the cluster's own accounting) and read back through real kubectl."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from kubesim.cli import alive
from kubesim.controllers.kubelet import pod_requests
from kubesim.runtime.cgroups import detect
from kubesim.runtime.wiring import cgroup_name
from tests.integration.conftest import Cluster, make_cluster, running_cluster

pytestmark = pytest.mark.integration

HOG = ["python3", "-c", "while True: pass"]
# Touches every page (b"x" * n), 8 MiB at a time, saying how far it got.
EATER = [
    "python3",
    "-c",
    "import time\nheld = []\nfor i in range(1, 200):\n    held.append(b'x' * (8 << 20))\n"
    "    print(f'holding {8 * i} MiB', flush=True)\n    time.sleep(0.01)\n",
]


def _pod(name: str, command: list[str], limits: dict[str, str] | None = None, **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "main", "image": "python:3.11-slim", "command": command}
    if limits is not None:
        container["resources"] = {"limits": limits, "requests": limits}
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": {"containers": [container], **spec}}


def _create(cluster: Cluster, ns: str, pod: dict[str, Any]) -> dict[str, Any]:
    status, body = cluster.json("POST", f"/api/v1/namespaces/{ns}/pods", pod)
    assert status == 201, body
    return body


def _get(cluster: Cluster, ns: str, name: str) -> dict[str, Any]:
    status, body = cluster.json("GET", f"/api/v1/namespaces/{ns}/pods/{name}")
    assert status == 200, body
    return body


def _pid(cluster: Cluster, pod: dict[str, Any], container: str = "main") -> int | None:
    pidfile = cluster.state / "pods" / f"{pod['metadata']['uid']}_{container}.pid"
    try:
        return int(pidfile.read_text())
    except (OSError, ValueError):
        return None


def _wait_pid(cluster: Cluster, pod: dict[str, Any]) -> int:
    return int(cluster.wait_for(lambda: _pid(cluster, pod), timeout=20))


def _cpu_share(pids: list[int], seconds: float) -> list[float]:
    """The share of one core each process used over `seconds`, by its own CPU times."""
    procs = [psutil.Process(p) for p in pids]
    before = [sum(p.cpu_times()[:2]) for p in procs]
    t0 = time.monotonic()
    time.sleep(seconds)
    after = [sum(p.cpu_times()[:2]) for p in procs]
    took = time.monotonic() - t0
    return [(a - b) / took for a, b in zip(after, before, strict=True)]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A cluster of its own: the cgroup checks look at everything it created."""
    with running_cluster(tmp_path_factory.mktemp("resources")) as c:
        yield c


@pytest.fixture
def ns(fresh: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace whose pods go when the test ends (busy loops must not run into the next test)."""
    name = fresh.namespace(request.node.originalname.removeprefix("test_")[:20].strip("_").replace("_", "-"))
    yield name
    fresh.json("DELETE", f"/api/v1/namespaces/{name}")
    fresh.wait_for(lambda: fresh.json("GET", f"/api/v1/namespaces/{name}")[0] == 404, timeout=30)


def test_cpu_limits_hold_a_busy_loop_at_its_quota(fresh: Cluster, ns: str) -> None:
    pods = [
        _create(fresh, ns, _pod("limit-50m", HOG, {"cpu": "50m", "memory": "64Mi"})),
        _create(fresh, ns, _pod("limit-100m", HOG, {"cpu": "100m", "memory": "64Mi"})),
        _create(fresh, ns, _pod("unlimited", HOG)),
    ]
    pids = [_wait_pid(fresh, p) for p in pods]
    time.sleep(1.0)  # past the interpreter's start
    at_50m, at_100m, unlimited = _cpu_share(pids, 10.0)
    assert abs(at_50m - 0.05) <= 0.02, f"50m used {at_50m:.3f} of a core"
    assert abs(at_100m - 0.10) <= 0.02, f"100m used {at_100m:.3f} of a core"
    # A whole core on a quiet machine (bench/bench_resources.py); here the rest of the suite shares the two cores,
    # so only: far more than any limit would allow.
    assert unlimited >= 0.3, f"an unlimited busy loop got only {unlimited:.3f} of a core"

    # The kernel's own throttling counters, as cAdvisor exports them.
    def throttled() -> dict[str, float]:
        status, _, raw = fresh.request("GET", "/metrics", headers={"Accept": "text/plain"})
        assert status == 200
        out = {}
        for line in raw.decode().splitlines():
            if line.startswith("container_cpu_cfs_throttled_periods_total{") and f'namespace="{ns}"' in line:
                pod = line.split('pod="', 1)[1].split('"', 1)[0]
                out[pod] = float(line.rsplit(" ", 1)[1])
        return out

    first = fresh.wait_for(lambda: (got := throttled()) and len(got) == 2 and got, timeout=10)
    assert set(first) == {"limit-50m", "limit-100m"}  # an unlimited container has no CFS quota to be held at
    second = fresh.wait_for(lambda: (got := throttled()) and all(got[k] > first[k] for k in first) and got, timeout=10)
    assert all(v > 0 for v in second.values())


def test_a_container_past_its_memory_limit_is_oomkilled(fresh: Cluster, ns: str, kubectl_bin: Path) -> None:
    _create(fresh, ns, _pod("eater", EATER, {"cpu": "500m", "memory": "64Mi"}))
    _create(fresh, ns, _pod("eater-once", EATER, {"cpu": "500m", "memory": "64Mi"}, restartPolicy="Never"))

    def killed_twice() -> dict[str, Any] | None:
        cs = (_get(fresh, ns, "eater").get("status") or {}).get("containerStatuses") or [{}]
        return cs[0] if cs[0].get("restartCount", 0) >= 2 else None

    status = fresh.wait_for(killed_twice, timeout=30, interval=0.2)
    last = status["lastState"]["terminated"]
    assert (last["reason"], last["exitCode"]) == ("OOMKilled", 137)
    # The second kill sends it into back-off, as a kubelet does on repeats.
    fresh.wait_for(
        lambda: (
            (_get(fresh, ns, "eater")["status"]["containerStatuses"][0]["state"].get("waiting") or {}).get("reason")
            == "CrashLoopBackOff"
        ),
        timeout=15,
    )
    table = fresh.kubectl(kubectl_bin, "get", "pods", "-n", ns, "--no-headers").stdout
    rows = {line.split()[0]: line.split() for line in table.splitlines()}
    assert rows["eater"][2] == "CrashLoopBackOff" and int(rows["eater"][3]) >= 2, table
    fresh.wait_for(lambda: _get(fresh, ns, "eater-once")["status"]["phase"] == "Failed", timeout=20)
    once = fresh.kubectl(kubectl_bin, "get", "pod", "eater-once", "-n", ns, "--no-headers").stdout.split()
    assert once[1:4] == ["0/1", "OOMKilled", "0"], once

    describe = fresh.kubectl(kubectl_bin, "describe", "pod", "eater", "-n", ns).stdout
    assert "Last State:     Terminated" in describe
    assert "Reason:       OOMKilled" in describe and "Exit Code:    137" in describe
    assert "Limits:\n      cpu:     500m\n      memory:  64Mi" in describe

    # The killed container's own output: it got past the first chunks and no further than its limit allows.
    previous = fresh.kubectl(kubectl_bin, "logs", "eater", "-n", ns, "--previous").stdout.splitlines()
    assert previous and previous[0] == "holding 8 MiB"
    assert 8 <= int(previous[-1].split()[1]) <= 64, previous[-1]

    events = json.loads(
        fresh.kubectl(kubectl_bin, "get", "events", "-A", "--field-selector", "reason=SystemOOM", "-o", "json").stdout
    )["items"]
    assert events and all(e["involvedObject"]["kind"] == "Node" for e in events)
    assert events[0]["message"].startswith("System OOM encountered, victim process: python3, pid: ")
    backoff = fresh.kubectl(kubectl_bin, "get", "events", "-n", ns, "--field-selector", "reason=BackOff").stdout
    assert "Back-off restarting failed container main in pod eater_" in backoff

    status_code, _, raw = fresh.request("GET", "/metrics", headers={"Accept": "text/plain"})
    assert status_code == 200
    text = raw.decode()
    assert any(
        line.startswith("kube_pod_container_status_last_terminated_reason{")
        and f'namespace="{ns}"' in line
        and 'pod="eater"' in line
        and 'reason="OOMKilled"' in line
        and line.endswith(" 1")
        for line in text.splitlines()
    )


def test_pods_are_placed_by_their_requests(fresh: Cluster, ns: str, kubectl_bin: Path) -> None:
    node = json.loads(fresh.kubectl(kubectl_bin, "get", "node", "sockshop-worker", "-o", "json").stdout)
    cores = int(node["status"]["allocatable"]["cpu"])
    assert cores == psutil.cpu_count()  # KIND's nodes report the host's CPUs
    _, pods = fresh.json("GET", "/api/v1/pods?fieldSelector=spec.nodeName%3Dsockshop-worker")
    busy = [p for p in pods["items"] if p["status"].get("phase") not in ("Succeeded", "Failed")]
    free = cores * 1000 - sum(pod_requests(p)[0] for p in busy)  # what the other tests' pods left
    big = {"cpu": f"{free - 500}m", "memory": "64Mi"}
    _create(fresh, ns, _pod("big", ["python3", "-c", "import time; time.sleep(3600)"], big))
    fresh.wait_for(lambda: _get(fresh, ns, "big")["spec"].get("nodeName") == "sockshop-worker", timeout=10)
    _create(fresh, ns, _pod("too-big", ["python3", "-c", "pass"], {"cpu": "600m", "memory": "64Mi"}))

    def pending_reason() -> str:
        conds = _get(fresh, ns, "too-big").get("status", {}).get("conditions") or []
        return next((c.get("message", "") for c in conds if c["type"] == "PodScheduled"), "")

    message = fresh.wait_for(pending_reason, timeout=10)
    assert message.startswith("0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint"), message
    assert _get(fresh, ns, "too-big")["status"]["phase"] == "Pending"
    events = fresh.kubectl(kubectl_bin, "get", "events", "-n", ns, "--field-selector", "reason=FailedScheduling")
    assert "Insufficient cpu" in events.stdout

    # Room frees up when the big pod goes: the pending one is scheduled without anyone touching it.
    fresh.kubectl(kubectl_bin, "delete", "pod", "big", "-n", ns, "--grace-period=1")
    fresh.wait_for(lambda: _get(fresh, ns, "too-big")["spec"].get("nodeName") == "sockshop-worker", timeout=15)


def test_the_node_says_how_limits_are_enforced(fresh: Cluster, kubectl_bin: Path) -> None:
    driver = detect(cgroup_name(fresh.state))
    describe = fresh.kubectl(kubectl_bin, "describe", "node", "sockshop-worker").stdout
    assert "ResourceEnforcement" in describe
    line = next(x for x in describe.splitlines() if x.strip().startswith("ResourceEnforcement"))
    if driver.enforced_by_kernel:
        assert " True " in line and driver.name.replace(" ", "").lower() in line.lower().replace(" ", "")
    else:
        assert " False " in line and "KubeletFallback" in line


def test_cgroups_go_with_their_pods_and_on_down(tmp_path: Path, kubectl_bin: Path) -> None:
    cluster = make_cluster(tmp_path)
    driver = detect(cgroup_name(cluster.state))
    if not driver.enforced_by_kernel:
        pytest.skip(f"no cgroups on this machine: {driver.description}")
    with running_cluster(tmp_path, cluster):
        ns = cluster.namespace("cg")
        pod = _create(cluster, ns, _pod("sleeper", ["python3", "-c", "import time; time.sleep(3600)"], {"cpu": "50m"}))
        _wait_pid(cluster, pod)
        uid = pod["metadata"]["uid"]
        assert any(uid in path for path in driver.leftovers())
        cluster.kubectl(kubectl_bin, "delete", "pod", "sleeper", "-n", ns, "--grace-period=1")
        cluster.wait_for(lambda: not any(uid in path for path in driver.leftovers()), timeout=15)
        # A server killed hard leaves its pods' cgroups; `down` removes them with the pods' processes.
        left = _create(cluster, ns, _pod("left", ["python3", "-c", "import time; time.sleep(3600)"], {"cpu": "50m"}))
        _wait_pid(cluster, left)
        cluster.record_pod_pids()
        os.kill(cluster.pid, signal.SIGKILL)
        cluster.wait_for(lambda: not alive(cluster.pid), timeout=10)
        assert any(left["metadata"]["uid"] in path for path in driver.leftovers())
    assert driver.leftovers() == []


def test_without_cgroups_the_kubelet_enforces_limits_itself_and_says_so(tmp_path: Path, kubectl_bin: Path) -> None:
    cluster = make_cluster(tmp_path)
    try:
        cluster.up("--cgroups", "none")
        node = cluster.kubectl(kubectl_bin, "describe", "node", "sockshop-worker").stdout
        line = next(x for x in node.splitlines() if x.strip().startswith("ResourceEnforcement"))
        assert " False " in line and "KubeletFallback" in line and "SIGSTOP/SIGCONT" in node, line
        ns = cluster.namespace("fallback")
        hog = _create(cluster, ns, _pod("hog", HOG, {"cpu": "50m", "memory": "64Mi"}))
        _create(cluster, ns, _pod("eater", EATER, {"cpu": "500m", "memory": "64Mi"}, restartPolicy="Never"))
        pid = _wait_pid(cluster, hog)
        time.sleep(1.0)
        (share,) = _cpu_share([pid], 6.0)
        assert abs(share - 0.05) <= 0.02, f"50m used {share:.3f} of a core under the kubelet's own enforcement"
        cluster.wait_for(lambda: _get(cluster, ns, "eater")["status"]["phase"] == "Failed", timeout=20)
        term = _get(cluster, ns, "eater")["status"]["containerStatuses"][0]["state"]["terminated"]
        assert (term["reason"], term["exitCode"]) == ("OOMKilled", 137)
    finally:
        cluster.down()
