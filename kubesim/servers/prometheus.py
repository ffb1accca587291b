"""Prometheus (Debian's prometheus 2.42) for the quay.io/prometheus/prometheus images, with Kubernetes service
discovery supplied by the launcher (Debian's build has it removed: `kubernetes_sd_configs` is refused there).

    python -u -m kubesim.servers.prometheus [prometheus flags]...

The container is written as for a real cluster, e.g. args `--config.file=/etc/prometheus/prometheus.yml
--storage.tsdb.path=/prometheus --web.listen-address=:9090 --web.enable-lifecycle`, the config from a ConfigMap
mounted at /etc/prometheus, rule files from another mounted at /etc/prometheus/rules, an emptyDir at
/prometheus. With no args the image's CMD applies: `--config.file=/etc/prometheus/prometheus.yml
--storage.tsdb.path=/prometheus`. The runtime already points arguments under a mountPath at the volume's
directory (runtime/volumes.py); the launcher does the rest, and only where this machine needs it.

Flags (every other flag goes to prometheus unchanged):
- `--config.file` -> the derived config `$HOME/kubesim-prometheus/prometheus.yml` (below). The original must
  exist (a ConfigMap volume, or a host file): a missing file, a file that is not YAML (or not a mapping), an
  unsupported `kubernetes_sd_configs` entry -> `error: ...` on the container log and exit code 1, as prometheus
  itself exits on a bad config;
- `--web.listen-address=[host]:port` -> `<KUBESIM_POD_IP>:port` (port kept; 9090 when the flag is absent);
- `--storage.tsdb.path`: a path under a mountPath is already the volume's directory; another absolute
  (container) path P becomes `$HOME/rootfs/P`; a relative one stays relative to the pod work directory.

Rewrites inside the config (the derived file; the original is never changed):
- file paths: `rule_files` entries (globs too), `file_sd_configs[].files`, and every `ca_file`, `cert_file`,
  `key_file`, `credentials_file`, `bearer_token_file`, `password_file`, `client_secret_file`: a path under a
  mountPath -> the volume's directory (longest mountPath first, via KUBESIM_MOUNTS); a relative path is made
  absolute against the original config file's directory (prometheus resolves it there);
  `/var/run/secrets/kubernetes.io/serviceaccount/{token,ca.crt,namespace}` (the in-cluster credentials, when no
  volume is mounted there) -> the cluster's `<state>/token`, `<state>/ca.crt` and a file holding the pod's
  namespace (`<state>` = the directory of KUBESIM_NET_MAP);
- `kubernetes_sd_configs` (in `scrape_configs[]` and `alerting.alertmanagers[]`) -> `file_sd_configs` entries
  (refresh_interval 1s) on files `$HOME/kubesim-prometheus/sd/<job index>-<sd index>.json`, kept current by a
  child process (kubesim.servers.prometheus_sd, list + watch on the API server with the cluster's credentials)
  with the target groups and `__meta_kubernetes_*` labels Prometheus' own kubernetes SD produces. Supported:
  roles endpoints, endpointslice, pod, service, node; `namespaces: {names: [...], own_namespace: true}`;
  `selectors` (label and field, the roles Prometheus allows per role); `attach_metadata: {node: true}`. The
  API server: in-cluster (no `api_server`), or an `api_server` naming this cluster (kubernetes.default.svc and
  its shorter names, 10.96.0.1, 172.18.0.2:6443); the SD config's own HTTP settings are not used (the
  cluster's credentials are). Refused with a clear error: another role (ingress), another api_server,
  kubeconfig_file;
- every scrape config that had kubernetes_sd_configs gets three rules appended at the END of its
  `relabel_configs` (after the user's own, which therefore see cluster addresses):
  1. `instance` <- `__address__` when `instance` is still empty (source_labels [instance, __address__],
     regex `;(.+)`), so series keep the cluster address as their instance;
  2. `__address__` `10.244.B.C[:P]` -> `127.<slot>.B.C[:P]` (the pod's loopback image; slot from net.json);
  3. `__address__` `172.18.0.2:6443` (the API server's advertised endpoint, Service default/kubernetes'
     Endpoints) -> the address the API server really listens on (server.json).
  ClusterIP addresses (`10.96.x.y`, role service's `<name>.<ns>.svc`) cannot be mapped by a regex: their
  loopback images are allocated dynamically (net.json), so such targets stay unreachable to prometheus
  (which does not go through the pod network hook). A pod target without a port keeps `instance` = the bare
  IP (real Prometheus adds the scheme's default port first).

`--web.enable-lifecycle`'s /-/reload re-reads the derived file; a ConfigMap volume is written when the container
starts, so a changed config takes a container restart, as the derived config is made then.

Process shape: the launcher writes the derived config, starts the discovery child (in the container's process
group, SIGTERM when its parent dies: PR_SET_PDEATHSIG), waits until it wrote every file once, then execs
prometheus: the container's process is prometheus, SIGTERM makes it exit 0, and the child goes with it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from kubesim.runtime import volumes
from kubesim.selectors import SelectorError, parse_field_selector, parse_label_selector
from kubesim.servers import (
    Supervisor,
    exec_server,
    log,
    parse_mounts,
    pod_ip,
    run_launcher,
    spawn,
    split_args,
    wait_until,
    work_dir,
)
from kubesim.servers.prometheus_sd import ALLOWED_SELECTORS, ANY_FIELD, ROLES

NAME = "prometheus"
PORT = 9090
IMAGE_CMD = ("--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus")
FLAGS = ("--config.file", "--web.listen-address", "--storage.tsdb.path")
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
PATH_KEYS = frozenset(
    {"ca_file", "cert_file", "key_file", "credentials_file", "bearer_token_file", "password_file", "client_secret_file"}
)
IN_CLUSTER_HOSTS = frozenset(
    {
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        "kubernetes.default.svc.cluster.local",
        "10.96.0.1",
        "172.18.0.2",
    }
)
POD_ADDRESS = r"10\.244\.(\d+)\.(\d+)(:\d+)?"
APISERVER_ADVERTISED = r"172\.18\.0\.2:6443"
SD_REFRESH = "1s"
FIRST_FILES_TIMEOUT = 20.0


class ConfigError(ValueError):
    """The Prometheus config cannot run here: the message says why."""


class Machine:
    """What the launcher knows about this machine: mounts, the pod, the cluster's state directory."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.mounts = parse_mounts(env.get("KUBESIM_MOUNTS"))
        self.pod_ip = pod_ip(env)
        self.namespace = env.get("KUBESIM_POD_NAMESPACE", "default")
        self.home = work_dir(env)
        self.derived = self.home / "kubesim-prometheus"
        net_map = env.get("KUBESIM_NET_MAP", "")
        self.state = Path(net_map).parent if net_map else None

    def state_file(self, name: str) -> Path:
        if self.state is None:
            raise ConfigError("kubernetes_sd_configs need the cluster (KUBESIM_NET_MAP is not set)")
        return self.state / name

    def slot(self) -> int:
        """The cluster's loopback slot: net.json's, else the second octet of the pod's loopback address."""
        if self.state is not None:
            try:
                return int(json.loads((self.state / "net.json").read_text())["slot"])
            except (OSError, ValueError, KeyError):
                pass
        parts = self.pod_ip.split(".")
        return int(parts[1]) if len(parts) == 4 and parts[0] == "127" else 0

    def apiserver(self) -> str:
        """The real API server's URL (server.json)."""
        try:
            return str(json.loads(self.state_file("server.json").read_text())["server"])
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"cannot read the cluster's server.json: {exc}") from exc


