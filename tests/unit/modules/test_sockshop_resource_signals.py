"""sockshop_resource_signals: Kubernetes quantities, and the verdicts of usage (metrics API), termination
(container statuses against the ledger's restart counts) and http (one request through the service proxy)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from ansible.module_utils.sockshop_resource_signals import (
    OPS,
    judge_http,
    judge_termination,
    judge_usage,
    pod_metrics_for,
    quantity,
)

from kubesim.usage import quantity as kubesim_quantity

# ---------------------------------------------------------------- quantity

QUANTITIES: list[tuple[Any, float]] = [
    ("50m", 0.05),
    ("12345678n", 0.012345678),
    ("51234567n", 0.051234567),
    ("250u", 0.00025),
    ("1", 1.0),
    ("1.5", 1.5),
    ("0", 0.0),
    (".5", 0.5),
    ("1.", 1.0),
    ("+2", 2.0),
    ("-100m", -0.1),
    ("128Mi", 134217728.0),
    ("1Gi", 1073741824.0),
    ("1.5Gi", 1610612736.0),
    ("500M", 5e8),
    ("64Ki", 65536.0),
    ("10240Ki", 10485760.0),
    ("2k", 2000.0),
    ("1T", 1e12),
    ("1Ei", 2.0**60),
    ("1e3", 1000.0),
    ("1E3", 1000.0),  # an exponent: E followed by digits
    ("1E", 1e18),  # exa: E alone
    ("5e-3", 0.005),
    ("134217728", 134217728.0),
    (" 100m ", 0.1),
    (1024, 1024.0),
    (0.5, 0.5),
]


@pytest.mark.parametrize(("text", "value"), QUANTITIES, ids=[repr(t) for t, _ in QUANTITIES])
def test_quantity(text: Any, value: float) -> None:
    assert quantity(text) == value
    # The same number the local cluster's own parser (kubesim.usage) reads.
    assert float(kubesim_quantity(text)) == value


MALFORMED = "(want e.g. 50m, 1.5, 128Mi, 500M, 1e3)"
BAD_QUANTITIES: list[tuple[Any, str]] = [
    ("", MALFORMED),
    (" ", MALFORMED),
    ("abc", MALFORMED),
    ("m", MALFORMED),
    ("Mi", MALFORMED),
    (".", MALFORMED),
    ("1.2.3", MALFORMED),
    ("50mm", MALFORMED),
    ("1 Gi", MALFORMED),
    ("1mi", MALFORMED),
    ("1KB", MALFORMED),
    ("1ki", MALFORMED),
    ("1K", MALFORMED),
    ("1e", MALFORMED),
    ("1e3Mi", MALFORMED),  # an exponent and a suffix: resource.Quantity takes one or the other
    ("--1", MALFORMED),
    ("0x10", MALFORMED),
    ("1_000", MALFORMED),
    ("nan", MALFORMED),
    ("inf", MALFORMED),
    ("1e400", "is out of range"),  # beyond a float
    (None, "is a NoneType, not text or a number"),
    (True, "is a bool, not text or a number"),
    ([], "is a list, not text or a number"),
    ({"cpu": "1"}, "is a dict, not text or a number"),
]


@pytest.mark.parametrize(("text", "why"), BAD_QUANTITIES, ids=[repr(t) for t, _ in BAD_QUANTITIES])
def test_bad_quantity_names_the_text(text: Any, why: str) -> None:
    with pytest.raises(ValueError) as raised:
        quantity(text)
    assert str(raised.value) == f"not a Kubernetes quantity: {text!r} {why}"


def test_ops_are_the_engines_comparisons() -> None:
    assert sorted(OPS) == ["eq", "ge", "gt", "le", "lt"]
    assert [OPS[op](1, 1) for op in ("eq", "lt", "le", "gt", "ge")] == [True, False, True, False, True]
    assert [OPS[op](2, 1) for op in ("eq", "lt", "le", "gt", "ge")] == [False, False, False, True, True]
    assert [OPS[op](1, 2) for op in ("eq", "lt", "le", "gt", "ge")] == [False, True, True, False, False]


# ---------------------------------------------------------------- usage

DB = "catalogue-db"
DB_RESOURCES = {"limits": {"cpu": "50m", "memory": "128Mi"}, "requests": {"cpu": "25m", "memory": "64Mi"}}


def pod(
    name: str,
    containers: list[tuple[str, dict[str, Any]]] | None = None,
    phase: str = "Running",
    statuses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """A Pod (v1) with its containers' resources and, optionally, their statuses."""
    spec = [{"name": c, "image": "x", "resources": r} for c, r in (containers or [(DB, DB_RESOURCES)])]
    status: dict[str, Any] = {"phase": phase}
    if statuses is not None:
        status["containerStatuses"] = statuses
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": spec},
        "status": status,
    }


