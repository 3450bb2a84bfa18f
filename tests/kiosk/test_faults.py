"""A fault in a screen is logged and the kiosk starts again: no traceback on screen."""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys

from gateway import store as store_module
from kiosk.app import KIOSK_SIZE, RESTART, KioskApp
from kiosk.run import supervise
from kiosk.screens.dialogs import SorryScreen
from kiosk.screens.journey import CategoryScreen, LanguageScreen, NeedScreen
from kiosk.screens.ticket import TicketScreen
from kiosk.settings import KioskSettings
from tests.kiosk.conftest import ready_store, started, wait_for


async def test_a_fault_in_a_screen_is_logged_and_the_kiosk_starts_again(
    make_kiosk, monkeypatch, caplog
):
    broken = {"left": 1}
    original = CategoryScreen.compose_body

    def compose_body(self):
        if broken["left"]:
            broken["left"] -= 1
            raise RuntimeError("a bug in a screen")
        return original(self)

    monkeypatch.setattr(CategoryScreen, "compose_body", compose_body)
    app = make_kiosk()
    with caplog.at_level(logging.ERROR, logger="gateway.kiosk"):
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await started(pilot)
            await pilot.click("#choice-0")
            await wait_for(
                pilot, lambda: isinstance(app.screen, LanguageScreen) and not broken["left"]
            )
            await pilot.pause()
            assert app.is_running and app.return_code is None
            # and it still works: the next customer gets through
            await pilot.click("#choice-0")
            await wait_for(pilot, lambda: isinstance(app.screen, CategoryScreen))
    assert any("a bug in a screen" in str(r.exc_info) for r in caplog.records if r.exc_info)


async def test_a_fault_in_the_app_itself_ends_it_for_a_fresh_start(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        app.call_later(lambda: 1 / 0)  # a bug in one of the app's own handlers
        await ended(app)
    assert app.return_code == RESTART


async def ended(app, timeout: float = 10.0) -> None:
    """Wait for an app whose own messages have stopped (Pilot can no longer pause it)."""
    for _ in range(int(timeout / 0.02)):
        if app.return_code is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError("the app did not end")


def _drive(app, faults):
    """Run one kiosk app headless: fault (app level) while faults are left, else leave
    through the staff PIN."""

    async def drive():
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await started(pilot)
            if faults:
                faults.pop()
                app.call_later(lambda: 1 / 0)
                await ended(app)
                return
            for _ in range(5):
                await pilot.click("#centre-name")
            for key in "2468":
                await pilot.click(f"#pin-{key}")
            await pilot.click("#pin-ok")
            await wait_for(pilot, lambda: app.return_code is not None)

    asyncio.run(drive())


def test_the_supervisor_starts_a_fresh_kiosk_after_a_fault(make_kiosk):
    apps = []
    faults = [1, 1]

    def make():
        apps.append(make_kiosk(staff_pin="2468"))
        return apps[-1]

    assert supervise(make, lambda app: _drive(app, faults)) == 0
    assert [a.return_code for a in apps] == [RESTART, RESTART, 0]


def test_the_supervisor_gives_up_after_faulting_over_and_over(make_kiosk):
    apps = []
    faults = [1] * 10

    def make():
        apps.append(make_kiosk())
        return apps[-1]

    assert supervise(make, lambda app: _drive(app, faults), most=3) == 1
    assert len(apps) == 3


LOCKER = """
import sqlite3, sys, time
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
"""


async def test_a_locked_store_sends_the_customer_to_reception_then_recovers(
    tmp_path, clock, ticker, monkeypatch
):
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 0.2)
    path = tmp_path / "locked.db"
    store = ready_store(f"sqlite:///{path}", clock)
    app = KioskApp(store, settings=KioskSettings(name="k"), clock=clock, monotonic=ticker)
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        await pilot.click("#choice-1")  # Polski
        await pilot.pause()
        await pilot.click("#choice-0")  # money
        await pilot.pause()
        locker = subprocess.Popen(
            [sys.executable, "-c", LOCKER, str(path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert locker.stdout.readline().strip() == "locked"
            await pilot.click("#choice-0")  # pay council tax: the store is locked
            await wait_for(
                pilot,
                lambda: isinstance(app.screen, SorryScreen) and bool(app.screen.query("#sorry")),
                timeout=20,
            )
            sorry = str(app.screen.query_one("#sorry").render())
            assert sorry == app.visit.gettext("Please ask at reception. They will help you.")
            assert sorry != "Please ask at reception. They will help you."  # in Polish
        finally:
            locker.communicate("\n", timeout=10)
        ticker.advance(app.settings.retry_seconds)
        app.tick()
        await started(pilot)
        for then in (CategoryScreen, NeedScreen, TicketScreen):
            await pilot.click("#choice-0")
            await wait_for(pilot, lambda kind=then: isinstance(app.screen, kind))
            if then is not TicketScreen:
                await wait_for(pilot, lambda: bool(app.screen.query("#choice-0")))
        assert app.screen.ticket.number == "C001"  # the failed try left no ticket behind
