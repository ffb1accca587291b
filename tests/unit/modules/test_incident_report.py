"""incident_report: probe judging, journal, summary and the three renderings, with exact figures."""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from ansible.module_utils.sockshop_module import write_atomic

from plugins.modules import incident_load
from plugins.modules import incident_report as rep
from tests.unit.modules.incident_fakes import offline

CATALOG = Path(__file__).resolve().parents[3] / "incidents"
INCIDENT = incident_load.load_incident(str(CATALOG), "6")["incident"]
PROBE_SIGNAL = INCIDENT["signals"][0]
CONFIRM_SIGNAL = INCIDENT["recovery"]["confirm"][0]
DECLINED = {
    "item": PROBE_SIGNAL,
    "changed": False,
    "authorised": False,
    "classification": "connection_refused",
    "http_status": 200,
    "latency_s": 0.214,
    "time_to_expect_s": 0.231,
    "attempts": 1,
    "message": (
        'Payment gateway error: Post "http://stripe-mock/v1/charges": '
        "dial tcp 10.96.0.12:80: connect: connection refused"
    ),
    "invocation": {"module_args": {"api_key": "sekrit"}},
}
AUTHORISED = {
    "item": CONFIRM_SIGNAL,
    "authorised": True,
    "classification": "authorised",
    "http_status": 200,
    "latency_s": 0.05,
    "time_to_expect_s": 3.5,
    "message": "Payment authorized (charge: ch_123)",
}


def cluster_result(signal: dict, status: str = "passed", took: float | None = 0.5) -> dict:
    return {
        "name": signal["name"],
        "kind": signal["kind"],
        "within_s": signal["within_s"],
        "status": status,
        "time_to_signal_s": took if status == "passed" else None,
        "evidence": f"{status} evidence",
        # as incident_signals says it: this inventory names no Prometheus and no Datadog
        **({"reason": "backend_not_configured"} if status == "not_checked" else {}),
    }


def journal() -> dict:
    cluster = [
        cluster_result(s) if s["kind"] in ("k8s_state", "k8s_event", "pod_log") else cluster_result(s, "not_checked")
        for s in INCIDENT["signals"][1:]
    ]
    j = rep.record(
        None,
        "6",
        "run-a",
        "activate",
        {
            "started_at": "2026-11-23T08:24:40.000Z",
            "ended_at": "2026-11-23T08:24:45.250Z",
            "activated_at": "2026-11-23T08:24:45.000Z",
        },
    )
    j = rep.record(
        j,
        "6",
        "run-a",
        "verify",
        {
            "started_at": "2026-11-23T08:24:50.000Z",
            "ended_at": "2026-11-23T08:24:53.125Z",
            "probes": [DECLINED],
            "cluster": cluster,
        },
    )
    return rep.record(
        j,
        "6",
        "run-a",
        "recover",
        {
            "started_at": "2026-11-23T08:26:45.000Z",
            "restored_at": "2026-11-23T08:26:48.000Z",
            "confirmed_at": "2026-11-23T08:26:51.500Z",
            "ended_at": "2026-11-23T08:26:53.000Z",
            "differences": [],
            "confirm": [AUTHORISED],
        },
    )


@pytest.mark.parametrize(
    ("change", "status", "text"),
    [
        ({}, "passed", "classification=connection_refused"),
        ({"classification": "timeout"}, "failed", "classification should be connection_refused"),
        ({"authorised": True}, "failed", "authorised should be False"),
        ({"latency_s": 0.9}, "failed", "latency should be under 0.5 s"),
        ({"message": "Payment gateway error: refused"}, "failed", "message should contain 'stripe-mock'"),
        ({"time_to_expect_s": 6.0}, "failed", "took 6.0 s, budget 5 s"),
        ({"skipped": True}, "not_checked", "check mode"),
    ],
)
def test_judge_probe(change: dict, status: str, text: str) -> None:
    verdict = rep.judge_probe(PROBE_SIGNAL, dict(DECLINED, **change))
    assert verdict["status"] == status and text in verdict["evidence"]


