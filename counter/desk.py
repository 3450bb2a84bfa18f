"""The counter desk (``gateway counter --counter ID``): staff call, serve and refer.

After signing in, staff see the counter's state, the ticket in hand (need, language, help,
the journey so far, how long they waited, referral notes) and the queue this counter calls
from, in the order it will call it. Every action is one key, shown in the footer; the ones
that need more (done, refer, transfer, pause) open a small dialog. The desk follows the
event log, so what other counters and kiosks do shows within a second; the core decides
who gets which customer, so two desks pressing "call next" together never get the same one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Footer,
    Input,
    OptionList,
    RadioButton,
    RadioSet,
    Static,
)
from textual.widgets.option_list import Option

from counter.staffapp import TYPED, Dialog, StaffApp, plain
from gateway.centres import CentreView
from gateway.config import Service
from gateway.desk import DeskState, InHand, desk_state
from gateway.errors import NotAllowed
from gateway.events import latest
from gateway.pseudonym import secret
from gateway.status import printable
from gateway.tickets import TicketView
from locales import translation

HELP_WORDS = {
    "wheelchair": "wheelchair user",
    "hearing_loop": "hearing loop",
    "interpreter": "needs an interpreter",
    "bsl": "needs a BSL interpreter",
    "other": "asked for help",
}
LANGUAGE_NAMES = {
    "en": "English",
    "pl": "Polish",
    "ro": "Romanian",
    "ne": "Nepali",
    "uk": "Ukrainian",
    "tr": "Turkish",
}


def N_(message: str) -> str:
    return message


# Read aloud before a referral, in English and in the customer's language.
CONSENT_QUESTION = N_(
    "May we pass your details to %(agency)s, so you do not have to tell your story again?"
)
# Read aloud before keeping a pseudonymous key for counting repeat visits.
REPEAT_QUESTION = N_(
    "May we keep a code made from a reference you choose, so we can count how often "
    "people come back? We never keep the reference itself."
)


def read_aloud(question: str, language: str, values: dict[str, str] | None = None) -> str:
    """A question for staff to read aloud: in English and, for a customer who chose
    another language at the kiosk, in theirs (from the kiosk's catalogues)."""
    values = values or {}
    lines = [question % values]
    if language != "en":
        words = translation(language).gettext(question) % values
        lines.append(f"{LANGUAGE_NAMES.get(language, language)}: {words}")
    return "Read this aloud:\n" + "\n".join(f"  {line}" for line in lines)


@dataclass(frozen=True)
class Referring:
    service: str
    kind: str  # handover | signpost
    reason: str | None
    consent: bool


@dataclass(frozen=True)
class Remembering:
    """The customer's answer to the repeat-visits question, and the reference they chose
    (left out of the repr: it is never shown, logged or put in an event)."""

    consent: bool
    identifier: str = field(default="", repr=False)


class Choice(Dialog[str]):
    """Pick one of a few things (a counter, a held ticket); Escape cancels."""

    def __init__(self, title: str, options: list[tuple[str, str]]) -> None:
        super().__init__()
        self.title_text = title
        self.options = options

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                plain(self.title_text + "  (Enter chooses, Escape cancels)"), classes="title"
            )
            yield OptionList(*[Option(plain(label), id=key) for key, label in self.options])

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)


class Reason(Dialog[str]):
    """A one-line reason (a pause, a transfer); Enter confirms, Escape cancels."""

    def __init__(self, title: str) -> None:
        super().__init__()
        self.title_text = title

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                plain(self.title_text + "  (Enter confirms, Escape cancels)"), classes="title"
            )
            yield Input(placeholder="Reason (optional)", max_length=80, id="reason", restrict=TYPED)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    @on(Input.Submitted)
    def _confirmed(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip())


