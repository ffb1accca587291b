"""sockshop_report_links: the run's window, console URLs decoded parameter by parameter, the report's queries section
for INCIDENT-6, and reports/index.md under concurrent runs."""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import multiprocessing
import os
import re
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
from ansible.module_utils.sockshop_report_links import (
    RunIndexError,
    datadog_app_url,
    datadog_logs_url,
    datadog_metric_parts,
    datadog_metrics_url,
    grafana_explore_url,
    human_duration,
    prometheus_duration,
    prometheus_graph_url,
    queries_section,
    query_window,
    update_index,
)

from plugins.modules import incident_load

CATALOG = Path(__file__).resolve().parents[3] / "incidents"
INCIDENT = incident_load.load_incident(str(CATALOG), "6")["incident"]
QUERIES = INCIDENT["queries"]

UTC = dt.UTC
START = dt.datetime(2026, 11, 23, 8, 24, 0, 500, tzinfo=UTC)  # 0.5 ms past the second
END = dt.datetime(2026, 11, 23, 8, 28, 49, 500000, tzinfo=UTC)
START_MS = 1795422240000  # floor of START
END_MS = 1795422529500
PAYMENT_RESTARTS = 'rate(kube_pod_container_status_restarts_total{namespace="sock-shop",pod=~"payment.*"}[5m])'
TIMELINE = {
    "activation_started_at": "2026-11-23T08:25:00.000Z",
    "activated_at": "2026-11-23T08:25:22.000Z",
    "activation_s": 22.0,
    "recovery_started_at": "2026-11-23T08:27:22.000Z",
    "mttr_s": 27.5,
    "recovered_at": "2026-11-23T08:27:49.500Z",
    "outage_s": 147.5,
}


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def params_of(url: str) -> dict[str, str]:
    """Each parameter once, decoded; strict: a stray `&` or `=` in a value would fail here or change a value."""
    parsed = parse_qs(urlsplit(url).query, keep_blank_values=True, strict_parsing=True)
    assert all(len(values) == 1 for values in parsed.values()), parsed
    return {key: values[0] for key, values in parsed.items()}


def raw_pairs(url: str) -> dict[str, str]:
    """The split the Prometheus 2 UI makes (`param.split('=')`, `+` as space): only a value with every `=` and `&`
    encoded survives it."""
    pairs = {}
    for part in urlsplit(url).query.split("&"):
        assert part.count("=") == 1, part
        key, value = part.split("=")
        pairs[key] = unquote(value.replace("+", " "))
    return pairs


# ---------------------------------------------------------------- the window


@pytest.mark.parametrize(
    ("timeline", "pad_s", "now", "expected"),
    [
        pytest.param(TIMELINE, 60, None, ("2026-11-23T08:24:00Z", "2026-11-23T08:28:49.500Z"), id="padded"),
        pytest.param(TIMELINE, 0, None, ("2026-11-23T08:25:00Z", "2026-11-23T08:27:49.500Z"), id="no-pad"),
        pytest.param(TIMELINE, 30.5, None, ("2026-11-23T08:24:29.500Z", "2026-11-23T08:28:20Z"), id="fractional-pad"),
        pytest.param(
            {**TIMELINE, "activation_started_at": None},
            60,
            None,
            ("2026-11-23T08:24:22Z", "2026-11-23T08:28:49.500Z"),
            id="no-activation-start-uses-activated-at",
        ),
        pytest.param(
            {**TIMELINE, "recovered_at": None, "recovery_started_at": None},
            60,
            at("2026-11-23T08:40:00Z"),
            ("2026-11-23T08:24:00Z", "2026-11-23T08:40:00Z"),
            id="recovery-not-run-ends-now",
        ),
        pytest.param(
            {**TIMELINE, "recovered_at": None},
            60,
            at("2026-11-23T08:27:30Z"),
            ("2026-11-23T08:24:00Z", "2026-11-23T08:28:22Z"),
            id="recovery-unconfirmed-never-before-last-known-plus-pad",
        ),
        pytest.param(
            {"activation_started_at": "2026-11-23T09:55:00+01:30", "recovered_at": "2026-11-23T08:30:00"},
            0,
            None,
            ("2026-11-23T08:25:00Z", "2026-11-23T08:30:00Z"),
            id="offset-and-naive-times-are-utc",
        ),
    ],
)
def test_query_window(timeline: dict[str, Any], pad_s: float, now: dt.datetime | None, expected: tuple[str, str]):
    start, end = query_window(timeline, pad_s, now=now)
    assert (start, end) == (at(expected[0]), at(expected[1]))
    assert start.tzinfo is not None and start.utcoffset() == dt.timedelta(0)


