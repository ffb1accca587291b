#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: incident_signals
short_description: Check an incident's Kubernetes, log, PromQL and Datadog signals with their time budgets
description:
  - Polls every given signal until it holds or its C(within_s) budget (counted from the start of this task)
    runs out, and returns each with its status, measured time-to-signal and evidence.
  - Kinds C(k8s_state) (Deployment availability, pod readiness, restart counts against the ledger),
    C(k8s_event) (an event newer than I(since)), C(pod_log) (a log line newer than I(since)),
    C(promql) (an instant query, C(/api/v1/query)), C(alert) (Prometheus' active alerts, C(/api/v1/alerts)),
    C(datadog_logs) and C(datadog_metrics) (the Datadog API over the window since I(since)).
  - PromQL and alert signals go to I(prometheus_service) through the API server's service proxy (the same on every
    target), else to I(prometheus_url). A 200 with C(status=success) is judged (no series selected is a miss,
    looked at again until the budget ends, then C(failed) "no series"); a query Prometheus refuses (400/422,
    C(bad_data)) is C(failed) at once with Prometheus' own error and the query; Prometheus unreachable, a 503 (the
    Service has no endpoints) or another 5xx is looked at again while the budget lasts and is then C(error) - a
    status that is neither passed nor failed. A C(promql) or C(alert) result carries C(samples) - labels, value and
    instant (RFC 3339 UTC) of at most 10 series or alerts.
  - A signal whose backend is not configured is returned as C(not_checked) (reason C(backend_not_configured)),
    never as passed. Rule - a verdict can no longer be PASSED while a signal that the target's inventory says it
    can check was not checked. Once I(prometheus_service) or I(prometheus_url) is set, a PromQL or alert signal is
    C(not_checked) for exactly two reasons, and the report excuses only these - the Service does not exist (the
    proxy's 404, C(backend_not_deployed), "Prometheus is not deployed on this target") or its pods wait in
    C(ErrImagePull)/C(ImagePullBackOff) (C(backend_not_installed), with the pod's waiting message). Datadog is
    unchanged - no key, not checked.
  - Kind C(alert) has two shapes. C({alert, labels, state}) passes when Prometheus lists that alert in that state
    (C(firing) by default, or C(pending)) with at least those labels. The noise check C({only, scope}), used with
    C(hold=true), holds while no firing alert whose labels match C(scope) (exact values; C("*") - the label is
    present) has a name outside C(only), and fails at the first look where one fires, naming it and its labels.
    The scope is required, so Prometheus' own always-firing C(Watchdog), which has no namespace or incident
    label, is never in it; pending alerts do not count.
  - Kind C(orders) judges the orders this phase placed (I(orders), as returned by place_orders) - the orders
    service's answer (C(http_status), C(message_regex)) and the order as C(GET /orders/<id>) shows it through the
    API service proxy (C(status), C(shipment)). A C(pod_log) check with C(per_order) needs a line for every one of
    them. Without I(orders) (check mode places none) these signals are C(not_checked); when orders should have been
    placed and none were, they fail.
  - Kind C(queue) reads a RabbitMQ queue's depth and consumers (C(rabbitmq_queue_messages),
    C(rabbitmq_queue_consumers)) from the broker's exporter sidecar on C(/metrics), through the API service proxy.
  - Kinds C(load) (a load fault's Locust statistics), C(usage) (the metrics API against a container's limit or
    request), C(termination) (last termination reason, waiting reason, restarts added since the ledger), C(http)
    (one request through the API service proxy) and C(hpa) (a HorizontalPodAutoscaler's current utilization,
    target, replicas and conditions). A C(k8s_event) check with C(count) counts the matching events instead
    (C(count) eq 0 - no such event).
  - A signal with C(hold=true) is an invariant, looked at on every round until every other signal is decided
    (and for at least its C(within_s)); it passes only if it held at every look.
  - Probe signals are not handled here; the engine sends them with payment_probe.
version_added: "0.1.0"
author: sockshop-incidents contributors
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  incident_id:
    description: Incident id; its ledger holds the restart counts C(restarts=unchanged) compares against.
    type: str
    required: true
  namespace:
    description: Namespace of the incident.
    type: str
    required: true
  state_namespace:
    description:
      - Namespace of the incident's ledger (the restart counts a C(restarts=unchanged) check compares with).
        Empty means C(<namespace>-incidents).
    type: str
    default: ""
  signals:
    description: Signals as written in the incident file (name, kind, within_s, check).
    type: list
    elements: dict
    required: true
  queries:
    description: The incident's C(queries) mapping; promql and datadog signals name an entry of it.
    type: dict
    default: {}
  since:
    description: Start of the incident window (UTC, RFC 3339); events and log lines older than it do not count.
    type: str
    required: true
  orders:
    description:
      - The orders this phase placed, the C(orders) list of a place_orders result (each with C(id), C(http_status),
        C(message)); C(orders) signals and C(per_order) log checks judge them.
    type: list
    elements: dict
    default: []
  poll_s:
    description: Seconds between two looks at a signal that does not hold yet.
    type: float
    default: 0.5
  prometheus_url:
    description:
      - Base URL of a Prometheus outside the cluster. With I(prometheus_service) also empty, PromQL and alert
        signals are not checked.
    type: str
    default: ""
  prometheus_service:
    description:
      - Prometheus as a Kubernetes Service, C(<namespace>/<service>:<port>) (the port a number or a port name), for
        example C(monitoring/kps-kube-prometheus-stack-prometheus:9090), reached through the API server's service
        proxy with the module's credentials. Preferred over I(prometheus_url) when both are set. A value of
        another form is refused before any cluster access.
    type: str
    default: ""
  datadog_site:
    description: Datadog site, such as C(us5.datadoghq.com).
    type: str
    default: datadoghq.com
  datadog_api_url:
    description:
      - Base URL of the Datadog API; empty means C(https://api.<datadog_site>). Set it for a proxy or a private
        endpoint in front of Datadog.
    type: str
    default: ""
  datadog_api_key:
    description: Datadog API key; empty means Datadog signals are not checked.
    type: str
    default: ""
  datadog_app_key:
    description: Datadog application key.
    type: str
    default: ""
requirements:
  - kubernetes >= 24.2.0
  - prometheus_client (for C(queue) signals)
notes:
  - Only reads; supports check mode and runs the same there.
"""

EXAMPLES = r"""
- name: Check the cluster-side signals of incident 6
  incident_signals:
    incident_id: "6"
    namespace: sock-shop
    signals: "{{ loaded.plan.cluster_signals }}"
    queries: "{{ loaded.incident.queries }}"
    since: "{{ lock.lock.since }}"
    prometheus_service: monitoring/kps-kube-prometheus-stack-prometheus:9090
  register: checked

- name: The gateway alert fires, and no other alert of the shop's namespace does while it is down
  incident_signals:
    incident_id: "6"
    namespace: sock-shop
    since: "{{ lock.lock.since }}"
    prometheus_service: monitoring/kps-kube-prometheus-stack-prometheus:9090
    signals:
      - name: gateway alert fires
        kind: alert
        within_s: 90
        check: {alert: PaymentGatewayUnavailable, labels: {deployment: stripe-mock}, state: firing}
      - name: no other alert
        kind: alert
        within_s: 60
        hold: true
        check: {only: [PaymentGatewayUnavailable], scope: {namespace: sock-shop}}
"""

RETURN = r"""
results:
  description: One entry per signal.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: Signal name.
      type: str
    kind:
      description: Signal kind.
      type: str
    status:
      description:
        - C(passed), C(failed), C(error) (the backend did not answer within the budget - never a pass) or
          C(not_checked).
      type: str
    reason:
      description:
        - Why a C(not_checked) signal was not checked - C(backend_not_configured), C(backend_not_deployed),
          C(backend_not_installed) or C(check_mode).
      type: str
      returned: when status is not_checked
    samples:
      description:
        - C(promql) and C(alert) signals - what Prometheus returned, at most 10 entries, each C(labels) (dict),
          C(value) (float) and C(at) (the sample's instant, or an alert's activeAt, RFC 3339 UTC); alerts add
          C(state).
      type: list
      elements: dict
      returned: for promql and alert signals that got an answer
    query:
      description: The PromQL text a C(promql) signal sent.
      type: str
      returned: for promql signals
    lines:
      description:
        - C(pod_log) signals that held - the matched line with up to two fresh lines either side, each C(pod),
          C(at) (the line's timestamp), C(text) and C(match) (true for the matched line).
      type: list
      elements: dict
      returned: for pod_log signals that held
    time_to_signal_s:
      description: Seconds from the start of the check until the signal held; null unless passed.
      type: float
    answered_at:
      description: When the signal held (RFC 3339, UTC); only when passed.
      type: str
    within_s:
      description: The signal's budget.
      type: float
    evidence:
      description: What was observed, for the report.
      type: str
passed:
  description: Whether no signal failed or ended in error.
  returned: always
  type: bool
"""

import json
import re
import time
from collections.abc import Callable
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit

from ansible.module_utils import sockshop_backend_errors as backend_errors
from ansible.module_utils.sockshop_backend_errors import (
    CHECK_MODE,
    NOT_CONFIGURED,
    NOT_INSTALLED,
)
from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.sockshop_cluster import ConfigMaps, LiveState
from ansible.module_utils.sockshop_hpa import API_VERSION as HPA_API_VERSION
from ansible.module_utils.sockshop_hpa import judge_hpa
from ansible.module_utils.sockshop_incident import (
    LEDGER_KEY,
    OPS,
    Verdict,
    get_path,
    incident_spec,
    state_namespace,
    ledger_name,
    ready_ratio,
    restart_counts,
)
from ansible.module_utils.sockshop_locust import judge_load, summarize
from ansible.module_utils.sockshop_prometheus import (
    PROMETHEUS_KINDS,
    Look,
    judge_alert,
    judge_prometheus_answer,
    judge_promql,
    parse_service_ref,
    waiting_message,
)
from ansible.module_utils.sockshop_module import Connect, ModuleError, iso, main_of, parse_iso, utc_now
from ansible.module_utils.sockshop_resource_signals import judge_http, judge_termination, judge_usage, pod_metrics_for
from ansible.module_utils.sockshop_service_proxy import (
    NO_ENDPOINTS_TEXT,
    ServiceProxyError,
    call_service,
    status_message,
)
from ansible.module_utils.urls import open_url

try:
    from prometheus_client.parser import text_string_to_metric_families

    HAS_PROMETHEUS_CLIENT = True
except ImportError:  # pragma: no cover - prometheus_client is part of the controller's requirements
    HAS_PROMETHEUS_CLIENT = False

ARGUMENT_SPEC = incident_spec(
    {
        "signals": {"type": "list", "elements": "dict", "required": True},
        "queries": {"type": "dict", "default": {}},
        "since": {"type": "str", "required": True},
        "orders": {"type": "list", "elements": "dict", "default": []},
        "poll_s": {"type": "float", "default": 0.5},
        "prometheus_url": {"type": "str", "default": ""},
        "prometheus_service": {"type": "str", "default": ""},
        "datadog_site": {"type": "str", "default": "datadoghq.com"},
        "datadog_api_url": {"type": "str", "default": ""},
        "datadog_api_key": {"type": "str", "default": "", "no_log": True},
        "datadog_app_key": {"type": "str", "default": "", "no_log": True},
    }
)

# Kubernetes event and log timestamps have whole seconds; allow that much before the window opens.
SLACK_S = 1.0
CONTEXT_LINES = 2  # a matched log line is kept with this many lines either side (the report shows them)
LINE_CHARS = 400
LOCUST_WEB_PORT = 8089  # a load fault's Service (sockshop_locust.manifests)


# ---------------------------------------------------------------- evaluation (pure)


def judge_k8s_state(
    check: dict[str, Any], deployment: dict[str, Any] | None, pods: list[dict[str, Any]], ledger: Any
) -> Verdict:
    name = check["deployment"]
    if deployment is None:
        return False, f"deployment {name} not found"
    available = int(get_path(deployment, "status.availableReplicas") or 0)
    notes = [f"{name}: {available} available of {get_path(deployment, 'spec.replicas')} wanted"]
    ok = True
    if "available" in check and available != check["available"]:
        ok = False
        notes.append(f"expected {check['available']} available")
    ratios = {pod["metadata"]["name"]: ready_ratio(pod) for pod in pods}
    if pods:
        notes.append(
            "pods "
            + ", ".join(
                f"{p} {r} {get_path(q, 'status.phase')}" for (p, r), q in zip(ratios.items(), pods, strict=True)
            )
        )
    if "ready" in check and (not ratios or any(r != check["ready"] for r in ratios.values())):
        ok = False
        notes.append(f"expected every pod {check['ready']} ready")
    if check.get("restarts") == "unchanged":
        live = restart_counts(pods)
        recorded = (ledger or {}).get("restart_counts", {}).get(name)
        if recorded is None:
            ok = False
            notes.append("no ledger restart counts to compare with (was the incident activated?)")
        elif live != recorded:
            ok = False
            notes.append(
                f"restart counts changed: ledger {json.dumps(recorded, sort_keys=True)}, "
                f"live {json.dumps(live, sort_keys=True)}"
            )
        else:
            notes.append(f"restart counts unchanged {json.dumps(live, sort_keys=True)}")
    return ok, "; ".join(notes)


def event_time(event: dict[str, Any]) -> str:
    for path in ("lastTimestamp", "eventTime", "firstTimestamp", "metadata.creationTimestamp"):
        value = get_path(event, path)
        if value:
            return str(value)
    return ""


def judge_k8s_event(check: dict[str, Any], events: list[dict[str, Any]], since: Any) -> Verdict:
    """A fresh event of the reason whose message matches; with `count`, how many there are (count eq 0: none)."""
    pattern = re.compile(check["message_regex"])
    seen, matched = [], []
    for event in sorted(events, key=event_time):
        when = event_time(event)
        fresh = bool(when) and (parse_iso(when) - since).total_seconds() >= -SLACK_S
        text = (
            f"{event.get('type', '')} {event.get('reason', '')} {event.get('message', '')!r} "
            f"at {when or 'unknown time'}"
        )
        if fresh and event.get("reason") == check["reason"] and pattern.search(event.get("message") or ""):
            if "count" not in check:
                return True, text
            matched.append(text)
        seen.append(text)
    about = f"{check['reason']} event matching /{check['message_regex']}/ about {check['kind']}/{check['name']}"
    if "count" in check:
        op, want = check["count"]["op"], float(check["count"]["value"])
        shown = f"; e.g. {matched[-1]}" if matched else ""
        return OPS[op](len(matched), want), (f"{len(matched)} {about} since the activation (want {op} {want:g}){shown}")
    return (
        False,
        f"no {about} since the activation" + (f"; seen: {'; '.join(seen[-3:])}" if seen else ""),
    )


def stamped_lines(log: str, since: Any) -> list[tuple[str, str]]:
    """(timestamp, text) of the log lines written after `since`; a line without a leading timestamp is kept, with
    an empty timestamp."""
    lines = []
    for line in log.splitlines():
        stamp, _, text = line.partition(" ")
        try:
            if (parse_iso(stamp) - since).total_seconds() >= -SLACK_S:
                lines.append((stamp, text))
        except ValueError:
            lines.append(("", line))
    return lines


def fresh_lines(log: str, since: Any) -> list[str]:
    """Log lines written after `since`; lines without a leading timestamp are kept."""
    return [text for _, text in stamped_lines(log, since)]


def in_context(pod: str, lines: list[tuple[str, str]], index: int) -> list[dict[str, Any]]:
    """The line at `index` with up to CONTEXT_LINES fresh lines either side, for a report's evidence."""
    low, high = max(0, index - CONTEXT_LINES), min(len(lines), index + CONTEXT_LINES + 1)
    return [
        {"pod": pod, "at": at, "text": text.rstrip()[:LINE_CHARS], "match": n == index}
        for n, (at, text) in enumerate(lines[low:high], start=low)
    ]


def judge_pod_log(check: dict[str, Any], logs: dict[str, str], since: Any, orders: Any = None) -> Verdict | Look:
    if not logs:
        return False, f"deployment {check['deployment']} has no pods to read logs from"
    if check.get("per_order"):
        return judge_pod_log_per_order(check, logs, since, orders or [])
    for pod, log in sorted(logs.items()):
        lines = stamped_lines(log, since)
        for index, (_, line) in enumerate(lines):
            if check["contains"] in line:
                return Look(True, f"{pod}: {line.strip()[:240]}", lines=in_context(pod, lines, index))
    return False, f"no line containing {check['contains']!r} in {', '.join(sorted(logs))} since the activation"


def judge_pod_log_per_order(
    check: dict[str, Any], logs: dict[str, str], since: Any, orders: list[dict[str, Any]]
) -> Verdict:
    """A fresh line containing check.contains, with {id} replaced, for every order placed."""
    if not orders:
        return False, "no orders were placed, so there is no line to look for"
    lines = [(pod, line) for pod, log in sorted(logs.items()) for line in fresh_lines(log, since)]
    found, missing = [], []
    for order in orders:
        if not order.get("id"):
            missing.append(f"order #{order.get('n', '?')} (no id came back)")
            continue
        wanted = check["contains"].replace("{id}", str(order["id"]))
        hit = next((f"{pod}: {line.strip()[:200]}" for pod, line in lines if wanted in line), None)
        (found.append(hit) if hit else missing.append(str(order["id"])))
    head = f"{len(found)} of {len(orders)} orders have a line containing {check['contains']!r}"
    if missing:
        return False, f"{head}; none for {', '.join(missing)}"
    return True, f"{head}, e.g. {found[0]}"


def judge_orders(check: dict[str, Any], orders: list[dict[str, Any]], live: dict[str, Any] | None = None) -> Verdict:
    """Every placed order against the check: its answer (http_status, message_regex) and its live state.

    ``live`` maps order id to the order as GET /orders/<id> returned it, or to a text saying why it could not
    be read; it is only needed for status and shipment.
    """
    if not orders:
        return False, "no orders were placed"
    live = live or {}
    misses, seen = [], []
    for order in orders:
        oid = order.get("id")
        label = str(oid or f"#{order.get('n', '?')} (no id came back: {order.get('message') or 'no answer'})")
        problems = []
        if "http_status" in check and order.get("http_status") not in check["http_status"]:
            problems.append(f"HTTP {order.get('http_status')}, want {' or '.join(map(str, check['http_status']))}")
        if "message_regex" in check:
            pattern = re.compile(check["message_regex"].replace("{id}", re.escape(str(oid or "<none>"))))
            if not pattern.search(str(order.get("message") or "")):
                problems.append(f"message {str(order.get('message') or '')[:120]!r} does not match")
        state = live.get(str(oid)) if oid else None
        if ("status" in check or "shipment" in check) and not isinstance(state, dict):
            problems.append(f"cannot read the order: {state or 'no id'}")
        elif isinstance(state, dict):
            if "status" in check and state.get("status") != check["status"]:
                problems.append(f"status {state.get('status')}, want {check['status']}")
            shipment = state.get("shipment")
            if "shipment" in check and check["shipment"] is None and shipment is not None:
                problems.append(f"shipment {json.dumps(shipment, sort_keys=True, default=str)}, want null")
            if check.get("shipment") == "present" and not shipment:
                problems.append("no shipment, want one")
        if problems:
            misses.append(f"{label}: {'; '.join(problems)}")
        else:
            seen.append((label, order, state))
    if "count" in check:  # how many hold, not every one (INCIDENT-5C: the first 3 accepted, the rest refused)
        op, want = check["count"]["op"], check["count"]["value"]
        held = f"{len(seen)} of {len(orders)} orders hold (want {op} {want:g})"
        if not OPS[op](len(seen), want):
            return False, f"{held}; the others: " + " | ".join(misses[:5]) if misses else held
        if not seen:
            return True, held
    elif misses:
        return False, f"{len(misses)} of {len(orders)} orders do not hold: " + " | ".join(misses[:5])
    label, order, state = seen[0]
    example = [f"HTTP {order.get('http_status')}"]
    if order.get("message"):
        example.append(repr(str(order["message"])[:120]))
    if isinstance(state, dict):
        example.append(f"status {state.get('status')}")
        shipment = state.get("shipment")
        example.append("shipment null" if shipment is None else f"shipment {(shipment or {}).get('id', shipment)}")
    held = f"{len(seen)} of {len(orders)} orders hold" + (f" (want {op} {want:g})" if "count" in check else "")
    return True, f"{held}, e.g. {label}: {', '.join(example)}"


def judge_numeric(expect: dict[str, Any], series: list[dict[str, Any]]) -> Verdict:
    wanted = expect.get("labels") or {}
    chosen = [s for s in series if all(s["labels"].get(k) == v for k, v in wanted.items())]
    if not chosen:
        return False, f"no series{' with ' + json.dumps(wanted, sort_keys=True) if wanted else ''} (got {len(series)})"
    shown = ", ".join(f"{json.dumps(s['labels'], sort_keys=True)}={s['value']}" for s in chosen[:5])
    ok = all(s["value"] is not None and OPS[expect["op"]](s["value"], expect["value"]) for s in chosen)
    return ok, f"{shown} (want {expect['op']} {expect['value']})"


QUEUE_FIELDS = ("messages", "consumers")


def queue_state(metrics: str, vhost: str, queue: str) -> dict[str, float]:
    """rabbitmq_queue_messages and rabbitmq_queue_consumers of one queue, from the exporter's /metrics text
    (kbudde's names and labels; parsed with prometheus_client's own parser)."""
    state: dict[str, float] = {}
    for family in text_string_to_metric_families(metrics):
        for sample in family.samples:
            field = sample.name.removeprefix("rabbitmq_queue_")
            if field in QUEUE_FIELDS and sample.labels.get("queue") == queue and sample.labels.get("vhost") == vhost:
                state[field] = sample.value
    return state


def judge_queue(check: dict[str, Any], metrics: str) -> Verdict:
    vhost, queue = check.get("vhost", "/"), check["queue"]
    state = queue_state(metrics, vhost, queue)
    if not state:
        return False, f"the exporter reports no queue {queue!r} in vhost {vhost!r}"
    ok, seen = True, []
    for field in QUEUE_FIELDS:
        if field not in check:
            continue
        expect, value = check[field], state.get(field)
        ok = ok and value is not None and OPS[expect["op"]](value, expect["value"])
        seen.append(f"{field} {'absent' if value is None else f'{value:g}'} (want {expect['op']} {expect['value']:g})")
    return ok, f"queue {queue}: " + ", ".join(seen)


def datadog_series(answer: dict[str, Any]) -> list[dict[str, Any]]:
    series = []
    for item in answer.get("series", []):
        points = [p for p in item.get("pointlist", []) if p[1] is not None]
        tags = dict(tag.split(":", 1) for tag in item.get("scope", "").split(",") if ":" in tag)
        series.append({"labels": tags, "value": float(points[-1][1]) if points else None})
    return series


def poll(
    signals: list[dict[str, Any]],
    observe: Callable[[dict[str, Any]], Verdict | Look | None],
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    poll_s: float,
    *,
    wall: Callable[[], str] = lambda: iso(utc_now()),
) -> list[dict[str, Any]]:
    """Look at every signal until it holds or its budget runs out. observe() returns None for 'not checked'.
    A signal that holds records when (`answered_at`, UTC): a recovery is confirmed at the last of them.

    A `hold` signal is an invariant: looked at on every round until every other signal is decided and for at
    least its within_s; it passes if it held at every look and fails at the first look where it did not.

    A Look with error (the backend did not answer) is looked at again while the budget lasts; a signal whose
    last look erred when its budget ran out is `error`, never passed or failed. A final Look fails at once."""
    start = clock()
    results: dict[str, dict[str, Any]] = {}
    pending = list(signals)
    looks: dict[str, int] = {}
    unanswered: dict[str, int] = {}
    while pending:
        still: list[dict[str, Any]] = []
        # events first, so a hold signal is concluded in the round that decides the last event
        for signal in sorted(pending, key=lambda s: bool(s.get("hold"))):
            events_pending = any(not s.get("hold") for s in still)
            verdict = observe(signal)
            elapsed = clock() - start
            name = signal["name"]
            looks[name] = looks.get(name, 0) + 1
            base: dict[str, Any] = {
                "name": name,
                "kind": signal["kind"],
                "within_s": signal["within_s"],
                "time_to_signal_s": None,
            }
            if isinstance(verdict, Look):
                if verdict.samples is not None:
                    base["samples"] = verdict.samples
                if verdict.query is not None:
                    base["query"] = verdict.query
                if verdict.lines is not None:
                    base["lines"] = verdict.lines
            error = isinstance(verdict, Look) and verdict.error
            final = isinstance(verdict, Look) and verdict.final
            if verdict is None or verdict[0] is None:
                reason = verdict.reason if isinstance(verdict, Look) else None
                results[name] = dict(
                    base,
                    status="not_checked",
                    evidence=verdict[1] if verdict else "backend not configured for this inventory",
                    reason=reason or (NOT_CONFIGURED if verdict is None else CHECK_MODE),
                )
            elif signal.get("hold"):
                if error:
                    unanswered[name] = unanswered.get(name, 0) + 1
                if not verdict[0] and not error:
                    results[name] = dict(
                        base, status="failed", evidence=f"stopped holding after {elapsed:.0f} s: {verdict[1]}"
                    )
                elif events_pending or elapsed < signal["within_s"]:
                    still.append(signal)
                elif error:
                    results[name] = dict(
                        base, status="error", evidence=f"no answer at the last look after {elapsed:.0f} s: {verdict[1]}"
                    )
                else:
                    missed = unanswered.get(name, 0)
                    gaps = f", {missed} of them unanswered" if missed else ""
                    results[name] = dict(
                        base,
                        status="passed",
                        time_to_signal_s=round(elapsed, 3),
                        evidence=f"held for {elapsed:.0f} s ({looks[name]} looks{gaps}): {verdict[1]}",
                        answered_at=wall(),
                    )
            elif verdict[0]:
                results[name] = dict(
                    base, status="passed", time_to_signal_s=round(elapsed, 3), evidence=verdict[1], answered_at=wall()
                )
            elif final:
                results[name] = dict(base, status="failed", evidence=verdict[1])
            elif elapsed >= signal["within_s"]:
                if error:
                    results[name] = dict(
                        base, status="error", evidence=f"no answer within {signal['within_s']} s: {verdict[1]}"
                    )
                else:
                    results[name] = dict(
                        base, status="failed", evidence=f"not within {signal['within_s']} s: {verdict[1]}"
                    )
            else:
                still.append(signal)
        pending = still
        if pending:
            sleep(poll_s)
    return [results[s["name"]] for s in signals]


# ---------------------------------------------------------------- observation (I/O)


BACKENDS = {"promql": "Prometheus", "alert": "Prometheus", "datadog_logs": "Datadog", "datadog_metrics": "Datadog"}


class Observer:
    def __init__(
        self,
        live: Any,
        store: Any,
        params: dict[str, Any],
        http: Callable[..., Any],
        call: Callable[..., Any] | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        live_in: Callable[[str], Any] | None = None,
    ) -> None:
        self.live = live
        self.live_in = live_in  # live_in(namespace) -> LiveState there: the Prometheus Service and its pods
        self.prometheus = parse_service_ref(params["prometheus_service"]) if params.get("prometheus_service") else None
        self.clock = clock
        self.resting: dict[str, tuple[float, str]] = {}  # backend -> (rate limited until, the evidence meanwhile)
        self.params = params
        self.since = parse_iso(params["since"])
        self.http = http
        # call(service, port, path, method=, namespace=) -> ProxyResponse; namespace defaults to the incident's
        self.call = call
        self.orders: list[dict[str, Any]] = list(params.get("orders") or [])
        cm = store.get(ledger_name(params["incident_id"]))
        self.ledger = json.loads(cm["data"][LEDGER_KEY]) if cm and LEDGER_KEY in (cm.get("data") or {}) else None

    def workload(self, name: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        """A Deployment and its live pods (none when it does not exist)."""
        deployment = self.live.get("apps/v1", "Deployment", name)
        return deployment, self.live.pods_of(deployment) if deployment else []

    def read_order(self, check: dict[str, Any], order_id: str) -> dict[str, Any] | str:
        """The order as GET /orders/<id> shows it, or why it could not be read."""
        if self.call is None:
            return "no client to read orders with"
        path = f"/orders/{order_id}"
        response = self.call(check.get("service", "orders"), check.get("port", 80), path)
        if response.status != 200:
            detail = status_message(response.body) or response.body[:200].decode("utf-8", "replace")
            return f"GET {path} answered HTTP {response.status}: {detail}"
        try:
            doc = json.loads(response.body)
        except ValueError:
            return f"GET {path} answered something that is not JSON"
        return doc if isinstance(doc, dict) else f"GET {path} answered {type(doc).__name__}, not an order"

    def observe_queue(self, check: dict[str, Any]) -> Verdict:
        if not HAS_PROMETHEUS_CLIENT:
            raise ModuleError(missing_required_lib("prometheus_client"))
        if self.call is None:
            return False, "no client to read the exporter with"
        response = self.call(check.get("service", "rabbitmq"), check.get("port", 9090), "/metrics")
        if response.status != 200:
            return False, f"GET /metrics answered HTTP {response.status}"
        return judge_queue(check, response.body.decode("utf-8", "replace"))

    def observe_load(self, check: dict[str, Any]) -> Verdict:
        """Locust's own statistics, from its web UI through the load's Service (the Job's pod serves it)."""
        if self.call is None:
            return False, "no client to read the load's statistics with"
        response = self.call(check["job"], LOCUST_WEB_PORT, "/stats/requests")
        if response.status != 200:
            detail = status_message(response.body) or f"HTTP {response.status}"
            return False, f"the load {check['job']} serves no statistics yet ({detail})"
        return judge_load(check, summarize(json.loads(response.body)))

    def request(self, check: dict[str, Any]) -> dict[str, Any]:
        """One request as judge_http reads it: status, elapsed_s, body, or the transport error."""
        if self.call is None:
            return {"status": None, "elapsed_s": 0.0, "body": b"", "error": "no client to send the request with"}
        try:
            response = self.call(
                check["service"], check.get("port", 80), check["path"], method=check.get("method", "GET")
            )
        except ServiceProxyError as exc:
            return {"status": None, "elapsed_s": exc.elapsed_s, "body": b"", "error": str(exc)}
        return {"status": response.status, "elapsed_s": response.elapsed_s, "body": response.body, "error": None}

    def query(self, kind: str, name: str) -> str:
        for entry in (self.params.get("queries") or {}).get(kind, []):
            if entry["name"] == name:
                return str(entry["query"])
        raise KeyError(f"no {kind} query named {name}")

    def prometheus_configured(self) -> bool:
        return bool(self.prometheus or self.params.get("prometheus_url"))

    def prometheus_where(self) -> str:
        if self.prometheus:
            namespace, service, port = self.prometheus
            return f"{namespace}/{service}:{port}"
        where = urlsplit(self.params["prometheus_url"])
        return f"{where.netloc}{where.path}"

    def prometheus_get(self, path: str) -> tuple[int, Any]:
        """GET a Prometheus API path: through the API server's service proxy (prometheus_service), else at
        prometheus_url. Returns (HTTP status, body); raises ServiceProxyError / OSError when nothing answered."""
        if self.prometheus:
            if self.call is None:
                raise ServiceProxyError("no client to reach the Prometheus Service with")
            namespace, service, port = self.prometheus
            response = self.call(service, port, path, namespace=namespace)
            return response.status, response.body
        try:
            return 200, self.http(self.params["prometheus_url"].rstrip("/") + path)
        except HTTPError as exc:
            try:
                body = exc.read()
            except OSError:
                body = b""
            return exc.code, body

    def not_installed(self) -> str | None:
        """Why the Prometheus Service has no endpoints when its pods wait for an image that cannot be pulled."""
        if not self.prometheus or self.live_in is None:
            return None
        namespace, service, _ = self.prometheus
        live = self.live_in(namespace)
        found = live.get("v1", "Service", service)
        selector = get_path(found or {}, "spec.selector") or {}
        return waiting_message(live.pods_labelled(selector)) if selector else None

    def observe_prometheus(self, kind: str, check: dict[str, Any]) -> Look | None:
        """A promql or alert signal: None when no Prometheus is configured (not checked)."""
        if not self.prometheus_configured():
            return None
        query = self.query("promql", check["query"]) if kind == "promql" else None
        path = "/api/v1/query?" + urlencode({"query": query}) if query is not None else "/api/v1/alerts"
        where = self.prometheus_where()
        try:
            status, body = self.prometheus_get(path)
        except (OSError, ServiceProxyError) as exc:
            return Look(False, f"Prometheus at {where} not reachable: {exc}", error=True, query=query)
        answer = judge_prometheus_answer(status, body, where, query)
        if isinstance(answer, Look):
            if answer.error and status == 503 and NO_ENDPOINTS_TEXT in answer.evidence:
                waiting = self.not_installed()
                if waiting:
                    return Look(
                        None,
                        f"Prometheus could not be installed on this target ({where}): {waiting}",
                        reason=NOT_INSTALLED,
                        query=query,
                    )
            return answer
        if query is not None:
            return judge_promql(check["expect"], answer, query)
        return judge_alert(check, answer)

    def __call__(self, signal: dict[str, Any]) -> Verdict | Look | None:
        backend = BACKENDS.get(signal["kind"])
        if backend in self.resting and self.clock() < self.resting[backend][0]:
            return False, self.resting[backend][1]  # rate limited: not asked again before its limit resets
        try:
            return self.observe(signal)
        except (OSError, ServiceProxyError) as exc:  # a backend that errs is a signal not seen yet, until its budget
            # runs out
            if backend is None:
                return False, f"backend error: {exc}"
            line = f"backend error: {backend_errors.describe(exc, backend)}"
            rest = backend_errors.retry_after_s(exc) if getattr(exc, "code", None) == 429 else None
            if rest is not None:
                self.resting[backend] = (self.clock() + rest, line)
            return False, line

    def observe(self, signal: dict[str, Any]) -> Verdict | Look | None:
        check, kind = signal["check"], signal["kind"]
        if (kind == "orders" or (kind == "pod_log" and check.get("per_order"))) and not self.orders:
            if self.params.get("check_mode"):
                return None, "no orders placed in check mode"  # poll gives it reason check_mode
            return False, "no orders were placed by this phase"
        if kind == "orders":
            live = {}
            if "status" in check or "shipment" in check:
                live = {str(o["id"]): self.read_order(check, str(o["id"])) for o in self.orders if o.get("id")}
            return judge_orders(check, self.orders, live)
        if kind == "k8s_state":
            deployment, pods = self.workload(check["deployment"])
            return judge_k8s_state(check, deployment, pods, self.ledger)
        if kind == "k8s_event":
            return judge_k8s_event(check, self.live.events_about(check["kind"], check["name"]), self.since)
        if kind == "pod_log":
            deployment, pods = self.workload(check["deployment"])
            logs = {
                p["metadata"]["name"]: self.live.pod_log(p["metadata"]["name"], check.get("container")) for p in pods
            }
            verdict = judge_pod_log(check, logs, self.since, self.orders)
            if self.params.get("check_mode") and not verdict[0]:
                # The lines come from this phase's own probes and orders, which check mode does not send.
                return None, f"check mode sent no request that would log it ({verdict[1]})"
            return verdict
        if kind == "queue":
            return self.observe_queue(check)
        if kind == "load":
            return self.observe_load(check)
        if kind in ("usage", "termination"):
            deployment, pods = self.workload(check["deployment"])
            if kind == "usage":
                return judge_usage(check, pods, pod_metrics_for(self.live.pod_metrics(), pods))
            recorded = ((self.ledger or {}).get("restart_counts") or {}).get(check["deployment"])
            if recorded is None and "restarts_increased_by" in check:
                return False, f"no ledger restart counts of {check['deployment']} to compare with (was it activated?)"
            return judge_termination(check, pods, recorded or {})
        if kind == "http":
            return judge_http(check, self.request(check))
        if kind == "hpa":
            return judge_hpa(check, self.live.get(HPA_API_VERSION, "HorizontalPodAutoscaler", check["name"]))
        if kind in PROMETHEUS_KINDS:
            return self.observe_prometheus(kind, check)
        if not self.params["datadog_api_key"]:
            return None
        base = (self.params.get("datadog_api_url") or f"https://api.{self.params['datadog_site']}").rstrip("/")
        headers = {"DD-API-KEY": self.params["datadog_api_key"], "DD-APPLICATION-KEY": self.params["datadog_app_key"]}
        since_epoch = int(self.since.timestamp())
        if kind == "datadog_logs":
            body = {
                "filter": {"query": self.query(kind, check["query"]), "from": self.params["since"], "to": "now"},
                "page": {"limit": 100},
            }
            found = len(self.http(base + "/api/v2/logs/events/search", headers=headers, body=body).get("data") or [])
            want = check.get("min_count", 1)
            return found >= want, f"{found} log events since the activation (want at least {want})"
        url = (
            base
            + "/api/v1/query?"
            + urlencode({"from": since_epoch, "to": int(time.time()), "query": self.query(kind, check["query"])})
        )
        return judge_numeric(check["expect"], datadog_series(self.http(url, headers=headers)))


def http_json(url: str, headers: dict[str, str] | None = None, body: Any = None) -> Any:
    data = json.dumps(body) if body is not None else None
    all_headers = dict(headers or {}, **({"Content-Type": "application/json"} if body is not None else {}))
    response = open_url(url, data=data, headers=all_headers, method="POST" if body is not None else "GET", timeout=10)
    return json.loads(response.read())


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    if params.get("prometheus_service"):
        parse_service_ref(params["prometheus_service"])  # a malformed one is refused before any cluster access
    client, namespace = connect(), params["namespace"]

    def call(service: str, port: Any, path: str, method: str = "GET", namespace: str | None = None) -> Any:
        return call_service(client, namespace or params["namespace"], service, port, path, method=method, timeout=10)

    try:
        observer = Observer(
            LiveState(client, namespace),
            ConfigMaps(client, state_namespace(params)),
            dict(params, check_mode=check_mode),
            http_json,
            call,
            live_in=lambda other: LiveState(client, other),
        )
        results = poll(params["signals"], observer, time.monotonic, time.sleep, params["poll_s"])
    except ValueError as exc:
        raise ModuleError(
            f"bad signal input: {exc}. Pass since as an RFC 3339 UTC time and signals as in the incident file."
        ) from exc
    except (KeyError, TypeError) as exc:
        raise ModuleError(
            f"a signal is missing {exc}; load signals with incident_load so they match the schema."
        ) from exc
    return {
        "changed": False,
        "results": results,
        "passed": all(r["status"] not in ("failed", "error") for r in results),
    }


def main() -> None:
    main_of(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
