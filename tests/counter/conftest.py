"""Fixtures for the staff screens: the example centre with desks open and three staff
(a counter worker from the borough, one from the Jobcentre, and a supervisor)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from textual.pilot import Pilot
from textual.widgets import Input

from gateway.clock import FixedClock
from gateway.queue import Queue
from gateway.store import Store
from tests.kiosk.conftest import ready_store, wait_for

STAFF = {
    "asha": ("Asha Patel", "4821", "counter", "mbc"),
    "ben": ("Ben Cole", "1357", "counter", "dwp"),
    "sam": ("Sam Reed", "2468", "supervisor", None),
}


@pytest.fixture
def staff_store(tmp_path: Path, clock: FixedClock) -> Iterator[Store]:
    """The example centre (every desk open) with the people in ``STAFF``."""
    store = ready_store(f"sqlite:///{tmp_path / 'staff.db'}", clock)
    queue = Queue(store, clock=clock, actor="test")
    for code, (name, pin, role, agency) in STAFF.items():
        queue.add_staff(code, name=name, pin=pin, role=role, agency=agency)
    yield store
    store.dispose()


async def sign_in(pilot: Pilot, code: str, pin: str | None = None) -> None:
    """Type a staff code and PIN into the sign-in screen and press Enter."""
    app = pilot.app
    # Wait until the sign-in screen has mounted and put the cursor in its code (or, after a
    # refusal, its PIN), as a person would see it, so that its focus does not land after ours.
    await wait_for(pilot, lambda: app.focused is not None and app.focused.id in ("code", "pin"))
    app.screen.query_one("#code", Input).value = code
    app.screen.query_one("#pin", Input).value = pin if pin is not None else STAFF[code][1]
    app.screen.query_one("#pin", Input).focus()
    await pilot.press("enter")


__all__ = ["STAFF", "sign_in", "wait_for"]
