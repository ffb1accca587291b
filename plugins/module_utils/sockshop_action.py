# Copyright: sockshop-incidents contributors
# Apache License 2.0
"""Run this project's modules inside the Ansible worker process when the host is the controller.

Every host of this project's inventories is the controller itself (``ansible_connection: local`` and the
controller's own Python), so a module process would only cost time: a new interpreter that unpacks the module
and imports the kubernetes client again, about 1 s a task here against a few milliseconds of API calls. Each
module's action plugin (``plugins/action/<module>.py``) subclasses ``InProcessModuleAction``, which validates
the task's arguments against the module's ``ARGUMENT_SPEC`` and calls the module's ``run()`` through
``sockshop_module.execute``, exactly what the module's ``main()`` calls.

Where the module file is imported matters: Ansible loads an action plugin's class in its main process before
it forks the worker that runs the task (the linear strategy asks the class whether it bypasses the host loop),
and that is when ``__init_subclass__`` imports the module file, and with it the kubernetes client and
kubernetes.core's module_utils. Every worker forked after that inherits them, so the client is imported once
per playbook run instead of once per task.

A task runs as a module process, as on any remote host, when the connection is not ``local``, the host's
interpreter is not the controller's own, the task uses ``become``, ``async`` or ``environment``, or the
variable ``sockshop_in_process`` is false. Controller-only modules (``CONTROLLER_ONLY``: incident_load and
incident_report, which read and write files on the controller) run here whatever the host, unless
``sockshop_in_process`` is false. This file is never shipped to
a host: no module imports it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from types import ModuleType
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.module_utils.sockshop_module import ModuleError, api_client, execute
from ansible.plugins.action import ActionBase
from ansible.plugins.loader import module_loader

LOCAL_CONNECTIONS = ("local", "ansible.builtin.local", "ansible.legacy.local")


def load_module_file(name: str) -> ModuleType:
    """Import the module file of `name` from the module path, at most once per process."""
    key = f"_sockshop_module_{name}"
    loaded = sys.modules.get(key)
    if loaded is not None:
        return loaded
    path = module_loader.find_plugin(name, mod_type=".py")
    if not path:
        raise AnsibleActionFail(f"the module {name} is not on the module path (ansible.cfg: library)")
    spec = importlib.util.spec_from_file_location(key, path)
    if spec is None or spec.loader is None:
        raise AnsibleActionFail(f"cannot import the module file {path} of {name}")
    loaded = importlib.util.module_from_spec(spec)
    sys.modules[key] = loaded
    try:
        spec.loader.exec_module(loaded)
    except BaseException:
        del sys.modules[key]
        raise
    return loaded


class InProcessModuleAction(ActionBase):
    """Action plugin that runs the module of the same name in the worker process."""

    TRANSFERS_FILES = False
    CONTROLLER_ONLY = False
    MODULE = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Import the module file as soon as Ansible loads the action class, in its main process (see above)."""
        super().__init_subclass__(**kwargs)
        cls.MODULE = cls.__module__.rsplit(".", 1)[-1]
        if cls.CONTROLLER_ONLY:
            cls._requires_connection = False
        try:
            load_module_file(cls.MODULE)
        except Exception:  # reported with its cause when a task runs
            return

    def in_process(self, task_vars: dict[str, Any]) -> bool:
        if not boolean(self._templar.template(task_vars.get("sockshop_in_process", True)), strict=False):
            return False
        if self.CONTROLLER_ONLY:
            return True
        if self._task.async_val or self._play_context.become or any(self._task.environment or []):
            return False  # an async job, another user or an environment of its own: only a process gives them
        if getattr(self._connection, "transport", "") not in LOCAL_CONNECTIONS:
            return False
        interpreter = self._templar.template(task_vars.get("ansible_python_interpreter", ""))
        return bool(interpreter) and os.path.realpath(str(interpreter)) == os.path.realpath(sys.executable)

    def run(self, tmp: Any = None, task_vars: Any = None) -> dict[str, Any]:
        result: dict[str, Any] = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        if not self.in_process(task_vars):
            result.update(self._execute_module(module_name=self._task.action, task_vars=task_vars))
            return result
        module = load_module_file(self.MODULE)
        validation, params = self.validate_argument_spec(
            argument_spec=module.ARGUMENT_SPEC,
            required_if=getattr(module, "REQUIRED_IF", None),
            mutually_exclusive=getattr(module, "MUTUALLY_EXCLUSIVE", None),
        )
        secrets = validation._no_log_values
        try:
            done = execute(module.run, params, bool(self._task.check_mode), lambda: api_client(params))
        except ModuleError as exc:
            done = dict({"changed": False}, **exc.partial, failed=True, msg=str(exc))
        done["invocation"] = {"module_args": params}
        result.update(remove_values(done, secrets))
        return result
