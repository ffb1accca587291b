"""scripts/install-servers, the part of `make setup` that gets the real servers: what it decides without root.

(Its unpacking of a self-contained package - `apt-get download` + `dpkg -x` - needs Debian's mirror and is not run
here; `make setup` exercises it on a machine without root.)"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts/install-servers"


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, SOCKSHOP_NO_ROOT="1")
    return subprocess.run(
        ["bash", str(SCRIPT), *args], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_nothing_missing_says_nothing() -> None:
    done = run("bash")  # a package whose program is on PATH
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_a_program_in_the_venv_bin_counts_as_installed(tmp_path: Path) -> None:
    program = tmp_path / "sockshop-fake-server"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert run("--bin", str(tmp_path), "sockshop-fake-server").stdout == ""
    assert "sockshop-fake-server" in run("sockshop-fake-server").stdout  # not looked for there without --bin


def test_without_root_it_names_the_command_for_what_is_missing() -> None:
    done = run("bash", "sockshop-no-such-server", "sockshop-other-server")
    assert done.returncode == 0
    assert done.stdout == (
        "The local cluster runs the real sockshop-no-such-server sockshop-other-server: install them with: "
        "sudo apt-get install -y --no-install-recommends sockshop-no-such-server sockshop-other-server\n"
    )
