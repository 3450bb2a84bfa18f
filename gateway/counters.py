"""Counters: open, pause and close them, and close the whole centre for the day."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from gateway.clock import business_day
from gateway.engine import Engine
from gateway.errors import NotAllowed, UnknownError
from gateway.events import EventLog
from gateway.models import Counter, Ticket, Visit
from gateway.tickets import AT_COUNTER

COUNTER_STATES = ("open", "paused", "closed")


class CounterVerbs(Engine):
    # -- counters ---------------------------------------------------------------------

    def set_counter_state(self, counter: str, state: str) -> str:
        """Open, pause or close a counter. A closed counter is left out of routing and
        wait estimates; it cannot close while it still holds a ticket."""
        if state not in COUNTER_STATES:
            raise UnknownError(f"'{state}' is not a counter state (open, paused or closed).")

        def work(session: Session, log: EventLog, now: datetime) -> str:
            desk = self._counter(session, counter)
            if state == "closed" and (held := self._holding(session, desk)) is not None:
                raise NotAllowed(
                    f"Counter {counter} still has {held.number}; finish with it first."
                )
            if desk.state != state:
                desk.state = state
                session.add(desk)
                log.add(f"counter_{state}", now, counter_id=desk.id, counter=desk.code)
            return state

        return self._run(work)

    def close_day(self) -> int:
        """The centre closes: every ticket of today or earlier still waiting, held or at a
        counter is cancelled ("centre closed"), its visit ends, and all counters close.
        Returns how many tickets it ended. Idempotent: running it again ends nothing."""

        def work(session: Session, log: EventLog, now: datetime) -> int:
            today = business_day(now, self.centre.timezone)
            open_tickets = session.exec(
                select(Ticket)
                .where(
                    Ticket.centre_id == self.centre.id,
                    col(Ticket.state).in_(("waiting", "held", *AT_COUNTER)),
                    Ticket.day <= today,
                    col(Ticket.changed_at) <= now,
                )
                .order_by(col(Ticket.id))
                .with_for_update()
            ).all()
            for row in open_tickets:
                self._end(session, log, row, "cancelled", now, reason="centre closed")
                visit = session.get(Visit, row.visit_id)
                assert visit is not None
                self._end_visit(session, log, visit, now)
            for desk in session.exec(
                select(Counter).where(Counter.centre_id == self.centre.id).with_for_update()
            ):
                if desk.state != "closed":
                    desk.state = "closed"
                    session.add(desk)
                    log.add("counter_closed", now, counter_id=desk.id, counter=desk.code)
            log.add("day_closed", now, day=today.isoformat(), cancelled=len(open_tickets))
            return len(open_tickets)

        return self._run(work)
