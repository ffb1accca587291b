"""The engine's promises on a live cluster, each asserted against the cluster itself: idempotence of every phase,
check mode that writes nothing anywhere, concurrent activations of which exactly one writes, and bad input that
gives one clear sentence and zero writes.

"Nothing written" is the cluster's own resourceVersion: the embedded cluster, like etcd, advances it on every
write to any object in any namespace, and an idle cluster leaves it alone.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, watch

from tests.e2e.conftest import BIN, LOCK, NAMESPACE, ROOT, STATE_NAMESPACE, Cluster, changed, ok, stop_cluster
from tests.procs import run_bounded

pytestmark = pytest.mark.slow
PHASES = ("preflight", "activate", "verify", "status", "report", "recover")
INCIDENT = "6"  # the provisioned cluster fixture of tests/e2e/conftest.py


@pytest.fixture
def idle(cluster: Cluster, baseline: dict[str, Any]) -> Iterator[Cluster]:
    """The namespace as it was before any incident, before and after the test (recovered if a test left it).

    Between tests either incident may have run, so the pods of both incidents' workloads may have been replaced;
    each test asserts its own exact recovery.
    """
    assert cluster.differences(baseline, "6", "3") == ""
    yield cluster
    if cluster.differences(baseline, "6", "3"):
        for incident in ("6", "3"):
            cluster.run(f"incident-{incident}.yml", "-e", "phase=recover")
    assert cluster.differences(baseline, "6", "3") == ""


def folded(result: subprocess.CompletedProcess[str]) -> str:
    """stdout and stderr with Ansible's line folding undone, so a sentence can be matched whole."""
    return re.sub(r"\n +", " ", result.stdout + result.stderr)


# ---------------------------------------------------------------- idempotence


def test_every_phase_a_second_time_changes_nothing(idle: Cluster) -> None:
    cluster = idle
    before = cluster.snapshot()
    for phase in PHASES:
        first = cluster.phase(phase)
        ok(first)
        after_first = cluster.snapshot()
        second = cluster.phase(phase)
        ok(second)
        assert changed(second) == 0, f"a second {phase} changed something:\n{second.stdout[-3000:]}"
        found = cluster.differences(after_first)
        assert found == "", f"a second {phase} changed the namespace: {found}"
    assert cluster.differences(before) == ""

    provision = cluster.run("provision.yml")
    ok(provision)
    assert changed(provision) == 0 and cluster.differences(before) == ""


def test_phase_all_twice_ends_where_it_started_both_times(idle: Cluster) -> None:
    """phase=all breaks and repairs by design, so it writes every time; what repeats is its outcome."""
    before = idle.snapshot()
    runs = [idle.phase("all") for _ in range(2)]
    for run in runs:
        ok(run)
        assert idle.differences(before) == ""
        assert re.search(r"Wrote \S+: passed", folded(run)), folded(run)[-3000:]
    assert changed(runs[0]) == changed(runs[1])


# ---------------------------------------------------------------- check mode


def reports_state(cluster: Cluster) -> dict[str, bytes]:
    """Every file under the reports directory (timeline.png included) and its bytes."""
    return {
        str(p.relative_to(cluster.reports)): p.read_bytes() for p in sorted(cluster.reports.rglob("*")) if p.is_file()
    }


# With the incident idle, verify refuses (nothing is active); with it active, preflight refuses (the lock is held).
REFUSED_IN_CHECK_MODE = {("idle", "verify"), ("active", "preflight")}


@pytest.mark.parametrize("state", ["idle", "active"])
def test_check_mode_of_every_phase_writes_nothing_anywhere(idle: Cluster, state: str) -> None:
    cluster = idle
    if state == "active":
        ok(cluster.phase("activate"))
    revision, files = cluster.revision(), reports_state(cluster)
    for phase in (*PHASES, "all"):
        result = cluster.phase(phase, "--check")
        if (state, phase) in REFUSED_IN_CHECK_MODE:
            assert result.returncode != 0 and "Traceback" not in folded(result)
        else:
            ok(result)
        assert cluster.revision() == revision, (phase, cluster.written_since(revision))
        assert reports_state(cluster) == files, f"--check of {phase} wrote a journal or report"
    if state == "active":
        ok(cluster.phase("recover"))


# ---------------------------------------------------------------- concurrency


def generations(cluster: Cluster) -> dict[str, int]:
    apps: Any = client.AppsV1Api(cluster.api())
    return {d.metadata.name: int(d.metadata.generation) for d in apps.list_namespaced_deployment(NAMESPACE).items}


