"""`tar` and `find` of the toolbox, on the container's own files (kubesim/toolbox/podfs.py).

`kubectl cp` and kubernetes.core's `k8s_cp` copy through exec: into a container they stream a tar archive to
`tar -xmf - [-C dir]` (`tar --no-same-permissions --no-same-owner -xmf -` with --no-preserve), out of one they
read `tar cf - <path>` (kubectl) or list files with `find <path> -type f` and `cat` each (k8s_cp). Both are
Python's `tarfile` here, reading and writing only through the container's view: a member's name is a
container path (`..` stops at the container's root), written into the container's writable layer or a volume
and nowhere else; what the container does not have is "No such file or directory". Messages are busybox's (or
GNU tar's and findutils' for the Debian-based images).
"""

from __future__ import annotations

import fnmatch
import io
import os
import posixpath
import stat
import tarfile
import time
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Literal

from kubesim.toolbox.podfs import Entry, PodFSError

if TYPE_CHECKING:
    from kubesim.toolbox.programs import Context

CHUNK = 1024 * 1024


GNU_FAILED = "tar: Exiting with failure status due to previous errors"


def _say(ctx: Context, busybox: str, gnu: str) -> None:
    """A message in the words of the image's tar: busybox's, or GNU tar's (Debian-based images)."""
    ctx.err((busybox if ctx.busybox else gnu) + "\n")


class _Usage(Exception):
    """A command line tar does not take (busybox prints its usage, GNU tar a hint)."""


def _options(args: list[str]) -> tuple[set[str], dict[str, str], list[str]]:
    """tar's command line: (flags, option values f/C, operands). The first word may be old style (`cf`)."""
    flags: set[str] = set()
    values: dict[str, str] = {}
    operands: list[str] = []
    it = iter(args)
    first = True
    for arg in it:
        if arg.startswith("--"):
            name, _, value = arg[2:].partition("=")
            if name in ("file", "directory", "exclude"):
                values[{"file": "f", "directory": "C", "exclude": "exclude"}[name]] = value or next(it, "")
            elif name in (
                "no-same-permissions",
                "no-same-owner",
                "same-permissions",
                "same-owner",
                "preserve-permissions",
            ):
                flags.add(name)
            elif name in ("touch", "verbose", "gzip", "create", "extract", "list", "to-stdout", "dereference"):
                flags.add({"touch": "m", "verbose": "v", "gzip": "z", "create": "c", "extract": "x", "list": "t",
                           "to-stdout": "O", "dereference": "h"}[name])  # fmt: skip
            else:
                raise _Usage(arg)
        elif (arg.startswith("-") and len(arg) > 1) or (first and arg and not arg.startswith("-")):
            letters = arg.lstrip("-")
            for i, letter in enumerate(letters):
                if letter in "fC":
                    rest = letters[i + 1 :]
                    values[letter] = rest if rest else next(it, "")
                    break
                if letter not in "cxtvzmpoOhk":
                    raise _Usage(letter)
                flags.add(letter)
        else:
            operands.append(arg)
        first = False
    return flags, values, operands


def tar(ctx: Context, args: list[str]) -> int:
    try:
        flags, values, operands = _options(args)
    except _Usage as bad:
        if ctx.busybox:
            ctx.err(f"tar: unrecognized option '{bad}'\nBusyBox v1.36.1 (2023-05-18 22:34:17 UTC) multi-call binary.\n")
        else:
            ctx.err(f"tar: invalid option -- '{bad}'\nTry 'tar --help' or 'tar --usage' for more information.\n")
        return 1 if ctx.busybox else 2
    modes = flags & {"c", "x", "t"}
    if len(modes) != 1:
        ctx.err(
            "tar: need one of -c, -x or -t\n"
            if ctx.busybox
            else "tar: You must specify one of the '-Acdtrux', '--delete' or '--test-label' options\n"
        )
        return 1 if ctx.busybox else 2
    cwd = ctx.fs.normalise(values.get("C", "."), ctx.cwd)
    if "C" in values:
        try:
            if not ctx.fs.lookup(cwd).is_dir:
                raise PodFSError(20, "Not a directory", cwd)
        except PodFSError as exc:
            where = values["C"]
            _say(
                ctx,
                f"tar: can't change directory to '{where}': {exc.strerror}",
                f"tar: {where}: Cannot open: {exc.strerror}\ntar: Error is not recoverable: exiting now",
            )
            return 1 if ctx.busybox else 2
    archive = values.get("f", "-")
    if archive != "-":
        ctx.err("tar: only an archive on stdin or stdout (-f -) is served here\n")
        return 2
    if "c" in modes:
        return _create(ctx, flags, cwd, operands, values.get("exclude", ""))
    return _extract(ctx, flags, cwd, operands, list_only="t" in modes)


# ---- create --------------------------------------------------------------------------------------


