"""Test-only callback: hold a playbook at the start of a named task until a signal ends it.

The interrupt tests (tests/e2e/interrupts.py) kill a phase at a named task. Reading the task's banner from the
output and then killing races with the playbook, which goes on meanwhile (a set_fact and the preflight take a
few tenths of a second, less than a loaded CI machine may take to read a line). With
SOCKSHOP_FREEZE_AT=<task name, or its start> this callback prints `FROZEN AT <task name>` when that task starts
and waits there, in Ansible's main process, for the signal the test sends (SIGINT ends the wait as Ctrl-C would, SIGKILL
ends everything), so the state at the kill is exactly the state before that task.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
    name: freeze_at
    type: aggregate
    short_description: Hold the playbook at the start of a named task (tests only)
    description:
      - When SOCKSHOP_FREEZE_AT names a task, print C(FROZEN AT <name>) at its start and wait for a signal.
    requirements:
      - enabled in callbacks_enabled by the test that uses it
"""

MARKER = "FROZEN AT "


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "freeze_at"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        wanted = os.environ.get("SOCKSHOP_FREEZE_AT", "")
        name = task.get_name().split(" : ", 1)[-1]  # without the role's prefix
        if wanted and name.startswith(wanted):
            sys.stdout.write(f"{MARKER}{wanted}\n")
            sys.stdout.flush()
            while True:
                signal.pause()
