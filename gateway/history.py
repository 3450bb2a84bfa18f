"""Synthetic history: ``gateway demo --history 2y --centres 10`` fills a store with years of
several centres' days, so that reports can be tried, and timed, at a county's size.

Why rows and not the verbs: a verb is one transaction of a few milliseconds, and a million
tickets (six or so verbs each) through them would take many hours. Instead each centre-day
is played by a cheap model in memory and written in bulk, one transaction per week of a
centre: SQLAlchemy Core ``insert`` executemany, and for the events (nine rows in ten)
``COPY`` on PostgreSQL and a prepared executemany on SQLite. The model: kiosk sessions
arrive on daily, weekly and seasonal shapes; a ticket's wait grows with how busy its hour
is; counters serve one customer at a time, take lunch, and close; what is still waiting at
closing walks out.

The rows are the ones the verbs would have written (visits, tickets, numbers, referrals,
events with the verbs' kinds and data), and each centre's event numbers are gap-free and
in time order. The same seed fills the same history. Memory stays flat: a week is made,
written and dropped before the next.
"""

from __future__ import annotations

import bisect
import heapq
import json
import math
import random
import re
import time as timer
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from gateway import migrate
from gateway.centres import CentreView, load_centre, open_centre
from gateway.clock import FixedClock
from gateway.config import DAYS, CentreConfig, parse_span
from gateway.counters import CENTRE_CLOSED
from gateway.demo import (
    AVOIDABLE_SHARE,
    HELP_SHARE,
    HELP_WEIGHTS,
    NEED_WEIGHTS,
    OUTCOME_WEIGHTS,
    REFER_TO,
)
from gateway.errors import GatewayError, NotAllowed
from gateway.models import Centre, NumberSeries, Referral, Ticket, Visit
from gateway.numbering import format_number
from gateway.store import Store

ACTOR = "history"  # on every event, so synthetic rows can always be told apart
UNITS = {"y": 365, "m": 30, "w": 7, "d": 1}
MAX_DAYS = 3650
BATCH_DAYS = 7  # one transaction per week of a centre
PROGRESS_DAYS = 30

# Kiosk sessions an hour for an average centre on an average day, calibrated so that
# ``--history 2y --centres 10`` makes about a million tickets.
SESSIONS_PER_HOUR = 29.5
# Shapes: the local hour (a morning peak at 10-11, a smaller one at 14:00), the weekday
# (Monday busiest, Friday and Saturday quieter), the month (a dip in August), Christmas.
HOUR_SHAPE = {8: 0.5, 9: 0.75, 10: 1.35, 11: 1.25, 12: 0.95, 13: 0.85, 14: 1.15, 15: 0.85}
LATE_HOURS = 0.55
WEEKDAY_SHAPE = (1.3, 1.05, 0.95, 1.0, 0.85, 0.8, 0.6)
MONTH_SHAPE = {1: 1.05, 3: 1.1, 4: 1.05, 8: 0.78, 12: 0.92}
CHRISTMAS, CHRISTMAS_SHAPE = ((12, 22), (1, 3)), 0.55
BANK_HOLIDAYS = ((12, 25), (12, 26), (1, 1))  # closed, whatever the centre file says
GROWTH_A_YEAR = 0.06
DAY_NOISE = 0.1  # sigma of a day's lognormal swing

SESSION_OUTCOMES = {"ticket": 0.767, "information": 0.15, "abandoned": 0.08, "failed": 0.003}
ABANDONED_AT = {"category": 0.4, "need": 0.45, "question": 0.15}
KIOSKS = ("kiosk-1", "kiosk-2")
LAST_ARRIVAL = timedelta(minutes=10)  # the kiosk stops issuing tickets before closing
# Appointment needs are booked, not walk-ins, in the demo's mix; here they take a share.
BOOKED_WEIGHTS = {"register-birth": 2, "marriage-notice": 1, "jobcentre-appointment": 7}
BOOKED_SHARE = 0.7
REPEAT_SHARE, REPEAT_POOL = 0.05, 1500
DOOR = "front door"
DOOR_SHARE, DOOR_COMPANION, DOOR_NO_KIOSK = 0.85, 0.08, 0.07  # about 1.3 a visit
# Postcode districts: each centre gets a neighbourhood of eight.
DISTRICTS = (
    "SW1A", "SW2", "SE1", "SE5", "SE15", "E1", "E2", "E8", "E14", "E17", "N1", "N4", "N7",
    "N15", "N17", "NW1", "NW5", "NW10", "W2", "W3", "W12", "EC1A", "WC1E", "CR0", "BR1",
    "HA0", "IG1", "RM1", "TW3", "UB3",
)  # fmt: skip
POSTCODE_ANSWERED, CONSENT_GIVEN = 0.7, 0.75

# Waits: exponential, with a mean of this share of the target times the hour's load to
# the power 1.5 (peaks wait far longer), the load capped so a big centre's Monday morning
# stays believable; shorter for priority, later journey steps and handovers.
WAIT_SHARE, LOAD_POWER, LOAD_CAP, LONGEST = 0.3, 1.5, 2.0, 6.0
PRIORITY_WAIT, FOLLOW_WAIT = 0.5, 0.6
LEAVES = 0.012  # gives up waiting and asks for the ticket to be cancelled
PATIENCE = timedelta(minutes=120)  # nobody waits longer: they ask to cancel and leave
LEFT = "customer left"
NO_ANSWER, LATE_AFTER_RECALL = 0.035, 0.35
SERVICE_SIGMA = 0.45
REFER_SHARE, REFER_DEFAULT, HANDOVER_SHARE = {"reception": 0.2}, 0.06, 0.57
LUNCH = 0.7  # of counters on a long day


