"""What the apiserver's registry strategies do to workloads beyond defaults, on create and update.

A DaemonSet's `spec.templateGeneration` (internal API; apps/v1 shows it as the annotation
`deprecated.daemonset.template.generation`): 1 on create (or the annotation's value when larger), kept on an
update, and one more whenever the update changes the pod template (daemonSetStrategy.PrepareForUpdate). The
annotation is the server's: what a client sends in it is replaced. kubernetes.core's k8s_rollback finds a
DaemonSet's previous ControllerRevision by it.
"""

from __future__ import annotations

from typing import Any

from kubesim.resources import Resource

TEMPLATE_GENERATION = "deprecated.daemonset.template.generation"


def _generation(obj: dict[str, Any]) -> int:
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(TEMPLATE_GENERATION)
    try:
        return int(value) if value is not None else 0
    except (TypeError, ValueError):
        return 0


def prepare(res: Resource, old: dict[str, Any] | None, new: dict[str, Any]) -> None:
    """PrepareForCreate (old is None) / PrepareForUpdate, after defaults are applied to `new`."""
    if res.kind != "DaemonSet" or res.group != "apps":
        return
    if old is None:
        generation = max(1, _generation(new))
    else:
        generation = max(1, _generation(old))
        if (new.get("spec") or {}).get("template") != (old.get("spec") or {}).get("template"):
            generation += 1
    meta = new.setdefault("metadata", {})
    meta["annotations"] = {**(meta.get("annotations") or {}), TEMPLATE_GENERATION: str(generation)}
