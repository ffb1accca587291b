"""`python -m kubesim.toolbox PROGRAM [ARGS...]`: one program of the container's toolbox, in the container's view.

The runtime starts it for `kubectl exec` and, with `--pid1`, as the main process of a toolbox image
(curlimages/curl, busybox), with the container's environment (kubesim/toolbox/programs.py: Context.from_environ).
"""

from __future__ import annotations

import os
import signal
import sys

from kubesim.toolbox.programs import Context, run


def main(argv: list[str]) -> int:
    if argv[:1] == ["--pid1"]:
        # The container's main process is its PID 1, and the kernel delivers no signal to PID 1 that it has
        # no handler for: busybox's sleep or sh there ignores the kubelet's SIGTERM and runs on until the
        # SIGKILL at the end of the grace period (exit 137), as in a real container.
        argv = argv[1:]
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        return run(Context.from_environ(dict(os.environ)), argv)
    except BrokenPipeError:
        return 141
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
