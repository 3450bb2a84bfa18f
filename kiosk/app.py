"""The check-in kiosk: a full-screen Textual app that customers cannot break out of.

The app owns the session (``KioskSession``) and moves between screens; screens only say
what was tapped. Everything that touches the store or the printer runs in a worker thread
and reports back, so the screen never freezes. Any fault becomes one sentence on screen in
the customer's language; tracebacks go to the log file only.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import events, work
from textual._context import active_message_pump
from textual.app import App
from textual.screen import Screen
from textual.widgets import Button

from gateway.centres import open_centre
from gateway.clock import Clock, WallClock
from gateway.config import CentreConfig, Need
from gateway.errors import GatewayError, StoreUnavailable
from gateway.footfall import KioskSessionRecord
from gateway.queue import APPOINTMENT_REF, Queue
from gateway.store import Store
from gateway.tickets import TicketView
from kiosk.hardware import KioskHardware, ScanArrived
from kiosk.i18n import shipped_languages
from kiosk.screens.base import KioskScreen
from kiosk.screens.dialogs import HelpDialog, IdleWarning, SorryScreen, StaffPin
from kiosk.screens.journey import AnswerScreen, CategoryScreen, LanguageScreen, NeedScreen
from kiosk.screens.questions import QuestionScreen
from kiosk.screens.ticket import TicketScreen
from kiosk.session import KioskSession
from kiosk.settings import KioskSettings
from kiosk.speech import Speaker
from kiosk.theme import HIGH_CONTRAST, KIOSK, THEMES
from kiosk.wedge import WedgeReader

log = logging.getLogger("gateway.kiosk")

KIOSK_SIZE = (120, 40)  # columns, rows: the touchscreen's terminal at its font size
GESTURE_TAPS = 5
GESTURE_SECONDS = 3.0
# Five wrong staff PINs (however often the pad is reopened) lock it for 15 minutes: a
# 4-digit PIN cannot be guessed at the kiosk in any useful time.
PIN_TRIES = 5
PIN_LOCK_SECONDS = 15 * 60
MAX_UNWRITTEN = 2000  # kiosk sessions kept while the store is down
RESTART = 75  # return code: the app stopped after a fault; start a fresh one


def N_(message: str) -> str:
    """Marks a message for the catalogues; it is translated later, when shown."""
    return message


def _freeze_start_up() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(700, 10, 1_000_000)  # full collections only between customers


async def recompose_keeping_focus(screen: Screen[Any]) -> None:
    """Rebuild a screen (new text size, new print status) and give a button the focus,
    so keyboard and switch users can carry on with Enter."""
    await screen.recompose()
    if screen is screen.app.screen and screen.focused is None:
        buttons = screen.query(Button)
        if buttons:
            buttons.first().focus()


class KioskApp(KioskHardware, App[None], inherit_bindings=False):
    """The kiosk. No key quits it: staff leave through the hidden gesture and the PIN."""

    CSS_PATH = Path(__file__).parent / "kiosk.tcss"  # absolute: subclasses live elsewhere
    ENABLE_COMMAND_PALETTE = False
    ALLOW_SELECT = False
    TITLE = "Gateway"

    def __init__(
        self,
        store: Store,
        centre: str | None = None,
        *,
        settings: KioskSettings | None = None,
        clock: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        printer: Any = None,
        own_process: bool = False,
    ) -> None:
        super().__init__()
        # The kiosk owns its process (``gateway kiosk``): it may tune the garbage collector.
        self.own_process = own_process
        from devices.printers import open_printer

        self.store = store
        self.centre_code = centre
        self.settings = settings or KioskSettings()
        self.clock = clock or WallClock()
        self.monotonic = monotonic
        self.printer = printer or open_printer(
            self.settings.printer,
            profile=self.settings.printer_profile,
            width_mm=self.settings.paper_width,
        )
        self.speaker = Speaker(self.settings.speech)
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = (HIGH_CONTRAST if self.settings.high_contrast else KIOSK).name
        self.large = self.settings.large_text
        self.queue: Queue | None = None
        self.visit: KioskSession | None = None
        self.typed = ""  # what has been typed on the appointment keypad
        self.unwritten: deque[KioskSessionRecord] = deque(maxlen=MAX_UNWRITTEN)
        self.outage: float | None = None  # while the store is down: when last tried
        self.last_touch = monotonic()
        self.shown_at = monotonic()
        self._gesture: deque[float] = deque(maxlen=GESTURE_TAPS)
        self._pin_wrong = 0  # wrong staff PINs since the last right one or lockout
        self._pin_locked_until = float("-inf")
        self._write_lock = threading.Lock()
        self._faults: deque[float] = deque(maxlen=20)
        self.tickets_issued = 0  # for tests and benchmarks: never more than one per session
        self.wedge = WedgeReader()  # keys that may be a keyboard-wedge scanner's

    # -- what screens read --------------------------------------------------------------

    @property
    def config(self) -> CentreConfig:
        assert self.queue is not None
        return self.queue.centre.config

    @property
    def centre_name(self) -> str:
        return self.queue.centre.name if self.queue else "Gateway"

    @property
    def languages(self) -> list[str]:
        shipped = set(shipped_languages())
        return [lang for lang in self.config.centre.languages if lang in shipped]

    @property
    def language(self) -> str:
        return self.visit.language if self.visit else "en"

    @property
    def general_need(self) -> Need | None:
        code = self.config.centre.general_need or "not-sure"
        need = self.config.need(code)
        return need if need and need.services else None

    @property
    def slots(self) -> int:
        """Big buttons per page: fewer, larger ones in large-text mode."""
        return 4 if self.large else 8

    def gettext(self, message: str) -> str:
        return self.visit.gettext(message) if self.visit else message

    def session_ngettext(self, singular: str, plural: str, n: int) -> str:
        if self.visit:
            return self.visit.ngettext(singular, plural, n)
        return singular if n == 1 else plural

    # -- start-up and the store ---------------------------------------------------------

    def on_mount(self) -> None:
        self.set_class(self.large, "-large")
        self.push_screen(SorryScreen(starting=True))
        self.set_interval(1.0, self.tick)
        self.start_devices()
        self.connect()

    def on_unmount(self) -> None:
        self.stop_devices()

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect(self) -> None:
        try:
            centre = open_centre(self.store, self.centre_code)
            queue = Queue(self.store, centre, clock=self.clock, actor=self.settings.name)
        except GatewayError as exc:
            self.call_from_thread(self.store_down, exc)
            return
        except Exception as exc:  # a fault we did not foresee: log it, keep trying
            log.exception("kiosk could not open the centre")
            self.call_from_thread(self.store_down, exc)
            return
        self.call_from_thread(self._connected, queue)

    def _connected(self, queue: Queue) -> None:
        was_down = self.outage is not None or self.queue is None
        first = self.queue is None
        self.queue = queue
        self.outage = None
        if was_down:
            self.reset()
            self.forget_written_health()
            self.write_unwritten()
        if first:
            self.check_printer()
        if first and self.own_process:
            # Python's full garbage collections take about 0.3 s with Textual's objects,
            # long enough to delay a ticket. Keep what start-up built out of them, and
            # collect between customers (``reset``) instead of in the middle of one.
            self.call_after_refresh(_freeze_start_up)

    def store_down(self, exc: BaseException | None = None) -> None:
        """No tickets for now: "please ask at reception" until the store answers again."""
        if exc is not None:
            log.warning("store unavailable: %s", exc)
        now = self.monotonic()
        if self.outage is None:
            self.outage = now
        if self.visit and not self.visit.ended:
            self._finish("failed" if self.visit.issuing else "abandoned")
        self._show(SorryScreen())

    # -- the journey --------------------------------------------------------------------

    def _session(self) -> KioskSession:
        """This customer's session, begun at their first tap. It lasts until the screen
        goes back to the start (a help request on the ticket screen is still theirs)."""
        if self.visit is None:
            self.visit = KioskSession(kiosk=self.settings.name, started_at=self.clock.now())
        return self.visit

    def choose_language(self, language: str) -> None:
        visit = self._session()
        visit.choose_language(language, self.clock.now())
        self._show(CategoryScreen())

    def choose_category(self, category: str) -> None:
        self._session().choose_category(category, self.clock.now())
        self._show(NeedScreen(category))

    def go_back(self) -> None:
        self._show(CategoryScreen())

    def another_need(self) -> None:
        visit = self._session()
        visit.need = None
        visit.step = "category"
        self._show(CategoryScreen())

    def choose_need(self, code: str, *, appointment: str | None = None) -> None:
        need = self.config.need(code)
        if need is None:
            return
        visit = self._session()
        if visit.issuing or visit.ticket is not None:
            return  # a second tap while the ticket is on its way
        visit.choose_need(need, self.clock.now())
        if appointment is not None:  # scanned from the letter: no need to ask for it
            visit.answer("appointment", appointment, self.clock.now())
        if need.answer:
            visit.answered = True
            self._show(AnswerScreen(code))
        elif visit.next_question:
            self._show(QuestionScreen(visit.next_question))
        else:
            self.issue()

    def answer(self, question: str, value: Any) -> None:
        visit = self._session()
        if visit.issuing or visit.ticket is not None or question not in visit.questions_left:
            return
        visit.answer(question, value, self.clock.now())
        if visit.next_question:
            self._show(QuestionScreen(visit.next_question))
        else:
            self.issue()

    def issue(self) -> None:
        """Ask the store for this session's ticket: at most once per session."""
        visit = self._session()
        if not visit.may_issue():
            return
        if isinstance(self.screen, KioskScreen):
            self.screen.set_notice(self.gettext("One moment, please…"))
            for button in self.screen.query("#body Button"):
                button.disabled = True
        self._check_in(visit, visit.check_in_arguments())

    @work(thread=True, group="check-in", exit_on_error=False)
    def _check_in(self, visit: KioskSession, arguments: dict[str, Any]) -> None:
        queue = self.queue
        try:
            if queue is None:
                raise StoreUnavailable("The store is not open yet.")
            ticket = queue.check_in(**arguments)
        except Exception as exc:
            if not isinstance(exc, GatewayError):
                log.exception("check-in failed")
            self.call_from_thread(self._not_issued, visit, exc)
            return
        self.call_from_thread(self._issued, visit, ticket)

    def _not_issued(self, visit: KioskSession, exc: Exception) -> None:
        if visit is self.visit:
            self.store_down(exc)

    def _issued(self, visit: KioskSession, ticket: TicketView) -> None:
        self.tickets_issued += 1
        visit.ticket = ticket
        visit.step = "ticket"
        if visit is not self.visit or visit.ended:
            return  # reset while the ticket was on its way: it stays valid in the queue
        self._finish("ticket")
        screen = TicketScreen(ticket)
        self._show(screen)
        if self.printer.configured:
            self._print_ticket(screen, ticket, visit.language)
        else:
            self.call_later(screen.no_printer)

    @property
    def qr_template(self) -> str:
        return self.settings.qr_template or self.config.centre.ticket_qr

    def reference(self, ticket: TicketView) -> str:
        """The ticket's QR payload (the settings' ``qr_template``, else the centre's)."""
        from devices.commands import ticket_reference

        assert self.queue is not None
        return ticket_reference(self.queue.centre.code, ticket, self.qr_template)

    @work(thread=True, group="print", exit_on_error=False)
    def _print_ticket(self, screen: TicketScreen, ticket: TicketView, language: str) -> None:
        from devices.commands import printed_ticket
        from devices.printers import PrintFailed

        assert self.queue is not None
        try:
            printed = printed_ticket(self.queue, ticket, language, self.qr_template)
            result = self.printer.print_ticket(printed)
        except Exception as exc:
            failed = exc if isinstance(exc, PrintFailed) else None
            if failed is None:  # a fault of ours: logged; staff hear of it all the same
                log.exception("printing %s failed", ticket.number)
                failed = PrintFailed("The printer hit an unexpected problem.")
            self.call_from_thread(screen.print_failed, self.reference(ticket))
            try:
                self.queue.report_print_failed(
                    ticket.number, reason=str(failed), printer=self.printer.spec
                )
            except Exception:
                log.exception("could not record a failed print of %s", ticket.number)
            self.printer_checked(failed.status, str(failed))
            return
        self.call_from_thread(screen.printed)
        self.printer_checked(result.after)

    @work(thread=True, group="print", exit_on_error=False)
    def check_printer(self) -> None:
        """Ask the printer how it is when the kiosk starts, so staff know before the first
        customer does."""
        if self.printer.configured:
            self.printer_checked(self.printer.status())

    # -- scans: a serial scanner, or a keyboard-wedge one on any screen -----------------

    def on_scan_arrived(self, message: ScanArrived) -> None:
        self.scanned(message.scan)

    def scanned(self, scan: Any) -> None:
        """A code from an appointment letter. On the appointment question it is the
        answer; anywhere else it checks the customer in for the need whose letters carry
        such codes. Anything else gets a friendly sentence, never a crash."""
        self.touch()
        if self.queue is None or self.outage is not None:
            return  # "please ask at reception" is showing
        if isinstance(self.screen, HelpDialog | StaffPin | IdleWarning):
            return
        code = scan.text.strip().upper()
        if scan.garbage or scan.too_long or not APPOINTMENT_REF.fullmatch(code):
            self._notice(N_("Sorry, we could not read that code. Please choose on the screen."))
            return
        visit = self.visit
        if visit is not None and visit.issuing:
            return  # this customer's ticket is on its way
        screen = self.screen
        if (
            isinstance(screen, QuestionScreen)
            and screen.question == "appointment"
            and visit is not None
            and visit.ticket is None
        ):
            self.typed = code
            self.answer("appointment", code)
            return
        need = self.config.need_for_code(code)
        if need is None:
            self._notice(N_("Sorry, we do not know that code. Please choose on the screen."))
            return
        if visit is not None and (visit.ticket is not None or visit.ended):
            self.reset()  # the last customer's ticket is still showing: a new customer
        self.choose_need(need.code, appointment=code)

    # -- help, text size, contrast, starting again ----------------------------------------

    def ask_help(self) -> None:
        if isinstance(self.screen, HelpDialog | StaffPin | IdleWarning):
            return
        self.push_screen(HelpDialog(), self._help_chosen)

    def _help_chosen(self, kind: str | None) -> None:
        if not kind:
            return
        visit = self._session()
        visit.ask_for_help(kind, self.clock.now())
        number = visit.ticket.number if visit.ticket else None
        self._ask_for_help(visit, kind, number)

    @work(thread=True, group="help", exit_on_error=False)
    def _ask_for_help(self, visit: KioskSession, kind: str, number: str | None) -> None:
        try:
            if self.queue is None:
                raise StoreUnavailable("The store is not open yet.")
            self.queue.ask_for_help(kind, ticket=number, kiosk=self.settings.name)
        except Exception as exc:
            log.warning("help request not recorded: %s", exc)
            message = N_("Please ask at reception. They will help you.")
        else:
            message = N_("Thank you. A member of staff is coming to help you.")
        self.call_from_thread(self._notice, message, visit)

    def _notice(self, message: str, visit: KioskSession | None = None) -> None:
        if visit is not None and visit is not self.visit:
            return  # that customer has gone: never show it to the next one
        for screen in self.screen_stack:
            if isinstance(screen, KioskScreen):
                screen.set_notice(self.gettext(message))
        self.speak(self.gettext(message))

    def toggle_large(self) -> None:
        self.large = not self.large
        self.set_class(self.large, "-large")
        self._refresh_screens()

    def toggle_contrast(self) -> None:
        self.theme = KIOSK.name if self.theme == HIGH_CONTRAST.name else HIGH_CONTRAST.name

    def _refresh_screens(self) -> None:
        for screen in self.screen_stack[1:]:
            self.call_later(recompose_keeping_focus, screen)

    def start_again(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Back to the start screen with nothing of the last customer left on it."""
        if self.visit is not None and not self.visit.ended:
            self._finish("information" if self.visit.answered else "abandoned")
        self.visit = None
        self.typed = ""
        self.speaker.stop()
        if self.queue is None or self.outage is not None:
            return
        self.large = self.settings.large_text
        self.set_class(self.large, "-large")
        self.theme = (HIGH_CONTRAST if self.settings.high_contrast else KIOSK).name
        self._show(LanguageScreen())
        if self.own_process:
            self.call_after_refresh(gc.collect)  # between customers, nobody waits for it

    def _finish(self, outcome: str) -> None:
        assert self.visit is not None
        record = self.visit.end(outcome)
        if record is not None:
            self.unwritten.append(record)
            self.write_unwritten()

    @work(thread=True, group="footfall", exit_on_error=False)
    def write_unwritten(self) -> None:
        """Write finished sessions' footfall; on failure they wait for the next try."""
        with self._write_lock:
            while self.unwritten and self.queue is not None:
                record = self.unwritten[0]
                try:
                    self.queue.record_kiosk_session(record)
                except StoreUnavailable as exc:
                    log.warning("footfall kept for later: %s", exc)
                    return
                except Exception:
                    log.exception("footfall record dropped: %s", record.session)
                self.unwritten.popleft()
        self.write_device_news()

    # -- screens, timers and taps -------------------------------------------------------

    def _show(self, screen: Screen[Any]) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if len(self.screen_stack) == 2:
            self.switch_screen(screen)
        else:
            self.push_screen(screen)

    def screen_shown(self, screen: Any) -> None:
        """A screen opened: restart the ticket timer, and read it aloud (speech on)."""
        self.shown_at = self.monotonic()
        self.call_later(lambda: self.speak(screen.spoken()))

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        # Moving with tab or the arrows reads each button aloud (speech on).
        if isinstance(event.widget, Button):
            self.speak(str(event.widget.label))

    def speak(self, text: str) -> None:
        if self.speaker.enabled:
            self.speaker.say(text, self.language)

    def touch(self) -> None:
        self.last_touch = self.monotonic()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self.touch()  # every copy: a touch is a touch, counting it twice is harmless
        # A key comes here twice: from the terminal, then again when the widget it was
        # forwarded to lets it bubble back up. Only the first is a key the customer (or a
        # scanner) pressed; read twice, a scan would come out as "RRBB--1122...".
        if isinstance(event, events.Key) and not event.is_forwarded and self._wedge_scan(event):
            return
        await super().on_event(event)

    def _wedge_scan(self, event: events.Key) -> bool:
        """A keyboard-wedge scan on any screen (the appointment question reads keys itself,
        and a PIN typed fast is not a scan). True when this Enter ended a scan, so it
        presses no button."""
        screen = self.screen
        if isinstance(screen, QuestionScreen) and screen.question == "appointment":
            return False
        if isinstance(screen, StaffPin | HelpDialog | IdleWarning):
            return False
        text = self.wedge.feed(event.key, event.character)
        if text is None:
            return False
        from devices.lines import clean_line

        self.scanned(clean_line(text.encode()))
        return True

    def tick(self) -> None:
        """Once a second: the idle warning and reset, the ticket screen's time-out, and
        trying the store again during an outage."""
        now = self.monotonic()
        if self.outage is not None:
            if now - self.outage >= self.settings.retry_seconds:
                self.outage = now
                self.connect()
            return
        if isinstance(self.screen, TicketScreen):
            if now - max(self.shown_at, self.last_touch) >= self.settings.ticket_seconds:
                self.reset()
            return
        if self.visit is None or isinstance(self.screen, StaffPin):
            return  # the start screen, untouched: nothing to clear
        idle = now - self.last_touch
        warning = self.screen if isinstance(self.screen, IdleWarning) else None
        if warning is None and idle >= self.settings.idle_seconds:
            self.push_screen(IdleWarning(int(self.settings.warn_seconds)), self._still_here)
            return
        if warning is not None:
            left = self.settings.idle_seconds + self.settings.warn_seconds - idle
            if left <= 0:
                self.reset()
            else:
                warning.show_seconds(int(left + 0.999))

    def _still_here(self, stay: bool | None) -> None:
        self.touch()

    def staff_gesture_tap(self) -> None:
        """Five taps on the centre's name within three seconds: the staff PIN pad."""
        now = self.monotonic()
        self._gesture.append(now)
        if (
            self.settings.staff_pin
            and len(self._gesture) == GESTURE_TAPS
            and now - self._gesture[0] <= GESTURE_SECONDS
        ):
            self._gesture.clear()
            if now < self._pin_locked_until:
                return  # locked: the pad does not open (a customer sees nothing happen)
            self.push_screen(StaffPin(self.settings.staff_pin, self._wrong_pin), self._staff_done)

    def _wrong_pin(self) -> bool:
        """Count a wrong staff PIN; at the limit, lock the pad and say so in the log."""
        self._pin_wrong += 1
        if self._pin_wrong < PIN_TRIES:
            return False
        self._pin_wrong = 0
        self._pin_locked_until = self.monotonic() + PIN_LOCK_SECONDS
        log.warning(
            "the staff PIN pad is locked for %d minutes after %d wrong PINs",
            PIN_LOCK_SECONDS // 60,
            PIN_TRIES,
            extra={"fields": {"kiosk": self.settings.name, "alert": "pin_locked"}},
        )
        return True

    def _staff_done(self, ok: bool | None) -> None:
        if ok:
            self._pin_wrong = 0
            self.exit()

    # -- faults -------------------------------------------------------------------------

    def _handle_exception(self, error: Exception) -> None:
        """A fault: log it, never show a traceback, and carry on with a clean screen.

        A fault in a screen or widget stops only that one's messages: the kiosk goes back
        to a fresh start screen. A fault in the app's own handlers stops the app's
        messages, so the app ends with ``RESTART`` and ``supervise`` starts a fresh one in
        the same terminal. Faulting over and over ends with 1, for the service manager.
        """
        log.error("kiosk fault", exc_info=error)
        now = self.monotonic()
        self._faults.append(now)
        if len(self._faults) == self._faults.maxlen and now - self._faults[0] < 60:
            self._return_code = 1
            self._close_messages_no_wait()
            return
        if active_message_pump.get(None) is self:
            self._return_code = RESTART
            self._close_messages_no_wait()
            return
        self.visit = None
        self.call_later(self.reset)

    def _print_error_renderables(self) -> None:
        """Errors go to the log, never to the screen."""
        for renderable in self._exit_renderables:
            log.error("kiosk exit: %s", renderable)
        self._exit_renderables.clear()
