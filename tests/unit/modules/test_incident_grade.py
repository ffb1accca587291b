"""incident_grade and sockshop_grade: an answer's schema, the partial-credit rules of the incident files, the time
to mitigate, the scoreboard and the module's check mode."""

from __future__ import annotations

import copy
import csv
import json
import multiprocessing
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ansible.module_utils import sockshop_grade as grading
from ansible.module_utils.sockshop_module import ModuleError

from plugins.modules import incident_grade, incident_load
from tests.unit.modules.incident_fakes import offline

ROOT = Path(__file__).resolve().parents[3]
CATALOG = ROOT / "incidents"
ANSWER_SCHEMA_PATH = CATALOG / "answer.schema.json"
ANSWER_SCHEMA = json.loads(ANSWER_SCHEMA_PATH.read_text())
EXAMPLES = ROOT / "examples" / "answers"
FILES = ROOT / "roles" / "incident" / "files"  # a service_latency fault's proxy, which incident_load reads
IDS = incident_load.known_ids(str(CATALOG))
INCIDENTS = {i: incident_load.load_incident(str(CATALOG), i)["incident"] for i in ("3", "5", "6")}

GATEWAY = {"kind": "Deployment", "namespace": "sock-shop", "name": "stripe-mock"}
PAYMENT = {"kind": "Deployment", "namespace": "sock-shop", "name": "payment"}
CORRECT_6: dict[str, Any] = {
    "detected": True,
    "root_cause": GATEWAY,
    "fault_class": "external_dependency_unavailable",
    "evidence": ["kubectl get deploy stripe-mock: 0/0", "payment logs: connection refused"],
    "remediation": "scale deployment/stripe-mock back to 1",
}
CORRECT_3: dict[str, Any] = dict(CORRECT_6, root_cause=PAYMENT, fault_class="internal_service_unavailable")


def answer(base: dict[str, Any], **change: Any) -> dict[str, Any]:
    return dict(copy.deepcopy(base), **change)


def validate(doc: Any) -> list[str]:
    return grading.validate_answer(doc, ANSWER_SCHEMA, str(CATALOG))


# ---------------------------------------------------------------- detection, localisation, root cause


def full(reason: str) -> dict[str, Any]:
    return {"credit": 1.0, "correct": True, "reason": reason}


def none(reason: str) -> dict[str, Any]:
    return {"credit": 0.0, "correct": False, "reason": reason}


