"""What the staff screens share: signing in with a code and PIN, following the store in a
worker thread, and running the core's verbs off the UI thread with one sentence back.

The counter desk (``counter.desk``) and the supervisor's view (``counter.supervisor``) are
both a ``StaffApp``: it opens on ``SignInScreen``; once someone is signed in it follows the
event log (``gateway.events.follow``) and posts each fresh state to itself as a ``Fresh``
message, which the app shows. Verbs run in a thread (``act``); their refusals
(``GatewayError``) come back as the sentence on the screen's status line, never a
traceback. A store that is down shows "The store is not answering…" and recovers by itself.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar, Generic, TypeVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Input, Static

from gateway.centres import CentreView
from gateway.clock import Clock, WallClock, business_day
from gateway.errors import GatewayError
from gateway.events import follow
from gateway.queue import Queue
from gateway.staff import StaffView
from gateway.status import printable
from gateway.store import Store

log = logging.getLogger("gateway.staff_screens")

S = TypeVar("S")

WAIT_SECONDS = 1.0  # the longest a screen waits for news before looking again anyway
RETRY_SECONDS = 2.0
STORE_AWAY = "The store is not answering; this screen will catch up by itself."


# What a box staff type into accepts: anything but control characters, so a pasted escape
# sequence is refused whole instead of being echoed to the terminal (or stored).
TYPED = r"[^\x00-\x1f\x7f-\x9f]*"


def plain(text: str) -> Text:
    """Text that came from the store or a person (a name, a reason, a refusal quoting
    what was typed) as a widget shows it: on one line, exactly as typed, never read as
    markup, and with no control character to act on the terminal (Textual passes ESC
    and C1 bytes straight through)."""
    return Text(printable(text))


class SignInScreen(Screen[StaffView]):
    """A staff code and a PIN. Dismissed with the person once the core lets them in."""

    DEFAULT_CSS = """
    SignInScreen { align: center middle; }
    SignInScreen #box { width: 60; height: auto; border: round $accent; padding: 1 2; }
    SignInScreen #title { text-style: bold; height: 2; }
    SignInScreen Input { margin-bottom: 1; }
    SignInScreen #refusal { color: $error; height: auto; min-height: 2; }
    SignInScreen #sign-in { width: 100%; }
    """

    def __init__(self, title: str, *, counter: str | None = None, role: str | None = None):
        super().__init__()
        self.heading = title
        self.counter = counter
        self.role = role
        self._code_entered: str | None = None  # the code as Enter left it (see _to_pin)
        self._busy = False  # a sign-in is being checked

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static(plain(self.heading), id="title")
            yield Input(placeholder="Staff code", id="code", max_length=40, restrict=TYPED)
            yield Input(
                placeholder="PIN", id="pin", password=True, restrict=r"[0-9]*", max_length=8
            )
            yield Button("Sign in", id="sign-in", variant="primary")
            yield Static("", id="refusal")

    def on_mount(self) -> None:
        self.query_one("#code", Input).focus()

    @on(Input.Submitted, "#code")
    def _to_pin(self, event: Input.Submitted) -> None:
        entered = self._code_entered
        extra = event.value[len(entered or "") :]
        if entered and event.value.startswith(entered) and extra.isdigit():
            # A burst (a badge reader, or fast typing) sent "code Enter PIN Enter" before
            # the focus moved: the PIN landed after the code. Split them again.
            self.query_one("#code", Input).value = entered
            self.query_one("#pin", Input).value = event.value[len(entered) :]
            self._submit()
            return
        self._code_entered = event.value
        self.query_one("#pin", Input).focus()

    @on(Input.Submitted, "#pin")
    @on(Button.Pressed, "#sign-in")
    def _submit(self) -> None:
        code = self.query_one("#code", Input).value.strip()
        pin = self.query_one("#pin", Input).value
        if self._busy:
            return  # a second Enter while the first is checked: one try, not two
        if not code or not pin:
            self.refuse("Type your staff code and PIN.")
            return
        self._busy = True
        self.query_one("#sign-in", Button).disabled = True
        self._check(code, pin)

    @work(thread=True, exclusive=True, group="sign-in", exit_on_error=False)
    def _check(self, code: str, pin: str) -> None:
        app = self.app
        assert isinstance(app, StaffApp)
        try:
            person = app.queue.sign_in(code, pin, counter=self.counter, role=self.role)
        except GatewayError as exc:
            self.post_message(self.Refused(str(exc)))
        except Exception:  # a fault, not a refusal: logged, and one sentence
            log.exception("sign-in failed")
            self.post_message(self.Refused(STORE_AWAY))
        else:
            self.post_message(self.Admitted(person))

    class Refused(Message):
        def __init__(self, sentence: str) -> None:
            super().__init__()
            self.sentence = sentence

    class Admitted(Message):
        def __init__(self, person: StaffView) -> None:
            super().__init__()
            self.person = person

    def on_sign_in_screen_refused(self, message: Refused) -> None:
        self._code_entered = None
        self.refuse(message.sentence)
        self.query_one("#pin", Input).value = ""
        self.query_one("#pin", Input).focus()

    def on_sign_in_screen_admitted(self, message: Admitted) -> None:
        self.dismiss(message.person)

    def refuse(self, sentence: str) -> None:
        self._busy = False
        self.query_one("#refusal", Static).update(plain(sentence))  # may quote a name
        self.query_one("#sign-in", Button).disabled = False


R = TypeVar("R")


class Dialog(ModalScreen[R | None]):
    """A small dialog over a staff screen; Escape cancels it (dismissed with None)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "Cancel")]

    def action_cancel(self) -> None:
        self.dismiss(None)


