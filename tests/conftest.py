"""Shared pytest set-up: import paths for the project's Python code and Ansible module_utils."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import ansible.module_utils
import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Modules import their helpers as `ansible.module_utils.<name>`, exactly as Ansible ships them
# to a host; make the project's plugins/module_utils visible under that package for unit tests.
_MODULE_UTILS = str(ROOT / "plugins" / "module_utils")
if _MODULE_UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(_MODULE_UTILS)

# `make test` runs pytest-xdist with --dist loadfile: a file's tests share their module-scoped cluster on one worker.
# The files whose incidents put a load on the shop are one scope, run one after the other on one worker: on 2 cores
# two such loads at once starve each other's front-end (probes time out, pods turn unready), and the incidents'
# invariants would measure the machine rather than the incident. (xdist's own loadgroup marks do not work with
# pytest 9, whose node ids xdist can no longer suffix.)
# That scope is handed out first, so it starts at once on the first worker (its tests are among the longest); a
# worker whose first test is not a heavy-load one runs at a lower CPU priority for the rest of the run
# (HEAVY_LOAD_NICE), so the heavy loads get the CPU they ask for while the rest of the suite uses what they leave.
HEAVY_LOAD_FILES = frozenset(
    {
        "test_incident2.py",
        "test_incident4.py",
        "test_incident7.py",
        "test_incident8.py",
        "test_incident8b.py",
        "test_incident8c.py",
    }
)
HEAVY_LOAD_SCOPE = "heavy-load"
HEAVY_LOAD_NICE = 10  # the kernel's weight 110 against 1024: a tenth of a contended core, never starved


def heavy_load_scope(scope: str) -> str:
    """The xdist scope of a test file (its path): one shared scope for the heavy-load files."""
    return HEAVY_LOAD_SCOPE if scope.rsplit("/", 1)[-1] in HEAVY_LOAD_FILES else scope


@pytest.hookimpl(optionalhook=True)  # pytest-xdist's hook: unknown when xdist is not loaded (-p no:xdist)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class HeavyLoadsFirstInOneScope(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return heavy_load_scope(super()._split_scope(nodeid))

        def _assign_work_unit(self, node: Any) -> None:
            if HEAVY_LOAD_SCOPE in self.workqueue:
                self.workqueue.move_to_end(HEAVY_LOAD_SCOPE, last=False)
            super()._assign_work_unit(node)

    return HeavyLoadsFirstInOneScope(config, log)


_FIRST_TEST_SEEN: list[bool] = []


def pytest_runtest_setup(item: pytest.Item) -> None:
    """In an xdist worker, lower the CPU priority once when its first test is not a heavy-load one."""
    if _FIRST_TEST_SEEN or "PYTEST_XDIST_WORKER" not in os.environ:
        return
    _FIRST_TEST_SEEN.append(True)
    if item.path.name not in HEAVY_LOAD_FILES:
        os.nice(HEAVY_LOAD_NICE)
