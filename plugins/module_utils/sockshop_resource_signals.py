# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""What a workload uses, how its containers ended, and how one HTTP request went: the verdicts of the C(usage),
C(termination) and C(http) signals.

- ``quantity``: a Kubernetes resource quantity ("50m", "12345678n", "128Mi", "1e3") as a float of base units
  (cores, bytes), parsed as resource.Quantity (and kubesim.usage) parse it.
- ``judge_usage``: CPU or memory usage from the metrics API (``metrics.k8s.io/v1beta1`` PodMetrics, what
  ``kubectl top`` reads) against each pod's limit or request, or absolute; every pod must hold.
- ``judge_termination``: last and current terminations (OOMKilled, exit 137), waiting reasons (CrashLoopBackOff)
  and the restarts added since the ledger recorded them.
- ``judge_http``: the status, latency and body of one request sent through the API server's service proxy.
- ``pod_metrics_for``: the PodMetrics of some pods, from a namespace's list.

Everything here is pure: callers pass plain dicts (Pod, PodMetrics, a response), nothing imports the kubernetes
client. A malformed check raises ValueError (the engine reports it as bad signal input); what the cluster shows
is judged, never raised. ``OPS`` and ``Verdict`` (sockshop_incident) are the comparisons and the verdict type
every signal judge shares.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ansible.module_utils.sockshop_incident import OPS, Verdict, get_path

RESOURCES = ("cpu", "memory")
OF = ("limit", "request", "absolute")
USAGE_FIELDS = ("deployment", "container", "resource", "of", "op", "value")
TERMINATION_FIELDS = ("deployment", "container", "reason", "exit_code", "restarts_increased_by", "state")
HTTP_FIELDS = ("service", "port", "path", "method", "status", "latency_s", "body_contains")
FINISHED_PHASES = ("Succeeded", "Failed")  # pods whose containers all ended: the metrics API never measures them
BODY_SHOWN = 120  # characters of a response body quoted in evidence

# ---------------------------------------------------------------- quantities

_SUFFIX = {
    "": Decimal(1),
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal(10) ** 3,
    "M": Decimal(10) ** 6,
    "G": Decimal(10) ** 9,
    "T": Decimal(10) ** 12,
    "P": Decimal(10) ** 15,
    "E": Decimal(10) ** 18,
    "Ki": Decimal(2) ** 10,
    "Mi": Decimal(2) ** 20,
    "Gi": Decimal(2) ** 30,
    "Ti": Decimal(2) ** 40,
    "Pi": Decimal(2) ** 50,
    "Ei": Decimal(2) ** 60,
}
# resource.Quantity's grammar: a signed decimal number, then one suffix (binary SI, decimal SI or a decimal
# exponent). "1E" is one exa, "1E3" a thousand.
_QUANTITY = re.compile(
    r"^([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(?:([eE][+-]?[0-9]+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E))?$"
)


def quantity(text: Any) -> float:
    """A Kubernetes quantity in base units: CPU in cores ("50m" -> 0.05, "12345678n" -> 0.012345678, "1.5"),
    memory in bytes ("128Mi" -> 134217728, "500M" -> 5e8, "1e3" -> 1000, 1024). ValueError names bad text."""
    if isinstance(text, bool) or not isinstance(text, str | int | float):
        raise ValueError(f"not a Kubernetes quantity: {text!r} is a {type(text).__name__}, not text or a number")
    match = _QUANTITY.match(str(text).strip())
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {text!r} (want e.g. 50m, 1.5, 128Mi, 500M, 1e3)")
    number, exponent, suffix = match.groups()
    try:
        value = Decimal(number) * (Decimal(f"1{exponent}") if exponent else _SUFFIX[suffix or ""])
    except InvalidOperation as exc:  # pragma: no cover - the pattern admits only what Decimal reads
        raise ValueError(f"not a Kubernetes quantity: {text!r}") from exc
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"not a Kubernetes quantity: {text!r} is out of range")
    return result


# ---------------------------------------------------------------- check fields


def _fields(check: dict[str, Any], allowed: tuple[str, ...], kind: str) -> None:
    unknown = sorted(set(check) - set(allowed))
    if unknown:
        raise ValueError(f"unknown {kind} check fields {unknown} (known: {', '.join(allowed)})")


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be a number, not {value!r}")
    return float(value)


def _op(op: Any, where: str) -> str:
    if op not in OPS:
        raise ValueError(f"{where}: unknown op {op!r} (one of {', '.join(OPS)})")
    return str(op)


