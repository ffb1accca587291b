"""CustomResourceDefinitions with real `kubectl` and the `kubernetes` client: what a user of a CRD sees.

CRDs are cluster-scoped and the session cluster is shared, so every test defines its own API group.
"""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.conftest import Cluster

pytestmark = pytest.mark.integration


def _rows(text: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in text.strip().splitlines()]


@pytest.fixture
def group(cluster: Cluster) -> Any:
    """An API group of this test's own; its CronTab CRD is deleted afterwards (the cluster is shared)."""
    name = f"t{uuid.uuid4().hex[:6]}.example.com"
    yield name
    cluster.json("DELETE", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.{name}")


def short(group: str) -> str:
    """The CronTab short name in this group (unique, so other tests' CRDs do not share it)."""
    return f"ct{group[1:7]}"


def crontab_crd(group: str, *, scope: str = "Namespaced") -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"crontabs.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"plural": "crontabs", "singular": "crontab", "kind": "CronTab", "shortNames": [short(group)]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {
                        "status": {},
                        "scale": {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
                    },
                    "additionalPrinterColumns": [
                        {"name": "Spec", "type": "string", "jsonPath": ".spec.cronSpec"},
                        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
                        {"name": "Image", "type": "string", "jsonPath": ".spec.image", "priority": 1},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                    ],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "required": ["cronSpec"],
                                    "properties": {
                                        "cronSpec": {"type": "string"},
                                        "image": {"type": "string"},
                                        "color": {"type": "string", "enum": ["red", "green"]},
                                        "replicas": {"type": "integer", "minimum": 1, "maximum": 10},
                                    },
                                },
                                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            },
                        }
                    },
                }
            ],
        },
    }


def _crontab(group: str, name: str, **spec: Any) -> dict[str, Any]:
    return {"apiVersion": f"{group}/v1", "kind": "CronTab", "metadata": {"name": name}, "spec": spec}


def _apply_crd(cluster: Cluster, k: Path, crd: dict[str, Any]) -> None:
    name = crd["metadata"]["name"]
    out = cluster.kubectl(k, "apply", "-f", "-", input=json.dumps(crd))
    assert out.stdout.strip() == f"customresourcedefinition.apiextensions.k8s.io/{name} created"
    out = cluster.kubectl(k, "wait", "--for", "condition=established", "--timeout=10s", f"crd/{name}")
    assert out.stdout.strip() == f"customresourcedefinition.apiextensions.k8s.io/{name} condition met"


