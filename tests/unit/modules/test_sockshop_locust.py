"""sockshop_locust: scaled users, the generated locustfile (safe against any text), the Job's objects, Locust's
/stats/requests in seconds, the load verdict, and one real Locust run against a local server.

Locust monkey-patches the interpreter that imports it (gevent), so the real Locust only ever runs in a
subprocess; in this process the generated source runs against a stand-in `locust` module."""

from __future__ import annotations

import ast
import contextlib
import http.server
import json
import math
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import types
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.sockshop_locust import judge_load, locustfile, manifests, scaled, summarize

HYBRID_IDS = [
    "03fef6ac-1896-4ce8-bd69-b798f85c6e0b",
    "510a0d7e-8e83-4193-b483-e27e09ddc34d",
    "808a2de1-1aaa-4c25-a9b9-6612e8f29a38",
    "d3588630-ad8e-49df-bbd7-3167f7efb246",
]
HYBRID_TASKS: list[dict[str, Any]] = [
    {"method": "GET", "path": "/catalogue", "weight": 5},
    {"method": "GET", "path": "/catalogue/{id}", "ids": HYBRID_IDS, "weight": 3},
    {"method": "GET", "path": "/basket.html", "weight": 2},
    {"method": "GET", "path": "/login", "auth": ["user", "password"]},
]


def pure_latency(**changes: Any) -> dict[str, Any]:
    """The lab's pure-latency load (its INCIDENT-4 job) as an incident file holds it."""
    load = {
        "type": "load",
        "job": "locust-pure-latency-test",
        "configmap": "locustfile-pure-latency",
        "users": 500,
        "spawn_rate": 40,
        "run_time": "8m",
        "wait_s": {"min": 1, "max": 3},
        "tasks": HYBRID_TASKS,
        "failure": {"slower_than_s": 5},
    }
    load.update(changes)
    return load


# ---------------------------------------------------------------- scaled


@pytest.mark.parametrize(
    ("users", "rate", "factor", "expected"),
    [
        (500, 40, 0.4, (200, 16)),  # INCIDENT-4 on the local inventory
        (3000, 300, 0.4, (1200, 120)),
        (750, 50, 0.4, (300, 20)),
        (350, 30, 0.4, (140, 12)),
        (400, 35, 0.4, (160, 14)),
        (30, 5, 1.0, (30, 5)),  # factor 1: unchanged
        (5, 2.5, 0.5, (3, 1.25)),  # 2.5 users round half up; a fractional rate stays fractional
        (1, 1, 0.4, (1, 1)),  # at least 1 user, at least 1 per second
        (3, 1, 0.01, (1, 1)),
        (10, 0.5, 1.0, (10, 1)),  # a rate below 1 is raised to 1
        (2, 5, 1.0, (2, 2)),  # never spawn faster than there are users
        (4, 100, 0.5, (2, 2)),
        (100, 3, 0.4, (40, 1.2)),  # 3 * 0.4 is 1.2000000000000002 in binary floating point
        (100, 6, 0.3, (30, 1.8)),  # and 6 * 0.3 is 1.7999999999999998
    ],
)
def test_scaled(users: int, rate: float, factor: float, expected: tuple[int, float]) -> None:
    got = scaled(users, rate, factor)
    assert got == expected and isinstance(got[0], int) and isinstance(got[1], float)


