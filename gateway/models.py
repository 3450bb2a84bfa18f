"""The store's tables (SQLModel). Nothing here is ever deleted: reports read it all.

Times are timezone-aware UTC (``UTCDateTime``); ``day`` columns are the centre's local
business day, so the clock change in spring or autumn changes nothing.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; times must be aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def _when(nullable: bool = False) -> Any:
    return Field(default=None, sa_type=UTCDateTime, nullable=nullable)


def _json() -> Any:
    return Field(default=None, sa_type=sa.JSON, nullable=True)


class Centre(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(unique=True, max_length=40)
    name: str
    timezone: str
    # The validated centre file, as JSON: needs, journeys, translations, questions.
    config: dict[str, Any] = Field(sa_type=sa.JSON)
    # Gap-free, commit-ordered event numbers: bumped in each writing transaction.
    event_seq: int = 0
    loaded_at: datetime | None = _when()


class Agency(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("centre_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    code: str = Field(max_length=40)
    name: str
    active: bool = True


class Service(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("centre_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    agency_id: int = Field(foreign_key="agency.id")
    code: str = Field(max_length=40)
    name: str
    prefix: str = Field(max_length=2)
    target_wait_minutes: int
    typical_service_minutes: float
    active: bool = True


class Counter(SQLModel, table=True):
    __table_args__ = (sa.UniqueConstraint("centre_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    code: str = Field(max_length=40)
    name: str
    # Service ids in order of preference (the counter's skills).
    skills: list[int] = Field(default_factory=list, sa_type=sa.JSON)
    state: str = "closed"  # open | paused | closed
    active: bool = True
    # Why it is paused ("break", "training", ...), shown to the room's supervisor.
    pause_reason: str | None = Field(default=None, max_length=80)
    # Who is signed in at it now (one person at a time; several agencies may share it).
    staff_id: int | None = Field(default=None, foreign_key="staff.id")


class Staff(SQLModel, table=True):
    """A member of staff. The PIN is kept only as a salted scrypt hash (``gateway.staff``);
    five wrong PINs in a row lock the account until ``locked_until``."""

    __table_args__ = (sa.UniqueConstraint("centre_id", "code"),)
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    code: str = Field(max_length=40)
    name: str
    active: bool = True
    role: str = Field(default="counter", max_length=20)  # counter | supervisor
    agency: str | None = Field(default=None, max_length=40)  # an agency code, for reports
    pin_hash: str | None = Field(default=None, max_length=200)
    failed_pins: int = 0
    locked_until: datetime | None = _when(nullable=True)


class Visit(SQLModel, table=True):
    __table_args__ = (
        sa.Index("ix_visit_centre_day", "centre_id", "day"),
        sa.Index("ix_visit_repeat_key", "centre_id", "repeat_key"),
    )
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    day: date = Field(index=True)
    need: str
    language: str = "en"
    help_needed: str | None = None
    postcode_district: str | None = Field(default=None, max_length=8)
    appointment_ref: str | None = None
    appointment_at: datetime | None = _when(nullable=True)
    consent_share: bool = False
    # A pseudonymous key (a keyed hash of an identifier the customer chose to give), kept
    # only with their consent, so reports can count repeat visits without knowing who.
    repeat_key: str | None = Field(default=None, max_length=64)
    # Service codes of the journey, in order; copied at check-in so later edits of the
    # centre file do not change a visit already in the building.
    journey: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    arrived_at: datetime = _when()
    ended_at: datetime | None = _when(nullable=True)


class Ticket(SQLModel, table=True):
    __table_args__ = (
        sa.UniqueConstraint("centre_id", "service_id", "day", "seq"),
        sa.Index("ix_ticket_queue", "centre_id", "state", "service_id"),
        sa.Index("ix_ticket_number", "centre_id", "day", "number"),
    )
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id")
    visit_id: int = Field(foreign_key="visit.id", index=True)
    service_id: int = Field(foreign_key="service.id")
    day: date
    seq: int
    number: str = Field(max_length=8)
    state: str = "waiting"
    # The journey step this ticket stands for (a handover keeps the step it replaced).
    step: int = 0
    # Priority applies from this time (arrival for help, the appointment's time for an
    # appointment); None for no priority.
    priority_from: datetime | None = _when(nullable=True)
    # The visit's arrival: queue order, kept through journeys and handovers.
    arrived_at: datetime = _when()
    issued_at: datetime = _when()
    called_at: datetime | None = _when(nullable=True)
    serving_at: datetime | None = _when(nullable=True)
    ended_at: datetime | None = _when(nullable=True)
    # Time of the latest change: ``--at`` may not go back before it.
    changed_at: datetime = _when()
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    # A waiting ticket sent to one counter (a transfer, or a closed counter's queue moved
    # by a supervisor): only that counter calls it, before its own queue.
    for_counter_id: int | None = Field(default=None, foreign_key="counter.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    # For reports, kept after the ticket ends: its first call (a recall or a later call
    # after a hold does not move it), the counter that called it last, and whether it
    # was still open when the centre closed (cancelled by close_day: it walked out).
    first_called_at: datetime | None = _when(nullable=True)
    last_counter_id: int | None = Field(default=None, foreign_key="counter.id")
    walked_out: bool = False
    recalls: int = 0
    outcome: str | None = None
    avoidable: bool = False


class NumberSeries(SQLModel, table=True):
    """The last number given per (centre, service, local day)."""

    __tablename__ = "number_series"
    centre_id: int = Field(foreign_key="centre.id", primary_key=True)
    service_id: int = Field(foreign_key="service.id", primary_key=True)
    day: date = Field(primary_key=True)
    last: int = 0


class Referral(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id", index=True)
    visit_id: int = Field(foreign_key="visit.id")
    from_ticket_id: int = Field(foreign_key="ticket.id")
    to_ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    from_agency_id: int = Field(foreign_key="agency.id")
    from_service_id: int = Field(foreign_key="service.id")
    to_agency_id: int = Field(foreign_key="agency.id")
    to_service_id: int = Field(foreign_key="service.id")
    kind: str  # handover | signpost
    reason: str | None = None
    consent_share: bool = False
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    at: datetime = _when()


class Event(SQLModel, table=True):
    """Append-only facts. ``seq`` is per centre, gap-free and in commit order."""

    __table_args__ = (
        sa.UniqueConstraint("centre_id", "seq"),
        # Reports read one kind of event over a range of time (kiosk sessions, door
        # counts, counter states).
        sa.Index("ix_event_kind_at", "centre_id", "kind", "at"),
        # A ticket's own history (its first call, the audit of one ticket).
        sa.Index("ix_event_ticket", "ticket_id", "kind"),
    )
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id")
    seq: int
    kind: str = Field(max_length=40)
    at: datetime = _when()
    ticket_id: int | None = Field(default=None, foreign_key="ticket.id")
    visit_id: int | None = Field(default=None, foreign_key="visit.id")
    counter_id: int | None = Field(default=None, foreign_key="counter.id")
    staff_id: int | None = Field(default=None, foreign_key="staff.id")
    actor: str | None = None
    data: dict[str, Any] | None = _json()


class DeviceHealth(SQLModel, table=True):
    """The last known health of each device at the edge (a kiosk's printer, its
    scanner, a door sensor), for staff screens. One row per (centre, place, device),
    overwritten on each report; each change of health is also an event."""

    __tablename__ = "device_health"
    __table_args__ = (sa.UniqueConstraint("centre_id", "place", "device"),)
    id: int | None = Field(default=None, primary_key=True)
    centre_id: int = Field(foreign_key="centre.id")
    place: str = Field(max_length=40)  # the kiosk's name, or where a sensor is
    device: str = Field(max_length=20)  # printer | scanner | door
    spec: str = Field(max_length=200)
    health: str = Field(max_length=20)
    detail: str | None = Field(default=None, max_length=200)
    checked_at: datetime = _when()
    changed_at: datetime = _when()
