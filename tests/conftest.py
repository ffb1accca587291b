"""Shared pytest set-up: import paths for the project's Python code and Ansible module_utils."""

from __future__ import annotations

import sys
from pathlib import Path

import ansible.module_utils

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Modules import their helpers as `ansible.module_utils.<name>`, exactly as Ansible ships them
# to a host; make the project's plugins/module_utils visible under that package for unit tests.
_MODULE_UTILS = str(ROOT / "plugins" / "module_utils")
if _MODULE_UTILS not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(_MODULE_UTILS)
