"""busybox's `wget` and `nc -z` in a container, on the pod's view of the network.

Python programs rather than busybox itself: Debian's busybox would resolve names with the machine's resolver
and reach the machine's addresses, not the pod's (kubesim/toolbox/__init__.py). Names resolve as cluster DNS
answers the pod, a ClusterIP, pod IP or `localhost` is reached at its loopback image, and the messages, options
and exit codes are busybox 1.36's for what is implemented:
- `wget [-q] [-O -|/dev/null] [-S] [-T SEC] [--header 'K: V'] [--post-data DATA] URL`: the body to stdout
  (`-O -`); without `-O` busybox writes a file into the working directory, which a container's root does not
  allow here ("Read-only file system");
- `nc -z [-v] [-w SEC] HOST PORT`: is the port open (exit 0) or not (exit 1).
"""

from __future__ import annotations

import http.client
import socket
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kubesim.toolbox.curl import route

if TYPE_CHECKING:
    from kubesim.toolbox.programs import Context


class NetError(Exception):
    """A name that does not resolve (`bad address`) or an address that does not answer."""


def address(ctx: Context, host: str, port: int) -> tuple[str, int, str]:
    """(where to connect on this machine, its port, the address busybox names) for host:port as the pod sees it."""
    found = route(ctx.netmap(), ctx.namespace, ctx.pod_ip, host, port)
    if found is not None:
        return found.address, found.real_port, found.shown_ip
    try:
        ip = socket.gethostbyname(host)
    except OSError as exc:
        raise NetError(f"bad address '{host}'") from exc
    return ip, port, ip


@dataclass
class WgetOptions:
    quiet: bool = False
    show_headers: bool = False
    output: str | None = None
    timeout: float = 900.0
    headers: dict[str, str] = field(default_factory=dict)
    data: str | None = None
    urls: list[str] = field(default_factory=list)


def parse_wget(args: list[str]) -> WgetOptions:
    """busybox wget's options that run here (short ones clustered as busybox allows: `-qO-`); ValueError names
    one that does not."""
    opts = WgetOptions()
    long_names = {"--quiet": "q", "--server-response": "S", "--output-document": "O", "--timeout": "T"}
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg in ("--header", "--post-data"):
            value = args[i] if i < len(args) else ""
            i += 1
            if arg == "--header":
                key, _, rest = value.partition(":")
                opts.headers[key.strip()] = rest.strip()
            else:
                opts.data = value
            continue
        if not arg.startswith("-") or arg == "-":
            opts.urls.append(arg)
            continue
        letters = long_names.get(arg, "") if arg.startswith("--") else arg[1:]
        if not letters:
            raise ValueError(f"wget: unrecognized option '{arg}'")
        for n, letter in enumerate(letters):
            if letter in "qS":
                opts.quiet |= letter == "q"
                opts.show_headers |= letter == "S"
                continue
            if letter not in "OT":
                raise ValueError(f"wget: invalid option -- '{letter}'")
            value = letters[n + 1 :]
            if not value:
                value = args[i] if i < len(args) else ""
                i += 1
            if letter == "O":
                opts.output = value
            else:
                opts.timeout = float(value)
            break
    return opts


def wget(ctx: Context, args: list[str]) -> int:
    try:
        opts = parse_wget(args)
    except ValueError as exc:
        ctx.err(f"{exc}\n")
        return 1
    if not opts.urls:
        ctx.err("Usage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header 'HEADER: VALUE'] [-Y on/off]\n")
        return 1
    if opts.output not in ("-", "/dev/null"):
        first = opts.urls[0] if "://" in opts.urls[0] else "http://" + opts.urls[0]
        name = opts.output or urlsplit(first).path.rsplit("/", 1)[-1] or "index.html"
        ctx.err(f"wget: can't open '{name}': Read-only file system\n")
        return 1
    return max(_fetch(ctx, url, opts) for url in opts.urls)


def _fetch(ctx: Context, url: str, opts: WgetOptions) -> int:
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.scheme != "http" or not parts.hostname:
        ctx.err(f"wget: not an http or ftp url: {url}\n")
        return 1
    port = parts.port or 80
    try:
        target, real_port, shown = address(ctx, parts.hostname, port)
    except NetError as exc:
        ctx.err(f"wget: {exc}\n")
        return 1
    if not opts.quiet:
        ctx.err(f"Connecting to {parts.netloc} ({shown}:{port})\n")
    conn = http.client.HTTPConnection(target, real_port, timeout=opts.timeout)
    try:
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        body = opts.data.encode() if opts.data is not None else None
        sent = {"Host": parts.netloc, "User-Agent": "Wget", "Connection": "close", **opts.headers}
        if body is not None:
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        conn.request("POST" if body is not None else "GET", path, body=body, headers=sent)
        resp = conn.getresponse()
        if opts.show_headers:
            ctx.err(
                f"  HTTP/1.1 {resp.status} {resp.reason}\n" + "".join(f"  {k}: {v}\n" for k, v in resp.getheaders())
            )
        if resp.status >= 400:
            ctx.err(f"wget: server returned error: HTTP/1.1 {resp.status} {resp.reason}\n")
            return 1
        content = resp.read()
    except TimeoutError:
        ctx.err("wget: download timed out\n")
        return 1
    except OSError as exc:
        ctx.err(f"wget: can't connect to remote host ({shown}): {exc.strerror or exc}\n")
        return 1
    finally:
        conn.close()
    if opts.output == "-":
        ctx.stdout.write(content)
        ctx.stdout.flush()
    if not opts.quiet:
        ctx.err(f"{'writing to stdout' if opts.output == '-' else 'saving to /dev/null'}\n")
    return 0


def nc(ctx: Context, args: list[str]) -> int:
    zero = verbose = False
    timeout = 10.0
    rest: list[str] = []
    it = iter(args)
    for arg in it:
        if arg.startswith("-") and len(arg) > 1 and arg[1:].replace("z", "").replace("v", "") == "":
            zero |= "z" in arg
            verbose |= "v" in arg
        elif arg == "-w":
            timeout = float(next(it, "10"))
        else:
            rest.append(arg)
    if not zero or len(rest) != 2 or not rest[1].isdigit():
        ctx.err("nc: only `nc -z [-v] [-w SEC] HOST PORT` (is the port open?) runs in this cluster's toolbox\n")
        return 1
    host, port = rest[0], int(rest[1])
    try:
        target, real_port, shown = address(ctx, host, port)
        with socket.create_connection((target, real_port), timeout=timeout):
            pass
    except NetError as exc:
        ctx.err(f"nc: {exc}\n")
        return 1
    except OSError as exc:
        if verbose:
            ctx.err(f"nc: {host} ({shown}:{port}): {exc.strerror or 'Connection timed out'}\n")
        return 1
    if verbose:
        ctx.err(f"{host} ({shown}:{port}) open\n")
    return 0
