"""incident_sentinel without a cluster: the recovery check as the sentinel's request, its objects, the parsing of its
log, the first run of N consecutive successes, the script's own judgement (and the script itself against a local
HTTP server), and the module's refusals before it connects."""

from __future__ import annotations

import datetime as dt
import http.server
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible.module_utils import sockshop_sentinel as sentinel
from ansible.module_utils.sockshop_incident import IncidentError
from ansible.module_utils.sockshop_sentinel import SentinelError

from plugins.modules import incident_sentinel as module

ROOT = Path(__file__).resolve().parents[3]


def confirm_of(incident: str, index: int = 0) -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "incidents" / f"incident-{incident}.yml").read_text())
    return dict(data["recovery"]["confirm"][index])


PAYMENT = confirm_of("6")
CATALOGUE = confirm_of("8")


def sample(at: str, ok: bool, status: int | None = 200) -> dict[str, Any]:
    return {"at": at, "ok": ok, "status": status, "latency_s": 0.01, "detail": "x"}


def at(second: int, ms: int = 0) -> str:
    return f"2026-11-23T08:25:{second:02d}.{ms:03d}Z"


def line(second: int, ok: bool, **extra: Any) -> str:
    return json.dumps({"at": at(second), "ok": ok, "status": 200, "latency_s": 0.01, "detail": "d", **extra})


# ---------------------------------------------------------------- names and times


@pytest.mark.parametrize(
    ("incident", "expected"),
    [
        ("6", "sockshop-incident-6-sentinel"),
        ("6B", "sockshop-incident-6b-sentinel"),
        (" 8C ", "sockshop-incident-8c-sentinel"),
        ("", SentinelError),
        ("6 B", SentinelError),
        ("6_b", SentinelError),
        ("x" * 60, SentinelError),
        (None, SentinelError),
        (6, SentinelError),
    ],
)
def test_sentinel_name(incident: Any, expected: Any) -> None:
    if expected is SentinelError:
        with pytest.raises(SentinelError, match="incident_id"):
            sentinel.sentinel_name(incident)
    else:
        assert sentinel.sentinel_name(incident) == expected


UTC = dt.UTC


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T08:24:46.000Z", dt.datetime(2026, 11, 23, 8, 24, 46, tzinfo=UTC)),
        ("2026-11-23T08:24:46Z", dt.datetime(2026, 11, 23, 8, 24, 46, tzinfo=UTC)),
        ("2026-11-23T08:24:46.123456789Z", dt.datetime(2026, 11, 23, 8, 24, 46, 123456, tzinfo=UTC)),
        ("2026-11-23T08:24:46.5", dt.datetime(2026, 11, 23, 8, 24, 46, 500000, tzinfo=UTC)),  # naive: UTC
        ("2026-11-23T10:24:46+02:00", dt.datetime(2026, 11, 23, 8, 24, 46, tzinfo=UTC)),
        ("2026-11-23T03:24:46-0500", dt.datetime(2026, 11, 23, 8, 24, 46, tzinfo=UTC)),
        ("yesterday", SentinelError),
        ("2026-11-23", SentinelError),
        ("2026-13-01T00:00:00Z", SentinelError),
        ("2026-11-23 08:24:46Z", SentinelError),
        ("", SentinelError),
        (None, SentinelError),
        (1732350286, SentinelError),
    ],
)
def test_parse_time(text: Any, expected: Any) -> None:
    if expected is SentinelError:
        with pytest.raises(SentinelError, match="since"):
            sentinel.parse_time(text)
    else:
        assert sentinel.parse_time(text) == expected


