"""Geometry for the server-rendered SVG charts (templates/reports/_charts.html draws them).

No JavaScript and no CDN: each chart is an ``<svg role="img">`` with a title and a description,
and the page shows the same figures as a table next to it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

# Colour-blind-safe (Okabe-Ito), dark enough against white for graphics (WCAG 1.4.11: 3:1).
SECTOR_COLOURS = {"municipality": "#0072B2", "hospital": "#D55E00", "company": "#007A5E",
                  "academia": "#9E4F8A", "host": "#6B6B6B"}
HEAT_STEPS = ("#f4f7fb", "#c6dbef", "#6baed6", "#2171b5", "#08306b")

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 12, 48


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    title: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    x_labels: list[tuple[float, str]] = field(default_factory=list)  # (x, text)
    y_ticks: list[tuple[float, str]] = field(default_factory=list)  # (y, text)
    baseline: float = HEIGHT - BOTTOM
    left: float = LEFT
    right: float = WIDTH - RIGHT


def _ticks(maximum: float, as_percent: bool) -> list[tuple[float, float]]:
    """(value, y) for 0, 1/2 and the top of the scale."""
    plot = HEIGHT - BOTTOM - TOP
    top = maximum if maximum > 0 else 1.0
    return [(top * f, HEIGHT - BOTTOM - plot * f) for f in (0, 0.5, 1)]


def _label_every(count: int) -> int:
    return max(1, -(-count // 12))


def bar_chart(points: list[tuple[str, float, str]], *, as_percent: bool, colour: str = "#0b5394") -> Chart:
    """One bar per (label, value, title)."""
    chart = Chart()
    maximum = max((v for _l, v, _t in points), default=0.0)
    if as_percent:
        maximum = max(maximum, 0.0001)
    top = maximum if maximum > 0 else 1.0
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(points), 1)
    every = _label_every(len(points))
    for i, (label, value, title) in enumerate(points):
        h = plot_h * (value / top) if top else 0
        x = LEFT + i * step + step * 0.15
        chart.bars.append(Bar(x, HEIGHT - BOTTOM - h, step * 0.7, h, colour, title))
        if i % every == 0:
            chart.x_labels.append((LEFT + i * step + step / 2, label))
    places = 1 if (top * 100 if as_percent else top) < 10 else 0  # "0.4 %" rather than "0 %"
    chart.y_ticks = [(y, f"{v * 100:.{places}f} %" if as_percent else f"{v:.{places}f}")
                     for v, y in _ticks(top, as_percent)]
    return chart


def stacked_chart(periods: list[str], series: dict[str, dict[str, float]], labels: dict[str, str]) -> Chart:
    """Stacked bars: for each period, one segment per series key (hours)."""
    chart = Chart()
    totals = [sum(series[key].get(p, 0.0) for key in series) for p in periods]
    top = max(totals, default=0.0) or 1.0
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - BOTTOM - TOP
    step = plot_w / max(len(periods), 1)
    every = _label_every(len(periods))
    for i, period in enumerate(periods):
        y = HEIGHT - BOTTOM
        for key in series:
            value = series[key].get(period, 0.0)
            if value <= 0:
                continue
            h = plot_h * value / top
            y -= h
            chart.bars.append(Bar(LEFT + i * step + step * 0.15, y, step * 0.7, h, SECTOR_COLOURS.get(key, "#333333"),
                                  f"{period}: {labels.get(key, key)} {value:.1f}"))
        if i % every == 0:
            chart.x_labels.append((LEFT + i * step + step / 2, period))
    places = 1 if top < 10 else 0
    chart.y_ticks = [(y, f"{v:.{places}f}") for v, y in _ticks(top, False)]
    return chart


def heat_colour(value: float, maximum: float) -> str:
    if value <= 0 or maximum <= 0:
        return HEAT_STEPS[0]
    index = 1 + min(3, int(4 * value / maximum - 1e-9))
    return HEAT_STEPS[index]
