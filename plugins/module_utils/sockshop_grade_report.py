# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""The grading section of an incident's report (responder mode's phase=grade), in Markdown and as JUnit cases.

The journal's `grade` phase holds what incident_grade returned (`grades`, `row`) and what the grade put back
(`reverted`); nothing here grades, it only presents.
"""

from __future__ import annotations

from typing import Any

DIMENSIONS = (("detection", "detection"), ("localisation", "localisation"), ("root_cause", "root cause"))


def grading(journal: dict[str, Any]) -> dict[str, Any] | None:
    """The journal's grade phase, or None when the run was not graded."""
    return (journal.get("phases") or {}).get("grade")


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _mitigation(mitigation: dict[str, Any]) -> str:
    if mitigation.get("mitigated"):
        return f"mitigated by the responder, time to mitigate {mitigation.get('ttm_s')} s"
    return str(mitigation.get("reason") or "not mitigated")


def render_grading(graded: dict[str, Any] | None) -> list[str]:
    """Markdown lines of the grading section (none when the run was not graded)."""
    if not graded:
        return []
    grades, row = graded.get("grades") or {}, graded.get("row") or {}
    lines = [
        "## Grading (responder mode)",
        "",
        f"Responder `{row.get('responder', 'unnamed')}`, graded {row.get('graded_at', '-')}.",
        "",
        "| dimension | credit | correct | reason |",
        "|---|---|---|---|",
    ]
    for key, title in DIMENSIONS:
        grade = grades.get(key) or {}
        mark = "yes" if grade.get("correct") else "no"
        lines.append(f"| {title} | {grade.get('credit', 0):g} | {mark} | {_cell(grade.get('reason', ''))} |")
    mitigation = grades.get("mitigation") or {}
    lines.append(
        f"| mitigation | | {'yes' if mitigation.get('mitigated') else 'no'} | {_cell(_mitigation(mitigation))} |"
    )
    collateral = grades.get("collateral") or {}
    findings = collateral.get("findings") or []
    lines.append(
        f"| collateral | {len(findings)} | {'yes' if not findings else 'no'} | "
        f"{'nothing else changed' if not findings else 'changed beyond the fault, listed below'} |"
    )
    if findings:
        lines += ["", "What the responder changed beyond the fault (put back by the grade):", ""]
        lines += [
            f"- {f['object']}{' ' + f['field'] if f.get('field') else ''}: {f.get('before')!r} -> {f.get('after')!r}"
            for f in findings
        ]
    reverted = graded.get("reverted") or []
    if reverted:
        lines += ["", f"Put back from the baseline: {', '.join(reverted)}."]
    return [*lines, ""]


def junit_cases(graded: dict[str, Any] | None) -> list[tuple[str, str, str, str, float | None]]:
    """(name, kind, status, evidence, seconds) per graded dimension, as the report's other JUnit cases."""
    if not graded:
        return []
    grades = graded.get("grades") or {}
    cases: list[tuple[str, str, str, str, float | None]] = []
    for key, title in DIMENSIONS:
        grade = grades.get(key) or {}
        status = "passed" if grade.get("correct") else "failed"
        cases.append((f"grade: {title}", "grade", status, str(grade.get("reason", "")), None))
    mitigation = grades.get("mitigation") or {}
    cases.append(
        (
            "grade: mitigation",
            "grade",
            "passed" if mitigation.get("mitigated") else "failed",
            _mitigation(mitigation),
            mitigation.get("ttm_s"),
        )
    )
    findings = (grades.get("collateral") or {}).get("findings") or []
    evidence = "; ".join(f"{f['object']} {f.get('field', '')}".strip() for f in findings) or "nothing else changed"
    cases.append(("grade: collateral", "grade", "failed" if findings else "passed", evidence, None))
    return cases
