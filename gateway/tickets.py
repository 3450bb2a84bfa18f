"""Tickets as plain data for screens, the CLI and printers, and finding one by reference."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, select

from gateway.centres import CentreView
from gateway.errors import UnknownError
from gateway.models import Ticket
from gateway.routing import WaitEstimate

AT_COUNTER = ("called", "recalled", "serving")
ENDED = ("done", "no_show", "cancelled", "referred")
STATES = ("waiting", "held", *AT_COUNTER, *ENDED)


@dataclass(frozen=True)
class TicketView:
    id: int
    number: str
    service: str
    service_name: str
    agency: str
    agency_name: str
    state: str
    counter: str | None
    visit_id: int
    day: date
    arrived_at: datetime
    issued_at: datetime
    priority: bool
    recalls: int
    outcome: str | None
    wait: WaitEstimate | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["day"] = self.day.isoformat()
        out["arrived_at"] = self.arrived_at.isoformat()
        out["issued_at"] = self.issued_at.isoformat()
        out["wait"] = self.wait.as_dict() if self.wait else None
        return out


def describe(centre: CentreView, ticket: Ticket, wait: WaitEstimate | None = None) -> TicketView:
    service = centre.services[ticket.service_id]
    agency = centre.agencies[service.agency_id]
    counter = centre.counters[ticket.counter_id].code if ticket.counter_id else None
    assert ticket.id is not None
    return TicketView(
        id=ticket.id,
        number=ticket.number,
        service=service.code,
        service_name=service.name,
        agency=agency.code,
        agency_name=agency.name,
        state=ticket.state,
        counter=counter,
        visit_id=ticket.visit_id,
        day=ticket.day,
        arrived_at=ticket.arrived_at,
        issued_at=ticket.issued_at,
        priority=ticket.priority_from is not None,
        recalls=ticket.recalls,
        outcome=ticket.outcome,
        wait=wait,
    )


def find_ticket(
    session: Session, centre: CentreView, ref: str | int, day: date, *, lock: bool = False
) -> Ticket:
    """A ticket by today's number (``C014``, any case) or by its id (digits)."""
    text = str(ref).strip()
    stmt = select(Ticket).where(Ticket.centre_id == centre.id)
    if text.isdigit():
        stmt = stmt.where(Ticket.id == int(text))
    else:
        stmt = stmt.where(Ticket.day == day, Ticket.number == text.upper())
    if lock:
        stmt = stmt.with_for_update()
    ticket = session.exec(stmt).first()
    if ticket is None:
        raise UnknownError(f"There is no ticket {text or '(blank)'} at {centre.name} today.")
    return ticket
