"""payment_probe: classification, expectation/retry logic, check mode, and the module end to end."""

from __future__ import annotations

import json
import socket
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.sockshop_money import MoneyError
from ansible.module_utils.sockshop_service_proxy import ClusterUnreachable, ProxyResponse, ProxyTimeout

from plugins.modules import payment_probe
from plugins.modules.payment_probe import ProbeError, build_request, classify, probe_once, run_probe
from tests.unit.modules.sockshop_fake_apiserver import FakeApiServer, run_module, serve, status_body

# The exact text from REFERENCE section 2 (stripe-mock scaled to zero).
REFUSED = (
    'Payment gateway error: Post "http://stripe-mock/v1/charges": '
    "dial tcp 10.96.196.183:80: connect: connection refused"
)


def answer(authorised: Any, message: str) -> bytes:
    return json.dumps({"authorised": authorised, "message": message}).encode()


def status(code: int, reason: str, message: str) -> bytes:
    return json.dumps(status_body(code, reason, message)).encode()


CLASSIFICATION_TABLE = [
    # (case, http status, body, classification, authorised, text the message must contain)
    ("charge ok", 200, answer(True, "Payment authorized (charge: ch_1Abc)"), "authorised", True, "ch_1Abc"),
    ("declined", 200, answer(False, "Payment declined by gateway"), "declined", False, "declined"),
    ("gateway down (REFERENCE)", 200, answer(False, REFUSED), "connection_refused", False, REFUSED),
    (
        "java wording",
        200,
        answer(False, "java.net.ConnectException: Connection refused"),
        "connection_refused",
        False,
        "",
    ),
    (
        "gateway slow",
        200,
        answer(False, 'Payment gateway error: Post "http://stripe-mock/v1/charges": context deadline exceeded'),
        "timeout",
        False,
        "deadline",
    ),
    (
        "io timeout",
        200,
        answer(False, "Payment gateway error: dial tcp 10.96.0.9:80: i/o timeout"),
        "timeout",
        False,
        "",
    ),
    (
        "dns",
        200,
        answer(False, "Payment gateway error: dial tcp: lookup stripe-mock on 10.96.0.10:53: no such host"),
        "dns",
        False,
        "no such host",
    ),
    ("gateway 503", 200, answer(False, "Payment gateway unavailable (HTTP 503)"), "http_5xx", False, "HTTP 503"),
    ("rate limited", 200, answer(False, "Payment gateway rate limit exceeded"), "declined", False, "rate limit"),
    ("gateway 4xx", 200, answer(False, "Payment request failed (HTTP 402)"), "declined", False, "402"),
    (
        "payment scaled to zero",
        503,
        status(503, "ServiceUnavailable", 'no endpoints available for service "payment"'),
        "no_endpoints",
        False,
        'service "payment"',
    ),
    (
        "pod not listening",
        503,
        status(
            503, "ServiceUnavailable", "error trying to reach service: dial tcp 10.244.1.7:8080: connection refused"
        ),
        "http_5xx",
        False,
        "error trying to reach service",
    ),
    ("payment crashed", 500, b"Internal Server Error", "http_5xx", False, "Internal Server Error"),
    ("bad gateway html", 502, b"<html>Bad Gateway</html>", "http_5xx", False, "Bad Gateway"),
    ("not json", 200, b"<html>hello</html>", "bad_response", False, "not a payment result"),
    ("authorised not bool", 200, b'{"authorised": "yes"}', "bad_response", False, ""),
    ("invalid request", 400, answer(False, "Invalid payment request"), "bad_response", False, "HTTP 400"),
    (
        "no such service",
        404,
        status(404, "NotFound", 'services "paymnet" not found'),
        "bad_response",
        False,
        "not found",
    ),
]


@pytest.mark.parametrize(
    ("http_status", "body", "expected", "authorised", "text"),
    [row[1:] for row in CLASSIFICATION_TABLE],
    ids=[row[0] for row in CLASSIFICATION_TABLE],
)
def test_classify(http_status: int, body: bytes, expected: str, authorised: bool, text: str) -> None:
    got, got_authorised, message, _parsed = classify(http_status, body)
    assert (got, got_authorised) == (expected, authorised)
    assert text in message


def test_every_classification_is_covered() -> None:
    covered = {row[3] for row in CLASSIFICATION_TABLE} | {"timeout"}
    assert covered == set(payment_probe.CLASSIFICATIONS)


def test_request_timeout_is_classified_timeout() -> None:
    def send(_request: Any, timeout: float) -> ProxyResponse:
        raise ProxyTimeout("slow", elapsed_s=timeout)

    result = probe_once(send, {"amount": 50.0}, 2.5)
    assert result["classification"] == "timeout"
    assert result["http_status"] is None
    assert result["latency_s"] == 2.5
    assert result["authorised"] is False


@pytest.mark.parametrize(
    ("amount", "wire"),
    [(50, "50.0"), ("50.00", "50.0"), ("19.99", "19.99"), (19.99, "19.99"), (Decimal("0.005"), "0.01"), ("$7", "7.0")],
)
def test_build_request_sends_cents_exactly(amount: Any, wire: str) -> None:
    assert json.dumps(build_request(amount)) == f'{{"amount": {wire}}}'