def _create(ctx: Context, flags: set[str], cwd: str, operands: list[str], exclude: str) -> int:
    if not operands:
        ctx.err("tar: empty archive\n" if ctx.busybox else "tar: Cowardly refusing to create an empty archive\n")
        return 1 if ctx.busybox else 2
    code = 0
    warned = False
    mode: Literal["w|gz", "w|"] = "w|gz" if "z" in flags else "w|"
    with tarfile.open(fileobj=ctx.stdout, mode=mode, format=tarfile.GNU_FORMAT) as out:
        for operand in operands:
            name = posixpath.normpath(operand) if operand not in ("", ".") else "."
            stripped = name.lstrip("/")
            if stripped != name and not warned:
                warned = True
                ctx.err(
                    "tar: removing leading '/' from member names\n"
                    if ctx.busybox
                    else "tar: Removing leading `/' from member names\n"
                )
            try:
                top = ctx.fs.lookup(operand, cwd)
            except PodFSError as exc:
                code = 1
                ctx.err(f"tar: {operand}: {exc.strerror}\n" if ctx.busybox else
                        f"tar: {operand}: Cannot stat: {exc.strerror}\n")  # fmt: skip
                continue
            _add(ctx, out, top, stripped or ".", _Walk(flags, exclude))
    if code and not ctx.busybox:
        ctx.err("tar: Exiting with failure status due to previous errors\n")
        code = 2
    ctx.stdout.flush()
    return code


@dataclass
class _Walk:
    """What a walk through the container's files carries along."""

    flags: set[str] = field(default_factory=set)
    exclude: str = ""
    seen: set[str] = field(default_factory=set)  # directories visited (a symlink back up is not followed again)
    kind: str = ""  # find -type
    names: list[str] = field(default_factory=list)  # find -name
    maxdepth: int = -1
    mindepth: int = 0


def _add(ctx: Context, out: tarfile.TarFile, entry: Entry, name: str, walk: _Walk) -> None:
    flags, seen = walk.flags, walk.seen
    if walk.exclude and fnmatch.fnmatch(posixpath.basename(name), walk.exclude):
        return
    info = tarfile.TarInfo(name)
    info.mode = entry.mode
    info.uname = info.gname = "root"
    info.mtime = _mtime(entry)
    if "v" in flags:
        ctx.err(name + ("/" if entry.is_dir else "") + "\n")
    if entry.is_dir:
        where = entry.real or entry.path
        if where in seen:  # a symlink back to a directory above: archived once, as tar does not loop either
            return
        seen.add(where)
        info.type = tarfile.DIRTYPE
        out.addfile(info)
        for child in entry.children:
            try:
                sub = ctx.fs.lookup(entry.path.rstrip("/") + "/" + child)
            except PodFSError:
                continue
            _add(ctx, out, sub, f"{name.rstrip('/')}/{child}" if name != "." else f"./{child}", walk)
        return
    info.size = entry.size if entry.real else len(entry.data)
    if entry.real:
        with open(entry.real, "rb") as fh:
            out.addfile(info, fh)
    else:
        out.addfile(info, io.BytesIO(entry.data))


def _mtime(entry: Entry) -> float:
    if entry.real:
        try:
            return os.stat(entry.real).st_mtime
        except OSError:
            pass
    return time.time()


# ---- extract -------------------------------------------------------------------------------------


def _extract(ctx: Context, flags: set[str], cwd: str, wanted: list[str], list_only: bool) -> int:
    stdin: IO[bytes] = ctx.stdin
    try:
        archive = tarfile.open(fileobj=stdin, mode="r|*")  # noqa: SIM115 - closed by the `with` below
    except tarfile.ReadError:
        _say(ctx, "tar: short read", "tar: This does not look like a tar archive\n" + GNU_FAILED)
        return 1 if ctx.busybox else 2
    code = 0
    umask = 0o022
    keep_modes = "no-same-permissions" not in flags
    links: dict[str, str] = {}  # member name -> container path written, for hard links
    warned = False
    with archive:
        try:
            for member in archive:
                name = member.name
                if wanted and not any(name == w.strip("/") or name.startswith(w.strip("/") + "/") for w in wanted):
                    continue
                if list_only:
                    ctx.out(name + ("/" if member.isdir() and not name.endswith("/") else "") + "\n")
                    continue
                safe = _strip_unsafe_prefix(name)
                if safe != name and not warned:
                    warned = True
                    prefix = name[: len(name) - len(safe)]
                    _say(
                        ctx,
                        f"tar: removing leading '{prefix}' from member names",
                        f"tar: Removing leading `{prefix}' from member names",
                    )
                name = safe or "."
                if "v" in flags:
                    ctx.out(name + "\n")
                path = ctx.fs.normalise(name, cwd)
                try:
                    written = _write_member(ctx, archive, member, path, links)
                except PodFSError as exc:
                    code = 1
                    ctx.err(f"tar: can't open '{name}': {exc.strerror}\n" if ctx.busybox else
                            f"tar: {name}: Cannot open: {exc.strerror}\n")  # fmt: skip
                    continue
                if written is None:
                    continue
                links[name] = path
                mode = member.mode if keep_modes else member.mode & ~umask
                if not member.issym():
                    try:
                        os.chmod(written, stat.S_IMODE(mode) | (0o700 if member.isdir() else 0))
                        if "m" not in flags:
                            os.utime(written, (member.mtime, member.mtime))
                    except OSError:
                        pass
        except (tarfile.TarError, EOFError) as exc:
            ctx.err("tar: short read\n" if ctx.busybox else f"tar: {exc}\n")
            return 1 if ctx.busybox else 2
    if code and not ctx.busybox:
        ctx.err("tar: Exiting with failure status due to previous errors\n")
        return 2
    return code


