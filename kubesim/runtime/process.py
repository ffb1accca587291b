"""Pods whose images the project owns run as real local processes: env, logs, probes, restarts, stop."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
import signal
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from kubesim.logs import LogStore, stamp
from kubesim.registry import now_rfc3339
from kubesim.runtime import probes, volumes
from kubesim.runtime.base import ContainerState, container_id
from kubesim.runtime.cgroups import CgroupDriver, ContainerCgroup
from kubesim.runtime.env import EnvError, container_env
from kubesim.runtime.hook.sitecustomize import NetMap
from kubesim.runtime.images import (
    VENV_BIN,
    argv_for,
    command_words,
    program_for,
    repository,
    runs_in_toolbox,
    toolbox_words,
)
from kubesim.store import Store
from kubesim.toolbox import toolbox_for
from kubesim.toolbox.podfs import make_rootfs
from kubesim.usage import Limits

log = logging.getLogger("kubesim.runtime")
HOOK_DIR = Path(__file__).resolve().parent / "hook"
REPO_ROOT = Path(__file__).resolve().parents[2]
MAX_BACKOFF_S = 300.0


class StartError(Exception):
    """The runtime could not start a container's process; the message is containerd's."""


def pull_problem(image: str) -> str:
    """Why the image cannot be pulled now ("" when it can): the registry's answer, or the missing programs."""
    program = program_for(image)
    if program is None:
        return ""
    return program.pull_error or "; ".join(r.how() for r in program.missing())


def _restored(uid: str, spec: dict[str, Any], before: dict[str, Any]) -> ContainerState:
    """An init container that completed before the server restarted: its last reported state."""
    term = (before.get("state") or {}).get("terminated") or {"exitCode": 0, "reason": "Completed"}
    return ContainerState(
        name=spec["name"],
        image=spec["image"],
        ready=True,
        restart_count=int(before.get("restartCount", 0)),
        container_id=str(before.get("containerID") or container_id(uid, spec["name"], 0)),
        terminated=term,
        init=True,
    )


