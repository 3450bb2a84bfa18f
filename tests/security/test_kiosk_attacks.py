"""Attacks on the kiosk (issue 7). Someone at the kiosk, with a keyboard, a mouse, a
clipboard or a rigged scanner, tries to leave it, to crash it, to get a ticket it should
not give, or to smuggle SQL, terminal escapes, Rich/Textual markup or printer commands
through whatever the kiosk lets them type or scan.

Every attack fails. Afterwards the kiosk is still running on the screen it was on, nothing
was written that should not be, nothing faulted (no exception, nothing logged), and only
the staff PIN closes it. What a customer can type or scan is refused, or stored as the
code intends (letters, digits and dashes, upper case), and shows as plain text wherever it
shows: on the kiosk, never on the waiting-room board or the printed ticket.

The kiosk is driven as a terminal drives it where that matters: raw bytes go through
Textual's own input parser (``terminal``), so a paste that ends early or an escape
sequence arrives as the same events a real terminal would send.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from textual.events import Key, Paste
from textual.keys import _character_to_key, _get_unicode_name_from_key
from textual.widgets import Button, Static

from devices.lines import MAX_LINE, clean_line
from devices.tickets import PrintedTicket, ticket_bytes
from gateway.models import Event, Ticket, Visit
from gateway.queue import APPOINTMENT_REF, Queue
from gateway.store import Store
from kiosk.app import KIOSK_SIZE, KioskApp
from kiosk.board import BoardApp
from kiosk.screens.base import CentreName
from kiosk.screens.dialogs import StaffPin
from kiosk.screens.journey import LanguageScreen
from kiosk.screens.questions import APPOINTMENT_CHARS, QuestionScreen
from kiosk.screens.ticket import TicketScreen
from kiosk.session import APPOINTMENT_MAX
from kiosk.wedge import WedgeReader
from tests.devices.escpos_reader import read_escpos
from tests.devices.fakes import FakeSerialLine
from tests.kiosk.conftest import kiosk_store, make_kiosk, ready_store, started, ticker, wait_for
from tests.kiosk.test_accessibility import tour
from tests.kiosk.test_devices import UNREADABLE, scanner_ready
from tests.kiosk.test_journeys import (
    ESCAPE_KEYS,
    on_screen,
    recover,
    rows,
    scan,
    screen_text,
    shown,
    tap_centre_name,
    to_appointment,
    type_pin,
    visit_row,
)

# The kiosk's fixtures (tests/kiosk/conftest.py), found by pytest under these names here.
KIOSK_FIXTURES = (kiosk_store, make_kiosk, ticker)

PIN = "2468"
TOO_LONG = "That reference is too long. Please check it."

# Every key combination that leaves, suspends, closes or switches away from a program
# somewhere (terminals, desktops, Textual itself), and tab cycling. None may do anything
# but move the focus.
LEAVING_KEYS = (
    *dict.fromkeys(
        (
            *ESCAPE_KEYS,  # ctrl+c, ctrl+q, ctrl+z, ctrl+\, escape, ctrl+p, f1, alt+f4
            *("ctrl+d", "ctrl+w", "ctrl+s", "ctrl+x", "ctrl+v", "ctrl+a", "ctrl+l", "ctrl+o"),
            *("ctrl+t", "ctrl+n", "ctrl+r", "ctrl+u", "ctrl+k", "ctrl+e", "ctrl+b", "ctrl+g"),
            *("ctrl+shift+q", "ctrl+shift+c", "ctrl+shift+v", "ctrl+shift+w", "ctrl+escape"),
            *("ctrl+shift+escape", "ctrl+alt+delete", "ctrl+alt+backspace", "ctrl+alt+t"),
            *("ctrl+alt+f1", "ctrl+alt+f2", "ctrl+alt+f7", "alt+tab", "alt+shift+tab"),
            *("alt+escape", "alt+space", "alt+f2", "alt+f7", "alt+f10", "alt+enter"),
            *("super", "super+q", "super+d", "super+l", "super+tab", "super+c", "super+w"),
            *(f"f{n}" for n in range(1, 13)),
            *("shift+f10", "menu", "pause", "print_screen", "insert", "delete"),
            *("home", "end", "pageup", "pagedown"),
        )
    ),
    *("tab",) * 25,  # round every button and back: the focus moves, nothing is pressed
    *("shift+tab",) * 25,
)

# Text a customer may paste, type or scan. None of it may reach the screen as anything
# but plain text, nor the store as anything but a reference the code allows.
HOSTILE = {
    "sql": "'); DROP TABLE ticket;--",
    "escapes": "\x1b]0;pwned\x07\x1b[2J\x1b[H\x1b[201~",  # title, clear, bracketed paste end
    "link": "[link=file:///etc/passwd]x[/link]",
    "close-tag": "[/]",
    "style": "[bold red]rb-1",
    "action": "[@click=app.quit]q[/]",
    "dashes": "--help",
    "controls": "rb-1\x00\x03\x11\x1a\x7f\x9b\u202e2",
    "not-ascii": "ﬀ-ﾘ-1",
    "long": "z" * (APPOINTMENT_MAX + 20),
}
PASTES = {
    **HOSTILE,
    "newlines": "RB-123456\r\nRB-654321\n\x0b\x0c",
    "huge": "RB-123456 " * 50_000,  # half a megabyte
}

# Bytes from the terminal that are not plain keys: a bracketed paste ended early by its own
# end marker (the rest arrives as ctrl+c, ctrl+q, ctrl+z, ctrl+\, ctrl+d, ctrl+w, ctrl+s,
# ctrl+p and the kitty keyboard protocol's ctrl+q), alt+f4 as xterm sends it, and escape
# sequences that terminals answer or obey when they are written (which Textual reads as keys).
TERMINAL_BYTES = (
    "\x1b[200~x\x1b[201~\x03\x11\x1a\x1c\x04\x17\x13\x10\x1b[113;5u\x1b[1;3S\n\x1b[201~",
    "\x1b[200~" + "\x1b]0;pwned\x07[@click=app.quit]q[/]\n" * 3 + "\x1b[201~",
    "\x1b]0;pwned\x07",
    "\x1b]52;c;cHduZWQ=\x07",  # OSC 52: set the clipboard
    "\x1b[2J\x1b[H\x1b[?1049l\x1bc",
    "\x1bP+q544e\x1b\\",  # DCS: ask the terminal for its name
    "\x9b2J\x1b[6n\x00\x7f",
)

CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")  # every control but the line break


# -- driving the kiosk from a terminal --------------------------------------------------


async def terminal(pilot: Any, *chunks: str) -> None:
    """Bytes from the terminal, read by Textual's own parser and handed to the app as the
    real driver hands them (each chunk as one read, ended as if the input paused)."""
    from textual._xterm_parser import XTermParser

    driver = pilot.app._driver
    for data in chunks:
        parser = XTermParser()
        for event in [*parser.feed(data), *parser.feed("")]:  # "" ends the input
            driver.process_message(event)
    await pilot.pause()


def sgr(code: int, x: int, y: int, *, release: bool = False) -> str:
    """A mouse report (SGR): code 0 left, 1 middle, 2 right, +32 moving, 64-67 the wheel."""
    return f"\x1b[<{code};{x + 1};{y + 1}{'m' if release else 'M'}"


def empty_spot(app: KioskApp) -> tuple[int, int]:
    """A cell of the top screen where there is no widget to tap: the screen itself or a
    container, never a button, a text or the centre's name."""
    width, height = app.size
    for y in range(height - 1, 0, -1):
        for x in range(width - 1, 0, -3):
            widget, _ = app.get_widget_at(x, y)
            if not isinstance(widget, Button | Static | CentreName):
                return x, y
    raise AssertionError(f"no empty spot on {type(app.screen).__name__}")


