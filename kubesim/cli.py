"""`python -m kubesim up|down|status|serve`: start the embedded cluster in the background, stop it by pid."""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from kubesim.config import CONTEXT, StateDir, default_root
from kubesim.tls import client_context


def alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours is not alive
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _is_ours(pid: int, root: Path) -> bool:
    """The pid still runs our server for this state dir (pids get reused: never signal a stranger)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return alive(pid)
    return b"kubesim" in b" ".join(cmdline) and str(root).encode() in cmdline


def _ready(state: StateDir, server: str, timeout: float = 0.5) -> bool:
    req = urllib.request.Request(f"{server}/readyz")
    try:
        with urllib.request.urlopen(req, timeout=timeout, context=client_context(state.root)) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


def running(state: StateDir) -> dict[str, object] | None:
    info = state.read_info()
    pid = info.get("pid")
    if isinstance(pid, int) and alive(pid) and _is_ours(pid, state.root):
        return info
    return None


def up(state: StateDir, timeout: float = 15.0, cgroups: str = "auto") -> int:
    info = running(state)
    if info:
        print(f"local cluster already running: {info['server']} (pid {info['pid']}), context {CONTEXT}")
        print(f"export KUBECONFIG={state.kubeconfig}")
        return 0
    stop_pod_processes(state)  # a server that died hard may have left its pods running
    state.write_info({**state.read_info(), "pid": None})
    start = time.monotonic()
    with state.log.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "kubesim", "serve", "--state-dir", str(state.root), "--cgroups", cgroups],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
    while time.monotonic() - start < timeout:
        info = state.read_info()
        if info.get("pid") == proc.pid and _ready(state, str(info["server"])):
            took = time.monotonic() - start
            print(f"local cluster up in {took:.2f}s: {info['server']} (pid {proc.pid}), context {CONTEXT}")
            print(f"export KUBECONFIG={state.kubeconfig}")
            return 0
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    if proc.poll() is None:
        proc.terminate()
        proc.wait(5)
    tail = state.log.read_text(errors="replace").splitlines()[-15:]
    print("the local cluster did not start; last lines of " + str(state.log) + ":\n" + "\n".join(tail), file=sys.stderr)
    return 1


def _stop_pid(pid: int, grace: float) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and alive(pid):
        time.sleep(0.05)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def stop_pod_processes(state: StateDir) -> int:
    """Stop pod processes a server left behind (it was SIGKILLed): their pids are on disk."""
    stopped = 0
    if not state.pods.is_dir():
        return 0
    for pidfile in state.pods.glob("*.pid"):
        try:
            pid = int(pidfile.read_text().strip())
        except ValueError:
            pidfile.unlink(missing_ok=True)
            continue
        if alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):  # each pod process leads its group
                os.killpg(pid, signal.SIGKILL)
            stopped += 1
        pidfile.unlink(missing_ok=True)
    return stopped


def remove_cgroups(state: StateDir) -> int:
    """Remove the cgroups of a server that died hard (a clean stop removes its own)."""
    from kubesim.runtime.cgroups import KernelDriver, detect  # noqa: PLC0415 - only `down` needs it
    from kubesim.runtime.wiring import cgroup_name  # noqa: PLC0415

    driver = detect(cgroup_name(state.root))  # (re)creates the cluster's top cgroups: they are not counted
    if not isinstance(driver, KernelDriver):
        return 0
    left = len(driver.leftovers()) - len(driver.hierarchies())
    driver.cleanup()
    return left


def down(state: StateDir, purge: bool = False) -> int:
    info = running(state)
    if info:
        _stop_pid(int(info["pid"]), grace=15.0)  # type: ignore[call-overload]
        print(f"local cluster stopped (pid {info['pid']})")
    else:
        print("local cluster is not running")
    leftovers = stop_pod_processes(state)
    if leftovers:
        print(f"stopped {leftovers} pod process(es) left behind")
    removed = remove_cgroups(state)
    if removed:
        print(f"removed {removed} cgroup(s) left behind")
    state.write_info({**state.read_info(), "pid": None})
    if purge:
        shutil.rmtree(state.root, ignore_errors=True)
        print(f"removed {state.root}")
    return 0


def status(state: StateDir) -> int:
    info = running(state)
    if not info:
        print(f"local cluster is not running (state dir {state.root})")
        return 3
    pods = len(list(state.pods.glob("*.pid"))) if state.pods.is_dir() else 0
    print(f"local cluster running: {info['server']} (pid {info['pid']}), context {CONTEXT}, {pods} pod process(es)")
    print(f"export KUBECONFIG={state.kubeconfig}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kubesim", description="The embedded Kubernetes cluster.")
    parser.add_argument("--state-dir", type=Path, default=None, help="state directory (default: <repo>/.cluster)")
    sub = parser.add_subparsers(dest="command", required=True)
    up_p = sub.add_parser("up", help="start the cluster in the background (harmless when it runs)")
    down_p = sub.add_parser("down", help="stop the cluster and every process it started")
    down_p.add_argument("--purge", action="store_true", help="also delete the state directory")
    sub.add_parser("status", help="tell whether the cluster runs")
    serve_p = sub.add_parser("serve", help="run the cluster in the foreground")
    serve_p.add_argument("--port", type=int, default=0)
    for p in (up_p, serve_p):
        p.add_argument(
            "--cgroups",
            choices=("auto", "v1", "v2", "none"),
            default="auto",
            help="how container limits are enforced: auto (cgroup v2, else v1, else the kubelet itself), "
            "a cgroup version, or none (the kubelet's own stop/continue and RSS sampling)",
        )
    for p in sub.choices.values():
        p.add_argument("--state-dir", type=Path, default=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    state = StateDir(args.state_dir or default_root())
    if args.command == "up":
        return up(state, cgroups=args.cgroups)
    if args.command == "down":
        return down(state, purge=args.purge)
    if args.command == "status":
        return status(state)
    from kubesim.server import main as serve_main  # noqa: PLC0415 - aiohttp loads only in the server process

    serve_main(state.root, args.port, args.cgroups)
    return 0
