"""incident_signals: judging each kind of signal, and polling against time budgets."""

from __future__ import annotations

import pytest
from ansible.module_utils.sockshop_module import parse_iso

from plugins.modules import incident_signals as sig
from tests.unit.modules.incident_fakes import FakeConfigMaps, FakeLive, deployment, pod

SINCE = parse_iso("2026-11-23T08:24:46.500Z")
LEDGER = {"restart_counts": {"payment": {"payment-1": {"main": 0}}}}


def test_k8s_state_table() -> None:
    check = {"deployment": "payment", "available": 1, "ready": "1/1", "restarts": "unchanged"}
    cases = [
        (deployment("payment", 1, 1), [pod("payment-1")], LEDGER, True, "restart counts unchanged"),
        (deployment("payment", 1, 1), [pod("payment-1", restarts=1)], LEDGER, False, "restart counts changed"),
        (deployment("payment", 1, 1), [pod("payment-1", ready=False)], LEDGER, False, "expected every pod 1/1 ready"),
        (deployment("payment", 1, 0), [], LEDGER, False, "expected 1 available"),
        (deployment("payment", 1, 1), [pod("payment-1")], None, False, "no ledger restart counts"),
        (None, [], LEDGER, False, "deployment payment not found"),
    ]
    for dep, pods, ledger, ok, text in cases:
        verdict = sig.judge_k8s_state(check, dep, pods, ledger)
        assert verdict[0] is ok and text in verdict[1], (dep, pods, verdict)


def test_k8s_state_zero_available() -> None:
    ok, evidence = sig.judge_k8s_state(
        {"deployment": "stripe-mock", "available": 0}, deployment("stripe-mock", 0, 0), [], None
    )
    assert ok and evidence == "stripe-mock: 0 available of 0 wanted"


def event(message: str, when: str, reason: str = "ScalingReplicaSet") -> dict:
    return {"type": "Normal", "reason": reason, "message": message, "lastTimestamp": when}


def test_k8s_event_only_counts_fresh_matching_events() -> None:
    check = {
        "kind": "Deployment",
        "name": "stripe-mock",
        "reason": "ScalingReplicaSet",
        "message_regex": "^Scaled down replica set stripe-mock-[a-z0-9]+ from 1 to 0$",
    }
    old = event("Scaled down replica set stripe-mock-5f69 from 1 to 0", "2026-11-23T08:20:00Z")
    up = event("Scaled up replica set stripe-mock-5f69 from 0 to 1", "2026-11-23T08:24:50Z")
    fresh = event("Scaled down replica set stripe-mock-5f69 from 1 to 0", "2026-11-23T08:24:46Z")  # whole-second stamp
    assert sig.judge_k8s_event(check, [old, up], SINCE)[0] is False
    ok, evidence = sig.judge_k8s_event(check, [old, up, fresh], SINCE)
    assert (
        ok
        and evidence
        == "Normal ScalingReplicaSet 'Scaled down replica set stripe-mock-5f69 from 1 to 0' at 2026-11-23T08:24:46Z"
    )


@pytest.mark.parametrize(
    ("events", "count", "holds", "evidence"),
    [
        ([], {"op": "eq", "value": 0}, True, "0 SuccessfulRescale event matching /./ about HorizontalPodAutoscaler/fe "
         "since the activation (want eq 0)"),
        # an old rescale (before the activation) does not count
        (["2026-11-23T08:20:00Z"], {"op": "eq", "value": 0}, True, "0 SuccessfulRescale"),
        (["2026-11-23T08:25:00Z"], {"op": "eq", "value": 0}, False, "1 SuccessfulRescale event matching /./ about "
         "HorizontalPodAutoscaler/fe since the activation (want eq 0); e.g. Normal SuccessfulRescale 'New size: 4;"),
        (["2026-11-23T08:25:00Z", "2026-11-23T08:25:30Z"], {"op": "ge", "value": 2}, True, "2 SuccessfulRescale"),
    ],
)  # fmt: skip
def test_k8s_event_count(events: list[str], count: dict, holds: bool, evidence: str) -> None:
    check = {"kind": "HorizontalPodAutoscaler", "name": "fe", "reason": "SuccessfulRescale", "message_regex": ".",
             "count": count}  # fmt: skip
    found = [event("New size: 4; reason: cpu", when, reason="SuccessfulRescale") for when in events]
    verdict = sig.judge_k8s_event(check, found, SINCE)
    assert verdict[0] is holds and verdict[1].startswith(evidence), verdict


