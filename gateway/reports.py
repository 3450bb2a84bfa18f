"""Centre managers' figures for a range of days, computed in the store by SQL aggregation.

Five reports, each for one or more centres and a range of local business days (first to
last, inclusive), each optionally broken down ``by`` one of ``BY``:

- ``summary``: footfall, tickets, waits, service times, service level, avoidable contact,
  referrals, multi-agency journeys and repeat visits;
- ``footfall``: kiosk sessions (with how they ended, and at which step people gave up),
  check-ins and door counts, and the check-ins' hour-of-day × weekday profile;
- ``waits``: waiting and service times with their service level;
- ``referrals``: the from-agency × to-agency routes, handover and signpost, with how many
  handovers were then served, and how many visits touched two or more agencies;
- ``staffing``: counter hours open, paused and serving, and the utilisation they give.

Definitions, held to by the tests:

- A wait runs from a ticket joining its queue (arrival for a visit's first ticket, the
  handover for a handover, the previous step's end for a journey's next step) to its first
  call (``Ticket.first_called_at``): a recall or a later call after a hold does not move it.
- A service time runs from the start of serving to done.
- A ticket walked out when the centre closed with it still open (``close_day`` cancelled
  it); it is not counted as cancelled.
- Tickets, visits and referrals belong to their local business day (they carry it, so
  midnight and the clock changes need no arithmetic); hours are local hours, converted in
  SQL; events belong to the local day their instant falls in.

Nothing here reads rows one by one into Python: every figure is a GROUP BY, and the
percentiles (nearest rank) are picked by a window over the ordered values. Reports carry
counts and durations only, never a name, a reference, a key or a ticket number. Broken
down by postcode district, districts with fewer than 5 visits in the range are folded
together and any count under 5 is left out (``None``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy import select
from sqlmodel import Session, col, func

from gateway.centres import CentreView
from gateway.clock import day_start
from gateway.errors import NotAllowed, UnknownError
from gateway.models import Agency, Event, Referral, Service, Ticket, UTCDateTime, Visit
from gateway.store import Store

REPORTS = ("summary", "footfall", "waits", "referrals", "staffing")
BY = (
    "hour",
    "day",
    "week",
    "month",
    "weekday",
    "centre",
    "agency",
    "service",
    "need",
    "counter",
    "language",
    "district",
)
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
OPEN = ("waiting", "held", "called", "recalled", "serving")
SMALL = 5  # counts under this are suppressed in breakdowns by postcode district
SMALL_DISTRICTS = "districts with fewer than 5 visits"
NOT_GIVEN = "not given"
KIOSK_ENDED = "kiosk_session_ended"
COUNTER_STATES = ("counter_open", "counter_paused", "counter_closed")
# Nearest-rank percentiles as integer ranks: ceil(share × n) = (num × n + den - 1) // den.
PERCENTILES = {"median": (1, 2), "p90": (9, 10)}


@dataclass(frozen=True)
class Days:
    first: date
    last: date

    def __post_init__(self) -> None:
        if self.last < self.first:
            raise ValueError("the range ends before it starts")

    def __len__(self) -> int:
        return (self.last - self.first).days + 1


@dataclass(frozen=True)
class Scope:
    """What one report reads: which centres, which days, and up to when (for staffing)."""

    centres: tuple[CentreView, ...]
    days: Days
    dialect: str
    now: datetime

    @property
    def ids(self) -> list[int]:
        return [c.id for c in self.centres]

    def head(self, by: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "centre": ",".join(c.code for c in self.centres),
            "from": self.days.first.isoformat(),
            "to": self.days.last.isoformat(),
        }
        if by is not None:
            out["by"] = by
        return out

    def span(self, centre: CentreView) -> tuple[datetime, datetime]:
        """The instants the range starts and ends at one centre (its local midnights)."""
        return (
            day_start_of(self.days.first, centre),
            day_start_of(self.days.last + timedelta(days=1), centre),
        )


def day_start_of(day: date, centre: CentreView) -> datetime:
    """The instant a local business day begins (midday is never skipped by a clock change)."""
    noon = datetime.combine(day, time(12), ZoneInfo(centre.timezone))
    return day_start(noon, centre.timezone)


def _scope(
    store: Store, centres: CentreView | Sequence[CentreView], days: Days, now: datetime | None
) -> Scope:
    chosen = (centres,) if isinstance(centres, CentreView) else tuple(centres)
    if not chosen:
        raise UnknownError("Choose at least one centre for the report.")
    return Scope(chosen, days, store.dialect, now or datetime.now(UTC))


def _check_by(report: str, by: str | None, allowed: Sequence[str]) -> None:
    if by is not None and by not in allowed:
        raise NotAllowed(
            f"The {report} report cannot be broken down by {by}; use {', '.join(allowed)}."
        )


# -- SQL pieces, per dialect ------------------------------------------------------------


def _minutes_between(dialect: str, later: Any, earlier: Any) -> Any:
    """Minutes from ``earlier`` to ``later`` as an SQL expression, on either store."""
    if dialect == "sqlite":
        # julianday is a float of days: round to the millisecond (the stored precision
        # is finer) so a mean of exact halves rounds as it does on PostgreSQL.
        return func.round((func.julianday(later) - func.julianday(earlier)) * 86400000.0) / 60000.0
    return func.extract("epoch", later - earlier) / 60.0


def _count(condition: Any) -> Any:
    return func.sum(sa.case((condition, 1), else_=0))


def _instant(at: datetime) -> Any:
    return sa.literal(at, UTCDateTime())


def _offsets(zone_name: str, first: date, last: date) -> list[tuple[datetime, int]]:
    """The zone's UTC offset (seconds) over the range, as (from instant, offset) steps,
    each clock change found to the minute."""
    zone = ZoneInfo(zone_name)

    def offset(at: datetime) -> int:
        delta = at.astimezone(zone).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    at = datetime.combine(first - timedelta(days=2), time(0), UTC)
    end = datetime.combine(last + timedelta(days=2), time(0), UTC)
    steps = [(at, offset(at))]
    while at < end:
        later = at + timedelta(days=1)
        if offset(later) != steps[-1][1]:
            low, high = at, later
            while high - low > timedelta(minutes=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if offset(middle) == steps[-1][1] else (low, middle)
            change = high.replace(second=0, microsecond=0)
            steps.append((change, offset(change)))
        at = later
    return steps


def _local(scope: Scope, at: Any, centre_id: Any) -> Any:
    """An instant as the centre's local wall-clock time, in SQL."""
    zones = {c.id: c.timezone for c in scope.centres}
    if scope.dialect != "sqlite":
        if len(set(zones.values())) == 1:
            return func.timezone(next(iter(zones.values())), at)
        return func.timezone(sa.case(zones, value=centre_id), at)

    def shift(zone: str) -> Any:
        steps = _offsets(zone, scope.days.first, scope.days.last)
        if len(steps) == 1:
            return sa.literal(f"{steps[0][1]:+d} seconds")
        whens = [
            (at < _instant(start), f"{before:+d} seconds")
            for (_, before), (start, _) in itertools.pairwise(steps)
        ]
        return sa.case(*whens, else_=f"{steps[-1][1]:+d} seconds")

    by_zone = {zone: shift(zone) for zone in set(zones.values())}
    if len(by_zone) == 1:
        modifier = next(iter(by_zone.values()))
    else:
        modifier = sa.case({cid: by_zone[zone] for cid, zone in zones.items()}, value=centre_id)
    return func.datetime(at, modifier)


