"""The toolbox's `sh`: the POSIX shell language a container's command line is written in, run inside the toolbox.

What `command: ["/bin/sh", "-c", "..."]` and `kubectl exec ... -- sh -c` need from busybox's ash or Debian's
dash: lists (`;`, `&&`, `||`, newlines), pipelines (`|`), `!`, `if`/`elif`/`else`, `while`, `until`,
`for NAME in ...`, `{ ...; }` and `( ... )`, `break` and `continue`, `$VAR`, `${VAR}`, `${VAR:-word}` and
its kin, `$?`, `$#`, `$1`..., command substitution (`$(...)`, backquotes), arithmetic (`$((...))`), field
splitting, redirections to files of the container (`>`, `>>`, `<`, `2>&1`, `/dev/null`), and the builtins
`exit`, `cd`, `export`, `unset`, `set`, `shift`, `test`/`[`, `:`, `exec`, `wait`, `read`, and pathname
expansion (`*`, `?`, `[...]` against the container's files, as ash and dash expand them: `.*` matches `.`
and `..`; a pattern that matches nothing stays as it is). Every command it
runs is a program of the container's toolbox (kubesim/toolbox/programs.py), run in this process; a program
the image does not have answers `sh: X: not found`, 127. Not served: `case`, functions, here-documents
and background jobs (`&` runs the command in the foreground).

A pipeline runs its commands one after the other, each reading what the one before wrote: an endless
command inside a pipeline never hands its output on (a real shell would stream it).
"""

from __future__ import annotations

import ast
import dataclasses
import io
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from kubesim.toolbox.programs import Context

META = " \t\n;&|()<>"
OPERATORS = ("&&", "||", ";;", ">>", ">&", "<&", "&>", ";", "&", "|", "(", ")", "<", ">", "\n")
REDIRECTS = (">", ">>", "<", ">&", "<&", "&>")
RESERVED = frozenset("if then elif else fi while until do done for in case esac { } !".split())  # noqa: SIM905
NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ASSIGN = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")
IFS_WHITE = " \t\n"


class ShellSyntax(Exception):
    """A command line the shell cannot parse; `incomplete` when more input could complete it."""

    def __init__(self, token: str, incomplete: bool = False) -> None:
        super().__init__(token)
        self.token, self.incomplete = token, incomplete


