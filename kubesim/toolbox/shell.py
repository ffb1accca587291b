"""What the toolbox's `sh` adds to simple command lines: loops, command substitution, and `date`.

`sh -c 'while true; do date; sleep 5; done'` and `echo $(date)` are how test pods and manifests keep a container
busy; busybox's ash runs them forever. Here a script is split into commands at unquoted `;` and newlines;
`while LIST; do LIST; done` and `until ...` repeat their body while the condition's status is 0 (non-zero for
`until`); `$(...)` runs its script with the output captured and puts the output in its place (trailing newlines
removed, split into words unless double-quoted). Every simple command line still goes to programs.py's
`_sh_line` (`&&`, `||`, `$VAR`).
"""

from __future__ import annotations

import dataclasses
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kubesim.toolbox.programs import Context

RunLine = Callable[["Context", str, int], tuple[int, bool]]


class ShellSyntaxError(Exception):
    pass


@dataclass
class Loop:
    until: bool
    condition: list[Node] = field(default_factory=list)
    body: list[Node] = field(default_factory=list)


Node = str | Loop


def split_commands(text: str) -> list[str]:
    """The script's commands: split at `;` and newlines outside quotes and `$(...)`."""
    out, cur = [], []
    quote, depth, i = "", 0, 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"' and i + 1 < len(text):
                cur.append(text[i : i + 2])
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "'\"":
            quote = ch
        elif text.startswith("$(", i):
            depth += 1
            cur.append("$(")
            i += 2
            continue
        elif ch == ")" and depth:
            depth -= 1
        elif ch in ";\n" and not depth:
            out.append("".join(cur).strip())
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    out.append("".join(cur).strip())
    return [c for c in out if c]


def _keyword(command: str) -> tuple[str, str]:
    word, _, rest = command.partition(" ")
    if word in ("while", "until", "do", "done"):
        return word, rest.strip()
    return "", command


def parse(text: str) -> list[Node]:
    """Commands and loops, nested as written."""
    root: list[Node] = []
    stack: list[tuple[Loop, list[Node]]] = []  # open loops, and the list each one is in
    current = root
    for text_command in split_commands(text):
        command = text_command
        while command:
            word, rest = _keyword(command)
            if word in ("while", "until"):
                loop = Loop(until=word == "until")
                current.append(loop)
                stack.append((loop, current))
                current = loop.condition
            elif word == "do":
                if not stack or current is not stack[-1][0].condition:
                    raise ShellSyntaxError('syntax error: unexpected "do"')
                current = stack[-1][0].body
            elif word == "done":
                if not stack or current is not stack[-1][0].body:
                    raise ShellSyntaxError('syntax error: unexpected "done"')
                current = stack.pop()[1]
            else:
                current.append(command)
                rest = ""
            command = rest
    if stack:
        raise ShellSyntaxError('syntax error: unexpected end of file (expecting "done")')
    return root


def substitute(ctx: Context, command: str, run_line: RunLine, status: int) -> str:
    """`$(...)` outside single quotes replaced by its script's output."""
    out, i, quote = [], 0, ""
    while i < len(command):
        ch = command[i]
        if ch == "'" and quote != '"':
            quote = "" if quote == "'" else "'"
        elif ch == '"' and quote != "'":
            quote = "" if quote == '"' else '"'
        elif command.startswith("$(", i) and quote != "'":
            depth, j = 1, i + 2
            while j < len(command) and depth:
                depth += {"(": 1, ")": -1}.get(command[j], 0)
                j += 1
            if depth:
                raise ShellSyntaxError("syntax error: unterminated $(")
            captured = io.BytesIO()
            inner = dataclasses.replace(ctx, stdout=captured)
            run_nodes(inner, parse(command[i + 2 : j - 1]), run_line, status)
            text = captured.getvalue().decode(errors="replace").rstrip("\n")
            out.append(text.replace("\\", "\\\\").replace('"', '\\"') if quote else text)
            i = j
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def run_nodes(ctx: Context, nodes: list[Node], run_line: RunLine, status: int) -> tuple[int, bool]:
    for node in nodes:
        if isinstance(node, Loop):
            while True:
                status, leave = run_nodes(ctx, node.condition, run_line, status)
                if leave:
                    return status, True
                if (status == 0) == node.until:
                    status = 0
                    break
                status, leave = run_nodes(ctx, node.body, run_line, status)
                if leave:
                    return status, True
            continue
        status, leave = run_line(ctx, substitute(ctx, node, run_line, status), status)
        if leave:
            return status, True
    return status, False


def run_script(ctx: Context, text: str, run_line: RunLine, status: int = 0) -> tuple[int, bool]:
    """Run a script; (status, exit requested). Syntax errors are ash's: exit status 2."""
    try:
        return run_nodes(ctx, parse(text), run_line, status)
    except ShellSyntaxError as exc:
        ctx.err(f"sh: {exc}\n")
        return 2, False


def date(ctx: Context, args: list[str]) -> int:
    """`date` with no arguments, in UTC as containers are: `Mon Dec  7 14:48:21 UTC 2026`; `+FORMAT` too."""
    now = time.gmtime()
    if args and args[0].startswith("+"):
        ctx.out(time.strftime(args[0][1:].replace("%Z", "UTC"), now) + "\n")
        return 0
    if args:
        ctx.err(f"date: invalid date '{args[0]}'\n")
        return 1
    ctx.out(time.strftime("%a %b ", now) + f"{now.tm_mday:2d}" + time.strftime(" %H:%M:%S UTC %Y", now) + "\n")
    return 0
