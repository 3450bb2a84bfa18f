"""Today's alerts for staff: help asked for, tickets that did not print, devices that need
someone (paper low or out, a scanner unplugged, ...), and staff locked out by wrong PINs.

They are events (the kinds in ``ALERTS``); this reads today's, newest first, each with one
plain sentence. The supervisor's screen and ``gateway alerts`` show them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from gateway.centres import CentreView
from gateway.clock import day_start
from gateway.models import Event
from gateway.status import printable
from gateway.store import Store

ALERTS = ("help_requested", "print_failed", "device_health", "staff_locked_out")
HEALTH_WORDS = {
    "paper_low": "is low on paper",
    "paper_out": "is out of paper",
    "cover_open": "has its cover open",
    "offline": "is offline",
    "unknown": "is not answering",
    "unplugged": "is unplugged",
}
HELP_WORDS = {
    "wheelchair": "wheelchair access",
    "hearing_loop": "the hearing loop",
    "interpreter": "an interpreter",
    "bsl": "a BSL interpreter",
    "other": "help",
}


@dataclass(frozen=True)
class Alert:
    seq: int
    at: datetime
    kind: str
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at.isoformat(), "kind": self.kind, "text": self.text}


def todays_alerts(store: Store, centre: CentreView, now: datetime, limit: int = 50) -> list[Alert]:
    start = day_start(now, centre.timezone)
    with store.read() as session:
        events = session.exec(
            select(Event)
            .where(Event.centre_id == centre.id, col(Event.kind).in_(ALERTS), Event.at >= start)
            .order_by(col(Event.seq).desc())
            .limit(limit * 2)
        ).all()
    out = []
    for event in events:
        text = sentence(event.kind, event.data or {})
        if text is not None:
            out.append(Alert(event.seq, event.at, event.kind, text))
    return out[:limit]


def sentence(kind: str, data: dict[str, Any]) -> str | None:
    """One sentence for staff, or None for an event that is not an alert (a device that
    is fine again). Printable as it is: the words in it came from kiosks, printers and
    staff codes, and any control characters among them are taken out."""
    text = _words(kind, data)
    return None if text is None else printable(text)


def _words(kind: str, data: dict[str, Any]) -> str | None:
    if kind == "help_requested":
        where = f" at {data['kiosk']}" if data.get("kiosk") else ""
        ticket = f" (ticket {data['number']})" if data.get("number") else ""
        return f"Someone{where} asked for {HELP_WORDS.get(data.get('help', ''), 'help')}{ticket}."
    if kind == "print_failed":
        return f"Ticket {data.get('number', '?')} did not print: {data.get('reason', '')}".rstrip()
    if kind == "device_health":
        if not data.get("alert"):
            return None
        health = str(data.get("health", ""))
        words = HEALTH_WORDS.get(health, f"is {health.replace('_', ' ')}")
        return f"{data.get('place', '?')}: the {data.get('device', 'device')} {words}."
    if kind == "staff_locked_out":
        return f"{data.get('code', 'A member of staff')} is locked out after too many wrong PINs."
    return None
