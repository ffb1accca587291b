#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: incident_grade
short_description: Grade a responder's answer to an incident against its ground truth
description:
  - Responder mode (C(phase=grade)) - a person or an agent worked the incident and submitted an answer file
    (C(incidents/answer.schema.json)). This module validates the answer, then grades it against the incident's
    C(ground_truth) - detection (C(detected) with at least one evidence item), localisation (the root-cause
    object) and root cause (the fault class), each with a credit from 0 to 1, whether it counts as correct, and a
    reason that names what was expected and what was given.
  - The partial-credit rules are the incident's data (its C(grading) section, documented in
    C(incidents/schema.json)); without them the exact ground truth earns 1.0 and anything else 0.
  - It also turns the sentinel's reading into the time to mitigate, counts the collateral changes (the namespace's
    differences from the baseline outside the fault, as namespace_snapshot finds them), and appends one row to the
    scoreboard CSV (C(reports/scoreboard.csv)) under a file lock, the header once.
  - Touches no cluster; runs on the controller, in the controller process (action plugin
    C(plugins/action/incident_grade.py)).
version_added: "0.1.0"
author: sockshop-incidents contributors
options:
  incident:
    description: The loaded incident (incident_load's C(incident)), with its C(ground_truth) and optional C(grading).
    type: dict
    required: true
  answer:
    description:
      - The responder's answer - a mapping, or the path of a JSON file on the controller (a leading C(@) is dropped,
        so C(-e diagnosis=@answer.json) can be passed as it is; a relative path is relative to the directory
        ansible-playbook runs in).
    type: raw
    required: true
  schema_path:
    description: The answer schema, C(incidents/answer.schema.json); the schemas it refers to are read beside it.
    type: path
    required: true
  namespace:
    description:
      - Namespace the incident ran in. Empty means the incident's C(target.namespace); another one stands for it in
        the ground truth and the grading rules.
    type: str
    default: ""
  sentinel:
    description:
      - The sentinel's reading (incident_sentinel's C(mitigated_at), C(ttm_s), C(samples)...). Omitted or null means
        no sentinel ran (the incident has no probe one can run) and the time to mitigate is not measured.
      - Without C(consecutive) in it, the reasons name the incident's C(grading.mitigation.consecutive) (default 3),
        the count the sentinel should be read with.
    type: dict
  collateral:
    description:
      - The responder's changes outside the fault, each with C(object), C(field), C(before) and C(after)
        (namespace_snapshot's differences from the baseline, minus the fault's own fields).
    type: list
    elements: dict
    default: []
  responder:
    description: Label of the responder on the scoreboard. Empty means the answer's C(responder), else C(unnamed).
    type: str
    default: ""
  run_id:
    description: The run's id (the report's), written on the scoreboard row.
    type: str
    default: ""
  scoreboard:
    description: The scoreboard CSV to append the row to (created with its header). Empty means do not write one.
    type: path
    default: ""
  graded_at:
    description: When the grade is given (RFC 3339 UTC). Empty means now.
    type: str
    default: ""
requirements:
  - jsonschema >= 4.18
notes:
  - Supports check mode - it grades and returns the row, and appends nothing (C(changed) then says whether it
    would append).
  - An invalid answer fails with every schema problem, each with its JSON path.
"""

EXAMPLES = r"""
- name: Grade the responder's answer
  incident_grade:
    incident: "{{ loaded.incident }}"
    answer: "{{ diagnosis }}"
    schema_path: "{{ playbook_dir }}/../incidents/answer.schema.json"
    sentinel: "{{ sentinel_reading | default(omit) }}"
    collateral: "{{ collateral_differences }}"
    run_id: "{{ run_id }}"
    scoreboard: "{{ playbook_dir }}/../reports/scoreboard.csv"
  register: graded

- name: Say how the responder did
  ansible.builtin.debug:
    msg: "{{ graded.summary }}"