DETECTED_2 = full("detected, citing 2 evidence item(s)")
EXACT_6 = full("named Deployment/stripe-mock: the gateway Deployment, scaled to 0 replicas")
CLASS_6 = full("answered external_dependency_unavailable: the ground truth")
GRADE_CASES = [
    pytest.param(
        "6", CORRECT_6, None, {"detection": DETECTED_2, "localisation": EXACT_6, "root_cause": CLASS_6}, id="correct"
    ),
    pytest.param(
        "6",
        answer(CORRECT_6, root_cause=dict(GATEWAY, kind="Service")),
        None,
        {
            "localisation": full(
                "named Service/stripe-mock: the Service without endpoints is the gateway's "
                "(expected Deployment/stripe-mock)"
            )
        },
        id="service-alias",
    ),
    pytest.param(
        "6",
        answer(CORRECT_6, root_cause=PAYMENT),
        None,
        {
            "localisation": none(
                "named Deployment/payment: payment is the caller: healthy, 0 restarts, it fails fast on the gateway "
                "(expected Deployment/stripe-mock)"
            )
        },
        id="wrong-object-with-its-reason",
    ),
    pytest.param(
        "6",
        answer(CORRECT_6, root_cause=dict(GATEWAY, name="carts")),
        None,
        {
            "localisation": none(
                "named Deployment/carts: not the cause, and no rule gives it credit (expected Deployment/stripe-mock)"
            )
        },
        id="unlisted-object",
    ),
    pytest.param(
        "6",
        answer(CORRECT_6, root_cause=dict(GATEWAY, namespace="default")),
        None,
        {
            "localisation": none(
                "named Deployment/stripe-mock (namespace default): not the cause, and no rule gives it credit "
                "(expected Deployment/stripe-mock)"
            )
        },
        id="right-name-wrong-namespace",
    ),
    pytest.param(
        "6",
        answer(CORRECT_6, root_cause=dict(GATEWAY, namespace="shop-2")),
        "shop-2",
        {"localisation": EXACT_6},
        id="the-run-namespace-stands-for-the-target",
    ),
    pytest.param(
        "6",
        CORRECT_6,
        "shop-2",
        {
            "localisation": none(
                "named Deployment/stripe-mock (namespace sock-shop): not the cause, and no rule gives it credit "
                "(expected Deployment/stripe-mock)"
            )
        },
        id="the-target-namespace-is-wrong-in-another-run-namespace",
    ),
    pytest.param(
        "6",
        answer(CORRECT_6, fault_class="internal_service_unavailable"),
        None,
        {
            "root_cause": {
                "credit": 0.5,
                "correct": False,
                "reason": "answered internal_service_unavailable: a service is down, but it is the third-party gateway "
                "(expected external_dependency_unavailable)",
            }
        },
        id="partial-fault-class",
    ),
    pytest.param(
        "6",
        answer(CORRECT_6, fault_class="load_saturation"),
        None,
        {
            "root_cause": none(
                "answered load_saturation: another kind of fault (expected external_dependency_unavailable)"
            )
        },
        id="other-fault-class",
    ),
    pytest.param(
        "6",
        answer(CORRECT_6, detected=False),
        None,
        {
            "detection": none("not detected: the answer says detected=false, but INCIDENT-6 was active"),
            "localisation": EXACT_6,
        },
        id="not-detected",
    ),
    pytest.param(
        "6",
        answer(CORRECT_6, evidence=[]),
        None,
        {"detection": none("detected, but no evidence cited: an answer must cite at least one observation")},
        id="missing-evidence",
    ),
    pytest.param(
        "6",
        answer(CORRECT_6, evidence=["  "]),
        None,
        {"detection": none("detected, but no evidence cited: an answer must cite at least one observation")},
        id="blank-evidence",
    ),
    pytest.param(
        "3",
        CORRECT_3,
        None,
        {
            "detection": DETECTED_2,
            "localisation": full("named Deployment/payment: the payment Deployment, scaled to 0 replicas"),
            "root_cause": full("answered internal_service_unavailable: the ground truth"),
        },
        id="incident-3-correct",
    ),
    pytest.param(
        "3",
        answer(CORRECT_3, root_cause=dict(PAYMENT, name="orders"), fault_class="external_dependency_unavailable"),
        None,
        {
            "localisation": none(
                "named Deployment/orders: orders is the caller: it stays up, keeps taking checkouts and answers 500 "
                "because payment refuses (expected Deployment/payment)"
            ),
            "root_cause": {
                "credit": 0.5,
                "correct": False,
                "reason": "answered external_dependency_unavailable: a dependency of orders is down, but it is the "
                "shop's own payment service, not a third party (expected internal_service_unavailable)",
            },
        },
        id="incident-3-orders",
    ),
    pytest.param(
        "3",
        answer(CORRECT_3, root_cause=dict(PAYMENT, kind="Service")),
        None,
        {
            "localisation": full(
                "named Service/payment: the Service without endpoints is payment's (expected Deployment/payment)"
            )
        },
        id="incident-3-service-alias",
    ),
]


@pytest.mark.parametrize(("incident_id", "given", "namespace", "expected"), GRADE_CASES)
def test_grade(incident_id: str, given: dict[str, Any], namespace: str | None, expected: dict[str, Any]) -> None:
    assert validate(given) == [] or given.get("evidence") in ([], ["  "])
    grades = grading.grade(given, INCIDENTS[incident_id], namespace)
    assert {key: grades[key] for key in expected} == expected


