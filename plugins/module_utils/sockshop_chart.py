# Copyright: sockshop-incidents contributors
# Apache License 2.0

"""The timeline chart of a run's report (issue 21): one PNG, time on x in UTC, panels stacked on a shared x.

    render_timeline(data) -> bytes   # a PNG, 1000 x 600 px

``data`` (every time an RFC 3339 string such as 2026-11-23T08:24:45.123Z; an offset is honoured, none means
UTC; every key but ``title`` is optional and every list may be empty)::

    {
      "title": "INCIDENT-6: Payment gateway unavailable (run 20261123T082440Z-123)",
      "bands": [{"name": "baseline", "start": ts, "end": ts}, ...],        # phases, shaded in every panel
      "probes": [{"at": ts, "ok": bool, "latency_s": float | None, "label": str}, ...],
      "replicas": {"label": "stripe-mock available replicas", "points": [{"at": ts, "value": float}, ...]},
      "series": [{"label": "kube_deployment_status_replicas_available{...}", "points": [...]}, ...],
    }

Panels, top to bottom: the probes (latency in ms, a log scale when the latencies span more than two decades;
passed samples green circles, failed ones red crosses; a sample without a latency, such as a timeout, a triangle
on the panel's top edge), the replicas (a step line, integer ticks), and the Prometheus series, a third panel
only when ``series`` has an entry. The phase bands are shaded in every panel and named above the top one. A
panel without samples says "no samples"; data with nothing at all still gives a valid PNG. Text from the data
is set as is (a ``$`` is a dollar, not TeX). Extra keys of an item (a sentinel sample's ``status`` and
``detail``) are ignored; an unknown top-level key, an unparseable time, a band that ends before it starts or a
value that is not a number raise ValueError naming the field (``probes[3].at``).

Deterministic: the same data gives the same bytes (fixed size and dpi, Matplotlib's own defaults restored
around the drawing whatever the process set, the DejaVu Sans shipped with Matplotlib, no PNG metadata, the
time axis computed here rather than by matplotlib.dates and its process-wide epoch). Matplotlib is imported on
the first call only (the other module_utils do not need it) and drives the Agg canvas directly, never pyplot;
renders are serialised by a lock because the defaults are applied through Matplotlib's process-wide rcParams.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.typing import RcKeyType

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 6.0, 100  # 1000 x 600 px
KEYS = frozenset({"title", "bands", "probes", "replicas", "series"})
PASS_COLOR = "#2ca02c"
FAIL_COLOR = "#d62728"
REPLICAS_COLOR = "#1f77b4"
# The series' colours: no red or green, which mean a probe's verdict on this chart.
SERIES_COLORS = ("#1f77b4", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")
BAND_COLORS = {"baseline": "#8da0cb", "activation": "#ffd92f", "incident": "#fc8d62", "recovery": "#66c2a5"}
OTHER_BAND_COLOR = "#bbbbbb"
BAND_ALPHA = 0.3
BAND_FONT_SIZE = 7.5
NO_SAMPLES = "no samples"
# Tick steps of the time axis, in seconds: the first that gives at most MAX_TICKS ticks.
TICK_STEPS = (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400)
MAX_TICKS = 10
X_PAD = 0.01  # of the time range, on each side
LOG_DECADES = 2.0  # a log latency axis when max / min exceeds 10 ** LOG_DECADES
# Figure layout, in figure fractions: the legends sit in the right margin, the band names above the top panel.
LEFT, RIGHT, BOTTOM, TOP, HSPACE = 0.075, 0.79, 0.085, 0.895, 0.12
LEGEND_WRAP = 28  # characters a legend line holds in the right margin (7 pt)
TITLE_SIZE, TITLE_FIT, TITLE_MAX = 10.5, 85, 140  # a longer title is set smaller, then cut
# Matplotlib's defaults are restored for each render, then these are set on top.
RC: dict[RcKeyType, Any] = {
    "font.family": ["sans-serif"],
    "font.sans-serif": ["DejaVu Sans"],
    "mathtext.fontset": "dejavusans",
    "font.size": 8.0,
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "legend.fontsize": 7.0,
    "axes.linewidth": 0.6,
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
}
_ISO = re.compile(r"^(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(\.\d+)?([Zz]|[+-]\d\d:?\d\d)?$")
_BREAK = re.compile(r"(?<=[{,( ])")
_LOCK = threading.Lock()


@dataclass(frozen=True)
class Band:
    name: str
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class Probe:
    at: dt.datetime
    ok: bool
    latency_ms: float | None
    label: str


@dataclass(frozen=True)
class Series:
    label: str
    points: list[tuple[dt.datetime, float]]


@dataclass(frozen=True)
class Timeline:
    """The chart's data, checked: times in UTC, probes and points in time order."""

    title: str
    bands: list[Band] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    replicas: Series | None = None
    series: list[Series] = field(default_factory=list)

    def times(self) -> list[dt.datetime]:
        moments = [m for band in self.bands for m in (band.start, band.end)] + [probe.at for probe in self.probes]
        for one in [self.replicas, *self.series]:
            if one is not None:
                moments += [at for at, _ in one.points]
        return moments