def test_iso_is_utc_with_milliseconds() -> None:
    moment = dt.datetime(2026, 11, 23, 10, 24, 46, 123999, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert sentinel.iso(moment) == "2026-11-23T08:24:46.123Z"


# ---------------------------------------------------------------- the recovery check as a request


def test_payment_probe_of_incident_6() -> None:
    spec = sentinel.probe_spec(PAYMENT, "sock-shop")
    assert spec["name"] == "payments authorised again"
    assert (spec["kind"], spec["method"]) == ("probe", "POST")
    assert spec["url"] == "http://payment.sock-shop.svc:80/paymentAuth"
    assert json.loads(spec["body"]) == {"amount": 50.0}
    assert spec["headers"]["Content-Type"] == "application/json"
    assert spec["success"] == {
        "authorised": True,
        "message_contains": "Payment authorized (charge: ch_",
        "latency": [],
    }


def test_http_check_of_incident_8() -> None:
    spec = sentinel.probe_spec(CATALOGUE, "shop")
    assert (spec["kind"], spec["method"], spec["body"]) == ("http", "GET", None)
    assert spec["url"] == "http://catalogue.shop.svc:80/catalogue"
    assert spec["success"] == {"status": [200], "latency": [["lt", 0.3]]}


RECOVERY_CHECKS = [
    (path.stem, index, entry)
    for path in sorted((ROOT / "incidents").glob("incident-*.yml"))
    for index, entry in enumerate(yaml.safe_load(path.read_text())["recovery"]["confirm"])
]


@pytest.mark.parametrize(
    ("incident", "index", "entry"), RECOVERY_CHECKS, ids=[f"{i}-{n}" for i, n, _ in RECOVERY_CHECKS]
)
def test_every_recovery_check_of_the_catalog_is_probed_or_refused_by_name(
    incident: str, index: int, entry: dict[str, Any]
) -> None:
    if entry["kind"] in ("probe", "http"):
        spec = sentinel.probe_spec(entry, "sock-shop")
        assert spec["url"].startswith(f"http://{entry['check']['service']}.sock-shop.svc:")
    else:
        with pytest.raises(SentinelError, match=f"kind '{entry['kind']}'.*supports probe and http"):
            sentinel.probe_spec(entry, "sock-shop")


def with_check(base: dict[str, Any], **check: Any) -> dict[str, Any]:
    return {**base, "check": {**base["check"], **check}}


@pytest.mark.parametrize(
    ("confirm", "namespace", "expected"),
    [
        (with_check(PAYMENT, amount="19.999"), "sock-shop", {"body": {"amount": 20.0}}),
        (with_check(PAYMENT, amount=0.005), "sock-shop", {"body": {"amount": 0.01}}),
        (with_check(PAYMENT, port=8080), "sock-shop", {"url": "http://payment.sock-shop.svc:8080/paymentAuth"}),
        (
            with_check(PAYMENT, expect={"max_latency_s": 2, "min_latency_s": 0.1}),
            "s",
            {"success": {"authorised": True, "latency": [["le", 2.0], ["ge", 0.1]]}},
        ),
        (
            with_check(CATALOGUE, method="post", status=[200, 201], body_contains="sock"),
            "s",
            {"method": "POST", "success": {"status": [200, 201], "latency": [["lt", 0.3]], "body_contains": "sock"}},
        ),
        ({**CATALOGUE, "check": {"service": "front-end", "path": "/"}}, "s", {"success": {"latency": []}}),
        ({**PAYMENT, "kind": "orders"}, "s", "kind 'orders'.*supports probe and http"),
        ({**PAYMENT, "kind": None}, "s", "kind None"),
        ({**PAYMENT, "extra": 1}, "s", "unknown field.*extra"),
        ({**PAYMENT, "check": "payment"}, "s", "check.check must be the mapping"),
        ({k: v for k, v in PAYMENT.items() if k != "name"}, "s", "check.name"),
        ("payments authorised again", "s", "one recovery.confirm entry"),
        (PAYMENT, "Sock Shop", "target_namespace"),
        (with_check(PAYMENT, amount=0), "s", "amount must be above 0"),
        (with_check(PAYMENT, amount="fifty"), "s", "amount must be an amount of money"),
        (with_check(PAYMENT, amount=True), "s", "amount must be an amount of money"),
        ({**PAYMENT, "check": {"service": "payment"}}, "s", "amount is required"),
        (with_check(PAYMENT, port=0), "s", "port"),
        (with_check(PAYMENT, port="80"), "s", "port"),
        (with_check(PAYMENT, service="Payment"), "s", "service"),
        (with_check(PAYMENT, card={"number": "1"}), "s", "unknown field.*card"),
        (with_check(PAYMENT, expect={"authorised": "yes"}), "s", "authorised must be true or false"),
        (with_check(PAYMENT, expect={"classification": "declined"}), "s", "classification 'declined'"),
        (with_check(PAYMENT, expect={"authorised": False, "classification": "authorised"}), "s", "not a recovery"),
        (with_check(PAYMENT, expect={"max_latency_s": "fast"}), "s", "max_latency_s must be a number"),
        (with_check(PAYMENT, expect={"message_contains": ""}), "s", "message_contains"),
        (with_check(PAYMENT, expect=["authorised"]), "s", "expect must be a mapping"),
        (with_check(CATALOGUE, path="catalogue"), "s", "path must be a path starting with /"),
        (with_check(CATALOGUE, method="DELETE"), "s", "method must be GET or POST"),
        (with_check(CATALOGUE, status=200), "s", "status must be a non-empty list"),
        (with_check(CATALOGUE, status=[]), "s", "status must be a non-empty list"),
        (with_check(CATALOGUE, status=[True]), "s", "status must be a non-empty list"),
        (with_check(CATALOGUE, latency_s={"op": "fast", "value": 1}), "s", "latency_s must be"),
        (with_check(CATALOGUE, latency_s={"op": "lt"}), "s", "latency_s must be"),
        (with_check(CATALOGUE, latency_s={"op": "lt", "value": "1"}), "s", "latency_s.value must be a number"),
        (with_check(CATALOGUE, body_contains=5), "s", "body_contains"),
    ],
)
def test_probe_spec(confirm: Any, namespace: str, expected: Any) -> None:
    if isinstance(expected, str):
        with pytest.raises(SentinelError, match=expected):
            sentinel.probe_spec(confirm, namespace)
        return
    spec = sentinel.probe_spec(confirm, namespace)
    for key, value in expected.items():
        assert (json.loads(spec[key]) if key == "body" else spec[key]) == value


# ---------------------------------------------------------------- the objects


def test_manifests() -> None:
    configmap, deployment = sentinel.manifests("6B", "sock-shop-incidents", "sock-shop", PAYMENT)
    name = "sockshop-incident-6b-sentinel"
    wanted_labels = {
        "app.kubernetes.io/managed-by": "sockshop-incidents",
        "sockshop.io/role": "sentinel",
        "sockshop.io/incident": "6B",
    }
    for obj in (configmap, deployment):
        assert obj["metadata"]["name"] == name and obj["metadata"]["namespace"] == "sock-shop-incidents"
        assert obj["metadata"]["labels"] == wanted_labels
    assert configmap["data"] == {"sentinel.py": sentinel.SCRIPT}
    spec = deployment["spec"]
    assert spec["replicas"] == 1
    assert spec["selector"] == {"matchLabels": {"sockshop.io/role": "sentinel", "sockshop.io/incident": "6B"}}
    pod = spec["template"]
    assert pod["metadata"]["labels"] == wanted_labels
    container = pod["spec"]["containers"][0]
    assert container["image"] == "python:3.12-slim"
    assert container["command"] == ["python3", "/sentinel/sentinel.py"]
    assert container["volumeMounts"] == [{"name": "script", "mountPath": "/sentinel", "readOnly": True}]
    assert pod["spec"]["volumes"] == [{"name": "script", "configMap": {"name": name}}]
    assert pod["spec"]["automountServiceAccountToken"] is False
    assert container["securityContext"]["runAsNonRoot"] is True
    env = {e["name"]: e["value"] for e in container["env"]}
    assert json.loads(env["SENTINEL_CHECK"]) == sentinel.probe_spec(PAYMENT, "sock-shop")
    assert (env["SENTINEL_INTERVAL_S"], env["SENTINEL_TIMEOUT_S"]) == ("1", "2")
    digests = {obj["metadata"]["annotations"][sentinel.DIGEST] for obj in (configmap, deployment, pod)}
    assert len(digests) == 1


def digest(*args: Any, **kwargs: Any) -> str:
    return str(sentinel.manifests(*args, **kwargs)[1]["metadata"]["annotations"][sentinel.DIGEST])


def test_the_digest_changes_with_what_the_sentinel_does_only() -> None:
    same = digest("6", "st", "sock-shop", PAYMENT)
    assert digest("6", "st", "sock-shop", dict(PAYMENT)) == same
    assert digest("6", "st", "sock-shop", with_check(PAYMENT, amount=20)) != same
    assert digest("6", "st", "sock-shop", PAYMENT, interval_s=2) != same
    assert digest("6", "st", "other", PAYMENT) != same


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"interval_s": 0}, "interval_s must be above 0"),
        ({"interval_s": 61}, "interval_s must be 60 or less"),
        ({"timeout_s": -1}, "timeout_s must be above 0"),
        ({"timeout_s": "2"}, "timeout_s must be a number"),
    ],
)
def test_manifests_refuse_bad_options(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(SentinelError, match=match):
        sentinel.manifests("6", "st", "sock-shop", PAYMENT, **kwargs)


def test_manifests_refuse_a_bad_namespace() -> None:
    with pytest.raises(SentinelError, match="namespace must be"):
        sentinel.manifests("6", "State NS", "sock-shop", PAYMENT)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (None, False),
        ("missing", True),
        ("digest", True),
        ("replicas", True),
    ],
)
def test_differs(change: str | None, expected: bool) -> None:
    wanted = sentinel.manifests("6", "st", "sock-shop", PAYMENT)[1]
    live: Any = json.loads(json.dumps(wanted))
    live["metadata"]["resourceVersion"] = "7"
    if change == "missing":
        live = None
    elif change == "digest":
        live["metadata"]["annotations"][sentinel.DIGEST] = "0" * 16
    elif change == "replicas":
        live["spec"]["replicas"] = 0
    assert sentinel.differs(live, wanted) is expected


