"""The report's charts as inline SVG, drawn from the figures with nothing to fetch.

Each chart is a ``<figure>`` holding one ``<svg role="img">`` with a title and a
description; it prints its numbers beside its marks (meaning never rests on colour alone),
and every text from the data is escaped. ``report_html`` puts them on the page.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

from gateway.charts import daily, day_label, labelled, levels, round_ticks
from gateway.reports import flatten

MISSING = "–"
INK, MUTED, GRID = "#1a1a1a", "#595959", "#d0d0d0"
ZERO = "#f4f6f9"  # an hour with no check-in: the grid still shows
HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke"'  # text over a bar stays legible
BAR, LINE = "#2b6cb0", "#b34700"  # 5.4:1 and 5.5:1 on white
# Light to dark, with the text colour that reads on each (contrast 4.5:1 or more).
RAMP = (("#dbe9f8", INK), ("#9cc3ea", INK), ("#2f6db5", "#ffffff"), ("#0b2e5c", "#ffffff"))


# -- words and numbers (report_html's tables use them too) ---------------------------------


def words(name: str) -> str:
    """``within_target_pct`` → ``within target %``."""
    return name.replace("_pct", " %").replace("_", " ")


def show(value: Any) -> str:
    """A figure as text: "–" when left out (``None``), "yes" or "no" for a flag."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _count_of(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- charts --------------------------------------------------------------------------------


def _svg(chart_id: str, width: int, height: int, title: str, desc: str, marks: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" '
        f'aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{escape(title)}</title>'
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>' + "".join(marks) + "</svg>"
    )


def _figure(caption: str, svg: str) -> str:
    return f"<figure><figcaption>{escape(caption)}</figcaption>{svg}</figure>"


def _text(x: float, y: float, text: str, *, anchor: str = "start", extra: str = "") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{escape(text)}</text>'


def trend_chart(chart_id: str, trend: dict[str, Any]) -> str:
    """Bars for tickets issued per day (left scale) and a line with dots for the median
    wait (right scale); the line breaks on days with no call."""
    days = daily(trend.get("rows") or [], trend.get("from"), trend.get("to"))
    width, height, left, right, top, bottom = 760, 330, 52, 60, 30, 66
    plot_w, plot_h = width - left - right, height - top - bottom
    band = plot_w / len(days)
    issued = [n for _, n, _ in days]
    medians = [m for _, _, m in days]
    counts = round_ticks(max(max(issued), 1))
    known = [m for m in medians if m is not None]
    # At least a minute high: a day whose every wait was under a minute has a median of 0.
    minutes = round_ticks(max(math.ceil(max(known, default=1.0)), 1))

    def y(value: float, scale: list[float]) -> float:
        return top + plot_h - plot_h * value / scale[-1]

    marks = [f'<g font-size="11" fill="{INK}">']
    for tick in counts:
        marks.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{y(tick, counts):.1f}" '
            f'y2="{y(tick, counts):.1f}" stroke="{GRID}"/>'
        )
        marks.append(_text(left - 6, y(tick, counts) + 4, f"{tick:g}", anchor="end"))
    if known:
        for tick in minutes:
            marks.append(
                _text(left + plot_w + 6, y(tick, minutes) + 4, f"{tick:g}", extra=f' fill="{LINE}"')
            )
    marks.append(_text(left - 40, 14, "tickets issued"))
    marks.append(_text(width - 4, 14, "median wait (min)", anchor="end", extra=f' fill="{LINE}"'))
    key = top + plot_h + 42
    marks.append(
        f'<rect x="{left}" y="{key - 11}" width="12" height="12" fill="{BAR}"/>'
        + _text(left + 18, key, "bars: tickets issued (left scale)")
        + f'<line x1="{left + 250}" x2="{left + 280}" y1="{key - 5}" y2="{key - 5}" '
        f'stroke="{LINE}" stroke-width="2.5"/>'
        + f'<circle cx="{left + 265}" cy="{key - 5}" r="4.5" fill="{LINE}" stroke="#fff"/>'
        + _text(left + 288, key, "line and dots: median wait in minutes (right scale)")
    )
    bar_w = max(1.0, band * 0.7)
    for i, (day, n, _) in enumerate(days):
        x = left + band * i + (band - bar_w) / 2
        marks.append(
            f'<rect x="{x:.1f}" y="{y(n, counts):.1f}" width="{bar_w:.1f}" '
            f'height="{plot_h * n / counts[-1]:.1f}" fill="{BAR}">'
            f"<title>{escape(day_label(day))}: {n} tickets</title></rect>"
        )
        if len(days) <= 31:
            marks.append(_text(x + bar_w / 2, y(n, counts) - 3, str(n), anchor="middle"))
    for i in labelled(len(days), int(plot_w // 46)):
        marks.append(
            _text(
                left + band * (i + 0.5), top + plot_h + 16, day_label(days[i][0]), anchor="middle"
            )
        )
    marks.append(
        f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}" '
        f'stroke="{INK}"/>'
    )
    run: list[str] = []
    for i, m in enumerate([*medians, None]):
        if m is not None:
            run.append(f"{left + band * (i + 0.5):.1f},{y(m, minutes):.1f}")
            continue
        if len(run) > 1:
            marks.append(
                f'<polyline points="{" ".join(run)}" fill="none" stroke="{LINE}" '
                'stroke-width="2.5"/>'
            )
        run = []
    for i, m in enumerate(medians):
        if m is not None:
            cx, cy = left + band * (i + 0.5), y(m, minutes)
            marks.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4.5" fill="{LINE}" stroke="#fff" '
                f'stroke-width="1.5"><title>{escape(day_label(days[i][0]))}: '
                f"median wait {m:g} min</title></circle>"
            )
            if len(days) <= 14:
                marks.append(_text(cx + 7, cy - 6, f"{m:g} min", extra=f' fill="{LINE}" {HALO}'))
    marks.append("</g>")
    first, last = days[0][0], days[-1][0]
    busiest = max(days, key=lambda d: d[1])
    desc = (
        f"{sum(issued)} tickets issued from {first} to {last}; the busiest day was "
        f"{busiest[0]} with {busiest[1]}. "
        + (
            f"The median wait ranged from {min(known):g} to {max(known):g} minutes."
            if known
            else "No ticket was called, so there is no wait to show."
        )
        + " The figures are in the table 'tickets issued and median wait per day'."
    )
    title = "Tickets issued and median wait per day"
    return _figure(title, _svg(chart_id, width, height, title, desc, marks))


