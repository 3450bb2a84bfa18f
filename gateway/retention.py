"""Retention: after the period a centre keeps personal details, remove them, keep the counts.

``purge`` clears, for visits older than the period:

- the postcode district, the appointment reference, the help asked for and the
  pseudonymous repeat key on the visit;
- the reason written on its referrals;
- the free-text reason on its tickets' ``cancelled`` and ``transferred`` events (the
  fixed "centre closed" stays: it is not about anyone).

Visits, tickets, referrals and events stay, so every report over a purged period gives
the same totals as before; only breakdowns by postcode district move to "not given", and
repeat visits are no longer counted there. The purge is one transaction per centre and
writes a ``purged`` event with how many visits it cleared. Running it again clears
nothing more.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlmodel import Session, col, select

from gateway.clock import business_day
from gateway.counters import CENTRE_CLOSED
from gateway.engine import Engine
from gateway.errors import NotAllowed
from gateway.events import EventLog
from gateway.models import Event, Referral, Visit

MIN_DAYS = 1
FREE_TEXT_EVENTS = ("cancelled", "transferred")


class RetentionVerbs(Engine):
    def purge(self, older_than_days: int) -> dict[str, Any]:
        """Clear personal details from visits whose local day is more than
        ``older_than_days`` days before today. Returns what it cleared."""
        if older_than_days < MIN_DAYS:
            raise NotAllowed(f"Keep at least {MIN_DAYS} day; give --older-than 1 or more.")

        def work(session: Session, log: EventLog, now: datetime) -> dict[str, Any]:
            before = business_day(now, self.centre.timezone) - timedelta(days=older_than_days)
            old = select(col(Visit.id)).where(Visit.centre_id == self.centre.id, Visit.day < before)
            details = sa.or_(
                col(Visit.postcode_district).is_not(None),
                col(Visit.appointment_ref).is_not(None),
                col(Visit.help_needed).is_not(None),
                col(Visit.repeat_key).is_not(None),
            )
            visits = session.execute(
                sa.update(Visit)
                .where(col(Visit.id).in_(old.scalar_subquery()), details)
                .values(postcode_district=None, appointment_ref=None, help_needed=None,
                        repeat_key=None)
                .execution_options(synchronize_session=False)
            )  # fmt: skip
            referrals = session.execute(
                sa.update(Referral)
                .where(
                    col(Referral.visit_id).in_(old.scalar_subquery()),
                    col(Referral.reason).is_not(None),
                )
                .values(reason=None)
                .execution_options(synchronize_session=False)
            )
            notes = self._clear_event_reasons(session, old)
            cleared: dict[str, Any] = {
                "before": before.isoformat(),
                "visits": _changed(visits),
                "referral_reasons": _changed(referrals),
                "event_reasons": notes,
            }
            log.add(
                "purged",
                now,
                before=cleared["before"],
                visits=cleared["visits"],
                referral_reasons=cleared["referral_reasons"],
                event_reasons=notes,
            )
            return cleared

        return self._run(work)

    def _clear_event_reasons(self, session: Session, old: Any) -> int:
        reason = col(Event.data)["reason"].as_string()
        where = (
            col(Event.centre_id) == self.centre.id,
            col(Event.kind).in_(FREE_TEXT_EVENTS),
            col(Event.visit_id).in_(old.scalar_subquery()),
            reason.is_not(None),
            reason != CENTRE_CLOSED,
        )
        cleared: Any
        if self.store.dialect == "sqlite":
            cleared = sa.func.json_remove(col(Event.data), "$.reason")
        else:
            cleared = sa.cast(sa.cast(col(Event.data), JSONB).op("-")("reason"), sa.JSON)
        result = session.execute(
            sa.update(Event)
            .where(*where)
            .values(data=cleared)
            .execution_options(synchronize_session=False)
        )
        return _changed(result)


def _changed(result: Any) -> int:
    """How many rows an UPDATE changed."""
    return int(getattr(result, "rowcount", 0) or 0)