@dataclass(frozen=True)
class HistorySummary:
    """What a fill made, and how long it took."""

    centres: int
    days: int
    visits: int
    tickets: int
    events: int
    seconds: float
    codes: tuple[str, ...] = ()


def parse_history(text: str) -> int:
    """``"2y"`` -> 730 days (a year is 365 days, a month 30, a week 7); digits are days."""
    match = re.fullmatch(r"\s*(\d{1,5})\s*([ymwd]?)\s*", text.lower())
    days = int(match[1]) * UNITS[match[2] or "d"] if match else 0
    if not 1 <= days <= MAX_DAYS:
        raise GatewayError(
            f"'{text}' is not a length of history I can fill; use a number and y, m, w or d "
            f"up to ten years, like 2y, 18m, 6w or 90d."
        )
    return days


def fill_history(
    store: Store,
    config: CentreConfig,
    *,
    days: int,
    centres: int,
    end: date,
    seed: int = 1,
    progress: Callable[[str], None] | None = None,
) -> HistorySummary:
    """Load ``centres`` copies of ``config`` (codes ``CODE-01``, ``CODE-02``, ...) and fill
    each with ``days`` local days of history ending on ``end``.

    Refuses, changing nothing, if any of those centres already has tickets. Each week of
    a centre is one transaction: stopped half way, the weeks written stay, whole.
    """
    if days < 1 or centres < 1:
        raise GatewayError("History needs at least one day and one centre.")
    if not _hours(config) or not any(n.services for n in config.needs):
        raise NotAllowed(
            f"{config.centre.name} has no opening hours or no need that gives a ticket, "
            "so it has no history to fill; check its centre file."
        )
    started = timer.perf_counter()
    rng = random.Random(seed)
    copies = [_copy(config, n) for n in range(1, centres + 1)]
    migrate.upgrade(store)
    _refuse_filled(store, [c.centre.code for c in copies])
    first = end - timedelta(days=days - 1)
    zone = ZoneInfo(config.centre.timezone)
    clock = FixedClock(datetime.combine(first, time(0), zone) - timedelta(hours=1))
    views = []
    for copy in copies:
        load_centre(store, copy, clock)
        views.append(open_centre(store, copy.centre.code))
    sizes = _sizes(rng, centres)
    made = {"visits": 0, "tickets": 0, "events": 0}
    with store.engine.connect() as conn:
        conn.execution_options(gateway_write=True)  # BEGIN IMMEDIATE on SQLite
        _fast_writes(conn, store.dialect, True)
        try:
            for n, view in enumerate(views):
                plan = _CentrePlan.make(view, rng, sizes[n], door=n % 2 == 0, end=end)
                for batch in _batches(first, end):
                    played = [_play(plan, day) for day in batch if plan.opening(day)]
                    for key, value in _write(conn, store.dialect, view.id, played).items():
                        made[key] += value
                    done = (batch[-1] - first).days + 1
                    crossed = done // PROGRESS_DAYS > (done - len(batch)) // PROGRESS_DAYS
                    if progress and (crossed or done == days):
                        progress(
                            f"{view.code}: {done} of {days} days, {made['tickets']:,} tickets "
                            f"so far ({timer.perf_counter() - started:.0f} s)"
                        )
        finally:
            _fast_writes(conn, store.dialect, False)
    return HistorySummary(
        centres=centres,
        days=days,
        seconds=round(timer.perf_counter() - started, 1),
        codes=tuple(v.code for v in views),
        **made,
    )


def _copy(config: CentreConfig, n: int) -> CentreConfig:
    info = config.centre
    start = (n - 1) * 3 % len(DISTRICTS)
    districts = [DISTRICTS[(start + i) % len(DISTRICTS)] for i in range(8)]
    centre = info.model_copy(
        update={
            "code": f"{info.code}-{n:02d}",
            "name": f"{info.name} {n:02d}",
            "postcode_districts": districts,
        }
    )
    return config.model_copy(update={"centre": centre})


def _refuse_filled(store: Store, codes: list[str]) -> None:
    """Never fill twice: history goes into new centres only."""
    centre, ticket = Centre.__table__, Ticket.__table__  # type: ignore[attr-defined]
    with store.read() as session:
        filled = session.execute(
            sa.select(centre.c.code)
            .where(
                centre.c.code.in_(codes),
                sa.exists().where(ticket.c.centre_id == centre.c.id),
            )
            .order_by(centre.c.code)
        ).scalars()
        found = list(filled)
    if found:
        raise NotAllowed(
            f"The store at {store.where} already has tickets at {', '.join(found)}; history "
            "is only filled into new centres, so give it a new store."
        )


def _sizes(rng: random.Random, centres: int) -> list[float]:
    """Centres differ in size, from 0.7 to 1.3 of the average, in a shuffled order."""
    if centres == 1:
        return [1.0]
    sizes = [0.7 + 0.6 * i / (centres - 1) for i in range(centres)]
    rng.shuffle(sizes)
    return sizes


def _batches(first: date, end: date) -> Iterator[list[date]]:
    day = first
    while day <= end:
        batch = [day + timedelta(days=i) for i in range(BATCH_DAYS)]
        yield [d for d in batch if d <= end]
        day += timedelta(days=BATCH_DAYS)


