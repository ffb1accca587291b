# Copyright: sockshop-incidents contributors
# Apache License 2.0
"""Run incident_series in the worker process when the host is the controller (see sockshop_action)."""

from __future__ import annotations

import ansible.module_utils
from ansible import constants as C

# The project's plugins/module_utils, importable here exactly as the modules import them.
ansible.module_utils.__path__.extend(p for p in C.DEFAULT_MODULE_UTILS_PATH if p not in ansible.module_utils.__path__)
from ansible.module_utils.sockshop_action import InProcessModuleAction  # noqa: E402


class ActionModule(InProcessModuleAction):
    """Run incident_series in the worker process when the host is the controller, else as a module process."""
