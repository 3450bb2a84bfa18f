"""A brute force of the kiosk's staff exit PIN: the lockout holds across reopenings of the
pad, the right PIN is refused while it lasts, and it ends by itself."""

from __future__ import annotations

import logging

from kiosk.app import KIOSK_SIZE, PIN_LOCK_SECONDS, PIN_TRIES
from kiosk.screens.dialogs import StaffPin
from tests.kiosk.conftest import kiosk_store, make_kiosk, ticker
from tests.kiosk.test_journeys import on_screen, tap_centre_name, to_categories, type_pin

KIOSK_FIXTURES = (kiosk_store, make_kiosk, ticker)  # the kiosk tests' fixtures, used here


async def test_guessing_the_exit_pin_locks_the_pad(make_kiosk, ticker, caplog):
    app = make_kiosk(staff_pin="2468", idle_seconds=10**6)
    caplog.set_level(logging.WARNING, logger="gateway.kiosk")
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        categories = await to_categories(pilot, "en")
        guesses = iter(f"{n:04d}" for n in range(10000) if f"{n:04d}" != "2468")
        wrong = 0
        while wrong < PIN_TRIES:
            await tap_centre_name(pilot)
            await on_screen(pilot, StaffPin)
            while isinstance(app.screen, StaffPin) and wrong < PIN_TRIES:
                await type_pin(pilot, next(guesses))
                wrong += 1
            if isinstance(app.screen, StaffPin):
                await pilot.click("#pin-cancel")
        await on_screen(pilot, type(categories))
        assert any("locked" in r.getMessage() for r in caplog.records)

        # Locked: the gesture opens nothing, so even the right PIN cannot be typed.
        for _ in range(3):
            ticker.advance(60)
            await tap_centre_name(pilot)
            await pilot.pause()
            assert not isinstance(app.screen, StaffPin)
        assert app.is_running

        # After the lock, the pad opens again and the right PIN works.
        ticker.advance(PIN_LOCK_SECONDS)
        await tap_centre_name(pilot)
        await on_screen(pilot, StaffPin)
        await type_pin(pilot, "2468")
        await pilot.pause()
    assert app.return_code == 0


async def test_a_right_pin_clears_the_count(make_kiosk, ticker):
    app = make_kiosk(staff_pin="2468", idle_seconds=10**6)
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await to_categories(pilot, "en")
        await tap_centre_name(pilot)
        await on_screen(pilot, StaffPin)
        for guess in ("1111", "2222"):
            await type_pin(pilot, guess)
        assert app._pin_wrong == 2
        await type_pin(pilot, "2468")
        await pilot.pause()
    assert app._pin_wrong == 0 and app.return_code == 0
