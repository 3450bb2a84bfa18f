"""Your ticket: the number, large; the service; people ahead and the wait; what to bring.
If the printer failed, a QR code to photograph and a note that staff know."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Static

from gateway.tickets import TicketView
from kiosk.bigtext import big
from kiosk.i18n import translation
from kiosk.screens.base import KioskScreen
from kiosk.widgets import Choice, Choices, QrCode


class TicketScreen(KioskScreen):
    RESTART = False

    def __init__(self, ticket: TicketView) -> None:
        super().__init__()
        self.ticket = ticket
        self.print_state = "printing"  # printing | printed | failed | no_printer
        self.reference = ""

    def heading(self) -> str:
        return self._("Your ticket number is")

    def compose_body(self) -> ComposeResult:
        _ = self._
        t = self.ticket
        service = self.kiosk.config.service(t.service)
        lang = self.kiosk.language
        with Horizontal(id="ticket"):
            with Vertical(id="ticket-main"):
                yield Static(big(t.number), id="number")
                yield Static(t.number, id="number-text")
                yield Static(service.name_in(lang) if service else t.service_name, id="service")
                yield Static(self.wait_line(), id="wait")
                bring = service.bring_in(lang) if service else []
                if bring:
                    yield Static(_("Please have ready:"), id="bring-heading")
                    yield Static("\n".join(f"•  {line}" for line in bring), id="bring")
            with Vertical(id="ticket-side"):
                yield Static(self.print_line(), id="print-status")
                if self.print_state == "failed":
                    yield QrCode(self.reference, id="qr")
        yield Choices([Choice("done", _("Finished, thank you"))], more="", slots=2)

    def wait_line(self) -> str:
        """The same sentences as on the printed ticket (``devices.tickets``)."""
        from devices.tickets import wait_sentences

        wait = self.ticket.wait
        if wait is None:
            return ""
        return " ".join(wait_sentences(translation(self.kiosk.language), wait.ahead, wait.minutes))

    def spoken(self) -> str:
        number = " ".join(self.ticket.number)
        return f"{self.heading()} {number}. {self.wait_line()}"

    def print_line(self) -> str:
        _ = self._
        return {
            "printing": _("Printing your ticket…"),
            "printed": _("Please take your ticket."),
            "failed": _(
                "Your ticket could not be printed. Please take a photo of this screen or "
                "remember your number. Staff have been told."
            ),
            "no_printer": _(
                "Please remember your number. You will see it on the screens when you are called."
            ),
        }[self.print_state]

    async def _printing(self, state: str) -> None:
        from kiosk.app import recompose_keeping_focus

        self.print_state = state
        await recompose_keeping_focus(self)
        self.kiosk.speak(self.print_line())

    def printed(self) -> None:
        self.call_later(self._printing, "printed")

    def print_failed(self, reference: str) -> None:
        self.reference = reference
        self.call_later(self._printing, "failed")

    def no_printer(self) -> None:
        self.call_later(self._printing, "no_printer")

    def on_choices_chosen(self, event: Choices.Chosen) -> None:
        self.kiosk.start_again()
