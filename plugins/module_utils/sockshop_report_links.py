# Copyright: sockshop-incidents contributors
# Apache License 2.0
"""The queries of an incident with the run's window, as text to paste and as links, and the index of runs.

Pure Python (no Ansible import), used by incident_report on the controller.

- `query_window`: the run's window, from the activation's start to the recovery's confirmation, padded.
- URL builders for the consoles a reader opens to look at the same minutes. Every query value is percent-encoded
  whole (`quote(..., safe="")`), so a PromQL such as `{namespace="sock-shop",pod=~"payment.*"}[5m]` reaches the
  console unchanged; every time is absolute UTC.
  - Prometheus expression browser, `<base>/graph?g0.expr=...&g0.tab=0&g0.range_input=<dur>&g0.end_input=...`
    (`g0.end_input`/`g0.moment_input` as `YYYY-MM-DD HH:MM:SS` UTC, the format both the Prometheus 2 UI and the
    Prometheus 3 UI parse; Prometheus 3 redirects `/graph` to `/query` with the parameters unchanged).
  - Grafana Explore, `<base>/explore?schemaVersion=1&panes=<json>&orgId=1`, one pane with the datasource uid, the
    query and the range as epoch milliseconds (strings).
  - Datadog Log Explorer, `https://<app host>/logs?query=...&from_ts=<ms>&to_ts=<ms>&live=false`.
  - Datadog Metrics Explorer, `https://<app host>/metric/explorer?from_ts=<ms>&to_ts=<ms>&live=false&exp_metric=...
    &exp_scope=...&exp_agg=...&exp_row_type=metric` (the explorer's query-string form; a query it cannot express,
    such as a formula, opens the explorer on the window only).
- `queries_section`: the report's Markdown section.
- `update_index`: `reports/index.md` and its source of truth `reports/.runs/index.json`, under a lock.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import math
import os
import re
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MS = dt.timedelta(milliseconds=1)

# ---------------------------------------------------------------- times

# The timeline's times, in the order they happen (incident_report.timeline).
TIMELINE_TIMES = ("activation_started_at", "activated_at", "recovery_started_at", "recovered_at")
_ISO = re.compile(r"^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$", re.IGNORECASE)


def parse_time(value: Any, field: str) -> dt.datetime:
    """An aware UTC datetime from an RFC 3339 string (naive means UTC, as this project records) or a datetime.
    Raises ValueError naming `field`."""
    if isinstance(value, dt.datetime):
        return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    if not isinstance(value, str):
        raise ValueError(f"{field} must be an RFC 3339 UTC time, not {value!r}")
    match = _ISO.match(value.strip())
    if not match:
        raise ValueError(f"{field} is not an RFC 3339 time: {value!r}")
    day, clock, frac, zone = match.groups()
    try:
        moment = dt.datetime.strptime(f"{day}T{clock}", "%Y-%m-%dT%H:%M:%S")
    except ValueError as exc:
        raise ValueError(f"{field} is not a valid time: {value!r} ({exc})") from None
    if frac:
        moment = moment.replace(microsecond=int((frac[1:] + "000000")[:6]))
    offset = dt.timedelta(0)
    if zone and zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = sign * dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:]))
    return (moment - offset).replace(tzinfo=dt.UTC)


def iso_utc(moment: dt.datetime) -> str:
    """RFC 3339 UTC with milliseconds, as the journal writes its times: 2026-11-23T08:24:46.123Z."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def epoch_ms(moment: dt.datetime, *, up: bool = False) -> int:
    """Milliseconds since the epoch, rounded down (a window's start) or up (`up`, a window's end)."""
    delta = moment.astimezone(dt.UTC) - EPOCH
    return -((-delta) // MS) if up else delta // MS


def _ceil_second(moment: dt.datetime) -> dt.datetime:
    moment = moment.astimezone(dt.UTC)
    whole = moment.replace(microsecond=0)
    return whole if whole == moment else whole + dt.timedelta(seconds=1)


def human_duration(seconds: float) -> str:
    """1 h 2 min 3 s; whole seconds (rounded up)."""
    total = math.ceil(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes or (hours and secs):
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)


def query_window(
    timeline: Mapping[str, Any], pad_s: float = 60, *, now: dt.datetime | None = None
) -> tuple[dt.datetime, dt.datetime]:
    """The run's window in UTC: from the activation's start minus `pad_s` to the recovery's confirmation plus
    `pad_s`.

    `timeline` is incident_report's summary timeline (activation_started_at, activated_at, recovery_started_at,
    recovered_at). Without an activation start the fault's time (activated_at) starts the window. Before the
    recovery is confirmed the incident is still open: the window ends at `now` (default: the current time), and never
    before the last known time plus the pad. Raises ValueError naming the field for a time that is not RFC 3339, for
    a timeline with no start, and for times out of order.
    """
    if pad_s < 0 or not math.isfinite(pad_s):
        raise ValueError(f"pad_s must be a finite number >= 0, not {pad_s!r}")
    pad = dt.timedelta(seconds=pad_s)
    known = {
        field: parse_time(timeline[field], f"timeline.{field}")
        for field in TIMELINE_TIMES
        if timeline.get(field) not in (None, "")
    }
    start_field = next((f for f in ("activation_started_at", "activated_at") if f in known), None)
    if start_field is None:
        raise ValueError(
            "timeline has neither activation_started_at nor activated_at: the run was never activated, so it has "
            "no window"
        )
    start = known[start_field]
    for field, moment in known.items():
        if moment < start:
            raise ValueError(
                f"timeline.{field} ({iso_utc(moment)}) is before timeline.{start_field} ({iso_utc(start)})"
            )
    if "recovered_at" in known:
        end = known["recovered_at"] + pad
    else:
        current = parse_time(now, "now") if now is not None else dt.datetime.now(dt.UTC)
        end = max(current, max(known.values()) + pad)
    return start - pad, end


# ---------------------------------------------------------------- URLs


def _query_string(params: list[tuple[str, str]]) -> str:
    """Each key and value percent-encoded whole (space as %20, no character left for a parser to split on)."""
    return "&".join(f"{quote(key, safe='')}={quote(value, safe='')}" for key, value in params)


def _base(url: str | None, what: str) -> str:
    url = (url or "").strip()
    if not re.match(r"^https?://[^/\s]+", url):
        raise ValueError(f"{what} must be an http(s) URL, not {url!r}")
    return url.rstrip("/")


def _window(start: dt.datetime, end: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    start, end = parse_time(start, "start"), parse_time(end, "end")
    if end <= start:
        raise ValueError(f"the window ends ({iso_utc(end)}) before it starts ({iso_utc(start)})")
    return start, end


def datadog_app_url(site: str) -> str:
    """The web app of a Datadog site: app.datadoghq.com for datadoghq.com, app.datadoghq.eu for datadoghq.eu,
    app.ddog-gov.com for ddog-gov.com; a regional site is its own host (us3/us5/ap1/ap2.datadoghq.com, ...).
    Accepts the site parameter (DD_SITE) or the site's URL."""
    host = re.sub(r"^https?://", "", (site or "").strip().lower()).split("/", 1)[0]
    if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", host):
        raise ValueError(f"not a Datadog site (such as datadoghq.com or us5.datadoghq.com): {site!r}")
    if host.count(".") == 1:  # datadoghq.com, datadoghq.eu, ddog-gov.com
        host = "app." + host
    return f"https://{host}"


def datadog_logs_url(site: str, query: str, start: dt.datetime, end: dt.datetime) -> str:
    """Datadog Log Explorer on the query over [start, end] (epoch ms), not live."""
    start, end = _window(start, end)
    params = [
        ("query", query),
        ("from_ts", str(epoch_ms(start))),
        ("to_ts", str(epoch_ms(end, up=True))),
        ("live", "false"),
    ]
    return f"{datadog_app_url(site)}/logs?{_query_string(params)}"


_DD_METRIC = re.compile(
    r"^(?P<agg>avg|sum|min|max):(?P<metric>[A-Za-z][A-Za-z0-9_.]*)"
    r"\{(?P<scope>[^{}]*)\}(?:\s+by\s+\{(?P<group>[^{}]*)\})?$"
)


def datadog_metric_parts(query: str) -> dict[str, str] | None:
    """`agg:metric{scope} [by {group}]` as the Metrics Explorer's parameters; None for a query it cannot express
    (formulas, functions, several metrics)."""
    match = _DD_METRIC.match(query.strip())
    if not match:
        return None
    scope = ",".join(t.strip() for t in match["scope"].split(",") if t.strip() and t.strip() != "*")
    parts = {"exp_metric": match["metric"], "exp_scope": scope, "exp_agg": match["agg"]}
    if match["group"]:
        parts["exp_group"] = ",".join(t.strip() for t in match["group"].split(",") if t.strip())
    return parts


def datadog_metrics_url(site: str, query: str, start: dt.datetime, end: dt.datetime) -> str:
    """Datadog Metrics Explorer on the query over [start, end] (epoch ms), not live. A query the explorer's
    parameters cannot express (see datadog_metric_parts) opens it on the window only."""
    start, end = _window(start, end)
    params = [("from_ts", str(epoch_ms(start))), ("to_ts", str(epoch_ms(end, up=True))), ("live", "false")]
    parts = datadog_metric_parts(query)
    if parts is not None:
        params += [*parts.items(), ("exp_row_type", "metric")]
    return f"{datadog_app_url(site)}/metric/explorer?{_query_string(params)}"


def prometheus_duration(seconds: int) -> str:
    """A Prometheus duration in whole seconds: 7m30s, 1d2h, 45s."""
    seconds = max(int(seconds), 1)
    out = ""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, seconds = divmod(seconds, size)
        if count:
            out += f"{count}{unit}"
    return out


def prometheus_graph_url(base_url: str, query: str, start: dt.datetime, end: dt.datetime) -> str:
    """Prometheus's expression browser, graph tab, on the query over [start, end]: the end rounded up to the second
    (the UI's precision), the range the whole seconds back to the start (rounded down)."""
    start, end = _window(start, end)
    end_s = _ceil_second(end)
    range_s = int((end_s - start.replace(microsecond=0)).total_seconds())
    end_text = end_s.strftime("%Y-%m-%d %H:%M:%S")
    params = [
        ("g0.expr", query),
        ("g0.tab", "0"),
        ("g0.range_input", prometheus_duration(range_s)),
        ("g0.end_input", end_text),
        ("g0.moment_input", end_text),
    ]
    return f"{_base(base_url, 'the Prometheus URL')}/graph?{_query_string(params)}"


GRAFANA_PANE_ID = "aaa"  # Explore pane ids are 3 characters of [a-z0-9] with a letter; any other is replaced


def grafana_explore_url(
    base_url: str, datasource_uid: str, query: str, start: dt.datetime, end: dt.datetime, *, org_id: int = 1
) -> str:
    """Grafana Explore (URL schema version 1) with one pane: the Prometheus datasource `datasource_uid`, the query,
    and the absolute range [start, end] as epoch milliseconds."""
    start, end = _window(start, end)
    if not datasource_uid:
        raise ValueError("grafana_explore_url needs the Prometheus datasource's uid")
    pane = {
        "datasource": datasource_uid,
        "queries": [
            {
                "refId": "A",
                "datasource": {"type": "prometheus", "uid": datasource_uid},
                "expr": query,
                "editorMode": "code",
                "range": True,
                "instant": False,
            }
        ],
        "range": {"from": str(epoch_ms(start)), "to": str(epoch_ms(end, up=True))},
    }
    panes = json.dumps({GRAFANA_PANE_ID: pane}, separators=(",", ":"), ensure_ascii=False)
    params = [("schemaVersion", "1"), ("panes", panes), ("orgId", str(org_id))]
    return f"{_base(base_url, 'the Grafana URL')}/explore?{_query_string(params)}"


# ---------------------------------------------------------------- the report's section

# The kube-prometheus-stack chart's Prometheus datasource uid (grafana.sidecar.datasources.uid), which the
# kube_prometheus_stack role's dashboards use too.
DEFAULT_GRAFANA_DATASOURCE_UID = "prometheus"

QUERY_GROUPS = (
    ("promql", "PromQL", "promql"),
    ("datadog_logs", "Datadog logs", "text"),
    ("datadog_metrics", "Datadog metrics", "text"),
)


def _fenced(text: str, language: str) -> list[str]:
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [f"{fence}{language}", text, fence]


def _one_line(text: Any) -> str:
    return " ".join(str(text).split())


def _human_window(start: dt.datetime, end: dt.datetime) -> str:
    start, end = start.replace(microsecond=0), _ceil_second(end)  # whole seconds that cover the window
    first = f"{start:%a %d %b %Y %H:%M:%S}"
    last = f"{end:%H:%M:%S}" if end.date() == start.date() else f"{end:%a %d %b %Y %H:%M:%S}"
    return f"{first} to {last} UTC, {human_duration((end - start).total_seconds())}"


def queries_section(
    incident: Mapping[str, Any],
    start: dt.datetime,
    end: dt.datetime,
    *,
    datadog_site: str | None,
    prometheus_url: str | None,
    grafana_url: str | None,
    grafana_datasource_uid: str | None,
) -> list[str]:
    """The report's "Queries for this run's window" section, as Markdown lines (the last one empty).

    The window in absolute UTC (ISO and human form), then each query of the incident (promql, datadog_logs,
    datadog_metrics): its name, what it shows, its text in a fenced block ready to paste, and the links that apply:
    Prometheus graph and Grafana Explore for PromQL when their URLs are known, Datadog when a site is known. A backend
    the inventory does not name gets one phrase instead of a link. Empty strings count as not given; a Grafana URL
    without a datasource uid uses kube-prometheus-stack's `prometheus`. Same arguments, same lines.
    """
    start, end = _window(start, end)
    site = (datadog_site or "").strip() or None
    prometheus = _base(prometheus_url, "the Prometheus URL") if (prometheus_url or "").strip() else None
    grafana = _base(grafana_url, "the Grafana URL") if (grafana_url or "").strip() else None
    uid = (grafana_datasource_uid or "").strip() or DEFAULT_GRAFANA_DATASOURCE_UID
    lines = [
        "## Queries for this run's window",
        "",
        f"Window (UTC): `{iso_utc(start)}` to `{iso_utc(end)}` ({_human_window(start, end)}); "
        f"epoch ms {epoch_ms(start)} to {epoch_ms(end, up=True)}.",
        "",
    ]
    queries = incident.get("queries") or {}
    if not any(queries.get(key) for key, _, _ in QUERY_GROUPS):
        return [*lines, "The incident names no queries.", ""]
    for key, title, language in QUERY_GROUPS:
        group = queries.get(key) or []
        if not group:
            continue
        lines += [f"### {title}", ""]
        missing: list[str] = []
        if key == "promql":
            if not prometheus:
                missing.append(
                    "No Prometheus graph link: the inventory names no Prometheus URL for a browser "
                    "(`sockshop_prometheus_url`)."
                )
            if not grafana:
                missing.append("No Grafana Explore link: the inventory names no Grafana URL.")
        elif not site:
            missing.append("No Datadog link: the inventory names no Datadog site (`sockshop_datadog_site`).")
        for phrase in missing:
            lines += [phrase, ""]
        for query in group:
            text = str(query["query"]).strip()
            lines.append(
                f"**{query['name']}**" + (f": {_one_line(query['description'])}" if query.get("description") else "")
            )
            lines.append("")
            if query.get("expect"):
                lines += [f"Expect: {_one_line(query['expect'])}", ""]
            lines += [*_fenced(text, language), ""]
            links: list[str] = []
            if key == "promql":
                if prometheus:
                    links.append(f"[Prometheus graph]({prometheus_graph_url(prometheus, text, start, end)})")
                if grafana:
                    links.append(f"[Grafana Explore]({grafana_explore_url(grafana, uid, text, start, end)})")
            elif site and key == "datadog_logs":
                links.append(f"[Datadog Log Explorer]({datadog_logs_url(site, text, start, end)})")
            elif site:
                label = "Datadog Metrics Explorer"
                if datadog_metric_parts(text) is None:
                    label += " (on the window; paste the query)"
                links.append(f"[{label}]({datadog_metrics_url(site, text, start, end)})")
            if links:
                lines += ["Open: " + " · ".join(links), ""]
    return lines


# ---------------------------------------------------------------- the index of runs

INDEX_KEYS = ("report_dir", "incident", "title", "verdict", "mttr_s", "started_at", "run_id")


class RunIndexError(ValueError):
    """reports/.runs/index.json cannot be read as an index of runs."""


def _write_atomic(path: str, text: str) -> None:
    """`text` to `path` so a reader sees the old file or the new one: a temp file in the same directory, fsync'd,
    then os.replace."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextmanager
def _locked(lock_path: str) -> Iterator[None]:
    """An exclusive fcntl lock on `lock_path` (its own file: index.json is replaced, not rewritten in place)."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def index_paths(reports_dir: str) -> tuple[str, str, str]:
    """index.md, .runs/index.json and .runs/index.lock under `reports_dir`."""
    runs = os.path.join(reports_dir, ".runs")
    return (
        os.path.join(reports_dir, "index.md"),
        os.path.join(runs, "index.json"),
        os.path.join(runs, "index.lock"),
    )


def _report_dir_name(reports_dir: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"entry.report_dir must be the run's report directory name, not {value!r}")
    name = value.strip().rstrip("/" + os.sep)
    if os.path.isabs(name):
        parent = os.path.dirname(os.path.realpath(name))
        if parent != os.path.realpath(reports_dir):
            raise ValueError(f"entry.report_dir {value!r} is not a directory directly under {reports_dir}")
        name = os.path.basename(name)
    if name in (".", "..") or "/" in name or os.sep in name:
        raise ValueError(f"entry.report_dir must be a directory name under {reports_dir}, not {value!r}")
    return name


def _clean_entry(reports_dir: str, entry: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(entry) - set(INDEX_KEYS))
    if unknown:
        raise ValueError(f"index entry has unknown keys {unknown}; known: {list(INDEX_KEYS)}")
    clean: dict[str, Any] = {"report_dir": _report_dir_name(reports_dir, entry.get("report_dir"))}
    mttr = entry.get("mttr_s")
    if mttr is not None and (isinstance(mttr, bool) or not isinstance(mttr, int | float) or not math.isfinite(mttr)):
        raise ValueError(f"entry.mttr_s must be a number of seconds or None, not {mttr!r}")
    clean["mttr_s"] = None if mttr is None else float(mttr)
    started = entry.get("started_at")
    clean["started_at"] = None if started in (None, "") else iso_utc(parse_time(started, "entry.started_at"))
    for key in ("incident", "title", "verdict", "run_id"):
        value = entry.get(key)
        clean[key] = None if value is None else str(value)
    return {key: clean[key] for key in INDEX_KEYS}


def _read_index(reports_dir: str, path: str) -> list[dict[str, Any]]:
    advice = (
        f"Move it aside (or delete it) and render again: the index is then rebuilt from the runs rendered from "
        f"then on. {path} is the source of index.md; do not edit it by hand."
    )
    try:
        with open(path, encoding="utf-8") as handle:
            document = json.load(handle)
    except FileNotFoundError:
        return []
    except (ValueError, UnicodeDecodeError) as exc:
        raise RunIndexError(f"the run index {path} is not valid JSON ({exc}). {advice}") from None
    runs = document.get("runs") if isinstance(document, dict) else None
    if not isinstance(runs, list) or not all(isinstance(run, dict) for run in runs):
        raise RunIndexError(f'the run index {path} is not {{"runs": [{{"report_dir": ...}}, ...]}}. {advice}')
    try:
        return [_clean_entry(reports_dir, run) for run in runs]
    except ValueError as exc:
        raise RunIndexError(f"the run index {path} has an invalid entry: {exc}. {advice}") from None


def _newest_first(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def key(run: dict[str, Any]) -> tuple[int, str, str]:
        started = run.get("started_at")
        stamp = str(started or "")  # iso_utc: sorts as it reads
        return (1 if stamp else 0, stamp, run["report_dir"])

    return sorted(runs, key=key, reverse=True)


def _cell(value: Any) -> str:
    text = "-" if value in (None, "") else _one_line(value)
    return text.replace("|", "\\|")


def render_index(runs: list[dict[str, Any]]) -> str:
    """index.md for `runs` (newest first): incident, verdict, MTTR, start UTC and the link to each report.md."""
    lines = [
        "# Incident runs",
        "",
        "Newest first; each run links its report. Rewritten by every rendered run from `.runs/index.json`.",
        "",
        "| started (UTC) | incident | verdict | MTTR | run | report |",
        "|---|---|---|---|---|---|",
    ]
    for run in _newest_first(runs):
        started = run.get("started_at")
        when = f"{parse_time(started, 'started_at'):%Y-%m-%d %H:%M:%S}" if started else "-"
        incident = f"INCIDENT-{run['incident']}" if run.get("incident") else "-"
        if run.get("title"):
            incident += f": {run['title']}"
        mttr = "-" if run.get("mttr_s") is None else f"{float(run['mttr_s']):.1f} s"
        run_id = f"`{_cell(run['run_id'])}`" if run.get("run_id") else "-"
        link = f"[{_cell(run['report_dir'])}]({quote(run['report_dir'])}/report.md)"
        lines.append(f"| {when} | {_cell(incident)} | {_cell(run.get('verdict'))} | {mttr} | {run_id} | {link} |")
    if not runs:
        lines.append("| - | no run rendered yet | | | | |")
    return "\n".join(lines) + "\n"


def update_index(reports_dir: str, entry: Mapping[str, Any]) -> str:
    """Record one rendered run in `<reports_dir>/.runs/index.json` (one entry per report directory: rendering the same
    directory again replaces its entry) and rewrite `<reports_dir>/index.md` from it, newest first.

    `entry`: report_dir (the run's directory name under reports_dir), incident (id), title, verdict, mttr_s (seconds or
    None), started_at (RFC 3339 UTC) and run_id. Both files are written atomically (temp file and os.replace in their
    directory) while an exclusive fcntl lock on `.runs/index.lock` is held, so runs rendering at the same time keep
    each other's entries. Returns the path of index.md. Raises ValueError (RunIndexError) when index.json exists but is
    not an index of runs, saying what to do; the files are then left as they are.
    """
    md_path, json_path, lock_path = index_paths(reports_dir)
    clean = _clean_entry(reports_dir, entry)
    os.makedirs(os.path.dirname(json_path), exist_ok=True)
    with _locked(lock_path):
        runs = [r for r in _read_index(reports_dir, json_path) if r["report_dir"] != clean["report_dir"]]
        runs = _newest_first([*runs, clean])
        _write_atomic(json_path, json.dumps({"runs": runs}, indent=1, sort_keys=True) + "\n")
        _write_atomic(md_path, render_index(runs))
    return md_path
