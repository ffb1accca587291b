"""One simulated cluster: storage, API semantics, controllers, runtimes, and what it holds at first boot."""

from __future__ import annotations

import asyncio
import logging
import platform
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import psutil

from kubesim import resources
from kubesim.controllers.base import Controller
from kubesim.controllers.crd import CustomResourceDefinitionController
from kubesim.controllers.daemonset import DaemonSetController
from kubesim.controllers.deployment import DeploymentController
from kubesim.controllers.disruption import DisruptionController
from kubesim.controllers.endpoints import EndpointsController
from kubesim.controllers.hpa import HorizontalPodAutoscalerController
from kubesim.controllers.kubelet import Kubelet
from kubesim.controllers.lifecycle import GarbageCollector, NamespaceController
from kubesim.controllers.nodes import NodeLifecycle, TaintEviction
from kubesim.controllers.replicaset import ReplicaSetController
from kubesim.controllers.statefulset import StatefulSetController
from kubesim.controllers.workloads import JobController, VolumeBinder
from kubesim.logs import LogStore
from kubesim.registry import Registry, now_rfc3339
from kubesim.runtime.base import PlaceholderRuntime, Runtime
from kubesim.store import Change, Store
from kubesim.usage import UsageSource

log = logging.getLogger("kubesim")
CLUSTER_NAME = "sockshop"
CONTROL_PLANE = f"{CLUSTER_NAME}-control-plane"
WORKER = f"{CLUSTER_NAME}-worker"
CONTROL_PLANE_IP = "172.18.0.2"
# The API server's advertised endpoint (kube-apiserver --advertise-address, --secure-port), as a KIND control
# plane has it; the Endpoints and EndpointSlice of Service default/kubernetes point there.
APISERVER_ADDRESS = CONTROL_PLANE_IP
APISERVER_PORT = 6443


_res = resources.get


def node_capacity() -> dict[str, str]:
    """What each node reports, as KIND's nodes do: the host's CPUs, memory and disk (allocatable equals
    capacity on KIND, which reserves nothing for the system)."""
    disk = psutil.disk_usage("/").total
    return {
        "cpu": str(psutil.cpu_count() or 1),
        "ephemeral-storage": f"{disk // 1024}Ki",
        "hugepages-1Gi": "0",
        "hugepages-2Mi": "0",
        "memory": f"{psutil.virtual_memory().total // 1024}Ki",
        "pods": "110",
    }