def test_pod_log_ignores_lines_before_the_window() -> None:
    log = (
        "2026-11-23T08:10:00.000000000Z Payment gateway error: old\n"
        "2026-11-23T08:24:47.120000000Z Payment auth request: amount=50.00\n"
        "2026-11-23T08:24:47.330000000Z "
        'Payment gateway error: Post "http://stripe-mock/v1/charges": connection refused (0.21s)\n'
    )
    ok, evidence = sig.judge_pod_log(
        {"deployment": "payment", "contains": "Payment gateway error"}, {"payment-1": log}, SINCE
    )[:2]
    assert ok and evidence.startswith("payment-1: Payment gateway error: Post") and "old" not in evidence
    assert not sig.judge_pod_log(
        {"deployment": "payment", "contains": "Payment gateway error"},
        {"payment-1": log.split("\n", maxsplit=1)[0]},
        SINCE,
    )[0]
    assert "has no pods" in sig.judge_pod_log({"deployment": "payment", "contains": "x"}, {}, SINCE)[1]


CONTEXT_LOG = "".join(
    f"2026-11-23T08:24:{second:02d}.000000000Z {text}\n"
    for second, text in [
        (40, "Payment gateway error: before the window"),
        (47, "one"),
        (48, "two"),
        (49, "three"),
        (50, "Payment gateway error: refused"),
        (51, "four"),
        (52, "five"),
        (53, "six"),
    ]
)


@pytest.mark.parametrize(
    ("log", "texts"),
    [
        (CONTEXT_LOG, ["two", "three", "Payment gateway error: refused", "four", "five"]),
        # the match is the first fresh line: no line before it (the older one is outside the window)
        (CONTEXT_LOG.replace("one", "Payment gateway error: first"), ["Payment gateway error: first", "two", "three"]),
        # the match is the last line
        (CONTEXT_LOG.rsplit("\n", 4)[0] + "\n", ["two", "three", "Payment gateway error: refused"]),
        # a line without a timestamp is kept as it is, with no time
        (
            "no stamp\n2026-11-23T08:24:50.000000000Z Payment gateway error: x\n",
            ["no stamp", "Payment gateway error: x"],
        ),
    ],
)
def test_a_matched_log_line_keeps_two_lines_of_context_either_side(log: str, texts: list[str]) -> None:
    verdict = sig.judge_pod_log(
        {"deployment": "payment", "contains": "Payment gateway error"}, {"payment-7": log}, SINCE
    )
    assert isinstance(verdict, sig.Look) and verdict.ok and verdict.lines is not None
    assert [line["text"] for line in verdict.lines] == texts
    assert [line["match"] for line in verdict.lines] == [t.startswith("Payment gateway error") for t in texts]
    assert {line["pod"] for line in verdict.lines} == {"payment-7"}
    matched = next(line for line in verdict.lines if line["match"])
    assert matched["at"].startswith("2026-11-23T08:24:") and matched["at"].endswith("Z")
    assert [line["at"] for line in verdict.lines if line["text"] == "no stamp"] in ([], [""])


def test_poll_keeps_the_matched_lines_of_a_log_signal() -> None:
    clock = Clock()
    results = sig.poll([LOG_SIGNAL], observer(CONTEXT_LOG, check_mode=False), clock, clock.sleep, 0.5)
    assert results[0]["status"] == "passed"
    assert [line["text"] for line in results[0]["lines"]] == [
        "two",
        "three",
        "Payment gateway error: refused",
        "four",
        "five",
    ]