def test_failed_probe_task_without_answer() -> None:
    verdict = rep.judge_probe(PROBE_SIGNAL, {"failed": True, "msg": "cluster unreachable"})
    assert verdict["status"] == "failed" and "cluster unreachable" in verdict["evidence"]


def test_new_activation_starts_a_new_journal() -> None:
    j = journal()
    fresh = rep.record(j, "6", "run-b", "activate", {"started_at": "2026-11-23T09:00:00.000Z"})
    assert fresh["run_id"] == "run-b" and list(fresh["phases"]) == ["activate"]
    same = rep.record(journal(), "6", "run-a", "activate", {"started_at": "x"})
    assert set(same["phases"]) == {"activate", "verify", "recover"}


def test_summary_figures() -> None:
    summary = rep.summarise(INCIDENT, journal())
    assert summary["passed"] is True
    assert summary["failed_signals"] == [] and summary["diff_empty"] is True
    assert summary["not_checked"] == [
        s["name"] for s in INCIDENT["signals"] if s["kind"] in ("promql", "alert", "datadog_logs", "datadog_metrics")
    ]
    assert summary["timeline"] == {
        "activation_started_at": "2026-11-23T08:24:40.000Z",
        "activated_at": "2026-11-23T08:24:45.000Z",
        "activation_s": 5.25,
        "verification_s": 3.125,
        "recovery_started_at": "2026-11-23T08:26:45.000Z",
        "incident_s": 120.0,
        "mttr_s": 6.5,
        "recovered_at": "2026-11-23T08:26:51.500Z",
        "outage_s": 126.5,
        "total_s": 133.0,
    }
    # The alert item is not checked: its signals are, in this journal (no Prometheus).
    assert [(i["name"], i["status"]) for i in summary["checklist"] if i["status"] != "passed"] == [
        ("the alert names the gateway, not payment", "not_checked")
    ]
    assert len(summary["checklist"]) == 8


def test_a_failed_signal_fails_its_checklist_items() -> None:
    j = journal()
    j["phases"]["verify"]["signals"][0]["status"] = "failed"
    summary = rep.summarise(INCIDENT, j)
    assert not summary["passed"]
    assert summary["failed_signals"] == ["payments declined with connection refused"]
    assert (
        "error handled" in summary["failed_checklist"]
        and "payment pods stay healthy" not in summary["failed_checklist"]
    )


def test_missing_recovery_is_not_a_pass() -> None:
    j = journal()
    del j["phases"]["recover"]
    summary = rep.summarise(INCIDENT, j)
    assert summary["passed"] is False and summary["diff_empty"] is None


def test_markdown_report() -> None:
    md = rep.render(INCIDENT, journal(), "2026-11-23T08:27:00.000Z")["report.md"]
    assert md.startswith("# INCIDENT-6: Payment gateway unavailable (third-party dependency)\n")
    assert "Run `run-a`, report generated 2026-11-23T08:27:00.000Z (all times UTC).\nVerdict: **PASSED**." in md
    assert "| activation | 2026-11-23T08:24:40.000Z | 5.250 s | 22.000 s |" in md
    assert "| signal: payments declined with connection refused (probe) | | 0.231 s (passed, budget 5 s) | |" in md
    assert "| recovery (MTTR) | 2026-11-23T08:26:45.000Z | 6.500 s | 27.000 s |" in md
    assert "| payments confirmed | 2026-11-23T08:26:51.500Z | outage 126.500 s | |" in md
    assert "| total | | 133.000 s | 155.000 s |" in md
    assert "- [x] **failure is fast** (passed)" in md
    assert "| datadog has payment gateway errors | datadog_logs | not_checked | - |" in md
    assert "Live state matches the ledger (diff empty)." in md
    assert "- Root cause: deployment/stripe-mock in namespace sock-shop, scaled to 0 replicas." in md
    assert "sekrit" not in md


