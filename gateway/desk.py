"""What a counter desk shows: the counter's state and who is signed in, the ticket in hand
with the visit's journey so far and any referral notes, and the queue this counter calls
from, in the order it will call it.

Read-only. The desk follows the event log after a cursor and reads this again when
something happens (``gateway.events.wait_for_events``), never on a timer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from gateway.centres import CentreView
from gateway.clock import business_day
from gateway.errors import UnknownError
from gateway.models import Counter, Event, Referral, Staff, Ticket, Visit
from gateway.routing import callable_here, queue_order
from gateway.store import Store
from gateway.tickets import AT_COUNTER, TicketView, describe

SHOWN_WAITING = 40


@dataclass(frozen=True)
class JourneyStep:
    number: str
    service_name: str
    agency_name: str
    state: str
    outcome: str | None
    counter: str | None
    current: bool


@dataclass(frozen=True)
class ReferralNote:
    from_agency: str
    to_service: str
    kind: str  # handover | signpost
    reason: str | None
    consent: bool
    at: datetime
    # The reason was written by another agency and the customer did not agree to share
    # their details: it stays with the agency that wrote it.
    withheld: bool = False


@dataclass(frozen=True)
class InHand:
    """The ticket at this counter, and what staff need to know about the visit."""

    ticket: TicketView
    need: str  # the need as the customer chose it, in English
    language: str
    help_needed: str | None
    appointment_ref: str | None
    postcode_district: str | None
    consent_share: bool
    waited_minutes: int  # in this queue, until called
    since_arrival_minutes: int
    journey: list[JourneyStep]  # every ticket of the visit so far, then the steps to come
    to_come: list[str]  # service names of the journey's later steps
    referrals: list[ReferralNote]


@dataclass(frozen=True)
class Waiting:
    number: str
    service_name: str
    waited_minutes: int
    target_minutes: int
    priority: bool
    help_needed: str | None
    sent_here: bool  # transferred or moved to this counter

    @property
    def overdue(self) -> bool:
        return self.waited_minutes >= self.target_minutes


@dataclass(frozen=True)
class DeskState:
    counter: str
    counter_name: str
    state: str  # open | paused | closed
    pause_reason: str | None
    staff: str | None  # the code of who is signed in
    staff_name: str | None
    services: list[str]  # the names of the services it serves, in its order
    in_hand: InHand | None
    waiting: list[Waiting]  # in call order, the first SHOWN_WAITING
    waiting_total: int
    held: list[str]  # numbers of tickets set aside here, to return to the queue
    at: datetime
    cursor: int


def desk_state(store: Store, centre: CentreView, counter: str, now: datetime) -> DeskState:
    known = centre.counter_by_code(counter)
    day = business_day(now, centre.timezone)
    services = centre.services
    factor = centre.config.centre.starvation_factor
    with store.read() as session:
        cursor = session.exec(select(func.max(Event.seq)).where(Event.centre_id == centre.id)).one()
        desk = session.exec(select(Counter).where(Counter.id == known.id)).one()
        staff = session.get(Staff, desk.staff_id) if desk.staff_id else None
        held = session.exec(
            select(Ticket).where(Ticket.counter_id == desk.id, col(Ticket.state).in_(AT_COUNTER))
        ).first()
        in_hand = _in_hand(session, centre, held, now) if held is not None else None
        skills = [s for s in desk.skills if s in services and services[s].active]
        mine = (
            Ticket.centre_id == centre.id,
            Ticket.state == "waiting",
            Ticket.day == day,
            callable_here(desk.id, skills),
            col(Ticket.changed_at) <= now,
        )
        total = session.exec(select(func.count()).select_from(Ticket).where(*mine)).one()
        rows = session.exec(
            select(Ticket, Visit.help_needed)
            .join(Visit, col(Visit.id) == col(Ticket.visit_id))
            .where(*mine)
            .order_by(
                sa.case((col(Ticket.for_counter_id) == desk.id, 0), else_=1),
                *queue_order(skills, services, now, factor),
            )
            .limit(SHOWN_WAITING)
        ).all()
        held_here = session.exec(
            select(Ticket.number)
            .where(
                Ticket.centre_id == centre.id,
                Ticket.state == "held",
                Ticket.day == day,
                Ticket.for_counter_id == desk.id,
            )
            .order_by(col(Ticket.changed_at), col(Ticket.id))
        ).all()
    waiting = [
        Waiting(
            number=t.number,
            service_name=services[t.service_id].name,
            waited_minutes=_minutes(now - t.issued_at),
            target_minutes=services[t.service_id].target_wait_minutes,
            priority=t.priority_from is not None and t.priority_from <= now,
            help_needed=help_needed,
            sent_here=t.for_counter_id == desk.id,
        )
        for t, help_needed in rows
    ]
    return DeskState(
        counter=desk.code,
        counter_name=desk.name,
        state=desk.state,
        pause_reason=desk.pause_reason,
        staff=staff.code if staff else None,
        staff_name=staff.name if staff else None,
        services=[services[s].name for s in desk.skills if s in services],
        in_hand=in_hand,
        waiting=waiting,
        waiting_total=total,
        held=list(held_here),
        at=now,
        cursor=cursor or 0,
    )


def _in_hand(session: Session, centre: CentreView, held: Ticket, now: datetime) -> InHand:
    visit = session.get(Visit, held.visit_id)
    assert visit is not None
    tickets = session.exec(
        select(Ticket).where(Ticket.visit_id == visit.id).order_by(col(Ticket.id))
    ).all()
    journey = []
    for t in tickets:
        service = centre.services[t.service_id]
        counter = centre.counters.get(t.counter_id or 0)
        journey.append(
            JourneyStep(
                number=t.number,
                service_name=service.name,
                agency_name=centre.agencies[service.agency_id].name,
                state=t.state,
                outcome=t.outcome,
                counter=counter.code if counter else None,
                current=t.id == held.id,
            )
        )
    to_come = []
    for code in visit.journey[held.step + 1 :]:
        try:
            to_come.append(centre.service_by_code(code).name)
        except UnknownError:  # a service since taken out of the centre file
            to_come.append(code)
    here = centre.services[held.service_id].agency_id
    referrals = [
        ReferralNote(
            from_agency=centre.agencies[r.from_agency_id].name,
            to_service=centre.services[r.to_service_id].name,
            kind=r.kind,
            reason=r.reason if _shared(r, here) else None,
            consent=r.consent_share,
            at=r.at,
            withheld=bool(r.reason) and not _shared(r, here),
        )
        for r in session.exec(
            select(Referral).where(Referral.visit_id == visit.id).order_by(col(Referral.id))
        ).all()
    ]
    need = centre.config.need(visit.need)
    called = held.called_at or now
    return InHand(
        ticket=describe(centre, held),
        need=need.text if need else visit.need,
        language=visit.language,
        help_needed=visit.help_needed,
        appointment_ref=visit.appointment_ref,
        postcode_district=visit.postcode_district,
        consent_share=visit.consent_share,
        waited_minutes=_minutes(called - held.issued_at),
        since_arrival_minutes=_minutes(now - visit.arrived_at),
        journey=journey,
        to_come=to_come,
        referrals=referrals,
    )


def _shared(referral: Referral, agency_id: int) -> bool:
    """Whether this agency may read the referral's reason: its own, or the customer agreed."""
    return referral.consent_share or referral.from_agency_id == agency_id


def _minutes(span: timedelta) -> int:
    return max(0, int(span.total_seconds() // 60))