# ---------------------------------------------------------------- the input, checked


def parse_time(value: Any, where: str) -> dt.datetime:
    """An RFC 3339 time (2026-11-23T08:24:45.123Z) as an aware UTC datetime; an offset is honoured, none is UTC."""
    match = _ISO.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{where} must be an RFC 3339 UTC time such as 2026-11-23T08:24:45.123Z, not {value!r}")
    day, clock, fraction, zone = match.groups()
    try:
        moment = dt.datetime.strptime(f"{day}T{clock}", "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise ValueError(f"{where} {value!r} is not a date and time that exists") from None
    if fraction:
        moment = moment.replace(microsecond=int((fraction[1:] + "000000")[:6]))
    if zone and zone.upper() != "Z":
        sign = 1 if zone[0] == "+" else -1
        offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[-2:]))
        if offset >= dt.timedelta(hours=24):
            raise ValueError(f"{where} {value!r} has an offset of 24 hours or more")
        return moment.replace(tzinfo=dt.timezone(sign * offset)).astimezone(dt.UTC)
    return moment.replace(tzinfo=dt.UTC)


def _items(value: Any, where: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Sequence):
        raise ValueError(f"{where} must be a list, not {type(value).__name__}")
    for index, item in enumerate(value):
        if not isinstance(item, Mapping):
            raise ValueError(f"{where}[{index}] must be a mapping, not {type(item).__name__}")
    return list(value)


def _text(value: Any, where: str, default: str = "") -> str:
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string, not {type(value).__name__}")
    return value


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where} must be a number, not {value!r}")
    return float(value)


def _series(value: Any, where: str) -> Series:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} must be a mapping with label and points, not {type(value).__name__}")
    points = []
    for index, point in enumerate(_items(value.get("points"), f"{where}.points")):
        at = parse_time(point.get("at"), f"{where}.points[{index}].at")
        points.append((at, _number(point.get("value"), f"{where}.points[{index}].value")))
    return Series(_text(value.get("label"), f"{where}.label"), sorted(points, key=lambda point: point[0]))


def parse_timeline(data: Mapping[str, Any]) -> Timeline:
    """The data of render_timeline checked and normalised; ValueError names the first field that is wrong."""
    if not isinstance(data, Mapping):
        raise ValueError(f"the timeline data must be a mapping, not {type(data).__name__}")
    unknown = sorted(str(key) for key in data if key not in KEYS)
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(unknown)}: the timeline takes {', '.join(sorted(KEYS))}")
    if not isinstance(data.get("title"), str):
        raise ValueError(f"title must be a string, not {data.get('title')!r}")
    bands = []
    for index, item in enumerate(_items(data.get("bands"), "bands")):
        where = f"bands[{index}]"
        name = _text(item.get("name"), f"{where}.name").strip()
        if not name:
            raise ValueError(f"{where}.name must name the phase (baseline, activation, incident, recovery)")
        start, end = parse_time(item.get("start"), f"{where}.start"), parse_time(item.get("end"), f"{where}.end")
        if end < start:
            raise ValueError(f"{where}.end {item['end']!r} is before {where}.start {item['start']!r}")
        bands.append(Band(name, start, end))
    probes = []
    for index, item in enumerate(_items(data.get("probes"), "probes")):
        where = f"probes[{index}]"
        at = parse_time(item.get("at"), f"{where}.at")
        if not isinstance(item.get("ok"), bool):
            raise ValueError(f"{where}.ok must be true or false, not {item.get('ok')!r}")
        latency = item.get("latency_s")
        if latency is not None:
            latency = _number(latency, f"{where}.latency_s")
            if not math.isfinite(latency) or latency < 0:
                raise ValueError(f"{where}.latency_s must be a finite number of seconds >= 0, not {latency!r}")
        label = _text(item.get("label"), f"{where}.label")
        probes.append(Probe(at, item["ok"], None if latency is None else latency * 1000.0, label))
    replicas = None if data.get("replicas") is None else _series(data["replicas"], "replicas")
    series = [_series(item, f"series[{index}]") for index, item in enumerate(_items(data.get("series"), "series"))]
    return Timeline(data["title"], bands, sorted(probes, key=lambda probe: probe.at), replicas=replicas, series=series)


