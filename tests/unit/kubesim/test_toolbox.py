"""The container toolbox without a cluster: its filesystem view, its programs' output and exit codes, curl's
command line (network routes, refused options, rewritten messages) and what toolbox images run."""

from __future__ import annotations

import http.server
import io
import json
import shutil
import socket
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from kubesim.runtime.hook.sitecustomize import NetMap
from kubesim.runtime.images import PID1, argv_for, toolbox_words
from kubesim.toolbox import BUSYBOX, COREUTILS, IMAGE_PATH, Toolbox, net, toolbox_for
from kubesim.toolbox import curl as tcurl
from kubesim.toolbox.podfs import PodFS, PodFSError, kubelet_files
from kubesim.toolbox.programs import Context, run, visible_env

NETMAP = NetMap(
    slot=7,
    services={"shop": {"payment": "10.96.0.20", "stripe-mock": "10.96.0.21"}, "other": {"db": "10.96.0.30"}},
    vips={"10.96.0.20": "127.7.128.0", "10.96.0.21": "127.7.128.1", "10.96.0.30": "127.7.128.2"},
)


@pytest.fixture
def volume(tmp_path: Path) -> Path:
    data = tmp_path / "vol"
    (data / "sub").mkdir(parents=True)
    (data / "app.conf").write_text("key=value\n")
    (data / ".hidden").write_text("x")
    (tmp_path / "secret-of-the-machine").write_text("ground truth")
    (data / "out").symlink_to(tmp_path / "secret-of-the-machine")
    (data / "in").symlink_to(data / "app.conf")
    return data


@pytest.fixture
def fs(volume: Path) -> PodFS:
    return PodFS({"/config": str(volume), "tmp": str(volume / "sub")}, kubelet_files("web-1", "shop", "10.244.1.5"))


@pytest.mark.parametrize(
    ("path", "cwd", "found"),
    [
        ("/config/app.conf", "/", b"key=value\n"),
        ("app.conf", "/config", b"key=value\n"),
        ("/config/in", "/", b"key=value\n"),  # a symlink inside the volume is followed
        ("/../../config/./app.conf", "/", b"key=value\n"),  # `..` stops at the container's root
        ("/etc/hostname", "/", b"web-1\n"),
        ("//etc//hosts", "/", b"# Kubernetes-managed hosts file."),
        ("/config/out", "/", None),  # a symlink out of the volume leads nowhere
        ("/config/../secret-of-the-machine", "/", None),
        ("/etc/passwd", "/", None),
        ("/config/missing", "/", None),
    ],
)
def test_podfs_reads_the_containers_files_only(fs: PodFS, path: str, cwd: str, found: bytes | None) -> None:
    if found is None:
        with pytest.raises(PodFSError) as err:
            fs.read(path, cwd)
        assert err.value.strerror == "No such file or directory"
    else:
        assert fs.read(path, cwd).startswith(found)


def test_podfs_directories(fs: PodFS) -> None:
    assert fs.lookup("/").children == ("config", "etc", "tmp")
    assert fs.lookup("/etc").children == ("hostname", "hosts", "resolv.conf")
    assert fs.lookup("/config").children == (".hidden", "app.conf", "in", "out", "sub")
    with pytest.raises(PodFSError) as err:
        fs.read("/config/sub")
    assert err.value.errno == 21
    resolv = fs.read("/etc/resolv.conf").decode()
    assert resolv == (
        "search shop.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n"
    )


def context(fs: PodFS, flavour: str = "busybox", stdin: bytes = b"", **env: str) -> Context:
    tools = BUSYBOX if flavour == "busybox" else COREUTILS
    return Context(
        toolbox=Toolbox(flavour, tools | {"curl"}),
        env={"PATH": IMAGE_PATH, "HOSTNAME": "web-1", **env, "HOME": "/root"},
        fs=fs,
        hostname="web-1",
        namespace="shop",
        pod_ip="127.7.1.5",
        net_map="",
        main_argv=["python3", "-m", "web"],
        stdin=io.BytesIO(stdin),
        stdout=io.BytesIO(),
        stderr=io.BytesIO(),
    )


