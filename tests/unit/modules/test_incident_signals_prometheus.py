"""incident_signals' Prometheus signals (promql, alert): how each answer is judged, the status rules (passed, failed,
error, not_checked with its two reasons), prometheus_service through the service proxy, and the schema of the alert
kind. The same against a real Prometheus: tests/unit/modules/test_incident_signals_prometheus_live.py."""

from __future__ import annotations

import copy
import json
from email.message import Message
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.error import HTTPError

import jsonschema
import pytest
import yaml
from ansible.module_utils import sockshop_backend_errors as backend
from ansible.module_utils import sockshop_prometheus as prom
from ansible.module_utils.sockshop_module import ModuleError
from ansible.module_utils.sockshop_service_proxy import ClusterUnreachable, ProxyResponse

from plugins.modules import incident_load
from plugins.modules import incident_report as rep
from plugins.modules import incident_signals as sig
from tests.unit.modules.incident_fakes import FakeConfigMaps, FakeLive

CATALOG = Path(__file__).resolve().parents[3] / "incidents"
PROM = "monitoring/kps-kube-prometheus-stack-prometheus:9090"
QUERY = 'kube_deployment_status_replicas_available{namespace="sock-shop",deployment=~"payment|stripe-mock"}'
T0 = 1796619662.0  # 2026-12-07T05:01:02Z
AT = "2026-12-07T05:01:02Z"


def vector(*series: tuple[dict[str, str], str], at: float = T0) -> dict[str, Any]:
    return {
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": m, "value": [at, v]} for m, v in series]},
    }


def status(code: int, reason: str, message: str) -> bytes:
    """A Kubernetes Status, as the API server's service proxy answers for itself."""
    return json.dumps(
        {"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code}
    ).encode()


def prom_error(kind: str, text: str) -> bytes:
    return json.dumps({"status": "error", "errorType": kind, "error": text}).encode()


GATEWAY = {
    "__name__": "kube_deployment_status_replicas_available",
    "namespace": "sock-shop",
    "deployment": "stripe-mock",
}
PAYMENT = dict(GATEWAY, deployment="payment")
PARSE_ERROR = '1:45: parse error: unexpected "}" in label matching, expected string'
NO_ENDPOINTS = status(
    503, "ServiceUnavailable", 'no endpoints available for service "kps-kube-prometheus-stack-prometheus"'
)
NOT_FOUND = status(404, "NotFound", 'services "kps-kube-prometheus-stack-prometheus" not found')


# ---------------------------------------------------------------- the answer's status


@pytest.mark.parametrize(
    ("code", "body", "expected"),
    [
        (200, json.dumps(vector((GATEWAY, "0"))).encode(), "document"),
        (400, prom_error("bad_data", PARSE_ERROR), ("failed-final", f"bad_data: {PARSE_ERROR}")),
        (422, prom_error("execution", "many-to-many matching not allowed"), ("failed-final", "many-to-many")),
        (503, NO_ENDPOINTS, ("error", 'no endpoints available for service "kps-kube-prometheus-stack-prometheus"')),
        (502, b"Bad Gateway", ("error", "answered HTTP 502: Bad Gateway")),
        (503, prom_error("unavailable", "TSDB not ready"), ("error", "unavailable: TSDB not ready")),
        (200, b"<html>a login page</html>", ("error", "answered HTTP 200: <html>")),
        (404, NOT_FOUND, ("not_checked", f"Prometheus is not deployed on this target ({PROM})")),
    ],
)  # fmt: skip
def test_an_answer_is_judged_by_its_status(code: int, body: bytes, expected: Any) -> None:
    answer = prom.judge_prometheus_answer(code, body, PROM, QUERY)
    if expected == "document":
        assert answer == json.loads(body)
        return
    assert isinstance(answer, prom.Look)
    shape = "not_checked" if answer.ok is None else "error" if answer.error else "failed-final" if answer.final else "?"
    assert (shape, expected[1] in answer.evidence) == (expected[0], True), answer
    if shape == "failed-final":  # the query it refused is named
        assert QUERY in answer.evidence and not answer.error
    if shape == "not_checked":
        assert answer.reason == backend.NOT_DEPLOYED


# ---------------------------------------------------------------- promql


@pytest.mark.parametrize(
    ("expect", "answer", "ok", "evidence"),
    [
        ({"op": "eq", "value": 0, "labels": {"deployment": "stripe-mock"}}, vector((GATEWAY, "0"), (PAYMENT, "1")),
         True, 'kube_deployment_status_replicas_available{deployment="stripe-mock",namespace="sock-shop"}=0 at '
         f"{AT} (want eq 0)"),
        ({"op": "eq", "value": 0}, vector((GATEWAY, "0"), (PAYMENT, "1")), False, "=1 at "),
        ({"op": "eq", "value": 0}, vector(), False, f"no series (got 0) (want eq 0) for {QUERY}"),
        ({"op": "eq", "value": 0, "labels": {"deployment": "x"}}, vector((PAYMENT, "1")), False,
         'no series with {"deployment": "x"} (got 1)'),
        ({"op": "ge", "value": 1}, {"status": "success", "data": {"resultType": "scalar", "result": [T0 + 0.25, "2"]}},
         True, "{}=2 at 2026-12-07T05:01:02.250Z (want ge 1)"),
    ],
)  # fmt: skip
def test_promql_is_judged_with_labels_value_and_instant(expect: dict, answer: dict, ok: bool, evidence: str) -> None:
    look = prom.judge_promql(expect, answer, QUERY)
    assert look.ok is ok and evidence in look.evidence, look
    assert look.query == QUERY and not look.error and not look.final


def test_promql_samples_are_structured_and_capped() -> None:
    many = vector(*(({"pod": f"p{n}"}, str(n)) for n in range(25)))
    look = prom.judge_promql({"op": "ge", "value": 0}, many, "up")
    assert look.ok and look.samples is not None and len(look.samples) == prom.SAMPLES_KEPT
    assert look.samples[3] == {"labels": {"pod": "p3"}, "value": 3.0, "at": AT}
    assert "and 20 more" in look.evidence


def test_a_range_vector_fails_at_once() -> None:
    matrix = {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[T0, "1"]]}]}}
    look = prom.judge_promql({"op": "eq", "value": 1}, matrix, "up[5m]")
    assert look.ok is False and look.final and "range vector" in look.evidence