def test_query_window_before_recovery_defaults_to_the_current_time():
    before = dt.datetime.now(UTC)
    _, end = query_window({"activation_started_at": "2026-01-01T00:00:00Z"}, 60)
    assert before <= end <= dt.datetime.now(UTC)


@pytest.mark.parametrize(
    ("timeline", "pad_s", "message"),
    [
        ({**TIMELINE, "recovered_at": "yesterday"}, 60, "timeline.recovered_at is not an RFC 3339 time: 'yesterday'"),
        ({**TIMELINE, "activated_at": 1795422322}, 60, "timeline.activated_at must be an RFC 3339 UTC time"),
        (
            {**TIMELINE, "recovery_started_at": "2026-13-40T08:27:22Z"},
            60,
            "timeline.recovery_started_at is not a valid",
        ),
        ({"recovered_at": "2026-11-23T08:27:49Z"}, 60, "neither activation_started_at nor activated_at"),
        (
            {**TIMELINE, "recovered_at": "2026-11-23T08:20:00Z"},
            60,
            "timeline.recovered_at (2026-11-23T08:20:00.000Z) is before timeline.activation_started_at",
        ),
        (TIMELINE, -1, "pad_s must be a finite number >= 0"),
    ],
)
def test_query_window_rejects_bad_input(timeline: dict[str, Any], pad_s: float, message: str):
    with pytest.raises(ValueError, match=re.escape(message)):
        query_window(timeline, pad_s)


# ---------------------------------------------------------------- Prometheus


@pytest.mark.parametrize(
    ("base", "query", "path", "range_input", "end_input"),
    [
        ("http://127.0.0.1:30090", PAYMENT_RESTARTS, "/graph", "4m50s", "2026-11-23 08:28:50"),
        ("http://127.0.0.1:30090/", "up", "/graph", "4m50s", "2026-11-23 08:28:50"),
        (
            "https://mon.example.com/prometheus/",
            'sum by (pod) (x{a="b=c&d"}) + 1',
            "/prometheus/graph",
            "4m50s",
            "2026-11-23 08:28:50",
        ),
    ],
)
def test_prometheus_graph_url(base: str, query: str, path: str, range_input: str, end_input: str):
    url = prometheus_graph_url(base, query, START, END)
    assert urlsplit(url).path == path
    expected = {
        "g0.expr": query,
        "g0.tab": "0",
        "g0.range_input": range_input,
        "g0.end_input": end_input,
        "g0.moment_input": end_input,
    }
    assert params_of(url) == expected
    assert raw_pairs(url) == expected  # the Prometheus 2 UI's own parsing


def test_prometheus_graph_url_encodes_every_reserved_character():
    url = prometheus_graph_url("http://p:9090", PAYMENT_RESTARTS, START, END)
    raw = urlsplit(url).query.split("&")[0]
    assert raw == (
        "g0.expr=rate%28kube_pod_container_status_restarts_total%7Bnamespace%3D%22sock-shop%22%2C"
        "pod%3D~%22payment.%2A%22%7D%5B5m%5D%29"
    )


@pytest.mark.parametrize(
    ("start", "end", "range_input", "end_input"),
    [
        ("2026-11-23T08:24:00Z", "2026-11-23T08:28:50Z", "4m50s", "2026-11-23 08:28:50"),
        ("2026-11-23T08:24:00.900Z", "2026-11-23T08:24:01.100Z", "2s", "2026-11-23 08:24:02"),  # covers both ends
        ("2026-11-22T23:00:00Z", "2026-11-24T01:02:03Z", "1d2h2m3s", "2026-11-24 01:02:03"),
    ],
)
def test_prometheus_range_covers_the_window(start: str, end: str, range_input: str, end_input: str):
    params = params_of(prometheus_graph_url("http://p:9090", "up", at(start), at(end)))
    assert (params["g0.range_input"], params["g0.end_input"]) == (range_input, end_input)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "1s"), (45, "45s"), (450, "7m30s"), (3600, "1h"), (93784, "1d2h3m4s")]
)
def test_prometheus_duration(seconds: int, text: str):
    assert prometheus_duration(seconds) == text


