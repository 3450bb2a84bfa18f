"""Who a counter calls next, and how long a customer can expect to wait.

The order for a counter, best first (after any tickets sent to that counter: a transfer, a
held ticket returning, a queue a supervisor moved there, which only it calls):

1. Anyone who has waited in this queue ``starvation_factor`` times their service's target
   (twice, by default) comes first, whatever the service or priority. This is the
   starvation bound: priority customers and preferred services never keep a person
   waiting past it. The wait counts from when the ticket joined this queue (``issued_at``):
   time spent being served earlier in a journey is not waiting.
2. Then the counter's services in its order of preference (its skills).
3. Within a service, priority first (help asked for; appointments from their time).
4. Then the longest wait: the visit's original arrival, kept through journeys and
   handovers. Ticket id breaks ties, so the order is total and repeatable.

The same order is one SQL ``ORDER BY``, so the choice and the lock are one statement:
``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL, inside ``BEGIN IMMEDIATE`` on SQLite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.models import Counter, Service, Ticket

OPEN_STATES = ("open", "paused")  # paused counters are on a short break: still capacity
PRIOR_WEIGHT = 5  # how many "typical" services the measured mean has to outweigh
MEASURED = 20  # how many of today's latest services refine the typical minutes


def queue_order(
    skills: list[int], services: dict[int, Service], now: datetime, factor: float
) -> list[Any]:
    """ORDER BY terms ranking waiting tickets for a counter with these skills."""
    aged_when = []
    rank_when = []
    for rank, service_id in enumerate(skills):
        cutoff = now - timedelta(minutes=services[service_id].target_wait_minutes * factor)
        aged_when.append((col(Ticket.service_id) == service_id, col(Ticket.issued_at) <= cutoff))
        rank_when.append((col(Ticket.service_id) == service_id, rank))
    aged = sa.case(*aged_when, else_=False)
    rank_expr = sa.case(*rank_when, else_=len(skills))
    prio = sa.and_(col(Ticket.priority_from).is_not(None), col(Ticket.priority_from) <= now)
    return [
        sa.case((aged, 0), else_=1),
        sa.case((aged, 0), else_=rank_expr),
        sa.case((aged, 0), (prio, 0), else_=1),
        col(Ticket.arrived_at),
        col(Ticket.id),
    ]


def pick_next(
    session: Session,
    centre_id: int,
    counter: Counter,
    services: dict[int, Service],
    now: datetime,
    factor: float,
    day: date,
) -> Ticket | None:
    """Lock and return the ticket this counter should call, or None. Caller updates it.

    Tickets sent to this counter (a transfer, a moved queue, a held ticket returning) come
    first, in the same order among themselves; then its own queue in ``queue_order``.
    Tickets sent to another counter are never called here. Only today's tickets: a ticket
    left waiting last night is never called this morning (``Queue.close_day`` ends them)."""
    skills = [s for s in counter.skills if s in services and services[s].active]
    stmt = (
        select(Ticket)
        .where(
            Ticket.centre_id == centre_id,
            Ticket.state == "waiting",
            Ticket.day == day,
            callable_here(counter.id, skills),
            col(Ticket.changed_at) <= now,  # backfill (--at) never calls the future
        )
        .order_by(
            sa.case((col(Ticket.for_counter_id) == counter.id, 0), else_=1),
            *queue_order(skills, services, now, factor),
        )
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    return session.exec(stmt).first()


def callable_here(counter_id: int | None, skills: list[int]) -> Any:
    """WHERE term: the waiting tickets a counter may call (sent to it, or of its skills
    and not sent elsewhere)."""
    assert counter_id is not None, "a stored counter has an id"
    return sa.or_(
        col(Ticket.for_counter_id) == counter_id,
        sa.and_(col(Ticket.for_counter_id).is_(None), col(Ticket.service_id).in_(skills or [-1])),
    )


@dataclass(frozen=True)
class WaitEstimate:
    ahead: int
    minutes: int | None  # None: no counter open for this service now
    counters: float
    service_minutes: float

    def as_dict(self) -> dict[str, Any]:
        return {"ahead": self.ahead, "minutes": self.minutes, "counters": self.counters}


def rank_in_service(ticket: Ticket, now: datetime, overdue_from: datetime) -> tuple[Any, ...]:
    """``queue_order`` for tickets of one service, in Python: smaller is called sooner."""
    overdue = ticket.issued_at <= overdue_from
    priority = ticket.priority_from is not None and ticket.priority_from <= now
    return (not overdue, not (overdue or priority), ticket.arrived_at, ticket.id)


def rank_at_counter(
    ticket: Ticket, skills: list[int], services: dict[int, Service], now: datetime, factor: float
) -> tuple[Any, ...]:
    """``queue_order`` for one counter with these skills, in Python: smaller is sooner."""
    mine = ticket.service_id in skills
    target = services[ticket.service_id].target_wait_minutes if mine else 0
    aged = mine and ticket.issued_at <= now - timedelta(minutes=target * factor)
    priority = ticket.priority_from is not None and ticket.priority_from <= now
    rank = skills.index(ticket.service_id) if mine else len(skills)
    return (not aged, 0 if aged else rank, not (aged or priority), ticket.arrived_at, ticket.id)


def estimate_wait(
    session: Session,
    centre_id: int,
    ticket: Ticket,
    services: dict[int, Service],
    now: datetime,
    factor: float,
) -> WaitEstimate:
    """People ahead, times the service minutes, over the counters open for the service.

    People ahead are those waiting today for the same service who rank before the ticket
    in the call order (tickets sent to one counter are not in that queue). The typical
    service minutes from the centre file are refined by today's measured service times (a
    weighted mean, so one quick case does not swing it). A counter that has the service as
    its first skill counts whole; further down, half. A ticket sent to one counter waits
    behind the tickets sent there that rank before it, for that counter alone.
    """
    service = services[ticket.service_id]
    if ticket.for_counter_id is not None:
        return _sent_wait(session, centre_id, ticket, services, now, factor)
    overdue_from = now - timedelta(minutes=service.target_wait_minutes * factor)
    mine = rank_in_service(ticket, now, overdue_from)
    others = session.exec(
        select(Ticket).where(
            Ticket.centre_id == centre_id,
            Ticket.service_id == service.id,
            Ticket.state == "waiting",
            Ticket.day == ticket.day,
            Ticket.id != ticket.id,
            col(Ticket.for_counter_id).is_(None),
        )
    ).all()
    ahead = sum(1 for t in others if rank_in_service(t, now, overdue_from) < mine)
    capacity = 0.0
    for counter in session.exec(
        select(Counter).where(
            Counter.centre_id == centre_id,
            col(Counter.state).in_(OPEN_STATES),
            Counter.active == True,  # noqa: E712
        )
    ):
        if service.id in counter.skills:
            capacity += 1.0 if counter.skills[0] == service.id else 0.5
    minutes_each = measured_service_minutes(session, centre_id, service, ticket.day)
    if capacity == 0:
        return WaitEstimate(int(ahead), None, 0.0, minutes_each)
    minutes = math.ceil(ahead * minutes_each / capacity)
    return WaitEstimate(int(ahead), minutes, capacity, minutes_each)


def _sent_wait(
    session: Session,
    centre_id: int,
    ticket: Ticket,
    services: dict[int, Service],
    now: datetime,
    factor: float,
) -> WaitEstimate:
    desk = session.get(Counter, ticket.for_counter_id)
    assert desk is not None
    skills = [s for s in desk.skills if s in services and services[s].active]
    others = session.exec(
        select(Ticket).where(
            Ticket.centre_id == centre_id,
            Ticket.state == "waiting",
            Ticket.day == ticket.day,
            Ticket.for_counter_id == desk.id,
            Ticket.id != ticket.id,
        )
    ).all()
    mine = rank_at_counter(ticket, skills, services, now, factor)
    ahead = sum(1 for t in others if rank_at_counter(t, skills, services, now, factor) < mine)
    service = services[ticket.service_id]
    minutes_each = measured_service_minutes(session, centre_id, service, ticket.day)
    if desk.state not in OPEN_STATES or not desk.active:
        return WaitEstimate(ahead, None, 0.0, minutes_each)
    return WaitEstimate(ahead, math.ceil(ahead * minutes_each), 1.0, minutes_each)


def measured_service_minutes(
    session: Session, centre_id: int, service: Service, day: date
) -> float:
    """Typical minutes blended with today's latest measured ones for this service (the
    last ``MEASURED`` services: recent pace, and a cost that does not grow all day)."""
    rows = session.exec(
        select(Ticket.serving_at, Ticket.ended_at)
        .where(
            Ticket.centre_id == centre_id,
            Ticket.service_id == service.id,
            Ticket.day == day,
            Ticket.state == "done",
            col(Ticket.serving_at).is_not(None),
        )
        .order_by(col(Ticket.ended_at).desc())
        .limit(MEASURED)
    ).all()
    measured = [
        (end - start).total_seconds() / 60 for start, end in rows if start and end and end > start
    ]
    typical = service.typical_service_minutes
    return (typical * PRIOR_WEIGHT + sum(measured)) / (PRIOR_WEIGHT + len(measured))