def ran(ctx: Context, *argv: str) -> tuple[int, str, str]:
    code = run(ctx, list(argv))
    assert isinstance(ctx.stdout, io.BytesIO) and isinstance(ctx.stderr, io.BytesIO)
    return code, ctx.stdout.getvalue().decode(), ctx.stderr.getvalue().decode()


@pytest.mark.parametrize(
    ("flavour", "argv", "expected"),
    [
        ("busybox", ["echo", "-n", "a", "b"], (0, "a b", "")),
        ("busybox", ["true"], (0, "", "")),
        ("busybox", ["false"], (1, "", "")),
        ("busybox", ["pwd"], (0, "/\n", "")),
        ("busybox", ["hostname"], (0, "web-1\n", "")),
        ("busybox", ["hostname", "-i"], (0, "10.244.1.5\n", "")),
        ("busybox", ["printenv", "GREETING"], (0, "hi\n", "")),
        ("busybox", ["printenv", "GREETING", "NOPE"], (1, "hi\n", "")),
        ("busybox", ["env"], (0, f"PATH={IMAGE_PATH}\nHOSTNAME=web-1\nGREETING=hi\nHOME=/root\n", "")),
        ("busybox", ["env", "X=1", "printenv", "X"], (0, "1\n", "")),
        ("busybox", ["env", "bash"], (127, "", "env: can't execute 'bash': No such file or directory\n")),
        ("busybox", ["cat", "/config/app.conf", "/etc/hostname"], (0, "key=value\nweb-1\n", "")),
        ("busybox", ["cat", "/nope"], (1, "", "cat: can't open '/nope': No such file or directory\n")),
        ("coreutils", ["cat", "/nope"], (1, "", "cat: /nope: No such file or directory\n")),
        ("busybox", ["cat", "/config/sub"], (1, "", "cat: read error: Is a directory\n")),
        ("coreutils", ["cat", "/config/sub"], (1, "", "cat: /config/sub: Is a directory\n")),
        ("busybox", ["ls", "/config"], (0, "app.conf\nin\nout\nsub\n", "")),
        ("busybox", ["ls", "-A", "/config/sub"], (0, "", "")),
        ("busybox", ["ls", "-a", "/etc"], (0, ".\n..\nhostname\nhosts\nresolv.conf\n", "")),
        ("busybox", ["ls", "/etc/hostname", "/nope"], (1, "/etc/hostname\n", "ls: /nope: No such file or directory\n")),
        ("coreutils", ["ls", "/nope"], (2, "", "ls: cannot access '/nope': No such file or directory\n")),
        ("coreutils", ["ls", "-z"], (2, "", "ls: invalid option -- 'z'\nTry 'ls --help' for more information.\n")),
        (
            "busybox",
            ["ls", "/config/app.conf", "/etc"],
            (0, "/config/app.conf\n\n/etc:\nhostname\nhosts\nresolv.conf\n", ""),
        ),
        ("busybox", ["sleep", "0.01"], (0, "", "")),
        ("busybox", ["sleep", "soon"], (1, "", "sleep: invalid number 'soon'\n")),
        ("coreutils", ["sleep", "soon"], (1, "", "sleep: invalid time interval 'soon'\n")),
        ("busybox", ["ps"], (0, "PID   USER     TIME  COMMAND\n    1 root      0:00 python3 -m web\n", None)),
        ("busybox", ["/bin/sh", "-c", "echo $GREETING ${GREETING}; false || echo $?"], (0, "hi hi\n1\n", "")),
        ("busybox", ["sh", "-c", "echo '$GREETING' && exit 5; echo never"], (5, "$GREETING\n", "")),
        ("busybox", ["sh", "-c", "bash -l"], (127, "", "sh: bash: not found\n")),
        ("busybox", ["sh", "-c", "false; exit $?"], (1, "", "")),
        ("busybox", ["sh", "-c", "cat /etc/hostname | wc -l"], (0, "1\n", "")),
        ("busybox", ["bash"], (127, "", None)),
    ],
)
def test_programs(fs: PodFS, flavour: str, argv: list[str], expected: tuple[int, str, str | None]) -> None:
    code, out, err = ran(context(fs, flavour, GREETING="hi"), *argv)
    want_code, want_out, want_err = expected
    assert code == want_code
    assert out == want_out if argv[0] != "ps" else out.startswith(want_out)
    if want_err is not None:
        assert err == want_err
    elif code:
        assert err  # it says why


