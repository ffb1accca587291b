# Copyright: sockshop-incidents contributors
# Apache License 2.0
"""incident_report works on the controller only, so it runs in the controller process (see sockshop_controller)."""

from __future__ import annotations

import ansible.module_utils
from ansible import constants as C

# The project's plugins/module_utils, importable here exactly as the modules import them.
ansible.module_utils.__path__.extend(p for p in C.DEFAULT_MODULE_UTILS_PATH if p not in ansible.module_utils.__path__)
from ansible.module_utils.sockshop_controller import ControllerModuleAction  # noqa: E402


class ActionModule(ControllerModuleAction):
    """Run incident_report without a module process."""