def writes(cluster: Cluster, since: int, before: dict[str, int]) -> tuple[list[tuple[str, str]], Counter[str]]:
    """ConfigMap events of the namespace since `since`, and how often each Deployment's spec changed since then.

    The embedded cluster, like etcd, replays every change after a past resourceVersion to a watch; `before` holds
    each Deployment's generation at `since` (a spec change bumps it, a status update does not).
    """
    apps: Any = client.AppsV1Api(cluster.api())
    stream = watch.Watch().stream
    configmaps = [
        (event["type"], event["object"].metadata.name)
        for event in stream(
            cluster.core().list_namespaced_config_map, STATE_NAMESPACE, resource_version=str(since), timeout_seconds=1
        )
    ]
    seen: dict[str, set[int]] = {}
    for event in stream(apps.list_namespaced_deployment, NAMESPACE, resource_version=str(since), timeout_seconds=1):
        meta = event["object"].metadata
        seen.setdefault(meta.name, set()).add(int(meta.generation))
    return configmaps, Counter(
        {name: len(gens - {before[name]}) for name, gens in seen.items() if gens - {before[name]}}
    )


def activate_together(cluster: Cluster, incidents: list[str]) -> list[tuple[str, subprocess.CompletedProcess[str]]]:
    runs = [
        (
            incident,
            subprocess.Popen(
                cluster.playbook(f"incident-{incident}.yml", "-e", "phase=activate"),
                cwd=ROOT,
                env=cluster.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            ),
        )
        for incident in incidents
    ]
    done = []
    for incident, run in runs:
        out, err = run.communicate(timeout=300)
        done.append((incident, subprocess.CompletedProcess(run.args, run.returncode, out, err)))
    return done


FAULTED_DEPLOYMENT = {"6": "stripe-mock", "3": "payment"}


@pytest.mark.parametrize(
    "incidents", [["6"] * 5, ["6", "3", "6", "3", "6"]], ids=["same-incident-x5", "two-incidents-x5"]
)
def test_concurrent_activations_exactly_one_writes(idle: Cluster, incidents: list[str]) -> None:
    cluster = idle
    start = cluster.snapshot()
    since, before = cluster.revision(), generations(cluster)
    results = activate_together(cluster, incidents)

    lock = cluster.core().read_namespaced_config_map(LOCK, STATE_NAMESPACE).data
    winner = lock["incident"]
    ledger = f"sockshop-incident-{winner}-ledger"
    recorded = json.loads(cluster.core().read_namespaced_config_map(ledger, STATE_NAMESPACE).data["ledger.json"])
    assert recorded["run_id"] == lock["run_id"] and lock["activated_at"]

    configmaps, spec_changes = writes(cluster, since, before)
    # One activation's writes, and nobody else's: the lock taken and marked, the ledger, one scale.
    assert sorted(configmaps) == sorted([("ADDED", LOCK), ("MODIFIED", LOCK), ("ADDED", ledger)]), configmaps
    assert spec_changes == Counter({FAULTED_DEPLOYMENT[winner]: 1}), spec_changes

    writers = [r for i, r in results if r.returncode == 0 and changed(r) > 0]
    assert len(writers) == 1, [folded(r)[-1500:] for _, r in results]
    for incident, result in results:
        if result is writers[0]:
            continue
        text = folded(result)
        held = f"is held by incident {winner} (run {lock['run_id']})"
        if incident != winner:  # refused, naming the holder
            assert result.returncode != 0, text[-2000:]
            assert f"{held}, taken by" in text and "Only one incident may be active at a time" in text, text[-2000:]
        elif result.returncode == 0:  # joined the completed activation
            assert changed(result) == 0, text[-2000:]
        else:  # refused while the winner's activation was still under way
            assert f"incident {winner} is being activated by another run" in text and held in text, text[-2000:]
        assert "Traceback" not in text

    ok(cluster.run(f"incident-{winner}.yml", "-e", "phase=recover"))
    assert cluster.differences(start, winner) == ""


# ---------------------------------------------------------------- bad input