@pytest.mark.parametrize(
    ("users", "rate", "factor", "message"),
    [
        (0, 1, 1.0, "users must be an integer >= 1"),
        (-5, 1, 1.0, "users must be an integer >= 1"),
        (True, 1, 1.0, "users must be an integer >= 1"),
        (1.5, 1, 1.0, "users must be an integer >= 1"),
        ("50", 1, 1.0, "users must be an integer >= 1"),
        (50, 0, 1.0, "spawn_rate must be > 0"),
        (50, -1, 1.0, "spawn_rate must be > 0"),
        (50, math.nan, 1.0, "spawn_rate must be a number"),
        (50, "5", 1.0, "spawn_rate must be a number"),
        (50, 5, 0, "users factor must be > 0"),
        (50, 5, -0.4, "users factor must be > 0"),
        (50, 5, math.inf, "users factor must be a number"),
        (50, 5, None, "users factor must be a number"),
    ],
)
def test_scaled_refuses(users: Any, rate: Any, factor: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        scaled(users, rate, factor)


# ---------------------------------------------------------------- locustfile, run against a stand-in locust


class FakeResponse:
    def __init__(self, status: int, error: Exception | None = None) -> None:
        self.status_code = status
        self.error = error
        self.failed: str | None = None

    def failure(self, text: str) -> None:
        self.failed = text

    def __enter__(self) -> FakeResponse:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class FakeClient:
    def __init__(self, response: FakeResponse | None = None) -> None:
        self.response = response or FakeResponse(200)
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> FakeResponse:
        self.calls.append((method, url, kwargs))
        return self.response


def stand_in_locust() -> types.ModuleType:
    module = types.ModuleType("locust")
    module.HttpUser = type("HttpUser", (), {})  # type: ignore[attr-defined]
    module.between = lambda low, high: ("between", low, high)  # type: ignore[attr-defined]
    module.constant = lambda value: ("constant", value)  # type: ignore[attr-defined]
    module.events = types.SimpleNamespace(init=types.SimpleNamespace(add_listener=lambda f: f))  # type: ignore[attr-defined]
    module.LoadTestShape = StandInShape  # type: ignore[attr-defined]
    return module


class StandInShape:
    """Locust's LoadTestShape as the generated shape uses it: a runner, and a run time the test sets."""

    runner: Any = None
    clock = 0.0

    def get_run_time(self) -> float:
        return self.clock


def run_source(source: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Compile and exec a generated locustfile with the stand-in locust; its module namespace."""
    monkeypatch.setitem(sys.modules, "locust", stand_in_locust())
    namespace: dict[str, Any] = {"__name__": "locustfile"}
    exec(compile(source, "locustfile.py", "exec"), namespace)
    return namespace


def tasks_of(namespace: dict[str, Any]) -> list[tuple[Callable[[Any], None], int]]:
    return list(namespace["IncidentUser"].tasks.items())


def call(task: Callable[[Any], None], namespace: dict[str, Any], client: FakeClient, took: float = 0.01) -> None:
    """Run one task as a user whose request takes `took` seconds on the locustfile's clock."""
    ticks = iter([100.0, 100.0 + took])
    namespace["time"] = types.SimpleNamespace(perf_counter=lambda: next(ticks))
    task(types.SimpleNamespace(client=client))


def test_locustfile_tasks_weights_and_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = run_source(locustfile(pure_latency()), monkeypatch)
    user = namespace["IncidentUser"]
    assert user.wait_time == ("between", 1.0, 3.0)
    assert [(task.__name__, weight) for task, weight in tasks_of(namespace)] == [
        ("GET /catalogue", 5),
        ("GET /catalogue/{id}", 3),
        ("GET /basket.html", 2),
        ("GET /login", 1),
    ]
    assert run_source(locustfile(pure_latency(wait_s={"constant": 0.5})), monkeypatch)["IncidentUser"].wait_time == (
        "constant",
        0.5,
    )


def test_locustfile_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each task's request: method, url (ids substituted at random, the name keeps {id}), name, timeout, body,
    Basic auth."""
    load = pure_latency(
        tasks=[
            {"method": "GET", "path": "/catalogue"},
            {"method": "GET", "path": "/catalogue/{id}", "ids": ["a", "b"]},
            {"method": "POST", "path": "/cart", "json": {"id": "test-item", "n": [1, None, True]}, "timeout_s": 2},
            {"method": "GET", "path": "/login", "name": "Login Page", "auth": ["user", "password"]},
            {"method": "DELETE", "path": "/cart/{id}", "ids": ["x"], "name": "/cart/{id}"},
        ],
        failure=None,
    )
    namespace = run_source(locustfile(load), monkeypatch)
    client = FakeClient()
    tasks = [task for task, _ in tasks_of(namespace)]
    for task in tasks:
        call(task, namespace, client)
    seen_ids = set()
    for _ in range(200):
        call(tasks[1], namespace, client)
        seen_ids.add(client.calls[-1][1])
    assert seen_ids == {"/catalogue/a", "/catalogue/b"}
    assert client.calls[:5] == [
        ("GET", "/catalogue", {"name": "/catalogue", "timeout": 30.0}),
        ("GET", client.calls[1][1], {"name": "/catalogue/{id}", "timeout": 30.0}),
        ("POST", "/cart", {"name": "/cart", "timeout": 2.0, "json": {"id": "test-item", "n": [1, None, True]}}),
        ("GET", "/login", {"name": "Login Page", "timeout": 30.0, "auth": ("user", "password")}),
        ("DELETE", "/cart/x", {"name": "/cart/{id}", "timeout": 30.0}),
    ]
    assert client.calls[1][1] in ("/catalogue/a", "/catalogue/b")


@pytest.mark.parametrize(
    ("rule", "name", "took", "case"),
    [
        # a slower answer fails with its threshold and a coarse range of its duration
        (3, "/catalogue", 4.21, (FakeResponse(200), "slower than 3 s (4-5 s)")),
        (0.2, "/catalogue", 0.31, (FakeResponse(200), "slower than 0.2 s (0.3-0.4 s)")),
        (0.2, "/catalogue", 0.3, (FakeResponse(200), "slower than 0.2 s (0.3-0.4 s)")),
        (5, "/catalogue", 23.2, (FakeResponse(302), "slower than 5 s (20-30 s)")),
        (5, "/catalogue", 135.0, (FakeResponse(200), "slower than 5 s (100-200 s)")),
        (5, "/catalogue", 9.99, (FakeResponse(200), "slower than 5 s (9-10 s)")),
        (3, "/catalogue", 2.99, (FakeResponse(200), None)),  # fast enough
        (3, "/catalogue", 3.0, (FakeResponse(200), None)),  # "slower than" is strict
        # HTTP and connection errors are left to Locust's own rule (not reported twice)
        (3, "/catalogue", 9.0, (FakeResponse(500), None)),
        (3, "/catalogue", 9.0, (FakeResponse(0, ConnectionRefusedError(111, "Connection refused")), None)),
        # per request name, with a default
        ({"default": 2, "/catalogue": 3}, "/catalogue", 2.5, (FakeResponse(200), None)),
        ({"default": 2, "/catalogue": 3}, "/basket.html", 2.5, (FakeResponse(200), "slower than 2 s (2-3 s)")),
        ({"default": 2, "/catalogue": 3}, "/catalogue", 3.5, (FakeResponse(200), "slower than 3 s (3-4 s)")),
        ({"/catalogue": 3}, "/basket.html", 60.0, (FakeResponse(200), None)),  # no default: no limit elsewhere
    ],
)
def test_locustfile_failure_rule(monkeypatch: pytest.MonkeyPatch, rule: Any, name: str, took: float, case: Any) -> None:
    response, failed = case
    load = pure_latency(tasks=[{"method": "GET", "path": "/catalogue"}, {"method": "GET", "path": "/basket.html"}])
    load["failure"] = {"slower_than_s": rule}
    namespace = run_source(locustfile(load), monkeypatch)
    task = {task.__name__: task for task, _ in tasks_of(namespace)}[f"GET {name}"]
    client = FakeClient(response)
    call(task, namespace, client, took)
    limited = not isinstance(rule, dict) or name in rule or "default" in rule
    assert client.calls[0][2].get("catch_response") is (True if limited else None)
    assert response.failed == failed


def test_locustfile_without_failure_rule_leaves_everything_to_locust(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = run_source(locustfile(pure_latency(failure=None)), monkeypatch)
    client = FakeClient()
    call(tasks_of(namespace)[0][0], namespace, client, took=600.0)
    assert client.calls == [("GET", "/catalogue", {"name": "/catalogue", "timeout": 30.0})]


HOSTILE = [
    'x"""\nimport os\nos.system("touch /tmp/pwned")\n"""',
    "x'''\n)\nraise SystemExit(3)\n#",
    '\\\\ \\" \\n {id} {{}} %s @DATA@ \x00 \u2028 \U0001f9e6',
    "')]}\n\nclass IncidentUser: pass\n",
]


def test_locustfile_cannot_be_broken_by_any_text(monkeypatch: pytest.MonkeyPatch) -> None:
    """Names, paths, ids, bodies and passwords with quotes, newlines and brackets stay data: the source has the
    same statements as a plain one, compiles, and requests exactly the text given."""
    plain = locustfile(pure_latency(tasks=[{"method": "GET", "path": "/a"}]))
    for text in HOSTILE:
        task = {
            "method": "POST",
            "path": "/" + text + "{id}",
            "name": text,
            "ids": [text],
            "json": {text: text},
            "auth": [text, text],
        }
        load = pure_latency(tasks=[task], failure={"slower_than_s": {"default": 1, text: 2}})
        source = locustfile(load)
        shape = [type(node).__name__ for node in ast.parse(source).body]
        assert shape == [type(node).__name__ for node in ast.parse(plain).body], text
        namespace = run_source(source, monkeypatch)
        [(fn, weight)] = tasks_of(namespace)
        client = FakeClient()
        call(fn, namespace, client, took=1.5)
        assert weight == 1 and fn.__name__ == f"POST {text}"
        kwargs = {"name": text, "timeout": 30.0, "json": {text: text}, "auth": (text, text), "catch_response": True}
        assert client.calls == [("POST", ("/" + text + "{id}").replace("{id}", text), kwargs)]
        assert client.response.failed is None  # its own limit (2 s), not the default (1 s)


def fake_row(
    name: str, method: str | None, counts: tuple[int, int, float], p50: float | None, p95: float | None
) -> Any:
    requests, failures, avg = counts
    percentiles = {0.5: p50, 0.95: p95}
    return types.SimpleNamespace(
        name=name, method=method, num_requests=requests, num_failures=failures, avg_response_time=avg,
        get_current_response_time_percentile=lambda q: percentiles[q],
    )  # fmt: skip


def test_locustfile_metrics_in_prometheus_format(monkeypatch: pytest.MonkeyPatch) -> None:
    """/metrics on Locust's web UI: the locust_exporter's names, labels escaped, read back by prometheus_client."""
    from prometheus_client.parser import text_string_to_metric_families

    namespace = run_source(locustfile(pure_latency()), monkeypatch)
    hostile = 'a "quoted"\\path\nname'
    total = fake_row("Aggregated", None, (30, 3, 120.0), 100.0, 900.0)
    total.fail_ratio = 0.1
    stats = types.SimpleNamespace(
        entries={("/catalogue", "GET"): fake_row("/catalogue", "GET", (20, 0, 80.0), 70.0, 200.0),
                 (hostile, "GET"): fake_row(hostile, "GET", (10, 3, 200.0), None, None)},
        total=total,
        errors={"e": types.SimpleNamespace(method="GET", name=hostile, error="Refused(111)", occurrences=3)},
    )  # fmt: skip
    text = namespace["_exposition"](types.SimpleNamespace(stats=stats, runner=types.SimpleNamespace(user_count=7)))
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("locust_users", ())] == 7
    assert samples[("locust_requests_num_requests", (("method", "GET"), ("name", "/catalogue")))] == 20
    assert samples[("locust_requests_num_failures", (("method", "GET"), ("name", hostile)))] == 3
    assert (
        samples[("locust_requests_current_response_time_percentile_95", (("method", ""), ("name", "Aggregated")))]
        == 900
    )
    assert samples[("locust_requests_current_response_time_percentile_50", (("method", "GET"), ("name", hostile)))] == 0
    assert samples[("locust_requests_fail_ratio", ())] == 0.1
    assert samples[("locust_errors", (("error", "Refused(111)"), ("method", "GET"), ("name", hostile)))] == 3
    assert len(samples) == 1 + 3 * 5 + 1 + 1


def test_locustfile_runs_under_real_locust(tmp_path: Path) -> None:
    """The real Locust's classes (in a subprocess): its User metaclass expands the {task: weight} dict into the
    weighted task list, and the wait time stays within its range."""
    script = """
import collections, json, sys
import locust  # noqa: F401  (the real one, monkey-patching this subprocess only)
results = []
for source in json.load(sys.stdin):
    namespace = {"__name__": "locustfile"}
    exec(compile(source, "locustfile.py", "exec"), namespace)
    user = namespace["IncidentUser"]
    waits = [user.wait_time(None) for _ in range(300)]
    results.append({
        "base": user.__mro__[1].__name__,
        "tasks": dict(collections.Counter(task.__name__ for task in user.tasks)),
        "wait": [min(waits), max(waits)],
    })
json.dump(results, sys.stdout)
"""
    sources = [
        locustfile(pure_latency()),
        locustfile(pure_latency(wait_s={"constant": 0.25}, tasks=[{"method": "GET", "path": "/", "name": HOSTILE[0]}])),
    ]
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(sources),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    hybrid, hostile = json.loads(done.stdout)
    assert hybrid["base"] == "HttpUser"
    assert hybrid["tasks"] == {"GET /catalogue": 5, "GET /catalogue/{id}": 3, "GET /basket.html": 2, "GET /login": 1}
    assert 1.0 <= hybrid["wait"][0] < 1.3 and 2.7 < hybrid["wait"][1] <= 3.0
    assert hostile == {"base": "HttpUser", "tasks": {f"GET {HOSTILE[0]}": 1}, "wait": [0.25, 0.25]}


def knee(users: int, at: int = 600, per_second: int = 100) -> float:
    """A shop's p95 (s) under `users`: flat below its knee, then 1 s more per `per_second` users."""
    return 0.05 if users < at else (users - at) / per_second


def drive(
    shape: Any,
    seconds: int,
    *,
    ceiling: int = 900,
    rate: float = 20,
    slower_from: int | None = None,
    slower_knee: int = 500,
    spike: range = range(0),
    per_second: int = 100,
) -> list[tuple[int, float, int]]:
    """Tick a shape once a second against knee(), whose p95 shows the users of 5 s before (Locust's current p95
    is a 10 s window), whose knee drops to `slower_knee` from second `slower_from` (a busier machine, a front-end
    just restarted), and whose p95 is 2 s
    whatever the users during the seconds of `spike`; p95 rises 1 s per `per_second` users past the knee;
    (second, p95, users) each second, users moving to the
    shape's target at the rate it returns (`rate` is --spawn-rate), at once when it is lower."""
    users, history = 0.0, [0] * 5
    seen: list[tuple[int, float, int]] = []
    shape.runner = types.SimpleNamespace(
        user_count=0,
        stats=types.SimpleNamespace(
            total=types.SimpleNamespace(
                get_current_response_time_percentile=None, current_fail_per_sec=0, current_rps=1
            )
        ),
        environment=types.SimpleNamespace(
            parsed_options=types.SimpleNamespace(num_users=ceiling, spawn_rate=rate, run_time=seconds)
        ),
    )
    for second in range(seconds + 1):
        p95 = (
            2.0
            if second in spike
            else knee(
                history[-5], slower_knee if slower_from is not None and second >= slower_from else 600, per_second
            )
        )
        shape.runner.user_count = int(users)
        shape.runner.stats.total.get_current_response_time_percentile = lambda _q, p=p95: p * 1000
        shape.clock = float(second)
        tick = shape.tick()
        if tick is None:
            return seen
        target, spawn_rate = tick
        users = min(target, users + spawn_rate) if target > users else target
        history.append(int(users))
        seen.append((second, p95, int(users)))
    raise AssertionError("the shape did not end at its run time")


def test_locustfile_without_a_hold_has_no_shape(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = run_source(locustfile(pure_latency()), monkeypatch)
    assert namespace["HOLD"] is None and "HoldLatency" not in namespace


@pytest.mark.parametrize(
    ("rate", "slower_from", "slower_knee", "spike"),
    [
        (20, None, 500, range(0)),
        (26, None, 500, range(0)),
        (20, 150, 500, range(0)),
        (20, 150, 420, range(0)),
        (20, None, 500, range(8, 12)),
    ],
    ids=["steady", "catalog-rate", "knee-moves", "knee-drops", "early-spike"],
)
def test_a_hold_finds_the_knee_and_keeps_p95_in_its_range(
    monkeypatch: pytest.MonkeyPatch, rate: float, slower_from: Any, slower_knee: int, spike: range
) -> None:
    namespace = run_source(locustfile(pure_latency(hold_p95_s={"min": 1.0, "max": 1.5})), monkeypatch)
    seen = drive(
        namespace["HoldLatency"](), 400, rate=rate, slower_from=slower_from, slower_knee=slower_knee, spike=spike
    )
    first = next(second for second, p95, users in seen if p95 >= 1.0 and users > 600)  # the knee, not the spike
    assert first <= 45 + (25 if spike else 0), seen[:90]  # 700 users at 20 a second, seen 5 s later, then slowly
    moved = slower_from or 400
    # The ramp stops at a queue's onset (p95 a quarter of min) and comes to the knee slowly: p95 passes max
    # only by a step's worth, and not for long. At the full rate to min it would reach 2.3 s (830 users).
    found = [p95 for second, p95, _users in seen if first <= second < moved]
    assert max(found) <= 1.6 and sum(1 for p95 in found if p95 > 1.5) <= 5, seen[first : first + 30]
    # A knee that drops far under the users held (2.8 s at 420) is drained at once, not stepped down from.
    after = [p95 for second, p95, _users in seen if moved + 5 <= second < moved + 20]
    assert sum(1 for p95 in after if p95 > 2.0) <= 5, seen[moved : moved + 30]
    for start, end in ((first + 60, moved), (moved + 60, 400)):  # a minute after the knee was found, or moved
        settled = [(p95, users) for second, p95, users in seen if start <= second < end]
        assert all(1.0 - 0.3 <= p95 <= 1.5 + 0.3 for p95, _users in settled), settled  # in range, give or take a step
    assert max(users for _s, _p, users in seen) < 800  # never near the ceiling (900): it stopped at the knee
    assert seen[-1][0] == 399  # and ended at its run time (400 s)


def test_a_hold_at_a_sharp_knee_holds_no_more_users_than_it_went_back_to(monkeypatch: pytest.MonkeyPatch) -> None:
    """p95 from a quarter second to a second in 8 users (measured live: 2 s after the onset): the hold starts at
    the users the onset went back to, not at the ramp's of 5 s before, which would drain at once."""
    namespace = run_source(locustfile(pure_latency(hold_p95_s={"min": 1.0, "max": 1.5})), monkeypatch)
    shape = namespace["HoldLatency"]()
    seen = drive(shape, 120, rate=26, per_second=10)
    back = next(i for i in range(1, len(seen)) if seen[i][2] < seen[i - 1][2])  # the ramp went back at the onset
    assert max(users for _s, _p, users in seen[back : back + 10]) <= seen[back][2], seen[back - 2 : back + 20]


def test_a_hold_reads_mostly_failing_requests_as_past_the_knee(monkeypatch: pytest.MonkeyPatch) -> None:
    """A front-end that refuses connections answers fast: that is no reason to add users."""
    namespace = run_source(locustfile(pure_latency(hold_p95_s={"min": 1.0, "max": 1.5})), monkeypatch)
    shape = namespace["HoldLatency"]()
    drive(shape, 120)  # held at the knee, about 700 users
    held = shape.target
    assert shape.phase == "hold" and 650 <= held <= 750, (shape.phase, held)
    shape.runner.stats.total = types.SimpleNamespace(
        get_current_response_time_percentile=lambda _q: 11, current_fail_per_sec=90, current_rps=100
    )
    shape.runner.environment.parsed_options.run_time, shape.clock = 600, shape.clock + 1
    assert shape.tick() == (round(held * 0.8), 20)  # drained at once, not a ramp to the ceiling


def test_a_hold_never_passes_its_users(monkeypatch: pytest.MonkeyPatch) -> None:
    namespace = run_source(locustfile(pure_latency(hold_p95_s={"min": 1.0, "max": 1.5})), monkeypatch)
    seen = drive(namespace["HoldLatency"](), 120, ceiling=650)  # p95 0.5 s at 650: the range is out of reach
    assert max(users for _s, _p, users in seen) == 650 and all(p95 < 1.0 for _s, p95, _u in seen)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"hold_p95_s": {"min": 1.0}}, "hold_p95_s must have a min and a max in seconds"),
        ({"hold_p95_s": {"min": 2.0, "max": 1.0}}, "hold_p95_s.min 2 is above hold_p95_s.max 1"),
        ({"hold_p95_s": {"min": 0, "max": 1.0}}, "hold_p95_s.min"),
        ({"tasks": []}, "tasks must be a non-empty list"),
        ({"tasks": None}, "tasks must be a non-empty list"),
        ({"tasks": ["GET /"]}, r"tasks\[0\] must be a mapping"),
        ({"tasks": [{"method": "PATCH", "path": "/"}]}, r"tasks\[0\].method must be one of GET, POST, PUT, DELETE"),
        ({"tasks": [{"method": "get", "path": "/"}]}, r"tasks\[0\].method must be one of"),
        ({"tasks": [{"method": "GET"}]}, r"tasks\[0\].path must be a non-empty string"),
        ({"tasks": [{"method": "GET", "path": "catalogue"}]}, r"tasks\[0\].path must start with /"),
        ({"tasks": [{"method": "GET", "path": "/", "weight": 0}]}, r"tasks\[0\].weight must be an integer >= 1"),
        ({"tasks": [{"method": "GET", "path": "/", "weight": 1.5}]}, r"weight must be an integer >= 1"),
        ({"tasks": [{"method": "GET", "path": "/", "weight": True}]}, r"weight must be an integer >= 1"),
        ({"tasks": [{"method": "GET", "path": "/{id}"}]}, r"a path with \{id\} needs ids"),
        ({"tasks": [{"method": "GET", "path": "/", "ids": ["a"]}]}, r"ids need \{id\} in the path"),
        ({"tasks": [{"method": "GET", "path": "/{id}", "ids": []}]}, r"ids must be a non-empty list"),
        ({"tasks": [{"method": "GET", "path": "/{id}", "ids": ["a", 3]}]}, r"ids\[\] must be a non-empty string"),
        ({"tasks": [{"method": "GET", "path": "/", "auth": ["user"]}]}, r"auth must be \[user, password\]"),
        ({"tasks": [{"method": "GET", "path": "/", "auth": "user:pw"}]}, r"auth must be \[user, password\]"),
        ({"tasks": [{"method": "GET", "path": "/", "timeout_s": 0}]}, r"timeout_s must be > 0"),
        ({"tasks": [{"method": "GET", "path": "/", "name": ""}]}, r"name must be a non-empty string"),
        ({"tasks": [{"method": "GET", "path": "/", "json": {"at": math.nan}}]}, r"json is not JSON data"),
        ({"tasks": [{"method": "GET", "path": "/", "json": {"at": object()}}]}, r"json is not JSON data"),
        ({"tasks": [{"method": "GET", "path": "/", "body": "x"}]}, r"unknown fields \['body'\]"),
        ({"wait_s": {"min": 3, "max": 1}}, "wait_s.min 3 is above wait_s.max 1"),
        ({"wait_s": {"min": 1}}, "wait_s must be {min, max} or {constant}"),
        ({"wait_s": {"min": 1, "max": 2, "constant": 1}}, "wait_s must be"),
        ({"wait_s": {"constant": -1}}, "wait_s.constant must be >= 0"),
        ({"wait_s": None}, "wait_s must be"),
        ({"failure": {"slower_than_s": 0}}, "failure.slower_than_s must be > 0"),
        ({"failure": {"slower_than_s": "3"}}, "failure.slower_than_s must be a number"),
        ({"failure": {"slower_than": 3}}, "failure must be {slower_than_s: ...}"),
        ({"failure": {"slower_than_s": {"default": 2, "/catalog": 3}}}, r"names \['/catalog'\] match no task name"),
        ({"failure": {"slower_than_s": {"default": -2}}}, r"failure.slower_than_s.default must be > 0"),
    ],
)
def test_locustfile_refuses(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        locustfile(pure_latency(**changes))


# ---------------------------------------------------------------- manifests

LABELS = {
    "app.kubernetes.io/managed-by": "sockshop-incidents",
    "sockshop.io/incident": "4",
    "sockshop.io/role": "load",
}


def test_manifests_exactly() -> None:
    resources = {"requests": {"cpu": "300m", "memory": "512Mi"}, "limits": {"cpu": "1000m", "memory": "1Gi"}}
    load = pure_latency(resources=resources)
    configmap, service, job = manifests(load, namespace="sock-shop", incident_id="4", users_factor=0.4)
    assert configmap == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "locustfile-pure-latency", "namespace": "sock-shop", "labels": LABELS},
        "data": {"locustfile.py": locustfile(load)},
    }
    assert service == {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": "locust-pure-latency-test",
            "namespace": "sock-shop",
            "labels": LABELS,
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "8089",
                "prometheus.io/path": "/metrics",
            },
        },
        "spec": {
            "selector": {"job-name": "locust-pure-latency-test"},
            "ports": [{"name": "web", "port": 8089, "targetPort": 8089, "protocol": "TCP"}],
        },
    }
    args = ["-f", "/mnt/locust/locustfile.py", "--autostart", "--autoquit", "1", "-u", "200", "-r", "16",
            "--run-time", "8m", "--host", "http://front-end.sock-shop.svc.cluster.local",
            "--csv", "/tmp/locust-pure-latency-test", "IncidentUser"]  # fmt: skip
    assert job == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "locust-pure-latency-test", "namespace": "sock-shop", "labels": LABELS},
        "spec": {
            "backoffLimit": 0,
            "template": {
                "metadata": {"labels": {**LABELS, "job-name": "locust-pure-latency-test"}},
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "locust",
                            "image": "locustio/locust:2.32.1",
                            "command": ["locust"],
                            "args": args,
                            "ports": [{"containerPort": 8089, "name": "web"}],
                            "volumeMounts": [
                                {"name": "locustfile", "mountPath": "/mnt/locust"},
                                {"name": "tmp", "mountPath": "/tmp"},
                            ],
                            "resources": resources,
                        }
                    ],
                    "volumes": [
                        {"name": "locustfile", "configMap": {"name": "locustfile-pure-latency"}},
                        {"name": "tmp", "emptyDir": {}},
                    ],
                },
            },
        },
    }


