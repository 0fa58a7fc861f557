"""Server-rendered SVG chart of a product's forecast: no JavaScript library, no CDN, works offline.

Units per day on the left axis: the last days of sales as bars, the forecast's p50 as a line over its p10-p90
band; stock on the right axis: today's stock projected against the p50; promotion days shaded; the expected and
pessimistic stock-out dates as vertical markers. Every text is escaped.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, timedelta
from html import escape

W, H = 960, 380
LEFT, RIGHT, TOP, BOTTOM = 56, 64, 34, 44
COLOURS = {"history": "#6c8ebf", "band": "#f4b183", "p50": "#c55a11", "stock": "#2e7d32", "promo": "#fff2b3",
           "stockout": "#c62828", "today": "#555"}


@dataclass
class ChartData:
    history_dates: list[date]
    history_units: list[float]
    forecast_dates: list[date]
    p10: list[float]
    p50: list[float]
    p90: list[float]
    stock: list[float] = field(default_factory=list)          # projected stock at the end of each forecast day
    stock_now: float | None = None                             # stock when the forecast starts
    promo_dates: set[date] = field(default_factory=set)
    stockout_date: date | None = None
    stockout_date_pessimistic: date | None = None
    title: str = ""


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    exp = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * exp:
            return m * exp
    return 10 * exp


def _ticks(top: float) -> list[float]:
    mantissa = top / 10 ** math.floor(math.log10(top))
    n = 4 if round(mantissa, 6) == 2 else 5   # steps of 0.2, 0.5, 1 or 2 x a power of ten
    return [top * i / n for i in range(n + 1)]


def _fmt(v: float) -> str:
    return f"{v:.0f}" if v >= 10 or v == int(v) else f"{v:.1f}"


def render(d: ChartData) -> str:
    days = list(d.history_dates) + list(d.forecast_dates)
    if not days:
        return ""
    start = days[0]
    n = (days[-1] - start).days + 1
    pw, ph = W - LEFT - RIGHT, H - TOP - BOTTOM
    step = pw / n
    ymax = _nice_max(max([0.0, *d.history_units, *d.p90]) * 1.08)
    smax = _nice_max(max([0.0, *d.stock, d.stock_now or 0.0]) * 1.05)

    def x(day: date, offset: float = 0.5) -> float:
        return LEFT + ((day - start).days + offset) * step

    def y(v: float) -> float:
        return TOP + ph - (v / ymax) * ph

    def ys(v: float) -> float:
        return TOP + ph - (v / smax) * ph

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" id="forecast-chart" viewBox="0 0 {W} {H}" width="100%" '
           f'role="img" aria-label="{escape(d.title or "Forecast chart")}" font-family="sans-serif" font-size="11">',
           f"<title>{escape(d.title or 'Forecast chart')}</title>"]
    # promotions (behind everything)
    for day in sorted(p for p in d.promo_dates if start <= p <= days[-1]):
        out.append(f'<rect class="promo" x="{x(day, 0):.1f}" y="{TOP}" width="{step:.2f}" height="{ph}" '
                   f'fill="{COLOURS["promo"]}"><title>Promotion {day:%Y-%m-%d}</title></rect>')
    # grid and axes
    for t in _ticks(ymax):
        out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#e5e5e5"/>'
                   f'<text x="{LEFT - 6}" y="{y(t) + 4:.1f}" text-anchor="end" fill="#333">{_fmt(t)}</text>')
    if d.stock:
        for t in _ticks(smax):
            out.append(f'<text x="{W - RIGHT + 6}" y="{ys(t) + 4:.1f}" fill="{COLOURS["stock"]}">{_fmt(t)}</text>')
    first = start + timedelta(days=(7 - start.weekday()) % 7)  # Mondays
    tick = first
    while tick <= days[-1]:
        if (tick - first).days % 14 == 0:
            out.append(f'<line x1="{x(tick, 0):.1f}" x2="{x(tick, 0):.1f}" y1="{TOP + ph}" y2="{TOP + ph + 4}" '
                       f'stroke="#333"/><text x="{x(tick, 0):.1f}" y="{TOP + ph + 16}" text-anchor="middle" '
                       f'fill="#333">{tick:%d %b}</text>')
        tick += timedelta(days=7)
    out.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{TOP + ph}" y2="{TOP + ph}" stroke="#333"/>')
    out.append(f'<text x="12" y="{TOP + ph / 2:.0f}" transform="rotate(-90 12 {TOP + ph / 2:.0f})" '
               f'text-anchor="middle" fill="#333">units per day</text>')
    if d.stock:
        out.append(f'<text x="{W - 10}" y="{TOP + ph / 2:.0f}" transform="rotate(90 {W - 10} {TOP + ph / 2:.0f})" '
                   f'text-anchor="middle" fill="{COLOURS["stock"]}">stock</text>')
    # history bars
    bars = []
    for day, u in zip(d.history_dates, d.history_units):
        if u > 0:
            bars.append(f'<rect x="{x(day, 0.1):.1f}" y="{y(u):.1f}" width="{step * 0.8:.2f}" '
                        f'height="{TOP + ph - y(u):.1f}"/>')
    out.append(f'<g class="history" fill="{COLOURS["history"]}">{"".join(bars)}</g>')
    if d.forecast_dates:
        fx = [x(day) for day in d.forecast_dates]
        upper = " ".join(f"{a:.1f},{y(v):.1f}" for a, v in zip(fx, d.p90))
        lower = " ".join(f"{a:.1f},{y(v):.1f}" for a, v in reversed(list(zip(fx, d.p10))))
        out.append(f'<polygon class="band" points="{upper} {lower}" fill="{COLOURS["band"]}" fill-opacity="0.55"/>')
        line = " ".join(f"{a:.1f},{y(v):.1f}" for a, v in zip(fx, d.p50))
        out.append(f'<polyline class="p50" points="{line}" fill="none" stroke="{COLOURS["p50"]}" stroke-width="2"/>')
        if d.stock:
            start_pt = f"{x(d.forecast_dates[0], 0):.1f},{ys(d.stock_now):.1f} " if d.stock_now is not None else ""
            pts = start_pt + " ".join(f"{x(day, 1):.1f},{ys(v):.1f}" for day, v in zip(d.forecast_dates, d.stock))
            out.append(f'<polyline class="stock" points="{pts}" fill="none" stroke="{COLOURS["stock"]}" '
                       f'stroke-width="2" stroke-dasharray="6 3"/>')
        today = x(d.forecast_dates[0], 0)
        out.append(f'<line class="today" x1="{today:.1f}" x2="{today:.1f}" y1="{TOP}" y2="{TOP + ph}" '
                   f'stroke="{COLOURS["today"]}" stroke-dasharray="2 2"/>'
                   f'<text x="{today + 4:.1f}" y="{TOP + 10}" fill="{COLOURS["today"]}">forecast</text>')
    for when, label, opacity in ((d.stockout_date, "stock-out (p50)", 1.0),
                                 (d.stockout_date_pessimistic, "stock-out (p90)", 0.5)):
        if when and d.forecast_dates and d.forecast_dates[0] <= when <= d.forecast_dates[-1]:
            sx = x(when)
            out.append(f'<line class="stockout" x1="{sx:.1f}" x2="{sx:.1f}" y1="{TOP}" y2="{TOP + ph}" '
                       f'stroke="{COLOURS["stockout"]}" stroke-opacity="{opacity}" stroke-width="1.5"/>'
                       f'<text x="{sx + 3:.1f}" y="{TOP + 24 + 13 * (opacity < 1)}" fill="{COLOURS["stockout"]}" '
                       f'fill-opacity="{opacity}">{escape(label)} {when:%d %b}</text>')
    # legend
    items = [("history", "sold"), ("p50", "forecast p50"), ("band", "p10-p90"), ("stock", "projected stock"),
             ("promo", "promotion")]
    lx = LEFT
    for key, label in items:
        out.append(f'<rect x="{lx}" y="8" width="12" height="12" fill="{COLOURS[key]}" stroke="#999" '
                   f'stroke-width="0.5"/><text x="{lx + 16}" y="18" fill="#333">{escape(label)}</text>')
        lx += 22 + 7 * len(label)
    out.append("</svg>")
    return "".join(out)
