"""Serving a test's own HTTP server (a fake backend bound to 127.0.0.1:0) in a thread, stopped when the test ends."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from socketserver import BaseServer


@contextlib.contextmanager
def serving(server: BaseServer, poll_interval: float = 0.05) -> Iterator[BaseServer]:
    """Serve until the block ends, then shut the server down, close its socket and join its thread."""
    thread = threading.Thread(target=server.serve_forever, args=(poll_interval,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
