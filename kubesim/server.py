"""The cluster process: serve the API on 127.0.0.1, run the controllers, stop cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import signal
import socket
from pathlib import Path

from aiohttp import web

from kubesim import metrics
from kubesim.api import API
from kubesim.cluster import Cluster
from kubesim.config import StateDir
from kubesim.controllers.lifecycle import NamespaceController
from kubesim.controllers.tokens import TokensController
from kubesim.runtime.slot import claim_slot
from kubesim.runtime.wiring import enable_runtime, publish_apiserver
from kubesim.tls import load_ca, server_context

log = logging.getLogger("kubesim")


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def load_token(state: StateDir) -> str:
    if state.token.exists():
        return state.token.read_text().strip()
    token = secrets.token_urlsafe(32)
    fd = os.open(state.token, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(token)
    return token


async def serve(state: StateDir, port: int = 0, cgroups: str = "auto") -> None:
    token = load_token(state)
    cluster = Cluster(state.root)
    cluster.bootstrap()
    api = API(cluster.registry, cluster.logs, token)
    api.metrics = lambda: metrics.render(cluster.store, cluster.usage)
    api.usage = lambda: cluster.usage  # read per request: the runtime sets cluster.usage when it is enabled
    api.client_ca, _ = load_ca(state.root)
    cluster.controllers.append(TokensController(cluster, token, (state.root / "ca.crt").read_bytes()))
    for controller in cluster.controllers:
        if isinstance(controller, NamespaceController):
            controller.root_ca = (state.root / "ca.crt").read_text()
    slot, slot_claim = claim_slot(str(state.root), int(state.read_info().get("slot") or 0))
    enable_runtime(cluster, api, slot, cgroups)
    runner = web.AppRunner(api.app(), access_log=None, handle_signals=False)
    await runner.setup()
    previous = port or state.read_info().get("port", 0)
    site = web.TCPSite(
        runner,
        "127.0.0.1",
        previous if previous and _port_free(previous) else 0,
        ssl_context=server_context(state.root),
    )
    await site.start()
    server = site._server
    assert server is not None and server.sockets  # type: ignore[attr-defined]
    bound = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    state.write_kubeconfig(f"https://127.0.0.1:{bound}")
    publish_apiserver(cluster, f"127.0.0.1:{bound}")
    cluster.start()
    state.write_info({"pid": os.getpid(), "port": bound, "server": f"https://127.0.0.1:{bound}", "slot": slot})
    log.info("API serving on https://127.0.0.1:%d", bound)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("stopping")
    await cluster.stop()
    await runner.cleanup()
    slot_claim.close()
    with contextlib.suppress(FileNotFoundError):
        info = state.read_info()
        if info.get("pid") == os.getpid():
            state.info.write_text(json.dumps({**info, "pid": None}))


def main(root: Path, port: int = 0, cgroups: str = "auto") -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(StateDir(root), port, cgroups))
