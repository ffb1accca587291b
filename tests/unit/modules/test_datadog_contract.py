"""Contract tests of the Datadog signals: incident_signals' own HTTP client (http_json, Ansible's open_url) against
a local server that answers the Logs Search (POST /api/v2/logs/events/search) and Query Timeseries Points
(GET /api/v1/query) endpoints with the shapes Datadog's public API reference gives - results, empty results, a
refused key (403), a rate limit (429 with its X-RateLimit-* headers) and a bad query (400).

The SaaS cannot be reached from here; what is checked is what we send (path, headers, body, query string) and how
each answer is judged. The keys must never show in any evidence."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from plugins.modules import incident_signals as sig
from tests.serving import serving

API_KEY = "dd-api-0123456789abcdef"  # recognisable, to prove they never reach the evidence
APP_KEY = "dd-app-fedcba9876543210"
SINCE = "2026-12-03T10:00:00.000Z"
QUERIES = {
    "datadog_logs": [{"name": "refused", "query": 'service:sock-shop-payment "connection refused"'}],
    "datadog_metrics": [
        {"name": "gateway", "query": "avg:kubernetes_state.deployment.replicas_available{kube_deployment:stripe-mock}"}
    ],
}
LOGS = {
    "data": [
        {
            "id": f"AQAAAY{n}",
            "type": "log",
            "attributes": {
                "timestamp": f"2026-12-03T10:00:0{n}.000Z",
                "service": "sock-shop-payment",
                "status": "error",
                "message": "Payment gateway error: dial tcp 10.96.0.10:80: connect: connection refused",
                "tags": ["kube_namespace:sock-shop", "pod_name:payment-5d9c7b7f6-abcde"],
                "host": "kind-worker",
            },
        }
        for n in range(3)
    ],
    "links": {"next": "https://api.us5.datadoghq.com/api/v2/logs/events?page[cursor]=x"},
    "meta": {"elapsed": 132, "page": {"after": "x"}, "request_id": "r-1", "status": "done"},
}
SERIES = {
    "status": "ok",
    "res_type": "time_series",
    "query": QUERIES["datadog_metrics"][0]["query"],
    "from_date": 1764756000000,
    "to_date": 1764756300000,
    "group_by": [],
    "message": "",
    "series": [
        {
            "metric": "kubernetes_state.deployment.replicas_available",
            "display_name": "kubernetes_state.deployment.replicas_available",
            "scope": "kube_deployment:stripe-mock,kube_namespace:sock-shop",
            "expression": "avg:kubernetes_state.deployment.replicas_available{kube_deployment:stripe-mock}",
            "pointlist": [[1764756000000.0, 1.0], [1764756020000.0, 0.0], [1764756040000.0, None]],
            "aggr": "avg",
            "interval": 20,
            "length": 3,
            "start": 1764756000000,
            "end": 1764756059000,
            "unit": None,
            "tag_set": ["kube_deployment:stripe-mock", "kube_namespace:sock-shop"],
        }
    ],
}
RATE_LIMIT_HEADERS = {
    "X-RateLimit-Name": "logs_query",
    "X-RateLimit-Limit": "300",
    "X-RateLimit-Period": "3600",
    "X-RateLimit-Remaining": "0",
    "X-RateLimit-Reset": "7",
}


class FakeDatadog:
    """Datadog's two endpoints; `mode` picks the answer (ok, empty, forbidden, rate_limited, bad_query)."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.requests: list[dict[str, Any]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return

            def answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
                raw = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(raw)

            def handle_any(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length)) if length else None
                url = urlsplit(self.path)
                owner.requests.append(
                    {
                        "method": self.command,
                        "path": url.path,
                        "query": parse_qs(url.query),
                        "headers": {key.lower(): value for key, value in self.headers.items()},
                        "body": body,
                    }
                )
                if self.headers.get("DD-API-KEY") != API_KEY or owner.mode == "forbidden":
                    return self.answer(403, {"errors": ["Forbidden"]})
                if owner.mode == "rate_limited":
                    return self.answer(429, {"errors": ["Too many requests"]}, RATE_LIMIT_HEADERS)
                if owner.mode == "bad_query":
                    return self.answer(400, {"errors": ["Error parsing query: unexpected token '{'"]})
                logs = (self.command, url.path) == ("POST", "/api/v2/logs/events/search")
                if logs:
                    return self.answer(200, LOGS if owner.mode == "ok" else dict(LOGS, data=[], links={}))
                if (self.command, url.path) == ("GET", "/api/v1/query"):
                    return self.answer(200, SERIES if owner.mode == "ok" else dict(SERIES, series=[]))
                return self.answer(404, {"errors": ["Not found"]})

            do_GET = do_POST = handle_any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


class NoLedger:
    def get(self, name: str) -> None:
        return None


