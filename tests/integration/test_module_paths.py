"""Every module gives the same result as a module process (how Ansible runs it on a remote host) and in the
Ansible worker process (how this project runs it on the controller, plugins/action).

Each module runs as an ad-hoc `ansible` task against the session's embedded cluster, once with
`sockshop_in_process=false` (the AnsiballZ payload, a new interpreter, main()) and once in-process, from the same
starting state; the two JSON results must be equal but for what measures time. Successes and refusals both.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import ROOT, VENV_BIN, Cluster
from tests.procs import run_bounded

pytestmark = pytest.mark.integration

MODULES = sorted(p.stem for p in (ROOT / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
# Values that measure time or name the moment of the run: they differ between two runs of anything.
VOLATILE = {
    "loaded_at",
    "answered_at",
    "written_at",
    "waited_s",
    "latency_s",
    "time_to_expect_s",
    "time_to_signal_s",
    "taken_at",
    "generated_at",
    "elapsed_s",
    "tables",  # kubectl's tables, whose AGE column moves on between the two runs
}


@dataclass
class Case:
    module: str
    args: Callable[[Cluster, str, Path], dict[str, Any]]
    setup: Callable[[Cluster, str, Path], None] = field(default=lambda cluster, ns, tmp: None)
    fails: bool = False


def deployment(cluster: Cluster, ns: str, name: str, replicas: int = 1) -> None:
    """A Deployment `name` at `replicas`, created or scaled; its pods are placeholders that run at once."""
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]},
            },
        },
    }
    status, _ = cluster.json("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    if status == 404:
        assert cluster.json("POST", f"/apis/apps/v1/namespaces/{ns}/deployments", body)[0] == 201
    else:
        patch = {"spec": {"replicas": replicas}}
        path = f"/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale"
        merge = {"Content-Type": "application/merge-patch+json"}
        assert cluster.request("PATCH", path, json.dumps(patch), headers=merge)[0] == 200

    def available() -> bool:
        got = cluster.json("GET", f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")[1]
        return int((got.get("status") or {}).get("availableReplicas") or 0) == replicas

    cluster.wait_for(available, timeout=20)


def kube(cluster: Cluster, ns: str) -> dict[str, Any]:
    return {"kubeconfig": str(cluster.kubeconfig), "context": "local-sockshop", "namespace": ns}


JOURNAL = {
    "incident": "6",
    "run_id": "run-paths",
    "phases": {"activate": {"started_at": "2026-11-23T08:24:40.000Z", "ended_at": "2026-11-23T08:24:45.000Z"}},
}
CATALOG = str(ROOT / "incidents")


def loaded_incident() -> dict[str, Any]:
    from plugins.modules import incident_load

    return dict(incident_load.load_incident(CATALOG, "6")["incident"])


def write_journal(cluster: Cluster, ns: str, tmp: Path) -> None:
    (tmp / "reports" / ".runs").mkdir(parents=True, exist_ok=True)
    (tmp / "reports" / ".runs" / "incident-6.json").write_text(json.dumps(JOURNAL))
    for report in (tmp / "reports").glob("incident-6-*"):
        for path in report.iterdir():
            path.unlink()


ORDERS = [
    {"id": "o1", "customerId": "c1", "status": "PAYMENT_FAILED", "total": 104.98, "date": "2026-11-23T08:24:46Z"},
    {"id": "o2", "customerId": "c2", "status": "PAID", "total": 19.99, "date": "2026-11-23T08:25:00Z"},
]


def write_orders(tmp: Path) -> None:
    (tmp / "orders.json").write_text(json.dumps(ORDERS))


def series_args(cluster: Cluster, ns: str, **extra: Any) -> dict[str, Any]:
    """incident_series over a fixed window (nothing in its result measures time), reading INCIDENT-6's queries."""
    auth = {k: v for k, v in kube(cluster, ns).items() if k != "namespace"}  # Prometheus' namespace is its own
    window = {"start": "2026-11-23T08:24:40.000Z", "end": "2026-11-23T08:34:40.000Z"}
    return {**auth, "queries": loaded_incident()["queries"], "names": ["replicas_available"], **window, **extra}


