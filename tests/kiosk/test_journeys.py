"""Customer journeys through the kiosk, driven with Textual's Pilot on the example centre.

Each test walks the screens as a customer (or a member of staff) would: taps on the big
buttons, keys on a keyboard or scanner, and the hand-driven idle clock (``ticker``, then
``app.tick()``, the app's once-a-second timer). What the journey leaves behind is checked
in the store: tickets and visits, and the events staff screens and reports read.

Journeys that matter in every language are run in each shipped language
(``kiosk.i18n.shipped_languages()``); the rest run once.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy.engine import make_url
from sqlmodel import select
from textual.events import Key
from textual.widgets import Button, Static

from gateway.clock import FixedClock
from gateway.events import watch
from gateway.models import Event, Ticket, Visit
from gateway.queue import Queue
from gateway.store import Store
from kiosk.app import KIOSK_SIZE, KioskApp
from kiosk.i18n import shipped_languages, translation
from kiosk.screens.dialogs import HelpDialog, IdleWarning, SorryScreen, StaffPin
from kiosk.screens.journey import AnswerScreen, CategoryScreen, LanguageScreen, NeedScreen
from kiosk.screens.questions import QuestionScreen
from kiosk.screens.ticket import TicketScreen
from kiosk.session import APPOINTMENT_MAX
from kiosk.theme import HIGH_CONTRAST, KIOSK
from kiosk.widgets import Choices, QrCode
from tests.conftest import create_pg_database, drop_pg_database
from tests.kiosk.conftest import TcpProxy, Ticker, ready_store, started, wait_for

LANGUAGES = shipped_languages()
# One language other than English, for journeys that run once but should prove that the
# customer's language is kept (falls back to English if no catalogue is shipped).
OTHER = next((lang for lang in LANGUAGES if lang != "en"), "en")

# From gateway/centres/example.toml: its languages in the order the kiosk offers them, and
# the needs the journeys take.
CENTRE_LANGUAGES = ("en", "pl", "ro", "ne", "uk", "tr")
CATEGORY, NEED, SERVICE = "money", "pay-council-tax", "council-tax"  # no questions, prefix C
INFO_CATEGORY, INFO_NEED = "information", "opening-hours"

# Keys a customer (or a bored child) may find on a keyboard left near the kiosk; none of
# them may close, suspend or leave the app, or move it off the screen it is on.
ESCAPE_KEYS = ("ctrl+c", "ctrl+q", "ctrl+z", "ctrl+backslash", "escape", "ctrl+p", "f1", "alt+f4")


# -- reading the screen -------------------------------------------------------------------


def tr(language: str, message: str) -> str:
    return translation(language).gettext(message)


def shown(app: KioskApp, selector: str) -> str:
    """The text of one widget on the top screen: a Static's content, a Button's label."""
    widget = app.screen.query_one(selector)
    if isinstance(widget, Button):
        return str(widget.label)
    assert isinstance(widget, Static), widget
    return str(widget.render())


def screen_text(app: KioskApp) -> str:
    """Everything written on the top screen."""
    parts = [str(b.label) for b in app.screen.query(Button).results(Button)]
    parts += [str(s.render()) for s in app.screen.query(Static).results(Static)]
    return "\n".join(parts)


def assert_translated(language: str, message: str, on_screen: str) -> None:
    """``on_screen`` is ``message`` in ``language``, and (not in English) not English."""
    assert on_screen == tr(language, message)
    if language != "en":
        assert on_screen != message, f"{message!r} is not translated into {language}"


# -- tapping through the journey ----------------------------------------------------------


async def choose(pilot: Any, value: str) -> None:
    """Tap the big button for ``value`` on the top screen, paging with "More" as needed.

    On the language screen the buttons follow ``app.languages`` (the centre's order), so
    this taps ``#choice-<index of the language>`` on the page that holds it.
    """
    choices = pilot.app.screen.query_one(Choices)
    for page_number, page in enumerate(choices.pages()):
        for slot, choice in enumerate(page):
            if choice.value == value:
                while choices.page < page_number:
                    await pilot.click("#page-more")
                await pilot.click(f"#choice-{slot}")
                return
    raise AssertionError(f"no button for {value!r} on {type(pilot.app.screen).__name__}")


async def scan(pilot: Any, text: str, *, enter: bool = False) -> None:
    """A keyboard-wedge scanner: the reference arrives as one burst of key events (and,
    with most scanners, an Enter), faster than any typist."""
    app = pilot.app
    for char in text:
        app.post_message(Key("minus" if char == "-" else char, char))
    if enter:
        app.post_message(Key("enter", "\r"))
    await pilot.pause()


async def on_screen(pilot: Any, kind: type) -> Any:
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, kind))
    await pilot.pause()
    return pilot.app.screen


async def to_categories(pilot: Any, language: str) -> CategoryScreen:
    await started(pilot)
    await choose(pilot, language)
    return await on_screen(pilot, CategoryScreen)


async def to_needs(pilot: Any, language: str, category: str = CATEGORY) -> NeedScreen:
    await to_categories(pilot, language)
    await choose(pilot, category)
    return await on_screen(pilot, NeedScreen)


async def to_ticket(pilot: Any, language: str) -> TicketScreen:
    """Three taps: language, category, need."""
    await to_needs(pilot, language)
    await choose(pilot, NEED)
    return await on_screen(pilot, TicketScreen)


async def to_appointment(pilot: Any, language: str = "en") -> QuestionScreen:
    """Up to the appointment keypad, through a need that asks only that question."""
    await started(pilot)
    need = next(
        (n for n in pilot.app.config.needs if n.questions == ["appointment"] and n.services),
        None,
    )
    if need is None:
        pytest.skip("the example centre has no need that asks only for an appointment")
    await choose(pilot, language)
    await on_screen(pilot, CategoryScreen)
    await choose(pilot, need.category)
    await on_screen(pilot, NeedScreen)
    await choose(pilot, need.code)
    screen = await on_screen(pilot, QuestionScreen)
    assert screen.question == "appointment"
    return screen


async def tick(pilot: Any) -> None:
    """The app's once-a-second timer fires: ``app.tick()``, run on the app's own message
    loop as its interval timer would (called straight from the test's coroutine, a dialog
    it pushes is not yet composed when the app's follow-up callbacks run)."""
    pilot.app.call_later(pilot.app.tick)
    await pilot.pause()


async def workers_done(pilot: Any, group: str) -> None:
    """Wait until the app's workers of ``group`` have finished and reported back."""
    app = pilot.app
    await wait_for(pilot, lambda: all(w.is_finished for w in app.workers if w.group == group))
    await pilot.pause()


async def idle_for(pilot: Any, ticker: Ticker, seconds: float) -> None:
    """Nobody touches the kiosk for ``seconds``; then the app's timer fires once."""
    ticker.advance(seconds)
    await tick(pilot)


# -- reading the store --------------------------------------------------------------------


def rows(store: Store, model: type, *where: Any) -> list[Any]:
    with store.read() as session:
        query = select(model)
        if where:
            query = query.where(*where)
        return list(session.exec(query))


def events(store: Store, centre_id: int, kind: str, **data: Any) -> list[Event]:
    """Events of one kind whose data include ``data``."""
    return [
        e
        for e in watch(store, centre_id)
        if e.kind == kind and all((e.data or {}).get(k) == v for k, v in data.items())
    ]


def ticket_row(store: Store, number: str) -> Ticket:
    (row,) = rows(store, Ticket, Ticket.number == number)
    return row


def visit_row(store: Store, visit_id: int) -> Visit:
    (row,) = rows(store, Visit, Visit.id == visit_id)
    return row


# -- the three-tap path -------------------------------------------------------------------


class TestThreeTaps:
    @pytest.mark.parametrize("language", LANGUAGES)
    async def test_language_category_need_gives_one_ticket_in_that_language(
        self, make_kiosk, kiosk_store, language
    ):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await started(pilot)
            assert app.languages == [lang for lang in CENTRE_LANGUAGES if lang in LANGUAGES]
            offered = app.screen.query_one(Choices).pages()
            assert [c.value for page in offered for c in page] == app.languages
            await choose(pilot, language)  # #choice-<its index in app.languages>
            await on_screen(pilot, CategoryScreen)
            assert_translated(language, "What do you need help with today?", shown(app, "#heading"))
            assert app.language == language
            await choose(pilot, CATEGORY)
            await on_screen(pilot, NeedScreen)
            await choose(pilot, NEED)
            screen = await on_screen(pilot, TicketScreen)

            number = screen.ticket.number
            assert number == "C001"
            assert shown(app, "#number-text") == number
            assert_translated(language, "Your ticket number is", shown(app, "#heading"))
            assert_translated(language, "I need help", shown(app, "#help"))
            assert shown(app, "#service") == app.config.service(SERVICE).name_in(language)
            assert "Traceback" not in screen_text(app)
            # What to bring, in that language, every line of it on screen (not cut off).
            bring = app.config.service(SERVICE).bring_in(language)
            assert len(bring) == 3
            drawn = app.screen.query_one("#bring")
            assert shown(app, "#bring").splitlines() == [f"•  {line}" for line in bring]
            assert drawn.region.height >= len(bring)
            for holder in ("#ticket-main", "#ticket"):  # inside what holds it: not clipped
                assert drawn.region.bottom <= app.screen.query_one(holder).region.bottom

            tickets = rows(kiosk_store, Ticket)
            assert [t.number for t in tickets] == [number]
            assert tickets[0].visit_id == screen.ticket.visit_id
            assert tickets[0].state == "waiting"
            assert tickets[0].priority_from is None  # no help, no appointment
            visit = visit_row(kiosk_store, screen.ticket.visit_id)
            assert visit.language == language
            assert visit.need == NEED
            assert app.tickets_issued == 1


# -- appointments -------------------------------------------------------------------------


class TestAppointment:
    async def test_reference_typed_on_keypad_and_keyboard_gives_priority(
        self, make_kiosk, kiosk_store
    ):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await to_appointment(pilot)
            assert shown(app, "#reference") == "—"
            await pilot.click("#key-4")
            await pilot.click("#key-clear")  # wrong letter: start again
            assert app.typed == ""
            for key in ("1", "2", "9"):
                await pilot.click(f"#key-{key}")
            await pilot.click("#key-back")  # a slip of the finger, put right
            await pilot.press("a", "b", "minus", "7", "backspace", "8", "!", "space")
            assert app.typed == "12AB-8"  # letters upper-cased; "!" and space ignored
            assert shown(app, "#reference") == "12AB-8"

            await pilot.click("#continue")
            screen = await on_screen(pilot, TicketScreen)

        visit = visit_row(kiosk_store, screen.ticket.visit_id)
        assert visit.appointment_ref == "12AB-8"
        ticket = ticket_row(kiosk_store, screen.ticket.number)
        assert ticket.priority_from is not None
        assert ticket.priority_from == ticket.arrived_at

    async def test_too_long_reference_is_refused_with_a_notice_and_capped(
        self, make_kiosk, kiosk_store
    ):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await to_appointment(pilot, OTHER)
            assert shown(app, "#notice") == ""
            too_long = "AB-" + "9" * APPOINTMENT_MAX
            await scan(pilot, too_long)
            assert app.typed == too_long[:APPOINTMENT_MAX]
            assert shown(app, "#reference") == too_long[:APPOINTMENT_MAX]
            assert_translated(
                OTHER, "That reference is too long. Please check it.", shown(app, "#notice")
            )
            await pilot.click("#key-1")  # the keypad is capped too
            assert app.typed == too_long[:APPOINTMENT_MAX]

            await pilot.click("#continue")
            screen = await on_screen(pilot, TicketScreen)

        visit = visit_row(kiosk_store, screen.ticket.visit_id)
        assert visit.appointment_ref == too_long[:APPOINTMENT_MAX]

    async def test_scanned_reference_ending_in_enter_is_read_as_scanned(self, make_kiosk):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await to_appointment(pilot)
            await scan(pilot, "REF9", enter=True)
            answered = app.visit.answers.get("appointment") if app.visit else None
            assert (answered or app.typed) == "REF9"


# -- asking for help ----------------------------------------------------------------------


class TestHelp:
    @pytest.mark.parametrize("language", LANGUAGES)
    async def test_help_asked_before_the_ticket_alerts_staff_and_gives_priority(
        self, make_kiosk, kiosk_store, language
    ):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await to_categories(pilot, language)
            centre_id = app.queue.centre.id
            await pilot.click("#help")
            await on_screen(pilot, HelpDialog)
            assert_translated(
                language,
                "What help do you need? A member of staff will come to you.",
                shown(app, "#heading"),
            )
            await choose(pilot, "interpreter")
            await on_screen(pilot, CategoryScreen)

            thanks = tr(language, "Thank you. A member of staff is coming to help you.")
            await wait_for(pilot, lambda: shown(app, "#notice") == thanks)
            (alert,) = events(kiosk_store, centre_id, "help_requested")
            assert alert.data["help"] == "interpreter"
            assert alert.data["kiosk"] == "kiosk-test"  # staff know where to go
            assert "number" not in alert.data  # no ticket yet

            await choose(pilot, CATEGORY)
            await on_screen(pilot, NeedScreen)
            await choose(pilot, NEED)
            screen = await on_screen(pilot, TicketScreen)

        number = screen.ticket.number
        assert visit_row(kiosk_store, screen.ticket.visit_id).help_needed == "interpreter"
        assert ticket_row(kiosk_store, number).priority_from is not None
        assert events(kiosk_store, centre_id, "help_requested", number=number, help="interpreter")

    async def test_help_asked_on_the_ticket_screen_flags_that_ticket(self, make_kiosk, kiosk_store):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            screen = await to_ticket(pilot, OTHER)
            number = screen.ticket.number
            centre_id = app.queue.centre.id
            assert ticket_row(kiosk_store, number).priority_from is None
            await pilot.click("#help")
            await on_screen(pilot, HelpDialog)
            await choose(pilot, "wheelchair")
            await on_screen(pilot, TicketScreen)
            thanks = tr(OTHER, "Thank you. A member of staff is coming to help you.")
            await wait_for(pilot, lambda: bool(events(kiosk_store, centre_id, "help_requested")))
            (alert,) = events(kiosk_store, centre_id, "help_requested")
            assert alert.data.get("number") == number
            assert alert.data.get("help") == "wheelchair"
            assert alert.data.get("kiosk") == "kiosk-test"
            await wait_for(pilot, lambda: shown(app, "#notice") == thanks, timeout=2)

        assert visit_row(kiosk_store, screen.ticket.visit_id).help_needed == "wheelchair"
        assert ticket_row(kiosk_store, number).priority_from is not None


# -- information only ---------------------------------------------------------------------


class TestInformation:
    @pytest.mark.parametrize("language", LANGUAGES)
    async def test_information_need_is_answered_on_screen_without_a_ticket(
        self, make_kiosk, kiosk_store, language
    ):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await to_needs(pilot, language, INFO_CATEGORY)
            centre_id = app.queue.centre.id
            session = app.visit.id
            await choose(pilot, INFO_NEED)
            await on_screen(pilot, AnswerScreen)

            need = app.config.need(INFO_NEED)
            assert shown(app, "#heading") == need.text_in(language)
            assert shown(app, "#answer") == need.answer_in(language)
            if language != "en":
                assert shown(app, "#answer") != need.answer_in("en")
            assert_translated(language, "Finished, thank you", shown(app, "#choice-1"))

            await choose(pilot, "done")
            await on_screen(pilot, LanguageScreen)
            assert app.visit is None
            await wait_for(
                pilot, lambda: bool(events(kiosk_store, centre_id, "kiosk_session_ended"))
            )

        assert rows(kiosk_store, Ticket) == []
        assert rows(kiosk_store, Visit) == []
        assert app.tickets_issued == 0
        (ended,) = events(kiosk_store, centre_id, "kiosk_session_ended", session=session)
        assert ended.data["outcome"] == "information"
        assert ended.data["step"] == "answer"
        assert ended.data["need"] == INFO_NEED
        assert ended.data["language"] == language
        assert "number" not in ended.data

    async def test_something_else_after_an_answer_goes_on_to_a_ticket(
        self, make_kiosk, kiosk_store
    ):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await to_needs(pilot, OTHER, INFO_CATEGORY)
            centre_id = app.queue.centre.id
            session = app.visit.id
            await choose(pilot, INFO_NEED)
            await on_screen(pilot, AnswerScreen)
            await choose(pilot, "another")
            await on_screen(pilot, CategoryScreen)
            assert app.visit is not None and app.visit.language == OTHER
            await choose(pilot, CATEGORY)
            await on_screen(pilot, NeedScreen)
            await choose(pilot, NEED)
            screen = await on_screen(pilot, TicketScreen)
            assert app.visit.id == session  # one customer, one session
            await wait_for(
                pilot, lambda: bool(events(kiosk_store, centre_id, "kiosk_session_ended"))
            )
        assert [t.number for t in rows(kiosk_store, Ticket)] == [screen.ticket.number]
        (ended,) = events(kiosk_store, centre_id, "kiosk_session_ended", session=session)
        assert ended.data["outcome"] == "ticket"
        assert ended.data["number"] == screen.ticket.number
        needs = [e.data["value"] for e in events(kiosk_store, centre_id, "kiosk_need")]
        assert INFO_NEED in needs and NEED in needs


# -- the printer --------------------------------------------------------------------------


class TestPrinter:
    @pytest.mark.parametrize("language", LANGUAGES)
    async def test_printer_failure_shows_a_qr_code_and_alerts_staff(
        self, make_kiosk, kiosk_store, clock, language
    ):
        app = make_kiosk(printer="file:/nonexistent-dir/lp0")
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            screen = await to_ticket(pilot, language)
            centre_id = app.queue.centre.id
            await wait_for(pilot, lambda: screen.print_state == "failed")
            await pilot.pause()
            number = screen.ticket.number
            assert shown(app, "#number-text") == number
            qr = app.screen.query_one("#qr", QrCode)
            assert qr.payload == app.reference(screen.ticket)
            assert number in qr.payload
            assert_translated(
                language,
                "Your ticket could not be printed. Please take a photo of this screen or "
                "remember your number. Staff have been told.",
                shown(app, "#print-status"),
            )
            await wait_for(pilot, lambda: bool(events(kiosk_store, centre_id, "print_failed")))

        (alert,) = events(kiosk_store, centre_id, "print_failed")
        assert alert.data["number"] == number
        assert alert.data["printer"] == "file:/nonexistent-dir/lp0"
        assert Queue(kiosk_store, clock=clock).ticket(number).state == "waiting"

    async def test_printed_ticket_is_written_and_the_screen_says_take_it(
        self, make_kiosk, kiosk_store, tmp_path
    ):
        folder = tmp_path / "printed"
        app = make_kiosk(printer=f"preview:{folder}")
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            screen = await to_ticket(pilot, OTHER)
            await wait_for(pilot, lambda: screen.print_state == "printed")
            await pilot.pause()
            assert_translated(OTHER, "Please take your ticket.", shown(app, "#print-status"))
            assert not app.screen.query("#qr")
            assert events(kiosk_store, app.queue.centre.id, "print_failed") == []
        printed = folder / f"{screen.ticket.number}.bin"
        assert printed.is_file()
        assert printed.stat().st_size > 0


# -- the store goes away (PostgreSQL behind a proxy that can be cut) ----------------------


class Outage:
    """The example centre on PostgreSQL; the kiosk reaches it only through ``proxy``."""

    def __init__(self, direct: Store, kiosk: Store, proxy: TcpProxy) -> None:
        self.direct = direct  # for the test's own reading: never cut
        self.kiosk = kiosk
        self.proxy = proxy


@pytest.fixture
def outage(pg_server: str, clock: FixedClock) -> Iterator[Outage]:
    url = create_pg_database(pg_server)
    stores: list[Store] = []
    proxy: TcpProxy | None = None
    try:
        direct = ready_store(url, clock)
        stores.append(direct)
        server = make_url(direct.url)
        proxy = TcpProxy((server.host or "127.0.0.1", server.port or 5432))
        proxy.start()
        through = server.set(host="127.0.0.1", port=proxy.port)
        kiosk = Store(through.render_as_string(hide_password=False))
        stores.append(kiosk)
        yield Outage(direct, kiosk, proxy)
    finally:
        if proxy is not None:
            proxy.stop()
        for store in stores:
            store.dispose()
        drop_pg_database(pg_server, url)


async def recover(pilot: Any, ticker: Ticker, tries: int = 5) -> None:
    """Let the retry timer run until the kiosk is back on the language screen."""
    app = pilot.app
    for _ in range(tries):
        ticker.advance(app.settings.retry_seconds + 0.5)
        await tick(pilot)
        try:
            await wait_for(pilot, lambda: isinstance(app.screen, LanguageScreen), timeout=5)
        except AssertionError:
            continue
        await pilot.pause()
        return
    raise AssertionError(f"the kiosk did not recover; screen is {type(app.screen).__name__}")


def _ended(outage: Outage, centre_id: int, session: str) -> list[Event]:
    return events(outage.direct, centre_id, "kiosk_session_ended", session=session)


@pytest.mark.postgres
class TestStoreDown:
    @pytest.mark.parametrize("language", LANGUAGES)
    async def test_store_down_says_ask_at_reception_then_recovers_by_itself(
        self, make_kiosk, outage, ticker, language
    ):
        app = make_kiosk(store=outage.kiosk)
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await to_needs(pilot, language)
            centre_id = app.queue.centre.id
            failed = app.visit.id
            outage.proxy.stop()
            await choose(pilot, NEED)
            await on_screen(pilot, SorryScreen)
            assert_translated(
                language, "Please ask at reception. They will help you.", shown(app, "#sorry")
            )
            assert_translated(
                language,
                "Sorry, this screen cannot give tickets just now.",
                shown(app, "#heading"),
            )
            assert "Traceback" not in screen_text(app)
            assert app.is_running and app.return_code is None
            assert rows(outage.direct, Ticket) == []
            assert app.tickets_issued == 0

            # Still down: the timer tries again, and the kiosk stays on "sorry".
            await idle_for(pilot, ticker, app.settings.retry_seconds)
            await workers_done(pilot, "connect")
            assert app.outage == ticker.now  # when the store was last tried
            assert isinstance(app.screen, SorryScreen)

            outage.proxy.start()
            await recover(pilot, ticker)
            assert app.visit is None
            assert app.outage is None

            screen = await to_ticket(pilot, language)
            assert screen.ticket.number == "C001"
            issued = app.visit.id
            assert issued != failed
            await wait_for(pilot, lambda: bool(_ended(outage, centre_id, issued)))
        (ticket,) = rows(outage.direct, Ticket)
        assert ticket.number == "C001"
        assert visit_row(outage.direct, ticket.visit_id).language == language
        # The customer the store let down still counts: written once it was back.
        (ended,) = _ended(outage, centre_id, failed)
        assert ended.data["outcome"] == "failed"
        assert ended.data["need"] == NEED
        assert ended.data["language"] == language
        assert "number" not in ended.data

    async def test_session_abandoned_while_the_store_is_down_is_written_later(
        self, make_kiosk, outage, ticker
    ):
        app = make_kiosk(store=outage.kiosk)
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await to_needs(pilot, OTHER)
            centre_id = app.queue.centre.id
            first = app.visit.id
            outage.proxy.stop()
            # The customer walks away; the idle reset cannot write their footfall.
            await idle_for(pilot, ticker, app.settings.idle_seconds)
            await on_screen(pilot, IdleWarning)
            await idle_for(pilot, ticker, app.settings.warn_seconds)
            await on_screen(pilot, LanguageScreen)
            await workers_done(pilot, "footfall")
            assert len(app.unwritten) == 1
            assert _ended(outage, centre_id, first) == []

            outage.proxy.start()
            screen = await to_ticket(pilot, "en")
            second = app.visit.id
            await wait_for(pilot, lambda: not app.unwritten)
            await wait_for(pilot, lambda: bool(_ended(outage, centre_id, second)))

        (abandoned,) = _ended(outage, centre_id, first)
        assert abandoned.data["outcome"] == "abandoned"
        assert abandoned.data["language"] == OTHER
        (issued,) = _ended(outage, centre_id, second)
        assert issued.data["outcome"] == "ticket"
        assert issued.data["number"] == screen.ticket.number


# -- walking away -------------------------------------------------------------------------


def countdown_seconds(app: KioskApp) -> int:
    (seconds,) = map(int, re.findall(r"\d+", shown(app, "#countdown")))
    return seconds


class TestIdle:
    @pytest.mark.parametrize("language", LANGUAGES)
    async def test_idle_warning_then_reset_writes_an_abandoned_session(
        self, make_kiosk, kiosk_store, ticker, language
    ):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            needs = await to_needs(pilot, language)
            centre_id = app.queue.centre.id
            session = app.visit.id
            idle, warn = app.settings.idle_seconds, app.settings.warn_seconds

            await idle_for(pilot, ticker, idle - 1)
            assert app.screen is needs  # not yet

            await idle_for(pilot, ticker, 1)
            await on_screen(pilot, IdleWarning)
            assert_translated(language, "Are you still there?", shown(app, "#heading"))
            assert_translated(language, "Yes, I am still here", shown(app, "#choice-0"))
            assert countdown_seconds(app) >= 20
            await idle_for(pilot, ticker, 5)
            assert countdown_seconds(app) == warn - 5

            await pilot.click("#choice-0")  # Yes, I am still here
            await on_screen(pilot, NeedScreen)
            assert app.screen is needs
            assert app.visit is not None and app.visit.id == session
            await idle_for(pilot, ticker, idle - 1)
            assert app.screen is needs  # the tap started the idle time afresh

            await idle_for(pilot, ticker, 1)
            await on_screen(pilot, IdleWarning)
            await idle_for(pilot, ticker, warn)
            await on_screen(pilot, LanguageScreen)
            assert app.visit is None
            await wait_for(
                pilot, lambda: bool(events(kiosk_store, centre_id, "kiosk_session_ended"))
            )

        (ended,) = events(kiosk_store, centre_id, "kiosk_session_ended", session=session)
        assert ended.data["outcome"] == "abandoned"
        assert ended.data["step"] == "need"
        assert ended.data["language"] == language
        assert rows(kiosk_store, Ticket) == []

    async def test_untouched_language_screen_is_not_footfall(self, make_kiosk, kiosk_store, ticker):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await started(pilot)
            start = app.screen
            for _ in range(3):
                await idle_for(pilot, ticker, app.settings.idle_seconds)
            assert app.screen is start
            assert app.visit is None
            assert app.unwritten == deque()
        assert events(kiosk_store, app.queue.centre.id, "kiosk_session_started") == []

    async def test_ticket_screen_clears_itself_after_its_time(
        self, make_kiosk, kiosk_store, ticker
    ):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await to_ticket(pilot, OTHER)
            await idle_for(pilot, ticker, app.settings.ticket_seconds - 1)
            assert isinstance(app.screen, TicketScreen)
            await idle_for(pilot, ticker, 1)
            await on_screen(pilot, LanguageScreen)
            assert app.visit is None
        assert len(rows(kiosk_store, Ticket)) == 1


# -- nothing breaks it --------------------------------------------------------------------


async def press_escape_keys(pilot: Any) -> None:
    app = pilot.app
    screen = app.screen
    for key in ESCAPE_KEYS:
        await pilot.press(key)
        assert app.is_running, f"{key} closed the kiosk"
        assert app.return_code is None, key
        assert app.screen is screen, f"{key} left {type(screen).__name__}"


def gate_check_in(app: KioskApp) -> threading.Event:
    """Hold every check-in until the returned event is set: the ticket is on its way."""
    assert app.queue is not None
    check_in = app.queue.check_in
    gate = threading.Event()

    def held(*args: Any, **kwargs: Any) -> Any:
        assert gate.wait(10), "the test never let the check-in through"
        return check_in(*args, **kwargs)

    app.queue.check_in = held  # type: ignore[method-assign]
    return gate


class TestUnbreakable:
    async def test_escape_keys_do_nothing_on_any_screen(self, make_kiosk, kiosk_store):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await started(pilot)
            await press_escape_keys(pilot)  # language
            await choose(pilot, OTHER)
            await on_screen(pilot, CategoryScreen)
            await pilot.click("#help")
            await on_screen(pilot, HelpDialog)
            await press_escape_keys(pilot)  # a dialog
            await choose(pilot, "")  # Cancel: no help after all
            await on_screen(pilot, CategoryScreen)
            await choose(pilot, "life-events")
            await on_screen(pilot, NeedScreen)
            await choose(pilot, "register-birth")
            await on_screen(pilot, QuestionScreen)
            await press_escape_keys(pilot)  # the one screen that reads the keyboard
            assert app.typed == ""  # none of them typed into the reference
            await pilot.click("#skip")
            screen = await on_screen(pilot, TicketScreen)
            await press_escape_keys(pilot)
            assert app.is_running
            assert events(kiosk_store, app.queue.centre.id, "help_requested") == []
        assert visit_row(kiosk_store, screen.ticket.visit_id).help_needed is None
        assert visit_row(kiosk_store, screen.ticket.visit_id).appointment_ref is None
        assert ticket_row(kiosk_store, screen.ticket.number).priority_from is None

    async def test_mashing_keys_while_the_ticket_is_on_its_way_gives_one_ticket(
        self, make_kiosk, kiosk_store
    ):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            needs = await to_needs(pilot, "en")
            gate = gate_check_in(app)
            await pilot.press("tab", "tab", "shift+tab", "x", "q", "7", "ctrl+c", "escape")
            await pilot.pause()
            focused = app.focused
            assert focused is not None and focused.id == "choice-1"
            chosen = needs.query_one(Choices).pages()[0][1].value
            await pilot.press("enter")  # the ticket is on its way...
            await pilot.pause()
            assert app.visit.issuing
            await pilot.press("enter", "enter", "space", "enter", "a", "1", "enter", "space")
            for _ in range(3):
                await pilot.click("#choice-1")
                await pilot.click("#choice-0")
            await pilot.pause()
            assert app.screen is needs
            assert rows(kiosk_store, Ticket) == []

            gate.set()
            screen = await on_screen(pilot, TicketScreen)

        (ticket,) = rows(kiosk_store, Ticket)
        assert ticket.number == screen.ticket.number
        assert visit_row(kiosk_store, ticket.visit_id).need == chosen
        assert app.tickets_issued == 1

    async def test_double_tap_and_taps_while_issuing_give_one_ticket(self, make_kiosk, kiosk_store):
        app = make_kiosk()
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            needs = await to_needs(pilot, "en")
            gate = gate_check_in(app)
            await pilot.click("#choice-0", times=2)  # a double tap
            await pilot.click("#choice-0")  # and another, while the ticket is on its way
            await pilot.click("#choice-1")  # or a different need
            assert app.visit.issuing
            assert app.screen is needs
            app.choose_need(NEED)  # a tap that slipped past the disabled buttons
            app.issue()
            await pilot.pause()
            gate.set()
            await on_screen(pilot, TicketScreen)
            await workers_done(pilot, "check-in")
        (ticket,) = rows(kiosk_store, Ticket)
        assert visit_row(kiosk_store, ticket.visit_id).need == NEED
        assert app.tickets_issued == 1


# -- staff leave through the hidden gesture -----------------------------------------------


async def tap_centre_name(pilot: Any, times: int = 5, every: float = 0.0) -> None:
    for _ in range(times):
        await pilot.click("#centre-name")
        if every:
            pilot.app.monotonic.advance(every)
    await pilot.pause()


async def type_pin(pilot: Any, pin: str) -> None:
    for digit in pin:
        await pilot.click(f"#pin-{digit}")
    await pilot.click("#pin-ok")
    await pilot.pause()


class TestStaffExit:
    async def test_five_quick_taps_and_the_right_pin_close_the_kiosk(self, make_kiosk, ticker):
        app = make_kiosk(staff_pin="2468")
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            categories = await to_categories(pilot, OTHER)  # staff may close it any time
            await tap_centre_name(pilot, times=5, every=1.0)  # too slow: over four seconds
            assert app.screen is categories
            ticker.advance(10)

            await tap_centre_name(pilot)
            await on_screen(pilot, StaffPin)
            await type_pin(pilot, "1357")
            assert app.is_running and app.return_code is None
            assert isinstance(app.screen, StaffPin)
            assert shown(app, "#pin") == "Wrong PIN"
            await pilot.click("#pin-cancel")
            await on_screen(pilot, CategoryScreen)
            assert app.screen is categories

            await tap_centre_name(pilot)
            await on_screen(pilot, StaffPin)
            await type_pin(pilot, "2468")
            await wait_for(pilot, lambda: not app.is_running)
        assert app.return_code == 0

    async def test_without_a_pin_the_gesture_does_nothing(self, make_kiosk):
        app = make_kiosk()  # no staff_pin
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            await started(pilot)
            start = app.screen
            await tap_centre_name(pilot, times=10)
            assert app.screen is start
            assert not any(isinstance(s, StaffPin) for s in app.screen_stack)
            assert app.is_running and app.return_code is None


# -- the next customer --------------------------------------------------------------------


class TestNextCustomer:
    async def test_next_customer_sees_nothing_of_the_last(self, make_kiosk, kiosk_store):
        # This kiosk starts in large text, normal contrast; the last customer flips both.
        app = make_kiosk(large_text=True, high_contrast=False)
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            first_start = await on_screen(pilot, LanguageScreen)
            assert app.large and app.theme == KIOSK.name
            await to_categories(pilot, OTHER)
            await pilot.click("#large")
            await pilot.click("#contrast")
            assert not app.large and not app.has_class("-large")
            assert app.theme == HIGH_CONTRAST.name
            await pilot.click("#help")
            await on_screen(pilot, HelpDialog)
            await choose(pilot, "other")
            await on_screen(pilot, CategoryScreen)
            thanks = tr(OTHER, "Thank you. A member of staff is coming to help you.")
            await wait_for(pilot, lambda: shown(app, "#notice") == thanks)
            need = next(n for n in app.config.needs if n.questions == ["appointment"])
            await choose(pilot, need.category)
            await on_screen(pilot, NeedScreen)
            await choose(pilot, need.code)
            await on_screen(pilot, QuestionScreen)
            await pilot.press("x", "y", "4", "2")
            assert app.typed == "XY42"
            await pilot.click("#continue")
            await on_screen(pilot, TicketScreen)

            await choose(pilot, "done")  # Finished, thank you
            start = await on_screen(pilot, LanguageScreen)
            assert start is not first_start
            assert app.visit is None
            assert app.typed == ""
            assert app.language == "en"
            assert app.large and app.has_class("-large")
            assert app.theme == KIOSK.name
            assert shown(app, "#notice") == ""
            assert start.query_one(Choices).page == 0
            assert [s for s in app.screen_stack if isinstance(s, HelpDialog)] == []
            assert shown(app, "#help") == "I need help"

            await choose(pilot, "en")
            await on_screen(pilot, CategoryScreen)
            assert app.visit.language == "en"
            assert app.visit.help is None
            assert app.visit.answers == {}
            assert shown(app, "#heading") == "What do you need help with today?"
            assert shown(app, "#notice") == ""

        (visit,) = rows(kiosk_store, Visit)
        assert visit.language == OTHER
        assert visit.appointment_ref == "XY42"
        assert visit.help_needed == "other"