class Container:
    """One container of a pod: its process, supervisor and probe loops."""

    def __init__(self, pod: PodProcesses, spec: dict[str, Any], restart_count: int, *, init: bool = False) -> None:
        self.pod = pod
        self.spec = spec
        self.name = spec["name"]
        self.init = init
        self.sidecar = init and spec.get("restartPolicy") == "Always"  # a restartable init container
        self.state = ContainerState(name=self.name, image=spec["image"], restart_count=restart_count, init=init)
        if init and not self.sidecar:
            self.state.waiting_reason = "PodInitializing"
        self.proc: asyncio.subprocess.Process | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self.stopping = False
        self.killed_by_probe = False
        self.env: dict[str, str] = {}
        self.cgroup: ContainerCgroup | None = None
        self.oom_kills = 0  # the cgroup's OOM counter when the current process started
        self.comm = ""  # the process name the kernel reports (an OOM kill names it)
        self.mounted: dict[str, str] = {}  # mountPath -> directory on this machine (kubesim/runtime/volumes.py)
        self.listeners: set[Callable[[int, bytes], None]] = set()  # attached clients: (channel, output line)
        self.attached_once = False  # stdinOnce: the first attach session has ended

    @property
    def policy(self) -> str:
        """When the container is restarted: the pod's restartPolicy; an init container runs until it succeeds
        (OnFailure) unless the pod's policy is Never, and a sidecar (restartPolicy Always) always restarts."""
        pod_policy = str(self.pod.spec.get("restartPolicy", "Always"))
        if self.sidecar:
            return "Always"
        if self.init:
            return "Never" if pod_policy == "Never" else "OnFailure"
        return pod_policy

    # ---- lifecycle ---------------------------------------------------------------------------
    async def supervise(self) -> None:
        backoff = 0.0
        while not self.stopping:
            started = time.monotonic()
            try:
                if not await self._start():
                    return
                assert self.proc is not None
                code = await self.proc.wait()
                self._on_exit(code)
            except StartError as failed:  # the runtime could not start the process: exit code 128
                code = 128
                self._on_start_error(str(failed))
            if self.stopping:
                return
            policy = self.policy
            if policy == "Never" or (policy == "OnFailure" and code == 0):
                return
            if time.monotonic() - started > 600:
                backoff = 0.0
            if backoff:
                self.state.waiting_reason = "CrashLoopBackOff"
                self.state.waiting_message = (
                    f"back-off {int(backoff)}s restarting failed container={self.name} "
                    f"pod={self.pod.name}_{self.pod.ns}({self.pod.uid})"
                )
                self.event(
                    "Warning",
                    "BackOff",
                    f"Back-off restarting failed container {self.name} in pod "
                    f"{self.pod.name}_{self.pod.ns}({self.pod.uid})",
                )
                self.pod.changed()
                with contextlib.suppress(asyncio.CancelledError):
                    await self.pod.sleep(backoff)
            backoff = min(MAX_BACKOFF_S, backoff * 2 if backoff else 10.0)
            self.state.restart_count += 1

    async def _start(self) -> bool:
        image = self.spec["image"]
        program = program_for(image)
        assert program is not None
        if program.invalid_name:
            return await self._invalid_name(program.invalid_name)
        problem = pull_problem(image)
        if problem:
            return await self._pull_failed(image, problem)
        try:
            mounted = volumes.mounts(self.pod.store, self.pod.obj, self.spec, self.pod.workdir)
            rootfs = self.pod.workdir / "rootfs" / self.name  # the container's writable layer (toolbox/podfs.py)
            if not rootfs.is_dir():
                make_rootfs(rootfs)
            self.env = (
                self.pod.base_env()
                | {"KUBESIM_IMAGE": image, "KUBESIM_MOUNTS": volumes.env_value(mounted), "KUBESIM_ROOTFS": str(rootfs)}
                | container_env(self.pod.store, self.pod.obj, self.spec)
            )
        except (EnvError, volumes.VolumeNotReady) as exc:
            mount = isinstance(exc, volumes.VolumeNotReady)
            self.state.waiting_reason = "ContainerCreating" if mount else "CreateContainerConfigError"
            self.state.waiting_message = str(exc)
            if mount:
                self.event("Warning", "FailedMount", f"MountVolume.SetUp failed: {exc}")
            else:
                self.event("Warning", "Failed", f"Error: {exc}")
            self.pod.changed()
            await self.pod.sleep(2.0)
            return not self.stopping and await self._start()
        argv = argv_for(image, self.spec.get("command"), self.spec.get("args"), mounted)
        self.mounted = mounted
        command, args = self.spec.get("command"), self.spec.get("args")
        boxed = bool(program.toolbox) or runs_in_toolbox(image, command, args)  # the toolbox runs it
        words = (toolbox_words if program.toolbox else command_words)(image, command, args) if boxed else argv
        self.env["KUBESIM_MAIN_ARGV"] = json.dumps(words if boxed else self.main_argv())
        executable = words[0] if boxed else argv[0]
        not_found = (
            not toolbox_for(repository(image)).has(executable.rsplit("/", 1)[-1])
            if boxed
            else shutil.which(argv[0], path=self.env.get("PATH")) is None
        )
        if not_found:  # as runc reports a missing executable
            return await self._start_failed(
                f'exec: "{executable}": executable file not found in $PATH'
                if os.sep not in executable
                else f'exec: "{executable}": stat {executable}: no such file or directory'
            )
        try:
            self.cgroup = self.pod.runtime.cgroups.create(self.pod.uid, self.name, Limits.of(self.spec))
        except (OSError, ValueError) as exc:
            return await self._start_failed(f"failed to create the container's cgroup: {exc}")
        self.oom_kills = self.cgroup.stats().oom_kills
        self.comm = Path(argv[0]).name[:15]
        log_path = self.pod.logs.path(self.pod.ns, self.pod.name, self.pod.uid, self.name, self.state.restart_count)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *self.cgroup.wrap(argv),
                env=self.env,
                cwd=str(self.pod.workdir),
                stdin=asyncio.subprocess.PIPE if self.spec.get("stdin") else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                start_new_session=True,
            )
        except OSError as exc:  # the process could not be started at all: the runtime's StartError
            return await self._start_failed(f"exec: {argv[0]!r}: {exc.strerror or exc}")
        self.cgroup.attach(self.proc.pid)
        self.pod.pidfile(self.name).write_text(str(self.proc.pid))
        st = self.state
        st.container_id = container_id(self.pod.uid, self.name, st.restart_count)
        st.running, st.started_at, st.terminated = True, now_rfc3339(), None
        st.started = "startupProbe" not in self.spec
        # An init container is ready once it has completed (a sidecar as its probes say).
        st.ready = st.started and "readinessProbe" not in self.spec and (self.sidecar or not self.init)
        st.waiting_reason = st.waiting_message = ""
        if st.restart_count == 0:
            self.event("Normal", "Pulled", f'Container image "{self.spec["image"]}" already present on machine')
        self.event("Normal", "Created", f"Created container: {self.name}")
        self.event("Normal", "Started", f"Started container {self.name}")
        proc = self.proc
        assert proc.stdout is not None and proc.stderr is not None
        self.tasks = [
            asyncio.create_task(self._pump(proc.stdout, log_path, 1)),
            asyncio.create_task(self._pump(proc.stderr, log_path, 2)),
            *[
                asyncio.create_task(self._probe_loop(kind, proc))
                for kind in ("startupProbe", "livenessProbe", "readinessProbe")
                if kind in self.spec
            ],
        ]
        self.pod.changed()
        return True

    async def _pull_failed(self, image: str, why: str) -> bool:
        """The image cannot be had (no registry has the tag, or its program is not on this machine): ErrImagePull,
        then ImagePullBackOff, with the kubelet's events and messages; it is tried again after each back-off (10 s
        doubling to 300 s; the package may get installed meanwhile)."""
        backoff = 10.0
        st = self.state
        while not self.stopping:
            self.event("Normal", "Pulling", f'Pulling image "{image}"')
            st.waiting_reason, st.waiting_message = "ErrImagePull", why
            self.event("Warning", "Failed", f'Failed to pull image "{image}": {why}')
            self.event("Warning", "Failed", "Error: ErrImagePull")
            await self.pod.sleep(1.0)
            if self.stopping:
                return False
            st.waiting_reason = "ImagePullBackOff"
            st.waiting_message = f'Back-off pulling image "{image}": ErrImagePull: {why}'
            self.event("Normal", "BackOff", f'Back-off pulling image "{image}"')
            self.event("Warning", "Failed", "Error: ImagePullBackOff")
            await self.pod.sleep(backoff)
            backoff = min(MAX_BACKOFF_S, backoff * 2)
            if not pull_problem(image):
                return await self._start()
        return False

    async def _invalid_name(self, why: str) -> bool:
        """A reference the kubelet cannot parse: InvalidImageName, for as long as the pod lives."""
        st = self.state
        st.waiting_reason, st.waiting_message = "InvalidImageName", why
        self.event("Warning", "InspectFailed", why)
        self.event("Warning", "Failed", "Error: InvalidImageName")
        while not self.stopping:
            await self.pod.sleep(60.0)
        return False

    async def _start_failed(self, why: str) -> bool:
        """runc could not start the process (no such executable, ...): containerd's message, StartError."""
        raise StartError(
            "failed to create containerd task: failed to create shim task: OCI runtime create failed: "
            f"runc create failed: unable to start container process: {why}: unknown"
        )

    def _on_start_error(self, message: str) -> None:
        """A container whose process never started: terminated with reason StartError and exit code 128, then
        restarted as the pod's restartPolicy says (RunContainerError while it waits, as the kubelet shows it)."""
        st = self.state
        st.container_id = container_id(self.pod.uid, self.name, st.restart_count)
        self.event("Warning", "Failed", f"Error: {message}")
        term = {
            "exitCode": 128,
            "reason": "StartError",
            "message": message,
            "startedAt": "1970-01-01T00:00:00Z",
            "finishedAt": now_rfc3339(),
            "containerID": st.container_id,
        }
        st.running = st.ready = st.started = False
        policy = self.policy
        if not self.stopping and policy != "Never":
            st.last_terminated, st.terminated = term, None
            st.waiting_reason, st.waiting_message = "RunContainerError", message
        else:
            st.terminated = term
        self.pod.changed()

    def _on_exit(self, code: int) -> None:
        for task in self.tasks:
            if not task.done() and task is not asyncio.current_task():
                task.cancel()
        self.pod.pidfile(self.name).unlink(missing_ok=True)
        st = self.state
        finished = now_rfc3339()
        reason = "Completed" if code == 0 else "Error"
        exit_code = code if code >= 0 else 128 - code
        if code != 0 and self._oom_killed():
            # The kernel killed it at its memory limit: what containerd reports and the kubelet's OOM
            # watcher records on the node.
            reason, exit_code = "OOMKilled", 137
            pid = self.proc.pid if self.proc is not None else 0
            self.state.node_events.append(
                ("Warning", "SystemOOM", f"System OOM encountered, victim process: {self.comm}, pid: {pid}")
            )
        term = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": st.started_at,
            "finishedAt": finished,
            "containerID": st.container_id,
        }
        st.running = st.ready = st.started = False
        st.ready = self.init and not self.sidecar and exit_code == 0  # a completed init container is ready
        policy = self.policy
        restarts = not self.stopping and not (policy == "Never" or (policy == "OnFailure" and code == 0))
        if restarts:
            st.last_terminated, st.terminated = term, None
            st.waiting_reason = "ContainerCreating"
        else:
            st.terminated = term
        self.pod.changed()

    def _oom_killed(self) -> bool:
        """Whether the cgroup's OOM counter rose since the current process started."""
        if self.cgroup is None:
            return False
        try:
            return self.cgroup.stats().oom_kills > self.oom_kills
        except OSError:  # the cgroup is already gone: nothing to tell
            return False

    async def _pump(self, stream: asyncio.StreamReader, path: Path, channel: int) -> None:
        """Copy one output stream into the container's log, and to whoever is attached (channel 1 or 2)."""
        with path.open("a", encoding="utf-8") as fh:
            while True:
                line = await stream.readline()
                if not line:
                    return
                fh.write(f"{stamp()} {line.decode('utf-8', errors='replace').rstrip(chr(10))}\n")
                fh.flush()
                for listener in list(self.listeners):
                    listener(channel, line)

    def main_argv(self) -> list[str]:
        """The container's main process as `ps` in it shows it: its command and args, else the image's name."""
        words = [*(self.spec.get("command") or []), *(self.spec.get("args") or [])]
        return words or [self.spec["image"].rsplit("/", 1)[-1].split(":", 1)[0]]

    async def _probe_loop(self, kind: str, proc: asyncio.subprocess.Process) -> None:
        probe = self.spec[kind]
        if kind != "startupProbe" and "startupProbe" in self.spec:
            while not self.state.started:
                await asyncio.sleep(0.1)
        await asyncio.sleep(float(probe.get("initialDelaySeconds", 0)))
        successes = failures = 0
        period = float(probe.get("periodSeconds", 10))
        label = {"startupProbe": "Startup", "livenessProbe": "Liveness", "readinessProbe": "Readiness"}[kind]
        while proc.returncode is None:
            ok, message = await probes.run(
                self.pod.runtime.net, probe, self.spec, self.pod.ip, env=self.env, cwd=str(self.pod.workdir)
            )
            if proc.returncode is not None:
                return
            if ok:
                successes, failures = successes + 1, 0
            else:
                successes, failures = 0, failures + 1
                self.event("Warning", "Unhealthy", f"{label} probe failed: {message}")
            if kind == "readinessProbe":
                if ok and successes >= int(probe.get("successThreshold", 1)) and not self.state.ready:
                    self.state.ready = True
                    self.pod.changed()
                elif not ok and failures >= int(probe.get("failureThreshold", 3)) and self.state.ready:
                    self.state.ready = False
                    self.pod.changed()
                elif not ok and not self.state.ready:
                    pass
            elif kind == "startupProbe" and ok:
                self.state.started = True
                self.state.ready = "readinessProbe" not in self.spec
                self.pod.changed()
                return
            if kind in ("livenessProbe", "startupProbe") and failures >= int(probe.get("failureThreshold", 3)):
                self.event(
                    "Normal", "Killing", f"Container {self.name} failed {label.lower()} probe, will be restarted"
                )
                await self.terminate(float(self.pod.spec.get("terminationGracePeriodSeconds", 30)))
                return
            await asyncio.sleep(period)

    async def terminate(self, grace: float) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), timeout=max(grace, 0.1))
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            await proc.wait()

    def event(self, type_: str, reason: str, message: str) -> None:
        self.state.events.append((type_, reason, message))
        self.pod.changed()


