"""The report's timeline chart: a PNG of the right size that shows something, the same bytes for the same data,
a third panel only with Prometheus series, the empty case, and bad input named by its field."""

from __future__ import annotations

import datetime as dt
import io
import json
import os
import struct
import subprocess
import sys
import threading
import zlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from ansible.module_utils import sockshop_chart as chart

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType
    from numpy.typing import NDArray

ROOT = Path(__file__).resolve().parents[3]
T0 = dt.datetime(2026, 11, 23, 8, 24, 40, 123000, tzinfo=dt.UTC)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SIZE = (1000, 600)
PROMQL = 'kube_deployment_status_replicas_available{deployment="stripe-mock"}'


def ts(seconds: float) -> str:
    return (T0 + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def bands(*phases: tuple[str, float, float]) -> list[dict[str, Any]]:
    return [{"name": name, "start": ts(start), "end": ts(end)} for name, start, end in phases]


PHASES = bands(("baseline", 0, 30), ("activation", 30, 34), ("incident", 34, 120), ("recovery", 120, 180))


def probes(count: int = 200, failing: tuple[float, float] = (36, 125)) -> list[dict[str, Any]]:
    """A sentinel's samples every 0.9 s: fast passes, then failures (slow, or without a latency), then passes."""
    samples = []
    for index in range(count):
        at = index * 0.9
        down = failing[0] <= at < failing[1]
        latency = (None if index % 4 == 0 else 2.0 + (index % 7) * 0.4) if down else 0.010 + (index % 9) * 0.002
        samples.append({"at": ts(at), "ok": not down, "latency_s": latency, "label": "payment probe"})
    return samples


REPLICAS = {
    "label": "stripe-mock available replicas",
    "points": [{"at": ts(at), "value": value} for at, value in [(0, 1), (31, 0), (60, 0), (124, 1), (178, 1)]],
}
SERIES = [
    {"label": PROMQL, "points": [{"at": ts(2 * i), "value": 0.0 if 33 <= 2 * i < 126 else 1.0} for i in range(90)]}
]
INCIDENT6 = {
    "title": "INCIDENT-6: Payment gateway unavailable (run 20261123T082440Z-123)",
    "bands": PHASES,
    "probes": probes(),
    "replicas": REPLICAS,
    "series": SERIES,
}
ALL_PASS = dict(INCIDENT6, probes=probes(failing=(0, 0)))

# name, data, panels, distinct colours at least, failures shown
CASES: list[tuple[str, dict[str, Any], int, int, bool]] = [
    ("incident-6", INCIDENT6, 3, 400, True),
    ("no series", {k: v for k, v in INCIDENT6.items() if k != "series"}, 2, 300, True),
    ("a series without points", dict(INCIDENT6, series=[{"label": PROMQL, "points": []}]), 3, 300, True),
    ("every probe passes", ALL_PASS, 3, 400, False),
    ("bands only", {"title": "bands only", "bands": PHASES}, 2, 300, False),
    (
        "one probe, no latency",
        {"title": "one", "probes": [{"at": ts(0), "ok": False, "latency_s": None}]},
        2,
        150,
        True,
    ),
    ("empty", {"title": "INCIDENT-6 (no samples)"}, 2, 100, False),
    (
        "empty lists",
        {"title": "", "bands": [], "probes": [], "replicas": {"label": "r", "points": []}, "series": []},
        2,
        100,
        False,
    ),
    (
        "crowded",
        {
            "title": "crowded " + "x" * 200,
            "bands": bands(("baseline", 0, 3), ("activation", 3, 4), ("incident", 4, 6), ("recovery", 6, 8)),
            "probes": [
                {"at": ts(i), "ok": i % 7 != 3, "latency_s": 0.0 if i == 5 else 0.01 * i, "label": f"p{i % 2}"}
                for i in range(60)
            ],
            "replicas": {"label": "r" * 200, "points": [{"at": ts(0), "value": 3}, {"at": ts(30), "value": 2}]},
            "series": [
                {"label": "a", "points": [{"at": ts(1), "value": float("nan")}, {"at": ts(2), "value": 2.0}]},
                {"label": "b", "points": [{"at": ts(i), "value": float(i % 5)} for i in range(60)]},
            ],
        },
        3,
        600,
        True,
    ),
]


@cache
def rendered(name: str) -> bytes:
    (data,) = [data for case, data, *_ in CASES if case == name]
    return chart.render_timeline(data)


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    """The PNG's chunks (type, data), each CRC checked."""
    assert png[:8] == PNG_SIGNATURE
    found, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset : offset + 4])
        kind, body = png[offset + 4 : offset + 8], png[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", png[offset + 8 + length : offset + 12 + length])
        assert zlib.crc32(kind + body) == crc, kind
        found.append((kind, body))
        offset += 12 + length
    return found


def pixels(png: bytes) -> NDArray[np.int32]:
    """The picture as rows x columns x RGB."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as image:
        assert image.size == SIZE
        return np.asarray(image.convert("RGB"), dtype=np.int32)


def near(rgb: NDArray[np.int32], color: str, tolerance: int = 40) -> int:
    """How many pixels are within `tolerance` (sum of the channels' differences) of a colour."""
    want = np.array([int(color[i : i + 2], 16) for i in (1, 3, 5)], dtype=np.int32)
    return int((np.abs(rgb - want).sum(axis=2) <= tolerance).sum())


def panels(rgb: NDArray[np.int32]) -> int:
    """Panels counted in the picture: each has a dark frame, two long dark horizontal lines across the plot area."""
    width = SIZE[0]
    left, right = int(chart.LEFT * width) + 5, int(chart.RIGHT * width) - 5
    dark = rgb[:, left:right].sum(axis=2) < 3 * 160
    rows = set(np.flatnonzero(dark.mean(axis=1) >= 0.9).tolist())
    lines = sorted(y for y in rows if y - 1 not in rows)
    assert len(lines) % 2 == 0, lines
    return len(lines) // 2


@pytest.mark.parametrize(("name", "data", "count", "colours", "failures"), CASES, ids=[case[0] for case in CASES])
def test_a_png_of_the_fixed_size_that_shows_something(
    name: str, data: dict[str, Any], count: int, colours: int, failures: bool
) -> None:
    png = rendered(name)
    found = chunks(png)
    assert (found[0][0], found[-1][0]) == (b"IHDR", b"IEND")
    assert struct.unpack(">II", found[0][1][:8]) == SIZE
    rgb = pixels(png)
    assert len(np.unique(rgb[:, :, 0] << 16 | rgb[:, :, 1] << 8 | rgb[:, :, 2])) >= colours
    assert panels(rgb) == count
    marks = {color: near(rgb, color) for color in (chart.FAIL_COLOR, chart.PASS_COLOR)}
    assert (marks[chart.FAIL_COLOR] > 20) is failures, marks
    assert (marks[chart.PASS_COLOR] > 20) is any(probe["ok"] for probe in data.get("probes", [])), marks


def test_the_same_data_gives_the_same_bytes_and_no_metadata() -> None:
    first = rendered("incident-6")
    assert chart.render_timeline(INCIDENT6) == first
    assert [kind for kind, _ in chunks(first) if kind in {b"tEXt", b"zTXt", b"iTXt", b"tIME"}] == []


def test_the_process_rc_params_change_nothing_and_are_left_as_they_were() -> None:
    import matplotlib

    hostile: dict[RcKeyType, Any] = {
        "font.family": ["serif"],
        "font.size": 20.0,
        "lines.linewidth": 5.0,
        "axes.facecolor": "black",
        "timezone": "America/New_York",
        "figure.dpi": 72.0,
        "text.antialiased": False,
    }
    with matplotlib.rc_context(hostile):
        before = dict(matplotlib.rcParams)
        assert chart.render_timeline(INCIDENT6) == rendered("incident-6")
        assert dict(matplotlib.rcParams) == before


def test_another_process_with_another_hash_seed_draws_the_same_bytes() -> None:
    script = (
        "import json, sys\n"
        f"sys.path.insert(0, {str(ROOT / 'plugins/module_utils')!r})\n"
        "import sockshop_chart\n"
        "assert 'matplotlib' not in sys.modules, 'matplotlib imported with the module'\n"
        "sys.stdout.buffer.write(sockshop_chart.render_timeline(json.load(sys.stdin)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        input=json.dumps(INCIDENT6).encode(),
        capture_output=True,
        env=dict(os.environ, PYTHONHASHSEED="4242"),
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout == rendered("incident-6")


def test_threads_draw_the_same_bytes() -> None:
    results: list[bytes] = []
    workers = [threading.Thread(target=lambda: results.append(chart.render_timeline(INCIDENT6))) for _ in range(3)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert results == [rendered("incident-6")] * 3


def test_the_text_is_the_dejavu_sans_shipped_with_matplotlib() -> None:
    import matplotlib
    from matplotlib import font_manager

    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(chart.RC)
        used = [Path(font_manager.findfont(font_manager.FontProperties(weight=w))) for w in ("normal", "bold")]
    assert [font.name for font in used] == ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"]
    assert all(font.is_relative_to(Path(matplotlib.get_data_path())) for font in used), used


def one(key: str, **item: Any) -> dict[str, Any]:
    """Timeline data with one item in `key` (a list) or `key` set to `item` (replicas)."""
    return {"title": "t", key: item if key == "replicas" else [item]}


RFC3339 = r"must be an RFC 3339 UTC time such as 2026-11-23T08:24:45\.123Z"
BAD_INPUT: list[tuple[Any, str]] = [
    ([], r"the timeline data must be a mapping, not list"),
    ({}, r"title must be a string, not None"),
    ({"title": "t", "probe": []}, r"unknown key\(s\) probe: the timeline takes bands, probes, replicas, series, title"),
    ({"title": "t", "bands": "baseline"}, r"bands must be a list, not str"),
    ({"title": "t", "bands": ["baseline"]}, r"bands\[0\] must be a mapping, not str"),
    (one("bands", start=ts(0), end=ts(1)), r"bands\[0\]\.name must name the phase"),
    (
        {"title": "t", "bands": [*PHASES, {"name": "x", "start": ts(5), "end": ts(4)}]},
        r"bands\[4\]\.end '2026-11-23T08:24:44\.123Z' is before bands\[4\]\.start '2026-11-23T08:24:45\.123Z'",
    ),
    (one("bands", name="x", start="08:24:45", end=ts(1)), rf"bands\[0\]\.start {RFC3339}, not '08:24:45'"),
    (
        one("bands", name="x", start=ts(0), end="2026-02-30T00:00:00Z"),
        r"bands\[0\]\.end '2026-02-30T00:00:00Z' is not a date and time that exists",
    ),
    (
        {"title": "t", "probes": [*probes(3), {"at": "yesterday", "ok": True}]},
        rf"probes\[3\]\.at {RFC3339}, not 'yesterday'",
    ),
    (one("probes", at=ts(0), ok="yes"), r"probes\[0\]\.ok must be true or false, not 'yes'"),
    (one("probes", at=ts(0), ok=True, latency_s=-1), r"probes\[0\]\.latency_s must be a finite number of seconds >= 0"),
    (one("probes", at=ts(0), ok=True, latency_s="0.1"), r"probes\[0\]\.latency_s must be a number, not '0\.1'"),
    ({"title": "t", "replicas": [1, 0]}, r"replicas must be a mapping with label and points, not list"),
    (one("replicas", points=[{"at": ts(0), "value": "1"}]), r"replicas\.points\[0\]\.value must be a number, not '1'"),
    (
        one("series", label="s", points=[{"at": ts(0), "value": 1}, {"value": 2}]),
        rf"series\[0\]\.points\[1\]\.at {RFC3339}, not None",
    ),
]


@pytest.mark.parametrize(("data", "message"), BAD_INPUT)
def test_bad_input_is_named_by_its_field(data: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        chart.render_timeline(data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T08:24:45.123Z", dt.datetime(2026, 11, 23, 8, 24, 45, 123000, tzinfo=dt.UTC)),
        ("2026-11-23T08:24:45Z", dt.datetime(2026, 11, 23, 8, 24, 45, tzinfo=dt.UTC)),
        ("2026-11-23T08:24:45.123456789Z", dt.datetime(2026, 11, 23, 8, 24, 45, 123456, tzinfo=dt.UTC)),
        ("2026-11-23T09:24:45+01:00", dt.datetime(2026, 11, 23, 8, 24, 45, tzinfo=dt.UTC)),
        ("2026-11-23t00:30:00-0100", dt.datetime(2026, 11, 23, 1, 30, tzinfo=dt.UTC)),
        ("2026-11-23T08:24:45", dt.datetime(2026, 11, 23, 8, 24, 45, tzinfo=dt.UTC)),
    ],
)
def test_times_are_rfc_3339_in_utc(text: str, expected: dt.datetime) -> None:
    assert chart.parse_time(text, "at") == expected


@pytest.mark.parametrize(
    ("span", "first", "step", "label"),
    [
        ((ts(0), ts(180)), "08:24:40", 20, "time (UTC), 2026-11-23"),
        ((ts(0), ts(20)), "08:24:40", 5, "time (UTC), 2026-11-23"),
        (("2026-11-23T23:50:00Z", "2026-11-24T00:40:00Z"), "23:50:00", 600, "time (UTC), 2026-11-23 to 2026-11-24"),
        ((ts(0), ts(0)), "08:24:10", 10, "time (UTC), 2026-11-23"),  # one instant: a minute around it
    ],
)
def test_the_time_axis_ticks_round_clock_times(span: tuple[str, str], first: str, step: int, label: str) -> None:
    axis = chart.time_axis([chart.parse_time(one, "at") for one in span])
    assert axis is not None
    assert axis.tick_text(axis.ticks[0]) == first
    assert {b - a for a, b in zip(axis.ticks, axis.ticks[1:], strict=False)} == {step}
    assert axis.low <= axis.ticks[0] and axis.ticks[-1] <= axis.high and len(axis.ticks) <= chart.MAX_TICKS + 1
    assert axis.label == label
    assert chart.time_axis([]) is None


def test_probes_and_points_are_put_in_time_order_and_extra_fields_ignored() -> None:
    sample = {"ok": True, "status": 200, "latency_s": 0.012, "detail": "authorised: Payment authorised"}
    timeline = chart.parse_timeline(
        {
            "title": "t",
            "probes": [dict(sample, at=ts(5)), dict(sample, at=ts(1), ok=False, latency_s=None)],
            "replicas": {"points": [{"at": ts(9), "value": 0}, {"at": ts(2), "value": 1}]},
        }
    )
    assert [(p.at, p.ok, p.latency_ms) for p in timeline.probes] == [
        (T0 + dt.timedelta(seconds=1), False, None),
        (T0 + dt.timedelta(seconds=5), True, 12.0),
    ]
    assert timeline.replicas is not None
    assert [value for _, value in timeline.replicas.points] == [1.0, 0.0]


def test_long_promql_labels_wrap_at_their_braces_and_commas() -> None:
    assert chart._wrap(PROMQL).split("\n") == [
        "kube_deployment_status_repli",
        "cas_available{",
        'deployment="stripe-mock"}',
    ]
    assert chart._wrap("r" * 200).split("\n") == ["r" * 28] * 3 + ["r" * 27 + "\u2026"]


def test_dollars_in_the_data_are_text_not_mathtext() -> None:
    """INCIDENT-3 writes amounts: "$374.22 at risk" must neither turn italic nor fail to parse as TeX."""
    label = r"$\undefined$ at risk"  # two dollars on one line: mathtext would parse it, and fail
    data = {
        "title": label,
        "bands": [{"name": label, "start": ts(0), "end": ts(60)}],
        "probes": [{"at": ts(1), "ok": True, "latency_s": 0.01, "label": label}],
        "replicas": {"label": label, "points": [{"at": ts(0), "value": 1}]},
        "series": [{"label": label, "points": [{"at": ts(0), "value": 1}]}],
    }
    assert chunks(chart.render_timeline(data))[0][0] == b"IHDR"