@pytest.mark.parametrize(
    ("changes", "namespace", "factor", "expected"),
    [
        ({}, "shop-2", 1.0, {"-u": "500", "-r": "40", "--host": "http://front-end.shop-2.svc.cluster.local"}),
        ({"users": 3000, "spawn_rate": 300}, "sock-shop", 0.4, {"-u": "1200", "-r": "120"}),
        ({"users": 5, "spawn_rate": 2.5}, "sock-shop", 0.5, {"-u": "3", "-r": "1.25"}),
        ({"host": "http://10.0.0.7:8079"}, "sock-shop", 1.0, {"--host": "http://10.0.0.7:8079"}),
        ({"run_time": "1h30m"}, "sock-shop", 1.0, {"--run-time": "1h30m"}),
    ],
)
def test_manifests_args(changes: dict[str, Any], namespace: str, factor: float, expected: dict[str, str]) -> None:
    job = manifests(pure_latency(**changes), namespace=namespace, incident_id="4", users_factor=factor)[2]
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert {flag: args[args.index(flag) + 1] for flag in expected} == expected
    assert args[-1] == "IncidentUser" and "--headless" not in args


def test_manifests_image_labels_and_no_resources() -> None:
    objects = manifests(pure_latency(image="locustio/locust:2.47.0"), namespace="ns", incident_id="4C", users_factor=1)
    assert [obj["kind"] for obj in objects] == ["ConfigMap", "Service", "Job"]
    assert all(obj["metadata"]["namespace"] == "ns" for obj in objects)
    assert all(obj["metadata"]["labels"]["sockshop.io/incident"] == "4C" for obj in objects)
    container = objects[2]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "locustio/locust:2.47.0" and "resources" not in container
    # Objects are fresh: changing one's labels does not change another's.
    objects[0]["metadata"]["labels"]["x"] = "y"
    assert "x" not in objects[1]["metadata"]["labels"]


