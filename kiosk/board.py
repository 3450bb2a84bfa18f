"""The waiting-room board (``gateway display``): who is called to which counter.

A full-screen Textual app for a TV: the latest calls, the newest in large letters and
highlighted until the next; how many people wait for each agency; the time; and the
centre's messages. Each new call rings the terminal bell (most TVs' terminals chime) and,
with ``--speech``, is spoken through espeak-ng: in English, then in the ticket's language
where there is a voice. A recall is announced again.

The board follows the event log after a cursor (``wait_for_events``: LISTEN/NOTIFY on
PostgreSQL, a short poll on SQLite) and reads the room again only when something happened.
It never writes. A board that loses the store says "please wait" and recovers by itself.
"""

from __future__ import annotations

import logging
import queue as queues
import subprocess
import threading
from typing import Any
from zoneinfo import ZoneInfo

from textual import work
from textual.app import App, ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Static

from gateway.board import BoardCall, BoardState, board_state
from gateway.centres import CentreView
from gateway.clock import Clock, WallClock, business_day
from gateway.events import follow
from gateway.store import Store
from kiosk.bigtext import big
from kiosk.i18n import translation
from kiosk.speech import Speaker

log = logging.getLogger("gateway.board")

RETRY_SECONDS = 2.0
WAIT_SECONDS = 1.0  # the longest the board waits for news before looking again anyway
MESSAGE_SECONDS = 12  # each centre message stays this long


def N_(message: str) -> str:
    return message


CALL_WORDS = N_("Ticket %(number)s, please go to %(counter)s.")


def spoken_number(number: str) -> str:
    """``C014`` as it should be read out: "C 0 1 4"."""
    return " ".join(number)


class Announcer:
    """Speaks calls one after another (a board must not cut one call off for the next)."""

    def __init__(self, speaker: Speaker) -> None:
        self.speaker = speaker
        self.spoken: list[tuple[str, str]] = []  # (language, text), for tests and the log
        self._queue: queues.Queue[tuple[str, str] | None] = queues.Queue()
        self._thread = threading.Thread(target=self._run, name="gateway-announcer", daemon=True)
        self._thread.start()

    def announce(self, call: BoardCall) -> None:
        counter = call.counter_name or call.counter
        for language in dict.fromkeys(("en", call.language)):
            words = translation(language).gettext(CALL_WORDS)
            self._queue.put(
                (language, words % {"number": spoken_number(call.number), "counter": counter})
            )

    def stop(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            language, text = item
            self.spoken.append(item)
            argv = self.speaker.command(text, language)
            if argv is None:
                continue
            try:
                subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=20)
            except (OSError, subprocess.SubprocessError):
                log.warning("could not speak a call in %s", language)