# -- the attacks ---------------------------------------------------------------------------


def key_event(key: str) -> Key:
    """The key event a terminal sends for ``key``, as ``Pilot.press`` makes it."""
    try:
        character: str | None = unicodedata.lookup(_get_unicode_name_from_key(key))
    except KeyError:
        character = None
    return Key(key, character)


async def press_leaving_keys(pilot: Any) -> None:
    """The keys in groups, each group as fast as a keyboard sends it, looking at the
    kiosk after each group: a later key may undo what an earlier one did (escape closes a
    command palette), and ``Pilot.press`` waits after every key, too slowly for a hundred
    keys on every screen."""
    app = pilot.app
    screen = app.screen
    groups = [(key,) for key in ESCAPE_KEYS]
    rest = LEAVING_KEYS[len(ESCAPE_KEYS) :]
    groups += [rest[i : i + 25] for i in range(0, len(rest), 25)]
    for group in groups:
        for key in group:
            app._driver.process_message(key_event(key))
        await pilot.pause()
        assert app.is_running and app.return_code is None, f"{group} closed the kiosk"
        assert app.screen is screen, f"{group} left {type(screen).__name__}"


async def use_the_mouse(pilot: Any) -> None:
    """Left, middle and right clicks and the wheel where there is nothing to tap, the wheel
    over a button, and drags that start on a button and end off it (no tap)."""
    app = pilot.app
    x, y = empty_spot(app)
    button = next(b for b in app.screen.query(Button).results(Button) if b.region)
    bx, by = button.region.x + button.region.width // 2, button.region.y + button.region.height // 2
    reports = []
    for code in (0, 1, 2):
        reports += [sgr(code, x, y), sgr(code, x, y, release=True)]
    for code in (64, 65, 66, 67):
        reports += [sgr(code, x, y), sgr(code, bx, by)] * 3
    for code in (0, 2):  # drag off a button: a touchscreen's "never mind"
        reports.append(sgr(code, bx, by))
        reports += [sgr(code + 32, (bx + x) // 2, (by + y) // 2), sgr(code + 32, x, y)]
        reports.append(sgr(code, x, y, release=True))
    await terminal(pilot, "".join(reports))


async def paste_everywhere(pilot: Any) -> None:
    """Each paste, sent to the app, the screen and the widget with the focus."""
    app = pilot.app
    for text in PASTES.values():
        for target in (app, app.screen, app.focused or app.screen):
            target.post_message(Paste(text))
    await pilot.pause()


async def send_terminal_bytes(pilot: Any) -> None:
    await terminal(pilot, *TERMINAL_BYTES)


ATTACKS = {
    "keys": press_leaving_keys,
    "mouse": use_the_mouse,
    "paste": paste_everywhere,
    "terminal bytes": send_terminal_bytes,  # the only one that may type (as keys do)
}


# -- what must still hold afterwards ---------------------------------------------------------


def written(store: Store) -> tuple[int, int, int]:
    return len(rows(store, Ticket)), len(rows(store, Visit)), len(rows(store, Event))


def assert_plain(text: str, where: str) -> None:
    """Nothing on screen carries a control character (ESC, BEL, C1...)."""
    found = CONTROL.search(text)
    assert found is None, f"{where}: {found.group()!r} reached the screen"


async def quiet(pilot: Any) -> None:
    """Let every worker the app started finish and report back."""
    app = pilot.app
    await wait_for(pilot, lambda: all(w.is_finished for w in app.workers))
    await pilot.pause()


async def attack_and_check(pilot: Any, store: Store, caplog: Any, stop: str) -> None:
    """Every attack on the screen the kiosk is showing, and what must hold after each."""
    app = pilot.app
    for name, attack in ATTACKS.items():
        where = f"{name} on {stop}"
        await quiet(pilot)
        screen, stack, visit = app.screen, list(app.screen_stack), app.visit
        typed = app.typed
        asked = (visit.help, dict(visit.answers), visit.step) if visit else None
        pin = (screen.typed, screen.tries) if isinstance(screen, StaffPin) else None
        before, logged = written(store), len(caplog.records)

        await attack(pilot)
        await quiet(pilot)

        assert app.is_running and app.return_code is None, f"{where} closed the kiosk"
        assert app._exception is None, f"{where}: {app._exception!r}"
        problems = [r.getMessage() for r in caplog.records[logged:] if r.levelno >= logging.WARNING]
        assert problems == [], f"{where} logged {problems}"
        assert app.screen is screen and app.screen_stack == stack, f"{where} left {stop}"
        assert app.visit is visit, f"{where} started or ended a customer's session"
        if visit is not None:  # no help asked for, no question answered (postcode!)
            assert (visit.help, dict(visit.answers), visit.step) == asked, where
        assert written(store) == before, f"{where} wrote tickets, visits or events"
        if pin is not None:
            assert (screen.typed, screen.tries) == pin, f"{where} typed on the PIN pad"
        if name != "terminal bytes":
            assert app.typed == typed, f"{where} typed {app.typed!r}"
        elif app.typed != typed:  # escape sequences read as keys type a reference
            assert isinstance(screen, QuestionScreen) and screen.question == "appointment"
            assert APPOINTMENT_REF.fullmatch(app.typed) and len(app.typed) <= APPOINTMENT_MAX
            assert shown(app, "#reference") == app.typed
        assert_plain(screen_text(app), where)


async def only_the_pin_closes_it(pilot: Any) -> None:
    """The staff exit: the gesture opens the PIN pad; no PIN or a wrong one does not
    close the kiosk; the right one does."""
    app = pilot.app
    await tap_centre_name(pilot)
    await on_screen(pilot, StaffPin)
    await pilot.click("#pin-ok")  # no PIN at all
    await pilot.pause()
    assert shown(app, "#pin") == "Wrong PIN" and app.is_running
    await pilot.click("#pin-cancel")
    await wait_for(pilot, lambda: not isinstance(app.screen, StaffPin))
    assert app.is_running and app.return_code is None

    await tap_centre_name(pilot)
    await on_screen(pilot, StaffPin)
    await type_pin(pilot, PIN)
    await wait_for(pilot, lambda: not app.is_running)
    assert app.return_code == 0


EVERY_STOP = {
    *("language", "category", "help", "need", "answer", "ticket", "idle", "sorry"),
    *("question:appointment", "question:consent", "question:postcode"),
}


# -- 1. leaving the kiosk ----------------------------------------------------------------------


async def test_no_key_click_paste_or_terminal_bytes_leave_or_break_any_screen(
    make_kiosk, kiosk_store, caplog
):
    """Every screen (the tour of tests/kiosk/test_accessibility.py, then the staff PIN pad)
    takes every attack; only the tour's own taps change anything."""
    app = make_kiosk(staff_pin=PIN)
    stops = []
    with caplog.at_level(logging.WARNING, logger="gateway"):
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            async for stop in tour(pilot):
                await attack_and_check(pilot, kiosk_store, caplog, stop)
                stops.append(stop)
            await recover(pilot, app.monotonic)  # the tour ends with the store away

            await tap_centre_name(pilot)  # the staff PIN pad, opened as staff do
            await on_screen(pilot, StaffPin)
            await attack_and_check(pilot, kiosk_store, caplog, "staff PIN")
            await pilot.click("#pin-cancel")
            await on_screen(pilot, LanguageScreen)

            await only_the_pin_closes_it(pilot)
    assert set(stops) >= EVERY_STOP
    # The one ticket is the tour's own (its customer typed 4, 2 on the keypad).
    (ticket,) = rows(kiosk_store, Ticket)
    reference = visit_row(kiosk_store, ticket.visit_id).appointment_ref
    assert reference is not None and reference.startswith("42")
    assert APPOINTMENT_REF.fullmatch(reference)
    assert app.tickets_issued == 1


# -- 2. what a customer types -----------------------------------------------------------------


def typed_as(text: str, limit: int | None = APPOINTMENT_MAX) -> str:
    """The reference the keyboard makes of ``text``: letters, digits and dashes, upper
    case, not starting with a dash, at most ``limit`` long."""
    reference = ""
    for char in text:
        if not APPOINTMENT_CHARS.fullmatch(char) or (char == "-" and not reference):
            continue
        if limit is None or len(reference) < limit:
            reference += char.upper()
    return reference


def keys_for(text: str) -> list[Key]:
    """The key events a keyboard sends for ``text``, one per character."""
    return [Key(_character_to_key(char), char) for char in text]


async def appointment_question(pilot: Any) -> QuestionScreen:
    """A new customer at the appointment question, reached through the kiosk's own verbs
    (the taps on the way there are the journeys' tests)."""
    app = pilot.app
    await started(pilot)
    app.call_later(app.choose_language, "en")
    app.call_later(app.choose_need, "register-birth")  # asks only for the reference
    screen = await on_screen(pilot, QuestionScreen)
    assert screen.question == "appointment"
    return screen


async def type_reference_and_continue(pilot: Any, name: str, text: str) -> tuple[int, str | None]:
    """Type ``text`` at the appointment question and go on: the ticket's visit and the
    reference it should carry."""
    app = pilot.app
    await appointment_question(pilot)
    for key in keys_for(text):
        app.post_message(key)
    await pilot.pause()
    expected = typed_as(text)
    assert app.typed == expected, name
    assert shown(app, "#reference") == (expected or "—"), name
    too_long = len(typed_as(text, limit=None)) > APPOINTMENT_MAX
    assert shown(app, "#notice") == (TOO_LONG if too_long else ""), name
    assert_plain(screen_text(app), name)
    if expected:
        await pilot.press("enter")  # ends what was typed, as a scanner's Enter does
    else:
        await pilot.click("#continue")
    screen = await on_screen(pilot, TicketScreen)
    assert app.outage is None, f"{name} took the kiosk out of service"
    app.call_later(app.start_again)
    await on_screen(pilot, LanguageScreen)
    return screen.ticket.visit_id, expected or None


@pytest.mark.parametrize(
    "typed",
    [
        pytest.param(HOSTILE, id="sqlite"),
        # The store-specific part is the SQL: a few of the strings on PostgreSQL too.
        pytest.param(
            {k: HOSTILE[k] for k in ("sql", "action", "controls", "dashes")},
            id="postgresql",
            marks=pytest.mark.postgres,
        ),
    ],
)
async def test_a_typed_reference_is_filtered_stored_exactly_and_shown_as_text(
    make_kiosk, clock, request, typed
):
    url = request.getfixturevalue("sqlite_url" if typed is HOSTILE else "pg_url")
    store = ready_store(url, clock)
    app = make_kiosk(store=store)
    try:
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            issued = {
                name: await type_reference_and_continue(pilot, name, text)
                for name, text in typed.items()
            }
        for name, (visit_id, expected) in issued.items():
            assert visit_row(store, visit_id).appointment_ref == expected, name
        assert issued["sql"][1] == "DROPTABLETICKET--"
        # No SQL ran but the kiosk's: every table is there, holding one row per customer.
        tables = set(sa.inspect(store.engine).get_table_names())
        assert {"ticket", "visit", "event", "centre", "service"} <= tables
        assert len(rows(store, Ticket)) == len(rows(store, Visit)) == len(typed)
        assert app.tickets_issued == len(typed)
    finally:
        store.dispose()


async def test_a_reference_of_dashes_does_not_take_the_kiosk_out_of_service(make_kiosk):
    """The store refuses a reference that starts with a dash; the kiosk never sends one
    (it used to, and showed "cannot give tickets just now" to everyone after)."""
    app = make_kiosk()
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await to_appointment(pilot)
        await pilot.press("minus", "minus")
        assert app.typed == "" and shown(app, "#reference") == "—"
        await pilot.press("minus", "4", "minus", "2")
        assert app.typed == "4-2"
        await pilot.click("#continue")
        screen = await on_screen(pilot, TicketScreen)
        assert app.outage is None
    assert visit_row(app.store, screen.ticket.visit_id).appointment_ref == "4-2"


# -- scanners -----------------------------------------------------------------------------------

WEDGE_SCANS = (
    "[link=file:///etc/passwd]x[/link]",
    "[@click=app.quit]RB-123456[/]",
    "');DROP_TABLE_ticket;--",
    "]0;pwned",
    "[/]RB-1",
    "RB-123456[/]",
    "ＲＢ－１２３４５６",  # full-width look-alikes
    "X" * (MAX_LINE * 3),
)


async def test_keyboard_wedge_scans_of_markup_sql_and_escapes_are_refused(make_kiosk, kiosk_store):
    app = make_kiosk()
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        start = app.screen
        for text in WEDGE_SCANS:
            start.set_notice("")
            await scan(pilot, text, enter=True)
            await wait_for(pilot, lambda: shown(app, "#notice") != "")
            assert shown(app, "#notice") == UNREADABLE, text
            assert app.screen is start and app.visit is None, text  # Enter pressed nothing
            assert_plain(screen_text(app), text)
        assert rows(kiosk_store, Ticket) == [] and app.tickets_issued == 0
        await scan(pilot, "rb-123456", enter=True)  # and a real letter still works
        screen = await on_screen(pilot, TicketScreen)
    assert visit_row(kiosk_store, screen.ticket.visit_id).appointment_ref == "RB-123456"


async def test_a_scanner_typing_key_by_key_is_read_once_per_key(make_kiosk, kiosk_store):
    """Keys come back up to the app from the widget they went to. The wedge reads each
    key once: it used to read both, so a scanner sending one key at a time gave
    "RRBB--1122..." and each scan left a copy of itself in front of the next."""
    app = make_kiosk()
    now = [0.0]
    app.wedge = WedgeReader(lambda: now[0])  # keys 10 ms apart, by the wedge's own clock
    scanned: list[str] = []
    take = app.scanned
    app.scanned = lambda scan: (scanned.append(scan.text), take(scan))  # type: ignore[method-assign]
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        for text in ("X" * 20, "rb-123456"):  # something unknown, then a letter
            for char in text:
                now[0] += 0.01
                app._driver.process_message(Key(_character_to_key(char), char))
                await pilot.pause()  # the key has been everywhere it goes
            now[0] += 0.01
            app._driver.process_message(Key("enter", "\r"))
            await pilot.pause()
            assert scanned[-1] == text
            assert app.wedge.keys == []  # nothing left over to spoil the next scan
        screen = await on_screen(pilot, TicketScreen)
    assert scanned == ["X" * 20, "rb-123456"]
    assert visit_row(kiosk_store, screen.ticket.visit_id).appointment_ref == "RB-123456"


SERIAL_SCANS = (
    b"\x1b]0;pwned\x07RB-123456",
    b"\x1b[201~RB-123456",
    "RB-123456\x9b2J".encode(),  # C1 CSI, as UTF-8
    b"[@click=app.quit]RB-123456[/]",
    b"[link=file:///etc/passwd]x[/link]",
    b"\x1bp\x00\x19\xfa\x1dV\x00RB-123456",  # a cash drawer kick and a cut
    b"RB-123456\x00",
)


async def test_serial_scans_of_escapes_markup_and_printer_commands_are_refused(
    make_kiosk, kiosk_store
):
    with FakeSerialLine() as line:
        app = make_kiosk(scanner=line.spec)
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await scanner_ready(pilot, line)
            for sent in SERIAL_SCANS:
                app.screen.set_notice("")
                line.send_bytes(sent + b"\r\n")
                await wait_for(pilot, lambda: shown(app, "#notice") != "")
                assert shown(app, "#notice") == UNREADABLE, sent
                assert isinstance(app.screen, LanguageScreen) and app.visit is None, sent
                assert_plain(screen_text(app), repr(sent))

            question = await to_appointment(pilot)  # a rigged scan on the question itself
            line.send_bytes(b"\x1b[2J[bold]RB-123456\r\n")
            await wait_for(pilot, lambda: shown(app, "#notice") != "")
            assert shown(app, "#notice") == UNREADABLE
            assert app.screen is question and app.typed == ""
            assert shown(app, "#reference") == "—"

            line.send_bytes(b"\x02rb-123456\x03\r\n")  # STX/ETX framing is noise, dropped
            screen = await on_screen(pilot, TicketScreen)
    assert visit_row(kiosk_store, screen.ticket.visit_id).appointment_ref == "RB-123456"
    assert app.tickets_issued == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"\x1b]0;pwned\x07RB-1",
        b"\x1b[201~RB-1",
        b"\x1bP+q\x1b\\RB-1",
        "RB-1\x9b2J\u202e\u200b".encode(),
        b"\x1bp\x00\x19\xfaRB-1",
        b"[@click=app.quit]RB-1[/]",
        b"'); DROP TABLE ticket;--",
        b"RB-1\xff\xfe",
    ],
)
def test_a_scanned_line_never_carries_a_control_and_is_never_a_reference(raw):
    scan = clean_line(raw)
    assert not any(ch < " " or "\x7f" <= ch <= "\x9f" or ch in "\u202e\u200b" for ch in scan.text)
    # The kiosk takes a scan only as a whole reference: none of these is one.
    assert scan.garbage or not APPOINTMENT_REF.fullmatch(scan.text.strip().upper())