def metrics(name: str, **usage: tuple[str, str]) -> dict[str, Any]:
    """A PodMetrics (metrics.k8s.io/v1beta1): container name -> (cpu, memory)."""
    return {
        "apiVersion": "metrics.k8s.io/v1beta1",
        "kind": "PodMetrics",
        "metadata": {"name": name, "namespace": "sock-shop"},
        "window": "15s",
        "containers": [{"name": c, "usage": {"cpu": cpu, "memory": mem}} for c, (cpu, mem) in usage.items()],
    }


A, B = "catalogue-db-abc", "catalogue-db-new"
HOT = {DB: ("51234567n", "80Mi")}  # 51m of a 50m limit
CPU_AT_LIMIT = {"deployment": DB, "resource": "cpu", "op": "ge", "value": 0.9}
RABBIT = [("rabbitmq", {"limits": {"memory": "256Mi"}}), ("rabbitmq-exporter", {"limits": {"cpu": "100m"}})]

USAGE_CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]], list[dict[str, Any]], bool, str]] = [
    (
        "cpu at the limit",
        CPU_AT_LIMIT,
        [pod(A)],
        [metrics(A, **HOT)],
        True,
        "catalogue-db-abc/catalogue-db: cpu 0.051 of limit 0.05 (102%) (want ge 0.9)",
    ),
    (
        "cpu not yet below half the limit (recovery)",
        dict(CPU_AT_LIMIT, op="lt", value=0.5),
        [pod(A)],
        [metrics(A, **HOT)],
        False,
        "catalogue-db-abc/catalogue-db: cpu 0.051 of limit 0.05 (102%) (want lt 0.5)",
    ),
    (
        "memory share of the limit",
        {"deployment": DB, "resource": "memory", "of": "limit", "op": "ge", "value": 0.7},
        [pod(A)],
        [metrics(A, **{DB: ("1m", "96Mi")})],
        True,
        "catalogue-db-abc/catalogue-db: memory 96Mi of limit 128Mi (75%) (want ge 0.7)",
    ),
    (
        "cpu share of the request",
        dict(CPU_AT_LIMIT, of="request", op="gt", value=2),
        [pod(A)],
        [metrics(A, **HOT)],
        True,
        "catalogue-db-abc/catalogue-db: cpu 0.051 of request 0.025 (205%) (want gt 2)",
    ),
    (
        "a limit without a request requests the limit",
        dict(CPU_AT_LIMIT, of="request"),
        [pod(A, [(DB, {"limits": {"cpu": "50m"}})])],
        [metrics(A, **HOT)],
        True,
        "catalogue-db-abc/catalogue-db: cpu 0.051 of request 0.05 (102%) (want ge 0.9)",
    ),
    (
        "absolute cpu in cores",
        dict(CPU_AT_LIMIT, of="absolute", value=0.04),
        [pod(A)],
        [metrics(A, **HOT)],
        True,
        "catalogue-db-abc/catalogue-db: cpu 0.051 (want ge 0.04)",
    ),
    (
        "absolute cpu below a millicore",
        dict(CPU_AT_LIMIT, of="absolute", op="lt", value=0.01),
        [pod(A)],
        [metrics(A, **{DB: ("300u", "80Mi")})],
        True,
        "catalogue-db-abc/catalogue-db: cpu 0.0003 (want lt 0.01)",
    ),
    (
        "absolute memory in bytes",
        {"deployment": DB, "resource": "memory", "of": "absolute", "op": "lt", "value": 100 * 2**20},
        [pod(A)],
        [metrics(A, **{DB: ("1m", "81920Ki")})],
        True,
        "catalogue-db-abc/catalogue-db: memory 80Mi (want lt 100Mi)",
    ),
    (
        "no limit to compare with",
        CPU_AT_LIMIT,
        [pod(A, [(DB, {})])],
        [metrics(A, **HOT)],
        False,
        "catalogue-db-abc/catalogue-db: cpu 0.051, but the container has no cpu limit",
    ),
    (
        "a zero limit",
        CPU_AT_LIMIT,
        [pod(A, [(DB, {"limits": {"cpu": "0"}})])],
        [metrics(A, **HOT)],
        False,
        "catalogue-db-abc/catalogue-db: cpu 0.051, but the container has a zero (0) cpu limit",
    ),
    ("no pods", CPU_AT_LIMIT, [], [], False, "deployment catalogue-db has no pods"),
    (
        "a pod without metrics yet",
        CPU_AT_LIMIT,
        [pod(A), pod(B)],
        [metrics(A, **HOT)],
        False,
        "catalogue-db-abc/catalogue-db: cpu 0.051 of limit 0.05 (102%) (want ge 0.9); no metrics for pod "
        "catalogue-db-new yet",
    ),
    (
        "metrics missing altogether",
        CPU_AT_LIMIT,
        [pod(A)],
        [],
        False,
        "no metrics for pod catalogue-db-abc yet",
    ),
    (
        "every pod must hold",
        CPU_AT_LIMIT,
        [pod(A), pod(B)],
        [metrics(A, **HOT), metrics(B, **{DB: ("20m", "80Mi")})],
        False,
        "catalogue-db-abc/catalogue-db: cpu 0.051 of limit 0.05 (102%) (want ge 0.9); "
        "catalogue-db-new/catalogue-db: cpu 0.02 of limit 0.05 (40%) (want ge 0.9)",
    ),
    (
        "every pod must hold, whichever comes first",
        CPU_AT_LIMIT,
        [pod(B), pod(A)],
        [metrics(A, **HOT), metrics(B, **{DB: ("20m", "80Mi")})],
        False,
        "catalogue-db-new/catalogue-db: cpu 0.02 of limit 0.05 (40%) (want ge 0.9); "
        "catalogue-db-abc/catalogue-db: cpu 0.051 of limit 0.05 (102%) (want ge 0.9)",
    ),
    (
        "a named container",
        {"deployment": "rabbitmq", "container": "rabbitmq-exporter", "resource": "cpu", "op": "lt", "value": 0.5},
        [pod("rabbitmq-1", RABBIT)],
        [metrics("rabbitmq-1", rabbitmq=("300m", "200Mi"), **{"rabbitmq-exporter": ("10m", "20Mi")})],
        True,
        "rabbitmq-1/rabbitmq-exporter: cpu 0.01 of limit 0.1 (10%) (want lt 0.5)",
    ),
    (
        "the first container by default",
        {"deployment": "rabbitmq", "resource": "memory", "op": "ge", "value": 0.75},
        [pod("rabbitmq-1", RABBIT)],
        [metrics("rabbitmq-1", **{"rabbitmq-exporter": ("10m", "20Mi")}, rabbitmq=("300m", "200Mi"))],
        True,
        "rabbitmq-1/rabbitmq: memory 200Mi of limit 256Mi (78%) (want ge 0.75)",
    ),
    (
        "a container the pod does not have",
        dict(CPU_AT_LIMIT, container="mysql"),
        [pod(A)],
        [metrics(A, **HOT)],
        False,
        "pod catalogue-db-abc has no container mysql",
    ),
    (
        "a container the metrics do not measure yet",
        {"deployment": "rabbitmq", "container": "rabbitmq-exporter", "resource": "cpu", "op": "lt", "value": 0.5},
        [pod("rabbitmq-1", RABBIT)],
        [metrics("rabbitmq-1", rabbitmq=("300m", "200Mi"))],
        False,
        "no cpu metrics for rabbitmq-1/rabbitmq-exporter yet",
    ),
    (
        "a finished pod is not measured",
        CPU_AT_LIMIT,
        [pod("catalogue-db-old", phase="Failed"), pod(A)],
        [metrics(A, **HOT)],
        True,
        "catalogue-db-old is Failed, not measured; catalogue-db-abc/catalogue-db: cpu 0.051 of limit 0.05 (102%) "
        "(want ge 0.9)",
    ),
    (
        "only finished pods",
        CPU_AT_LIMIT,
        [pod("catalogue-db-old", phase="Failed")],
        [],
        False,
        "deployment catalogue-db has no running pods: catalogue-db-old is Failed, not measured",
    ),
    (
        "a usage that is no quantity",
        CPU_AT_LIMIT,
        [pod(A)],
        [metrics(A, **{DB: ("lots", "80Mi")})],
        False,
        "catalogue-db-abc/catalogue-db: not a Kubernetes quantity: 'lots' (want e.g. 50m, 1.5, 128Mi, 500M, 1e3)",
    ),
]


