"""The report people read (issue 21), rendered from a recorded journal: header, state tables before, during and
after, the regression check, the queries with the run's window, the timeline chart and the runs' index."""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from plugins.module_utils import sockshop_report_sections as sections
from plugins.modules import incident_report as rep
from tests.unit.modules.incident_fakes import offline
from tests.unit.modules.test_incident_report import AUTHORISED, INCIDENT, journal

COLUMNS = {
    "deployments": ["Name", "Ready", "Up-to-date", "Available", "Age"],
    "pods": ["Name", "Ready", "Status", "Restarts", "Age"],
    "endpoints": ["Name", "Endpoints", "Age"],
}


def state(taken_at: str, gateway: int, catalogue: int = 1, gateway_pod: str = "stripe-mock-b-1") -> dict[str, Any]:
    """What namespace_state returns (its Ansible bookkeeping too, which the journal leaves out)."""
    pods = {
        "payment-a-1": {"workload": "Deployment/payment", "ready": "1/1", "phase": "Running", "restarts": 0},
        **{
            f"catalogue-c-{i}": {"workload": "Deployment/catalogue", "ready": "1/1", "phase": "Running", "restarts": 0}
            for i in range(1, catalogue + 1)
        },
    }
    if gateway:
        pods[gateway_pod] = {"workload": "Deployment/stripe-mock", "ready": "1/1", "phase": "Running", "restarts": 0}

    def deployment(replicas: int, image: str) -> dict[str, Any]:
        return {"replicas": replicas, "ready": replicas, "available": replicas, "images": [image]}

    return {
        "changed": False,
        "invocation": {"module_args": {"api_key": "sekrit"}},
        "taken_at": taken_at,
        "server_version": "v1.32.0",
        "nodes": 2,
        "images": {"payment": ["sock-shop-payment-gateway:v2"], "stripe-mock": ["stripe/stripe-mock:latest"]},
        "tables": {
            "deployments": {
                "columns": COLUMNS["deployments"],
                "rows": [
                    ["payment", "1/1", "1", "1", "5m"],
                    ["stripe-mock", f"{gateway}/{gateway}", str(gateway), str(gateway), "5m"],
                ],
            },
            "pods": {
                "columns": COLUMNS["pods"],
                "rows": [[name, "1/1", "Running", "0", "5m"] for name in sorted(pods)],
            },
            "endpoints": {"columns": COLUMNS["endpoints"], "rows": [["payment", "10.244.1.16:8080", "5m"]]},
        },
        "view": {
            "deployments": {
                "payment": deployment(1, "sock-shop-payment-gateway:v2"),
                "stripe-mock": deployment(gateway, "stripe/stripe-mock:latest"),
                "catalogue": deployment(catalogue, "catalogue:0.3.5"),
            },
            "pods": pods,
        },
    }


def with_states(after_catalogue: int = 1) -> dict[str, Any]:
    j = copy.deepcopy(journal())
    phases = j["phases"]
    phases["activate"].update(
        state=rep.compact_state(state("2026-11-23T08:24:44.000Z", 1)),
        operator="alice",
        target={"host": "local-sockshop", "context": "local-sockshop"},
        ledger={"objects": [{"kind": "Deployment", "name": "stripe-mock", "api_version": "apps/v1"}]},
    )
    phases["verify"]["state"] = rep.compact_state(state("2026-11-23T08:24:52.000Z", 0))
    phases["recover"]["state"] = rep.compact_state(
        state("2026-11-23T08:26:52.000Z", 1, catalogue=after_catalogue, gateway_pod="stripe-mock-b-2")
    )
    return j


def test_the_header_says_who_ran_what_where_and_when() -> None:
    md = rep.render(INCIDENT, with_states(), "2026-11-23T08:27:00.000Z")["report.md"]
    for row in (
        "| target | inventory host local-sockshop, context local-sockshop, namespace sock-shop |",
        "| cluster | Kubernetes v1.32.0, 2 node(s) |",
        "| images | payment: sock-shop-payment-gateway:v2; stripe-mock: stripe/stripe-mock:latest |",
        "| run | run-a |",
        "| operator | alice |",
        "| started (UTC) | 2026-11-23T08:24:40.000Z |",
        "| ended (UTC) | 2026-11-23T08:26:53.000Z |",
    ):
        assert row in md, row
    assert "sekrit" not in json.dumps(with_states())  # only the state, not the module's bookkeeping


