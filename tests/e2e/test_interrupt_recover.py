"""INCIDENT-6 recover killed (SIGINT, SIGKILL) at each named step, then recovered exactly by a second recover.

The steps: before the restore is written, after it is written (before it is proven), during the ledger's clear
(the module waits for the rollout, proves it and releases the lock), after the clear. See tests/e2e/interrupts.py.
"""

from __future__ import annotations

import signal
from typing import Any

import pytest

from tests.e2e.conftest import Cluster
from tests.e2e.interrupts import RECOVER, SIGNALS, KillPoint, back_to_baseline, interrupt_then_recover, point_id

pytestmark = pytest.mark.slow
INCIDENT = "6"  # the provisioned cluster fixture of tests/e2e/conftest.py


@pytest.mark.parametrize("sig", SIGNALS.values(), ids=SIGNALS.keys())
@pytest.mark.parametrize("point", RECOVER, ids=[point_id(p) for p in RECOVER])
def test_interrupted_recover_then_recovered_exactly(
    cluster: Cluster, baseline: dict[str, Any], point: KillPoint, sig: signal.Signals
) -> None:
    back_to_baseline(cluster, baseline)
    interrupt_then_recover(cluster, baseline, point, sig)