# -- what a customer typed never reaches the paper or the board ---------------------------------


async def test_a_typed_reference_never_reaches_the_printed_ticket(
    make_kiosk, kiosk_store, tmp_path: Path
):
    app = make_kiosk(printer=f"preview:{tmp_path}")
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await to_appointment(pilot)
        for key in keys_for("[bold]\x1bp\x1dVzz1\x1b@"):
            app.post_message(key)
        await pilot.pause()
        assert app.typed == "BOLDPVZZ1"
        await pilot.press("enter")
        screen = await on_screen(pilot, TicketScreen)
        await wait_for(pilot, lambda: screen.print_state == "printed")
    ticket = screen.ticket
    assert visit_row(kiosk_store, ticket.visit_id).appointment_ref == "BOLDPVZZ1"
    reading = read_escpos((tmp_path / f"{ticket.number}.bin").read_bytes())
    assert [c.name for c in reading.commands].count("ESC @") == 1
    assert reading.commands[0].name == "ESC @" and reading.cuts == 1
    assert reading.named("ESC p") == []  # no cash drawer kick
    assert "BOLDPVZZ1" not in reading.text
    assert reading.qr_payloads == [app.reference(ticket)]
    assert "BOLDPVZZ1" not in app.reference(ticket)


PLAIN_TICKET = PrintedTicket(
    centre="Maidstone Gateway",
    number="C014",
    service="Podatek lokalny",
    service_en="Council tax",
    ahead=2,
    wait_minutes=8,
    issued="23/11/2026 09:14",
    reference="maidstone:2026-11-23:C014",
    language="pl",
)


