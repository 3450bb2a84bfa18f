"""A report as one self-contained HTML page that a manager can open, print on A4 or email.

Nothing is fetched: no script, no external style sheet, font or image; the charts are
inline SVG drawn here from the figures. Every text from the data (centre names, agency
and service codes, ...) is escaped. Each chart has a title and a description, prints its
numbers beside its marks (meaning never rests on colour alone), and is followed by the
same figures as tables.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from html import escape
from itertools import count
from typing import Any

from gateway.charts import daily, day_label, labelled, levels, round_ticks
from gateway.reports import flatten

KINDS = {
    "summary": "Summary",
    "footfall": "Footfall",
    "waits": "Waiting times",
    "referrals": "Referrals",
    "staffing": "Staffing",
}
HEAD = ("centre", "from", "to", "by")
MISSING = "–"
INK, MUTED, GRID = "#1a1a1a", "#595959", "#d0d0d0"
ZERO = "#f4f6f9"  # an hour with no check-in: the grid still shows
HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke"'  # text over a bar stays legible
BAR, LINE = "#2b6cb0", "#b34700"  # 5.4:1 and 5.5:1 on white
# Light to dark, with the text colour that reads on each (contrast 4.5:1 or more).
RAMP = (("#dbe9f8", INK), ("#9cc3ea", INK), ("#2f6db5", "#ffffff"), ("#0b2e5c", "#ffffff"))

STYLE = """
:root { color: #1a1a1a; background: #fff; }
body { font: 11pt/1.4 system-ui, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { font-size: 1.5rem; margin: 0 0 .2rem; }
h2 { font-size: 1.15rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid #d0d0d0; }
.range { margin: 0; color: #404040; }
figure { margin: 1rem 0; break-inside: avoid; }
figcaption { font-weight: 600; margin-bottom: .3rem; }
svg { max-width: 100%; height: auto; font-family: inherit; }
table { border-collapse: collapse; margin: .4rem 0 1rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: .2rem; }
th, td { border: 1px solid #d0d0d0; padding: .15rem .45rem; vertical-align: top; }
thead th { background: #eef2f7; }
th { text-align: left; font-weight: 600; }
td.num { text-align: right; }
.groups { display: grid; grid-template-columns: repeat(auto-fill, minmax(17rem, 1fr));
          gap: 0 1.2rem; align-items: start; }
.note { color: #404040; font-size: .9rem; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { font-size: 9.5pt; max-width: none; margin: 0; padding: 0; }
  h2 { break-after: avoid; }
  table { break-inside: auto; }
  tr, figure, .groups table { break-inside: avoid; }
  caption { break-after: avoid; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  thead { display: table-header-group; }
  th, td { padding: .1rem .3rem; }
}
"""


def render(
    kind: str,
    figures: dict[str, Any],
    *,
    trend: dict[str, Any] | None = None,
    footfall: dict[str, Any] | None = None,
    centre_name: str | None = None,
) -> str:
    """The whole page: a title (report, centre, days), the charts, then every figure as a
    table. ``trend`` is ``summary(..., by="day")`` for the daily chart, ``footfall`` is
    ``footfall(...)`` (unbroken) for the hour × weekday heatmap; a report broken down
    gets a bar chart of its rows' first count. Figures left out (``None``) show as "–"."""
    ids = (f"chart{n}" for n in count(1))
    name = KINDS.get(kind, kind.replace("_", " ").capitalize())
    centre = str(figures.get("centre", ""))
    where = f"{centre_name} ({centre})" if centre_name else centre
    days = _range(figures)
    by = figures.get("by")
    title = f"{name} report: {where}, {days}" + (f", by {by}" if by else "")
    body = [
        f"<header><h1>{escape(name)} report: {escape(where)}</h1>",
        f'<p class="range">{escape(days)}' + (f", by {escape(str(by))}" if by else "") + "</p>",
        "</header>",
    ]

    charts: list[str] = []
    if trend and (trend.get("rows") or trend.get("from")):
        charts.append(_trend_chart(next(ids), trend))
    profile = figures.get("profile") or (footfall or {}).get("profile")
    if profile and profile.get("hours"):
        charts.append(_heatmap(next(ids), profile))
    rows = figures.get("rows")
    if isinstance(rows, list) and rows and by:
        chart = _rows_chart(next(ids), rows, str(by))
        if chart:
            charts.append(chart)
    if charts:
        body += ["<h2>Charts</h2>", *charts]

    body.append("<h2>Figures</h2>")
    tables = _tables(figures, by, profile, trend)
    body += tables
    if any(f">{MISSING}</td>" in table for table in tables):
        body.append(
            f'<p class="note">{MISSING}: counts under 5 are not shown, so that no one can be '
            "picked out (or there was nothing to measure).</p>"
            if by == "district"
            else f'<p class="note">{MISSING}: no figure, as there was nothing to measure.</p>'
        )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


# -- words and numbers ---------------------------------------------------------------------


def _range(figures: dict[str, Any]) -> str:
    first, last = figures.get("from"), figures.get("to")
    if not first:
        return ""
    if last in (None, first):
        return _long_day(str(first))
    return f"{_long_day(str(first))} to {_long_day(str(last))}"


def _long_day(text: str) -> str:
    try:
        day = date.fromisoformat(text)
    except ValueError:
        return text
    return f"{day_label(day)} {day.year}"


def _words(name: str) -> str:
    """``within_target_pct`` → ``within target %``."""
    return name.replace("_pct", " %").replace("_", " ")


def _show(value: Any) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _cell(value: Any) -> str:
    numeric = value is None or (isinstance(value, int | float) and not isinstance(value, bool))
    css = ' class="num"' if numeric else ""
    return f"<td{css}>{escape(_show(value))}</td>"


def _count_of(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# -- tables --------------------------------------------------------------------------------


def _table(caption: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A table whose first column heads its rows."""
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in columns)
    lines = [f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>"]
    for row in rows:
        first = f'<th scope="row">{escape(_show(row[0]))}</th>'
        lines.append(f"<tr>{first}{''.join(_cell(v) for v in row[1:])}</tr>")
    lines.append("</tbody></table>")
    return "".join(lines)


def _groups(pairs: list[tuple[str, Any]]) -> dict[str, list[tuple[str, Any]]]:
    """Dotted figures grouped by their first part (``tickets.issued`` under tickets)."""
    out: dict[str, list[tuple[str, Any]]] = {}
    for name, value in pairs:
        group, _, rest = name.partition(".")
        out.setdefault(group if rest else "figures", []).append((rest or name, value))
    return out


def _tables(
    figures: dict[str, Any], by: Any, profile: Any, trend: dict[str, Any] | None
) -> list[str]:
    out: list[str] = []
    rows = figures.get("rows")
    if isinstance(rows, list) and by:
        # One table per group of figures, each led by the breakdown: it fits an A4 page.
        grouped = [_groups(flatten({k: v for k, v in r.items() if k != by})) for r in rows]
        columns: dict[str, dict[str, None]] = {}
        for groups in grouped:
            for group, pairs in groups.items():
                columns.setdefault(group, {}).update(dict.fromkeys(n for n, _ in pairs))
        for group, names in columns.items():
            table_rows = []
            for row, groups in zip(rows, grouped, strict=True):
                flat = dict(groups.get(group, []))
                table_rows.append([row.get(by), *(flat.get(n) for n in names)])
            out.append(_table(_words(group), [_words(str(by)), *map(_words, names)], table_rows))
    others = {k: v for k, v in figures.items() if k not in (*HEAD, "rows", "profile", "matrix")}
    scalars = flatten({k: v for k, v in others.items() if k != "referrals"})
    if scalars:
        tables = [
            _table(_words(group), ["figure", "value"], [(_words(n), v) for n, v in pairs])
            for group, pairs in _groups(scalars).items()
        ]
        out.append(f'<div class="groups">{"".join(tables)}</div>')
    out += [_list_table(path, items) for path, items in _lists(others)]
    matrix = figures.get("matrix")
    if matrix and matrix.get("rows"):
        out.append(_matrix_table(matrix))
    if profile and profile.get("hours"):
        out.append(
            _table(
                "check-ins by weekday and hour (local time)",
                ["weekday", *profile["hours"], "all"],
                [
                    [r["weekday"], *r["checkins"], sum(n or 0 for n in r["checkins"])]
                    for r in profile["rows"]
                ],
            )
        )
    if trend and figures.get("by") != "day":
        days = daily(trend.get("rows") or [], trend.get("from"), trend.get("to"))
        out.append(
            _table(
                "tickets issued and median wait per day",
                ["day", "tickets issued", "median wait (minutes)"],
                [(d.isoformat(), n, m) for d, n, m in days],
            )
        )
    return out


def _lists(figures: dict[str, Any], prefix: str = "") -> list[tuple[str, list[dict[str, Any]]]]:
    """Every list of records among the figures (referral routes, outcomes, steps)."""
    found: list[tuple[str, list[dict[str, Any]]]] = []
    for key, value in figures.items():
        if isinstance(value, dict):
            found += _lists(value, f"{prefix}{key} ")
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            found.append((f"{prefix}{key}", value))
    return found


def _list_table(caption: str, items: list[dict[str, Any]]) -> str:
    columns: dict[str, None] = {}
    for item in items:
        columns.update(dict.fromkeys(name for name, _ in flatten(item)))
    rows = [[dict(flatten(item)).get(c) for c in columns] for item in items]
    return _table(_words(caption.replace("_at", "")), [_words(c) for c in columns], rows)


def _matrix_table(matrix: dict[str, Any]) -> str:
    """Referrals from the agency of each row to the agency of each column."""
    agencies = [str(a) for a in matrix["agencies"]]
    head = "".join(f'<th scope="col">to {escape(a)}</th>' for a in agencies)
    lines = [
        "<table><caption>referrals from (rows) to (columns): handovers (served), "
        f'signposts</caption><thead><tr><th scope="col">from</th>{head}</tr></thead><tbody>'
    ]
    for row in matrix["rows"]:
        cells = []
        for a in agencies:
            cell = row["to"].get(a)
            if not cell:
                cells.append('<td class="num"></td>')
                continue
            parts = []
            if cell.get("handover"):
                parts.append(f"{_show(cell['handover'])} handover ({_show(cell['served'])} served)")
            if cell.get("signpost"):
                parts.append(f"{_show(cell['signpost'])} signpost")
            cells.append(f'<td class="num">{"<br>".join(escape(p) for p in parts)}</td>')
        lines.append(
            f'<tr><th scope="row">{escape(str(row["from_agency"]))}</th>{"".join(cells)}</tr>'
        )
    lines.append("</tbody></table>")
    return "".join(lines)


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


def _trend_chart(chart_id: str, trend: dict[str, Any]) -> str:
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
    minutes = round_ticks(math.ceil(max(known, default=1.0)))

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


def _heatmap(chart_id: str, profile: dict[str, Any]) -> str:
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


def _rows_chart(chart_id: str, rows: list[dict[str, Any]], by: str) -> str | None:
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
    labels = [_show(row.get(by)) for row in rows]
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
        marks.append(_text(label_w + length + 6, y + 15, _show(value)))
    marks.append(
        f'<line x1="{label_w}" x2="{label_w}" y1="{top}" y2="{top + bar_h * len(rows)}" '
        f'stroke="{INK}"/></g>'
    )
    group, _, rest = column.partition(".")
    named = f"{_words(group)} ({_words(rest)})" if rest else _words(group)
    title = f"{named.capitalize()}, by {_words(by)}"
    shown = [(lab, v) for lab, v in zip(labels, values, strict=True) if v is not None]
    top_row = max(shown, key=lambda p: p[1], default=None)
    desc = (
        f"{len(rows)} rows; "
        + (f"the most is {top_row[0]} with {top_row[1]}. " if top_row else "")
        + "Each bar prints its value; the tables below hold every figure."
    )
    return _figure(title, _svg(chart_id, width, height, title, desc, marks))