def test_sh_reads_commands_from_stdin(fs: PodFS) -> None:
    assert ran(context(fs, stdin=b"echo one\nhostname\nexit 3\necho never\n"), "sh") == (3, "one\nweb-1\n", "")
    assert ran(context(fs, stdin=b"cat\n"), "sh")[0] == 0  # cat reads the rest of stdin: nothing


def test_cat_copies_stdin(fs: PodFS) -> None:
    assert ran(context(fs, stdin=b"piped\n"), "cat", "-") == (0, "piped\n", "")


def test_nslookup_answers_as_cluster_dns(fs: PodFS, tmp_path: Path) -> None:
    net_map = tmp_path / "net.json"
    net_map.write_text(NETMAP.to_json())
    ctx = context(fs)
    ctx.net_map = str(net_map)
    code, out, _ = ran(ctx, "nslookup", "payment")
    header = "Server:\t\t10.96.0.10\nAddress:\t10.96.0.10:53\n\n"
    assert (code, out) == (0, header + "Name:\tpayment.shop.svc.cluster.local\nAddress: 10.96.0.20\n\n")
    ctx = context(fs)
    ctx.net_map = str(net_map)
    assert ran(ctx, "nslookup", "db.other")[1].endswith("Name:\tdb.other.svc.cluster.local\nAddress: 10.96.0.30\n\n")
    ctx = context(fs)
    ctx.net_map = str(net_map)
    code, out, _ = ran(ctx, "nslookup", "nosuch")
    assert (code, out) == (1, header + "** server can't find nosuch.shop.svc.cluster.local: NXDOMAIN\n\n")


def test_visible_env_hides_the_runtime() -> None:
    environ = {
        "PATH": "/work/.venv/bin:/usr/bin",
        "HOME": "/state/pods/uid",
        "HOSTNAME": "web-1",
        "KUBESIM_NET_MAP": "/state/net.json",
        "PYTHONPATH": "/work/hook",
        "PWD": "/state/pods/uid",
        "GREETING": "hi",
    }
    assert visible_env(environ) == {"PATH": IMAGE_PATH, "HOSTNAME": "web-1", "GREETING": "hi", "HOME": "/root"}


# --------------------------------------------------------------------------- curl

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="Debian's curl is not installed (make setup)")


@needs_curl
@pytest.mark.parametrize(
    ("args", "options", "urls"),
    [
        (["-sS", "http://payment/health"], [("--silent", None), ("--show-error", None)], ["http://payment/health"]),
        (["-XPOST", "-d", "{}", "payment"], [("--request", "POST"), ("--data", "{}")], ["payment"]),
        (["-sXPOST", "--url", "http://a"], [("--silent", None), ("--request", "POST"), ("--url", "http://a")], ["http://a"]),
        (
            ["-H", "A: b", "-o", "/dev/null", "-w", "%{http_code}", "x"],
            [("--header", "A: b"), ("--output", "/dev/null"), ("--write-out", "%{http_code}")],
            ["x"],
        ),
    ],
)  # fmt: skip
def test_curl_parse(args: list[str], options: list[tuple[str, str | None]], urls: list[str]) -> None:
    assert CURL is not None
    parsed = tcurl.parse(args, tcurl.option_table(CURL))
    assert (parsed.options, parsed.urls) == (options, urls)


