"""Readiness of placeholder containers (images the cluster has no program for; kubesim/runtime/base.py).

A placeholder has no process, so its readiness probe is answered from what it stands for:
- without a readinessProbe it is Ready as soon as it runs, as a kubelet reports a container without one;
- an `exec` probe passes (the placeholder stands for a working program whose commands we cannot run), first
  `initialDelaySeconds` after the container started, then every `periodSeconds`: the container is Ready once
  `successThreshold` probes passed;
- a `tcpSocket` or `httpGet` probe dials the pod's address, where nothing listens: it fails from its first run
  as the kubelet's prober words it (`Readiness probe failed: Get "http://10.244.1.7:8080/": dial tcp
  10.244.1.7:8080: connect: connection refused`, a Warning `Unhealthy` event counted each period) and the
  container stays not Ready. Give such a workload an image the cluster runs for real to have it serve.
Liveness and startup probes are not run for placeholders.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kubesim.runtime.probes import resolve_port

if TYPE_CHECKING:
    from kubesim.runtime.base import ContainerState


def _timing(probe: dict[str, Any]) -> tuple[float, float, int]:
    return (
        float(probe.get("initialDelaySeconds", 0)),
        float(probe.get("periodSeconds", 10)),
        max(1, int(probe.get("successThreshold", 1))),
    )


def ready_after(container: dict[str, Any]) -> float | None:
    """Seconds after the container started at which it turns Ready; None if its probe never passes."""
    probe = container.get("readinessProbe")
    if not probe:
        return 0.0
    if "exec" not in probe:
        return None
    delay, period, successes = _timing(probe)
    return delay + (successes - 1) * period


def failure(container: dict[str, Any], pod_ip: str) -> str:
    """The prober's words for a tcpSocket / httpGet readiness probe of a placeholder (nothing listens)."""
    probe = container["readinessProbe"]
    if "httpGet" in probe:
        h = probe["httpGet"]
        try:
            port = resolve_port(h.get("port"), container)
        except ValueError as exc:
            return str(exc)
        host = h.get("host") or pod_ip
        scheme = str(h.get("scheme", "HTTP")).lower()
        refused = f"dial tcp {host}:{port}: connect: connection refused"
        return f'Get "{scheme}://{host}:{port}{h.get("path", "/")}": {refused}'
    if "tcpSocket" in probe:
        try:
            port = resolve_port(probe["tcpSocket"].get("port"), container)
        except ValueError as exc:
            return str(exc)
        return f"dial tcp {probe['tcpSocket'].get('host') or pod_ip}:{port}: connect: connection refused"
    return "probe handler not supported by the embedded cluster (use httpGet, tcpSocket or exec)"


def failed_runs(container: dict[str, Any], elapsed: float) -> int:
    """How many runs of a failing readiness probe happened `elapsed` seconds after the container started."""
    delay, period, _ = _timing(container["readinessProbe"])
    if elapsed < delay:
        return 0
    return 1 + int((elapsed - delay) // period)


def next_change(container: dict[str, Any], elapsed: float) -> float | None:
    """Seconds from now until the container's readiness (or its failing probe's count) next changes."""
    probe = container.get("readinessProbe")
    if not probe:
        return None
    after = ready_after(container)
    if after is not None:
        return after - elapsed if elapsed < after else None
    delay, period, _ = _timing(probe)
    if elapsed < delay:
        return delay - elapsed
    return period - ((elapsed - delay) % period)


class PlaceholderReadiness:
    """Applies the rules above to the placeholder runtime's container states on every sync, and has the
    kubelet sync the pod again when its readiness next changes (`notify`, set by the cluster)."""

    def __init__(self) -> None:
        self.notify: Callable[[str, str], None] | None = None
        self._started: dict[str, float] = {}  # pod uid -> when its containers started (monotonic)
        self._reported: dict[tuple[str, str], int] = {}  # (uid, container) -> failed runs reported
        self._timers: dict[str, asyncio.TimerHandle] = {}

    def refresh(self, pod: dict[str, Any], states: list[ContainerState]) -> None:
        uid = pod["metadata"]["uid"]
        now = time.monotonic()
        elapsed = now - self._started.setdefault(uid, now)
        specs = {c["name"]: c for c in pod["spec"].get("containers") or []}
        wake: list[float] = []
        for st in states:
            spec = specs.get(st.name)
            if spec is None or not st.running:
                continue
            after = ready_after(spec)
            st.ready = after is not None and elapsed >= after
            if after is None:
                runs = failed_runs(spec, elapsed)
                key = (uid, st.name)
                for _ in range(runs - self._reported.get(key, 0)):
                    message = failure(spec, (pod.get("status") or {}).get("podIP", ""))
                    st.events.append(("Warning", "Unhealthy", f"Readiness probe failed: {message}"))
                self._reported[key] = runs
            later = next_change(spec, elapsed)
            if later is not None:
                wake.append(later)
        if wake:
            self._wake(pod, min(wake) + 0.01)

    def _wake(self, pod: dict[str, Any], delay: float) -> None:
        notify = self.notify
        if notify is None:
            return
        uid, ns, name = pod["metadata"]["uid"], pod["metadata"]["namespace"], pod["metadata"]["name"]
        old = self._timers.pop(uid, None)
        if old is not None:
            old.cancel()
        self._timers[uid] = asyncio.get_running_loop().call_later(delay, notify, ns, name)

    def forget(self, uid: str) -> None:
        self._started.pop(uid, None)
        timer = self._timers.pop(uid, None)
        if timer is not None:
            timer.cancel()
        for key in [k for k in self._reported if k[0] == uid]:
            del self._reported[key]
