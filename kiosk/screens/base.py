"""What every kiosk screen has: the centre's name (the hidden staff gesture), a heading,
a body, and the bar with help, larger text and high contrast."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Click
from textual.screen import Screen
from textual.widgets import Button, Static

from kiosk.widgets import KioskBar

if TYPE_CHECKING:
    from kiosk.app import KioskApp

    _Base = Screen[None]
else:
    _Base = Screen


BAR_ACTIONS = {
    "help": "ask_help",
    "large": "toggle_large",
    "contrast": "toggle_contrast",
    "restart": "start_again",
}


def kiosk_bar(kiosk: KioskApp, *, restart: bool, help: bool = True) -> KioskBar:
    """The bar on every screen, in the customer's language."""
    _ = kiosk.gettext
    labels = {
        "help": _("I need help"),
        "large": _("Larger text"),
        "contrast": _("High contrast"),
        "restart": _("Start again"),
    }
    return KioskBar(labels, restart=restart, help=help)


def bar_pressed(kiosk: KioskApp, event: Button.Pressed) -> None:
    action = BAR_ACTIONS.get(event.button.id or "")
    if action and "bar" in event.button.classes:
        event.stop()
        getattr(kiosk, action)()


class CentreName(Static):
    """The centre's name. Five quick taps on it open the staff PIN pad."""

    def on_click(self, event: Click) -> None:
        event.stop()
        self.app.staff_gesture_tap()  # type: ignore[attr-defined]


class KioskScreen(_Base):
    # Arrow keys move between buttons, like tab; enter presses. Nothing else is bound.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("down,right", "app.focus_next", show=False),
        Binding("up,left", "app.focus_previous", show=False),
    ]
    RESTART = True  # show "Start again"

    @property
    def kiosk(self) -> KioskApp:
        return self.app  # type: ignore[return-value]

    def _(self, message: str) -> str:
        return self.kiosk.gettext(message)

    def heading(self) -> str:
        return ""

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield CentreName(self.kiosk.centre_name, id="centre-name")
            yield Static("", id="notice")
        with Vertical(id="body"):
            yield Static(self.heading(), id="heading")
            yield from self.compose_body()
        yield kiosk_bar(self.kiosk, restart=self.RESTART)

    def compose_body(self) -> ComposeResult:
        yield from ()

    def on_screen_resume(self) -> None:
        self.kiosk.screen_shown(self)
        if self.focused is None:
            buttons = self.query(Button)
            if buttons:
                buttons.first().focus()

    def spoken(self) -> str:
        """What speech says when the screen opens: the heading and the choices."""
        labels = [str(b.label) for b in self.query("#body Button").results(Button)]
        return ". ".join([self.heading(), *labels])

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bar_pressed(self.kiosk, event)

    def set_notice(self, text: str) -> None:
        self.query_one("#notice", Static).update(text)