def test_without_a_grading_section_only_the_exact_ground_truth_earns_credit() -> None:
    incident = copy.deepcopy(INCIDENTS["6"])
    del incident["grading"]
    exact = grading.grade(CORRECT_6, incident)
    assert exact["localisation"] == full("named Deployment/stripe-mock: the ground truth (scaled to 0 replicas)")
    assert exact["root_cause"]["credit"] == 1.0
    alias = grading.grade(answer(CORRECT_6, root_cause=dict(GATEWAY, kind="Service")), incident)
    assert alias["localisation"]["credit"] == 0.0
    partial = grading.grade(answer(CORRECT_6, fault_class="internal_service_unavailable"), incident)
    assert partial["root_cause"]["credit"] == 0.0


def test_rules_are_read_in_order_and_pass_credit_decides_correct() -> None:
    incident = copy.deepcopy(INCIDENTS["6"])
    incident["grading"] = {
        "pass_credit": 0.5,
        "detection": {"credit": 0.8},
        "localisation": [
            {"match": {"name": "stripe-mock"}, "credit": 0.75, "reason": "any object of the gateway"},
            {"match": {"kind": "Service", "name": "stripe-mock"}, "credit": 1.0, "reason": "never reached"},
        ],
        "root_cause": [
            {"match": {"fault_class": "external_dependency_unavailable"}, "credit": 0.9, "reason": "said so"},
        ],
    }
    grades = grading.grade(answer(CORRECT_6, root_cause=dict(GATEWAY, kind="Service")), incident)
    assert grades["detection"] == {"credit": 0.8, "correct": True, "reason": "detected, citing 2 evidence item(s)"}
    assert grades["localisation"] == {
        "credit": 0.75,
        "correct": True,
        "reason": "named Service/stripe-mock: any object of the gateway (expected Deployment/stripe-mock)",
    }
    assert grades["root_cause"] == {
        "credit": 0.9,
        "correct": True,
        "reason": "answered external_dependency_unavailable: said so",
    }


@pytest.mark.parametrize("incident_id", IDS)
def test_the_ground_truth_of_every_incident_earns_full_marks(incident_id: str) -> None:
    incident = incident_load.load_incident(str(CATALOG), incident_id, files_dir=str(FILES))["incident"]
    truth = incident["ground_truth"]
    given = {
        "detected": True,
        "root_cause": {key: truth["root_cause"][key] for key in ("kind", "namespace", "name")},
        "fault_class": truth["fault_class"],
        "evidence": ["what the responder saw"],
        "remediation": truth["remediation"],
    }
    assert validate(given) == []
    grades = grading.grade(given, incident)
    assert [grades[key]["correct"] for key in ("detection", "localisation", "root_cause")] == [True] * 3, grades


def test_an_incident_without_ground_truth_is_refused() -> None:
    with pytest.raises(grading.GradeError, match="no ground_truth"):
        grading.grade(CORRECT_6, {"id": "6"})


# ---------------------------------------------------------------- the answer's schema

