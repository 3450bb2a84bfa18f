"""The manager's dashboard: today live and the last four weeks, for managers only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from textual.pilot import Pilot

from counter import dashboard as dashboard_module
from counter import staffapp
from counter.dashboard import DashboardApp
from counter.staffapp import STORE_AWAY, SignInScreen
from gateway.clock import FixedClock
from gateway.events import latest, watch
from gateway.queue import Queue
from gateway.store import Store
from tests.counter.conftest import sign_in, wait_for
from tests.kiosk.conftest import StoreAway, Ticker

SIZE = (120, 36)
MANAGER = ("pat", "Pat Lee", "9753")
LONDON = ZoneInfo("Europe/London")


@pytest.fixture
def manager_store(staff_store: Store, clock: FixedClock) -> Iterator[Store]:
    """The staff store with a centre manager, Pat, besides the counter staff and Sam."""
    code, name, pin = MANAGER
    Queue(staff_store, clock=clock, actor="test").add_staff(
        code, name=name, pin=pin, role="manager"
    )
    yield staff_store


@pytest.fixture
def quick_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Today's counts read after every piece of news (the throttle is tested on its own)."""
    monkeypatch.setattr(dashboard_module, "TODAY_SECONDS", 0.0)


def tile(app: DashboardApp, key: str) -> str:
    return str(app.tiles[key])


def status(app: DashboardApp) -> str:
    return str(app.default_screen.query_one("#status").render())


def table(app: DashboardApp) -> dict[str, str]:
    """The four weeks' table as {key: figure}."""
    rows = app.table.rows
    return {key.value or "": str(app.table.get_row(key)[1]) for key in rows}


async def dashboard_shown(pilot: Pilot[Any]) -> DashboardApp:
    """Sign Pat in and wait until today and the four weeks are on screen."""
    app = pilot.app
    assert isinstance(app, DashboardApp)
    await sign_in(pilot, MANAGER[0], MANAGER[2])
    await wait_for(pilot, lambda: app.state is not None and app.trend is not None, 10.0)
    await wait_for(pilot, lambda: app.today_counts is not None and len(app.screen_stack) == 1)
    await pilot.pause()
    return app


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def serve_on(queue: Queue, clock: FixedClock, day: date, waits: list[int]) -> None:
    """A morning at desk 1 on ``day``: each customer checks in for council tax, waits so
    many minutes, is served for five and leaves."""
    clock.set(at(day, 10))
    for minutes in waits:
        ticket = queue.check_in("pay-council-tax")
        clock.advance(minutes=minutes)
        assert queue.call_next("1").number == ticket.number
        queue.start_serving(ticket.number)
        clock.advance(minutes=5)
        queue.complete(ticket.number)