# --------------------------------------------------------------------------- flags


def _listen(value: str | None, host: str) -> str:
    port = str(PORT)
    if value:
        _, sep, given = value.rpartition(":")
        if not sep or not given.isdigit():
            raise ConfigError(f"--web.listen-address={value}: expected [host]:port")
        port = given
    return f"{host}:{port}"


def _storage(value: str | None, machine: Machine) -> str:
    path = volumes.rewrite([value or "data/"], machine.mounts)[0]
    if path != (value or "data/") or not os.path.isabs(path):
        return path
    if any(path == d or path.startswith(d.rstrip("/") + "/") for d in machine.mounts.values()):
        return path
    return str(machine.home / "rootfs" / path.lstrip("/"))


def rewrite_flags(args: Sequence[str], machine: Machine, derived_config: Path) -> tuple[Path, list[str]]:
    """(the original config file, the prometheus flags to run with)."""
    options, rest = split_args(list(args) or list(IMAGE_CMD), FLAGS)
    config = options["--config.file"][-1] if options["--config.file"] else "prometheus.yml"
    config = volumes.rewrite([config], machine.mounts)[0]
    original = Path(config) if os.path.isabs(config) else machine.home / config
    listen = options["--web.listen-address"][-1] if options["--web.listen-address"] else None
    storage = options["--storage.tsdb.path"][-1] if options["--storage.tsdb.path"] else None
    flags = [
        f"--config.file={derived_config}",
        f"--web.listen-address={_listen(listen, machine.pod_ip)}",
        f"--storage.tsdb.path={_storage(storage, machine)}",
        *rest,
    ]
    return original, flags


