"""Turn on the process runtime and service networking for a cluster."""

from __future__ import annotations

from kubesim.api import API
from kubesim.cluster import Cluster
from kubesim.controllers.kubelet import Kubelet
from kubesim.runtime.network import APIProxy, ServiceNetwork
from kubesim.runtime.process import ProcessRuntime


def enable_runtime(cluster: Cluster, api: API) -> None:
    kubelet = next(c for c in cluster.controllers if isinstance(c, Kubelet))
    cluster.process_runtime = ProcessRuntime(
        cluster.store,
        cluster.logs,
        cluster.state_dir,
        cluster.placeholder,
        lambda ns, name: kubelet.enqueue((ns, name)),
    )
    network = ServiceNetwork(cluster)
    cluster.controllers.append(network)
    cluster.closers.append(network.close)
    proxy = APIProxy(cluster.store)
    api.proxy = proxy.handle
    cluster.async_closers.append(proxy.close)
