"""The managers' reports as terminal tables and CSV (HTML is ``report_html``).

A report is a dict from ``gateway.reports``: figures at the top level, or ``rows`` when
broken down. Tables show the figures a manager reads first; CSV and JSON carry them all.

A report's words are codes and names from the centre file, never what staff typed; still,
table cells are plain text (never markup, no control characters) and a CSV cell that a
spreadsheet would take for a formula is neutralised (OWASP: a leading single quote).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from rich.table import Table
from rich.text import Text

from gateway.reports import flatten
from gateway.status import printable

# The columns a terminal table shows for a breakdown (CSV and JSON have every figure).
TABLE_COLUMNS = {
    "summary": (
        "tickets.issued",
        "tickets.served",
        "tickets.no_show",
        "tickets.walked_out",
        "tickets.referred",
        "wait_minutes.median",
        "wait_minutes.p90",
        "service_level.within_target_pct",
        "avoidable.avoidable_pct",
    ),
    "waits": (
        "wait_minutes.called",
        "wait_minutes.mean",
        "wait_minutes.median",
        "wait_minutes.p90",
        "wait_minutes.max",
        "service_minutes.median",
        "service_level.above_target",
        "service_level.within_target_pct",
    ),
}
HEADINGS = {
    "tickets.issued": "issued",
    "tickets.served": "served",
    "tickets.no_show": "no-show",
    "tickets.walked_out": "walked out",
    "tickets.referred": "referred",
    "wait_minutes.called": "called",
    "wait_minutes.mean": "wait mean",
    "wait_minutes.median": "wait median",
    "wait_minutes.p90": "wait p90",
    "wait_minutes.max": "wait max",
    "service_minutes.median": "service median",
    "service_level.above_target": "above target",
    "service_level.within_target_pct": "within target %",
    "avoidable.avoidable_pct": "avoidable %",
    "open_hours": "open hours",
    "paused_hours": "paused hours",
    "serving_hours": "serving hours",
    "utilisation_pct": "utilisation %",
    "checkins": "check-ins",
    "information_only": "information only",
}
MISSING = "–"
# What a spreadsheet reads as the start of a formula (=, +, -, @; tab and CR too).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Text:
    return _text(MISSING if value is None else str(value))


def _text(words: str) -> Text:
    """A table's cell, title or heading: as it is, never markup, on one line."""
    return Text(printable(words))