# -- a centre's fixed parts -----------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Service:
    id: int
    code: str
    name: str
    agency_id: int
    prefix: str
    target: float
    typical: float
    refer_to: list[_Service] = field(default_factory=list)


@dataclass(eq=False)
class _CentrePlan:
    """What stays the same over a centre's history: its services, counters, mix of needs,
    districts, returning customers and size."""

    view: CentreView
    rng: random.Random
    size: float
    door: bool
    end: date
    services: dict[str, _Service]
    needs: list[Any]
    need_weights: list[float]
    answers: list[Any]
    answer_weights: list[float]
    languages: list[str]
    language_weights: list[float]
    outcomes: list[str]
    outcome_weights: list[float]
    repeat_keys: list[str]
    repeat_weights: list[float]
    hours: dict[int, tuple[time, time]]

    @classmethod
    def make(
        cls,
        view: CentreView,
        rng: random.Random,
        size: float,
        *,
        door: bool,
        end: date,
    ) -> _CentrePlan:
        config = view.config
        services = {
            s.code: _Service(
                id=s.id or 0,
                code=s.code,
                name=s.name,
                agency_id=s.agency_id,
                prefix=s.prefix,
                target=float(s.target_wait_minutes),
                typical=float(s.typical_service_minutes),
            )
            for s in view.services.values()
            if s.active
        }
        served = {skill for c in view.counters.values() if c.active for skill in c.skills}
        for service in services.values():
            named = [services[c] for c in REFER_TO.get(service.code, []) if c in services]
            elsewhere = [s for s in services.values() if s.agency_id != service.agency_id]
            service.refer_to = [s for s in named or elsewhere if s.id in served]
        needs = [n for n in config.needs if n.services]
        answers = [n for n in config.needs if not n.services]
        langs = config.centre.languages
        others = [0.2 / (len(langs) - 1)] * (len(langs) - 1) if len(langs) > 1 else []
        keys = [f"{rng.getrandbits(128):032x}" for _ in range(REPEAT_POOL)]
        return cls(
            view=view,
            rng=rng,
            size=size,
            door=door,
            end=end,
            services=services,
            needs=needs,
            need_weights=_weights(NEED_WEIGHTS | BOOKED_WEIGHTS, needs),
            answers=answers,
            answer_weights=_weights(NEED_WEIGHTS, answers),
            languages=list(langs),
            language_weights=_cumulative([0.8, *others]),
            outcomes=[o.code for o in config.outcomes],
            outcome_weights=_cumulative([OUTCOME_WEIGHTS.get(o.code, 3) for o in config.outcomes]),
            repeat_keys=keys,
            repeat_weights=_cumulative([1 / (i + 1) ** 0.8 for i in range(REPEAT_POOL)]),
            hours=_hours(config),
        )

    def opening(self, day: date) -> tuple[datetime, datetime] | None:
        """Opening and closing time (UTC) of a local day, or None when closed."""
        span = self.hours.get(day.weekday())
        if span is None or (day.month, day.day) in BANK_HOLIDAYS:
            return None
        zone = ZoneInfo(self.view.timezone)
        opens = datetime.combine(day, span[0], zone).astimezone(UTC)
        return opens, datetime.combine(day, span[1], zone).astimezone(UTC)

    def level(self, day: date) -> float:
        """How busy a day is against the average, before the hour's shape."""
        level = WEEKDAY_SHAPE[day.weekday()] * MONTH_SHAPE.get(day.month, 1.0) * self.size
        md = (day.month, day.day)
        if md >= CHRISTMAS[0] or md <= CHRISTMAS[1]:
            level *= CHRISTMAS_SHAPE
        level *= (1 + GROWTH_A_YEAR) ** (-(self.end - day).days / 365)
        return level * self.rng.lognormvariate(-(DAY_NOISE**2) / 2, DAY_NOISE)


def _hours(config: CentreConfig) -> dict[int, tuple[time, time]]:
    """Opening and closing time by weekday (Monday 0); a day not in the file is closed."""
    hours = {}
    for weekday, name in enumerate(DAYS):
        span = config.centre.opening_hours.get(name, "closed")
        if span != "closed":
            hours[weekday] = parse_span(span)
    return hours


def _weights(table: dict[str, int], needs: list[Any]) -> list[float]:
    """The demo's mix of needs (a need it does not name weighs 1)."""
    raw = [float(table.get(n.code, 1)) for n in needs]
    return _cumulative(raw if sum(raw) > 0 else [1.0] * len(needs))


def _cumulative(weights: list[float]) -> list[float]:
    out, total = [], 0.0
    for w in weights:
        total += w
        out.append(total)
    return out


def _pick(rng: random.Random, items: list[Any], cumulative: list[float]) -> Any:
    return items[bisect.bisect(cumulative, rng.random() * cumulative[-1])]


def _poisson(rng: random.Random, rate: float) -> int:
    """Knuth's method for small rates, the normal approximation for large ones."""
    if rate > 30:
        return max(0, round(rng.gauss(rate, math.sqrt(rate))))
    limit, count, product = math.exp(-rate), 0, rng.random()
    while product > limit:
        count, product = count + 1, product * rng.random()
    return count


