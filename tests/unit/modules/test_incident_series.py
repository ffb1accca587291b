"""incident_series: a range query's matrix as the chart's series (labels, NaN, empty), the step for a window, the
input it refuses, and run() through the service proxy or a URL - the answers it turns into `unanswered` instead of
failing, max_series and dropped. End to end through main() and a fake API server too; against a real Prometheus on
the embedded cluster: tests/integration/test_incident_series_live.py."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
import urllib.parse
from collections.abc import Iterator
from email.message import Message
from io import BytesIO
from pathlib import Path
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import parse_qs, urlsplit

import pytest
from ansible.module_utils import sockshop_prometheus as prom
from ansible.module_utils.sockshop_chart import parse_timeline
from ansible.module_utils.sockshop_module import ModuleError, parse_iso
from ansible.module_utils.sockshop_service_proxy import ClusterUnreachable, ProxyResponse

from plugins.modules import incident_series as mod
from tests.unit.modules.sockshop_fake_apiserver import FakeApiServer, run_module, serve, status_body

PROM = "monitoring/kps-kube-prometheus-stack-prometheus:9090"
START, END = "2026-12-07T05:00:00Z", "2026-12-07T05:10:00Z"  # 600 s: a 3 s step, 201 points
T0 = 1796619600.0  # START
REPLICAS = 'kube_deployment_status_replicas_available{namespace="sock-shop",deployment=~"payment|stripe-mock"}'
RESTARTS = 'rate(kube_pod_container_status_restarts_total{namespace="sock-shop",pod=~"payment.*"}[5m])'
PHASE = 'kube_pod_status_phase{namespace="sock-shop",pod=~"payment.*|stripe-mock.*"}'
QUERIES = {
    "promql": [
        {"name": "replicas_available", "query": REPLICAS, "expect": "stripe-mock 1 -> 0 -> 1"},
        {"name": "payment_restart_rate", "query": RESTARTS},
        {"name": "pod_phase", "query": PHASE},
    ],
    "datadog_logs": [{"name": "payment_gateway_errors", "query": "service:x"}],
}
KSM = {"__name__": "kube_deployment_status_replicas_available", "job": "kube-state-metrics", "namespace": "sock-shop"}
GATEWAY, PAYMENT = dict(KSM, deployment="stripe-mock"), dict(KSM, deployment="payment")


def matrix(*series: tuple[dict[str, str], list[Any]]) -> dict[str, Any]:
    """Prometheus' answer to a range query: each series' values as [[unix time, "value"], ...]."""
    result = [{"metric": m, "values": [[T0 + 3 * i, str(v)] for i, v in enumerate(vs)]} for m, vs in series]
    return {"status": "success", "data": {"resultType": "matrix", "result": result}}


def at(seconds: float) -> str:
    return prom.rfc3339(T0 + seconds)


def prom_error(kind: str, text: str) -> bytes:
    return json.dumps({"status": "error", "errorType": kind, "error": text}).encode()


def status(code: int, reason: str, message: str) -> bytes:
    return json.dumps(status_body(code, reason, message)).encode()


NO_ENDPOINTS = status(503, "ServiceUnavailable", 'no endpoints available for service "kps-kube-prometheus-stack"')
NOT_FOUND = status(404, "NotFound", 'services "kps-kube-prometheus-stack-prometheus" not found')
PARSE_ERROR = '1:45: parse error: unexpected "}" in label matching, expected string'


# ---------------------------------------------------------------- a matrix as series


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # two series: the labels they share are left out of the label, the one that tells them apart is kept;
        # ordered by their labels, whatever order Prometheus gave them in
        (matrix((GATEWAY, [1, 0]), (PAYMENT, [1, 1])),
         [("replicas_available deployment=payment", [(0, 1.0), (3, 1.0)]),
          ("replicas_available deployment=stripe-mock", [(0, 1.0), (3, 0.0)])]),
        # one series: the query's name alone
        (matrix((GATEWAY, [1, 0, 1])), [("replicas_available", [(0, 1.0), (3, 0.0), (6, 1.0)])]),
        # NaN and infinities are left out; a series with nothing left is no series
        (matrix((GATEWAY, ["NaN", 0, "+Inf", "-Inf", 2.5]), (PAYMENT, ["NaN", "NaN"])),
         [("replicas_available deployment=stripe-mock", [(3, 0.0), (12, 2.5)])]),
        # a label only some series have tells them apart; a metric name that differs is shown bare, first
        (matrix(({"__name__": "up", "job": "a"}, [1]), ({"__name__": "up", "job": "a", "pod": "p-1"}, [0]),
                ({"__name__": "scrape_samples", "job": "a"}, [7])),
         [("replicas_available scrape_samples", [(0, 7.0)]), ("replicas_available up", [(0, 1.0)]),
          ("replicas_available up pod=p-1", [(0, 0.0)])]),
        (matrix(({"__name__": "up", "Zone": "a"}, [1]), ({"__name__": "down", "Zone": "b"}, [0])),
         [("replicas_available up Zone=a", [(0, 1.0)]), ("replicas_available down Zone=b", [(0, 0.0)])]),
        (matrix(({}, [3])), [("replicas_available", [(0, 3.0)])]),  # a scalar expression: no labels at all
        (matrix(), []),  # no series in the window
        ({"status": "success", "data": {"resultType": "vector", "result": [{"metric": GATEWAY, "value": [T0, "1"]}]}},
         []),  # not a matrix: no series
        ({"status": "success", "data": {}}, []),
    ],
)  # fmt: skip
def test_a_matrix_becomes_labelled_series_of_finite_points(answer: dict, expected: list) -> None:
    got = prom.range_series(answer, "replicas_available")
    assert [(s["label"], [(p["at"], p["value"]) for p in s["points"]]) for s in got] == [
        (label, [(at(t), v) for t, v in points]) for label, points in expected
    ]
    assert all(s["query"] == "replicas_available" for s in got)


def test_sub_second_sample_times_keep_their_milliseconds() -> None:
    answer = {"status": "success", "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [
        [T0 + 0.25, "1"]]}]}}  # fmt: skip
    assert prom.range_series(answer, "q")[0]["points"] == [{"at": "2026-12-07T05:00:00.250Z", "value": 1.0}]


# ---------------------------------------------------------------- the step


def moment(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(T0 + seconds, dt.UTC)


@pytest.mark.parametrize(
    ("span_s", "step_s", "points"),
    [(0, 1.0, 1), (0.5, 1.0, 1), (60, 1.0, 61), (249, 1.0, 250), (250, 2.0, 126), (600, 3.0, 201),
     (3600, 15.0, 241), (86400, 347.0, 249)],
)  # fmt: skip
def test_the_step_gives_at_most_250_points_and_is_at_least_a_second(span_s: float, step_s: float, points: int) -> None:
    assert prom.choose_step(moment(0), moment(span_s)) == step_s
    assert prom.range_points(moment(0), moment(span_s), step_s) == points


def test_no_window_gives_more_than_250_points() -> None:
    for span_s in [*range(0, 2000, 7), 7 * 86400 + 13]:
        step = prom.choose_step(moment(0), moment(span_s))
        assert step >= 1 and step == int(step) and prom.range_points(moment(0), moment(span_s), step) <= 250


# ---------------------------------------------------------------- input the module refuses


def params(**extra: Any) -> dict[str, Any]:
    return {
        "queries": QUERIES,
        "names": ["replicas_available"],
        "start": START,
        "end": END,
        "step_s": None,
        "max_series": 6,
        "settle_s": 0,
        "prometheus_url": "",
        "prometheus_service": PROM,
        **extra,
    }


def no_cluster() -> Any:
    pytest.fail("connected to the cluster")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"start": "yesterday"}, "start 'yesterday' is not an RFC 3339 time: pass it as 2026-11-23T08:24:40.000Z"),
        ({"end": "2026-12-07 05:10"}, "end '2026-12-07 05:10' is not an RFC 3339 time"),
        ({"end": "2026-12-07T04:59:59Z"}, "end 2026-12-07T04:59:59Z is before start 2026-12-07T05:00:00Z"),
        ({"step_s": 0.0}, "step_s 0 is not a number of seconds: pass one more than 0"),
        ({"step_s": -3.0}, "step_s -3 is not a number of seconds"),
        ({"step_s": float("nan")}, "step_s nan is not a number of seconds"),
        ({"step_s": 0.05}, "step_s 0.05 gives 12001 points a series over this window, more than Prometheus' 11000"),
        ({"names": ["replicas_available", "error_rate", "payment_gateway_errors"]},
         "no promql query named error_rate, payment_gateway_errors in queries (known: replicas_available, "
         "payment_restart_rate, pod_phase): pass names of the incident's queries.promql"),
        ({"queries": {}}, "no promql query named replicas_available in queries (known: none)"),
        ({"max_series": -1}, "max_series -1 is less than 0"),
        ({"prometheus_service": "prometheus:9090"}, "is not <namespace>/<service>:<port>"),
        ({"prometheus_service": "", "prometheus_url": "prometheus:9090"}, "prometheus_url 'prometheus:9090' is not an"),
        # bad input fails even when there is no Prometheus to ask
        ({"prometheus_service": "", "names": ["nope"]}, "no promql query named nope"),
    ],
)  # fmt: skip
def test_bad_input_is_refused_before_any_access(change: dict, message: str) -> None:
    with pytest.raises(ModuleError) as refused:
        mod.run(params(**change), False, no_cluster)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("start", "end", "window"),
    [
        (START, END, {"start": "2026-12-07T05:00:00.000Z", "end": "2026-12-07T05:10:00.000Z", "step_s": 3.0}),
        ("2026-12-07T06:00:00+01:00", "2026-12-07T05:00:00.5Z",  # an offset is honoured; start == end is one point
         {"start": "2026-12-07T05:00:00.000Z", "end": "2026-12-07T05:00:00.500Z", "step_s": 1.0}),
    ],
)  # fmt: skip
def test_the_window_is_returned_in_utc(start: str, end: str, window: dict) -> None:
    assert mod.window(params(start=start, end=end)) == window
    assert mod.window(params(start=start, end=end, step_s=0.25))["step_s"] == 0.25


# ---------------------------------------------------------------- run(): through the service proxy


class Proxy:
    """call_service as run() uses it: answers by query name, records what was asked."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, str, str, dict[str, list[str]]]] = []
        self.connected = 0

    def connect(self) -> Any:
        self.connected += 1
        return "client"

    def __call__(self, client: Any, namespace: str, service: str, port: Any, path: str, **_: Any) -> ProxyResponse:
        assert client == "client"
        where = urlsplit(path)
        assert where.path == "/api/v1/query_range"
        query = parse_qs(where.query)
        self.asked.append((namespace, service, port, query))
        name = next(q["name"] for q in QUERIES["promql"] if q["query"] == query["query"][0])
        answer = self.answers[name]
        if isinstance(answer, Exception):
            raise answer
        code, body = answer
        return ProxyResponse(code, {}, body if isinstance(body, bytes) else json.dumps(body).encode(), 0.01)