GATEWAY = {"api_version": "apps/v1", "kind": "Deployment", "name": "gw"}
CASES = [
    Case("incident_lock", lambda c, ns, t: {**kube(c, ns), "incident_id": "6", "state": "query"}),
    Case("incident_lock", lambda c, ns, t: {**kube(c, ns), "incident_id": "6", "state": "present"}, fails=True),
    Case(
        "incident_ledger",
        lambda c, ns, t: {**kube(c, ns), "incident_id": "6", "state": "absent", "release_lock": True},
    ),
    Case(
        "incident_fault",
        lambda c, ns, t: {
            **kube(c, ns),
            "faults": [{"step": 0, "type": "scale_to_zero", "object": GATEWAY}],
            "wait_s": 30,
        },
        setup=lambda c, ns, t: deployment(c, ns, "gw", 1),
    ),
    Case(
        "incident_fault",
        lambda c, ns, t: {**kube(c, ns), "state": "absent", "objects": [dict(GATEWAY, fields={"/spec/replicas": 2})]},
        setup=lambda c, ns, t: deployment(c, ns, "gw", 0),
    ),
    Case(
        "workloads_available",
        lambda c, ns, t: {**kube(c, ns), "names": ["web"], "wait_s": 5},
        setup=lambda c, ns, t: deployment(c, ns, "web", 1),
    ),
    Case("workloads_available", lambda c, ns, t: {**kube(c, ns), "names": ["web", "missing"]}, fails=True),
    Case("responder_access", lambda c, ns, t: {**kube(c, ns), "state": "absent", "path": str(t / "r.kubeconfig")}),
    Case(
        "responder_access",
        lambda c, ns, t: {**kube(c, ns), "path": str(t / "r.kubeconfig"), "expiration_s": 60},
        fails=True,
    ),
    Case(
        "incident_signals",
        lambda c, ns, t: {
            **kube(c, ns),
            "incident_id": "6",
            "since": "2026-11-23T08:24:46.000Z",
            "signals": [
                {"name": "web", "kind": "k8s_state", "within_s": 1, "check": {"deployment": "web", "available": 1}}
            ],
        },
        setup=lambda c, ns, t: deployment(c, ns, "web", 1),
    ),
    # No Prometheus Service in the test's namespace: the proxy's 404 is returned as unanswered, not a failure.
    Case("incident_series", lambda c, ns, t: series_args(c, ns, prometheus_service=f"{ns}/prometheus:9090")),
    Case("incident_series", lambda c, ns, t: series_args(c, ns, end="2026-11-23T08:00:00Z"), fails=True),
    Case("namespace_snapshot", lambda c, ns, t: {**kube(c, ns), "path": str(t / "baseline.json"), "force": True}),
    Case(
        "namespace_snapshot",
        lambda c, ns, t: {**kube(c, ns), "configmap": "b", "configmap_namespace": f"{ns}-incidents", "state": "diff"},
        fails=True,  # no baseline recorded there
    ),
    Case("payment_probe", lambda c, ns, t: {**kube(c, ns), "service": "payment", "timeout": 5}),
    Case("place_orders", lambda c, ns, t: {**kube(c, ns), "count": 1, "customers": 1, "budget_s": 5}, fails=True),
    Case(
        "order_reconcile",
        lambda c, ns, t: {"src": str(t / "orders.json"), "since": "2026-11-23T08:00:00Z"},
        setup=lambda c, ns, t: write_orders(t),
    ),
    Case("local_cluster", lambda c, ns, t: {"state": "stopped", "state_dir": str(t / "no-cluster")}),
    Case("incident_load", lambda c, ns, t: {"id": "6", "catalog_dir": CATALOG}),
    Case("incident_load", lambda c, ns, t: {"id": "99", "catalog_dir": CATALOG}, fails=True),
    Case(
        "incident_report",
        lambda c, ns, t: {"state": "render", "incident": loaded_incident(), "reports_dir": str(t / "reports")},
        setup=write_journal,
    ),
    Case(
        "incident_sentinel",
        lambda c, ns, t: {**kube(c, ns), "incident_id": "6", "target_namespace": ns, "state": "absent"},
    ),
    Case(
        "incident_sentinel",
        lambda c, ns, t: {**kube(c, ns), "incident_id": "6", "target_namespace": ns, "state": "read"},
        fails=True,
    ),
    Case(
        "namespace_state",
        lambda c, ns, t: {**kube(c, ns), "endpoints": ["web"], "events_since": "2000-01-01T00:00:00Z"},
        setup=lambda c, ns, t: deployment(c, ns, "web", 1),
    ),
    Case("namespace_state", lambda c, ns, t: {**kube(c, ns), "events_since": "yesterday"}, fails=True),
    Case(
        "incident_grade",
        lambda c, ns, t: {
            "incident": loaded_incident(),
            "answer": str(ROOT / "examples" / "answers" / "incident-6-correct.json"),
            "schema_path": str(Path(CATALOG) / "answer.schema.json"),
            "scoreboard": str(t / "scoreboard.csv"),
            "graded_at": "2026-12-07T11:38:01.450Z",
        },
    ),
    Case(
        "incident_grade",
        lambda c, ns, t: {
            "incident": loaded_incident(),
            "answer": {"detected": True},
            "schema_path": str(Path(CATALOG) / "answer.schema.json"),
        },
        fails=True,
    ),
]


def run_task(cluster: Cluster, module: str, args: dict[str, Any], in_process: bool) -> dict[str, Any]:
    env = dict(cluster.env, ANSIBLE_LOAD_CALLBACK_PLUGINS="1", ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    env.pop("KUBECONFIG", None)
    command = [
        str(VENV_BIN / "ansible"),
        "local-sockshop",
        "-i",
        str(ROOT / "inventories" / "local"),
        "-m",
        module,
        "-a",
        json.dumps(args),
        "-e",
        f"sockshop_in_process={str(in_process).lower()}",
    ]
    done = run_bounded(command, 180, cwd=ROOT, env=env)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        raise AssertionError(f"{module}: no JSON result:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}") from None
    return dict(report["plays"][0]["tasks"][0]["hosts"]["local-sockshop"])


def comparable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: comparable(v) for k, v in value.items() if k not in VOLATILE and not k.startswith("_ansible")}
    if isinstance(value, list):
        return [comparable(v) for v in value]
    return value


def test_every_module_has_a_case() -> None:
    assert sorted({case.module for case in CASES}) == MODULES


@pytest.mark.parametrize("case", CASES, ids=[f"{c.module}-{'refused' if c.fails else 'ok'}" for c in CASES])
def test_module_process_and_in_process_give_the_same_result(
    cluster: Cluster, ns: str, tmp_path: Path, case: Case
) -> None:
    results = {}
    for in_process in (False, True):
        case.setup(cluster, ns, tmp_path)
        results[in_process] = run_task(cluster, case.module, case.args(cluster, ns, tmp_path), in_process)
    process, here = results[False], results[True]
    assert bool(process.get("failed")) is case.fails, process
    assert comparable(here) == comparable(process)
    if case.fails:
        assert here["msg"] == process["msg"] and "Traceback" not in here["msg"]
