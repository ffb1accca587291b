"""Render every role template with the role's defaults, as Ansible does, and check the result.

Standard Kubernetes objects are validated offline against the 1.32 schemas (strict: an
unknown field is an error); custom resources and the KIND config are checked by hand.
The facts the incidents rely on (names, ports, probes, nodeSelector...) are asserted.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROOT = Path(__file__).resolve().parents[2]
ROLES = ROOT / "roles"
K8S_VERSION = "1.32.0"
WORKER = {"node-role.kubernetes.io/worker": ""}
FAKE_DD_KEY = "0123456789abcdef0123456789abcdef"

Manifest = dict[str, Any]


def role_vars(role: str, **extra: Any) -> dict[str, Any]:
    """The role's defaults and vars, loaded as Ansible loads them (trusted for templating)."""
    loader = DataLoader()
    variables: dict[str, Any] = {"role_path": str(ROLES / role)}
    for name in ("defaults/main.yml", "vars/main.yml"):
        path = ROLES / role / name
        if path.exists():
            variables.update(loader.load_from_file(str(path), trusted_as_template=True) or {})
    variables.update(extra)
    return variables


def resolve(variables: dict[str, Any], value: Any) -> Any:
    """Template a value (e.g. a list defined in vars/main.yml) with the role's variables."""
    return Templar(loader=DataLoader(), variables=variables).template(value)


def render_text(role: str, template: str, variables: dict[str, Any]) -> str:
    """Render a template file the way the kubernetes.core `template` option does."""
    text = (ROLES / role / "templates" / template).read_text()
    templar = Templar(loader=DataLoader(), variables=variables)
    result = templar.template(
        trust_as_template(text),
        preserve_trailing_newlines=True,
        escape_backslashes=False,
        overrides={"trim_blocks": True},
    )
    assert isinstance(result, str)
    return result


def render(role: str, template: str, variables: dict[str, Any]) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(render_text(role, template, variables)) if doc]


def sockshop_manifests(**extra: Any) -> list[Manifest]:
    variables = role_vars("sockshop", **extra)
    templates = ["namespace.yml.j2", "persistentvolumeclaims.yml.j2", "services.yml.j2", "deployments.yml.j2"]
    return [doc for template in templates for doc in render("sockshop", template, variables)]


def simple_role_manifests(role: str, templates: list[str], **extra: Any) -> list[Manifest]:
    variables = role_vars(role, **extra)
    return [doc for template in templates for doc in render(role, template, variables)]


def kps_manifests() -> list[Manifest]:
    variables = role_vars("kube_prometheus_stack", kube_prometheus_stack_grafana_admin_password="s3cret-grafana")
    out = render("kube_prometheus_stack", "namespace.yml.j2", variables)
    out += render("kube_prometheus_stack", "grafana-secret.yml.j2", variables)
    dashboards = resolve(variables, variables["__kube_prometheus_stack_dashboards"])
    for dashboard in dashboards:
        scoped = dict(variables, __kube_prometheus_stack_dashboard=dashboard)
        out += render("kube_prometheus_stack", "dashboard-configmap.yml.j2", scoped)
    out += render("kube_prometheus_stack", "prometheusrule.yml.j2", variables)
    return out


@pytest.fixture(scope="module")
def manifests() -> list[Manifest]:
    return [
        *sockshop_manifests(),
        *simple_role_manifests("stripe_mock", ["service.yml.j2", "deployment.yml.j2"]),
        *simple_role_manifests("payment_gateway", ["service.yml.j2", "deployment.yml.j2"]),
        *kps_manifests(),
        *simple_role_manifests("datadog", ["namespace.yml.j2", "secret.yml.j2"], datadog_api_key=FAKE_DD_KEY),
    ]


def by_kind(manifests: list[Manifest], kind: str) -> dict[str, Manifest]:
    return {m["metadata"]["name"]: m for m in manifests if m["kind"] == kind}


def containers(deployment: Manifest) -> list[dict[str, Any]]:
    return list(deployment["spec"]["template"]["spec"]["containers"])


# --- every template is covered -------------------------------------------------------------

