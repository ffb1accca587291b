"""run_bounded: a command that outlives its timeout is killed with every process it started."""

from __future__ import annotations

import subprocess
import sys
import time

import psutil
import pytest

from tests.procs import run_bounded

# Starts a child like ansible-playbook's task worker (its own pid printed first), then waits on it.
PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
print(child.pid, flush=True)
child.wait()
"""


def test_a_command_that_ends_gives_its_output_and_code() -> None:
    done = run_bounded(
        [sys.executable, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"], 30
    )
    assert (done.returncode, done.stdout, done.stderr) == (3, "out\n", "err\n")


def test_a_timeout_kills_the_command_and_its_children() -> None:
    before = {p.pid for p in psutil.process_iter()}
    with pytest.raises(subprocess.TimeoutExpired):
        run_bounded([sys.executable, "-c", PARENT], 2)
    deadline = time.monotonic() + 5
    left = []
    while time.monotonic() < deadline:
        left = [
            p
            for p in psutil.process_iter(["pid", "cmdline", "status"])
            if p.pid not in before
            and "time.sleep(120)" in " ".join(p.info["cmdline"] or [])
            and p.info["status"] != psutil.STATUS_ZOMBIE
        ]
        if not left:
            break
        time.sleep(0.1)
    assert left == []
