"""A tiny Kubernetes API server on 127.0.0.1 for driving the Sock Shop modules end to end.

It answers what kubernetes.core's ``get_api_client`` asks first (``/version``, ``/api``,
``/apis``), checks the bearer token, and forwards the service proxy path
``/api/v1/namespaces/<ns>/services/<name>:<port>/proxy/<path>`` to a Python callable that
plays the Service. Everything else is a JSON ``Status`` 404, as a real API server answers.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ansible.module_utils.testing import patch_module_args

PROXY = re.compile(r"^/api/v1/namespaces/(?P<ns>[^/]+)/services/(?P<svc>[^/:]+):(?P<port>[^/]+)/proxy(?P<rest>/.*)?$")

# (namespace, service, method, path with query, parsed JSON body or None) -> (status, JSON-able or bytes)
ServiceApp = Callable[[str, str, str, str, Any], tuple[int, Any]]


def status_body(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeApiServer:
    token: str
    app: ServiceApp
    requests: list[Recorded] = field(default_factory=list)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def proxied(self) -> list[Recorded]:
        return [r for r in self.requests if "/proxy/" in r.path]

    def start(self) -> FakeApiServer:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self, status: int, payload: Any) -> None:
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                fake.requests.append(
                    Recorded(self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
                )
                if self.headers.get("Authorization") != f"Bearer {fake.token}":
                    self._answer(401, status_body(401, "Unauthorized", "Unauthorized"))
                    return
                path = self.path.split("?", 1)[0]
                if path == "/version":
                    self._answer(200, {"major": "1", "minor": "32", "gitVersion": "v1.32.0", "platform": "linux/amd64"})
                elif path == "/api":
                    self._answer(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
                elif path == "/apis":
                    self._answer(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
                elif match := PROXY.match(path):
                    query = self.path[len(path) :]
                    body = json.loads(raw) if raw else None
                    status, payload = fake.app(
                        match["ns"], match["svc"], self.command, (match["rest"] or "/") + query, body
                    )
                    self._answer(status, payload)
                else:
                    self._answer(404, status_body(404, "NotFound", "the server could not find the requested resource"))

            do_GET = _handle
            do_POST = _handle
            do_DELETE = _handle
            do_PUT = _handle
            do_PATCH = _handle

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-apiserver", daemon=True
        )
        self.thread.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
        if self.thread is not None:
            self.thread.join(timeout=5)

    def write_kubeconfig(self, directory: Path) -> Path:
        path = directory / "kubeconfig"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "fake", "cluster": {"server": self.url}}],
            "users": [{"name": "tester", "user": {"token": self.token}}],
            "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "tester"}}],
            "current-context": "fake",
        }
        path.write_text(json.dumps(config))  # JSON is YAML
        return path


def serve(app: ServiceApp, token: str = "t0ken-for-tests") -> Iterator[FakeApiServer]:
    """Generator for a pytest fixture: yields a started server and always stops it."""
    server = FakeApiServer(token=token, app=app).start()
    try:
        yield server
    finally:
        server.stop()


def run_module(main: Callable[[], None], args: dict[str, Any], capsys: Any) -> dict[str, Any]:
    """Run a module's ``main()`` as Ansible would, with ``args`` as its input; return its JSON result."""
    capsys.readouterr()
    with patch_module_args(args):
        try:
            main()
        except SystemExit:
            pass
        else:
            raise AssertionError("the module returned without exit_json/fail_json")
    out = capsys.readouterr().out
    return json.loads(out)
