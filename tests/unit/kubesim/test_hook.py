"""The pod process hook (runtime/hook/sitecustomize.py): a listener on "every address" is the pod's own address,
for the standard library's sockets and for gevent's servers (Locust's web UI listens on "" as IPv6 "::")."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HOOK = Path(__file__).resolve().parents[3] / "kubesim" / "runtime" / "hook"
OWN = "127.201.1.7"  # a pod address of slot 201: nothing else binds there

PROGRAM = """
import json, socket, sys
if sys.argv[1] == "gevent":
    from gevent import monkey
    monkey.patch_all()
    from gevent import pywsgi
    server = pywsgi.WSGIServer(("", 0), lambda environ, start: None)
    server.init_socket()
    listener = server.socket
else:
    listener = socket.socket()
    listener.bind((sys.argv[1], 0))
    listener.listen()
host, port = listener.getsockname()[:2]
socket.create_connection(("127.201.1.7", port), timeout=5).close()  # the pod's address answers
print(json.dumps([host, port]))
"""


@pytest.mark.parametrize(
    ("how", "bound"),
    [("", OWN), ("0.0.0.0", OWN), ("127.0.0.1", OWN), ("localhost", OWN), ("gevent", f"::ffff:{OWN}")],
)
def test_a_wildcard_listener_binds_the_pods_address(tmp_path: Path, how: str, bound: str) -> None:
    net = tmp_path / "net.json"
    net.write_text(json.dumps({"slot": 201, "services": {}, "vips": {}}), encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(HOOK), "KUBESIM_NET_MAP": str(net), "KUBESIM_POD_IP": OWN}
    out = subprocess.run(
        [sys.executable, "-c", PROGRAM, how], env=env, capture_output=True, text=True, timeout=60, check=True
    )
    host, port = json.loads(out.stdout)
    assert (host, port > 0) == (bound, True), out.stderr