@needs_curl
@pytest.mark.parametrize(
    ("args", "refused"),
    [
        (["-K", "/etc/passwd"], True),
        (["--config", "x"], True),
        (["-o", "/tmp/out"], True),
        (["-o", "/dev/null"], False),
        (["-o", "-"], False),
        (["-D", "-"], False),
        (["-D", "headers.txt"], True),
        (["-d", "@/etc/passwd"], True),
        (["-d@/etc/passwd"], True),
        (["-d", "@-"], False),
        (["-d", '{"amount": 50}'], False),
        (["--data-binary", "@f"], True),
        (["--json", "@f"], True),
        (["--data-urlencode", "name@f"], True),
        (["--data-urlencode", "a=b@c"], False),
        (["-F", "file=@/etc/passwd"], True),
        (["-F", "a=b"], False),
        (["-H", "@/etc/hosts"], True),
        (["-H", "X: 1"], False),
        (["-b", "cookies.txt"], True),
        (["-b", "a=1"], False),
        (["-c", "jar"], True),
        (["-T", "up"], True),
        (["-O"], True),
        (["--cacert", "/etc/ssl/ca.pem"], True),
        (["--unix-socket", "/run/docker.sock"], True),
        (["--proto", "=file"], True),
        (["-w", "@fmt"], True),
        (["-sSfL", "-m", "5", "--connect-timeout", "2", "-A", "probe", "-u", "a:b", "-k", "-I"], False),
    ],
)
def test_curl_refuses_options_that_touch_the_machines_files(args: list[str], refused: bool) -> None:
    assert CURL is not None
    table = tcurl.option_table(CURL)
    parsed = tcurl.parse([*args, "http://payment"], table)
    if refused:
        with pytest.raises(tcurl.Refused, match="not available in this cluster's toolbox"):
            tcurl.vet(parsed, table)
    else:
        tcurl.vet(parsed, table)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://payment/health", ("payment", 80)),
        ("payment:8080/x", ("payment", 8080)),
        ("https://user:pw@db.other:9443?q", ("db.other", 9443)),
        ("https://stripe-mock", ("stripe-mock", 443)),
        ("http://[::1]:81/", ("::1", 81)),
        ("http:///nohost", None),
    ],
)
def test_curl_host_port(url: str, expected: tuple[str, int] | None) -> None:
    assert tcurl.host_port(url) == expected


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("payment", 80, ("127.7.128.0", 20080, "10.96.0.20")),
        ("payment.shop.svc.cluster.local", 80, ("127.7.128.0", 20080, "10.96.0.20")),
        ("db.other", 3306, ("127.7.128.2", 3306, "10.96.0.30")),
        ("10.244.1.9", 8080, ("127.7.1.9", 8080, "10.244.1.9")),
        ("localhost", 8080, ("127.7.1.5", 8080, "127.0.0.1")),
        ("nosuch", 80, None),  # cluster DNS has no such name: curl's own lookup fails
        ("example.com", 443, None),  # outside the cluster: untouched
    ],
)
def test_curl_routes_cluster_names(host: str, port: int, expected: tuple[str, int, str] | None) -> None:
    found = tcurl.route(NETMAP, "shop", "127.7.1.5", host, port)
    assert (found and (found.address, found.real_port, found.shown_ip)) == expected or found is expected


def test_curl_messages_name_the_cluster() -> None:
    r = tcurl.Route("stripe-mock", 80, "127.7.128.1", 20080, "10.96.0.21")
    raw = (
        "* Connecting to hostname: 127.7.128.1\n* Connecting to port: 20080\n*   Trying 127.7.128.1:20080...\n"
        "* connect to 127.7.128.1 port 20080 failed: Connection refused\n"
        "curl: (7) Failed to connect to 127.7.128.1 port 20080 after 0 ms: Couldn't connect to server\n"
    )
    assert tcurl.rewrite(raw, [r]) == (
        "*   Trying 10.96.0.21:80...\n* connect to 10.96.0.21 port 80 failed: Connection refused\n"
        "curl: (7) Failed to connect to stripe-mock port 80 after 0 ms: Couldn't connect to server\n"
    )
    assert tcurl.rewrite("* Connected to (nil) (127.7.128.1) port 20080 (#0)\n", [r]) == (
        "* Connected to stripe-mock (10.96.0.21) port 80 (#0)\n"
    )