def test_crd_established_listed_and_its_objects_served(
    cluster: Cluster, ns: str, kubectl_bin: Path, group: str
) -> None:
    k = kubectl_bin
    _apply_crd(cluster, k, crontab_crd(group))

    crds = _rows(cluster.kubectl(k, "get", "crd", f"crontabs.{group}").stdout)
    assert crds[0] == ["NAME", "CREATED AT"]
    assert crds[1][0] == f"crontabs.{group}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", crds[1][1])
    status = json.loads(cluster.kubectl(k, "get", "crd", f"crontabs.{group}", "-o", "json").stdout)["status"]
    conditions = {c["type"]: (c["status"], c["reason"]) for c in status["conditions"]}
    assert conditions == {"NamesAccepted": ("True", "NoConflicts"), "Established": ("True", "InitialNamesAccepted")}
    assert status["acceptedNames"]["listKind"] == "CronTabList"
    assert status["storedVersions"] == ["v1"]

    listed = _rows(cluster.kubectl(k, "api-resources", f"--api-group={group}").stdout)
    assert listed == [
        ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"],
        ["crontabs", short(group), f"{group}/v1", "true", "CronTab"],
    ]

    doc = _crontab(group, "nightly", cronSpec="0 3 * * *", image="backup:1", replicas=2)
    doc["spec"]["unknownField"] = "pruned"
    out = cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=json.dumps(doc))
    assert out.stdout.strip() == f"crontab.{group}/nightly created"
    stored = json.loads(cluster.kubectl(k, "-n", ns, "get", short(group), "nightly", "-o", "json").stdout)
    assert stored["spec"] == {"cronSpec": "0 3 * * *", "image": "backup:1", "replicas": 2}
    assert stored["metadata"]["generation"] == 1

    rows = _rows(cluster.kubectl(k, "-n", ns, "get", "crontabs").stdout)
    assert rows[0] == ["NAME", "SPEC", "REPLICAS", "AGE"]
    assert rows[1][:3] == ["nightly", "0 3 * * *", "2"]
    wide = _rows(cluster.kubectl(k, "-n", ns, "get", f"crontab.{group}", "-o", "wide").stdout)
    assert wide[0] == ["NAME", "SPEC", "REPLICAS", "IMAGE", "AGE"]
    assert wide[1][:4] == ["nightly", "0 3 * * *", "2", "backup:1"]

    out = cluster.kubectl(
        k, "-n", ns, "patch", short(group), "nightly", "--type=merge", "-p", '{"spec":{"replicas":3}}'
    )
    assert out.stdout.strip() == f"crontab.{group}/nightly patched"
    out = cluster.kubectl(k, "-n", ns, "patch", short(group), "nightly", "-p", '{"spec":{"replicas":4}}', check=False)
    assert out.returncode != 0
    assert (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    ) in out.stderr
    out = cluster.kubectl(k, "-n", ns, "scale", short(group), "nightly", "--replicas=5")
    assert out.stdout.strip() == f"crontab.{group}/nightly scaled"
    stored = json.loads(cluster.kubectl(k, "-n", ns, "get", short(group), "nightly", "-o", "json").stdout)
    assert stored["spec"]["replicas"] == 5
    assert stored["metadata"]["generation"] == 3

    out = cluster.kubectl(k, "-n", ns, "delete", short(group), "nightly")
    assert out.stdout.startswith(f'crontab.{group} "nightly" deleted')  # kubectl 1.33 adds `from <ns> namespace`
    out = cluster.kubectl(k, "-n", ns, "get", short(group), check=False)
    assert out.stderr.strip() == f"No resources found in {ns} namespace."


def test_validation_errors_read_as_the_apiserver_words_them(
    cluster: Cluster, ns: str, kubectl_bin: Path, group: str
) -> None:
    k = kubectl_bin
    _apply_crd(cluster, k, crontab_crd(group))
    bad = _crontab(group, "broken", image=5, color="purple", replicas=100)
    out = cluster.kubectl(k, "-n", ns, "create", "-f", "-", input=json.dumps(bad), check=False)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        'The CronTab "broken" is invalid: ',
        "* spec.cronSpec: Required value",
        '* spec.color: Unsupported value: "purple": supported values: "red", "green"',
        '* spec.image: Invalid value: "integer": spec.image in body must be of type string: "integer"',
        "* spec.replicas: Invalid value: 100: spec.replicas in body should be less than or equal to 10",
    ]
    status, body = cluster.json("POST", f"/apis/{group}/v1/namespaces/{ns}/crontabs", _crontab(group, "one"))
    assert status == 422
    assert body["message"] == f'CronTab.{group} "one" is invalid: spec.cronSpec: Required value'
    assert body["details"]["causes"] == [
        {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.cronSpec"}
    ]


def test_invalid_crds_are_refused(cluster: Cluster, kubectl_bin: Path, group: str) -> None:
    k = kubectl_bin
    crd = crontab_crd(group)
    crd["metadata"]["name"] = f"crontab.{group}"
    out = cluster.kubectl(k, "apply", "-f", "-", input=json.dumps(crd), check=False)
    assert out.stderr.strip() == (
        f'The CustomResourceDefinition "crontab.{group}" is invalid: metadata.name: Invalid value: '
        f'"crontab.{group}": must be spec.names.plural+"."+spec.group'
    )
    crd = crontab_crd(group)
    del crd["spec"]["versions"][0]["schema"]
    out = cluster.kubectl(k, "apply", "-f", "-", input=json.dumps(crd), check=False)
    assert out.stderr.strip() == (
        f'The CustomResourceDefinition "crontabs.{group}" is invalid: spec.versions[0].schema.openAPIV3Schema: '
        "Required value: because otherwise all fields are pruned"
    )
    crd = crontab_crd(group)
    crd["spec"]["versions"].append({**crd["spec"]["versions"][0], "name": "v2"})
    out = cluster.kubectl(k, "apply", "-f", "-", input=json.dumps(crd), check=False)
    assert out.returncode == 1
    assert "must have exactly one version marked as storage version" in out.stderr
    crd = crontab_crd(group)
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]["image"] = {}
    out = cluster.kubectl(k, "apply", "-f", "-", input=json.dumps(crd), check=False)
    assert out.stderr.strip() == (
        f'The CustomResourceDefinition "crontabs.{group}" is invalid: spec.versions[0].schema.openAPIV3Schema'
        ".properties[spec].properties[image].type: Required value: must not be empty for specified object fields"
    )
    assert cluster.kubectl(k, "get", "crd", f"crontabs.{group}", check=False).returncode == 1