INVALID_CASES = [
    pytest.param(
        {k: v for k, v in CORRECT_6.items() if k != "fault_class"},
        ["missing field 'fault_class' at (top level)"],
        id="missing-field",
    ),
    pytest.param(
        {k: v for k, v in CORRECT_6.items() if k not in ("detected", "evidence")},
        ["missing field 'detected', 'evidence' at (top level)"],
        id="missing-fields-in-one-line",
    ),
    pytest.param(
        answer(CORRECT_6, fault_class="service_down"),
        [
            "fault_class: 'service_down' is not in the closed vocabulary (one of: external_dependency_unavailable, "
            "internal_service_unavailable, async_consumer_unavailable, external_dependency_slow, load_saturation, "
            "resource_limit_too_low, autoscaling_misconfigured, queue_blocked_by_policy)"
        ],
        id="unknown-fault-class",
    ),
    pytest.param(
        answer(CORRECT_6, confidence=0.9),
        [
            "unknown field 'confidence' at (top level) (allowed: detected, evidence, fault_class, remediation, "
            "responder, root_cause, submitted_at)"
        ],
        id="extra-key",
    ),
    pytest.param(
        answer(CORRECT_6, root_cause=dict(GATEWAY, pod="x")),
        ["unknown field 'pod' at root_cause (allowed: kind, name, namespace)"],
        id="extra-key-in-root-cause",
    ),
    pytest.param(
        answer(CORRECT_6, evidence=[]),
        ["evidence: the list is empty; give at least 1 item(s)"],
        id="empty-evidence",
    ),
    pytest.param(
        answer(CORRECT_6, detected="yes"), ["detected: 'yes' is not of type 'boolean'"], id="detected-not-bool"
    ),
    pytest.param(
        answer(CORRECT_6, remediation=[]),
        ["remediation: the list is empty; give at least 1 item(s)"],
        id="empty-remediation",
    ),
]


@pytest.mark.parametrize(("given", "expected"), INVALID_CASES)
def test_invalid_answers_say_what_and_where(given: dict[str, Any], expected: list[str]) -> None:
    assert validate(given) == expected


@pytest.mark.parametrize(
    ("change", "where"),
    [
        ({"root_cause": dict(GATEWAY, kind="deploy")}, "root_cause.kind: 'deploy' is not of the expected form."),
        ({"root_cause": dict(GATEWAY, name="Stripe_Mock")}, "root_cause.name: 'Stripe_Mock'"),
        ({"submitted_at": "2026-11-23T09:40:12+01:00"}, "submitted_at: '2026-11-23T09:40:12+01:00'"),
        ({"responder": "two\nlines"}, "responder: 'two\\nlines'"),
    ],
)
def test_malformed_values_are_named_with_their_path(change: dict[str, Any], where: str) -> None:
    problems = validate(answer(CORRECT_6, **change))
    assert len(problems) == 1 and problems[0].startswith(where), problems


def test_optional_fields_and_remediation_as_a_list_are_valid() -> None:
    given = answer(CORRECT_6, responder="agent-a v2", submitted_at="2026-11-23T08:40:12.5Z", remediation=["a", "b"])
    assert validate(given) == []