class BoardApp(App[None], inherit_bindings=False):
    CSS = """
    Screen { background: #10151c; color: #ffffff; layout: vertical; }
    #top { height: 3; padding: 1 2 0 2; }
    #centre { width: 1fr; text-style: bold; }
    #clock { width: 12; content-align: right middle; text-style: bold; }
    #main { height: 1fr; }
    #calls { width: 2fr; padding: 1 2; }
    #newest { height: 10; padding: 1 2; background: #ffd84d; color: #000000; }
    #newest.-none { background: #10151c; color: #ffffff; }
    #newest-counter { text-style: bold; }
    .call { height: 1; padding: 0 2; }
    #side { width: 1fr; padding: 1 2; border-left: solid #5a6675; }
    #side-title { text-style: bold; height: 2; }
    #message { height: 3; padding: 1 2; background: #1d2733; }
    #wait { height: 1fr; content-align: center middle; text-style: bold; }
    """
    ENABLE_COMMAND_PALETTE = False
    ALLOW_SELECT = False
    TITLE = "Gateway board"

    def __init__(
        self,
        store: Store,
        centre: str | None = None,
        *,
        clock: Clock | None = None,
        speech: bool = False,
        chime: bool = True,
    ) -> None:
        super().__init__()
        self.store = store
        self.centre_code = centre
        self.clock = clock or WallClock()
        self.chime = chime
        self.announcer = Announcer(Speaker(speech))
        self.state: BoardState | None = None
        self.announced = 0  # the last call event announced (by event number)
        self.waiting_for_store = True
        self._message = 0
        self._ticks = 0
        self._stop = threading.Event()
        self._read_at = self.clock.now()

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Static("Gateway", id="centre")
            yield Static("", id="clock")
        yield Static("Please wait…", id="wait")
        with Horizontal(id="main"):
            with Vertical(id="calls"):
                with Vertical(id="newest"):
                    yield Static("", id="newest-number")
                    yield Static("", id="newest-counter")
                for i in range(7):
                    yield Static("", id=f"call-{i}", classes="call")
            with Vertical(id="side"):
                yield Static("Waiting", id="side-title")
                yield Static("", id="waiting")
        yield Static("", id="message")

    def on_mount(self) -> None:
        self.query_one("#main").display = False
        self.set_interval(1.0, self._tick)
        self.follow()

    def on_unmount(self) -> None:
        self._stop.set()
        self.announcer.stop()

    # -- following the store (a worker thread) -------------------------------------------

    class Updated(Message):
        """The room as read by the follower thread (``None``: the store is away)."""

        def __init__(self, state: BoardState | None) -> None:
            super().__init__()
            self.state = state

    @work(thread=True, exclusive=True, group="follow", exit_on_error=False)
    def follow(self) -> None:
        """Read the room, then wait for news, until the board closes. Results go to the
        screen as messages (``post_message`` never blocks): a thread that waited on the
        app while it shuts down would keep the process alive."""

        def read(centre: CentreView) -> tuple[BoardState, int]:
            self._read_at = self.clock.now()
            state = board_state(self.store, centre, self._read_at)
            return state, state.cursor

        def new_day(centre: CentreView) -> bool:  # the board shows today's calls
            zone = centre.timezone
            return business_day(self._read_at, zone) != business_day(self.clock.now(), zone)

        for state in follow(
            self.store,
            self.centre_code,
            read,
            self._stop,
            wait=WAIT_SECONDS,
            retry=RETRY_SECONDS,
            again=new_day,
        ):
            self.post_message(self.Updated(state))

    def on_board_app_updated(self, message: Updated) -> None:
        if message.state is None:
            self.lost()
        else:
            self.show(message.state)

    # -- showing -------------------------------------------------------------------------

    def lost(self) -> None:
        self.waiting_for_store = True
        self.query_one("#main").display = False
        self.query_one("#wait").display = True
        self.query_one("#wait", Static).update("Please wait…")

    def show(self, state: BoardState) -> None:
        first = self.state is None
        self.state = state
        self.waiting_for_store = False
        self.query_one("#wait").display = False
        self.query_one("#main").display = True
        self.query_one("#centre", Static).update(state.centre)
        self._show_clock()
        calls = state.calls
        newest = calls[0] if calls else None
        self.query_one("#newest").set_class(newest is None, "-none")  # highlight a call only
        if newest is not None:
            self.query_one("#newest-number", Static).update(big(newest.number, scale=2))
            again = "  (again)" if newest.recall else ""
            self.query_one("#newest-counter", Static).update(
                f"{newest.number}  →  {newest.counter_name or newest.counter}{again}"
            )
        else:
            self.query_one("#newest-number", Static).update("")
            self.query_one("#newest-counter", Static).update("No one called yet today.")
        for i in range(7):
            text = ""
            if i + 1 < len(calls):
                call = calls[i + 1]
                text = f"{call.number:<6} → {call.counter_name or call.counter}"
            self.query_one(f"#call-{i}", Static).update(text)
        self.query_one("#waiting", Static).update(
            "\n".join(f"{name:<22} {count:>3}" for name, count in state.waiting)
        )
        self._show_message()
        fresh = [c for c in reversed(calls) if c.seq > self.announced]
        if calls:
            self.announced = max(self.announced, calls[0].seq)
        if not first:  # calls made before the board opened are shown, not announced
            for call in fresh:
                if self.chime:
                    self.bell()
                self.announcer.announce(call)

    def _show_message(self) -> None:
        messages = self.state.messages if self.state else []
        text = messages[self._message % len(messages)] if messages else ""
        self.query_one("#message", Static).update(text)
        self.query_one("#message").display = bool(messages)

    def _show_clock(self) -> None:
        zone = self.state.timezone if self.state else "Europe/London"
        local = self.clock.now().astimezone(ZoneInfo(zone))
        self.query_one("#clock", Static).update(local.strftime("%H:%M"))

    def _tick(self) -> None:
        self._show_clock()
        self._ticks += 1
        if self._ticks % MESSAGE_SECONDS == 0:
            self._message += 1
            self._show_message()


def open_board(args: Any, store: Store) -> int:
    """``gateway display`` (the ``display`` entry point of ``gateway.screens``)."""
    if getattr(args, "serve", None):
        return serve_board(args, store)
    app = BoardApp(
        store, args.centre, speech=bool(args.speech), chime=not getattr(args, "quiet", False)
    )
    app.run()
    return 0


def public_url(host: str, port: int, given: str | None) -> str | None:
    """The address the page's links use. textual-serve builds them from the address it
    listens on, and a TV cannot load ``http://0.0.0.0:8000/...``: serving on every
    address, the links name this machine instead, unless ``--public-url`` says."""
    if given:
        return given.rstrip("/")
    if host in ("0.0.0.0", "::", "[::]"):
        import socket

        return f"http://{socket.getfqdn()}:{port}"
    return None


def serve_board(args: Any, store: Store) -> int:
    """``gateway display --serve [HOST:]PORT``: the board in a browser, through
    textual-serve. Each browser that opens the page gets its own board process, following
    the same store; speech stays on the TV's side only when the board runs there."""
    import os
    import shlex
    import sys

    from textual_serve.server import Server

    from gateway.errors import GatewayError

    host, _, port = str(args.serve).rpartition(":")
    if not port.isdigit():
        raise GatewayError(f"'{args.serve}' is not a port (like 8000 or 0.0.0.0:8000).")
    # The store's URL goes through the environment, not the command line, where a
    # password would show in the process list.
    os.environ["GATEWAY_DB"] = store.url
    command = [sys.executable, "-m", "gateway.cli", "display"]
    if args.centre:
        command += ["--centre", args.centre]
    if getattr(args, "quiet", False):
        command.append("--quiet")
    server = Server(
        shlex.join(command),
        host=host or "localhost",
        port=int(port),
        title="Gateway board",
        public_url=public_url(host, int(port), getattr(args, "public_url", None)),
    )
    server.serve()
    return 0
