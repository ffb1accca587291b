#!/usr/bin/python
# Copyright: sockshop-incidents contributors
# Apache License 2.0 (see LICENSE)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: local_cluster
short_description: Start or stop the embedded Kubernetes cluster (kubesim) of the local target
description:
  - Brings the project's embedded, simulated Kubernetes cluster up in the background, or stops it and
    every pod process it started (by pid).
  - Starting a running cluster and stopping a stopped one change nothing, so the module is idempotent.
  - The cluster writes its kubeconfig (context C(local-sockshop)) into O(state_dir).
  - Runs on the controller; needs the C(kubesim) package of this repository importable by the Python
    that runs the module (C(make setup) installs it into C(.venv)).
version_added: "0.1.0"
author:
  - sockshop-incidents contributors
options:
  state:
    description:
      - V(started) starts the cluster unless it runs; V(stopped) stops it and its pod processes.
    type: str
    choices: [started, stopped]
    default: started
  state_dir:
    description:
      - The cluster's state directory (objects, kubeconfig, logs, pid files).
    type: path
    required: true
  purge:
    description:
      - With O(state=stopped), also delete O(state_dir) and every object in it.
    type: bool
    default: false
  timeout:
    description:
      - Seconds to wait for the API to answer after starting.
    type: float
    default: 15
notes:
  - Supports check mode, which reports whether the cluster would be started or stopped.
"""

EXAMPLES = r"""
- name: Bring the local cluster up if needed
  local_cluster:
    state: started
    state_dir: "{{ playbook_dir }}/../.cluster"
  register: cluster

- name: Use its kubeconfig
  kubernetes.core.k8s_info:
    kubeconfig: "{{ cluster.kubeconfig }}"
    context: "{{ cluster.context }}"
    api_version: v1
    kind: Node

- name: Stop it and remove its state
  local_cluster:
    state: stopped
    state_dir: "{{ playbook_dir }}/../.cluster"
    purge: true
"""

RETURN = r"""
running:
  description: Whether the cluster runs after the task.
  returned: always
  type: bool
  sample: true
kubeconfig:
  description: Path of the kubeconfig the cluster wrote.
  returned: always
  type: str
  sample: /home/me/sockshop-incidents/.cluster/kubeconfig
context:
  description: The kube context name in that kubeconfig.
  returned: always
  type: str
  sample: local-sockshop
server:
  description: The API server URL, when running.
  returned: when running
  type: str
  sample: https://127.0.0.1:41234
pid:
  description: Pid of the cluster process, when running.
  returned: when running
  type: int
  sample: 12345
"""

import io
import traceback
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

from ansible.module_utils.basic import missing_required_lib
from ansible.module_utils.sockshop_module import Connect, ModuleError, main_of

try:
    from kubesim import cli
    from kubesim.config import CONTEXT, StateDir

    KUBESIM_ERROR: str | None = None
except ImportError:
    KUBESIM_ERROR = traceback.format_exc()

ARGUMENT_SPEC = {
    "state": {"type": "str", "choices": ["started", "stopped"], "default": "started"},
    "state_dir": {"type": "path", "required": True},
    "purge": {"type": "bool", "default": False},
    "timeout": {"type": "float", "default": 15.0},
}


def ensure(state: str, root: Path, purge: bool, check: bool, timeout: float) -> dict[str, Any]:
    """Bring the cluster to `state`; return the module result (without Ansible)."""
    sd = StateDir(root)
    before = cli.running(sd)
    changed = (state == "started") != bool(before) or (state == "stopped" and purge and root.exists())
    output = io.StringIO()
    if changed and not check:
        with redirect_stdout(output):
            rc = cli.up(sd, timeout=timeout) if state == "started" else cli.down(sd, purge=purge)
        if rc != 0:
            raise ModuleError(
                f"kubesim {'up' if state == 'started' else 'down'} failed: {output.getvalue().strip()} (see {sd.log}). "
                "Check the cluster log and `python -m kubesim status`."
            )
    info = cli.running(sd) if not check else before
    result = {
        "changed": changed,
        "running": bool(info) if not check else state == "started",
        "kubeconfig": str(sd.kubeconfig),
        "context": CONTEXT,
        "msg": output.getvalue().strip(),
    }
    if info:
        result.update(server=info.get("server"), pid=info.get("pid"))
    return result


def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    if KUBESIM_ERROR:
        raise ModuleError(missing_required_lib("kubesim (run `make setup` in the repository)"), exception=KUBESIM_ERROR)
    return ensure(params["state"], Path(params["state_dir"]), params["purge"], check_mode, params["timeout"])


def main() -> None:
    main_of(ARGUMENT_SPEC, run, cluster=False)


if __name__ == "__main__":
    main()