# ---------------------------------------------------------------- alerts


def alert(name: str, state: str = "firing", **labels: str) -> dict[str, Any]:
    return {
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": "..."},
        "state": state,
        "activeAt": "2026-12-07T05:00:31.512Z",
        "value": "0e+00",
    }


def alerts(*items: dict[str, Any]) -> dict[str, Any]:
    return {"status": "success", "data": {"alerts": list(items)}}


WATCHDOG = alert("Watchdog", severity="none")
GATEWAY_DOWN = alert("PaymentGatewayUnavailable", namespace="sock-shop", deployment="stripe-mock", incident="6")
RESTARTING = alert("PaymentPodRestarting", namespace="sock-shop", pod="payment-1", incident="6")
STATE = {"alert": "PaymentGatewayUnavailable", "labels": {"deployment": "stripe-mock"}}
NOISE = {"only": ["PaymentGatewayUnavailable"], "scope": {"namespace": "sock-shop"}}


@pytest.mark.parametrize(
    ("check", "answer", "ok", "evidence"),
    [
        (STATE, alerts(WATCHDOG, GATEWAY_DOWN), True,
         'PaymentGatewayUnavailable{deployment="stripe-mock",incident="6",namespace="sock-shop"} firing (active since '
         "2026-12-07T05:00:31.512Z) value 0e+00"),
        (STATE, alerts(dict(GATEWAY_DOWN, state="pending")), False, "PaymentGatewayUnavailable is pending, not firing"),
        (dict(STATE, state="pending"), alerts(dict(GATEWAY_DOWN, state="pending")), True, "pending (active since"),
        (STATE, alerts(WATCHDOG), False, "no active alert PaymentGatewayUnavailable (1 active: Watchdog)"),
        (dict(STATE, labels={"deployment": "payment"}), alerts(GATEWAY_DOWN), False,
         "PaymentGatewayUnavailable is active only with other labels"),
        # the noise check: Watchdog always fires, but has no namespace label, so it is outside the scope
        (NOISE, alerts(WATCHDOG, GATEWAY_DOWN), True,
         "no alert outside PaymentGatewayUnavailable firing in scope {namespace=\"sock-shop\"} (firing there: "
         "PaymentGatewayUnavailable; 1 firing outside the scope)"),
        (NOISE, alerts(WATCHDOG, GATEWAY_DOWN, RESTARTING), False,
         'unexpected alert firing in scope {namespace="sock-shop"}: PaymentPodRestarting{incident="6",'
         'namespace="sock-shop",pod="payment-1"} firing'),
        (NOISE, alerts(dict(RESTARTING, state="pending")), True, "firing there: none"),  # pending does not count
        ({"only": [], "scope": {"incident": "*"}}, alerts(WATCHDOG, RESTARTING), False, "PaymentPodRestarting"),
        ({"only": [], "scope": {"incident": "*"}}, alerts(WATCHDOG), True, "1 firing outside the scope"),
    ],
)  # fmt: skip
def test_alerts_are_judged_by_name_state_labels_and_scope(check: dict, answer: dict, ok: bool, evidence: str) -> None:
    look = prom.judge_alert(check, answer)
    assert look.ok is ok and evidence in look.evidence, look
    if not ok and "only" in check:  # the noise names what fired, with its labels, in the samples too
        assert look.samples and look.samples[0]["labels"]["alertname"] == "PaymentPodRestarting"