class PodProcesses:
    """The processes of one pod, bound to the pod's loopback address."""

    def __init__(self, runtime: ProcessRuntime, pod: dict[str, Any]) -> None:
        self.runtime = runtime
        self.obj = pod
        self.uid = pod["metadata"]["uid"]
        self.ns = pod["metadata"]["namespace"]
        self.name = pod["metadata"]["name"]
        self.spec = pod["spec"]
        self.ip = pod["status"]["podIP"]
        self.node = pod["spec"].get("nodeName", "")
        self.store = runtime.store
        self.logs = runtime.logs
        self.workdir = runtime.root / "pods" / self.uid
        self.workdir.mkdir(parents=True, exist_ok=True)
        status = pod.get("status") or {}
        previous = {
            s["name"]: s
            for s in [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
        }
        # Init containers already done (the server restarted after they completed): not run again, as a
        # kubelet does not rerun them while the pod's sandbox lives.
        initialized = any(
            c.get("type") == "Initialized" and c.get("status") == "True" for c in status.get("conditions") or []
        )
        self.inits: list[Container | ContainerState] = []  # spec.initContainers, in order
        for spec in pod["spec"].get("initContainers") or []:
            before = previous.get(spec["name"]) or {}
            if initialized and spec.get("restartPolicy") != "Always":
                self.inits.append(_restored(self.uid, spec, before))
            elif program_for(spec["image"]) is not None:
                self.inits.append(Container(self, spec, int(before.get("restartCount", 0)), init=True))
            else:
                self.inits.append(runtime.placeholder.init_state(pod, spec))
        self.containers: list[Container] = []  # the app containers that run as processes
        self.placeholders: list[ContainerState] = []
        self.placeholder_specs: list[dict[str, Any]] = []
        for spec in pod["spec"].get("containers") or []:
            if program_for(spec["image"]) is not None:
                self.containers.append(
                    Container(self, spec, int((previous.get(spec["name"]) or {}).get("restartCount", 0)))
                )
            else:
                self.placeholder_specs.append(spec)
        if pod["spec"].get("initContainers"):
            for c in self.containers:
                c.state.waiting_reason = "PodInitializing"
        self.initialized = False
        self.init_failed = False
        self.stopping = False
        self.supervisors: list[asyncio.Task[None]] = []
        self.stop_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.main = asyncio.create_task(self._run())

    @property
    def all_containers(self) -> list[Container]:
        """Every container that runs as a process: init containers and app containers."""
        return [c for c in self.inits if isinstance(c, Container)] + self.containers

    async def _run(self) -> None:
        """As a kubelet starts a pod: each init container in order, the next only once the one before has
        completed successfully (a sidecar, restartPolicy Always, once it has started, and it runs on), then the
        app containers. A failed init container is restarted with back-off, or, under restartPolicy Never,
        fails the pod."""
        for item in self.inits:
            if isinstance(item, ContainerState):
                continue
            if item.sidecar:
                self.supervisors.append(asyncio.create_task(item.supervise()))
                while not item.state.started and not item.stopping:
                    await self.sleep(0.1)
                continue
            await item.supervise()
            term = item.state.terminated or {}
            if item.stopping:
                return
            if term.get("exitCode") != 0:
                self.init_failed = True
                self.changed()
                return
        if self.stopping:
            return
        self.initialized = True
        for spec in self.placeholder_specs:
            pod = {**self.obj, "spec": {**self.obj["spec"], "containers": [spec], "initContainers": []}}
            self.placeholders.extend(self.runtime.placeholder.sync(pod))
        self.supervisors.extend(asyncio.create_task(c.supervise()) for c in self.containers)
        self.changed()

    def base_env(self) -> dict[str, str]:
        return {
            # The venv's programs first (locust, nx-27017), as an image has its own on PATH.
            "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
            "HOSTNAME": self.name,
            "LANG": "C.UTF-8",
            "HOME": str(self.workdir),
            "PYTHONUNBUFFERED": "1",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": f"{HOOK_DIR}{os.pathsep}{REPO_ROOT}",
            "KUBERNETES_SERVICE_HOST": "10.96.0.1",
            "KUBERNETES_SERVICE_PORT": "443",
            "KUBESIM_NET_MAP": str(self.runtime.net_map),
            "KUBESIM_POD_NAMESPACE": self.ns,
            # The pod's own address as this machine knows it (its loopback image): servers listen there.
            "KUBESIM_POD_IP": self.runtime.net.loopback(self.ip, 0)[0],
        }

    def pidfile(self, container: str) -> Path:
        return self.runtime.pids / f"{self.uid}_{container}.pid"

    def changed(self) -> None:
        self.runtime.notify(self.ns, self.name)

    async def sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    def states(self) -> list[ContainerState]:
        """Init containers' states, then the app containers' (waiting in PodInitializing until the init
        containers are done)."""
        inits = [c if isinstance(c, ContainerState) else c.state for c in self.inits]
        by_name = {c.name: c.state for c in self.containers} | {s.name: s for s in self.placeholders}
        apps = []
        for spec in self.spec.get("containers") or []:
            st = by_name.get(spec["name"])
            if st is None:  # a placeholder container not started yet
                st = ContainerState(name=spec["name"], image=spec["image"], waiting_reason="PodInitializing")
            apps.append(st)
        return [*inits, *apps]

    async def stop(self, grace: float) -> None:
        self.stopping = True
        everyone = self.all_containers
        for c in everyone:
            c.stopping = True
            if c.proc is not None and c.proc.returncode is None:
                c.event("Normal", "Killing", f"Stopping container {c.name}")
        self._wake.set()
        await asyncio.gather(*(c.terminate(grace) for c in everyone), return_exceptions=True)
        await asyncio.gather(self.main, return_exceptions=True)
        await asyncio.gather(*self.supervisors, return_exceptions=True)

    @property
    def stopped(self) -> bool:
        return self.stop_task is not None and self.stop_task.done()


class ProcessRuntime:
    def __init__(
        self,
        net: NetMap,
        store: Store,
        logs: LogStore,
        root: Path,
        *,
        placeholder: Any,
        notify: Callable[[str, str], None],
        cgroups: CgroupDriver,
    ) -> None:
        self.net = net
        self.store = store
        self.logs = logs
        self.root = root
        self.placeholder = placeholder
        self.notify = notify
        self.cgroups = cgroups
        self.net_map = root / "net.json"
        self.pids = root / "pods"
        self.pids.mkdir(parents=True, exist_ok=True)
        self.pods: dict[str, PodProcesses] = {}

    def handles(self, pod: dict[str, Any]) -> bool:
        spec = pod["spec"]
        return any(program_for(c.get("image", "")) for c in [*(spec.get("initContainers") or []), *spec["containers"]])

    def sync(self, pod: dict[str, Any]) -> list[ContainerState]:
        uid = pod["metadata"]["uid"]
        running = self.pods.get(uid)
        if running is None:
            running = self.pods[uid] = PodProcesses(self, pod)
        running.obj = pod
        return running.states()

    def kill(self, pod: dict[str, Any], grace_s: float) -> bool:
        running = self.pods.get(pod["metadata"]["uid"])
        if running is None:
            return True
        if running.stop_task is None:
            running.stop_task = asyncio.create_task(running.stop(grace_s))
            running.stop_task.add_done_callback(lambda _: self.notify(running.ns, running.name))
        return running.stopped

    def forget(self, uid: str) -> None:
        if self.pods.pop(uid, None) is not None:
            self.cgroups.remove_pod(uid)
            shutil.rmtree(self.root / "pods" / uid / "rootfs", ignore_errors=True)  # containers' writable layers
        self.placeholder.forget(uid)

    async def shutdown(self) -> None:
        await asyncio.gather(*(p.stop(2.0) for p in self.pods.values()), return_exceptions=True)
        self.pods.clear()
        self.cgroups.cleanup()