def test_build_request_includes_optional_objects() -> None:
    body = build_request("10", card={"longNum": "4111"}, customer=None, address={"city": "Lisbon"})
    assert body == {"amount": 10.0, "card": {"longNum": "4111"}, "address": {"city": "Lisbon"}}


@pytest.mark.parametrize("amount", ["fifty", "", None, True, "NaN", [50]])
def test_build_request_rejects_non_numbers(amount: Any) -> None:
    with pytest.raises(MoneyError):
        build_request(amount)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class ScriptedPayment:
    """Answers from a script, one per call (the last repeats); each answer takes `latency` seconds."""

    def __init__(self, clock: FakeClock, script: list[tuple[int, bytes]], latency: float = 0.2) -> None:
        self.clock, self.script, self.latency = clock, script, latency
        self.calls: list[tuple[Any, float]] = []

    def __call__(self, request: Any, timeout: float) -> ProxyResponse:
        self.calls.append((request, timeout))
        code, body = self.script[min(len(self.calls), len(self.script)) - 1]
        self.clock.now += self.latency
        return ProxyResponse(code, {}, body, self.latency)


OK = (200, answer(True, "Payment authorized (charge: ch_9)"))
DOWN = (200, answer(False, REFUSED))


def test_without_expect_one_attempt_whatever_the_answer() -> None:
    clock = FakeClock()
    send = ScriptedPayment(clock, [DOWN, OK])
    result = run_probe(send, {"amount": 50.0}, 10, clock=clock, sleep=clock.sleep)
    assert result["attempts"] == 1
    assert result["classification"] == "connection_refused"
    assert "time_to_expect_s" not in result
    assert clock.sleeps == []


def test_retries_until_expectation_holds_and_reports_time_to_signal() -> None:
    clock = FakeClock()
    send = ScriptedPayment(clock, [OK, OK, OK, DOWN])
    expect = {"authorised": False, "classification": "connection_refused", "max_latency_s": 1.0}
    result = run_probe(
        send, {"amount": 50.0}, 10, expect=expect, budget_s=30, interval_s=2, clock=clock, sleep=clock.sleep
    )
    assert result["attempts"] == 4
    assert result["classification"] == "connection_refused"
    assert clock.sleeps == [2, 2, 2]
    # 4 answers of 0.2 s plus 3 pauses of 2 s
    assert result["time_to_expect_s"] == pytest.approx(6.8)
    assert result["latency_s"] == 0.2


def test_budget_exhausted_names_expected_and_actual() -> None:
    clock = FakeClock()
    send = ScriptedPayment(clock, [OK])
    with pytest.raises(ProbeError) as err:
        run_probe(
            send,
            {"amount": 50.0},
            10,
            expect={"classification": "connection_refused", "authorised": False},
            budget_s=5,
            interval_s=1,
            clock=clock,
            sleep=clock.sleep,
        )
    text = str(err.value)
    assert "expected authorised=false, classification=connection_refused within 5s" in text
    assert "classification=authorised" in text
    assert "Payment authorized (charge: ch_9)" in text
    assert err.value.partial["attempts"] == len(send.calls) == 5
    assert clock.now - 1000.0 <= 5 + 0.2


@pytest.mark.parametrize(
    ("expect", "met"),
    [
        ({"message_contains": "CONNECTION REFUSED"}, True),
        ({"message_contains": "no such host"}, False),
        ({"max_latency_s": 0.3}, True),
        ({"max_latency_s": 0.1}, False),
        ({"authorised": True}, False),
        ({"authorised": False, "classification": "declined"}, False),
        ({"authorised": None, "classification": None, "message_contains": None, "max_latency_s": None}, True),
    ],
)
def test_expectation_fields(expect: dict[str, Any], met: bool) -> None:
    clock = FakeClock()
    send = ScriptedPayment(clock, [DOWN])
    if met:
        assert run_probe(send, {}, 10, expect=expect, budget_s=1, interval_s=1, clock=clock, sleep=clock.sleep)
    else:
        with pytest.raises(ProbeError):
            run_probe(send, {}, 10, expect=expect, budget_s=1, interval_s=1, clock=clock, sleep=clock.sleep)


def test_attempt_timeout_never_exceeds_remaining_budget() -> None:
    clock = FakeClock()
    send = ScriptedPayment(clock, [OK], latency=3.0)
    with pytest.raises(ProbeError):
        run_probe(send, {}, 10, expect={"authorised": False}, budget_s=8, interval_s=1, clock=clock, sleep=clock.sleep)
    assert [timeout for _, timeout in send.calls] == [8, 4]


def test_cluster_unreachable_is_not_retried() -> None:
    calls = []

    def send(_request: Any, _timeout: float) -> ProxyResponse:
        calls.append(1)
        raise ClusterUnreachable("cannot reach the Kubernetes API server")

    clock = FakeClock()
    with pytest.raises(ClusterUnreachable):
        run_probe(send, {}, 10, expect={"authorised": True}, budget_s=60, clock=clock, sleep=clock.sleep)
    assert calls == [1]


