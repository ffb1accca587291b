# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""The one shape of this project's modules, and the helpers they share.

Every module file holds its DOCUMENTATION, EXAMPLES and RETURN, an ``ARGUMENT_SPEC`` composed from the pieces
here, its logic in typed plain functions, and one entry point::

    def run(params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]

that returns the result or raises ``ModuleError``. ``connect()`` gives kubernetes.core's API client (cluster
modules call it only when they need the cluster, so check mode can stay offline). ``main()`` is then one call
to ``main_of(...)``. The same ``run`` is called in two ways with the same result:

- as a module process (``main()``), the way Ansible runs a module on any host;
- in the Ansible worker process itself (``plugins/action/``, see sockshop_action), when the host is the
  controller: no new interpreter, and the kubernetes client the controller imported once per playbook run.

``execute`` is what both call: it turns every failure into a ``ModuleError`` with a sentence that says what to
do, so there is one error type between a module's logic and Ansible. Nothing here imports the kubernetes
client; cluster modules get it through ``connect``.
"""

from __future__ import annotations

import copy
import datetime as dt
import os
import re
import tempfile
from collections.abc import Callable
from typing import Any

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.kubernetes.core.plugins.module_utils.args_common import AUTH_ARG_SPEC

Connect = Callable[[], Any]
Run = Callable[[dict[str, Any], bool, Connect], dict[str, Any]]


class ModuleError(Exception):
    """A failure with a sentence for the operator; ``partial`` is what the module did or saw before it."""

    def __init__(self, msg: str, **partial: Any) -> None:
        super().__init__(msg)
        self.partial = partial


# ---------------------------------------------------------------- argument spec pieces

# The namespace every cluster module works in.
NAMESPACE_SPEC: dict[str, Any] = {"namespace": {"type": "str", "required": True}}


def auth_spec() -> dict[str, Any]:
    """kubernetes.core's connection options (kubeconfig, context, host, api_key...), as its own modules take them."""
    return copy.deepcopy(AUTH_ARG_SPEC)


def cluster_spec(*pieces: dict[str, Any]) -> dict[str, Any]:
    """A cluster module's spec: kubernetes.core's connection options, then the module's own pieces in order."""
    spec = auth_spec()
    for piece in pieces:
        spec.update(copy.deepcopy(piece))
    return spec


# ---------------------------------------------------------------- running a module


def api_failure(exc: BaseException) -> str | None:
    """A sentence for an error of the API client or of the wire, or None for anything else (a bug: it propagates)."""
    # Only on the error path: the service proxy helpers import the kubernetes client.
    from ansible.module_utils.sockshop_service_proxy import (  # noqa: PLC0415
        is_wire_error,
        status_message,
        transport_error,
    )

    if is_wire_error(exc):
        return str(transport_error(exc, "the API server", 0.0, 0.0))
    status = getattr(exc, "status", None)
    if isinstance(status, int) and hasattr(exc, "reason"):  # kubernetes' ApiException and DynamicApiError
        body = getattr(exc, "body", None) or b""
        detail = status_message(body if isinstance(body, bytes) else str(body).encode()) or getattr(exc, "reason", "")
        if status in (401, 403):
            return f"the API server refused the credentials (HTTP {status}: {detail}). Check the kubeconfig, context."
        return f"the API server answered HTTP {status}: {detail}"
    if type(exc).__name__ in ("CoreException", "ConfigException"):  # kubernetes.core / kubernetes.config
        return f"{first_line(exc)}. Check the kubeconfig, the context and the connection options."
    return None


def first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return re.sub(r"\s+", " ", text.splitlines()[0])


def execute(run: Run, params: dict[str, Any], check_mode: bool, connect: Connect) -> dict[str, Any]:
    """`run` with every failure as a ModuleError: what main() and the in-process action both call.

    Errors of the API client and of the wire become a sentence once the module has connected; anything else
    (and anything before it connects) is a bug and propagates with its traceback.
    """
    connected = []

    def connecting() -> Any:
        connected.append(True)
        return connect()

    try:
        return run(params, check_mode, connecting)
    except ModuleError:
        raise
    except Exception as exc:
        sentence = api_failure(exc) if connected else None
        if sentence is None:
            raise
        raise ModuleError(sentence) from exc


def main_of(
    spec: dict[str, Any],
    run: Run,
    *,
    cluster: bool = True,
    required_if: list[Any] | None = None,
    mutually_exclusive: list[Any] | None = None,
) -> None:
    """The body of every module's main(): parse the arguments, run, exit_json or fail_json."""
    options = {
        "argument_spec": spec,
        "supports_check_mode": True,
        "required_if": required_if or [],
        "mutually_exclusive": mutually_exclusive or [],
    }
    if cluster:  # kubernetes.core's own checks: the kubernetes and PyYAML libraries are there
        from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import (  # noqa: PLC0415 - heavy
            AnsibleK8SModule,
        )

        module: Any = AnsibleK8SModule(module_class=AnsibleModule, **options)
    else:
        module = AnsibleModule(**options)
    params = module.params
    try:
        result = execute(run, params, module.check_mode, lambda: api_client(params))
    except ModuleError as exc:
        module.fail_json(msg=str(exc), **dict({"changed": False}, **exc.partial))
    for warning in result.pop("warnings", []):  # exit_json(warnings=...) is deprecated in ansible-core 2.19
        module.warn(warning)
    module.exit_json(**result)


def api_client(params: dict[str, Any]) -> Any:
    """kubernetes.core's API client for the connection options among `params` (one per configuration and process)."""
    # Imported when a module first connects: controller-only modules never import the kubernetes client.
    from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import (  # noqa: PLC0415
        get_api_client,
    )

    return get_api_client(**{key: params.get(key) for key in AUTH_ARG_SPEC})


# ---------------------------------------------------------------- time and files


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(moment: dt.datetime) -> str:
    """RFC 3339 UTC with milliseconds: 2026-11-23T08:24:46.123Z."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


_ISO = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)?$")


def parse_iso(text: str) -> dt.datetime:
    """Parse the RFC 3339 forms Kubernetes and this project write; naive means UTC."""
    match = _ISO.match(text.strip())
    if not match:
        raise ValueError(f"not an RFC 3339 timestamp: {text!r}")
    base, frac, zone = match.groups()
    moment = dt.datetime.strptime(base, "%Y-%m-%dT%H:%M:%S")
    if frac:
        moment = moment.replace(microsecond=int((frac[1:] + "000000")[:6]))
    if zone and zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[-2:])
        return moment.replace(tzinfo=dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes)))
    return moment.replace(tzinfo=dt.UTC)


def write_atomic(path: str, text: str | bytes, mode: int = 0o644) -> None:
    """Write `text` (or bytes) to `path` so a reader sees the old file or the new one, never a part (same-directory
    rename)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text if isinstance(text, bytes) else text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
