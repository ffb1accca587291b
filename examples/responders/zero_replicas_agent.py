#!/usr/bin/env python3
"""An example responder for examples/responders/batch.py: a fixed rule, no model, no network but the cluster.

It looks for a Deployment of its namespace scaled to zero, scales it back to one replica, waits for the rollout
and answers that this Deployment was the root cause. It only runs kubectl with the kubeconfig it is given
(KUBECONFIG) and writes its answer where ANSWER says. Enough for INCIDENT-6 (the gateway at zero) and INCIDENT-3
(payment at zero); a real agent would read logs, events and metrics too.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

# Which of the shop's Deployments stand in for a third party.
THIRD_PARTIES = {"stripe-mock"}


def kubectl(*args: str) -> str:
    return subprocess.run(["kubectl", *args], capture_output=True, text=True, check=True, timeout=120).stdout


def main() -> None:
    namespace = kubectl("config", "view", "--minify", "-o", "jsonpath={..namespace}").strip() or "default"
    deployments: list[dict[str, Any]] = json.loads(kubectl("get", "deployments", "-o", "json"))["items"]
    down = [d["metadata"]["name"] for d in deployments if (d["spec"].get("replicas") or 0) == 0]
    if not down:
        answer: dict[str, Any] = {
            "detected": False,
            "evidence": ["no Deployment is scaled to zero"],
            "remediation": "none",
        }
    else:
        name = down[0]
        kubectl("scale", f"deployment/{name}", "--replicas=1")
        kubectl("rollout", "status", f"deployment/{name}", "--timeout=120s")
        third_party = name in THIRD_PARTIES
        answer = {
            "detected": True,
            "root_cause": {"kind": "Deployment", "namespace": namespace, "name": name},
            "fault_class": "external_dependency_unavailable" if third_party else "internal_service_unavailable",
            "evidence": [f"deployment/{name} had 0 replicas; scaled to 1 and it rolled out"],
            "remediation": f"kubectl scale deployment/{name} --replicas=1",
        }
    answer["responder"] = "zero-replicas example agent"
    with open(os.environ["ANSWER"], "w", encoding="utf-8") as handle:
        json.dump(answer, handle, indent=1)
    print(f"answered: {answer['root_cause']['kind']}/{answer['root_cause']['name']}", file=sys.stderr)


if __name__ == "__main__":
    main()