def heatmap_chart(chart_id: str, profile: dict[str, Any]) -> str:
    """Weekday rows × hour columns, each cell shaded by its check-ins and printing them."""
    hours: list[str] = list(profile["hours"])
    rows: list[dict[str, Any]] = list(profile["rows"])
    counts = [[int(n or 0) for n in r["checkins"]] for r in rows]
    peak = max((n for r in counts for n in r), default=0)
    ranges = levels(peak, len(RAMP))
    first_level = len(RAMP) - len(ranges)
    left, top, total_w = 44, 22, 52
    cell_w = min(56.0, (760 - left - total_w) / len(hours))
    cell_h = 30
    width = int(left + cell_w * len(hours) + total_w)
    grid_h = cell_h * (len(rows) + 1)
    height = top + grid_h + 48
    per_hour = [sum(r[h] for r in counts) for h in range(len(hours))]
    digits = len(str(max(peak, *per_hour)))
    size = f' font-size="{max(7.0, min(12.0, cell_w / (0.62 * digits + 0.6))):.0f}"'

    marks = [f'<g font-size="12" fill="{INK}">']
    for h, hour in enumerate(hours):
        label = f"{hour}:00" if cell_w >= 44 else hour
        marks.append(_text(left + cell_w * (h + 0.5), top - 7, label, anchor="middle", extra=size))
    marks.append(_text(left + cell_w * len(hours) + total_w / 2, top - 7, "all", anchor="middle"))
    for r, (row, row_counts) in enumerate(zip(rows, counts, strict=True)):
        y = top + cell_h * r
        marks.append(_text(4, y + cell_h / 2 + 4, str(row["weekday"])))
        for h, n in enumerate(row_counts):
            x = left + cell_w * h
            fill, ink = ZERO, MUTED
            if n > 0:
                k = next(i for i, (_, high) in enumerate(ranges) if n <= high)
                fill, ink = RAMP[first_level + k]
            marks.append(
                f'<g class="cell" data-weekday="{escape(str(row["weekday"]))}" '
                f'data-hour="{escape(hours[h])}" data-count="{n}"{size}>'
                f"<title>{escape(str(row['weekday']))} {escape(hours[h])}:00: "
                f"{n} check-ins</title>"
                f'<rect x="{x:.1f}" y="{y}" width="{cell_w:.1f}" height="{cell_h}" '
                f'fill="{fill}" stroke="#ffffff" stroke-width="1"/>'
                + _text(
                    x + cell_w / 2,
                    y + cell_h / 2 + 4,
                    str(n),
                    anchor="middle",
                    extra=f' fill="{ink}"',
                )
                + "</g>"
            )
        marks.append(
            _text(
                left + cell_w * len(hours) + total_w / 2,
                y + cell_h / 2 + 4,
                str(sum(row_counts)),
                anchor="middle",
                extra=' font-weight="600"',
            )
        )
    y = top + cell_h * len(rows)
    marks.append(_text(4, y + cell_h / 2 + 4, "all", extra=' font-weight="600"'))
    for h in range(len(hours)):
        marks.append(
            _text(
                left + cell_w * (h + 0.5),
                y + cell_h / 2 + 4,
                str(per_hour[h]),
                anchor="middle",
                extra=' font-weight="600"' + size,
            )
        )
    marks.append(
        _text(
            left + cell_w * len(hours) + total_w / 2,
            y + cell_h / 2 + 4,
            str(sum(map(sum, counts))),
            anchor="middle",
            extra=' font-weight="600"',
        )
    )
    x, y = left, top + grid_h + 22
    marks.append(
        f'<rect x="{x}" y="{y - 12}" width="16" height="16" fill="{ZERO}" stroke="{GRID}"/>'
        + _text(x + 22, y + 1, "0 none")
    )
    x += 90
    for k, (low, high) in enumerate(ranges):
        fill, _ = RAMP[first_level + k]
        words = f"{low}" if low == high else f"{low}–{high}"
        marks.append(
            f'<rect x="{x}" y="{y - 12}" width="16" height="16" fill="{fill}"/>'
            + _text(x + 22, y + 1, words)
        )
        x += 40 + 8 * len(words)
    marks.append(_text(x, y + 1, "check-ins in the hour"))
    marks.append("</g>")
    busiest = max(
        (
            (n, rows[r]["weekday"], hours[h])
            for r, rc in enumerate(counts)
            for h, n in enumerate(rc)
        ),
        default=(0, "", ""),
    )
    desc = (
        f"{sum(map(sum, counts))} check-ins, by weekday and local hour from {hours[0]}:00 to "
        f"{hours[-1]}:59. "
        + (f"The busiest hour was {busiest[1]} {busiest[2]}:00 with {busiest[0]}. " if peak else "")
        + "Each cell prints its count; the table 'check-ins by weekday and hour' holds them too."
    )
    title = "Check-ins by weekday and hour of the day"
    return _figure(title, _svg(chart_id, width, height, title, desc, marks))