def expect_rule(rule: Any, where: str) -> tuple[str, float]:
    """A {op, value} rule as (op, value)."""
    if not isinstance(rule, dict) or set(rule) != {"op", "value"}:
        raise ValueError(f"{where} must be {{op, value}}, not {rule!r}")
    return _op(rule["op"], f"{where}.op"), _number(rule["value"], f"{where}.value")


def _name(pod: dict[str, Any]) -> str:
    return str(get_path(pod, "metadata.name") or "?")


# ---------------------------------------------------------------- usage (metrics.k8s.io)


def _cores(value: float) -> str:
    """Cores for a person: 3 decimals (0.051), a significant digit below a millicore."""
    if value == 0 or abs(value) >= 0.0005:
        return f"{round(value, 3):g}"
    return f"{value:.1g}"


def _mebibytes(value: float) -> str:
    return f"{round(value / 2**20, 1):g}Mi"


def _amount(resource: str, value: float) -> str:
    return _cores(value) if resource == "cpu" else _mebibytes(value)


def pod_metrics_for(items: list[dict[str, Any]], pods: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The PodMetrics among `items` that measure one of `pods` (by name), in the order of `pods`."""
    by_name = {get_path(item, "metadata.name"): item for item in items if isinstance(item, dict)}
    return [by_name[_name(pod)] for pod in pods if _name(pod) in by_name]


def _container_spec(pod: dict[str, Any], wanted: str | None) -> dict[str, Any] | None:
    containers = [c for c in get_path(pod, "spec.containers") or [] if isinstance(c, dict)]
    if wanted is None:
        return containers[0] if containers else None
    return next((c for c in containers if c.get("name") == wanted), None)


def _bound(spec: dict[str, Any], resource: str, of: str) -> str | None:
    """The container's limit, or its request (a limit without a request requests the limit, as the API server
    defaults it), as written."""
    limits = get_path(spec, "resources.limits") or {}
    requests = get_path(spec, "resources.requests") or {}
    if of == "request" and resource in requests:
        return str(requests[resource])
    return str(limits[resource]) if resource in limits else None


def judge_usage(check: dict[str, Any], pods: list[dict[str, Any]], pod_metrics: list[dict[str, Any]]) -> Verdict:
    """Whether every pod's container uses what the check wants, e.g.
    ``catalogue-db-abc/catalogue-db: cpu 0.051 of limit 0.05 (102%) (want ge 0.9)``.

    Check fields: deployment, container (default each pod's first container), resource (cpu|memory),
    of (limit|request|absolute, default limit), op (eq|lt|le|gt|ge), value (a share of the limit or request,
    0.9 = 90 %; cores or bytes with of=absolute). Pods that finished (Succeeded, Failed) are not measured."""
    _fields(check, USAGE_FIELDS, "usage")
    name, container = check["deployment"], check.get("container")
    resource, of = check["resource"], check.get("of", "limit")
    if resource not in RESOURCES:
        raise ValueError(f"check.resource must be one of {', '.join(RESOURCES)}, not {resource!r}")
    if of not in OF:
        raise ValueError(f"check.of must be one of {', '.join(OF)}, not {of!r}")
    op, want = _op(check["op"], "check.op"), _number(check["value"], "check.value")
    wanted = f"(want {op} {_amount(resource, want) if of == 'absolute' else f'{want:g}'})"

    if not pods:
        return False, f"deployment {name} has no pods"
    measured = {get_path(item, "metadata.name"): item for item in pod_metrics}
    ok, notes, running = True, [], 0
    for pod in pods:
        pod_name, phase = _name(pod), get_path(pod, "status.phase")
        if phase in FINISHED_PHASES:
            notes.append(f"{pod_name} is {phase}, not measured")
            continue
        running += 1
        spec = _container_spec(pod, container)
        if spec is None:
            ok = False
            notes.append(
                f"pod {pod_name} has no container {container}" if container else f"pod {pod_name} has no containers"
            )
            continue
        label = f"{pod_name}/{spec.get('name')}"
        metrics = measured.get(pod_name)
        if metrics is None:
            ok = False
            notes.append(f"no metrics for pod {pod_name} yet")
            continue
        usage_text = next(
            (
                get_path(c, f"usage.{resource}")
                for c in metrics.get("containers") or []
                if c.get("name") == spec.get("name")
            ),
            None,
        )
        if usage_text is None:
            ok = False
            notes.append(f"no {resource} metrics for {label} yet")
            continue
        bound_text = _bound(spec, resource, of) if of != "absolute" else None
        try:
            usage = quantity(usage_text)
            bound = quantity(bound_text) if bound_text is not None else None
        except ValueError as exc:
            ok = False
            notes.append(f"{label}: {exc}")
            continue
        if of == "absolute":
            holds = OPS[op](usage, want)
            shown = f"{resource} {_amount(resource, usage)}"
        elif bound is None or bound <= 0:
            ok = False
            detail = "no" if bound is None else f"a zero ({bound_text})"
            notes.append(
                f"{label}: {resource} {_amount(resource, usage)}, but the container has {detail} {resource} {of}"
            )
            continue
        else:
            ratio = usage / bound
            holds = OPS[op](ratio, want)
            shown = f"{resource} {_amount(resource, usage)} of {of} {_amount(resource, bound)} ({ratio:.0%})"
        ok = ok and holds
        notes.append(f"{label}: {shown} {wanted}")
    if not running:
        return False, f"deployment {name} has no running pods: " + "; ".join(notes)
    return ok, "; ".join(notes)


# ---------------------------------------------------------------- termination (container statuses)


def _terminated(state: dict[str, Any], when: bool = True) -> str:
    """ "OOMKilled exit 137 at 2026-11-23T08:30:01Z" for a terminated state (without the time unless `when`)."""
    at = f" at {state['finishedAt']}" if when and state.get("finishedAt") else ""
    return f"{state.get('reason') or 'no reason'} exit {state.get('exitCode')}{at}"


def _current(status: dict[str, Any]) -> str:
    state = status.get("state") or {}
    if state.get("running"):
        return "running"
    if state.get("waiting"):
        return f"waiting {state['waiting'].get('reason') or 'with no reason'}"
    if state.get("terminated"):
        return f"terminated {_terminated(state['terminated'])}"
    return "no state"


def _ended_as(terminated: Any, reason: str | None, exit_code: int | None) -> bool:
    if not isinstance(terminated, dict):
        return False
    return (reason is None or terminated.get("reason") == reason) and (
        exit_code is None or terminated.get("exitCode") == exit_code
    )


def judge_termination(
    check: dict[str, Any], pods: list[dict[str, Any]], recorded_restarts: dict[str, dict[str, int]]
) -> Verdict:
    """Whether the workload's containers ended, wait and restarted as the check wants, e.g.
    ``restarts +5 (want ge 3); front-end-7d9/front-end last terminated OOMKilled exit 137; front-end-7d9/front-end
    waiting CrashLoopBackOff; front-end-7d9/front-end: restarts 7 (recorded 2), last OOMKilled exit 137 at ...,
    now waiting CrashLoopBackOff``.

    Check fields (each optional, at least one): reason and exit_code (some container's last or current
    termination), state (some container's waiting reason), restarts_increased_by ({op, value}: restarts now minus
    `recorded_restarts` summed over pods; a pod or container new since the recording counts from 0, a pod gone
    since then adds nothing). container narrows every condition to that container; deployment names the workload.
    Every given condition must hold."""
    _fields(check, TERMINATION_FIELDS, "termination")
    name, container = check["deployment"], check.get("container")
    reason, exit_code, waiting = check.get("reason"), check.get("exit_code"), check.get("state")
    if exit_code is not None and (isinstance(exit_code, bool) or not isinstance(exit_code, int)):
        raise ValueError(f"check.exit_code must be an integer, not {exit_code!r}")
    for field, value in (("reason", reason), ("state", waiting)):
        if value is not None and (not isinstance(value, str) or not value):
            raise ValueError(f"check.{field} must be a non-empty string, not {value!r}")
    increase = (
        expect_rule(check["restarts_increased_by"], "check.restarts_increased_by")
        if "restarts_increased_by" in check
        else None
    )
    if reason is None and exit_code is None and waiting is None and increase is None:
        raise ValueError("a termination check needs reason, exit_code, state or restarts_increased_by")
    if not pods:
        return False, f"deployment {name} has no pods"

    recorded_restarts = recorded_restarts or {}
    total, ended, waits, details = 0, [], [], []
    for pod in pods:
        pod_name = _name(pod)
        before = recorded_restarts.get(pod_name)
        statuses = [
            s
            for s in get_path(pod, "status.containerStatuses") or []
            if isinstance(s, dict) and (container is None or s.get("name") == container)
        ]
        if not statuses:
            details.append(f"{pod_name}: no status of {f'container {container}' if container else 'any container'} yet")
            continue
        for status in statuses:
            cname = str(status.get("name"))
            label = f"{pod_name}/{cname}"
            now = int(status.get("restartCount") or 0)
            if before is None:
                then, since = 0, "new since the recording"
            else:
                then = int(before.get(cname, 0))
                since = f"recorded {then}"
            total += max(0, now - then)
            last = get_path(status, "lastState.terminated")
            current = get_path(status, "state.terminated")
            if reason is not None or exit_code is not None:
                if _ended_as(last, reason, exit_code):
                    ended.append(f"{label} last terminated {_terminated(last, when=False)}")
                elif _ended_as(current, reason, exit_code):
                    ended.append(f"{label} terminated {_terminated(current, when=False)}")
            if waiting is not None and get_path(status, "state.waiting.reason") == waiting:
                waits.append(f"{label} waiting {waiting}")
            parts = [f"restarts {now} ({since})"]
            if isinstance(last, dict):
                parts.append(f"last {_terminated(last)}")
            parts.append(f"now {_current(status)}")
            details.append(f"{label}: {', '.join(parts)}")
    gone = sorted(set(recorded_restarts) - {_name(pod) for pod in pods})
    if gone:
        details.append(f"gone since the recording: {', '.join(gone)}")

    ok, conclusions = True, []
    if increase is not None:
        op, value = increase
        holds = OPS[op](total, value)
        ok = ok and holds
        conclusions.append(f"restarts +{total} (want {op} {value:g})")
    if reason is not None or exit_code is not None:
        ok = ok and bool(ended)
        if ended:
            conclusions.extend(ended)
        else:
            what = " ".join(part for part in (reason, f"exit {exit_code}" if exit_code is not None else None) if part)
            conclusions.append(f"no container terminated {what}")
    if waiting is not None:
        ok = ok and bool(waits)
        conclusions.extend(waits or [f"no container waiting {waiting}"])
    return ok, "; ".join(conclusions + details)


# ---------------------------------------------------------------- http (through the service proxy)


def _body_text(body: Any) -> str:
    if isinstance(body, bytes | bytearray):
        return bytes(body).decode("utf-8", "replace")
    return "" if body is None else str(body)


def judge_http(check: dict[str, Any], response: dict[str, Any]) -> Verdict:
    """Whether one request's answer meets the check, e.g. ``GET catalogue:80/catalogue -> 200 in 2.31 s (want
    latency gt 1)``.

    Check fields: service, path, port (default 80), method (default GET) say what was sent; status (a list of
    codes, any of them), latency_s ({op, value}, seconds) and body_contains (text the body must contain) what must
    hold. With none of these three, any HTTP answer holds. `response` is {status, elapsed_s, body, error}: an
    error (no HTTP answer: a timeout, a refused connection) fails with its text."""
    _fields(check, HTTP_FIELDS, "http")
    statuses = check.get("status")
    if statuses is not None and (
        not isinstance(statuses, list)
        or not statuses
        or not all(isinstance(s, int) and not isinstance(s, bool) for s in statuses)
    ):
        raise ValueError(f"check.status must be a non-empty list of integers, not {statuses!r}")
    latency = expect_rule(check["latency_s"], "check.latency_s") if "latency_s" in check else None
    contains = check.get("body_contains")
    if contains is not None and (not isinstance(contains, str) or not contains):
        raise ValueError(f"check.body_contains must be a non-empty string, not {contains!r}")

    request = f"{str(check.get('method') or 'GET').upper()} {check['service']}:{check.get('port', 80)}{check['path']}"
    wants = []
    if statuses is not None:
        wants.append(f"status {' or '.join(map(str, statuses))}")
    if latency is not None:
        wants.append(f"latency {latency[0]} {latency[1]:g}")
    if contains is not None:
        wants.append(f"body containing {contains!r}")
    wanted = f" (want {', '.join(wants)})" if wants else ""

    elapsed = float(response.get("elapsed_s") or 0.0)
    status = response.get("status")
    if response.get("error") or status is None:
        error = response.get("error") or "no HTTP answer"
        return False, f"{request} -> {error} after {elapsed:.2f} s{wanted}"
    body = _body_text(response.get("body"))
    ok = statuses is None or status in statuses
    if latency is not None:
        ok = ok and OPS[latency[0]](elapsed, latency[1])
    if contains is not None:
        ok = ok and contains in body
    evidence = f"{request} -> {status} in {elapsed:.2f} s{wanted}"
    if not ok and body.strip():
        shown = " ".join(body.split())
        evidence += f"; body {shown[:BODY_SHOWN] + ('...' if len(shown) > BODY_SHOWN else '')!r}"
    return ok, evidence
