"""kube-state-metrics-style `/metrics` text, for the PromQL signals the incidents name."""

from __future__ import annotations

from typing import Any

from kubesim.store import Store


def _labels(**kw: str) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in kw.items()) + "}"


def render(store: Store) -> str:
    lines: list[str] = []

    def family(name: str, help_text: str, kind: str, samples: list[tuple[dict[str, str], float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.extend(f"{name}{_labels(**lbl)} {value:g}" for lbl, value in samples)

    deployments = store.scan("apps/deployments")

    def dep(field: str, src: str = "status") -> list[tuple[dict[str, str], float]]:
        return [
            (
                {"namespace": d["metadata"]["namespace"], "deployment": d["metadata"]["name"]},
                float((d.get(src) or {}).get(field, 0)),
            )
            for d in deployments
        ]

    family(
        "kube_deployment_spec_replicas", "Number of desired pods for a deployment.", "gauge", dep("replicas", "spec")
    )
    family("kube_deployment_status_replicas", "The number of replicas per deployment.", "gauge", dep("replicas"))
    family(
        "kube_deployment_status_replicas_available",
        "The number of available replicas per deployment.",
        "gauge",
        dep("availableReplicas"),
    )
    family(
        "kube_deployment_status_replicas_ready",
        "The number of ready replicas per deployment.",
        "gauge",
        dep("readyReplicas"),
    )
    family(
        "kube_deployment_status_replicas_unavailable",
        "The number of unavailable replicas per deployment.",
        "gauge",
        dep("unavailableReplicas"),
    )
    pods = store.scan("pods")
    phases = ("Pending", "Succeeded", "Failed", "Unknown", "Running")
    phase_samples: list[tuple[dict[str, str], float]] = []
    restarts: list[tuple[dict[str, str], float]] = []
    ready: list[tuple[dict[str, str], float]] = []
    for p in pods:
        meta: dict[str, Any] = p["metadata"]
        status = p.get("status") or {}
        for phase in phases:
            phase_samples.append(
                (
                    {"namespace": meta["namespace"], "pod": meta["name"], "uid": meta["uid"], "phase": phase},
                    1.0 if status.get("phase") == phase else 0.0,
                )
            )
        for cs in status.get("containerStatuses") or []:
            lbl = {"namespace": meta["namespace"], "pod": meta["name"], "uid": meta["uid"], "container": cs["name"]}
            restarts.append((lbl, float(cs.get("restartCount", 0))))
            ready.append((lbl, 1.0 if cs.get("ready") else 0.0))
    family("kube_pod_status_phase", "The pods current phase.", "gauge", phase_samples)
    family(
        "kube_pod_container_status_restarts_total",
        "The number of container restarts per container.",
        "counter",
        restarts,
    )
    family(
        "kube_pod_container_status_ready", "Describes whether the containers readiness check succeeded.", "gauge", ready
    )
    return "\n".join(lines) + "\n"
