"""Screens over the journey: help, the idle warning, "please ask at reception", staff PIN."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import TYPE_CHECKING

from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.screen import ModalScreen, Screen
from textual.widgets import Button, Static

from gateway.config import HELP_KINDS
from kiosk.screens.base import bar_pressed, kiosk_bar
from kiosk.widgets import Choice, Choices

if TYPE_CHECKING:
    from kiosk.app import KioskApp


class _Kiosk:
    @property
    def kiosk(self) -> KioskApp:
        return self.app  # type: ignore[attr-defined]

    def _(self, message: str) -> str:
        return self.kiosk.gettext(message)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bar_pressed(self.kiosk, event)

    def on_screen_resume(self) -> None:
        self.kiosk.screen_shown(self)


class HelpDialog(_Kiosk, ModalScreen[str | None]):
    """I need help: which kind. Staff are alerted and the visit gets priority."""

    def compose(self) -> ComposeResult:
        _ = self._
        labels = {
            "wheelchair": _("Wheelchair or mobility help"),
            "hearing_loop": _("Hearing loop"),
            "interpreter": _("An interpreter"),
            "bsl": _("British Sign Language"),
            "other": _("Other help"),
        }
        with Vertical(id="dialog"):
            yield Static(
                _("What help do you need? A member of staff will come to you."), id="heading"
            )
            choices = [Choice(kind, labels[kind]) for kind in HELP_KINDS]
            choices.append(Choice("", _("Cancel"), "nav"))
            yield Choices(choices, more=_("More"), slots=self.kiosk.slots)
        yield kiosk_bar(self.kiosk, restart=False, help=False)

    def spoken(self) -> str:
        return ". ".join(str(b.label) for b in self.query(Button))

    def on_choices_chosen(self, event: Choices.Chosen) -> None:
        self.dismiss(event.choice.value or None)


class IdleWarning(_Kiosk, ModalScreen[bool]):
    """Are you still there? At least 20 seconds and one tap to carry on."""

    def __init__(self, seconds: int) -> None:
        super().__init__()
        self.seconds = seconds

    def compose(self) -> ComposeResult:
        _ = self._
        with Vertical(id="dialog"):
            yield Static(_("Are you still there?"), id="heading")
            yield Static(self.countdown(), id="countdown")
            yield Choices([Choice("stay", _("Yes, I am still here"))], more="", slots=2)
        yield kiosk_bar(self.kiosk, restart=False, help=False)

    def countdown(self) -> str:
        return self.kiosk.session_ngettext(
            "The screen will start again in %(seconds)d second.",
            "The screen will start again in %(seconds)d seconds.",
            self.seconds,
        ) % {"seconds": self.seconds}

    def show_seconds(self, seconds: int) -> None:
        self.seconds = seconds
        if self.is_mounted:
            for widget in self.query("#countdown").results(Static):
                widget.update(self.countdown())

    def spoken(self) -> str:
        return self._("Are you still there?")

    def on_choices_chosen(self, event: Choices.Chosen) -> None:
        self.dismiss(True)


class SorryScreen(_Kiosk, Screen[None]):
    """The store cannot be reached: no tickets for now. Recovers by itself."""

    def __init__(self, *, starting: bool = False) -> None:
        super().__init__(id="starting" if starting else None)
        self.starting = starting

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            if self.starting:
                yield Static(self._("One moment, please…"), id="heading")
                return
            yield Static(self._("Sorry, this screen cannot give tickets just now."), id="heading")
            yield Static(self._("Please ask at reception. They will help you."), id="sorry")
        yield kiosk_bar(self.kiosk, restart=False, help=False)

    def spoken(self) -> str:
        return (
            self._("Sorry, this screen cannot give tickets just now.")
            + " "
            + self._("Please ask at reception. They will help you.")
        )


class StaffPin(ModalScreen[bool]):
    """Staff only (reached by the hidden gesture): the PIN closes the kiosk app. Each wrong
    PIN is told to ``wrong``, which answers whether the pad must close (a lockout)."""

    def __init__(self, pin: str, wrong: Callable[[], bool] | None = None) -> None:
        super().__init__()
        self.pin = pin
        self.typed = ""
        self.tries = 0
        self.wrong = wrong or (lambda: False)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static("Staff: enter the PIN to close the kiosk", id="heading")
            yield Static("", id="pin")
            with Grid(id="keypad"):
                for key in "1234567890":
                    yield Button(key, id=f"pin-{key}", classes="key")
                yield Button("OK", id="pin-ok", classes="key")
                yield Button("Cancel", id="pin-cancel", classes="key")

    def spoken(self) -> str:
        return ""

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        key = (event.button.id or "").removeprefix("pin-")
        if key == "cancel":
            self.dismiss(False)
        elif key == "ok":
            if hmac.compare_digest(self.typed.encode(), self.pin.encode()):
                self.dismiss(True)
                return
            self.tries += 1
            self.typed = ""
            if self.wrong() or self.tries >= 3:
                self.dismiss(False)
                return
            self.query_one("#pin", Static).update("Wrong PIN")
        elif len(self.typed) < 8:
            self.typed += key
            self.query_one("#pin", Static).update("●" * len(self.typed))