def _hour(scope: Scope, local: Any) -> Any:
    if scope.dialect == "sqlite":
        return sa.cast(func.strftime("%H", local), sa.Integer)
    return sa.cast(func.extract("hour", local), sa.Integer)


def _date(scope: Scope, local: Any) -> Any:
    if scope.dialect == "sqlite":
        return func.date(local)
    return sa.cast(local, sa.Date)


def _weekday(scope: Scope, day: Any) -> Any:
    """Monday 0 to Sunday 6."""
    if scope.dialect == "sqlite":
        return (sa.cast(func.strftime("%w", day), sa.Integer) + 6) % 7
    return sa.cast(func.extract("isodow", day), sa.Integer) - 1


def _week(scope: Scope, day: Any) -> Any:
    """The Monday that starts the day's week (ISO weeks)."""
    if scope.dialect == "sqlite":
        back = (sa.cast(func.strftime("%w", day), sa.Integer) + 6) % 7
        return func.date(day, "-" + sa.cast(back, sa.String) + " days")
    return sa.cast(func.date_trunc("week", day), sa.Date)


def _month(scope: Scope, day: Any) -> Any:
    if scope.dialect == "sqlite":
        return func.strftime("%Y-%m", day)
    return func.to_char(day, "YYYY-MM")


@dataclass
class Source:
    """How one kind of row answers each way of breaking it down: its local day, its
    instant (for hours), its centre, and whichever of the attributes it has."""

    day: Any
    at: Any
    centre_id: Any
    attributes: dict[str, Any]

    def key(self, scope: Scope, by: str) -> Any:
        if by == "hour":
            return _hour(scope, _local(scope, self.at, self.centre_id))
        if by == "day":
            return self.day
        if by == "week":
            return _week(scope, self.day)
        if by == "month":
            return _month(scope, self.day)
        if by == "weekday":
            return _weekday(scope, self.day)
        if by == "centre":
            return sa.case({c.id: c.code for c in scope.centres}, value=self.centre_id)
        return self.attributes[by]

    def allows(self) -> tuple[str, ...]:
        return ("hour", "day", "week", "month", "weekday", "centre", *self.attributes)


def _label(by: str, value: Any) -> Any:
    if value is None:
        return NOT_GIVEN
    if by == "hour":
        return f"{int(value):02d}:00"
    if by == "weekday":
        return WEEKDAYS[int(value)]
    if isinstance(value, date | datetime):
        return value.isoformat()[:10]
    return str(value)


def _counter_codes(scope: Scope) -> dict[int, str]:
    """Counters by their code; with several centres, ``centre/counter`` (every centre has
    a counter 1)."""
    several = len(scope.centres) > 1
    return {
        cid: f"{view.code}/{c.code}" if several else c.code
        for view in scope.centres
        for cid, c in view.counters.items()
    }