def test_an_alert_sample_has_labels_value_and_active_at() -> None:
    look = prom.judge_alert(STATE, alerts(GATEWAY_DOWN))
    assert look.samples == [
        {"labels": GATEWAY_DOWN["labels"], "value": 0.0, "at": "2026-12-07T05:00:31.512Z", "state": "firing"}
    ]


# ---------------------------------------------------------------- the Observer: through the service proxy, or a URL


class Pods(FakeLive):
    """The monitoring namespace: the Prometheus Service and its pods."""

    def __init__(self, waiting: dict[str, str] | None) -> None:
        super().__init__("monitoring")
        self.others[("v1", "Service", "kps-kube-prometheus-stack-prometheus")] = {
            "metadata": {"name": "kps-kube-prometheus-stack-prometheus"},
            "spec": {"selector": {"app.kubernetes.io/name": "prometheus"}},
        }
        state = {"waiting": waiting} if waiting else {"running": {}}
        self.labelled = [
            {
                "metadata": {"name": "prometheus-kps-0"},
                "status": {"containerStatuses": [{"name": "prometheus", "ready": False, "state": state}]},
            }
        ]

    def pods_labelled(self, labels: dict[str, str]) -> list[dict[str, Any]]:
        assert labels == {"app.kubernetes.io/name": "prometheus"}
        return copy.deepcopy(self.labelled)


PULL = {
    "reason": "ImagePullBackOff",
    "message": 'Back-off pulling image "quay.io/prometheus/prometheus:v3.1.0": the prometheus binary is not '
    "installed on this machine (run make setup)",
}


def observer(answers: list[Any], *, waiting: dict[str, str] | None = None, **params: Any) -> Any:
    asked: list[tuple[Any, ...]] = []

    def call(service: str, port: Any, path: str, method: str = "GET", namespace: str | None = None) -> ProxyResponse:
        asked.append((namespace, service, port, path))
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return ProxyResponse(answer[0], {}, answer[1], 0.01)

    watcher: Any = sig.Observer(
        FakeLive(),
        FakeConfigMaps(),
        {
            "incident_id": "6",
            "since": "2026-12-07T05:00:00Z",
            "queries": {"promql": [{"name": "replicas", "query": QUERY}]},
            "prometheus_service": PROM,
            "prometheus_url": "",
            **params,
        },
        http=lambda *a, **k: pytest.fail("prometheus_service must not use the URL client"),
        call=call,
        live_in=lambda namespace: Pods(waiting) if namespace == "monitoring" else pytest.fail(namespace),
    )
    watcher.asked = asked
    return watcher


PROMQL = {"name": "gateway at 0", "kind": "promql", "within_s": 1, "check": {"query": "replicas",
          "expect": {"op": "eq", "value": 0, "labels": {"deployment": "stripe-mock"}}}}  # fmt: skip
ALERT = {"name": "gateway alert", "kind": "alert", "within_s": 1, "check": STATE}


