"""The Prometheus launcher's rewrites (kubesim/servers/prometheus.py): flags, file paths in the config,
kubernetes_sd_configs -> file_sd_configs with the address mapping appended, clear errors; and the real
binary started by it exits 0 on SIGTERM."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from kubesim.servers.prometheus import ConfigError, Machine, load_config, prepare, rewrite_config, rewrite_flags

ROOT = Path(__file__).resolve().parents[3]
SA = "/var/run/secrets/kubernetes.io/serviceaccount"


@pytest.fixture
def machine(tmp_path: Path) -> Machine:
    state = tmp_path / "state"
    state.mkdir()
    (state / "server.json").write_text(json.dumps({"server": "https://127.0.0.1:43210", "slot": 7}))
    (state / "net.json").write_text(json.dumps({"slot": 7, "services": {}, "vips": {}}))
    (state / "token").write_text("t0ken")
    (state / "ca.crt").write_text("CA")
    mounts = {
        "/etc/prometheus": str(tmp_path / "cfg"),
        "/etc/prometheus/rules": str(tmp_path / "rules"),
        "/prometheus": str(tmp_path / "data"),
    }
    for d in mounts.values():
        Path(d).mkdir()
    home = tmp_path / "pod"
    home.mkdir()
    env = {
        "KUBESIM_MOUNTS": json.dumps(mounts),
        "KUBESIM_POD_IP": "127.7.1.5",
        "KUBESIM_POD_NAMESPACE": "monitoring",
        "KUBESIM_NET_MAP": str(state / "net.json"),
        "HOME": str(home),
    }
    return Machine(env)


def test_flags_only_change_where_the_machine_needs_it(machine: Machine, tmp_path: Path) -> None:
    derived = machine.derived / "prometheus.yml"
    args = [
        f"--config.file={tmp_path}/cfg/prometheus.yml",  # the runtime already rewrote the mounted path
        f"--storage.tsdb.path={tmp_path}/data",
        "--storage.tsdb.retention.time=2h",
        "--web.listen-address=:9090",
        "--web.enable-lifecycle",
    ]
    original, flags = rewrite_flags(args, machine, derived)
    assert original == tmp_path / "cfg" / "prometheus.yml"
    assert flags == [
        f"--config.file={derived}",
        "--web.listen-address=127.7.1.5:9090",
        f"--storage.tsdb.path={tmp_path}/data",
        "--storage.tsdb.retention.time=2h",
        "--web.enable-lifecycle",
    ]


@pytest.mark.parametrize(
    ("args", "listen", "storage"),
    [
        ([], "127.7.1.5:9090", "{tmp}/data"),  # the image's CMD: /etc/prometheus/prometheus.yml, /prometheus
        (
            ["--web.listen-address", "0.0.0.0:9091", "--storage.tsdb.path", "/var/lib/prom"],
            "127.7.1.5:9091",
            "{home}/rootfs/var/lib/prom",
        ),
        (["--storage.tsdb.path=data/"], "127.7.1.5:9090", "data/"),
    ],
)
def test_listen_address_and_storage(
    machine: Machine, tmp_path: Path, args: list[str], listen: str, storage: str
) -> None:
    _, flags = rewrite_flags(args, machine, machine.derived / "p.yml")
    assert flags[1] == f"--web.listen-address={listen}"
    assert flags[2] == "--storage.tsdb.path=" + storage.format(tmp=tmp_path, home=machine.home)


def test_a_bad_listen_address_is_refused(machine: Machine) -> None:
    with pytest.raises(ConfigError, match="expected \\[host\\]:port"):
        rewrite_flags(["--web.listen-address=nonsense"], machine, machine.derived / "p.yml")


CONFIG: dict[str, Any] = {
    "global": {"scrape_interval": "2s"},
    "rule_files": ["/etc/prometheus/rules/*.yml", "local/*.rules"],
    "scrape_configs": [
        {"job_name": "static", "static_configs": [{"targets": ["10.244.1.2:80"]}]},
        {
            "job_name": "apiserver",
            "scheme": "https",
            "honor_labels": True,
            "kubernetes_sd_configs": [
                {"role": "endpoints"},
                {"role": "pod", "namespaces": {"names": ["a"], "own_namespace": True}},
            ],
            "tls_config": {"ca_file": f"{SA}/ca.crt", "cert_file": "/etc/prometheus/client.crt"},
            "authorization": {"credentials_file": f"{SA}/token"},
            "file_sd_configs": [{"files": ["extra.json"]}],
            "relabel_configs": [
                {"source_labels": ["__meta_kubernetes_namespace"], "action": "keep", "regex": "default"}
            ],
        },
    ],
}


def test_the_config_is_rewritten_as_documented(machine: Machine, tmp_path: Path) -> None:
    config_dir = tmp_path / "cfg"
    out, sds = rewrite_config(json.loads(json.dumps(CONFIG)), machine, config_dir)
    state = tmp_path / "state"
    assert out["rule_files"] == [f"{tmp_path}/rules/*.yml", f"{config_dir}/local/*.rules"]
    assert out["scrape_configs"][0] == CONFIG["scrape_configs"][0]  # no discovery: untouched
    job = out["scrape_configs"][1]
    assert "kubernetes_sd_configs" not in job
    assert job["tls_config"] == {"ca_file": f"{state}/ca.crt", "cert_file": f"{config_dir}/client.crt"}
    assert job["authorization"] == {"credentials_file": f"{state}/token"}
    files = [f"{machine.derived}/sd/job-1-0.json", f"{machine.derived}/sd/job-1-1.json"]
    assert job["file_sd_configs"] == [
        {"files": [f"{config_dir}/extra.json"]},
        {"files": files, "refresh_interval": "1s"},
    ]
    assert [(sd["file"], sd["role"], sd["namespaces"]) for sd in sds] == [
        (files[0], "endpoints", []),
        (files[1], "pod", ["a", "monitoring"]),
    ]
    # The user's relabeling first (it sees cluster addresses), then instance, the pod address, the API server.
    assert job["relabel_configs"] == [
        CONFIG["scrape_configs"][1]["relabel_configs"][0],
        {
            "source_labels": ["instance", "__address__"],
            "separator": ";",
            "regex": ";(.+)",
            "target_label": "instance",
            "replacement": "${1}",
            "action": "replace",
        },
        {
            "source_labels": ["__address__"],
            "regex": r"10\.244\.(\d+)\.(\d+)(:\d+)?",
            "target_label": "__address__",
            "replacement": "127.7.${1}.${2}${3}",
            "action": "replace",
        },
        {
            "source_labels": ["__address__"],
            "regex": r"172\.18\.0\.2:6443",
            "target_label": "__address__",
            "replacement": "127.0.0.1:43210",
            "action": "replace",
        },
    ]


@pytest.mark.parametrize(
    ("address", "mapped"),
    [
        ("10.244.1.5:8000", "127.7.1.5:8000"),
        ("10.244.0.12", "127.7.0.12"),
        ("172.18.0.2:6443", "127.0.0.1:43210"),
        ("10.96.0.10:80", "10.96.0.10:80"),
    ],
)
def test_the_address_mapping_as_prometheus_applies_it(
    machine: Machine, tmp_path: Path, address: str, mapped: str
) -> None:
    """Prometheus anchors relabel regexes and expands ${n} (an unmatched group is empty)."""
    out, _ = rewrite_config(json.loads(json.dumps(CONFIG)), machine, tmp_path)
    for rule in out["scrape_configs"][1]["relabel_configs"][2:]:
        found = re.fullmatch(rule["regex"], address)
        if found:
            groups = ("", *(g or "" for g in found.groups()))
            address = rule["replacement"]
            for n, value in enumerate(groups):
                address = address.replace(f"${{{n}}}", value)
    assert address == mapped


@pytest.mark.parametrize(
    ("sd", "message"),
    [
        ({"role": "ingress"}, "role 'ingress' is not supported by the embedded cluster"),
        ({}, "role missing"),
        ({"role": "pod", "api_server": "https://k8s.example.com:6443"}, "is not this cluster"),
        ({"role": "pod", "kubeconfig_file": "/k"}, "kubeconfig_file is not supported"),
        ({"role": "pod", "selectors": [{"role": "service", "label": "a=b"}]}, "pod role supports only pod selectors"),
        ({"role": "pod", "selectors": [{"role": "pod", "label": "a=(b"}]}, "kubernetes_sd_configs\\[0\\]"),
        (
            {"role": "pod", "api_server": "https://kubernetes.default.svc", "namespaces": {"own_namespace": True}},
            "simultaneously",
        ),
    ],
)
def test_what_is_not_served_is_a_clear_error(
    machine: Machine, tmp_path: Path, sd: dict[str, Any], message: str
) -> None:
    config = {"scrape_configs": [{"job_name": "x", "kubernetes_sd_configs": [sd]}]}
    with pytest.raises(ConfigError, match=message):
        rewrite_config(config, machine, tmp_path)


def test_this_cluster_may_be_named_by_api_server(machine: Machine, tmp_path: Path) -> None:
    for server in (
        "https://kubernetes.default.svc:443",
        "https://10.96.0.1",
        "https://127.0.0.1:43210",
        "172.18.0.2:6443",
    ):
        config = {
            "scrape_configs": [{"job_name": "x", "kubernetes_sd_configs": [{"role": "node", "api_server": server}]}]
        }
        assert rewrite_config(config, machine, tmp_path)[1][0]["role"] == "node"


@pytest.mark.parametrize(
    ("text", "message"), [("scrape_configs: [\n", "not YAML"), ("- a\n- b\n", "not a mapping but list")]
)
def test_a_config_that_is_not_yaml_is_refused(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "p.yml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def launcher_env(machine_tmp: Path, port_home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KUBESIM_")}
    env.update(
        {
            "HOME": str(port_home),
            "KUBESIM_POD_IP": "127.0.0.1",
            "KUBESIM_MOUNTS": json.dumps({"/etc/prometheus": str(machine_tmp)}),
            "PYTHONPATH": str(ROOT),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    env.update(extra or {})
    return env


def test_a_bad_config_ends_the_container_with_exit_code_1_and_says_why(tmp_path: Path) -> None:
    (tmp_path / "prometheus.yml").write_text(
        "scrape_configs:\n  - job_name: x\n    kubernetes_sd_configs: [{role: ingress}]\n"
    )
    home = tmp_path / "home"
    home.mkdir()
    out = subprocess.run(
        [sys.executable, "-m", "kubesim.servers.prometheus", f"--config.file={tmp_path}/prometheus.yml"],
        env=launcher_env(tmp_path, home),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 1, out
    assert "error: ConfigError: job-0: kubernetes_sd_configs[0]: role 'ingress' is not supported" in out.stdout, out


def test_prepare_writes_the_derived_config(machine: Machine, tmp_path: Path) -> None:
    (tmp_path / "cfg" / "prometheus.yml").write_text(yaml.safe_dump(CONFIG))
    _, flags, sds = prepare([f"--config.file={tmp_path}/cfg/prometheus.yml"], {**_env_of(machine, tmp_path)})
    derived = yaml.safe_load((machine.derived / "prometheus.yml").read_text())
    assert flags[0] == f"--config.file={machine.derived / 'prometheus.yml'}"
    assert "kubernetes_sd_configs" not in derived["scrape_configs"][1]
    assert len(sds) == 2


def _env_of(machine: Machine, tmp_path: Path) -> dict[str, str]:
    return {
        "KUBESIM_MOUNTS": json.dumps(machine.mounts),
        "KUBESIM_POD_IP": machine.pod_ip,
        "KUBESIM_POD_NAMESPACE": machine.namespace,
        "KUBESIM_NET_MAP": str(tmp_path / "state" / "net.json"),
        "HOME": str(machine.home),
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(
    not shutil.which("prometheus", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"),
    reason="prometheus is not installed (make setup)",
)
def test_the_container_process_is_prometheus_and_sigterm_exits_0(tmp_path: Path) -> None:
    (tmp_path / "prometheus.yml").write_text("global: {scrape_interval: 5s}\nscrape_configs: []\n")
    home = tmp_path / "home"
    home.mkdir()
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-m",
            "kubesim.servers.prometheus",
            "--config.file=/etc/prometheus/prometheus.yml",
            "--storage.tsdb.path=/prometheus",
            f"--web.listen-address=0.0.0.0:{port}",
        ],
        env=launcher_env(tmp_path, home),
        cwd=home,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/-/ready", timeout=1) as resp:
                    if resp.status == 200:
                        break
            except OSError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.1)
        assert Path(os.readlink(f"/proc/{proc.pid}/exe")).name == "prometheus"  # exec'd: no Python supervisor
        assert (home / "rootfs" / "prometheus").is_dir()  # the unmounted /prometheus landed in the pod's dir
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
