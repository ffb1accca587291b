"""Jobs and PersistentVolumeClaims, kept as simple as their uses here allow (StatefulSets: `statefulset.py`,
DaemonSets: `daemonset.py`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kubesim import resources
from kubesim.controllers.base import Controller, Key, controlled_by, controller_of, copy
from kubesim.controllers.failures import CreateFailures
from kubesim.controllers.replicaset import is_active, pod_from_template, pod_ready
from kubesim.registry import now_rfc3339
from kubesim.store import Change

if TYPE_CHECKING:
    from kubesim.cluster import Cluster

PODS = resources.get("", "v1", "pods")
NODES = resources.get("", "v1", "nodes")
JOBS = resources.get("batch", "v1", "jobs")
STATEFULSETS = resources.get("apps", "v1", "statefulsets")
DAEMONSETS = resources.get("apps", "v1", "daemonsets")
PVCS = resources.get("", "v1", "persistentvolumeclaims")
PVS = resources.get("", "v1", "persistentvolumes")


class _OwnedPods(Controller):
    owner_kind = ""

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(cluster)
        self.failures = CreateFailures()  # refused pod creates: FailedCreate events and back-off

    def keys_for(self, change: Change) -> Iterable[Key]:
        yield from super().keys_for(change)
        if change.key == PODS.key:
            ref = controller_of(change.obj)
            if ref and ref.get("kind") == self.owner_kind:
                yield change.obj["metadata"]["namespace"], ref["name"]

    def pods(self, owner: dict[str, Any]) -> list[dict[str, Any]]:
        return [p for p in self.store.scan(PODS.key, owner["metadata"]["namespace"]) if controlled_by(p, owner)]

    def set_status(self, res: resources.Resource, obj: dict[str, Any], status: dict[str, Any]) -> None:
        if status != obj.get("status"):
            new = copy(obj)
            new["status"] = status
            self.registry.write(res, obj, new, sub="status")


class JobController(_OwnedPods):
    primary = JOBS.key
    owner_kind = "Job"

    def reconcile(self, ns: str, name: str) -> float | None:
        job = self.store.peek(JOBS.key, ns, name)
        if job is None or job["metadata"].get("deletionTimestamp"):
            return None
        status = copy(job.get("status") or {})
        if any(c.get("type") in ("Complete", "Failed") for c in status.get("conditions") or []):
            return None
        pods = self.pods(job)
        succeeded = sum(1 for p in pods if p.get("status", {}).get("phase") == "Succeeded")
        failed = sum(1 for p in pods if p.get("status", {}).get("phase") == "Failed")
        active = [p for p in pods if is_active(p)]
        completions = int(job["spec"].get("completions", 1))
        parallelism = int(job["spec"].get("parallelism", 1))
        status.setdefault("startTime", now_rfc3339())
        if not job["spec"].get("suspend"):
            want = min(parallelism, completions - succeeded) - len(active)
            if failed > int(job["spec"].get("backoffLimit", 6)):
                want = 0
            for _ in range(max(0, want) if self.failures.due((ns, name)) else 0):
                created = self.failures.create(
                    self, job, pod_from_template(job["spec"]["template"], job), component="job-controller"
                )
                if created is None:
                    break
                self.registry.record_event(
                    job, "SuccessfulCreate", f"Created pod: {created['metadata']['name']}", component="job-controller"
                )
        status.update(
            {
                "active": len(active),
                "succeeded": succeeded,
                "failed": failed,
                "ready": sum(1 for p in active if pod_ready(p)),
                "terminating": 0,
            }
        )
        for k in ("active", "succeeded", "failed"):
            if not status[k]:
                status.pop(k)
        now = now_rfc3339()
        if succeeded >= completions:
            status["completionTime"] = now
            status["conditions"] = [
                {
                    "type": "SuccessCriteriaMet",
                    "status": "True",
                    "lastProbeTime": now,
                    "lastTransitionTime": now,
                    "reason": "CompletionsReached",
                    "message": "Reached expected number of succeeded pods",
                },
                {
                    "type": "Complete",
                    "status": "True",
                    "lastProbeTime": now,
                    "lastTransitionTime": now,
                    "reason": "CompletionsReached",
                    "message": "Reached expected number of succeeded pods",
                },
            ]
            self.registry.record_event(job, "Completed", "Job completed", component="job-controller")
        elif failed > int(job["spec"].get("backoffLimit", 6)):
            status["conditions"] = [
                {
                    "type": "Failed",
                    "status": "True",
                    "lastProbeTime": now,
                    "lastTransitionTime": now,
                    "reason": "BackoffLimitExceeded",
                    "message": "Job has reached the specified backoff limit",
                }
            ]
            self.registry.record_event(
                job,
                "BackoffLimitExceeded",
                "Job has reached the specified backoff limit",
                type_="Warning",
                component="job-controller",
            )
        self.set_status(JOBS, job, status)
        return self.failures.backoff((ns, name))


class VolumeBinder(Controller):
    """Binds every claim to a volume of its own (a directory under the cluster's state dir)."""

    primary = PVCS.key

    def reconcile(self, ns: str, name: str) -> float | None:
        pvc = self.store.peek(PVCS.key, ns, name)
        if pvc is None or (pvc.get("status") or {}).get("phase") == "Bound" or pvc["metadata"].get("deletionTimestamp"):
            return None
        pv_name = f"pvc-{pvc['metadata']['uid']}"
        size = ((pvc["spec"].get("resources") or {}).get("requests") or {}).get("storage", "1Gi")
        path = self.cluster.volume_dir(pv_name)
        if self.store.peek(PVS.key, "", pv_name) is None:
            self.registry.create(
                PVS,
                "",
                {
                    "metadata": {
                        "name": pv_name,
                        "annotations": {"pv.kubernetes.io/provisioned-by": "rancher.io/local-path"},
                    },
                    "spec": {
                        "capacity": {"storage": size},
                        "accessModes": pvc["spec"].get("accessModes") or ["ReadWriteOnce"],
                        "persistentVolumeReclaimPolicy": "Delete",
                        "storageClassName": pvc["spec"].get("storageClassName") or "standard",
                        "hostPath": {"path": str(path), "type": "DirectoryOrCreate"},
                        "volumeMode": "Filesystem",
                        "claimRef": {
                            "kind": "PersistentVolumeClaim",
                            "namespace": ns,
                            "name": name,
                            "uid": pvc["metadata"]["uid"],
                            "apiVersion": "v1",
                        },
                    },
                },
            )
            pv = self.store.peek(PVS.key, "", pv_name)
            if pv is not None:
                new_pv = copy(pv)
                new_pv["status"] = {"phase": "Bound"}
                self.store.put(PVS.key, new_pv)
        new = copy(pvc)
        new["spec"]["volumeName"] = pv_name
        new["spec"].setdefault("storageClassName", "standard")
        new["metadata"].setdefault("annotations", {}).update(
            {"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes"}
        )
        new["status"] = {
            "phase": "Bound",
            "accessModes": pvc["spec"].get("accessModes") or ["ReadWriteOnce"],
            "capacity": {"storage": size},
        }
        self.store.put(PVCS.key, new)
        self.registry.record_event(
            new,
            "ProvisioningSucceeded",
            f"Successfully provisioned volume {pv_name}",
            component="local-path-provisioner",
        )
        return None