@pytest.mark.parametrize(
    ("answer", "waiting", "expected"),
    [
        ((200, json.dumps(vector((GATEWAY, "0"))).encode()), None, (True, None, "=0 at 2026-12-07T05:01:02Z")),
        ((400, prom_error("bad_data", PARSE_ERROR)), None, (False, None, PARSE_ERROR)),
        ((503, NO_ENDPOINTS), None, (False, None, "no endpoints available")),
        ((503, NO_ENDPOINTS), PULL, (None, backend.NOT_INSTALLED, "waits in ImagePullBackOff: Back-off pulling image")),
        ((404, NOT_FOUND), None, (None, backend.NOT_DEPLOYED, "Prometheus is not deployed on this target")),
        (ClusterUnreachable("cannot reach the Kubernetes API server"), None, (False, None, "not reachable: cannot")),
    ],
)  # fmt: skip
def test_promql_through_the_service_proxy(answer: Any, waiting: dict | None, expected: tuple) -> None:
    watcher = observer([answer], waiting=waiting)
    look = watcher(PROMQL)
    assert (look.ok, look.reason) == expected[:2] and expected[2] in look.evidence, look
    namespace, service, port, path = watcher.asked[0]
    assert (namespace, service, port) == ("monitoring", "kps-kube-prometheus-stack-prometheus", "9090")
    assert path.startswith("/api/v1/query?query=kube_deployment_status_replicas_available%7B")


def test_alerts_through_the_service_proxy() -> None:
    watcher = observer([(200, json.dumps(alerts(WATCHDOG, GATEWAY_DOWN)).encode())])
    assert watcher(ALERT).ok is True and watcher.asked[0][3] == "/api/v1/alerts"


def test_without_prometheus_promql_and_alerts_are_not_checked() -> None:
    watcher = observer([(500, b"")], prometheus_service="")
    assert watcher(PROMQL) is None and watcher(ALERT) is None and watcher.asked == []


def http_error(code: int, body: bytes) -> HTTPError:
    return HTTPError("http://prometheus:9090/api/v1/query", code, "Bad Request", Message(), BytesIO(body))


def test_a_refused_query_at_a_url_fails_with_prometheus_words() -> None:
    def http(url: str, **_: Any) -> Any:
        raise http_error(400, prom_error("bad_data", PARSE_ERROR))

    watcher = sig.Observer(
        FakeLive(),
        FakeConfigMaps(),
        {
            "incident_id": "6",
            "since": "2026-12-07T05:00:00Z",
            "queries": {"promql": [{"name": "replicas", "query": QUERY}]},
            "prometheus_url": "http://prometheus:9090",
        },
        http=http,
    )
    look = watcher(PROMQL)
    assert isinstance(look, prom.Look)
    assert look.ok is False and look.final and PARSE_ERROR in look.evidence and QUERY in look.evidence


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        (PROM, ("monitoring", "kps-kube-prometheus-stack-prometheus", "9090")),
        ("monitoring/prometheus:web", ("monitoring", "prometheus", "web")),
        ("prometheus:9090", None),
        ("monitoring/prometheus", None),
        ("monitoring/prometheus:99999", None),
        ("http://prometheus:9090", None),
        ("Monitoring/prometheus:9090", None),
    ],
)
def test_prometheus_service_must_be_namespace_service_port(text: str, parsed: tuple | None) -> None:
    if parsed:
        assert prom.parse_service_ref(text) == parsed
        return
    with pytest.raises(ModuleError, match="is not <namespace>/<service>:<port>"):
        prom.parse_service_ref(text)


def test_a_malformed_prometheus_service_is_refused_before_any_cluster_access() -> None:
    params = {"prometheus_service": "prometheus:9090", "namespace": "sock-shop", "signals": []}
    with pytest.raises(ModuleError, match="monitoring/kps-kube-prometheus-stack-prometheus:9090"):
        sig.run(params, False, lambda: pytest.fail("connected"))


# ---------------------------------------------------------------- poll: the statuses over a budget


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


ERR = prom.Look(False, "Prometheus at monitoring/x:9090 answered HTTP 503: no endpoints", error=True)
OK = prom.Look(True, "x=0 at 2026-12-07T05:01:02Z (want eq 0)", [{"labels": {}, "value": 0.0, "at": AT}])
MISS = prom.Look(False, "no series (got 0)", [])
REFUSED = prom.Look(False, "Prometheus refused the query up{ (HTTP 400): bad_data: parse error", final=True)


