"""The Datadog `service` tag in the incidents' log and metric queries is the one the agent gives a container: its
short image name (orders -> sock-shop-orders, REFERENCE), taken from the one place that names each workload's image,
the provisioned manifests. A query naming the Deployment instead (`service:payment`) matches nothing on a real
agent. APM metrics (`trace.*`) carry the tracer's own service name and are not checked here."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest
import yaml

from tests.unit.test_manifests import simple_role_manifests, sockshop_manifests

CATALOG = Path(__file__).resolve().parents[2] / "incidents"
SERVICE_TAG = re.compile(r"(?<![\w.-])service:([\w.-]+)")


@functools.cache
def short_image_names() -> dict[str, str]:
    """Deployment name -> the short name of its first container's image, for every workload provisioned."""
    manifests = (
        sockshop_manifests()
        + simple_role_manifests("stripe_mock", ["deployment.yml.j2"])
        + simple_role_manifests("payment_gateway", ["deployment.yml.j2"])
    )
    return {
        m["metadata"]["name"]: m["spec"]["template"]["spec"]["containers"][0]["image"].rsplit("/", 1)[-1].split(":")[0]
        for m in manifests
        if m["kind"] == "Deployment"
    }


def datadog_queries() -> list[tuple[str, str]]:
    found = []
    for path in sorted(CATALOG.glob("incident-*.yml")):
        queries = yaml.safe_load(path.read_text()).get("queries") or {}
        for kind in ("datadog_logs", "datadog_metrics"):
            found += [(f"{path.stem} {entry['name']}", entry["query"]) for entry in queries.get(kind) or []]
    return found


def test_the_tags_are_the_short_image_names() -> None:
    names = short_image_names()
    assert names["orders"] == "sock-shop-orders" and names["payment"] == "sock-shop-payment-gateway"
    assert names["stripe-mock"] == "stripe-mock"


@pytest.mark.parametrize(("where", "query"), datadog_queries(), ids=lambda value: str(value)[:60])
def test_every_service_tag_of_a_query_is_a_containers_service(where: str, query: str) -> None:
    if query.split(":", 1)[-1].startswith("trace."):
        return
    tags = set(SERVICE_TAG.findall(query))
    unknown = tags - set(short_image_names().values())
    assert not unknown, f"{where}: service:{sorted(unknown)} is not a container's short image name ({query})"
