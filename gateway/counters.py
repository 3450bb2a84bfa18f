"""Counters: open, pause and close them; send a ticket or a whole queue to another counter;
and close the whole centre for the day."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from gateway.clock import business_day
from gateway.engine import Engine
from gateway.errors import NotAllowed, UnknownError
from gateway.events import EventLog
from gateway.models import Counter, Ticket, Visit
from gateway.routing import OPEN_STATES
from gateway.tickets import AT_COUNTER, TicketView

COUNTER_STATES = ("open", "paused", "closed")
CENTRE_CLOSED = "centre closed"  # the reason on tickets still open at closing time


class CounterVerbs(Engine):
    # -- counters ---------------------------------------------------------------------

    def set_counter_state(self, counter: str, state: str, *, reason: str | None = None) -> str:
        """Open, pause or close a counter. A closed counter is left out of routing and
        wait estimates; it cannot close while it still holds a ticket. A pause may give
        a reason ("break", "training"); opening or closing clears it."""
        if state not in COUNTER_STATES:
            raise UnknownError(f"'{state}' is not a counter state (open, paused or closed).")
        reason = " ".join((reason or "").split())[:80] or None
        if reason is not None and state != "paused":
            raise NotAllowed("Only a pause has a reason.")

        def work(session: Session, log: EventLog, now: datetime) -> str:
            desk = self._counter(session, counter)
            if state == "closed" and (held := self._holding(session, desk)) is not None:
                raise NotAllowed(
                    f"Counter {counter} still has {held.number}; finish with it first."
                )
            released = self._release(session, desk, now) if state == "closed" else 0
            if desk.state != state or desk.pause_reason != reason or released:
                desk.state = state
                desk.pause_reason = reason
                session.add(desk)
                log.add(
                    f"counter_{state}",
                    now,
                    counter_id=desk.id,
                    counter=desk.code,
                    reason=reason,
                    released=released or None,
                )
            return state

        return self._run(work)

    def transfer(
        self, ticket: str | int, to_counter: str, *, reason: str | None = None
    ) -> TicketView:
        """Send a ticket at a counter (or waiting) to another counter: it waits again, for
        that counter only, which calls it before its own queue. It keeps its arrival time
        and its place in the journey; the service does not change (to change the service,
        refer it)."""

        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            row = self._ticket(session, ticket, now)
            self._require(row, ("waiting", *AT_COUNTER), "transferred")
            target = self._receiving(session, to_counter)
            if row.counter_id == target.id or (
                row.state == "waiting" and row.for_counter_id == target.id
            ):
                raise NotAllowed(f"{row.number} is already at counter {target.code}.")
            self._send(log, row, target, now, reason=reason)
            session.add(row)
            return self._view(session, row)

        return self._with_wait(self._run(work))

    def move_queue(self, from_counter: str, to_counter: str) -> int:
        """A supervisor moves a counter's waiting customers to another counter (its own
        is closing or paused for long). Moved: tickets sent to that counter, and tickets
        of its services that no other open or paused counter serves (they would otherwise
        wait for nobody). Tickets another counter can still call stay in the shared queue.
        Returns how many were moved."""

        if from_counter == to_counter:
            raise NotAllowed("Choose a different counter to move the queue to.")

        def work(session: Session, log: EventLog, now: datetime) -> int:
            source = self._counter(session, from_counter)
            target = self._receiving(session, to_counter)
            others = session.exec(
                select(Counter).where(
                    Counter.centre_id == self.centre.id,
                    col(Counter.state).in_(OPEN_STATES),
                    Counter.active == True,  # noqa: E712
                    Counter.id != source.id,
                )
            ).all()
            covered = {skill for desk in others for skill in desk.skills}
            orphaned = [s for s in source.skills if s not in covered]
            day = business_day(now, self.centre.timezone)
            waiting = session.exec(
                select(Ticket)
                .where(
                    Ticket.centre_id == self.centre.id,
                    Ticket.state == "waiting",
                    Ticket.day == day,
                    col(Ticket.changed_at) <= now,
                    (col(Ticket.for_counter_id) == source.id)
                    | (
                        col(Ticket.for_counter_id).is_(None)
                        & col(Ticket.service_id).in_(orphaned or [-1])
                    ),
                )
                .order_by(col(Ticket.arrived_at), col(Ticket.id))
                .with_for_update()
            ).all()
            for row in waiting:
                self._send(log, row, target, now, reason="queue moved")
                session.add(row)
            log.add(
                "queue_moved",
                now,
                counter_id=source.id,
                counter=source.code,
                to=target.code,
                moved=len(waiting),
            )
            return len(waiting)

        return self._run(work)

    def _release(self, session: Session, desk: Counter, now: datetime) -> int:
        """A counter closing lets go of the tickets sent to it (transferred, moved, or set
        aside there): they go back to the shared queue, keeping their place, so nobody
        waits for a closed counter."""
        sent = session.exec(
            select(Ticket)
            .where(
                Ticket.centre_id == self.centre.id,
                Ticket.for_counter_id == desk.id,
                col(Ticket.state).in_(("waiting", "held")),
            )
            .with_for_update()
        ).all()
        for row in sent:
            row.for_counter_id = None
            row.changed_at = max(row.changed_at, now)
            session.add(row)
        return len(sent)

    def _receiving(self, session: Session, code: str) -> Counter:
        desk = self._counter(session, code)
        if desk.state == "closed" or not desk.active:
            raise NotAllowed(f"Counter {code} is closed; choose an open counter.")
        return desk

    def _send(
        self, log: EventLog, row: Ticket, target: Counter, now: datetime, *, reason: str | None
    ) -> None:
        from_id = row.counter_id or row.for_counter_id
        row.state = "waiting"
        row.counter_id = None
        row.for_counter_id = target.id
        row.serving_at = None  # served again from the start at the next counter
        row.changed_at = now
        from_counter = self.centre.counters[from_id].code if from_id else None
        log.add(
            "transferred",
            now,
            ticket_id=row.id,
            visit_id=row.visit_id,
            counter_id=target.id,
            number=row.number,
            counter=target.code,
            from_counter=from_counter,
            reason=reason,
        )

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
                # Walked out: still waiting (or set aside) at closing. Someone at a counter
                # was being seen; their ticket is cancelled, but they did not walk out.
                row.walked_out = row.state in ("waiting", "held")
                self._end(session, log, row, "cancelled", now, reason=CENTRE_CLOSED)
                visit = session.get(Visit, row.visit_id)
                assert visit is not None
                self._end_visit(session, log, visit, now)
            for desk in session.exec(
                select(Counter).where(Counter.centre_id == self.centre.id).with_for_update()
            ):
                if desk.staff_id is not None:  # whoever forgot to sign out is signed out
                    log.add("signed_out", now, counter_id=desk.id, staff_id=desk.staff_id)
                    desk.staff_id = None
                    session.add(desk)
                if desk.state != "closed" or desk.pause_reason is not None:
                    desk.state = "closed"
                    desk.pause_reason = None
                    session.add(desk)
                    log.add("counter_closed", now, counter_id=desk.id, counter=desk.code)
            log.add("day_closed", now, day=today.isoformat(), cancelled=len(open_tickets))
            return len(open_tickets)

        return self._run(work)
