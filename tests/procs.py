"""Running a command to its end from a test, and leaving nothing behind when it does not end in time.

`subprocess.run(timeout=...)` kills only the process it started. ansible-playbook forks a worker per task (the
same command line), and a worker waiting on a dead API server would outlive the test: here the command leads its
own process group, and on a timeout (or any interruption) the whole group is killed, by its id."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from typing import Any


def run_bounded(argv: Sequence[str], timeout: float, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Like subprocess.run(capture_output=True, text=True, check=False), killing the process group on timeout."""
    with subprocess.Popen(
        list(argv), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kwargs
    ) as proc:
        try:
            out, err = proc.communicate(timeout=timeout)
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            raise
    return subprocess.CompletedProcess(list(argv), proc.returncode, out, err)
