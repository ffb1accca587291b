"""Init containers run as a kubelet runs them, in order and to completion before the app containers: what real
kubectl shows of them (Init:0/1, PodInitializing, Init:Error, Init:CrashLoopBackOff, their logs, exec into them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration
WAIT_FOR_GO = "echo waiting for go; until test -e /work/go; do sleep 0.2; done; echo init done"


def _apply(cluster: Cluster, k: Path, ns: str, pod: dict[str, Any]) -> None:
    cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=json.dumps(pod))


def _pod(name: str, init: list[str], app: list[str], restart: str = "Always") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "restartPolicy": restart,
            "volumes": [{"name": "work", "emptyDir": {}}],
            "initContainers": [
                {
                    "name": "init",
                    "image": "busybox",
                    "command": init,
                    "volumeMounts": [{"name": "work", "mountPath": "/work"}],
                }
            ],
            "containers": [
                {
                    "name": "app",
                    "image": "busybox",
                    "command": app,
                    "volumeMounts": [{"name": "work", "mountPath": "/work"}],
                }
            ],
        },
    }


def _get(cluster: Cluster, k: Path, ns: str, name: str) -> dict[str, Any]:
    return dict(json.loads(cluster.kubectl(k, "-n", ns, "get", "pod", name, "-o", "json").stdout))


def _row(cluster: Cluster, k: Path, ns: str, name: str) -> list[str]:
    """READY and STATUS of `kubectl get pod`."""
    line = cluster.kubectl(k, "-n", ns, "get", "pod", name, "--no-headers").stdout.split()
    return line[1:3]


def _condition(pod: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(c for c in pod["status"]["conditions"] if c["type"] == kind)


def test_init_container_runs_before_the_app(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    _apply(cluster, k, ns, _pod("web", ["sh", "-c", WAIT_FOR_GO], ["sh", "-c", "echo app started; sleep 600"]))

    def initializing() -> dict[str, Any] | None:
        pod = _get(cluster, k, ns, "web")
        inits = pod["status"].get("initContainerStatuses") or []
        return pod if inits and inits[0].get("started") else None

    pod = cluster.wait_for(initializing, timeout=20, interval=0.2)
    assert _row(cluster, k, ns, "web") == ["0/1", "Init:0/1"]
    init = pod["status"]["initContainerStatuses"][0]
    assert "running" in init["state"] and init["ready"] is False
    app = pod["status"]["containerStatuses"][0]
    assert app["state"] == {"waiting": {"reason": "PodInitializing"}} and app["started"] is False
    initialized = _condition(pod, "Initialized")
    assert (initialized["status"], initialized["reason"], initialized["message"]) == (
        "False",
        "ContainersNotInitialized",
        "containers with incomplete status: [init]",
    )
    assert pod["status"]["phase"] == "Pending"
    # The app container does not run yet: nothing to exec into; the init container is there.
    refused = cluster.kubectl(k, "-n", ns, "exec", "web", "-c", "app", "--", "true", check=False)
    assert refused.returncode != 0 and 'container not found ("app")' in refused.stderr
    cluster.kubectl(k, "-n", ns, "exec", "web", "-c", "init", "--", "touch", "/work/go")

    def running() -> dict[str, Any] | None:
        got = _get(cluster, k, ns, "web")
        return got if got["status"].get("phase") == "Running" and _condition(got, "Ready")["status"] == "True" else None

    pod = cluster.wait_for(running, timeout=20, interval=0.2)
    assert _row(cluster, k, ns, "web") == ["1/1", "Running"]
    init = pod["status"]["initContainerStatuses"][0]
    assert init["state"]["terminated"]["reason"] == "Completed" and init["state"]["terminated"]["exitCode"] == 0
    assert _condition(pod, "Initialized")["status"] == "True"
    assert cluster.kubectl(k, "-n", ns, "logs", "web", "-c", "init").stdout == "waiting for go\ninit done\n"
    cluster.wait_for(lambda: cluster.kubectl(k, "-n", ns, "logs", "web", "-c", "app").stdout == "app started\n")
    out = cluster.kubectl(k, "-n", ns, "logs", "web", check=False)
    assert out.stdout == "app started\n", out.stderr


def test_a_failed_init_container_fails_a_pod_that_never_restarts(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    _apply(cluster, k, ns, _pod("once", ["sh", "-c", "echo no luck >&2; exit 3"], ["sleep", "600"], "Never"))

    def failed() -> dict[str, Any] | None:
        got = _get(cluster, k, ns, "once")
        return got if got["status"].get("phase") == "Failed" else None

    pod = cluster.wait_for(failed, timeout=20, interval=0.2)
    assert _row(cluster, k, ns, "once") == ["0/1", "Init:Error"]
    term = pod["status"]["initContainerStatuses"][0]["state"]["terminated"]
    assert (term["exitCode"], term["reason"]) == (3, "Error")
    assert pod["status"]["containerStatuses"][0]["state"] == {"waiting": {"reason": "PodInitializing"}}
    assert cluster.kubectl(k, "-n", ns, "logs", "once", "-c", "init").stdout == "no luck\n"


def test_a_failing_init_container_backs_off(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    k = kubectl_bin
    _apply(cluster, k, ns, _pod("loop", ["sh", "-c", "exit 1"], ["sleep", "600"]))
    cluster.wait_for(lambda: _row(cluster, k, ns, "loop") == ["0/1", "Init:CrashLoopBackOff"], timeout=20, interval=0.2)
    pod = _get(cluster, k, ns, "loop")
    init = pod["status"]["initContainerStatuses"][0]
    assert init["restartCount"] >= 1 and init["lastState"]["terminated"]["exitCode"] == 1
    assert pod["status"]["phase"] == "Pending"
    events = cluster.kubectl(k, "-n", ns, "get", "events", "--field-selector", "involvedObject.name=loop").stdout
    assert "Back-off restarting failed container init in pod loop_" in events
    # A pod without a container name chooses among the app and init containers.
    out = cluster.kubectl(k, "-n", ns, "logs", "loop", "-c", "nope", check=False)
    assert "container nope is not valid for pod loop" in out.stderr


def test_placeholder_containers_and_init_containers(cluster: Cluster, ns: str, kubectl_bin: Path) -> None:
    """A placeholder app container (nginx) starts once a real init container is done; a placeholder init
    container completes at once."""
    k = kubectl_bin
    mixed = _pod("mixed", ["sh", "-c", "echo prepared"], ["unused"])
    mixed["spec"]["containers"] = [{"name": "app", "image": "nginx:1.27"}]
    _apply(cluster, k, ns, mixed)
    only = _pod("only", [], [])
    only["spec"]["initContainers"] = [{"name": "init", "image": "nginx:1.27"}]
    only["spec"]["containers"] = [{"name": "app", "image": "nginx:1.27"}]
    _apply(cluster, k, ns, only)
    for name in ("mixed", "only"):
        cluster.kubectl(k, "-n", ns, "wait", "--for=condition=Ready", f"pod/{name}", "--timeout=20s")
        pod = _get(cluster, k, ns, name)
        init = pod["status"]["initContainerStatuses"][0]
        assert (init["state"]["terminated"]["reason"], init["ready"]) == ("Completed", True)
        assert _row(cluster, k, ns, name) == ["1/1", "Running"]
    assert cluster.kubectl(k, "-n", ns, "logs", "mixed", "-c", "init").stdout == "prepared\n"
