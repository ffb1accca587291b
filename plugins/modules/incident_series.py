#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: incident_series
short_description: Read an incident's PromQL queries over a run's window, as series for the report's chart
description:
  - Sends each named query of the incident's C(queries.promql) to Prometheus as a range query
    (C(/api/v1/query_range)) over I(start) to I(end), and returns what came back as the series the report's timeline
    chart draws (C(sockshop_chart) - a label and points, each an instant and a value).
  - Prometheus is reached as incident_signals reaches it - I(prometheus_service) through the API server's service
    proxy with the module's credentials (the same on every target), else I(prometheus_url).
  - A report must render whatever Prometheus does, so this module fails only on bad input (times that do not
    parse, I(end) before I(start), a name not among the queries, a malformed I(prometheus_service) or
    I(prometheus_url)). A query Prometheus refuses (400/422), answers with an error (503 when the Service has no
    endpoints, a 404 when it does not exist) or does not answer at all is returned in C(unanswered) with the reason.
    Once Prometheus (or the API server) did not answer at all, the queries after it are not sent and carry the
    same reason.
  - Without I(prometheus_service) and I(prometheus_url) nothing is sent; C(skipped_reason) says so.
  - Written by hand because it is a thin reader over Prometheus' documented HTTP API; prometheus_client, which
    the project already uses, exposes and parses metrics but has no query client.
version_added: "0.1.0"
author: sockshop-incidents contributors
extends_documentation_fragment:
  - kubernetes.core.k8s_auth_options
