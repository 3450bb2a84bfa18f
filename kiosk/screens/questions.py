"""Questions, only when the need asks for them. Each one is explained in one line and can
be skipped; nothing here is needed to get a ticket."""

from __future__ import annotations

import re

from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical
from textual.events import Key
from textual.widgets import Button, Static

from kiosk.screens.base import KioskScreen
from kiosk.session import APPOINTMENT_MAX
from kiosk.widgets import Choice, Choices

APPOINTMENT_CHARS = re.compile(r"[A-Za-z0-9-]")


class QuestionScreen(KioskScreen):
    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question
        self.keyed = False  # the reference came from keys (keyboard or scanner)

    def heading(self) -> str:
        _ = self._
        return {
            "appointment": _("Do you have an appointment?"),
            "postcode": _("Which area do you live in?"),
            "consent": _("May the services here share your details with each other?"),
        }[self.question]

    def explanation(self) -> str:
        _ = self._
        return {
            "appointment": _("Type or scan the reference from your letter or text message."),
            "postcode": _(
                "The first part of your postcode helps us see which areas we reach. "
                "You can skip this."
            ),
            "consent": _(
                "If you say yes, you will not have to tell your story twice. "
                "You can say no and still be seen."
            ),
        }[self.question]

    def compose_body(self) -> ComposeResult:
        yield Static(self.explanation(), id="explanation")
        yield from getattr(self, f"_compose_{self.question}")()

    # -- appointment: a keypad, a keyboard or a scanner -----------------------------------

    def _compose_appointment(self) -> ComposeResult:
        with Horizontal(id="appointment"):
            with Grid(id="keypad"):
                for key in "123456789":
                    yield Button(key, id=f"key-{key}", classes="key")
                yield Button("⌫", id="key-back", classes="key")
                yield Button("0", id="key-0", classes="key")
                yield Button(self._("Clear"), id="key-clear", classes="key")
            with Vertical(id="appointment-side"):
                # What the customer typed: shown as it is, never read as markup.
                yield Static("", id="reference", markup=False)
                yield Button(self._("Continue"), id="continue", classes="choice")
                yield Button(self._("No appointment / skip"), id="skip", classes="choice")

    @property
    def reference(self) -> str:
        return self.kiosk.typed

    def _show_reference(self) -> None:
        shown = self.reference or "—"
        self.query_one("#reference", Static).update(shown)

    def on_mount(self) -> None:
        if self.question == "appointment":
            self.kiosk.typed = ""
            self._show_reference()

    def on_key(self, event: Key) -> None:
        """A keyboard, or a keyboard-wedge scanner (fast keys ending in Enter), types the
        reference. Anything that is not a letter, digit or dash is ignored."""
        if self.question != "appointment":
            return
        if event.key == "enter" and self.keyed:
            # A scanner (or a keyboard) typed the reference and ended with Enter:
            # that means Continue, not a press of whichever keypad button has focus.
            event.stop()
            event.prevent_default()
            self.kiosk.answer(self.question, self.kiosk.typed or None)
            return
        if event.character and APPOINTMENT_CHARS.fullmatch(event.character):
            event.stop()
            self.keyed = True
            self._type(event.character.upper())
        elif event.key == "backspace":
            event.stop()
            self.kiosk.typed = self.kiosk.typed[:-1]
            self._show_reference()

    def _type(self, chars: str) -> None:
        if not self.kiosk.typed:
            # A reference starts with a letter or digit (``APPOINTMENT_REF``): leading
            # dashes are dropped here, or the store would refuse the whole check-in.
            chars = chars.lstrip("-")
            if not chars:
                return
        if len(self.kiosk.typed) + len(chars) > APPOINTMENT_MAX:
            self.set_notice(self._("That reference is too long. Please check it."))
            return
        self.kiosk.typed += chars
        self._show_reference()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if "bar" in event.button.classes:
            return  # KioskScreen's handler runs too (Textual calls each class's handler)
        button = event.button.id or ""
        self.keyed = False  # a tap on the keypad: Enter presses buttons again
        if button.startswith("key-"):
            event.stop()
            key = button.removeprefix("key-")
            if key == "back":
                self.kiosk.typed = self.kiosk.typed[:-1]
            elif key == "clear":
                self.kiosk.typed = ""
            else:
                self._type(key)
            self._show_reference()
        elif button == "continue":
            event.stop()
            self.kiosk.answer(self.question, self.kiosk.typed or None)
        elif button == "skip":
            event.stop()
            self.kiosk.answer(self.question, None)

    # -- postcode district: buttons for the areas the centre serves -------------------

    def _compose_postcode(self) -> ComposeResult:
        districts = self.kiosk.config.centre.postcode_districts
        choices = [Choice(d, d) for d in districts]
        choices.append(Choice("", self._("Somewhere else / skip"), "nav"))
        yield Choices(choices, more=self._("More"), slots=self.kiosk.slots)

    # -- consent ----------------------------------------------------------------------

    def _compose_consent(self) -> ComposeResult:
        yield Choices(
            [
                Choice("yes", self._("Yes, they may share")),
                Choice("no", self._("No, please do not share")),
            ],
            more=self._("More"),
            slots=self.kiosk.slots,
        )

    def on_choices_chosen(self, event: Choices.Chosen) -> None:
        value = event.choice.value
        if self.question == "consent":
            self.kiosk.answer("consent", value == "yes")
        else:
            self.kiosk.answer(self.question, value or None)
