"""The supervisor's view (``gateway supervisor``): the whole room, live.

Every counter (its state, who is signed in, the ticket in hand and how many customers were
sent to it), every queue (how many wait, with priority or on hold, and the longest wait
against the service's target) and today's alerts (help asked for, tickets that did not
print, devices that need someone). A supervisor pauses, opens or closes the selected
counter and moves its waiting customers to another counter; each action is one key shown
in the footer, and its sentence (or the core's refusal) appears on the status line.

Only supervisors get in (``ROLE``). The view follows the event log and reads the room again
only when something happened. Between events it ages the waits it already has by the
clock, with no read: with no event, no ticket has moved, so the longest wait simply grows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.coordinate import Coordinate
from textual.widgets import DataTable, Footer, Input, OptionList, Static
from textual.widgets.option_list import Option

from counter.staffapp import STORE_AWAY, TYPED, Dialog, StaffApp, plain
from gateway.alerts import HEALTH_WORDS, Alert, todays_alerts
from gateway.centres import CentreView
from gateway.events import latest
from gateway.staff import StaffView
from gateway.status import (
    CounterNow,
    DeviceNow,
    RoomStatus,
    ServiceQueue,
    printable,
    room_status,
)

ROOM_ACTIONS = ("pause", "open", "close", "move", "sign_out")
OVER = "▲ over"
ALERTS_WIDTH = 34
# The tables' columns (key, heading, width) as they fit a 120-column terminal.
COUNTER_COLUMNS = (
    ("code", "#", 2),
    ("name", "Counter", 20),
    ("state", "State", 16),
    ("staff", "Signed in", 12),
    ("ticket", "Ticket in hand", 18),
    ("sent", "Sent", 4),
)
QUEUE_COLUMNS = (
    ("service", "Service", 40),
    ("agency", "Agency", 15),
    ("waiting", "Waiting", 7),
    ("wait", "Longest / target", 20),
    ("priority", "Priority", 8),
    ("held", "Held", 4),
    ("next", "Next", 6),
)
HINT = "↑↓ choose a counter; the keys below act on it."


@dataclass(frozen=True)
class Room:
    """What the supervisor sees, read in one go after the cursor."""

    status: RoomStatus
    alerts: list[Alert]


def counter_widths(width: int) -> dict[str, int]:
    """The counters' column widths for a terminal this wide: spare room goes to the names
    and the pause reasons; a narrow one takes it from them first (then the table scrolls)."""
    widths = {key: w for key, _, w in COUNTER_COLUMNS}
    spare = width - alerts_width(width) - 2 - sum(w + 2 for w in widths.values())
    name = min(spare, 4) if spare > 0 else max(spare, 10 - widths["name"])
    widths["name"] += name
    widths["state"] = max(10, min(widths["state"] + spare - name, len("paused: ") + 80))
    return widths


def alerts_width(width: int) -> int:
    """The alerts panel beside the counters: narrower on a narrow terminal."""
    return max(24, min(ALERTS_WIDTH, width - 86))


def queue_widths(width: int) -> dict[str, int]:
    """The queues' column widths: the service names take what there is (so that the
    longest wait and its "over" mark stay in sight as long as they can)."""
    widths = {key: w for key, _, w in QUEUE_COLUMNS}
    spare = width - 4 - sum(w + 2 for w in widths.values())  # a border and a scrollbar
    widths["service"] = max(16, min(widths["service"] + spare, 60))
    return widths


def clip(text: str, width: int) -> str:
    """On one line, printable (see ``gateway.status.printable``), cut to ``width``."""
    text = printable(text)
    return text if len(text) <= width else text[: width - 1] + "…"


def customers(n: int) -> str:
    return f"{n} waiting customer" + ("" if n == 1 else "s")


# -- what the cells say --------------------------------------------------------------------


def state_words(counter: CounterNow) -> str:
    if counter.state == "paused" and counter.pause_reason:
        return f"paused: {counter.pause_reason}"
    return counter.state


def ticket_words(counter: CounterNow, aged: int) -> str:
    if counter.ticket is None:
        return ""
    minutes = (counter.since_minutes or 0) + aged
    return f"{counter.ticket} {counter.ticket_state} {minutes} min"


def wait_words(queue: ServiceQueue, aged: int) -> tuple[str, bool]:
    """``"34 / 20 min ▲ over"`` and whether it is over the target."""
    if queue.waiting == 0:
        return f"– / {queue.target_wait_minutes} min", False
    longest = queue.longest_wait_minutes + aged
    over = longest > queue.target_wait_minutes
    words = f"{longest} / {queue.target_wait_minutes} min"
    return (f"{words} {OVER}" if over else words), over


def device_words(device: DeviceNow, since: datetime) -> str:
    words = HEALTH_WORDS.get(device.health, f"is {device.health.replace('_', ' ')}")
    return printable(f"{device.place}: the {device.device} {words} (since {since:%H:%M}).")


# -- the two small dialogs -----------------------------------------------------------------


class PauseScreen(Dialog[str]):
    """Why the counter pauses (may be left empty). Enter pauses; Escape changes nothing."""

    DEFAULT_CSS = """
    PauseScreen { align: center middle; }
    PauseScreen #box { width: 60; height: auto; border: round $accent; padding: 1 2; }
    PauseScreen #title { text-style: bold; margin-bottom: 1; }
    PauseScreen #hint { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, counter: CounterNow) -> None:
        super().__init__()
        self.counter = counter

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static(plain(f"Pause {self.counter.name}"), id="title")
            yield Input(
                placeholder="Reason (optional), e.g. lunch",
                id="reason",
                max_length=80,
                restrict=TYPED,
            )
            yield Static("Enter pauses it · Escape cancels", id="hint")

    @on(Input.Submitted, "#reason")
    def _confirm(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())