# ---------------------------------------------------------------- Grafana


@pytest.mark.parametrize(
    ("base", "uid", "org_id", "path"),
    [
        ("http://127.0.0.1:30300", "prometheus", 1, "/explore"),
        ("https://grafana.example.com/grafana/", "P1809F7CD0C75ACF3", 3, "/grafana/explore"),
    ],
)
def test_grafana_explore_url(base: str, uid: str, org_id: int, path: str):
    url = grafana_explore_url(base, uid, PAYMENT_RESTARTS, START, END, org_id=org_id)
    assert urlsplit(url).path == path
    params = params_of(url)
    assert set(params) == {"schemaVersion", "panes", "orgId"}
    assert (params["schemaVersion"], params["orgId"]) == ("1", str(org_id))
    panes = json.loads(params["panes"])
    assert list(panes) == ["aaa"]  # 3 characters of [a-z0-9] with a letter: Grafana keeps the id
    pane = panes["aaa"]
    assert pane["datasource"] == uid
    assert pane["range"] == {"from": str(START_MS), "to": str(END_MS)}  # strings, as the URL schema requires
    assert pane["queries"] == [
        {
            "refId": "A",
            "datasource": {"type": "prometheus", "uid": uid},
            "expr": PAYMENT_RESTARTS,
            "editorMode": "code",
            "range": True,
            "instant": False,
        }
    ]


def test_grafana_needs_a_datasource_uid():
    with pytest.raises(ValueError, match="datasource's uid"):
        grafana_explore_url("http://g:3000", "", "up", START, END)


# ---------------------------------------------------------------- Datadog


@pytest.mark.parametrize(
    ("site", "app"),
    [
        ("datadoghq.com", "https://app.datadoghq.com"),
        ("datadoghq.eu", "https://app.datadoghq.eu"),
        ("us3.datadoghq.com", "https://us3.datadoghq.com"),
        ("us5.datadoghq.com", "https://us5.datadoghq.com"),
        ("ap1.datadoghq.com", "https://ap1.datadoghq.com"),
        ("ap2.datadoghq.com", "https://ap2.datadoghq.com"),
        ("ddog-gov.com", "https://app.ddog-gov.com"),
        ("https://app.datadoghq.com/", "https://app.datadoghq.com"),
        (" US5.DatadogHQ.com ", "https://us5.datadoghq.com"),
    ],
)
def test_datadog_app_url(site: str, app: str):
    assert datadog_app_url(site) == app


@pytest.mark.parametrize("site", ["", "datadog", "us5 datadoghq.com", None])
def test_datadog_app_url_rejects_what_is_not_a_site(site: Any):
    with pytest.raises(ValueError, match="not a Datadog site"):
        datadog_app_url(site)


@pytest.mark.parametrize(
    ("site", "query"),
    [
        ("us5.datadoghq.com", 'service:sock-shop-payment-gateway "Payment gateway error" status:error'),
        ("datadoghq.eu", 'service:sock-shop-orders ("Payment authorization failed" OR "PAYMENT_FAILED")'),
        ("datadoghq.com", "@http.url:*/paymentAuth?a=1&b=2 -status:info +x"),
    ],
)
def test_datadog_logs_url(site: str, query: str):
    url = datadog_logs_url(site, query, START, END)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == datadog_app_url(site) + "/logs"
    assert params_of(url) == {"query": query, "from_ts": str(START_MS), "to_ts": str(END_MS), "live": "false"}
    assert raw_pairs(url)["query"] == query