# -- one centre-day -------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Visit:
    arrived_at: datetime
    need: str
    journey: list[str]
    language: str
    help_needed: str | None
    postcode_district: str | None
    appointment_ref: str | None
    appointment_at: datetime | None
    consent_share: bool
    repeat_key: str | None
    ended_at: datetime | None = None
    referred: bool = False
    id: int = 0


@dataclass(eq=False, slots=True)
class _Ticket:
    visit: _Visit
    service: _Service
    step: int
    priority_from: datetime | None
    issued_at: datetime
    order: int
    state: str = "waiting"
    seq: int = 0
    number: str = ""
    called_at: datetime | None = None
    serving_at: datetime | None = None
    ended_at: datetime | None = None
    last_counter_id: int | None = None
    walked_out: bool = False
    recalls: int = 0
    outcome: str | None = None
    avoidable: bool = False
    id: int = 0


@dataclass(eq=False, slots=True)
class _Referral:
    visit: _Visit
    source: _Ticket
    handed: _Ticket | None
    target: _Service
    kind: str
    consent: bool
    at: datetime
    id: int = 0


@dataclass(eq=False, slots=True)
class _Desk:
    """A counter during one day: it serves one customer at a time and takes its lunch
    as soon as it is free after the planned time."""

    id: int
    code: str
    opens_at: datetime
    free_at: datetime
    lunch_plan: datetime | None
    lunch_len: timedelta
    latest_lunch: datetime
    lunch_at: datetime | None = None

    def ready_at(self, at: datetime) -> datetime:
        if (
            self.lunch_plan is not None
            and self.lunch_at is None
            and max(at, self.free_at) >= self.lunch_plan
        ):
            start = max(self.lunch_plan, self.free_at)
            if start <= self.latest_lunch:
                self.lunch_at, self.free_at = start, start + self.lunch_len
            else:
                self.lunch_plan = None  # too busy for lunch today
        return max(at, self.free_at)


# An event as the verbs would write it, numbered once the day is known:
# (at, order, kind, ticket, visit, counter id, data, ticket whose number goes in data).
Spec = tuple[datetime, int, str, _Ticket | None, _Visit | None, int | None, Any, _Ticket | None]


@dataclass(eq=False)
class _Day:
    plan: _CentrePlan
    day: date
    opens: datetime
    closes: datetime
    offset: timedelta
    load: dict[int, float]
    visits: list[_Visit] = field(default_factory=list)
    tickets: list[_Ticket] = field(default_factory=list)
    referrals: list[_Referral] = field(default_factory=list)
    events: list[Spec] = field(default_factory=list)
    desks: list[_Desk] = field(default_factory=list)
    skilled: dict[int, list[tuple[int, _Desk]]] = field(default_factory=dict)
    ready: list[tuple[datetime, int, _Ticket]] = field(default_factory=list)
    walked_out: list[_Ticket] = field(default_factory=list)
    _order: int = 0

    @property
    def rng(self) -> random.Random:
        return self.plan.rng

    def event(
        self,
        kind: str,
        at: datetime,
        ticket: _Ticket | None = None,
        visit: _Visit | None = None,
        counter: int | None = None,
        data: dict[str, Any] | None = None,
        number: _Ticket | None = None,
    ) -> None:
        self._order += 1
        self.events.append((at, self._order, kind, ticket, visit, counter, data, number))

    def next_order(self) -> int:
        self._order += 1
        return self._order

    def local_hour(self, at: datetime) -> int:
        return (at + self.offset).hour


def _play(plan: _CentrePlan, day: date) -> _Day:
    """One centre-day, from the counters opening to ``close_day``."""
    opens, closes = plan.opening(day) or (None, None)
    assert opens is not None and closes is not None
    zone = ZoneInfo(plan.view.timezone)
    offset = datetime.combine(day, time(12), zone).utcoffset() or timedelta(0)
    level = plan.level(day)
    load = {h: HOUR_SHAPE.get(h, LATE_HOURS) * level for h in range(24)}
    today = _Day(plan, day, opens, closes, offset, load)
    _open_counters(today)
    for start, outcome in _sessions(today):
        _session(today, start, outcome)
    _serve(today)
    _close(today)
    _number(today)
    return today


def _open_counters(today: _Day) -> None:
    rng, long_day = today.rng, today.closes - today.opens >= timedelta(hours=6)
    noon = datetime.combine(today.day, time(12), UTC) - today.offset
    for counter in today.plan.view.counters.values():
        if not counter.active:
            continue
        opens_at = today.opens + timedelta(minutes=rng.choice((0, 0, 2, 5, 8)))
        lunch = noon + timedelta(minutes=rng.uniform(0, 105))
        length = timedelta(minutes=rng.choice((30, 30, 45)))
        desk = _Desk(
            id=counter.id or 0,
            code=counter.code,
            opens_at=opens_at,
            free_at=opens_at,
            lunch_plan=lunch if long_day and rng.random() < LUNCH else None,
            lunch_len=length,
            latest_lunch=today.closes - length - timedelta(minutes=30),
        )
        today.desks.append(desk)
        today.event("counter_open", opens_at, counter=desk.id, data={"counter": desk.code})
        for rank, skill in enumerate(counter.skills):
            today.skilled.setdefault(skill, []).append((rank, desk))


