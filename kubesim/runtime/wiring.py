"""Turn on the process runtime and service networking for a cluster."""

from __future__ import annotations

from kubesim.api import API
from kubesim.cluster import Cluster
from kubesim.controllers.kubelet import Kubelet
from kubesim.runtime.hook.sitecustomize import NetMap
from kubesim.runtime.network import APIProxy, ServiceNetwork
from kubesim.runtime.process import ProcessRuntime


def enable_runtime(cluster: Cluster, api: API, slot: int) -> None:
    """Pods of the project's images run as processes inside loopback slot `slot` (see runtime/slot.py)."""
    net = NetMap(slot)
    kubelet = next(c for c in cluster.controllers if isinstance(c, Kubelet))
    cluster.process_runtime = ProcessRuntime(
        net,
        cluster.store,
        cluster.logs,
        cluster.state_dir,
        placeholder=cluster.placeholder,
        notify=lambda ns, name: kubelet.enqueue((ns, name)),
    )
    network = ServiceNetwork(cluster, net)
    network.write_map()  # before any pod process starts: they read their slot from it
    cluster.controllers.append(network)
    cluster.closers.append(network.close)
    proxy = APIProxy(cluster.store, net)
    api.proxy = proxy.handle
    cluster.async_closers.append(proxy.close)