@pytest.mark.parametrize(
    ("query", "parts"),
    [
        (
            "avg:kubernetes_state.deployment.replicas_available{kube_namespace:sock-shop,kube_deployment:stripe-mock}",
            {
                "exp_metric": "kubernetes_state.deployment.replicas_available",
                "exp_scope": "kube_namespace:sock-shop,kube_deployment:stripe-mock",
                "exp_agg": "avg",
            },
        ),
        (
            "sum:kubernetes.containers.restarts{*} by {kube_deployment, pod_name}",
            {
                "exp_metric": "kubernetes.containers.restarts",
                "exp_scope": "",
                "exp_agg": "sum",
                "exp_group": "kube_deployment,pod_name",
            },
        ),
        ("sum:a{x:y} / sum:b{x:y}", None),
        ("top(avg:system.cpu.user{*} by {host}, 5, 'mean', 'desc')", None),
    ],
)
def test_datadog_metrics_url(query: str, parts: dict[str, str] | None):
    assert datadog_metric_parts(query) == parts
    url = datadog_metrics_url("us5.datadoghq.com", query, START, END)
    assert url.startswith("https://us5.datadoghq.com/metric/explorer?")
    window = {"from_ts": str(START_MS), "to_ts": str(END_MS), "live": "false"}
    expected = window if parts is None else {**window, **parts, "exp_row_type": "metric"}
    assert params_of(url) == expected


@pytest.mark.parametrize(
    "build",
    [
        lambda s, e: prometheus_graph_url("http://p:9090", "up", s, e),
        lambda s, e: grafana_explore_url("http://g:3000", "prometheus", "up", s, e),
        lambda s, e: datadog_logs_url("datadoghq.com", "x", s, e),
        lambda s, e: datadog_metrics_url("datadoghq.com", "avg:x{*}", s, e),
    ],
)
def test_a_window_that_ends_before_it_starts_is_refused(build: Any):
    with pytest.raises(ValueError, match="before it starts"):
        build(END, START)


@pytest.mark.parametrize("base", ["", "127.0.0.1:30090", "ftp://p", "http://"])
def test_a_base_url_must_be_http(base: str):
    with pytest.raises(ValueError, match="the Prometheus URL must be an http"):
        prometheus_graph_url(base, "up", START, END)


# ---------------------------------------------------------------- the report's section


def section(**backends: str | None) -> list[str]:
    arguments: dict[str, str | None] = {
        "datadog_site": None,
        "prometheus_url": None,
        "grafana_url": None,
        "grafana_datasource_uid": None,
        **backends,
    }
    start, end = query_window(TIMELINE)
    return queries_section(INCIDENT, start, end, **arguments)


def links(lines: list[str], label: str) -> list[str]:
    return re.findall(r"\[" + re.escape(label) + r"\]\(([^)\s]+)\)", "\n".join(lines))


NO_PROMETHEUS = (
    "No Prometheus graph link: the inventory names no Prometheus URL for a browser (`sockshop_prometheus_url`)."
)
NO_GRAFANA = "No Grafana Explore link: the inventory names no Grafana URL."
NO_DATADOG = "No Datadog link: the inventory names no Datadog site (`sockshop_datadog_site`)."


def test_section_opens_with_the_window_in_absolute_utc():
    lines = section()
    assert lines[:4] == [
        "## Queries for this run's window",
        "",
        "Window (UTC): `2026-11-23T08:24:00.000Z` to `2026-11-23T08:28:49.500Z` "
        "(Mon 23 Nov 2026 08:24:00 to 08:28:50 UTC, 4 min 50 s); epoch ms 1795422240000 to 1795422529500.",
        "",
    ]
    assert lines[-1] == ""


def test_section_gives_every_query_of_incident_6_ready_to_paste():
    text = "\n".join(section())
    for key, language in (("promql", "promql"), ("datadog_logs", "text"), ("datadog_metrics", "text")):
        assert QUERIES[key], key
        for query in QUERIES[key]:
            block = f"**{query['name']}**\n\nExpect: {query['expect']}\n\n```{language}\n{query['query']}\n```\n"
            assert block in text
    assert text.index("### PromQL") < text.index("### Datadog logs") < text.index("### Datadog metrics")