def _sessions(today: _Day) -> list[tuple[datetime, str]]:
    """Kiosk sessions: Poisson in each local hour at that hour's rate, with an outcome."""
    rng, starts = today.rng, []
    last = today.closes - LAST_ARRIVAL - timedelta(minutes=2)
    hour = today.opens
    while hour < today.closes:
        top = (hour + today.offset).replace(minute=0, second=0, microsecond=0) - today.offset
        until = min(top + timedelta(hours=1), today.closes)
        share = (until - hour) / timedelta(hours=1)
        rate = SESSIONS_PER_HOUR * today.load[today.local_hour(hour)] * share
        span = (until - hour).total_seconds()
        for _ in range(_poisson(rng, rate)):
            start = hour + timedelta(seconds=rng.uniform(0, span))
            if start < last:
                starts.append(start)
        hour = until
    starts.sort()
    kinds, weights = list(SESSION_OUTCOMES), _cumulative(list(SESSION_OUTCOMES.values()))
    return [(start, _pick(rng, kinds, weights)) for start in starts]


def _session(today: _Day, start: datetime, outcome: str) -> None:
    """One customer at the kiosk: its footfall events, and a visit if it gives a ticket."""
    plan, rng = today.plan, today.rng
    kiosk, session = rng.choice(KIOSKS), f"{rng.getrandbits(48):012x}"
    language = _pick(rng, plan.languages, plan.language_weights)
    if plan.door:
        _door(today, start)
    need = None
    if outcome == "information" and plan.answers:
        need, step = _pick(rng, plan.answers, plan.answer_weights), "answer"
    elif outcome in ("ticket", "failed"):
        need, step = _pick(rng, plan.needs, plan.need_weights), "ticket"
    else:
        outcome = "abandoned"
        step = _pick(rng, list(ABANDONED_AT), _cumulative(list(ABANDONED_AT.values())))
        if step == "question":
            asking = [n for n in plan.needs if n.questions]
            need = rng.choice(asking) if asking else None
            step = "question" if need else "need"
    taps = rng.uniform(20, 60) + 15 * (len(need.questions) if need else 0)
    tapped = start + timedelta(seconds=taps)
    today.event("kiosk_session_started", start, data={"kiosk": kiosk, "session": session})
    data = {"kiosk": kiosk, "session": session, "value": language}
    today.event("kiosk_language", start + timedelta(seconds=taps * 0.15), data=data)
    if need is not None:
        data = {"kiosk": kiosk, "session": session, "value": need.code}
        today.event("kiosk_need", start + timedelta(seconds=taps * 0.6), data=data)
    ticket, help_needed = None, None
    if outcome == "ticket":
        help_needed = _help(rng, language, plan.languages[0])
        ticket = _check_in(today, tapped, need, language, help_needed, kiosk)
        ended = tapped + timedelta(seconds=rng.uniform(3, 8))
    elif outcome == "abandoned":
        ended = tapped + timedelta(seconds=rng.uniform(30, 90))  # the kiosk's time-out
    else:
        ended = tapped + timedelta(seconds=rng.uniform(5, 40))
    data = {"kiosk": kiosk, "session": session, "outcome": outcome, "step": step}
    data["language"] = language
    if need is not None:
        data["need"] = need.code
    if ticket is not None:
        data["number"] = None  # filled in once the day's tickets are numbered
    if help_needed is not None:
        data["help"] = help_needed
    data["seconds"] = round((ended - start).total_seconds(), 1)
    today.event("kiosk_session_ended", ended, data=data, number=ticket)


def _help(rng: random.Random, language: str, first: str) -> str | None:
    if rng.random() >= HELP_SHARE:
        return None
    kinds = HELP_WEIGHTS | ({"interpreter": 12} if language != first else {})
    return rng.choices(list(kinds), list(kinds.values()))[0]


def _door(today: _Day, start: datetime) -> None:
    rng, data = today.rng, {"sensor": DOOR}
    if rng.random() < DOOR_SHARE:
        entered = max(today.opens, start - timedelta(seconds=rng.uniform(5, 60)))
        today.event("door_entry", entered, data=data)
        if rng.random() < DOOR_COMPANION:
            today.event("door_entry", entered + timedelta(seconds=rng.uniform(0, 4)), data=data)
    if rng.random() < DOOR_NO_KIOSK:  # in for the toilets, the computers, a booked room
        span = (today.closes - today.opens).total_seconds()
        at = today.opens + timedelta(seconds=rng.uniform(0, span))
        today.event("door_entry", at, data=data)


def _check_in(
    today: _Day, at: datetime, need: Any, language: str, help_needed: str | None, kiosk: str
) -> _Ticket:
    """As ``Queue.check_in``: a visit, its first ticket, and help asked for at the kiosk."""
    plan, rng = today.plan, today.rng
    booked = "appointment" in need.questions and rng.random() < BOOKED_SHARE
    appointment_at = at + timedelta(minutes=rng.uniform(-4, 12)) if booked else None
    district = None
    if "postcode" in need.questions and rng.random() < POSTCODE_ANSWERED:
        district = rng.choice(plan.view.config.centre.postcode_districts or DISTRICTS)
    repeat_key = None
    if rng.random() < REPEAT_SHARE:
        repeat_key = _pick(rng, plan.repeat_keys, plan.repeat_weights)
    visit = _Visit(
        arrived_at=at,
        need=need.code,
        journey=list(need.services),
        language=language,
        help_needed=help_needed,
        postcode_district=district,
        appointment_ref=f"APT-{rng.randint(10000, 99999)}" if booked else None,
        appointment_at=appointment_at,
        consent_share="consent" in need.questions and rng.random() < CONSENT_GIVEN,
        repeat_key=repeat_key,
    )
    today.visits.append(visit)
    data = {"need": need.code, "language": language, "kiosk": kiosk}
    today.event("checked_in", at, visit=visit, data=data)
    priority = at if help_needed else (appointment_at or at) if booked else None
    ticket = _issue(today, visit, need.services[0], 0, at, priority)
    if help_needed:
        data = {"help": help_needed, "number": None}
        today.event("help_requested", at, ticket, visit, data=data, number=ticket)
    return ticket


