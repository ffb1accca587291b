#!/usr/bin/env python3
"""Run responders against an incident, one after the other, and print their rows of the scoreboard.

For each responder (a label and a command), this does what an evaluator does by hand:

1. ``ansible-playbook playbooks/incident-<id>.yml -e phase=activate -e responder=true``: the fault, a baseline of
   the namespace, the sentinel and the responder's kubeconfig;
2. runs the command with only that kubeconfig (``KUBECONFIG``; the admin's is not passed on), the page a pager
   would show (``INCIDENT_PAGE``), the time budget (``INCIDENT_BUDGET_S``, also the command's timeout) and where
   to write the answer (``ANSWER``, JSON as incidents/answer.schema.json describes);
3. ``-e phase=grade -e diagnosis=@<answer> -e responder_name=<label>``: grades, recovers, puts back anything else
   the responder changed, and appends a row to ``<reports>/scoreboard.csv``.

A responder that writes no answer is graded as one that found nothing (``detected: false``).

    .venv/bin/python examples/responders/batch.py --incident 6 \\
        --responder zero-replicas=examples/responders/zero_replicas_agent.py \\
        --responder idle=examples/responders/idle.sh \\
        -- -e sockshop_kubeconfig=.cluster/kubeconfig

Arguments after ``--`` go to every ansible-playbook run. Nothing here talks to a model or the network: the
example agents only run kubectl against the cluster they are given.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def playbook(incident: str, extra: list[str], *args: str) -> subprocess.CompletedProcess[str]:
    ansible = Path(sys.executable).parent / "ansible-playbook"
    argv = [str(ansible), f"playbooks/incident-{incident}.yml", *extra, *args]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-2000:])
        raise SystemExit(f"{shlex.join(argv)} failed ({done.returncode})")
    return done


def no_answer(label: str) -> dict[str, object]:
    """What a responder that wrote nothing is graded on: nothing found."""
    return {"responder": label, "detected": False, "evidence": ["the responder wrote no answer"], "remediation": "none"}


def respond(incident: str, label: str, command: str, extra: list[str], workdir: Path) -> None:
    """Activate, hand over, grade."""
    kubeconfig = workdir / f"{label}.kubeconfig"
    playbook(
        incident,
        extra,
        "-e",
        "phase=activate",
        "-e",
        "responder=true",
        "-e",
        f"incident_responder_kubeconfig={kubeconfig}",
    )
    # the page and the budget, as activate prints them, from the incident's data
    page = yaml.safe_load((ROOT / "incidents" / f"incident-{incident}.yml").read_text(encoding="utf-8"))["responder"]
    answer = workdir / f"{label}.json"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("KUBECONFIG", "DD_"))}
    env.update(
        KUBECONFIG=str(kubeconfig),
        INCIDENT_PAGE=" ".join(page["symptom"].split()),
        INCIDENT_BUDGET_S=str(page["budget_s"]),
        ANSWER=str(answer),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    try:
        # the responder's own output goes to stderr: stdout is the scoreboard table
        subprocess.run(shlex.split(command), env=env, timeout=page["budget_s"], check=False, stdout=sys.stderr)
    except subprocess.TimeoutExpired:
        print(f"{label}: out of time", file=sys.stderr)
    if not answer.exists():
        answer.write_text(json.dumps(no_answer(label)))
    playbook(
        incident,
        extra,
        *("-e", "phase=grade", "-e", f"diagnosis=@{answer}", "-e", f"responder_name={label}"),
        *("-e", f"incident_responder_kubeconfig={kubeconfig}"),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--incident", required=True, help="incident id, e.g. 6")
    parser.add_argument("--responder", action="append", required=True, help="LABEL=COMMAND (repeatable)")
    parser.add_argument("--reports", default="reports", help="the reports directory the playbooks write to")
    parser.add_argument("playbook_args", nargs="*", help="after --: passed to every ansible-playbook run")
    options = parser.parse_args()
    scoreboard = ROOT / options.reports / "scoreboard.csv"
    before = scoreboard.read_text().count("\n") if scoreboard.exists() else 0
    with tempfile.TemporaryDirectory(prefix="responders-") as workdir:
        for spec in options.responder:
            label, _, command = spec.partition("=")
            if not command:
                raise SystemExit(f"--responder {spec!r}: give LABEL=COMMAND")
            respond(options.incident, label, command, options.playbook_args, Path(workdir))
    with scoreboard.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[max(before - 1, 0) :]
    columns = ["responder", "detection", "localisation", "root_cause", "mitigated", "ttm_s", "collateral"]
    print("\t".join(columns))
    for row in rows:
        print("\t".join(str(row.get(column, "")) for column in columns))


if __name__ == "__main__":
    main()