@pytest.mark.parametrize(
    ("backends", "prometheus", "grafana", "datadog"),
    [
        pytest.param({}, False, False, False, id="none"),
        pytest.param({"prometheus_url": "http://127.0.0.1:30090"}, True, False, False, id="prometheus"),
        pytest.param({"grafana_url": "http://127.0.0.1:30300"}, False, True, False, id="grafana"),
        pytest.param({"datadog_site": "us5.datadoghq.com"}, False, False, True, id="datadog"),
        pytest.param(
            {
                "datadog_site": "datadoghq.eu",
                "prometheus_url": "http://127.0.0.1:30090",
                "grafana_url": "http://127.0.0.1:30300",
                "grafana_datasource_uid": "kps-prom",
            },
            True,
            True,
            True,
            id="all",
        ),
        pytest.param(
            {"datadog_site": "", "prometheus_url": "", "grafana_url": " ", "grafana_datasource_uid": ""},
            False,
            False,
            False,
            id="empty-strings-are-unknown",
        ),
    ],
)
def test_section_links_the_backends_it_knows_and_says_which_it_does_not(
    backends: dict[str, str], prometheus: bool, grafana: bool, datadog: bool
):
    lines = section(**backends)
    promql = [q["query"] for q in QUERIES["promql"]]
    logs = [q["query"] for q in QUERIES["datadog_logs"]]
    metrics = [q["query"] for q in QUERIES["datadog_metrics"]]

    graph = links(lines, "Prometheus graph")
    assert [params_of(u)["g0.expr"] for u in graph] == (promql if prometheus else [])
    assert (NO_PROMETHEUS in lines) is not prometheus

    explore = links(lines, "Grafana Explore")
    exprs = [json.loads(params_of(u)["panes"])["aaa"]["queries"][0] for u in explore]
    assert [e["expr"] for e in exprs] == (promql if grafana else [])
    uid = backends.get("grafana_datasource_uid") or "prometheus"
    assert all(e["datasource"] == {"type": "prometheus", "uid": uid} for e in exprs)
    assert (NO_GRAFANA in lines) is not grafana

    assert [params_of(u)["query"] for u in links(lines, "Datadog Log Explorer")] == (logs if datadog else [])
    explorer = links(lines, "Datadog Metrics Explorer")
    assert len(explorer) == (len(metrics) if datadog else 0)
    assert lines.count(NO_DATADOG) == (0 if datadog else 2)  # once under logs, once under metrics
    if datadog:
        host = datadog_app_url(backends["datadog_site"])
        assert all(u.startswith(host + "/") for u in links(lines, "Datadog Log Explorer") + explorer)
        for url in [*graph, *links(lines, "Datadog Log Explorer"), *explorer]:
            window = params_of(url)
            assert (window.get("from_ts", str(START_MS)), window.get("to_ts", str(END_MS))) == (
                str(START_MS),
                str(END_MS),
            )
    assert not any("http" in line and "](" not in line for line in lines)  # no bare, invented URL


def test_section_is_deterministic_and_links_the_promql_that_survives_encoding():
    backends = {"prometheus_url": "http://127.0.0.1:30090", "grafana_url": "http://127.0.0.1:30300"}
    assert section(**backends) == section(**backends)
    graph = links(section(**backends), "Prometheus graph")
    assert raw_pairs(graph[1])["g0.expr"] == PAYMENT_RESTARTS == QUERIES["promql"][1]["query"]


def test_section_labels_a_metrics_query_the_explorer_cannot_take():
    incident = {"queries": {"promql": [], "datadog_logs": [], "datadog_metrics": [{"name": "ratio", "query": "a / b"}]}}
    lines = queries_section(
        incident, START, END, datadog_site="datadoghq.com", prometheus_url=None, grafana_url=None,
        grafana_datasource_uid=None,
    )  # fmt: skip
    assert "### PromQL" not in lines
    [url] = links(lines, "Datadog Metrics Explorer (on the window; paste the query)")
    assert set(params_of(url)) == {"from_ts", "to_ts", "live"}


def test_section_fences_a_query_that_holds_backticks():
    incident = {"queries": {"promql": [{"name": "odd", "query": "up ```x``` y"}], "datadog_logs": []}}
    lines = queries_section(
        incident, START, END, datadog_site=None, prometheus_url=None, grafana_url=None, grafana_datasource_uid=None
    )
    at_block = lines.index("up ```x``` y")
    assert lines[at_block - 1] == "````promql" and lines[at_block + 1] == "````"


def test_section_of_an_incident_without_queries():
    lines = queries_section(
        {"id": "x"}, START, END, datadog_site=None, prometheus_url=None, grafana_url=None, grafana_datasource_uid=None
    )
    assert lines[-2:] == ["The incident names no queries.", ""]


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0 s"), (0.2, "1 s"), (290, "4 min 50 s"), (3600, "1 h"), (3661, "1 h 1 min 1 s")]
)
def test_human_duration(seconds: float, text: str):
    assert human_duration(seconds) == text


