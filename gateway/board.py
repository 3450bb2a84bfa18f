"""What the waiting-room board shows: the latest calls, and how many wait per agency.

Read from the event log (``called`` and ``recalled`` today) and today's waiting tickets.
The board follows the log after a cursor and reads this again when something happens; it
never writes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, func, select

from gateway.centres import CentreView
from gateway.clock import business_day, day_start
from gateway.models import Event, Ticket, Visit
from gateway.store import Store

CALL_KINDS = ("called", "recalled")
LATEST_CALLS = 8


@dataclass(frozen=True)
class BoardCall:
    seq: int
    number: str
    counter: str
    counter_name: str
    at: datetime
    recall: bool
    language: str


@dataclass(frozen=True)
class BoardState:
    centre: str
    timezone: str
    at: datetime
    calls: list[BoardCall]  # newest first
    waiting: list[tuple[str, int]]  # (agency name, people waiting), in the centre file's order
    messages: list[str]
    cursor: int  # the last event seen: follow the log after it


def board_state(
    store: Store, centre: CentreView, now: datetime, limit: int = LATEST_CALLS
) -> BoardState:
    day = business_day(now, centre.timezone)
    with store.read() as session:
        cursor = session.exec(select(func.max(Event.seq)).where(Event.centre_id == centre.id)).one()
        events = session.exec(
            select(Event)
            .where(
                Event.centre_id == centre.id,
                col(Event.kind).in_(CALL_KINDS),
                Event.at >= day_start(now, centre.timezone),
            )
            .order_by(col(Event.seq).desc())
            .limit(limit * 4)
        ).all()
        visits = {e.visit_id for e in events if e.visit_id is not None}
        languages = dict(
            session.exec(select(Visit.id, Visit.language).where(col(Visit.id).in_(visits))).all()
        )
        waiting_rows = session.exec(
            select(Ticket.service_id, func.count())
            .where(
                Ticket.centre_id == centre.id,
                Ticket.state == "waiting",
                Ticket.day == day,
            )
            .group_by(col(Ticket.service_id))
        ).all()
    calls: list[BoardCall] = []
    shown: set[str] = set()
    for event in events:  # newest first; each ticket once, at its latest call
        counter = centre.counters.get(event.counter_id or 0)
        data = event.data or {}
        number = str(data.get("number", ""))
        if number in shown or len(calls) == limit:
            continue
        shown.add(number)
        calls.append(
            BoardCall(
                seq=event.seq,
                number=number,
                counter=counter.code if counter else "",
                counter_name=counter.name if counter else "",
                at=event.at,
                recall=event.kind == "recalled",
                language=languages.get(event.visit_id or 0, "en"),
            )
        )
    per_agency: dict[str, int] = {}
    for service_id, count in waiting_rows:
        agency = centre.agencies[centre.services[service_id].agency_id]
        per_agency[agency.code] = per_agency.get(agency.code, 0) + count
    waiting = [(a.short_name or a.name, per_agency.get(a.code, 0)) for a in centre.config.agencies]
    return BoardState(
        centre=centre.name,
        timezone=centre.timezone,
        at=now,
        calls=calls,
        waiting=waiting,
        messages=list(centre.config.centre.board_messages),
        cursor=cursor or 0,
    )
