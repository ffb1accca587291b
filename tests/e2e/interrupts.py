"""Interrupting a phase at a named step, and proving that recover puts the namespace back exactly.

A kill point is a task of the incident role. The test-only callback `tests/e2e/callback_plugins/freeze_at.py`
holds the playbook at that task's start and says so (`FROZEN AT <name>`): everything before the task has
finished and nothing after it has started, so the state at the kill is known without a single sleep, however
slowly the test reads the output. The test process group is killed (SIGINT as a terminal's
Ctrl-C sends it, or SIGKILL), then recover runs, a second time when the first one was the run interrupted,
and the whole namespace is compared with the baseline taken before the incident.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.e2e.conftest import LOCK, ROOT, STATE_NAMESPACE, Cluster, ok

LEDGER = "sockshop-incident-6-ledger"


@dataclass(frozen=True)
class KillPoint:
    """Kill `phase` when the banner of `task` shows; `holds` checks what must already be true then."""

    phase: str
    task: str
    holds: Callable[[Cluster], str]
    activate_first: bool = False

    @property
    def marker(self) -> str:
        return f"FROZEN AT {self.task}"


def expect(**wanted: Any) -> Callable[[Cluster], str]:
    """What the cluster must show at the kill: lock/ledger present or not, stripe-mock's replicas, the mark."""

    def check(cluster: Cluster) -> str:
        configmaps = cluster.configmaps()
        seen: dict[str, Any] = {"lock": LOCK in configmaps, "ledger": LEDGER in configmaps}
        if "replicas" in wanted:
            seen["replicas"] = cluster.replicas("stripe-mock")
        if "activated" in wanted:
            core: Any = cluster.core()
            seen["activated"] = bool(core.read_namespaced_config_map(LOCK, STATE_NAMESPACE).data.get("activated_at"))
        seen = {key: seen[key] for key in wanted}
        return "" if seen == wanted else f"at the kill: expected {wanted}, found {seen}"

    return check


ACTIVATE = [
    KillPoint("activate", "Note the lock this activation took", expect(lock=True, ledger=False, replicas=1)),
    KillPoint(
        "activate",
        "Apply the faults in order, each in effect before the next, and check the gates between them",
        expect(lock=True, ledger=True, replicas=1),
    ),
    KillPoint("activate", "Record that the fault is in place", expect(lock=True, ledger=True, replicas=0)),
    KillPoint("activate", "Journal the activation", expect(activated=True, replicas=0)),
]
VERIFY = [
    KillPoint("verify", "Probe payments as a customer would", expect(activated=True, replicas=0), True),
    KillPoint("verify", "Check the Kubernetes, log and monitoring signals", expect(activated=True, replicas=0), True),
]
RECOVER = [
    KillPoint("recover", "Restore the prior state from the ledger", expect(ledger=True), True),
    KillPoint("recover", "Confirm that payments work again", expect(ledger=True, replicas=1), True),
    KillPoint(
        "recover",
        "Wait for the restored rollout, prove the recovery against the ledger, clear it and release the lock",
        expect(replicas=1),
        True,
    ),
    KillPoint("recover", "Journal the recovery", expect(lock=False, ledger=False, replicas=1), True),
]
SIGNALS = {"SIGINT": signal.SIGINT, "SIGKILL": signal.SIGKILL}


def point_id(point: KillPoint) -> str:
    return f"{point.phase}@{point.task.split(',')[0].lower().replace(' ', '-')[:40]}"


def kill_at(cluster: Cluster, point: KillPoint, sig: signal.Signals) -> str:
    """Run the phase, kill its process group when the banner shows; returns what it printed."""
    env = dict(
        cluster.env,
        SOCKSHOP_FREEZE_AT=point.task,
        ANSIBLE_CALLBACK_PLUGINS=str(ROOT / "tests/e2e/callback_plugins"),
        ANSIBLE_CALLBACKS_ENABLED="freeze_at",
    )
    run = subprocess.Popen(
        cluster.playbook(f"incident-{cluster.incident}.yml", "-e", f"phase={point.phase}"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    seen = []
    assert run.stdout is not None
    try:
        for line in run.stdout:
            seen.append(line)
            if line.startswith(point.marker):
                os.killpg(run.pid, sig)  # the group this test started, and only it
                break
        try:
            run.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            # ansible-core itself can hang on a Ctrl-C that lands while a worker process is still flushing its
            # result queue (seen twice in CI, SIGINT only); an operator then presses Ctrl-C again
            seen.append("(still running 60 s after the signal: a second Ctrl-C)\n")
            os.killpg(run.pid, signal.SIGINT)
            run.communicate(timeout=60)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()
    output = "".join(seen)
    assert any(line.startswith(point.marker) for line in seen), f"never reached {point.marker}:\n{output[-3000:]}"
    return output


def interrupt_then_recover(cluster: Cluster, baseline: dict[str, Any], point: KillPoint, sig: signal.Signals) -> None:
    if point.activate_first:
        ok(cluster.phase("activate"))
    kill_at(cluster, point, sig)
    at_kill = point.holds(cluster)

    ok(cluster.phase("recover"))  # when recover was the run killed, this is the second recover
    left = cluster.differences(baseline)  # the lock and the ledger were absent from the baseline too
    assert not at_kill, at_kill
    assert left == "", f"the namespace differs from before the incident: {left}"
    assert not {LOCK, LEDGER} & cluster.configmaps()


def back_to_baseline(cluster: Cluster, baseline: dict[str, Any]) -> None:
    """Before each case: the namespace must be as it was; a failed case is recovered so the next starts clean."""
    if cluster.differences(baseline):
        cluster.phase("recover")
    assert cluster.differences(baseline) == ""
