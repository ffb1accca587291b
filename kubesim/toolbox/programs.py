"""The toolbox's own programs: busybox's or coreutils' options, messages and exit codes, on the container's view.

Each program is `f(ctx, args) -> exit code`, writing bytes to ctx.stdout / ctx.stderr. Nothing here opens a
path of this machine: files come from the container's PodFS, names from the cluster's network map, the
environment from the container's own (kubesim/toolbox/__init__.py says why these are not the machine's
programs).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from kubesim.runtime.hook.sitecustomize import NetMap
from kubesim.runtime.images import repository
from kubesim.toolbox import IMAGE_PATH, NONE, Toolbox, not_found, shell, toolbox_for
from kubesim.toolbox.podfs import CLUSTER_DNS, PodFS, PodFSError, cluster_pod_ip, kubelet_files

# Variables of the runtime's own (how a pod process finds the network map, its mounts...), not the container's.
INTERNAL = ("KUBESIM_", "PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE")
SHELL_SET = ("PWD", "OLDPWD", "SHLVL", "_")  # what the cgroup-joining /bin/sh adds


@dataclass
class Context:
    toolbox: Toolbox
    env: dict[str, str]  # the container's environment as its programs see it
    fs: PodFS
    hostname: str
    namespace: str
    pod_ip: str  # the pod's address as this machine knows it (its loopback image)
    net_map: str  # path of the cluster's network map
    main_argv: list[str]
    tty: bool = False
    stdin: BinaryIO = field(default_factory=lambda: sys.stdin.buffer)
    stdout: BinaryIO = field(default_factory=lambda: sys.stdout.buffer)
    stderr: BinaryIO = field(default_factory=lambda: sys.stderr.buffer)

    @classmethod
    def from_environ(cls, environ: dict[str, str]) -> Context:
        mounts = json.loads(environ.get("KUBESIM_MOUNTS") or "{}")
        hostname = environ.get("HOSTNAME", "localhost")
        namespace = environ.get("KUBESIM_POD_NAMESPACE", "default")
        pod_ip = environ.get("KUBESIM_POD_IP", "")
        image = environ.get("KUBESIM_IMAGE", "")
        return cls(
            toolbox=toolbox_for(repository(image)) if image else NONE,
            env=visible_env(environ),
            fs=PodFS(mounts, kubelet_files(hostname, namespace, cluster_pod_ip(pod_ip))),
            hostname=hostname,
            namespace=namespace,
            pod_ip=pod_ip,
            net_map=environ.get("KUBESIM_NET_MAP", ""),
            main_argv=json.loads(environ.get("KUBESIM_MAIN_ARGV") or "[]"),
            tty=sys.stdin.isatty(),
        )

    def netmap(self) -> NetMap:
        try:
            with open(self.net_map, encoding="utf-8") as fh:
                return NetMap.from_json(fh.read())
        except (OSError, ValueError):
            return NetMap()

    def out(self, text: str) -> None:
        self.stdout.write(text.encode())
        self.stdout.flush()

    def err(self, text: str) -> None:
        self.stderr.write(text.encode())
        self.stderr.flush()

    @property
    def busybox(self) -> bool:
        return self.toolbox.flavour == "busybox"


def visible_env(environ: dict[str, str]) -> dict[str, str]:
    """The environment an image's program sees: the runtime's own variables hidden, PATH and HOME the image's."""
    env = {"PATH": IMAGE_PATH, "HOSTNAME": environ.get("HOSTNAME", "localhost")}
    for key, value in environ.items():
        if key not in env and key != "HOME" and key not in SHELL_SET and not key.startswith(INTERNAL):
            env[key] = value
    env["HOME"] = "/root"
    return env


# --------------------------------------------------------------------------- dispatch


def run(ctx: Context, argv: list[str]) -> int:
    """Run one program of the container's toolbox; 127 with the shell's message when the image lacks it."""
    if not argv:
        return 0
    name = argv[0].rsplit("/", 1)[-1]
    if not ctx.toolbox.has(name):
        ctx.err(not_found(argv[0]) + "\n")
        return 127
    if name == "curl":
        from kubesim.toolbox import curl  # noqa: PLC0415 - only the images that have curl need it

        return curl.run(ctx, argv[1:])
    if name in ("wget", "nc"):
        from kubesim.toolbox import net  # noqa: PLC0415 - busybox images only

        return net.wget(ctx, argv[1:]) if name == "wget" else net.nc(ctx, argv[1:])
    return PROGRAMS[name](ctx, argv[1:])


def _echo(ctx: Context, args: list[str]) -> int:
    newline = "\n"
    if args and args[0] == "-n":
        args, newline = args[1:], ""
    ctx.out(" ".join(args) + newline)
    return 0


def _true(_ctx: Context, _args: list[str]) -> int:
    return 0


def _false(_ctx: Context, _args: list[str]) -> int:
    return 1


def _pwd(ctx: Context, _args: list[str]) -> int:
    ctx.out("/\n")
    return 0


