"""workloads_available: serving means Available with at least one available replica; waits, and says who is not."""

from __future__ import annotations

from typing import Any

import pytest
from ansible.module_utils.sockshop_module import ModuleError

from plugins.modules import workloads_available as wa
from tests.unit.modules.incident_fakes import FakeLive, pod
from tests.unit.modules.test_incident_fault import Clock


def available(live: FakeLive, name: str, replicas: int, ready: int) -> None:
    live.add(name, replicas, [pod(f"{name}-{i}") for i in range(ready)])
    status = live.deployments[name]["status"]
    condition = "True" if ready >= 1 or replicas == 0 else "False"
    status["conditions"] = [{"type": "Available", "status": condition}]


@pytest.mark.parametrize(
    ("replicas", "ready", "serving", "shown"),
    [
        (1, 1, True, ""),
        (1, 0, False, "web (0/1 available)"),
        (0, 0, False, "web (0/0 available)"),  # scaled to 0 by hand: Available for Kubernetes, serving nothing
        (None, 0, False, "web (absent)"),
    ],
)
def test_serving_table(replicas: int | None, ready: int, serving: bool, shown: str) -> None:
    live = FakeLive()
    if replicas is not None:
        available(live, "web", replicas, ready)
    if serving:
        assert wa.wait_available(live, ["web"], 0)["unavailable"] == []
    else:
        with pytest.raises(ModuleError) as err:
            wa.wait_available(live, ["web"], 0)
        assert str(err.value) == f"not serving within 0 s: {shown}"
        assert err.value.partial["unavailable"] == ["web"]


def test_waits_until_every_workload_serves() -> None:
    live = FakeLive()
    available(live, "payment", 1, 1)
    available(live, "stripe-mock", 1, 0)
    clock = Clock({4: lambda: available(live, "stripe-mock", 1, 1)})
    result: dict[str, Any] = wa.wait_available(live, ["payment", "stripe-mock"], 30, clock=clock, sleep=clock.sleep)
    assert result["unavailable"] == [] and result["waited_s"] == round(4 * wa.POLL_S, 3)
    assert result["workloads"]["stripe-mock"] == {"replicas": 1, "available": 1, "serving": True}


def test_names_every_workload_not_serving_when_the_time_runs_out() -> None:
    live = FakeLive()
    available(live, "payment", 1, 0)
    clock = Clock()
    with pytest.raises(ModuleError, match=r"^not serving within 1 s: payment \(0/1 available\), gone \(absent\)$"):
        wa.wait_available(live, ["payment", "gone"], 1, clock=clock, sleep=clock.sleep)
    assert clock.sleeps == round(1 / wa.POLL_S)
