"""The committed operator runbooks must be exactly what playbooks/handoff.yml renders from incidents/."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def test_committed_runbooks_match_the_catalog(tmp_path: Path) -> None:
    env = dict(os.environ, ANSIBLE_HOME=str(tmp_path / "ansible-home"), ANSIBLE_LOCAL_TEMP=str(tmp_path / "tmp"))
    playbook = [str(Path(sys.executable).with_name("ansible-playbook")), "playbooks/handoff.yml"]
    done = subprocess.run(
        [*playbook, "-e", f"handoff_output_dir={tmp_path}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    ids = sorted(p.name for p in (ROOT / "incidents").glob("incident-*.yml"))
    rendered = sorted(p.name for p in tmp_path.glob("incident-*.md"))
    assert rendered == [name.replace(".yml", ".md") for name in ids]
    for name in rendered:
        committed = ROOT / "docs" / "runbooks" / name
        assert committed.exists(), f"{committed} is missing: run ansible-playbook playbooks/handoff.yml and commit it"
        assert committed.read_text() == (tmp_path / name).read_text(), (
            f"{committed} drifted from incidents/: run ansible-playbook playbooks/handoff.yml and commit the result"
        )