async def test_only_a_manager_gets_in(manager_store, clock):
    app = DashboardApp(manager_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        for code, name in (("asha", "Asha Patel"), ("sam", "Sam Reed")):
            await sign_in(pilot, code)
            refused = f"{name} is not a manager"
            await wait_for(
                pilot,
                lambda refused=refused: refused in str(app.screen.query_one("#refusal").render()),
            )
            assert isinstance(app.screen, SignInScreen)
            assert app.person is None and app.state is None and app.trend is None

        await dashboard_shown(pilot)
        assert app.person is not None and app.person.code == "pat"
        top = str(app.top.render())
        assert (
            "Maidstone Gateway" in top and "Pat Lee (manager)" in top and "Mon 23 Nov 09:00" in top
        )


async def test_today_shows_who_waits_and_the_longest_wait_over_its_target(
    manager_store, clock, quick_counts
):
    queue = Queue(manager_store, clock=clock)
    queue.check_in("pay-council-tax")  # council tax: target 15 minutes
    clock.advance(minutes=3)
    queue.check_in("find-work")  # the Jobcentre: target 20
    queue.check_in("help-with-rent")
    served = queue.check_in("pay-council-tax")
    queue.call_ticket("2", served.number)
    queue.start_serving(served.number)
    queue.call_next("8")  # called, not yet at the desk
    queue.set_counter_state("4", "paused", reason="lunch")
    queue.set_counter_state("13", "closed")
    clock.advance(minutes=14)  # the first council tax customer: 17 minutes
    app = DashboardApp(manager_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await dashboard_shown(pilot)
        assert tile(app, "waiting") == "Waiting now: 2 0 priority 0 held"
        assert tile(app, "serving") == "Being served: 1 + 1 called"
        assert tile(app, "counters").startswith("Counters open: 11 1 paused 1 closed")
        wait = app.tiles["wait"]
        assert str(wait).startswith("Longest wait now (minutes): 17 Council tax, target 15")
        assert "▲ over target" in str(wait) and wait.has_class("-over")
        await wait_for(pilot, lambda: tile(app, "issued") == "Issued today: 4 0 served")


async def test_a_wait_within_target_has_no_mark_and_grows_with_the_clock(manager_store, clock):
    queue = Queue(manager_store, clock=clock)
    queue.check_in("pay-council-tax")
    app = DashboardApp(manager_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await dashboard_shown(pilot)
        wait = app.tiles["wait"]
        assert str(wait) == "Longest wait now (minutes): 0 Council tax, target 15"
        assert not wait.has_class("-over")
        clock.advance(minutes=16)  # nothing happens in the room: aged on screen
        await wait_for(pilot, lambda: "16" in str(wait), 5.0)
        assert "▲ over target" in str(wait) and wait.has_class("-over")
        assert "Mon 23 Nov 09:16" in str(app.top.render())


async def test_a_check_in_appears_without_pressing_anything(manager_store, clock, quick_counts):
    queue = Queue(manager_store, clock=clock)
    app = DashboardApp(manager_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await dashboard_shown(pilot)
        assert tile(app, "waiting").startswith("Waiting now: 0 ")
        assert tile(app, "wait") == "Longest wait now (minutes): 0 Nobody is waiting."
        assert tile(app, "issued") == "Issued today: 0 0 served"

        queue.check_in("pay-council-tax")  # at the kiosk, another machine
        await wait_for(pilot, lambda: tile(app, "waiting").startswith("Waiting now: 1 "), 5.0)
        await wait_for(pilot, lambda: tile(app, "issued") == "Issued today: 1 0 served")


@pytest.fixture
def ticker(monkeypatch: pytest.MonkeyPatch) -> Ticker:
    """The dashboard's seconds (``monotonic``), moved by hand: the throttle of today's
    counts is driven, not slept through."""
    ticker = Ticker()
    monkeypatch.setattr(dashboard_module, "monotonic", ticker)
    return ticker


async def test_todays_counts_are_read_at_most_once_every_few_seconds(
    manager_store, clock, monkeypatch, ticker
):
    reads: list[Any] = []
    real = dashboard_module.summary

    def counted(store: Any, centre: Any, days: Any, **kwargs: Any) -> Any:
        if days.first == days.last:  # today's, not the trend's
            reads.append(days)
        return real(store, centre, days, **kwargs)

    monkeypatch.setattr(dashboard_module, "summary", counted)
    queue = Queue(manager_store, clock=clock)
    app = DashboardApp(manager_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await dashboard_shown(pilot)
        assert len(reads) == 1  # at sign-in
        for n in range(1, 6):
            queue.check_in("pay-council-tax")
            await wait_for(pilot, lambda n=n: tile(app, "waiting").startswith(f"Waiting now: {n} "))
        assert len(reads) == 1  # five pieces of news within the same few seconds: no read
        assert tile(app, "issued") == "Issued today: 0 0 served"

        ticker.advance(dashboard_module.TODAY_SECONDS)  # then one read catches up
        await wait_for(pilot, lambda: tile(app, "issued") == "Issued today: 5 0 served", 5.0)
        await pilot.pause(1.2)  # another tick: nothing more is due
        assert len(reads) == 2


async def test_the_last_four_weeks_show_the_days_with_tickets(manager_store, clock):
    queue = Queue(manager_store, clock=clock)
    today = clock.now().date()  # Monday 23 November
    history = {
        today - timedelta(days=7): [2, 4, 6],  # Monday 16: median wait 4
        today - timedelta(days=5): [10, 20],  # Wednesday 18: median 10
        today - timedelta(days=3): [1, 3, 5, 30],  # Friday 20: median 3
    }
    for day, waits in history.items():
        serve_on(queue, clock, day, waits)
    clock.set(at(today, 9))
    queue.check_in("pay-council-tax")  # today: not in the trend

    app = DashboardApp(manager_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await dashboard_shown(pilot)
        trend = app.trend
        assert trend is not None
        assert (trend.days.first, trend.days.last) == (date(2026, 10, 26), date(2026, 11, 22))
        issued = {d.day: d.issued for d in trend.daily if d.issued}
        assert issued == {day: len(waits) for day, waits in history.items()}
        medians = {d.day: d.median_wait for d in trend.daily if d.median_wait is not None}
        assert medians == {
            date(2026, 11, 16): 4.0,
            date(2026, 11, 18): 10.0,
            date(2026, 11, 20): 3.0,
        }
        assert len(trend.daily) == 28
        drawn = app.plotted["issued-plot"]  # the bars on screen, one a day
        assert len(drawn) == 28 and [n for n in drawn if n] == [3.0, 2.0, 4.0]
        assert drawn[-7] == 3.0 and drawn[-5] == 2.0 and drawn[-3] == 4.0
        assert [m for m in app.plotted["wait-plot"] if m] == [4.0, 10.0, 3.0]

        figures = table(app)
        assert figures["issued"] == "9" and figures["served"] == "9"
        assert figures["median"] == "5 min"  # of all nine waits: 1 2 3 4 5 6 10 20 30
        assert figures["within"] == "77.8 %"  # seven of nine within 15 minutes
        assert figures["busiest"] == "Fri 20 Nov (4)"
        assert "Mon 26 Oct – Sun 22 Nov" in str(app.weeks.border_title)
        assert tile(app, "issued") == "Issued today: 1 0 served"


async def test_a_new_business_day_reads_the_trend_again(manager_store, clock):
    queue = Queue(manager_store, clock=clock)
    app = DashboardApp(manager_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await dashboard_shown(pilot)
        assert app.trend is not None and sum(d.issued for d in app.trend.daily) == 0
        serve_on(queue, clock, date(2026, 11, 23), [3, 7])  # today, Monday: not yet in it
        first = app.trend
        clock.set(at(date(2026, 11, 24), 8, 30))  # Tuesday morning: Monday is history
        await wait_for(pilot, lambda: app.trend is not first, 5.0)
        trend = app.trend
        assert trend.days.last == date(2026, 11, 23)
        assert trend.daily[-1].issued == 2 and table(app)["issued"] == "2"


async def test_r_reads_the_trend_again(manager_store, clock):
    app = DashboardApp(manager_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await dashboard_shown(pilot)
        first = app.trend
        clock.advance(minutes=30)
        await pilot.press("r")
        await wait_for(pilot, lambda: app.trend is not first, 5.0)
        assert status(app) == "The last four weeks as read at 09:30."


async def test_a_store_that_goes_away_dims_the_panels_and_comes_back(
    manager_store, clock, monkeypatch
):
    away = StoreAway(monkeypatch, dashboard_module, "room_status", timing=staffapp)
    real = dashboard_module.summary

    def summary(*args: Any, **kwargs: Any) -> Any:
        if away.down:
            raise ConnectionError("the store went away")
        return real(*args, **kwargs)

    monkeypatch.setattr(dashboard_module, "summary", summary)
    app = DashboardApp(manager_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await dashboard_shown(pilot)
        away.down = True
        clock.advance(minutes=5)
        await wait_for(pilot, lambda: app.away, 5.0)
        await pilot.press("r")  # the trend cannot be read either
        await wait_for(pilot, lambda: app._trend_failed, 5.0)
        assert status(app) == STORE_AWAY
        assert app.today.border_title == "Today (as of 09:00)" and app.today.has_class("-away")
        assert str(app.weeks.border_title).endswith("(as of 09:00)")
        assert app.weeks.has_class("-away")
        assert tile(app, "waiting").startswith("Waiting now: 0 ")  # the last known room
        assert app.is_running

        away.down = False
        await wait_for(pilot, lambda: not app.away and not app.weeks.has_class("-away"), 5.0)
        assert app.today.border_title == "Today" and not app.today.has_class("-away")
        assert status(app) == "The last four weeks as read at 09:05."


async def test_signing_out_shows_the_sign_in_and_leaves_nothing_to_refresh(
    manager_store, clock, ticker
):  # (the ticker stands still: today's counts are not held back by the last person's)
    app = DashboardApp(manager_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await dashboard_shown(pilot)
        assert app.check_action("refresh_trend", ()) is True
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        await wait_for(pilot, lambda: status(app) == "Pat Lee signed out.")
        assert app.check_action("refresh_trend", ()) is False
        assert app.trend is None and app.person is None
        await pilot.press("r")  # typed into the staff code, not acted on
        assert isinstance(app.screen, SignInScreen)

        await sign_in(pilot, MANAGER[0], MANAGER[2])  # the next person sees today at once
        await wait_for(pilot, lambda: app.today_counts is not None and app.trend is not None)
        assert tile(app, "issued") == "Issued today: 0 0 served"


async def test_the_dashboard_writes_nothing_but_signing_in_and_out(manager_store, clock):
    queue = Queue(manager_store, clock=clock)
    queue.check_in("pay-council-tax")
    before = latest(manager_store, queue.centre.id)
    app = DashboardApp(manager_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await dashboard_shown(pilot)
        await pilot.press("r", "p", "c", "o", "m", "n", "enter", "escape")  # no key acts
        await wait_for(pilot, lambda: status(app).startswith("The last four weeks as read"))
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: status(app) == "Pat Lee signed out.")
    kinds = [e.kind for e in watch(manager_store, queue.centre.id, before)]
    assert kinds == ["signed_in", "signed_out"]


def test_dashboard_snapshot(snap_compare, manager_store, clock):
    """Monday 23 November, 10:30: three weeks of mornings behind it, and today a queue for
    council tax over its target, a counter serving, one paused and one closed."""
    queue = Queue(manager_store, clock=clock)
    today = clock.now().date()
    for back in range(1, 22):
        day = today - timedelta(days=back)
        if day.weekday() < 5:
            n = 2 + (back * 7) % 5
            serve_on(queue, clock, day, [(back * k) % 13 + 1 for k in range(1, n + 1)])
    clock.set(at(today, 9))
    for need in ("pay-council-tax", "pay-council-tax", "help-with-rent", "find-work"):
        queue.check_in(need)
        clock.advance(minutes=3)
    queue.check_in("pay-council-tax", help_needed="wheelchair")
    queue.call_next("1")
    queue.start_serving(queue.call_next("8").number)
    queue.set_counter_state("4", "paused", reason="training")
    queue.set_counter_state("13", "closed")
    clock.set(at(today, 9, 30))

    async def ready(pilot: Pilot[Any]) -> None:
        await dashboard_shown(pilot)
        await pilot.pause(0.2)

    app = DashboardApp(manager_store, clock=clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=ready)