class DoneDialog(Dialog[tuple[str, bool]]):
    """Done: the outcome, and whether the contact was avoidable."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("a", "avoidable", "Avoidable")]

    def __init__(self, number: str, outcomes: list[tuple[str, str]]) -> None:
        super().__init__()
        self.number = number
        self.outcomes = outcomes

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                f"Done with {self.number}: choose the outcome (Enter), "
                "A ticks avoidable contact, Escape cancels",
                classes="title",
            )
            yield OptionList(*[Option(plain(text), id=code) for code, text in self.outcomes])
            yield Checkbox("Avoidable contact (they need not have come)", id="avoidable")

    def on_mount(self) -> None:
        self.query_one(OptionList).focus()

    def action_avoidable(self) -> None:
        box = self.query_one("#avoidable", Checkbox)
        box.value = not box.value

    @on(OptionList.OptionSelected)
    def _chosen(self, event: OptionList.OptionSelected) -> None:
        assert event.option.id is not None
        self.dismiss((event.option.id, self.query_one("#avoidable", Checkbox).value))


class ReferDialog(Dialog[Referring]):
    """Refer: the service (any agency's), handover or signpost, a reason, and the consent
    question read aloud, with the customer's answer."""

    def __init__(self, centre: CentreView, hand: InHand) -> None:
        super().__init__()
        self.centre = centre
        self.hand = hand

    def compose(self) -> ComposeResult:
        config = self.centre.config
        agencies = {a.code: a.name for a in config.agencies}
        here = self.hand.ticket.service
        with VerticalScroll(classes="dialog"):
            yield Static(
                f"Refer {self.hand.ticket.number}: choose the service, then handover or "
                "signpost, a reason, and ask the consent question. Escape cancels.",
                classes="title",
            )
            yield OptionList(
                *[
                    Option(plain(f"{agencies.get(s.agency, s.agency)}: {s.name}"), id=s.code)
                    for s in config.services
                    if s.code != here
                ],
                id="service",
            )
            with RadioSet(id="kind"):
                yield RadioButton("Handover: they queue there now, keeping their place", value=True)
                yield RadioButton("Signpost: tell them where to go; no ticket")
            yield Input(
                placeholder="Reason (optional)", max_length=200, id="reason", restrict=TYPED
            )
            yield Static("", id="question", classes="question")
            with Horizontal(classes="buttons"):
                yield Button("They agree", id="yes", variant="success")
                yield Button("They do not agree", id="no", variant="warning")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#service", OptionList).focus()
        self.query_one("#service", OptionList).highlighted = 0
        self._ask()

    @on(OptionList.OptionHighlighted)
    def _ask(self) -> None:
        """The consent question for the highlighted service's agency, in English and,
        for a customer who chose another language, in theirs."""
        chosen = self._service()
        if chosen is None:
            return
        agency = next(a.name for a in self.centre.config.agencies if a.code == chosen.agency)
        self.query_one("#question", Static).update(
            Text(read_aloud(CONSENT_QUESTION, self.hand.language, {"agency": printable(agency)}))
        )

    def _service(self) -> Service | None:
        options = self.query_one("#service", OptionList)
        if options.highlighted is None:
            return None
        code = options.get_option_at_index(options.highlighted).id
        return next((s for s in self.centre.config.services if s.code == code), None)

    @on(OptionList.OptionSelected)
    def _to_kind(self) -> None:
        self.query_one("#kind", RadioSet).focus()

    @on(Button.Pressed, "#yes")
    def _agreed(self) -> None:
        self._finish(True)

    @on(Button.Pressed, "#no")
    def _refused(self) -> None:
        self._finish(False)

    @on(Button.Pressed, "#cancel")
    def _cancelled(self) -> None:
        self.action_cancel()

    def _finish(self, consent: bool) -> None:
        chosen = self._service()
        if chosen is None:
            return
        kind = "handover" if self.query_one("#kind", RadioSet).pressed_index == 0 else "signpost"
        reason = self.query_one("#reason", Input).value.strip() or None
        self.dismiss(Referring(chosen.code, kind, reason, consent))


class RepeatDialog(Dialog[Remembering]):
    """Keep for repeat visits: the question read aloud, the reference the customer chooses
    (typed masked: it is often an account or letter reference, and the desk screen can be
    seen from the queue), and their answer. Escape cancels; nothing is kept."""

    def __init__(self, hand: InHand) -> None:
        super().__init__()
        self.hand = hand

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Static(
                f"Keep {self.hand.ticket.number} for counting repeat visits: read the question "
                "aloud, type the reference they choose, then press their answer. "
                "Escape cancels.",
                classes="title",
            )
            yield Static(
                Text(read_aloud(REPEAT_QUESTION, self.hand.language)),
                id="question",
                classes="question",
            )
            yield Input(
                placeholder="The reference they choose (hidden as you type)",
                password=True,
                max_length=80,
                id="identifier",
                restrict=TYPED,
            )
            yield Static("", id="refusal", classes="refusal")
            with Horizontal(classes="buttons"):
                yield Button("They agree", id="yes", variant="success")
                yield Button("They do not agree", id="no", variant="warning")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#identifier", Input).focus()

    @on(Input.Submitted, "#identifier")
    def _to_answer(self) -> None:
        # Enter is not an answer: the customer's agreement is a button of its own.
        self.query_one("#yes", Button).focus()

    @on(Button.Pressed, "#yes")
    def _agreed(self) -> None:
        identifier = self.query_one("#identifier", Input).value
        if not identifier.strip():
            self.query_one("#refusal", Static).update(
                Text('Type the reference they choose first, or press "They do not agree".')
            )
            self.query_one("#identifier", Input).focus()
            return
        self.dismiss(Remembering(True, identifier))

    @on(Button.Pressed, "#no")
    def _refused(self) -> None:
        self.dismiss(Remembering(False))  # what they typed is dropped with the dialog

    @on(Button.Pressed, "#cancel")
    def _cancelled(self) -> None:
        self.action_cancel()


class CounterApp(StaffApp[DeskState]):
    """One counter's desk. ``counter`` is its code in the centre file."""

    CSS = """
    Screen { layout: vertical; }
    #top { height: 1; padding: 0 1; background: $primary; color: $text; }
    #where { width: 1fr; text-style: bold; }
    #clock { width: 8; content-align: right middle; }
    #main { height: 1fr; }
    #hand { width: 2fr; padding: 1 2; border-right: solid $primary; }
    #number { text-style: bold; height: auto; }
    #about { height: auto; }
    #queue-title { height: 1; text-style: bold; padding: 0 1; }
    #side { width: 3fr; }
    #waiting { height: 1fr; }
    #status { height: 1; padding: 0 1; background: $boost; }
    #status.-refused { background: $error 40%; }
    Choice, Reason, DoneDialog, ReferDialog, RepeatDialog { align: center middle; }
    .dialog { width: 96; height: auto; max-height: 95%; border: round $accent;
              padding: 0 1; background: $surface; }
    .dialog .title { text-style: bold; height: auto; margin-bottom: 1; }
    .dialog OptionList { height: auto; max-height: 12; }
    .dialog .buttons { height: 3; }
    .dialog .buttons Button { margin-right: 2; }
    .dialog .question { background: $boost; padding: 0 1; margin: 1 0 0 0; height: auto; }
    .dialog .refusal { color: $error; height: auto; }
    """
    SIGN_IN_TITLE = "Counter: sign in"
    BINDINGS: ClassVar[list[BindingType]] = [
        *StaffApp.BINDINGS,
        Binding("n", "call_next", "Call next"),
        Binding("r", "recall", "Recall"),
        Binding("s", "start", "Start"),
        Binding("d", "done", "Done"),
        Binding("x", "no_show", "No-show"),
        Binding("f", "refer", "Refer"),
        Binding("t", "transfer", "Transfer"),
        Binding("h", "hold", "Hold"),
        Binding("u", "unhold", "Return held"),
        Binding("p", "pause", "Pause"),
        Binding("o", "open", "Open"),
        Binding("c", "close", "Close"),
        # Last: the footer fills up by Close at 130 columns; the keys used all day keep
        # their place in sight, and K shows in full on a wider screen (docs/COUNTER.md).
        Binding("k", "remember", "Repeat visits"),
    ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.counter is None:
            raise NotAllowed("Say which counter this desk is (--counter).")
        self.known = self.centre.counter_by_code(self.counter)  # refuses an unknown one
        self.SIGN_IN_TITLE = f"{self.known.name}: sign in"
        self.title = f"Gateway counter {self.counter}"

    def compose(self) -> ComposeResult:
        with Horizontal(id="top"):
            yield Static(plain(self.known.name), id="where")
            yield Static("", id="clock")
        with Horizontal(id="main"):
            with VerticalScroll(id="hand"):
                yield Static("", id="number")
                yield Static("", id="about")
            with Vertical(id="side"):
                yield Static("Waiting for this counter", id="queue-title")
                table: DataTable[str] = DataTable(
                    id="waiting", cursor_type="row", zebra_stripes=True
                )
                table.add_columns("Ticket", "Waited", "Service", "Marks")
                yield table
        yield Static("", id="status")
        yield Footer(compact=True)

    def on_mount(self) -> None:  # StaffApp's on_mount (sign in) runs too: Textual calls both
        self.set_interval(15, self._tick)
        self._show_clock()

    def _tick(self) -> None:
        """The clock, and the waits grown since the last read: with no event nobody moved,
        so the waits simply grow (no read needed)."""
        if not self.is_running:
            return  # a last tick while the app closes
        self._show_clock()
        if self.state is not None and not self.away:
            self._show_waiting(self.state)

    def _show_clock(self) -> None:
        zone = ZoneInfo(self.centre.timezone)
        self.query_one("#clock", Static).update(self.clock.now().astimezone(zone).strftime("%H:%M"))

    # -- reading and showing -------------------------------------------------------------

    def read(self, centre: CentreView) -> tuple[DeskState, int]:
        assert self.counter is not None
        cursor = latest(self.store, centre.id)
        return desk_state(self.store, centre, self.counter, self.clock.now()), cursor

    def show(self, state: DeskState) -> None:
        if not self.is_running or not self.query("#clock"):
            return  # a last read arriving while the desk closes: its screen is gone
        if self.person is not None and state.staff != self.person.code:
            # Someone else signed in at this counter (on another screen): this one stops
            # acting in the old name.
            self._leave()
            self.say(f"{state.staff_name or 'Nobody'} is signed in at this counter now.")
            self.ask_sign_in()
            return
        self._show_clock()
        # Typed by staff (a pause reason, a name): shown as typed, never as markup, and
        # with no control character left to act on the terminal.
        where = f"{state.counter_name}  ·  {state.state.upper()}"
        if state.pause_reason:
            where += f" ({state.pause_reason})"
        if state.staff_name:
            where += f"  ·  {state.staff_name}"
        self.query_one("#where", Static).update(plain(where))
        hand = state.in_hand
        if hand is None:
            self.query_one("#number", Static).update(Text("No one at this counter"))
            hint = (
                "Press N to call the next customer."
                if state.state == "open"
                else ("Press O to open the counter, then N to call.")
            )
            if state.held:
                hint += f"\nSet aside here: {', '.join(state.held)} (U returns one to the queue)."
            self.query_one("#about", Static).update(Text(hint))
        else:
            self.query_one("#number", Static).update(Text(self._headline(hand)))
            self.query_one("#about", Static).update(Text(self._details(hand, state)))
        title = f"Waiting for this counter: {state.waiting_total}"
        self.query_one("#queue-title", Static).update(Text(title))
        self._show_waiting(state)

    def _show_waiting(self, state: DeskState) -> None:
        grown = max(0, int((self.clock.now() - state.at).total_seconds() // 60))
        table = self.query_one("#waiting", DataTable)
        row = table.cursor_row
        table.clear()
        for w in state.waiting:
            waited = w.waited_minutes + grown
            marks = []
            if w.sent_here:
                marks.append("→ sent here")
            if w.help_needed:  # help gives priority: the star says both
                marks.append("★ " + HELP_WORDS.get(w.help_needed, printable(w.help_needed)))
            elif w.priority:
                marks.append("★ priority")
            if waited >= w.target_minutes:
                marks.append("▲ over target")
            name = printable(w.service_name)
            service = name if len(name) <= 24 else name[:23] + "…"
            # The service's name as plain text (a str cell would be read as markup).
            table.add_row(
                w.number, f"{waited} min", Text(service), Text(", ".join(marks)), key=w.number
            )
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1))

    def _headline(self, hand: InHand) -> str:
        t = hand.ticket
        state = {"called": "CALLED", "recalled": f"RECALLED ×{t.recalls}", "serving": "SERVING"}
        where = printable(f"{t.service_name} ({t.agency_name})")
        return f"{t.number}   {state.get(t.state, t.state.upper())}\n{where}"

    def _details(self, hand: InHand, state: DeskState) -> str:
        """The visit, one fact a line. Every stored text goes through ``printable``: a
        reason typed with a line break cannot forge a line (a consent it never had)."""
        p = printable
        lines = [
            "",
            f"Need: {p(hand.need)}",
            f"Language: {LANGUAGE_NAMES.get(hand.language, p(hand.language))}",
        ]
        if hand.help_needed:
            lines.append(f"Help: {HELP_WORDS.get(hand.help_needed, p(hand.help_needed))}")
        if hand.appointment_ref:
            lines.append(f"Appointment: {p(hand.appointment_ref)}")
        if hand.postcode_district:
            lines.append(f"Postcode district: {p(hand.postcode_district)}")
        lines.append(
            f"Waited {hand.waited_minutes} min in this queue; "
            f"{hand.since_arrival_minutes} min since arriving"
        )
        lines.append("Agreed to share details: " + ("yes" if hand.consent_share else "no"))
        lines += ["", "Journey so far:"]
        for step in hand.journey:
            where = f" at counter {p(step.counter)}" if step.counter else ""
            outcome = f", {p(step.outcome)}" if step.outcome else ""
            mark = "▶" if step.current else " "
            lines.append(
                f" {mark} {step.number}  {p(step.service_name)} ({p(step.agency_name)}): "
                f"{step.state.replace('_', '-')}{outcome}{where}"
            )
        for name in hand.to_come:
            lines.append(f"   next: {p(name)}")
        if hand.referrals:
            lines += ["", "Referral notes:"]
            for note in hand.referrals:
                reason = f": {p(note.reason)}" if note.reason else ""
                if note.withheld:
                    reason = ": (the reason stays with them: no consent to share)"
                consent = "consent given" if note.consent else "no consent to share"
                lines.append(
                    f"  {note.kind} from {p(note.from_agency)} to {p(note.to_service)}{reason} "
                    f"({consent})"
                )
        return "\n".join(lines)

    def show_away(self) -> None:
        super().show_away()
        self.query_one("#queue-title", Static).update(
            Text("Waiting for this counter (not current)")
        )

    # -- actions ---------------------------------------------------------------------------

    def _signed_in(self) -> bool:
        return self.person is not None and self.state is not None

    def _in_hand(self) -> InHand | None:
        if not self._signed_in():
            return None
        assert self.state is not None
        if self.state.in_hand is None:
            self.say("There is no ticket at this counter.", refused=True)
        return self.state.in_hand

    def action_call_next(self) -> None:
        if not self._signed_in():
            return
        assert self.counter is not None and self.person is not None
        counter, staff = self.counter, self.person.code

        def call() -> str:
            ticket = self.queue.call_next(counter, staff=staff)
            return f"Called {ticket.number} ({ticket.service_name})."

        self.act(call)

    def _on_ticket(self, verb: Callable[[str], TicketView], sentence: str) -> None:
        """Run a verb on the ticket in hand; ``sentence`` names it with ``{}``."""
        if hand := self._in_hand():
            number = hand.ticket.number
            self.act(lambda: sentence.format(verb(number).number))

    def action_recall(self) -> None:
        self._on_ticket(self.queue.recall, "Called {} again.")

    def action_start(self) -> None:
        self._on_ticket(self.queue.start_serving, "Serving {}.")

    def action_no_show(self) -> None:
        self._on_ticket(self.queue.no_show, "{} marked as not come.")

    def action_hold(self) -> None:
        self._on_ticket(self.queue.hold, "{} set aside; U returns it.")

    def action_unhold(self) -> None:
        if not self._signed_in():
            return
        assert self.state is not None
        held = self.state.held
        if not held:
            self.say("No ticket is set aside at this counter.", refused=True)
        elif len(held) == 1:
            self._unhold(held[0])
        else:
            options = [(n, n) for n in held]
            self.push_screen(Choice("Return which ticket to the queue?", options), self._unhold)

    def _unhold(self, number: str | None) -> None:
        if number:
            self.act(lambda: f"{self.queue.unhold(number).number} is back in the queue.")

    def action_done(self) -> None:
        if hand := self._in_hand():
            outcomes = [(o.code, o.text) for o in self.centre.config.outcomes]
            number = hand.ticket.number

            def finish(answer: tuple[str, bool] | None) -> None:
                if answer is None:
                    return
                outcome, avoidable = answer

                def complete() -> str:
                    done, follow = self.queue.complete(number, outcome=outcome, avoidable=avoidable)
                    after = (
                        f" Next step: {follow.number} ({follow.service_name})." if follow else ""
                    )
                    return f"{done.number} done.{after}"

                self.act(complete)

            self.push_screen(DoneDialog(number, outcomes), finish)

    def action_refer(self) -> None:
        if hand := self._in_hand():
            number = hand.ticket.number
            staff = self.person.code if self.person else None

            def refer(choice: Referring | None) -> None:
                if choice is None:
                    return

                def send() -> str:
                    _, follow = self.queue.refer(
                        number,
                        choice.service,
                        kind=choice.kind,
                        reason=choice.reason,
                        consent=choice.consent,
                        staff=staff,
                    )
                    target = self.centre.service_by_code(choice.service).name
                    if choice.kind == "handover":
                        assert follow is not None
                        return f"{number} handed over to {target} as {follow.number}."
                    after = f" Next step: {follow.number}." if follow else ""
                    return f"{number} signposted to {target}.{after}"

                self.act(send)

            self.push_screen(ReferDialog(self.centre, hand), refer)

    def action_remember(self) -> None:
        """Keep a pseudonymous key for the visit in hand, if the customer agrees."""
        if hand := self._in_hand():
            try:
                secret()  # no secret, nothing can be kept: say so before asking anyone
            except NotAllowed as exc:
                self.say(str(exc), refused=True)
                return
            number = hand.ticket.number

            def answered(answer: Remembering | None) -> None:
                if answer is None:
                    return
                if not answer.consent:
                    self.say(f"Nothing kept for {number}: they did not agree.")
                    return
                identifier = answer.identifier

                def keep() -> str:
                    self.queue.remember(number, identifier, consent=True)
                    return "Kept for counting repeat visits."

                self.act(keep)

            self.push_screen(RepeatDialog(hand), answered)

    def action_transfer(self) -> None:
        if hand := self._in_hand():
            number = hand.ticket.number
            options = [
                (c.code, f"{c.name}")
                for c in sorted(self.centre.counters.values(), key=lambda c: _natural(c.code))
                if c.active and c.code != self.counter
            ]

            def send(code: str | None) -> None:
                if not code:
                    return

                def with_reason(reason: str | None) -> None:
                    if reason is None:
                        return
                    why = reason or None
                    self.act(
                        lambda: (
                            f"{self.queue.transfer(number, code, reason=why).number} "
                            f"sent to counter {code}."
                        )
                    )

                self.push_screen(Reason(f"Send {number} to counter {code}: why?"), with_reason)

            self.push_screen(Choice(f"Send {number} to which counter?", options), send)

    def action_pause(self) -> None:
        if not self._signed_in():
            return
        counter = self.counter
        assert counter is not None

        def pause(reason: str | None) -> None:
            if reason is None:
                return
            self.act(
                lambda: self._state_sentence(
                    self.queue.set_counter_state(counter, "paused", reason=reason or None)
                )
            )

        self.push_screen(Reason("Pause this counter: why?"), pause)

    def action_open(self) -> None:
        if self._signed_in():
            counter = self.counter
            assert counter is not None
            self.act(lambda: self._state_sentence(self.queue.set_counter_state(counter, "open")))

    def action_close(self) -> None:
        if self._signed_in():
            counter = self.counter
            assert counter is not None
            self.act(lambda: self._state_sentence(self.queue.set_counter_state(counter, "closed")))

    def _state_sentence(self, state: str) -> str:
        return f"{self.known.name} is {state}."


def _natural(code: str) -> tuple[int, str]:
    digits = "".join(ch for ch in code if ch.isdigit())
    return (int(digits) if digits else 0, code)


__all__ = ["CONSENT_QUESTION", "REPEAT_QUESTION", "CounterApp"]