# ---------------------------------------------------------------- the time axis


@dataclass(frozen=True)
class TimeAxis:
    """x is seconds since midnight UTC of the first day; ticks on round clock times."""

    origin: dt.datetime
    low: float
    high: float
    ticks: list[float]
    label: str

    def x(self, moment: dt.datetime) -> float:
        return (moment - self.origin).total_seconds()

    def tick_text(self, value: float) -> str:
        return (self.origin + dt.timedelta(seconds=value)).strftime("%H:%M:%S")


def time_axis(moments: Sequence[dt.datetime]) -> TimeAxis | None:
    """The x range and its ticks for these times, None when there are none."""
    if not moments:
        return None
    first, last = min(moments), max(moments)
    origin = dt.datetime.combine(first.date(), dt.time(), tzinfo=dt.UTC)
    low, high = (first - origin).total_seconds(), (last - origin).total_seconds()
    if high - low < 1.0:  # a single instant: a minute around it
        low, high = (low + high) / 2 - 30.0, (low + high) / 2 + 30.0
    pad = max((high - low) * X_PAD, 0.5)  # the first and the last marks drawn whole
    low, high = low - pad, high + pad
    step = next((s for s in TICK_STEPS if (high - low) / s <= MAX_TICKS), None)
    if step is None:
        step = TICK_STEPS[-1] * math.ceil((high - low) / TICK_STEPS[-1] / MAX_TICKS)
    ticks = [k * step for k in range(math.ceil(low / step), math.floor(high / step) + 1)]
    days = sorted({first.date().isoformat(), last.date().isoformat()})
    return TimeAxis(origin, low, high, [float(t) for t in ticks], f"time (UTC), {' to '.join(days)}")


# ---------------------------------------------------------------- drawing


def _wrap(text: str, width: int = LEGEND_WRAP, lines: int = 4) -> str:
    """Lines of at most `width` characters, broken after a space or a PromQL `{`, `,` or `(` where possible."""
    wrapped: list[str] = []
    for piece in _BREAK.split(" ".join(text.split())):
        rest = piece
        while len(rest) > width:  # longer than a line: cut it
            if wrapped and len(wrapped[-1]) < width:
                room = width - len(wrapped[-1])
                wrapped[-1], rest = wrapped[-1] + rest[:room], rest[room:]
            else:
                wrapped.append(rest[:width])
                rest = rest[width:]
        if wrapped and len(wrapped[-1]) + len(rest) <= width:
            wrapped[-1] += rest
        elif rest.strip():
            wrapped.append(rest.lstrip())
    wrapped = [line.rstrip() for line in wrapped] or [""]
    if len(wrapped) > lines:
        wrapped = [*wrapped[: lines - 1], wrapped[lines - 1][: width - 1] + "\u2026"]
    return "\n".join(wrapped)


def _legend(ax: Axes, title: str | None = None) -> None:
    if ax.get_legend_handles_labels()[0]:
        legend = ax.legend(
            loc="upper left",
            bbox_to_anchor=(1.01, 1.0),
            borderaxespad=0.0,
            frameon=False,
            title=_wrap(title) if title else None,
            title_fontsize=7.0,
            alignment="left",
        )
        for text in [*legend.get_texts(), legend.get_title()]:  # labels from the data: a $ is a dollar
            text.set_parse_math(False)


def _no_samples(ax: Axes) -> None:
    ax.text(0.5, 0.5, NO_SAMPLES, transform=ax.transAxes, ha="center", va="center", color="#777777", fontsize=10)


