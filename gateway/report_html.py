"""A report as one self-contained HTML page that a manager can open, print on A4 or email.

Nothing is fetched: no script, no external style sheet, font or image; the charts are
inline SVG, drawn from the figures by ``report_svg``. Every text from the data (centre
names, agency and service codes, ...) is escaped. Each chart has a title and a
description, prints its numbers beside its marks (meaning never rests on colour alone),
and is followed by the same figures as tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from html import escape
from itertools import count
from typing import Any

from gateway.charts import daily, day_label

# BAR and RAMP stay importable from here: the tests check that the page draws them.
from gateway.report_svg import BAR as BAR
from gateway.report_svg import MISSING, heatmap_chart, rows_chart, show, trend_chart, words
from gateway.report_svg import RAMP as RAMP
from gateway.reports import flatten

KINDS = {
    "summary": "Summary",
    "footfall": "Footfall",
    "waits": "Waiting times",
    "referrals": "Referrals",
    "staffing": "Staffing",
}
HEAD = ("centre", "from", "to", "by")

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
        charts.append(trend_chart(next(ids), trend))
    profile = figures.get("profile") or (footfall or {}).get("profile")
    if profile and profile.get("hours"):
        charts.append(heatmap_chart(next(ids), profile))
    rows = figures.get("rows")
    if isinstance(rows, list) and rows and by:
        chart = rows_chart(next(ids), rows, str(by))
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


def _cell(value: Any) -> str:
    numeric = value is None or (isinstance(value, int | float) and not isinstance(value, bool))
    css = ' class="num"' if numeric else ""
    return f"<td{css}>{escape(show(value))}</td>"


# -- tables --------------------------------------------------------------------------------


def _table(caption: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A table whose first column heads its rows."""
    head = "".join(f'<th scope="col">{escape(c)}</th>' for c in columns)
    lines = [f"<table><caption>{escape(caption)}</caption><thead><tr>{head}</tr></thead><tbody>"]
    for row in rows:
        first = f'<th scope="row">{escape(show(row[0]))}</th>'
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
            out.append(_table(words(group), [words(str(by)), *map(words, names)], table_rows))
    others = {k: v for k, v in figures.items() if k not in (*HEAD, "rows", "profile", "matrix")}
    scalars = flatten({k: v for k, v in others.items() if k != "referrals"})
    if scalars:
        tables = [
            _table(words(group), ["figure", "value"], [(words(n), v) for n, v in pairs])
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
    return _table(words(caption.replace("_at", "")), [words(c) for c in columns], rows)


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
                parts.append(f"{show(cell['handover'])} handover ({show(cell['served'])} served)")
            if cell.get("signpost"):
                parts.append(f"{show(cell['signpost'])} signpost")
            cells.append(f'<td class="num">{"<br>".join(escape(p) for p in parts)}</td>')
        lines.append(
            f'<tr><th scope="row">{escape(str(row["from_agency"]))}</th>{"".join(cells)}</tr>'
        )
    lines.append("</tbody></table>")
    return "".join(lines)
