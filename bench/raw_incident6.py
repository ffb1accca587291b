"""INCIDENT-6 as one Python script: the steps `phase=all` takes, as raw Kubernetes API calls.

The baseline of bench_incident.py's overhead ratio. It does what the playbook does, in the same order and with
the same waits - load and validate the incident, take the lock, check the target and a baseline payment,
record the ledger, scale the gateway to zero, mark the lock; probe, read the gateway, the payment pods, the
scale-down event and the payment log; restore, poll payments (every 0.1 s, as the engine's confirmation probe) and the
rollout, diff against the ledger, clear it and the lock, write the report - without Ansible. Timed from the
outside, it includes its interpreter start and imports, as a script an operator would write does.

    python bench/raw_incident6.py KUBECONFIG REPORT_DIR   # prints {"activate": s, "verify": s, "recover": s}
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import yaml
from kubernetes import client, config

ROOT = Path(__file__).resolve().parents[1]
NS = "sock-shop"
LOCK, LEDGER = "bench-raw-lock", "bench-raw-ledger"


class Raw:
    def __init__(self, kubeconfig: str) -> None:
        self.api = config.new_client_from_config(kubeconfig)
        self.core: Any = client.CoreV1Api(self.api)
        self.apps: Any = client.AppsV1Api(self.api)

    def pay(self) -> dict[str, Any]:
        request = self.api.param_serialize(
            "POST",
            f"/api/v1/namespaces/{NS}/services/payment:80/proxy/paymentAuth",
            body={"amount": 50.00},
            auth_settings=["BearerToken"],
            header_params={"Content-Type": "application/json"},
        )
        return json.loads(self.api.call_api(*request).read())

    def deployment(self, name: str) -> Any:
        return self.apps.read_namespaced_deployment(name, NS)

    def restarts(self, name: str) -> dict[str, int]:
        pods = self.core.list_namespaced_pod(NS, label_selector=f"name={name}").items
        return {p.metadata.name: sum(c.restart_count for c in p.status.container_statuses or []) for p in pods}

    def configmap(self, name: str, data: dict[str, str]) -> None:
        self.core.create_namespaced_config_map(
            NS, client.V1ConfigMap(metadata=client.V1ObjectMeta(name=name), data=data)
        )

    def scale(self, name: str, replicas: int) -> None:
        self.apps.patch_namespaced_deployment_scale(name, NS, {"spec": {"replicas": replicas}})


def until(check: Callable[[], bool], interval: float, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(interval)


def rolled_out(d: Any) -> bool:
    s = d.status
    return (s.observed_generation or 0) >= (d.metadata.generation or 0) and (
        (s.replicas or 0) == (s.updated_replicas or 0) == (s.available_replicas or 0) == d.spec.replicas
    )


def activate(raw: Raw) -> dict[str, Any]:
    incident = yaml.safe_load((ROOT / "incidents" / "incident-6.yml").read_text())
    jsonschema.validate(incident, json.loads((ROOT / "incidents" / "schema.json").read_text()))
    raw.configmap(LOCK, {"incident": "6", "holder": "bench", "activated_at": ""})
    available = {
        d.metadata.name
        for d in raw.apps.list_namespaced_deployment(NS).items
        if any(c.type == "Available" and c.status == "True" for c in d.status.conditions or [])
    }
    assert {"payment", "stripe-mock"} <= available, available
    assert raw.pay()["authorised"] is True
    ledger = {"replicas": raw.deployment("stripe-mock").spec.replicas, "restarts": raw.restarts("payment")}
    raw.configmap(LEDGER, {"ledger.json": json.dumps(ledger)})
    raw.scale("stripe-mock", 0)
    until(lambda: not raw.deployment("stripe-mock").status.available_replicas, 0.2)
    raw.core.patch_namespaced_config_map(LOCK, NS, {"data": {"activated_at": "now"}})
    return incident


def verify(raw: Raw) -> None:
    raw.core.read_namespaced_config_map(LOCK, NS)
    body = raw.pay()
    assert body["authorised"] is False and "stripe-mock" in body["message"], body
    assert not raw.deployment("stripe-mock").status.available_replicas
    ledger = json.loads(raw.core.read_namespaced_config_map(LEDGER, NS).data["ledger.json"])
    assert raw.deployment("payment").status.available_replicas == 1
    assert raw.restarts("payment") == ledger["restarts"]
    events = raw.core.list_namespaced_event(NS, field_selector="involvedObject.name=stripe-mock").items
    assert any((e.message or "").startswith("Scaled down replica set stripe-mock-") for e in events)
    pod = raw.core.list_namespaced_pod(NS, label_selector="name=payment").items[0].metadata.name
    assert "Payment gateway error" in raw.core.read_namespaced_pod_log(pod, NS, timestamps=True)


def recover(raw: Raw, incident: dict[str, Any], reports: Path) -> None:
    raw.core.read_namespaced_config_map(LOCK, NS)
    ledger = json.loads(raw.core.read_namespaced_config_map(LEDGER, NS).data["ledger.json"])
    raw.scale("stripe-mock", ledger["replicas"])
    until(lambda: raw.pay()["authorised"] is True, 0.1)  # the playbook's confirmation probe polls every 0.1 s too
    until(lambda: rolled_out(raw.deployment("stripe-mock")), 0.2)
    assert raw.deployment("stripe-mock").spec.replicas == ledger["replicas"]  # the diff against the ledger
    raw.core.delete_namespaced_config_map(LEDGER, NS)
    raw.core.delete_namespaced_config_map(LOCK, NS)
    reports.mkdir(parents=True, exist_ok=True)
    (reports / "raw-report.json").write_text(json.dumps({"incident": incident["id"], "ledger": ledger}))


def main() -> int:
    raw = Raw(sys.argv[1])
    times = {}
    start = time.monotonic()
    incident = activate(raw)
    times["activate"] = time.monotonic() - start
    start = time.monotonic()
    verify(raw)
    times["verify"] = time.monotonic() - start
    start = time.monotonic()
    recover(raw, incident, Path(sys.argv[2]))
    times["recover"] = time.monotonic() - start
    print(json.dumps(times))
    return 0


if __name__ == "__main__":
    sys.exit(main())