def _hostname(ctx: Context, args: list[str]) -> int:
    ctx.out((cluster_pod_ip(ctx.pod_ip) if args[:1] == ["-i"] else ctx.hostname) + "\n")
    return 0


_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _sleep(ctx: Context, args: list[str]) -> int:
    if not args:
        ctx.err("sleep: missing operand\n" if not ctx.busybox else "Usage: sleep [N]...\n")
        return 1
    total = 0.0
    for arg in args:
        if arg in ("inf", "infinity"):
            total = float("inf")
            continue
        m = re.fullmatch(r"(\d+(?:\.\d*)?|\.\d+)([smhd]?)", arg)
        if not m:
            ctx.err(f"sleep: invalid number '{arg}'\n" if ctx.busybox else f"sleep: invalid time interval '{arg}'\n")
            return 1
        total += float(m.group(1)) * _UNITS[m.group(2)]
    deadline = time.monotonic() + total if total != float("inf") else None
    while deadline is None or time.monotonic() < deadline:
        time.sleep(60 if deadline is None else min(60, deadline - time.monotonic()))
    return 0


def _env(ctx: Context, args: list[str]) -> int:
    env = dict(ctx.env)
    while args and "=" in args[0] and not args[0].startswith("="):
        key, _, value = args.pop(0).partition("=")
        env[key] = value
    if args and args[0].startswith("-"):
        ctx.err(f"env: unrecognized option '{args[0]}'\n")
        return 125
    if args:
        name = args[0].rsplit("/", 1)[-1]
        if not ctx.toolbox.has(name):
            ctx.err(
                f"env: can't execute '{args[0]}': No such file or directory\n"
                if ctx.busybox
                else f"env: '{args[0]}': No such file or directory\n"
            )
            return 127
        inner = Context(**{**ctx.__dict__, "env": env})
        return run(inner, args)
    ctx.out("".join(f"{k}={v}\n" for k, v in env.items()))
    return 0


def _printenv(ctx: Context, args: list[str]) -> int:
    if not args:
        return _env(ctx, [])
    missing = 0
    for name in args:
        if name in ctx.env:
            ctx.out(ctx.env[name] + "\n")
        else:
            missing = 1
    return missing


def _cat(ctx: Context, args: list[str]) -> int:
    code = 0
    for path in args or ["-"]:
        if path == "-":
            while chunk := ctx.stdin.read1(65536) if hasattr(ctx.stdin, "read1") else ctx.stdin.read(65536):
                ctx.stdout.write(chunk)
            ctx.stdout.flush()
            continue
        try:
            ctx.stdout.write(ctx.fs.read(path))
            ctx.stdout.flush()
        except PodFSError as exc:
            code = 1
            if ctx.busybox:
                ctx.err(
                    f"cat: can't open '{path}': {exc.strerror}\n"
                    if exc.errno == 2
                    else "cat: read error: Is a directory\n"
                )
            else:
                ctx.err(f"cat: {path}: {exc.strerror}\n")
    return code


def _mode(is_dir: bool, mode: int) -> str:
    return stat.filemode((stat.S_IFDIR if is_dir else stat.S_IFREG) | mode)


def _ls(ctx: Context, args: list[str]) -> int:
    flags = set()
    paths = []
    for arg in args:
        if arg.startswith("-") and len(arg) > 1:
            unknown = set(arg[1:]) - set("1aAl")
            if unknown:
                bad = sorted(unknown)[0]
                ctx.err(
                    f"ls: unrecognized option: {bad}\n"
                    if ctx.busybox
                    else f"ls: invalid option -- '{bad}'\nTry 'ls --help' for more information.\n"
                )
                return 1 if ctx.busybox else 2
            flags |= set(arg[1:])
        else:
            paths.append(arg)
    code = 0
    entries = []
    for path in paths or ["."]:
        try:
            entries.append((path, ctx.fs.lookup(path)))
        except PodFSError as exc:
            code = 1 if ctx.busybox else 2
            ctx.err(f"ls: {path}: {exc.strerror}\n" if ctx.busybox else f"ls: cannot access '{path}': {exc.strerror}\n")
    files = [(p, e) for p, e in entries if not e.is_dir]
    dirs = [(p, e) for p, e in entries if e.is_dir]

    def line(name: str, entry_path: str) -> str:
        if "l" not in flags:
            return name + "\n"
        try:
            entry = ctx.fs.lookup(entry_path)
        except PodFSError:
            return name + "\n"
        size = 4096 if entry.is_dir else len(entry.content)
        return f"{_mode(entry.is_dir, entry.mode)}    1 root     root     {size:>9} Jan  1 00:00 {name}\n"

    for path, entry in files:
        ctx.out(line(path, entry.path))
    for i, (path, entry) in enumerate(dirs):
        if len(entries) > 1:
            ctx.out(("\n" if i or files else "") + f"{path}:\n")
        names = list(entry.children)
        if "a" in flags:
            names = [".", "..", *names]
        elif "A" not in flags:
            names = [n for n in names if not n.startswith(".")]
        for name in names:
            ctx.out(line(name, entry.path.rstrip("/") + "/" + name))
    return code


