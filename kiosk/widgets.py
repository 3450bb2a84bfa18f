"""The kiosk's building blocks: big choice buttons with paging, the bar on every screen
(help, larger text, high contrast) and a QR code drawn with half-block characters."""

from __future__ import annotations

from dataclasses import dataclass

import qrcode
from textual import events
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Button, Static

BUTTON_ROWS = 5  # a touch target is at least 5 rows by 20 columns


@dataclass(frozen=True)
class Choice:
    value: str
    label: str
    kind: str = "choice"  # choice | nav | general


class Choices(Widget):
    """Big buttons in a grid, paged with a "More" button that cycles through the pages
    instead of scrolling (touchscreens have no reliable drag-scrolling). Pinned choices
    show on every page. Posts ``Choices.Chosen``."""

    DEFAULT_CSS = """
    Choices { height: 1fr; }
    Choices Grid { grid-size: 2; grid-gutter: 1 2; grid-rows: 5; height: auto; }
    """

    class Chosen(Message):
        def __init__(self, choice: Choice) -> None:
            super().__init__()
            self.choice = choice

    def __init__(
        self,
        choices: list[Choice],
        *,
        more: str,
        slots: int = 8,
        pinned: list[Choice] | None = None,
        **kw: object,
    ) -> None:
        super().__init__(**kw)  # type: ignore[arg-type]
        self.choices = choices
        self.pinned = pinned or []  # on every page ("Something else / not sure", "Back")
        self.more = more
        self.slots = slots
        self.page = 0

    def pages(self) -> list[list[Choice]]:
        room = self.slots - len(self.pinned)
        if len(self.choices) <= room:
            return [self.choices + self.pinned]
        per_page = max(1, room - 1)  # one slot for "More", which cycles through the pages
        return [
            self.choices[i : i + per_page] + self.pinned
            for i in range(0, len(self.choices), per_page)
        ]

    def fitting_slots(self, height: int) -> int:
        """How many buttons fit in ``height`` rows: 5-row buttons with a row between,
        two columns (one in large-text mode)."""
        columns = 1 if self.app.has_class("-large") else 2
        return max(2, (height + 1) // (BUTTON_ROWS + 1) * columns)

    async def on_resize(self, event: events.Resize) -> None:
        # Fit the page to the room the screen leaves, whatever the terminal's size.
        slots = self.fitting_slots(event.size.height)
        if slots == self.slots:
            return
        before = self.pages()
        self.slots = slots
        if self.pages() != before:
            self.page = 0
            await self.recompose()

    def compose(self) -> ComposeResult:
        pages = self.pages()
        page = pages[min(self.page, len(pages) - 1)]
        with Grid():
            for i, choice in enumerate(page):
                yield Button(choice.label, id=f"choice-{i}", classes=f"choice -{choice.kind}")
            if len(pages) > 1:
                label = f"{self.more}  ▶  {self.page + 1}/{len(pages)}".strip()
                yield Button(label, id="page-more", classes="choice -nav")

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        button_id = event.button.id or ""
        if button_id == "page-more":
            self.page = (self.page + 1) % len(self.pages())
            await self.recompose()
            self.query(Button).first().focus()
            return
        pages = self.pages()
        index = int(button_id.removeprefix("choice-"))
        self.post_message(self.Chosen(pages[self.page][index]))


class KioskBar(Horizontal):
    """On every screen: ask for help, larger text, high contrast (and start again)."""

    def __init__(self, labels: dict[str, str], *, restart: bool, help: bool = True) -> None:
        super().__init__(id="bar")
        self.labels = labels
        self.restart = restart
        self.help = help

    def compose(self) -> ComposeResult:
        if self.help:
            yield Button(self.labels["help"], id="help", classes="bar -help")
        yield Button(self.labels["large"], id="large", classes="bar")
        yield Button(self.labels["contrast"], id="contrast", classes="bar")
        if self.restart:
            yield Button(self.labels["restart"], id="restart", classes="bar")


def qr_text(payload: str) -> str:
    """A QR code as text: two modules per character cell, using half blocks."""
    code = qrcode.QRCode(border=2, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(payload)
    code.make(fit=True)
    matrix = code.get_matrix()
    if len(matrix) % 2:
        matrix.append([False] * len(matrix[0]))
    chars = {(True, True): "█", (True, False): "▀", (False, True): "▄", (False, False): " "}
    lines = []
    for top, bottom in zip(matrix[::2], matrix[1::2], strict=True):
        lines.append("".join(chars[(a, b)] for a, b in zip(top, bottom, strict=True)))
    return "\n".join(lines)


class QrCode(Static):
    """Dark modules on a light ground, as phone cameras expect."""

    DEFAULT_CSS = "QrCode { width: auto; height: auto; background: #ffffff; color: #000000; }"

    def __init__(self, payload: str, **kw: object) -> None:
        super().__init__(qr_text(payload), **kw)  # type: ignore[arg-type]
        self.payload = payload
