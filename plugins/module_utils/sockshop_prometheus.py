# Apache-2.0 (see pyproject.toml)
"""Prometheus' HTTP API as the incident signals read it: instant queries (`/api/v1/query`) and active alerts
(`/api/v1/alerts`), judged against an incident's expectations, and the answers that are not judgements (a query
Prometheus refuses, no answer, no Prometheus on the target). Also range queries (`/api/v1/query_range`) as a
report's chart draws them (incident_series): the step for a window, and a matrix as labelled series of points.

Plain functions of Prometheus' documented JSON answers (no client library covers judging them); incident_signals
and incident_series do the I/O. Each judgement is a `Look`, which carries the samples (labels, value, instant) into
the report.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from typing import Any, NamedTuple

from ansible.module_utils.sockshop_backend_errors import NOT_DEPLOYED
from ansible.module_utils.sockshop_incident import OPS, get_path
from ansible.module_utils.sockshop_module import ModuleError
from ansible.module_utils.sockshop_service_proxy import status_message

PROMETHEUS_KINDS = ("promql", "alert")
SAMPLES_KEPT = 10
PULL_WAITING = ("ErrImagePull", "ImagePullBackOff")
CHART_POINTS = 250  # a range query's default step gives a chart at most this many points a series
MAX_RANGE_POINTS = 11000  # Prometheus refuses a range query with more points a series than this
SERVICE_REF = re.compile(
    r"^(?P<namespace>[a-z0-9]([-a-z0-9]*[a-z0-9])?)/(?P<service>[a-z0-9]([-a-z0-9]*[a-z0-9])?)"
    r":(?P<port>[0-9]{1,5}|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$"
)


class Look(NamedTuple):
    """One look at a signal. ok: True held, False not (yet), None not checked (see reason).

    error: the backend could not answer (unreachable, 5xx): looked at again while the budget lasts, then the
    signal's status is `error`, never passed or failed. final: the answer can never change (a query Prometheus
    refuses): failed at once. samples: what Prometheus returned, [{labels, value, at}]. lines: the log lines a
    pod_log signal matched, with their context, [{pod, at, text, match}]."""

    ok: bool | None
    evidence: str
    samples: list[dict[str, Any]] | None = None
    error: bool = False
    final: bool = False
    reason: str | None = None
    query: str | None = None
    lines: list[dict[str, Any]] | None = None


def parse_service_ref(text: str) -> tuple[str, str, str]:
    """`<namespace>/<service>:<port>` (port a number or a port name) as (namespace, service, port)."""
    match = SERVICE_REF.match(text.strip())
    if not match or (match["port"].isdigit() and not 0 < int(match["port"]) < 65536):
        raise ModuleError(
            f"prometheus_service {text!r} is not <namespace>/<service>:<port> "
            "(e.g. monitoring/kps-kube-prometheus-stack-prometheus:9090)"
        )
    return match["namespace"], match["service"], match["port"]


def rfc3339(epoch: float) -> str:
    """A Prometheus sample time (Unix seconds) as RFC 3339 UTC; milliseconds only when there are some."""
    moment = dt.datetime.fromtimestamp(float(epoch), dt.UTC)
    millis = moment.microsecond // 1000
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{millis:03d}Z" if millis else "Z")


def promql_labels(labels: dict[str, str]) -> str:
    """Labels as PromQL writes a series: name{a="x",b="y"} (sorted, the metric name in front)."""
    inner = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()) if k != "__name__")
    return f"{labels.get('__name__', '')}{{{inner}}}"


def promql_samples(answer: dict[str, Any]) -> list[dict[str, Any]]:
    """An instant query's result as [{labels, value, at}] (vector or scalar; a range vector has no instant)."""
    data = answer.get("data") or {}
    result = data.get("result")
    if data.get("resultType") == "scalar" and isinstance(result, list):
        return [{"labels": {}, "value": float(result[1]), "at": rfc3339(result[0])}]
    samples = []
    for item in result or []:
        if "value" in item:
            at, value = item["value"]
            samples.append({"labels": dict(item.get("metric") or {}), "value": float(value), "at": rfc3339(at)})
    return samples


def shown_sample(sample: dict[str, Any]) -> str:
    return f"{promql_labels(sample['labels'])}={sample['value']:g} at {sample['at']}"