"""

RETURN = r"""
grades:
  description: The grade of every dimension.
  returned: success
  type: dict
  contains:
    detection:
      description: C(credit) (0 to 1), C(correct) (credit at the incident's pass_credit or more) and C(reason).
      type: dict
      sample: {credit: 1.0, correct: true, reason: "detected, citing 3 evidence item(s)"}
    localisation:
      description: The root-cause object, as C(credit), C(correct) and C(reason).
      type: dict
      sample:
        credit: 0.0
        correct: false
        reason: >-
          named Deployment/payment: payment is the caller: healthy, 0 restarts, it fails fast on the gateway
          (expected Deployment/stripe-mock)
    root_cause:
      description: The fault class, as C(credit), C(correct) and C(reason).
      type: dict
      sample:
        credit: 0.5
        correct: false
        reason: >-
          answered internal_service_unavailable: a service is down, but it is the third-party gateway
          (expected external_dependency_unavailable)
    mitigation:
      description: C(mitigated), C(ttm_s) (seconds from activation, or null) and C(reason).
      type: dict
      sample: {mitigated: true, ttm_s: 42.3, reason: "mitigated 42.3 s after activation, at ..."}
    collateral:
      description: C(count), C(findings) (each with object, field, before, after) and C(reason).
      type: dict
      sample: {count: 0, findings: [], reason: "none: ..."}
row:
  description: The scoreboard row (every value a string), appended or not.
  returned: success
  type: dict
  sample:
    graded_at: "2026-11-23T08:41:02.120Z"
    incident: "6"
    run_id: incident-6-20261123T082440Z
    responder: agent-a
    detection: "1"
    localisation: "1"
    root_cause: "1"
    mitigated: "true"
    ttm_s: "42.3"
    collateral: "0"
responder:
  description: The responder's label as graded.
  returned: success
  type: str
scoreboard_action:
  description: C(appended), C(would_append) (check mode) or C(not_written) (no scoreboard).
  returned: success
  type: str
summary:
  description: The grade as one line a person reads.
  returned: success
  type: str
  sample: >-
    INCIDENT-6, agent-a: detection 1 (correct), localisation 1 (correct), root cause 1 (correct); mitigated in
    42.3 s; collateral 0
problems:
  description: On failure for an invalid answer, every schema problem with its JSON path.
  returned: failure
  type: list
  elements: str
"""

import json
import os
from typing import Any

from ansible.module_utils.sockshop_module import Connect, ModuleError, iso, main_of, utc_now

try:
    from ansible.module_utils import sockshop_grade as grading

    HAS_JSONSCHEMA = True
except ImportError:
    HAS_JSONSCHEMA = False

ARGUMENT_SPEC = {
    "incident": {"type": "dict", "required": True},
    "answer": {"type": "raw", "required": True},
    "schema_path": {"type": "path", "required": True},
    "namespace": {"type": "str", "default": ""},
    "sentinel": {"type": "dict"},
    "collateral": {"type": "list", "elements": "dict", "default": []},
    "responder": {"type": "str", "default": ""},
    "run_id": {"type": "str", "default": ""},
    "scoreboard": {"type": "path", "default": ""},
    "graded_at": {"type": "str", "default": ""},
}


def read_answer(answer: Any) -> dict[str, Any]:
    """The answer as a mapping: given as one, or read from a JSON file (JSON text is taken as it is)."""
    if isinstance(answer, dict):
        return answer
    if not isinstance(answer, str) or not answer.strip():
        raise ModuleError(
            f"answer must be the answer (a mapping) or the path of its JSON file, not {type(answer).__name__}: "
            "pass -e diagnosis=@answer.json or the file's path"
        )
    text = answer.strip()
    if text.startswith("{"):
        try:
            loaded = json.loads(text)
        except ValueError as exc:
            raise ModuleError(f"answer is not JSON: {exc}. Fix the answer file.") from exc
    else:
        path = os.path.expanduser(text[1:] if text.startswith("@") else text)
        try:
            loaded = grading.load_json(path, "answer file")
        except grading.GradeError as exc:
            raise ModuleError(f"{exc}. Fix the answer file against incidents/answer.schema.json.") from exc
    if not isinstance(loaded, dict):
        raise ModuleError(
            f"the answer must be a JSON object, not {type(loaded).__name__}. "
            "Fix the answer file against incidents/answer.schema.json."
        )
    return loaded


def summary_of(incident_id: str, responder: str, grades: dict[str, Any]) -> str:
    def part(title: str, key: str) -> str:
        mark = grades[key]
        return f"{title} {grading.number_text(mark['credit'])} ({'correct' if mark['correct'] else 'wrong'})"

    mitigation = grades["mitigation"]
    if mitigation["mitigated"] and mitigation["ttm_s"] is not None:
        mitigated = f"mitigated in {grading.number_text(mitigation['ttm_s'])} s"
    else:
        mitigated = mitigation["reason"].split(":", 1)[0]  # not mitigated / not measured / mitigated at ...
    return (
        f"INCIDENT-{incident_id}, {responder}: {part('detection', 'detection')}, "
        f"{part('localisation', 'localisation')}, {part('root cause', 'root_cause')}; {mitigated}; "
        f"collateral {grades['collateral']['count']}"
    )


def decide(params: dict[str, Any], check_mode: bool) -> dict[str, Any]:
    incident = params["incident"]
    answer = read_answer(params["answer"])
    schema = grading.load_json(params["schema_path"], "answer schema")
    problems = grading.validate_answer(answer, schema, os.path.dirname(os.path.abspath(params["schema_path"])))
    if problems:
        raise ModuleError(
            f"the answer is not valid ({len(problems)} problem(s)): " + "; ".join(problems) + ". Fix the answer file "
            f"against incidents/answer.schema.json ({params['schema_path']}) and grade again; nothing was written.",
            problems=problems,
        )
    grades = grading.grade(answer, incident, params["namespace"] or None)
    sentinel = params["sentinel"]
    if sentinel is not None and not sentinel.get("consecutive"):  # the count the sentinel was read with
        sentinel = dict(sentinel, consecutive=grading.grading_of(incident)["consecutive"])
    grades["mitigation"] = grading.time_to_mitigate(sentinel)
    grades["collateral"] = grading.collateral_of(params["collateral"] or [])
    responder = " ".join((params["responder"] or answer.get("responder") or grading.UNNAMED).split())
    incident_id = str(incident.get("id", "?"))
    graded_at = params["graded_at"] or iso(utc_now())
    row = grading.scoreboard_row(graded_at, incident_id, params["run_id"], responder, grades)
    action = "not_written"
    if params["scoreboard"]:
        action = "would_append" if check_mode else "appended"
        if not check_mode:
            grading.append_scoreboard(params["scoreboard"], row)
    return {
        "changed": action != "not_written",
        "grades": grades,
        "row": row,
        "responder": responder,
        "scoreboard_action": action,
        "summary": summary_of(incident_id, responder, grades),
    }


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    """The module's work, on the controller's files only. The action plugin calls this in the controller process."""
    if not HAS_JSONSCHEMA:
        raise ModuleError("incident_grade needs the jsonschema library (>= 4.18) on the controller: pip install it")
    try:
        return decide(params, check_mode)
    except grading.GradeError as exc:
        raise ModuleError(str(exc)) from exc


def main() -> None:
    main_of(ARGUMENT_SPEC, run, cluster=False)


if __name__ == "__main__":
    main()