RENDERED_HERE = {
    "sockshop": {"namespace.yml.j2", "persistentvolumeclaims.yml.j2", "services.yml.j2", "deployments.yml.j2"},
    "stripe_mock": {"service.yml.j2", "deployment.yml.j2"},
    "payment_gateway": {"service.yml.j2", "deployment.yml.j2"},
    "kube_prometheus_stack": {
        "namespace.yml.j2",
        "grafana-secret.yml.j2",
        "dashboard-configmap.yml.j2",
        "prometheusrule.yml.j2",
    },
    "datadog": {"namespace.yml.j2", "secret.yml.j2"},
    "kind_cluster": {"kind-config.yml.j2"},
}


def test_every_template_of_these_roles_is_rendered_here() -> None:
    for role, expected in RENDERED_HERE.items():
        found = {p.name for p in (ROLES / role / "templates").glob("*.j2")}
        assert found == expected, f"{role}: add the new template to this test"


# --- schema validation ---------------------------------------------------------------------


def test_standard_objects_validate_against_kubernetes_1_32(manifests: list[Manifest]) -> None:
    standard = [m for m in manifests if m["apiVersion"] in ("v1", "apps/v1")]
    assert len(standard) == len(manifests) - 1  # all but the PrometheusRule
    for manifest in standard:
        kubernetes_validate.validate(manifest, K8S_VERSION, strict=True)


def test_no_duplicate_objects(manifests: list[Manifest]) -> None:
    keys = Counter((m["kind"], m["metadata"].get("namespace"), m["metadata"]["name"]) for m in manifests)
    assert [k for k, n in keys.items() if n > 1] == []


# --- Sock Shop -----------------------------------------------------------------------------

SOCKSHOP_14 = {
    "front-end", "catalogue", "catalogue-db", "carts", "carts-db", "orders", "orders-db",
    "payment", "shipping", "queue-master", "rabbitmq", "session-db", "user", "user-db",
}  # fmt: skip


def test_fifteen_deployments_across_roles(manifests: list[Manifest]) -> None:
    deployments = by_kind(manifests, "Deployment")
    assert set(deployments) == SOCKSHOP_14 | {"stripe-mock"}
    assert len(deployments) == 15
    assert {d["metadata"]["namespace"] for d in deployments.values()} == {"sock-shop"}
    assert sum(d["spec"]["replicas"] for d in deployments.values()) == 15


def test_payment_is_owned_by_payment_gateway_only() -> None:
    assert "payment" not in by_kind(sockshop_manifests(), "Deployment")
    assert "payment" not in by_kind(sockshop_manifests(), "Service")


def test_every_deployment_is_labelled_and_pinned_to_workers(manifests: list[Manifest]) -> None:
    for name, deployment in by_kind(manifests, "Deployment").items():
        assert deployment["metadata"]["labels"]["name"] == name
        assert deployment["spec"]["selector"]["matchLabels"] == {"name": name}
        assert deployment["spec"]["template"]["metadata"]["labels"]["name"] == name
        assert deployment["spec"]["template"]["spec"]["nodeSelector"] == WORKER, name
        for container in containers(deployment):
            resources = container["resources"]
            assert set(resources) == {"requests", "limits"}, (name, container["name"])
            assert set(resources["limits"]) == {"cpu", "memory"}


def test_every_service_selects_its_deployment(manifests: list[Manifest]) -> None:
    services = by_kind(manifests, "Service")
    assert set(services) == SOCKSHOP_14 | {"stripe-mock"}
    for name, service in services.items():
        assert service["metadata"]["labels"]["name"] == name
        assert service["spec"]["selector"] == {"name": name}