@pytest.mark.parametrize("native_qr", [False, True], ids=["image-qr", "native-qr"])
def test_control_characters_in_ticket_text_print_as_nothing_never_as_commands(native_qr):
    """Only the layout sends printer commands: a control character in any line of text
    (ESC @ resets, GS V cuts, ESC p kicks the cash drawer, ESC ! resizes) is dropped,
    whoever put it there. No customer text reaches a ticket today; this keeps it so."""
    rigged = replace(
        PLAIN_TICKET,
        centre="Maidstone\x1b@ Gateway\x1bp\x00\x19\xfa",
        number="C014\x1dV\x00",
        service="Podatek\x1b!\x30 lokalny\x9b2J",
        service_en="Council\r\n tax\x1bE\x01\x1da\xff",
        issued="23/11/2026\x1b]0;pwned\x07 09:14",
    )
    plain = read_escpos(ticket_bytes(PLAIN_TICKET, native_qr=native_qr))
    printed = read_escpos(ticket_bytes(rigged, native_qr=native_qr))
    assert [c.name for c in printed.commands] == [c.name for c in plain.commands]
    assert printed.cuts == 1 and printed.named("ESC p") == []
    assert [line.size for line in printed.lines] == [line.size for line in plain.lines]
    assert not CONTROL.search(printed.text)
    assert "Maidstone@ Gateway" in printed.text and "C014" in printed.text


