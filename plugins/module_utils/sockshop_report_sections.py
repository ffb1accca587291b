# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""Sections of an incident's report built from the run's own evidence (issue 21): the header, the namespace's
state before, during and after the incident as `kubectl get` showed it, the regression check between before and
after, and the data of the timeline chart.

The journal's phases carry what namespace_state read (`state`: its tables, images, regression view, the API
server's version and node count) and the target the run was pointed at; nothing here reads a cluster.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ansible.module_utils.sockshop_investigate import commands, glance
from ansible.module_utils.sockshop_state_tables import regressions, text

STATE_KEYS = ("taken_at", "tables", "images", "view", "server_version", "nodes", "events")
EVENT_ROWS = 60  # the events section's cap: a crash-looping pod can write hundreds
MOMENTS = (("before the fault", "activate"), ("during the incident", "verify"), ("after recovery", "recover"))


def compact_state(state: Mapping[str, Any] | None) -> dict[str, Any]:
    """What the journal keeps of a namespace_state result (not its Ansible bookkeeping)."""
    return {key: state[key] for key in STATE_KEYS if state and key in state}


def state_of(journal: Mapping[str, Any], phase: str) -> dict[str, Any]:
    return dict((journal.get("phases", {}).get(phase) or {}).get("state") or {})


def faulted_of(journal: Mapping[str, Any]) -> list[str]:
    """The workloads the run's faults acted on (Kind/name), from the ledger it recorded."""
    ledger = (journal.get("phases", {}).get("activate") or {}).get("ledger") or {}
    return sorted({f"{o['kind']}/{o['name']}" for o in ledger.get("objects") or []})


def restarted_by_design(incident: Mapping[str, Any]) -> list[str]:
    """The Deployments (Kind/name) whose restarts the incident's own termination signals expect to rise, as
    INCIDENT-2's load restarts front-end: their pods' restarts after recovery are the incident, not a regression."""
    found = set()
    for signal in incident.get("signals") or []:
        check = signal.get("check") or {}
        want = check.get("restarts_increased_by") or {}
        rises = (want.get("op") == "ge" and want.get("value", 0) >= 1) or (
            want.get("op") == "gt" and want.get("value", -1) >= 0
        )
        if signal.get("kind") == "termination" and check.get("deployment") and rises:
            found.add(f"Deployment/{check['deployment']}")
    return sorted(found)


def regression_check(journal: Mapping[str, Any], incident: Mapping[str, Any]) -> list[dict[str, Any]] | None:
    """Differences between the namespace before the fault and after recovery, outside the fault and outside what
    the incident restarts by design; None until both states are recorded."""
    before, after = state_of(journal, "activate"), state_of(journal, "recover")
    if not before.get("view") or not after.get("view"):
        return None
    return regressions(before["view"], after["view"], [*faulted_of(journal), *restarted_by_design(incident)])


