"""Run kubernetes.core's own integration targets against a fresh embedded cluster, one line per target.

    .venv/bin/python scripts/kcore_conformance.py <kubernetes.core checkout> [target ...]
    make kcore-conformance KCORE=<kubernetes.core checkout>

The suite is not vendored: its targets live in the collection's repository (tests/integration/targets), not in
the PyPI wheel. Clone https://github.com/ansible-collections/kubernetes.core (or any copy of it) and pass its
path; when the checkout is a git repository the targets are taken at the tag of the installed version (6.2.0
today), otherwise the tree is used as it is and its galaxy.yml version is compared with the installed one.

Each target runs unchanged, the way ansible-test runs it: inside a copy of the installed collection (so bare
module names such as `k8s_exec` resolve to kubernetes.core's), by its own `runme.sh` (ansible-playbook
playbook.yaml, the roles resolved inside the suite through ANSIBLE_ROLES_PATH=../), with this project's venv
first on PATH (`virtualenv` included, which some targets use to install other kubernetes client versions from PyPI), a
scratch HOME whose ~/.kube/config is the kubeconfig of a fresh embedded cluster started for that target alone
and stopped by pid afterwards, also when the target fails or runs out of time.

Targets that need what cannot exist on this machine are listed as out of scope with the reason (OUT_OF_SCOPE);
a target of which only some task files need it runs the other task files (PARTLY); a target whose modules fail
with the installed kubernetes client on any cluster runs with the client version it was written for, from a venv
made for the run (CLIENT).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGETS = Path("tests/integration/targets")
HELM = "helm and its chart registry: the helm binary and charts come from the Internet, the registry is a container"
OUT_OF_SCOPE = {
    **{
        name: HELM
        for name in (
            "helm",
            "helm_diff",
            "helm_kubeconfig",
            "helm_plain_http",
            "helm_plugin",
            "helm_pull",
            "helm_registry_auth",
            "helm_repository",
            "helm_set_values",
            "install_helm",
            "push_to_helm_registry",
            "setup_helm_registry",
        )
    },
    "lookup_kustomize": "downloads kustomize and kubectl from github.com and dl.k8s.io",
    "k8s_manifest_url": "serves its manifests from an nginx container (a Docker daemon and Docker Hub)",
}
# target -> {task file: why it cannot run here}; the target's other task files run.
PARTLY = {"k8s_info": {"discovery": "applies KubeVirt's release manifests from github.com"}}
# target -> (the kubernetes client its modules run with, why): the installed client is newer than the collection.
CLIENT = {
    "k8s_copy": (
        "kubernetes==33.1.0",
        "kubernetes.core 6.2.0's k8s_cp passes exec commands as a string, which kubernetes 37's models refuse on any "
        "cluster",
    )
}
CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane:NoSchedule"
TASK = re.compile(r"^TASK \[(?P<name>.*)\] \*+$")
FAILURE = re.compile(r"^(?:fatal|failed): \[[^\]]+\]")


@dataclass
class Result:
    target: str
    status: str  # passed, failed, timeout, out of scope
    seconds: float = 0.0
    detail: str = ""


def installed_collection() -> tuple[Path, str]:
    """Where the installed kubernetes.core is, and its version."""
    spec = find_spec("ansible_collections")
    for base in spec.submodule_search_locations if spec and spec.submodule_search_locations else []:
        manifest = Path(base, "kubernetes", "core", "MANIFEST.json")
        if manifest.is_file():
            return manifest.parent, str(json.loads(manifest.read_text())["collection_info"]["version"])
    sys.exit("kubernetes.core is not installed in this Python: run `make setup` first")


def collection_root(installed: Path, work: Path) -> Path:
    """A copy of the installed collection under <work>/ansible_collections/kubernetes/core, as ansible-test lays
    it out: a playbook inside a collection resolves bare module names (k8s_exec) in that collection."""
    root = work / "ansible_collections" / "kubernetes" / "core"
    shutil.copytree(installed, root, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    return root


def git_dir(checkout: Path) -> Path | None:
    for candidate in (checkout / ".git", checkout):
        if (candidate / "HEAD").is_file() and (candidate / "objects").is_dir():
            return candidate
    return None


def extract_targets(checkout: Path, version: str, into: Path) -> Path:
    """The suite's targets at `version`, copied under `into`; exits with what to do when they are not there."""
    repo = git_dir(checkout)
    if repo is not None:
        archive = subprocess.run(
            ["git", "--git-dir", str(repo), "archive", "--format=tar", version, str(TARGETS)],
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            sys.exit(
                f"{checkout} has no tag {version} with {TARGETS} ({archive.stderr.decode().strip()}): "
                "fetch the tags (git fetch --tags) or pass a checkout of that version"
            )
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(into, filter="data")
        return into / TARGETS
    source = checkout / TARGETS
    if not source.is_dir():
        sys.exit(f"{checkout} is not a kubernetes.core checkout: it has no {TARGETS}")
    galaxy = checkout / "galaxy.yml"
    found = re.search(r"^version:\s*(\S+)", galaxy.read_text(), re.M) if galaxy.is_file() else None
    if found and found.group(1) != version:
        print(f"warning: the checkout is version {found.group(1)}, the installed collection {version}", file=sys.stderr)
    shutil.copytree(source, into / TARGETS)
    return into / TARGETS


def runnable(targets: Path) -> list[str]:
    """Targets ansible-test would run: a runme.sh, and not `disabled` (setup_* roles are dependencies)."""
    names = []
    for target in sorted(targets.iterdir()):
        aliases = (target / "aliases").read_text().split() if (target / "aliases").is_file() else []
        if (target / "runme.sh").is_file() and "disabled" not in aliases:
            names.append(target.name)
    return names


def first_failure(log: str) -> str:
    """`TASK [role : name]: message` of the first failure that was not ignored."""
    task = "?"
    lines = log.splitlines()
    for index, line in enumerate(lines):
        named = TASK.match(line)
        if named:
            task = named["name"]
        elif FAILURE.match(line):
            following = "\n".join(lines[index + 1 : index + 40])
            if "...ignoring" in following.split("TASK [")[0]:
                continue
            message = re.search(r'"msg": "((?:[^"\\]|\\.)*)"', line + "\n" + following)
            text = message.group(1) if message else line.split("=>", 1)[-1].strip()
            return f"TASK [{task}]: {text[:200]}"
    tail = [line for line in lines if line.strip()][-1:] or ["no output"]
    return f"no failed task found; last line: {tail[0][:200]}"


def partial_playbook(target: Path, skipped: dict[str, str]) -> Path:
    """A playbook that runs the target's task files except the skipped ones, through the role itself."""
    main = (target / "tasks" / "main.yml").read_text()
    files = re.findall(r"^\s*-\s*([\w-]+)\s*$", main.split("with_items:", 1)[-1], re.M)
    if not files or any(name not in files for name in skipped):
        sys.exit(f"{target.name}: its tasks/main.yml changed; update PARTLY in {Path(__file__).name}")
    tasks = [
        {
            "name": f"Run {name}.yml of {target.name}",
            "ansible.builtin.include_role": {"name": target.name, "tasks_from": name},
        }
        for name in files
        if name not in skipped
    ]
    play = [{"connection": "local", "gather_facts": False, "hosts": "localhost", "tasks": tasks}]
    path = target / "playbook-in-scope.json"
    path.write_text(json.dumps(play))
    return path


class Cluster:
    """A fresh embedded cluster in its own state directory, stopped by pid when the block ends."""

    def __init__(self, state: Path, env: dict[str, str]) -> None:
        self.state, self.env = state, env

    def kubesim(self, *args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "kubesim", "--state-dir", str(self.state), *args]
        return subprocess.run(command, cwd=ROOT, env=self.env, capture_output=True, text=True, check=False)

    def __enter__(self) -> Path:
        started = self.kubesim("up")
        if started.returncode != 0:
            self.__exit__()
            raise RuntimeError(f"the embedded cluster did not start: {started.stderr.strip()[-400:]}")
        kubeconfig = self.state / "kubeconfig"
        # The collection's CI cluster is `kind create cluster`: one node, whose control-plane taint KIND removes.
        # Targets (k8s_taint, k8s_drain) take the first node listed and expect pods to run there, so the
        # control-plane node is untainted as on that cluster.
        kubectl = Path(sys.executable).parent / "kubectl"
        untaint = subprocess.run(
            [str(kubectl), "--kubeconfig", str(kubeconfig), "taint", "nodes",
             "-l", "node-role.kubernetes.io/control-plane", f"{CONTROL_PLANE_TAINT}-"],
            env=self.env,
            capture_output=True,
            text=True,
            check=False,
        )  # fmt: skip
        if untaint.returncode != 0:
            self.__exit__()
            raise RuntimeError(f"could not untaint the control-plane node: {untaint.stderr.strip()[-400:]}")
        return kubeconfig

    def __exit__(self, *_: object) -> None:
        self.kubesim("down", "--purge")


def client_interpreter(work: Path, requirement: str) -> str:
    """The python of a venv (made once per run) holding `requirement` and what kubernetes.core's modules import."""
    venv = work / "clients" / re.sub(r"[^\w.]+", "-", requirement)
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", requirement, "jsonpatch", "PyYAML"],
            check=True,
            capture_output=True,
        )
    return str(python)