# ---------------------------------------------------------------- the samples

STAMP = "2026-11-23T08:25:00.123456789Z"


@pytest.mark.parametrize(
    ("log", "expected"),
    [
        ("", []),
        ("\n\n", []),
        ("Traceback (most recent call last):\n  File x\nValueError: boom\n", []),
        (line(1, True), [(at(1), True)]),
        (f"{STAMP} {line(1, False)}\n{STAMP} {line(2, True)}\n", [(at(1), False), (at(2), True)]),
        (f"garbage\n{line(1, True)}\n{{not json\n[1, 2]\n{line(2, False)}\n", [(at(1), True), (at(2), False)]),
        (json.dumps({"at": at(1), "ok": "yes"}), []),  # ok must be a bool
        (json.dumps({"at": "noon", "ok": True}), []),  # at must be a time
        (json.dumps({"ok": True}), []),
        (line(1, True)[:-5], []),  # a half-written line
        (f"{STAMP} ", []),
    ],
)
def test_parse_samples(log: str, expected: list[tuple[str, bool]]) -> None:
    assert [(s["at"], s["ok"]) for s in sentinel.parse_samples(log)] == expected


def test_parse_samples_keeps_the_fields_and_drops_bad_types() -> None:
    (got,) = sentinel.parse_samples(line(1, True, status="200", latency_s=True, detail=None))
    assert got == {"at": at(1), "ok": True, "status": None, "latency_s": None, "detail": "None"}