def test_numeric_expectations() -> None:
    series = [
        {"labels": {"deployment": "payment"}, "value": 1.0},
        {"labels": {"deployment": "stripe-mock"}, "value": 0.0},
    ]
    assert sig.judge_numeric({"op": "eq", "value": 0, "labels": {"deployment": "stripe-mock"}}, series)[0]
    assert not sig.judge_numeric({"op": "eq", "value": 0}, series)[0]
    assert sig.judge_numeric({"op": "ge", "value": 0}, series)[0]
    assert "no series" in sig.judge_numeric({"op": "eq", "value": 0, "labels": {"deployment": "x"}}, series)[1]
    dd = sig.datadog_series(
        {
            "series": [
                {
                    "scope": "kube_deployment:stripe-mock,kube_namespace:sock-shop",
                    "pointlist": [[1, 1.0], [2, 0.0], [3, None]],
                }
            ]
        }
    )
    assert dd == [{"labels": {"kube_deployment": "stripe-mock", "kube_namespace": "sock-shop"}, "value": 0.0}]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_poll_measures_time_to_signal_and_respects_budgets() -> None:
    clock = Clock()
    signals = [
        {"name": "quick", "kind": "k8s_state", "within_s": 5},
        {"name": "slow", "kind": "k8s_event", "within_s": 5},
        {"name": "never", "kind": "pod_log", "within_s": 2},
        {"name": "unconfigured", "kind": "promql", "within_s": 60},
    ]

    def observe(signal):
        if signal["name"] == "quick":
            return True, "ok"
        if signal["name"] == "slow":
            return (clock.now - 100.0 >= 1.5), "waiting"
        if signal["name"] == "never":
            return False, "nothing yet"
        return None

    results = {r["name"]: r for r in sig.poll(signals, observe, clock, clock.sleep, 0.5)}
    assert (results["quick"]["status"], results["quick"]["time_to_signal_s"]) == ("passed", 0.0)
    assert (results["slow"]["status"], results["slow"]["time_to_signal_s"]) == ("passed", 1.5)
    assert results["never"]["status"] == "failed" and results["never"]["evidence"] == "not within 2 s: nothing yet"
    assert results["unconfigured"]["status"] == "not_checked" and results["unconfigured"]["time_to_signal_s"] is None
    assert clock.now == 102.0


@pytest.mark.parametrize(
    ("event_at", "breaks_at", "within_s", "expected"),
    [
        # holds throughout: concluded when the event signal is decided (3.0 s), not at the first look
        (3.0, None, 1, ("passed", 3.0, "held for 3 s (7 looks): restarts 0")),
        # its own budget is longer than the events': it keeps looking until within_s
        (1.0, None, 4, ("passed", 4.0, "held for 4 s (9 looks): restarts 0")),
        # breaks while the event is still pending: fails at that look, with that look's evidence
        (3.0, 2.0, 1, ("failed", None, "stopped holding after 2 s: restarts 2")),
        # would break after everything is decided: never looked at again, so it passed
        (1.0, 2.5, 1, ("passed", 1.0, "held for 1 s (3 looks): restarts 0")),
    ],
)
def test_poll_judges_a_hold_signal_on_every_round_until_the_others_are_decided(
    event_at, breaks_at, within_s, expected
) -> None:
    clock = Clock()
    signals = [
        {"name": "latency", "kind": "load", "within_s": 10},
        {"name": "no restart", "kind": "termination", "within_s": within_s, "hold": True},
    ]

    def observe(signal):
        elapsed = clock.now - 100.0
        if signal["name"] == "latency":
            return elapsed >= event_at, "p95"
        broken = breaks_at is not None and elapsed >= breaks_at
        return (False, "restarts 2") if broken else (True, "restarts 0")

    results = {r["name"]: r for r in sig.poll(signals, observe, clock, clock.sleep, 0.5)}
    held = results["no restart"]
    assert (held["status"], held["time_to_signal_s"], held["evidence"]) == expected
    assert results["latency"]["status"] == "passed"


def test_poll_reports_a_hold_signal_without_backend_as_not_checked_at_once() -> None:
    clock = Clock()
    signals = [{"name": "quiet", "kind": "promql", "within_s": 30, "hold": True}]
    results = sig.poll(signals, lambda s: None, clock, clock.sleep, 0.5)
    assert results[0]["status"] == "not_checked" and clock.now == 100.0


