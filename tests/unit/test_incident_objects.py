"""Every object an incident's faults create (load Jobs, their ConfigMaps and Services) and every field they patch,
rendered for the KIND inventory and validated offline against the Kubernetes 1.32 schema (strict: an unknown
field is an error), as `kubectl apply --dry-run=server` would refuse it there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jsonpatch
import kubernetes_validate
import pytest
import yaml
from ansible.module_utils import sockshop_rabbitmq as rabbitmq
from ansible.module_utils.sockshop_pointer import patch_ops, resolve

from plugins.modules import incident_load
from tests.unit.test_manifests import simple_role_manifests, sockshop_manifests

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "incidents"
K8S_VERSION = "1.32.0"
KIND_FACTOR = yaml.safe_load((ROOT / "inventories/kind/group_vars/all/main.yml").read_text())[
    "sockshop_load_users_factor"
]
IDS = incident_load.known_ids(str(CATALOG))


def plan(incident_id: str) -> dict[str, Any]:
    return dict(
        incident_load.load_incident(
            str(CATALOG), incident_id, users_factor=KIND_FACTOR, files_dir=str(ROOT / "roles/incident/files")
        )["plan"]
    )


@pytest.mark.parametrize("incident_id", IDS)
def test_created_objects_validate_against_kubernetes_1_32(incident_id: str) -> None:
    for step in plan(incident_id)["faults"]:
        for body in step.get("objects", []):
            if body["kind"] == rabbitmq.KIND:  # the broker's, not the API server's: the Jobs that write it are
                for op in ("get", "put", "delete"):
                    job = rabbitmq.job_manifest(body["metadata"]["name"], op, body["spec"])
                    kubernetes_validate.validate(dict(job, metadata=dict(job["metadata"], namespace="sock-shop")),
                                                 K8S_VERSION, strict=True)  # fmt: skip
                continue
            kubernetes_validate.validate(body, K8S_VERSION, strict=True)
            assert body["metadata"]["labels"]["sockshop.io/incident"] == incident_id


@pytest.mark.parametrize("incident_id", IDS)
def test_patched_fields_validate_on_the_provisioned_workload(incident_id: str) -> None:
    """A patch applied to the workload as provisioned still validates (quantities, types, container names)."""
    provisioned = {
        (m["kind"], m["metadata"]["name"]): m
        for m in sockshop_manifests()
        + simple_role_manifests("stripe_mock", ["service.yml.j2", "deployment.yml.j2"])
        + simple_role_manifests("payment_gateway", ["service.yml.j2", "deployment.yml.j2"])
    }
    for step in plan(incident_id)["faults"]:
        if step["type"] != "patch":
            continue
        body = provisioned[(step["object"]["kind"], step["object"]["name"])]
        for entry in step["set"]:
            path = resolve(body, entry["path"])
            body = jsonpatch.apply_patch(body, patch_ops(body, path, entry["value"]))
        kubernetes_validate.validate(body, K8S_VERSION, strict=True)


def test_the_kind_factor_keeps_the_lab_user_counts() -> None:
    jobs = [b for i in IDS for s in plan(i)["faults"] for b in s.get("objects", []) if b["kind"] == "Job"]
    assert jobs, "no incident has a load fault"
    for job in jobs:
        args = job["spec"]["template"]["spec"]["containers"][0]["args"]
        users = int(args[args.index("-u") + 1])
        source = next(
            f for i in IDS for f in yaml.safe_load((CATALOG / f"incident-{i}.yml").read_text())["faults"]
            if f.get("job") == job["metadata"]["name"]
        )  # fmt: skip
        assert users == source["users"]