@pytest.mark.parametrize("name", ["catalogue", "carts", "orders", "payment", "shipping", "queue-master", "user"])
def test_app_services_listen_on_80_to_8080(manifests: list[Manifest], name: str) -> None:
    service = by_kind(manifests, "Service")[name]
    assert [(p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [(80, 8080)]
    ports = [p["containerPort"] for p in containers(by_kind(manifests, "Deployment")[name])[0]["ports"]]
    assert ports == [8080]


def test_front_end_is_a_nodeport_30001_to_8079(manifests: list[Manifest]) -> None:
    service = by_kind(manifests, "Service")["front-end"]
    assert service["spec"]["type"] == "NodePort"
    assert service["spec"]["ports"] == [
        {"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8079, "nodePort": 30001}
    ]
    others = [s for n, s in by_kind(manifests, "Service").items() if n != "front-end"]
    assert {s["spec"]["type"] for s in others} == {"ClusterIP"}


def test_datastore_ports(manifests: list[Manifest]) -> None:
    services = by_kind(manifests, "Service")

    def ports(name: str) -> set[int]:
        return {p["port"] for p in services[name]["spec"]["ports"]}

    assert {5672, 15672} <= ports("rabbitmq")
    assert ports("session-db") == {6379}
    assert ports("carts-db") == ports("orders-db") == ports("user-db") == {27017}
    assert ports("catalogue-db") == {3306}


def test_rabbitmq_has_the_exporter_sidecar(manifests: list[Manifest]) -> None:
    pods = containers(by_kind(manifests, "Deployment")["rabbitmq"])
    assert [c["name"] for c in pods] == ["rabbitmq", "rabbitmq-exporter"]
    assert pods[1]["image"] == "ghcr.io/kbudde/rabbitmq_exporter:1.0.0"
    assert pods[1]["ports"][0]["containerPort"] == 9090
    assert {p["containerPort"] for p in pods[0]["ports"]} == {5672, 15672}


def test_images(manifests: list[Manifest]) -> None:
    deployments = by_kind(manifests, "Deployment")

    def image(name: str) -> str:
        return str(containers(deployments[name])[0]["image"])

    for name in ("carts", "catalogue", "catalogue-db", "front-end", "queue-master", "shipping", "user", "user-db"):
        assert image(name) == f"quay.io/powercloud/sock-shop-{name}:latest"
    assert image("orders") == "quay.io/powercloud/sock-shop-orders:v1.0-status-fix"
    assert image("carts-db") == image("orders-db") == "quay.io/mongodb/mongodb:org-4.4-standalone-ubuntu2204"
    assert image("rabbitmq") == "quay.io/powercloud/rabbitmq:latest"
    assert image("session-db").startswith("docker.io/library/redis:7")
    assert image("payment") == "sock-shop-payment-gateway:v2"
    assert image("stripe-mock") == "stripe/stripe-mock:latest"


def test_orders_runs_on_port_8080(manifests: list[Manifest]) -> None:
    assert containers(by_kind(manifests, "Deployment")["orders"])[0]["args"] == ["--port=8080"]


def test_databases_keep_data_on_10gi_claims(manifests: list[Manifest]) -> None:
    claims = by_kind(manifests, "PersistentVolumeClaim")
    assert set(claims) == {"carts-db-data", "orders-db-data"}
    for name, claim in claims.items():
        assert claim["spec"]["resources"]["requests"]["storage"] == "10Gi"
        assert "storageClassName" not in claim["spec"]  # default: the cluster's default class
        volumes = by_kind(manifests, "Deployment")[name.removesuffix("-data")]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "data", "persistentVolumeClaim": {"claimName": name}} in volumes


def test_storage_class_is_a_variable() -> None:
    claims = by_kind(sockshop_manifests(sockshop_storage_class="standard"), "PersistentVolumeClaim")
    assert {c["spec"]["storageClassName"] for c in claims.values()} == {"standard"}
    for claim in claims.values():
        kubernetes_validate.validate(claim, K8S_VERSION, strict=True)


def test_app_containers_run_non_root_on_a_read_only_root(manifests: list[Manifest]) -> None:
    deployments = by_kind(manifests, "Deployment")
    for name in ("front-end", "catalogue", "carts", "orders", "payment", "shipping", "queue-master", "user"):
        container = containers(deployments[name])[0]
        context = container["securityContext"]
        assert context["runAsNonRoot"] is True and context["readOnlyRootFilesystem"] is True, name
        assert {"name": "tmp-volume", "mountPath": "/tmp"} in container["volumeMounts"], name
        volumes = deployments[name]["spec"]["template"]["spec"]["volumes"]
        assert {"name": "tmp-volume", "emptyDir": {"medium": "Memory"}} in volumes, name


def test_replicas_and_images_are_variables() -> None:
    defaults = role_vars("sockshop")
    deployments = by_kind(
        sockshop_manifests(
            sockshop_replicas=dict(defaults["sockshop_replicas"], carts=3),
            sockshop_images=dict(defaults["sockshop_images"], carts="example.org/carts:1"),
        ),
        "Deployment",
    )
    assert deployments["carts"]["spec"]["replicas"] == 3
    assert containers(deployments["carts"])[0]["image"] == "example.org/carts:1"
    assert deployments["orders"]["spec"]["replicas"] == 1


# --- payment and stripe-mock ---------------------------------------------------------------


def test_payment_env_and_probes(manifests: list[Manifest]) -> None:
    (container,) = containers(by_kind(manifests, "Deployment")["payment"])
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env == {
        "PAYMENT_GATEWAY_URL": "http://stripe-mock",
        "PORT": "8080",
        "RABBITMQ_HOST": "rabbitmq",
        "RABBITMQ_PORT": "5672",
    }
    for probe in ("livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/health", "port": 8080}
    assert container["imagePullPolicy"] == "IfNotPresent"


@pytest.mark.parametrize("port", [8080, 9999])
def test_payment_service_is_scraped_on_the_container_port(port: int) -> None:
    """Prometheus scrapes /metrics of every Service annotated so, on the container port, as the sockshop role's."""
    rendered = simple_role_manifests(
        "payment_gateway", ["service.yml.j2", "deployment.yml.j2"], payment_gateway_port=port
    )
    service = by_kind(rendered, "Service")["payment"]
    (container,) = containers(by_kind(rendered, "Deployment")["payment"])
    assert service["metadata"]["annotations"] == {"prometheus.io/scrape": "true", "prometheus.io/port": str(port)}
    assert [p["containerPort"] for p in container["ports"]] == [port] == [service["spec"]["ports"][0]["targetPort"]]


def test_stripe_mock_ports_probes_and_limits(manifests: list[Manifest]) -> None:
    (container,) = containers(by_kind(manifests, "Deployment")["stripe-mock"])
    assert container["ports"] == [
        {"name": "http", "containerPort": 12111, "protocol": "TCP"},
        {"name": "https", "containerPort": 12112, "protocol": "TCP"},
    ]
    assert container["resources"]["limits"] == {"cpu": "200m", "memory": "200Mi"}
    assert container["readinessProbe"] == {"tcpSocket": {"port": 12111}, "initialDelaySeconds": 3, "periodSeconds": 5}
    assert container["livenessProbe"] == {"tcpSocket": {"port": 12111}, "initialDelaySeconds": 5, "periodSeconds": 10}
    service = by_kind(manifests, "Service")["stripe-mock"]
    assert service["spec"]["type"] == "ClusterIP"
    assert service["spec"]["ports"] == [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 12111}]


# --- monitoring ----------------------------------------------------------------------------


def test_dashboards_are_grafana_configmaps_with_the_incident_promql(manifests: list[Manifest]) -> None:
    configmaps = [m for m in manifests if m["kind"] == "ConfigMap"]
    titles = {}
    for configmap in configmaps:
        assert configmap["metadata"]["namespace"] == "monitoring"
        assert configmap["metadata"]["labels"]["grafana_dashboard"] == "1"
        ((key, text),) = configmap["data"].items()
        assert key.endswith(".json")
        dashboard = json.loads(text)
        assert dashboard["uid"] == key.removesuffix(".json")
        titles[dashboard["title"]] = dashboard
        for panel in dashboard["panels"]:
            assert panel["targets"][0]["legendFormat"].startswith("{{")
            assert 'namespace="sock-shop"' in panel["targets"][0]["expr"]
    assert set(titles) == {"Kubernetes Deployment Overview", "Payment Service Health"}
    exprs = {t["expr"] for d in titles.values() for p in d["panels"] for t in p["targets"]}
    assert 'kube_deployment_status_replicas_available{namespace="sock-shop",deployment=~"payment|stripe-mock"}' in exprs
    assert 'rate(kube_pod_container_status_restarts_total{namespace="sock-shop",pod=~"payment.*"}[5m])' in exprs
    assert any(
        e.startswith('kube_pod_status_phase{namespace="sock-shop",pod=~"payment.*|stripe-mock.*"}') for e in exprs
    )


def test_prometheus_rule_for_incident_6(manifests: list[Manifest]) -> None:
    (rule,) = [m for m in manifests if m["kind"] == "PrometheusRule"]
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"] == {
        "name": "sockshop-incident-6",
        "namespace": "monitoring",
        "labels": {"release": "kps", "app.kubernetes.io/part-of": "sock-shop"},
    }
    assert set(rule["spec"]) == {"groups"}
    (group,) = rule["spec"]["groups"]
    alerts = {r["alert"]: r for r in group["rules"]}
    assert set(alerts) == {"PaymentGatewayUnavailable", "PaymentPodRestarting"}
    for alert in alerts.values():
        assert set(alert) <= {"alert", "expr", "for", "labels", "annotations"}
        assert isinstance(alert["expr"], str) and alert["labels"]["severity"]
        assert all(isinstance(v, str) for v in alert["annotations"].values())
    gateway = alerts["PaymentGatewayUnavailable"]["expr"]
    assert 'deployment="stripe-mock"} == 0' in gateway and 'deployment="payment"} >= 1' in gateway
    assert "kube_pod_container_status_restarts_total" in alerts["PaymentPodRestarting"]["expr"]
    assert "{{ $labels.pod }}" in alerts["PaymentPodRestarting"]["annotations"]["description"]


