"""The kiosk with its hardware: scanners, a door sensor and printers that fail.

The devices are fakes on pseudo-terminals and on 127.0.0.1 (tests/devices/fakes.py), so
the kiosk talks to them exactly as it would to real ones: through pyserial and sockets.
Every failure ends with the ticket in the store and the right event written.
"""

from __future__ import annotations

from typing import Any

import pytest
from textual.events import Key

from gateway.queue import Queue
from kiosk.app import KIOSK_SIZE
from kiosk.screens.journey import LanguageScreen
from kiosk.screens.ticket import TicketScreen
from tests.devices.fakes import FakeNetworkPrinter, FakeSerialLine, FakeSerialPrinter
from tests.kiosk.conftest import started, wait_for
from tests.kiosk.test_journeys import (
    assert_translated,
    events,
    on_screen,
    shown,
    to_appointment,
    to_ticket,
    visit_row,
)

UNREADABLE = "Sorry, we could not read that code. Please choose on the screen."
UNKNOWN = "Sorry, we do not know that code. Please choose on the screen."


async def scanner_ready(pilot: Any, line: FakeSerialLine) -> None:
    """Wait until the kiosk has opened the scanner (pyserial empties the port on open)."""
    await started(pilot)
    assert line.wait_opened(timeout=5), "the kiosk never opened the scanner"


def health_events(store: Any, centre_id: int, device: str) -> list[str]:
    return [e.data["health"] for e in events(store, centre_id, "device_health", device=device)]


# -- appointment scanners ---------------------------------------------------------------


class TestSerialScanner:
    async def test_a_letter_scanned_on_the_start_screen_checks_the_customer_in(
        self, make_kiosk, kiosk_store
    ):
        with FakeSerialLine() as line:
            app = make_kiosk(scanner=line.spec)
            async with app.run_test(size=KIOSK_SIZE) as pilot:
                await scanner_ready(pilot, line)
                line.send_line("rb-123456")  # the register-birth letters' codes
                screen = await on_screen(pilot, TicketScreen)
                assert screen.ticket.service == "registrar"
        visit = visit_row(kiosk_store, screen.ticket.visit_id)
        assert visit.appointment_ref == "RB-123456"
        assert app.tickets_issued == 1

    async def test_a_scan_answers_the_appointment_question(self, make_kiosk, kiosk_store):
        with FakeSerialLine() as line:
            app = make_kiosk(scanner=line.spec)
            async with app.run_test(size=KIOSK_SIZE) as pilot:
                assert line.wait_opened(timeout=5)
                await to_appointment(pilot)
                line.send_line("ANY-REF-77")
                screen = await on_screen(pilot, TicketScreen)
        assert visit_row(kiosk_store, screen.ticket.visit_id).appointment_ref == "ANY-REF-77"

    @pytest.mark.parametrize(
        ("sent", "message"),
        [
            (b"\x1b[2J\x1b]0;owned\x07\x00\xff\xfe\r\n", UNREADABLE),  # escapes, NUL, bad UTF-8
            (b"X" * 500 + b"\r\n", UNREADABLE),  # over-long
            (b"'; DROP TABLE ticket; --\r\n", UNREADABLE),  # not a reference at all
            (b"ZZ-999999\r\n", UNKNOWN),  # a reference, but no need's letters carry it
        ],
        ids=["garbage", "over-long", "sql", "unknown"],
    )
    async def test_bad_scans_get_a_sentence_and_change_nothing(
        self, make_kiosk, kiosk_store, sent, message
    ):
        with FakeSerialLine() as line:
            app = make_kiosk(scanner=line.spec)
            async with app.run_test(size=KIOSK_SIZE) as pilot:
                await scanner_ready(pilot, line)
                line.send_bytes(sent)
                await wait_for(pilot, lambda: shown(app, "#notice") != "")
                assert shown(app, "#notice") == message
                assert isinstance(app.screen, LanguageScreen)
                # The kiosk still works: the next, good scan gives a ticket.
                line.send_line("RB-000001")
                await on_screen(pilot, TicketScreen)
        assert app.tickets_issued == 1

    async def test_an_unplugged_scanner_alerts_staff_and_comes_back_by_itself(
        self, make_kiosk, kiosk_store, tmp_path
    ):
        with FakeSerialLine(link=tmp_path / "scanner") as line:
            app = make_kiosk(scanner=line.spec)
            async with app.run_test(size=KIOSK_SIZE) as pilot:
                await scanner_ready(pilot, line)
                centre_id = app.queue.centre.id
                await wait_for(pilot, lambda: health_events(kiosk_store, centre_id, "scanner"))
                line.unplug()
                await wait_for(
                    pilot,
                    lambda: health_events(kiosk_store, centre_id, "scanner")[-1] == "unplugged",
                )
                line.plug()
                assert line.wait_opened(timeout=8), "the kiosk did not reopen the scanner"
                await wait_for(
                    pilot, lambda: health_events(kiosk_store, centre_id, "scanner")[-1] == "ok"
                )
                line.send_line("RB-424242")
                await on_screen(pilot, TicketScreen)
        assert health_events(kiosk_store, centre_id, "scanner") == ["ok", "unplugged", "ok"]
        (alert,) = events(kiosk_store, centre_id, "device_health", health="unplugged")
        assert alert.data["alert"] is True and alert.data["place"] == "kiosk-test"