def test_merge_orders_samples_of_several_logs_by_time() -> None:
    older = f"{line(3, True)}\n{line(5, True)}"
    newer = f"{line(4, False)}\n{line(6, True)}"
    assert [s["at"] for s in sentinel.merge(older, newer)] == [at(3), at(4), at(5), at(6)]


def samples(pattern: str, start: int = 0) -> list[dict[str, Any]]:
    """One sample a second from `start`: 'x' failed, 'o' ok."""
    return [sample(at(start + i), c == "o") for i, c in enumerate(pattern)]


@pytest.mark.parametrize(
    ("pattern", "consecutive", "since", "mitigated", "ttm"),
    [
        ("", 3, at(0), None, None),  # empty log
        ("xxxxx", 3, at(0), None, None),  # never came back
        ("xxooo", 3, at(0), 2, 2.0),
        ("xoxooxooo", 3, at(0), 6, 6.0),  # interleaved failures break the runs
        ("xoxooxoo", 3, at(0), None, None),  # the last run is too short
        ("xxoxo", 1, at(0), 2, 2.0),  # consecutive=1: the first success
        ("oooxxooo", 3, at(1), 5, 4.0),  # a run that started before since does not count
        ("oooxxooo", 3, at(0, 500), 5, 4.5),  # nor does part of one: the 1st sample is before since
        ("ooooo", 3, at(1, 1), 2, 1.0),  # the run starts at the first sample at or after since
        ("ooooo", 3, at(9), None, None),  # since after all samples
        ("xxooo", 3, None, 2, None),  # no since: every sample counts, no time to mitigate
        ("xxooo", 6, at(0), None, None),  # more than there are
    ],
)
def test_first_run_and_summary(
    pattern: str, consecutive: int, since: str | None, mitigated: int | None, ttm: float | None
) -> None:
    got = sentinel.summarize(samples(pattern), consecutive, since)
    assert got["mitigated_at"] == (at(mitigated) if mitigated is not None else None)
    assert got["ttm_s"] == ttm
    assert (got["samples"], got["successes"], got["failures"]) == (len(pattern), pattern.count("o"), pattern.count("x"))
    assert got["first_at"] == (at(0) if pattern else None)
    assert got["last_at"] == (at(len(pattern) - 1) if pattern else None)
    assert got["last"] == (samples(pattern)[-1] if pattern else None)