def test_the_state_reads_as_kubectl_printed_it_before_during_and_after() -> None:
    md = rep.render(INCIDENT, with_states(), "2026-11-23T08:27:00.000Z")["report.md"]
    section = md[md.index("## State of the namespace") :]
    titles = [line for line in section.splitlines() if line.startswith("### ")]
    assert titles[:3] == [
        "### Before the fault (2026-11-23T08:24:44.000Z)",
        "### During the incident (2026-11-23T08:24:52.000Z)",
        "### After recovery (2026-11-23T08:26:52.000Z)",
    ]
    during = section[section.index("### During") : section.index("### After")]
    assert "NAME          READY   UP-TO-DATE   AVAILABLE   AGE\n" in during
    assert "stripe-mock   0/0     0            0           5m" in during
    assert "`kubectl get endpoints`:" in during and "payment   10.244.1.16:8080   5m" in during


def test_nothing_changed_outside_the_fault_keeps_the_verdict() -> None:
    files = rep.render(INCIDENT, with_states(), "2026-11-23T08:27:00.000Z")
    assert "Every deployment and pod outside the fault is as before" in files["report.md"]
    data = json.loads(files["report.json"])
    assert (data["verdict"], data["regressions"]) == ("passed", [])


def test_an_unrelated_deployment_scaled_during_the_incident_fails_the_verdict() -> None:
    files = rep.render(INCIDENT, with_states(after_catalogue=2), "2026-11-23T08:27:00.000Z")
    md = files["report.md"]
    assert "Verdict: **NOT PASSED**." in md
    assert "| Deployment/catalogue | replicas | 1 | 2 |" in md
    assert "| Pod/catalogue-c-2 | - | absent | present |" in md
    assert json.loads(files["report.json"])["verdict"] == "not_passed"


def test_the_queries_come_with_the_run_window_and_links_where_the_inventory_names_a_backend() -> None:
    links = {"datadog_site": "us5.datadoghq.com", "prometheus_url": "", "grafana_url": "", "grafana_datasource_uid": ""}
    md = rep.render(INCIDENT, with_states(), "2026-11-23T08:27:00.000Z", links)["report.md"]
    section = md[md.index("## Queries for this run's window") :]
    assert "2026-11-23T08:23:40" in section  # the activation's start less a minute
    assert "https://us5.datadoghq.com/logs?query=" in section
    assert "No Prometheus graph link" in section


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_render_writes_the_chart_and_lists_the_run_in_the_index(tmp_path: Path) -> None:
    rep.write_atomic(rep.journal_path(str(tmp_path), "6"), json.dumps(with_states()))
    params = {"state": "render", "incident": INCIDENT, "reports_dir": str(tmp_path), "timestamp": ""}
    done = rep.run(params, False, offline)
    folder = Path(done["report_dir"])
    assert png_size((folder / "timeline.png").read_bytes()) == (1000, 600)
    assert "![Timeline of the run](timeline.png)" in (folder / "report.md").read_text()
    index = (tmp_path / "index.md").read_text()
    assert f"[{folder.name}]({folder.name}/report.md)" in index and "| passed |" in index
    assert rep.run(params, False, offline)["changed"] is False  # the same journal: nothing to write again


def test_the_chart_shows_the_probes_and_the_gateway_replicas() -> None:
    j = with_states()
    data = rep.chart_data(INCIDENT, j, rep.summarise(INCIDENT, j))
    assert [b["name"] for b in data["bands"]] == ["baseline", "activation", "incident", "recovery"]
    assert data["replicas"]["label"] == "Deployment/stripe-mock available replicas"
    assert [(p["at"], p["value"]) for p in data["replicas"]["points"]] == [
        ("2026-11-23T08:24:44.000Z", 1.0),
        ("2026-11-23T08:24:45.000Z", 0.0),  # in effect from the activation
        ("2026-11-23T08:24:52.000Z", 0.0),
        ("2026-11-23T08:26:51.500Z", 1.0),  # back from the recovery's confirmation
        ("2026-11-23T08:26:52.000Z", 1.0),
    ]