def through(monkeypatch: pytest.MonkeyPatch, answers: dict[str, Any]) -> Proxy:
    proxy = Proxy(answers)
    monkeypatch.setattr(mod, "call_service", proxy)
    return proxy


ALL = ["replicas_available", "payment_restart_rate", "pod_phase"]


def test_each_name_is_one_range_query_over_the_window(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {
        "replicas_available": (200, matrix((GATEWAY, [1, 0]))),
        "pod_phase": (200, matrix()),
        "payment_restart_rate": (200, matrix(({}, [0]))),
    }
    proxy = through(monkeypatch, answers)
    result = mod.run(params(names=["pod_phase", "replicas_available", "payment_restart_rate"]), False, proxy.connect)
    assert [(ns, svc, port) for ns, svc, port, _ in proxy.asked] == [
        ("monitoring", "kps-kube-prometheus-stack-prometheus", "9090")
    ] * 3
    assert [q["query"] for *_, q in proxy.asked] == [[PHASE], [REPLICAS], [RESTARTS]]
    assert {k: v for k, v in proxy.asked[0][3].items() if k != "query"} == {
        "start": [str(T0)], "end": [str(T0 + 600)], "step": ["3.0"]}  # fmt: skip
    assert proxy.connected == 1  # one client for every query
    assert result == {
        "changed": False,
        "series": [
            {"label": "replicas_available", "query": "replicas_available",
             "points": [{"at": at(0), "value": 1.0}, {"at": at(3), "value": 0.0}]},
            {"label": "payment_restart_rate", "query": "payment_restart_rate", "points": [{"at": at(0), "value": 0.0}]},
        ],
        "unanswered": [],
        "dropped": 0,
        "window": {"start": "2026-12-07T05:00:00.000Z", "end": "2026-12-07T05:10:00.000Z", "step_s": 3.0},
        "settled": None,
    }  # fmt: skip


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ((400, prom_error("bad_data", PARSE_ERROR)),
         f"Prometheus refused the query {REPLICAS} (HTTP 400): bad_data: {PARSE_ERROR}"),
        ((422, prom_error("execution", "many-to-many matching not allowed")),
         "(HTTP 422): execution: many-to-many matching not allowed"),
        ((503, prom_error("timeout", "query timed out in expression evaluation")),
         f"Prometheus at {PROM} answered HTTP 503: timeout: query timed out in expression evaluation"),
        ((503, NO_ENDPOINTS), 'answered HTTP 503: no endpoints available for service "kps-kube-prometheus-stack"'),
        ((404, NOT_FOUND), f"Prometheus is not deployed on this target ({PROM}): services "),
        ((200, b"<html>a login page</html>"), "answered HTTP 200: <html>a login page</html>"),
        (ClusterUnreachable("cannot reach the Kubernetes API server at https://127.0.0.1:6443"),
         f"Prometheus at {PROM} not reachable: cannot reach the Kubernetes API server"),
    ],
)  # fmt: skip
def test_what_prometheus_does_not_answer_is_unanswered_not_a_failure(
    monkeypatch: pytest.MonkeyPatch, answer: Any, reason: str
) -> None:
    proxy = through(monkeypatch, {"replicas_available": answer, "pod_phase": (200, matrix((GATEWAY, [1])))})
    result = mod.run(params(names=["replicas_available", "pod_phase"]), False, proxy.connect)
    first, *others = result["unanswered"]
    assert first["query"] == "replicas_available" and reason in first["reason"], first
    if isinstance(answer, Exception):  # nothing answered: the next query is not sent, and carries the same reason
        assert (len(proxy.asked), result["series"], others) == (1, [], [dict(first, query="pod_phase")])
    else:  # Prometheus answered: the next query is still asked, and answered
        assert [s["label"] for s in result["series"]] == ["pod_phase"] and len(proxy.asked) == 2 and others == []


