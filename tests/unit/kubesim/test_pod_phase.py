"""The pod phase as the kubelet's getPhase derives it from the app containers' states."""

from __future__ import annotations

from typing import Any

import pytest

from kubesim.controllers.phase import pod_phase
from kubesim.runtime.base import ContainerState

EXIT_0 = {"exitCode": 0, "reason": "Completed"}
EXIT_1 = {"exitCode": 1, "reason": "Error"}


def state(kind: str) -> ContainerState:
    """running, creating (never started), done-0, done-1, backoff (waiting to restart after exiting 1)."""
    table: dict[str, dict[str, Any]] = {
        "running": {"running": True},
        "creating": {},
        "done-0": {"terminated": EXIT_0},
        "done-1": {"terminated": EXIT_1},
        "backoff": {"waiting_reason": "CrashLoopBackOff", "last_terminated": EXIT_1},
    }
    return ContainerState(name=kind, image="busybox", **table[kind])


@pytest.mark.parametrize(
    ("containers", "restart", "phase"),
    [
        (["creating"], "Always", "Pending"),
        (["running", "creating"], "Always", "Pending"),  # one not started yet
        (["running"], "Always", "Running"),
        (["running", "done-1"], "Never", "Running"),
        (["backoff"], "Always", "Running"),  # CrashLoopBackOff after it ran: restarting, not Pending
        (["done-1"], "Always", "Running"),
        (["done-0"], "Never", "Succeeded"),
        (["done-0", "done-0"], "OnFailure", "Succeeded"),
        (["done-0", "done-1"], "Never", "Failed"),
        (["backoff"], "OnFailure", "Running"),  # restarting on failure
        (["done-1"], "OnFailure", "Running"),
        ([], "Always", "Pending"),
    ],
)
def test_the_phase_follows_getphase(containers: list[str], restart: str, phase: str) -> None:
    assert pod_phase([state(c) for c in containers], restart) == phase