class MoveScreen(Dialog[str]):
    """Which counter takes the waiting customers. Enter chooses; Escape changes nothing."""

    DEFAULT_CSS = """
    MoveScreen { align: center middle; }
    MoveScreen #box { width: 64; height: auto; border: round $accent; padding: 1 2; }
    MoveScreen #title { text-style: bold; margin-bottom: 1; }
    MoveScreen OptionList { height: auto; max-height: 16; }
    MoveScreen #hint { color: $text-muted; margin-top: 1; }
    """

    def __init__(self, source: CounterNow, targets: list[CounterNow]) -> None:
        super().__init__()
        self.source = source
        self.targets = targets

    def compose(self) -> ComposeResult:
        with Vertical(id="box"):
            yield Static(plain(f"Move the waiting customers of {self.source.name} to:"), id="title")
            yield OptionList(
                *(
                    Option(
                        plain(f"{t.name} ({state_words(t)}, {t.staff_name or 'nobody in'})"),
                        id=t.counter,
                    )
                    for t in self.targets
                ),
                id="targets",
            )
            yield Static("↑↓ choose · Enter moves them · Escape cancels", id="hint")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected, "#targets")
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option_id)


# -- the view ------------------------------------------------------------------------------


class SupervisorApp(StaffApp[Room]):
    """The room for a supervisor. Actions apply to the counter under the cursor."""

    CSS = """
    Screen { layout: vertical; }
    #top { height: 1; padding: 0 1; background: $boost; text-style: bold; }
    #upper { height: 16; min-height: 8; max-height: 60%; }
    #counters { width: 1fr; height: 100%; border: round $primary; }
    #alerts-box { height: 100%; border: round $warning; padding: 0 1; }
    #queues { height: 1fr; border: round $primary; }
    #status { height: 1; padding: 0 1; }
    #status.-refused { color: $error; text-style: bold; }
    .-away { opacity: 60%; }
    """
    SIGN_IN_TITLE = "Supervisor: sign in"
    TITLE = "Gateway supervisor"
    ROLE = "supervisor"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "pause", "Pause"),
        Binding("o", "open", "Open"),
        Binding("c", "close", "Close"),
        Binding("m", "move", "Move queue"),
        Binding("ctrl+x", "sign_out", "Sign out"),
        Binding("ctrl+q", "quit", "Quit", priority=True),  # shown: every key is on screen
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._aged = -1  # the minutes the tables were last aged by (see ``_tick``)
        self._widths: dict[str, int] = {}  # the columns' widths now (both tables)

    # The room's widgets, kept from ``compose`` (the clock may tick once more while the
    # app closes and a query would find nothing).
    top: Static
    upper: Horizontal
    counters: DataTable[Text]
    alerts_box: VerticalScroll
    alerts: Static
    queues: DataTable[Text]
    status: Static

    def compose(self) -> ComposeResult:
        self.top = Static("", id="top")
        self.upper = Horizontal(id="upper")
        self.counters = DataTable(id="counters", cursor_type="row", zebra_stripes=True)
        self.alerts_box = VerticalScroll(id="alerts-box")
        self.alerts = Static("", id="alerts")
        self.queues = DataTable(id="queues", cursor_type="none", zebra_stripes=True)  # read only
        self.status = Static("", id="status")
        yield self.top
        with self.upper:
            yield self.counters
            with self.alerts_box:
                yield self.alerts
        yield self.queues
        yield self.status
        yield Footer()

    def on_mount(self) -> None:
        self.counters.border_title = "Counters"
        self.queues.border_title = "Queues"
        self.alerts_box.border_title = "Alerts"
        self._fit(self.size.width)
        self._show_top()
        self.set_interval(1.0, self._tick)
        # (Textual runs StaffApp.on_mount too, which opens the sign-in screen.)

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        """Fixed columns, sized for the terminal: made again when it is resized (the
        counters' cursor stays on its counter)."""
        widths = counter_widths(width) | queue_widths(width)
        if widths == self._widths:
            return
        self._widths = widths
        self.alerts_box.styles.width = alerts_width(width)
        current = cursor_key(self.counters)
        for table, columns in ((self.counters, COUNTER_COLUMNS), (self.queues, QUEUE_COLUMNS)):
            table.clear(columns=True)
            for key, label, _ in columns:
                table.add_column(label, key=key, width=widths[key])
        if self.state is not None:
            self._fill_counters(self.state.status.counters, self._aged)
            self._fill_queues(self.state.status.queues, self._aged)
            if current is not None:
                self.counters.move_cursor(row=self.counters.get_row_index(current), animate=False)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Room actions only for a signed-in supervisor, on the room itself (not while
        signing in or while a dialog is open)."""
        if action in ROOM_ACTIONS:
            return self.person is not None and len(self.screen_stack) == 1
        return True

    def admit(self, person: StaffView | None) -> None:
        super().admit(person)  # called as the sign-in screen closes, before it is gone
        self.call_later(self._admitted)

    def _admitted(self) -> None:
        self._show_top()
        self.refresh_bindings()
        self.counters.focus()
        self.say(HINT)

    # -- reading (the follower thread) ----------------------------------------------------

    def read(self, centre: CentreView) -> tuple[Room, int]:
        cursor = latest(self.store, centre.id)  # first: nothing after it is missed
        now = self.clock.now()
        room = Room(room_status(self.store, centre, now), todays_alerts(self.store, centre, now))
        return room, cursor

    # -- showing (the UI thread) ----------------------------------------------------------

    def show(self, state: Room) -> None:
        self._aged = self._minutes_since(state.status.at)
        self._show_top()
        for widget in (self.counters, self.queues, self.alerts_box):
            widget.remove_class("-away")
        self._fill_counters(state.status.counters, self._aged)
        self._fill_queues(state.status.queues, self._aged)
        self._fill_alerts(state)

    def show_away(self) -> None:
        self.say(STORE_AWAY, refused=True)
        if self.state is None:
            return
        when = self._local(self.state.status.at).strftime("%H:%M")
        for widget, title in (
            (self.counters, "Counters"),
            (self.queues, "Queues"),
            (self.alerts_box, "Alerts"),
        ):
            widget.add_class("-away")
            widget.border_title = f"{title} (as of {when})"

    def _tick(self) -> None:
        """The clock on the top line; the waits grow by the minute with no read."""
        if not self.top.is_attached:  # the app is closing
            return
        self._show_top()
        if self.state is None or self.away:
            return
        aged = self._minutes_since(self.state.status.at)
        if aged != self._aged:
            self._aged = aged
            self._fill_counters(self.state.status.counters, aged)
            self._fill_queues(self.state.status.queues, aged)

    def _local(self, when: datetime) -> datetime:
        return when.astimezone(ZoneInfo(self.centre.timezone))

    def _minutes_since(self, when: datetime) -> int:
        return max(0, int((self.clock.now() - when).total_seconds() // 60))

    def _show_top(self) -> None:
        now = self._local(self.clock.now()).strftime("%H:%M")
        who = f"{self.person.name} (supervisor)" if self.person else "nobody signed in"
        self.top.update(plain(f"{self.centre.name}  ·  {now}  ·  {who}"))

    def _fill_counters(self, counters: list[CounterNow], aged: int) -> None:
        table = self.counters
        table.border_title = "Counters"
        # As tall as the counters (a border and a header more), the alerts beside them.
        self.upper.styles.height = len(counters) + 3
        rows = []
        for c in counters:
            state = Text(clip(state_words(c), self._widths["state"]))
            if c.state == "paused":
                state.stylize("bold yellow")
            elif c.state == "closed":
                state.stylize("dim")
            rows.append(
                (
                    c.counter,
                    [
                        plain(c.counter),
                        Text(clip(c.name, self._widths["name"])),
                        state,
                        Text(clip(c.staff_name or "–", 12)),
                        plain(ticket_words(c, aged)),
                        Text(str(c.sent) if c.sent else ""),
                    ],
                )
            )
        refill(table, rows)

    def _fill_queues(self, queues: list[ServiceQueue], aged: int) -> None:
        table = self.queues
        busy = sum(q.waiting for q in queues)
        table.border_title = f"Queues ({busy} waiting)"
        agencies = {a.code: a.short_name or a.name for a in self.centre.config.agencies}
        rows = []
        # Queues with someone in them first, each group in the centre file's order.
        order = {s.code: i for i, s in enumerate(self.centre.config.services)}
        busy_first = sorted(
            queues, key=lambda q: (q.waiting == 0 and q.held == 0, order.get(q.service, 0))
        )
        for q in busy_first:
            words, over = wait_words(q, aged)
            wait = Text(words, style="bold red" if over else "")
            rows.append(
                (
                    q.service,
                    [
                        Text(clip(q.service_name, self._widths["service"])),
                        Text(clip(agencies.get(q.agency, q.agency), 15)),
                        Text(str(q.waiting)),
                        wait,
                        Text(str(q.priority) if q.priority else ""),
                        Text(str(q.held) if q.held else ""),
                        plain(q.next or ""),
                    ],
                )
            )
        refill(table, rows)

    def _fill_alerts(self, state: Room) -> None:
        box = self.alerts_box
        devices = [d for d in state.status.devices if d.health != "ok"]
        box.border_title = f"Alerts ({len(devices) + len(state.alerts)})"
        text = Text()
        if devices:
            text.append("Needs someone now\n", style="bold")
            for device in devices:
                since = self._local(state.status.at - timedelta(minutes=device.since_minutes))
                text.append(f"▲ {device_words(device, since)}\n")
            text.append("\n")
        if state.alerts:
            text.append("Today, newest first\n", style="bold")
            for alert in state.alerts:
                text.append(self._local(alert.at).strftime("%H:%M "), style="dim")
                text.append(f"{alert.text}\n")  # printable: see gateway.alerts
        if not devices and not state.alerts:
            text.append("No alerts today.")
        self.alerts.update(text)

    # -- acting ---------------------------------------------------------------------------

    def selected(self) -> CounterNow | None:
        """The counter under the cursor, as last read (None before anything is shown)."""
        code = cursor_key(self.counters)
        if self.state is None or code is None:
            return None
        return next((c for c in self.state.status.counters if c.counter == code), None)

    def _chosen(self) -> CounterNow | None:
        counter = self.selected()
        if counter is None:
            self.say("There is no counter to choose yet; wait for the room to show.", refused=True)
        return counter

    def action_open(self) -> None:
        if (counter := self._chosen()) is not None:
            self._set_state(counter, "open")

    def action_close(self) -> None:
        if (counter := self._chosen()) is not None:
            self._set_state(counter, "closed")

    def action_pause(self) -> None:
        counter = self._chosen()
        if counter is None:
            return

        def paused(reason: str | None) -> None:
            if reason is not None:
                self._set_state(counter, "paused", reason or None)

        self.push_screen(PauseScreen(counter), paused)

    def _set_state(self, counter: CounterNow, state: str, reason: str | None = None) -> None:
        def verb() -> str:
            self.queue.set_counter_state(counter.counter, state, reason=reason)
            why = f" ({reason})" if reason else ""
            return f"{counter.name} is {state}{why}."

        self.act(verb)

    def action_move(self) -> None:
        source = self._chosen()
        if source is None or self.state is None:
            return
        targets = [
            c
            for c in self.state.status.counters
            if c.counter != source.counter and c.state in ("open", "paused")
        ]
        if not targets:
            self.say(
                f"No other counter is open to take {source.name}'s customers; open one first.",
                refused=True,
            )
            return

        def chosen(code: str | None) -> None:
            target = next((t for t in targets if t.counter == code), None)
            if target is not None:
                self._move(source, target)

        self.push_screen(MoveScreen(source, targets), chosen)

    def _move(self, source: CounterNow, target: CounterNow) -> None:
        def verb() -> str:
            moved = self.queue.move_queue(source.counter, target.counter)
            if moved == 0:
                return f"Nobody was moved from {source.name}: no one waits only for it."
            return f"Moved {customers(moved)} from {source.name} to {target.name}."

        self.act(verb)


def refill(table: DataTable[Text], rows: list[tuple[str, list[Text]]]) -> None:
    """Show these rows without moving the cursor: the same rows are updated in place;
    otherwise the table is filled again and the cursor goes back to the same key."""
    keys = [key for key, _ in rows]
    if [key.value for key in table.rows] == keys:
        columns = list(table.columns)
        for key, cells in rows:
            for column, cell in zip(columns, cells, strict=True):
                if table.get_cell(key, column) != cell:
                    table.update_cell(key, column, cell)
        return
    current = cursor_key(table)
    table.clear()
    for key, cells in rows:
        table.add_row(*cells, key=key)
    if current in keys:
        table.move_cursor(row=keys.index(current), animate=False)


def cursor_key(table: DataTable[Text]) -> str | None:
    """The key of the row under the cursor (None in an empty table)."""
    if table.row_count == 0:
        return None
    row = min(max(table.cursor_row, 0), table.row_count - 1)
    return table.coordinate_to_cell_key(Coordinate(row, 0)).row_key.value