def test_the_fault_classes_are_the_incident_schemas_not_a_copy() -> None:
    incident_schema = json.loads((CATALOG / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(ANSWER_SCHEMA)
    assert ANSWER_SCHEMA["properties"]["fault_class"]["$ref"] == "schema.json#/$defs/fault_class"
    assert "enum" not in json.dumps(ANSWER_SCHEMA)
    assert incident_schema["properties"]["ground_truth"]["properties"]["fault_class"] == {"$ref": "#/$defs/fault_class"}
    assert ANSWER_SCHEMA["$id"].rsplit("/", 1)[0] == incident_schema["$id"].rsplit("/", 1)[0]


def test_an_answer_schema_away_from_its_references_is_a_clear_error() -> None:
    with pytest.raises(grading.GradeError, match=r"keep answer\.schema\.json and schema\.json in the same folder"):
        grading.validate_answer(CORRECT_6, ANSWER_SCHEMA, None)


EXPECTED_EXAMPLES = {
    "incident-6-correct.json": ("6", {"detection": 1.0, "localisation": 1.0, "root_cause": 1.0}),
    "incident-6-payment-bug.json": ("6", {"detection": 1.0, "localisation": 0.0, "root_cause": 0.5}),
    "incident-3-correct.json": ("3", {"detection": 1.0, "localisation": 1.0, "root_cause": 1.0}),
}


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*")), ids=lambda p: p.name)
def test_every_example_answer_is_valid(path: Path) -> None:
    assert validate(json.loads(path.read_text())) == []


@pytest.mark.parametrize("name", sorted(EXPECTED_EXAMPLES))
def test_the_example_answers_grade_as_their_names_say(name: str) -> None:
    incident_id, credits = EXPECTED_EXAMPLES[name]
    grades = grading.grade(json.loads((EXAMPLES / name).read_text()), INCIDENTS[incident_id])
    assert {key: grades[key]["credit"] for key in credits} == credits


def test_the_payment_bug_example_restarts_payment() -> None:
    given = json.loads((EXAMPLES / "incident-6-payment-bug.json").read_text())
    assert (given["root_cause"], given["fault_class"], given["remediation"]) == (
        PAYMENT,
        "internal_service_unavailable",
        "restart payment",
    )


# ---------------------------------------------------------------- time to mitigate


@pytest.mark.parametrize(
    ("sentinel", "expected"),
    [
        (None, {"mitigated": False, "ttm_s": None, "reason": grading.NO_SENTINEL}),
        (
            {"mitigated_at": None, "ttm_s": None, "samples": 412, "consecutive": 3},
            {
                "mitigated": False,
                "ttm_s": None,
                "reason": "not mitigated: the sentinel saw no recovery (3 consecutive successful probes) "
                "in 412 sample(s)",
            },
        ),
        (
            {"mitigated_at": None, "ttm_s": None, "samples": 0},
            {
                "mitigated": False,
                "ttm_s": None,
                "reason": "not mitigated: the sentinel recorded no sample",
            },
        ),
        (
            {"mitigated_at": "2026-11-23T08:25:27.412Z", "ttm_s": 42.31249, "samples": 50, "consecutive": 3},
            {
                "mitigated": True,
                "ttm_s": 42.312,
                "reason": "mitigated 42.3 s after activation, at 2026-11-23T08:25:27.412Z "
                "(the first of 3 consecutive successful probes)",
            },
        ),
        (
            {"mitigated_at": "2026-11-23T08:25:27.412Z", "ttm_s": None, "samples": 50},
            {
                "mitigated": True,
                "ttm_s": None,
                "reason": "mitigated at 2026-11-23T08:25:27.412Z; the time from activation is unknown",
            },
        ),
    ],
    ids=["no-sentinel", "not-mitigated", "no-sample", "mitigated", "mitigated-without-ttm"],
)
def test_time_to_mitigate(sentinel: dict[str, Any] | None, expected: dict[str, Any]) -> None:
    assert grading.time_to_mitigate(sentinel) == expected


# ---------------------------------------------------------------- the scoreboard

GRADES = {
    "detection": {"credit": 1.0, "correct": True, "reason": ""},
    "localisation": {"credit": 0.0, "correct": False, "reason": ""},
    "root_cause": {"credit": 0.5, "correct": False, "reason": ""},
    "mitigation": {"mitigated": True, "ttm_s": 42.3124, "reason": ""},
    "collateral": {"count": 1, "findings": [{}], "reason": ""},
}


def row(run_id: str = "run-a", responder: str = "agent, a") -> dict[str, str]:
    return grading.scoreboard_row("2026-11-23T08:41:02.120Z", "6", run_id, responder, GRADES)


def test_scoreboard_row() -> None:
    assert row() == {
        "graded_at": "2026-11-23T08:41:02.120Z",
        "incident": "6",
        "run_id": "run-a",
        "responder": "agent, a",
        "detection": "1",
        "localisation": "0",
        "root_cause": "0.5",
        "mitigated": "true",
        "ttm_s": "42.312",
        "collateral": "1",
    }


def test_scoreboard_header_once_then_one_row_per_grade(tmp_path: Path) -> None:
    path = tmp_path / "reports" / "scoreboard.csv"
    grading.append_scoreboard(str(path), row("run-a"))
    grading.append_scoreboard(str(path), row("run-b", responder="agent-b"))
    lines = path.read_text().splitlines()
    assert lines[0] == ",".join(grading.SCOREBOARD_COLUMNS)
    assert len(lines) == 3
    rows = list(csv.DictReader(path.open(newline="")))
    assert [(r["run_id"], r["responder"]) for r in rows] == [("run-a", "agent, a"), ("run-b", "agent-b")]


def test_a_scoreboard_with_other_columns_is_an_error_that_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "scoreboard.csv"
    path.write_text("graded_at,incident,score\n2026-11-23T08:41:02Z,6,3\n")
    with pytest.raises(grading.GradeError, match=r"move it aside .* and grade again") as raised:
        grading.append_scoreboard(str(path), row())
    assert "has the columns graded_at, incident, score" in str(raised.value)
    assert path.read_text() == "graded_at,incident,score\n2026-11-23T08:41:02Z,6,3\n"


def test_a_last_line_without_its_end_keeps_the_next_row_on_its_own_line(tmp_path: Path) -> None:
    path = tmp_path / "scoreboard.csv"
    grading.append_scoreboard(str(path), row("run-a"))
    path.write_text(path.read_text().rstrip("\n"))
    grading.append_scoreboard(str(path), row("run-b"))
    assert [r["run_id"] for r in csv.DictReader(path.open(newline=""))] == ["run-a", "run-b"]


def append_many(path: str, worker: int, count: int) -> None:
    for index in range(count):
        grading.append_scoreboard(path, row(f"run-{worker}-{index}", responder="x" * 2000))


def test_two_graders_at_once_never_interleave(tmp_path: Path) -> None:
    path = str(tmp_path / "scoreboard.csv")
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=append_many, args=(path, worker, 25)) for worker in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0]
    with open(path, newline="") as handle:
        lines = handle.read().splitlines()
    assert lines.count(",".join(grading.SCOREBOARD_COLUMNS)) == 1
    rows = list(csv.DictReader(lines))
    assert len(rows) == 50 and all(len(r["responder"]) == 2000 and None not in r for r in rows)