def rows_chart(chart_id: str, rows: list[dict[str, Any]], by: str) -> str | None:
    """Horizontal bars of the rows' first count (tickets issued, check-ins, ...)."""
    flat = [dict(flatten({k: v for k, v in row.items() if k != by})) for row in rows]
    names = list(dict.fromkeys(n for f in flat for n in f))
    column = next(
        (
            n
            for n in names
            if all(f.get(n) is None or _count_of(f.get(n)) for f in flat)
            and any(f.get(n) is not None for f in flat)
        ),
        None,
    )
    if column is None:
        return None
    values = [f.get(column) for f in flat]
    labels = [show(row.get(by)) for row in rows]
    label_w = min(220, 12 + 7 * max(len(s) for s in labels))
    width, bar_h, top = 760, 22, 8
    plot_w = width - label_w - 60
    height = top + bar_h * len(rows) + 8
    most = max((v for v in values if v is not None), default=0) or 1
    marks = [f'<g font-size="12" fill="{INK}">']
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        y = top + bar_h * i
        marks.append(_text(label_w - 8, y + 15, label, anchor="end"))
        length = 0.0 if value is None else plot_w * value / most
        marks.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{length:.1f}" height="{bar_h - 6}" '
            f'fill="{BAR}"/>'
        )
        marks.append(_text(label_w + length + 6, y + 15, show(value)))
    marks.append(
        f'<line x1="{label_w}" x2="{label_w}" y1="{top}" y2="{top + bar_h * len(rows)}" '
        f'stroke="{INK}"/></g>'
    )
    group, _, rest = column.partition(".")
    named = f"{words(group)} ({words(rest)})" if rest else words(group)
    title = f"{named.capitalize()}, by {words(by)}"
    shown = [(lab, v) for lab, v in zip(labels, values, strict=True) if v is not None]
    top_row = max(shown, key=lambda p: p[1], default=None)
    desc = (
        f"{len(rows)} rows; "
        + (f"the most is {top_row[0]} with {top_row[1]}. " if top_row else "")
        + "Each bar prints its value; the tables below hold every figure."
    )
    return _figure(title, _svg(chart_id, width, height, title, desc, marks))
