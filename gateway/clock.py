"""Where the engine gets the time from.

The engine never calls ``datetime.now()`` itself: it asks a clock. The wall clock is the
normal one; tests, simulations and backfill pass their own.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware, in UTC."""
        ...


class WallClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to: for tests, simulations and ``--at``."""

    def __init__(self, at: datetime) -> None:
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = as_utc(at)

    def advance(self, **kwargs: float) -> datetime:
        self._at += timedelta(**kwargs)
        return self._at


def as_utc(at: datetime) -> datetime:
    """Refuse naive times (they are ambiguous) and convert aware ones to UTC."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("time must carry a timezone")
    return at.astimezone(UTC)


def business_day(at: datetime, timezone: str) -> date:
    """The centre's local date at ``at``: numbering and reports follow it, not UTC."""
    return as_utc(at).astimezone(ZoneInfo(timezone)).date()


def day_start(at: datetime, timezone: str) -> datetime:
    """Local midnight at the start of the business day that holds ``at``."""
    return datetime.combine(business_day(at, timezone), time(0), ZoneInfo(timezone))


def parse_at(text: str, timezone: str) -> datetime:
    """Parse ``--at``: ISO 8601; a time without an offset is the centre's local time."""
    at = datetime.fromisoformat(text)
    if at.tzinfo is None:
        at = at.replace(tzinfo=ZoneInfo(timezone))
    return as_utc(at)