# ---------------------------------------------------------------- the module


def params(tmp_path: Path, **change: Any) -> dict[str, Any]:
    answer_path = tmp_path / "answer.json"
    if not answer_path.exists():
        answer_path.write_text(json.dumps(dict(CORRECT_6, responder="agent-a")))
    return {
        "incident": INCIDENTS["6"],
        "answer": str(answer_path),
        "schema_path": str(ANSWER_SCHEMA_PATH),
        "namespace": "",
        "sentinel": {"mitigated_at": "2026-11-23T08:25:27.412Z", "ttm_s": 42.3, "samples": 50, "consecutive": 3},
        "collateral": [],
        "responder": "",
        "run_id": "run-a",
        "scoreboard": str(tmp_path / "reports" / "scoreboard.csv"),
        "graded_at": "2026-11-23T08:41:02.120Z",
        **change,
    }


def test_module_grades_and_appends_a_row(tmp_path: Path) -> None:
    result = incident_grade.run(params(tmp_path), False, offline)
    assert result["changed"] is True
    assert result["scoreboard_action"] == "appended"
    assert result["responder"] == "agent-a"
    assert result["summary"] == (
        "INCIDENT-6, agent-a: detection 1 (correct), localisation 1 (correct), root cause 1 (correct); "
        "mitigated in 42.3 s; collateral 0"
    )
    assert result["grades"]["collateral"] == {
        "count": 0,
        "findings": [],
        "reason": "none: apart from the fault, the namespace is as it was before the incident",
    }
    written = list(csv.DictReader((tmp_path / "reports" / "scoreboard.csv").open(newline="")))
    assert written == [result["row"]]