def test_once_nothing_answers_the_other_queries_are_not_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    down = ClusterUnreachable("cannot reach the Kubernetes API server at https://127.0.0.1:6443")
    proxy = through(monkeypatch, {"replicas_available": (200, matrix((GATEWAY, [1]))), "pod_phase": down,
                                  "payment_restart_rate": (200, matrix((GATEWAY, [1])))})  # fmt: skip
    result = mod.run(params(names=["replicas_available", "pod_phase", "payment_restart_rate"]), False, proxy.connect)
    assert len(proxy.asked) == 2 and [s["query"] for s in result["series"]] == ["replicas_available"]
    reason = f"Prometheus at {PROM} not reachable: {down}"
    assert result["unanswered"] == [{"query": "pod_phase", "reason": reason},
                                    {"query": "payment_restart_rate", "reason": reason}]  # fmt: skip


def test_an_api_server_that_cannot_be_reached_is_unanswered_too(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = through(monkeypatch, {})

    def connect() -> Any:
        raise ConnectionRefusedError(111, "Connection refused")

    result = mod.run(params(names=["replicas_available", "pod_phase"]), False, connect)
    assert proxy.asked == [] and result["series"] == []
    assert [u["query"] for u in result["unanswered"]] == ["replicas_available", "pod_phase"]
    assert result["unanswered"][0]["reason"].startswith(f"Prometheus at {PROM} not reachable: ")
    assert "connection refused. The cluster is unreachable" in result["unanswered"][0]["reason"]


def test_a_bug_while_connecting_is_not_hidden(monkeypatch: pytest.MonkeyPatch) -> None:
    through(monkeypatch, {})

    def connect() -> Any:
        raise KeyError("not the client's nor the wire's")

    with pytest.raises(KeyError):
        mod.run(params(), False, connect)


@pytest.mark.parametrize(
    ("max_series", "kept", "dropped"),
    [
        (6, ["replicas_available deployment=payment", "replicas_available deployment=stripe-mock",
             "pod_phase phase=Pending", "pod_phase phase=Running", "pod_phase phase=Succeeded"], 0),
        (3, ["replicas_available deployment=payment", "replicas_available deployment=stripe-mock",
             "pod_phase phase=Pending"], 2),
        (1, ["replicas_available deployment=payment"], 4),
        (0, [], 5),
    ],
)  # fmt: skip
def test_max_series_keeps_the_first_queries_first_series_and_counts_the_rest(
    monkeypatch: pytest.MonkeyPatch, max_series: int, kept: list[str], dropped: int
) -> None:
    phases = [(dict(KSM, phase=p), [1]) for p in ("Running", "Pending", "Succeeded")]
    proxy = through(monkeypatch, {"replicas_available": (200, matrix((GATEWAY, [0]), (PAYMENT, [1]))),
                                  "pod_phase": (200, matrix(*phases))})  # fmt: skip
    result = mod.run(params(names=["replicas_available", "pod_phase"], max_series=max_series), False, proxy.connect)
    assert ([s["label"] for s in result["series"]], result["dropped"]) == (kept, dropped)


def test_without_prometheus_nothing_is_asked_and_it_says_why() -> None:
    result = mod.run(params(prometheus_service=""), False, no_cluster)
    assert result == {
        "changed": False,
        "series": [],
        "unanswered": [],
        "dropped": 0,
        "window": {"start": "2026-12-07T05:00:00.000Z", "end": "2026-12-07T05:10:00.000Z", "step_s": 3.0},
        "settled": None,
        "skipped_reason": "no Prometheus configured for this target",
    }


def test_check_mode_reads_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    answers = {"replicas_available": (200, matrix((GATEWAY, [1, 0])))}
    checked = mod.run(params(), True, through(monkeypatch, answers).connect)
    assert checked == mod.run(params(), False, through(monkeypatch, answers).connect)
    assert checked["changed"] is False and checked["series"]


def test_the_series_are_what_the_chart_takes(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = through(monkeypatch, {"replicas_available": (200, matrix((GATEWAY, [1, "NaN", 0]), (PAYMENT, [1])))})
    series = mod.run(params(), False, proxy.connect)["series"]
    timeline = parse_timeline({"title": "INCIDENT-6", "series": series})
    assert [(s.label, len(s.points)) for s in timeline.series] == [
        ("replicas_available deployment=payment", 1),
        ("replicas_available deployment=stripe-mock", 2),
    ]


# ---------------------------------------------------------------- run(): at a URL


class Answer:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def getcode(self) -> int:
        return 200

    def read(self) -> bytes:
        return self.body


def test_at_a_url(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[str] = []

    def open_url(url: str, **_: Any) -> Any:
        asked.append(url)
        if parse_qs(urlsplit(url).query)["query"] == ['up{deployment="stripe-mock"']:  # the typo: refused
            raise HTTPError(url, 400, "Bad Request", Message(), BytesIO(prom_error("bad_data", PARSE_ERROR)))
        return Answer(json.dumps(matrix((GATEWAY, [1]))).encode())

    monkeypatch.setattr(mod, "open_url", open_url)
    queries = {"promql": [*QUERIES["promql"], {"name": "typo", "query": 'up{deployment="stripe-mock"'}]}
    result = mod.run(
        params(queries=queries, names=["replicas_available", "typo"], prometheus_service="",
               prometheus_url="http://prometheus.example:9090/"),
        False, no_cluster,
    )  # fmt: skip
    assert [urlsplit(u)[:3] for u in asked] == [("http", "prometheus.example:9090", "/api/v1/query_range")] * 2
    assert [s["label"] for s in result["series"]] == ["replicas_available"]
    assert result["unanswered"] == [{"query": "typo", "reason": "Prometheus refused the query "
                                     f'up{{deployment="stripe-mock" (HTTP 400): bad_data: {PARSE_ERROR}'}]  # fmt: skip


def test_a_url_that_does_not_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    def open_url(url: str, **_: Any) -> Any:
        raise URLError(ConnectionRefusedError(111, "Connection refused"))

    monkeypatch.setattr(mod, "open_url", open_url)
    result = mod.run(params(prometheus_service="", prometheus_url="http://127.0.0.1:1"), False, no_cluster)
    assert result["unanswered"] == [{"query": "replicas_available", "reason": "Prometheus at http://127.0.0.1:1 not "
                                     "reachable: <urlopen error [Errno 111] Connection refused>"}]  # fmt: skip


# ---------------------------------------------------------------- main(): as Ansible runs it, through a fake API server


class FakePrometheus:
    """The Prometheus Service behind the fake API server's service proxy."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.answer: tuple[int, Any] = (200, matrix((GATEWAY, [1, 0, 1])))

    def __call__(self, ns: str, svc: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        if (ns, svc, method) != ("monitoring", "kps-kube-prometheus-stack-prometheus", "GET"):
            return 404, status_body(404, "NotFound", f'services "{svc}" not found')
        self.paths.append(path)
        return self.answer


@pytest.fixture
def prometheus() -> FakePrometheus:
    return FakePrometheus()


@pytest.fixture
def apiserver(prometheus: FakePrometheus, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApiServer]:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # kubernetes.core's discovery cache
    for key in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    yield from serve(prometheus)


def module_args(apiserver: FakeApiServer, tmp_path: Path, **extra: Any) -> dict[str, Any]:
    kubeconfig = str(apiserver.write_kubeconfig(tmp_path))
    names = ["replicas_available"]
    return {"kubeconfig": kubeconfig, "queries": QUERIES, "names": names, "start": START, "end": END} | {
        "prometheus_service": PROM,
        **extra,
    }


def test_main_through_the_service_proxy(
    apiserver: FakeApiServer, prometheus: FakePrometheus, tmp_path: Path, capsys: Any
) -> None:
    result = run_module(mod.main, module_args(apiserver, tmp_path, _ansible_check_mode=True), capsys)
    assert result.get("failed") is not True, result
    assert result["changed"] is False and result["dropped"] == 0 and result["unanswered"] == []
    assert [[p["value"] for p in s["points"]] for s in result["series"]] == [[1.0, 0.0, 1.0]]
    assert prometheus.paths[0].startswith("/api/v1/query_range?query=kube_deployment_status_replicas_available")
    assert apiserver.proxied()[0].headers["authorization"] == f"Bearer {apiserver.token}"


def test_main_with_no_endpoints_still_succeeds(
    apiserver: FakeApiServer, prometheus: FakePrometheus, tmp_path: Path, capsys: Any
) -> None:
    prometheus.answer = (503, status_body(503, "ServiceUnavailable", 'no endpoints available for service "kps"'))
    result = run_module(mod.main, module_args(apiserver, tmp_path), capsys)
    assert result.get("failed") is not True, result
    assert result["series"] == [] and result["unanswered"] == [
        {"query": "replicas_available",
         "reason": f'Prometheus at {PROM} answered HTTP 503: no endpoints available for service "kps"'}]  # fmt: skip


def test_main_fails_on_bad_input_with_what_to_do(apiserver: FakeApiServer, tmp_path: Path, capsys: Any) -> None:
    result = run_module(mod.main, module_args(apiserver, tmp_path, end="2026-12-07T04:00:00Z"), capsys)
    assert result["failed"] is True and result["changed"] is False
    assert result["msg"] == (
        "end 2026-12-07T04:00:00Z is before start 2026-12-07T05:00:00Z: pass the window's start first"
    )
    assert apiserver.requests == []  # refused before any cluster access


class ScrapeClock:
    """Prometheus that evaluates SCRAPED over its targets as the clock moves: each target was last scraped `lag_s`
    before now; its last scrape failed while before `fails_until`; a target `down` for good was not up in 5 min."""

    def __init__(self, targets: list[dict[str, Any]], answers: list[Any] | None = None) -> None:
        self.now, self.targets, self.answers, self.asked = 1000.0, targets, answers, 0

    def get(self, path: str) -> tuple[int, Any]:
        assert urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)["query"] == [mod.SCRAPED], path
        self.asked += 1
        if self.answers is not None:
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer
        values = []
        for target in self.targets:
            scraped = self.now - target.get("lag_s", 0.0)
            up = not target.get("down") and scraped >= target.get("fails_until", 0.0)
            if not target.get("down"):  # `and max_over_time(up[5m]) == 1`
                values.append(scraped * up)  # `timestamp(up) * up`
        result = [{"metric": {}, "value": [self.now, str(min(values))]}] if values else []
        return 200, json.dumps({"status": "success", "data": {"resultType": "vector", "result": result}}).encode()

    def sleep(self, seconds: float) -> None:
        self.now += seconds


OK: dict[str, Any] = {}
LAGGING, DOWN = {"lag_s": 1.5}, {"down": True}


@pytest.mark.parametrize(
    ("end", "targets", "budget_s", "settled", "asked"),
    [
        (1000.0, [OK, OK], 5, 1000.0, 1),  # already scraped after end: no wait
        (1002.0, [OK, OK], 5, 1002.0, 5),  # scraped 2 s later: four half-second waits
        (1002.0, [OK, LAGGING], 5, 1002.0, 8),  # a lagging scrape: waits for it
        (1000.0, [OK, {"fails_until": 1003.0}], 5, 1003.0, 7),  # a failed scrape after end: waits for a good one
        (1000.0, [OK, {"fails_until": 1010.0}], 5, None, 11),  # failing all along: not settled
        (1000.0, [OK, DOWN], 5, 1000.0, 1),  # a target down for good does not hold the window
        (1010.0, [OK, OK], 5, None, 11),  # not within the budget
        (1010.0, [OK, OK], 0, None, 1),  # no budget: one look
    ],
    ids=["scraped", "later", "lagging", "failed-scrape", "failing", "down-for-good", "budget", "no-budget"],
)
def test_settle_waits_until_every_target_was_scraped_with_success_after_the_end(
    end: float, targets: list[dict[str, Any]], budget_s: float, settled: float | None, asked: int
) -> None:
    prom = ScrapeClock(targets)
    assert mod.settle(prom.get, end, budget_s, lambda: prom.now, prom.sleep) == settled
    assert prom.asked == asked


@pytest.mark.parametrize(
    "answer",
    [
        OSError("connection refused"),
        (503, b"no endpoints available for service"),
        (200, b'{"status": "success", "data": {"resultType": "vector", "result": []}}'),
    ],
)
def test_settle_gives_up_when_prometheus_does_not_answer_or_has_no_target(answer: Any) -> None:
    prom = ScrapeClock([OK], [answer] * 20)
    assert mod.settle(prom.get, 1010.0, 2, lambda: prom.now, prom.sleep) is None
    assert prom.asked == (1 if isinstance(answer, Exception) or answer[0] != 200 else 5)


def test_a_settled_window_ends_when_the_targets_were_scraped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(mod, "settle", lambda get, end, budget, clock, sleep: end + 1.5)
    answers = {"replicas_available": (200, matrix((GATEWAY, [1])))}
    result = mod.run(params(settle_s=10), False, through(monkeypatch, answers).connect)
    assert result["settled"] is True
    # one step (3 s for this window) past the scrape, so the last point is evaluated after it
    assert parse_iso(result["window"]["end"]) - parse_iso(params()["end"]) == dt.timedelta(seconds=4.5)
    monkeypatch.setattr(mod, "settle", lambda get, end, budget, clock, sleep: None)
    missed = mod.run(params(settle_s=10), False, through(monkeypatch, answers).connect)
    assert missed["settled"] is False and parse_iso(missed["window"]["end"]) == parse_iso(END)
    assert mod.run(params(), False, through(monkeypatch, answers).connect)["settled"] is None
