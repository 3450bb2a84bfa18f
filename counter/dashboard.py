"""The centre manager's dashboard (``gateway dashboard``): today live, and the last four
weeks' trend.

Today (live): how many wait, how many are being served, the counters open, paused and
closed, the longest wait now against its service's target, and the tickets issued and
served so far. The room comes from ``gateway.status`` through the follower, read again only
when something happened (and aged by the clock in between, as the supervisor's view does);
the day's counts come from ``gateway.reports.summary`` at most once every few seconds.

The last four weeks: the 28 local days ending yesterday, from ``gateway.reports.summary``:
tickets issued and the median wait per day (two small plots) and the period's headline
figures. Read once at sign-in, again when the business day changes and on R, in a worker
thread: it is too heavy to read on every event.

Only managers get in (``ROLE``). The dashboard is read-only: no key changes the room.
"""

from __future__ import annotations

import logging
import math
import threading
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from time import monotonic
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import DataTable, Digits, Footer, Static
from textual_plotext import PlotextPlot

from counter.staffapp import STORE_AWAY, StaffApp, plain
from gateway.centres import CentreView
from gateway.clock import business_day
from gateway.events import latest
from gateway.reports import Days, summary
from gateway.staff import StaffView
from gateway.status import RoomStatus, ServiceQueue, printable, room_status
from gateway.store import Store

log = logging.getLogger("gateway.staff_screens")

WEEKS_DAYS = 28
TODAY_SECONDS = 5.0  # today's counts are read at most this often (a summary, not a glance)
OVER = "▲ over target"
WEEKS_NOTE = (
    "The four weeks end yesterday: today is not over. A day with no tickets (a weekend) "
    "has no bar. Read at sign-in, on a new day, and on R."
)
ISSUED_COLOUR = (70, 140, 220)
WAIT_COLOUR = (230, 150, 40)


def four_weeks(today: date) -> Days:
    """The 28 local days ending yesterday: today is not over, so not in the trend."""
    return Days(today - timedelta(days=WEEKS_DAYS), today - timedelta(days=1))


@dataclass(frozen=True)
class Day:
    day: date
    issued: int
    served: int
    median_wait: float | None  # minutes; None on a day nobody was called


@dataclass(frozen=True)
class Trend:
    """The last four weeks as the dashboard shows them: a row for every day (days with no
    tickets as zeros) and the period's own summary (its median is the period's, not a
    median of the days')."""

    days: Days
    daily: list[Day]
    period: dict[str, Any]
    read_at: datetime

    @property
    def busiest(self) -> Day | None:
        return (
            max(self.daily, key=lambda d: d.issued) if any(d.issued for d in self.daily) else None
        )


def read_trend(store: Store, centre: CentreView, now: datetime) -> Trend:
    """Read the four weeks before ``now``'s business day (two summaries; no SQL here)."""
    days = four_weeks(business_day(now, centre.timezone))
    rows = {r["day"]: r for r in summary(store, centre, days, by="day", now=now)["rows"]}
    daily = []
    for n in range(len(days)):
        day = days.first + timedelta(days=n)
        row = rows.get(day.isoformat())
        daily.append(
            Day(
                day,
                row["tickets"]["issued"],
                row["tickets"]["served"],
                row["wait_minutes"]["median"],
            )
            if row
            else Day(day, 0, 0, None)
        )
    return Trend(days, daily, summary(store, centre, days, now=now), now)