@pytest.mark.parametrize(
    ("changes", "kwargs", "message"),
    [
        ({"job": ""}, {}, "job must be a non-empty string"),
        ({"configmap": None}, {}, "configmap must be a non-empty string"),
        ({"run_time": "8 minutes"}, {}, "run_time must look like 8m"),
        ({"run_time": ""}, {}, "run_time must be a non-empty string"),
        ({"run_time": "m"}, {}, "run_time must look like 8m"),
        ({"host": "front-end:80"}, {}, r"host must be an http\(s\) URL"),
        ({"host": "http://a b"}, {}, r"host must be an http\(s\) URL"),
        ({"users": 0}, {}, "users must be an integer >= 1"),
        ({"users": None}, {}, "users must be an integer >= 1"),
        ({"tasks": []}, {}, "tasks must be a non-empty list"),
        ({}, {"users_factor": 0}, "users factor must be > 0"),
        ({}, {"namespace": ""}, "namespace must be a non-empty string"),
        ({}, {"incident_id": ""}, "incident_id must be a non-empty string"),
    ],
)
def test_manifests_refuse(changes: dict[str, Any], kwargs: dict[str, Any], message: str) -> None:
    options: dict[str, Any] = {"namespace": "sock-shop", "incident_id": "4", "users_factor": 0.4, **kwargs}
    with pytest.raises(ValueError, match=message):
        manifests(pure_latency(**changes), **options)