def test_ttm_is_rounded_to_a_tenth() -> None:
    got = sentinel.summarize([sample("2026-11-23T08:25:03.349Z", True)], 1, "2026-11-23T08:25:00.000Z")
    assert got["ttm_s"] == 3.3


@pytest.mark.parametrize(
    ("consecutive", "since", "match"),
    [
        (0, None, "consecutive must be"),
        (-2, None, "consecutive must be"),
        (True, None, "consecutive must be"),
        ("3", None, "consecutive must be"),
        (3, "last tuesday", "since must be an ISO-8601 UTC time"),
        (3, "2026-11-23", "since must be an ISO-8601 UTC time"),
    ],
)
def test_summary_refuses_bad_input(consecutive: Any, since: Any, match: str) -> None:
    with pytest.raises(SentinelError, match=match):
        sentinel.summarize(samples("ooo"), consecutive, since)


# ---------------------------------------------------------------- the script


@pytest.fixture(scope="module")
def script() -> dict[str, Any]:
    namespace: dict[str, Any] = {"__name__": "sentinel_script"}
    exec(compile(sentinel.SCRIPT, "sentinel.py", "exec"), namespace)
    return namespace


PROBE_SPEC = sentinel.probe_spec(PAYMENT, "sock-shop")
HTTP_SPEC = sentinel.probe_spec(CATALOGUE, "sock-shop")
AUTHORISED = json.dumps({"authorised": True, "message": "Payment authorized (charge: ch_1)"}).encode()
DECLINED = json.dumps({"authorised": False, "message": "Payment gateway error: connection refused"}).encode()


ANSWER = tuple[int | None, bytes, float, str | None]  # status, body, latency, transport error


@pytest.mark.parametrize(
    ("spec", "answer", "ok", "detail"),
    [
        (PROBE_SPEC, (200, AUTHORISED, 0.01, None), True, "authorised: Payment authorized"),
        (PROBE_SPEC, (200, DECLINED, 0.01, None), False, "authorised=false: Payment gateway error"),
        (PROBE_SPEC, (200, b'{"authorised": true, "message": "ok"}', 0.01, None), False, "message lacks"),
        (PROBE_SPEC, (200, b"<html>", 0.01, None), False, "not a payment result"),
        (PROBE_SPEC, (200, b'{"authorised": "true"}', 0.01, None), False, "not a payment result"),
        (PROBE_SPEC, (503, b"no endpoints available", 0.01, None), False, "HTTP 503: no endpoints"),
        (PROBE_SPEC, (None, b"", 0.0, "connection refused"), False, "connection refused"),
        (HTTP_SPEC, (200, b"[]", 0.05, None), True, "HTTP 200"),
        (HTTP_SPEC, (200, b"[]", 0.5, None), False, "HTTP 200, latency 0.500s not lt 0.3"),
        (HTTP_SPEC, (500, b"oops", 0.05, None), False, "HTTP 500 (want 200): oops"),
        (HTTP_SPEC, (None, b"", 2.0, "timeout: no answer within 2s"), False, "timeout"),
        ({**HTTP_SPEC, "success": {"latency": []}}, (404, b"", 0.05, None), True, "HTTP 404"),
        (
            {**HTTP_SPEC, "success": {"latency": [], "body_contains": "sock"}},
            (200, b"[]", 0.1, None),
            False,
            "HTTP 200, body",
        ),
    ],
)
def test_script_judges_an_answer(
    script: dict[str, Any], spec: dict[str, Any], answer: ANSWER, ok: bool, detail: str
) -> None:
    got_ok, got_detail = script["judge"](spec, *answer)
    assert got_ok is ok
    assert got_detail.startswith(detail) and len(got_detail) <= 100


