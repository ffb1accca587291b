"""Responder mode end to end (issue 20): activate with `-e responder=true`, let a responder work with nothing but
the kubeconfig it is given, then `-e phase=grade -e diagnosis=@answer.json`.

Three responders play INCIDENT-6 (one fixes it and answers right, one blames payment and restarts it, one does
nothing), then three play INCIDENT-3 through examples/responders/batch.py, as an evaluator runs a batch. Each
grade is checked as a user reads it (the report's grading section, the scoreboard row), and after each the
namespace must be exactly as before the incident: the grade recovers and puts back whatever the responder changed.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from plugins.modules import responder_access
from tests.e2e.conftest import BIN, NAMESPACE, ROOT, STATE_NAMESPACE, Cluster, ok

pytestmark = pytest.mark.slow
INCIDENT = "6"
ANSWERS = ROOT / "examples" / "answers"
NOTHING = {"detected": False, "evidence": ["looked at the pods and saw nothing wrong"], "remediation": "none"}


def as_responder(cluster: Cluster, kubeconfig: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in cluster.env.items() if k != "KUBECONFIG"}
    argv = [str(BIN / "kubectl"), f"--kubeconfig={kubeconfig}", *args]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)


def activate(cluster: Cluster, incident: str) -> Path:
    activated = cluster.run(f"incident-{incident}.yml", "-e", "phase=activate", "-e", "responder=true")
    ok(activated)
    path = cluster.reports / f"incident-{incident}-responder.kubeconfig"
    assert f"export KUBECONFIG={path}" in activated.stdout
    return path


def grade(cluster: Cluster, incident: str, answer: dict[str, Any], name: str) -> dict[str, Any]:
    """Grade; the grading section of the run's report.json."""
    path = cluster.base / f"{name}.json"
    path.write_text(json.dumps(answer))
    before = set(cluster.reports.glob(f"incident-{incident}-*/report.json"))
    graded = cluster.run(
        f"incident-{incident}.yml", "-e", "phase=grade", "-e", f"diagnosis=@{path}", "-e", f"responder_name={name}"
    )
    ok(graded)
    (report,) = set(cluster.reports.glob(f"incident-{incident}-*/report.json")) - before
    assert "## Grading (responder mode)" in (report.parent / "report.md").read_text()
    assert re.search(r"Wrote \S+: graded \(responder mode\)", graded.stdout), graded.stdout[-2000:]
    document = json.loads(report.read_text())
    assert document["verdict"] == "graded"
    return dict(document["grading"], stdout=graded.stdout)


def scoreboard(cluster: Cluster) -> list[dict[str, str]]:
    if not (cluster.reports / "scoreboard.csv").exists():
        return []
    with (cluster.reports / "scoreboard.csv").open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def sentinel_samples(cluster: Cluster, incident: str) -> list[dict[str, Any]]:
    """The sentinel's samples as the admin reads them (the responder cannot)."""
    core: Any = client.CoreV1Api(cluster.api())
    selector = f"sockshop.io/role=sentinel,sockshop.io/incident={incident}"
    pods = core.list_namespaced_pod(STATE_NAMESPACE, label_selector=selector).items
    if not pods:
        return []
    log = core.read_namespaced_pod_log(pods[0].metadata.name, STATE_NAMESPACE)
    return [json.loads(line) for line in log.splitlines() if line.startswith("{")]


