"""INCIDENT-6 activate and verify killed (SIGINT, SIGKILL) at each named step, then recovered exactly.

The steps: after the lock is taken (before the ledger), after the ledger (before the fault), after the fault
(before the lock is marked), after the mark; verify while it probes and while it checks the other signals.
See tests/e2e/interrupts.py for how a step is hit without a sleep.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.interrupts import (
    ACTIVATE,
    SIGNALS,
    VERIFY,
    KillPoint,
    back_to_baseline,
    interrupt_then_recover,
    point_id,
)

pytestmark = pytest.mark.slow
INCIDENT = "6"  # the provisioned cluster fixture of tests/e2e/conftest.py


@pytest.mark.parametrize("sig", SIGNALS.values(), ids=SIGNALS.keys())
@pytest.mark.parametrize("point", ACTIVATE + VERIFY, ids=[point_id(p) for p in ACTIVATE + VERIFY])
def test_interrupted_then_recovered_exactly(
    cluster: Cluster, baseline: dict[str, Any], point: KillPoint, sig: signal.Signals
) -> None:
    back_to_baseline(cluster, baseline)
    interrupt_then_recover(cluster, baseline, point, sig)