class ExitShell(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(code)
        self.code = code


class LoopControl(Exception):
    def __init__(self, kind: str, count: int) -> None:
        super().__init__(kind)
        self.kind, self.count = kind, count


# --------------------------------------------------------------------------- lexer


@dataclass(frozen=True)
class Token:
    kind: str  # WORD, OP, IO (a redirection with its fd), EOF
    text: str
    fd: int | None = None

    def is_word(self, *words: str) -> bool:
        """An unquoted word (reserved words are recognised only unquoted)."""
        return self.kind == "WORD" and self.text in words


def _skip_quote(s: str, i: int) -> int:
    j = s.find("'", i + 1)
    if j < 0:
        raise ShellSyntax("unterminated quoted string", incomplete=True)
    return j + 1


def _skip_dquote(s: str, i: int) -> int:
    i += 1
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
        elif c == '"':
            return i + 1
        elif c == "$" and s[i + 1 : i + 2] == "(":
            i = _skip_parens(s, i + 1)
        elif c == "`":
            i = _skip_backquote(s, i)
        else:
            i += 1
    raise ShellSyntax("unterminated quoted string", incomplete=True)


def _skip_backquote(s: str, i: int) -> int:
    i += 1
    while i < len(s):
        if s[i] == "\\":
            i += 2
        elif s[i] == "`":
            return i + 1
        else:
            i += 1
    raise ShellSyntax("unterminated `", incomplete=True)


def _skip_parens(s: str, i: int) -> int:
    """From an opening parenthesis to just after its match, skipping quoted text."""
    depth = 0
    while i < len(s):
        c = s[i]
        if c == "\\":
            i += 2
            continue
        if c == "'":
            i = _skip_quote(s, i)
            continue
        if c == '"':
            i = _skip_dquote(s, i)
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise ShellSyntax("unterminated $(", incomplete=True)


def _skip_brace(s: str, i: int) -> int:
    j = s.find("}", i)
    if j < 0:
        raise ShellSyntax("missing }", incomplete=True)
    return j + 1


def tokenize(s: str) -> list[Token]:
    tokens: list[Token] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c in " \t":
            i += 1
            continue
        if c == "\\" and s[i + 1 : i + 2] == "\n":
            i += 2
            continue
        if c == "#":
            while i < len(s) and s[i] != "\n":
                i += 1
            continue
        op = next((o for o in OPERATORS if s.startswith(o, i)), None)
        if op is not None:
            tokens.append(Token("OP", op))
            i += len(op)
            continue
        start, raw = i, []
        while i < len(s) and s[i] not in META:
            c = s[i]
            if c == "\\":
                j = i + 2
            elif c == "'":
                j = _skip_quote(s, i)
            elif c == '"':
                j = _skip_dquote(s, i)
            elif c == "`":
                j = _skip_backquote(s, i)
            elif c == "$" and s[i + 1 : i + 2] == "(":
                j = _skip_parens(s, i + 1)
            elif c == "$" and s[i + 1 : i + 2] == "{":
                j = _skip_brace(s, i)
            else:
                j = i + 1
            raw.append(s[i:j])
            i = j
        word = "".join(raw)
        if word.isdigit() and i < len(s) and s[i] in "<>":  # an IO number: 2>&1, 2>/dev/null
            op = next(o for o in OPERATORS if s.startswith(o, i))
            tokens.append(Token("IO", op, int(word)))
            i += len(op)
            continue
        if i == start:  # pragma: no cover - META characters are operators
            raise ShellSyntax(s[i])
        tokens.append(Token("WORD", word))
    tokens.append(Token("EOF", ""))
    return tokens


# --------------------------------------------------------------------------- syntax tree


@dataclass
class Redirect:
    op: str
    fd: int | None
    target: str  # a word, or the fd after >& / <&


@dataclass
class Simple:
    assigns: list[tuple[str, str]]
    words: list[str]
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Pipeline:
    commands: list[Any]
    negate: bool = False


@dataclass
class AndOr:
    first: Pipeline
    rest: list[tuple[str, Pipeline]]


@dataclass
class If:
    branches: list[tuple[list[AndOr], list[AndOr]]]
    otherwise: list[AndOr] | None
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Loop:
    until: bool
    condition: list[AndOr]
    body: list[AndOr]
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class For:
    name: str
    words: list[str] | None
    body: list[AndOr]
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Group:
    body: list[AndOr]
    subshell: bool
    redirects: list[Redirect] = field(default_factory=list)


class Parser:
    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.pos = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def newlines(self) -> None:
        while self.tok.kind == "OP" and self.tok.text == "\n":
            self.pos += 1

    def expect(self, word: str) -> None:
        self.newlines()
        if not self.tok.is_word(word):
            raise self.unexpected()
        self.pos += 1

    def unexpected(self) -> ShellSyntax:
        if self.tok.kind == "EOF":
            return ShellSyntax("end of file", incomplete=True)
        return ShellSyntax(self.tok.text.replace("\n", "newline"))

    def program(self) -> list[AndOr]:
        body = self.parse_list()
        if self.tok.kind != "EOF":
            raise self.unexpected()
        return body

    def parse_list(self) -> list[AndOr]:
        items: list[AndOr] = []
        self.newlines()
        while self.tok.kind != "EOF" and not self.tok.is_word("then", "do", "done", "fi", "else", "elif", "}", "esac"):
            if self.tok.kind == "OP" and self.tok.text == ")":
                break
            items.append(self.and_or())
            if self.tok.kind == "OP" and self.tok.text in (";", "&", "\n"):
                self.pos += 1
                self.newlines()
            else:
                break
        return items

    def and_or(self) -> AndOr:
        first = self.pipeline()
        rest = []
        while self.tok.kind == "OP" and self.tok.text in ("&&", "||"):
            op = self.take().text
            self.newlines()
            rest.append((op, self.pipeline()))
        return AndOr(first, rest)

    def pipeline(self) -> Pipeline:
        negate = False
        if self.tok.is_word("!"):
            self.pos += 1
            negate = True
        commands = [self.command()]
        while self.tok.kind == "OP" and self.tok.text == "|":
            self.pos += 1
            self.newlines()
            commands.append(self.command())
        return Pipeline(commands, negate)

    def command(self) -> Any:
        tok = self.tok
        node: Any
        if tok.is_word("if"):
            node = self.if_()
        elif tok.is_word("while", "until"):
            self.pos += 1
            condition = self.parse_list()
            self.expect("do")
            body = self.parse_list()
            self.expect("done")
            node = Loop(tok.text == "until", condition, body)
        elif tok.is_word("for"):
            node = self.for_()
        elif tok.is_word("{"):
            self.pos += 1
            body = self.parse_list()
            self.expect("}")
            node = Group(body, subshell=False)
        elif tok.kind == "OP" and tok.text == "(":
            self.pos += 1
            body = self.parse_list()
            if not (self.tok.kind == "OP" and self.tok.text == ")"):
                raise self.unexpected()
            self.pos += 1
            node = Group(body, subshell=True)
        elif tok.is_word("case"):
            raise ShellSyntax("case (not available in this cluster's toolbox)")
        else:
            return self.simple()
        node.redirects = self.redirects()
        return node

    def redirects(self) -> list[Redirect]:
        out = []
        while self.tok.kind == "IO" or (self.tok.kind == "OP" and self.tok.text in REDIRECTS):
            tok = self.take()
            if self.tok.kind != "WORD":
                raise self.unexpected()
            out.append(Redirect(tok.text, tok.fd, self.take().text))
        return out

    def simple(self) -> Simple:
        node = Simple([], [])
        while True:
            tok = self.tok
            if tok.kind == "WORD":
                m = ASSIGN.match(tok.text)
                if not node.words and m:
                    node.assigns.append((m.group(1), tok.text[m.end() :]))
                else:
                    node.words.append(tok.text)
                self.pos += 1
            elif tok.kind == "IO" or (tok.kind == "OP" and tok.text in REDIRECTS):
                node.redirects.extend(self.redirects())
            else:
                break
        if not node.words and not node.assigns and not node.redirects:
            raise self.unexpected()
        if node.words and node.words[0] in RESERVED - {"!", "{"} and node.words[0] not in ("in",):
            raise ShellSyntax(node.words[0])
        return node

    def if_(self) -> If:
        branches = []
        otherwise = None
        self.pos += 1
        condition = self.parse_list()
        self.expect("then")
        branches.append((condition, self.parse_list()))
        while True:
            self.newlines()
            if self.tok.is_word("elif"):
                self.pos += 1
                condition = self.parse_list()
                self.expect("then")
                branches.append((condition, self.parse_list()))
            elif self.tok.is_word("else"):
                self.pos += 1
                otherwise = self.parse_list()
            else:
                break
        self.expect("fi")
        return If(branches, otherwise)

    def for_(self) -> For:
        self.pos += 1
        if self.tok.kind != "WORD" or not NAME.fullmatch(self.tok.text):
            raise self.unexpected()
        name = self.take().text
        words = None
        self.newlines()
        if self.tok.is_word("in"):
            self.pos += 1
            words = []
            while self.tok.kind == "WORD":
                words.append(self.take().text)
        if self.tok.kind == "OP" and self.tok.text == ";":
            self.pos += 1
        self.expect("do")
        body = self.parse_list()
        self.expect("done")
        return For(name, words, body)


def parse(text: str) -> list[AndOr]:
    return Parser(text).program()


# --------------------------------------------------------------------------- arithmetic

_BINARY: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.LShift: operator.lshift,
    ast.RShift: operator.rshift,
    ast.BitAnd: operator.and_,
    ast.BitOr: operator.or_,
    ast.BitXor: operator.xor,
}
_COMPARE: dict[type, Callable[[int, int], bool]] = {
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
}


