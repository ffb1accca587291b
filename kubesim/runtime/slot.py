"""Each running cluster claims its own loopback slot (127.<slot>.0.0/16), so clusters coexist.

The claim is an abstract Unix socket named after the slot: held while the server lives, released by
the kernel when it exits, however it exits. No file is left behind.
"""

from __future__ import annotations

import hashlib
import socket

FIRST, LAST = 10, 250


def claim_slot(key: str, preferred: int = 0) -> tuple[int, socket.socket]:
    """A free slot (the preferred one when free, else one derived from `key`) and the socket holding it."""
    start = preferred or FIRST + int(hashlib.sha256(key.encode()).hexdigest(), 16) % (LAST - FIRST + 1)
    span = LAST - FIRST + 1
    for i in range(span):
        slot = FIRST + (start - FIRST + i) % span
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.bind(f"\0kubesim-slot-{slot}")
        except OSError:
            sock.close()
            continue
        return slot, sock
    raise RuntimeError("no free loopback slot: more than 240 embedded clusters are running on this machine")