def _counter_agencies(scope: Scope) -> dict[int, str]:
    """Each counter's agency: the agency of its first skill (the service it prefers)."""
    out: dict[int, str] = {}
    for view in scope.centres:
        for cid, counter in view.counters.items():
            if counter.skills and counter.skills[0] in view.services:
                service = view.services[counter.skills[0]]
                out[cid] = view.agencies[service.agency_id].code
    return out


def _mapped(mapping: dict[int, str], value: Any) -> Any:
    return sa.case(mapping, value=value, else_=None) if mapping else sa.null()


def _district(session: Session, scope: Scope) -> Any:
    """Postcode district, with those of fewer than 5 visits in the range folded together."""
    big = (
        session.execute(
            select(col(Visit.postcode_district))
            .where(*_visits_in(scope), col(Visit.postcode_district).is_not(None))
            .group_by(col(Visit.postcode_district))
            .having(func.count() >= SMALL)
        )
        .scalars()
        .all()
    )
    district = col(Visit.postcode_district)
    return sa.case(
        (district.is_(None), NOT_GIVEN),
        (district.in_(list(big) or [""]), district),
        else_=SMALL_DISTRICTS,
    )


def _visits_in(scope: Scope) -> tuple[Any, ...]:
    return (
        col(Visit.centre_id).in_(scope.ids),
        Visit.day >= scope.days.first,
        Visit.day <= scope.days.last,
    )


def _tickets_in(scope: Scope) -> tuple[Any, ...]:
    return (
        col(Ticket.centre_id).in_(scope.ids),
        Ticket.day >= scope.days.first,
        Ticket.day <= scope.days.last,
    )


def _events_in(scope: Scope, *kinds: str) -> Any:
    """Events of these kinds whose instant falls in the range at their centre."""
    return sa.or_(
        *(
            sa.and_(
                col(Event.centre_id) == view.id,
                col(Event.kind).in_(kinds),
                col(Event.at) >= _instant(start),
                col(Event.at) < _instant(end),
            )
            for view in scope.centres
            for start, end in [scope.span(view)]
        )
    )


def _ticket_source(session: Session, scope: Scope, by: str | None) -> tuple[Source, list[Any]]:
    """The ticket as a source, and the joins its breakdown needs."""
    joins: list[Any] = []
    attributes: dict[str, Any] = {
        "agency": col(Agency.code),
        "service": col(Service.code),
        "counter": _mapped(_counter_codes(scope), col(Ticket.last_counter_id)),
        "need": col(Visit.need),
        "language": col(Visit.language),
        "district": None,
    }
    if by == "agency":
        joins.append((Agency, col(Agency.id) == col(Service.agency_id)))
    if by in ("need", "language", "district"):
        joins.append((Visit, col(Visit.id) == col(Ticket.visit_id)))
    if by == "district":
        attributes["district"] = _district(session, scope)
    source = Source(col(Ticket.day), col(Ticket.issued_at), col(Ticket.centre_id), attributes)
    return source, joins


def _grouped(
    session: Session,
    scope: Scope,
    by: str | None,
    source: Source,
    measures: list[Any],
    base: Any,
    joins: Sequence[Any] = (),
    where: Sequence[Any] = (),
) -> dict[Any, Any]:
    """Run one aggregate query, grouped by the breakdown's key (or not at all): returns
    {label: row} in key order, one entry ``None`` when there is no breakdown."""
    key = source.key(scope, by) if by else sa.literal(None)
    stmt = select(key.label("key"), *measures).select_from(base)
    for target, on in joins:
        stmt = stmt.join(target, on)
    stmt = stmt.where(*where)
    if by:
        stmt = stmt.group_by(key).order_by(sa.nullsfirst(key))  # the same order on both stores
    return {(_label(by, row[0]) if by else None): row for row in session.execute(stmt).all()}


def _percentiles(
    session: Session,
    scope: Scope,
    by: str | None,
    source: Source,
    value: Any,
    base: Any,
    joins: Sequence[Any],
    where: Sequence[Any],
) -> dict[Any, dict[str, float | None]]:
    """Median and 90th percentile (nearest rank) of ``value`` per key, by one window."""
    key = source.key(scope, by) if by else sa.literal(0)
    ordered = select(
        key.label("key"),
        value.label("value"),
        func.row_number().over(partition_by=key, order_by=value).label("rank"),
        func.count().over(partition_by=key).label("n"),
    ).select_from(base)
    for target, on in joins:
        ordered = ordered.join(target, on)
    inner = ordered.where(*where, value.is_not(None)).subquery()
    wanted = [
        inner.c.rank == (num * inner.c.n + den - 1) // den for num, den in PERCENTILES.values()
    ]
    out: dict[Any, dict[str, float | None]] = {}
    for raw, rank, n, minutes in session.execute(
        select(inner.c.key, inner.c.rank, inner.c.n, inner.c.value).where(sa.or_(*wanted))
    ).all():
        label = _label(by, raw) if by else None
        for name, (num, den) in PERCENTILES.items():
            if rank == (num * n + den - 1) // den:
                out.setdefault(label, {})[name] = _round(minutes)
    return out


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 1)


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def _rows(scope: Scope, by: str | None, rows: dict[Any, dict[str, Any]]) -> dict[str, Any]:
    out = scope.head(by)
    listed: list[dict[str, Any]] = []
    if by:
        name: str = by
        listed = [{name: label, **figures} for label, figures in rows.items()]
        listed.sort(key=lambda row: _order(row[name]))
    if by == "district":
        listed = [_suppress(row) for row in listed]
    out["rows"] = listed
    return out


