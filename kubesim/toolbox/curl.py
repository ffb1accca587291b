"""`curl` inside a container: Debian's curl binary, given the pod's view of the network and none of the machine's files.

- Network: each URL's host is resolved as cluster DNS would answer the pod (NetMap.resolve: `payment`,
  `payment.sock-shop`, `...svc.cluster.local`, a ClusterIP or pod IP literal, `localhost` = the pod itself) and
  curl is told where that really is with `--connect-to HOST:PORT:<loopback image>:<port>`. A Service without
  ready endpoints has nothing listening there, so curl fails as it does behind kube-proxy's REJECT rule. curl
  names the address it connected to in its messages; those are written back to the cluster's names
  ("Failed to connect to stripe-mock port 80", "Trying 10.96.0.12:80..."), so its output reads as in a pod.
- Files: curl is started with `-q` (no ~/.curlrc) and `--proto =http,https` (no file://), and every option
  that reads or writes a local file (`-K`, `-o <path>`, `-d @file`, `-T`, cookie jars, certificates...) is
  refused with a message saying so: the container's files are not this machine's. `-o /dev/null`, `-o -`,
  `-d @-` (stdin) stay allowed. Which options take an argument comes from the binary's own `curl --help all`.
"""

from __future__ import annotations

import functools
import ipaddress
import os
import re
import shutil
import socket
import subprocess
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kubesim.runtime.hook.sitecustomize import NetMap

if TYPE_CHECKING:
    from kubesim.toolbox.programs import Context

_HELP_LINE = re.compile(r"^\s*(?:-(\S), )?(--[A-Za-z0-9.-]+)(?: <([^>]*)>)?")
FILE_METAS = ("file", "file name", "filename", "path", "dir", "certificate[:password]")
ALWAYS_REFUSED = {
    "--config", "--proto", "--proto-redir", "--proto-default", "--unix-socket", "--abstract-unix-socket",
    "--libcurl", "--trace", "--trace-ascii", "--stderr", "--upload-file", "--remote-name", "--remote-name-all",
    "--remote-header-name", "--output-dir", "--create-dirs", "--cookie-jar", "--netrc", "--netrc-file",
    "--netrc-optional", "--etag-save", "--etag-compare", "--alt-svc", "--hsts",
}  # fmt: skip
OUTPUTS = {"--output", "--dump-header"}  # allowed to "-" and /dev/null only
AT_FILE = {"--data", "--data-ascii", "--data-binary", "--json", "--header", "--proxy-header", "--write-out"}
DEFAULT_PORTS = {"http": 80, "https": 443}
CONNECT_TO_LINES = ("* Connecting to hostname: ", "* Connecting to port: ")


class Refused(Exception):
    """An option this toolbox's curl does not run (exit 2, curl's "failed to initialize")."""


@functools.cache
def option_table(binary: str) -> dict[str, tuple[str, str]]:
    """Every spelling of every option (`-d`, `--data`) -> (long name, argument meta or "" for a flag)."""
    text = subprocess.run([binary, "--help", "all"], capture_output=True, text=True, check=False).stdout
    table: dict[str, tuple[str, str]] = {}
    for line in text.splitlines():
        m = _HELP_LINE.match(line)
        if m:
            short, long_name, meta = m.group(1), m.group(2), m.group(3) or ""
            table[long_name] = (long_name, meta)
            if short:
                table["-" + short] = (long_name, meta)
    return table


@dataclass
class Parsed:
    options: list[tuple[str, str | None]] = field(default_factory=list)  # (long name, value)
    urls: list[str] = field(default_factory=list)


def parse(args: list[str], table: dict[str, tuple[str, str]]) -> Parsed:
    """curl's command line: options (short clusters, attached short values), their values and the URLs."""
    parsed = Parsed()
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg.startswith("--") and len(arg) > 2:
            name = arg if arg in table else "--" + arg[5:] if arg.startswith("--no-") else arg
            long_name, meta = table.get(name, (arg, ""))
            if meta:
                if i >= len(args):
                    raise Refused(f"curl: option {arg}: requires parameter")
                parsed.options.append((long_name, args[i]))
                i += 1
            else:
                parsed.options.append((long_name, None))
        elif arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                long_name, meta = table.get("-" + arg[j], ("-" + arg[j], ""))
                if meta:
                    value = arg[j + 1 :]
                    if not value:
                        if i >= len(args):
                            raise Refused(f"curl: option -{arg[j]}: requires parameter")
                        value, i = args[i], i + 1
                    parsed.options.append((long_name, value))
                    break
                parsed.options.append((long_name, None))
                j += 1
        else:
            parsed.urls.append(arg)
    parsed.urls += [v for n, v in parsed.options if n == "--url" and v]
    return parsed


def vet(parsed: Parsed, table: dict[str, tuple[str, str]]) -> None:
    """Refuse every option that would read or write this machine's files."""
    metas = {long_name: meta for long_name, meta in table.values()}
    for name, given in parsed.options:
        meta = metas.get(name, "")
        value = given or ""
        file_value = bool(value) and (
            (name in AT_FILE and value.startswith("@") and value != "@-")
            or (name == "--data-urlencode" and re.match(r"^[^=]*@(?!-$)", value) is not None)
            or (name == "--form" and re.search(r"=[@<](?!-$)", value) is not None)
            or (name == "--cookie" and "=" not in value)
        )
        if name in OUTPUTS and value in ("-", "/dev/null"):
            continue
        if name in ALWAYS_REFUSED or name in OUTPUTS or meta in FILE_METAS or file_value:
            raise Refused(
                f"curl: option {name}: not available in this cluster's toolbox: it would read or write a file of "
                "the machine the cluster runs on, not of the container"
            )