# ---------------------------------------------------------------- the index


def entry(name: str, started: str | None, **extra: Any) -> dict[str, Any]:
    return {
        "report_dir": name,
        "incident": "6",
        "title": "Payment gateway unavailable (third-party dependency)",
        "verdict": "passed",
        "mttr_s": 27.512,
        "started_at": started,
        "run_id": f"run-{name}",
        **extra,
    }


def rows(index_md: str) -> list[str]:
    return [line for line in Path(index_md).read_text().splitlines() if line.startswith("| ") and "---" not in line][1:]


def index_json(reports: Path) -> list[dict[str, Any]]:
    return json.loads((reports / ".runs" / "index.json").read_text())["runs"]


def test_index_lists_runs_newest_first_with_links_relative_to_reports(tmp_path: Path):
    reports = tmp_path / "reports"
    for name, started in (
        ("incident-6-20261123T082500Z", "2026-11-23T08:25:00.000Z"),
        ("incident-6-20261207T111851Z", "2026-12-07T11:18:51.000Z"),
        ("incident-3-20261201T090000Z", "2026-12-01T10:00:00+01:00"),
        ("incident-6-unstarted", None),
    ):
        path = update_index(str(reports), entry(name, started))
    assert path == str(reports / "index.md")
    assert rows(path) == [
        "| 2026-12-07 11:18:51 | INCIDENT-6: Payment gateway unavailable (third-party dependency) | passed | 27.5 s "
        "| `run-incident-6-20261207T111851Z` | [incident-6-20261207T111851Z](incident-6-20261207T111851Z/report.md) |",
        "| 2026-12-01 09:00:00 | INCIDENT-6: Payment gateway unavailable (third-party dependency) | passed | 27.5 s "
        "| `run-incident-3-20261201T090000Z` | [incident-3-20261201T090000Z](incident-3-20261201T090000Z/report.md) |",
        "| 2026-11-23 08:25:00 | INCIDENT-6: Payment gateway unavailable (third-party dependency) | passed | 27.5 s "
        "| `run-incident-6-20261123T082500Z` | [incident-6-20261123T082500Z](incident-6-20261123T082500Z/report.md) |",
        "| - | INCIDENT-6: Payment gateway unavailable (third-party dependency) | passed | 27.5 s "
        "| `run-incident-6-unstarted` | [incident-6-unstarted](incident-6-unstarted/report.md) |",
    ]
    assert [r["report_dir"] for r in index_json(reports)] == [
        "incident-6-20261207T111851Z",
        "incident-3-20261201T090000Z",
        "incident-6-20261123T082500Z",
        "incident-6-unstarted",
    ]
    assert index_json(reports)[1]["started_at"] == "2026-12-01T09:00:00.000Z"  # stored in UTC
    link = re.search(r"\]\(([^)]+)\)", rows(path)[0])
    assert link and (reports / link.group(1)).parent == reports / "incident-6-20261207T111851Z"
    leftovers = [p.name for p in [*reports.iterdir(), *(reports / ".runs").iterdir()] if p.name.endswith(".tmp")]
    assert leftovers == []


def test_rendering_a_run_again_replaces_its_entry(tmp_path: Path):
    reports = tmp_path / "reports"
    update_index(str(reports), entry("incident-6-a", "2026-11-23T08:25:00Z", verdict="not_passed", mttr_s=None))
    update_index(str(reports), entry("incident-6-b", "2026-11-24T08:25:00Z"))
    path = update_index(str(reports), entry(str(reports / "incident-6-a"), "2026-11-23T08:25:00Z", mttr_s=30))
    runs = index_json(reports)
    assert [(r["report_dir"], r["verdict"], r["mttr_s"]) for r in runs] == [
        ("incident-6-b", "passed", 27.512),
        ("incident-6-a", "passed", 30.0),
    ]
    assert len(rows(path)) == 2 and "| 30.0 s |" in rows(path)[1]


