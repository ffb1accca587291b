"""The toolbox sh's loops, command substitution and date (kubesim/toolbox/shell.py)."""

from __future__ import annotations

import io
import re

import pytest

from kubesim.toolbox import toolbox_for
from kubesim.toolbox.podfs import PodFS
from kubesim.toolbox.programs import PROGRAMS, Context


def sh(script: str) -> tuple[int, str, str]:
    out, err = io.BytesIO(), io.BytesIO()
    ctx = Context(
        toolbox=toolbox_for("docker.io/library/busybox"),
        env={"A": "x"},
        fs=PodFS({}, {}),
        hostname="h",
        namespace="n",
        pod_ip="",
        net_map="",
        main_argv=[],
        stdout=out,
        stderr=err,
    )
    code = PROGRAMS["sh"](ctx, ["-c", script])
    return code, out.getvalue().decode(), err.getvalue().decode()


def test_command_substitution_splits_words_unless_quoted() -> None:
    assert sh('echo "a  $(echo b   c)"; echo $(echo b   c) $A') == (0, "a  b c\nb c x\n", "")


def test_date_prints_as_busybox_does() -> None:
    code, out, _ = sh("echo $(date)")
    assert code == 0 and re.fullmatch(r"[A-Z][a-z]{2} [A-Z][a-z]{2} \d{1,2} \d\d:\d\d:\d\d UTC \d{4}\n", out)
    assert re.fullmatch(r"\d{4}\n", sh("date +%Y")[1])


def test_loops_repeat_their_body_until_the_condition_fails() -> None:
    assert sh("while false; do echo x; done; echo after $?") == (0, "after 0\n", "")
    assert sh("until false; do echo once; exit 3; done") == (3, "once\n", "")
    assert sh("while true; do echo nested; while false; do :; done; exit 4; done") == (4, "nested\n", "")


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("while true; do", 'sh: syntax error: unexpected end of file (expecting "done")\n'),
        ("done", 'sh: syntax error: unexpected "done"\n'),
        ("echo $(date", "sh: syntax error: unterminated $(\n"),
    ],
)
def test_syntax_errors_exit_2(script: str, message: str) -> None:
    assert sh(script) == (2, "", message)