class StaffApp(App[None], Generic[S], inherit_bindings=False):
    """The shared frame of the staff screens. Subclasses give ``read`` (the state to show,
    read in the follower thread), ``show`` (on the UI thread) and their own bindings."""

    ENABLE_COMMAND_PALETTE = False
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+q", "quit", "Quit", priority=True),
        Binding("ctrl+x", "sign_out", "Sign out"),
    ]
    SIGN_IN_TITLE = "Sign in"
    ROLE: str | None = None  # "supervisor" admits supervisors only

    # Each screen gives these two: the state to show, read in the follower thread (with
    # the cursor it read up to), and showing it, on the UI thread.
    read: Callable[[CentreView], tuple[S, int]]
    show: Callable[[S], None]

    def __init__(
        self,
        store: Store,
        centre: str | None = None,
        *,
        clock: Clock | None = None,
        counter: str | None = None,
    ) -> None:
        super().__init__()
        self.store = store
        self.centre_code = centre
        self.clock = clock or WallClock()
        self.queue = Queue(store, centre, clock=self.clock)
        self.counter = counter
        self.person: StaffView | None = None
        self.state: S | None = None
        self.away = False
        self._stop = threading.Event()

    @property
    def centre(self) -> CentreView:
        return self.queue.centre

    def on_mount(self) -> None:
        # Textual runs every class's own on_mount: a subclass must not call this one again
        # (super().on_mount() would open the sign-in screen twice).
        self.ask_sign_in()

    def ask_sign_in(self) -> None:
        # ``admit`` runs once the sign-in screen has gone (the callback itself runs while it
        # is still on top, where a subclass's focus or queries would land on it).
        self.push_screen(
            SignInScreen(self.SIGN_IN_TITLE, counter=self.counter, role=self.ROLE),
            self._after_sign_in,
        )

    def _after_sign_in(self, person: StaffView | None) -> None:
        self.call_later(self.admit, person)

    def action_sign_out(self) -> None:
        """Sign out (written in a thread) and show the sign-in screen for the next person."""
        person, queue = self.person, self.queue
        if person is None:
            return
        self._leave()
        counter = self.counter

        def sign_out() -> str:
            queue.sign_out(person.code, counter=counter)  # as the person leaving
            return f"{person.name} signed out."

        self.act(sign_out)
        self.ask_sign_in()

    def _leave(self) -> None:
        """Forget who was signed in: the follower stops, and its late reads are dropped."""
        self.person = None
        self.state = None
        self._stop.set()  # the next sign-in starts a new follower with a new Event
        self._stop = threading.Event()

    async def action_quit(self) -> None:
        """Ctrl+Q: sign out first, so the supervisor does not see a ghost at the counter."""
        person, queue = self.person, self.queue
        self._leave()
        if person is not None:
            try:
                queue.sign_out(person.code, counter=self.counter)
            except Exception:  # the store is away: closing must still work
                log.warning("could not record %s signing out", person.code)
        self.exit()

    def on_unmount(self) -> None:
        self._stop.set()

    def admit(self, person: StaffView | None) -> None:
        if person is None:
            return
        self.person = person
        # A fresh engine per sign-in: every event names who acted, and a verb still running
        # for the last person can never be written in the next person's name.
        self.queue = Queue(self.store, self.queue.centre, clock=self.clock, actor=person.code)
        self.follow_store()

    # -- following the store (a worker thread) ------------------------------------------

    class Fresh(Message):
        """A state read by the follower thread (``None``: the store is away), tagged with
        the sign-in it was read for."""

        def __init__(self, state: Any, session: threading.Event) -> None:
            super().__init__()
            self.state = state
            self.session = session

    def show_away(self) -> None:
        self.say(STORE_AWAY)

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def follow_store(self) -> None:
        session = self._stop  # this sign-in's: a new one gets a new Event
        read_on: list[date] = []  # the business day of the last read

        def read(centre: CentreView) -> tuple[S, int]:
            read_on[:] = [business_day(self.clock.now(), centre.timezone)]
            return self.read(centre)

        def new_day(centre: CentreView) -> bool:  # a screen left open overnight starts afresh
            return read_on != [business_day(self.clock.now(), centre.timezone)]

        for state in follow(
            self.store,
            self.centre_code,
            read,
            session,
            wait=WAIT_SECONDS,
            retry=RETRY_SECONDS,
            again=new_day,
        ):
            self.post_message(self.Fresh(state, session))

    def on_staff_app_fresh(self, message: Fresh) -> None:
        if self.person is None or message.session is not self._stop:
            return  # read for someone who has signed out since
        if message.state is None:
            self.away = True
            self.show_away()
            return
        if self.away:
            self.away = False
            self.say("")
        self.state = message.state
        self.show(message.state)

    # -- acting (the core's verbs, in a thread) -------------------------------------------

    class Done(Message):
        def __init__(self, sentence: str, ok: bool) -> None:
            super().__init__()
            self.sentence = sentence
            self.ok = ok

    def act(self, verb: Callable[[], str | None]) -> None:
        """Run a verb off the UI thread; its sentence (or its refusal) goes to ``say``."""
        self._act(verb)

    @work(thread=True, group="act", exit_on_error=False)
    def _act(self, verb: Callable[[], str | None]) -> None:
        try:
            sentence = verb() or ""
        except GatewayError as exc:
            self.post_message(self.Done(str(exc), False))
        except Exception:
            log.exception("a staff action failed")
            self.post_message(self.Done(STORE_AWAY, False))
        else:
            self.post_message(self.Done(sentence, True))

    def on_staff_app_done(self, message: Done) -> None:
        self.say(message.sentence, refused=not message.ok)

    def say(self, sentence: str, *, refused: bool = False) -> None:
        """Show one sentence on the status line: the ``#status`` every staff screen has on
        its main screen (found there even while a dialog or the sign-in is on top)."""
        status = self.screen_stack[0].query_one("#status", Static)
        status.update(plain(sentence))  # as written: a sentence is never markup
        status.set_class(refused, "-refused")