class TestKeyboardWedge:
    async def test_a_fast_burst_ending_in_enter_on_any_screen_is_a_scan(
        self, make_kiosk, kiosk_store
    ):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await started(pilot)
            for char in "JC12345678":
                app.post_message(Key(char, char))
            app.post_message(Key("enter", "\r"))
            screen = await on_screen(pilot, TicketScreen)
        assert screen.ticket.service == "jobcentre-appointment"
        assert visit_row(kiosk_store, screen.ticket.visit_id).appointment_ref == "JC12345678"

    async def test_mashed_keys_are_not_a_ticket(self, make_kiosk):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await started(pilot)
            for char in "asdf;lkj":
                app.post_message(Key(char, char))
            app.post_message(Key("enter", "\r"))
            await wait_for(pilot, lambda: shown(app, "#notice") != "")
            assert shown(app, "#notice") in (UNREADABLE, UNKNOWN)
            assert isinstance(app.screen, LanguageScreen)
        assert app.tickets_issued == 0


# -- the door sensor ---------------------------------------------------------------------


async def test_each_line_from_the_door_sensor_is_one_footfall_event(make_kiosk, kiosk_store):
    with FakeSerialLine() as door:
        app = make_kiosk(door=door.spec)
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await started(pilot)
            assert door.wait_opened(timeout=5)
            for _ in range(3):
                door.send_line("1")
            centre_id = app.queue.centre.id
            await wait_for(pilot, lambda: len(events(kiosk_store, centre_id, "door_entry")) == 3)
            assert isinstance(app.screen, LanguageScreen)  # customers see nothing of it
    entries = events(kiosk_store, centre_id, "door_entry")
    assert {e.data["sensor"] for e in entries} == {"kiosk-test"}
    assert health_events(kiosk_store, centre_id, "door") == ["ok"]


# -- printers that fail ----------------------------------------------------------------


async def print_one(app: Any, pilot: Any) -> TicketScreen:
    screen = await to_ticket(pilot, "en")
    await wait_for(pilot, lambda: screen.print_state in ("printed", "failed"), timeout=15)
    await pilot.pause()
    return screen


class TestPrinterFailures:
    @pytest.mark.parametrize(
        ("mode", "health"),
        [("out", "paper_out"), ("cover", "cover_open"), ("silent", "unknown")],
    )
    async def test_a_serial_printer_that_cannot_print_keeps_the_ticket_and_alerts(
        self, make_kiosk, kiosk_store, clock, mode, health
    ):
        with FakeSerialPrinter(mode) as printer:
            app = make_kiosk(printer=printer.spec)
            async with app.run_test(size=KIOSK_SIZE) as pilot:
                screen = await print_one(app, pilot)
                assert screen.print_state == "failed"
                assert shown(app, "#number-text") == screen.ticket.number
                centre_id = app.queue.centre.id
                await wait_for(pilot, lambda: bool(events(kiosk_store, centre_id, "print_failed")))
                await wait_for(
                    pilot, lambda: health in health_events(kiosk_store, centre_id, "printer")
                )
            assert b"\x1dV" not in printer.received  # nothing was sent to print
        (failed,) = events(kiosk_store, centre_id, "print_failed")
        assert failed.data["number"] == screen.ticket.number
        assert Queue(kiosk_store, clock=clock).ticket(screen.ticket.number).state == "waiting"
        assert health_events(kiosk_store, centre_id, "printer")[-1] == health

    async def test_a_printer_low_on_paper_prints_and_tells_staff(self, make_kiosk, kiosk_store):
        with FakeSerialPrinter("low") as printer:
            app = make_kiosk(printer=printer.spec)
            async with app.run_test(size=KIOSK_SIZE) as pilot:
                screen = await print_one(app, pilot)
                assert screen.print_state == "printed"
                centre_id = app.queue.centre.id
                await wait_for(pilot, lambda: health_events(kiosk_store, centre_id, "printer"))
            assert screen.ticket.number.encode() in printer.received
        assert events(kiosk_store, centre_id, "print_failed") == []
        assert health_events(kiosk_store, centre_id, "printer") == ["paper_low"]

    @pytest.mark.parametrize("mode", ["refuse", "stall"])
    async def test_a_network_printer_that_refuses_or_hangs_never_freezes_the_kiosk(
        self, make_kiosk, kiosk_store, clock, mode
    ):
        with FakeNetworkPrinter(mode) as printer:
            app = make_kiosk(printer=printer.spec)
            async with app.run_test(size=KIOSK_SIZE) as pilot:
                screen = await print_one(app, pilot)
                assert screen.print_state == "failed"
                centre_id = app.queue.centre.id
                await wait_for(pilot, lambda: bool(events(kiosk_store, centre_id, "print_failed")))
        assert Queue(kiosk_store, clock=clock).ticket(screen.ticket.number).state == "waiting"
        assert health_events(kiosk_store, centre_id, "printer")[-1] == "unknown"

    async def test_the_printer_is_checked_when_the_kiosk_starts(self, make_kiosk, kiosk_store):
        with FakeSerialPrinter("cover") as printer:
            app = make_kiosk(printer=printer.spec)
            async with app.run_test(size=KIOSK_SIZE) as pilot:
                await started(pilot)
                centre_id = app.queue.centre.id
                await wait_for(pilot, lambda: health_events(kiosk_store, centre_id, "printer"))
                assert app.visit is None  # before any customer
        assert health_events(kiosk_store, centre_id, "printer") == ["cover_open"]
        (alert,) = events(kiosk_store, centre_id, "device_health", device="printer")
        assert alert.data["detail"] == "The printer's cover is open."


def test_the_scan_messages_are_translated():
    for message in (UNREADABLE, UNKNOWN):
        for language in ("pl", "ro", "ne", "uk", "tr"):
            from kiosk.i18n import translation

            assert_translated(language, message, translation(language).gettext(message))


def test_scans_never_reach_the_screen_as_terminal_escapes():
    from devices.lines import clean_line

    scan = clean_line(b"\x1b[2J\x1b]0;owned\x07RB-1\r")
    assert "\x1b" not in scan.text and "\x07" not in scan.text
    assert scan.garbage
