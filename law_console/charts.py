"""Bar charts as inline SVG, drawn on the server (no chart library, no script).

One bar per day; each ``<rect class="bar">`` carries ``data-day`` and ``data-value`` and a
``<title>`` read out by screen readers and shown on hover. The drawing scales to the page's
width (``viewBox``), so one chart fits a 360 px phone and a desk.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 480, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 20, 30


@dataclass(frozen=True)
class Bar:
    day: str  # ISO date
    label: str  # under the bar, e.g. "07/12"
    value: float
    text: str  # the value as shown on the bar, e.g. "12" or "8,3%"
    detail: str = ""  # more, for the tooltip, e.g. "1 dari 12"


def _nice_top(value: float, percent: bool) -> float:
    if percent:
        return 100.0 if value > 50 else max(10.0, float(int(value / 10) + 1) * 10)
    for step in (1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000):
        if value <= step * 4:
            return float(step * 4)
    return float(value)


def bar_chart(title: str, bars: Sequence[Bar], tone: str = "", percent: bool = False) -> Markup:
    """An SVG bar chart titled ``title`` (``tone``: "", "bad" or "warn" for the bars' colour)."""
    top = _nice_top(max((b.value for b in bars), default=0.0), percent)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(bars), 1)
    bar_w = max(2.0, min(40.0, slot * 0.7))
    label_every = max(1, -(-len(bars) // 8))
    parts = [f'<svg viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>']
    for step in range(5):
        value = top * step / 4
        y = TOP + plot_h - plot_h * step / 4
        shown = f"{value:g}%" if percent else f"{value:g}"
        parts.append(f'<line class="grid" x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" '
                     f'y2="{y:.1f}"/><text x="{LEFT - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end">{escape(shown)}</text>')
    for index, bar in enumerate(bars):
        height = plot_h * min(bar.value, top) / top if top else 0.0
        x = LEFT + slot * index + (slot - bar_w) / 2
        y = TOP + plot_h - height
        parts.append(
            f'<rect class="bar{" " + tone if tone else ""}" x="{x:.1f}" y="{y:.1f}" '
            f'width="{bar_w:.1f}" height="{height:.1f}" data-day="{escape(bar.day)}" '
            f'data-value="{bar.value:g}"><title>{escape(bar.label)}: {escape(bar.text)}'
            f'{escape(" (" + bar.detail + ")") if bar.detail else ""}</title></rect>')
        if bar.value and len(bars) <= 12:
            parts.append(f'<text class="value" x="{x + bar_w / 2:.1f}" y="{y - 3:.1f}" '
                         f'text-anchor="middle">{escape(bar.text)}</text>')
        if index % label_every == 0:
            parts.append(f'<text x="{x + bar_w / 2:.1f}" y="{HEIGHT - BOTTOM + 18}" '
                         f'text-anchor="middle">{escape(bar.label)}</text>')
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{TOP + plot_h}" x2="{WIDTH - RIGHT}" '
                 f'y2="{TOP + plot_h}"/></svg>')
    return Markup("".join(parts))