def test_a_recorded_run_renders_every_section() -> None:
    """A real INCIDENT-6 run on the local target (tests/fixtures/journals/incident-6.json)."""
    recorded = json.loads((Path(__file__).parents[2] / "fixtures" / "journals" / "incident-6.json").read_text())
    files = rep.render(INCIDENT, recorded, "2026-12-07T12:15:00.000Z")
    md = files["report.md"]
    headings = [line for line in md.splitlines() if line.startswith("## ")]
    assert headings == [
        "## Timeline",
        "## Signals",
        "## Checklist",
        "## Recovery proof",
        "## Regression check",
        "## Evidence: the probes' answers",
        "## Evidence: the log lines",
        "## Evidence: events",
        "## Reproduce by hand",
        "## State of the namespace",
        "## Queries for this run's window",
        "## Lessons and next steps",
        "## Ground truth",
    ]
    lessons = md[md.index("## Lessons and next steps") : md.index("## Ground truth")]
    assert "- Failing fast was right - payment declined in about 0.2 s" in lessons
    assert "Recommendations:\n\n- Alert on the gateway's availability" in lessons
    assert "| cluster | Kubernetes v1.32.0, 2 node(s) |" in md and "| operator | root@vm |" in md
    assert md.count("`kubectl get pods`:") == 3  # before, during, after
    # the runbook's commands, from the same source
    runbook = (Path(__file__).parents[3] / "docs" / "runbooks" / "incident-6.md").read_text()
    reproduce = md[md.index("## Reproduce by hand") : md.index("## State of the namespace")]
    shown = [line for line in reproduce.splitlines() if line.startswith("kubectl ")]
    assert len(shown) == 10 and all(f"      {cmd}\n" in runbook for cmd in shown[2:]), shown
    data = json.loads(files["report.json"])
    assert (data["verdict"], data["regressions"]) == ("passed", [])
    # report.json carries what report.md shows beyond the summary
    evidence = data["evidence"]
    assert (
        evidence["header"]["cluster"] == "Kubernetes v1.32.0, 2 node(s)" and evidence["header"]["operator"] == "root@vm"
    )
    assert set(evidence["state"]) == {"before the fault", "during the incident", "after recovery"}
    assert evidence["state"]["during the incident"]["view"]["deployments"]["stripe-mock"]["available"] == 0
    assert [e["reason"] for e in evidence["events"] if e["object"] == "Deployment/stripe-mock"] == [
        "ScalingReplicaSet"
    ] * 2
    assert {s["label"] for s in evidence["series"]} >= {"replicas_available deployment=stripe-mock"}
    assert evidence["baseline_probes"][0]["answer"]["authorised"] is True and evidence["lessons"]
    (logged,) = [s for s in data["signals"] if s.get("lines")]
    assert sum(line["match"] for line in logged["lines"]) == 1
    chart = rep.chart_data(INCIDENT, recorded, rep.summarise(INCIDENT, recorded))
    assert [p["ok"] for p in chart["probes"]] == [True, True] and len(chart["replicas"]["points"]) == 5
    # the Prometheus panel: the gateway's series went to 0 and, once Prometheus scraped the recovery, back to 1
    (gateway,) = [s for s in chart["series"] if s["label"] == "replicas_available deployment=stripe-mock"]
    values = [p["value"] for p in gateway["points"]]
    assert values[0] == values[-1] == 1.0 and 0.0 in values
    # the evidence: the gateway error in its context, the scale down and the scale up
    logged = md[md.index("## Evidence: the log lines") : md.index("## Evidence: events")]
    assert [line[:2] for line in logged.splitlines() if line.startswith(("  2026", "> 2026"))] == ["  ", "  ", "> "]
    events = md[md.index("## Evidence: events") : md.index("## Reproduce by hand")]
    assert "| Deployment/stripe-mock | Scaled down replica set stripe-mock-5f6959f5f5 from 1 to 0 | 1 |" in events
    assert "| Deployment/stripe-mock | Scaled up replica set stripe-mock-5f6959f5f5 from 0 to 1 | 2 |" in events


def test_the_probes_answers_are_shown_in_full_healthy_during_and_recovered() -> None:
    j = rep.record(
        copy.deepcopy(journal()),
        "6",
        "run-a",
        "activate",
        {
            **journal()["phases"]["activate"],
            "baseline_probes": [{**AUTHORISED, "latency_s": 0.02, "message": "Payment authorized (charge: ch_0)"}],
        },
    )
    md = rep.render(INCIDENT, j, "2026-11-23T08:27:00.000Z")["report.md"]
    section = md[md.index("## Evidence: the probes' answers") : md.index("## State of the namespace")]
    titles = [line for line in section.splitlines() if line.endswith(":") and " - " in line]
    assert titles == [
        "Healthy, before the fault - payments authorised again, 0.02 s:",
        "During the incident - payments declined with connection refused, 0.214 s:",
        "After recovery - payments authorised again, 0.05 s:",
    ]
    assert '"message": "Payment authorized (charge: ch_0)"' in section
    assert '"classification": "connection_refused"' in section and "dial tcp" in section