def _issue(
    today: _Day,
    visit: _Visit,
    code: str,
    step: int,
    at: datetime,
    priority: datetime | None,
    handover: bool = False,
) -> _Ticket:
    """A waiting ticket, and when it will be called (or when its customer gives up)."""
    rng, service = today.rng, today.plan.services[code]
    ticket = _Ticket(visit, service, step, priority, at, today.next_order())
    today.tickets.append(ticket)
    data = {"number": None, "service": code, "step": step}
    today.event("ticket_issued", at, ticket, visit, data=data, number=ticket)
    if visit.appointment_at is not None and step == 0:
        wanted = max(at + timedelta(minutes=1), visit.appointment_at)
        call = wanted + timedelta(minutes=rng.expovariate(1 / 2.5))
    else:
        load = min(today.load[today.local_hour(at)], LOAD_CAP)
        mean = WAIT_SHARE * service.target * load**LOAD_POWER
        mean *= PRIORITY_WAIT if priority is not None else 1.0
        mean *= FOLLOW_WAIT if step > 0 or handover else 1.0
        wait = min(rng.expovariate(1 / max(mean, 0.2)), LONGEST * mean)
        call = at + timedelta(minutes=wait)
    if rng.random() < LEAVES:
        gives_up = at + (call - at) * rng.uniform(0.3, 0.9)
        _end(today, ticket, "cancelled", gives_up, None, reason=LEFT)
        _end_visit(today, visit, gives_up)
    else:
        today.ready.append((call, ticket.order, ticket))
    return ticket


def _serve(today: _Day) -> None:
    """Call tickets in the order they become due, each to a free counter that serves its
    service (the one that prefers it most, then the one idle longest); a ticket that no
    counter can take before closing waits for ``close_day``."""
    heap = today.ready
    heapq.heapify(heap)
    while heap:
        at, order, ticket = heapq.heappop(heap)
        best, soonest = None, None
        for rank, desk in today.skilled.get(ticket.service.id, []):
            ready = desk.ready_at(at)
            if ready <= at:
                if best is None or (rank, desk.free_at) < best[0]:
                    best = ((rank, desk.free_at), desk)
            elif soonest is None or ready < soonest:
                soonest = ready
        if best is not None and at < today.closes:
            _call(today, ticket, best[1], at)
        elif soonest is not None and soonest < today.closes and at < today.closes:
            if soonest - ticket.issued_at > PATIENCE:
                gives_up = ticket.issued_at + PATIENCE
                _end(today, ticket, "cancelled", gives_up, None, reason=LEFT)
                _end_visit(today, ticket.visit, gives_up)
            else:
                heapq.heappush(heap, (soonest, order, ticket))
        else:
            today.walked_out.append(ticket)


def _call(today: _Day, ticket: _Ticket, desk: _Desk, at: datetime) -> None:
    """Called, perhaps recalled, then served (or a no-show); the counter is busy till the
    end, plus a minute of notes."""
    rng, visit = today.rng, ticket.visit
    ticket.state, ticket.called_at, ticket.last_counter_id = "called", at, desk.id
    data = {
        "number": None,
        "counter": desk.code,
        "waited_s": int((at - ticket.issued_at).total_seconds()),
    }
    today.event("called", at, ticket, visit, desk.id, data, ticket)
    walk = timedelta(minutes=rng.uniform(0.3, 1.5))
    if rng.random() < NO_ANSWER:
        recalled = at + timedelta(minutes=2)
        ticket.recalls = 1
        data = {"number": None, "recalls": 1}
        today.event("recalled", recalled, ticket, visit, desk.id, data, ticket)
        if rng.random() >= LATE_AFTER_RECALL:
            gone = recalled + timedelta(minutes=2)
            _end(today, ticket, "no_show", gone, desk.id)
            _end_visit(today, visit, gone)
            desk.free_at = gone + timedelta(minutes=0.3)
            return
        walk = timedelta(minutes=2 + rng.uniform(0.5, 1.5))
    serving = at + walk
    ticket.state, ticket.serving_at = "serving", serving
    today.event("serving", serving, ticket, visit, desk.id, {"number": None}, ticket)
    typical = ticket.service.typical
    minutes = rng.lognormvariate(math.log(typical) - SERVICE_SIGMA**2 / 2, SERVICE_SIGMA)
    finished = serving + timedelta(minutes=min(max(minutes, 1.0), typical * 4))
    _finish(today, ticket, desk, finished)
    desk.free_at = finished + timedelta(minutes=rng.uniform(0.3, 1.2))


