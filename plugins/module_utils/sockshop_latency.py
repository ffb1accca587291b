# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""The objects of a `service_latency` fault: a delaying proxy put in front of a Service's pods.

The Service keeps its name, ClusterIP and ports, so its clients change nothing; only its selector moves, from
the dependency's pods to the proxy's. The proxy (roles/incident/files/latency_proxy.py, mounted from a
ConfigMap into the official Python image) holds each new connection `delay_s`, then forwards it to a second
Service, `<service>-upstream`, that selects the original pods. Recovery puts the selector back from the ledger
and deletes the three objects, so the dependency answers at once again.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.sockshop_incident import managed_labels

IMAGE = "python:3.12-slim"
MOUNT = "/proxy"
SCRIPT = "latency_proxy.py"
PROXY_LABEL = "sockshop.io/latency-proxy"


def names(service: str) -> dict[str, str]:
    return {"proxy": f"{service}-latency-proxy", "upstream": f"{service}-upstream"}


def proxy_selector(service: str) -> dict[str, str]:
    """The selector the Service gets while the fault is in place."""
    return {PROXY_LABEL: service}


def manifests(fault: dict[str, Any], *, namespace: str, incident_id: str, source: str) -> list[dict[str, Any]]:
    """ConfigMap (the proxy's script), the upstream Service and the proxy Deployment, in creation order."""
    if not source.strip():
        raise ValueError("the latency proxy's source is empty: pass roles/incident/files/latency_proxy.py")
    service, port = fault["service"], int(fault["target_port"])
    named = names(service)
    labels = managed_labels(incident_id, "latency-proxy")
    meta = {"namespace": namespace, "labels": labels}
    env = {"LISTEN_PORT": port, "UPSTREAM_HOST": named["upstream"], "UPSTREAM_PORT": port, "DELAY_S": fault["delay_s"]}
    container = {
        "name": "latency-proxy",
        "image": fault.get("image", IMAGE),
        "command": ["python3", f"{MOUNT}/{SCRIPT}"],
        "env": [{"name": key, "value": str(value)} for key, value in env.items()],
        "ports": [{"name": "proxied", "containerPort": port, "protocol": "TCP"}],
        "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
        "volumeMounts": [{"name": "script", "mountPath": MOUNT, "readOnly": True}],
    }
    pod_labels = dict(labels, **proxy_selector(service))
    return [
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": dict(meta, name=named["proxy"]),
            "data": {SCRIPT: source},
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": dict(meta, name=named["upstream"]),
            "spec": {
                "selector": dict(fault["selector"]),
                "ports": [{"name": "proxied", "port": port, "targetPort": port, "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": dict(meta, name=named["proxy"]),
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": proxy_selector(service)},
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "containers": [container],
                        "volumes": [{"name": "script", "configMap": {"name": named["proxy"]}}],
                    },
                },
            },
        },
    ]
