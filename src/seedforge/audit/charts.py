"""Small inline SVG charts for the static report: no library, no network, same bytes every time.

A chart is a `<figure class="chart">` holding a caption and one `<svg>`: lines with points for
per-iteration curves, bars (stacked or side by side) for counts by category.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2"]
WIDTH, HEIGHT = 440, 260
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 62  # plot margins; the legend sits under the x axis


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float | None]
    color: str
    dashed: bool = False


def color(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def axis(value: float, ticks: int = 5) -> tuple[float, float]:
    """(top, step) of a y axis that shows `value`: a round step (1, 2, 2.5 or 5 times a power of
    ten) and at most `ticks` gridlines above zero.

    >>> axis(0.93), axis(59), axis(0), axis(2100), axis(5)
    ((1.0, 0.2), (60.0, 20.0), (1.0, 0.25), (2500.0, 500.0), (5.0, 1.0))
    """
    if value <= 0:
        return 1.0, 0.25
    raw = value / ticks
    exp = 10 ** math.floor(math.log10(raw))
    step = next(m * exp for m in (1, 2, 2.5, 5, 10) if m * exp >= raw - 1e-12)
    return float(step * math.ceil(value / step - 1e-9)), float(step)


def _fmt(v: float) -> str:
    """>>> _fmt(0.5), _fmt(12.0), _fmt(1500.0)
    ('0.5', '12', '1.5k')
    """
    if abs(v) >= 1000:
        return f"{v / 1000:g}k"
    return f"{v:g}" if v != int(v) else str(int(v))


def _frame(
    title: str, y_max: float, y_step: float, x_labels: Sequence[str], x_at: Sequence[float], y_label: str
) -> list[str]:
    ph = HEIGHT - TOP - BOTTOM
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
        f'height="{HEIGHT}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<rect class="plot" x="{LEFT}" y="{TOP}" width="{WIDTH - LEFT - RIGHT}" height="{ph}" fill="#fff"/>',
    ]
    for k in range(round(y_max / y_step) + 1):
        v = y_step * k
        y = TOP + ph - ph * v / y_max
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" class="tick">{_fmt(v)}</text>')
    for label, x in zip(x_labels, x_at, strict=True):
        out.append(
            f'<text x="{x:.1f}" y="{TOP + ph + 16}" text-anchor="middle" class="tick">{escape(label)}</text>'
        )
    out.append(
        f'<text x="14" y="{TOP + ph / 2:.1f}" transform="rotate(-90 14 {TOP + ph / 2:.1f})" '
        f'text-anchor="middle" class="axis">{escape(y_label)}</text>'
    )
    out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + ph}" y2="{TOP + ph}" stroke="#444"/>')
    out.append(f'<line x1="{LEFT}" x2="{LEFT}" y1="{TOP}" y2="{TOP + ph}" stroke="#444"/>')
    return out


def _legend(series: Sequence[Series]) -> list[str]:
    out, x, y = [], LEFT, HEIGHT - 22
    for s in series:
        dash = ' stroke-dasharray="5 3"' if s.dashed else ""
        out.append(
            f'<line x1="{x}" x2="{x + 18}" y1="{y}" y2="{y}" stroke="{s.color}" stroke-width="3"{dash}/>'
        )
        out.append(f'<text x="{x + 22}" y="{y + 4}" class="legend">{escape(s.name)}</text>')
        x += 30 + 7 * len(s.name)
        if x > WIDTH - 80:
            x, y = LEFT, y + 14
    return out


def _figure(key: str, title: str, svg: list[str]) -> str:
    return (
        f'<figure class="chart" data-chart="{escape(key)}"><figcaption>{escape(title)}</figcaption>'
        + "".join(svg)
        + "</svg></figure>"
    )


def line_chart(
    key: str, title: str, x: Sequence[int], series: Sequence[Series], y_label: str, y_max: float | None = None
) -> str:
    """One line per series over iterations; a missing value breaks the line.

    >>> svg = line_chart("acc", "Accuracy", [0, 1], [Series("test", [0.5, 0.75], "#1f77b4")], "accuracy")
    >>> svg.count('class="series"'), "<figcaption>Accuracy</figcaption>" in svg
    (1, True)
    """
    values = [v for s in series for v in s.values if v is not None]
    top, step_y = axis(y_max if y_max is not None else max(values, default=0))
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = pw / max(1, len(x) - 1) if len(x) > 1 else 0
    xs = [LEFT + (step * k if len(x) > 1 else pw / 2) for k in range(len(x))]
    out = _frame(title, top, step_y, [str(i) for i in x], xs, y_label)
    for s in series:
        dash = ' stroke-dasharray="6 4"' if s.dashed else ""
        points = [
            (xs[k], TOP + ph - ph * (v / top))
            for k, v in enumerate(s.values)
            if v is not None and k < len(xs)
        ]
        if len(points) > 1:
            coords = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
            out.append(
                f'<polyline class="series" points="{coords}" fill="none" stroke="{s.color}" '
                f'stroke-width="3"{dash}/>'
            )
        for px, py in points:
            out.append(f'<circle class="point" cx="{px:.1f}" cy="{py:.1f}" r="4" fill="{s.color}"/>')
    return _figure(key, title, out + _legend(series))


def bar_chart(
    key: str,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    y_label: str,
    stacked: bool = True,
) -> str:
    """Bars per category: one segment per series (stacked) or one bar per series (side by side).

    >>> svg = bar_chart("r", "Rejects", ["0", "1"], [Series("parse", [3, 1], "#d62728"),
    ...                                              Series("dup", [0, 2], "#1f77b4")], "rows")
    >>> svg.count('class="bar"')
    3
    """
    totals = [
        sum((s.values[k] or 0) for s in series)
        if stacked
        else max(((s.values[k] or 0) for s in series), default=0)
        for k in range(len(categories))
    ]
    top, step_y = axis(max(totals, default=0))
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = pw / max(1, len(categories))
    centres = [LEFT + slot * (k + 0.5) for k in range(len(categories))]
    out = _frame(title, top, step_y, list(categories), centres, y_label)
    bar_w = slot * 0.6 if stacked else slot * 0.8 / max(1, len(series))
    for k, cx in enumerate(centres):
        base = 0.0
        for j, s in enumerate(series):
            v = s.values[k] or 0
            if v <= 0:
                continue
            h = ph * v / top
            if stacked:
                x, y = cx - bar_w / 2, TOP + ph - ph * base / top - h
                base += v
            else:
                x, y = cx - slot * 0.4 + j * bar_w, TOP + ph - h
            out.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{s.color}"><title>{escape(s.name)}: {_fmt(v)}</title></rect>'
            )
    return _figure(key, title, out + _legend(series))
