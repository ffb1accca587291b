"""The Pod printer: READY, STATUS and RESTARTS worked out the way the apiserver does."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._util import (
    NAME_DOC,
    Cells,
    Obj,
    Printer,
    age,
    age_col,
    as_utc,
    col,
    condition_true,
    human_duration,
    int_of,
    name,
    parse_time,
)

# Kubernetes' node.NodeUnreachablePodReason.
NODE_LOST = "NodeLost"


def _terminated_reason(term: Any, prefix: str) -> str:
    if term.get("reason"):
        return f"{prefix}{term['reason']}"
    if int_of(term.get("signal")) != 0:
        return f"{prefix}Signal:{int_of(term.get('signal'))}"
    return f"{prefix}ExitCode:{int_of(term.get('exitCode'))}"


def _later(current: datetime | None, status: Any) -> datetime | None:
    """Keep the latest lastState.terminated.finishedAt seen so far."""
    finished = parse_time(((status.get("lastState") or {}).get("terminated") or {}).get("finishedAt"))
    if finished is not None and (current is None or current < finished):
        return finished
    return current


def pod_summary(pod: Obj) -> tuple[str, str, int, datetime | None]:
    """(ready "n/m", status reason, restarts, last restart time) exactly as printPod computes them."""
    spec = pod.get("spec") or {}
    st = pod.get("status") or {}
    meta = pod.get("metadata") or {}
    phase = st.get("phase") or "Pending"  # the apiserver sets Pending on create
    reason = st.get("reason") or phase
    for cond in st.get("conditions") or []:
        if cond.get("type") == "PodScheduled" and cond.get("reason") == "SchedulingGated":
            reason = "SchedulingGated"

    init_specs = {c.get("name"): c for c in spec.get("initContainers") or []}
    n_init = len(spec.get("initContainers") or [])

    def restartable(cname: Any) -> bool:
        return (init_specs.get(cname) or {}).get("restartPolicy") == "Always"

    total = len(spec.get("containers") or []) + sum(
        1 for c in init_specs.values() if c.get("restartPolicy") == "Always"
    )
    ready = 0
    restarts = 0
    sidecar_restarts = 0
    last_restart: datetime | None = None
    last_sidecar_restart: datetime | None = None

    initializing = False
    for i, cs in enumerate(st.get("initContainerStatuses") or []):
        restarts += int_of(cs.get("restartCount"))
        last_restart = _later(last_restart, cs)
        if restartable(cs.get("name")):
            sidecar_restarts += int_of(cs.get("restartCount"))
            last_sidecar_restart = _later(last_sidecar_restart, cs)
        state = cs.get("state") or {}
        term = state.get("terminated")
        waiting = state.get("waiting")
        if term is not None and int_of(term.get("exitCode")) == 0:
            continue
        if restartable(cs.get("name")) and cs.get("started"):
            if cs.get("ready"):
                ready += 1
            continue
        if term is not None:
            reason = _terminated_reason(term, "Init:")
        elif waiting is not None and waiting.get("reason") and waiting.get("reason") != "PodInitializing":
            reason = f"Init:{waiting['reason']}"
        else:
            reason = f"Init:{i}/{n_init}"
        initializing = True
        break

    if not initializing or condition_true(st.get("conditions"), "Initialized"):
        restarts = sidecar_restarts
        last_restart = last_sidecar_restart
        has_running = False
        for cs in reversed(st.get("containerStatuses") or []):
            restarts += int_of(cs.get("restartCount"))
            last_restart = _later(last_restart, cs)
            state = cs.get("state") or {}
            waiting = state.get("waiting")
            term = state.get("terminated")
            if waiting is not None and waiting.get("reason"):
                reason = waiting["reason"]
            elif term is not None:
                reason = _terminated_reason(term, "")
            elif cs.get("ready") and state.get("running") is not None:
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if condition_true(st.get("conditions"), "Ready") else "NotReady"

    if meta.get("deletionTimestamp") and st.get("reason") == NODE_LOST:
        reason = "Unknown"
    elif meta.get("deletionTimestamp") and phase not in ("Succeeded", "Failed"):
        reason = "Terminating"
    return f"{ready}/{total}", reason, restarts, last_restart


def _pod_row(pod: Obj, now: datetime) -> Cells:
    spec = pod.get("spec") or {}
    st = pod.get("status") or {}
    ready, reason, restarts, last_restart = pod_summary(pod)
    restarts_cell = str(restarts)
    if restarts != 0 and last_restart is not None:
        restarts_cell = f"{restarts} ({human_duration(as_utc(now) - last_restart)} ago)"
    ips = st.get("podIPs") or []
    pod_ip = (ips[0].get("ip") if ips else st.get("podIP")) or "<none>"
    gates = spec.get("readinessGates") or []
    gates_cell = "<none>"
    if gates:
        true_count = 0
        for gate in gates:
            for cond in st.get("conditions") or []:
                if cond.get("type") == gate.get("conditionType"):
                    true_count += cond.get("status") == "True"
                    break
        gates_cell = f"{true_count}/{len(gates)}"
    return [
        name(pod),
        ready,
        reason,
        restarts_cell,
        age(pod, now),
        pod_ip,
        spec.get("nodeName") or "<none>",
        st.get("nominatedNodeName") or "<none>",
        gates_cell,
    ]


def _pod_conditions(pod: Obj) -> list[dict[str, Any]] | None:
    phase = (pod.get("status") or {}).get("phase")
    if phase == "Succeeded":
        return [
            {
                "type": "Completed",
                "status": "True",
                "reason": "Succeeded",
                "message": "The pod has completed successfully.",
            }
        ]
    if phase == "Failed":
        return [{"type": "Completed", "status": "True", "reason": "Failed", "message": "The pod failed."}]
    return None


POD = Printer(
    [
        col("Name", NAME_DOC, fmt="name"),
        col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
        col("Status", "The aggregate status of the containers in this pod."),
        col(
            "Restarts",
            "The number of times the containers in this pod have been restarted and when the last container in this "
            "pod has restarted.",
        ),
        age_col(),
        col(
            "IP",
            "podIP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.",
            priority=1,
        ),
        col("Node", "NodeName indicates in which node this pod is scheduled.", priority=1),
        col(
            "Nominated Node", "nominatedNodeName is set only when this pod preempts other pods on the node.", priority=1
        ),
        col("Readiness Gates", "If specified, all readiness gates will be evaluated for pod readiness.", priority=1),
    ],
    _pod_row,
    _pod_conditions,
)

PRINTERS = {("", "pods"): POD}
