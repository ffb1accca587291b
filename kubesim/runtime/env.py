"""A container's environment, resolved as the kubelet resolves it (values, refs, envFrom, $(VAR))."""

from __future__ import annotations

import base64
import re
from typing import Any

from kubesim.store import Store

_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)|\$\$")


class EnvError(Exception):
    """The container cannot start: CreateContainerConfigError with this message."""


def _expand(value: str, env: dict[str, str]) -> str:
    def sub(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        return env.get(m.group(1), m.group(0))

    return _REF.sub(sub, value)


def _field(pod: dict[str, Any], path: str) -> str:
    meta, status, spec = pod["metadata"], pod.get("status") or {}, pod["spec"]
    m = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    if m:
        return str((meta.get(m.group(1)) or {}).get(m.group(2), ""))
    return str(
        {
            "metadata.name": meta["name"],
            "metadata.namespace": meta["namespace"],
            "metadata.uid": meta["uid"],
            "status.podIP": status.get("podIP", ""),
            "status.hostIP": status.get("hostIP", ""),
            "spec.nodeName": spec.get("nodeName", ""),
            "spec.serviceAccountName": spec.get("serviceAccountName", "default"),
        }.get(path, "")
    )


def _resource(container: dict[str, Any], ref: dict[str, Any]) -> str:
    name = ref.get("resource", "")
    section, _, kind = name.partition(".")
    value = str(((container.get("resources") or {}).get(section) or {}).get(kind, ""))
    if kind == "cpu" and value.endswith("m"):
        return str(max(1, -(-int(value[:-1]) // 1000)))
    return value or ("0" if kind == "cpu" else "")


def container_env(store: Store, pod: dict[str, Any], container: dict[str, Any]) -> dict[str, str]:
    ns = pod["metadata"]["namespace"]
    env: dict[str, str] = {}

    def lookup(kind: str, ref: dict[str, Any], key: str | None) -> dict[str, str] | str | None:
        store_key = "configmaps" if kind == "configmap" else "secrets"
        obj = store.peek(store_key, ns, ref.get("name", ""))
        if obj is None:
            if ref.get("optional"):
                return None
            raise EnvError(f'{kind} "{ref.get("name")}" not found')
        data = dict(obj.get("data") or {})
        if kind == "secret":
            data = {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}
        if key is None:
            return data
        if key not in data:
            if ref.get("optional"):
                return None
            raise EnvError(
                f"couldn't find key {key} in {'ConfigMap' if kind == 'configmap' else 'Secret'} {ns}/{ref.get('name')}"
            )
        return data[key]

    for src in container.get("envFrom") or []:
        prefix = src.get("prefix", "")
        for kind, field in (("configmap", "configMapRef"), ("secret", "secretRef")):
            if field in src:
                values = lookup(kind, src[field], None)
                if isinstance(values, dict):
                    env.update({prefix + k: v for k, v in values.items()})
    for item in container.get("env") or []:
        name = item["name"]
        if "value" in item:
            env[name] = _expand(str(item["value"]), env)
            continue
        source = item.get("valueFrom") or {}
        value: Any = ""
        if "fieldRef" in source:
            value = _field(pod, source["fieldRef"].get("fieldPath", ""))
        elif "resourceFieldRef" in source:
            value = _resource(container, source["resourceFieldRef"])
        elif "configMapKeyRef" in source:
            value = lookup("configmap", source["configMapKeyRef"], source["configMapKeyRef"].get("key"))
        elif "secretKeyRef" in source:
            value = lookup("secret", source["secretKeyRef"], source["secretKeyRef"].get("key"))
        if value is not None:
            env[name] = str(value)
    return env
