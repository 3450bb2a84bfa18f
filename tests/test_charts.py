"""The managers' charts: the terminal heatmap and trend, and the self-contained HTML report,
drawn from real reports over a known week at a centre whose name needs escaping."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from gateway.charts import SHADES, daily, heatmap, trend
from gateway.report_html import RAMP, render
from gateway.reports import Days, footfall, referrals, summary, waits
from tests.conftest import SMALL_CENTRE

ODD_NAME = "Test <b>& Gateway"
WEEK = Days(date(2026, 11, 23), date(2026, 11, 29))  # Monday to Sunday
SVG = "{http://www.w3.org/2000/svg}"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def centre_file(tmp_path: Path) -> Path:
    """The small centre, under a name that is not safe to paste into HTML."""
    text = SMALL_CENTRE.read_text(encoding="utf-8")
    odd = tmp_path / "odd.toml"
    odd.write_text(text.replace('name = "Test Gateway"', f'name = "{ODD_NAME}"', 1), "utf-8")
    return odd


def at(clock, day: int, hour: int, minute: int) -> None:
    clock.set(datetime(2026, 11, day, hour, minute, tzinfo=UTC))  # GMT: local = UTC


def play_a_week(q, clock) -> None:
    """Check-ins (local hours): Mon 09:05, 09:20, 09:40 and 11:10; Tue 10:15 and 10:30
    (postcode ME15, too few to show by district); Thu 14:00. Waits: Mon 6, 4, 8 and
    2 minutes (median 4), Tue none called, Thu 10. Monday's second is signposted to jobs."""
    at(clock, 23, 9, 5)
    c1 = q.check_in("council-tax")
    at(clock, 23, 9, 11)
    q.call_ticket("1", c1.number)
    at(clock, 23, 9, 15)
    q.complete(c1.number)
    at(clock, 23, 9, 20)
    c2 = q.check_in("council-tax")
    at(clock, 23, 9, 24)
    q.call_ticket("3", c2.number)
    at(clock, 23, 9, 30)
    q.refer(c2.number, "jobs", kind="signpost", reason="work", consent=True)
    at(clock, 23, 9, 40)
    c3 = q.check_in("council-tax")
    at(clock, 23, 9, 48)
    q.call_ticket("1", c3.number)
    at(clock, 23, 9, 55)
    q.complete(c3.number)
    at(clock, 23, 11, 10)
    h1 = q.check_in("housing")
    at(clock, 23, 11, 12)
    q.call_ticket("2", h1.number)
    at(clock, 24, 10, 15)
    q.check_in("jobs", postcode_district="ME15")
    at(clock, 24, 10, 30)
    q.check_in("jobs", postcode_district="ME15")
    at(clock, 26, 14, 0)
    c4 = q.check_in("council-tax")
    at(clock, 26, 14, 10)
    q.call_ticket("1", c4.number)


@pytest.fixture
def week(queue, clock):
    play_a_week(queue, clock)
    return queue


def cells(chart: str, weekday: str) -> list[str]:
    """A heatmap row's counts (and its total), shades dropped."""
    (line,) = [line for line in chart.splitlines() if line.startswith(weekday)]
    return [t for t in line.split()[1:] if t not in SHADES]


# -- the terminal --------------------------------------------------------------------------


def test_the_heatmap_puts_each_weekdays_check_ins_under_their_hour(week):
    profile = footfall(week.store, week.centre, WEEK)["profile"]
    chart = heatmap(profile)

    header = next(line for line in chart.splitlines() if "09" in line)
    assert header.split() == ["09", "10", "11", "12", "13", "14", "all"]
    assert cells(chart, "Mon") == ["3", "·", "1", "·", "·", "·", "4"]
    assert cells(chart, "Tue") == ["·", "2", "·", "·", "·", "·", "2"]
    assert cells(chart, "Wed") == ["·"] * 6 + ["0"]
    assert cells(chart, "Thu") == ["·"] * 5 + ["1", "1"]
    assert cells(chart, "all") == ["3", "2", "1", "0", "0", "1", "7"]
    for day in ("Fri", "Sat", "Sun"):
        assert cells(chart, day)[-1] == "0"
    # The busiest hour has the darkest shade, and the legend says what the shades mean.
    monday = next(line for line in chart.splitlines() if line.startswith("Mon"))
    assert f"{SHADES[-1]}  3" in monday and "check-ins" in chart.splitlines()[-1]
    assert "\x1b[" not in chart and all(len(line) <= 80 for line in chart.splitlines())