def test_json_and_junit_reports() -> None:
    files = rep.render(INCIDENT, journal(), "2026-11-23T08:27:00.000Z")
    data = json.loads(files["report.json"])
    assert data["verdict"] == "passed" and data["timeline"]["mttr_s"] == 6.5
    assert "sekrit" not in files["report.json"]
    suite = ET.fromstring(files["junit.xml"].split("\n", 1)[1])
    cases = suite.findall("testcase")
    assert len(cases) == len(INCIDENT["signals"]) + 1 + len(INCIDENT["checklist"])
    # Skipped: the 6 PromQL, alert and Datadog signals, and the alert checklist item.
    assert (suite.get("failures"), suite.get("skipped")) == ("0", "7")
    first = cases[0]
    assert (first.get("name"), first.get("time")) == ("signal: payments declined with connection refused", "0.231")


def test_scrub_drops_secrets_recursively() -> None:
    data = {"datadog_api_key": "a", "nested": [{"token": "b", "keep": 1}], "Authorization": "c", "message": "ok"}
    assert rep.scrub(data) == {"nested": [{"keep": 1}], "message": "ok"}


def render_params(reports: Path, **extra: str) -> dict:
    return {"state": "render", "incident": INCIDENT, "reports_dir": str(reports), "timestamp": "", **extra}


def test_render_names_the_run_and_a_second_render_changes_nothing(tmp_path: Path) -> None:
    write_atomic(rep.journal_path(str(tmp_path), "6"), json.dumps(journal()))
    first = rep.run(render_params(tmp_path), False, offline)
    assert first["changed"] is True
    assert first["report_dir"] == str(tmp_path / "incident-6-20261123T082440Z")  # when the activation started
    written = {
        name: (tmp_path / "incident-6-20261123T082440Z" / name).read_text() for name in ("report.md", "report.json")
    }
    again = rep.run(render_params(tmp_path), False, offline)
    assert (again["changed"], again["report_dir"]) == (False, first["report_dir"])
    assert {name: (tmp_path / "incident-6-20261123T082440Z" / name).read_text() for name in written} == written


def test_render_again_after_the_journal_moved_on(tmp_path: Path) -> None:
    path = rep.journal_path(str(tmp_path), "6")
    j = journal()
    recover = j["phases"].pop("recover")
    write_atomic(path, json.dumps(j))
    assert rep.run(render_params(tmp_path), False, offline)["summary"]["passed"] is False
    j["phases"]["recover"] = recover
    write_atomic(path, json.dumps(j))
    later = rep.run(render_params(tmp_path), False, offline)
    assert later["changed"] is True and later["summary"]["passed"] is True
    assert json.loads((Path(later["report_dir"]) / "report.json").read_text())["verdict"] == "passed"


def test_render_in_check_mode_writes_nothing(tmp_path: Path) -> None:
    write_atomic(rep.journal_path(str(tmp_path), "6"), json.dumps(journal()))
    result = rep.run(render_params(tmp_path), True, offline)
    assert result["changed"] is True and not Path(result["report_dir"]).exists()


def test_a_deleted_report_file_is_written_again(tmp_path: Path) -> None:
    write_atomic(rep.journal_path(str(tmp_path), "6"), json.dumps(journal()))
    folder = Path(rep.run(render_params(tmp_path), False, offline)["report_dir"])
    (folder / "junit.xml").unlink()
    assert rep.run(render_params(tmp_path), False, offline)["changed"] is True and (folder / "junit.xml").exists()


def record_params(reports: Path, journal_data: dict, require: bool) -> dict:
    return {
        "state": "record",
        "incident": INCIDENT,
        "reports_dir": str(reports),
        "run_id": "run-a",
        "phase": "recover",
        "data": journal_data,
        "require_confirmed": require,
        "timestamp": "",
    }