@needs_curl
def test_curl_command_line(fs: PodFS, tmp_path: Path) -> None:
    assert CURL is not None
    net_map = tmp_path / "net.json"
    net_map.write_text(NETMAP.to_json())
    ctx = context(fs)
    ctx.net_map = str(net_map)
    argv, routes = tcurl.command(ctx, ["-s", "http://payment/health", "http://payment/x"], CURL)
    assert argv == [
        CURL, "-q", "--proto", "=http,https", "--proto-redir", "=http,https",
        "--connect-to", "payment:80:127.7.128.0:20080", "-s", "http://payment/health", "http://payment/x",
    ]  # fmt: skip
    assert len(routes) == 1


# --------------------------------------------------------------------------- images


@pytest.mark.parametrize(
    ("image", "command", "args", "words"),
    [
        ("curlimages/curl:latest", ["curl", "-s", "http://x"], None, ["curl", "-s", "http://x"]),
        ("curlimages/curl", None, ["-s", "http://x"], ["curl", "-s", "http://x"]),  # /entrypoint.sh
        ("curlimages/curl", None, ["http://x"], ["curl", "http://x"]),
        ("curlimages/curl", None, ["sleep", "5"], ["sleep", "5"]),
        ("curlimages/curl", None, None, ["curl"]),
        ("busybox", None, ["sleep", "3600"], ["sleep", "3600"]),
        ("busybox:1.36", None, None, ["sh"]),
        ("busybox", ["sh", "-c"], ["echo hi"], ["sh", "-c", "echo hi"]),
    ],
)
def test_toolbox_images_run_the_toolbox(
    image: str, command: list[str] | None, args: list[str] | None, words: list[str]
) -> None:
    assert toolbox_words(image, command, args) == words
    assert argv_for(image, command, args, {"/data": "/machine/dir"}) == [
        *PID1,
        sys.executable,
        "-u",
        "-m",
        "kubesim.toolbox",
        "--pid1",
        *words,
    ]


@pytest.mark.parametrize(
    ("image", "program", "has"),
    [
        ("docker.io/curlimages/curl", "curl", True),
        ("quay.io/powercloud/sock-shop-front-end", "curl", True),
        ("quay.io/powercloud/sock-shop-catalogue", "curl", False),
        ("quay.io/powercloud/sock-shop-catalogue", "nslookup", True),
        ("sock-shop-payment-gateway", "env", True),
        ("sock-shop-payment-gateway", "ps", False),
        ("ghcr.io/kbudde/rabbitmq_exporter", "ls", False),  # FROM scratch
        ("docker.io/library/nginx", "ls", False),  # a placeholder image has no toolbox
    ],
)
def test_toolbox_table(image: str, program: str, has: bool) -> None:
    assert toolbox_for(image).has(program) is has


def test_main_argv_and_env_round_trip(fs: PodFS, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBESIM_MOUNTS", json.dumps({"/config": str(tmp_path)}))
    monkeypatch.setenv("KUBESIM_IMAGE", "busybox:1.36")
    monkeypatch.setenv("KUBESIM_MAIN_ARGV", json.dumps(["sleep", "3600"]))
    monkeypatch.setenv("HOSTNAME", "bb")
    ctx = Context.from_environ(dict(__import__("os").environ))
    assert ctx.toolbox.has("nslookup") and not ctx.toolbox.has("curl")
    assert ctx.main_argv == ["sleep", "3600"] and ctx.hostname == "bb"
    assert "KUBESIM_IMAGE" not in ctx.env and ctx.env["HOME"] == "/root"


# --------------------------------------------------------------------------- wget, nc


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-qO-", "http://web/"], {"quiet": True, "output": "-", "urls": ["http://web/"]}),
        (["-q", "-O", "-", "web"], {"quiet": True, "output": "-", "urls": ["web"]}),
        (
            ["-qST", "5", "-O/dev/null", "u"],
            {"quiet": True, "show_headers": True, "timeout": 5.0, "output": "/dev/null"},
        ),
        (["--header", "X-A: 1", "--post-data", "a=b", "u"], {"headers": {"X-A": "1"}, "data": "a=b"}),
        (["--quiet", "--output-document", "-", "u"], {"quiet": True, "output": "-"}),
    ],
)
def test_wget_options(args: list[str], expected: dict[str, object]) -> None:
    opts = net.parse_wget(args)
    assert {key: getattr(opts, key) for key in expected} == expected