def wait_for_sentinel_successes(cluster: Cluster, incident: str, count: int = 3, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        samples = sentinel_samples(cluster, incident)
        if len(samples) >= count and all(s["ok"] for s in samples[-count:]):
            return
        time.sleep(0.5)
    raise AssertionError(f"the sentinel saw no {count} successes in a row: {sentinel_samples(cluster, incident)[-5:]}")


def state_objects(cluster: Cluster) -> set[str]:
    """The incident's own objects in its state namespace (not the CA bundle every namespace has)."""
    core: Any = client.CoreV1Api(cluster.api())
    apps: Any = client.AppsV1Api(cluster.api())
    configmaps = core.list_namespaced_config_map(STATE_NAMESPACE).items
    return {f"cm/{c.metadata.name}" for c in configmaps if c.metadata.name != "kube-root-ca.crt"} | {
        f"deploy/{d.metadata.name}" for d in apps.list_namespaced_deployment(STATE_NAMESPACE).items
    }


def test_the_responder_sees_the_shop_but_not_the_incident(cluster: Cluster, baseline: dict[str, Any]) -> None:
    path = activate(cluster, "6")
    assert path.stat().st_mode & 0o777 == 0o600
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    document = yaml.safe_load(path.read_text())
    assert document["contexts"][0]["context"]["namespace"] == NAMESPACE
    written = path.read_text()
    assert all(value not in written for value in admin["users"][0]["user"].values())  # nothing of the admin's
    # the incident's own objects are there, in their namespace
    assert {
        "cm/sockshop-incident-lock",
        "cm/sockshop-incident-6-ledger",
        "cm/sockshop-incident-6-baseline",
        "cm/sockshop-incident-6-sentinel",
        "deploy/sockshop-incident-6-sentinel",
    } <= state_objects(cluster)

    state = as_responder(cluster, path, "get", "deployment", "stripe-mock")
    assert state.returncode == 0 and re.search(r"stripe-mock\s+0/0", state.stdout), state
    assert as_responder(cluster, path, "logs", "deployment/payment", "--since=5m").returncode == 0
    assert as_responder(cluster, path, "get", "configmaps").returncode == 0  # the application's are readable
    who = 'User "system:serviceaccount:sock-shop:sockshop-responder"'
    incidents = ["-n", STATE_NAMESPACE]
    for args, refusal in (
        (
            [*incidents, "get", "configmap", "sockshop-incident-lock"],
            f'configmaps "sockshop-incident-lock" is forbidden: {who}',
        ),
        (
            [*incidents, "get", "configmap", "sockshop-incident-6-ledger"],
            'configmaps "sockshop-incident-6-ledger" is forbidden',
        ),
        (
            [*incidents, "get", "configmap", "sockshop-incident-6-baseline"],
            'configmaps "sockshop-incident-6-baseline" is forbidden',
        ),
        (
            [*incidents, "logs", "deployment/sockshop-incident-6-sentinel"],
            'deployments.apps "sockshop-incident-6-sentinel" is forbidden',
        ),
        (["get", "secrets"], f"secrets is forbidden: {who}"),
        (["get", "namespaces"], f"namespaces is forbidden: {who}"),
        (["-n", "monitoring", "get", "pods"], f"pods is forbidden: {who}"),
        (["run", "x", "--image=busybox", "--", "true"], f"pods is forbidden: {who} cannot create"),
    ):
        out = as_responder(cluster, path, *args)
        assert out.returncode == 1 and refusal in out.stderr, (args, out.stderr)
    listed = as_responder(cluster, path, "auth", "can-i", "--list").stdout
    # resource rows (a non-resource URL row starts with blanks: the discovery every user may read)
    rows = {line.split()[0]: line[line.rindex("[") :] for line in listed.splitlines()[1:] if line[:1].strip()}
    assert rows["pods/exec"] == rows["pods/portforward"] == "[create]", listed
    assert rows["deployments.apps"] == "[get list watch patch update]", listed
    assert rows["configmaps"] == "[get list watch]" and "secrets" not in rows, listed
    # exactly the Role: every resource it names with its verbs, and beyond it only what every user may do
    granted: dict[str, list[str]] = {}
    for rule in responder_access.RULES:
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                plural, _, sub = resource.partition("/")  # kubectl writes deployments.apps/scale
                key = f"{plural}.{group}" if group else plural
                granted.setdefault(f"{key}/{sub}" if sub else key, []).extend(rule["verbs"])
    beyond = {key for key in rows if key.startswith("selfsubject")}
    assert {key: value for key, value in rows.items() if key not in beyond} == {
        key: f"[{' '.join(verbs)}]" for key, verbs in granted.items()
    }, listed
    # exec stays inside the container's own files
    escaped = as_responder(cluster, path, "exec", "deployment/payment", "--", "cat", "/etc/shadow")
    assert escaped.returncode != 0 and "No such file or directory" in escaped.stdout + escaped.stderr

    kept = path.read_text()
    ok(cluster.phase("recover"))  # recover without grading takes it all back too
    assert not path.exists() and state_objects(cluster) == set()
    copy = cluster.base / "kept.kubeconfig"
    copy.write_text(kept)
    out = as_responder(cluster, copy, "get", "pods")
    assert out.returncode == 1 and "Unauthorized" in out.stderr  # the token died with its account
    assert cluster.differences(baseline) == ""


def test_a_responder_who_fixes_it_and_answers_right_passes(cluster: Cluster, baseline: dict[str, Any]) -> None:
    path = activate(cluster, "6")
    started = time.monotonic()
    assert as_responder(cluster, path, "scale", "deployment/stripe-mock", "--replicas=1").returncode == 0
    assert as_responder(cluster, path, "rollout", "status", "deployment/stripe-mock", "--timeout=60s").returncode == 0
    wait_for_sentinel_successes(cluster, "6")
    graded = grade(cluster, "6", json.loads((ANSWERS / "incident-6-correct.json").read_text()), "fixer")
    grades = graded["grades"]
    assert [grades[k]["credit"] for k in ("detection", "localisation", "root_cause")] == [1.0, 1.0, 1.0], grades
    assert grades["mitigation"]["mitigated"] is True
    assert 0 < grades["mitigation"]["ttm_s"] < time.monotonic() - started + 10
    assert grades["collateral"]["count"] == 0 and graded["reverted"] == []
    row = scoreboard(cluster)[-1]
    assert (row["incident"], row["responder"], row["detection"], row["localisation"], row["root_cause"]) == (
        "6",
        "fixer",
        "1",
        "1",
        "1",
    )
    assert (row["mitigated"], row["collateral"], float(row["ttm_s"])) == ("true", "0", grades["mitigation"]["ttm_s"])
    assert state_objects(cluster) == set() and not path.exists()
    assert cluster.differences(baseline) == ""


def test_a_responder_who_blames_payment_is_graded_wrong_and_the_restart_is_collateral(
    cluster: Cluster, baseline: dict[str, Any]
) -> None:
    path = activate(cluster, "6")
    restarted = as_responder(cluster, path, "rollout", "restart", "deployment/payment")
    assert restarted.returncode == 0, restarted.stderr
    assert as_responder(cluster, path, "rollout", "status", "deployment/payment", "--timeout=60s").returncode == 0
    graded = grade(cluster, "6", json.loads((ANSWERS / "incident-6-payment-bug.json").read_text()), "payment-bug")
    grades = graded["grades"]
    assert grades["localisation"]["correct"] is False and grades["localisation"]["credit"] == 0
    assert grades["localisation"]["reason"].startswith("named Deployment/payment: payment is the caller")
    assert (grades["root_cause"]["credit"], grades["root_cause"]["correct"]) == (0.5, False)
    assert grades["mitigation"]["mitigated"] is False
    findings = grades["collateral"]["findings"]
    assert [f["object"] for f in findings] == ["Deployment/payment"], findings
    assert findings[0]["field"].startswith("spec.template.metadata")
    assert "kubectl.kubernetes.io/restartedAt" in json.dumps(findings[0]["after"])
    assert graded["reverted"] == ["replace Deployment/payment"]
    row = scoreboard(cluster)[-1]
    assert (row["responder"], row["localisation"], row["root_cause"], row["mitigated"], row["collateral"]) == (
        "payment-bug",
        "0",
        "0.5",
        "false",
        "1",
    )
    # the template is back as it was; the payment pod the responder replaced is the one thing that stays new
    assert cluster.differences(baseline).startswith("Pod/payment-"), cluster.differences(baseline)
    assert cluster.differences(baseline, "6", "3") == ""
    assert state_objects(cluster) == set()


def test_a_responder_who_does_nothing_is_not_mitigated_and_grade_recovers(
    cluster: Cluster, baseline: dict[str, Any]
) -> None:
    activate(cluster, "6")
    # check mode first: it grades, and changes nothing anywhere
    (cluster.base / "nothing.json").write_text(json.dumps(NOTHING))
    objects, rows = state_objects(cluster), len(scoreboard(cluster))
    planned = cluster.phase("grade", "-e", f"diagnosis=@{cluster.base / 'nothing.json'}", "--check")
    ok(planned)
    assert "not mitigated; collateral 0 (check mode: nothing recorded" in planned.stdout.replace("\n        ", " ")
    assert (state_objects(cluster), len(scoreboard(cluster)), cluster.replicas("stripe-mock")) == (objects, rows, 0)
    graded = grade(cluster, "6", NOTHING, "idle")
    grades = graded["grades"]
    assert [grades[k]["credit"] for k in ("detection", "localisation", "root_cause")] == [0.0, 0.0, 0.0]
    assert grades["mitigation"] == {**grades["mitigation"], "mitigated": False, "ttm_s": None}
    assert grades["collateral"]["count"] == 0
    assert "not mitigated" in graded["stdout"]
    assert state_objects(cluster) == set()  # ledger cleared, lock freed: the grade recovered it
    assert cluster.replicas("stripe-mock") == 1
    assert cluster.differences(baseline, "6", "3") == ""


def test_an_evaluator_runs_incident_3_as_a_batch(cluster: Cluster, baseline: dict[str, Any]) -> None:
    restart_orders = cluster.base / "restart-orders.sh"
    restart_orders.write_text(
        "#!/bin/sh\nkubectl rollout restart deployment/orders && kubectl rollout status deployment/orders\n"
        f'cp {ANSWERS / "incident-3-orders-bug.json"} "$ANSWER"\n'
    )
    restart_orders.chmod(0o755)
    rows_before = len(scoreboard(cluster))
    batch = subprocess.run(
        [
            str(BIN / "python"),
            "examples/responders/batch.py",
            "--incident",
            "3",
            "--reports",
            str(cluster.reports),
            "--responder",
            "zero-replicas=examples/responders/zero_replicas_agent.py",
            "--responder",
            f"orders-bug={restart_orders}",
            "--responder",
            "idle=examples/responders/idle.sh",
            "--",
            *cluster.extra(),
        ],
        cwd=ROOT,
        env=cluster.env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert batch.returncode == 0, batch.stdout[-3000:] + batch.stderr[-3000:]
    rows = scoreboard(cluster)[rows_before:]
    table = [(r["responder"], r["localisation"], r["root_cause"], r["mitigated"], r["collateral"]) for r in rows]
    assert table == [
        ("zero-replicas", "1", "1", "true", "0"),
        ("orders-bug", "0", "0", "false", "1"),
        ("idle", "0", "0", "false", "0"),
    ], table
    assert all(r["incident"] == "3" for r in rows)
    printed = batch.stdout.splitlines()
    assert printed[0].split("\t") == [
        "responder",
        "detection",
        "localisation",
        "root_cause",
        "mitigated",
        "ttm_s",
        "collateral",
    ]
    assert [line.split("\t")[0] for line in printed[1:]] == ["zero-replicas", "orders-bug", "idle"]
    assert state_objects(cluster) == set()
    assert cluster.differences(baseline, "6", "3").count("Pod/orders-") == 1, cluster.differences(baseline, "6", "3")


def test_grade_refuses_what_it_cannot_grade_and_changes_nothing(cluster: Cluster) -> None:
    cluster.incident = "6"
    start = cluster.snapshot()  # the earlier responders replaced pods on purpose: compare with now
    unanswered = cluster.phase("grade")
    assert unanswered.returncode != 0 and "phase=grade needs the responder's answer" in unanswered.stdout
    answer = ANSWERS / "incident-6-correct.json"
    idle = cluster.phase("grade", "-e", f"diagnosis=@{answer}")
    assert idle.returncode != 0 and "Incident 6 is not active" in idle.stdout.replace("\n        ", " ")
    ok(cluster.phase("activate"))  # not in responder mode
    try:
        before = cluster.versions()
        plain = cluster.phase("grade", "-e", f"diagnosis=@{answer}")
        text = plain.stdout.replace("\n        ", " ")
        assert plain.returncode != 0 and "was not activated in responder mode" in text, text[-2000:]
        assert cluster.versions() == before and cluster.replicas("stripe-mock") == 0
    finally:
        ok(cluster.phase("recover"))
    assert cluster.differences(start) == ""