def _strip_unsafe_prefix(name: str) -> str:
    """busybox's strip_unsafe_prefix: leading `/` and `../`, and everything up to the last `/../`, go."""
    rest = name
    while True:
        if rest.startswith("/"):
            rest = rest[1:]
        elif rest.startswith("../"):
            rest = rest[3:]
        elif "/../" in rest:
            rest = rest[rest.index("/../") + 4 :]
        else:
            return rest


def _write_member(
    ctx: Context, archive: tarfile.TarFile, member: tarfile.TarInfo, path: str, links: dict[str, str]
) -> str | None:
    """Write one member at a container path; the file written on this machine (None: nothing to set)."""
    fs = ctx.fs
    parent = posixpath.dirname(path)
    if parent != path:
        fs.mkdir(parent, parents=True)  # tar creates the leading directories a member needs
    if member.isdir():
        if path == "/":
            return None
        fs.mkdir(path, parents=True)
        return fs.host_path(path)
    if member.issym():
        target = fs.host_path(path)
        if os.path.lexists(target) and not os.path.isdir(target):
            os.unlink(target)
        # Resolved inside the container when read (kubesim/toolbox/podfs.py): a link leaving it reads as absent.
        os.symlink(member.linkname, target)
        return target
    if member.islnk():
        source = links.get(member.linkname)
        if source is None:
            raise PodFSError(2, "No such file or directory", member.linkname)
        with fs.open_read(source) as src, _replace(ctx, path) as dst:
            while chunk := src.read(CHUNK):
                dst.write(chunk)
        return fs.host_path(path)
    if not member.isfile():
        return None  # devices and fifos: a container's tar without privileges cannot make them either
    data = archive.extractfile(member)
    with _replace(ctx, path) as dst:
        if data is not None:
            while chunk := data.read(CHUNK):
                dst.write(chunk)
    return fs.host_path(path)


def _replace(ctx: Context, path: str) -> IO[bytes]:
    """A file opened for writing, replacing what was there (tar unlinks an existing file first)."""
    target = ctx.fs.host_path(path)
    if os.path.islink(target):
        os.unlink(target)
    return ctx.fs.open_write(path)


# ---- find ----------------------------------------------------------------------------------------


def find(ctx: Context, args: list[str]) -> int:
    """find [PATH...] [-type f|d] [-name PATTERN] [-maxdepth N] [-mindepth N] [-print]."""
    paths: list[str] = []
    while args and not args[0].startswith("-"):
        paths.append(args.pop(0))
    kind = ""
    names: list[str] = []
    maxdepth, mindepth = -1, 0
    it = iter(args)
    for arg in it:
        if arg in ("-print", "-print0"):
            continue
        value = next(it, None)
        if value is None:
            ctx.err(
                f"find: missing argument to '{arg}'\n" if not ctx.busybox else f"find: {arg} requires an argument\n"
            )
            return 1
        if arg == "-type" and value in ("f", "d"):
            kind = value
        elif arg == "-name":
            names.append(value)
        elif arg in ("-maxdepth", "-mindepth") and value.isdigit():
            maxdepth, mindepth = (int(value), mindepth) if arg == "-maxdepth" else (maxdepth, int(value))
        else:
            ctx.err(f"find: unrecognized: {arg}\n" if ctx.busybox else f"find: unknown predicate '{arg}'\n")
            return 1
    code = 0
    for start in paths or ["."]:
        try:
            top = ctx.fs.lookup(start, ctx.cwd)
        except PodFSError as exc:
            code = 1
            ctx.err(f"find: {start}: {exc.strerror}\n" if ctx.busybox else f"find: '{start}': {exc.strerror}\n")
            continue
        _find(ctx, top, start, 0, _Walk(kind=kind, names=names, maxdepth=maxdepth, mindepth=mindepth))
    return code


def _find(ctx: Context, entry: Entry, shown: str, depth: int, walk: _Walk) -> None:
    matches = (
        depth >= walk.mindepth
        and (not walk.kind or (walk.kind == "d") == entry.is_dir)
        and all(fnmatch.fnmatchcase(posixpath.basename(shown.rstrip("/")) or shown, n) for n in walk.names)
    )
    if matches:
        ctx.out(shown + "\n")
    if not entry.is_dir or depth == walk.maxdepth:
        return
    where = entry.real or entry.path
    if where in walk.seen:
        return
    walk.seen.add(where)
    for child in entry.children:
        try:
            sub = ctx.fs.lookup(entry.path.rstrip("/") + "/" + child)
        except PodFSError:
            continue
        _find(ctx, sub, shown.rstrip("/") + "/" + child, depth + 1, walk)