def csv_cell(value: Any) -> Any:
    """A CSV cell: numbers as they are; text a spreadsheet would take for a formula
    (``=HYPERLINK(…)``, ``+cmd|…``, ``@SUM(…)``) behind a single quote, shown as text."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def tables(kind: str, figures: dict[str, Any], title: str) -> list[Table]:
    """The report as one or more rich tables."""
    out: list[Table] = []
    by = figures.get("by")
    if by and "rows" in figures:
        out.append(_rows_table(kind, figures["rows"], by, title))
    if not by:
        table = Table(title=_text(title))
        table.add_column("figure")
        table.add_column("value", justify="right")
        for name, value in flatten(figures):
            if name in ("centre", "from", "to"):
                continue
            if kind == "referrals" and name.startswith("referrals."):
                continue  # the referrals report lists its routes in a table of their own
            table.add_row(_text(name), _cell(value))
        out.append(table)
    if figures.get("referrals") and isinstance(figures["referrals"], list) and kind == "referrals":
        heading = f"Referrals by {by}" if by else "Referrals"
        out.append(_list_table(heading, figures["referrals"]))
    if isinstance(figures.get("journeys"), list):
        out.append(_list_table("Visits and multi-agency journeys", figures["journeys"]))
    if figures.get("matrix", {}).get("rows"):
        out.append(_matrix_table(figures["matrix"]))
    outcomes = figures.get("avoidable", {}).get("outcomes") if not by else None
    if outcomes:
        out.append(_list_table("Completed tickets by outcome", outcomes))
    if figures.get("abandoned_at"):
        out.append(_list_table("Kiosk sessions abandoned, by step", figures["abandoned_at"]))
    if figures.get("profile", {}).get("hours"):
        out.append(_profile_table(figures["profile"]))
    return out


def _rows_table(kind: str, rows: list[dict[str, Any]], by: str, title: str) -> Table:
    wanted = TABLE_COLUMNS.get(kind)
    names = [n for n, _ in flatten(rows[0]) if n != by] if rows else []
    if wanted:
        names = [n for n in wanted if n in names] or names
    table = Table(title=_text(f"{title} by {by}"))
    table.add_column(_text(by), overflow="fold")
    for name in names:
        table.add_column(_text(HEADINGS.get(name, name)), justify="right")
    for row in rows:
        values = dict(flatten(row))
        table.add_row(_cell(row[by]), *(_cell(values.get(n)) for n in names))
    return table


def _list_table(title: str, items: list[dict[str, Any]]) -> Table:
    names: list[str] = []
    for item in items:
        names += [n for n, _ in flatten(item) if n not in names]
    table = Table(title=_text(title))
    for name in names:
        table.add_column(_text(name))
    for item in items:
        values = dict(flatten(item))
        table.add_row(*(_cell(values.get(n)) for n in names))
    return table


def _matrix_table(matrix: dict[str, Any]) -> Table:
    """From-agency rows × to-agency columns; each cell "handovers (served) / signposts"."""
    table = Table(title="Referrals: from (rows) to (columns), handovers (then served) / signposts")
    table.add_column("from \\ to")
    for agency in matrix["agencies"]:
        table.add_column(_text(agency), justify="right")
    for row in matrix["rows"]:
        cells = []
        for agency in matrix["agencies"]:
            cell = row["to"].get(agency)
            cells.append(
                _text(f"{cell['handover']} ({cell['served']}) / {cell['signpost']}" if cell else "")
            )
        table.add_row(_text(row["from_agency"]), *cells)
    return table


def _profile_table(profile: dict[str, Any]) -> Table:
    table = Table(title="Check-ins by weekday and hour")
    table.add_column("")
    for hour in profile["hours"]:
        table.add_column(_text(hour), justify="right")
    for row in profile["rows"]:
        table.add_row(
            _text(row["weekday"]), *(_text(str(n) if n else "·") for n in row["checkins"])
        )
    return table


def as_csv(figures: dict[str, Any]) -> str:
    """The report as CSV: first the figures (name/value pairs, or one line per row of a
    breakdown with every figure as a column), then each list the report holds (referral
    routes, outcomes, abandoned steps, journeys, the weekday × hour profile) as a section
    of its own after a blank line, its first column naming it."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    by = figures.get("by")
    rows = figures.get("rows")
    if by and rows is not None:
        _csv_table(writer, rows)
    elif not by:
        writer.writerow(["figure", "value"])
        for name, value in flatten(figures):
            writer.writerow([csv_cell(name), "" if value is None else csv_cell(value)])
    for name, items in _lists(figures):
        if by and rows is None and name == "referrals" and out.tell() == 0:
            _csv_table(writer, items)  # a breakdown of referrals: the routes are the report
            continue
        if out.tell():
            writer.writerow([])
        _csv_table(writer, [{"table": name, **item} for item in items])
    return out.getvalue()


def _lists(figures: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The report's lists of rows, by name, in a fixed order."""
    found: list[tuple[str, list[dict[str, Any]]]] = []
    if isinstance(figures.get("referrals"), list) and figures["referrals"]:
        found.append(("referrals", figures["referrals"]))
    outcomes = figures.get("avoidable", {}).get("outcomes")
    if outcomes:
        found.append(("outcomes", outcomes))
    if figures.get("abandoned_at"):
        found.append(("abandoned_at", figures["abandoned_at"]))
    if isinstance(figures.get("journeys"), list) and figures["journeys"]:
        found.append(("journeys", figures["journeys"]))
    profile = figures.get("profile")
    if profile and profile.get("hours"):
        found.append(
            (
                "profile",
                [
                    {
                        "weekday": row["weekday"],
                        **dict(zip(profile["hours"], row["checkins"], strict=True)),
                    }
                    for row in profile["rows"]
                ],
            )
        )
    return found


def _csv_table(writer: Any, rows: list[dict[str, Any]]) -> None:
    names: list[str] = []
    for row in rows:
        names += [n for n, _ in flatten(row) if n not in names]
    writer.writerow([csv_cell(n) for n in names])
    for row in rows:
        values = dict(flatten(row))
        writer.writerow(["" if values.get(n) is None else csv_cell(values[n]) for n in names])
