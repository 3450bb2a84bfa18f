"""Footfall and alerts from the edge of the centre: kiosk sessions, help, failed prints.

A kiosk session is one customer's time at the kiosk, from the first tap to a ticket, an
answer on screen, or walking away. Its steps are written as events so that the managers'
reports can count footfall without a ticket and see where people give up:

- ``kiosk_session_started``, ``kiosk_language``, ``kiosk_need`` (one per step reached);
- ``kiosk_session_ended`` with ``outcome`` (ticket, information, abandoned, or failed when
  the kiosk could not issue the ticket) and the ``step`` the customer was on.

Alerts (``help_requested``, ``print_failed``, and ``device_health`` when a device is not
ok) are events that staff screens raise. The last known health of each device is also kept
in ``device_health``, one row per device, for screens that open later. A door sensor's
count of people coming in is one ``door_entry`` event per person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col, select

from gateway.config import HELP_KINDS
from gateway.engine import Engine
from gateway.errors import NotAllowed, UnknownError
from gateway.events import EventLog
from gateway.models import DeviceHealth, Visit
from gateway.tickets import ENDED, TicketView

KIOSK_OUTCOMES = ("ticket", "information", "abandoned", "failed")
ALERT_KINDS = ("help_requested", "print_failed", "device_health")
DEVICES = ("printer", "scanner", "door")
# ok, or what is wrong. A printer that does not answer is "unknown", never "ok".
DEVICE_HEALTH = (
    "ok",
    "paper_low",
    "paper_out",
    "cover_open",
    "offline",
    "unknown",
    "unplugged",
)


@dataclass
class KioskStep:
    """One step a customer reached: ``language``, ``category``, ``need``, ``question``..."""

    step: str
    at: datetime
    value: str | None = None


@dataclass
class KioskSessionRecord:
    """What the kiosk knows of one session when it ends (no personal details)."""

    kiosk: str
    session: str
    started_at: datetime
    outcome: str
    step: str
    steps: list[KioskStep] = field(default_factory=list)
    language: str | None = None
    need: str | None = None
    ticket: str | None = None
    help: str | None = None


class FootfallVerbs(Engine):
    # -- kiosk sessions and alerts ----------------------------------------------------

    def record_kiosk_session(self, record: KioskSessionRecord) -> int:
        """Write one kiosk session's events in one transaction: started, each step with the
        time it was reached, and ended with its outcome. Returns how many were written.

        Sessions are written when they end, off the customer's path, so a slow store
        never delays a tap; a kiosk keeps unwritten sessions and writes them once the
        store is back. The ticket itself is written by ``check_in`` when it is issued.
        """
        if record.outcome not in KIOSK_OUTCOMES:
            raise UnknownError(
                f"'{record.outcome}' is not a kiosk outcome ({', '.join(KIOSK_OUTCOMES)})."
            )
        kiosk, visit = record.kiosk, record.session

        def work(session: Session, log: EventLog, now: datetime) -> int:
            log.add("kiosk_session_started", record.started_at, kiosk=kiosk, session=visit)
            for step in record.steps:
                if step.step in ("language", "need"):
                    log.add(
                        f"kiosk_{step.step}", step.at, kiosk=kiosk, session=visit, value=step.value
                    )
            log.add(
                "kiosk_session_ended",
                max(now, record.started_at),
                kiosk=kiosk,
                session=visit,
                outcome=record.outcome,
                step=record.step,
                language=record.language,
                need=record.need,
                number=record.ticket,
                help=record.help,
                seconds=round((now - record.started_at).total_seconds(), 1),
            )
            return len(log.pending)

        return self._run(work)

    def ask_for_help(
        self, kind: str, *, ticket: str | int | None = None, kiosk: str | None = None
    ) -> TicketView | None:
        """Raise a ``help_requested`` alert for staff.

        With a ticket (the customer asked after checking in), the visit is flagged with
        the help it needs and a waiting ticket gets priority from now, unless it already
        had an earlier one. Without a ticket, the alert says which kiosk to go to.
        Returns the ticket as it is now, or None.
        """
        if kind not in HELP_KINDS:
            raise UnknownError(f"'{kind}' is not a kind of help we know ({', '.join(HELP_KINDS)}).")

        def work(session: Session, log: EventLog, now: datetime) -> TicketView | None:
            if ticket is None:
                log.add("help_requested", now, help=kind, kiosk=kiosk)
                return None
            row = self._ticket(session, ticket, now)
            if row.state in ENDED:
                raise NotAllowed(f"{row.number} has already ended; help was not recorded.")
            # One statement, not a loaded row: a kiosk may not read a visit's appointment
            # or postcode (its database role is not granted those columns).
            session.execute(
                sa.update(Visit)
                .where(col(Visit.id) == row.visit_id, col(Visit.help_needed).is_(None))
                .values(help_needed=kind)
            )
            if row.state == "waiting" and (row.priority_from is None or row.priority_from > now):
                row.priority_from = now
                row.changed_at = now
                session.add(row)
            log.add(
                "help_requested",
                now,
                ticket_id=row.id,
                visit_id=row.visit_id,
                help=kind,
                number=row.number,
                kiosk=kiosk,
            )
            return self._view(session, row)

        return self._run(work)

    def report_print_failed(
        self, ticket: str | int, *, reason: str, printer: str | None = None
    ) -> None:
        """Record that a ticket did not print: a ``print_failed`` alert for staff. The
        ticket itself is untouched (it was in the store before printing began)."""
        self._ticket_event("print_failed", ticket, reason=reason[:200], printer=printer)

    def report_device_health(
        self,
        place: str,
        device: str,
        health: str,
        *,
        spec: str,
        detail: str | None = None,
    ) -> bool:
        """Keep the last known health of a device (``place`` is the kiosk's name).
        A change of health is a ``device_health`` event, an alert unless it is "ok".
        Returns whether the health changed."""
        if device not in DEVICES:
            raise UnknownError(f"'{device}' is not a device ({', '.join(DEVICES)}).")
        if health not in DEVICE_HEALTH:
            raise UnknownError(f"'{health}' is not a device health ({', '.join(DEVICE_HEALTH)}).")
        place, spec, detail = place[:40], spec[:200], (detail or None) and detail[:200]

        def work(session: Session, log: EventLog, now: datetime) -> bool:
            row = session.exec(
                select(DeviceHealth).where(
                    DeviceHealth.centre_id == self.centre.id,
                    DeviceHealth.place == place,
                    DeviceHealth.device == device,
                )
            ).first()
            previous = row.health if row else None
            if row is None:
                row = DeviceHealth(
                    centre_id=self.centre.id,
                    place=place,
                    device=device,
                    spec=spec,
                    health=health,
                    checked_at=now,
                    changed_at=now,
                )
            changed = previous != health
            row.spec, row.health, row.detail, row.checked_at = spec, health, detail, now
            if changed:
                row.changed_at = now
                log.add(
                    "device_health",
                    now,
                    place=place,
                    device=device,
                    health=health,
                    previous=previous,
                    detail=detail,
                    spec=spec,
                    alert=health != "ok",
                )
            session.add(row)
            return changed

        return self._run(work)

    def count_door_entry(self, sensor: str, *, at: datetime | None = None) -> None:
        """One person came in through the door (a sensor's line): a ``door_entry``
        event. ``at`` is when the sensor saw them, if that was a while ago (an outage)."""

        def work(session: Session, log: EventLog, now: datetime) -> None:
            log.add("door_entry", min(at or now, now), sensor=sensor[:40])

        self._run(work)

    def record_reprint(self, ticket: str | int, *, printer: str) -> TicketView:
        """A ticket was printed again (``gateway reprint``): a ``ticket_reprinted`` event."""
        return self._ticket_event("ticket_reprinted", ticket, printer=printer[:200])

    def _ticket_event(self, kind: str, ticket: str | int, **data: Any) -> TicketView:
        """An event about a ticket that changes nothing in it (printing, ...)."""

        def work(session: Session, log: EventLog, now: datetime) -> TicketView:
            row = self._ticket(session, ticket, now)
            log.add(kind, now, ticket_id=row.id, visit_id=row.visit_id, number=row.number, **data)
            return self._view(session, row)

        return self._run(work)