def test_module_payment_bug_with_collateral_and_no_sentinel(tmp_path: Path) -> None:
    finding = {"object": "Pod/payment-7d9f", "field": "(pod)", "before": "present", "after": "absent"}
    result = incident_grade.run(
        params(
            tmp_path,
            answer=f"@{EXAMPLES / 'incident-6-payment-bug.json'}",
            sentinel=None,
            collateral=[finding],
            responder="batch-1",
            scoreboard="",
        ),
        False,
        offline,
    )
    assert result["changed"] is False and result["scoreboard_action"] == "not_written"
    assert result["summary"] == (
        "INCIDENT-6, batch-1: detection 1 (correct), localisation 0 (wrong), root cause 0.5 (wrong); "
        "not measured; collateral 1"
    )
    assert result["grades"]["collateral"]["reason"] == "1 change(s) outside the fault: Pod/payment-7d9f (pod): " + (
        "'present' -> 'absent'"
    )
    assert result["row"]["collateral"] == "1" and result["row"]["mitigated"] == "false" and result["row"]["ttm_s"] == ""


def test_module_takes_the_answer_as_a_mapping_and_names_the_unnamed(tmp_path: Path) -> None:
    result = incident_grade.run(params(tmp_path, answer=CORRECT_6, sentinel={"samples": 9}), False, offline)
    assert result["responder"] == "unnamed"
    assert "; not mitigated; " in result["summary"]
    assert result["grades"]["mitigation"]["reason"] == (
        "not mitigated: the sentinel saw no recovery (3 consecutive successful probes) in 9 sample(s)"
    )


def test_module_in_check_mode_writes_nothing(tmp_path: Path) -> None:
    result = incident_grade.run(params(tmp_path), True, offline)
    assert result["changed"] is True and result["scoreboard_action"] == "would_append"
    assert result["row"]["responder"] == "agent-a"
    assert not (tmp_path / "reports").exists()


def test_module_refuses_an_invalid_answer_with_every_problem(tmp_path: Path) -> None:
    (tmp_path / "answer.json").write_text(json.dumps(answer(CORRECT_6, fault_class="service_down", extra=1)))
    with pytest.raises(ModuleError) as raised:
        incident_grade.run(params(tmp_path), False, offline)
    assert "the answer is not valid (2 problem(s))" in str(raised.value)
    assert "Fix the answer file against incidents/answer.schema.json" in str(raised.value)
    assert [problem.split(" ")[0] for problem in raised.value.partial["problems"]] == ["unknown", "fault_class:"]
    assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", r"is not JSON \(line 1, column 2"),
        ("[1]", "the answer must be a JSON object, not list"),
    ],
)
def test_module_refuses_an_unreadable_answer_file(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "answer.json").write_text(text)
    with pytest.raises(ModuleError, match=message):
        incident_grade.run(params(tmp_path), False, offline)


def test_module_refuses_a_missing_answer_file(tmp_path: Path) -> None:
    with pytest.raises(ModuleError, match=r"cannot read the answer file .*nowhere\.json: No such file"):
        incident_grade.run(params(tmp_path, answer=str(tmp_path / "nowhere.json")), False, offline)


def test_module_reports_a_scoreboard_with_other_columns(tmp_path: Path) -> None:
    board = tmp_path / "reports" / "scoreboard.csv"
    board.parent.mkdir()
    board.write_text("when,who\n")
    with pytest.raises(ModuleError, match="move it aside"):
        incident_grade.run(params(tmp_path), False, offline)


def test_a_responder_who_found_nothing_may_leave_out_the_cause_and_earns_no_credit() -> None:
    nothing = {"detected": False, "evidence": ["looked at the pods"], "remediation": "none"}
    assert validate(nothing) == []
    assert validate({**nothing, "detected": True}) == ["missing field 'root_cause', 'fault_class' at (top level)"]
    grades = grading.grade(nothing, INCIDENTS["6"])
    assert [grades[k]["credit"] for k in ("detection", "localisation", "root_cause")] == [0.0, 0.0, 0.0]
    assert grades["localisation"]["reason"] == ("named no object: nothing found (expected Deployment/stripe-mock)")
    assert grades["root_cause"]["reason"] == (
        "named no fault class: nothing found (expected external_dependency_unavailable)"
    )
