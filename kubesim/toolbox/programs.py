"""The toolbox's own programs: busybox's or coreutils' options, messages and exit codes, on the container's view.

Each program is `f(ctx, args) -> exit code`, writing bytes to ctx.stdout / ctx.stderr. Nothing here opens a
path of this machine: files come from the container's PodFS, names from the cluster's network map, the
environment from the container's own (kubesim/toolbox/__init__.py says why these are not the machine's
programs).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import stat
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import BinaryIO

from kubesim.runtime.hook.sitecustomize import NetMap
from kubesim.runtime.images import repository
from kubesim.toolbox import IMAGE_PATH, NONE, Toolbox, not_found, toolbox_for
from kubesim.toolbox.podfs import CLUSTER_DNS, PodFS, PodFSError, cluster_pod_ip, kubelet_files
from kubesim.toolbox.podfs import Entry as PodFSEntry

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
    cwd: str = "/"  # the working directory inside the container (a shell's `cd`)
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
            fs=PodFS(
                mounts, kubelet_files(hostname, namespace, cluster_pod_ip(pod_ip)), environ.get("KUBESIM_ROOTFS", "")
            ),
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
    ctx.out(ctx.cwd + "\n")
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
            with ctx.fs.open_read(path, ctx.cwd) as fh:
                while chunk := fh.read(1024 * 1024):
                    ctx.stdout.write(chunk)
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
            entries.append((path, ctx.fs.lookup(path, ctx.cwd)))
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


# --------------------------------------------------------------------------- text and file utilities


def _seq(ctx: Context, args: list[str]) -> int:
    numbers = []
    for arg in args:
        try:
            numbers.append(float(arg) if any(c in arg for c in ".eE") else int(arg))
        except ValueError:
            ctx.err(
                f"seq: invalid number '{arg}'\n" if ctx.busybox else f"seq: invalid floating point argument: '{arg}'\n"
            )
            return 1
    if not 1 <= len(numbers) <= 3:
        ctx.err("Usage: seq [-w] [-s SEP] [FIRST [INC]] LAST\n" if ctx.busybox else "seq: missing operand\n")
        return 1
    first, step, last = (
        (1, 1, numbers[0])
        if len(numbers) == 1
        else ((numbers[0], 1, numbers[1]) if len(numbers) == 2 else (numbers[0], numbers[1], numbers[2]))
    )
    if step == 0:
        return 1
    value = first
    lines = []
    while (step > 0 and value <= last) or (step < 0 and value >= last):
        lines.append(f"{value:g}" if isinstance(value, float) else str(value))
        value += step
        if len(lines) >= 4096:
            ctx.out("\n".join(lines) + "\n")
            lines = []
    if lines:
        ctx.out("\n".join(lines) + "\n")
    return 0


def _date(ctx: Context, args: list[str]) -> int:
    fmt = "%a %b %e %H:%M:%S UTC %Y"
    for arg in args:
        if arg.startswith("+"):
            fmt = arg[1:]
        elif arg in ("-u", "--utc", "-R"):
            fmt = "%a, %d %b %Y %H:%M:%S +0000" if arg == "-R" else fmt
        elif arg == "-I":
            fmt = "%Y-%m-%d"
        else:
            ctx.err(f"date: invalid date '{arg}'\n")
            return 1
    ctx.out(time.strftime(fmt.replace("%Z", "UTC"), time.gmtime()) + "\n")
    return 0


def test_expression(ctx: Context, args: list[str]) -> int:
    """test / [: 0 true, 1 false, 2 on a malformed expression."""

    def exists(path: str) -> PodFSEntry | None:
        try:
            return ctx.fs.lookup(path, ctx.cwd)
        except PodFSError:
            return None

    def unary(op: str, arg: str) -> bool:
        if op == "-n":
            return arg != ""
        if op == "-z":
            return arg == ""
        entry = exists(arg)
        if op in ("-e", "-r", "-w"):
            return entry is not None
        if op == "-f":
            return entry is not None and not entry.is_dir
        if op == "-d":
            return entry is not None and entry.is_dir
        if op == "-s":
            return entry is not None and (entry.is_dir or entry.size > 0)
        if op == "-x":
            return entry is not None and (entry.is_dir or bool(entry.mode & 0o111))
        if op in ("-L", "-h"):
            return False
        raise ValueError(op)

    def binary(left: str, op: str, right: str) -> bool:
        if op in ("=", "=="):
            return left == right
        if op == "!=":
            return left != right
        ints = {"-eq": int.__eq__, "-ne": int.__ne__, "-lt": int.__lt__, "-le": int.__le__, "-gt": int.__gt__}
        ints["-ge"] = int.__ge__
        if op in ints:
            for value in (left, right):
                if not re.fullmatch(r"\s*-?\d+\s*", value):
                    raise ValueError(f"{value}: bad number" if ctx.busybox else f"Illegal number: {value}")
            return bool(ints[op](int(left), int(right)))
        raise ValueError(op)

    def evaluate(words: list[str]) -> bool:
        for joiner in ("-o", "-a"):
            if joiner in words[1:-1]:
                k = len(words) - 1 - words[::-1].index(joiner)
                left, right = evaluate(words[:k]), evaluate(words[k + 1 :])
                return (left or right) if joiner == "-o" else (left and right)
        if words and words[0] == "!":
            return not evaluate(words[1:])
        if len(words) == 0:
            return False
        if len(words) == 1:
            return words[0] != ""
        if len(words) == 2:
            return unary(words[0], words[1])
        if len(words) == 3:
            return binary(words[0], words[1], words[2])
        raise ValueError(words[3])

    try:
        return 0 if evaluate(list(args)) else 1
    except ValueError as exc:
        ctx.err(f"sh: {exc}\n" if "number" in str(exc) else f"test: {exc}: unknown operand\n")
        return 2


def _test(ctx: Context, args: list[str]) -> int:
    return test_expression(ctx, args)


def _bracket(ctx: Context, args: list[str]) -> int:
    if not args or args[-1] != "]":
        ctx.err("[: missing ]\n")
        return 2
    return test_expression(ctx, args[:-1])


def _inputs(ctx: Context, name: str, files: list[str]) -> list[tuple[str, bytes | None]]:
    """(name, bytes) of each operand, `-` or none being stdin; None (after a message) for one that is absent."""
    out: list[tuple[str, bytes | None]] = []
    for path in files or ["-"]:
        if path == "-":
            out.append(("-", ctx.stdin.read()))
            continue
        try:
            out.append((path, ctx.fs.read(path, ctx.cwd)))
        except PodFSError as exc:
            ctx.err(f"{name}: {path}: {exc.strerror}\n")
            out.append((path, None))
    return out


def _count_option(args: list[str], default: int) -> tuple[int, bool, list[str]]:
    """-n N, -nN, -N and -c N of head and tail: (count, in bytes, the other arguments)."""
    count, in_bytes, rest = default, False, []
    it = iter(args)
    for arg in it:
        if arg in ("-n", "-c"):
            in_bytes = arg == "-c"
            count = int(next(it, str(default)).lstrip("+"))
        elif re.fullmatch(r"-[nc]\d+", arg):
            in_bytes, count = arg[1] == "c", int(arg[2:])
        elif re.fullmatch(r"-\d+", arg):
            count = int(arg[1:])
        else:
            rest.append(arg)
    return count, in_bytes, rest


def _head(ctx: Context, args: list[str]) -> int:
    count, in_bytes, files = _count_option(args, 10)
    code = 0
    for _name, data in _inputs(ctx, "head", files):
        if data is None:
            code = 1
            continue
        ctx.stdout.write(data[:count] if in_bytes else b"".join(data.splitlines(keepends=True)[:count]))
    ctx.stdout.flush()
    return code


def _tail(ctx: Context, args: list[str]) -> int:
    count, in_bytes, files = _count_option(args, 10)
    code = 0
    for _name, data in _inputs(ctx, "tail", files):
        if data is None:
            code = 1
            continue
        lines = data.splitlines(keepends=True)
        ctx.stdout.write((data[-count:] if count else b"") if in_bytes else b"".join(lines[-count:] if count else []))
    ctx.stdout.flush()
    return code


def _wc(ctx: Context, args: list[str]) -> int:
    flags = "".join(a[1:] for a in args if a.startswith("-") and a != "-") or "lwc"
    files = [a for a in args if not a.startswith("-") or a == "-"]
    rows, code = [], 0
    for name, data in _inputs(ctx, "wc", files):
        if data is None:
            code = 1
            continue
        counts = {"l": data.count(b"\n"), "w": len(data.split()), "c": len(data)}
        rows.append(([counts[f] for f in "lwc" if f in flags], "" if name == "-" else name))
    width = 1 if len(rows) == 1 and len(rows[0][0]) == 1 else 7
    for values, name in rows:
        ctx.out(" ".join(f"{v:>{width}}" for v in values) + (f" {name}" if name else "") + "\n")
    return code


def _digest(algorithm: str) -> Callable[[Context, list[str]], int]:
    def digest(ctx: Context, args: list[str]) -> int:
        binary = any(a in ("-b", "--binary") for a in args)
        files = [a for a in args if not a.startswith("-") or a == "-"]
        code = 0
        for name, data in _inputs(ctx, f"{algorithm}sum", files):
            if data is None:
                code = 1
                continue
            mark = "*" if binary and not ctx.busybox else " "
            ctx.out(f"{hashlib.new(algorithm, data).hexdigest()} {mark}{name}\n")
        return code

    return digest


def _basename(ctx: Context, args: list[str]) -> int:
    if not args:
        ctx.err("basename: missing operand\n")
        return 1
    base = args[0].rstrip("/").rsplit("/", 1)[-1] or "/"
    if len(args) > 1 and base.endswith(args[1]) and base != args[1]:
        base = base[: -len(args[1])]
    ctx.out(base + "\n")
    return 0


def _dirname(ctx: Context, args: list[str]) -> int:
    if not args:
        ctx.err("dirname: missing operand\n")
        return 1
    path = args[0].rstrip("/")
    ctx.out((path.rsplit("/", 1)[0] or "/" if "/" in path else ".") + "\n")
    return 0


def _flags_and_paths(args: list[str]) -> tuple[set[str], list[str]]:
    flags: set[str] = set()
    paths: list[str] = []
    for arg in args:
        if arg.startswith("-") and len(arg) > 1 and not paths:
            flags |= set(arg[1:])
        else:
            paths.append(arg)
    return flags, paths


def _mkdir(ctx: Context, args: list[str]) -> int:
    flags, paths = _flags_and_paths(args)
    code = 0
    for path in paths:
        try:
            ctx.fs.mkdir(path, parents="p" in flags, cwd=ctx.cwd)
        except PodFSError as exc:
            code = 1
            ctx.err(
                f"mkdir: can't create directory '{path}': {exc.strerror}\n"
                if ctx.busybox
                else f"mkdir: cannot create directory '{path}': {exc.strerror}\n"
            )
    return code


def _rm(ctx: Context, args: list[str]) -> int:
    flags, paths = _flags_and_paths(args)
    code = 0
    for path in paths:
        try:
            ctx.fs.remove(path, recursive=bool(flags & {"r", "R"}), cwd=ctx.cwd)
        except PodFSError as exc:
            if exc.errno == 2 and "f" in flags:
                continue
            code = 1
            ctx.err(
                f"rm: can't remove '{path}': {exc.strerror}\n"
                if ctx.busybox
                else f"rm: cannot remove '{path}': {exc.strerror}\n"
            )
    return code


def _touch(ctx: Context, args: list[str]) -> int:
    _flags, paths = _flags_and_paths(args)
    code = 0
    for path in paths:
        try:
            ctx.fs.open_write(path, append=True, cwd=ctx.cwd).close()
        except PodFSError as exc:
            code = 1
            ctx.err(
                f"touch: {path}: {exc.strerror}\n" if ctx.busybox else f"touch: cannot touch '{path}': {exc.strerror}\n"
            )
    return code


def _tar(ctx: Context, args: list[str]) -> int:
    from kubesim.toolbox import archive  # noqa: PLC0415 - archive imports this module's Context

    return archive.tar(ctx, args)


def _find(ctx: Context, args: list[str]) -> int:
    from kubesim.toolbox import archive  # noqa: PLC0415

    return archive.find(ctx, args)


def _sh(ctx: Context, args: list[str]) -> int:
    from kubesim.toolbox import shell  # noqa: PLC0415 - the shell imports this module

    return shell.main(ctx, args)


PROGRAMS: dict[str, Callable[[Context, list[str]], int]] = {
    "[": _bracket,
    "basename": _basename,
    "date": _date,
    "dirname": _dirname,
    "head": _head,
    "md5sum": _digest("md5"),
    "mkdir": _mkdir,
    "rm": _rm,
    "touch": _touch,
    "seq": _seq,
    "sha256sum": _digest("sha256"),
    "tail": _tail,
    "test": _test,
    "wc": _wc,
    "cat": _cat,
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
    "tar": _tar,
    "find": _find,
    "sleep": _sleep,
    "true": _true,
}