def _ps(ctx: Context, _args: list[str]) -> int:
    main = " ".join(ctx.main_argv) or "sh"
    ctx.out(
        f"PID   USER     TIME  COMMAND\n    1 root      0:00 {main}\n{os.getpid() % 1000 + 7:>5} root      0:00 ps\n"
    )
    return 0


def _nslookup(ctx: Context, args: list[str]) -> int:
    names = [a for a in args if not a.startswith("-")]
    if not names:
        ctx.err("Usage: nslookup [-type=QUERY_TYPE] [-debug] HOST [DNS_SERVER]\n")
        return 1
    name = names[0].rstrip(".")
    ctx.out(f"Server:\t\t{CLUSTER_DNS}\nAddress:\t{CLUSTER_DNS}:53\n\n")
    candidates = (
        [name]
        if name.count(".") >= 5
        else [f"{name}.{ctx.namespace}.svc.cluster.local", f"{name}.svc.cluster.local", f"{name}.cluster.local", name]
    )
    net = ctx.netmap()
    for fqdn in candidates:
        try:
            ip = net.resolve(fqdn, ctx.namespace)
        except socket.gaierror:
            continue
        if ip is None and not fqdn.endswith("cluster.local"):
            try:
                ip = socket.gethostbyname(fqdn)
            except OSError:
                continue
        if ip:
            ctx.out(f"Name:\t{fqdn}\nAddress: {ip}\n\n")
            return 0
    ctx.out(f"** server can't find {candidates[0]}: NXDOMAIN\n\n")
    return 1


# --------------------------------------------------------------------------- sh: simple command lines only

STATUS_MARK = "\x00?"  # $?, replaced when each command runs (the status of the command before it)
_VAR = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*)|(\?))")


def _expand(line: str, env: dict[str, str]) -> str:
    """$VAR, ${VAR} and $? outside single quotes, quoted so that shlex keeps the value one word."""
    out, quoted = [], False
    i = 0
    while i < len(line):
        ch = line[i]
        if ch == "'":
            quoted = not quoted
        if ch == "$" and not quoted and (m := _VAR.match(line, i)):
            value = STATUS_MARK if m.group(3) else env.get(m.group(1) or m.group(2), "")
            out.append(value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "\\$"))
            i = m.end()
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _sh_line(ctx: Context, line: str, status: int) -> tuple[int, bool]:
    """Run one command line (commands joined by ;, && and ||); returns (status, exit requested)."""
    try:
        lexer = shlex.shlex(_expand(line, ctx.env), posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        tokens = list(lexer)
    except ValueError as exc:
        ctx.err(f"sh: syntax error: {exc}\n")
        return 2, False
    command: list[str] = []
    joiner = ";"
    for token in [*tokens, ";"]:
        if token in (";", "&&", "||"):
            if command and (joiner == ";" or (joiner == "&&") == (status == 0)):
                command = [word.replace(STATUS_MARK, str(status)) for word in command]
                if command[0] == "exit":
                    return (int(command[1]) if len(command) > 1 and command[1].isdigit() else status), True
                known = ctx.toolbox.has(command[0].rsplit("/", 1)[-1])
                try:
                    status = run(ctx, command) if known else _missing(ctx, command)
                except KeyboardInterrupt:  # ^C on the terminal ends the command, not the shell
                    ctx.out("\n")
                    status = 130
            command, joiner = [], token
        elif set(token) <= set(";&|<>()"):
            ctx.err(f"sh: '{token}' (pipes, redirections, subshells) is not available in this cluster's toolbox\n")
            return 2, False
        else:
            command.append(token)
    return status, False


def _missing(ctx: Context, command: list[str]) -> int:
    ctx.err(f"sh: {command[0]}: not found\n")
    return 127


def _sh(ctx: Context, args: list[str]) -> int:
    if args[:1] == ["-c"]:
        if len(args) < 2:
            ctx.err("sh: -c requires an argument\n")
            return 2
        return shell.run_script(ctx, args[1], _sh_line)[0]
    status = 0
    prompt = "/ # " if ctx.busybox else "# "
    while True:
        try:
            if ctx.tty:
                ctx.out(prompt)
            raw = ctx.stdin.readline()
            if not raw:
                return status
            status, leave = shell.run_script(ctx, raw.decode(errors="replace").strip(), _sh_line, status)
            if leave:
                return status
        except KeyboardInterrupt:  # ^C at the prompt, or while the line is read: a new prompt
            ctx.out("\n")
            status = 130


PROGRAMS: dict[str, Callable[[Context, list[str]], int]] = {
    "cat": _cat,
    "date": shell.date,
    "echo": _echo,
    "env": _env,
    "false": _false,
    "hostname": _hostname,
    "ls": _ls,
    "nslookup": _nslookup,
    "printenv": _printenv,
    "ps": _ps,
    "pwd": _pwd,
    "sh": _sh,
    "sleep": _sleep,
    "true": _true,
}