def header_rows(incident: Mapping[str, Any], journal: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Who ran what, where, when: incident, target, Kubernetes version, nodes, image tags, run, operator, times."""
    activate = journal.get("phases", {}).get("activate") or {}
    before = state_of(journal, "activate")
    target = activate.get("target") or {}
    ended = [
        (journal.get("phases", {}).get(p) or {}).get("ended_at") for p in ("activate", "verify", "recover", "grade")
    ]
    images = before.get("images") or {}
    workloads = [w["name"] for w in incident.get("target", {}).get("workloads", [])]
    tags = "; ".join(f"{name}: {', '.join(images[name])}" for name in workloads if images.get(name)) or "-"
    rows = [
        ("incident", f"INCIDENT-{incident['id']}: {incident['title']}"),
        (
            "target",
            f"inventory host {target.get('host', '-')}, context {target.get('context', '-')}, namespace "
            f"{incident.get('target', {}).get('namespace', '-')}",
        ),
        ("cluster", f"Kubernetes {before.get('server_version') or '-'}, {before.get('nodes', '-')} node(s)"),
        ("images", tags),
        ("run", str(journal.get("run_id") or "-")),
        ("operator", str(activate.get("operator") or (activate.get("ledger") or {}).get("recorded_by") or "-")),
        ("started (UTC)", str(activate.get("started_at") or "-")),
        ("ended (UTC)", str(max((e for e in ended if e), default="-"))),
    ]
    return rows


def header_lines(incident: Mapping[str, Any], journal: Mapping[str, Any]) -> list[str]:
    return ["| | |", "|---|---|", *[f"| {key} | {value} |" for key, value in header_rows(incident, journal)], ""]


def state_lines(journal: Mapping[str, Any]) -> list[str]:
    """The namespace before, during and after, as `kubectl get deployments`, `pods` and `endpoints` showed it."""
    lines = ["## State of the namespace", ""]
    shown = False
    for title, phase in MOMENTS:
        state = state_of(journal, phase)
        if not state.get("tables"):
            continue
        shown = True
        lines += [f"### {title.capitalize()} ({state.get('taken_at', '-')})", ""]
        for kind in ("deployments", "pods", "endpoints"):
            table = state["tables"].get(kind)
            if table is not None:
                lines += [f"`kubectl get {kind}`:", "", "```", text(table), "```", ""]
    if not shown:
        lines += ["No state was recorded (the run predates it, or ran in check mode).", ""]
    return lines


def regression_lines(found: list[dict[str, Any]] | None) -> list[str]:
    lines = ["## Regression check", ""]
    if found is None:
        return [*lines, "Not checked: the state before the fault and after recovery are not both recorded.", ""]
    if not found:
        return [
            *lines,
            "Every deployment and pod outside the fault is as before (replicas, images, readiness, restarts).",
            "",
        ]
    lines += [
        "Changed outside the fault (the verdict fails):",
        "",
        "| object | field | before | after |",
        "|---|---|---|---|",
    ]
    lines += [f"| {d['object']} | {d['field'] or '-'} | {d['before']} | {d['after']} |" for d in found]
    return [*lines, ""]


def chart_data(incident: Mapping[str, Any], journal: Mapping[str, Any], summary: Mapping[str, Any]) -> dict[str, Any]:
    """The input of sockshop_chart.render_timeline from the run's journal and summary."""
    t = summary.get("timeline") or {}
    bands = []
    before = state_of(journal, "activate")
    edges = [
        ("baseline", t.get("activation_started_at"), before.get("taken_at")),
        ("activation", before.get("taken_at") or t.get("activation_started_at"), t.get("activated_at")),
        ("incident", t.get("activated_at"), t.get("recovery_started_at")),
        ("recovery", t.get("recovery_started_at"), t.get("recovered_at")),
    ]
    for name, start, end in edges:
        if start and end and start < end:
            bands.append({"name": name, "start": start, "end": end})
    probes = [
        {"at": s["answered_at"], "ok": s["status"] == "passed", "latency_s": s.get("latency_s"), "label": s["name"]}
        for s in summary.get("signals") or []
        if s.get("kind") == "probe" and s.get("answered_at")
    ]
    target = next(
        (o for o in faulted_of(journal) if o.startswith("Deployment/")),
        None,
    )
    points = []
    if target:
        name = target.split("/", 1)[1]
        # Each state as read, and the same value from the moment the phase's own condition held: the activation
        # waits until the fault is in effect, the recovery's confirmation proves the restore.
        since = {"verify": t.get("activated_at"), "recover": t.get("recovered_at")}
        for _, phase in MOMENTS:
            state = state_of(journal, phase)
            seen = ((state.get("view") or {}).get("deployments") or {}).get(name)
            if seen is None or not state.get("taken_at"):
                continue
            value = float(seen["available"])
            if since.get(phase) and since[phase] < state["taken_at"]:
                points.append({"at": since[phase], "value": value})
            points.append({"at": state["taken_at"], "value": value})
    recover = journal.get("phases", {}).get("recover") or {}
    return {
        "title": f"INCIDENT-{incident['id']}: {incident['title']} (run {journal.get('run_id') or '-'})",
        "bands": bands,
        "probes": probes,
        "replicas": {"label": f"{target or 'target'} available replicas", "points": points},
        "series": [{"label": s["label"], "points": s["points"]} for s in recover.get("series") or []],
    }


def chart_caption(journal: Mapping[str, Any]) -> list[str]:
    """What the chart's Prometheus panel shows, or why it is not there."""
    recover = journal.get("phases", {}).get("recover") or {}
    series, unanswered = recover.get("series") or [], recover.get("series_unanswered") or []
    lines = []
    if series:
        names = sorted({str(s.get("query") or s["label"]) for s in series})
        lines.append(f"Prometheus series over the run's window: {', '.join(f'`{n}`' for n in names)}.")
    for miss in unanswered:
        lines.append(f"Prometheus did not answer `{miss.get('query')}`: {miss.get('reason')}.")
    return [*lines, ""] if lines else []


def lessons_lines(incident: Mapping[str, Any]) -> list[str]:
    """The incident's lessons and recommendations, and this run's next steps (recovery.follow_up)."""
    lessons = list(incident.get("lessons") or [])
    advice = list(incident.get("recommendations") or [])
    steps = list((incident.get("recovery") or {}).get("follow_up") or [])
    if not (lessons or advice or steps):
        return []
    lines = ["## Lessons and next steps", ""]
    for title, items in (("Lessons", lessons), ("Recommendations", advice), ("Next steps for this run", steps)):
        if items:
            lines += [f"{title}:", "", *[f"- {' '.join(item.split())}" for item in items], ""]
    return lines


def evidence_lines(journal: Mapping[str, Any], summary: Mapping[str, Any]) -> list[str]:
    """The probes' answers in full: healthy (preflight), during the incident (verify) and recovered (recover)."""
    answers = [
        ("healthy, before the fault", p["name"], p.get("answer") or {})
        for p in (journal.get("phases", {}).get("activate") or {}).get("baseline_probes") or []
    ]
    for s in summary.get("signals") or []:
        if s.get("kind") == "probe" and s.get("answer"):
            moment = "during the incident" if s.get("stage") == "verify" else "after recovery"
            answers.append((moment, s["name"], s["answer"]))
    if not answers:
        return []
    lines = ["## Evidence: the probes' answers", ""]
    for moment, name, answer in answers:
        latency = answer.get("latency_s")
        took = f", {latency} s" if latency is not None else ""
        lines += [f"{moment.capitalize()} - {name}{took}:", "", "```json"]
        lines += [json.dumps(answer, indent=2, sort_keys=True), "```", ""]
    return lines


def log_lines(summary: Mapping[str, Any]) -> list[str]:
    """Each log line a signal matched, with its timestamp and the lines around it (the matched one marked `>`)."""
    found = [s for s in summary.get("signals") or [] if s.get("lines")]
    if not found:
        return []
    lines = ["## Evidence: the log lines", ""]
    for s in found:
        moment = "during the incident" if s.get("stage") == "verify" else "after recovery"
        pods = ", ".join(sorted({line["pod"] for line in s["lines"]}))
        lines += [f"{moment.capitalize()} - {s['name']} (pod {pods}):", "", "```"]
        lines += [f"{'>' if line['match'] else ' '} {line['at'] or '-'} {line['text']}" for line in s["lines"]]
        lines += ["```", ""]
    return lines


def about(event: Mapping[str, Any], names: list[str]) -> bool:
    """Whether an event is about one of the faulted workloads, or its ReplicaSets and pods (named after it)."""
    name = str(event.get("object", "")).split("/", 1)[-1]
    return any(name == n or name.startswith(n + "-") for n in names)


def fault_events(journal: Mapping[str, Any]) -> tuple[list[dict[str, Any]], int] | None:
    """The events about the faulted workloads from the activation to the end of the recovery, and how many the
    namespace had; None when recover recorded no events (or there was no fault)."""
    events = state_of(journal, "recover").get("events")
    faulted = faulted_of(journal)
    if events is None or not faulted:
        return None
    names = [o.split("/", 1)[1] for o in faulted]
    return [e for e in events if about(e, names)], len(events)


def event_lines(journal: Mapping[str, Any]) -> list[str]:
    """The events about the faulted workloads from the activation to the end of the recovery: the scale down and
    the scale up, the pods they stopped and started."""
    found = fault_events(journal)
    if found is None:
        return []
    chosen, total = found
    faulted = faulted_of(journal)
    lines = [
        "## Evidence: events",
        "",
        f"Events about {', '.join(faulted)} (and their ReplicaSets and pods) from the activation to the end of the "
        f"recovery: {len(chosen)} of the namespace's {total}.",
        "",
    ]
    if not chosen:
        return [*lines, "None was recorded.", ""]
    lines += ["| last seen (UTC) | type | reason | object | message | count |", "|---|---|---|---|---|---|"]
    for e in chosen[:EVENT_ROWS]:
        message = str(e.get("message", "")).replace("|", "\\|")
        lines.append(f"| {e['at']} | {e['type']} | {e['reason']} | {e['object']} | {message} | {e['count']} |")
    if len(chosen) > EVENT_ROWS:
        lines.append(f"| ... | | | | {len(chosen) - EVENT_ROWS} more, the newest last | |")
    return [*lines, ""]


def evidence_document(incident: Mapping[str, Any], journal: Mapping[str, Any]) -> dict[str, Any]:
    """What report.md shows beyond the summary, as data for report.json: the header, the namespace's state before,
    during and after, the healthy probe answers, the fault's events, the Prometheus series, lessons."""
    activate = journal.get("phases", {}).get("activate") or {}
    recover = journal.get("phases", {}).get("recover") or {}
    found = fault_events(journal)
    return {
        "header": dict(header_rows(incident, journal)),
        "state": {title: state_of(journal, phase) for title, phase in MOMENTS if state_of(journal, phase)},
        "baseline_probes": activate.get("baseline_probes") or [],
        "events": found[0] if found else [],
        "series": recover.get("series") or [],
        "series_unanswered": recover.get("series_unanswered") or [],
        "lessons": list(incident.get("lessons") or []),
        "recommendations": list(incident.get("recommendations") or []),
    }


def reproduce_lines(incident: Mapping[str, Any]) -> list[str]:
    """The kubectl commands that show each signal, as the runbook's "Investigate by hand" lists them."""
    namespace = incident.get("target", {}).get("namespace", "default")
    lines = ["## Reproduce by hand", "", "The namespace at a glance:", "", "```sh", *glance(namespace), "```", ""]
    for row in commands(incident, namespace):
        lines += [f"{'; '.join(row['signals'])}:", "", "```sh", row["cmd"], "```", ""]
    return lines


def orders_lines(journal: Mapping[str, Any]) -> list[str]:
    """Each order the incident's traffic placed: when it was posted, when orders answered (after calling payment),
    what it held, and how it ended."""
    traffic = (journal.get("phases", {}).get("verify") or {}).get("traffic") or []
    if not traffic:
        return []
    lines = [
        "## Orders placed during the incident",
        "",
        "Each order was posted to orders, which called payment before it answered.",
        "",
        "| # | placed (UTC) | answered (UTC) | order | customer | items | total | HTTP | status | message |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in traffic:
        items = ", ".join(
            f"{i.get('quantity')} x {str(i.get('itemId'))[:8]} at {i.get('unitPrice')}" for i in o.get("items") or []
        )
        message = str(o.get("message") or "").replace("|", "\\|")
        lines.append(
            f"| {o.get('n')} | {o.get('placed_at') or '-'} | {o.get('answered_at') or '-'} | {o.get('id') or '-'} "
            f"| {o.get('customer')} | {items or '-'} | {o.get('total')} | {o.get('http_status') or '-'} "
            f"| {o.get('status') or o.get('outcome')} | {message} |"
        )
    return [*lines, ""]