# ---------------------------------------------------------------- end to end through Ansible


class PaymentStandIn:
    def __init__(self) -> None:
        self.mode = "gateway_down"
        self.bodies: list[Any] = []

    def __call__(self, ns: str, svc: str, method: str, path: str, body: Any) -> tuple[int, Any]:
        if (ns, svc, method, path) != ("sock-shop", "payment", "POST", "/paymentAuth"):
            return 404, status_body(404, "NotFound", f'services "{svc}" not found')
        self.bodies.append(body)
        if self.mode == "no_endpoints":
            return 503, status_body(503, "ServiceUnavailable", 'no endpoints available for service "payment"')
        return 200, {"authorised": False, "message": REFUSED}


@pytest.fixture
def payment() -> PaymentStandIn:
    return PaymentStandIn()


@pytest.fixture
def apiserver(payment: PaymentStandIn, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeApiServer]:
    # kubernetes.core caches discovery in $TMPDIR/k8srcp-*.json: keep it in this test's directory.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    for key in ("K8S_AUTH_KUBECONFIG", "K8S_AUTH_CONTEXT", "K8S_AUTH_HOST", "K8S_AUTH_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    yield from serve(payment)


def test_module_end_to_end_through_service_proxy(
    apiserver: FakeApiServer, payment: PaymentStandIn, tmp_path: Path, capsys
) -> None:
    kubeconfig = str(apiserver.write_kubeconfig(tmp_path))
    args = {
        "kubeconfig": kubeconfig,
        "amount": "50.00",
        "expect": {"authorised": False, "classification": "connection_refused"},
    }
    result = run_module(payment_probe.main, args, capsys)
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert result["classification"] == "connection_refused"
    assert result["message"] == REFUSED
    assert result["http_status"] == 200
    assert result["attempts"] == 1
    assert result["amount"] == "50.00"
    assert isinstance(result["latency_s"], float)
    assert result["time_to_expect_s"] >= 0
    assert payment.bodies == [{"amount": 50.0}]
    paths = [r.path for r in apiserver.requests]
    assert paths[0] == "/version"
    assert paths[-1] == "/api/v1/namespaces/sock-shop/services/payment:80/proxy/paymentAuth"
    assert apiserver.proxied()[0].headers["authorization"] == f"Bearer {apiserver.token}"


def test_module_no_endpoints(apiserver: FakeApiServer, payment: PaymentStandIn, tmp_path: Path, capsys) -> None:
    payment.mode = "no_endpoints"
    args = {"kubeconfig": str(apiserver.write_kubeconfig(tmp_path))}
    result = run_module(payment_probe.main, args, capsys)
    assert (result["classification"], result["http_status"]) == ("no_endpoints", 503)
    assert result["message"] == 'no endpoints available for service "payment"'


def test_module_expectation_not_met_fails(apiserver: FakeApiServer, tmp_path: Path, capsys) -> None:
    args = {
        "kubeconfig": str(apiserver.write_kubeconfig(tmp_path)),
        "expect": {"authorised": True},
        "budget_s": 0.3,
        "interval_s": 0.1,
    }
    result = run_module(payment_probe.main, args, capsys)
    assert result["failed"] is True
    assert "expected authorised=true within 0.3s" in result["msg"]
    assert "classification=connection_refused" in result["msg"]
    assert result["attempts"] >= 1


def test_module_check_mode_sends_no_payment(
    apiserver: FakeApiServer, payment: PaymentStandIn, tmp_path: Path, capsys
) -> None:
    args = {"kubeconfig": str(apiserver.write_kubeconfig(tmp_path)), "amount": 19.99, "_ansible_check_mode": True}
    result = run_module(payment_probe.main, args, capsys)
    assert result["skipped"] is True
    assert result["changed"] is False
    assert "no payment sent" in result["msg"]
    assert result["amount"] == "19.99"
    assert payment.bodies == []
    assert apiserver.proxied() == []


def test_module_bad_amount_fails_clearly(
    apiserver: FakeApiServer, payment: PaymentStandIn, tmp_path: Path, capsys
) -> None:
    args = {"kubeconfig": str(apiserver.write_kubeconfig(tmp_path)), "amount": "fifty"}
    result = run_module(payment_probe.main, args, capsys)
    assert result["failed"] is True
    assert "amount" in result["msg"] and "50.00" in result["msg"]
    assert payment.bodies == []


def test_module_cluster_unreachable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    with socket.socket() as sock:  # a port nothing listens on once closed
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = FakeApiServer(token="x", app=lambda *a: (500, {}))
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
                "users": [{"name": "u", "user": {"token": dead.token}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "c",
            }
        )
    )
    result = run_module(payment_probe.main, {"kubeconfig": str(kubeconfig)}, capsys)
    assert result["failed"] is True
    assert "cluster is unreachable" in result["msg"]
    assert "connection refused" in result["msg"]
    assert f"http://127.0.0.1:{port}" in result["msg"]
