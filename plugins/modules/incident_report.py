#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: incident_report
short_description: Keep the journal of an incident run and render its report
description:
  - C(state=record) merges what one phase measured (UTC times, signal results, recovery proof) into the run's
    journal on the controller, C(<reports_dir>/.runs/incident-<id>.json). An activate with a new run id starts
    a new journal. Probe results from payment_probe are judged against their signal's expectation here.
    The journal is run output, like a log, so recording reports C(changed=false).
  - C(state=render) writes C(<reports_dir>/incident-<id>-<UTC timestamp>/) with C(report.md) (timeline with
    time to each signal and MTTR, checklist with evidence, ground truth), C(report.json) and C(junit.xml)
    (one testcase per signal, recovery confirmation and checklist item). The timestamp is when the run's
    activation started, so the directory names the run; rendering a journal whose report is already there
    (C(report.json) carries the journal's digest) writes nothing and reports C(changed=false).
  - C(report.md) also has the header (target, Kubernetes version, nodes, image tags, operator, start and end), the
    namespace's state before, during and after as C(kubectl get) tables, the regression check, the evidence in
    full (the probes' answers, each matched log line in its context, the events about the faulted workloads),
    the kubectl commands behind each signal, the queries with the run's window and links, lessons, and
    C(timeline.png) (phases, probes, replicas and the incident's PromQL series). C(report.json) holds the same
    as data under C(evidence) next to the summary.
  - For an incident with traffic (INCIDENT-3), verify records the orders it placed (C(data.traffic), kept across
    repeated verifies of a run) and recover records C(data.business_impact) (order_reconcile's figures over the
    incident window, the test order, the exports) and C(data.confirm_signals) (incident_signals results of the
    test order). The report then has a business impact section - orders placed and failed, customers, exact dollars
    at risk, the test order - compares it with the source report (C(seed.business_impact)) and says when the
    source's figure was a float-truncation error. A C(reconcile) recovery signal passes when the reconciliation
    agrees with the orders placed, order by order and to the cent.
  - Recover may name the run's report directory (C(data.report_dir), where it exported the failed orders);
    C(state=render) then writes there.
  - Keys that look like secrets (key, token, password, secret, authorization) are dropped before anything is written.
version_added: "0.1.0"
author: sockshop-incidents contributors
options:
  state:
    description: Record a phase into the journal, or render the report from it.
    type: str
    choices: [record, render]
    default: record
  incident:
    description: The incident as returned by incident_load.
    type: dict
    required: true
  reports_dir:
    description: Directory of the journal and the report directories.
    type: path
    required: true
  run_id:
    description: Run the phase belongs to (with C(state=record)).
    type: str
    default: ""
  phase:
    description: Phase being recorded (with C(state=record)).
    type: str
    choices: [activate, verify, recover, grade]
  data:
    description:
      - What the phase measured. For C(verify), C(probes) is the registered result list of a payment_probe task
        looped over the probe signals (each entry carries its signal as C(item)), and C(cluster) the results of
        incident_signals. For C(recover), C(confirm) is the same for the recovery probes.
    type: dict
    default: {}
  require_confirmed:
    description:
      - With C(phase=recover), fail once the phase is recorded when one of the incident's recovery confirmations did
        not hold, naming them (the recover phase's verdict).
    type: bool
    default: false
  timestamp:
    description:
      - UTC timestamp naming the report directory (C(state=render)); default is when the run's activation started.
    type: str
    default: ""
notes:
  - Runs on the controller, in the controller process (action plugin C(plugins/action/incident_report.py)).
    Supports check mode; it then computes everything and writes nothing.
"""

EXAMPLES = r"""
- name: Record the verify phase
  incident_report:
    incident: "{{ loaded.incident }}"
    reports_dir: "{{ playbook_dir }}/../reports"
    run_id: "{{ run_id }}"
    phase: verify
    data:
      started_at: "2026-11-23T08:25:00.000Z"
      ended_at: "2026-11-23T08:25:02.000Z"
      probes: []
      cluster: "{{ checked.results }}"

- name: Render the report
  incident_report:
    state: render
    incident: "{{ loaded.incident }}"
    reports_dir: "{{ playbook_dir }}/../reports"
  register: report
"""

RETURN = r"""
summary:
  description:
    - Verdict of the run so far - passed (bool), failed signals and checklist items, error signals and checklist
      items (their backend did not answer), not_checked signals and those of them that keep the verdict from passing.
    - Signal statuses are C(passed), C(failed), C(error) and C(not_checked). The verdict is passed only when every
      signal passed, except observability signals (promql, alert, datadog_*) not checked because the inventory
      names no such backend, or names a Prometheus the target does not deploy or could not install (their
      C(reason)); C(error) never passes.
    - A graded responder-mode run (C(phase=grade), no verify) also has C(grading); its C(report.json) verdict is
      C(graded) and C(report.md) says so, since the engine verified no signal of its own.
  returned: always
  type: dict
journal:
  description: The run's journal after the call.
  returned: always
  type: dict
report_dir:
  description: Directory written (C(state=render)).
  returned: when state is render
  type: str
files:
  description: Files written, or that would be written in check mode.
  returned: when state is render
  type: list
  elements: str
"""

import datetime as dt
import hashlib
import json
import os
import re
from typing import Any
from xml.etree import ElementTree as ET

from ansible.module_utils.sockshop_chart import render_timeline
from ansible.module_utils.sockshop_grade_report import grading, junit_cases, render_grading
from ansible.module_utils.sockshop_report_links import query_window, queries_section, update_index
from ansible.module_utils.sockshop_report_sections import (
    chart_caption,
    chart_data,
    compact_state,
    event_lines,
    evidence_document,
    evidence_lines,
    header_lines,
    lessons_lines,
    log_lines,
    orders_lines,
    regression_check,
    regression_lines,
    reproduce_lines,
    state_lines,
)
from ansible.module_utils.sockshop_backend_errors import EXCUSED_NOT_CHECKED
from ansible.module_utils.sockshop_module import Connect, ModuleError, iso, main_of, parse_iso, utc_now, write_atomic
from ansible.module_utils.sockshop_money import MoneyError, float_sum_truncated, format_money, money_str, to_decimal


class ReportError(ModuleError):
    """Nothing to report; the message says which phase to run."""


# Kinds read from an observability backend, and the reasons (incident_signals' `reason`) for which such a signal
# may be not_checked without keeping the verdict from PASSED; see excused().
BACKEND_KINDS = ("promql", "alert", "datadog_logs", "datadog_metrics")
STATUSES = ("passed", "failed", "error", "not_checked")
SECRET = re.compile(r"(api_?key|app_?key|token|password|secret|authorization)", re.IGNORECASE)


# ---------------------------------------------------------------- pure logic


def scrub(value: Any) -> Any:
    """A copy without any mapping entry whose key looks like a secret."""
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items() if not SECRET.search(str(k))}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


def seconds(start: str | None, end: str | None) -> float | None:
    if not start or not end:
        return None
    return round((parse_iso(end) - parse_iso(start)).total_seconds(), 3)


def judge_probe(signal: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """A payment_probe result judged against its signal's expectation and budget."""
    base = {"name": signal["name"], "kind": "probe", "within_s": signal["within_s"], "time_to_signal_s": None}
    if result.get("skipped") or ("authorised" not in result and not result.get("failed")):
        return dict(base, status="not_checked", evidence="probe not sent (check mode)")
    if "authorised" not in result:
        return dict(base, status="failed", evidence=f"no answer: {result.get('msg') or 'probe failed'}")
    expect = signal["check"]["expect"]
    shown = (
        f"authorised={result.get('authorised')} classification={result.get('classification')} "
        f"http_status={result.get('http_status')} latency={result.get('latency_s')} s message={result.get('message')!r}"
    )
    misses = []
    if "authorised" in expect and result.get("authorised") is not expect["authorised"]:
        misses.append(f"authorised should be {expect['authorised']}")
    if "classification" in expect and result.get("classification") != expect["classification"]:
        misses.append(f"classification should be {expect['classification']}")
    if (
        "message_contains" in expect
        and expect["message_contains"].lower() not in str(result.get("message") or "").lower()
    ):
        misses.append(f"message should contain {expect['message_contains']!r}")
    latency = result.get("latency_s")
    if "max_latency_s" in expect and (latency is None or latency > expect["max_latency_s"]):
        misses.append(f"latency should be under {expect['max_latency_s']} s")
    took = result.get("time_to_expect_s")
    took = 0.0 if took is None else float(took)
    if took > signal["within_s"]:
        misses.append(f"took {took} s, budget {signal['within_s']} s")
    # the answer itself, in full, for the report's evidence and its timeline chart
    base.update(
        answered_at=result.get("answered_at"),
        latency_s=latency,
        answer={key: result[key] for key in PROBE_ANSWER if key in result},
    )
    if misses:
        return dict(base, status="failed", evidence=f"{'; '.join(misses)} (got {shown})")
    return dict(base, status="passed", time_to_signal_s=round(took, 3), evidence=shown)


PROBE_ANSWER = ("authorised", "classification", "http_status", "message", "latency_s", "attempts", "answered_at")


def record(
    journal: dict[str, Any] | None, incident_id: str, run_id: str, phase: str, data: dict[str, Any]
) -> dict[str, Any]:
    if journal is None or (phase == "activate" and journal.get("run_id") != run_id):
        journal = {"incident": incident_id, "run_id": run_id, "phases": {}}
    entry = dict(scrub(data))
    if "state" in entry:
        entry["state"] = compact_state(entry["state"])
    if "baseline_probes" in entry:  # the healthy answers preflight got, for the evidence
        entry["baseline_probes"] = [
            {"name": p["item"]["name"], "answer": {k: p[k] for k in PROBE_ANSWER if k in p}}
            for p in entry["baseline_probes"]
            if isinstance(p, dict) and p.get("item")
        ]
    for key in ("probes", "confirm"):
        if key in entry:
            entry[key] = [judge_probe(probe["item"], probe) for probe in entry[key]]
    if phase == "verify":
        entry["signals"] = entry.pop("probes", []) + entry.pop("cluster", [])
        if "traffic" in entry:  # orders placed by every verify of this run count for the reconciliation
            same_run = journal.get("run_id") in ("", None, run_id)
            before = journal["phases"].get("verify", {}).get("traffic", []) if same_run else []
            entry["traffic"] = before + [order_record(o) for o in entry["traffic"]]
    if phase == "recover":
        entry["confirm"] = entry.get("confirm", []) + entry.pop("confirm_signals", [])
        for key in ("business_impact", "report_dir", "series", "series_unanswered"):
            if not entry.get(key):
                entry.pop(key, None)
        if "business_impact" in entry:
            entry["business_impact"] = trim_impact(entry["business_impact"])
    journal["phases"][phase] = entry
    if run_id and not journal.get("run_id"):
        journal["run_id"] = run_id
    return journal


# ---------------------------------------------------------------- business impact (orders placed during the incident)

ORDER_KEYS = (
    "n",
    "id",
    "customer",
    "customer_id",
    "total",
    "http_status",
    "outcome",
    "status",
    "placed_at",
    "answered_at",
    "items",
    "message",
)
RECONCILE_KEYS = (
    "since",
    "until",
    "status",
    "failed_count",
    "customers",
    "customer_ids",
    "amount_at_risk",
    "float_sum_truncated",
    "per_customer",
    "first_failure",
    "last_failure",
    "inconsistent",
    "suspected_duplicates",
    "summary",
    "source",
    "exports",
)
NUMBERS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]


def order_record(order: dict[str, Any]) -> dict[str, Any]:
    return {key: order.get(key) for key in ORDER_KEYS}


def trim_impact(impact: dict[str, Any]) -> dict[str, Any]:
    """What the journal keeps of recover's business impact: figures and order ids, not whole orders."""
    trimmed = dict(impact)
    reconciled = trimmed.get("reconcile") or {}
    if reconciled:
        kept = {key: reconciled.get(key) for key in RECONCILE_KEYS}
        kept["order_ids"] = [o["id"] for o in reconciled.get("orders", [])]
        kept["shipments"] = {o["id"]: o.get("shipment") for o in reconciled.get("orders", [])}
        trimmed["reconcile"] = kept
    test = trimmed.get("test_order") or {}
    if test:
        trimmed["test_order"] = {"orders": [order_record(o) for o in test.get("orders", [])], "msg": test.get("msg")}
    return trimmed


def dollars(values: list[Any]) -> str:
    total = to_decimal(0)
    for value in values:
        total += to_decimal(value)
    return money_str(total)


def counted(number: int, noun: str) -> str:
    word = NUMBERS[number] if 0 <= number < len(NUMBERS) else str(number)
    return f"{word} {noun}{'' if number == 1 else 's'}"


def failed_traffic(journal: dict[str, Any], statuses: list[str]) -> list[dict[str, Any]]:
    """Orders verify placed that came back in one of the statuses (with an id to find them by)."""
    traffic = journal.get("phases", {}).get("verify", {}).get("traffic", [])
    return [o for o in traffic if o.get("id") and (o.get("status") or o.get("outcome")) in statuses]


def judge_reconcile(signal: dict[str, Any], journal: dict[str, Any]) -> dict[str, Any] | None:
    """The reconciliation against the orders placed: same orders, customers and exact amount; None if not run."""
    impact = journal.get("phases", {}).get("recover", {}).get("business_impact") or {}
    reconciled = impact.get("reconcile")
    if not reconciled:
        return None
    check = signal["check"]
    placed = failed_traffic(journal, check.get("status", ["PAYMENT_FAILED"]))
    want_ids = sorted(o["id"] for o in placed)
    got_ids = sorted(reconciled.get("order_ids") or [])
    want_amount = dollars([o["total"] for o in placed])
    want_customers = len({o.get("customer_id") or o.get("customer") for o in placed})
    misses = []
    if got_ids != want_ids:
        extra, missing = sorted(set(got_ids) - set(want_ids)), sorted(set(want_ids) - set(got_ids))
        misses.append(
            f"reconciled {len(got_ids)} orders, placed {len(want_ids)}"
            + (f"; not placed by this run: {', '.join(extra[:5])}" if extra else "")
            + (f"; missing: {', '.join(missing[:5])}" if missing else "")
        )
    if reconciled.get("amount_at_risk") != want_amount:
        misses.append(f"amount {reconciled.get('amount_at_risk')}, the orders placed total {want_amount}")
    if reconciled.get("customers") != want_customers:
        misses.append(f"{reconciled.get('customers')} customers, the orders placed came from {want_customers}")
    if "shipment" in check and reconciled.get("inconsistent"):
        misses.append(f"{len(reconciled['inconsistent'])} reconciled orders have a shipment")
    exports = reconciled.get("exports") or {}
    for kind in check.get("exports", ["json", "csv"]):
        if kind not in exports:
            misses.append(f"no {kind} export")
    shown = (
        f"{reconciled.get('summary')}; placed during the incident: {len(want_ids)} orders from {want_customers} "
        f"customers totalling ${want_amount}; exported: "
        + (", ".join(f"{k} {v.get('path')}" for k, v in sorted(exports.items())) or "nothing")
    )
    base = {"name": signal["name"], "kind": signal["kind"], "within_s": signal["within_s"]}
    if misses:
        return dict(base, status="failed", time_to_signal_s=None, evidence=f"{'; '.join(misses)} ({shown})")
    return dict(base, status="passed", time_to_signal_s=None, evidence=shown)


def seed_comparison(seed: dict[str, Any]) -> dict[str, Any]:
    """The source report's figure against its own totals summed exactly, and what float summing gives."""
    totals = seed.get("totals") or []
    exact = dollars(totals)
    as_float = 0.0
    for total in totals:
        as_float += float(to_decimal(total))
    truncated = money_str(float_sum_truncated(totals))
    reported = money_str(seed["reported_amount"])
    noun = f"{counted(len(totals), 'failed order')}"
    if reported == exact:
        note = f"The source report's {format_money(reported)} for its {noun} matches the exact sum."
    elif reported == truncated:
        note = (
            f"The source report's {format_money(reported)} for its {noun} is a float-truncation error: adding "
            f"the totals as binary floats gives {as_float!r}, and truncating that to cents loses "
            f"{format_money(to_decimal(exact) - to_decimal(reported))}; exact is {format_money(exact)}."
        )
    else:
        note = (
            f"The source report's {format_money(reported)} for its {noun} differs from the exact sum of its "
            f"totals, {format_money(exact)}."
        )
    return {
        "failed_orders": seed.get("failed_orders"),
        "customers": seed.get("customers"),
        "first_failure": seed.get("first_failure"),
        "last_failure": seed.get("last_failure"),
        "reported_amount": reported,
        "exact_amount": exact,
        "float_sum": repr(as_float),
        "float_sum_truncated": truncated,
        "float_truncation_error": reported != exact and reported == truncated,
        "note": note,
    }


def business_impact(incident: dict[str, Any], journal: dict[str, Any]) -> dict[str, Any] | None:
    """The business impact of an incident with traffic, as measured by this run; None without traffic."""
    if not incident.get("traffic"):
        return None
    phases = journal.get("phases", {})
    traffic = phases.get("verify", {}).get("traffic", [])
    impact = phases.get("recover", {}).get("business_impact") or {}
    reconciled = impact.get("reconcile") or {}
    test_orders = (impact.get("test_order") or {}).get("orders") or []
    outcomes: dict[str, int] = {}
    for order in traffic:
        outcomes[order.get("outcome") or "error"] = outcomes.get(order.get("outcome") or "error", 0) + 1
    try:
        failed_amount = dollars([o["total"] for o in traffic if o.get("outcome") == "PAYMENT_FAILED"])
    except (MoneyError, KeyError):
        failed_amount = None
    result: dict[str, Any] = {
        "orders_placed": len(traffic),
        "customers_placing": len({o.get("customer") for o in traffic}),
        "outcomes": outcomes,
        "amount_placed_failed": failed_amount,
        "reconciled": bool(reconciled),
        "failed_orders": reconciled.get("failed_count"),
        "customers": reconciled.get("customers"),
        "amount_at_risk": reconciled.get("amount_at_risk"),
        "float_sum_truncated": reconciled.get("float_sum_truncated"),
        "window": {"since": reconciled.get("since"), "until": reconciled.get("until")},
        "first_failure": reconciled.get("first_failure"),
        "last_failure": reconciled.get("last_failure"),
        "with_shipment": len(reconciled.get("inconsistent") or []),
        "suspected_duplicates": reconciled.get("suspected_duplicates") or [],
        "per_customer": reconciled.get("per_customer") or {},
        "order_ids": reconciled.get("order_ids") or [],
        "exports": {k: v.get("path") for k, v in (reconciled.get("exports") or {}).items()},
        "test_order": test_orders[0] if test_orders else None,
        "notes": [],
    }
    amount, truncated = result["amount_at_risk"], result["float_sum_truncated"]
    if amount is not None and truncated is not None and amount != truncated:
        result["notes"].append(
            f"Adding this run's totals as binary floats and truncating to cents would report "
            f"{format_money(truncated)}; the exact amount at risk is {format_money(amount)}."
        )
    seed = (incident.get("seed") or {}).get("business_impact")
    if seed:
        result["seed"] = seed_comparison(seed)
        result["notes"].append(result["seed"]["note"])
    return result


def signal_results(incident: dict[str, Any], journal: dict[str, Any]) -> list[dict[str, Any]]:
    """Every signal and recovery confirmation in incident order; one never looked at is not_checked."""
    phases = journal.get("phases", {})
    seen = {
        r["name"]: r for r in phases.get("verify", {}).get("signals", []) + phases.get("recover", {}).get("confirm", [])
    }
    missing = {"status": "not_checked", "time_to_signal_s": None, "evidence": "not run yet"}
    ordered = []
    for stage, signals in (("verify", incident["signals"]), ("recover", incident["recovery"]["confirm"])):
        for signal in signals:
            base = {"name": signal["name"], "kind": signal["kind"], "within_s": signal["within_s"]}
            found = judge_reconcile(signal, journal) if signal["kind"] == "reconcile" else None
            ordered.append(dict(base, stage=stage, **(found or seen.get(signal["name"], missing))))
    return ordered


def item_status(statuses: list[str]) -> str:
    """A checklist item: failed if one of its signals failed, else error if one could not be observed (its
    backend did not answer), passed if every one passed, else not_checked."""
    for status in ("failed", "error"):
        if status in statuses:
            return status
    return "passed" if all(s == "passed" for s in statuses) else "not_checked"


def excused(signal: dict[str, Any]) -> bool:
    """A not_checked signal the verdict may pass over: an observability signal whose backend the inventory does
    not name, or names but the target does not run (not deployed, could not be installed). A backend the
    inventory names must be checked: any other reason (or none) keeps the verdict from PASSED."""
    return (
        signal["status"] == "not_checked"
        and signal["kind"] in BACKEND_KINDS
        and signal.get("reason") in EXCUSED_NOT_CHECKED
    )


def checklist(incident: dict[str, Any], signals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_name = {s["name"]: s for s in signals}
    items = []
    for item in incident["checklist"]:
        status = item_status([by_name[name]["status"] for name in item["signals"]])
        evidence = [f"{name}: {by_name[name]['status']} - {by_name[name]['evidence']}" for name in item["signals"]]
        items.append(
            {"name": item["name"], "description": item.get("description", ""), "status": status, "evidence": evidence}
        )
    return items


def timeline(journal: dict[str, Any]) -> dict[str, Any]:
    phases = journal.get("phases", {})
    act, ver, rec = phases.get("activate", {}), phases.get("verify", {}), phases.get("recover", {})
    activated = act.get("activated_at")
    return {
        "activation_started_at": act.get("started_at"),
        "activated_at": activated,
        "activation_s": seconds(act.get("started_at"), act.get("ended_at")),
        "verification_s": seconds(ver.get("started_at"), ver.get("ended_at")),
        "recovery_started_at": rec.get("started_at"),
        "incident_s": seconds(activated, rec.get("started_at")),
        "mttr_s": seconds(rec.get("started_at"), rec.get("confirmed_at")),
        "recovered_at": rec.get("confirmed_at"),
        "outage_s": seconds(activated, rec.get("confirmed_at")),
        "total_s": seconds(act.get("started_at"), rec.get("ended_at")),
    }


def summarise(incident: dict[str, Any], journal: dict[str, Any]) -> dict[str, Any]:
    signals = signal_results(incident, journal)
    items = checklist(incident, signals)
    recover = journal.get("phases", {}).get("recover", {})
    failed = [s["name"] for s in signals if s["status"] == "failed"]
    errors = [s["name"] for s in signals if s["status"] == "error"]
    failed_items = [i["name"] for i in items if i["status"] == "failed"]
    differences = recover.get("differences")
    impact = business_impact(incident, journal)
    found = regression_check(journal, incident)
    return {
        "passed": not failed
        and not errors
        and not failed_items
        and differences == []
        and not found
        and all(s["status"] == "passed" or excused(s) for s in signals),
        "failed_signals": failed,
        "error_signals": errors,
        "failed_checklist": failed_items,
        "error_checklist": [i["name"] for i in items if i["status"] == "error"],
        "not_checked": [s["name"] for s in signals if s["status"] == "not_checked"],
        "unexcused_not_checked": [s["name"] for s in signals if s["status"] == "not_checked" and not excused(s)],
        "diff_empty": differences == [] if differences is not None else None,
        "signals": signals,
        "checklist": items,
        "timeline": timeline(journal),
        "regressions": found,
        **({"business_impact": impact} if impact is not None else {}),
        **({"grading": graded} if (graded := grading(journal)) else {}),
    }


def responder_run(summary: dict[str, Any], journal: dict[str, Any]) -> bool:
    """A graded run the engine did not verify itself: its verdict is the grade, not the signals'."""
    return "grading" in summary and "verify" not in journal.get("phases", {})


def fmt_s(value: Any) -> str:
    return "-" if value is None else f"{value:.3f} s"


def render_markdown(
    incident: dict[str, Any],
    journal: dict[str, Any],
    summary: dict[str, Any],
    generated_at: str,
    *,
    queries: list[str] | None = None,
    chart: str = "",
) -> str:
    t = summary["timeline"]
    seed = (incident.get("seed") or {}).get("timeline_s", {})
    gt = incident["ground_truth"]
    rc = gt["root_cause"]
    verdict = "PASSED" if summary["passed"] else "NOT PASSED"
    if responder_run(summary, journal):
        verdict = "GRADED (responder mode: a responder worked the incident, the engine verified no signal; see Grading)"
    lines = [
        f"# INCIDENT-{incident['id']}: {incident['title']}",
        "",
        f"Run `{journal.get('run_id') or '-'}`, report generated {generated_at} (all times UTC).",
        f"Verdict: **{verdict}**.",
        "",
        *header_lines(incident, journal),
        incident["description"].strip(),
        "",
        "## Timeline",
        "",
        *([f"![Timeline of the run]({chart})", "", *chart_caption(journal)] if chart else []),
        "| step | at (UTC) | measured | seed |",
        "|---|---|---|---|",
        f"| activation | {t['activation_started_at'] or '-'} | {fmt_s(t['activation_s'])} "
        f"| {fmt_s(seed.get('activation'))} |",
        f"| fault in place | {t['activated_at'] or '-'} | | |",
    ]
    for s in summary["signals"]:
        if s["stage"] == "verify":
            lines.append(
                f"| signal: {s['name']} ({s['kind']}) | | {fmt_s(s['time_to_signal_s'])} "
                f"({s['status']}, budget {s['within_s']} s) | |"
            )
    lines += [
        f"| verification | | {fmt_s(t['verification_s'])} | {fmt_s(seed.get('verification'))} |",
        f"| incident (fault in place until recovery starts) | | {fmt_s(t['incident_s'])} "
        f"| {fmt_s(seed.get('incident'))} |",
        f"| recovery (MTTR) | {t['recovery_started_at'] or '-'} | {fmt_s(t['mttr_s'])} "
        f"| {fmt_s(seed.get('recovery'))} |",
        f"| payments confirmed | {t['recovered_at'] or '-'} | outage {fmt_s(t['outage_s'])} | |",
        f"| total | | {fmt_s(t['total_s'])} | {fmt_s(seed.get('total'))} |",
        "",
        "## Signals",
        "",
        "| signal | kind | status | time to signal | evidence |",
        "|---|---|---|---|---|",
    ]
    for s in summary["signals"]:
        evidence = str(s["evidence"]).replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {s['name']} | {s['kind']} | {s['status']} | {fmt_s(s['time_to_signal_s'])} | {evidence} |")
    if summary.get("error_signals"):
        lines += [
            "",
            "Not observed (the backend did not answer within the budget; not a pass): "
            + ", ".join(summary["error_signals"])
            + ".",
        ]
    lines += render_samples(summary["signals"])
    lines += ["", "## Checklist", ""]
    for item in summary["checklist"]:
        mark = {"passed": "x", "failed": " ", "error": "!", "not_checked": "?"}[item["status"]]
        lines.append(
            f"- [{mark}] **{item['name']}** ({item['status']})"
            + (f": {item['description']}" if item["description"] else "")
        )
        lines += [f"  - {e}" for e in item["evidence"]]
    diff = summary["diff_empty"]
    lines += [
        "",
        "## Recovery proof",
        "",
        "Live state matches the ledger (diff empty)."
        if diff
        else (
            "Recovery has not run."
            if diff is None
            else f"Live state differs from the ledger: {journal['phases']['recover']['differences']}"
        ),
        "",
        *regression_lines(summary.get("regressions")),
        *render_impact(summary.get("business_impact")),
        *orders_lines(journal),
        *render_grading(summary.get("grading")),
        *evidence_lines(journal, summary),
        *log_lines(summary),
        *event_lines(journal),
        *reproduce_lines(incident),
        *state_lines(journal),
        *(queries or []),
        *lessons_lines(incident),
        "## Ground truth",
        "",
        f"- Root cause: {rc['kind'].lower()}/{rc['name']} in namespace {rc['namespace']}, {rc['state']}.",
        f"- Fault class: {gt['fault_class']}.",
        f"- Summary: {' '.join(gt['summary'].split())}",
        "- Distinguishing signals:",
        *[f"  - {d}" for d in gt["distinguishing_signals"]],
        *(["- Not the cause:"] + [f"  - {d}" for d in gt["not_the_cause"]] if gt.get("not_the_cause") else []),
        "- Remediation:",
        *[f"  - {d}" for d in gt["remediation"]],
        "- Error taxonomy:",
        *[f'  - "{e["error"]}": {e["meaning"]}' for e in gt["error_taxonomy"]],
        "",
    ]
    return "\n".join(lines)


def render_samples(signals: list[dict[str, Any]]) -> list[str]:
    """What Prometheus returned for each promql/alert signal: the series' labels, value and instant."""
    shown = [s for s in signals if s.get("samples")]
    if not shown:
        return []
    lines = ["", "### Samples", "", "| signal | labels | value | at (UTC) |", "|---|---|---|---|"]
    for s in shown:
        for sample in s["samples"]:
            labels = ", ".join(f'{k}="{v}"' for k, v in sorted((sample.get("labels") or {}).items()))
            state = f" ({sample['state']})" if sample.get("state") else ""
            value = "-" if sample.get("value") is None else f"{sample['value']:g}"
            lines.append(
                f"| {s['name']} | {labels.replace('|', chr(92) + '|')} | {value}{state} | {sample.get('at') or '-'} |"
            )
    return lines


def render_impact(impact: dict[str, Any] | None) -> list[str]:
    """The business impact section of report.md (empty without traffic)."""
    if impact is None:
        return []
    seed = impact.get("seed") or {}

    def cash(value: Any) -> str:
        return "-" if value is None else format_money(value)

    def shown(value: Any) -> str:
        return "-" if value is None else str(value)

    test = impact.get("test_order")
    lines = [
        "## Business impact",
        "",
        "| figure | this run | source report |",
        "|---|---|---|",
        f"| orders placed during the incident | {impact['orders_placed']} "
        f"({', '.join(f'{k} {v}' for k, v in sorted(impact['outcomes'].items())) or 'none'}) | - |",
        f"| orders failed (reconciled over the incident window) | {shown(impact['failed_orders'])} "
        f"| {shown(seed.get('failed_orders'))} |",
        f"| customers affected | {shown(impact['customers'])} | {shown(seed.get('customers'))} |",
        f"| dollars at risk (exact decimal sum) | {cash(impact['amount_at_risk'])} "
        f"| {cash(seed.get('exact_amount'))} (exact sum of its totals) |",
        f"| dollars at risk as a float sum truncated to cents | {cash(impact['float_sum_truncated'])} "
        f"| {cash(seed.get('reported_amount'))} (the figure it reported) |",
        f"| first / last failure (UTC) | {shown(impact['first_failure'])} / {shown(impact['last_failure'])} "
        f"| {shown(seed.get('first_failure'))} / {shown(seed.get('last_failure'))} |",
        f"| failed orders with a shipment | {impact['with_shipment']} | - |",
        f"| suspected duplicates (retries) | {len(impact['suspected_duplicates'])} | - |",
        "| test order after recovery | "
        + (
            f"{test.get('id')}: {test.get('status') or test.get('outcome')} (HTTP {test.get('http_status')}, "
            f"{cash(test.get('total'))})"
            if test
            else "not placed"
        )
        + " | - |",
        "",
    ]
    lines += [f"{note}" for note in impact["notes"]] + ([""] if impact["notes"] else [])
    if impact["per_customer"]:
        lines += ["| customer | failed orders | amount | order ids |", "|---|---|---|---|"]
        lines += [
            f"| {cid} | {entry['count']} | {cash(entry['amount'])} | {', '.join(entry['order_ids'])} |"
            for cid, entry in sorted(impact["per_customer"].items())
        ]
        lines.append("")
    if impact["exports"]:
        lines += [
            "Failed orders exported for follow-up: "
            + ", ".join(f"`{os.path.basename(path)}`" for _, path in sorted(impact["exports"].items()))
            + ".",
            "",
        ]
    return lines


def render_junit(incident: dict[str, Any], summary: dict[str, Any]) -> str:
    cases = [
        (f"signal: {s['name']}", s["kind"], s["status"], s["evidence"], s["time_to_signal_s"])
        for s in summary["signals"]
    ]
    cases += [
        (f"checklist: {i['name']}", "checklist", i["status"], "; ".join(i["evidence"]), None)
        for i in summary["checklist"]
    ]
    cases += junit_cases(summary.get("grading"))
    suite = ET.Element(
        "testsuite",
        name=f"incident-{incident['id']}",
        tests=str(len(cases)),
        failures=str(sum(1 for c in cases if c[2] == "failed")),
        errors=str(sum(1 for c in cases if c[2] == "error")),
        skipped=str(sum(1 for c in cases if c[2] == "not_checked")),
    )
    for name, kind, status, evidence, took in cases:
        case = ET.SubElement(
            suite, "testcase", classname=f"incident-{incident['id']}.{kind}", name=name, time=f"{took or 0:.3f}"
        )
        if status == "failed":
            ET.SubElement(case, "failure", message=str(evidence)[:500]).text = str(evidence)
        elif status == "error":
            ET.SubElement(case, "error", message=str(evidence)[:500], type="backend_error").text = str(evidence)
        elif status == "not_checked":
            ET.SubElement(case, "skipped", message=str(evidence))
        else:
            ET.SubElement(case, "system-out").text = str(evidence)
    ET.indent(suite)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(suite, encoding="unicode") + "\n"


def journal_digest(journal: dict[str, Any]) -> str:
    """Identifies what a report was rendered from: the same journal renders the same report."""
    return "sha256:" + hashlib.sha256(json.dumps(journal, sort_keys=True).encode()).hexdigest()


CHART = "timeline.png"


def queries_lines(
    incident: dict[str, Any], summary: dict[str, Any], generated_at: str, links: dict[str, Any]
) -> list[str]:
    """The incident's queries for the run's window, with links to the backends the inventory names."""
    try:
        start, end = query_window(summary["timeline"], now=parse_iso(generated_at))
    except ValueError:
        return []  # no activation recorded: no window to show
    return queries_section(
        incident,
        start,
        end,
        datadog_site=links.get("datadog_site") or None,
        prometheus_url=links.get("prometheus_url") or None,
        grafana_url=links.get("grafana_url") or None,
        grafana_datasource_uid=links.get("grafana_datasource_uid") or None,
    )


def render(
    incident: dict[str, Any], journal: dict[str, Any], generated_at: str, links: dict[str, Any] | None = None
) -> dict[str, str]:
    """The text files of the report (the chart is `render_chart`'s)."""
    summary = summarise(incident, journal)
    document = scrub(
        {
            "incident": {"id": incident["id"], "title": incident["title"]},
            "run_id": journal.get("run_id"),
            "generated_at": generated_at,
            "journal_digest": journal_digest(journal),
            "verdict": "graded" if responder_run(summary, journal) else "passed" if summary["passed"] else "not_passed",
            **summary,
            "ground_truth": incident["ground_truth"],
            "seed": incident.get("seed", {}),
            "evidence": evidence_document(incident, journal),
        }
    )
    queries = queries_lines(incident, summary, generated_at, links or {})
    return {
        "report.md": render_markdown(incident, journal, summary, generated_at, queries=queries, chart=CHART),
        "report.json": json.dumps(document, indent=2, sort_keys=True) + "\n",
        "junit.xml": render_junit(incident, summary),
    }


def render_chart(incident: dict[str, Any], journal: dict[str, Any], summary: dict[str, Any]) -> bytes:
    """The timeline chart (PNG) that report.md embeds, from the run's summary (`summarise`)."""
    return render_timeline(chart_data(incident, journal, summary))


# ---------------------------------------------------------------- files


def journal_path(reports_dir: str, incident_id: str) -> str:
    return os.path.join(reports_dir, ".runs", f"incident-{incident_id}.json")


def read_journal(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return None


ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["record", "render"], "default": "record"},
    "incident": {"type": "dict", "required": True},
    "reports_dir": {"type": "path", "required": True},
    "run_id": {"type": "str", "default": ""},
    "phase": {"type": "str", "choices": ["activate", "verify", "recover", "grade"]},
    "data": {"type": "dict", "default": {}},
    "require_confirmed": {"type": "bool", "default": False},
    "timestamp": {"type": "str", "default": ""},
    "datadog_site": {"type": "str", "default": ""},
    "prometheus_url": {"type": "str", "default": ""},
    "grafana_url": {"type": "str", "default": ""},
    "grafana_datasource_uid": {"type": "str", "default": ""},
}
# Where the report's query links point (empty: no link for that backend).
LINK_OPTIONS = ("datadog_site", "prometheus_url", "grafana_url", "grafana_datasource_uid")
REQUIRED_IF = [("state", "record", ("phase",))]


def record_phase(params: dict[str, Any], path: str, journal: dict[str, Any] | None, check_mode: bool) -> dict[str, Any]:
    incident = params["incident"]
    journal = record(journal, incident["id"], params["run_id"], params["phase"], params["data"])
    if not check_mode:
        write_atomic(path, json.dumps(journal, indent=1, sort_keys=True))
    # The journal is run output, like a log: recording never counts as a change to the system.
    summary = summarise(incident, journal)
    result: dict[str, Any] = {"changed": False, "journal": journal, "summary": summary}
    if params["phase"] == "recover" and params["require_confirmed"]:
        unconfirmed = [
            s["name"] for s in summary["signals"] if s["stage"] == "recover" and s["status"] in ("failed", "error")
        ]
        if unconfirmed:
            raise ReportError(
                f"Incident {incident['id']} is restored from the ledger, but these recovery confirmations did not "
                f"hold: {'; '.join(unconfirmed)}. See the report.",
                **result,
            )
        result["msg"] = f"Incident {incident['id']} is recovered: the ledger is cleared and the lock released."
    return result


def report_folder(params: dict[str, Any], journal: dict[str, Any]) -> str:
    """The run's report directory: the one recover exported into, else named by the timestamp given or the time
    the run's activation started, so rendering the same run again writes the same directory."""
    named = journal.get("phases", {}).get("recover", {}).get("report_dir")
    if named and not params["timestamp"]:
        return str(named)  # recover already exported the failed orders there
    started = journal.get("phases", {}).get("activate", {}).get("started_at")
    stamp = params["timestamp"] or started
    moment = parse_iso(stamp) if stamp else utc_now()
    return os.path.join(
        params["reports_dir"],
        f"incident-{params['incident']['id']}-{moment.astimezone(dt.timezone.utc):%Y%m%dT%H%M%SZ}",
    )


def up_to_date(folder: str, files: list[str], journal: dict[str, Any]) -> bool:
    """Whether `folder` holds every report file, rendered from this very journal."""
    if not all(os.path.exists(os.path.join(folder, name)) for name in files):
        return False
    try:
        with open(os.path.join(folder, "report.json"), encoding="utf-8") as handle:
            return bool(json.load(handle).get("journal_digest") == journal_digest(journal))
    except (OSError, ValueError):
        return False


def render_report(
    params: dict[str, Any], path: str, journal: dict[str, Any] | None, check_mode: bool
) -> dict[str, Any]:
    incident = params["incident"]
    if journal is None:
        raise ReportError(f"no journal for incident {incident['id']} at {path}: run phase=activate (and verify) first")
    folder = report_folder(params, journal)
    links = {key: params.get(key) or "" for key in LINK_OPTIONS}
    files = render(incident, journal, iso(utc_now()), links)
    summary = summarise(incident, journal)
    changed = not up_to_date(folder, [*files, CHART], journal)
    if changed and not check_mode:
        for name, text in files.items():
            write_atomic(os.path.join(folder, name), text)
        write_atomic(os.path.join(folder, CHART), render_chart(incident, journal, summary))
    if not check_mode:
        update_index(
            params["reports_dir"],
            {
                "report_dir": os.path.basename(folder),
                "incident": incident["id"],
                "title": incident["title"],
                "verdict": json.loads(files["report.json"])["verdict"],
                "mttr_s": summary["timeline"].get("mttr_s"),
                "started_at": summary["timeline"].get("activation_started_at"),
                "run_id": journal.get("run_id") or "",
            },
        )
    return {
        "changed": changed,
        "journal": journal,
        "summary": summary,
        "report_dir": folder,
        "files": [os.path.join(folder, name) for name in [*files, CHART]],
    }


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    """The module's work, on the controller: the action plugin calls this without a module process."""
    path = journal_path(params["reports_dir"], params["incident"]["id"])
    try:
        journal = read_journal(path)
        if params["state"] == "record":
            return record_phase(params, path, journal, check_mode)
        return render_report(params, path, journal, check_mode)
    except (OSError, ValueError, KeyError) as exc:
        raise ReportError(
            f"cannot write the incident report under {params['reports_dir']}: {exc}. "
            f"Check the directory and the journal {path}."
        ) from exc


def main() -> None:
    main_of(ARGUMENT_SPEC, run, cluster=False, required_if=REQUIRED_IF)


if __name__ == "__main__":
    main()
