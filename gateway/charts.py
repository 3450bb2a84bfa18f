"""Managers' charts for the terminal: the check-ins' hour-of-day × weekday heatmap and the
daily trend of tickets issued and median wait.

Each chart is returned as a string, so the CLI prints it and the tests read it. Colour is
off unless asked for (``color=True`` when printing to a terminal): without it the charts
are plain text, and the heatmap's shading is carried by block characters and the counts,
never by colour alone.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
# Light to dark: the shade of a heatmap cell, and (with colour) its background on a
# 256-colour terminal, with a text colour that keeps the count readable on it.
SHADES = ("░", "▒", "▓", "█")
RAMP = (
    "black on color(195)",
    "black on color(117)",
    "bold white on color(32)",
    "bold white on color(19)",
)
EMPTY = "·"
LABEL = 4  # "Mon " and "all "


def day_label(day: date) -> str:
    """``2 Nov``: the same in every locale."""
    return f"{day.day} {MONTHS[day.month - 1]}"


def levels(peak: int, count: int = len(SHADES)) -> list[tuple[int, int]]:
    """The count ranges (lowest, highest) of each shade, for counts from 1 to ``peak``;
    shades no count can reach are left out (a peak of 2 has two shades, not four)."""
    out: list[tuple[int, int]] = []
    low = 1
    for k in range(1, count + 1):
        high = math.floor(k * peak / count)
        if high >= low:
            out.append((low, high))
            low = high + 1
    return out


def shade(n: int, peak: int) -> int | None:
    """Which shade (0 lightest) a count gets, ``None`` for none."""
    if n <= 0 or peak <= 0:
        return None
    for k, (_, high) in enumerate(levels(peak)):
        if n <= high:
            return len(SHADES) - len(levels(peak)) + k
    return len(SHADES) - 1


# -- the heatmap ---------------------------------------------------------------------------


def heatmap(profile: dict[str, Any], *, width: int | None = None, color: bool = False) -> str:
    """The check-ins per weekday (rows) and local hour (columns), with each row's and each
    hour's total and a legend. Every cell prints its count (``·`` for none) beside its
    shade; hours that do not fit ``width`` (80 by default) go on to a second block."""
    from rich.console import Console
    from rich.text import Text

    width = width or 80
    hours: list[str] = list(profile.get("hours") or [])
    rows: list[dict[str, Any]] = list(profile.get("rows") or [])
    if not hours:
        return "No check-ins in this range."
    counts = [[int(n or 0) for n in row["checkins"]] for row in rows]
    peak = max((n for row in counts for n in row), default=0)
    per_hour = [sum(row[h] for row in counts) for h in range(len(hours))]
    digits = max(2, len(str(peak)), len(str(max(per_hour))))
    cell = digits + 3  # a space, the shade, a space, then the count
    totals = max(3, len(str(sum(per_hour)))) + 2
    fits = max(1, (width - LABEL - totals) // cell)
    blocks = [range(i, min(i + fits, len(hours))) for i in range(0, len(hours), fits)]

    out = Text()
    out.append("Check-ins by hour and weekday\n", style="bold")
    for b, block in enumerate(blocks):
        last = b == len(blocks) - 1
        out.append(" " * LABEL)
        for h in block:
            out.append(f"{hours[h]:>{cell}}")
        if last:
            out.append(f"{'all':>{totals}}")
        out.append("\n")
        for row, row_counts in zip(rows, counts, strict=True):
            out.append(f"{row['weekday']:<{LABEL}}")
            for h in block:
                n = row_counts[h]
                level = shade(n, peak)
                glyph = " " if level is None else SHADES[level]
                text = f" {glyph} {n if n else EMPTY:>{digits}}"
                out.append(text, style=RAMP[level] if color and level is not None else "")
            if last:
                out.append(f"{sum(row_counts):>{totals}}", style="bold")
            out.append("\n")
        out.append(f"{'all':<{LABEL}}")
        for h in block:
            out.append(f"{per_hour[h]:>{cell}}", style="bold")
        if last:
            out.append(f"{sum(per_hour):>{totals}}", style="bold")
        out.append("\n")
    out.append(_legend(peak, color))

    console = Console(
        file=io.StringIO(),
        width=width,
        force_terminal=color,
        color_system="256" if color else None,
        no_color=not color,
        highlight=False,
        emoji=False,
    )
    with console.capture() as captured:
        console.print(out, end="", overflow="ignore", no_wrap=True, crop=False)
    return captured.get().rstrip("\n")


def _legend(peak: int, color: bool) -> Any:
    from rich.text import Text

    legend = Text(f"{EMPTY} none")
    ranges = levels(peak)
    first = len(SHADES) - len(ranges)
    for k, (low, high) in enumerate(ranges):
        level = first + k
        legend.append("   ")
        legend.append(f" {SHADES[level]} ", style=RAMP[level] if color else "")
        legend.append(f" {low}" if low == high else f" {low}–{high}")
    legend.append("  check-ins")
    return legend


# -- the daily trend -----------------------------------------------------------------------


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def daily(
    rows: Sequence[dict[str, Any]],
    first: date | str | None = None,
    last: date | str | None = None,
) -> list[tuple[date, int, float | None]]:
    """(day, tickets issued, median wait) for every day from ``first`` to ``last`` (the
    rows' own first and last day if not given): a day with no row issued no ticket."""
    by_day: dict[date, dict[str, Any]] = {_day(r["day"]): r for r in rows if r.get("day")}
    if not by_day and (first is None or last is None):
        return []
    start = _day(first) if first is not None else min(by_day)
    end = _day(last) if last is not None else max(by_day)
    out: list[tuple[date, int, float | None]] = []
    day = start
    while day <= end:
        row = by_day.get(day, {})
        issued = (row.get("tickets") or {}).get("issued")
        median = (row.get("wait_minutes") or {}).get("median")
        out.append((day, int(issued or 0), None if median is None else float(median)))
        day += timedelta(days=1)
    return out


def labelled(count: int, room: int) -> list[int]:
    """Which of ``count`` day positions get a label when only ``room`` labels fit side by
    side: every day, every other day, and so on, from the first."""
    step = max(1, math.ceil(count / max(1, room)))
    return list(range(0, count, step))


def round_ticks(top: float) -> list[float]:
    """0 to ``top`` in at most about 5 whole, round steps."""
    step = 1
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 5000):
        step = candidate
        if top / candidate <= 5:
            break
    return [float(v) for v in range(0, int(top) + step, step)]


