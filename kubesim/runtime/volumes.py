"""A process container's volumes: each volumeMount becomes a directory on this machine.

A kubelet mounts each volume at its mountPath inside the container's filesystem. A local process has no
filesystem of its own, so the runtime gives every mount a host directory instead and tells the program where:
- `KUBESIM_MOUNTS` in its environment, a JSON object {mountPath: host directory} (the launchers of the real
  servers read their data directory from it);
- every argument (and `command` word) that names a path under a mountPath is rewritten to the host directory,
  so a program started as `locust -f /mnt/locust/locustfile.py --csv /tmp/stats` reads the locustfile the
  ConfigMap holds and writes its CSV into the pod's /tmp volume, unchanged.

emptyDir: a directory in the pod's work directory, gone with the pod. persistentVolumeClaim: the bound
PersistentVolume's directory under the cluster's state (the data outlives the pod, as on a real node).
configMap and secret: their keys written as files (`items` honoured), refreshed each time the container starts.
hostPath: the path itself. A claim that is not bound yet keeps the container waiting, as a kubelet does.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from kubesim.store import Store


class VolumeNotReady(Exception):
    """The container cannot start yet (an unbound claim, a missing ConfigMap): the message says why."""


def _write_items(target: Path, data: dict[str, str], items: list[dict[str, Any]] | None) -> None:
    target.mkdir(parents=True, exist_ok=True)
    chosen = {i["key"]: i.get("path", i["key"]) for i in items} if items else {k: k for k in data}
    for key, relative in chosen.items():
        if key not in data:
            continue
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(data[key], encoding="utf-8")


def volume_dir(store: Store, pod: dict[str, Any], volume: dict[str, Any], workdir: Path) -> Path:
    """The host directory of one pod volume, prepared."""
    ns, name = pod["metadata"]["namespace"], volume["name"]
    local = workdir / "volumes" / name
    if "persistentVolumeClaim" in volume:
        claim_name = volume["persistentVolumeClaim"].get("claimName", "")
        claim = store.peek("persistentvolumeclaims", ns, claim_name)
        if claim is None:
            raise VolumeNotReady(f'persistentvolumeclaim "{claim_name}" not found')
        pv_name = (claim.get("spec") or {}).get("volumeName")
        pv = store.peek("persistentvolumes", "", pv_name) if pv_name else None
        path = ((pv or {}).get("spec") or {}).get("hostPath", {}).get("path")
        if not path:
            raise VolumeNotReady(f'persistentvolumeclaim "{claim_name}" is not bound')
        Path(path).mkdir(parents=True, exist_ok=True)
        return Path(path)
    if "hostPath" in volume:
        path = Path(volume["hostPath"].get("path", ""))
        path.mkdir(parents=True, exist_ok=True)
        return path
    for kind, store_key in (("configMap", "configmaps"), ("secret", "secrets")):
        if kind in volume:
            ref = volume[kind]
            source_name = ref.get("name") or ref.get("secretName", "")
            obj = store.peek(store_key, ns, source_name)
            if obj is None:
                if ref.get("optional"):
                    local.mkdir(parents=True, exist_ok=True)
                    return local
                raise VolumeNotReady(f'{kind.lower()} "{source_name}" not found')
            data = dict(obj.get("data") or {})
            if kind == "secret":
                data = {k: base64.b64decode(v).decode(errors="replace") for k, v in data.items()}
            _write_items(local, data, ref.get("items"))
            return local
    local.mkdir(parents=True, exist_ok=True)  # emptyDir, and anything else: a directory of the pod's own
    return local


def mounts(store: Store, pod: dict[str, Any], container: dict[str, Any], workdir: Path) -> dict[str, str]:
    """{mountPath: host directory} for the container's volumeMounts."""
    volumes = {v["name"]: v for v in pod["spec"].get("volumes") or []}
    found: dict[str, str] = {}
    for mount in container.get("volumeMounts") or []:
        volume = volumes.get(mount.get("name", ""))
        if volume is None:
            raise VolumeNotReady(f'volume "{mount.get("name")}" is not defined in the pod')
        path = volume_dir(store, pod, volume, workdir)
        if mount.get("subPath"):
            path = path / mount["subPath"]
            path.mkdir(parents=True, exist_ok=True)
        found[str(mount["mountPath"]).rstrip("/") or "/"] = str(path)
    return found


def rewrite(words: list[str], mapped: dict[str, str]) -> list[str]:
    """Each word with every path under a mountPath pointed at its host directory (longest mountPath first)."""
    if not mapped:
        return list(words)
    ordered = sorted(mapped, key=len, reverse=True)
    pattern = re.compile("|".join(rf"(?<![\w./-]){re.escape(m)}(?=/|$|[\s\"'=:;,)])" for m in ordered))
    return [pattern.sub(lambda match: mapped[match.group(0)], word) for word in words]


def env_value(mapped: dict[str, str]) -> str:
    return json.dumps(mapped, sort_keys=True)