def test_a_range_with_no_check_ins_says_so_instead_of_an_empty_grid(week):
    before = Days(date(2026, 11, 16), date(2026, 11, 22))
    profile = footfall(week.store, week.centre, before)["profile"]
    assert heatmap(profile) == "No check-ins in this range."
    page = render("footfall", footfall(week.store, week.centre, before))
    assert svgs(page) == [] and "check-ins by weekday and hour" not in page


def test_the_heatmap_in_colour_says_the_same_with_escape_codes(week):
    profile = footfall(week.store, week.centre, WEEK)["profile"]
    coloured = heatmap(profile, color=True)
    assert "\x1b[" in coloured
    plain = [line.rstrip() for line in ANSI.sub("", coloured).splitlines()]
    assert plain == [line.rstrip() for line in heatmap(profile).splitlines()]


def test_a_whole_days_hours_still_fit_eighty_columns(week, clock):
    at(clock, 25, 0, 30)
    week.check_in("council-tax")
    at(clock, 25, 23, 30)
    week.check_in("council-tax")
    profile = footfall(week.store, week.centre, WEEK)["profile"]
    assert profile["hours"][0] == "00" and profile["hours"][-1] == "23"

    chart = heatmap(profile, width=80)
    assert all(len(line) <= 80 for line in chart.splitlines())
    headers = [line.split() for line in chart.splitlines() if line.startswith("    ")]
    shown = [h for header in headers for h in header if h != "all"]
    assert shown == profile["hours"]  # every hour once, split over blocks in order
    wednesday = [c for line in chart.splitlines() if line.startswith("Wed") for c in line.split()]
    assert [c for c in wednesday if c not in SHADES][-1] == "2"


def test_the_trend_shows_every_day_of_the_range_and_an_empty_day_as_zero(week):
    by_day = summary(week.store, week.centre, WEEK, by="day")
    assert [r["day"] for r in by_day["rows"]] == ["2026-11-23", "2026-11-24", "2026-11-26"]
    days = daily(by_day["rows"], by_day["from"], by_day["to"])
    assert days == [
        (date(2026, 11, 23), 4, 4.0),
        (date(2026, 11, 24), 2, None),
        (date(2026, 11, 25), 0, None),
        (date(2026, 11, 26), 1, 10.0),
        (date(2026, 11, 27), 0, None),
        (date(2026, 11, 28), 0, None),
        (date(2026, 11, 29), 0, None),
    ]

    chart = trend(by_day["rows"], first=by_day["from"], last=by_day["to"])
    assert "Tickets issued per day, 2026-11-23 to 2026-11-29" in chart
    assert "Median wait (minutes)" in chart
    for n in range(23, 30):
        assert f"{n} Nov" in chart
    assert "\x1b[" not in chart and all(len(line) <= 80 for line in chart.splitlines())
    # plotext's figure is cleared each time: a second call draws the same, not on top.
    assert trend(by_day["rows"], first=by_day["from"], last=by_day["to"]) == chart
    assert "\x1b[" in trend(by_day["rows"], color=True)
    assert trend([]) == "No tickets issued in this range."