# --------------------------------------------------------------------------- the config


class Rewriter:
    def __init__(self, machine: Machine, config_dir: Path) -> None:
        self.machine = machine
        self.config_dir = config_dir
        self.sds: list[dict[str, Any]] = []

    def path(self, value: str) -> str:
        covered = any(value == m or value.startswith(m.rstrip("/") + "/") for m in self.machine.mounts)
        if value.startswith(SERVICE_ACCOUNT + "/") and not covered:
            leaf = value[len(SERVICE_ACCOUNT) + 1 :]
            if leaf == "token":
                return str(self.machine.state_file("token"))
            if leaf == "ca.crt":
                return str(self.machine.state_file("ca.crt"))
            if leaf == "namespace":
                target = self.machine.derived / "serviceaccount" / "namespace"
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(self.machine.namespace)
                return str(target)
        value = volumes.rewrite([value], self.machine.mounts)[0]
        return value if os.path.isabs(value) else str(self.config_dir / value)

    def paths(self, node: Any) -> Any:
        """Every file path in a config subtree, rewritten (kubernetes_sd_configs are handled apart)."""
        if isinstance(node, list):
            return [self.paths(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in PATH_KEYS and isinstance(value, str):
                out[key] = self.path(value)
            elif key == "file_sd_configs" and isinstance(value, list):
                out[key] = [
                    {**sd, "files": [self.path(f) for f in sd.get("files") or [] if isinstance(f, str)]}
                    if isinstance(sd, dict)
                    else sd
                    for sd in value
                ]
            elif key == "kubernetes_sd_configs":
                out[key] = value
            else:
                out[key] = self.paths(value)
        return out

    def sd(self, where: str, index: int, raw: Any) -> dict[str, Any]:
        """One kubernetes_sd_config -> the discovery child's spec entry; ConfigError for what is not served."""
        what = f"{where}: kubernetes_sd_configs[{index}]"
        if not isinstance(raw, dict):
            raise ConfigError(f"{what}: not a mapping")
        role = raw.get("role")
        if not role:
            raise ConfigError(f"{what}: role missing (one of: pod, service, endpoints, endpointslice, node, ingress)")
        if role not in ROLES:
            raise ConfigError(
                f"{what}: role {role!r} is not supported by the embedded cluster (supported: {', '.join(ROLES)})"
            )
        if raw.get("kubeconfig_file"):
            raise ConfigError(f"{what}: kubeconfig_file is not supported (leave api_server unset: this cluster)")
        server = raw.get("api_server")
        if server:
            parts = urlsplit(str(server) if "//" in str(server) else f"https://{server}")
            host = parts.hostname or ""
            apiserver = urlsplit(self.machine.apiserver())
            this = host in IN_CLUSTER_HOSTS or (host == apiserver.hostname and parts.port == apiserver.port)
            if not this:
                raise ConfigError(f"{what}: api_server {server} is not this cluster; only this cluster is served")
        namespaces = raw.get("namespaces") or {}
        if not isinstance(namespaces, dict):
            raise ConfigError(f"{what}: namespaces must be a mapping")
        names = [str(n) for n in namespaces.get("names") or []]
        if namespaces.get("own_namespace"):
            if server:
                raise ConfigError(f"{what}: cannot use 'api_server' and 'namespaces.own_namespace' simultaneously")
            names.append(self.machine.namespace)
        selectors = []
        seen: set[str] = set()
        for sel in raw.get("selectors") or []:
            if not isinstance(sel, dict):
                raise ConfigError(f"{what}: a selector must be a mapping")
            sel_role = str(sel.get("role", ""))
            if sel_role in seen:
                raise ConfigError(f"{what}: duplicated selector role: {sel_role}")
            seen.add(sel_role)
            if sel_role not in ALLOWED_SELECTORS[role]:
                allowed = ", ".join(ALLOWED_SELECTORS[role])
                raise ConfigError(f"{what}: {role} role supports only {allowed} selectors")
            try:
                parse_label_selector(str(sel.get("label") or ""))
                parse_field_selector(str(sel.get("field") or ""), ANY_FIELD)
            except SelectorError as exc:
                raise ConfigError(f"{what}: {exc}") from exc
            selectors.append(
                {"role": sel_role, "label": str(sel.get("label") or ""), "field": str(sel.get("field") or "")}
            )
        attach = raw.get("attach_metadata") or {}
        file = self.machine.derived / "sd" / f"{where.replace('/', '_')}-{index}.json"
        entry = {
            "file": str(file),
            "role": role,
            "namespaces": names,
            "selectors": selectors,
            "attach_node": bool(isinstance(attach, dict) and attach.get("node")),
        }
        self.sds.append(entry)
        return entry

    def discovered(self, where: str, section: dict[str, Any]) -> dict[str, Any]:
        """A scrape config (or alertmanager config) with its kubernetes_sd_configs replaced by file_sd_configs
        and the address mapping appended to its relabel_configs."""
        section = self.paths(section)
        raw_sds = section.pop("kubernetes_sd_configs", None)
        if not raw_sds:
            return section
        if not isinstance(raw_sds, list):
            raise ConfigError(f"{where}: kubernetes_sd_configs must be a list")
        files = [self.sd(where, i, raw)["file"] for i, raw in enumerate(raw_sds)]
        section["file_sd_configs"] = [
            *(section.get("file_sd_configs") or []),
            {"files": files, "refresh_interval": SD_REFRESH},
        ]
        section["relabel_configs"] = [*(section.get("relabel_configs") or []), *self.address_mapping()]
        return section

    def address_mapping(self) -> list[dict[str, Any]]:
        apiserver = urlsplit(self.machine.apiserver())
        return [
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
                "regex": POD_ADDRESS,
                "target_label": "__address__",
                "replacement": f"127.{self.machine.slot()}.${{1}}.${{2}}${{3}}",
                "action": "replace",
            },
            {
                "source_labels": ["__address__"],
                "regex": APISERVER_ADVERTISED,
                "target_label": "__address__",
                "replacement": f"{apiserver.hostname}:{apiserver.port}",
                "action": "replace",
            },
        ]


def load_config(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f'error loading config from "{path}": {exc.strerror or exc}') from exc
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f'error loading config from "{path}": not YAML: {exc}') from exc
    if config is None:
        return {}
    if not isinstance(config, dict):
        raise ConfigError(f'error loading config from "{path}": not a mapping but {type(config).__name__}')
    return config


