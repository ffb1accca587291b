"""Shared pytest set-up: import paths for the project's Python code and Ansible module_utils."""

from __future__ import annotations

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
# The files whose incidents run a Locust load of hundreds of users against one front-end are one scope, run one
# after the other on one worker: on 2 cores two such loads at once starve each other's front-end (probes time out,
# pods turn unready), and the incidents' invariants would measure the machine rather than the incident. (xdist's
# own loadgroup marks do not work with pytest 9, whose node ids xdist can no longer suffix.)
HEAVY_LOAD_FILES = frozenset(
    {"test_incident2.py", "test_incident4.py", "test_incident7.py", "test_incident8b.py", "test_incident8c.py"}
)


def heavy_load_scope(scope: str) -> str:
    """The xdist scope of a test file (its path): one shared scope for the heavy-load files."""
    return "heavy-load" if scope.rsplit("/", 1)[-1] in HEAVY_LOAD_FILES else scope


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class HeavyLoadsInOneScope(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return heavy_load_scope(super()._split_scope(nodeid))

    return HeavyLoadsInOneScope(config, log)