async def test_nothing_a_customer_or_staff_member_types_reaches_the_board(kiosk_store, clock):
    """The board shows ticket numbers (made by the store), counter and agency names and
    the centre's messages (the centre file): not references, nor staff's reasons."""
    queue = Queue(kiosk_store, clock=clock, actor="test")
    reference = "RB-424242/ZZ"  # the widest reference the store takes
    first = queue.check_in("register-birth", appointment_ref=reference, consent_share=True)
    assert queue.call_next("6").number == first.number  # the registrar's desk
    reason = "[@click=app.quit]x[/] \x1b]0;pwned\x07 [link=file:///etc/passwd]y[/link]"
    _, handed = queue.refer(first.number, "council-tax", kind="handover", reason=reason)
    assert handed is not None
    called = queue.call_next("1")
    assert called.number == handed.number
    app = BoardApp(kiosk_store, clock=clock, chime=False)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.state is not None and bool(app.state.calls))
        await pilot.pause()
        text = "\n".join(str(s.render()) for s in app.query(Static).results(Static))
        assert app.is_running and app._exception is None
    assert handed.number in text and first.number in text
    for fragment in ("RB-424242", "ZZ", "pwned", "click", "passwd", "[/]"):
        assert fragment not in text, fragment
    assert_plain(text, "the board")