def test_a_title_with_a_pipe_keeps_the_table(tmp_path: Path):
    path = update_index(str(tmp_path), entry("r", "2026-11-23T08:25:00Z", title="a | b", verdict=None, run_id=None))
    assert rows(path) == ["| 2026-11-23 08:25:00 | INCIDENT-6: a \\| b | - | 27.5 s | - | [r](r/report.md) |"]


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"report_dir": "../elsewhere"}, "must be a directory name under"),
        ({"report_dir": ""}, "must be the run's report directory name"),
        ({"report_dir": "/tmp/not-under-reports/x"}, "is not a directory directly under"),
        ({"mttr_s": "27 s"}, "entry.mttr_s must be a number of seconds or None"),
        ({"started_at": "last week"}, "entry.started_at is not an RFC 3339 time"),
        ({"operator": "me"}, "unknown keys ['operator']"),
    ],
)
def test_a_bad_entry_is_refused_before_anything_is_written(tmp_path: Path, bad: dict[str, Any], message: str):
    with pytest.raises(ValueError, match=re.escape(message)):
        update_index(str(tmp_path), {**entry("r", "2026-11-23T08:25:00Z"), **bad})
    assert not (tmp_path / "index.md").exists()


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ('{"runs": [', "is not valid JSON"),
        ('["incident-6-a"]', 'is not {"runs": [{"report_dir": ...}, ...]}'),
        ('{"runs": [{"report_dir": "a", "started_at": "soon"}]}', "has an invalid entry"),
    ],
)
def test_a_corrupt_index_is_an_error_that_says_what_to_do(tmp_path: Path, content: str, why: str):
    (tmp_path / ".runs").mkdir()
    corrupt = tmp_path / ".runs" / "index.json"
    corrupt.write_text(content)
    (tmp_path / "index.md").write_text("old index\n")
    with pytest.raises(RunIndexError) as caught:
        update_index(str(tmp_path), entry("incident-6-new", "2026-11-23T08:25:00Z"))
    message = str(caught.value)
    assert f"the run index {corrupt} {why}" in message
    assert "Move it aside (or delete it) and render again" in message
    assert isinstance(caught.value, ValueError)
    assert corrupt.read_text() == content and (tmp_path / "index.md").read_text() == "old index\n"


def _append_many(reports: str, worker: int, count: int, barrier: Any) -> None:
    barrier.wait()
    for n in range(count):
        update_index(reports, entry(f"w{worker}-{n:03d}", f"2026-11-23T08:{n % 60:02d}:{worker:02d}Z"))


def test_two_processes_appending_at_once_lose_nothing(tmp_path: Path):
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(2)
    count = 40
    workers = [context.Process(target=_append_many, args=(str(tmp_path), w, count, barrier)) for w in (1, 2)]
    for process in workers:
        process.start()
    for process in workers:
        process.join(60)
    assert [p.exitcode for p in workers] == [0, 0]
    names = {r["report_dir"] for r in index_json(tmp_path)}
    assert names == {f"w{w}-{n:03d}" for w in (1, 2) for n in range(count)}
    assert len(rows(str(tmp_path / "index.md"))) == 2 * count


def _update_once(reports: str) -> None:
    update_index(reports, entry("waited", "2026-11-23T08:25:00Z"))


def _hold_lock(reports: str, held: Any, release: Any) -> None:
    """Another run in the middle of its update: holds .runs/index.lock until told to let go."""
    fd = os.open(os.path.join(reports, ".runs", "index.lock"), os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    held.set()
    release.wait(30)
    os.close(fd)


def test_an_update_waits_for_the_lock(tmp_path: Path):
    (tmp_path / ".runs").mkdir()
    context = multiprocessing.get_context("fork")
    held, release = context.Event(), context.Event()
    holder = context.Process(target=_hold_lock, args=(str(tmp_path), held, release))
    holder.start()
    assert held.wait(10)
    child = context.Process(target=_update_once, args=(str(tmp_path),))
    child.start()
    try:
        time.sleep(0.5)
        assert child.is_alive() and not (tmp_path / "index.md").exists()
    finally:
        release.set()
        holder.join(10)
        child.join(30)
        for process in (holder, child):
            if process.is_alive():
                process.kill()
    assert (holder.exitcode, child.exitcode) == (0, 0)
    assert [r["report_dir"] for r in index_json(tmp_path)] == ["waited"]