def test_deleting_a_crd_deletes_its_objects(cluster: Cluster, ns: str, kubectl_bin: Path, group: str) -> None:
    k = kubectl_bin
    _apply_crd(cluster, k, crontab_crd(group))
    other = cluster.namespace("crd-other")
    for where in (ns, other):
        doc = _crontab(group, "job", cronSpec="* * * * *")
        cluster.kubectl(k, "-n", where, "create", "-f", "-", input=json.dumps(doc))
    out = cluster.kubectl(k, "delete", "crd", f"crontabs.{group}")
    assert out.stdout.strip() == f'customresourcedefinition.apiextensions.k8s.io "crontabs.{group}" deleted'
    assert cluster.json("GET", f"/apis/{group}/v1/crontabs")[0] == 404
    assert group not in cluster.kubectl(k, "api-resources").stdout

    _apply_crd(cluster, k, crontab_crd(group))  # defined again: nothing of the old objects comes back
    out = cluster.kubectl(k, "get", short(group), "-A", check=False)
    assert out.stderr.strip() == "No resources found"


def test_deleting_a_namespace_deletes_its_custom_resources(cluster: Cluster, kubectl_bin: Path, group: str) -> None:
    k = kubectl_bin
    _apply_crd(cluster, k, crontab_crd(group))
    where = cluster.namespace("crd-ns")
    cluster.kubectl(k, "-n", where, "create", "-f", "-", input=json.dumps(_crontab(group, "a", cronSpec="@hourly")))
    out = cluster.kubectl(k, "delete", "namespace", where, "--timeout=20s")
    assert out.stdout.startswith(f'namespace "{where}" deleted')
    assert cluster.json("GET", f"/apis/{group}/v1/crontabs")[1]["items"] == []


def test_cluster_scoped_crd_and_status(cluster: Cluster, kubectl_bin: Path, group: str) -> None:
    k = kubectl_bin
    _apply_crd(cluster, k, crontab_crd(group, scope="Cluster"))
    listed = _rows(cluster.kubectl(k, "api-resources", f"--api-group={group}").stdout)
    assert listed[1] == ["crontabs", short(group), f"{group}/v1", "false", "CronTab"]
    doc = _crontab(group, "global", cronSpec="@daily")
    doc["status"] = {"lastRun": "never"}
    cluster.kubectl(k, "create", "-f", "-", input=json.dumps(doc))
    # With the status subresource, a write through the main resource leaves status alone ...
    stored = json.loads(cluster.kubectl(k, "get", short(group), "global", "-o", "json").stdout)
    assert "status" not in stored
    # ... and /status writes it.
    out = cluster.kubectl(
        k,
        "patch",
        short(group),
        "global",
        "--subresource=status",
        "--type=merge",
        "-p",
        '{"status":{"lastRun":"today"}}',
    )
    assert out.stdout.strip() == f"crontab.{group}/global patched"
    stored = json.loads(cluster.kubectl(k, "get", short(group), "global", "-o", "json").stdout)
    assert stored["status"] == {"lastRun": "today"}
    assert stored["spec"] == {"cronSpec": "@daily"}
    cluster.kubectl(k, "delete", "crd", f"crontabs.{group}")


