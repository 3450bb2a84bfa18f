"""Centre managers' figures for a range of days, computed in the store by SQL aggregation.

A range is local business days, first to last inclusive (tickets and visits carry their
local day, so midnight and the clock changes need no arithmetic here). Waits run from a
ticket joining its queue (arrival for a visit's first ticket, the handover for a handover)
to its first call, the earliest ``called`` event: a recall or a later call after a hold
does not shorten or lengthen it. Nothing here reads rows one by one into Python; the
percentiles are found by counting, then reading one ordered row.

Reports carry counts and durations only, never a name, a reference or a ticket number.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import Session, col, func, select

from gateway.centres import CentreView
from gateway.clock import day_start
from gateway.counters import CENTRE_CLOSED
from gateway.models import Agency, Event, Referral, Service, Ticket, Visit
from gateway.store import Store

PERCENTILES = {"median": 0.5, "p90": 0.9}
OPEN = ("waiting", "held", "called", "recalled", "serving")


@dataclass(frozen=True)
class Days:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the range ends before it starts")


def _minutes_between(dialect: str, later: Any, earlier: Any) -> Any:
    """Minutes from ``earlier`` to ``later`` as an SQL expression, on either store."""
    if dialect == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * 1440.0
    return func.extract("epoch", later - earlier) / 60.0


def summary(store: Store, centre: CentreView, days: Days) -> dict[str, Any]:
    """The headline figures: footfall, tickets, waits, service level and referrals."""
    with store.read() as session:
        return {
            "centre": centre.code,
            "from": days.first.isoformat(),
            "to": days.last.isoformat(),
            "footfall": _footfall(session, centre, days),
            "tickets": _tickets(session, centre, days),
            **_waits(session, centre, days, store.dialect),
            "referrals": _referrals(session, centre, days),
        }


def _footfall(session: Session, centre: CentreView, days: Days) -> dict[str, int]:
    start = day_start_of(days.first, centre)
    end = day_start_of(days.last + timedelta(days=1), centre)
    kinds = dict(
        session.exec(
            select(Event.kind, func.count())
            .where(
                Event.centre_id == centre.id,
                col(Event.kind).in_(("kiosk_session_started", "door_entry")),
                Event.at >= start,
                Event.at < end,
            )
            .group_by(col(Event.kind))
        ).all()
    )
    checkins = session.exec(
        select(func.count())
        .select_from(Visit)
        .where(Visit.centre_id == centre.id, Visit.day >= days.first, Visit.day <= days.last)
    ).one()
    return {
        "sessions": int(kinds.get("kiosk_session_started", 0)),
        "checkins": int(checkins),
        "door": int(kinds.get("door_entry", 0)),
    }


def day_start_of(day: date, centre: CentreView) -> datetime:
    """The instant a local business day begins (midday is never skipped by a clock change)."""
    noon = datetime.combine(day, time(12), ZoneInfo(centre.timezone))
    return day_start(noon, centre.timezone)


def _tickets(session: Session, centre: CentreView, days: Days) -> dict[str, int]:
    in_range = (Ticket.centre_id == centre.id, Ticket.day >= days.first, Ticket.day <= days.last)
    states = dict(
        session.exec(
            select(Ticket.state, func.count()).where(*in_range).group_by(col(Ticket.state))
        ).all()
    )
    # Walked out: still waiting (or at a counter) when the centre closed, so cancelled by
    # close_day with its reason.
    walked_out = session.exec(
        select(func.count())
        .select_from(Event)
        .join(Ticket, col(Ticket.id) == col(Event.ticket_id))
        .where(
            *in_range,
            Event.kind == "cancelled",
            col(Event.data)["reason"].as_string() == CENTRE_CLOSED,
        )
    ).one()
    return {
        "issued": int(sum(states.values())),
        "served": int(states.get("done", 0)),
        "no_show": int(states.get("no_show", 0)),
        "cancelled": int(states.get("cancelled", 0)) - int(walked_out),
        "walked_out": int(walked_out),
        "referred": int(states.get("referred", 0)),
        "still_open": int(sum(states.get(s, 0) for s in OPEN)),
    }


def _waits(session: Session, centre: CentreView, days: Days, dialect: str) -> dict[str, Any]:
    first_call = (
        select(Event.ticket_id, func.min(Event.at).label("first_call"))
        .where(Event.centre_id == centre.id, Event.kind == "called")
        .group_by(col(Event.ticket_id))
        .subquery()
    )
    minutes = _minutes_between(dialect, first_call.c.first_call, col(Ticket.issued_at))
    waits = (
        select(
            minutes.label("minutes"),
            col(Service.target_wait_minutes).label("target"),
        )
        .join(first_call, first_call.c.ticket_id == col(Ticket.id))
        .join(Service, col(Service.id) == col(Ticket.service_id))
        .where(Ticket.centre_id == centre.id, Ticket.day >= days.first, Ticket.day <= days.last)
        .subquery()
    )
    called, mean, longest, within = session.exec(
        select(
            func.count(),
            func.avg(waits.c.minutes),
            func.max(waits.c.minutes),
            func.sum(sa.case((waits.c.minutes <= waits.c.target, 1), else_=0)),
        ).select_from(waits)
    ).one()
    out: dict[str, Any] = {
        "wait_minutes": {
            "called": int(called),
            "mean": _round(mean),
            "median": None,
            "p90": None,
            "max": _round(longest),
        },
        "service_level": {
            "within_target": int(within or 0),
            "above_target": int(called - (within or 0)),
            "within_target_pct": round(100 * (within or 0) / called, 1) if called else None,
        },
    }
    for name, share in PERCENTILES.items():
        if called:
            rank = max(1, math.ceil(share * called))  # nearest rank
            value = session.exec(
                select(waits.c.minutes).order_by(waits.c.minutes).offset(rank - 1).limit(1)
            ).one()
            out["wait_minutes"][name] = _round(value)
    return out


def _referrals(session: Session, centre: CentreView, days: Days) -> list[dict[str, Any]]:
    source = sa.orm.aliased(Agency)
    target = sa.orm.aliased(Agency)
    rows = session.exec(
        select(source.code, target.code, Referral.kind, func.count())
        .join(Visit, col(Visit.id) == col(Referral.visit_id))
        .join(source, col(source.id) == col(Referral.from_agency_id))
        .join(target, col(target.id) == col(Referral.to_agency_id))
        .where(Referral.centre_id == centre.id, Visit.day >= days.first, Visit.day <= days.last)
        .group_by(source.code, target.code, col(Referral.kind))
        .order_by(source.code, target.code, col(Referral.kind))
    ).all()
    return [
        {"from_agency": a, "to_agency": b, "kind": kind, "count": int(n)} for a, b, kind, n in rows
    ]


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def flatten(figures: dict[str, Any]) -> list[tuple[str, Any]]:
    """``(dotted name, value)`` pairs for a table or CSV: ``wait_minutes.median``, and one
    ``referrals.FROM.TO.KIND`` row per referral route."""
    rows: list[tuple[str, Any]] = []
    for key, value in figures.items():
        if isinstance(value, dict):
            rows += [(f"{key}.{name}", inner) for name, inner in value.items()]
        elif key == "referrals":
            rows += [
                (f"referrals.{r['from_agency']}.{r['to_agency']}.{r['kind']}", r["count"])
                for r in value
            ]
        else:
            rows.append((key, value))
    return rows