def test_grafana_secret_holds_the_password(manifests: list[Manifest]) -> None:
    secret = by_kind(manifests, "Secret")["kps-grafana"]
    assert base64.b64decode(secret["data"]["admin-password"]).decode() == "s3cret-grafana"


def test_kps_values_keep_secrets_out_and_select_every_rule() -> None:
    variables = role_vars("kube_prometheus_stack", kube_prometheus_stack_prometheus_node_port=30090)
    values = resolve(variables, variables["__kube_prometheus_stack_base_values"])
    assert values["grafana"]["admin"]["existingSecret"] == "kps-grafana"
    assert "adminPassword" not in values["grafana"]
    assert values["grafana"]["sidecar"]["dashboards"]["label"] == "grafana_dashboard"
    assert values["grafana"]["service"]["type"] == "ClusterIP"
    assert values["prometheus"]["service"] == {"type": "NodePort", "nodePort": 30090}
    assert values["prometheus"]["prometheusSpec"]["ruleSelectorNilUsesHelmValues"] is False


def test_chart_versions_are_pinned() -> None:
    for role, key in (("kube_prometheus_stack", "kube_prometheus_stack"), ("datadog", "datadog")):
        version = role_vars(role)[f"{key}_chart_version"]
        assert isinstance(version, str) and version[0].isdigit() and version.count(".") == 2


