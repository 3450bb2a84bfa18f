"""The room right now: who waits for what and for how long, and who is at which counter.

Also ``printable``: stored text (a pause reason, a staff name, a device's detail) as a
terminal may show it, for every screen and command that prints what someone typed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from gateway.centres import CentreView
from gateway.clock import business_day
from gateway.models import Counter, DeviceHealth, Staff, Ticket
from gateway.store import Store
from gateway.tickets import AT_COUNTER

# Line breaks and tabs become spaces (a reason shows on its own line, and cannot forge the
# lines after it); every other C0 and C1 control, DEL, and the bidi overrides go.
_AS_SPACE = (0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x1F, 0x85, 0x2028, 0x2029)
_UNSHOWN: dict[int, str | None] = {
    code: None
    for code in (
        *range(0x20),
        0x7F,
        *range(0x80, 0xA0),
        *range(0x202A, 0x202F),
        *range(0x2066, 0x206A),
    )
} | {code: " " for code in _AS_SPACE}


def printable(text: str) -> str:
    """``text`` made safe to show on a terminal, on one line: control characters (ESC
    and the C1 CSI begin sequences that retitle, clear or reprogram a terminal; plain
    ``print`` and Textual pass them through) are removed, line breaks and tabs become
    spaces. Everything else is kept as typed. Show the result as plain text (a Rich
    ``Text``), never as markup."""
    return text.translate(_UNSHOWN)


@dataclass(frozen=True)
class ServiceQueue:
    service: str
    service_name: str
    agency: str
    waiting: int
    priority: int
    held: int
    longest_wait_minutes: int
    target_wait_minutes: int
    next: str | None


@dataclass(frozen=True)
class CounterNow:
    counter: str
    name: str
    state: str
    ticket: str | None
    ticket_state: str | None
    service: str | None
    since_minutes: int | None
    pause_reason: str | None = None
    staff: str | None = None  # the code of who is signed in
    staff_name: str | None = None
    sent: int = 0  # waiting tickets sent to this counter (transfers, moved queues)


@dataclass(frozen=True)
class DeviceNow:
    """The last known health of a device at the edge, and when it was last checked."""

    place: str
    device: str
    health: str
    detail: str | None
    spec: str
    since_minutes: int  # in this health
    checked_minutes: int  # since it was last asked


@dataclass(frozen=True)
class RoomStatus:
    centre: str
    at: datetime
    queues: list[ServiceQueue]
    counters: list[CounterNow]
    devices: list[DeviceNow]

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["at"] = self.at.isoformat()
        return out


def room_status(store: Store, centre: CentreView, now: datetime) -> RoomStatus:
    """Today's room: tickets left open from an earlier day are never called, so not shown."""
    with store.read() as session:
        tickets = session.exec(
            select(Ticket).where(
                Ticket.centre_id == centre.id,
                col(Ticket.state).in_(("waiting", "held", *AT_COUNTER)),
                Ticket.day == business_day(now, centre.timezone),
            )
        ).all()
        counters = session.exec(
            select(Counter).where(Counter.centre_id == centre.id, Counter.active == True)  # noqa: E712
        ).all()
        staff = {
            s.id: s
            for s in session.exec(
                select(Staff).where(
                    col(Staff.id).in_([c.staff_id for c in counters if c.staff_id is not None])
                )
            )
        }
        health = session.exec(
            select(DeviceHealth)
            .where(DeviceHealth.centre_id == centre.id)
            .order_by(col(DeviceHealth.place), col(DeviceHealth.device))
        ).all()
    queues = []
    for service in sorted(centre.services.values(), key=lambda s: s.code):
        mine = [t for t in tickets if t.service_id == service.id]
        waiting = sorted(
            (t for t in mine if t.state == "waiting"), key=lambda t: (t.arrived_at, t.id or 0)
        )
        if not mine and not service.active:
            continue
        # A wait runs from joining this queue (arrival, or a handover), as in the reports.
        longest = max(((now - t.issued_at).total_seconds() for t in waiting), default=0)
        queues.append(
            ServiceQueue(
                service=service.code,
                service_name=service.name,
                agency=centre.agencies[service.agency_id].code,
                waiting=len(waiting),
                priority=sum(
                    1 for t in waiting if t.priority_from is not None and t.priority_from <= now
                ),
                held=sum(1 for t in mine if t.state == "held"),
                longest_wait_minutes=int(longest // 60),
                target_wait_minutes=service.target_wait_minutes,
                next=waiting[0].number if waiting else None,
            )
        )
    at_counter = {t.counter_id: t for t in tickets if t.state in AT_COUNTER}
    rows = []
    for counter in sorted(counters, key=lambda c: _natural(c.code)):
        held = at_counter.get(counter.id)
        person = staff.get(counter.staff_id) if counter.staff_id else None
        since = None
        if held is not None:
            started = held.serving_at or held.called_at or held.changed_at
            since = int((now - started).total_seconds() // 60)
        rows.append(
            CounterNow(
                counter=counter.code,
                name=counter.name,
                state=counter.state,
                ticket=held.number if held else None,
                ticket_state=held.state if held else None,
                service=centre.services[held.service_id].code if held else None,
                since_minutes=since,
                pause_reason=counter.pause_reason,
                staff=person.code if person else None,
                staff_name=person.name if person else None,
                sent=sum(
                    1 for t in tickets if t.state == "waiting" and t.for_counter_id == counter.id
                ),
            )
        )
    devices = [
        DeviceNow(
            place=d.place,
            device=d.device,
            health=d.health,
            detail=d.detail,
            spec=d.spec,
            since_minutes=max(0, int((now - d.changed_at).total_seconds() // 60)),
            checked_minutes=max(0, int((now - d.checked_at).total_seconds() // 60)),
        )
        for d in health
    ]
    return RoomStatus(centre=centre.code, at=now, queues=queues, counters=rows, devices=devices)


def _natural(code: str) -> tuple[int, str]:
    digits = "".join(ch for ch in code if ch.isdigit())
    return (int(digits) if digits else 0, code)