class LoggingLive(FakeLive):
    """Payment with one pod whose log is `text`."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.add("payment", 1, [pod("payment-1")])

    def pod_log(self, name: str, container: str | None = None) -> str:
        return self.text


LOG_SIGNAL = {
    "name": "gateway error",
    "kind": "pod_log",
    "within_s": 10,
    "check": {"deployment": "payment", "contains": "Payment gateway error"},
}


def observer(text: str, check_mode: bool) -> sig.Observer:
    params = {"incident_id": "6", "since": "2026-11-23T08:24:46.500Z", "check_mode": check_mode}
    return sig.Observer(LoggingLive(text), FakeConfigMaps(), params, http=lambda *a, **k: {})


LINE = "2026-11-23T08:24:47.000000000Z Payment gateway error: connection refused\n"


def test_check_mode_does_not_fail_a_log_line_its_own_requests_would_have_written() -> None:
    verdicts = {
        (text, check): observer(text, check_mode=check)(LOG_SIGNAL) for text in ("", LINE) for check in (False, True)
    }
    assert {key: verdict and verdict[0] for key, verdict in verdicts.items()} == {
        ("", False): False,
        ("", True): None,  # not checked: check mode sent the probe that would have logged it
        (LINE, False): True,
        (LINE, True): True,  # lines already there still count
    }
    assert str(verdicts[("", True)]).count("check mode sent no request that would log it") == 1


EXPORTER = """\
# HELP rabbitmq_queue_messages Sum of ready and unacknowledged messages (queue depth).
# TYPE rabbitmq_queue_messages gauge
rabbitmq_queue_messages{cluster="rabbit@rabbitmq",durable="true",policy="",queue="shipping-task",self="1",vhost="/"} 7
rabbitmq_queue_messages{cluster="rabbit@rabbitmq",durable="true",policy="",queue="other",self="1",vhost="/"} 99
# HELP rabbitmq_queue_consumers Number of consumers.
# TYPE rabbitmq_queue_consumers gauge
rabbitmq_queue_consumers{cluster="rabbit@rabbitmq",durable="true",policy="",queue="shipping-task",self="1",vhost="/"} 0
rabbitmq_queue_consumers{cluster="rabbit@rabbitmq",durable="true",policy="",queue="shipping-task",self="1",vhost="x"} 4
"""


@pytest.mark.parametrize(
    ("check", "held", "evidence"),
    [
        (
            {"queue": "shipping-task", "messages": {"op": "ge", "value": 5}, "consumers": {"op": "eq", "value": 0}},
            True,
            "queue shipping-task: messages 7 (want ge 5), consumers 0 (want eq 0)",
        ),
        (
            {"queue": "shipping-task", "messages": {"op": "eq", "value": 0}},
            False,
            "queue shipping-task: messages 7 (want eq 0)",
        ),
        (
            {"queue": "shipping-task", "vhost": "x", "consumers": {"op": "gt", "value": 0}},
            True,
            "queue shipping-task: consumers 4 (want gt 0)",
        ),
        (
            {"queue": "shipping-task", "vhost": "x", "messages": {"op": "ge", "value": 0}},
            False,
            "queue shipping-task: messages absent (want ge 0)",
        ),
        (
            {"queue": "gone", "messages": {"op": "ge", "value": 0}},
            False,
            "the exporter reports no queue 'gone' in vhost '/'",
        ),
    ],
)
def test_queue_depth_and_consumers_from_the_exporter(check: dict, held: bool, evidence: str) -> None:
    assert sig.judge_queue(check, EXPORTER) == (held, evidence)


class _Answer:
    def __init__(self, status: int, body: bytes) -> None:
        self.status, self.body = status, body


def test_queue_signal_reads_the_exporter_through_the_service_proxy() -> None:
    asked = []

    def call(service: str, port: int, path: str) -> _Answer:
        asked.append((service, port, path))
        return _Answer(200, EXPORTER.encode())

    params = {"since": "2026-12-02T10:00:00Z", "incident_id": "5", "namespace": "sock-shop"}
    observer = sig.Observer(FakeLive(), FakeConfigMaps(), params, http=lambda *a, **k: {}, call=call)
    signal = {
        "name": "q",
        "kind": "queue",
        "within_s": 5,
        "check": {"queue": "shipping-task", "consumers": {"op": "eq", "value": 0}},
    }
    assert observer(signal) == (True, "queue shipping-task: consumers 0 (want eq 0)")
    assert asked == [("rabbitmq", 9090, "/metrics")]
    refused = sig.Observer(
        FakeLive(), FakeConfigMaps(), params, http=lambda *a, **k: {}, call=lambda *a: _Answer(503, b"")
    )
    assert refused(signal) == (False, "GET /metrics answered HTTP 503")
