# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""Grading a responder's answer against an incident's ground truth (responder mode, phase=grade).

Pure Python, no Ansible: the incident_grade module calls it, and so can an evaluator's own script.

- ``validate_answer``: the answer file against ``incidents/answer.schema.json`` (whose fault classes are
  ``incidents/schema.json``'s), as sentences a person reads, each with its JSON path.
- ``grade``: detection, localisation and root cause, each ``{"credit", "correct", "reason"}``. The partial-credit
  rules are the incident's data (``grading`` in the incident file, ``incidents/schema.json`` documents them); this
  module only evaluates them: rules in order, the first that matches wins, then the default rule (the exact ground
  truth earns 1.0), and no match earns 0 with a reason that names what was expected.
- ``time_to_mitigate``: a sentinel's reading as mitigated or not, and how long it took.
- ``scoreboard_row`` and ``append_scoreboard``: one CSV row per graded run, appended under an fcntl lock.
"""

from __future__ import annotations

import csv
import fcntl
import io
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.exceptions import Unresolvable

DEFAULT_PASS_CREDIT = 1.0
DEFAULT_DETECTION_CREDIT = 1.0
DEFAULT_CONSECUTIVE = 3
UNNAMED = "unnamed"
NO_SENTINEL = "not measured: the incident has no probe a sentinel can run"

# The scoreboard's columns, in order. Changing them makes every existing scoreboard a header mismatch.
SCOREBOARD_COLUMNS = (
    "graded_at",
    "incident",
    "run_id",
    "responder",
    "detection",
    "localisation",
    "root_cause",
    "mitigated",
    "ttm_s",
    "collateral",
)


class GradeError(Exception):
    """The grade cannot be given; the message says why and what to do."""


# ---------------------------------------------------------------- the answer against its schema


def load_json(path: str, what: str) -> Any:
    """A JSON file, or a GradeError naming the file, the line and the column."""
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except OSError as exc:
        raise GradeError(f"cannot read the {what} {path}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise GradeError(f"the {what} {path} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise GradeError(f"the {what} {path} is not UTF-8 text ({exc.reason})") from exc


def schema_registry(schema: Mapping[str, Any], schema_dir: str | None) -> Registry[Any]:
    """The schemas the answer schema refers to (``schema.json#/...``), read from the files beside it in schema_dir.

    A reference resolves against the answer schema's ``$id``; a URI in the same folder as that ``$id`` is the file
    of the same name in schema_dir. Anything else is not looked up (no network)."""
    base = str(schema.get("$id", ""))
    folder = base.rsplit("/", 1)[0] + "/" if "/" in base else ""

    def retrieve(uri: str) -> Resource[Any]:
        name = uri[len(folder) :] if folder and uri.startswith(folder) else ""
        if schema_dir is None or not name or "/" in name:
            raise LookupError(f"{uri} is not a schema beside the answer schema")  # referencing: Unretrievable
        return Resource.from_contents(load_json(os.path.join(schema_dir, name), "schema"))

    return Registry(retrieve=retrieve)  # type: ignore[call-arg]


def json_path(parts: Sequence[Any]) -> str:
    """root_cause.kind / evidence[0] style path of a jsonschema error, or (top level)."""
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"


def describe_error(error: jsonschema.ValidationError) -> str:
    where = json_path(list(error.absolute_path))
    instance = error.instance
    if error.validator == "additionalProperties" and isinstance(instance, dict):
        allowed = sorted(error.schema.get("properties", {}) if isinstance(error.schema, dict) else [])
        unknown = sorted(set(instance) - set(allowed))
        return f"unknown field {', '.join(repr(u) for u in unknown)} at {where} (allowed: {', '.join(allowed)})"
    if error.validator == "required" and isinstance(error.validator_value, list) and isinstance(instance, dict):
        missing = [field for field in error.validator_value if field not in instance]
        return f"missing field {', '.join(repr(m) for m in missing)} at {where}"
    if error.validator == "enum" and isinstance(error.validator_value, list):
        allowed_values = ", ".join(str(value) for value in error.validator_value)
        return f"{where}: {instance!r} is not in the closed vocabulary (one of: {allowed_values})"
    if error.validator == "pattern" and isinstance(error.schema, dict) and error.schema.get("description"):
        return f"{where}: {instance!r} is not of the expected form. {error.schema['description']}"
    if error.validator == "minItems" and isinstance(instance, list) and not instance:
        return f"{where}: the list is empty; give at least {error.validator_value} item(s)"
    return f"{where}: {error.message}"


def validate_answer(answer: Any, schema: Mapping[str, Any], schema_dir: str | None = None) -> list[str]:
    """Every problem of `answer` against the answer schema, as sentences with their JSON path; [] when valid.

    schema_dir is where the schemas it refers to live (incidents/, for its fault classes and names)."""
    validator = jsonschema.Draft202012Validator(
        schema, registry=schema_registry(schema, schema_dir), format_checker=jsonschema.FormatChecker()
    )
    try:
        errors = sorted(validator.iter_errors(answer), key=lambda e: [str(p) for p in e.absolute_path])
    except Unresolvable as exc:  # a $ref to nothing: the schema's fault, not the answer's
        raise GradeError(
            f"the answer schema refers to a schema that is not beside it ({exc}); keep answer.schema.json and "
            "schema.json in the same folder (incidents/)"
        ) from exc
    return list(dict.fromkeys(describe_error(error) for error in errors))  # one line per missing-fields error


# ---------------------------------------------------------------- grading


def object_text(ref: Mapping[str, Any], namespace: str | None = None) -> str:
    """Deployment/payment, or Deployment/payment (namespace default) when it is not in the expected namespace."""
    text = f"{ref.get('kind', '?')}/{ref.get('name', '?')}"
    if namespace is not None and ref.get("namespace") != namespace:
        text += f" (namespace {ref.get('namespace', '?')})"
    return text


def credit_of(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise GradeError(f"{where}: a credit is a number from 0 to 1, not {value!r} (incidents/schema.json, grading)")
    return float(value)


def grading_of(incident: Mapping[str, Any]) -> dict[str, Any]:
    """The incident's grading section with every default filled in (incidents/schema.json, grading)."""
    section = incident.get("grading") or {}
    return {
        "pass_credit": credit_of(section.get("pass_credit", DEFAULT_PASS_CREDIT), "grading.pass_credit"),
        "detection_credit": credit_of(
            (section.get("detection") or {}).get("credit", DEFAULT_DETECTION_CREDIT), "grading.detection.credit"
        ),
        "localisation": list(section.get("localisation") or []),
        "root_cause": list(section.get("root_cause") or []),
        "consecutive": int((section.get("mitigation") or {}).get("consecutive", DEFAULT_CONSECUTIVE)),
    }


def dimension(credit: float, reason: str, pass_credit: float) -> dict[str, Any]:
    return {"credit": round(credit, 3), "correct": credit >= pass_credit, "reason": reason}


def grade_detection(answer: Mapping[str, Any], incident_id: str, credit: float, pass_credit: float) -> dict[str, Any]:
    evidence = [item for item in answer.get("evidence") or [] if isinstance(item, str) and item.strip()]
    if answer.get("detected") is not True:
        return dimension(
            0.0, f"not detected: the answer says detected=false, but INCIDENT-{incident_id} was active", pass_credit
        )
    if not evidence:
        return dimension(
            0.0, "detected, but no evidence cited: an answer must cite at least one observation", pass_credit
        )
    return dimension(credit, f"detected, citing {len(evidence)} evidence item(s)", pass_credit)


def local_namespace(value: Any, target: str, namespace: str) -> Any:
    """A namespace of the incident file as the run sees it: target.namespace stands for the run's namespace."""
    return namespace if value == target else value


def grade_localisation(
    answer: Mapping[str, Any], incident: Mapping[str, Any], rules: list[dict[str, Any]], namespace: str, passing: float
) -> dict[str, Any]:
    truth = incident["ground_truth"]["root_cause"]
    target = incident.get("target", {}).get("namespace", truth["namespace"])
    expected = {
        "kind": truth["kind"],
        "namespace": local_namespace(truth["namespace"], target, namespace),
        "name": truth["name"],
    }
    given = answer.get("root_cause") or {}
    wanted = object_text(expected)
    if not given:
        return dimension(0.0, f"named no object: nothing found (expected {wanted})", passing)
    named = object_text(given, expected["namespace"])
    default = {"match": expected, "credit": 1.0, "reason": f"the ground truth ({truth.get('state', 'the cause')})"}
    for index, rule in enumerate([*rules, default]):
        match = dict(rule.get("match") or {})
        if "namespace" in match:
            match["namespace"] = local_namespace(match["namespace"], target, namespace)
        if all(given.get(key) == value for key, value in match.items()):
            credit = credit_of(rule.get("credit"), f"grading.localisation[{index}].credit")
            exact = all(given.get(key) == value for key, value in expected.items())
            suffix = "" if exact else f" (expected {wanted})"
            return dimension(credit, f"named {named}: {rule.get('reason', 'no reason given')}{suffix}", passing)
    return dimension(0.0, f"named {named}: not the cause, and no rule gives it credit (expected {wanted})", passing)


def grade_root_cause(
    answer: Mapping[str, Any], incident: Mapping[str, Any], rules: list[dict[str, Any]], passing: float
) -> dict[str, Any]:
    expected = incident["ground_truth"]["fault_class"]
    given = answer.get("fault_class")
    if not given:
        return dimension(0.0, f"named no fault class: nothing found (expected {expected})", passing)
    default = {"match": {"fault_class": expected}, "credit": 1.0, "reason": "the ground truth"}
    for index, rule in enumerate([*rules, default]):
        if (rule.get("match") or {}).get("fault_class") == given:
            credit = credit_of(rule.get("credit"), f"grading.root_cause[{index}].credit")
            suffix = "" if given == expected else f" (expected {expected})"
            return dimension(credit, f"answered {given}: {rule.get('reason', 'no reason given')}{suffix}", passing)
    return dimension(0.0, f"answered {given}: another kind of fault (expected {expected})", passing)


def grade(answer: Mapping[str, Any], incident: Mapping[str, Any], namespace: str | None = None) -> dict[str, Any]:
    """Detection, localisation and root cause of a (valid) answer against the incident's ground truth and rules.

    namespace: where the incident ran, when not its target.namespace; the file's target.namespace (in the ground
    truth and in the rules) then stands for it."""
    truth = incident.get("ground_truth")
    cause = truth.get("root_cause") if isinstance(truth, Mapping) else None
    if (
        not isinstance(truth, Mapping)
        or not isinstance(cause, Mapping)
        or "fault_class" not in truth
        or not ({"kind", "namespace", "name"} <= cause.keys())
    ):
        raise GradeError(
            "the incident has no ground_truth with root_cause (kind, namespace, name) and fault_class: pass the "
            "incident as incident_load returns it"
        )
    rules = grading_of(incident)
    target = incident.get("target", {}).get("namespace", cause["namespace"])
    run_namespace = namespace or target
    incident_id = str(incident.get("id", "?"))
    return {
        "detection": grade_detection(answer, incident_id, rules["detection_credit"], rules["pass_credit"]),
        "localisation": grade_localisation(
            answer, incident, rules["localisation"], run_namespace, rules["pass_credit"]
        ),
        "root_cause": grade_root_cause(answer, incident, rules["root_cause"], rules["pass_credit"]),
    }


# ---------------------------------------------------------------- time to mitigate


def time_to_mitigate(sentinel: Mapping[str, Any] | None) -> dict[str, Any]:
    """A sentinel's reading ({mitigated_at, ttm_s, samples, consecutive, ...}, or None when no sentinel ran) as a
    grade: mitigated or not, the seconds from activation to the first of the successes that count, and why."""
    if sentinel is None:
        return {"mitigated": False, "ttm_s": None, "reason": NO_SENTINEL}
    samples = sentinel.get("samples")
    consecutive = sentinel.get("consecutive")
    counted = f" ({consecutive} consecutive successful probes)" if consecutive else ""
    mitigated_at = sentinel.get("mitigated_at")
    if not mitigated_at:
        if samples == 0:
            return {"mitigated": False, "ttm_s": None, "reason": "not mitigated: the sentinel recorded no sample"}
        seen = f" in {samples} sample(s)" if isinstance(samples, int) else ""
        reason = f"not mitigated: the sentinel saw no recovery{counted}{seen}"
        return {"mitigated": False, "ttm_s": None, "reason": reason}
    first = f" (the first of {consecutive} consecutive successful probes)" if consecutive else ""
    ttm = sentinel.get("ttm_s")
    if isinstance(ttm, bool) or not isinstance(ttm, (int, float)):
        reason = f"mitigated at {mitigated_at}{first}; the time from activation is unknown"
        return {"mitigated": True, "ttm_s": None, "reason": reason}
    reason = f"mitigated {float(ttm):.1f} s after activation, at {mitigated_at}{first}"
    return {"mitigated": True, "ttm_s": round(float(ttm), 3), "reason": reason}


# ---------------------------------------------------------------- collateral


def collateral_of(findings: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The responder's changes outside the fault (namespace_snapshot's differences minus the fault's own fields)."""
    kept: list[dict[str, Any]] = []
    for index, finding in enumerate(findings):
        if not isinstance(finding, Mapping) or "object" not in finding or "field" not in finding:
            raise GradeError(
                f"collateral[{index}] must be a mapping with object, field, before and after (namespace_snapshot's "
                f"differences), not {finding!r}"
            )
        kept.append(dict(finding))
    if not kept:
        reason = "none: apart from the fault, the namespace is as it was before the incident"
    else:
        listed = "; ".join(f"{f['object']} {f['field']}: {f.get('before')!r} -> {f.get('after')!r}" for f in kept[:5])
        more = f"; and {len(kept) - 5} more" if len(kept) > 5 else ""
        reason = f"{len(kept)} change(s) outside the fault: {listed}{more}"
    return {"count": len(kept), "findings": kept, "reason": reason}


# ---------------------------------------------------------------- the scoreboard


def number_text(value: float | None) -> str:
    """1, 0.5, 42.317: a CSV cell without float noise; empty for None."""
    return "" if value is None else f"{round(float(value), 3):g}"


def scoreboard_row(
    graded_at: str, incident_id: str, run_id: str, responder: str, grades: Mapping[str, Any]
) -> dict[str, str]:
    """One row of reports/scoreboard.csv from the grades incident_grade returns."""
    mitigation = grades.get("mitigation") or {}
    return {
        "graded_at": graded_at,
        "incident": str(incident_id),
        "run_id": run_id,
        "responder": " ".join(responder.split()),
        "detection": number_text(grades["detection"]["credit"]),
        "localisation": number_text(grades["localisation"]["credit"]),
        "root_cause": number_text(grades["root_cause"]["credit"]),
        "mitigated": "true" if mitigation.get("mitigated") else "false",
        "ttm_s": number_text(mitigation.get("ttm_s")),
        "collateral": str((grades.get("collateral") or {}).get("count", 0)),
    }


def csv_line(values: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(values)
    return buffer.getvalue()


def append_scoreboard(path: str, row: Mapping[str, str]) -> None:
    """Append `row` to the scoreboard at `path`, with the header when the file is new or empty.

    An exclusive fcntl lock on the file is held from reading its header to the end of the write, and the row goes
    out in one write to a file opened for appending, so two graders never interleave nor both write a header."""
    if set(row) != set(SCOREBOARD_COLUMNS):
        raise GradeError(f"a scoreboard row has the columns {', '.join(SCOREBOARD_COLUMNS)}, not {', '.join(row)}")
    directory = os.path.dirname(os.path.abspath(path))
    try:
        os.makedirs(directory, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError as exc:
        raise GradeError(f"cannot open the scoreboard {path}: {exc.strerror or exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        size = os.fstat(fd).st_size
        if size:
            head = os.pread(fd, min(size, 65536), 0).decode("utf-8", errors="replace")
            found = next(csv.reader([head.splitlines()[0] if head else ""]), [])
            if tuple(found) != SCOREBOARD_COLUMNS:
                raise GradeError(
                    f"the scoreboard {path} has the columns {', '.join(found) or '(none)'}, not this grader's "
                    f"{', '.join(SCOREBOARD_COLUMNS)}: move it aside (e.g. rename it with its date) and grade again, "
                    "a new scoreboard is then started; or pass another scoreboard path"
                )
        text = csv_line([row[column] for column in SCOREBOARD_COLUMNS])
        if not size:
            text = csv_line(SCOREBOARD_COLUMNS) + text
        elif os.pread(fd, 1, size - 1) != b"\n":
            text = "\n" + text  # the last line lost its line end (an editor): keep rows on their own lines
        os.write(fd, text.encode("utf-8"))
        os.fsync(fd)
    except OSError as exc:
        raise GradeError(f"cannot append to the scoreboard {path}: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)  # closing releases the lock