def test_dynamic_client_discovers_and_uses_the_new_kind(cluster: Cluster, ns: str, group: str) -> None:
    from kubernetes import dynamic
    from kubernetes.client import ApiextensionsV1Api

    api = cluster.api_client()
    definition: Any = crontab_crd(group)  # the client takes a dict as well as a V1CustomResourceDefinition
    ApiextensionsV1Api(api).create_custom_resource_definition(definition)
    cluster.wait_for(lambda: cluster.json("GET", f"/apis/{group}/v1")[0] == 200)

    client = dynamic.DynamicClient(api)
    groups = {g["name"] for g in cluster.json("GET", "/apis")[1]["groups"]}
    assert {"apiextensions.k8s.io", group} <= groups
    crontabs = client.resources.get(api_version=f"{group}/v1", kind="CronTab")
    assert (crontabs.namespaced, crontabs.short_names, crontabs.singular_name) == (True, [short(group)], "crontab")
    created = crontabs.create(body=_crontab(group, "hourly", cronSpec="0 * * * *"), namespace=ns)
    assert created.metadata.uid
    assert [i.metadata.name for i in crontabs.get(namespace=ns).items] == ["hourly"]
    patched = crontabs.patch(
        name="hourly",
        namespace=ns,
        body={"spec": {"replicas": 2}},
        content_type="application/merge-patch+json",
    )
    assert patched.spec.replicas == 2
    applied = crontabs.server_side_apply(
        body=_crontab(group, "hourly", cronSpec="30 * * * *"),
        name="hourly",
        namespace=ns,
        field_manager="tests",
        force_conflicts=True,
    )
    assert applied.spec.cronSpec == "30 * * * *"
    crontabs.delete(name="hourly", namespace=ns)
    assert crontabs.get(namespace=ns).items == []
    ApiextensionsV1Api(api).delete_custom_resource_definition(f"crontabs.{group}")


# prometheus-operator's Duration pattern
DURATION = "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
PROMETHEUS_RULE_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: prometheusrules.monitoring.coreos.com
  annotations:
    controller-gen.kubebuilder.io/version: v0.16.1
    operator.prometheus.io/version: 0.79.2
spec:
  group: monitoring.coreos.com
  names:
    categories: [prometheus-operator]
    kind: PrometheusRule
    listKind: PrometheusRuleList
    plural: prometheusrules
    shortNames: [promrule]
    singular: prometheusrule
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        required: [spec]
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            properties:
              groups:
                type: array
                items:
                  type: object
                  required: [name]
                  properties:
                    name: {type: string, minLength: 1}
                    interval:
                      type: string
                      pattern: 'DURATION'
                    rules:
                      type: array
                      items:
                        type: object
                        required: [expr]
                        properties:
                          alert: {type: string}
                          record: {type: string}
                          expr: {anyOf: [{type: integer}, {type: string}], x-kubernetes-int-or-string: true}
                          for: {type: string}
                          labels: {type: object, additionalProperties: {type: string}}
                          annotations: {type: object, additionalProperties: {type: string}}
                x-kubernetes-list-map-keys: [name]
                x-kubernetes-list-type: map
""".replace("DURATION", DURATION)

SERVICE_MONITOR_CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: servicemonitors.monitoring.coreos.com
spec:
  group: monitoring.coreos.com
  names:
    categories: [prometheus-operator]
    kind: ServiceMonitor
    listKind: ServiceMonitorList
    plural: servicemonitors
    shortNames: [smon]
    singular: servicemonitor
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        required: [spec]
        properties:
          apiVersion: {type: string}
          kind: {type: string}
          metadata: {type: object}
          spec:
            type: object
            required: [selector]
            properties:
              endpoints:
                type: array
                items:
                  type: object
                  properties:
                    port: {type: string}
                    path: {type: string}
                    interval: {type: string}
                    scheme: {type: string, enum: [http, https]}
              namespaceSelector:
                type: object
                properties:
                  any: {type: boolean}
                  matchNames: {type: array, items: {type: string}}
              selector:
                type: object
                properties:
                  matchLabels: {type: object, additionalProperties: {type: string}}
                x-kubernetes-map-type: atomic
"""

RULE_AND_MONITOR = """
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: sock-shop-alerts
  labels: {release: kube-prometheus-stack}
spec:
  groups:
  - name: sock-shop
    rules:
    - alert: OrdersErrorRate
      expr: sum(rate(request_duration_seconds_count{service="orders",status_code=~"5.."}[1m])) > 0.1
      for: 1m
      labels: {severity: critical}
      annotations: {summary: orders answers 5xx}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata:
  name: orders
  labels: {release: kube-prometheus-stack}
spec:
  selector:
    matchLabels: {name: orders}
  endpoints:
  - port: http
    path: /metrics
    interval: 15s
"""