class Payment(http.server.BaseHTTPRequestHandler):
    """A payment service that authorises every other request and records the bodies it got."""

    bodies: list[Any] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Payment.bodies.append((self.path, body))
        answer = AUTHORISED if len(Payment.bodies) % 2 else DECLINED
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def payment() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Payment)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_the_script_samples_every_interval_and_stops_on_sigterm(payment: int, tmp_path: Path) -> None:
    """The program itself, as the pod runs it: a line a sample at the interval, flushed at once; SIGTERM stops it."""
    Payment.bodies.clear()
    spec = dict(PROBE_SPEC, url=f"http://127.0.0.1:{payment}/paymentAuth")
    path = tmp_path / "sentinel.py"
    path.write_text(sentinel.SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env.update(SENTINEL_CHECK=json.dumps(spec), SENTINEL_INTERVAL_S="0.2", SENTINEL_TIMEOUT_S="1")
    proc = subprocess.Popen([sys.executable, str(path)], env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(4)]  # flushed per line, or this blocks
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    got = [sentinel.parse_samples(text)[0] for text in lines]
    assert [s["ok"] for s in got] == [True, False, True, False]
    assert got[1]["detail"].startswith("authorised=false: Payment gateway error")
    assert Payment.bodies[0] == ("/paymentAuth", {"amount": 50.0})
    times = [sentinel.parse_time(s["at"]) for s in got]
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(0.15 <= gap <= 0.5 for gap in gaps), gaps


def test_the_script_records_a_refused_connection(script: dict[str, Any]) -> None:
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    got = script["sample"](dict(HTTP_SPEC, url=f"http://127.0.0.1:{port}/catalogue"), 1.0)
    assert (got["ok"], got["status"], got["detail"]) == (False, None, "connection refused")
    assert sentinel.parse_time(got["at"], "at") <= dt.datetime.now(dt.UTC)


@pytest.mark.parametrize(
    ("error", "detail"),
    [
        (socket.gaierror(socket.EAI_NONAME, "Name or service not known"), "dns: Name or service not known"),
        (TimeoutError("timed out"), "timeout: no answer within 2s"),
        (ConnectionRefusedError(111, "Connection refused"), "connection refused"),
        (ConnectionResetError(104, "reset"), "ConnectionResetError: [Errno 104] reset"),
        ("Remote end closed connection", "Remote end closed connection"),
    ],
)
def test_the_script_names_a_transport_error(script: dict[str, Any], error: Any, detail: str) -> None:
    assert script["reason_of"](error, 2.0) == detail


# ---------------------------------------------------------------- the module's refusals, before it connects


def params(**changes: Any) -> dict[str, Any]:
    return {"incident_id": "6", "namespace": "sock-shop-incidents", "target_namespace": "sock-shop",
            "state": "present", "check": PAYMENT, "interval_s": 1.0, "timeout_s": 2.0, "consecutive": 3,
            "since": None, "wait_s": 60.0, **changes}  # fmt: skip


def never() -> Any:
    raise AssertionError("connected although the arguments are refused")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"check": {**PAYMENT, "kind": "pod_log"}}, "supports probe and http"),
        ({"check": None}, "state=present needs check"),
        ({"incident_id": "6 B"}, "incident_id"),
        ({"interval_s": 0.0}, "interval_s must be above 0"),
        ({"wait_s": 0.0}, "wait_s must be above 0"),
        ({"state": "read", "since": "soon"}, "since must be an ISO-8601 UTC time"),
        ({"state": "read", "consecutive": 0}, "consecutive must be"),
    ],
)
def test_run_refuses_before_it_connects(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(IncidentError, match=match):
        module.run(params(**changes), False, never)


@pytest.mark.parametrize("confirm", [PAYMENT, CATALOGUE], ids=["probe", "http"])
def test_the_manifests_are_valid_kubernetes_objects(confirm: dict[str, Any]) -> None:
    """What a real cluster (KIND) takes: the objects pass the API's own schemas, unknown fields refused."""
    import kubernetes_validate

    from tests.unit.test_manifests import K8S_VERSION

    for obj in sentinel.manifests("6B", "sock-shop-incidents", "sock-shop", confirm):
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