def scaled(at: str, frm: int, to: int, rs: str = "stripe-mock-5f6959f5f5") -> dict[str, Any]:
    verb = "down" if to < frm else "up"
    return {
        "at": at,
        "type": "Normal",
        "reason": "ScalingReplicaSet",
        "object": "Deployment/stripe-mock",
        "message": f"Scaled {verb} replica set {rs} from {frm} to {to}",
        "count": 1,
    }


EVENTS = [
    scaled("2026-11-23T08:24:45Z", 1, 0),
    {
        "at": "2026-11-23T08:24:45Z",
        "type": "Normal",
        "reason": "Killing",
        "object": "Pod/stripe-mock-5f6959f5f5-x1",
        "message": "Stopping container stripe-mock",
        "count": 1,
    },
    {
        "at": "2026-11-23T08:24:46Z",
        "type": "Normal",
        "reason": "Started",
        "object": "Pod/catalogue-c-1",
        "message": "Started container catalogue",
        "count": 1,
    },
    scaled("2026-11-23T08:26:40Z", 0, 1),
    {
        "at": "2026-11-23T08:26:41Z",
        "type": "Warning",
        "reason": "Unhealthy",
        "object": "Pod/stripe-mock-5f6959f5f5-y2",
        "message": "Readiness probe failed: a | b",
        "count": 2,
    },
]


def test_the_events_show_the_scale_down_and_the_scale_up_of_the_faulted_workload() -> None:
    j = with_states()
    j["phases"]["recover"]["state"]["events"] = EVENTS
    md = rep.render(INCIDENT, j, "2026-11-23T08:27:00.000Z")["report.md"]
    section = md[md.index("## Evidence: events") : md.index("## Reproduce by hand")]
    assert (
        "Events about Deployment/stripe-mock (and their ReplicaSets and pods) from the activation to the end of the "
        "recovery: 4 of the namespace's 5." in section
    )
    rows = [line for line in section.splitlines() if line.startswith("| 2026")]
    assert [row.split(" | ")[2] for row in rows] == ["ScalingReplicaSet", "Killing", "ScalingReplicaSet", "Unhealthy"]
    assert "Scaled down replica set stripe-mock-5f6959f5f5 from 1 to 0" in rows[0]
    assert "Scaled up replica set stripe-mock-5f6959f5f5 from 0 to 1" in rows[2]
    assert "Readiness probe failed: a \\| b | 2 |" in rows[3]  # a pipe in a message does not split the row
    assert "catalogue" not in section


def test_no_events_recorded_and_events_capped() -> None:
    j = with_states()
    md = rep.render(INCIDENT, j, "2026-11-23T08:27:00.000Z")["report.md"]
    assert "## Evidence: events" not in md  # a run recorded before events were read
    j["phases"]["recover"]["state"]["events"] = []
    md = rep.render(INCIDENT, j, "2026-11-23T08:27:00.000Z")["report.md"]
    assert "recovery: 0 of the namespace's 0.\n\nNone was recorded." in md
    j["phases"]["recover"]["state"]["events"] = [scaled(f"2026-11-23T08:25:{n % 60:02d}Z", 1, 0) for n in range(75)]
    md = rep.render(INCIDENT, j, "2026-11-23T08:27:00.000Z")["report.md"]
    section = md[md.index("## Evidence: events") : md.index("## Reproduce by hand")]
    assert len([line for line in section.splitlines() if line.startswith("| 2026")]) == 60
    assert "| ... | | | | 15 more, the newest last | |" in section


def test_a_matched_log_line_is_shown_with_its_time_and_context() -> None:
    j = with_states()
    context = [
        {
            "pod": "payment-a-1",
            "at": "2026-11-23T08:24:47.100Z",
            "text": "Payment auth request: amount=50.00",
            "match": False,
        },
        {
            "pod": "payment-a-1",
            "at": "2026-11-23T08:24:47.330Z",
            "text": "Payment gateway error: connection refused",
            "match": True,
        },
        {"pod": "payment-a-1", "at": "2026-11-23T08:24:47.331Z", "text": "Payment declined", "match": False},
    ]
    j["phases"]["verify"]["signals"].append(
        {
            "name": "payment logs the gateway error",
            "kind": "pod_log",
            "status": "passed",
            "within_s": 30,
            "time_to_signal_s": 1.2,
            "evidence": "payment-a-1: Payment gateway error",
            "lines": context,
        }
    )
    incident = copy.deepcopy(INCIDENT)
    incident["signals"].append(
        {
            "name": "payment logs the gateway error",
            "kind": "pod_log",
            "within_s": 30,
            "check": {"deployment": "payment", "contains": "Payment gateway error"},
        }
    )
    md = rep.render(incident, j, "2026-11-23T08:27:00.000Z")["report.md"]
    section = md[md.index("## Evidence: the log lines") :]
    assert section.splitlines()[2:8] == [
        "During the incident - payment logs the gateway error (pod payment-a-1):",
        "",
        "```",
        "  2026-11-23T08:24:47.100Z Payment auth request: amount=50.00",
        "> 2026-11-23T08:24:47.330Z Payment gateway error: connection refused",
        "  2026-11-23T08:24:47.331Z Payment declined",
    ]