@pytest.fixture
def datadog() -> Iterator[FakeDatadog]:
    fake = FakeDatadog()
    with serving(fake.server):
        yield fake


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def observer(datadog: FakeDatadog, clock: Clock | None = None, **params: Any) -> Any:
    base = {
        "incident_id": "6",
        "since": SINCE,
        "queries": QUERIES,
        "datadog_api_url": datadog.url,
        "datadog_site": "us5.datadoghq.com",
        "datadog_api_key": API_KEY,
        "datadog_app_key": APP_KEY,
        "prometheus_url": "",
    }
    return sig.Observer(None, NoLedger(), dict(base, **params), sig.http_json, clock=clock or Clock())


LOGS_SIGNAL = {"name": "logs", "kind": "datadog_logs", "check": {"query": "refused", "min_count": 3}}
METRICS_SIGNAL = {
    "name": "gw",
    "kind": "datadog_metrics",
    "check": {"query": "gateway", "expect": {"op": "eq", "value": 0}},
}


def test_logs_search_sends_the_query_window_and_keys_as_documented(datadog: FakeDatadog) -> None:
    assert observer(datadog)(LOGS_SIGNAL) == (True, "3 log events since the activation (want at least 3)")
    (sent,) = datadog.requests
    assert (sent["method"], sent["path"]) == ("POST", "/api/v2/logs/events/search")
    assert sent["headers"]["dd-api-key"] == API_KEY and sent["headers"]["dd-application-key"] == APP_KEY
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["body"] == {
        "filter": {"query": 'service:sock-shop-payment "connection refused"', "from": SINCE, "to": "now"},
        "page": {"limit": 100},
    }


def test_metrics_query_takes_the_last_point_of_each_series(datadog: FakeDatadog) -> None:
    ok, evidence = observer(datadog)(METRICS_SIGNAL)
    assert ok, evidence
    assert evidence == '{"kube_deployment": "stripe-mock", "kube_namespace": "sock-shop"}=0.0 (want eq 0)'
    (sent,) = datadog.requests
    assert (sent["method"], sent["path"]) == ("GET", "/api/v1/query")
    assert sent["query"]["query"] == [QUERIES["datadog_metrics"][0]["query"]]
    assert int(sent["query"]["from"][0]) == 1796292000  # the activation (SINCE), seconds since the epoch
    assert int(sent["query"]["to"][0]) > int(sent["query"]["from"][0])


def test_empty_results_fail_with_what_was_found(datadog: FakeDatadog) -> None:
    datadog.mode = "empty"
    assert observer(datadog)(LOGS_SIGNAL) == (False, "0 log events since the activation (want at least 3)")
    assert observer(datadog)(METRICS_SIGNAL) == (False, "no series (got 0)")


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "forbidden",
            "backend error: Datadog answered HTTP 403 at 127.0.0.1:{port}/api/v2/logs/events/search: Forbidden "
            "(check datadog_api_key and datadog_app_key, and that the application key may query)",
        ),
        (
            "bad_query",
            "backend error: Datadog answered HTTP 400 at 127.0.0.1:{port}/api/v2/logs/events/search: "
            "Error parsing query: unexpected token '{{'",
        ),
    ],
)
def test_a_refusal_is_a_failed_look_that_says_why_without_the_keys(
    datadog: FakeDatadog, mode: str, expected: str
) -> None:
    datadog.mode = mode
    ok, evidence = observer(datadog)(LOGS_SIGNAL)
    assert (ok, evidence) == (False, expected.format(port=datadog.url.rsplit(":", 1)[1]))
    assert API_KEY not in evidence and APP_KEY not in evidence


def test_a_rate_limit_is_not_asked_again_before_it_resets(datadog: FakeDatadog) -> None:
    datadog.mode = "rate_limited"
    clock = Clock()
    watcher = observer(datadog, clock)
    ok, evidence = watcher(LOGS_SIGNAL)
    assert not ok and evidence.endswith(
        "Too many requests (rate limited: logs_query 300 per 3600 s; not asked again for 7 s)"
    )
    clock.now += 6.9
    assert watcher(METRICS_SIGNAL) == (False, evidence)  # same backend: no request before the reset
    assert len(datadog.requests) == 1
    datadog.mode = "ok"
    clock.now += 0.2
    assert watcher(LOGS_SIGNAL)[0] is True and len(datadog.requests) == 2


def test_an_unreachable_backend_says_so() -> None:
    watcher: Any = sig.Observer(
        None,
        NoLedger(),
        {
            "incident_id": "6",
            "since": SINCE,
            "queries": QUERIES,
            "datadog_api_url": "http://127.0.0.1:9",
            "datadog_site": "x",
            "datadog_api_key": API_KEY,
            "datadog_app_key": APP_KEY,
            "prometheus_url": "",
        },
        sig.http_json,
    )
    ok, evidence = watcher(LOGS_SIGNAL)
    assert not ok and evidence.startswith("backend error: Datadog not reachable: ") and "refused" in evidence


def test_without_a_key_datadog_signals_are_not_checked(datadog: FakeDatadog) -> None:
    assert observer(datadog, datadog_api_key="")(LOGS_SIGNAL) is None
    assert datadog.requests == []