def dead_kubeconfig(cluster: Cluster, path: Path) -> Path:
    """The cluster's own kubeconfig (right context, right token), pointed at a port where nothing listens."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    config["clusters"][0]["cluster"]["server"] = "https://127.0.0.1:1"
    path.write_text(yaml.safe_dump(config))
    return path


def broken_catalog(tmp: Path, how: str) -> Path:
    catalog = tmp / f"incidents-{how}"
    shutil.copytree(ROOT / "incidents", catalog)
    target = catalog / "incident-6.yml"
    if how == "yaml":
        target.write_text(target.read_text().replace("faults:\n", "faults: [\n", 1))
    else:
        doc = yaml.safe_load(target.read_text())
        doc["faults"][0]["replicas"] = 3
        target.write_text(yaml.safe_dump(doc))
    return catalog


def ad_hoc(cluster: Cluster, module: str, args: str) -> subprocess.CompletedProcess[str]:
    """A module called with bad arguments, as a playbook task would call it."""
    return run_bounded(
        [str(BIN / "ansible"), "local-sockshop", "-m", module, "-a", args], 120, cwd=ROOT, env=cluster.env
    )


def bad_inputs(cluster: Cluster, tmp: Path) -> list[tuple[str, Any, str]]:
    """(what is wrong, how it is run, the sentence that must say so)."""
    dead = str(dead_kubeconfig(cluster, tmp / "dead-kubeconfig"))
    kube = f"kubeconfig={cluster.kubeconfig} context=local-sockshop namespace={NAMESPACE}"
    prod = ("-e", "sockshop_context=prod-eks")
    refused = "Refusing kube context 'prod-eks': it is not in the allowlist [\"local-sockshop\"] of this inventory."
    as_cluster = ("-e", "sockshop_target=cluster", "-e", f"sockshop_kubeconfig={dead}")
    phases = "preflight, activate, verify, recover, status, report, all, grade"
    return [
        (
            "unknown incident",
            lambda: cluster.phase("activate", "-e", "incident_id=99"),
            "unknown incident id '99'; known ids: 2, 3, 4, 4B, 4C, 5, 5A, 5C, 6, 6B, 7, 8, 8B, 8C",
        ),
        (
            "unknown phase",
            lambda: cluster.phase("explode"),
            f"value of incident_phase must be one of: {phases}, got: explode",
        ),
        (
            "malformed YAML",
            lambda: cluster.phase("activate", "-e", f"incident_catalog_dir={broken_catalog(tmp, 'yaml')}"),
            "incident-6.yml is not valid YAML (line ",
        ),
        (
            "schema violation",
            lambda: cluster.phase("activate", "-e", f"incident_catalog_dir={broken_catalog(tmp, 'schema')}"),
            "unknown field 'replicas' at faults[0]",
        ),
        (
            "bad extra var",
            lambda: cluster.phase("activate", "-e", "incident_preflight_wait_s=soon"),
            "argument 'incident_preflight_wait_s' is of type str and we were unable to convert to int",
        ),
        (
            "bad module choice",
            lambda: ad_hoc(cluster, "incident_lock", f"{kube} incident_id=6 state=seized"),
            "value of state must be one of: present, absent, query, got: seized",
        ),
        (
            "missing module argument",
            lambda: ad_hoc(cluster, "incident_ledger", f"{kube} state=present"),
            "missing required arguments: incident_id",
        ),
        (
            "bad module type",
            lambda: ad_hoc(cluster, "incident_ledger", f"{kube} incident_id=6 state=absent wait_s=soon"),
            "argument 'wait_s' is of type str and we were unable to convert to float",
        ),
        ("context refused: activate", lambda: cluster.phase("activate", *prod), refused),
        ("context refused: recover", lambda: cluster.phase("recover", *prod), refused),
        ("context refused: incident 3", lambda: cluster.run("incident-3.yml", "-e", "phase=activate", *prod), refused),
        ("context refused: provision", lambda: cluster.run("provision.yml", *prod), refused),
        ("context refused: teardown", lambda: cluster.run("teardown.yml", *prod), refused),
        (
            "dead API: activate",
            lambda: cluster.phase("activate", "-e", f"sockshop_kubeconfig={dead}"),
            "Cannot take the incident lock through context 'local-sockshop'",
        ),
        (
            "dead API: recover",
            lambda: cluster.phase("recover", "-e", f"sockshop_kubeconfig={dead}"),
            "Cannot read the incident lock through context 'local-sockshop'",
        ),
        (
            "dead API: provision",
            lambda: cluster.run("provision.yml", *as_cluster),
            "The API server of context 'local-sockshop'",
        ),
        (
            "dead API: teardown",
            lambda: cluster.run("teardown.yml", *as_cluster),
            "The API server of context 'local-sockshop'",
        ),
    ]


def test_bad_input_gives_one_clear_sentence_and_writes_nothing(idle: Cluster, tmp_path: Path) -> None:
    cluster = idle
    revision = cluster.revision()
    for name, run, sentence in bad_inputs(cluster, tmp_path):
        result = run()
        text = folded(result)
        assert result.returncode != 0, f"{name}: {text[-2000:]}"
        assert sentence in text, f"{name}: expected {sentence!r} in:\n{text[-3000:]}"
        assert "Traceback" not in text, f"{name}: {text[-3000:]}"
        assert cluster.revision() == revision, (name, cluster.written_since(revision))


@pytest.mark.parametrize("playbook", ["provision.yml", "teardown.yml"])
def test_a_refused_context_starts_no_cluster(cluster: Cluster, tmp_path: Path, playbook: str) -> None:
    """The allowlist is checked before provision or teardown start (or create) any cluster."""
    fresh = tmp_path / "never-started"
    try:
        result = cluster.run(playbook, "-e", "sockshop_context=prod-eks", "-e", f"sockshop_local_cluster_dir={fresh}")
        assert result.returncode != 0
        assert "Refusing kube context 'prod-eks'" in folded(result)
        assert not fresh.exists(), f"{playbook} started a cluster in {fresh} before refusing the context"
    finally:
        if fresh.exists():  # a broken build started one: stop it (by the pid in its state dir)
            stop_cluster(fresh, cluster.env)