def test_the_prometheus_series_of_the_run_reach_the_chart_and_the_caption_says_what_did_not_answer() -> None:
    j = with_states()
    j = rep.record(
        j,
        "6",
        j["run_id"],
        "recover",
        {
            **{k: v for k, v in j["phases"]["recover"].items() if k != "confirm"},
            "series": [
                {
                    "label": "replicas_available deployment=stripe-mock",
                    "query": "replicas_available",
                    "points": [
                        {"at": "2026-11-23T08:24:45Z", "value": 1.0},
                        {"at": "2026-11-23T08:25:00Z", "value": 0.0},
                    ],
                }
            ],
            "series_unanswered": [{"query": "payment_restart_rate", "reason": "HTTP 503: no endpoints available"}],
        },
    )
    chart = rep.chart_data(INCIDENT, j, rep.summarise(INCIDENT, j))
    assert chart["series"] == [
        {
            "label": "replicas_available deployment=stripe-mock",
            "points": [{"at": "2026-11-23T08:24:45Z", "value": 1.0}, {"at": "2026-11-23T08:25:00Z", "value": 0.0}],
        }
    ]
    md = rep.render(INCIDENT, j, "2026-11-23T08:27:00.000Z")["report.md"]
    assert "Prometheus series over the run's window: `replicas_available`." in md
    assert "Prometheus did not answer `payment_restart_rate`: HTTP 503: no endpoints available." in md
    png = rep.render_chart(INCIDENT, j, rep.summarise(INCIDENT, j))
    assert png != rep.render_chart(INCIDENT, with_states(), rep.summarise(INCIDENT, with_states()))  # a third panel
    empty = rep.record(
        with_states(), "6", j["run_id"], "recover", {"state": with_states()["phases"]["recover"]["state"], "series": []}
    )
    assert (
        "series" not in empty["phases"]["recover"]
        and rep.chart_data(INCIDENT, empty, rep.summarise(INCIDENT, empty))["series"] == []
    )


def restart_signal(deployment: str, op: str, value: int, kind: str = "termination") -> dict[str, Any]:
    return {"kind": kind, "check": {"deployment": deployment, "restarts_increased_by": {"op": op, "value": value}}}


@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        ([restart_signal("front-end", "ge", 1)], ["Deployment/front-end"]),
        ([restart_signal("front-end", "gt", 0)], ["Deployment/front-end"]),
        ([restart_signal("catalogue", "eq", 0)], []),  # an invariant: a restart there is a regression
        ([restart_signal("front-end", "ge", 0)], []),  # holds without a restart: none is expected
        ([restart_signal("front-end", "ge", 1, kind="k8s_state")], []),
        ([{"kind": "termination", "check": {"deployment": "front-end"}}], []),
        ([], []),
    ],
)
def test_restarts_an_incident_expects_are_read_from_its_termination_signals(
    signals: list[dict[str, Any]], expected: list[str]
) -> None:
    assert sections.restarted_by_design({"signals": signals}) == expected


def test_a_restart_the_incident_expects_is_no_regression_and_any_other_is() -> None:
    j = with_states()
    pods = j["phases"]["recover"]["state"]["view"]["pods"]
    (name,) = [n for n, p in pods.items() if p["workload"] == "Deployment/catalogue"]
    pods[name]["restarts"] += 2
    expected = [{"object": f"Pod/{name}", "field": "restarts", "before": 0, "after": 2}]
    assert sections.regression_check(j, INCIDENT) == expected
    by_design = {**INCIDENT, "signals": [*INCIDENT["signals"], restart_signal("catalogue", "ge", 1)]}
    assert sections.regression_check(j, by_design) == []