def test_manifests_need_users_and_spawn_rate() -> None:
    load = pure_latency()
    del load["users"], load["spawn_rate"]
    with pytest.raises(ValueError, match="a load needs users and spawn_rate"):
        manifests(load, namespace="sock-shop", incident_id="4", users_factor=0.4)


# ---------------------------------------------------------------- summarize: recorded /stats/requests answers


def row(
    name: str, method: str, requests: int, failures: int, *, median: float, p95: int, **more: Any
) -> dict[str, Any]:
    return {
        "method": method,
        "name": name,
        "num_requests": requests,
        "num_failures": failures,
        "median_response_time": median,
        "response_time_percentile_0.95": p95,
        "response_time_percentile_0.99": p95,
        "avg_response_time": 1.0,
        "min_response_time": 1,
        "max_response_time": p95,
        "current_rps": more.get("current_rps", 1.0),
        "current_fail_per_sec": 0.0,
        "total_rps": more.get("total_rps", 1.0),
        "total_fail_per_sec": 0.0,
        "avg_content_length": 2.0,
    }


SLOW_ERROR = {
    "error": "CatchResponseError('slower than 0.2 s (0.3-0.4 s)')",
    "method": "GET",
    "name": "/slow",
    "occurrences": 79,
    "first_seen": 1796277370.258823,
    "last_seen": 1796277383.267947,
}
MISSING_ERROR = {
    "error": "HTTPError('404 Client Error: Not Found for url: /missing')",
    "method": "GET",
    "name": "/missing",
    "occurrences": 88,
    "first_seen": 1796277369.8309236,
    "last_seen": 1796277383.2170231,
}
# Locust 2.47's answer 14 s into a run (5 users, a fast, a 404 and a 0.3 s endpoint), trimmed to its fields.
STATS_247: dict[str, Any] = {
    "current_fail_per_sec": 12.3,
    "current_response_time_percentiles": {"response_time_percentile_0.5": 2, "response_time_percentile_0.95": 300},
    "current_rps": 41.9,
    "errors": [MISSING_ERROR, SLOW_ERROR],
    "fail_ratio": 0.2998204667863555,
    "state": "running",
    "stats": [
        row("/catalogue", "GET", 290, 0, median=2, p95=5, current_rps=21.7, total_rps=21.5320196317935),
        row("/missing", "GET", 88, 88, median=2, p95=5),
        row("/slow", "GET", 79, 79, median=301.10299000079976, p95=310),
        row("Aggregated", "", 557, 167, median=2, p95=300, current_rps=41.9, total_rps=41.3563273617551),
    ],
    "total_fail_per_sec": 12.39947337417074,
    "total_rps": 41.3563273617551,
    "user_count": 5,
}
SUMMARY_247 = {
    "state": "running",
    "users": 5,
    "requests": 557,
    "failures": 167,
    "failure_ratio": 0.2998204667863555,
    "rps": 41.9,
    "p50_s": 0.002,
    "p95_s": 0.3,
    "current_p50_s": 0.002,
    "current_p95_s": 0.3,
    "endpoints": {
        "/catalogue": {"requests": 290, "failures": 0, "p50_s": 0.002, "p95_s": 0.005},
        "/missing": {"requests": 88, "failures": 88, "p50_s": 0.002, "p95_s": 0.005},
        "/slow": {"requests": 79, "failures": 79, "p50_s": 0.3011, "p95_s": 0.31},
    },
    "errors": [
        {"name": "/missing", "method": "GET", "error": MISSING_ERROR["error"], "occurrences": 88},
        {"name": "/slow", "method": "GET", "error": SLOW_ERROR["error"], "occurrences": 79},
    ],
}
REFUSED: dict[str, Any] = {
    "error": "ConnectionRefusedError(111, 'Connection refused')",
    "method": "GET",
    "name": "/catalogue",
    "occurrences": 1,
}
EMPTY = {"requests": 0, "failures": 0, "p50_s": None, "p95_s": None}