def _draw_bands(axes: Sequence[Axes], bands: Sequence[Band], axis: TimeAxis) -> None:
    from matplotlib.font_manager import FontProperties  # noqa: PLC0415 - matplotlib only when a chart is drawn
    from matplotlib.textpath import text_to_path  # noqa: PLC0415

    top = axes[0]
    width_px = (RIGHT - LEFT) * WIDTH_IN * DPI
    font = FontProperties(size=BAND_FONT_SIZE)
    row_ends: list[float] = [-math.inf, -math.inf]  # the names' two rows above the top panel
    for band in sorted(bands, key=lambda one: (one.start, one.end, one.name)):
        color = BAND_COLORS.get(band.name.lower(), OTHER_BAND_COLOR)
        start, end = axis.x(band.start), axis.x(band.end)
        for ax in axes:
            ax.axvspan(start, end, color=color, alpha=BAND_ALPHA, linewidth=0, zorder=0)
        centre = ((start + end) / 2 - axis.low) / (axis.high - axis.low)
        name_px = text_to_path.get_text_width_height_descent(band.name, font, ismath=False)[0] * DPI / 72
        half = (name_px + 8) / width_px / 2  # 4 px clear on each side
        row = next((r for r, row_end in enumerate(row_ends) if row_end <= centre - half), None)
        if row is None:  # both rows taken here: the row that frees first
            row = min(range(len(row_ends)), key=lambda r: row_ends[r])
        row_ends[row] = centre + half
        top.text(
            (start + end) / 2,
            1.012 + 0.075 * row,
            band.name,
            transform=top.get_xaxis_transform(),
            ha="center",
            va="bottom",
            fontsize=BAND_FONT_SIZE,
            color="#333333",
            clip_on=False,
            parse_math=False,
        )
        top.plot(  # a tick under the name at the band's middle, so a name in the second row still points home
            [(start + end) / 2] * 2,
            [1.0, 1.012 + 0.075 * row],
            transform=top.get_xaxis_transform(),
            color="#777777",
            linewidth=0.6,
            clip_on=False,
            solid_capstyle="butt",
        )


def _draw_probes(ax: Axes, probes: Sequence[Probe], axis: TimeAxis) -> None:
    ax.set_ylabel("latency (ms)")
    if not probes:
        _no_samples(ax)
        ax.set_yticks([])
        return
    measured = [p.latency_ms for p in probes if p.latency_ms is not None]
    positive = [m for m in measured if m > 0]
    log = bool(positive) and max(positive) / min(positive) > 10**LOG_DECADES
    floor = min(positive) if positive else 0.0
    groups = (
        (True, True, "passed", PASS_COLOR, "o", 4.0),
        (False, True, "failed", FAIL_COLOR, "x", 6.0),
        (True, False, "passed, no latency", PASS_COLOR, "^", 5.0),
        (False, False, "failed, no latency", FAIL_COLOR, "^", 5.0),
    )
    for ok, timed, name, color, marker, size in groups:
        chosen = [p for p in probes if p.ok is ok and (p.latency_ms is not None) is timed]
        if not chosen:
            continue
        xs = [axis.x(p.at) for p in chosen]
        style: dict[str, Any] = {
            "linestyle": "none",
            "marker": marker,
            "markersize": size,
            "color": color,
            "markeredgewidth": 2.0 if marker == "x" else 0.8,
            "label": f"{name} ({len(chosen)})",
            "zorder": 3,
        }
        if timed:
            ys = [max(p.latency_ms or 0.0, floor) if log else (p.latency_ms or 0.0) for p in chosen]
            ax.plot(xs, ys, **style)
        else:  # no latency (a timeout, a refused connection): on the panel's top edge
            ax.plot(xs, [0.96] * len(xs), transform=ax.get_xaxis_transform(), clip_on=False, **style)
    if log:
        ax.set_yscale("log")
    elif measured:
        ax.set_ylim(0.0, max(measured) * 1.15 or 1.0)
    else:
        ax.set_yticks([])
    labels = sorted({p.label for p in probes if p.label})
    _legend(ax, ", ".join(labels) if labels else "probe")


