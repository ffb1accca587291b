"""A pod's phase from its containers' states, as the kubelet's getPhase (kubelet_pods.go) computes it.

A container that is running counts as running; one terminated, or waiting to restart after it terminated
(CrashLoopBackOff, RunContainerError), as stopped; one waiting that never ran as waiting. Any waiting container
leaves the pod Pending; otherwise a running one makes it Running. With every container stopped the pod is Running
when it restarts them (restartPolicy Always, or OnFailure after a failure), Succeeded when all exited 0, Failed
under restartPolicy Never. So a crash-looping pod is Running, as `kubectl get pods -o wide` and field selectors
on `status.phase` see it on a real node.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubesim.runtime.base import ContainerState


def pod_phase(states: Sequence[ContainerState], restart_policy: str) -> str:
    running = waiting = stopped = succeeded = 0
    for s in states:
        if s.running:
            running += 1
        elif s.terminated:
            stopped += 1
            succeeded += s.terminated.get("exitCode") == 0
        elif s.last_terminated:
            stopped += 1
        else:
            waiting += 1
    if not states or waiting:
        return "Pending"
    if running:
        return "Running"
    if restart_policy == "Always":
        return "Running"
    if stopped == succeeded:
        return "Succeeded"
    if restart_policy == "Never":
        return "Failed"
    return "Running"