def test_summarize_recorded_answer() -> None:
    assert summarize(STATS_247) == SUMMARY_247


@pytest.mark.parametrize(
    ("stats", "expected"),
    [
        # Locust 2.32 (the Job's image): top-level total_rps is the current rate; no top-level current_rps;
        # rows carry safe_name. rps is read from the Aggregated row either way.
        (
            {
                "stats": [
                    {**row("/catalogue", "GET", 10, 1, median=120, p95=2300), "safe_name": "/catalogue"},
                    {
                        **row("Aggregated", "", 10, 1, median=120, p95=2300, current_rps=3.5, total_rps=2.0),
                        "safe_name": "Aggregated",
                    },
                ],
                "errors": [REFUSED],
                "total_rps": 3.5,
                "total_fail_per_sec": 0.1,
                "fail_ratio": 0.1,
                "current_response_time_percentiles": {
                    "response_time_percentile_0.5": 130,
                    "response_time_percentile_0.95": 2500,
                },
                "state": "spawning",
                "user_count": 3,
            },
            {
                "state": "spawning",
                "users": 3,
                "requests": 10,
                "failures": 1,
                "failure_ratio": 0.1,
                "rps": 3.5,
                "p50_s": 0.12,
                "p95_s": 2.3,
                "current_p50_s": 0.13,
                "current_p95_s": 2.5,
                "endpoints": {"/catalogue": {"requests": 10, "failures": 1, "p50_s": 0.12, "p95_s": 2.3}},
                "errors": [
                    {
                        "name": "/catalogue",
                        "method": "GET",
                        "error": "ConnectionRefusedError(111, 'Connection refused')",
                        "occurrences": 1,
                    }
                ],
            },
        ),
        # Started, nothing answered yet: Locust's 0 ms percentiles and None window are "no value yet".
        (
            {
                "stats": [row("Aggregated", "", 0, 0, median=0, p95=0, current_rps=0.0, total_rps=0.0)],
                "errors": [],
                "current_rps": 0.0,
                "total_rps": 0.0,
                "fail_ratio": 0.0,
                "current_response_time_percentiles": {
                    "response_time_percentile_0.5": None,
                    "response_time_percentile_0.95": None,
                },
                "state": "spawning",
                "user_count": 1,
            },
            {
                "state": "spawning",
                "users": 1,
                **EMPTY,
                "failure_ratio": None,
                "rps": 0.0,
                "current_p50_s": None,
                "current_p95_s": None,
                "endpoints": {},
                "errors": [],
            },
        ),
        # No runner yet: Locust's short answer.
        (
            {
                "stats": [],
                "errors": [],
                "total_rps": 0.0,
                "total_fail_per_sec": 0.0,
                "fail_ratio": 0.0,
                "current_response_time_percentile_1": None,
                "current_response_time_percentile_2": None,
                "state": "missing",
                "user_count": 0,
            },
            {
                "state": "missing",
                "users": 0,
                **EMPTY,
                "failure_ratio": None,
                "rps": None,
                "current_p50_s": None,
                "current_p95_s": None,
                "endpoints": {},
                "errors": [],
            },
        ),
    ],
)
def test_summarize_versions_and_empty(stats: dict[str, Any], expected: dict[str, Any]) -> None:
    assert summarize(stats) == expected


def test_summarize_hung_window_and_shared_names() -> None:
    """A current window of 0 ms (no request completed in it: all hung) is no value, not "fast"; a name two
    methods share is keyed by method and name."""
    stats = {
        **STATS_247,
        "current_response_time_percentiles": {"response_time_percentile_0.5": 0, "response_time_percentile_0.95": 0},
        "stats": [
            row("/cart", "GET", 4, 0, median=10, p95=20),
            row("/cart", "POST", 6, 6, median=30, p95=40),
            row("/orders", "POST", 0, 0, median=0, p95=0),
            row("Aggregated", "", 10, 6, median=20, p95=40),
        ],
    }
    summary = summarize(stats)
    assert summary["current_p50_s"] is None and summary["current_p95_s"] is None
    assert summary["endpoints"] == {
        "GET /cart": {"requests": 4, "failures": 0, "p50_s": 0.01, "p95_s": 0.02},
        "POST /cart": {"requests": 6, "failures": 6, "p50_s": 0.03, "p95_s": 0.04},
        "/orders": EMPTY,
    }


@pytest.mark.parametrize("stats", [None, [], {}, {"stats": None}, {"stats": "x"}, {"errors": []}])
def test_summarize_refuses(stats: Any) -> None:
    with pytest.raises(ValueError, match="not Locust's /stats/requests answer"):
        summarize(stats)


# ---------------------------------------------------------------- judge_load

ERRORS_TEXT = (
    "errors: HTTPError('404 Client Error: Not Found for url: /missing') x88, "
    "CatchResponseError('slower than 0.2 s (0.3-0.4 s)') x79"
)