@pytest.mark.parametrize(
    ("check", "pods", "pod_metrics", "ok", "evidence"),
    [case[1:] for case in USAGE_CASES],
    ids=[case[0] for case in USAGE_CASES],
)
def test_usage(
    check: dict[str, Any], pods: list[dict[str, Any]], pod_metrics: list[dict[str, Any]], ok: bool, evidence: str
) -> None:
    assert judge_usage(check, pods, pod_metrics) == (ok, evidence)


BAD_USAGE_CHECKS: list[tuple[dict[str, Any], str]] = [
    (dict(CPU_AT_LIMIT, resource="disk"), "check.resource must be one of cpu, memory, not 'disk'"),
    (dict(CPU_AT_LIMIT, of="max"), "check.of must be one of limit, request, absolute, not 'max'"),
    (dict(CPU_AT_LIMIT, op="gte"), "check.op: unknown op 'gte' (one of eq, lt, le, gt, ge)"),
    (dict(CPU_AT_LIMIT, value="0.9"), "check.value must be a number, not '0.9'"),
    (dict(CPU_AT_LIMIT, value=True), "check.value must be a number, not True"),
    (dict(CPU_AT_LIMIT, limit="50m"), "unknown usage check fields ['limit']"),
]


@pytest.mark.parametrize(("check", "message"), BAD_USAGE_CHECKS, ids=[m for _, m in BAD_USAGE_CHECKS])
def test_usage_bad_check(check: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        judge_usage(check, [pod(A)], [metrics(A, **HOT)])


def test_usage_check_without_op_is_a_missing_field() -> None:
    with pytest.raises(KeyError, match="op"):
        judge_usage({"deployment": DB, "resource": "cpu", "value": 0.9}, [pod(A)], [metrics(A, **HOT)])


def test_pod_metrics_for_picks_the_pods_in_their_order() -> None:
    items = [metrics("other", x=("1m", "1Mi")), metrics(A, **HOT), metrics(B, **HOT)]
    assert pod_metrics_for(items, [pod(B), pod(A)]) == [items[2], items[1]]
    assert pod_metrics_for(items, [pod("catalogue-db-gone")]) == []
    assert pod_metrics_for([], [pod(A)]) == []


# ---------------------------------------------------------------- termination

FE = "front-end"
AT = "2026-11-23T08:30:01Z"
OOM = {"terminated": {"exitCode": 137, "reason": "OOMKilled", "startedAt": "2026-11-23T08:29:40Z", "finishedAt": AT}}
LIVENESS_KILL = {"terminated": {"exitCode": 137, "reason": "Error", "finishedAt": AT}}
CRASHED = {"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": AT}}
RUNNING = {"running": {"startedAt": "2026-11-23T08:31:00Z"}}
BACKOFF = {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 40s restarting failed container=front-end"}}


def cstatus(restarts: int, state: dict[str, Any], last: dict[str, Any] | None = None, name: str = FE) -> dict[str, Any]:
    """A container status as the kubelet reports it."""
    return {
        "name": name,
        "ready": "running" in state,
        "restartCount": restarts,
        "state": state,
        "lastState": last or {},
    }


def fe_pod(name: str, *statuses: dict[str, Any]) -> dict[str, Any]:
    return pod(name, [(s["name"], {}) for s in statuses] or [(FE, {})], statuses=list(statuses))


OOM_LOOP = {
    "deployment": FE,
    "reason": "OOMKilled",
    "exit_code": 137,
    "state": "CrashLoopBackOff",
    "restarts_increased_by": {"op": "ge", "value": 3},
}
ZERO_RESTARTS = {"deployment": FE, "restarts_increased_by": {"op": "eq", "value": 0}}

TERMINATION_CASES: list[tuple[str, dict[str, Any], list[dict[str, Any]], dict[str, Any], bool, str]] = [
    (
        "CrashLoopBackOff after an OOMKill, exit 137",
        OOM_LOOP,
        [fe_pod("front-end-7d9", cstatus(7, BACKOFF, OOM))],
        {"front-end-7d9": {FE: 2}},
        True,
        "restarts +5 (want ge 3); front-end-7d9/front-end last terminated OOMKilled exit 137; "
        "front-end-7d9/front-end waiting CrashLoopBackOff; front-end-7d9/front-end: restarts 7 (recorded 2), "
        "last OOMKilled exit 137 at 2026-11-23T08:30:01Z, now waiting CrashLoopBackOff",
    ),
    (
        "killed by the liveness probe, not OOMKilled",
        OOM_LOOP,
        [fe_pod("front-end-7d9", cstatus(7, BACKOFF, LIVENESS_KILL))],
        {"front-end-7d9": {FE: 2}},
        False,
        "restarts +5 (want ge 3); no container terminated OOMKilled exit 137; front-end-7d9/front-end waiting "
        "CrashLoopBackOff; front-end-7d9/front-end: restarts 7 (recorded 2), last Error exit 137 at "
        "2026-11-23T08:30:01Z, now waiting CrashLoopBackOff",
    ),
    (
        "exit code alone",
        {"deployment": FE, "exit_code": 137},
        [fe_pod("front-end-7d9", cstatus(3, RUNNING, LIVENESS_KILL))],
        {"front-end-7d9": {FE: 2}},
        True,
        "front-end-7d9/front-end last terminated Error exit 137; front-end-7d9/front-end: restarts 3 (recorded 2), "
        "last Error exit 137 at 2026-11-23T08:30:01Z, now running",
    ),
    (
        "the reason with another exit code",
        {"deployment": FE, "reason": "OOMKilled", "exit_code": 1},
        [fe_pod("front-end-7d9", cstatus(7, BACKOFF, OOM))],
        {"front-end-7d9": {FE: 2}},
        False,
        "no container terminated OOMKilled exit 1; front-end-7d9/front-end: restarts 7 (recorded 2), "
        "last OOMKilled exit 137 at 2026-11-23T08:30:01Z, now waiting CrashLoopBackOff",
    ),
    (
        "terminated right now, before its first restart",
        {"deployment": FE, "reason": "OOMKilled"},
        [fe_pod("front-end-7d9", cstatus(0, OOM))],
        {"front-end-7d9": {FE: 0}},
        True,
        "front-end-7d9/front-end terminated OOMKilled exit 137; front-end-7d9/front-end: restarts 0 (recorded 0), "
        "now terminated OOMKilled exit 137 at 2026-11-23T08:30:01Z",
    ),
    (
        "running, not waiting",
        {"deployment": FE, "state": "CrashLoopBackOff"},
        [fe_pod("front-end-7d9", cstatus(2, RUNNING))],
        {"front-end-7d9": {FE: 2}},
        False,
        "no container waiting CrashLoopBackOff; front-end-7d9/front-end: restarts 2 (recorded 2), now running",
    ),
    (
        "replaced since the recording: the new pod counts from 0",
        {"deployment": FE, "restarts_increased_by": {"op": "eq", "value": 1}},
        [fe_pod("front-end-new", cstatus(1, RUNNING, CRASHED))],
        {"front-end-old": {FE: 4}},
        True,
        "restarts +1 (want eq 1); front-end-new/front-end: restarts 1 (new since the recording), last Error exit 1 "
        "at 2026-11-23T08:30:01Z, now running; gone since the recording: front-end-old",
    ),
    (
        "restarted and replaced pods add up",
        {"deployment": FE, "restarts_increased_by": {"op": "ge", "value": 5}},
        [fe_pod("front-end-a", cstatus(4, RUNNING, OOM)), fe_pod("front-end-c", cstatus(3, BACKOFF, OOM))],
        {"front-end-a": {FE: 2}, "front-end-b": {FE: 9}},
        True,
        "restarts +5 (want ge 5); front-end-a/front-end: restarts 4 (recorded 2), last OOMKilled exit 137 at "
        "2026-11-23T08:30:01Z, now running; front-end-c/front-end: restarts 3 (new since the recording), last "
        "OOMKilled exit 137 at 2026-11-23T08:30:01Z, now waiting CrashLoopBackOff; gone since the recording: "
        "front-end-b",
    ),
    (
        "latency without restarts (incident 4)",
        ZERO_RESTARTS,
        [fe_pod("front-end-7d9", cstatus(0, RUNNING))],
        {"front-end-7d9": {FE: 0}},
        True,
        "restarts +0 (want eq 0); front-end-7d9/front-end: restarts 0 (recorded 0), now running",
    ),
    (
        "latency turned into a crash",
        ZERO_RESTARTS,
        [fe_pod("front-end-7d9", cstatus(2, RUNNING, OOM))],
        {"front-end-7d9": {FE: 0}},
        False,
        "restarts +2 (want eq 0); front-end-7d9/front-end: restarts 2 (recorded 0), last OOMKilled exit 137 at "
        "2026-11-23T08:30:01Z, now running",
    ),
    (
        "a container new in a recorded pod counts from 0",
        ZERO_RESTARTS,
        [fe_pod("front-end-7d9", cstatus(0, RUNNING), cstatus(1, RUNNING, CRASHED, name="sidecar"))],
        {"front-end-7d9": {FE: 0}},
        False,
        "restarts +1 (want eq 0); front-end-7d9/front-end: restarts 0 (recorded 0), now running; "
        "front-end-7d9/sidecar: restarts 1 (recorded 0), last Error exit 1 at 2026-11-23T08:30:01Z, now running",
    ),
    (
        "one container only",
        {"deployment": "rabbitmq", "container": "rabbitmq", "restarts_increased_by": {"op": "eq", "value": 0}},
        [
            fe_pod(
                "rabbitmq-1",
                cstatus(0, RUNNING, name="rabbitmq"),
                cstatus(3, BACKOFF, CRASHED, name="rabbitmq-exporter"),
            )
        ],
        {"rabbitmq-1": {"rabbitmq": 0, "rabbitmq-exporter": 0}},
        True,
        "restarts +0 (want eq 0); rabbitmq-1/rabbitmq: restarts 0 (recorded 0), now running",
    ),
    (
        "a pod with no container status yet",
        {"deployment": FE, "restarts_increased_by": {"op": "eq", "value": 0}},
        [pod("front-end-new", [(FE, {})], phase="Pending")],
        {},
        True,
        "restarts +0 (want eq 0); front-end-new: no status of any container yet",
    ),
    ("no pods", OOM_LOOP, [], {"front-end-7d9": {FE: 2}}, False, "deployment front-end has no pods"),
]


@pytest.mark.parametrize(
    ("check", "pods", "recorded", "ok", "evidence"),
    [case[1:] for case in TERMINATION_CASES],
    ids=[case[0] for case in TERMINATION_CASES],
)
def test_termination(
    check: dict[str, Any], pods: list[dict[str, Any]], recorded: dict[str, Any], ok: bool, evidence: str
) -> None:
    assert judge_termination(check, pods, recorded) == (ok, evidence)


BAD_TERMINATION_CHECKS: list[tuple[dict[str, Any], str]] = [
    ({"deployment": FE}, "a termination check needs reason, exit_code, state or restarts_increased_by"),
    ({"deployment": FE, "container": FE}, "a termination check needs reason, exit_code, state"),
    ({"deployment": FE, "exit_code": "137"}, "check.exit_code must be an integer, not '137'"),
    ({"deployment": FE, "exit_code": True}, "check.exit_code must be an integer, not True"),
    ({"deployment": FE, "reason": ""}, "check.reason must be a non-empty string, not ''"),
    ({"deployment": FE, "state": 3}, "check.state must be a non-empty string, not 3"),
    (
        {"deployment": FE, "restarts_increased_by": {"op": "ge"}},
        "check.restarts_increased_by must be {op, value}, not {'op': 'ge'}",
    ),
    (
        {"deployment": FE, "restarts_increased_by": 3},
        "check.restarts_increased_by must be {op, value}, not 3",
    ),
    (
        {"deployment": FE, "restarts_increased_by": {"op": "more", "value": 3}},
        "check.restarts_increased_by.op: unknown op 'more'",
    ),
    (
        {"deployment": FE, "restarts_increased_by": {"op": "ge", "value": "3"}},
        "check.restarts_increased_by.value must be a number, not '3'",
    ),
    ({"deployment": FE, "restarts": "unchanged"}, "unknown termination check fields ['restarts']"),
]


@pytest.mark.parametrize(("check", "message"), BAD_TERMINATION_CHECKS, ids=[m for _, m in BAD_TERMINATION_CHECKS])
def test_termination_bad_check(check: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        judge_termination(check, [fe_pod("front-end-7d9", cstatus(0, RUNNING))], {})


# ---------------------------------------------------------------- http


def answer(status: int | None, elapsed_s: float, body: Any = b"", error: str | None = None) -> dict[str, Any]:
    return {"status": status, "elapsed_s": elapsed_s, "body": body, "error": error}


CATALOGUE = {"service": "catalogue", "path": "/catalogue"}
SLOW = dict(CATALOGUE, latency_s={"op": "gt", "value": 1})
NO_ENDPOINTS = b'{"kind":"Status","message":"no endpoints available for service \\"catalogue\\"","code":503}'
LONG_BODY = b"<html>\n  <body>" + b"x" * 200 + b"</body>\n</html>"

HTTP_CASES: list[tuple[str, dict[str, Any], dict[str, Any], bool, str]] = [
    ("slow", SLOW, answer(200, 2.314, b"[]"), True, "GET catalogue:80/catalogue -> 200 in 2.31 s (want latency gt 1)"),
    (
        "fast again: a failing answer shows its body",
        SLOW,
        answer(200, 0.2, b"[]"),
        False,
        "GET catalogue:80/catalogue -> 200 in 0.20 s (want latency gt 1); body '[]'",
    ),
    (
        "no endpoints: the API server answers 503",
        dict(CATALOGUE, status=[200]),
        answer(503, 0.012, NO_ENDPOINTS),
        False,
        "GET catalogue:80/catalogue -> 503 in 0.01 s (want status 200); body "
        """'{"kind":"Status","message":"no endpoints available for service \\\\"catalogue\\\\"","code":503}'""",
    ),
    (
        "status, latency and body together",
        dict(CATALOGUE, port=8080, status=[200, 201], latency_s={"op": "lt", "value": 0.5}, body_contains="sock"),
        answer(201, 0.25, b'[{"name": "Holy sock"}]'),
        True,
        "GET catalogue:8080/catalogue -> 201 in 0.25 s (want status 200 or 201, latency lt 0.5, body containing "
        "'sock')",
    ),
    (
        "the body lacks the text; a long body is cut",
        dict(CATALOGUE, body_contains="sock"),
        answer(200, 0.1, LONG_BODY),
        False,
        "GET catalogue:80/catalogue -> 200 in 0.10 s (want body containing 'sock'); body '<html> <body>"
        + "x" * 107
        + "...'",
    ),
    (
        "a text body",
        dict(CATALOGUE, body_contains="sock"),
        answer(200, 0.1, "socks"),
        True,
        "GET catalogue:80/catalogue -> 200 in 0.10 s (want body containing 'sock')",
    ),
    (
        "a timeout is an error, whatever the latency wanted",
        SLOW,
        answer(None, 10.0, error="no answer within 10 s from the service catalogue"),
        False,
        "GET catalogue:80/catalogue -> no answer within 10 s from the service catalogue after 10.00 s "
        "(want latency gt 1)",
    ),
    (
        "an error with a status is still an error",
        dict(CATALOGUE, status=[502]),
        answer(502, 0.5, error="connection reset"),
        False,
        "GET catalogue:80/catalogue -> connection reset after 0.50 s (want status 502)",
    ),
    (
        "no status and no error",
        CATALOGUE,
        answer(None, 0.0),
        False,
        "GET catalogue:80/catalogue -> no HTTP answer after 0.00 s",
    ),
    (
        "nothing wanted: any answer holds",
        {"service": "orders", "port": 8080, "path": "/orders", "method": "post"},
        answer(500, 0.2, b"boom"),
        True,
        "POST orders:8080/orders -> 500 in 0.20 s",
    ),
    (
        "an empty body is not shown",
        dict(CATALOGUE, status=[200]),
        answer(504, 30.0),
        False,
        "GET catalogue:80/catalogue -> 504 in 30.00 s (want status 200)",
    ),
]


@pytest.mark.parametrize(
    ("check", "response", "ok", "evidence"), [case[1:] for case in HTTP_CASES], ids=[case[0] for case in HTTP_CASES]
)
def test_http(check: dict[str, Any], response: dict[str, Any], ok: bool, evidence: str) -> None:
    assert judge_http(check, response) == (ok, evidence)


BAD_HTTP_CHECKS: list[tuple[dict[str, Any], str]] = [
    (dict(CATALOGUE, status=200), "check.status must be a non-empty list of integers, not 200"),
    (dict(CATALOGUE, status=[]), "check.status must be a non-empty list of integers, not []"),
    (dict(CATALOGUE, status=["200"]), "check.status must be a non-empty list of integers, not ['200']"),
    (dict(CATALOGUE, status=[True]), "check.status must be a non-empty list of integers, not [True]"),
    (dict(CATALOGUE, latency_s=1), "check.latency_s must be {op, value}, not 1"),
    (dict(CATALOGUE, latency_s={"op": "gt", "value": 1, "for_s": 5}), "check.latency_s must be {op, value}"),
    (dict(CATALOGUE, latency_s={"op": "above", "value": 1}), "check.latency_s.op: unknown op 'above'"),
    (dict(CATALOGUE, body_contains=""), "check.body_contains must be a non-empty string, not ''"),
    (dict(CATALOGUE, timeout_s=5), "unknown http check fields ['timeout_s']"),
]


@pytest.mark.parametrize(("check", "message"), BAD_HTTP_CHECKS, ids=[m for _, m in BAD_HTTP_CHECKS])
def test_http_bad_check(check: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        judge_http(check, answer(200, 0.1))