def _draw_replicas(ax: Axes, replicas: Series | None, axis: TimeAxis) -> None:
    from matplotlib.ticker import MaxNLocator  # noqa: PLC0415 - matplotlib only when a chart is drawn

    ax.set_ylabel("replicas")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True, nbins=4))
    if replicas is None or not replicas.points:
        _no_samples(ax)
        ax.set_yticks([])
        return
    xs = [axis.x(at) for at, _ in replicas.points]
    ys = [value for _, value in replicas.points]
    ax.step(xs, ys, where="post", color=REPLICAS_COLOR, linewidth=1.5, label=_wrap(replicas.label or "replicas"))
    ax.plot(xs, ys, linestyle="none", marker="o", markersize=2.5, color=REPLICAS_COLOR)
    finite = [y for y in ys if math.isfinite(y)]
    if finite:
        ax.set_ylim(min(0.0, *finite) - 0.3, max(finite) + 0.6)
    _legend(ax)


def _draw_series(ax: Axes, series: Sequence[Series], axis: TimeAxis) -> None:
    ax.set_ylabel("Prometheus")
    drawn = 0
    for index, one in enumerate(series):
        if not one.points:
            continue
        drawn += 1
        color = SERIES_COLORS[index % len(SERIES_COLORS)]
        xs = [axis.x(at) for at, _ in one.points]
        ys = [value if math.isfinite(value) else math.nan for _, value in one.points]
        label = _wrap(one.label or f"series {index + 1}")
        marker = "o" if len(xs) <= 30 else ""  # a few samples: each one seen, an isolated one too
        ax.plot(xs, ys, color=color, linewidth=1.2, marker=marker, markersize=2.5, label=label)
    if not drawn:
        _no_samples(ax)
        ax.set_yticks([])
    _legend(ax)


def _draw(timeline: Timeline) -> bytes:
    # Matplotlib only when a chart is drawn: the modules that import the other module_utils do not need it.
    import matplotlib  # noqa: PLC0415
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415
    from matplotlib.ticker import FixedLocator, FuncFormatter  # noqa: PLC0415

    with matplotlib.rc_context():
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(RC)
        figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI, facecolor="white")
        canvas = FigureCanvasAgg(figure)
        ratios = [2.2, 1.0, 1.4] if timeline.series else [2.2, 1.0]
        axes = list(figure.subplots(len(ratios), 1, sharex=True, gridspec_kw={"height_ratios": ratios}))
        figure.subplots_adjust(left=LEFT, right=RIGHT, bottom=BOTTOM, top=TOP, hspace=HSPACE)
        title = " ".join(timeline.title.split())
        title = title if len(title) <= TITLE_MAX else title[: TITLE_MAX - 1] + "\u2026"
        size = TITLE_SIZE * min(1.0, TITLE_FIT / max(len(title), 1))
        figure.suptitle(title, x=LEFT, y=0.985, ha="left", va="top", fontsize=size, fontweight="bold", parse_math=False)
        for ax in axes:
            ax.grid(True, axis="y", color="#e3e3e3", linewidth=0.6)
            ax.set_axisbelow(True)
        axis = time_axis(timeline.times())
        if axis is None:  # nothing at all: empty panels that say so, no time ticks
            axes[-1].set_xlim(0.0, 1.0)
            axes[-1].set_xticks([])
            axes[-1].set_xlabel("time (UTC)")
            for ax in axes:
                _no_samples(ax)
                ax.set_yticks([])
            axes[0].set_ylabel("latency (ms)")
            axes[1].set_ylabel("replicas")
            if timeline.series:
                axes[2].set_ylabel("Prometheus")
        else:
            axes[-1].set_xlim(axis.low, axis.high)
            axes[-1].xaxis.set_major_locator(FixedLocator(axis.ticks))
            axes[-1].xaxis.set_major_formatter(FuncFormatter(lambda value, _: axis.tick_text(value)))
            axes[-1].set_xlabel(axis.label)
            _draw_bands(axes, timeline.bands, axis)
            _draw_probes(axes[0], timeline.probes, axis)
            _draw_replicas(axes[1], timeline.replicas, axis)
            if timeline.series:
                _draw_series(axes[2], timeline.series, axis)
        for ax in axes:
            ax.yaxis.set_label_coords(-0.055, 0.5)  # the y labels aligned whatever the tick labels' widths
        out = io.BytesIO()
        canvas.print_png(out, metadata={"Software": None})
        return out.getvalue()


def render_timeline(data: Mapping[str, Any]) -> bytes:
    """The run's timeline as a PNG of 1000 x 600 px; the same data gives the same bytes.

    ValueError names the field of bad input (an unparseable time, a band that ends before it starts).
    """
    timeline = parse_timeline(data)
    with _LOCK:
        return _draw(timeline)