@pytest.mark.parametrize(
    ("check", "ok", "evidence"),
    [
        (
            {"job": "locust-x", "p95_s": {"op": "gt", "value": 1}},
            False,
            f"locust-x: 557 requests, 167 failed (30.0%), p95 0.30 s (want gt 1), 5 users, {ERRORS_TEXT}",
        ),
        (
            {"p95_s": {"op": "ge", "value": 0.3}, "p50_s": {"op": "lt", "value": 0.01}},
            True,
            f"locust: 557 requests, 167 failed (30.0%), p50 0.00 s (want lt 0.01), p95 0.30 s (want ge 0.3), "
            f"5 users, {ERRORS_TEXT}",
        ),
        (
            {"failure_ratio": {"op": "le", "value": 0.05}, "users": {"op": "eq", "value": 5}},
            False,
            f"locust: 557 requests, 167 failed (30.0%), failure ratio 0.300 (want le 0.05), p95 0.30 s, "
            f"5 users (want eq 5), {ERRORS_TEXT}",
        ),
        (
            {"requests": {"op": "ge", "value": 100}, "current_p95_s": {"op": "gt", "value": 0.2}},
            True,
            f"locust: 557 requests (want ge 100), 167 failed (30.0%), p95 0.30 s, current p95 0.30 s (want gt 0.2), "
            f"5 users, {ERRORS_TEXT}",
        ),
        (
            {"errors_contain": ["slower than 0.2 s", "404 Client Error"]},
            True,
            f"locust: 557 requests, 167 failed (30.0%), p95 0.30 s, 5 users, {ERRORS_TEXT}",
        ),
        (
            {"errors_contain": ["ConnectionRefusedError", "SLOWER THAN"]},  # case-sensitive
            False,
            "locust: 557 requests, 167 failed (30.0%), p95 0.30 s, 5 users, no error contains "
            f"'ConnectionRefusedError', no error contains 'SLOWER THAN', {ERRORS_TEXT}",
        ),
        # One endpoint: its row and its errors.
        (
            {
                "job": "locust-x",
                "endpoint": "/slow",
                "failure_ratio": {"op": "gt", "value": 0.5},
                "p95_s": {"op": "ge", "value": 0.3},
                "errors_contain": ["slower than"],
            },
            True,
            "locust-x /slow: 79 requests, 79 failed (100.0%), failure ratio 1.000 (want gt 0.5), "
            "p95 0.31 s (want ge 0.3), 5 users, errors: CatchResponseError('slower than 0.2 s (0.3-0.4 s)') x79",
        ),
        (
            {"endpoint": "/catalogue", "failure_ratio": {"op": "eq", "value": 0}, "errors_contain": ["404"]},
            False,
            "locust /catalogue: 290 requests, 0 failed (0.0%), failure ratio 0.000 (want eq 0), p95 0.01 s, 5 users, "
            "no error contains '404'",
        ),
        (
            {"endpoint": "/orders", "p95_s": {"op": "lt", "value": 1}, "requests": {"op": "ge", "value": 1}},
            False,
            "locust /orders: no requests yet (want ge 1), no p95 yet (want lt 1), 5 users",
        ),
    ],
)
def test_judge_load(check: dict[str, Any], ok: bool, evidence: str) -> None:
    assert judge_load(check, SUMMARY_247) == (ok, evidence)


@pytest.mark.parametrize(
    ("op", "expected"),
    [("eq", [False, True, False]), ("lt", [True, False, False]), ("le", [True, True, False]),
     ("gt", [False, False, True]), ("ge", [False, True, True])],
)  # fmt: skip
def test_judge_load_ops_at_their_boundaries(op: str, expected: list[bool]) -> None:
    """Each op against p95 values just below, at and just above 0.3 s."""
    got = [judge_load({"p95_s": {"op": op, "value": 0.3}}, {"p95_s": p95})[0] for p95 in (0.29, 0.3, 0.31)]
    assert got == expected


def test_judge_load_no_values_yet() -> None:
    summary = summarize({"stats": [row("Aggregated", "", 0, 0, median=0, p95=0)], "errors": [], "state": "spawning"})
    check = {"p95_s": {"op": "lt", "value": 1}, "current_p95_s": {"op": "lt", "value": 1}}
    assert judge_load(check, summary) == (
        False,
        "locust: 0 requests, no p95 yet (want lt 1), no current p95 yet (want lt 1)",
    )
    failed = judge_load({"failure_ratio": {"op": "lt", "value": 0.1}}, summary)
    assert failed == (False, "locust: 0 requests, no failure ratio yet (want lt 0.1)")


def test_judge_load_lists_the_three_commonest_errors() -> None:
    errors = [{"name": "/", "method": "GET", "error": f"E{n}('{'x' * 70}')", "occurrences": n} for n in range(1, 6)]
    ok, evidence = judge_load({}, {**SUMMARY_247, "errors": errors})
    assert ok and evidence.endswith(
        f"errors: E5('{'x' * 53}... x5, E4('{'x' * 53}... x4, E3('{'x' * 53}... x3 (+2 more)"
    ), evidence


@pytest.mark.parametrize(
    ("check", "message"),
    [
        ({"p95_s": {"op": "gte", "value": 1}}, "check.p95_s: unknown op 'gte'"),
        ({"p95_s": {"op": "==", "value": 1}}, "check.p95_s: unknown op '=='"),
        ({"p95_s": {"op": "gt"}}, r"check.p95_s must be \{op, value\}"),
        ({"p95_s": 3}, r"check.p95_s must be \{op, value\}"),
        ({"p95_s": {"op": "gt", "value": "3"}}, "check.p95_s.value must be a number"),
        ({"p95_s": {"op": "gt", "value": True}}, "check.p95_s.value must be a number"),
        ({"p99_s": {"op": "gt", "value": 1}}, r"unknown load check fields \['p99_s'\]"),
        ({"errors_contain": "refused"}, "errors_contain must be a list of strings"),
        ({"errors_contain": [""]}, "errors_contain must be a list of strings"),
    ],
)
def test_judge_load_refuses(check: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        judge_load(check, SUMMARY_247)


def test_judge_load_unknown_op_refused_even_without_a_value() -> None:
    with pytest.raises(ValueError, match="unknown op 'between'"):
        judge_load({"p95_s": {"op": "between", "value": 1}}, summarize({"stats": []}))


# ---------------------------------------------------------------- a real Locust run


class Shop(http.server.BaseHTTPRequestHandler):
    """/catalogue answers at once, /slow/<id> after 0.3 s, /queue one at a time, 20 ms each (a server with one
    CPU: its latency grows with the users); every path asked is kept."""

    paths: list[str] = []
    one_at_a_time = threading.Lock()

    def do_GET(self) -> None:
        self.paths.append(self.path)
        if self.path.startswith("/slow/"):
            time.sleep(0.3)
        if self.path == "/queue":
            with self.one_at_a_time:
                time.sleep(0.02)
        body = b"[]"
        self.send_response(200 if self.path in ("/catalogue", "/queue") or self.path.startswith("/slow/") else 404)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


class ShopServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # Locust stopped mid-request: not news
            super().handle_error(request, client_address)


@pytest.fixture
def shop() -> Iterator[str]:
    server = ShopServer(("127.0.0.1", 0), Shop)
    Shop.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def stats_requests(web: str) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"{web}/stats/requests", timeout=5) as answer:
            return dict(json.load(answer))
    except OSError:  # not listening yet
        return None


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate what this test started, by its process group id; kill it if it does not go in 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def run_job_here(load: dict[str, Any], tmp_path: Path) -> tuple[subprocess.Popen[bytes], int, Path]:
    """Start the venv's Locust with the load's own ConfigMap and Job args (its web UI on a free local port, its
    CSV in tmp_path) in a session of its own, for `stop`; the process, the web port and the log."""
    configmap, _service, job = manifests(load, namespace="test", incident_id="4", users_factor=1.0)
    (tmp_path / "locustfile.py").write_text(configmap["data"]["locustfile.py"], encoding="utf-8")
    web_port = free_port()
    args = [
        str(tmp_path / "locustfile.py") if arg == "/mnt/locust/locustfile.py" else arg
        for arg in job["spec"]["template"]["spec"]["containers"][0]["args"]
    ]
    args[args.index("--csv") + 1] = str(tmp_path / load["job"])
    args[-1:-1] = ["--web-host", "127.0.0.1", "--web-port", str(web_port)]
    log = tmp_path / "locust.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "locust", *args], cwd=tmp_path, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    return proc, web_port, log


