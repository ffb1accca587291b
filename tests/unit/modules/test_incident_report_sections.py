"""The report people read (issue 21), rendered from a recorded journal: header, state tables before, during and
after, the regression check, the queries with the run's window, the timeline chart and the runs' index."""

from __future__ import annotations

import copy
import json
import struct
from pathlib import Path
from typing import Any

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
    chart = rep.chart_data(INCIDENT, recorded, rep.summarise(INCIDENT, recorded))
    assert [p["ok"] for p in chart["probes"]] == [True, True] and len(chart["replicas"]["points"]) == 5


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
