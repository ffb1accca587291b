"""The toolbox's sh: the shell language of containers' command lines (loops, conditionals, substitutions,
pipelines, redirections into the container's own writable layer), and the text utilities they call."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from kubesim.toolbox import BUSYBOX, COREUTILS, IMAGE_PATH, Toolbox
from kubesim.toolbox.podfs import PodFS, kubelet_files, make_rootfs
from kubesim.toolbox.programs import Context, run


@pytest.fixture
def fs(tmp_path: Path) -> PodFS:
    (tmp_path / "vol").mkdir()
    (tmp_path / "vol" / "app.conf").write_text("a\nb\nc\n")
    (tmp_path / "machine-secret").write_text("ground truth")
    make_rootfs(tmp_path / "rootfs")
    (tmp_path / "rootfs" / "tmp" / "escape").symlink_to(tmp_path / "machine-secret")
    return PodFS(
        {"/config": str(tmp_path / "vol")}, kubelet_files("web-1", "shop", "10.244.1.5"), str(tmp_path / "rootfs")
    )


def sh(fs: PodFS, line: str, flavour: str = "busybox", stdin: bytes = b"") -> tuple[int, str, str]:
    ctx = Context(
        toolbox=Toolbox(flavour, BUSYBOX if flavour == "busybox" else COREUTILS),
        env={"PATH": IMAGE_PATH, "HOSTNAME": "web-1", "GREETING": "hi", "HOME": "/root"},
        fs=fs,
        hostname="web-1",
        namespace="shop",
        pod_ip="127.7.1.5",
        net_map="",
        main_argv=["sh"],
        stdin=io.BytesIO(stdin),
        stdout=io.BytesIO(),
        stderr=io.BytesIO(),
    )
    code = run(ctx, ["sh", "-c", line])
    assert isinstance(ctx.stdout, io.BytesIO) and isinstance(ctx.stderr, io.BytesIO)
    return code, ctx.stdout.getvalue().decode(), ctx.stderr.getvalue().decode()


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # kubernetes.core's k8s_log target
        ("for i in $(seq 0 9); do echo $i; done", (0, "".join(f"{i}\n" for i in range(10)), "")),
        (
            'n=0; while true ; do echo "hello world" && n=$((n+1)); [ $n -ge 3 ] && break; done',
            (0, "hello world\n" * 3, ""),
        ),
        ("echo hello world", (0, "hello world\n", "")),
        ('until [ "$x" = aaa ]; do x=${x}a; done; echo $x', (0, "aaa\n", "")),
        ("if false; then echo no; elif [ -f /config/app.conf ]; then echo yes; else echo never; fi", (0, "yes\n", "")),
        ('for f in a \'b c\' "$GREETING"; do echo "<$f>"; done', (0, "<a>\n<b c>\n<hi>\n", "")),
        ("x='1  2'; for w in $x; do echo $w; done; echo \"$x\"", (0, "1\n2\n1  2\n", "")),
        ("echo $((7 * 6)) $(( (1 + 2) % 2 )) $((10 / 3))", (0, "42 1 3\n", "")),
        ("echo ${MISSING:-default} ${GREETING:+set} ${#GREETING}", (0, "default set 2\n", "")),
        ("echo `echo back` $(echo $(echo nested))", (0, "back nested\n", "")),
        ("cat /config/app.conf | head -n 2 | wc -l", (0, "2\n", "")),
        ("! false && echo negated", (0, "negated\n", "")),
        ("{ echo a; echo b; } | tail -n 1", (0, "b\n", "")),
        ("(exit 3); echo $?", (0, "3\n", "")),
        (
            "for i in 1 2 3; do for j in a b; do [ $j = b ] && continue 2; echo $i$j; done; done",
            (0, "1a\n2a\n3a\n", ""),
        ),
        ("echo out; echo err >&2; ls /nope 2>/dev/null; echo $?", (0, "out\n1\n", "err\n")),
        ("exit 7", (7, "", "")),
        ("set -- a b; echo $# $1 $2", (0, "2 a b\n", "")),
        ("date +%Y | wc -c", (0, "5\n", "")),
        ("seq 3 -1 1", (0, "3\n2\n1\n", "")),
        ("nope", (127, "", "sh: nope: not found\n")),
        ("while true; do", (2, "", "sh: syntax error: unexpected end of file\n")),
        ("echo a; done", (2, "", "sh: syntax error: unexpected done\n")),
    ],
)
def test_shell_language(fs: PodFS, line: str, expected: tuple[int, str, str]) -> None:
    assert sh(fs, line) == expected


def test_dash_messages(fs: PodFS) -> None:
    assert sh(fs, "fi", flavour="coreutils") == (2, "", "sh: 1: Syntax error: fi unexpected\n")


def test_redirections_write_into_the_container_only(fs: PodFS, tmp_path: Path) -> None:
    assert sh(fs, "echo one > /tmp/f; echo two >> /tmp/f; cat /tmp/f; wc -l < /tmp/f") == (0, "one\ntwo\n2\n", "")
    assert (tmp_path / "rootfs" / "tmp" / "f").read_text() == "one\ntwo\n"
    assert sh(fs, "echo x > /config/new; cat /config/new") == (0, "x\n", "")  # a volume is writable
    assert sh(fs, "echo x > /etc/hostname")[0] == 1  # the kubelet's files are not
    code, _, err = sh(fs, "echo pwned > /tmp/escape")  # a symlink out of the layer leads nowhere
    assert code == 1 and "No such file or directory" in err
    assert (tmp_path / "machine-secret").read_text() == "ground truth"
    assert sh(fs, "echo x > /nodir/f")[0] == 1


def test_test_and_sums(fs: PodFS) -> None:
    assert sh(fs, "test -d /tmp && test -e /config/app.conf && ! test -e /nope && [ -n x ] && echo ok") == (
        0,
        "ok\n",
        "",
    )
    digest = hashlib.sha256(b"a\nb\nc\n").hexdigest()
    assert sh(fs, "sha256sum /config/app.conf") == (0, f"{digest}  /config/app.conf\n", "")
    assert sh(fs, "sha256sum -b /config/app.conf", flavour="coreutils") == (0, f"{digest} */config/app.conf\n", "")


def test_mkdir_rm_touch_in_the_writable_layer(fs: PodFS, tmp_path: Path) -> None:
    assert sh(fs, "mkdir -p /data/a/b && touch /data/a/b/f && ls /data/a/b") == (0, "f\n", "")
    assert (tmp_path / "rootfs" / "data" / "a" / "b" / "f").is_file()
    assert sh(fs, "rm /data/a") == (1, "", "rm: can't remove '/data/a': Is a directory\n")
    assert sh(fs, "rm -rf /data && ls /data") == (1, "", "ls: /data: No such file or directory\n")
    assert sh(fs, "rm -f /nope; rm /etc/hosts") == (1, "", "rm: can't remove '/etc/hosts': Read-only file system\n")
    assert sh(fs, "mkdir /tmp", flavour="coreutils") == (1, "", "mkdir: cannot create directory '/tmp': File exists\n")