def trend_rows(trend: Trend) -> list[tuple[str, str, str]]:
    """The four weeks' table: (key, what, figure)."""
    p = trend.period
    tickets, waits = p["tickets"], p["wait_minutes"]
    handovers = sum(r["count"] for r in p["referrals"] if r["kind"] == "handover")
    signposts = sum(r["count"] for r in p["referrals"] if r["kind"] == "signpost")
    journeys = p["journeys"]
    busiest = trend.busiest
    return [
        ("issued", "Tickets issued", f"{tickets['issued']:,}"),
        ("served", "Served", f"{tickets['served']:,}"),
        ("median", "Median wait", minutes(waits["median"])),
        ("p90", "9 in 10 called within", minutes(waits["p90"])),
        ("within", "Called within target", percent(p["service_level"]["within_target_pct"])),
        ("avoidable", "Avoidable contacts", percent(p["avoidable"]["avoidable_pct"])),
        ("referrals", "Referrals", f"{handovers + signposts:,}"),
        ("routes", "  handed over / signposted", f"{handovers:,} / {signposts:,}"),
        ("journeys", "Multi-agency visits", f"{journeys['multi_agency']:,}"),
        (
            "busiest",
            "Busiest day",
            f"{day_words(busiest.day)} ({busiest.issued})" if busiest else "–",
        ),
    ]


def day_words(day: date) -> str:
    """``Mon 2 Nov``."""
    return f"{day:%a} {day.day} {day:%b}"


def minutes(value: float | None) -> str:
    return "–" if value is None else f"{value:g} min"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:g} %"


def longest_wait(queues: list[ServiceQueue], aged: int) -> tuple[ServiceQueue, int] | None:
    """The queue whose first customer has waited longest (aged by ``aged`` minutes); of
    equal waits, the one furthest over its target."""
    busy = [(q, q.longest_wait_minutes + aged) for q in queues if q.waiting]
    if not busy:
        return None
    return max(busy, key=lambda p: (p[1], p[1] - p[0].target_wait_minutes))


def axis(top: float) -> list[float]:
    """Round ticks from 0 to ``top`` or just above it: steps of 1, 2 or 5 (× 10, 100…)."""
    top = max(top, 1.0)  # an empty plot still has an axis (plotext divides by its height)
    raw = max(top / 5, 1.0)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    return [float(n) for n in range(0, math.ceil(top) + step, step)]


class Tile(Vertical):
    """One figure of today: what it is, the number (large), and a line or two about it."""

    DEFAULT_CSS = """
    Tile { width: 1fr; height: 100%; padding: 0 1; }
    Tile .label { color: $text-muted; }
    Tile Digits { width: auto; text-style: bold; }
    Tile .detail { height: 2; text-wrap: nowrap; text-overflow: ellipsis; }
    Tile.-over Digits { color: $error; }
    Tile.-over .detail { color: $error; text-style: bold; }
    """

    def __init__(self, label: str, *, id: str) -> None:
        super().__init__(id=id)
        self.label = Static(label, classes="label")
        self.figure = Digits("–")
        self.detail = Static("", classes="detail")

    def compose(self) -> ComposeResult:
        yield self.label
        yield self.figure
        yield self.detail

    def set(self, figure: str, detail: str = "", *, over: bool = False) -> None:
        self.figure.update(figure)
        # Lines of its own, each printable (a service's name comes from the centre file).
        self.detail.update(Text("\n".join(printable(line) for line in detail.split("\n"))))
        self.set_class(over, "-over")

    def __str__(self) -> str:  # what the tile says, in one line (for tests and logs)
        detail = " ".join(str(self.detail.render()).splitlines())
        return f"{self.label.render()}: {self.figure.value} {detail}".strip()


