"""The machinery every queue verb runs on: one writing transaction per verb, the clock
read once the transaction holds its lock, the verb's events written in the same
transaction, and the shared steps (find a ticket, issue one, end one, move a journey on).

The verbs themselves live in ``queue.py`` (tickets), ``referrals.py`` and ``counters.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from sqlmodel import Session, col, select

from gateway.centres import CentreView, open_centre
from gateway.clock import Clock, WallClock, business_day
from gateway.errors import NotAllowed, OutOfOrder
from gateway.events import EventLog, log_events
from gateway.models import Counter, Event, Staff, Ticket, Visit
from gateway.numbering import format_number, next_number
from gateway.routing import estimate_wait
from gateway.store import Store
from gateway.tickets import AT_COUNTER, TicketView, describe, find_ticket

R = TypeVar("R")


class _ClockBehind(Exception):
    """Internal: the wall-clock time read for a change is older than the ticket's last
    change (another writer committed in between). The change is tried again."""


class Engine:
    """The engine for one centre in one store; ``Queue`` adds the verbs.

    ``actor`` says who acts ("kiosk-1", "cli", a staff code) and goes on every event.
    """

    def __init__(
        self,
        store: Store,
        centre: str | CentreView | None = None,
        *,
        clock: Clock | None = None,
        actor: str | None = None,
    ) -> None:
        self.store = store
        self.centre = centre if isinstance(centre, CentreView) else open_centre(store, centre)
        self.clock = clock or WallClock()
        self.actor = actor

    # -- helpers ----------------------------------------------------------------------

    def _run(self, work: Callable[[Session, EventLog, datetime], R]) -> R:
        written: list[Event] = []

        def attempt(session: Session) -> R:
            # Begin first (on SQLite, BEGIN IMMEDIATE waits for the lock), then read the
            # clock: a wall-clock time read before waiting could predate the change that
            # was committed meanwhile.
            session.connection()
            log = EventLog(self.centre.id, actor=self.actor)
            result = work(session, log, self.clock.now())
            written[:] = log.flush(session)
            return result

        for _ in range(3):
            try:
                result: R = self.store.retrying(attempt)
                log_events(self.centre.code, written)  # committed: now it happened
                return result
            except _ClockBehind:
                continue  # another writer committed after we read the wall clock: again
        raise OutOfOrder("The clock seems to be running behind the store; try again.")

    def _run_ending(
        self, work: Callable[[Session, EventLog, datetime], tuple[Ticket, Ticket | None]]
    ) -> tuple[TicketView, TicketView | None]:
        """Run a verb that ends a ticket and may queue the visit's next one; the next one
        comes back with its wait estimate."""

        def viewed(
            session: Session, log: EventLog, now: datetime
        ) -> tuple[TicketView, TicketView | None]:
            ended, follow = work(session, log, now)
            return self._view(session, ended), (self._view(session, follow) if follow else None)

        done, follow = self._run(viewed)
        return done, (self._with_wait(follow) if follow else None)

    def _view(self, session: Session, ticket: Ticket) -> TicketView:
        return describe(self.centre, ticket)

    def _with_wait(self, view: TicketView) -> TicketView:
        """Add the wait estimate to a waiting ticket, read after the change committed so
        that writers never hold the lock for it."""
        if view.state != "waiting":
            return view
        now = self.clock.now()
        with self.store.read() as session:
            ticket = session.get(Ticket, view.id)
            assert ticket is not None
            factor = self.centre.config.centre.starvation_factor
            services = self.centre.services
            wait = estimate_wait(session, self.centre.id, ticket, services, now, factor)
        return replace(view, wait=wait)

    def _ticket(self, session: Session, ref: str | int, now: datetime) -> Ticket:
        day = business_day(now, self.centre.timezone)
        ticket = find_ticket(session, self.centre, ref, day, lock=True)
        if ticket.changed_at > now:
            if isinstance(self.clock, WallClock):
                raise _ClockBehind
            raise OutOfOrder(
                f"{ticket.number} last changed at {self._local(ticket.changed_at)}; "
                "an earlier time would put its history out of order."
            )
        return ticket

    def _local(self, at: datetime) -> str:
        from zoneinfo import ZoneInfo

        return at.astimezone(ZoneInfo(self.centre.timezone)).strftime("%Y-%m-%d %H:%M:%S")

    def _counter(self, session: Session, code: str) -> Counter:
        counter_id = self.centre.counter_by_code(code).id
        counter = session.exec(
            select(Counter).where(Counter.id == counter_id).with_for_update()
        ).one()
        return counter

    def _staff_id(self, session: Session, staff: str | None) -> int | None:
        if staff is None:
            return None
        row = session.exec(
            select(Staff).where(Staff.centre_id == self.centre.id, Staff.code == staff)
        ).first()
        if row is None:
            row = Staff(centre_id=self.centre.id, code=staff, name=staff)
            session.add(row)
            session.flush()
        return row.id

    @staticmethod
    def _require(ticket: Ticket, allowed: tuple[str, ...], verb: str) -> None:
        if ticket.state not in allowed:
            raise NotAllowed(
                f"{ticket.number} is {ticket.state.replace('_', '-')}, so it cannot be {verb}."
            )

    def _holding(self, session: Session, counter: Counter) -> Ticket | None:
        return session.exec(
            select(Ticket).where(Ticket.counter_id == counter.id, col(Ticket.state).in_(AT_COUNTER))
        ).first()

    def _issue(
        self,
        session: Session,
        log: EventLog,
        visit: Visit,
        service_code: str,
        step: int,
        now: datetime,
        priority_from: datetime | None,
    ) -> Ticket:
        """A new waiting ticket for ``visit`` at a service, keeping the visit's arrival."""
        service = self.centre.service_by_code(service_code)
        assert service.id is not None and visit.id is not None
        day = business_day(now, self.centre.timezone)
        seq = next_number(session, self.centre.id, service.id, day)
        ticket = Ticket(
            centre_id=self.centre.id,
            visit_id=visit.id,
            service_id=service.id,
            day=day,
            seq=seq,
            number=format_number(service.prefix, seq),
            step=step,
            priority_from=priority_from,
            arrived_at=visit.arrived_at,
            issued_at=now,
            changed_at=now,
        )
        session.add(ticket)
        session.flush()
        log.add(
            "ticket_issued",
            now,
            ticket_id=ticket.id,
            visit_id=visit.id,
            number=ticket.number,
            service=service.code,
            step=step,
        )
        return ticket

    def _end(
        self,
        session: Session,
        log: EventLog,
        ticket: Ticket,
        state: str,
        now: datetime,
        **data: Any,
    ) -> None:
        counter_id = ticket.counter_id
        ticket.state = state
        ticket.ended_at = now
        ticket.changed_at = now
        ticket.counter_id = None
        session.add(ticket)
        log.add(
            state,
            now,
            ticket_id=ticket.id,
            visit_id=ticket.visit_id,
            counter_id=counter_id,
            number=ticket.number,
            **data,
        )

    def _next_step(
        self, session: Session, log: EventLog, ticket: Ticket, now: datetime
    ) -> Ticket | None:
        """Queue the visit's next journey step, or end the visit if there is none."""
        visit = session.get(Visit, ticket.visit_id)
        assert visit is not None
        if ticket.step + 1 < len(visit.journey):
            prio = visit.arrived_at if visit.help_needed else None
            return self._issue(
                session, log, visit, visit.journey[ticket.step + 1], ticket.step + 1, now, prio
            )
        self._end_visit(session, log, visit, now)
        return None

    def _end_visit(self, session: Session, log: EventLog, visit: Visit, now: datetime) -> None:
        visit.ended_at = now
        session.add(visit)
        log.add("visit_ended", now, visit_id=visit.id)