@pytest.mark.parametrize(
    ("looks", "hold", "expected"),
    [
        ([ERR], False, ("error", 2.0, "no answer within 2 s: Prometheus at monitoring/x:9090 answered HTTP 503")),
        ([ERR, ERR, OK], False, ("passed", 1.0, "x=0 at")),  # kept looking while it erred, then it held
        ([ERR, MISS], False, ("failed", 2.0, "not within 2 s: no series")),  # it answered, without the series
        ([MISS, ERR], False, ("error", 2.0, "no answer within 2 s")),  # the budget ran out on an error
        ([REFUSED], False, ("failed", 0.0, "bad_data: parse error")),  # at once, never retried to success
        ([ERR], True, ("error", 2.0, "no answer at the last look after 2 s")),
        ([OK, ERR, OK], True, ("passed", 2.0, "held for 2 s (5 looks, 1 of them unanswered)")),
    ],
)
def test_poll_statuses(looks: list[prom.Look], hold: bool, expected: tuple) -> None:
    clock, seen = Clock(), list(looks)
    signal = {"name": "s", "kind": "promql", "within_s": 2, "hold": hold}
    (result,) = sig.poll([signal], lambda _: seen.pop(0) if len(seen) > 1 else seen[0], clock, clock.sleep, 0.5)
    assert (result["status"], clock.now) == expected[:2] and expected[2] in result["evidence"], result
    assert result["status"] != "passed" or result["samples"] == OK.samples


def test_not_checked_says_why() -> None:
    clock = Clock()
    looks = {"none": None, "deployed": prom.Look(None, "not deployed", reason=backend.NOT_DEPLOYED)}
    signals = [{"name": n, "kind": "promql", "within_s": 5} for n in looks]
    results = sig.poll(signals, lambda s: looks[s["name"]], clock, clock.sleep, 0.5)
    assert [(r["status"], r["reason"]) for r in results] == [
        ("not_checked", backend.NOT_CONFIGURED),
        ("not_checked", backend.NOT_DEPLOYED),
    ]


# ---------------------------------------------------------------- the report knows `error` and the samples

INCIDENT = incident_load.load_incident(str(CATALOG), "6")["incident"]