def _finish(today: _Day, ticket: _Ticket, desk: _Desk, at: datetime) -> None:
    """As ``complete`` or ``refer``: done with an outcome, or referred once a visit."""
    rng, visit, service = today.rng, ticket.visit, ticket.service
    chance = REFER_SHARE.get(service.code, REFER_DEFAULT)
    targets = service.refer_to
    if targets and not visit.referred and rng.random() < chance:
        visit.referred = True
        target = rng.choice(targets)
        kind = "handover" if rng.random() < HANDOVER_SHARE else "signpost"
        _end(today, ticket, "referred", at, desk.id, referral=kind, to=target.code)
        handed = None
        if kind == "handover":
            handed = _issue(
                today, visit, target.code, ticket.step, at, ticket.priority_from, handover=True
            )
        else:
            _next_step(today, ticket, at)
        referral = _Referral(visit, ticket, handed, target, kind, rng.random() < 0.85, at)
        today.referrals.append(referral)
        data = {
            "referral": kind,
            "to": target.code,
            "referral_id": referral,
            "cross_agency": service.agency_id != target.agency_id,
        }
        today.event("referral", at, ticket, visit, data=data)
        return
    ticket.outcome = _pick(rng, today.plan.outcomes, today.plan.outcome_weights)
    ticket.avoidable = rng.random() < AVOIDABLE_SHARE.get(service.code, 0.04)
    _end(
        today,
        ticket,
        "done",
        at,
        desk.id,
        outcome=ticket.outcome,
        avoidable=ticket.avoidable or None,
    )
    _next_step(today, ticket, at)


def _next_step(today: _Day, ticket: _Ticket, at: datetime) -> None:
    visit = ticket.visit
    if ticket.step + 1 < len(visit.journey):
        priority = visit.arrived_at if visit.help_needed else None
        _issue(today, visit, visit.journey[ticket.step + 1], ticket.step + 1, at, priority)
    else:
        _end_visit(today, visit, at)


def _end(
    today: _Day, ticket: _Ticket, state: str, at: datetime, counter: int | None, **data: Any
) -> None:
    ticket.state, ticket.ended_at = state, at
    payload = {"number": None, **{k: v for k, v in data.items() if v is not None}}
    today.event(state, at, ticket, ticket.visit, counter, payload, ticket)


def _end_visit(today: _Day, visit: _Visit, at: datetime) -> None:
    visit.ended_at = at
    today.event("visit_ended", at, visit=visit)


def _close(today: _Day) -> None:
    """Counters close as they finish after closing time, each lunch is logged, and
    ``close_day`` then cancels whoever is still waiting: they walked out."""
    last = today.closes
    for desk in today.desks:
        desk.ready_at(today.closes)  # a lunch nobody interrupted is still taken
        if desk.lunch_at is not None:
            data = {"counter": desk.code, "reason": "lunch"}
            today.event("counter_paused", desk.lunch_at, counter=desk.id, data=data)
            back = desk.lunch_at + desk.lunch_len
            today.event("counter_open", back, counter=desk.id, data={"counter": desk.code})
        closed = max(today.closes, desk.free_at)
        today.event("counter_closed", closed, counter=desk.id, data={"counter": desk.code})
        last = max(last, closed)
    closing = last + timedelta(minutes=today.rng.uniform(1, 5))
    for ticket in sorted(today.walked_out, key=lambda t: t.order):
        ticket.walked_out = True
        _end(today, ticket, "cancelled", closing, None, reason=CENTRE_CLOSED)
        _end_visit(today, ticket.visit, closing)
    day = today.day.isoformat()
    today.event("day_closed", closing, data={"day": day, "cancelled": len(today.walked_out)})


def _number(today: _Day) -> None:
    """Numbers per service in the order tickets were issued, as ``next_number`` gives them."""
    today.tickets.sort(key=lambda t: (t.issued_at, t.order))
    last: dict[int, int] = {}
    for ticket in today.tickets:
        seq = last[ticket.service.id] = last.get(ticket.service.id, 0) + 1
        ticket.seq, ticket.number = seq, format_number(ticket.service.prefix, seq)


# -- writing ----------------------------------------------------------------------------


def _fast_writes(conn: sa.Connection, dialect: str, on: bool) -> None:
    """A bulk fill need not wait for the disk at every commit: a crash loses whole weeks
    (each a transaction), never half of one. Set back to the store's rule afterwards."""
    if dialect == "sqlite":
        raw: Any = conn.connection.driver_connection
        raw.execute(f"PRAGMA synchronous={'OFF' if on else 'NORMAL'}")
    elif dialect == "postgresql":
        conn.exec_driver_sql("SET synchronous_commit = " + ("off" if on else "DEFAULT"))
        conn.commit()


def _write(conn: sa.Connection, dialect: str, centre_id: int, played: list[_Day]) -> dict[str, int]:
    """One transaction: the days' rows, and their events numbered after the centre's last."""
    visits = [v for d in played for v in d.visits]
    tickets = [t for d in played for t in d.tickets]
    referrals = sorted((r for d in played for r in d.referrals), key=lambda r: r.at)
    specs = sorted(spec for d in played for spec in d.events)
    if not specs:
        return {"visits": 0, "tickets": 0, "events": 0}
    with conn.begin():
        made: list[tuple[list[Any], str]] = [
            (visits, "visit"),
            (tickets, "ticket"),
            (referrals, "referral"),
        ]
        for rows, table in made:
            for row, row_id in zip(rows, _reserve(conn, dialect, table, len(rows)), strict=True):
                row.id = row_id
        centre = Centre.__table__  # type: ignore[attr-defined]
        last = conn.execute(
            sa.update(centre)
            .where(centre.c.id == centre_id)
            .values(event_seq=centre.c.event_seq + len(specs))
            .returning(centre.c.event_seq)
        ).scalar_one()
        first_seq = last - len(specs) + 1
        _insert(conn, Visit, [_visit_row(v, centre_id, d.day) for d in played for v in d.visits])
        _insert(conn, Ticket, [_ticket_row(t, centre_id, d.day) for d in played for t in d.tickets])
        _insert(conn, Referral, [_referral_row(r, centre_id) for r in referrals])
        _insert(conn, NumberSeries, [row for d in played for row in _series(d, centre_id)])
        events = [_event_row(spec, centre_id, first_seq + i) for i, spec in enumerate(specs)]
        _insert_events(conn, dialect, events)
    return {"visits": len(visits), "tickets": len(tickets), "events": len(specs)}


