"""What the kiosk looks like, screen by screen, at its touchscreen's size (SVG snapshots).

Each test runs a short tap script on a fresh kiosk (the example centre on a fresh SQLite
store, a fixed clock and a hand-driven idle clock), so ticket numbers and waits are the
same every run. After a deliberate change to the screens, or to the catalogues in
``locales/``, look at the report and accept the new pictures with:

    .venv/bin/pytest tests/kiosk/test_snapshots.py --snapshot-update -p no:cacheprovider

Snapshots showing other languages (the language screen's heading, the Nepali category
screen) change whenever those catalogues do.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from gateway.store import Store
from kiosk.app import KIOSK_SIZE
from kiosk.screens.dialogs import HelpDialog, SorryScreen
from kiosk.screens.journey import CategoryScreen, LanguageScreen, NeedScreen
from kiosk.screens.questions import QuestionScreen
from kiosk.screens.ticket import TicketScreen
from tests.kiosk.conftest import started, wait_for
from tests.kiosk.test_accessibility import choose, idle_warning_shown, settle, showing, tap

Script = Callable[[Any], Awaitable[None]]
FAILING_PRINTER = "file:/nonexistent/gateway-test/lp0"


def script(*steps: str) -> Script:
    """A short tap script, run once the kiosk shows its language screen:

    - ``"#id"`` taps that button;
    - ``"=value"`` taps the choice with that value (paging with "More" if needed);
    - ``"type:42"`` types on the keyboard (the appointment reference);
    - ``"idle"`` lets the idle time pass until the "Are you still there?" warning;
    - ``"ticket"`` waits for the ticket and its printing line.
    """

    async def run(pilot: Any) -> None:
        app = pilot.app
        await started(pilot)
        for step in steps:
            if step.startswith("#"):
                await tap(pilot, step)
            elif step.startswith("="):
                await choose(pilot, step[1:])
            elif step.startswith("type:"):
                await pilot.press(*step.removeprefix("type:"))
            elif step == "idle":
                app.monotonic.advance(app.settings.idle_seconds)
                await idle_warning_shown(pilot)
            elif step == "ticket":
                await wait_for(
                    pilot,
                    lambda: (
                        isinstance(app.screen, TicketScreen)
                        and app.screen.print_state != "printing"
                    ),
                )
            else:
                raise ValueError(f"unknown step {step!r}")
            await settle(pilot)
        await still(pilot)

    return run


async def still(pilot: Any) -> None:
    """Nothing moving: no button flashing from a tap, the pointer off the buttons."""
    app = pilot.app
    await wait_for(pilot, lambda: not app.screen.query(".-active"))
    if app.screen.query("#heading"):
        await pilot.hover("#heading")
    await settle(pilot)


def at(screen: type, **where: Any) -> Script:
    """Wait for a screen that is not reached by taps (the store down at start)."""

    async def run(pilot: Any) -> None:
        await showing(pilot, screen, **where)
        await still(pilot)

    return run


@pytest.fixture
def shot(snap_compare: Any, make_kiosk: Callable[..., Any]) -> Callable[..., bool]:
    """``shot(script, **settings)``: run the script on a new kiosk and compare the
    screen with the stored snapshot."""

    def take(run_before: Script, **settings: Any) -> bool:
        app = make_kiosk(**settings)
        return bool(snap_compare(app, terminal_size=KIOSK_SIZE, run_before=run_before))

    return take


class TestLanguage:
    def test_language_screen(self, shot):
        assert shot(script())

    def test_language_screen_large_text(self, shot):
        assert shot(script("#large"))


class TestChoosingWhatYouNeed:
    def test_category_screen(self, shot):
        assert shot(script("=en"))

    def test_category_screen_in_nepali(self, shot):
        assert shot(script("=ne"))

    def test_category_screen_large_text(self, shot):
        assert shot(script("#large", "=en"))

    def test_need_screen(self, shot):
        assert shot(script("=en", "=money"))


class TestQuestions:
    def test_appointment_question(self, shot):
        assert shot(script("=en", "=life-events", "=register-birth", "type:RB-42"))


class TestTicket:
    def test_ticket_screen(self, shot):
        assert shot(script("=en", "=money", "=pay-council-tax", "ticket"))

    def test_ticket_screen_large_text(self, shot):
        assert shot(script("#large", "=en", "=money", "=pay-council-tax", "ticket"))

    def test_ticket_screen_when_printing_fails(self, shot):
        """The printer did not take the ticket: a QR code to photograph instead."""
        run = script("=en", "=money", "=pay-council-tax", "ticket")
        assert shot(run, printer=FAILING_PRINTER)


class TestHelp:
    def test_help_dialog(self, shot):
        assert shot(script("=en", "#help"))


class TestIdle:
    def test_idle_warning(self, shot):
        assert shot(script("=en", "=money", "idle"))


class TestSorry:
    def test_sorry_screen_when_the_store_is_not_there(self, shot, tmp_path: Path):
        empty = Store(f"sqlite:///{tmp_path / 'not-set-up.db'}")
        try:
            assert shot(at(SorryScreen, starting=False), store=empty)
        finally:
            empty.dispose()


# The screens these scripts must reach (a script that ends on the wrong screen would
# still match its own snapshot once accepted, so the scripts are checked too).
REACHES = {
    "language": (script(), LanguageScreen),
    "category": (script("=en"), CategoryScreen),
    "need": (script("=en", "=money"), NeedScreen),
    "appointment": (script("=en", "=life-events", "=register-birth", "type:RB-42"), QuestionScreen),
    "help": (script("=en", "#help"), HelpDialog),
}


@pytest.mark.parametrize("name", REACHES)
async def test_scripts_reach_their_screens(make_kiosk, name):
    run, screen = REACHES[name]
    app = make_kiosk()
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await run(pilot)
        assert isinstance(app.screen, screen)
        if screen is QuestionScreen:
            assert app.screen.question == "appointment"
            assert app.typed == "RB-42"