def verified(status_of: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A journal where every cluster signal passed unless status_of says otherwise; probes and recovery passed."""
    cluster = []
    for signal in INCIDENT["signals"][1:]:
        entry = {"name": signal["name"], "kind": signal["kind"], "within_s": signal["within_s"], "status": "passed",
                 "time_to_signal_s": 0.5, "evidence": "ok"}  # fmt: skip
        if signal["kind"].startswith("datadog"):
            entry.update(status="not_checked", time_to_signal_s=None, reason="backend_not_configured")
        entry.update(status_of.get(signal["name"], {}))
        cluster.append(entry)
    probe = {"item": INCIDENT["signals"][0], "authorised": False, "classification": "connection_refused",
             "http_status": 200, "latency_s": 0.2, "time_to_expect_s": 0.2,
             "message": "Payment gateway error: stripe-mock: connection refused"}  # fmt: skip
    confirm = {"item": INCIDENT["recovery"]["confirm"][0], "authorised": True, "classification": "authorised",
               "http_status": 200, "latency_s": 0.05, "time_to_expect_s": 1.0,
               "message": "Payment authorized (charge: ch_1)"}  # fmt: skip
    j = rep.record(None, "6", "r", "activate", {"started_at": "2026-12-07T05:00:00Z", "activated_at": AT})
    j = rep.record(j, "6", "r", "verify", {"probes": [probe], "cluster": cluster})
    return rep.record(j, "6", "r", "recover", {"differences": [], "confirm": [confirm]})


PROMQL_NAME = "prometheus sees the gateway at zero and payment at one"
SAMPLES = [{"labels": {"deployment": "stripe-mock", "namespace": "sock-shop"}, "value": 0.0, "at": AT}]


@pytest.mark.parametrize(
    ("change", "passed", "why"),
    [
        ({}, True, None),
        ({"status": "error", "time_to_signal_s": None, "evidence": "no answer within 60 s: HTTP 503"}, False,
         "error_signals"),
        ({"status": "failed", "time_to_signal_s": None}, False, "failed_signals"),
        # configured but not checked, for no allowed reason (or none given): the verdict cannot pass
        ({"status": "not_checked", "time_to_signal_s": None}, False, "unexcused_not_checked"),
        ({"status": "not_checked", "time_to_signal_s": None, "reason": "check_mode"}, False, "unexcused_not_checked"),
        # the two reasons a named Prometheus may not be checked, and an inventory that names none
        ({"status": "not_checked", "time_to_signal_s": None, "reason": "backend_not_deployed"}, True, None),
        ({"status": "not_checked", "time_to_signal_s": None, "reason": "backend_not_installed"}, True, None),
        ({"status": "not_checked", "time_to_signal_s": None, "reason": "backend_not_configured"}, True, None),
    ],
)  # fmt: skip
def test_the_verdict_with_each_status(change: dict, passed: bool, why: str | None) -> None:
    summary = rep.summarise(INCIDENT, verified({PROMQL_NAME: change}))
    assert summary["passed"] is passed, summary
    if why:
        assert summary[why] == [PROMQL_NAME]


def test_the_excused_reasons_are_the_modules() -> None:
    assert set(rep.EXCUSED_NOT_CHECKED) == set(backend.EXCUSED_NOT_CHECKED)
    assert set(rep.BACKEND_KINDS) == set(sig.BACKENDS)


def test_error_renders_in_every_report() -> None:
    change = {"status": "error", "time_to_signal_s": None, "evidence": "no answer within 60 s: HTTP 503"}
    journal = verified({PROMQL_NAME: change, "prometheus sees no payment restarts": {"samples": SAMPLES}})
    files = rep.render(INCIDENT, journal, "2026-12-07T05:10:00.000Z")
    suite = __import__("xml.etree.ElementTree").etree.ElementTree.fromstring(files["junit.xml"])
    assert (suite.get("failures"), suite.get("errors"), suite.get("skipped")) == ("0", "1", "2")
    (case,) = [c for c in suite if c.get("name") == f"signal: {PROMQL_NAME}"]
    assert [(e.tag, e.get("type"), e.get("message")) for e in case] == [
        ("error", "backend_error", "no answer within 60 s: HTTP 503")
    ]
    report = json.loads(files["report.json"])
    assert report["verdict"] == "not_passed" and report["error_signals"] == [PROMQL_NAME]
    (restarts,) = [s for s in report["signals"] if s["name"] == "prometheus sees no payment restarts"]
    assert restarts["samples"] == SAMPLES
    md = files["report.md"]
    assert "Verdict: **NOT PASSED**." in md
    assert f"| {PROMQL_NAME} | promql | error | - | no answer within 60 s: HTTP 503 |" in md
    assert f"Not observed (the backend did not answer within the budget; not a pass): {PROMQL_NAME}." in md
    assert f'| prometheus sees no payment restarts | deployment="stripe-mock", namespace="sock-shop" | 0 | {AT} |' in md


def test_a_checklist_item_of_an_error_signal_is_error() -> None:
    assert rep.item_status(["passed", "error"]) == "error"
    assert rep.item_status(["error", "failed"]) == "failed"
    assert rep.item_status(["passed", "not_checked"]) == "not_checked"


# ---------------------------------------------------------------- the schema of the alert kind


def with_signal(check: Any, **extra: Any) -> dict[str, Any]:
    doc = yaml.safe_load((CATALOG / "incident-6.yml").read_text())
    doc["signals"].append({"name": "the alert", "kind": "alert", "within_s": 90, "check": check, **extra})
    return doc


@pytest.mark.parametrize(
    ("check", "valid"),
    [
        ({"alert": "PaymentGatewayUnavailable"}, True),
        ({"alert": "PaymentGatewayUnavailable", "labels": {"deployment": "stripe-mock"}, "state": "pending"}, True),
        ({"only": ["PaymentGatewayUnavailable"], "scope": {"namespace": "sock-shop"}}, True),
        ({"only": [], "scope": {"incident": "*"}}, True),
        ({}, False),  # neither shape
        ({"alert": "A", "only": ["A"], "scope": {"namespace": "sock-shop"}}, False),  # both shapes
        ({"only": ["A"]}, False),  # a noise check without a scope would count Watchdog
        ({"only": ["A"], "scope": {}}, False),
        ({"alert": "A", "state": "resolved"}, False),
        ({"alert": "not a name"}, False),
    ],
)
def test_the_alert_check_has_one_of_two_shapes(check: dict, valid: bool) -> None:
    schema = json.loads((CATALOG / "schema.json").read_text())
    problems = incident_load.validate(with_signal(check, hold="only" in check), schema)
    assert (problems == []) is valid, problems
    jsonschema.Draft202012Validator.check_schema(schema)
