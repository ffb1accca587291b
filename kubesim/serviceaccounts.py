"""The ServiceAccount admission plugin for pods, as kube-apiserver runs it on every pod create.

A pod without `serviceAccountName` gets `default`; the account it names must exist in the pod's namespace, or
the create is refused with the plugin's 403:

    pods "web-7d4b9c-" is forbidden: error looking up service account shop/web: serviceaccount "web" not found

(a pod made from `generateName` is named by its prefix, as the apiserver names it to admission). Controllers
see the same refusal and report it (`FailedCreate`). The `default` account itself is made by the namespace
controller (kubesim/controllers/lifecycle.py) right after its namespace; as the plugin retries a missing
`default` for a moment before refusing, `DefaultAccountPending` tells the HTTP layer to try again shortly.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from kubesim import errors
from kubesim.store import Change, Store

DEFAULT = "default"
# The plugin looks a missing `default` up again 10 times, 100-200 ms apart, before it refuses the pod.
DEFAULT_WAIT_S = 1.5


class DefaultAccountPending(errors.APIError):
    """The `default` ServiceAccount is not there (yet): the refusal, if waiting for it does not help."""

    def __init__(self, namespace: str, *args: Any) -> None:
        super().__init__(*args)
        self.namespace = namespace


async def default_appears(store: Store, ns: str, timeout: float = DEFAULT_WAIT_S) -> bool:
    """Wait (at most `timeout` seconds) for the `default` ServiceAccount of `ns`; True once it exists."""
    appeared = asyncio.Event()

    def listener(change: Change) -> None:
        meta = change.obj["metadata"]
        if change.key == "serviceaccounts" and meta.get("namespace") == ns and meta["name"] == DEFAULT:
            appeared.set()

    store.subscribe(listener)
    try:
        if store.peek("serviceaccounts", ns, DEFAULT) is not None:
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(appeared.wait(), timeout)
        return store.peek("serviceaccounts", ns, DEFAULT) is not None
    finally:
        store.unsubscribe(listener)


def default_service_account(spec: dict[str, Any]) -> None:
    """The v1 <-> internal conversion and the plugin's defaulting: `serviceAccountName` (taken from the
    deprecated `serviceAccount` when empty, else `default`) and `serviceAccount` mirroring it."""
    name = spec.get("serviceAccountName") or spec.get("serviceAccount") or DEFAULT
    spec["serviceAccountName"] = name
    spec["serviceAccount"] = name


def admit_pod(store: Store, ns: str, pod: dict[str, Any], display_name: str) -> None:
    """Default the pod's account and refuse the pod when that account does not exist."""
    spec = pod.setdefault("spec", {})
    default_service_account(spec)
    account = spec["serviceAccountName"]
    if store.peek("serviceaccounts", ns, account) is not None:
        return
    refusal = (
        403,
        "Forbidden",
        f'pods "{display_name}" is forbidden: error looking up service account {ns}/{account}: '
        f'serviceaccount "{account}" not found',
        {"name": display_name, "kind": "pods"},
    )
    if account == DEFAULT:
        raise DefaultAccountPending(ns, *refusal)
    raise errors.APIError(*refusal)
