"""The queue engine: one verb per state change, each one atomic.

Every verb runs in one writing transaction that also writes its events, so a change and
the record of it are never apart. A verb that is refused (unknown ticket, wrong state,
time out of order) raises a ``GatewayError`` with a sentence and changes nothing.

Ticket states: waiting -> called (-> recalled) -> serving -> done, plus held, no_show,
cancelled and referred. A counter holds at most one ticket at a time.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlmodel import Session, col, select

from gateway.clock import business_day
from gateway.config import HELP_KINDS
from gateway.counters import CounterVerbs
from gateway.errors import NotAllowed, NothingWaiting, UnknownError
from gateway.events import EventLog
from gateway.footfall import FootfallVerbs
from gateway.models import Counter, Ticket, Visit
from gateway.pseudonym import repeat_key, secret
from gateway.referrals import ReferralVerbs
from gateway.retention import RetentionVerbs
from gateway.routing import callable_here, pick_next
from gateway.staff import StaffVerbs
from gateway.tickets import AT_COUNTER, TicketView, find_ticket

APPOINTMENT_REF = re.compile(r"[A-Z0-9][A-Z0-9/-]{0,39}")


class Queue(ReferralVerbs, CounterVerbs, FootfallVerbs, StaffVerbs, RetentionVerbs):
    """The engine for one centre in one store. Screens, the CLI and tests call its verbs:
    the ticket verbs here, ``refer`` (referrals.py), ``set_counter_state`` and
    ``close_day`` (counters.py), and kiosk footfall and alerts (footfall.py).
    """

    # -- check in ---------------------------------------------------------------------

    def check_in(
        self,
        need: str,
        *,
        language: str = "en",
        help_needed: str | None = None,
        postcode_district: str | None = None,
        appointment_ref: str | None = None,
        appointment_at: datetime | None = None,
        consent_share: bool = False,
        kiosk: str | None = None,
    ) -> TicketView:
        """A visit arrives with a need: it gets a ticket for its journey's first service.

        Help (wheelchair, hearing loop, interpreter, BSL, other) gives priority from arrival
        and raises a ``help_requested`` alert. An appointment gives priority from its time
        (from arrival if no time is known). Numbers are unique per prefix and local day.
        """
        config = self.centre.config
        wanted = config.need(need)
        if wanted is None:
            raise UnknownError(f"'{need}' is not one of the needs at {self.centre.name}.")
        if not wanted.services:
            raise NotAllowed(f"'{need}' is answered on screen; it does not take a ticket.")
        if language not in config.centre.languages:
            offered = ", ".join(config.centre.languages)
            raise UnknownError(f"Language '{language}' is not offered here (offered: {offered}).")
        if help_needed is not None and help_needed not in HELP_KINDS:
            raise UnknownError(
                f"'{help_needed}' is not a kind of help we know (use {', '.join(HELP_KINDS)})."
            )
        district = normalise_district(postcode_district) if postcode_district else None
        if appointment_ref is not None:
            appointment_ref = appointment_ref.strip().upper()
            if not APPOINTMENT_REF.fullmatch(appointment_ref):
                raise NotAllowed(
                    "An appointment reference is 1 to 40 letters, digits, dashes or slashes; "
                    "check the letter or text message."
                )

        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            visit = Visit(
                centre_id=self.centre.id,
                day=business_day(now, self.centre.timezone),
                need=need,
                language=language,
                help_needed=help_needed,
                postcode_district=district,
                appointment_ref=appointment_ref,
                appointment_at=appointment_at,
                consent_share=consent_share,
                journey=wanted.services,
                arrived_at=now,
            )
            session.add(visit)
            session.flush()
            log.add("checked_in", now, visit_id=visit.id, need=need, language=language, kiosk=kiosk)
            priority_from = None
            if help_needed:
                priority_from = now
            elif appointment_ref:
                priority_from = appointment_at or now
            ticket = self._issue(session, log, visit, wanted.services[0], 0, now, priority_from)
            if help_needed:
                log.add(
                    "help_requested",
                    now,
                    ticket_id=ticket.id,
                    visit_id=visit.id,
                    help=help_needed,
                    number=ticket.number,
                )
            return self._view(session, ticket)

        return self._with_wait(self._run(work))

    # -- calling ----------------------------------------------------------------------

    def call_next(self, counter: str, *, staff: str | None = None) -> TicketView:
        """Call the best waiting ticket for this counter (see ``routing``).

        Two counters calling at the same instant never get the same ticket: the choice
        and the row lock are one statement (SKIP LOCKED / BEGIN IMMEDIATE). Raises
        ``NothingWaiting`` when nobody waits for the counter's services.
        """

        if not self._anyone_waiting(counter):
            raise NothingWaiting(f"Nobody is waiting for counter {counter}.")

        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            desk = self._ready_counter(session, counter)
            ticket = pick_next(
                session,
                self.centre.id,
                desk,
                self.centre.services,
                now,
                self.centre.config.centre.starvation_factor,
                business_day(now, self.centre.timezone),
            )
            if ticket is None:
                raise NothingWaiting(f"Nobody is waiting for counter {counter}.")
            return self._call(session, log, desk, ticket, now, staff)

        return self._run(work)

    def _anyone_waiting(self, code: str) -> bool:
        """A look without the write lock, so that an idle counter pressing "next" does
        not queue behind busy writers. An open counter with nobody waiting is the only
        "no"; anything else goes on to the locked path, which decides for real."""
        desk = self.centre.counter_by_code(code)
        now = self.clock.now()
        skills = [s for s in desk.skills if self.centre.services[s].active]
        with self.store.read() as session:
            state = session.exec(select(Counter.state).where(Counter.id == desk.id)).one()
            if state != "open":
                return True
            found = session.exec(
                select(Ticket.id)
                .where(
                    Ticket.centre_id == self.centre.id,
                    Ticket.state == "waiting",
                    Ticket.day == business_day(now, self.centre.timezone),
                    callable_here(desk.id, skills),
                    col(Ticket.changed_at) <= now,
                )
                .limit(1)
            ).first()
        return found is not None

    def call_ticket(
        self, counter: str, ticket: str | int, *, staff: str | None = None
    ) -> TicketView:
        """Call one particular waiting ticket to this counter, out of turn. The counter must
        serve the ticket's service (to move a visit elsewhere, refer it)."""

        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            desk = self._ready_counter(session, counter)
            row = self._ticket(session, ticket, now)
            self._require(row, ("waiting",), "called")
            if row.for_counter_id not in (None, desk.id):
                sent = self.centre.counters[row.for_counter_id].code
                raise NotAllowed(f"{row.number} was sent to counter {sent}.")
            if row.service_id not in desk.skills and row.for_counter_id != desk.id:
                service = self.centre.services[row.service_id]
                raise NotAllowed(f"Counter {counter} does not serve {service.name}.")
            return self._call(session, log, desk, row, now, staff, out_of_turn=True)

        return self._run(work)

    def _ready_counter(self, session: Session, code: str) -> Counter:
        desk = self._counter(session, code)
        if desk.state != "open":
            raise NotAllowed(f"Counter {code} is {desk.state}; open it before calling.")
        held = self._holding(session, desk)
        if held is not None:
            raise NotAllowed(
                f"Counter {code} still has {held.number}; finish with it before calling."
            )
        return desk

    def _call(
        self,
        session: Session,
        log: EventLog,
        desk: Counter,
        ticket: Ticket,
        now: datetime,
        staff: str | None,
        out_of_turn: bool = False,
    ) -> TicketView:
        ticket.state = "called"
        ticket.counter_id = desk.id
        ticket.for_counter_id = None
        ticket.called_at = now
        if ticket.first_called_at is None:
            ticket.first_called_at = now
        ticket.last_counter_id = desk.id
        ticket.recalls = 0  # recalls count per call: a held ticket called again starts afresh
        ticket.changed_at = now
        ticket.staff_id = self._staff_id(session, staff)
        session.add(ticket)
        log.add(
            "called",
            now,
            ticket_id=ticket.id,
            visit_id=ticket.visit_id,
            counter_id=desk.id,
            staff_id=ticket.staff_id,
            number=ticket.number,
            counter=desk.code,
            out_of_turn=out_of_turn or None,
            waited_s=int((now - ticket.issued_at).total_seconds()),
        )
        return self._view(session, ticket)

    def recall(self, ticket: str | int) -> TicketView:
        """Call the same ticket again to its counter (the customer did not come)."""

        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            row = self._ticket(session, ticket, now)
            self._require(row, ("called", "recalled"), "recalled")
            row.state = "recalled"
            row.recalls += 1
            row.changed_at = now
            session.add(row)
            log.add(
                "recalled",
                now,
                ticket_id=row.id,
                visit_id=row.visit_id,
                counter_id=row.counter_id,
                number=row.number,
                recalls=row.recalls,
            )
            return self._view(session, row)

        return self._run(work)

    def no_show(self, ticket: str | int) -> TicketView:
        """The customer did not come. Allowed once the ticket has been recalled the
        number of times the centre file asks (``recalls_before_no_show``)."""

        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            row = self._ticket(session, ticket, now)
            self._require(row, ("called", "recalled"), "marked no-show")
            needed = self.centre.config.centre.recalls_before_no_show
            if row.recalls < needed:
                raise NotAllowed(
                    f"{row.number} has been recalled {row.recalls} times; recall it "
                    f"{needed - row.recalls} more before marking it no-show."
                )
            self._end(session, log, row, "no_show", now)
            visit = session.get(Visit, row.visit_id)
            assert visit is not None
            self._end_visit(session, log, visit, now)
            return self._view(session, row)

        return self._run(work)

    # -- serving ----------------------------------------------------------------------

    def start_serving(self, ticket: str | int) -> TicketView:
        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            row = self._ticket(session, ticket, now)
            self._require(row, ("called", "recalled"), "served")
            row.state = "serving"
            row.serving_at = now
            row.changed_at = now
            session.add(row)
            log.add(
                "serving",
                now,
                ticket_id=row.id,
                visit_id=row.visit_id,
                counter_id=row.counter_id,
                number=row.number,
            )
            return self._view(session, row)

        return self._run(work)

    def complete(
        self, ticket: str | int, *, outcome: str | None = None, avoidable: bool = False
    ) -> tuple[TicketView, TicketView | None]:
        """Finish a ticket with an outcome. If the visit's journey has a next step, the
        visit is queued for it at once, keeping its original arrival time. Returns the
        finished ticket and the next step's ticket (or None)."""
        outcomes = {o.code for o in self.centre.config.outcomes}
        code = outcome or self.centre.config.outcomes[0].code
        if code not in outcomes:
            raise UnknownError(
                f"'{code}' is not an outcome here (use {', '.join(sorted(outcomes))})."
            )

        def work(session: Session, log: EventLog, now: datetime) -> tuple[Ticket, Ticket | None]:
            row = self._ticket(session, ticket, now)
            self._require(row, AT_COUNTER, "completed")
            if row.serving_at is None:
                row.serving_at = row.called_at
            row.outcome = code
            row.avoidable = avoidable
            self._end(session, log, row, "done", now, outcome=code, avoidable=avoidable or None)
            follow = self._next_step(session, log, row, now)
            return row, follow

        return self._run_ending(work)

    def cancel(self, ticket: str | int, *, reason: str | None = None) -> TicketView:
        """The customer left or the ticket was issued by mistake. Ends the visit."""

        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            row = self._ticket(session, ticket, now)
            self._require(row, ("waiting", "held", *AT_COUNTER), "cancelled")
            self._end(session, log, row, "cancelled", now, reason=reason)
            visit = session.get(Visit, row.visit_id)
            assert visit is not None
            self._end_visit(session, log, visit, now)
            return self._view(session, row)

        return self._run(work)

    def hold(self, ticket: str | int) -> TicketView:
        """Set a ticket aside (the customer went to fetch a document); frees the counter.
        Returned to the queue (``unhold``), it is sent back to the same counter."""

        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            row = self._ticket(session, ticket, now)
            self._require(row, ("waiting", *AT_COUNTER), "held")
            counter_id = row.counter_id
            row.state = "held"
            row.counter_id = None
            row.serving_at = None  # served again from the start when called back
            # On return it goes back to the counter that set it aside.
            row.for_counter_id = counter_id or row.for_counter_id
            row.changed_at = now
            session.add(row)
            log.add(
                "held",
                now,
                ticket_id=row.id,
                visit_id=row.visit_id,
                counter_id=counter_id,
                number=row.number,
            )
            return self._view(session, row)

        return self._run(work)

    def unhold(self, ticket: str | int) -> TicketView:
        """Return a held ticket to the queue; it keeps its original arrival time."""

        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            row = self._ticket(session, ticket, now)
            self._require(row, ("held",), "returned to the queue")
            if row.for_counter_id is not None:
                desk = session.get(Counter, row.for_counter_id)
                if desk is None or desk.state == "closed" or not desk.active:
                    row.for_counter_id = None  # that counter has gone: the shared queue
            row.state = "waiting"
            row.changed_at = now
            session.add(row)
            log.add("returned", now, ticket_id=row.id, visit_id=row.visit_id, number=row.number)
            return self._view(session, row)

        return self._with_wait(self._run(work))

    # -- looking ----------------------------------------------------------------------

    def remember(self, ticket: str | int, identifier: str, *, consent: bool) -> TicketView:
        """Keep a pseudonymous key for the ticket's visit, so reports can count repeat
        visits; only with the customer's agreement, and never the identifier itself."""
        if not consent:
            raise NotAllowed(
                "Repeat visits are counted only when the customer agrees; nothing was kept."
            )
        key = repeat_key(identifier, secret())

        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            row = self._ticket(session, ticket, now)
            visit = session.get(Visit, row.visit_id)
            assert visit is not None
            visit.repeat_key = key
            session.add(visit)
            log.add("repeat_key_kept", now, ticket_id=row.id, visit_id=visit.id)
            return self._view(session, row)

        return self._run(work)

    def ticket(self, ref: str | int) -> TicketView:
        """Look a ticket up by today's number or id, with its wait estimate if waiting."""
        day = business_day(self.clock.now(), self.centre.timezone)
        with self.store.read() as session:
            view = self._view(session, find_ticket(session, self.centre, ref, day))
        return self._with_wait(view)

    def visit_language(self, ticket: TicketView) -> str:
        """The language the customer chose for this ticket's visit (for a reprint)."""
        with self.store.read() as session:
            language = session.exec(
                select(Visit.language).where(Visit.id == ticket.visit_id)
            ).first()
            return language or "en"


def normalise_district(text: str) -> str:
    """A postcode district: the outward code only ("ME14 1XX" -> "ME14"), upper case."""
    district = text.strip().upper().split()[0] if text.strip() else ""
    if not (2 <= len(district) <= 4 and district[0].isalpha() and district.isalnum()):
        raise UnknownError(f"'{text}' does not look like a postcode district (like ME14).")
    return district


__all__ = ["Queue", "TicketView", "normalise_district"]
