# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""The kubectl command that shows each signal of an incident, from its data: what a responder types.

One source for the runbook's "Investigate by hand" (incident_load puts them in the plan, the runbook template
prints them) and the report's "Reproduce by hand". Every command runs unchanged with the kubectl `make setup`
installs, on the local cluster and on KIND (tests/e2e/test_runbook_commands.py runs them all).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

PROMETHEUS = "/api/v1/namespaces/monitoring/services/kps-kube-prometheus-stack-prometheus:9090/proxy/api/v1"
CUSTOM_COLUMNS = (
    "POD:.metadata.name,RESTARTS:.status.containerStatuses[*].restartCount,"
    "LAST:.status.containerStatuses[*].lastState.terminated.reason"
)


def glance(namespace: str) -> list[str]:
    """The namespace at a glance, before any signal."""
    return [
        f"kubectl -n {namespace} get deployments,pods",
        f"kubectl -n {namespace} get events --sort-by=.lastTimestamp",
    ]


def command(signal: Mapping[str, Any], incident: Mapping[str, Any], namespace: str) -> str:
    """The command behind one signal, or "" for a kind no command shows (Datadog's, seen in Datadog)."""
    c, kind, ns = signal.get("check") or {}, signal["kind"], namespace
    curl_pod = (
        f"kubectl -n {ns} run probe-{{}} --image=curlimages/curl:latest --rm -i --restart=Never --command -- curl -s"
    )
    if kind == "k8s_state":
        return f"kubectl -n {ns} get deployment {c['deployment']}"
    if kind == "k8s_event":
        return f"kubectl -n {ns} events --for {c['kind'].lower()}/{c['name']}"
    if kind == "pod_log":
        return f"kubectl -n {ns} logs deployment/{c['deployment']} --since=15m"
    if kind == "probe":
        body = f"'{{\"amount\":{c['amount']}}}'"
        return (
            f"{curl_pod.format(c['service'])} -X POST http://{c['service']}:80/paymentAuth "
            f'-H "Content-Type: application/json" -d {body}'
        )
    if kind == "http":
        return (
            f"kubectl -n {ns} exec deployment/front-end -- curl -s -o /dev/null -w '%{{http_code}} "
            f"%{{time_total}}s\\n' http://{c['service']}{c['path']}"
        )
    if kind == "queue":
        return f"{curl_pod.format('queue')} -u guest:guest http://rabbitmq:15672/api/queues/%2F/{c['queue']}"
    if kind in ("orders", "reconcile"):
        return f"kubectl -n {ns} exec deployment/front-end -- curl -s http://orders:80/orders"
    if kind == "usage":
        return f"kubectl -n {ns} top pods"
    if kind == "termination":
        return f"kubectl -n {ns} get pods -o custom-columns={CUSTOM_COLUMNS}"
    if kind == "load":
        return f"kubectl -n {ns} logs job/{c['job']} --tail=30"
    if kind == "alert":
        return f"kubectl get --raw '{PROMETHEUS}/alerts'"
    if kind == "promql":
        query = next(q["query"] for q in incident["queries"]["promql"] if q["name"] == c["query"])
        return f"kubectl get --raw '{PROMETHEUS}/query?query={quote(query, safe='')}'"
    return ""


def commands(incident: Mapping[str, Any], namespace: str) -> list[dict[str, Any]]:
    """Each distinct command with the signals (by name) it shows, in the incident's order: its signals, its
    recovery confirmations, then its gates."""
    gates = [f["signal"] for f in incident.get("faults") or [] if f.get("type") == "gate"]
    rows: list[dict[str, Any]] = []
    for signal in [*incident["signals"], *incident["recovery"]["confirm"], *gates]:
        cmd = command(signal, incident, namespace)
        if not cmd:
            continue
        known = next((row for row in rows if row["cmd"] == cmd), None)
        if known is None:
            rows.append({"cmd": cmd, "signals": [signal["name"]]})
        else:
            known["signals"].append(signal["name"])
    return rows
