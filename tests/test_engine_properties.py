"""The queue engine keeps its promises whatever order the verbs come in.

A hypothesis state machine drives one ``Queue`` on a fresh SQLite store per example:
check-ins, calls, recalls, no-shows, serving, outcomes, cancels, holds, referrals, counters
opening and closing, the clock moving on (across midnight too) and stepping back (``--at``).
After every step it reads the store afresh and checks what the engine promises: one ticket
per counter, nothing vanishes, numbers run 1..n per service and day, the call order of
``routing.py`` (starvation bound first), journeys in order, handovers keeping the arrival
time, gap-free events. A refused verb must be one we expected to be refused, and must
leave the store exactly as it was.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from collections import Counter as Tally
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from gateway import migrate
from gateway.centres import load_centre
from gateway.clock import FixedClock, business_day
from gateway.config import HELP_KINDS, load_centre_file
from gateway.errors import GatewayError, NotAllowed, NothingWaiting, OutOfOrder, UnknownError
from gateway.models import Centre, Counter, Event, NumberSeries, Referral, Staff, Ticket, Visit
from gateway.queue import Queue
from gateway.store import Store
from gateway.tickets import AT_COUNTER, ENDED

SMALL_CENTRE = Path(__file__).parent / "centres" / "small.toml"
MONDAY_9AM = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # GMT, so 09:00 in London too
LONDON = ZoneInfo("Europe/London")

CONFIG = load_centre_file(SMALL_CENTRE)
NEEDS = tuple(n.code for n in CONFIG.needs if n.services)
SERVICES = tuple(s.code for s in CONFIG.services)
COUNTERS = tuple(c.code for c in CONFIG.counters)
OUTCOMES = tuple(o.code for o in CONFIG.outcomes)
REFUSALS = (NotAllowed, NothingWaiting, UnknownError, OutOfOrder)
STAFF = st.sampled_from([None, "amina", "bartek"])
OUTCOME = st.one_of(st.none(), st.sampled_from(OUTCOMES))
REFERRAL = st.tuples(st.sampled_from(["handover", "signpost"]), st.sampled_from(SERVICES))


def clock_minutes(most: int) -> st.SearchStrategy[int]:
    """Minutes for the clock to move: often a few, sometimes up to ``most``."""
    return st.one_of(st.integers(0, 5), st.integers(0, most))


# How the clock jumps besides moving on a few minutes: weighted towards not at all.
JUMPS = ("no", "no", "no", "no", "no", "no", "overnight", "weekend", "back")
DECIDERS = (
    "sent to this counter over the oldest",
    "starvation over the oldest",
    "preference over the oldest",
    "priority over the oldest",
)
Refusal = tuple[type[GatewayError], str]  # an error we expect, and why


@dataclass(frozen=True)
class Arrival:
    """Someone at the kiosk, ``gap`` minutes after the one before. ``appointment``: None,
    "no time", or its time in minutes from now."""

    gap: int
    need: str
    help_needed: str | None
    appointment: int | str | None
    language: str
    district: str | None


ARRIVALS = st.builds(
    Arrival,
    gap=clock_minutes(5),
    need=st.sampled_from(NEEDS),
    # About half the arrivals have priority now or later, so priority decides calls often.
    help_needed=st.one_of(st.none(), st.none(), st.sampled_from(HELP_KINDS)),
    appointment=st.one_of(st.none(), st.none(), st.just("no time"), st.integers(-30, 90)),
    language=st.sampled_from(CONFIG.centre.languages),
    district=st.sampled_from([None, "ME14 1XX", "sw1a"]),
)


@dataclass(frozen=True)
class Turn:
    """A desk's turn: call next, recall, maybe serve, take ``minutes``, then finish with an
    outcome (None: the default one) or a referral (kind, service)."""

    counter: str
    staff: str | None
    recalls: int
    serve: bool
    minutes: int
    finish: str | tuple[str, str] | None


TURNS = st.builds(
    Turn,
    counter=st.sampled_from(COUNTERS),
    staff=STAFF,
    recalls=st.integers(0, 2),
    serve=st.booleans(),
    minutes=clock_minutes(15),
    finish=st.one_of(OUTCOME, REFERRAL),
)


# -- reading the store -------------------------------------------------------------------


@dataclass
class Snapshot:
    """Every row the engine writes for the centre, read in one transaction."""

    tickets: dict[int, Any]
    visits: dict[int, Any]
    counters: dict[str, Any]
    referrals: dict[int, Any]
    staff: dict[int, Any]
    numbers: dict[tuple[int, date], int]
    events: list[Any]
    event_seq: int

    def differences(self, other: Snapshot) -> list[str]:
        return [
            name
            for name in ("tickets", "visits", "counters", "referrals", "staff", "numbers")
            if getattr(self, name) != getattr(other, name)
        ] + (["events"] if (self.events, self.event_seq) != (other.events, other.event_seq) else [])


def read_store(store: Store, centre_id: int) -> Snapshot:
    """Plain rows (column name -> value), not ORM objects: cheap to read and to compare."""
    with store.read() as session:

        def rows(model: Any, *order: Any) -> list[Any]:
            table = model.__table__
            stmt = sa.select(table).where(table.c.centre_id == centre_id).order_by(*order)
            return [SimpleNamespace(**row) for row in session.execute(stmt).mappings()]

        return Snapshot(
            tickets={t.id: t for t in rows(Ticket)},
            visits={v.id: v for v in rows(Visit)},
            counters={c.code: c for c in rows(Counter)},
            referrals={r.id: r for r in rows(Referral)},
            staff={s.id: s for s in rows(Staff)},
            numbers={(n.service_id, n.day): n.last for n in rows(NumberSeries)},
            events=rows(Event, Event.__table__.c.seq),
            event_seq=session.execute(
                sa.select(Centre.__table__.c.event_seq).where(Centre.__table__.c.id == centre_id)
            ).scalar_one(),
        )


def routing_key(
    ticket: Any,
    skills: list[int],
    targets: dict[int, int],
    now: datetime,
    factor: float,
    counter_id: int | None = None,
) -> tuple[Any, ...]:
    """The call order documented in ``routing.py``, written out again independently.
    Tickets sent to the counter come first; then overdue (the wait in this queue, since
    ``issued_at``, for the counter's own services); the place in line is the visit's
    arrival."""
    sent = 0 if counter_id is not None and ticket.for_counter_id == counter_id else 1
    mine = ticket.service_id in skills
    waited = now - ticket.issued_at
    if mine and waited >= timedelta(minutes=targets[ticket.service_id] * factor):
        return (sent, 0, 0, 0, ticket.arrived_at, ticket.id)
    priority = ticket.priority_from is not None and ticket.priority_from <= now
    rank = skills.index(ticket.service_id) if mine else len(skills)
    return (sent, 1, rank, 0 if priority else 1, ticket.arrived_at, ticket.id)


# -- the machine -------------------------------------------------------------------------


class EngineMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.folder = tempfile.mkdtemp(prefix="gateway-engine-")
        self.clock = FixedClock(MONDAY_9AM)
        self.store = Store(f"sqlite:///{Path(self.folder) / 'gateway.db'}")
        migrate.upgrade(self.store)
        load_centre(self.store, load_centre_file(SMALL_CENTRE), self.clock)
        self.queue = Queue(self.store, clock=self.clock, actor="machine")
        centre = self.queue.centre
        self.centre_id = centre.id
        self.factor = CONFIG.centre.starvation_factor
        self.services = {s.id: s for s in centre.services.values()}
        self.service_ids = {s.code: s.id for s in centre.services.values()}
        self.targets = {s.id: s.target_wait_minutes for s in centre.services.values()}
        self.seen: set[int] = set()
        self.most_tickets = 0
        self.went_back = False  # once the clock steps back, event times may go back too
        self.coarse = False
        self.last = read_store(self.store, self.centre_id)

    def teardown(self) -> None:
        self.store.dispose()
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- helpers -------------------------------------------------------------------------

    def attempt(
        self, what: str, call: Callable[[], Any], refusals: list[Refusal], *, writes: bool = True
    ) -> tuple[Any, Snapshot, list[Any]] | None:
        """Run a verb. Refused: it must be a refusal we expected, and change nothing.
        Accepted: it must be one we expected to succeed, and write at least one event,
        every one stamped with the clock's time. Returns (result, after, new events)."""
        before, now = self.last, self.clock.now()
        label = " ".join(re.sub(r"'[^']*'|\d+", "", what).split())
        try:
            result = call()
        except GatewayError as exc:
            event(f"{label}: refused, {type(exc).__name__}")
            after = read_store(self.store, self.centre_id)
            assert isinstance(exc, REFUSALS), f"{what}: unexpected {exc!r}"
            assert refusals, f"{what} was refused ({type(exc).__name__}: {exc}) but should work"
            wanted = tuple(kind for kind, _ in refusals)
            assert isinstance(exc, wanted), (
                f"{what} raised {type(exc).__name__} ({exc}); expected one of "
                f"{[(k.__name__, why) for k, why in refusals]}"
            )
            assert str(exc).strip().endswith("."), f"{what}: error is not a sentence: {exc!r}"
            changed = before.differences(after)
            assert not changed, f"{what} was refused ({exc}) but changed {changed}"
            self.last = after
            return None
        event(f"{label}: accepted")
        after = read_store(self.store, self.centre_id)
        assert not refusals, f"{what} was accepted but should be refused: {refusals}"
        new_events = after.events[len(before.events) :]
        if writes:
            assert new_events, f"{what} succeeded but wrote no event"
        assert all(e.at == now for e in new_events), f"{what}: event times are not 'now'"
        self.last = after
        self.seen |= set(after.tickets)
        return result, after, new_events

    def pick_ticket(self, data: st.DataObject, states: tuple[str, ...]) -> tuple[Any, Any]:
        """Mostly a ticket in one of ``states``, sometimes any ticket, rarely none at all.
        Returns the reference to pass (id, id as text, or today's number) and the row."""
        tickets = self.last.tickets
        fitting = sorted(t.id for t in tickets.values() if t.state in states)
        which = data.draw(st.integers(0, 9), label="which")
        if which == 9 or not tickets:
            return data.draw(st.sampled_from(["Z999", "999999"]), label="unknown"), None
        pool = fitting if which < 8 and fitting else sorted(tickets)
        row = tickets[data.draw(st.sampled_from(pool), label="ticket")]
        style = data.draw(st.sampled_from(["id", "text", "number", "lower"]), label="ref")
        if style in ("number", "lower") and row.day == self.today:
            return (row.number if style == "number" else f" {row.number.lower()} "), row
        return (str(row.id) if style == "text" else row.id), row

    @property
    def today(self) -> date:
        return business_day(self.clock.now(), "Europe/London")

    def ticket_refusals(self, row: Any, states: tuple[str, ...], verb: str) -> list[Refusal]:
        if row is None:
            return [(UnknownError, "no such ticket")]
        out: list[Refusal] = []
        if row.changed_at > self.clock.now():
            out.append((OutOfOrder, f"changed at {row.changed_at}, after now"))
        if row.state not in states:
            out.append((NotAllowed, f"a {row.state} ticket cannot be {verb}"))
        return out

    def counter_refusals(self, code: str) -> list[Refusal]:
        desk = self.last.counters[code]
        out: list[Refusal] = []
        if desk.state != "open":
            out.append((NotAllowed, f"counter {code} is {desk.state}"))
        if self.holding(desk.id):
            out.append((NotAllowed, f"counter {code} already holds a ticket"))
        return out

    def holding(self, counter_id: int) -> list[Any]:
        return [
            t
            for t in self.last.tickets.values()
            if t.counter_id == counter_id and t.state in AT_COUNTER
        ]

    def only_changed(self, before: Snapshot, after: Snapshot, ids: set[int], new: int) -> None:
        """Only the tickets in ``ids`` changed, and ``new`` tickets were added."""
        changed = {i for i, t in before.tickets.items() if after.tickets.get(i) != t}
        added = set(after.tickets) - set(before.tickets)
        assert changed == ids, f"tickets {sorted(changed)} changed, expected {sorted(ids)}"
        assert len(added) == new, f"{len(added)} new tickets, expected {new}"

    def expect_event(self, events: list[Any], kind: str, ticket_id: int | None) -> None:
        assert any(e.kind == kind and e.ticket_id == ticket_id for e in events), (
            f"no '{kind}' event for ticket {ticket_id} in {[e.kind for e in events]}"
        )

    def check_follow_up(
        self, before: Snapshot, after: Snapshot, row: Any, follow: Any, handover_to: str | None
    ) -> None:
        """After a ticket ends at a counter: the visit's next ticket, or its end."""
        now = self.clock.now()
        visit = after.visits[row.visit_id]
        if handover_to is not None:
            step, service, priority = row.step, handover_to, row.priority_from
        else:
            step = row.step + 1
            service = visit.journey[step] if step < len(visit.journey) else None
            priority = visit.arrived_at if visit.help_needed else None
        event("handover" if handover_to else "next journey step" if service else "visit ended")
        if service is None:
            assert follow is None, "the journey is over but a new ticket was issued"
            assert visit.ended_at == now, "the journey is over but the visit did not end"
            return
        assert follow is not None, f"no ticket for the next step ({service})"
        new = after.tickets[follow.id]
        assert follow.id not in before.tickets and new.visit_id == visit.id
        assert (new.state, new.step, new.service_id) == ("waiting", step, self.service_ids[service])
        assert new.arrived_at == row.arrived_at == visit.arrived_at, "arrival time was not kept"
        assert new.priority_from == priority, "the next ticket's priority is wrong"
        assert new.issued_at == now and visit.ended_at is None

    # -- time ----------------------------------------------------------------------------

    @initialize(arrivals=st.lists(ARRIVALS, max_size=12), coarse=st.booleans())
    def open_the_doors(self, arrivals: list[Arrival], coarse: bool) -> None:
        """Every counter open, and a few people already in the queue."""
        self.coarse = coarse
        for code in COUNTERS:
            self.queue.set_counter_state(code, "open")
        self.last = read_store(self.store, self.centre_id)
        for arrival in arrivals:
            self.check_in_one(arrival)

    @rule(minutes=clock_minutes(40), half=st.booleans(), jump=st.sampled_from(JUMPS))
    def time_passes(self, minutes: int, half: bool, jump: str) -> None:
        """Mostly some minutes. Now and then the night passes (the centre opens again at 8
        plus ``minutes``; numbering starts again), or the clock steps back (``--at``), which
        may not rewrite any ticket's history."""
        now = self.clock.now()
        if jump == "back":
            self.clock.set(max(MONDAY_9AM, now - self.span(minutes)))
            self.went_back = True
            return
        days = {"overnight": 1, "weekend": 3}.get(jump)
        if days:
            local = now.astimezone(LONDON).date() + timedelta(days=days)
            now = datetime.combine(local, time(8), tzinfo=LONDON).astimezone(UTC)
        self.clock.set(now + self.span(minutes, half))

    def span(self, minutes: int, half: bool = False) -> timedelta:
        """On a coarse clock (5-minute steps) waits often land exactly on a multiple of a
        target: the starvation boundary, and ties in arrival time."""
        if self.coarse:
            return timedelta(minutes=5 * round(minutes / 5))
        return timedelta(minutes=minutes, seconds=30 if half else 0)

    # -- kiosk ---------------------------------------------------------------------------

    @rule(arrivals=st.lists(ARRIVALS, min_size=1, max_size=6))
    def check_in(self, arrivals: list[Arrival]) -> None:
        for arrival in arrivals:
            self.check_in_one(arrival)

    def check_in_one(self, arrival: Arrival) -> None:
        self.clock.set(self.clock.now() + self.span(arrival.gap))
        before, now = self.last, self.clock.now()
        late = arrival.appointment
        when = now + timedelta(minutes=late) if isinstance(late, int) else None
        done = self.attempt(
            f"check in for {arrival.need}",
            lambda: self.queue.check_in(
                arrival.need,
                language=arrival.language,
                help_needed=arrival.help_needed,
                postcode_district=arrival.district,
                appointment_ref=None if late is None else "APT-1",
                appointment_at=when,
            ),
            [],
        )
        assert done is not None
        view, after, events = done
        self.only_changed(before, after, set(), 1)
        row = after.tickets[view.id]
        visit = after.visits[row.visit_id]
        journey = CONFIG.need(arrival.need).services  # type: ignore[union-attr]
        assert visit.journey == journey and visit.arrived_at == now and visit.ended_at is None
        assert (row.state, row.step, row.service_id) == ("waiting", 0, self.service_ids[journey[0]])
        assert row.arrived_at == row.issued_at == now and row.day == self.today
        if row.seq == 1 and row.day > MONDAY_9AM.date():
            event("numbering started again on a later day")
        expected = now if arrival.help_needed else (when or now) if late is not None else None
        assert row.priority_from == expected, "priority does not follow help or appointment"
        for kind in ("checked_in", "ticket_issued"):
            self.expect_event(events, kind, None if kind == "checked_in" else view.id)
        if arrival.help_needed:
            self.expect_event(events, "help_requested", view.id)

    # -- calling -------------------------------------------------------------------------

    @rule(counter=st.sampled_from(COUNTERS), staff=STAFF)
    def call_next(self, counter: str, staff: str | None) -> None:
        self.do_call_next(counter, staff)

    def do_call_next(self, counter: str, staff: str | None) -> Any:
        before, now = self.last, self.clock.now()
        desk = before.counters[counter]
        skills = [s for s in desk.skills if self.services[s].active]
        waiting = [
            t
            for t in before.tickets.values()
            if t.state == "waiting"
            # sent to this counter, or of its services and not sent elsewhere
            and (
                t.for_counter_id == desk.id or (t.for_counter_id is None and t.service_id in skills)
            )
            and t.changed_at <= now
            and t.day == self.today  # yesterday's leftovers are never called
        ]
        refusals = self.counter_refusals(counter)
        if not waiting:
            refusals.append((NothingWaiting, f"nobody waits for counter {counter}"))
        done = self.attempt(
            f"call next at counter {counter}",
            lambda: self.queue.call_next(counter, staff=staff),
            refusals,
        )
        if done is None:
            return None
        view, after, events = done
        picked = before.tickets[view.id]
        assert picked in waiting, f"counter {counter} called {picked.number}, not waiting for it"
        key = {
            t.id: routing_key(t, skills, self.targets, now, self.factor, desk.id) for t in waiting
        }
        overdue = {t.id for t in waiting if key[t.id][1] == 0}
        sent_here = key[picked.id][0] == 0
        for other in waiting:
            # The starvation bound: an overdue ticket is passed over by nobody who is not
            # overdue, nor by anyone who arrived later (a ticket sent here excepted).
            assert (
                other.id not in overdue
                or sent_here
                or (picked.id in overdue and picked.arrived_at <= other.arrived_at)
            ), (
                f"{other.number} has waited {now - other.issued_at} in this queue (over "
                f"{self.factor}x target) but counter {counter} called {picked.number}"
            )
            assert key[other.id] >= key[picked.id], (
                f"counter {counter} called {picked.number} {key[picked.id]} before "
                f"{other.number} {key[other.id]}"
            )
        # Which rule made this call differ from plain first-come-first-served (statistics).
        oldest = min(waiting, key=lambda t: (t.arrived_at, t.id))
        pairs = zip(key[picked.id], key[oldest.id], strict=True)
        decided = next((i for i, (a, b) in enumerate(pairs) if a != b), None)
        if len(waiting) == 1:
            event("call next: only one waiting")
        else:
            event(f"call next: {'the oldest ticket' if decided is None else DECIDERS[decided]}")
        self.check_called(before, after, events, view, desk)
        return view

    @precondition(lambda self: bool(self.last.tickets))
    @rule(counter=st.sampled_from(COUNTERS), staff=STAFF, data=st.data())
    def call_ticket(self, counter: str, staff: str | None, data: st.DataObject) -> None:
        before = self.last
        ref, row = self.pick_ticket(data, ("waiting",))
        refusals = self.counter_refusals(counter)
        refusals += self.ticket_refusals(row, ("waiting",), "called")
        desk = before.counters[counter]
        if row is not None and row.for_counter_id not in (None, desk.id):
            refusals.append((NotAllowed, "it was sent to another counter"))
        elif row is not None and row.service_id not in desk.skills and row.for_counter_id is None:
            refusals.append((NotAllowed, f"counter {counter} does not serve that service"))
        done = self.attempt(
            f"call {ref!r} to counter {counter}",
            lambda: self.queue.call_ticket(counter, ref, staff=staff),
            refusals,
        )
        if done is not None:
            view, after, events = done
            assert view.id == row.id
            self.check_called(before, after, events, view, before.counters[counter])

    def check_called(
        self, before: Snapshot, after: Snapshot, events: list[Any], view: Any, desk: Any
    ) -> None:
        row = after.tickets[view.id]
        assert (row.state, row.counter_id, row.recalls) == ("called", desk.id, 0)
        assert row.called_at == row.changed_at == self.clock.now()
        assert (view.state, view.counter) == ("called", desk.code)
        self.only_changed(before, after, {view.id}, 0)
        self.expect_event(events, "called", view.id)

    @precondition(lambda self: bool(self.last.tickets))
    @rule(data=st.data())
    def recall(self, data: st.DataObject) -> None:
        self.do_recall(*self.pick_ticket(data, ("called", "recalled")))

    def do_recall(self, ref: Any, row: Any) -> None:
        before = self.last
        refusals = self.ticket_refusals(row, ("called", "recalled"), "recalled")
        done = self.attempt(f"recall {ref!r}", lambda: self.queue.recall(ref), refusals)
        if done is not None:
            _, after, events = done
            new = after.tickets[row.id]
            assert (new.state, new.counter_id) == ("recalled", row.counter_id)
            assert new.recalls == row.recalls + 1
            self.only_changed(before, after, {row.id}, 0)
            self.expect_event(events, "recalled", row.id)

    @precondition(lambda self: bool(self.last.tickets))
    @rule(data=st.data())
    def no_show(self, data: st.DataObject) -> None:
        self.do_no_show(*self.pick_ticket(data, ("called", "recalled")))

    def do_no_show(self, ref: Any, row: Any) -> None:
        before = self.last
        refusals = self.ticket_refusals(row, ("called", "recalled"), "marked no-show")
        needed = CONFIG.centre.recalls_before_no_show
        if row is not None and row.state in ("called", "recalled") and row.recalls < needed:
            refusals.append((NotAllowed, f"recalled {row.recalls} of {needed} times"))
        done = self.attempt(f"no-show {ref!r}", lambda: self.queue.no_show(ref), refusals)
        if done is not None:
            _, after, events = done
            new = after.tickets[row.id]
            assert (new.state, new.counter_id, new.ended_at) == ("no_show", None, self.clock.now())
            assert after.visits[row.visit_id].ended_at == self.clock.now()
            self.only_changed(before, after, {row.id}, 0)
            self.expect_event(events, "no_show", row.id)

    # -- serving -------------------------------------------------------------------------

    @precondition(lambda self: bool(self.last.tickets))
    @rule(data=st.data())
    def start_serving(self, data: st.DataObject) -> None:
        self.do_start_serving(*self.pick_ticket(data, ("called", "recalled")))

    def do_start_serving(self, ref: Any, row: Any) -> None:
        before = self.last
        refusals = self.ticket_refusals(row, ("called", "recalled"), "served")
        done = self.attempt(f"serve {ref!r}", lambda: self.queue.start_serving(ref), refusals)
        if done is not None:
            _, after, events = done
            new = after.tickets[row.id]
            assert (new.state, new.counter_id) == ("serving", row.counter_id)
            assert new.serving_at == self.clock.now()
            self.only_changed(before, after, {row.id}, 0)
            self.expect_event(events, "serving", row.id)

    @precondition(lambda self: bool(self.last.tickets))
    @rule(data=st.data(), outcome=OUTCOME, avoidable=st.booleans())
    def complete(self, data: st.DataObject, outcome: str | None, avoidable: bool) -> None:
        self.do_complete(*self.pick_ticket(data, AT_COUNTER), outcome, avoidable)

    def do_complete(self, ref: Any, row: Any, outcome: str | None, avoidable: bool) -> None:
        before = self.last
        refusals = self.ticket_refusals(row, AT_COUNTER, "completed")
        done = self.attempt(
            f"complete {ref!r}",
            lambda: self.queue.complete(ref, outcome=outcome, avoidable=avoidable),
            refusals,
        )
        if done is None:
            return
        (_, follow), after, events = done
        new = after.tickets[row.id]
        assert (new.state, new.counter_id, new.ended_at) == ("done", None, self.clock.now())
        assert (new.outcome, new.avoidable) == (outcome or OUTCOMES[0], avoidable)
        assert new.serving_at == (row.serving_at or row.called_at)
        self.check_follow_up(before, after, row, follow, None)
        self.only_changed(before, after, {row.id}, 1 if follow else 0)
        self.expect_event(events, "done", row.id)

    @precondition(lambda self: bool(self.last.tickets))
    @rule(data=st.data(), reason=st.sampled_from([None, "left the building"]))
    def cancel(self, data: st.DataObject, reason: str | None) -> None:
        before = self.last
        states = ("waiting", "held", *AT_COUNTER)
        ref, row = self.pick_ticket(data, states)
        refusals = self.ticket_refusals(row, states, "cancelled")
        done = self.attempt(
            f"cancel {ref!r}", lambda: self.queue.cancel(ref, reason=reason), refusals
        )
        if done is not None:
            _, after, events = done
            new = after.tickets[row.id]
            assert (new.state, new.counter_id) == ("cancelled", None)
            assert after.visits[row.visit_id].ended_at == self.clock.now()
            self.only_changed(before, after, {row.id}, 0)
            self.expect_event(events, "cancelled", row.id)

    @precondition(lambda self: bool(self.last.tickets))
    @rule(data=st.data())
    def hold(self, data: st.DataObject) -> None:
        before = self.last
        states = ("waiting", *AT_COUNTER)
        ref, row = self.pick_ticket(data, states)
        refusals = self.ticket_refusals(row, states, "held")
        done = self.attempt(f"hold {ref!r}", lambda: self.queue.hold(ref), refusals)
        if done is not None:
            _, after, events = done
            new = after.tickets[row.id]
            assert (new.state, new.counter_id) == ("held", None)
            # It goes back to the counter that set it aside (if it was at one).
            assert new.for_counter_id == (row.counter_id or row.for_counter_id)
            self.only_changed(before, after, {row.id}, 0)
            self.expect_event(events, "held", row.id)

    @precondition(lambda self: bool(self.last.tickets))
    @rule(data=st.data())
    def unhold(self, data: st.DataObject) -> None:
        before = self.last
        ref, row = self.pick_ticket(data, ("held",))
        refusals = self.ticket_refusals(row, ("held",), "returned to the queue")
        done = self.attempt(f"unhold {ref!r}", lambda: self.queue.unhold(ref), refusals)
        if done is not None:
            _, after, events = done
            new = after.tickets[row.id]
            assert (new.state, new.counter_id) == ("waiting", None)
            assert new.arrived_at == row.arrived_at, "a returned ticket lost its place"
            self.only_changed(before, after, {row.id}, 0)
            self.expect_event(events, "returned", row.id)

    # -- referrals -----------------------------------------------------------------------

    @precondition(lambda self: bool(self.last.tickets))
    @rule(data=st.data(), to=REFERRAL, consent=st.booleans(), staff=STAFF)
    def refer(
        self, data: st.DataObject, to: tuple[str, str], consent: bool, staff: str | None
    ) -> None:
        self.do_refer(*self.pick_ticket(data, AT_COUNTER), to, consent, staff)

    def do_refer(
        self, ref: Any, row: Any, to: tuple[str, str], consent: bool, staff: str | None
    ) -> None:
        before = self.last
        kind, service = to
        refusals = self.ticket_refusals(row, AT_COUNTER, "referred")
        if row is not None and row.service_id == self.service_ids[service]:
            refusals.append((NotAllowed, "already at that service"))
        done = self.attempt(
            f"{kind} {ref!r} to {service}",
            lambda: self.queue.refer(ref, service, kind=kind, consent=consent, staff=staff),
            refusals,
        )
        if done is None:
            return
        (_, follow), after, events = done
        new = after.tickets[row.id]
        assert (new.state, new.counter_id, new.ended_at) == ("referred", None, self.clock.now())
        self.check_follow_up(before, after, row, follow, service if kind == "handover" else None)
        (referral,) = [r for r in after.referrals.values() if r.from_ticket_id == row.id]
        assert (referral.kind, referral.to_service_id) == (kind, self.service_ids[service])
        assert referral.to_ticket_id == (follow.id if kind == "handover" else None)
        assert referral.consent_share == consent
        self.only_changed(before, after, {row.id}, 1 if follow else 0)
        self.expect_event(events, "referral", row.id)

    # -- counters at work ----------------------------------------------------------------

    @rule(turns=st.lists(TURNS, min_size=1, max_size=3))
    def counters_take_turns(self, turns: list[Turn]) -> None:
        """The common run of verbs at a desk, a few desks one after another: call next,
        maybe recall, serve, then finish with an outcome or a referral. Each verb is
        checked as on its own."""
        for turn in turns:
            view = self.do_call_next(turn.counter, turn.staff)
            if view is None:
                continue
            for _ in range(turn.recalls):
                self.do_recall(view.id, self.last.tickets[view.id])
            if turn.serve:
                self.do_start_serving(view.id, self.last.tickets[view.id])
            self.clock.set(self.clock.now() + self.span(turn.minutes))
            row = self.last.tickets[view.id]
            if isinstance(turn.finish, tuple):
                self.do_refer(view.id, row, turn.finish, False, turn.staff)
            else:
                self.do_complete(view.id, row, turn.finish, False)

    # -- counters and looking ------------------------------------------------------------

    @rule(counter=st.sampled_from(COUNTERS), state=st.sampled_from(["open", "paused", "closed"]))
    def set_counter(self, counter: str, state: str) -> None:
        before = self.last
        desk = before.counters[counter]
        refusals: list[Refusal] = []
        if state == "closed" and self.holding(desk.id):
            refusals.append((NotAllowed, f"counter {counter} still holds a ticket"))
        # Closing lets go of the tickets sent to the counter (or set aside there).
        released = {
            t.id
            for t in before.tickets.values()
            if state == "closed" and t.for_counter_id == desk.id and t.state in ("waiting", "held")
        }
        changes = desk.state != state or bool(released)
        done = self.attempt(
            f"set counter {counter} {state}",
            lambda: self.queue.set_counter_state(counter, state),
            refusals,
            writes=changes,
        )
        if done is not None:
            _, after, events = done
            assert after.counters[counter].state == state
            assert bool(events) == changes, "an event per real change, no more"
            assert all(after.tickets[i].for_counter_id is None for i in released)
            self.only_changed(before, after, released, 0)

    @precondition(lambda self: bool(self.last.tickets))
    @rule(data=st.data())
    def look_up(self, data: st.DataObject) -> None:
        before = self.last
        ref, row = self.pick_ticket(data, ("waiting",))
        refusals: list[Refusal] = [] if row is not None else [(UnknownError, "no such ticket")]
        done = self.attempt(
            f"look up {ref!r}", lambda: self.queue.ticket(ref), refusals, writes=False
        )
        if done is not None:
            view, after, events = done
            assert not events and not before.differences(after)
            assert (view.id, view.state, view.number) == (row.id, row.state, row.number)
            assert (view.wait is not None) == (row.state == "waiting")

    @rule(data=st.data(), case=st.sampled_from(range(10)))
    def misnamed(self, data: st.DataObject, case: int) -> None:
        """Names that do not exist are refused with a sentence and change nothing."""
        ref, _ = self.pick_ticket(data, AT_COUNTER)
        q = self.queue
        calls: list[tuple[str, Callable[[], Any], type[GatewayError]]] = [
            ("unknown need", lambda: q.check_in("no-such-need"), UnknownError),
            ("need answered on screen", lambda: q.check_in("opening-hours"), NotAllowed),
            ("unknown language", lambda: q.check_in(NEEDS[0], language="xx"), UnknownError),
            ("unknown help", lambda: q.check_in(NEEDS[0], help_needed="jetpack"), UnknownError),
            ("bad district", lambda: q.check_in(NEEDS[0], postcode_district="123"), UnknownError),
            ("unknown counter", lambda: q.call_next("99"), UnknownError),
            ("counter state", lambda: q.set_counter_state(COUNTERS[0], "pause"), UnknownError),
            ("unknown outcome", lambda: q.complete(ref, outcome="vanished"), UnknownError),
            ("referral kind", lambda: q.refer(ref, SERVICES[0], kind="bounce"), UnknownError),
            ("unknown service", lambda: q.refer(ref, "astrology", kind="handover"), UnknownError),
        ]
        what, call, error = calls[case]
        self.attempt(what, call, [(error, what)])

    # -- invariants ----------------------------------------------------------------------

    @invariant()
    def one_ticket_per_counter(self) -> None:
        snap = self.last
        ids = {c.id: c for c in snap.counters.values()}
        held = Tally(t.counter_id for t in snap.tickets.values() if t.counter_id is not None)
        for ticket in snap.tickets.values():
            at_counter = ticket.state in AT_COUNTER
            assert (ticket.counter_id is not None) == at_counter, (
                f"{ticket.number} is {ticket.state} with counter {ticket.counter_id}"
            )
            if at_counter:
                assert ids[ticket.counter_id].state != "closed", "a closed counter holds a ticket"
        assert all(n == 1 for n in held.values()), f"a counter holds several tickets: {held}"

    @invariant()
    def no_ticket_vanishes(self) -> None:
        tickets = self.last.tickets
        assert self.seen <= set(tickets), f"tickets vanished: {sorted(self.seen - set(tickets))}"
        assert len(tickets) >= self.most_tickets, "the ticket count went down"
        self.most_tickets = len(tickets)

    @invariant()
    def numbers_run_one_to_n_per_service_and_day(self) -> None:
        snap = self.last
        series: dict[tuple[int, date], list[Any]] = defaultdict(list)
        for ticket in snap.tickets.values():
            series[ticket.service_id, ticket.day].append(ticket)
            assert ticket.day == business_day(ticket.issued_at, "Europe/London")
            prefix = self.services[ticket.service_id].prefix
            assert ticket.number == f"{prefix}{ticket.seq:03d}"
        for (service_id, day), tickets in series.items():
            seqs = sorted(t.seq for t in tickets)
            assert seqs == list(range(1, len(seqs) + 1)), f"numbers {seqs} on {day}"
            assert snap.numbers[service_id, day] == len(seqs)
        assert set(snap.numbers) == set(series), "a number series has no tickets"

    @invariant()
    def journeys_run_in_order(self) -> None:
        snap = self.last
        by_visit: dict[int, list[Any]] = defaultdict(list)
        for ticket in snap.tickets.values():
            by_visit[ticket.visit_id].append(ticket)
        referral_from = {r.from_ticket_id: r for r in snap.referrals.values()}
        for visit in snap.visits.values():
            tickets = sorted(by_visit[visit.id], key=lambda t: t.id)
            assert tickets, f"visit {visit.id} has no ticket"
            assert visit.day == business_day(visit.arrived_at, "Europe/London")
            first = tickets[0]
            assert (first.step, first.service_id) == (0, self.service_ids[visit.journey[0]])
            for ticket in tickets:
                assert ticket.arrived_at == visit.arrived_at, "a ticket lost the visit's arrival"
            for prev, nxt in pairwise(tickets):
                assert prev.state in ENDED, f"{prev.number} is {prev.state} but has a successor"
                assert nxt.issued_at == prev.ended_at >= prev.issued_at, "steps out of time order"
                referral = referral_from.get(prev.id)
                if prev.state == "referred" and referral and referral.kind == "handover":
                    assert (nxt.step, nxt.service_id) == (prev.step, referral.to_service_id)
                    assert referral.to_ticket_id == nxt.id
                else:
                    assert prev.state in ("done", "referred"), (
                        f"{prev.state} ticket has a successor"
                    )
                    assert nxt.step == prev.step + 1, "a journey step went backwards or skipped"
                    assert nxt.service_id == self.service_ids[visit.journey[nxt.step]]
            live = [t for t in tickets if t.state not in ENDED]
            last = tickets[-1]
            if visit.ended_at is None:
                assert live == [last], f"visit {visit.id} is open with live tickets {live}"
            else:
                assert not live and visit.ended_at == last.ended_at
                if last.state == "referred":
                    assert referral_from[last.id].kind == "signpost", "handover without ticket"
                if last.state in ("done", "referred"):
                    assert last.step == len(visit.journey) - 1, "the visit ended mid-journey"

    @invariant()
    def handover_keeps_arrival(self) -> None:
        snap = self.last
        for referral in snap.referrals.values():
            source = snap.tickets[referral.from_ticket_id]
            assert source.state == "referred" and source.ended_at == referral.at
            if referral.kind == "signpost":
                assert referral.to_ticket_id is None
                continue
            target = snap.tickets[referral.to_ticket_id]
            assert target.arrived_at == source.arrived_at, "handover lost the arrival time"
            assert (target.step, target.priority_from) == (source.step, source.priority_from)
            assert target.issued_at == referral.at

    @invariant()
    def events_are_numbered_without_gaps(self) -> None:
        snap = self.last
        seqs = [e.seq for e in snap.events]
        assert seqs == list(range(1, len(seqs) + 1)), "event numbers have gaps"
        assert snap.event_seq == len(seqs), "the centre's event counter disagrees"
        if not self.went_back:
            times = [e.at for e in snap.events]
            assert times == sorted(times), "events out of time order"
        issued = Tally(e.ticket_id for e in snap.events if e.kind == "ticket_issued")
        assert issued == Tally(list(snap.tickets)), "each ticket has one 'ticket_issued' event"


# -- wait estimates ----------------------------------------------------------------------


class WaitEstimateDisagrees(AssertionError):
    """A wait estimate's "people ahead" is not the number who rank before the ticket."""


class CountingAheadMachine(EngineMachine):
    """The machine plus ENGINE.md's promise about wait estimates: "people ahead are those
    waiting for the same service who rank before the ticket". Kept apart because it reads
    every waiting ticket's estimate after every step, which is slow."""

    @invariant()
    def estimates_count_who_ranks_ahead(self) -> None:
        if self.went_back:  # backfill makes "ahead" murky: skip
            return
        now = self.clock.now()
        waiting = [t for t in self.last.tickets.values() if t.state == "waiting"]
        for row in waiting:
            if row.for_counter_id is not None:
                # Sent to one counter: behind those sent there who rank before it, in that
                # counter's order.
                desk = next(c for c in self.last.counters.values() if c.id == row.for_counter_id)
                skills = [s for s in desk.skills if self.services[s].active]

                def key(t: Any, skills: list[int] = skills) -> tuple[Any, ...]:
                    return routing_key(t, skills, self.targets, now, self.factor)

                mine = key(row)
                ahead = [
                    t.number
                    for t in waiting
                    if t.for_counter_id == row.for_counter_id
                    and t.day == row.day
                    and t.id != row.id
                    and key(t) < mine
                ]
            else:
                same = [row.service_id]
                mine = routing_key(row, same, self.targets, now, self.factor)
                ahead = [
                    t.number
                    for t in waiting
                    if t.service_id == row.service_id
                    and t.for_counter_id is None
                    and t.day == row.day
                    and routing_key(t, same, self.targets, now, self.factor) < mine
                ]
            told = self.queue.ticket(row.id).wait
            if told.ahead != len(ahead):
                raise WaitEstimateDisagrees(
                    f"{row.number} is told {told.ahead} ahead, but {len(ahead)} rank before "
                    f"it: {ahead}"
                )


# -- runs ----------------------------------------------------------------------------------

# The default run keeps to QUICK (the whole suite must stay well under 10 minutes on 2
# cores); the stress run (pytest -m stress, in CI) plays THOROUGH.
QUICK = settings(
    max_examples=50,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
THOROUGH = settings(QUICK, max_examples=300, stateful_step_count=100)


def test_engine_keeps_its_promises_in_any_order_of_verbs() -> None:
    run_state_machine_as_test(EngineMachine, settings=QUICK)


def test_wait_estimate_counts_the_people_who_rank_ahead() -> None:
    run_state_machine_as_test(CountingAheadMachine, settings=settings(QUICK, max_examples=8))


@pytest.mark.stress
def test_engine_keeps_its_promises_over_long_random_days() -> None:
    run_state_machine_as_test(EngineMachine, settings=THOROUGH)


@pytest.mark.stress
def test_wait_estimate_counts_the_people_who_rank_ahead_on_many_days() -> None:
    run_state_machine_as_test(CountingAheadMachine, settings=settings(QUICK, max_examples=40))