# --- Datadog -------------------------------------------------------------------------------


def test_datadog_secret_and_values(manifests: list[Manifest]) -> None:
    secret = by_kind(manifests, "Secret")["datadog-secret"]
    assert secret["metadata"]["namespace"] == "datadog"
    assert base64.b64decode(secret["data"]["api-key"]).decode() == FAKE_DD_KEY
    variables = role_vars("datadog", datadog_api_key=FAKE_DD_KEY)
    values = resolve(variables, variables["__datadog_base_values"])
    assert FAKE_DD_KEY not in json.dumps(values)
    assert values["datadog"]["apiKeyExistingSecret"] == "datadog-secret"
    assert values["datadog"]["site"] == "us5.datadoghq.com"
    assert values["datadog"]["clusterName"] == "sockshop-kind"
    assert values["datadog"]["logs"] == {"enabled": True, "containerCollectAll": True}
    assert {"name": "DD_LOGS_CONFIG_FORCE_USE_HTTP", "value": "true"} in values["datadog"]["env"]


# --- KIND ----------------------------------------------------------------------------------


def test_kind_config() -> None:
    variables = role_vars("kind_cluster")
    (config,) = render("kind_cluster", "kind-config.yml.j2", variables)
    assert config["kind"] == "Cluster" and config["apiVersion"] == "kind.x-k8s.io/v1alpha4"
    assert config["name"] == "sockshop"
    assert [n["role"] for n in config["nodes"]] == ["control-plane", "worker"]
    assert {n["image"] for n in config["nodes"]} == {"kindest/node:v1.32.0"}
    mappings = {m["containerPort"]: m for m in config["nodes"][0]["extraPortMappings"]}
    assert mappings[30001]["hostPort"] == 30001 and mappings[30001]["protocol"] == "TCP"
    allowed = {"role", "image", "extraPortMappings", "extraMounts", "labels", "kubeadmConfigPatches"}
    assert all(set(node) <= allowed for node in config["nodes"])