def _natural(text: str) -> tuple[Any, ...]:
    return tuple(
        (0, int(part), "") if part.isdigit() else (1, 0, part)
        for part in re.split(r"(\d+)", text)
        if part
    )


def _suppress(row: dict[str, Any]) -> dict[str, Any]:
    """A district's row with small counts left out. A row with under 5 of its first count
    (its visits or tickets) keeps no figures at all; a group of figures holding a count
    from 1 to 4 is left out whole, so it cannot be found again by subtraction."""
    small = next((v for v in _numbers(row) if isinstance(v, int)), 0) < SMALL

    def figure(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    def walk(value: Any) -> Any:
        if isinstance(value, list):
            return [walk(v) for v in value]
        if not isinstance(value, dict):
            return None if small and figure(value) else value
        hide = small or any(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v < SMALL for v in value.values()
        )
        return {k: (None if hide and figure(v) else walk(v)) for k, v in value.items()}

    # The row's own figures are a group too (a referral route, a journeys row).
    own = {k: v for k, v in row.items() if k != "district" and not isinstance(v, dict | list)}
    hidden = walk(own)
    return {
        k: (v if k == "district" else hidden[k] if k in hidden else walk(v)) for k, v in row.items()
    }


def _numbers(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [n for k, v in value.items() if k != "district" for n in _numbers(v)]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return [value]
    return []


# -- tickets: counts, waits, service times, service level, avoidable contact -------------


def _ticket_figures(session: Session, scope: Scope, by: str | None) -> dict[Any, dict[str, Any]]:
    source, joins = _ticket_source(session, scope, by)
    joins = [(Service, col(Service.id) == col(Ticket.service_id)), *joins]
    state = col(Ticket.state)
    walked = col(Ticket.walked_out).is_(True)
    wait = _minutes_between(scope.dialect, col(Ticket.first_called_at), col(Ticket.issued_at))
    service = sa.case(
        (
            sa.and_(state == "done", col(Ticket.serving_at).is_not(None)),
            _minutes_between(scope.dialect, col(Ticket.ended_at), col(Ticket.serving_at)),
        ),
        else_=None,
    )
    where = _tickets_in(scope)
    rows = _grouped(
        session,
        scope,
        by,
        source,
        [
            func.count(),
            _count(state == "done"),
            _count(state == "no_show"),
            _count(sa.and_(state == "cancelled", sa.not_(walked))),
            _count(walked),
            _count(state == "referred"),
            _count(state.in_(OPEN)),
            func.count(col(Ticket.first_called_at)),
            func.avg(wait),
            func.max(wait),
            _count(wait <= col(Service.target_wait_minutes)),
            func.count(service),
            func.avg(service),
            func.max(service),
            _count(sa.and_(state == "done", col(Ticket.avoidable).is_(True))),
        ],
        Ticket,
        joins,
        where,
    )
    waits = _percentiles(session, scope, by, source, wait, Ticket, joins, where)
    services = _percentiles(session, scope, by, source, service, Ticket, joins, where)
    out: dict[Any, dict[str, Any]] = {}
    for label, row in rows.items():
        (_, issued, done, no_show, cancelled, walked_out, referred, still_open) = row[:8]
        (called, mean, longest, within, timed, service_mean, service_max, avoidable) = row[8:]
        within = int(within or 0)
        out[label] = {
            "tickets": {
                "issued": int(issued),
                "served": int(done or 0),
                "no_show": int(no_show or 0),
                "cancelled": int(cancelled or 0),
                "walked_out": int(walked_out or 0),
                "referred": int(referred or 0),
                "still_open": int(still_open or 0),
            },
            "wait_minutes": {
                "called": int(called),
                "mean": _round(mean),
                "median": waits.get(label, {}).get("median"),
                "p90": waits.get(label, {}).get("p90"),
                "max": _round(longest),
            },
            "service_minutes": {
                "served": int(timed),
                "mean": _round(service_mean),
                "median": services.get(label, {}).get("median"),
                "p90": services.get(label, {}).get("p90"),
                "max": _round(service_max),
            },
            "service_level": {
                "within_target": within,
                "above_target": int(called) - within,
                "within_target_pct": _pct(within, int(called)),
            },
            "avoidable": {
                "completed": int(done or 0),
                "avoidable": int(avoidable or 0),
                "avoidable_pct": _pct(int(avoidable or 0), int(done or 0)),
            },
        }
    return out


def _empty_tickets() -> dict[str, Any]:
    return {
        "tickets": dict.fromkeys(
            ("issued", "served", "no_show", "cancelled", "walked_out", "referred", "still_open"),
            0,
        ),
        "wait_minutes": {"called": 0, "mean": None, "median": None, "p90": None, "max": None},
        "service_minutes": {"served": 0, "mean": None, "median": None, "p90": None, "max": None},
        "service_level": {"within_target": 0, "above_target": 0, "within_target_pct": None},
        "avoidable": {"completed": 0, "avoidable": 0, "avoidable_pct": None},
    }


def _outcomes(session: Session, scope: Scope) -> list[dict[str, Any]]:
    """Completed tickets by outcome code, with how many of each were avoidable."""
    rows = session.execute(
        select(col(Ticket.outcome), func.count(), _count(col(Ticket.avoidable).is_(True)))
        .where(*_tickets_in(scope), col(Ticket.state) == "done")
        .group_by(col(Ticket.outcome))
        .order_by(col(Ticket.outcome))
    ).all()
    out = [
        {"outcome": code or NOT_GIVEN, "count": int(n), "avoidable": int(a or 0)}
        for code, n, a in rows
    ]
    return sorted(out, key=lambda r: _order(r["outcome"]))


# -- footfall ----------------------------------------------------------------------------


def _visit_source(session: Session, scope: Scope, by: str | None) -> Source:
    attributes: dict[str, Any] = {
        "need": col(Visit.need),
        "language": col(Visit.language),
        "district": _district(session, scope) if by == "district" else None,
    }
    return Source(col(Visit.day), col(Visit.arrived_at), col(Visit.centre_id), attributes)


def _event_source(scope: Scope, attributes: dict[str, Any]) -> Source:
    local = _local(scope, col(Event.at), col(Event.centre_id))
    return Source(_date(scope, local), col(Event.at), col(Event.centre_id), attributes)


def _footfall_figures(session: Session, scope: Scope, by: str | None) -> dict[Any, dict[str, Any]]:
    visits = _visit_source(session, scope, by)
    checkins = _grouped(session, scope, by, visits, [func.count()], Visit, where=_visits_in(scope))
    data = col(Event.data)
    kiosk = _event_source(
        scope,
        {"need": data["need"].as_string(), "language": data["language"].as_string()},
    )
    sessions: dict[Any, Any] = {}
    if by is None or by in kiosk.allows():
        sessions = _kiosk_outcomes(session, scope, by, kiosk)
    door: dict[Any, Any] = {}
    door_source = _event_source(scope, {})
    if by is None or by in door_source.allows():
        door = _grouped(
            session,
            scope,
            by,
            door_source,
            [func.count()],
            Event,
            where=[_events_in(scope, "door_entry")],
        )
    # The kiosk knows no postcode district, the door sensor nothing but time and place:
    # None where they cannot say, 0 where they could and saw nobody.
    kiosk_knows = by is None or by in kiosk.allows()
    door_knows = by is None or by in door_source.allows()
    out: dict[Any, dict[str, Any]] = {}
    for label in sorted(set(checkins) | set(sessions) | set(door), key=_order):
        s = sessions.get(label)

        def kiosk_count(i: int, s: Any = s) -> int | None:
            return (int(s[i] or 0) if s else 0) if kiosk_knows else None

        out[label] = {
            "checkins": int(checkins[label][1]) if label in checkins else 0,
            "sessions": kiosk_count(1),
            "ticket": kiosk_count(2),
            "information_only": kiosk_count(3),
            "abandoned": kiosk_count(4),
            "failed": kiosk_count(5),
            "door": (int(door[label][1]) if label in door else 0) if door_knows else None,
        }
    return out


def _kiosk_outcomes(
    session: Session, scope: Scope, by: str | None, kiosk: Source
) -> dict[Any, tuple[Any, ...]]:
    """Kiosk sessions per key: (None, all, ticket, information, abandoned, failed). The
    outcome is read from each event's JSON once, grouped on, and turned into columns here
    (a handful of rows per key)."""
    outcome = col(Event.data)["outcome"].as_string()
    key = kiosk.key(scope, by) if by else sa.literal(None)
    stmt = (
        select(key.label("key"), outcome.label("outcome"), func.count())
        .select_from(Event)
        .where(_events_in(scope, KIOSK_ENDED))
        .group_by(key, outcome)
    )
    order = ("ticket", "information", "abandoned", "failed")
    counts: dict[Any, list[int]] = {}
    for raw, ended, n in session.execute(stmt).all():
        row = counts.setdefault(_label(by, raw) if by else None, [0] * (len(order) + 1))
        row[0] += int(n)
        if ended in order:
            row[1 + order.index(ended)] += int(n)
    return {label: (None, *row) for label, row in counts.items()}


def _order(label: Any) -> Any:
    """Rows in the same order on every store, whatever its collation: "not given" first,
    weekdays Monday to Sunday, numbers by value (counter 2 before 10), folded districts
    last."""
    if label is None or label == NOT_GIVEN:
        return (0, ())
    if label in WEEKDAYS:
        return (1, (WEEKDAYS.index(label),))
    if label == SMALL_DISTRICTS:
        return (3, ())
    return (2, _natural(str(label)))


def _abandoned_steps(session: Session, scope: Scope) -> list[dict[str, Any]]:
    step = col(Event.data)["step"].as_string()
    rows = session.execute(
        select(step, func.count())
        .where(
            _events_in(scope, KIOSK_ENDED),
            col(Event.data)["outcome"].as_string() == "abandoned",
        )
        .group_by(step)
        .order_by(func.count().desc(), step)
    ).all()
    out = [{"step": s or NOT_GIVEN, "count": int(n)} for s, n in rows]
    return sorted(out, key=lambda r: (-r["count"], _order(r["step"])))


def _profile(session: Session, scope: Scope) -> dict[str, Any]:
    """Check-ins by weekday (rows) and local hour (columns)."""
    weekday = _weekday(scope, col(Visit.day))
    hour = _hour(scope, _local(scope, col(Visit.arrived_at), col(Visit.centre_id)))
    counts = {
        (int(d), int(h)): int(n)
        for d, h, n in session.execute(
            select(weekday, hour, func.count()).where(*_visits_in(scope)).group_by(weekday, hour)
        ).all()
    }
    hours = sorted({h for _, h in counts}) or []
    if hours:
        hours = list(range(hours[0], hours[-1] + 1))
    return {
        "hours": [f"{h:02d}" for h in hours],
        "rows": [
            {"weekday": name, "checkins": [counts.get((d, h), 0) for h in hours]}
            for d, name in enumerate(WEEKDAYS)
        ],
    }


def footfall(
    store: Store,
    centres: CentreView | Sequence[CentreView],
    days: Days,
    by: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Who comes and when: kiosk sessions and how they ended, check-ins, door counts."""
    scope = _scope(store, centres, days, now)
    _check_by(
        "footfall",
        by,
        ("hour", "day", "week", "month", "weekday", "centre", "need", "language", "district"),
    )
    with store.read() as session:
        figures = _footfall_figures(session, scope, by)
        if by:
            return _rows(scope, by, figures)
        out = scope.head(None)
        out["footfall"] = figures.get(None) or _footfall_empty()
        out["abandoned_at"] = _abandoned_steps(session, scope)
        out["profile"] = _profile(session, scope)
        return out


def _footfall_empty() -> dict[str, int]:
    keys = ("checkins", "sessions", "ticket", "information_only", "abandoned", "failed", "door")
    return dict.fromkeys(keys, 0)


# -- referrals and journeys ----------------------------------------------------------------


def _referral_rows(session: Session, scope: Scope, by: str | None) -> list[dict[str, Any]]:
    source_agency = sa.orm.aliased(Agency)
    target_agency = sa.orm.aliased(Agency)
    source_service = sa.orm.aliased(Service)
    handed = sa.orm.aliased(Ticket)
    visits = _visit_source(session, scope, by)
    visits.attributes["agency"] = source_agency.code
    visits.attributes["service"] = source_service.code
    visits.at = col(Referral.at)
    key = visits.key(scope, by) if by else sa.literal(None)
    rows = session.execute(
        select(
            key,
            col(source_agency.code),
            col(target_agency.code),
            col(Referral.kind),
            func.count(),
            _count(handed.state == "done"),
            _count(col(Referral.consent_share).is_(True)),
        )
        .join(Visit, col(Visit.id) == col(Referral.visit_id))
        .join(source_agency, col(source_agency.id) == col(Referral.from_agency_id))
        .join(target_agency, col(target_agency.id) == col(Referral.to_agency_id))
        .join(source_service, col(source_service.id) == col(Referral.from_service_id))
        .outerjoin(handed, col(handed.id) == col(Referral.to_ticket_id))
        .where(*_visits_in(scope))
        .group_by(key, source_agency.code, target_agency.code, col(Referral.kind))
        .order_by(key, source_agency.code, target_agency.code, col(Referral.kind))
    ).all()
    out = []
    for raw, a, b, kind, n, served, agreed in rows:
        row = {by: _label(by, raw)} if by else {}
        row.update({"from_agency": a, "to_agency": b, "kind": kind, "count": int(n)})
        if kind == "handover":
            row["served"] = int(served or 0)
        row["agreed_to_share"] = int(agreed or 0)
        out.append(row)
    out.sort(
        key=lambda r: (_order(r[by]) if by else (), r["from_agency"], r["to_agency"], r["kind"])
    )
    return out


NO_JOURNEYS: dict[str, Any] = {"visits": 0, "multi_agency": 0, "multi_agency_pct": None}


def _journeys(session: Session, scope: Scope, by: str | None) -> dict[Any, dict[str, Any]]:
    """Visits with tickets, and how many of them touched two or more agencies."""
    per_visit = (
        select(
            col(Ticket.visit_id).label("visit_id"),
            func.count(sa.distinct(col(Service.agency_id))).label("agencies"),
        )
        .join(Service, col(Service.id) == col(Ticket.service_id))
        .join(Visit, col(Visit.id) == col(Ticket.visit_id))
        .where(*_visits_in(scope))
        .group_by(col(Ticket.visit_id))
        .subquery()
    )
    visits = _visit_source(session, scope, by)
    rows = _grouped(
        session,
        scope,
        by,
        visits,
        [func.count(), _count(per_visit.c.agencies >= 2)],
        per_visit,
        joins=[(Visit, col(Visit.id) == per_visit.c.visit_id)],
    )
    return {
        label: {
            "visits": int(row[1]),
            "multi_agency": int(row[2] or 0),
            "multi_agency_pct": _pct(int(row[2] or 0), int(row[1])),
        }
        for label, row in rows.items()
    }


def referrals(
    store: Store,
    centres: CentreView | Sequence[CentreView],
    days: Days,
    by: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Which agencies send people to which, and how many visits crossed agencies."""
    scope = _scope(store, centres, days, now)
    _check_by("referrals", by, tuple(b for b in BY if b != "counter"))
    with store.read() as session:
        out = scope.head(by)
        routes = _referral_rows(session, scope, by)
        if by == "district":
            routes = [_suppress(r) for r in routes]
        out["referrals"] = routes
        # A visit's journey has no one agency or service: by those, journeys are a total.
        per_visit = by if by not in ("agency", "service") else None
        journeys = _journeys(session, scope, per_visit)
        if per_visit:
            rows = [{by: label, **figures} for label, figures in journeys.items()]
            rows.sort(key=lambda row: _order(row[by]))
            out["journeys"] = [_suppress(r) for r in rows] if by == "district" else rows
        else:
            out["journeys"] = journeys.get(None) or dict(NO_JOURNEYS)
        if by is None:
            out["matrix"] = _matrix(routes)
        return out


def _matrix(routes: list[dict[str, Any]]) -> dict[str, Any]:
    """From-agency rows × to-agency columns: handovers, signposts and handovers served."""
    agencies = sorted({r["from_agency"] for r in routes} | {r["to_agency"] for r in routes})
    cells: dict[tuple[str, str], dict[str, int]] = {}
    for r in routes:
        cell = cells.setdefault(
            (r["from_agency"], r["to_agency"]), {"handover": 0, "signpost": 0, "served": 0}
        )
        cell[r["kind"]] += r["count"]
        cell["served"] += r.get("served", 0)
    return {
        "agencies": agencies,
        "rows": [
            {
                "from_agency": a,
                "to": {b: cells[(a, b)] for b in agencies if (a, b) in cells},
            }
            for a in agencies
            if any((a, b) in cells for b in agencies)
        ],
    }


# -- repeat visits ------------------------------------------------------------------------


def _repeat_visits(session: Session, scope: Scope) -> dict[str, Any]:
    """Visits carrying a pseudonymous key (given with consent), and how many came back."""
    per_key = (
        select(col(Visit.repeat_key), func.count().label("visits"))
        .where(*_visits_in(scope), col(Visit.repeat_key).is_not(None))
        .group_by(col(Visit.repeat_key))  # the same key at any centre is the same person
        .subquery()
    )
    keyed, customers, returning = session.execute(
        select(
            func.coalesce(func.sum(per_key.c.visits), 0),
            func.count(),
            _count(per_key.c.visits >= 2),
        ).select_from(per_key)
    ).one()
    return {
        "keyed_visits": int(keyed),
        "customers": int(customers),
        "repeat_visits": int(keyed) - int(customers),
        "returning_customers": int(returning or 0),
    }


# -- staffing ------------------------------------------------------------------------------


def _staffing_figures(session: Session, scope: Scope, by: str | None) -> dict[Any, dict[str, Any]]:
    codes = _counter_codes(scope)
    agencies = _counter_agencies(scope)
    starts = {c.id: scope.span(c)[0] for c in scope.centres}
    ends = {c.id: min(scope.span(c)[1], scope.now) for c in scope.centres}
    latest = max(ends.values())
    changes = (
        select(
            col(Event.centre_id).label("centre_id"),
            col(Event.counter_id).label("counter_id"),
            col(Event.kind).label("kind"),
            col(Event.at).label("at"),
            func.lead(col(Event.at))
            .over(partition_by=col(Event.counter_id), order_by=col(Event.seq))
            .label("until"),
        )
        .where(
            col(Event.centre_id).in_(scope.ids),
            col(Event.kind).in_(COUNTER_STATES),
            col(Event.at) < _instant(latest),
        )
        .subquery()
    )
    start = sa.case({cid: _instant(at) for cid, at in starts.items()}, value=changes.c.centre_id)
    end = sa.case({cid: _instant(at) for cid, at in ends.items()}, value=changes.c.centre_id)
    greatest, least = (
        (func.max, func.min)
        if scope.dialect == "sqlite"
        else (
            func.greatest,
            func.least,
        )
    )
    begin = greatest(changes.c.at, start)
    finish = least(func.coalesce(changes.c.until, end), end)
    minutes = _minutes_between(scope.dialect, finish, begin)
    local = _local(scope, begin, changes.c.centre_id)
    intervals = Source(
        _date(scope, local),
        begin,
        changes.c.centre_id,
        {
            "counter": _mapped(codes, changes.c.counter_id),
            "agency": _mapped(agencies, changes.c.counter_id),
        },
    )
    hours = _grouped(
        session,
        scope,
        by,
        intervals,
        [
            func.sum(sa.case((changes.c.kind == "counter_open", minutes), else_=0.0)),
            func.sum(sa.case((changes.c.kind == "counter_paused", minutes), else_=0.0)),
        ],
        changes,
        where=[
            changes.c.kind != "counter_closed",
            changes.c.at < end,
            sa.or_(changes.c.until.is_(None), changes.c.until > start),
            finish > begin,  # nothing when the range starts after now
        ],
    )
    served = Source(
        col(Ticket.day),
        col(Ticket.serving_at),
        col(Ticket.centre_id),
        {
            "counter": _mapped(codes, col(Ticket.last_counter_id)),
            "agency": _mapped(agencies, col(Ticket.last_counter_id)),
        },
    )
    serving = _grouped(
        session,
        scope,
        by,
        served,
        [
            func.sum(_minutes_between(scope.dialect, col(Ticket.ended_at), col(Ticket.serving_at))),
            func.count(),
        ],
        Ticket,
        where=[
            *_tickets_in(scope),
            col(Ticket.state).in_(("done", "referred")),
            col(Ticket.serving_at).is_not(None),
            col(Ticket.ended_at).is_not(None),
        ],
    )
    out: dict[Any, dict[str, Any]] = {}
    for label in sorted(set(hours) | set(serving), key=_order):
        open_minutes = float(hours[label][1] or 0) if label in hours else 0.0
        paused = float(hours[label][2] or 0) if label in hours else 0.0
        busy = float(serving[label][1] or 0) if label in serving else 0.0
        out[label] = {
            "open_hours": round(open_minutes / 60, 2),
            "paused_hours": round(paused / 60, 2),
            "serving_hours": round(busy / 60, 2),
            "served": int(serving[label][2]) if label in serving else 0,
            "utilisation_pct": _pct_float(busy, open_minutes),
        }
    return out


def _pct_float(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole > 0 else None


def staffing(
    store: Store,
    centres: CentreView | Sequence[CentreView],
    days: Days,
    by: str | None = "counter",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Counter hours open, paused and serving, and utilisation (serving ÷ open).

    Open and paused hours come from the counters' state changes (``counter_open``,
    ``counter_paused``, ``counter_closed``), clipped to the range and to now; an interval
    counts on the local day it starts. A counter's agency is that of the service it
    prefers (its first skill)."""
    scope = _scope(store, centres, days, now)
    _check_by("staffing", by, ("day", "week", "month", "weekday", "centre", "counter", "agency"))
    with store.read() as session:
        figures = _staffing_figures(session, scope, by)
        if by:
            return _rows(scope, by, figures)
        out = scope.head(None)
        out["staffing"] = figures.get(None) or {
            "open_hours": 0.0,
            "paused_hours": 0.0,
            "serving_hours": 0.0,
            "served": 0,
            "utilisation_pct": None,
        }
        return out


# -- the reports -----------------------------------------------------------------------------


def summary(
    store: Store,
    centres: CentreView | Sequence[CentreView],
    days: Days,
    by: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The headline figures; broken down, the ticket figures per key."""
    scope = _scope(store, centres, days, now)
    _check_by("summary", by, BY)
    with store.read() as session:
        tickets = _ticket_figures(session, scope, by)
        if by:
            return _rows(scope, by, tickets)
        out = scope.head(None)
        foot = _footfall_figures(session, scope, None).get(None) or _footfall_empty()
        out["footfall"] = {
            "sessions": foot["sessions"],
            "checkins": foot["checkins"],
            "information_only": foot["information_only"],
            "abandoned": foot["abandoned"],
            "door": foot["door"],
        }
        out.update(tickets.get(None) or _empty_tickets())
        out["avoidable"]["outcomes"] = _outcomes(session, scope)
        out["referrals"] = _referral_rows(session, scope, None)
        out["journeys"] = _journeys(session, scope, None).get(None) or dict(NO_JOURNEYS)
        out["repeat_visits"] = _repeat_visits(session, scope)
        return out


def waits(
    store: Store,
    centres: CentreView | Sequence[CentreView],
    days: Days,
    by: str | None = "service",
    now: datetime | None = None,
) -> dict[str, Any]:
    """Waiting and service times, with the service level, per service unless told."""
    scope = _scope(store, centres, days, now)
    _check_by("waits", by, BY)
    with store.read() as session:
        tickets = _ticket_figures(session, scope, by)
        keep = ("wait_minutes", "service_minutes", "service_level")
        trimmed = {k: {n: v[n] for n in keep} for k, v in tickets.items()}
        if by:
            return _rows(scope, by, trimmed)
        out = scope.head(None)
        out.update(trimmed.get(None) or {n: _empty_tickets()[n] for n in keep})
        return out


REPORT_FUNCTIONS = {
    "summary": summary,
    "footfall": footfall,
    "waits": waits,
    "referrals": referrals,
    "staffing": staffing,
}


def flatten(figures: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """``(dotted name, value)`` pairs for a table or CSV: ``wait_minutes.median``; a list
    of routes gives one ``referrals.FROM.TO.KIND`` row each."""
    rows: list[tuple[str, Any]] = []
    for key, value in figures.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows += flatten(value, f"{name}.")
        elif key == "referrals" and isinstance(value, list):
            rows += [
                (f"referrals.{r['from_agency']}.{r['to_agency']}.{r['kind']}", r["count"])
                for r in value
            ]
        elif isinstance(value, list):
            continue  # tables of their own (profile, outcomes, abandoned steps)
        else:
            rows.append((name, value))
    return rows
