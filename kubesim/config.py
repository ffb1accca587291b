"""The cluster's state directory: what lives where, the kubeconfig, the server's pid and port."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import yaml

CONTEXT = "local-sockshop"


def _atomic_write(path: Path, text: str, mode: int = 0o600) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)


class StateDir:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def token(self) -> Path:
        return self.root / "token"

    @property
    def info(self) -> Path:
        return self.root / "server.json"

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def pods(self) -> Path:
        """Pid files of the pod processes the runtime started (so `down` can stop them even after SIGKILL)."""
        return self.root / "pods"

    def read_info(self) -> dict[str, Any]:
        try:
            data = json.loads(self.info.read_text())
        except (FileNotFoundError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def write_info(self, info: dict[str, Any]) -> None:
        _atomic_write(self.info, json.dumps(info), 0o644)

    def write_kubeconfig(self, server: str) -> None:
        """The admin's kubeconfig, shaped as KIND's: the cluster CA, and a user authenticated by its client
        certificate (CN kubernetes-admin). The admin's bearer token (`<state>/token`) stays valid for raw
        HTTP clients but is not in the kubeconfig: a client sends the certificate with any token it is given
        (`kubectl --token`), and the certificate wins, as on KIND."""

        def b64(name: str) -> str:
            return base64.b64encode((self.root / name).read_bytes()).decode()

        user = {"client-certificate-data": b64("admin.crt"), "client-key-data": b64("admin.key")}
        ca = b64("ca.crt")
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "preferences": {},
            "clusters": [{"name": CONTEXT, "cluster": {"server": server, "certificate-authority-data": ca}}],
            "users": [{"name": f"{CONTEXT}-admin", "user": user}],
            "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": f"{CONTEXT}-admin"}}],
            "current-context": CONTEXT,
        }
        _atomic_write(self.kubeconfig, yaml.safe_dump(config, sort_keys=False))


def default_root() -> Path:
    env = os.environ.get("KUBESIM_STATE_DIR")
    if env:
        return Path(env)
    here = Path(__file__).resolve().parent.parent
    return here / ".cluster"