def judge_promql(expect: dict[str, Any], answer: dict[str, Any], query: str) -> Look:
    """Every series the expectation selects (by its labels) must satisfy it; none selected is 'no series'."""
    if (answer.get("data") or {}).get("resultType") == "matrix":
        return Look(False, f"the query returns a range vector, not an instant one: {query}", final=True, query=query)
    samples = promql_samples(answer)
    wanted = expect.get("labels") or {}
    chosen = [s for s in samples if all(s["labels"].get(k) == v for k, v in wanted.items())]
    want = f"(want {expect['op']} {expect['value']:g})"
    if not chosen:
        scope = f" with {json.dumps(wanted, sort_keys=True)}" if wanted else ""
        got = f"; got {', '.join(map(shown_sample, samples[:3]))}" if samples else ""
        return Look(
            False, f"no series{scope} (got {len(samples)}) {want} for {query}{got}", samples[:SAMPLES_KEPT], query=query
        )
    ok = all(OPS[expect["op"]](s["value"], expect["value"]) for s in chosen)
    more = f" and {len(chosen) - 5} more" if len(chosen) > 5 else ""
    return Look(ok, f"{', '.join(map(shown_sample, chosen[:5]))}{more} {want}", chosen[:SAMPLES_KEPT], query=query)


def alert_sample(alert: dict[str, Any]) -> dict[str, Any]:
    try:
        value: float | None = float(alert.get("value"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        value = None
    labels = dict(alert.get("labels") or {})
    return {"labels": labels, "value": value, "at": alert.get("activeAt"), "state": alert.get("state")}


def shown_alert(alert: dict[str, Any]) -> str:
    labels = {k: v for k, v in (alert.get("labels") or {}).items() if k != "alertname"}
    value = alert.get("value")
    return (
        f"{(alert.get('labels') or {}).get('alertname')}{promql_labels(labels)} {alert.get('state')} "
        f"(active since {alert.get('activeAt') or '?'})" + (f" value {value}" if value is not None else "")
    )


def in_scope(labels: dict[str, str], scope: dict[str, str]) -> bool:
    """Every scope label matches; the value "*" asks only that the label be there."""
    return all((k in labels) if v == "*" else labels.get(k) == v for k, v in scope.items())


def judge_alert(check: dict[str, Any], answer: dict[str, Any]) -> Look:
    """/api/v1/alerts against an alert check: that alert in that state with those labels, or (with `only`)
    no firing alert in `scope` whose name is not in `only`."""
    alerts = list((answer.get("data") or {}).get("alerts") or [])
    if "only" in check:
        return judge_alert_noise(check, alerts)
    name, state, wanted = check["alert"], check.get("state", "firing"), check.get("labels") or {}
    named = [a for a in alerts if (a.get("labels") or {}).get("alertname") == name]
    labelled = [a for a in named if all((a.get("labels") or {}).get(k) == v for k, v in wanted.items())]
    held = [a for a in labelled if a.get("state") == state]
    want = f"{name}{promql_labels(wanted)} {state}"
    if held:
        return Look(True, "; ".join(map(shown_alert, held[:3])), [alert_sample(a) for a in held[:SAMPLES_KEPT]])
    shown = labelled or named
    if labelled:
        why = f"{name} is {', '.join(sorted({str(a.get('state')) for a in labelled}))}, not {state}"
    elif named:
        why = f"{name} is active only with other labels"
    else:
        names = sorted({str((a.get("labels") or {}).get("alertname")) for a in alerts})
        why = f"no active alert {name} ({len(alerts)} active: {', '.join(names[:8]) or 'none'})"
    seen = f": {'; '.join(map(shown_alert, shown[:3]))}" if shown else ""
    return Look(False, f"want {want}; {why}{seen}", [alert_sample(a) for a in shown[:SAMPLES_KEPT]])


def judge_alert_noise(check: dict[str, Any], alerts: list[dict[str, Any]]) -> Look:
    only, scope = set(check["only"]), check["scope"]
    firing = [a for a in alerts if a.get("state") == "firing"]
    scoped = [a for a in firing if in_scope(a.get("labels") or {}, scope)]
    noise = [a for a in scoped if (a.get("labels") or {}).get("alertname") not in only]
    where = f"in scope {promql_labels(scope)}"
    if noise:
        return Look(
            False,
            f"unexpected alert firing {where}: {'; '.join(map(shown_alert, noise[:3]))} "
            f"(only {', '.join(sorted(only)) or 'none'} may fire)",
            [alert_sample(a) for a in noise[:SAMPLES_KEPT]],
        )
    names = sorted({str((a.get("labels") or {}).get("alertname")) for a in scoped})
    return Look(
        True,
        f"no alert outside {', '.join(sorted(only)) or 'none'} firing {where} "
        f"(firing there: {', '.join(names) or 'none'}; {len(firing) - len(scoped)} firing outside the scope)",
        [alert_sample(a) for a in scoped[:SAMPLES_KEPT]],
    )


def prometheus_document(body: Any) -> dict[str, Any] | None:
    if isinstance(body, dict):
        return body
    try:
        doc = json.loads(body)
    except (TypeError, ValueError, UnicodeDecodeError):
        return None
    return doc if isinstance(doc, dict) else None


def judge_prometheus_answer(status: int, body: Any, where: str, query: str | None = None) -> dict[str, Any] | Look:
    """Prometheus' answer as a document to judge, or the Look it comes to without one.

    200 with status=success: the document. A query Prometheus refuses (400 bad_data, 422 execution): failed at
    once, with its own words and the query. The Service missing (the proxy's 404 Status 'services "x" not
    found'): not checked, Prometheus is not deployed there. Anything else (503 no endpoints, 5xx, a body that
    is not Prometheus'): an error, looked at again while the budget lasts."""
    doc = prometheus_document(body)
    text = body.decode("utf-8", "replace")[:200] if isinstance(body, bytes) else str(body)[:200]
    if status == 200 and doc is not None and doc.get("status") == "success":
        return doc
    proxy = status_message(body) if isinstance(body, bytes) else None
    if proxy is not None and status == 404 and "not found" in proxy:
        return Look(None, f"Prometheus is not deployed on this target ({where}): {proxy}", reason=NOT_DEPLOYED)
    said = ""
    if doc is not None and doc.get("status") == "error":
        said = f"{doc.get('errorType') or 'error'}: {doc.get('error') or 'no error text'}"
    if status in (400, 422) or (doc or {}).get("errorType") == "bad_data":
        about = f" {query}" if query else ""
        refused = f"Prometheus refused the query{about} (HTTP {status}): {said or text}"
        return Look(False, refused, final=True, query=query)
    answered = f"Prometheus at {where} answered HTTP {status}: {proxy or said or text}"
    return Look(False, answered, error=True, query=query)


def waiting_message(pods: list[dict[str, Any]]) -> str | None:
    """The first container waiting to pull its image (ErrImagePull, ImagePullBackOff), as kubectl shows it."""
    for item in pods:
        for status in get_path(item, "status.containerStatuses") or []:
            waiting = get_path(status, "state.waiting") or {}
            if waiting.get("reason") in PULL_WAITING:
                return (
                    f"pod {get_path(item, 'metadata.name')} container {status.get('name')} waits in "
                    f"{waiting['reason']}: {waiting.get('message') or 'no message'}"
                )
    return None


# ---------------------------------------------------------------- range queries, for a report's chart


def choose_step(start: dt.datetime, end: dt.datetime, points: int = CHART_POINTS) -> float:
    """The step, in whole seconds and at least 1, that gives the window from start to end at most `points`
    points a series (a range query returns one at start, then one every step up to end)."""
    span = max(0.0, (end - start).total_seconds())
    return float(max(1, math.ceil(span / (points - 1))))


def range_points(start: dt.datetime, end: dt.datetime, step_s: float) -> int:
    """How many points a series of a range query over the window has at this step."""
    return math.floor(max(0.0, (end - start).total_seconds()) / step_s) + 1


def distinguishing_labels(metrics: list[dict[str, str]]) -> list[str]:
    """The labels whose values tell the series apart (a label some series lack counts), the metric name first."""
    keys = sorted({key for metric in metrics for key in metric}, key=lambda key: (key != "__name__", key))
    return [key for key in keys if len({metric.get(key) for metric in metrics}) > 1]


def short_label(name: str, metric: dict[str, str], keys: list[str]) -> str:
    """The query's name, then the series' distinguishing labels: `replicas_available deployment=stripe-mock`."""
    shown = [metric[key] if key == "__name__" else f"{key}={metric[key]}" for key in keys if key in metric]
    return " ".join([name, *shown])


def range_series(answer: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A range query's answer (a matrix) as the chart's series, [{label, query, points: [{at, value}]}], in the
    order of their labels. NaN and infinite values are left out, and a series left without a value with them;
    an answer that is not a matrix has no series."""
    data = answer.get("data") or {}
    if data.get("resultType") != "matrix":
        return []
    items = [item for item in data.get("result") or [] if isinstance(item, dict)]
    metrics = [dict(item.get("metric") or {}) for item in items]
    keys = distinguishing_labels(metrics)
    series = []
    for metric, item in sorted(zip(metrics, items, strict=True), key=lambda pair: sorted(pair[0].items())):
        values = [(at, float(value)) for at, value in item.get("values") or []]
        points = [{"at": rfc3339(at), "value": value} for at, value in values if math.isfinite(value)]
        if points:
            series.append({"label": short_label(name, metric, keys), "query": name, "points": points})
    return series