def trend(
    rows: Sequence[dict[str, Any]],
    *,
    first: date | str | None = None,
    last: date | str | None = None,
    width: int = 80,
    height: int = 24,
    color: bool = False,
) -> str:
    """Tickets issued per day (top) and the median wait in minutes (bottom) from the rows
    of ``summary(..., by="day")``, with dates on the x-axis. Pass the report's ``from``
    and ``to`` as ``first`` and ``last`` so days with no tickets at either end show as 0.
    Days with no call have no median: the wait line breaks there."""
    import plotext as plt

    days = daily(rows, first, last)
    if not days:
        return "No tickets issued in this range."
    x = list(range(len(days)))
    positions = labelled(len(days), (width - 8) // 9)  # "15 Nov" and a gap
    labels = [day_label(days[i][0]) for i in positions]
    issued = [n for _, n, _ in days]
    medians = [m for _, _, m in days]
    span = (-0.5, len(days) - 0.5) if len(days) > 1 else (-1.0, 1.0)

    known = [(i, m) for i, m in zip(x, medians, strict=True) if m is not None]
    counts = round_ticks(max(max(issued), 1))
    minutes = round_ticks(max(math.ceil(max((m for _, m in known), default=1.0)), 1))
    # Both panels' y labels padded alike, so their days line up one above the other.
    pad = max(len(f"{t:g}") for t in counts + minutes)

    def panel(
        title: str, lines: list[list[tuple[int, float]]], ticks: list[float], hue: str, high: int
    ) -> str:
        plt.clear_figure()  # plotext draws on one global figure: start afresh each time
        plt.plot_size(width, high)
        plt.title(title)
        for run in lines:
            xs, ys = zip(*run, strict=True)
            if len(run) > 1:
                plt.plot(list(xs), list(ys), marker="braille", color=hue)
            plt.scatter(list(xs), list(ys), marker="•", color=hue)
        plt.ylim(0, ticks[-1])
        plt.yticks(ticks, [f"{t:g}".rjust(pad) for t in ticks])
        plt.xlim(*span)
        plt.xticks(positions, labels)
        if not color:
            plt.theme("clear")
        drawn: str = plt.build()
        plt.clear_figure()
        return plt.uncolorize(drawn) if not color else drawn

    title = f"Tickets issued per day, {days[0][0]} to {days[-1][0]}"
    upper = height // 2
    charts = [panel(title, [list(enumerate(map(float, issued)))], counts, "blue", upper)]
    if known:
        lower = height - upper
        charts.append(panel("Median wait (minutes)", _segments(known), minutes, "orange", lower))
    else:
        charts.append("Median wait: no ticket was called in this range.")
    return "\n".join(line.rstrip() for chart in charts for line in chart.splitlines())


def _segments(points: list[tuple[int, float]]) -> list[list[tuple[int, float]]]:
    """Runs of consecutive days, so a line is never drawn across a day with no median."""
    runs: list[list[tuple[int, float]]] = []
    for point in points:
        if runs and runs[-1][-1][0] == point[0] - 1:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs
