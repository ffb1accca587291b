"""Turn on the process runtime and service networking for a cluster."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from pathlib import Path

from kubesim import resources
from kubesim.api import API
from kubesim.cluster import Cluster
from kubesim.controllers.base import copy
from kubesim.controllers.kubelet import Kubelet
from kubesim.registry import now_rfc3339
from kubesim.runtime.cgroups import CgroupDriver, detect
from kubesim.runtime.hook.sitecustomize import NetMap
from kubesim.runtime.monitor import UsageMonitor
from kubesim.runtime.network import APIProxy, ServiceNetwork
from kubesim.runtime.portforward import PortForward
from kubesim.runtime.process import ProcessRuntime
from kubesim.runtime.remotecommand import RemoteCommand

ENFORCEMENT = "ResourceEnforcement"  # the node condition that says how limits are enforced


def cgroup_name(state_root: Path) -> str:
    """The cluster's cgroup name part: stable per state directory, so a later run finds what a crashed one left."""
    return hashlib.sha256(str(state_root.resolve()).encode()).hexdigest()[:12]


def mark_nodes(cluster: Cluster, driver: CgroupDriver) -> None:
    """Say on every node how limits are enforced (`kubectl describe node` shows it under Conditions)."""
    nodes = resources.get("", "v1", "nodes")
    now = now_rfc3339()
    condition = {
        "type": ENFORCEMENT,
        "status": "True" if driver.enforced_by_kernel else "False",
        "reason": "Cgroup" + driver.name.split()[-1].upper() if driver.enforced_by_kernel else "KubeletFallback",
        "message": driver.description,
        "lastHeartbeatTime": now,
        "lastTransitionTime": now,
    }
    for node in cluster.store.scan(nodes.key):
        new = copy(node)
        conds = [c for c in new["status"].get("conditions") or [] if c.get("type") != ENFORCEMENT]
        new["status"]["conditions"] = [*conds, condition]
        cluster.registry.write(nodes, node, new, sub="status")


def enable_runtime(cluster: Cluster, api: API, slot: int, cgroups: str = "auto") -> None:
    """Pods of the project's images run as processes inside loopback slot `slot` (see runtime/slot.py), each
    container in its own cgroup (`cgroups`: auto, v1, v2 or none for the kubelet's own enforcement)."""
    net = NetMap(slot)
    driver = detect(cgroup_name(cluster.state_dir), None if cgroups == "auto" else cgroups)
    driver.cleanup()  # what an earlier run of this cluster left, if it died hard
    mark_nodes(cluster, driver)
    kubelet = next(c for c in cluster.controllers if isinstance(c, Kubelet))
    cluster.process_runtime = ProcessRuntime(
        net,
        cluster.store,
        cluster.logs,
        cluster.state_dir,
        placeholder=cluster.placeholder,
        notify=lambda ns, name: kubelet.enqueue((ns, name)),
        cgroups=driver,
    )
    monitor = UsageMonitor(cluster.process_runtime)
    cluster.usage = monitor
    tasks = [asyncio.create_task(driver.run(), name="cgroups"), asyncio.create_task(monitor.run(), name="usage")]

    async def stop_tasks() -> None:
        for task in tasks:
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*tasks, return_exceptions=True)

    cluster.async_closers.insert(0, stop_tasks)
    network = ServiceNetwork(cluster, net)
    network.write_map()  # before any pod process starts: they read their slot from it
    cluster.controllers.append(network)
    cluster.closers.append(network.close)
    proxy = APIProxy(cluster.store, net)
    api.proxy = proxy.handle
    api.portforward = PortForward(cluster.store, net).handle
    api.remotecommand = RemoteCommand(cluster.store, cluster.process_runtime).handle
    cluster.async_closers.append(proxy.close)


def publish_apiserver(cluster: Cluster, address: str) -> None:
    """Tell the network map where the API server really listens: its advertised endpoint (Service
    default/kubernetes' Endpoints, 172.18.0.2:6443) maps there, so kube-proxy relays 10.96.0.1:443 to it and
    pod processes reach it at either address."""
    for controller in cluster.controllers:
        if isinstance(controller, ServiceNetwork):
            controller.net.apiserver = address
            controller.write_map()
