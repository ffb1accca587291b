"""What the kubelet needs from a container runtime, and the placeholder runtime."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol

from kubesim.registry import now_rfc3339
from kubesim.runtime.placeholder_probes import PlaceholderReadiness


@dataclass
class ContainerState:
    """The kubelet's view of one container, turned into a containerStatus."""

    name: str
    image: str
    running: bool = False
    ready: bool = False
    started: bool = False
    started_at: str = ""
    restart_count: int = 0
    container_id: str = ""
    waiting_reason: str = "ContainerCreating"
    waiting_message: str = ""
    terminated: dict[str, Any] | None = None  # current state terminated (exitCode, reason, startedAt, finishedAt)
    last_terminated: dict[str, Any] | None = None
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (type, reason, message) not yet recorded
    node_events: list[tuple[str, str, str]] = field(default_factory=list)  # the same, about the node
    init: bool = False  # an init container (spec.initContainers): reported in initContainerStatuses


class Runtime(Protocol):
    def sync(self, pod: dict[str, Any]) -> list[ContainerState]:
        """Make the pod's containers run as its spec says; return their current states (init containers
        first, marked `init`, then the app containers)."""

    def kill(self, pod: dict[str, Any], grace_s: float) -> bool:
        """Begin stopping the pod's containers; True once every one has stopped."""

    def forget(self, uid: str) -> None:
        """The pod is gone: drop what the runtime kept for it."""


def container_id(uid: str, name: str, restart: int) -> str:
    return "containerd://" + hashlib.sha256(f"{uid}/{name}/{restart}".encode()).hexdigest()


def normalize_image(image: str) -> str:
    """containerd's fully qualified reference: nginx:1.27 -> docker.io/library/nginx:1.27."""
    name = image
    if "/" not in name.split(":")[0] or (
        "." not in name.split("/")[0] and ":" not in name.split("/")[0] and name.split("/")[0] != "localhost"
    ):
        name = f"docker.io/{name}" if "/" in name else f"docker.io/library/{name}"
    if ":" not in name.rsplit("/", 1)[-1] and "@" not in name:
        name += ":latest"
    return name


def placeholder_state(uid: str, c: dict[str, Any], now: str, *, runs: bool) -> ContainerState:
    """A placeholder container just started: running (and ready), or already exited 0 (Completed)."""
    st = ContainerState(name=c["name"], image=c["image"], started_at=now, container_id=container_id(uid, c["name"], 0))
    if runs:
        st.running = st.ready = st.started = True
    else:
        st.terminated = {
            "exitCode": 0,
            "reason": "Completed",
            "startedAt": now,
            "finishedAt": now,
            "containerID": st.container_id,
        }
    st.events = [
        ("Normal", "Pulled", f'Container image "{c["image"]}" already present on machine'),
        ("Normal", "Created", f"Created container: {c['name']}"),
        ("Normal", "Started", f"Started container {c['name']}"),
    ]
    return st


def init_completed(uid: str, c: dict[str, Any], now: str) -> ContainerState:
    """The state of a placeholder init container: done, exit code 0 (a restartable one, a sidecar, runs on)."""
    st = placeholder_state(uid, c, now, runs=c.get("restartPolicy") == "Always")
    st.init = True
    st.ready = True
    return st


class PlaceholderRuntime:
    """Containers that report Running at once, Ready as their readiness probe allows (Job pods complete), for
    images the project does not own. They write a start line to their log so `kubectl logs` has something
    true to show."""

    def __init__(self, logs: Any) -> None:
        self.logs = logs
        self._states: dict[str, list[ContainerState]] = {}
        self.readiness = PlaceholderReadiness()  # readiness probes' delays and outcomes (placeholder_probes.py)

    def sync(self, pod: dict[str, Any]) -> list[ContainerState]:
        uid = pod["metadata"]["uid"]
        states = self._states.get(uid)
        if states is None:
            job = any(r.get("kind") == "Job" for r in pod["metadata"].get("ownerReferences") or [])
            now = now_rfc3339()
            states = [self.init_state(pod, c, now) for c in pod["spec"].get("initContainers") or []]
            for c in pod["spec"].get("containers") or []:
                st = placeholder_state(uid, c, now, runs=not job)
                self.logs.append(
                    pod["metadata"]["namespace"],
                    pod["metadata"]["name"],
                    uid,
                    c["name"],
                    restart=0,
                    text=f"placeholder container {c['name']} ({c['image']}) started",
                )
                states.append(st)
            self._states[uid] = states
        self.readiness.refresh(pod, [s for s in states if not s.init])
        return states

    def init_state(self, pod: dict[str, Any], c: dict[str, Any], now: str = "") -> ContainerState:
        """A placeholder init container has done its work at once (exit 0, Completed), as the program it stands
        for would; its log says so."""
        st = init_completed(pod["metadata"]["uid"], c, now or now_rfc3339())
        self.logs.append(
            pod["metadata"]["namespace"],
            pod["metadata"]["name"],
            pod["metadata"]["uid"],
            c["name"],
            restart=0,
            text=f"placeholder init container {c['name']} ({c['image']}) completed",
        )
        return st

    def kill(self, pod: dict[str, Any], grace_s: float) -> bool:
        self._states.pop(pod["metadata"]["uid"], None)
        self.readiness.forget(pod["metadata"]["uid"])
        return True

    def forget(self, uid: str) -> None:
        self._states.pop(uid, None)
        self.readiness.forget(uid)