def run_target(target: Path, work: Path, timeout_s: float) -> Result:
    home = work / "home" / target.name
    (home / ".kube").mkdir(parents=True)
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "HOME": str(home),
        "PATH": os.pathsep.join([venv_bin, os.environ.get("PATH", "/usr/bin:/bin")]),
        "LANG": "C.UTF-8",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_PYTHON_INTERPRETER": sys.executable,
        "ANSIBLE_COLLECTIONS_PATH": str(work),  # the copy the targets sit in, first
    }
    pinned = CLIENT.get(target.name)
    extra = []  # runme.sh passes its arguments on to ansible-playbook
    if pinned:  # an extra var: implicit localhost's interpreter is ansible-playbook's own otherwise
        extra = ["-e", f"ansible_python_interpreter={client_interpreter(work, pinned[0])}"]
    log_path = work / "logs" / f"{target.name}.log"
    started = time.monotonic()
    skipped = PARTLY.get(target.name)
    command = ["bash", "runme.sh", *extra]
    if skipped:
        command = ["ansible-playbook", str(partial_playbook(target, skipped)), *extra]
        env["ANSIBLE_ROLES_PATH"] = str(target.parent)
    with Cluster(work / "clusters" / target.name, dict(os.environ, HOME=str(home))) as kubeconfig:
        shutil.copy(kubeconfig, home / ".kube" / "config")
        with log_path.open("w") as log:
            process = subprocess.Popen(
                command, cwd=target, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
            try:
                code = process.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                code = None
            finally:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)  # its own group: whatever the target left behind
                process.wait()
    seconds = time.monotonic() - started
    output = log_path.read_text(errors="replace")
    if code is None:
        detail = f"still running after {timeout_s:.0f} s; " + first_failure(output)
        return Result(target.name, "timeout", seconds, detail)
    if code == 0:
        notes = [
            f"skipped: {', '.join(skipped)}.yml" if skipped else "",
            f"with {pinned[0]}: {pinned[1]}" if pinned else "",
        ]
        return Result(target.name, "passed", seconds, "; ".join(n for n in notes if n))
    return Result(target.name, "failed", seconds, first_failure(output))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("checkout", type=Path, help="a kubernetes.core checkout (git clone, or its tree)")
    parser.add_argument("targets", nargs="*", help="run these targets only (default: every in-scope target)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds a target may run (default 900)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (logs, clusters' state)")
    args = parser.parse_args(argv)
    installed, version = installed_collection()
    work = Path(tempfile.mkdtemp(prefix="kcore-conformance-"))
    (work / "logs").mkdir()
    began = time.monotonic()
    results: list[Result] = []
    try:
        targets = extract_targets(args.checkout.resolve(), version, collection_root(installed, work))
        names = runnable(targets)
        unknown = sorted(set(args.targets) - set(names))
        if unknown:
            sys.exit(f"no runnable target {', '.join(unknown)}; the suite has {', '.join(names)}")
        print(f"kubernetes.core {version}: {len(names)} targets, logs in {work / 'logs'}", flush=True)
        for name in args.targets or names:
            if name in OUT_OF_SCOPE:
                result = Result(name, "out of scope", detail=OUT_OF_SCOPE[name])
            else:
                result = run_target(targets / name, work, args.timeout)
            results.append(result)
            print(f"{result.target:<24} {result.status:<12} {result.seconds:6.1f} s  {result.detail}", flush=True)
    finally:
        if not args.keep:
            for cluster in (work / "clusters").glob("*") if (work / "clusters").is_dir() else []:
                shutil.rmtree(cluster, ignore_errors=True)
    in_scope = [r for r in results if r.status != "out of scope"]
    passed = sum(r.status == "passed" for r in in_scope)
    print(
        f"{passed} of {len(in_scope)} in-scope targets passed, {len(results) - len(in_scope)} out of scope, "
        f"in {time.monotonic() - began:.0f} s"
    )
    if not args.keep and passed == len(in_scope):
        shutil.rmtree(work, ignore_errors=True)
    return 0 if passed == len(in_scope) else 1


if __name__ == "__main__":
    sys.exit(main())