def test_a_real_locust_run_of_the_generated_job(shop: str, tmp_path: Path) -> None:
    """The Job's own ConfigMap and args, run by the venv's Locust against a local server: the web UI serves
    /stats/requests while it runs, the slow endpoint fails by the failure rule and the fast one does not."""
    load = {
        "job": "locust-it",
        "configmap": "locustfile-it",
        "users": 5,
        "spawn_rate": 5,
        "run_time": "60s",  # a bound, should the test not stop it
        "host": shop,
        "wait_s": {"min": 0.05, "max": 0.1},
        "tasks": [
            {"method": "GET", "path": "/catalogue", "weight": 2},
            {"method": "GET", "path": "/slow/{id}", "name": "/slow", "ids": ["a", "b"]},
        ],
        "failure": {"slower_than_s": {"default": 5, "/slow": 0.2}},
    }
    proc, web_port, log = run_job_here(load, tmp_path)
    summary: dict[str, Any] = {}
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and proc.poll() is None:
            stats = stats_requests(f"http://127.0.0.1:{web_port}")
            if stats and stats.get("stats"):
                summary = summarize(stats)
                slow = summary["endpoints"].get("/slow", {})
                if slow.get("failures", 0) >= 3 and summary["current_p95_s"] and summary["users"] == 5:
                    break
            time.sleep(0.5)
        with urllib.request.urlopen(f"http://127.0.0.1:{web_port}/metrics", timeout=5) as answer:
            metrics = answer.read().decode()
    finally:
        stop(proc)
    output = log.read_text(encoding="utf-8", errors="replace")[-3000:]
    from prometheus_client.parser import text_string_to_metric_families

    scraped = {
        (s.name, s.labels.get("name")): s.value for f in text_string_to_metric_families(metrics) for s in f.samples
    }
    assert scraped[("locust_users", None)] == 5, metrics
    assert scraped[("locust_requests_num_requests", "/catalogue")] >= summary["endpoints"]["/catalogue"]["requests"]
    assert scraped[("locust_requests_num_failures", "/slow")] >= 3
    assert summary.get("state") in ("spawning", "running"), (summary, output)
    fast, slow = summary["endpoints"]["/catalogue"], summary["endpoints"]["/slow"]
    assert fast["requests"] > 0 and fast["failures"] == 0, (summary, output)
    assert slow["failures"] == slow["requests"] > 0, summary
    assert slow["p95_s"] >= 0.3 and fast["p95_s"] < 0.3, summary
    # Mostly "(0.3-0.4 s)"; a loaded machine adds the odd "(0.5-0.6 s)".
    assert summary["errors"] and all(e["name"] == "/slow" for e in summary["errors"]), summary
    assert all(e["error"].startswith("CatchResponseError('slower than 0.2 s (0.") for e in summary["errors"]), summary
    assert {path for path in Shop.paths if path.startswith("/slow/")} <= {"/slow/a", "/slow/b"}
    assert "/slow/{id}" not in Shop.paths

    ok, evidence = judge_load(
        {
            "job": "locust-it",
            "endpoint": "/slow",
            "failure_ratio": {"op": "eq", "value": 1},
            "p95_s": {"op": "ge", "value": 0.3},
            "errors_contain": ["slower than"],
        },
        summary,
    )
    assert ok, evidence
    ok, evidence = judge_load(
        {"endpoint": "/catalogue", "failure_ratio": {"op": "eq", "value": 0}, "p95_s": {"op": "lt", "value": 0.3}},
        summary,
    )
    assert ok, evidence
    ok, evidence = judge_load(
        {"failure_ratio": {"op": "lt", "value": 0.01}, "users": {"op": "eq", "value": 5}}, summary
    )
    assert not ok and "(want lt 0.01)" in evidence and "5 users (want eq 5)" in evidence, evidence
    print("locust run:", evidence)
    # --csv into the pod's /tmp works with Locust's own writer.
    assert (tmp_path / "locust-it_stats.csv").exists(), output


def test_a_real_locust_run_holds_its_users_at_the_latency_asked(shop: str, tmp_path: Path) -> None:
    """The hold's shape under the venv's Locust, with the Job's own args: it ramps until p95 reaches 0.2 s at a
    one-at-a-time server, holds the users there (below the 60 asked) and ends at --run-time by itself."""
    load = {
        "job": "locust-hold",
        "configmap": "locustfile-hold",
        "users": 60,
        "spawn_rate": 10,
        "run_time": "25s",
        "host": shop,
        "wait_s": {"min": 0.05, "max": 0.1},
        "tasks": [{"method": "GET", "path": "/queue"}],
        "hold_p95_s": {"min": 0.2, "max": 0.4},
    }
    users: list[int] = []
    p95s: list[float] = []
    proc, web_port, log = run_job_here(load, tmp_path)
    try:
        deadline = time.monotonic() + 45
        while time.monotonic() < deadline and proc.poll() is None:
            stats = stats_requests(f"http://127.0.0.1:{web_port}")
            if stats and stats.get("stats") and stats.get("state") in ("spawning", "running"):  # not once stopping
                summary = summarize(stats)
                users.append(summary["users"])
                p95s.append(summary["current_p95_s"] or 0)
            time.sleep(0.5)
        ended = proc.poll()
    finally:
        stop(proc)
    output = log.read_text(encoding="utf-8", errors="replace")[-3000:]
    assert ended == 0, output  # ended by itself, at its run time
    assert "have no impact on LoadShapes" not in output  # -u, -r and --run-time are the shape's to read
    assert max(p95s) >= 0.2, (p95s, output)
    assert 0 < users[-1] < 60 and max(users) < 60, (users, p95s, output)  # held below the users asked