options:
  queries:
    description: The incident's C(queries) mapping; only its C(promql) list (each with C(name) and C(query)) is read.
    type: dict
    default: {}
  names:
    description: The C(queries.promql) entries to read, by name, in the order their series are returned.
    type: list
    elements: str
    required: true
  start:
    description: Start of the window (RFC 3339, UTC), for example C(2026-11-23T08:24:40.000Z).
    type: str
    required: true
  end:
    description: End of the window (RFC 3339, UTC); not before I(start).
    type: str
    required: true
  step_s:
    description:
      - Seconds between two points of a series. Unset means whole seconds, at least 1, chosen so that the window
        gives at most 250 points a series. A step that would give more than Prometheus' 11000 points is refused.
    type: float
  max_series:
    description: How many series to return in all, the first queries' first; the rest are counted in C(dropped).
    type: int
    default: 6
  settle_s:
    description:
      - Wait up to this many seconds until every target Prometheus scrapes was scraped after I(end), and with
        success, and move the window's end one step past that moment, so the series show what happened just
        before I(end) - a recovery Prometheus had not scraped yet. A failed scrape does not count, as it marks the
        target's series stale, so their last point would still be the one before. Targets that were not up once
        in the last 5 minutes (down for good, such as a control-plane component a KIND cluster does not expose)
        are left out. On a miss the window keeps I(end) and C(settled) is false. 0 does not wait.
    type: float
    default: 0
  prometheus_url:
    description: Base URL of a Prometheus outside the cluster, such as C(http://prometheus.example:9090).
    type: str
    default: ""
  prometheus_service:
    description:
      - Prometheus as a Kubernetes Service, C(<namespace>/<service>:<port>) (the port a number or a port name), for
        example C(monitoring/kps-kube-prometheus-stack-prometheus:9090), reached through the API server's service
        proxy. Preferred over I(prometheus_url) when both are set. A value of another form is refused before any
        cluster access.
    type: str
    default: ""
requirements:
  - kubernetes >= 24.2.0
notes:
  - Only reads; supports check mode and runs the same there.
"""

EXAMPLES = r"""
- name: Read the incident's key series over the run, for the report's chart
  incident_series:
    queries: "{{ loaded.incident.queries }}"
    names: [replicas_available]
    start: "{{ lock.lock.since }}"
    end: "{{ now(utc=true, fmt='%Y-%m-%dT%H:%M:%SZ') }}"
    prometheus_service: monitoring/kps-kube-prometheus-stack-prometheus:9090
  register: series
"""

RETURN = r"""
series:
  description: The series, each as the report's chart takes it, at most I(max_series).
  returned: always
  type: list
  elements: dict
  contains:
    label:
      description: The query's name and the labels that tell its series apart.
      type: str
      sample: replicas_available deployment=stripe-mock
    query:
      description: The name of the query the series came from.
      type: str
    points:
      description: C(at) (RFC 3339, UTC) and C(value) (float) of each point; NaN and infinite values are left out.
      type: list
      elements: dict
unanswered:
  description: The queries Prometheus refused or did not answer - C(query) (its name) and C(reason).
  returned: always
  type: list
  elements: dict
dropped:
  description: How many series were left out past I(max_series).
  returned: always
  type: int
window:
  description: C(start) and C(end) (RFC 3339, UTC) and C(step_s), as sent (C(end) moved by I(settle_s)).
  returned: always
  type: dict
settled:
  description: With I(settle_s), whether every target was scraped with success after I(end) within it; null
    without.
  returned: always
  type: bool
skipped_reason:
  description: Why nothing was read.
  returned: when neither prometheus_service nor prometheus_url is set
  type: str
  sample: no Prometheus configured for this target
"""

import datetime as dt
import math
import time
from collections.abc import Callable
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode, urlsplit

from ansible.module_utils.sockshop_module import (
    Connect,
    ModuleError,
    api_failure,
    cluster_spec,
    iso,
    main_of,
    parse_iso,
)
from ansible.module_utils.sockshop_prometheus import (
    MAX_RANGE_POINTS,
    Look,
    choose_step,
    judge_prometheus_answer,
    parse_service_ref,
    promql_samples,
    range_points,
    range_series,
)
from ansible.module_utils.sockshop_service_proxy import ServiceProxyError, call_service
from ansible.module_utils.urls import ConnectionError as UrlConnectionError
from ansible.module_utils.urls import open_url

ARGUMENT_SPEC = cluster_spec(
    {
        "queries": {"type": "dict", "default": {}},
        "names": {"type": "list", "elements": "str", "required": True},
        "start": {"type": "str", "required": True},
        "end": {"type": "str", "required": True},
        "step_s": {"type": "float"},
        "max_series": {"type": "int", "default": 6},
        "settle_s": {"type": "float", "default": 0},
        "prometheus_url": {"type": "str", "default": ""},
        "prometheus_service": {"type": "str", "default": ""},
    }
)
NOT_CONFIGURED = "no Prometheus configured for this target"
# The oldest of the targets' last scrapes; 0 while one's last scrape failed (a slow API server's /metrics past the
# scrape timeout), targets not up once in 5 minutes left out.
SCRAPED = "min(timestamp(up) * up and max_over_time(up[5m]) == 1)"
SETTLE_POLL_S = 0.5
TIMEOUT_S = 10.0
Get = Callable[[str], tuple[int, Any]]  # GET a Prometheus API path: (HTTP status, body); raises when none answered


def window(params: dict[str, Any]) -> dict[str, Any]:
    """start, end (RFC 3339 UTC) and step_s, checked; the step chosen for the window when none is given."""
    moments = {}
    for key in ("start", "end"):
        try:
            moments[key] = parse_iso(params[key])
        except ValueError:
            raise ModuleError(
                f"{key} {params[key]!r} is not an RFC 3339 time: pass it as 2026-11-23T08:24:40.000Z (UTC)"
            ) from None
    start, end = moments["start"], moments["end"]
    if end < start:
        raise ModuleError(f"end {params['end']} is before start {params['start']}: pass the window's start first")
    step = params.get("step_s")
    step = choose_step(start, end) if step is None else float(step)
    if not (math.isfinite(step) and step > 0):
        raise ModuleError(f"step_s {step:g} is not a number of seconds: pass one more than 0, or none")
    if range_points(start, end, step) > MAX_RANGE_POINTS:
        raise ModuleError(
            f"step_s {step:g} gives {range_points(start, end, step)} points a series over this window, more than "
            f"Prometheus' {MAX_RANGE_POINTS}: pass a larger step, or none to have one chosen"
        )
    return {"start": iso(start), "end": iso(end), "step_s": step}


def chosen_queries(queries: dict[str, Any], names: list[str]) -> list[tuple[str, str]]:
    """(name, PromQL) of each name, in order; a name not among queries.promql is refused, naming the known ones."""
    entries = (queries or {}).get("promql") or []
    known = {str(q["name"]): str(q["query"]) for q in entries if isinstance(q, dict) and "name" in q and "query" in q}
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ModuleError(
            f"no promql query named {', '.join(unknown)} in queries (known: {', '.join(known) or 'none'}): "
            "pass names of the incident's queries.promql"
        )
    return [(name, known[name]) for name in names]


def through_service(ref: tuple[str, str, str], connect: Connect) -> Get:
    """GET through the API server's service proxy; the client is made at the first request."""
    namespace, service, port = ref
    clients: list[Any] = []

    def get(path: str) -> tuple[int, Any]:
        if not clients:
            try:
                clients.append(connect())
            except Exception as exc:
                sentence = api_failure(exc)
                if sentence is None:  # not the API client's or the wire's: a bug, with its traceback
                    raise
                raise ServiceProxyError(sentence) from exc
        response = call_service(clients[0], namespace, service, port, path, timeout=TIMEOUT_S)
        return response.status, response.body

    return get


def at_url(base: str) -> Get:
    def get(path: str) -> tuple[int, Any]:
        try:
            response = open_url(base.rstrip("/") + path, headers={"Accept": "application/json"}, timeout=TIMEOUT_S)
            return int(response.getcode()), response.read()
        except HTTPError as exc:
            try:
                return exc.code, exc.read()
            except OSError:
                return exc.code, b""

    return get


def range_path(query: str, span: dict[str, Any]) -> str:
    start, end = parse_iso(span["start"]).timestamp(), parse_iso(span["end"]).timestamp()
    return "/api/v1/query_range?" + urlencode({"query": query, "start": start, "end": end, "step": span["step_s"]})


def read(queries: list[tuple[str, str]], get: Get, where: str, span: dict[str, Any]) -> dict[str, Any]:
    """Every query over the window: the series found, and the queries not answered with the reason. Once nothing
    answered, the queries after it are not sent (each would wait out the timeout) and carry the same reason."""
    found: list[dict[str, Any]] = []
    unanswered: list[dict[str, str]] = []
    down: str | None = None
    for name, query in queries:
        reason = down
        if reason is None:
            try:
                status, body = get(range_path(query, span))
            except (OSError, ServiceProxyError, UrlConnectionError) as exc:
                reason = down = f"Prometheus at {where} not reachable: {exc}"
            else:
                answer = judge_prometheus_answer(status, body, where, query)
                if not isinstance(answer, Look):
                    found += range_series(answer, name)
                    continue
                reason = answer.evidence
        unanswered.append({"query": name, "reason": reason})
    return {"series": found, "unanswered": unanswered}


def settle(
    get: Get, end: float, budget_s: float, clock: Callable[[], float], sleep: Callable[[float], None]
) -> float | None:
    """The moment (Unix seconds) by which every target (up once in 5 minutes) was scraped with success after `end`,
    asking at most for `budget_s`; None when that did not happen in time, or Prometheus did not answer."""
    deadline = clock() + budget_s
    while True:
        try:
            status, body = get("/api/v1/query?" + urlencode({"query": SCRAPED}))
        except (OSError, ServiceProxyError, UrlConnectionError):
            return None
        answer = judge_prometheus_answer(status, body, "", SCRAPED)
        if isinstance(answer, Look):
            return None
        values = [float(sample["value"]) for sample in promql_samples(answer)]
        if values and math.isfinite(values[0]) and values[0] >= end:
            return values[0]
        if clock() + SETTLE_POLL_S > deadline:
            return None
        sleep(SETTLE_POLL_S)


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    span, names = window(params), chosen_queries(params["queries"], params["names"])
    if params["max_series"] < 0:
        raise ModuleError(f"max_series {params['max_series']} is less than 0: pass how many series to keep")
    url, service = params["prometheus_url"], params["prometheus_service"]
    ref = parse_service_ref(service) if service else None  # a malformed one is refused before any cluster access
    if url and not ref and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        raise ModuleError(f"prometheus_url {url!r} is not an http(s) URL: pass e.g. http://prometheus.example:9090")
    if not (math.isfinite(params["settle_s"]) and params["settle_s"] >= 0):
        raise ModuleError(f"settle_s {params['settle_s']:g} is not a number of seconds: pass 0 or more")
    result: dict[str, Any] = {
        "changed": False,
        "series": [],
        "unanswered": [],
        "dropped": 0,
        "window": span,
        "settled": None,
    }
    if ref is None and not url:
        return dict(result, skipped_reason=NOT_CONFIGURED)
    get = through_service(ref, connect) if ref else at_url(url)
    if params["settle_s"] > 0:
        scraped = settle(get, parse_iso(span["end"]).timestamp(), params["settle_s"], time.monotonic, time.sleep)
        result["settled"] = scraped is not None
        if scraped is not None:
            # one step past the scrape, so the last point is evaluated after it
            moved = dt.datetime.fromtimestamp(scraped + span["step_s"], dt.UTC)
            span = result["window"] = dict(span, end=iso(moved))
    got = read(names, get, service or url, span)
    keep = params["max_series"]
    return dict(result, series=got["series"][:keep], unanswered=got["unanswered"], dropped=len(got["series"][keep:]))


def main() -> None:
    main_of(ARGUMENT_SPEC, run)


if __name__ == "__main__":
    main()
