# Copyright: sockshop-incidents contributors
# Apache License 2.0
"""Run a controller-only module inside the controller process, as its action plugin.

incident_load and incident_report read and write files on the controller and never touch a host, so a
module process (fork, AnsiballZ payload, a new interpreter, its imports) would only cost time: about
0.5 s a task here. Their action plugins subclass ControllerModuleAction, which validates the task's
arguments against the module's ARGUMENT_SPEC and calls the module's run(params, check_mode) directly.
The module file stays the single source of documentation, argument spec and logic; this file is never
shipped to a host (no module imports it).
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase


def load_module_file(name: str, path: str) -> ModuleType:
    """Import a module file by path, at most once per process (each task runs in its own forked worker)."""
    key = f"_sockshop_controller_module_{name}"
    loaded = sys.modules.get(key)
    if loaded is None:
        spec = importlib.util.spec_from_file_location(key, path)
        if spec is None or spec.loader is None:
            raise AnsibleActionFail(f"cannot import the module file {path} of {name}")
        loaded = importlib.util.module_from_spec(spec)
        sys.modules[key] = loaded
        spec.loader.exec_module(loaded)
    return loaded


class ControllerModuleAction(ActionBase):
    """Action plugin that runs the module of the same name in the controller process."""

    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: Any = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        name = self._task.action.rsplit(".", 1)[-1]
        path = self._shared_loader_obj.module_loader.find_plugin(name, mod_type=".py")
        if not path:
            raise AnsibleActionFail(f"the module {name} is not on the module path (ansible.cfg: library)")
        module = load_module_file(name, path)
        _, params = self.validate_argument_spec(
            argument_spec=module.ARGUMENT_SPEC, required_if=getattr(module, "REQUIRED_IF", None)
        )
        try:
            result.update(module.run(params, check_mode=bool(self._task.check_mode)))
        except module.ERRORS as exc:
            raise AnsibleActionFail(str(exc)) from None
        return result