def _reserve(conn: sa.Connection, dialect: str, table: str, count: int) -> list[int]:
    """Ids for rows that others refer to, taken before writing them: from the table's
    sequence on PostgreSQL; past the largest on SQLite (the writing lock is held)."""
    if count == 0:
        return []
    if dialect == "postgresql":
        found = conn.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table, "n": count},
        ).scalars()
        return [int(i) for i in found]
    start = conn.execute(sa.text(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")).scalar_one()
    return list(range(int(start), int(start) + count))


def _insert(conn: sa.Connection, model: Any, rows: list[dict[str, Any]]) -> None:
    if rows:
        conn.execute(sa.insert(model.__table__), rows)


def _visit_row(v: _Visit, centre_id: int, day: date) -> dict[str, Any]:
    return {
        "id": v.id,
        "centre_id": centre_id,
        "day": day,
        "need": v.need,
        "language": v.language,
        "help_needed": v.help_needed,
        "postcode_district": v.postcode_district,
        "appointment_ref": v.appointment_ref,
        "appointment_at": v.appointment_at,
        "consent_share": v.consent_share,
        "repeat_key": v.repeat_key,
        "journey": v.journey,
        "arrived_at": v.arrived_at,
        "ended_at": v.ended_at,
    }


def _ticket_row(t: _Ticket, centre_id: int, day: date) -> dict[str, Any]:
    return {
        "id": t.id,
        "centre_id": centre_id,
        "visit_id": t.visit.id,
        "service_id": t.service.id,
        "day": day,
        "seq": t.seq,
        "number": t.number,
        "state": t.state,
        "step": t.step,
        "priority_from": t.priority_from,
        "arrived_at": t.visit.arrived_at,
        "issued_at": t.issued_at,
        "called_at": t.called_at,
        "serving_at": t.serving_at,
        "ended_at": t.ended_at,
        "changed_at": t.ended_at,
        "counter_id": None,
        "for_counter_id": None,
        "staff_id": None,
        "first_called_at": t.called_at,
        "last_counter_id": t.last_counter_id,
        "walked_out": t.walked_out,
        "recalls": t.recalls,
        "outcome": t.outcome,
        "avoidable": t.avoidable,
    }


def _referral_row(r: _Referral, centre_id: int) -> dict[str, Any]:
    return {
        "id": r.id,
        "centre_id": centre_id,
        "visit_id": r.visit.id,
        "from_ticket_id": r.source.id,
        "to_ticket_id": r.handed.id if r.handed else None,
        "from_agency_id": r.source.service.agency_id,
        "from_service_id": r.source.service.id,
        "to_agency_id": r.target.agency_id,
        "to_service_id": r.target.id,
        "kind": r.kind,
        "reason": f"needs {r.target.name}",
        "consent_share": r.consent,
        "staff_id": None,
        "at": r.at,
    }


def _series(today: _Day, centre_id: int) -> list[dict[str, Any]]:
    last: dict[int, int] = {}
    for ticket in today.tickets:
        last[ticket.service.id] = max(last.get(ticket.service.id, 0), ticket.seq)
    return [
        {"centre_id": centre_id, "service_id": sid, "day": today.day, "last": n}
        for sid, n in last.items()
    ]


EVENT_COLUMNS = "centre_id, seq, kind, at, ticket_id, visit_id, counter_id, actor, data"


def _insert_events(conn: sa.Connection, dialect: str, rows: list[tuple[Any, ...]]) -> None:
    """Events are nine rows in ten, so they skip SQLAlchemy's per-row work: ``COPY`` on
    PostgreSQL; on SQLite one prepared INSERT given the values in the form ``UTCDateTime``
    and ``JSON`` store them (naive UTC text to the microsecond, JSON text)."""
    columns = EVENT_COLUMNS
    if dialect == "postgresql":
        raw: Any = conn.connection.driver_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY event ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    stored = [(*row[:3], _sqlite_time(row[3]), *row[4:]) for row in rows]
    marks = ", ".join("?" * len(columns.split(",")))
    conn.exec_driver_sql(f"INSERT INTO event ({columns}) VALUES ({marks})", stored)


def _sqlite_time(at: datetime) -> str:
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _event_row(spec: Spec, centre_id: int, seq: int) -> tuple[Any, ...]:
    at, _, kind, ticket, visit, counter, data, numbered = spec
    if numbered is not None and data is not None and "number" in data:
        data["number"] = numbered.number
    if data is not None and isinstance(data.get("referral_id"), _Referral):
        data["referral_id"] = data["referral_id"].id
    ticket_id = ticket.id if ticket else None
    visit_id = visit.id if visit else None
    return (centre_id, seq, kind, at, ticket_id, visit_id, counter, ACTOR, json.dumps(data))