def arithmetic(expr: str, lookup: Callable[[str], str]) -> int:
    """$((expr)): integers, variables by name, + - * / % << >> & | ^, comparisons, && || ! and parentheses."""
    text = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: m.group(1), expr)
    text = text.replace("&&", " and ").replace("||", " or ").replace("/", "//")
    text = re.sub(r"!(?!=)", " not ", text)

    def value(node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            raw = lookup(node.id).strip() or "0"
            return int(raw) if re.fullmatch(r"-?\d+", raw) else 0
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            right = value(node.right)
            if isinstance(node.op, ast.FloorDiv | ast.Mod) and right == 0:
                raise ZeroDivisionError
            left = value(node.left)
            if isinstance(node.op, ast.FloorDiv):  # C division truncates toward zero
                return int(left / right)
            return _BINARY[type(node.op)](left, right)
        if isinstance(node, ast.UnaryOp):
            operand = value(node.operand)
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return operand
            if isinstance(node.op, ast.Not):
                return int(not operand)
            if isinstance(node.op, ast.Invert):
                return ~operand
        if isinstance(node, ast.Compare) and all(type(o) in _COMPARE for o in node.ops):
            left = value(node.left)
            for op, comparator in zip(node.ops, node.comparators, strict=True):
                right = value(comparator)
                if not _COMPARE[type(op)](left, right):
                    return 0
                left = right
            return 1
        if isinstance(node, ast.BoolOp):
            results = [value(v) for v in node.values]
            return int(all(results) if isinstance(node.op, ast.And) else any(results))
        raise ValueError(expr)

    try:
        return value(ast.parse(text.strip() or "0", mode="eval").body)
    except SyntaxError as exc:
        raise ValueError(expr) from exc


# --------------------------------------------------------------------------- the shell


class Shell:
    """One shell process: its variables, positional parameters and last status."""

    def __init__(self, ctx: Context, name: str = "sh", positional: list[str] | None = None) -> None:
        self.ctx = ctx
        self.vars: dict[str, str] = dict(ctx.env)
        self.exported: set[str] = set(ctx.env)
        self.name = name
        self.positional = list(positional or [])
        self.status = 0
        self.cwd = "/"

    # ---- messages
    def error(self, text: str, stderr: BinaryIO | None = None) -> None:
        stream = stderr or self.ctx.stderr
        stream.write(f"sh: {text}\n".encode())
        stream.flush()

    def syntax_error(self, exc: ShellSyntax) -> int:
        if self.ctx.busybox:
            self.error(
                f"syntax error: unexpected {exc.token}"
                if exc.token != "end of file"
                else "syntax error: unexpected end of file"
            )
        else:
            self.error(
                f"1: Syntax error: {exc.token} unexpected"
                if exc.token != "end of file"
                else "1: Syntax error: end of file unexpected"
            )
        return 2

    # ---- entry points
    def run_text(self, text: str) -> int:
        try:
            program = parse(text)
        except ShellSyntax as exc:
            return self.syntax_error(exc)
        try:
            return self.run_list(program, self.ctx.stdin, self.ctx.stdout, self.ctx.stderr)
        except ExitShell as leave:
            return leave.code
        except LoopControl:
            return self.status

    # ---- execution
    def run_list(self, items: list[AndOr], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> int:
        for item in items:
            self.status = self.run_and_or(item, stdin, stdout, stderr)
        return self.status

    def run_and_or(self, node: AndOr, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> int:
        status = self.run_pipeline(node.first, stdin, stdout, stderr)
        for op, pipeline in node.rest:
            self.status = status
            if (op == "&&") == (status == 0):
                status = self.run_pipeline(pipeline, stdin, stdout, stderr)
        return status

    def run_pipeline(self, node: Pipeline, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> int:
        source = stdin
        status = 0
        for index, command in enumerate(node.commands):
            last = index == len(node.commands) - 1
            sink: BinaryIO = stdout if last else io.BytesIO()
            if len(node.commands) > 1:  # each part of a pipeline runs in a subshell
                status = self.subshell().run_command(command, source, sink, stderr)
            else:
                status = self.run_command(command, source, sink, stderr)
            if not last:
                assert isinstance(sink, io.BytesIO)
                source = io.BytesIO(sink.getvalue())
        if node.negate:
            status = int(status == 0)
        self.status = status
        return status

    def subshell(self) -> Shell:
        child = Shell(self.ctx, self.name, self.positional)
        child.vars, child.exported, child.status, child.cwd = dict(self.vars), set(self.exported), self.status, self.cwd
        return child

    def run_command(self, node: Any, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> int:
        try:
            streams = self.redirected(node.redirects, stdin, stdout, stderr)
        except OSError as exc:
            self.error(str(exc), stderr)
            return 1
        stdin, stdout, stderr = streams
        if isinstance(node, Simple):
            return self.run_simple(node, stdin, stdout, stderr)
        if isinstance(node, If):
            for condition, body in node.branches:
                if self.run_list(condition, stdin, stdout, stderr) == 0:
                    return self.run_list(body, stdin, stdout, stderr)
            return self.run_list(node.otherwise, stdin, stdout, stderr) if node.otherwise is not None else 0
        if isinstance(node, Loop):
            return self.run_loop(node, stdin, stdout, stderr)
        if isinstance(node, For):
            words = self.expand_words(node.words) if node.words is not None else list(self.positional)
            status = 0
            for word in words:
                self.vars[node.name] = word
                try:
                    status = self.run_list(node.body, stdin, stdout, stderr)
                except LoopControl as ctl:
                    if ctl.count > 1:
                        raise LoopControl(ctl.kind, ctl.count - 1) from None
                    if ctl.kind == "break":
                        break
            return status
        if isinstance(node, Group):
            if not node.subshell:
                return self.run_list(node.body, stdin, stdout, stderr)
            child = self.subshell()
            try:
                return child.run_list(node.body, stdin, stdout, stderr)
            except ExitShell as leave:
                return leave.code
            except LoopControl:
                return child.status
        raise TypeError(node)  # pragma: no cover

    def run_loop(self, node: Loop, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> int:
        status = 0
        while True:
            met = self.run_list(node.condition, stdin, stdout, stderr) == 0
            if met == node.until:
                return status
            try:
                status = self.run_list(node.body, stdin, stdout, stderr)
            except LoopControl as ctl:
                if ctl.count > 1:
                    raise LoopControl(ctl.kind, ctl.count - 1) from None
                if ctl.kind == "break":
                    return 0

    def redirected(
        self, redirects: list[Redirect], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO
    ) -> tuple[BinaryIO, BinaryIO, BinaryIO]:
        streams = [stdin, stdout, stderr]
        for r in redirects:
            target = self.expand_one(r.target)
            if r.op in (">&", "<&"):
                fd = r.fd if r.fd is not None else (1 if r.op == ">&" else 0)
                if target == "-":
                    streams[fd] = io.BytesIO()
                    continue
                if not target.isdigit() or int(target) > 2:
                    raise OSError(f"{target}: bad file descriptor" if target.isdigit() else "ambiguous redirect")
                if fd <= 2:
                    streams[fd] = streams[int(target)]
                continue
            if r.op == "&>":
                sink = self.open_file(target, append=False)
                streams[1] = streams[2] = sink
                continue
            fd = r.fd if r.fd is not None else (0 if r.op == "<" else 1)
            stream = self.open_file(target, append=r.op == ">>", read=r.op == "<")
            if fd <= 2:
                streams[fd] = stream
        return streams[0], streams[1], streams[2]

    def open_file(self, path: str, *, append: bool = False, read: bool = False) -> BinaryIO:
        if path == "/dev/null":
            return io.BytesIO()
        if path in ("/dev/stdout", "/proc/self/fd/1"):
            return self.ctx.stdout
        if path in ("/dev/stderr", "/proc/self/fd/2"):
            return self.ctx.stderr
        fs = self.ctx.fs
        if read:
            try:
                return io.BytesIO(fs.read(path, self.cwd))
            except OSError as exc:
                raise OSError(f"can't open '{path}': {exc.strerror}") from exc
        opener = getattr(fs, "open_write", None)
        if opener is None:
            raise OSError(f"can't create {path}: Read-only file system")
        try:
            return opener(path, append=append, cwd=self.cwd)
        except OSError as exc:
            raise OSError(f"can't create {path}: {exc.strerror}") from exc

    def run_simple(self, node: Simple, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> int:
        self._subst_status: int | None = None
        assigns = [(name, self.expand_one(value)) for name, value in node.assigns]
        argv = self.expand_words(node.words)
        if not argv:
            for name, value in assigns:
                self.vars[name] = value
            return self._subst_status or 0
        name = argv[0]
        builtin = BUILTINS.get(name)
        if builtin is not None:
            return builtin(self, argv[1:], stdin, stdout, stderr)
        program = name.rsplit("/", 1)[-1]
        if not self.ctx.toolbox.has(program):
            self.error(f"{name}: not found", stderr)
            return 127
        env = {k: v for k, v in self.vars.items() if k in self.exported} | dict(assigns)
        return self.spawn(argv, env, stdin, stdout, stderr)

    def spawn(self, argv: list[str], env: dict[str, str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> int:
        from kubesim.toolbox.programs import run  # noqa: PLC0415 - programs imports this module

        ctx = dataclasses.replace(self.ctx, env=env, stdin=stdin, stdout=stdout, stderr=stderr, cwd=self.cwd)
        try:
            return run(ctx, argv)
        except KeyboardInterrupt:
            if not self.ctx.tty:
                raise
            stdout.write(b"\n")
            return 130
        except BrokenPipeError:
            return 141

    # ---- expansion
    def lookup(self, name: str) -> str:
        if name == "?":
            return str(self.status)
        if name == "$":
            return "1"
        if name == "#":
            return str(len(self.positional))
        if name in ("@", "*"):
            return " ".join(self.positional)
        if name == "0":
            return self.name
        if name.isdigit():
            index = int(name)
            return self.positional[index - 1] if index <= len(self.positional) else ""
        if name == "PWD":
            return self.vars.get("PWD", self.cwd)
        return self.vars.get(name, "")

    def is_set(self, name: str) -> bool:
        if name.isdigit():
            return 0 < int(name) <= len(self.positional) or name == "0"
        return name in self.vars or name in ("?", "$", "#", "@", "*", "PWD")

    def substitute(self, text: str) -> str:
        child = self.subshell()
        out = io.BytesIO()
        try:
            status = child.run_list(parse(text), self.ctx.stdin, out, self.ctx.stderr)
        except ShellSyntax as exc:
            status = child.syntax_error(exc)
        except ExitShell as leave:
            status = leave.code
        except LoopControl:
            status = child.status
        self._subst_status = status
        return out.getvalue().decode(errors="replace").rstrip("\n")

    def parameter(self, body: str) -> str:
        """${...}: name, #name, name:-word, name-word, name:=word, name:+word, name:?word."""
        if body.startswith("#") and len(body) > 1:
            return str(len(self.lookup(body[1:])))
        m = re.match(r"([A-Za-z_][A-Za-z0-9_]*|\d+|[?$#@*])(:?[-=+?])?(.*)", body, re.S)
        if not m:
            raise ShellSyntax(f"${{{body}}}: bad substitution")
        name, op, word = m.group(1), m.group(2), m.group(3)
        if not op:
            if word:
                raise ShellSyntax(f"${{{body}}}: bad substitution")
            return self.lookup(name)
        value = self.lookup(name)
        present = self.is_set(name) and (bool(value) or not op.startswith(":"))
        kind = op[-1]
        if kind == "-":
            return value if present else self.expand_one(word)
        if kind == "=":
            if not present:
                self.vars[name] = self.expand_one(word)
            return self.vars.get(name, value)
        if kind == "+":
            return self.expand_one(word) if present else ""
        if not present:  # ?
            raise OSError(f"{name}: {self.expand_one(word) or 'parameter not set'}")
        return value

    def dollar(self, raw: str, i: int) -> tuple[str, int]:
        """One `$` expansion at raw[i]; returns its value and where the word goes on."""
        nxt = raw[i + 1 : i + 2]
        if raw.startswith("$((", i):
            end = _skip_parens(raw, i + 1)
            expr = raw[i + 3 : end - 2]
            expr = self.expand_one(expr, quoted=True)
            try:
                return str(arithmetic(expr, self.lookup)), end
            except ZeroDivisionError as exc:
                raise OSError("arithmetic syntax error: division by zero") from exc
            except ValueError as exc:
                raise OSError(f"arithmetic syntax error: {expr}") from exc
        if nxt == "(":
            end = _skip_parens(raw, i + 1)
            return self.substitute(raw[i + 2 : end - 1]), end
        if nxt == "{":
            end = _skip_brace(raw, i)
            return self.parameter(raw[i + 2 : end - 1]), end
        m = NAME.match(raw, i + 1)
        if m:
            return self.lookup(m.group(0)), m.end()
        if nxt and (nxt.isdigit() or nxt in "?$#@*!-"):
            return ("" if nxt in "!-" else self.lookup(nxt)), i + 2
        return "$", i + 1

    def parts(self, raw: str) -> list[tuple[str, bool, bool]]:
        """The word as (text, splittable, pattern) pieces: expansions outside quotes are split, all else is not;
        unquoted text and unquoted expansions may hold glob patterns, quoted and escaped text never does."""
        out: list[tuple[str, bool, bool]] = []
        i = 0
        while i < len(raw):
            c = raw[i]
            if c == "\\":
                out.append((raw[i + 1 : i + 2], False, False))
                i += 2
            elif c == "'":
                j = _skip_quote(raw, i)
                out.append((raw[i + 1 : j - 1], False, False))
                i = j
            elif c == '"':
                j = _skip_dquote(raw, i)
                out.append((self.expand_one(raw[i + 1 : j - 1], quoted=True), False, False))
                i = j
            elif c == "`":
                j = _skip_backquote(raw, i)
                out.append((self.substitute(raw[i + 1 : j - 1].replace("\\`", "`")), True, True))
                i = j
            elif c == "$":
                value, i = self.dollar(raw, i)
                out.append((value, value != "$", True))
            else:
                j = i
                while j < len(raw) and raw[j] not in "\\'\"`$":
                    j += 1
                out.append((raw[i:j], False, True))
                i = j
        return out

    def expand_one(self, raw: str, quoted: bool = False) -> str:
        """A word expanded without field splitting (assignments, redirection targets, the inside of "...")."""
        if not quoted:
            return "".join(text for text, _, _ in self.parts(raw))
        out = []
        i = 0
        while i < len(raw):
            c = raw[i]
            if c == "\\" and raw[i + 1 : i + 2] in ('"', "\\", "$", "`", "\n"):
                out.append(raw[i + 1])
                i += 2
            elif c == "`":
                j = _skip_backquote(raw, i)
                out.append(self.substitute(raw[i + 1 : j - 1]))
                i = j
            elif c == "$":
                value, i = self.dollar(raw, i)
                out.append(value)
            else:
                out.append(c)
                i += 1
        return "".join(out)

    def expand_words(self, words: list[str]) -> list[str]:
        """Field splitting, then pathname expansion of the fields with an unquoted `*`, `?` or `[`."""
        fields: list[list[tuple[str, bool]]] = []  # each field as (text, may be a pattern) pieces
        for raw in words:
            current: list[tuple[str, bool]] | None = None
            for text, split, pattern in self.parts(raw):
                if not split:
                    current = [*(current or []), (text, pattern)]
                    continue
                if not text:
                    continue
                if text[0] in IFS_WHITE and current is not None:
                    fields.append(current)
                    current = None
                for k, piece in enumerate(text.split()):
                    if k and current is not None:
                        fields.append(current)
                        current = None
                    current = [*(current or []), (piece, pattern)]
                if text[-1] in IFS_WHITE and current is not None:
                    fields.append(current)
                    current = None
            if current is not None:
                fields.append(current)
        out: list[str] = []
        for pieces in fields:
            text = "".join(t for t, _ in pieces)
            if any(p and any(ch in t for ch in "*?[") for t, p in pieces):
                out.extend(self.glob(pieces) or [text])
            else:
                out.append(text)
        return out

    def glob(self, pieces: list[tuple[str, bool]]) -> list[str]:
        """The container's paths a pattern matches, sorted (none: the word stays as it is). As in ash and dash,
        a leading `.` must be matched explicitly and then `.` and `..` match too."""
        pattern = "".join(_glob_escape(t) if not p else t for t, p in pieces)
        absolute = pattern.startswith("/")
        parts = [x for x in pattern.split("/") if x]
        found = ["/" if absolute else ""]
        for k, part in enumerate(parts):
            last = k == len(parts) - 1
            nxt: list[str] = []
            for base in found:
                if not _has_magic(part):
                    literal = _glob_unescape(part)
                    candidate = base + literal
                    if last or self._is_dir(candidate):
                        nxt.append(candidate + ("" if last else "/"))
                    continue
                try:
                    entry = self.ctx.fs.lookup(base or ".", self.cwd)
                except OSError:
                    continue
                if not entry.is_dir:
                    continue
                names = list(entry.children) + ([".", ".."] if part.startswith(".") else [])
                regex = re.compile(_glob_regex(part))
                for name in sorted(names):
                    if name.startswith(".") and not part.startswith("."):
                        continue
                    if regex.fullmatch(name) and (last or self._is_dir(base + name)):
                        nxt.append(base + name + ("" if last else "/"))
            found = nxt
        if found in ([], ["/"], [""]):
            return []
        return sorted(f for f in found if self._exists(f))

    def _is_dir(self, path: str) -> bool:
        try:
            return self.ctx.fs.lookup(path or ".", self.cwd).is_dir
        except OSError:
            return False

    def _exists(self, path: str) -> bool:
        try:
            self.ctx.fs.lookup(path or ".", self.cwd)
        except OSError:
            return False
        return True


def _glob_escape(text: str) -> str:
    return re.sub(r"([*?\[\\])", r"\\\1", text)


def _glob_unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _has_magic(part: str) -> bool:
    """Whether a pattern component has an unescaped `*`, `?` or `[`."""
    i = 0
    while i < len(part):
        if part[i] == "\\":
            i += 2
            continue
        if part[i] in "*?[":
            return True
        i += 1
    return False


def _glob_regex(part: str) -> str:
    """A shell pattern component as a regular expression (`\\` escapes, `[!...]` negates)."""
    out = []
    i = 0
    while i < len(part):
        c = part[i]
        if c == "\\" and i + 1 < len(part):
            out.append(re.escape(part[i + 1]))
            i += 2
            continue
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "[":
            j = part.find("]", i + 2)
            if j < 0:
                out.append(re.escape(c))
            else:
                body = part[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


# --------------------------------------------------------------------------- builtins

Builtin = Callable[[Shell, list[str], BinaryIO, BinaryIO, BinaryIO], int]


def _exit(sh: Shell, args: list[str], *_: BinaryIO) -> int:
    raise ExitShell(int(args[0]) & 255 if args and args[0].lstrip("-").isdigit() else sh.status)


def _loop_control(kind: str) -> Builtin:
    def control(sh: Shell, args: list[str], *_: BinaryIO) -> int:
        raise LoopControl(kind, int(args[0]) if args and args[0].isdigit() else 1)

    return control


def _colon(_sh: Shell, _args: list[str], *_: BinaryIO) -> int:
    return 0


def _cd(sh: Shell, args: list[str], _stdin: BinaryIO, _stdout: BinaryIO, stderr: BinaryIO) -> int:
    target = args[0] if args else sh.vars.get("HOME", "/")
    try:
        entry = sh.ctx.fs.lookup(target, sh.cwd)
    except OSError:
        sh.error(f"cd: can't cd to {target}: No such file or directory", stderr)
        return 2 if not sh.ctx.busybox else 1
    if not entry.is_dir:
        sh.error(f"cd: can't cd to {target}: Not a directory", stderr)
        return 2 if not sh.ctx.busybox else 1
    sh.vars["OLDPWD"], sh.cwd = sh.cwd, entry.path
    sh.vars["PWD"] = sh.cwd
    return 0


def _export(sh: Shell, args: list[str], _stdin: BinaryIO, stdout: BinaryIO, _stderr: BinaryIO) -> int:
    if not args or args == ["-p"]:
        for name in sorted(sh.exported):
            if name in sh.vars:
                stdout.write(f"export {name}='{sh.vars[name]}'\n".encode())
        stdout.flush()
        return 0
    for arg in args:
        name, eq, value = arg.partition("=")
        if eq:
            sh.vars[name] = value
        sh.exported.add(name)
    return 0


def _unset(sh: Shell, args: list[str], *_: BinaryIO) -> int:
    for name in args:
        if not name.startswith("-"):
            sh.vars.pop(name, None)
            sh.exported.discard(name)
    return 0


def _set(sh: Shell, args: list[str], *_: BinaryIO) -> int:
    if "--" in args:
        sh.positional = args[args.index("--") + 1 :]
    return 0  # options (-e, -x, -u, -o pipefail) are accepted and not enforced


def _shift(sh: Shell, args: list[str], *_: BinaryIO) -> int:
    count = int(args[0]) if args and args[0].isdigit() else 1
    if count > len(sh.positional):
        return 1
    sh.positional = sh.positional[count:]
    return 0


def _exec(sh: Shell, args: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> int:
    if not args:
        return 0
    node = Simple([], [_quote(a) for a in args])
    raise ExitShell(sh.run_simple(node, stdin, stdout, stderr))


def _wait(_sh: Shell, _args: list[str], *_: BinaryIO) -> int:
    return 0


def _read(sh: Shell, args: list[str], stdin: BinaryIO, _stdout: BinaryIO, _stderr: BinaryIO) -> int:
    names = [a for a in args if not a.startswith("-")] or ["REPLY"]
    line = stdin.readline()
    if not line:
        return 1
    words = line.decode(errors="replace").rstrip("\n").split(None, len(names) - 1)
    for k, name in enumerate(names):
        sh.vars[name] = words[k] if k < len(words) else ""
    return 0


def _test(sh: Shell, args: list[str], _stdin: BinaryIO, _stdout: BinaryIO, stderr: BinaryIO) -> int:
    from kubesim.toolbox.programs import test_expression  # noqa: PLC0415 - programs imports this module

    ctx = dataclasses.replace(sh.ctx, stderr=stderr, cwd=sh.cwd)
    return test_expression(ctx, args)


def _bracket(sh: Shell, args: list[str], stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> int:
    if not args or args[-1] != "]":
        sh.error("[: missing ]", stderr)
        return 2
    return _test(sh, args[:-1], stdin, stdout, stderr)


def _quote(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


BUILTINS: dict[str, Builtin] = {
    "exit": _exit,
    "break": _loop_control("break"),
    "continue": _loop_control("continue"),
    ":": _colon,
    "cd": _cd,
    "export": _export,
    "unset": _unset,
    "set": _set,
    "shift": _shift,
    "exec": _exec,
    "wait": _wait,
    "read": _read,
    "test": _test,
    "[": _bracket,
}


def main(ctx: Context, args: list[str]) -> int:
    """`sh -c 'command line' [name [args...]]`, `sh script`? (not served), or commands read from stdin."""
    while args and args[0].startswith("-") and args[0] not in ("-c", "-", "--"):
        args = args[1:]  # -e, -x, -l...: accepted, not enforced
    if args[:1] == ["-c"]:
        if len(args) < 2:
            ctx.err("sh: -c requires an argument\n")
            return 2
        shell = Shell(ctx, args[2] if len(args) > 2 else "sh", args[3:])
        return shell.run_text(args[1])
    if args and args[0] not in ("-", "--"):
        try:
            script = ctx.fs.read(args[0])
        except OSError:
            ctx.err(
                f"sh: can't open '{args[0]}': No such file or directory\n"
                if ctx.busybox
                else f"sh: 0: cannot open {args[0]}: No such file\n"
            )
            return 2
        return Shell(ctx, args[0], args[1:]).run_text(script.decode(errors="replace"))
    return interactive(ctx)


def interactive(ctx: Context) -> int:
    shell = Shell(ctx)
    prompt = "/ # " if ctx.busybox else "# "
    pending = ""
    while True:
        try:
            if ctx.tty:
                ctx.out(prompt if not pending else "> ")
            raw = ctx.stdin.readline()
            if not raw:
                if pending:
                    shell.syntax_error(ShellSyntax("end of file"))
                    return 2
                return shell.status
            pending += raw.decode(errors="replace")
            try:
                program = parse(pending)
            except ShellSyntax as exc:
                if exc.incomplete:
                    continue
                pending = ""
                shell.status = shell.syntax_error(exc)
                continue
            pending = ""
            try:
                shell.run_list(program, ctx.stdin, ctx.stdout, ctx.stderr)
            except ExitShell as leave:
                return leave.code
            except LoopControl:
                pass
            except OSError as exc:
                shell.error(str(exc))
                shell.status = 1
        except KeyboardInterrupt:  # ^C at the prompt, or while the line is read: a new prompt
            ctx.out("\n")
            pending = ""
            shell.status = 130