_NODE_CONDITIONS = (
    ("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
    ("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
)


def node_manifest(name: str, ip: str, pod_cidr: str, control_plane: bool) -> dict[str, Any]:
    """A node labelled and described as KIND's nodes are (the worker already carries the workload label
    that the kind_cluster role sets after creating a KIND cluster)."""
    labels = {
        "beta.kubernetes.io/arch": "amd64",
        "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
    }
    spec: dict[str, Any] = {
        "podCIDR": pod_cidr,
        "podCIDRs": [pod_cidr],
        "providerID": f"kind://docker/{CLUSTER_NAME}/{name}",
    }
    if control_plane:
        labels.update(
            {"node-role.kubernetes.io/control-plane": "", "node.kubernetes.io/exclude-from-external-load-balancers": ""}
        )
        spec["taints"] = [{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}]
    else:
        labels["node-role.kubernetes.io/worker"] = ""
    capacity = node_capacity()
    now = now_rfc3339()
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "labels": labels,
            "annotations": {
                "kubeadm.alpha.kubernetes.io/cri-socket": "unix:///run/containerd/containerd.sock",
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true",
            },
        },
        "spec": spec,
        "status": {
            "capacity": capacity,
            "allocatable": capacity,
            "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
            "conditions": [
                {
                    "type": t,
                    "status": st,
                    "reason": r,
                    "message": m,
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
                for t, st, r, m in _NODE_CONDITIONS
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": "",
                "containerRuntimeVersion": "containerd://1.7.24",
                "kernelVersion": platform.release(),
                "kubeProxyVersion": "v1.32.0",
                "kubeletVersion": "v1.32.0",
                "machineID": "",
                "operatingSystem": "linux",
                "osImage": "Debian GNU/Linux 12 (bookworm)",
                "systemUUID": "",
            },
        },
    }


class Cluster:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = state_dir
        state_dir.mkdir(parents=True, exist_ok=True)
        self.store = Store(state_dir / "state.db")
        self.registry = Registry(self.store)
        self.logs = LogStore(state_dir / "logs")
        self.placeholder = PlaceholderRuntime(self.logs)
        self.process_runtime: Any = None  # the ProcessRuntime, once runtime.wiring enables it
        self.usage: UsageSource | None = None  # the containers' measured usage, once the runtime is enabled
        self.controllers: list[Controller] = [
            cls(self)
            for cls in (
                NamespaceController,
                DeploymentController,
                ReplicaSetController,
                Kubelet,
                NodeLifecycle,
                TaintEviction,
                DisruptionController,
                EndpointsController,
                JobController,
                StatefulSetController,
                DaemonSetController,
                VolumeBinder,
                HorizontalPodAutoscalerController,
                GarbageCollector,
                CustomResourceDefinitionController,
            )
        ]
        kubelet = next(c for c in self.controllers if isinstance(c, Kubelet))
        self.placeholder.readiness.notify = lambda ns, name: kubelet.enqueue((ns, name))
        self.store.subscribe(self._fan_out)
        self._tasks: list[asyncio.Task[None]] = []
        self.closers: list[Callable[[], None]] = []
        self.async_closers: list[Callable[[], Awaitable[None]]] = []

    def _fan_out(self, change: Change) -> None:
        for controller in self.controllers:
            controller.on_change(change)

    def runtime_for(self, pod: dict[str, Any]) -> Runtime:
        if self.process_runtime is not None and self.process_runtime.handles(pod):
            return self.process_runtime
        return self.placeholder

    def volume_dir(self, name: str) -> Path:
        path = self.state_dir / "volumes" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def bootstrap(self) -> None:
        """Create what a fresh KIND cluster holds, once; later boots find it in the store."""
        ns = _res("", "v1", "namespaces")
        for name in ("default", "kube-system", "kube-public", "kube-node-lease", "local-path-storage"):
            if self.store.peek(ns.key, "", name) is None:
                self.registry.create(ns, "", {"metadata": {"name": name}})
        nodes = _res("", "v1", "nodes")
        for name, ip, cidr, cp in (
            (CONTROL_PLANE, CONTROL_PLANE_IP, "10.244.0.0/24", True),
            (WORKER, "172.18.0.3", "10.244.1.0/24", False),
        ):
            if self.store.peek(nodes.key, "", name) is None:
                self.registry.create(nodes, "", node_manifest(name, ip, cidr, cp))
        svc = _res("", "v1", "services")
        if self.store.peek(svc.key, "default", "kubernetes") is None:
            self.registry.create(
                svc,
                "default",
                {
                    "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
                    "spec": {"clusterIP": "10.96.0.1", "ports": [{"name": "https", "port": 443, "targetPort": 6443}]},
                },
            )
        self._apiserver_endpoints()
        sc = _res("storage.k8s.io", "v1", "storageclasses")
        if self.store.peek(sc.key, "", "standard") is None:
            self.registry.create(
                sc,
                "",
                {
                    "metadata": {
                        "name": "standard",
                        "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                    },
                    "provisioner": "rancher.io/local-path",
                    "reclaimPolicy": "Delete",
                    "volumeBindingMode": "WaitForFirstConsumer",
                },
            )

    def _apiserver_endpoints(self) -> None:
        """What kube-apiserver keeps for Service default/kubernetes (it has no selector): Endpoints and an
        EndpointSlice, both named `kubernetes`, with the advertised address (the control-plane node's
        InternalIP) and port 6443 named https. So `kubectl get endpoints kubernetes` shows it and Prometheus'
        role endpoints discovers the API server, as on a KIND cluster."""
        port = {"name": "https", "port": APISERVER_PORT, "protocol": "TCP"}
        endpoints = _res("", "v1", "endpoints")
        if self.store.peek(endpoints.key, "default", "kubernetes") is None:
            self.registry.create(
                endpoints,
                "default",
                {
                    "metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
                    "subsets": [{"addresses": [{"ip": APISERVER_ADDRESS}], "ports": [port]}],
                },
            )
        slices = _res("discovery.k8s.io", "v1", "endpointslices")
        if self.store.peek(slices.key, "default", "kubernetes") is None:
            self.registry.create(
                slices,
                "default",
                {
                    "metadata": {"name": "kubernetes", "labels": {"kubernetes.io/service-name": "kubernetes"}},
                    "addressType": "IPv4",
                    "endpoints": [{"addresses": [APISERVER_ADDRESS], "conditions": {"ready": True}}],
                    "ports": [port],
                },
            )

    def start(self) -> None:
        for controller in self.controllers:
            self._tasks.append(asyncio.create_task(controller.run(), name=type(controller).__name__))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.process_runtime is not None:
            await self.process_runtime.shutdown()
        for close in self.closers:
            close()
        for aclose in self.async_closers:
            await aclose()
        self.store.close()