def rewrite_config(
    config: dict[str, Any], machine: Machine, config_dir: Path
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(the derived config, the discovery child's SD entries)."""
    rw = Rewriter(machine, config_dir)
    out = dict(config)
    if isinstance(out.get("rule_files"), list):
        out["rule_files"] = [rw.path(str(f)) for f in out["rule_files"]]
    scrapes = out.get("scrape_configs") or []
    if not isinstance(scrapes, list):
        raise ConfigError("scrape_configs must be a list")
    new_scrapes = []
    for i, scrape in enumerate(scrapes):
        if not isinstance(scrape, dict):
            raise ConfigError(f"scrape_configs[{i}]: not a mapping")
        new_scrapes.append(rw.discovered(f"job-{i}", scrape))
    if scrapes:
        out["scrape_configs"] = new_scrapes
    alerting = out.get("alerting")
    if isinstance(alerting, dict) and isinstance(alerting.get("alertmanagers"), list):
        out["alerting"] = {
            **alerting,
            "alertmanagers": [
                rw.discovered(f"alertmanager-{i}", am) if isinstance(am, dict) else am
                for i, am in enumerate(alerting["alertmanagers"])
            ],
        }
    for key in ("global", "remote_write", "remote_read", "storage", "tracing"):
        if key in out:
            out[key] = rw.paths(out[key])
    return out, rw.sds


def prometheus_binary() -> str:
    venv_bin = Path(sys.executable).parent
    found = shutil.which("prometheus", path=f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}")
    if not found:
        raise FileNotFoundError("prometheus is not installed (Debian package prometheus)")
    return found


def prepare(args: Sequence[str], env: Mapping[str, str]) -> tuple[Machine, list[str], list[dict[str, Any]]]:
    """Write the derived config; (the machine, prometheus' flags, the SD entries). ConfigError when it cannot."""
    machine = Machine(env)
    machine.derived.mkdir(parents=True, exist_ok=True)
    derived = machine.derived / "prometheus.yml"
    original, flags = rewrite_flags(args, machine, derived)
    config, sds = rewrite_config(load_config(original), machine, original.parent)
    if sds:
        (machine.derived / "sd").mkdir(parents=True, exist_ok=True)
        for sd in sds:  # no stale targets from an earlier start of this container
            Path(sd["file"]).unlink(missing_ok=True)
    tmp = derived.with_name(".prometheus.yml.tmp")
    tmp.write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    os.replace(tmp, derived)
    return machine, flags, sds


def sd_env(env: Mapping[str, str]) -> dict[str, str]:
    """The discovery child's environment: without the pod network hook (it talks to the API server on this
    machine's loopback, which the hook would take for the pod's own address)."""
    child = {k: v for k, v in env.items() if k != "KUBESIM_NET_MAP"}
    hook = str(Path(volumes.__file__).resolve().parent / "hook")
    child["PYTHONPATH"] = os.pathsep.join(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != hook)
    return child


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)

    def body(supervisor: Supervisor) -> int:
        machine, flags, sds = prepare(args, os.environ)
        binary = prometheus_binary()
        if sds:
            spec = machine.derived / "sd-spec.json"
            api = {
                "server": machine.apiserver(),
                "token_file": str(machine.state_file("token")),
                "ca_file": str(machine.state_file("ca.crt")),
            }
            spec.write_text(json.dumps({"api": api, "sds": sds}, indent=1))
            child = spawn(
                [sys.executable, "-u", "-m", "kubesim.servers.prometheus_sd", str(spec)],
                env=sd_env(os.environ),
                cwd=machine.home,
            )
            supervisor.adopt(child)
            started = time.monotonic()
            wait_until(
                lambda: all(Path(sd["file"]).exists() for sd in sds),
                "the kubernetes service discovery",
                FIRST_FILES_TIMEOUT,
                child,
                interval=0.02,
            )
            log_line = f"kubernetes service discovery: {len(sds)} file(s) written in {time.monotonic() - started:.2f}s"
            log(NAME, log_line)
            supervisor.release(child)  # it lives on beside prometheus, and dies with it
        exec_server(NAME, supervisor, [binary, *flags])
        return 1  # not reached: exec_server returns only by raising

    return run_launcher(NAME, body)


if __name__ == "__main__":
    raise SystemExit(main())