class DashboardApp(StaffApp[RoomStatus]):
    """Today live and the last four weeks, for a centre manager. Changes nothing."""

    CSS = """
    Screen { layout: vertical; }
    #top { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    #today { height: 8; border: round $primary; }
    #tile-wait { width: 2fr; }
    #weeks { height: 1fr; border: round $primary; }
    #plots { width: 1fr; }
    #plots PlotextPlot { height: 1fr; }
    #weeks-side { width: 46; margin: 1 0 0 1; }
    #weeks-table { height: auto; }
    #weeks-note { color: $text-muted; margin-top: 1; }
    #status { height: 1; padding: 0 1; }
    #status.-refused { color: $error; text-style: bold; }
    .-away { opacity: 60%; }
    """
    SIGN_IN_TITLE = "Manager: sign in"
    TITLE = "Gateway dashboard"
    ROLE = "manager"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("r", "refresh_trend", "Refresh the trend"),
        Binding("ctrl+x", "sign_out", "Sign out"),
        Binding("ctrl+q", "quit", "Quit", priority=True),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.trend: Trend | None = None
        self.today_counts: tuple[int, int] | None = None  # issued, served
        self.plotted: dict[str, list[float]] = {}  # each plot's bars, by the plot's id
        self._aged = 0  # minutes the room was aged by on screen (see ``_tick``)
        self._trend_for: date | None = None  # the business day a trend was last asked for
        self._trend_failed = False
        self._today_due = False  # news came since today's counts were last asked for
        self._today_last = -math.inf  # when they were (``monotonic``)

    top: Static
    today: Horizontal
    tiles: dict[str, Tile]
    weeks: Horizontal
    issued_plot: PlotextPlot
    wait_plot: PlotextPlot
    table: DataTable[Text]
    status: Static

    def compose(self) -> ComposeResult:
        self.top = Static("", id="top")
        self.today = Horizontal(id="today")
        self.tiles = {
            key: Tile(label, id=f"tile-{key}")
            for key, label in (
                ("waiting", "Waiting now"),
                ("serving", "Being served"),
                ("counters", "Counters open"),
                ("wait", "Longest wait now (minutes)"),
                ("issued", "Issued today"),
            )
        }
        self.weeks = Horizontal(id="weeks")
        self.issued_plot = PlotextPlot(id="issued-plot")
        self.wait_plot = PlotextPlot(id="wait-plot")
        self.table = DataTable(id="weeks-table", cursor_type="none", show_header=False)
        self.status = Static("", id="status")
        yield self.top
        with self.today:
            yield from self.tiles.values()
        with self.weeks:
            with Vertical(id="plots"):
                yield self.issued_plot
                yield self.wait_plot
            with Vertical(id="weeks-side"):
                yield self.table
                yield Static(WEEKS_NOTE, id="weeks-note")
        yield self.status
        yield Footer()

    def on_mount(self) -> None:
        self.today.border_title = "Today"
        self.weeks.border_title = "Last four weeks"
        self.table.add_column("what", key="what", width=26)
        self.table.add_column("figure", key="figure", width=16)
        self._show_top()
        self.set_interval(1.0, self._tick)
        # (Textual runs StaffApp.on_mount too, which opens the sign-in screen.)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "refresh_trend":
            return self.person is not None and len(self.screen_stack) == 1
        return True

    def admit(self, person: StaffView | None) -> None:
        super().admit(person)
        self.call_later(self._admitted)

    def _admitted(self) -> None:
        self._show_top()
        self.refresh_bindings()
        # The trend is asked for by the first read of the room (``show``): once the store
        # has answered, not while it is away.

    def _leave(self) -> None:
        super()._leave()
        self.trend = None
        self.today_counts = None
        self._trend_for = None
        self._today_due = False
        self._today_last = -math.inf  # the next person sees today's counts at once

    # -- today (the follower thread reads; shown on the UI thread) --------------------------

    def read(self, centre: CentreView) -> tuple[RoomStatus, int]:
        cursor = latest(self.store, centre.id)  # first: nothing after it is missed
        return room_status(self.store, centre, self.clock.now()), cursor

    def show(self, state: RoomStatus) -> None:
        self._aged = self._minutes_since(state.at)
        self.today.remove_class("-away")
        self.today.border_title = "Today"
        self._show_top()
        self._fill_today(state)
        self._today_soon()
        if self._trend_failed or self._trend_for != self._business_day():
            self._ask_trend()  # the store is back, or a new day began

    def show_away(self) -> None:
        self.say(STORE_AWAY, refused=True)
        if self.state is not None:
            self.today.add_class("-away")
            self.today.border_title = f"Today (as of {self._hhmm(self.state.at)})"
        self._dim_weeks()

    def _dim_weeks(self) -> None:
        if self.trend is not None:
            self.weeks.add_class("-away")
            self.weeks.border_title = (
                f"{self._weeks_title(self.trend)} (as of {self._hhmm(self.trend.read_at)})"
            )

    def _tick(self) -> None:
        """The clock on the top line; the longest wait grows by the minute with no read;
        a new business day brings a new trend."""
        if not self.top.is_attached:  # the app is closing
            return
        self._show_top()
        if self.person is None or self.state is None or self.away:
            return
        aged = self._minutes_since(self.state.at)
        if aged != self._aged:
            self._aged = aged
            self._fill_today(self.state)
        self._today_if_due()
        if self._trend_for != self._business_day():
            self._ask_trend()

    def _fill_today(self, state: RoomStatus) -> None:
        t = self.tiles
        waiting = sum(q.waiting for q in state.queues)
        priority = sum(q.priority for q in state.queues)
        held = sum(q.held for q in state.queues)
        t["waiting"].set(str(waiting), f"{priority} priority\n{held} held")
        at_counters = [c for c in state.counters if c.ticket is not None]
        serving = sum(1 for c in at_counters if c.ticket_state == "serving")
        t["serving"].set(str(serving), f"+ {len(at_counters) - serving} called")
        states = [c.state for c in state.counters]
        t["counters"].set(
            str(states.count("open")),
            f"{states.count('paused')} paused\n{states.count('closed')} closed",
        )
        longest = longest_wait(state.queues, self._aged)
        if longest is None:
            t["wait"].set("0", "Nobody is waiting.")
        else:
            queue, wait = longest
            over = wait > queue.target_wait_minutes
            late = sum(
                1
                for q in state.queues
                if q.waiting and q.longest_wait_minutes + self._aged > q.target_wait_minutes
            )
            words = f"{queue.service_name}, target {queue.target_wait_minutes}"
            more = f" · {late} queues over" if late > 1 else ""
            t["wait"].set(str(wait), f"{words}\n{OVER}{more}" if over else words, over=over)
        self._fill_counts()

    def _fill_counts(self) -> None:
        if self.today_counts is None:
            self.tiles["issued"].set("–", "reading…")
        else:
            issued, served = self.today_counts
            self.tiles["issued"].set(str(issued), f"{served} served")

    def _today_soon(self) -> None:
        """After news: read today's counts again, at once if the last read was at least
        ``TODAY_SECONDS`` ago, else on the first tick after that (news in between shares
        that one read)."""
        self._today_due = True
        self._today_if_due()

    def _today_if_due(self) -> None:
        if not self._today_due or self.person is None:
            return
        if monotonic() - self._today_last >= TODAY_SECONDS:
            self._today_due = False
            self._today_last = monotonic()
            self._read_today(self._stop)

    @work(thread=True, exclusive=True, group="today", exit_on_error=False)
    def _read_today(self, session: threading.Event) -> None:
        try:
            now = self.clock.now()
            day = business_day(now, self.centre.timezone)
            rows = summary(self.store, self.centre, Days(day, day), by="day", now=now)["rows"]
            tickets = rows[0]["tickets"] if rows else {"issued": 0, "served": 0}
            counts: tuple[int, int] | None = (tickets["issued"], tickets["served"])
        except Exception as exc:  # the follower says the store is away; this stays as it was
            log.warning("could not read today's counts: %s", exc)
            counts = None
        self.post_message(self.TodayRead(counts, session))

    class TodayRead(Message):
        def __init__(self, counts: tuple[int, int] | None, session: threading.Event) -> None:
            super().__init__()
            self.counts = counts
            self.session = session

    def on_dashboard_app_today_read(self, message: TodayRead) -> None:
        if message.session is self._stop and message.counts is not None:
            self.today_counts = message.counts
            self._fill_counts()

    # -- the last four weeks (a worker thread) ----------------------------------------------

    def action_refresh_trend(self) -> None:
        self.say("Reading the last four weeks again…")
        self._ask_trend()

    def _ask_trend(self) -> None:
        if self.person is None:
            return
        self._trend_for = self._business_day()
        self._trend_failed = False
        self._read_trend(self._stop)

    @work(thread=True, exclusive=True, group="trend", exit_on_error=False)
    def _read_trend(self, session: threading.Event) -> None:
        try:
            trend: Trend | None = read_trend(self.store, self.centre, self.clock.now())
        except Exception:
            log.exception("could not read the last four weeks")
            trend = None
        self.post_message(self.TrendRead(trend, session))

    class TrendRead(Message):
        def __init__(self, trend: Trend | None, session: threading.Event) -> None:
            super().__init__()
            self.trend = trend
            self.session = session

    def on_dashboard_app_trend_read(self, message: TrendRead) -> None:
        if self.person is None or message.session is not self._stop:
            return  # read for someone who has signed out since
        if message.trend is None:
            self._trend_failed = True
            self.say(STORE_AWAY, refused=True)
            self._dim_weeks()
            return
        self.trend = message.trend
        self.weeks.remove_class("-away")
        self.weeks.border_title = self._weeks_title(message.trend)
        self._fill_weeks(message.trend)
        if not self.away:
            self.say(f"The last four weeks as read at {self._hhmm(message.trend.read_at)}.")

    def _fill_weeks(self, trend: Trend) -> None:
        self.table.clear()
        for key, what, figure in trend_rows(trend):
            self.table.add_row(Text(what), Text(figure, justify="right"), key=key)
        days = [d.day for d in trend.daily]
        mondays = [float(i) for i, day in enumerate(days) if day.weekday() == 0]
        labels = [f"{days[int(i)].day} {days[int(i)]:%b}" for i in mondays]
        # No bar: no tickets that day, or nobody called.
        issued = [float(d.issued) for d in trend.daily]
        waits = [d.median_wait or 0.0 for d in trend.daily]
        # The same width of axis labels in both, so that a day's two bars line up.
        width = max(len(f"{t:g}") for bars in (issued, waits) for t in axis(max(bars)))
        for widget, title, bars, colour in (
            (self.issued_plot, "Tickets issued per day", issued, ISSUED_COLOUR),
            (self.wait_plot, "Median wait per day (minutes)", waits, WAIT_COLOUR),
        ):
            self.plotted[widget.id or ""] = bars
            ticks = axis(max(bars))
            plt = widget.plt
            plt.clear_data()
            plt.title(title)
            plt.bar(list(range(len(bars))), bars, width=0.6, color=colour)
            plt.xticks(mondays, labels)
            plt.xlim(-0.5, len(bars) - 0.5)
            plt.yticks(ticks, [f"{t:g}".rjust(width) for t in ticks])
            plt.ylim(0, ticks[-1])
            widget.refresh()

    # -- the top line and time ----------------------------------------------------------

    def _business_day(self) -> date:
        return business_day(self.clock.now(), self.centre.timezone)

    def _weeks_title(self, trend: Trend) -> str:
        return f"Last four weeks: {day_words(trend.days.first)} – {day_words(trend.days.last)}"

    def _hhmm(self, when: datetime) -> str:
        return when.astimezone(ZoneInfo(self.centre.timezone)).strftime("%H:%M")

    def _minutes_since(self, when: datetime) -> int:
        return max(0, int((self.clock.now() - when).total_seconds() // 60))

    def _show_top(self) -> None:
        now = self.clock.now().astimezone(ZoneInfo(self.centre.timezone))
        who = f"{self.person.name} (manager)" if self.person else "nobody signed in"
        self.top.update(plain(f"{self.centre.name}  ·  {day_words(now)} {now:%H:%M}  ·  {who}"))