@pytest.mark.parametrize(
    ("args", "message"), [(["-x", "u"], "invalid option -- 'x'"), (["--spider", "u"], "unrecognized option")]
)
def test_wget_refuses_what_it_does_not_run(args: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        net.parse_wget(args)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Context, int]]:
    """A server on the loopback image of pod IP 10.244.3.4 (slot 0), Service `web` (10.96.0.40) in front of it."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status = 500 if self.path == "/fail" else 200
            body = f"{self.command} {self.path} {self.headers.get('X-A', '')}".encode()
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET

        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.3.4", 0), Handler)
    port = server.server_address[1]
    net_map = tmp_path / "net.json"
    net_map.write_text(NetMap(0, {"shop": {"web": "10.96.0.40"}}, {"10.96.0.40": "127.0.3.4"}).to_json())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    ctx = context(PodFS({}, {}))
    ctx.net_map = str(net_map)
    try:
        yield ctx, port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_wget_and_nc_reach_a_service(served: tuple[Context, int]) -> None:
    ctx, port = served
    assert ran(ctx, "wget", "-qO-", "--header", "X-A: 1", f"http://web:{port}/x") == (0, "GET /x 1", "")
    ctx.stdout, ctx.stderr = io.BytesIO(), io.BytesIO()
    code, out, err = ran(ctx, "wget", "-O-", f"http://10.244.3.4:{port}/y")
    assert (code, out) == (
        0,
        "GET /y ",
    ) and err == f"Connecting to 10.244.3.4:{port} (10.244.3.4:{port})\nwriting to stdout\n"
    ctx.stdout, ctx.stderr = io.BytesIO(), io.BytesIO()
    assert ran(ctx, "wget", "-q", "-O", "-", f"http://web:{port}/fail") == (
        1,
        "",
        "wget: server returned error: HTTP/1.1 500 Internal Server Error\n",
    )
    ctx.stdout, ctx.stderr = io.BytesIO(), io.BytesIO()
    assert ran(ctx, "nc", "-zv", "web", str(port)) == (0, "", f"web (10.96.0.40:{port}) open\n")


def test_wget_and_nc_report_what_busybox_reports(served: tuple[Context, int]) -> None:
    ctx, _ = served
    with socket.socket() as held:  # bound, not listening: refuses for as long as the test holds it
        held.bind(("127.0.3.4", 0))
        refused = held.getsockname()[1]
        code, _, err = ran(ctx, "wget", "-qO-", f"http://10.244.3.4:{refused}/")
        assert (code, err) == (1, "wget: can't connect to remote host (10.244.3.4): Connection refused\n")
        ctx.stderr = io.BytesIO()
        assert ran(ctx, "nc", "-zv", "10.244.3.4", str(refused)) == (
            1,
            "",
            f"nc: 10.244.3.4 (10.244.3.4:{refused}): Connection refused\n",
        )
    ctx.stderr = io.BytesIO()
    assert ran(ctx, "wget", "-qO-", "http://nosuch/") == (1, "", "wget: bad address 'nosuch'\n")
    ctx.stderr = io.BytesIO()
    assert ran(ctx, "wget", "http://web/page.html")[2] == "wget: can't open 'page.html': Read-only file system\n"
    ctx.stderr = io.BytesIO()
    assert ran(ctx, "nc", "-z", "nosuch", "80") == (1, "", "nc: bad address 'nosuch'\n")
    ctx.stderr = io.BytesIO()
    assert ran(ctx, "nc", "web", "80")[0] == 1  # only -z runs here, and it says so