def host_port(url: str) -> tuple[str, int] | None:
    """The host and port curl connects to for a URL (no scheme: http, as curl guesses)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "http", url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
    if authority.startswith("["):
        host, _, port_s = authority[1:].partition("]")
        port_s = port_s.lstrip(":")
    else:
        host, _, port_s = authority.partition(":")
    if not host:
        return None
    port = int(port_s) if port_s.isdigit() else DEFAULT_PORTS.get(scheme.lower(), 80)
    return host, port


@dataclass(frozen=True)
class Route:
    """Where a URL's host:port really is, and how curl's messages should name it."""

    host: str
    port: int
    address: str  # this machine's address of it (a loopback image)
    real_port: int
    shown_ip: str  # the cluster address a pod would have connected to


def route(net: NetMap, namespace: str, own: str, host: str, port: int) -> Route | None:
    name = host.lower().rstrip(".")
    if name in ("localhost", "127.0.0.1"):
        return Route(host, port, own, port, "127.0.0.1") if own else None
    try:
        ip = str(ipaddress.ip_address(name))
    except ValueError:
        try:
            resolved = net.resolve(name, namespace)
        except socket.gaierror:
            return None  # a cluster name no Service answers to: curl's own lookup fails ("Could not resolve host")
        if resolved is None:
            return None
        ip = resolved
    address, real_port = net.loopback(ip, port)
    if (address, real_port) == (ip, port):
        return None
    return Route(host, port, address, real_port, ip)


def rewrite(text: str, routes: list[Route]) -> str:
    """curl's messages with this machine's addresses written back as the pod would have seen them (the lines
    `--connect-to` itself adds to -v output are dropped: a pod's curl connects without it)."""
    if not routes:
        return text
    lines = text.splitlines(keepends=True)
    text = "".join(line for line in lines if not line.startswith(CONNECT_TO_LINES))
    for r in routes:
        text = text.replace(
            f"Failed to connect to {r.address} port {r.real_port}", f"Failed to connect to {r.host} port {r.port}"
        )
        text = text.replace(f"{r.address}:{r.real_port}", f"{r.shown_ip}:{r.port}")
        text = text.replace(f"{r.address} port {r.real_port}", f"{r.shown_ip} port {r.port}")
        text = text.replace(f"{r.shown_ip} port {r.real_port}", f"{r.shown_ip} port {r.port}")
        text = text.replace(f"({r.address}) port {r.real_port}", f"({r.shown_ip}) port {r.port}")
        text = text.replace(r.address, r.shown_ip)
        # curl 7.88 names no host after a --connect-to ("Connected to (nil)"); a pod's curl names the URL's
        text = text.replace(
            f"Connected to (nil) ({r.shown_ip}) port {r.port}", f"Connected to {r.host} ({r.shown_ip}) port {r.port}"
        )
    return text


def command(ctx: Context, args: list[str], binary: str) -> tuple[list[str], list[Route]]:
    """The real curl command line for `curl args` in the container; raises Refused."""
    table = option_table(binary)
    parsed = parse(args, table)
    vet(parsed, table)
    net = ctx.netmap()
    routes: list[Route] = []
    for url in parsed.urls:
        target = host_port(url)
        found = route(net, ctx.namespace, ctx.pod_ip, *target) if target else None
        if found is not None and found not in routes:
            routes.append(found)
    argv = [binary, "-q", "--proto", "=http,https", "--proto-redir", "=http,https"]
    for r in routes:
        argv += ["--connect-to", f"{r.host}:{r.port}:{r.address}:{r.real_port}"]
    return [*argv, *args], routes


def run(ctx: Context, args: list[str]) -> int:
    binary = shutil.which("curl")
    if binary is None:
        ctx.err("curl: the Debian package curl is not installed on the machine the cluster runs on: run make setup\n")
        return 127
    try:
        argv, routes = command(ctx, args, binary)
    except Refused as exc:
        ctx.err(f"{exc}\ncurl: try 'curl --help' for more information\n")
        return 2
    env = {**ctx.env, "HOME": "/nonexistent"}
    proc = subprocess.Popen(argv, stdin=ctx.stdin, stdout=ctx.stdout, stderr=subprocess.PIPE, env=env)
    assert proc.stderr is not None
    pending = b""
    while chunk := os.read(proc.stderr.fileno(), 65536):
        pending += chunk
        cut = max(pending.rfind(b"\n"), pending.rfind(b"\r")) + 1
        if cut:
            ctx.stderr.write(rewrite(pending[:cut].decode(errors="replace"), routes).encode())
            ctx.stderr.flush()
            pending = pending[cut:]
    if pending:
        ctx.stderr.write(rewrite(pending.decode(errors="replace"), routes).encode())
        ctx.stderr.flush()
    return proc.wait()