def test_recover_fails_after_recording_when_a_confirmation_did_not_hold(tmp_path: Path) -> None:
    write_atomic(rep.journal_path(str(tmp_path), "6"), json.dumps(journal()))
    failing = dict(journal()["phases"]["recover"], confirm=[dict(AUTHORISED, authorised=False)])
    with pytest.raises(rep.ReportError) as err:
        rep.run(record_params(tmp_path, failing, require=True), False, offline)
    assert str(err.value) == (
        "Incident 6 is restored from the ledger, but these recovery confirmations did not hold: "
        "payments authorised again. See the report."
    )
    recorded = json.loads(Path(rep.journal_path(str(tmp_path), "6")).read_text())
    assert recorded["phases"]["recover"]["confirm"][0]["status"] == "failed"  # recorded before failing
    assert rep.run(record_params(tmp_path, failing, require=False), False, offline)["changed"] is False


def test_recover_says_it_is_recovered_when_every_confirmation_held(tmp_path: Path) -> None:
    passing = dict(journal()["phases"]["recover"], confirm=[AUTHORISED])
    result = rep.run(record_params(tmp_path, passing, require=True), False, offline)
    assert result["msg"] == "Incident 6 is recovered: the ledger is cleared and the lock released."


GRADED = {
    "grades": {
        "detection": {"credit": 1.0, "correct": True, "reason": "detected, citing 2 evidence item(s)"},
        "localisation": {
            "credit": 0.0,
            "correct": False,
            "reason": "named Deployment/payment: payment is the caller (expected Deployment/stripe-mock)",
        },
        "root_cause": {"credit": 0.5, "correct": False, "reason": "answered internal_service_unavailable: half"},
        "mitigation": {"mitigated": False, "ttm_s": None, "reason": "not mitigated: no 3 successes in a row"},
        "collateral": {
            "count": 1,
            "findings": [
                {
                    "object": "Deployment/payment",
                    "field": "spec.template.metadata",
                    "before": "<absent>",
                    "after": {"annotations": {"kubectl.kubernetes.io/restartedAt": "2026-11-23T08:25:00Z"}},
                }
            ],
        },
    },
    "row": {"responder": "payment-bug", "graded_at": "2026-11-23T08:27:00.000Z", "run_id": "run-a"},
    "reverted": ["replace Deployment/payment"],
}


def graded_journal() -> dict:
    """A responder-mode run: activate, then grade (which recovers); no verify."""
    j = journal()
    j["phases"].pop("verify")
    return rep.record(j, "6", "run-a", "grade", GRADED)


def test_a_graded_run_reports_its_grades_in_all_three_renderings() -> None:
    files = rep.render(INCIDENT, graded_journal(), "2026-11-23T08:27:00.000Z")
    md = files["report.md"]
    assert "Verdict: **GRADED (responder mode: a responder worked the incident, the engine verified no signal" in md
    assert "Responder `payment-bug`, graded 2026-11-23T08:27:00.000Z." in md
    assert (
        "| localisation | 0 | no | named Deployment/payment: payment is the caller (expected Deployment/stripe-mock) |"
        in md
    )
    assert "| root cause | 0.5 | no | answered internal_service_unavailable: half |" in md
    assert "| mitigation | | no | not mitigated: no 3 successes in a row |" in md
    assert "- Deployment/payment spec.template.metadata: '<absent>' -> {'annotations':" in md
    assert "Put back from the baseline: replace Deployment/payment." in md
    data = json.loads(files["report.json"])
    assert data["verdict"] == "graded" and data["grading"]["grades"]["root_cause"]["credit"] == 0.5
    suite = ET.fromstring(files["junit.xml"].split("\n", 1)[1])
    grades = {str(c.get("name")): c for c in suite.findall("testcase") if c.get("classname") == "incident-6.grade"}
    assert sorted(grades) == [
        f"grade: {d}" for d in ("collateral", "detection", "localisation", "mitigation", "root cause")
    ]
    failed = sorted(str(name) for name, case in grades.items() if case.find("failure") is not None)
    assert failed == ["grade: collateral", "grade: localisation", "grade: mitigation", "grade: root cause"]


def test_an_ungraded_run_has_no_grading_section() -> None:
    files = rep.render(INCIDENT, journal(), "2026-11-23T08:27:00.000Z")
    assert "## Grading" not in files["report.md"] and "grading" not in json.loads(files["report.json"])