def test_kube_prometheus_stack_rules_and_monitors(cluster: Cluster, ns: str, kubectl_bin: Path, group: str) -> None:
    k = kubectl_bin
    # Shared by every kubectl variant of this test: created once, kept (as the stack's CRDs stay installed).
    for crd in (PROMETHEUS_RULE_CRD, SERVICE_MONITOR_CRD):
        cluster.kubectl(k, "apply", "--server-side", "-f", "-", input=crd)
    cluster.kubectl(
        k,
        "wait",
        "--for",
        "condition=established",
        "--timeout=10s",
        "crd/prometheusrules.monitoring.coreos.com",
        "crd/servicemonitors.monitoring.coreos.com",
    )
    out = cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=RULE_AND_MONITOR)
    assert out.stdout.strip().splitlines() == [
        "prometheusrule.monitoring.coreos.com/sock-shop-alerts created",
        "servicemonitor.monitoring.coreos.com/orders created",
    ]
    out = cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=RULE_AND_MONITOR)
    assert out.stdout.strip().splitlines() == [
        "prometheusrule.monitoring.coreos.com/sock-shop-alerts unchanged",
        "servicemonitor.monitoring.coreos.com/orders unchanged",
    ]
    rule = json.loads(cluster.kubectl(k, "-n", ns, "get", "promrule", "sock-shop-alerts", "-o", "json").stdout)
    assert rule["spec"]["groups"][0]["rules"][0]["labels"] == {"severity": "critical"}
    rows = _rows(cluster.kubectl(k, "-n", ns, "get", "prometheus-operator").stdout)
    names = sorted(r[0] for r in rows if r[0] and not r[0].startswith("NAME"))
    assert names == [
        "prometheusrule.monitoring.coreos.com/sock-shop-alerts",
        "servicemonitor.monitoring.coreos.com/orders",
    ]

    broken = yaml.safe_load(RULE_AND_MONITOR.split("---")[1])
    broken["metadata"]["name"] = "broken"
    broken["spec"]["endpoints"][0]["scheme"] = "ftp"
    del broken["spec"]["selector"]
    out = cluster.kubectl(k, "-n", ns, "apply", "-f", "-", input=json.dumps(broken), check=False)
    assert out.stderr.strip().splitlines() == [
        'The ServiceMonitor "broken" is invalid: ',
        "* spec.selector: Required value",
        '* spec.endpoints[0].scheme: Unsupported value: "ftp": supported values: "http", "https"',
    ]


def test_a_snapshot_after_its_crd_was_deleted_asks_discovery_again(
    cluster: Cluster, kubectl_bin: Path, group: str, tmp_path: Path
) -> None:
    """The dynamic client caches discovery in a file per server address. A namespace snapshot taken after a CRD
    was deleted (or on another cluster that had the same address: a clean-clone CI run) read the cached kind and
    the server's 404 for it; it now asks discovery again and snapshots what the server holds."""
    from ansible.module_utils.sockshop_snapshot import take
    from kubernetes import dynamic

    k = kubectl_bin
    _apply_crd(cluster, k, crontab_crd(group))
    ns = f"snap-{uuid.uuid4().hex[:6]}"
    cluster.kubectl(k, "create", "namespace", ns)
    cluster.kubectl(k, "-n", ns, "create", "configmap", "kept", "--from-literal=a=1")
    cache = str(tmp_path / "discovery.json")
    before = take(dynamic.DynamicClient(cluster.api_client(), cache_file=cache), ns, "before")
    assert "ConfigMap/kept" in before["objects"], sorted(before["objects"])
    out = cluster.kubectl(k, "delete", "crd", f"crontabs.{group}", "--wait=true")
    assert out.returncode == 0, out.stderr
    after = take(dynamic.DynamicClient(cluster.api_client(), cache_file=cache), ns, "after")  # the cached discovery
    assert sorted(after["objects"]) == sorted(before["objects"])
    cluster.kubectl(k, "delete", "namespace", ns, "--wait=false")