def test_drawing_the_charts_loads_no_screen_or_device_code():
    code = (
        "import json, sys\n"
        "from gateway.charts import heatmap, trend\n"
        "from gateway.report_html import render\n"
        "heatmap({'hours': ['09'], 'rows': [{'weekday': 'Mon', 'checkins': [1]}]})\n"
        "trend([{'day': '2026-11-23', 'tickets': {'issued': 1}}])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = re.findall(r'"([^"]+)"', result.stdout.strip().splitlines()[-1])
    forbidden = ("textual", "escpos", "serial", "kiosk", "counter", "devices")
    assert [m for m in loaded if m.split(".")[0] in forbidden] == []


# -- the HTML report -----------------------------------------------------------------------


class Page(HTMLParser):
    """Every tag with its attributes, and the text inside each element by tag."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.open: list[str] = []
        self.text: dict[str, list[str]] = {}
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in ("meta", "br", "rect", "line", "circle", "polyline"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            while self.open.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        if self.open:
            self.text.setdefault(self.open[-1], []).append(data)

    def count(self, tag: str) -> int:
        return sum(1 for t, _ in self.tags if t == tag)


def svgs(page: str) -> list[ET.Element]:
    return [ET.fromstring(s) for s in re.findall(r"<svg\b.*?</svg>", page, re.S)]


def table_rows(page: str, caption: str) -> list[list[str]]:
    """The cells of the table with this caption, row by row, as text."""
    (table,) = [
        t for t in re.findall(r"<table>.*?</table>", page, re.S) if f"<caption>{caption}<" in t
    ]
    return [
        [re.sub(r"<[^>]+>", " ", c).strip() for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r)]
        for r in re.findall(r"<tr>(.*?)</tr>", table, re.S)
    ]


@pytest.fixture
def summary_page(week) -> str:
    figures = summary(week.store, week.centre, WEEK)
    return render(
        "summary",
        figures,
        trend=summary(week.store, week.centre, WEEK, by="day"),
        footfall=footfall(week.store, week.centre, WEEK),
        centre_name=week.centre.name,
    )


def test_the_html_report_stands_alone_and_escapes_the_centres_name(summary_page):
    page = Page(summary_page)
    assert summary_page.startswith("<!DOCTYPE html>")
    assert ("meta", {"charset": "utf-8"}) in page.tags
    assert "@media print" in summary_page and "size: A4" in summary_page
    # Nothing to fetch, nothing to run.
    assert page.count("script") == page.count("link") == page.count("img") == 0
    assert "url(" not in summary_page and "@import" not in summary_page
    addresses = re.findall(r"https?://[^\s\"'<>]+", summary_page)
    assert set(addresses) == {"http://www.w3.org/2000/svg"}
    # The name is shown, as text, never as markup.
    assert "Test &lt;b&gt;&amp; Gateway" in summary_page and ODD_NAME not in summary_page
    assert page.count("b") == 0
    assert "".join(page.text["h1"]) == f"Summary report: {ODD_NAME} (testing)"
    assert ODD_NAME in "".join(page.text["title"])
    assert "23 Nov 2026 to 29 Nov 2026" in summary_page


def test_each_chart_is_one_accessible_svg(summary_page):
    charts = svgs(summary_page)
    assert len(charts) == Page(summary_page).count("svg") == 2  # the trend, the heatmap
    for chart in charts:
        assert chart.get("role") == "img"
        title, desc = chart.find(f"{SVG}title"), chart.find(f"{SVG}desc")
        assert title is not None and title.text and desc is not None and desc.text
        assert chart.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert [c.findtext(f"{SVG}title") for c in charts] == [
        "Tickets issued and median wait per day",
        "Check-ins by weekday and hour of the day",
    ]


def test_the_heatmap_cell_for_monday_9am_holds_its_three_check_ins(summary_page):
    heat = svgs(summary_page)[1]
    grid = {
        (g.get("data-weekday"), g.get("data-hour")): g
        for g in heat.iter(f"{SVG}g")
        if g.get("class") == "cell"
    }
    assert len(grid) == 7 * 6  # Mon to Sun × 09 to 14
    monday_9 = grid[("Mon", "09")]
    assert monday_9.findtext(f"{SVG}text") == "3"
    assert monday_9.findtext(f"{SVG}title") == "Mon 09:00: 3 check-ins"
    assert grid[("Tue", "10")].findtext(f"{SVG}text") == "2"
    assert grid[("Thu", "14")].findtext(f"{SVG}text") == "1"
    assert grid[("Wed", "12")].findtext(f"{SVG}text") == "0"
    # The busiest hour is the darkest, with light text on it.
    rect, label = monday_9.find(f"{SVG}rect"), monday_9.find(f"{SVG}text")
    assert rect is not None and label is not None
    assert (rect.get("fill"), label.get("fill")) == RAMP[-1]
    # And the same counts are in a table, for those who cannot see the chart.
    rows = table_rows(summary_page, "check-ins by weekday and hour (local time)")
    assert rows[0] == ["weekday", "09", "10", "11", "12", "13", "14", "all"]
    assert rows[1] == ["Mon", "3", "0", "1", "0", "0", "0", "4"]


def test_the_trend_draws_a_bar_a_day_and_a_dot_a_median(summary_page):
    chart = svgs(summary_page)[0]
    bars = {
        r.findtext(f"{SVG}title"): float(r.get("height", "0"))
        for r in chart.iter(f"{SVG}rect")
        if r.find(f"{SVG}title") is not None
    }
    assert list(bars) == [
        "23 Nov: 4 tickets",
        "24 Nov: 2 tickets",
        "25 Nov: 0 tickets",
        "26 Nov: 1 tickets",
        "27 Nov: 0 tickets",
        "28 Nov: 0 tickets",
        "29 Nov: 0 tickets",
    ]
    heights = list(bars.values())
    assert heights[0] == pytest.approx(2 * heights[1], abs=0.2)
    assert heights[0] == pytest.approx(4 * heights[3], abs=0.2) and heights[3] > 0 == heights[2]
    labels = {t.text for t in chart.iter(f"{SVG}text")}
    assert {f"{n} Nov" for n in range(23, 30)} <= labels
    dots = [c.findtext(f"{SVG}title") for c in chart.iter(f"{SVG}circle")]
    assert "23 Nov: median wait 4 min" in dots and "26 Nov: median wait 10 min" in dots
    assert not any(d and d.startswith(("24 Nov", "25 Nov")) for d in dots)
    rows = table_rows(summary_page, "tickets issued and median wait per day")
    assert rows[2] == ["2026-11-24", "2", "–"] and rows[3] == ["2026-11-25", "0", "–"]


def test_figures_left_out_by_district_show_as_a_dash_with_the_reason(week):
    page = render("summary", summary(week.store, week.centre, WEEK, by="district"))
    rows = table_rows(page, "tickets")
    assert rows[0][:3] == ["district", "issued", "served"]
    small = next(r for r in rows if r[0] == "districts with fewer than 5 visits")
    assert set(small[1:]) == {"–"}
    assert "counts under 5 are not shown" in page


def test_a_report_by_service_gets_a_bar_per_service_and_dashes_for_nothing_to_measure(week):
    page = render("waits", waits(week.store, week.centre, WEEK))
    (chart,) = svgs(page)
    assert chart.findtext(f"{SVG}title") == "Wait minutes (called), by service"
    texts = [t.text for t in chart.iter(f"{SVG}text")]
    assert texts == ["council-tax", "4", "housing", "1", "jobs", "0"]
    widths = [float(r.get("width", "0")) for r in chart.iter(f"{SVG}rect")]
    assert widths[0] == pytest.approx(4 * widths[1], abs=0.5) and widths[1] > 0 == widths[2]
    jobs = next(r for r in table_rows(page, "wait minutes") if r[0] == "jobs")
    assert jobs == ["jobs", "0", "–", "–", "–", "–"]
    assert "nothing to measure" in page and "counts under 5" not in page


def test_the_referral_matrix_is_a_from_by_to_table(week):
    page = render("referrals", referrals(week.store, week.centre, WEEK))
    caption = "referrals from (rows) to (columns): handovers (served), signposts"
    rows = table_rows(page, caption)
    assert rows == [["from", "to borough", "to dwp"], ["borough", "", "1 signpost"]]
    assert svgs(page) == []  # no chart without a trend, a profile or rows


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium here (apt install chromium); .ci/run installs it"
)
def test_chromium_draws_the_report_with_its_charts(summary_page, tmp_path):
    from PIL import Image

    assert CHROMIUM is not None
    report = tmp_path / "report.html"
    report.write_text(summary_page, encoding="utf-8")
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            report.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert shot.exists() and shot.stat().st_size > 20_000
    with Image.open(shot) as image:
        assert image.size == (1200, 1600)
        colours: Any = image.convert("RGB").getcolors(maxcolors=1_000_000)
    drawn = {colour for _, colour in colours}

    def rgb(code: str) -> tuple[int, int, int]:
        return (int(code[1:3], 16), int(code[3:5], 16), int(code[5:7], 16))

    from gateway.report_html import BAR

    assert rgb(BAR) in drawn  # the trend's bars
    assert rgb(RAMP[-1][0]) in drawn  # the heatmap's busiest cell
