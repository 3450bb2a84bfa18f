"""``gateway demo``: play a realistic day in a fresh demo centre, fast.

The example centre is loaded into a temporary SQLite store (or the empty store named by
``--db``) and a whole day is played through the queue verbs only, with a ``FixedClock``
that jumps from event to event: visits arrive on an hour-of-day profile, counters open,
call, serve, refer, take lunch and close, and the day ends with a summary of tickets,
waits, service levels and referrals. The same seed plays the same day. ``--centre`` and
``--at`` are not used: the demo builds its own centre and drives its own clock.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import tempfile
import time as timer
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlmodel import func, select

from gateway import migrate
from gateway.centres import CentreView, load_centre, open_centre
from gateway.clock import FixedClock, WallClock, business_day
from gateway.config import DAYS, EXAMPLE_CENTRE, CentreConfig, load_centre_file, parse_span
from gateway.errors import GatewayError, NothingWaiting
from gateway.footfall import KioskSessionRecord
from gateway.models import Centre, Ticket
from gateway.queue import Queue
from gateway.store import Store
from gateway.summary import summarise, summary_text
from gateway.tickets import TicketView

# Kiosk sessions an hour at scale 1.0, shaped by the local hour: busy late morning and just
# after lunch. Tuned so the example's 13 counters run at about 70% and waits stay short.
ARRIVALS_PER_HOUR = 32.0
HOUR_PROFILE = {9: 0.8, 10: 1.0, 11: 1.25, 12: 1.0, 13: 1.2, 14: 1.1, 15: 0.9, 16: 0.6}
LAST_ARRIVAL = timedelta(minutes=10)  # the kiosk stops issuing tickets before closing
# How often each need is chosen by walk-ins at the kiosk (unlisted needs weigh 1).
NEED_WEIGHTS = {
    "pay-council-tax": 20, "council-tax-question": 12, "help-with-rent": 12,
    "universal-credit-help": 3, "universal-credit-question": 9, "money-worries": 3,
    "food-and-energy": 2, "moving-home": 5, "homeless": 3, "housing-register": 3,
    "landlord-problem": 3, "someone-died": 1, "register-birth": 0, "marriage-notice": 0,
    "certificate": 1, "lost-job": 2, "jobcentre-appointment": 0, "find-work": 5,
    "health-check": 2, "stop-smoking": 3, "blue-badge": 7, "bus-pass": 8, "care-at-home": 4,
    "older-person": 5, "independent-advice": 2, "form-help": 2, "not-sure": 18,
    "missed-bin": 10, "new-bin": 6, "street-problem": 5, "parking-permit": 8, "parking-fine": 8,
    "opening-hours": 4, "where-to-go": 7, "toilets": 5, "wifi": 3, "computers": 4,
    "register-to-vote": 2,
}  # fmt: skip
HELP_SHARE, HELP_WEIGHTS = 0.05, {"wheelchair": 4, "interpreter": 3, "hearing_loop": 2, "bsl": 1}
# Booked diaries: a slot every so many minutes, the share booked, and the needs booked.
DIARIES = {
    "registrar": (45, 0.6, ["register-birth", "register-birth", "marriage-notice", "someone-died"]),
    "jobcentre-appointment": (30, 0.75, ["jobcentre-appointment"]),
    "health-check": (40, 0.5, ["health-check"]),
}
DISTRICTS = ("ME14", "ME15", "ME16", "ME17", "ME18", "ME20", "TN12")
# Kiosk sessions that end with nobody checked in: walked away, and at which step.
ABANDONED_SHARE = 0.06
ABANDONED_STEPS = {"language": 1, "category": 3, "need": 4, "question": 2}
NO_ANSWER, LATE_AFTER_RECALL = 0.035, 0.35
# Where a counter refers a customer whose need is better met elsewhere.
REFER_TO = {
    "reception": ["council-tax", "benefits", "housing", "advice", "waste", "blue-badge"],
    "council-tax": ["benefits", "debt-advice"], "benefits": ["debt-advice", "help-to-claim"],
    "housing": ["advice", "benefits", "social-care"], "waste": ["parking"],
    "parking": ["blue-badge"], "registrar": ["council-tax", "benefits"],
    "blue-badge": ["social-care", "age-uk"], "social-care": ["age-uk", "health-check"],
    "jobcentre": ["help-to-claim", "benefits", "advice"],
    "jobcentre-appointment": ["help-to-claim", "debt-advice"],
    "health-check": ["stop-smoking", "age-uk"], "stop-smoking": ["health-check"],
    "advice": ["debt-advice", "benefits", "housing"], "debt-advice": ["benefits", "advice"],
    "help-to-claim": ["jobcentre", "benefits"], "age-uk": ["social-care", "blue-badge"],
}  # fmt: skip
REFER_SHARE, HANDOVER_SHARE = {"reception": 0.35}, 0.55  # reception triages; others 6%
OUTCOME_WEIGHTS = {"resolved": 62, "partly-resolved": 14, "follow-up": 12, "unresolved": 6}
AVOIDABLE_SHARE = {"reception": 0.3, "council-tax": 0.15, "waste": 0.25, "parking": 0.2}
CLOSING = "centre closing"


@dataclass
class Desk:
    """What the demo knows of one counter: its skills, its state, whether it is busy."""

    code: str
    main: str
    skills: set[str]
    state: str = "closed"
    busy: bool = False  # a ticket in hand, or wrapping up after one
    break_due: bool = False
    break_minutes: float = 0.0


@dataclass
class DemoDay:
    """One day played through the queue verbs; events run in time order."""

    queue: Queue
    clock: FixedClock
    rng: random.Random
    opens: datetime
    closes: datetime
    desks: dict[str, Desk] = field(default_factory=dict)
    waiting: dict[int, str] = field(default_factory=dict)  # ticket id -> service code
    referred_visits: set[int] = field(default_factory=set)
    information_only: int = 0
    sessions: int = 0
    kiosk_rng: random.Random = field(default_factory=lambda: random.Random(7))
    closing: bool = False
    _events: list[tuple[datetime, int, str, tuple[Any, ...]]] = field(default_factory=list)
    _seq: int = 0  # ties at the same instant run in the order they were planned

    def at(self, when: datetime, kind: str, *payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._events, (when, self._seq, kind, payload))

    def later(self, minutes: float, kind: str, *payload: Any) -> None:
        self.at(self.clock.now() + timedelta(minutes=minutes), kind, *payload)

    def play(self, scale: float) -> None:
        rng, long_day = self.rng, self.closes - self.opens >= timedelta(hours=6)
        for counter in self.queue.centre.config.counters:
            desk = Desk(counter.code, counter.services[0], set(counter.services))
            self.desks[desk.code] = desk
            self.at(self.opens + timedelta(minutes=rng.choice((0, 0, 2, 5, 8))), "open", desk)
            if long_day and rng.random() < 0.7:  # lunch, staggered; the others have cover
                desk.break_minutes = rng.choice((30, 30, 45))
                noon = self.opens.replace(hour=12, minute=0)
                self.at(noon + timedelta(minutes=rng.uniform(0, 105)), "break", desk)
        self._arrivals(scale)
        self.at(self.closes, "close")
        while self._events:
            when, _, kind, payload = heapq.heappop(self._events)
            self.clock.set(when)
            getattr(self, f"_on_{kind}")(*payload)
            self._dispatch()

    def _arrivals(self, scale: float) -> None:
        """Walk-ins minute by minute (Poisson, at the profile's rate for that local hour),
        and the booked appointments of the diaries, each a little before or after its slot."""
        rng, zone, minute = self.rng, ZoneInfo(self.queue.centre.timezone), self.opens
        while minute < self.closes - LAST_ARRIVAL:
            rate = ARRIVALS_PER_HOUR * HOUR_PROFILE.get(minute.astimezone(zone).hour, 0.5)
            for _ in range(_poisson(rng, rate * scale / 60)):
                self.at(minute + timedelta(seconds=rng.uniform(0, 60)), "arrive")
            minute += timedelta(minutes=1)
        for service, (every, share, needs) in DIARIES.items():
            slot = self.opens + timedelta(minutes=10)
            while slot < self.closes - timedelta(minutes=every):
                if self.queue.centre.config.service(service) and rng.random() < share * scale:
                    early = timedelta(minutes=rng.uniform(-4, 12))  # most early, a few late
                    self.at(max(self.opens, slot - early), "arrive", rng.choice(needs), slot)
                slot += timedelta(minutes=every)

    # -- what happens ---------------------------------------------------------------

    def _on_arrive(self, booked: str | None = None, slot: datetime | None = None) -> None:
        rng, config = self.rng, self.queue.centre.config
        weights = [NEED_WEIGHTS.get(n.code, 1) for n in config.needs]
        need = (config.need(booked) if booked else None) or rng.choices(config.needs, weights)[0]
        if self.kiosk_rng.random() < ABANDONED_SHARE:
            step = self.kiosk_rng.choices(list(ABANDONED_STEPS), list(ABANDONED_STEPS.values()))
            self._kiosk_session("abandoned", step[0])
        if not need.services:  # answered on screen: footfall, but no visit and no ticket
            self.information_only += 1
            self._kiosk_session("information", "answer", need=need.code)
            return
        langs = config.centre.languages  # mostly the first; the others share a fifth
        language = rng.choices(langs, [0.8] + [0.2 / max(1, len(langs) - 1)] * (len(langs) - 1))
        help_needed = None
        if rng.random() < HELP_SHARE:
            kinds = HELP_WEIGHTS | ({"interpreter": 12} if language[0] != langs[0] else {})
            help_needed = rng.choices(list(kinds), list(kinds.values()))[0]
        ticket = self.queue.check_in(
            need.code,
            language=language[0],
            help_needed=help_needed,
            postcode_district=rng.choice(DISTRICTS) if "postcode" in need.questions else None,
            appointment_ref=f"APT-{rng.randint(10000, 99999)}" if slot else None,
            appointment_at=slot,
            consent_share="consent" in need.questions and rng.random() < 0.75,
        )
        self._kiosk_session("ticket", "ticket", need=need.code, language=language[0], ticket=ticket)
        self._queued(ticket)

    def _kiosk_session(
        self,
        outcome: str,
        step: str,
        *,
        need: str | None = None,
        language: str | None = None,
        ticket: TicketView | None = None,
    ) -> None:
        """The kiosk's record of one session, as the kiosk writes it when a session ends."""
        self.sessions += 1
        now = self.clock.now()
        self.queue.record_kiosk_session(
            KioskSessionRecord(
                kiosk="kiosk-1",
                session=f"demo-{self.sessions}",
                started_at=now - timedelta(seconds=self.kiosk_rng.randint(30, 150)),
                outcome=outcome,
                step=step,
                language=language,
                need=need,
                ticket=ticket.number if ticket else None,
            )
        )

    def _on_open(self, desk: Desk) -> None:  # at the start, and back from a break
        if not self.closing:
            desk.state = self.queue.set_counter_state(desk.code, "open")

    def _on_break(self, desk: Desk) -> None:
        if any(d.state == "paused" and _colleagues(d, desk) for d in self.desks.values()):
            self.later(10, "break", desk)  # one of a pair stays at the desk
        else:
            desk.break_due = True
            self._rest(desk)

    def _on_answer(self, desk: Desk, ticket: int) -> None:
        if self.rng.random() < NO_ANSWER:  # nobody comes up: call again in two minutes
            self.later(2, "recall", desk, ticket)
        else:
            self._on_serve(desk, ticket)

    def _on_recall(self, desk: Desk, ticket: int) -> None:
        self.queue.recall(ticket)
        if self.rng.random() < LATE_AFTER_RECALL:
            self.later(self.rng.uniform(0.5, 1.5), "serve", desk, ticket)
        else:
            self.later(2, "no_show", desk, ticket)

    def _on_serve(self, desk: Desk, ticket: int) -> None:
        view = self.queue.start_serving(ticket)
        typical = self.queue.centre.service_by_code(view.service).typical_service_minutes
        sigma = 0.45  # lognormal with the typical mean, and a tail of hard cases
        minutes = self.rng.lognormvariate(math.log(typical) - sigma**2 / 2, sigma)
        minutes = min(max(minutes, 1.0), typical * 4)
        self.later(minutes, "finish", desk, ticket, view.service, view.visit_id)

    def _on_no_show(self, desk: Desk, ticket: int) -> None:
        self.queue.no_show(ticket)
        self.later(0.3, "ready", desk)

    def _on_finish(self, desk: Desk, ticket: int, service: str, visit: int) -> None:
        rng, centre = self.rng, self.queue.centre
        targets = [s for s in REFER_TO.get(service, []) if centre.config.service(s)]
        follow: TicketView | None
        chance = REFER_SHARE.get(service, 0.06)
        if targets and visit not in self.referred_visits and rng.random() < chance:
            self.referred_visits.add(visit)  # once a visit: nobody is passed round and round
            to = rng.choice(targets)
            kind = "handover" if rng.random() < HANDOVER_SHARE else "signpost"
            reason = f"needs {centre.service_by_code(to).name}"
            agrees = rng.random() < 0.85
            _, follow = self.queue.refer(ticket, to, kind=kind, reason=reason, consent=agrees)
        else:
            codes = [o.code for o in centre.config.outcomes]
            outcome = rng.choices(codes, [OUTCOME_WEIGHTS.get(c, 3) for c in codes])[0]
            avoidable = rng.random() < AVOIDABLE_SHARE.get(service, 0.04)
            _, follow = self.queue.complete(ticket, outcome=outcome, avoidable=avoidable)
        if follow is not None:
            self._queued(follow)
        self.later(rng.uniform(0.3, 1.2), "ready", desk)  # notes, then the next one

    def _on_ready(self, desk: Desk) -> None:
        desk.busy = False
        if self.closing:
            desk.state = self.queue.set_counter_state(desk.code, "closed")
        else:
            self._rest(desk)

    def _on_close(self) -> None:
        """Closing time: nobody new is called; those still waiting are sent home."""
        self.closing = True
        for ticket in self.waiting:
            self.queue.cancel(ticket, reason=CLOSING)
        self.waiting.clear()
        for desk in self.desks.values():
            if not desk.busy and desk.state != "closed":
                desk.state = self.queue.set_counter_state(desk.code, "closed")

    # -- helpers --------------------------------------------------------------------

    def _queued(self, ticket: TicketView) -> None:
        if self.closing:  # a journey's next step after closing: come back another day
            self.queue.cancel(ticket.id, reason=CLOSING)
        else:
            self.waiting[ticket.id] = ticket.service

    def _rest(self, desk: Desk) -> None:
        if desk.break_due and not desk.busy and desk.state == "open":
            desk.break_due = False
            desk.state = self.queue.set_counter_state(desk.code, "paused")
            self.later(desk.break_minutes, "open", desk)

    def _dispatch(self) -> None:
        """Every open counter with nothing in hand calls next, if anyone waits for it."""
        for desk in self.desks.values():
            if self.closing or desk.state != "open" or desk.busy or desk.break_due:
                continue
            if not desk.skills.intersection(self.waiting.values()):
                continue
            try:
                called = self.queue.call_next(desk.code, staff=f"adviser-{desk.code}")
            except NothingWaiting:
                continue
            del self.waiting[called.id]
            desk.busy = True
            self.later(self.rng.uniform(0.3, 1.5), "answer", desk, called.id)


def _colleagues(one: Desk, other: Desk) -> bool:
    """Two counters cover for each other if either's main skill is the other's skill too."""
    return one is not other and (one.main in other.skills or other.main in one.skills)


def _poisson(rng: random.Random, rate: float) -> int:
    """Knuth's method: fine for the small rates of one minute."""
    limit, count, product = math.exp(-rate), 0, rng.random()
    while product > limit:
        count, product = count + 1, product * rng.random()
    return count


# -- the run --------------------------------------------------------------------------


def run_demo(
    args: argparse.Namespace, then: Callable[[Store, CentreView], int] | None = None
) -> int:
    """Play a demo day and print its summary (one JSON object with ``--json``).

    Writes only through the queue verbs. Refuses, with a sentence, a ``--db`` that already
    has tickets on that day or holds another centre, so a demo never mixes with real data.
    """
    started = timer.perf_counter()
    if not args.scale > 0:
        raise GatewayError("--scale must be a number above 0, like 0.5 or 1.5.")
    config = load_centre_file(EXAMPLE_CENTRE)
    day = _demo_day(args.day, config)
    opens, closes = _opening_hours(config, day)
    if args.db:
        store = _named_store(args.db, day, config)
    else:
        store = Store(str(Path(tempfile.mkdtemp(prefix="gateway-demo-")) / "demo.db"))
    migrate.upgrade(store)
    clock = FixedClock(opens - timedelta(minutes=30))
    load_centre(store, config, clock)
    centre = open_centre(store, config.centre.code)
    queue = Queue(store, centre, clock=clock, actor=args.actor or "demo")
    demo = DemoDay(queue, clock, random.Random(args.seed), opens, closes)
    demo.play(args.scale)
    figures = summarise(store, centre, day, demo.information_only)
    where = make_url(store.url).database if store.dialect == "sqlite" else store.where
    figures |= {"store": where, "seed": args.seed, "scale": args.scale}
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print(summary_text(figures, timer.perf_counter() - started))
    if then is None:
        store.dispose()
        return 0
    open_the_room(store, centre)
    return then(store, centre)


def open_the_room(store: Store, centre: CentreView, waiting: int = 6) -> None:
    """For the kiosk demo: today, with desks open and a few people already waiting, so
    the kiosk shows real waits. Uses the wall clock and the queue verbs only."""
    queue = Queue(store, centre, actor="demo")
    for code in ("1", "2", "3", "4", "5", "6"):
        if any(c.code == code for c in centre.config.counters):
            queue.set_counter_state(code, "open")
    needs = [n.code for n in centre.config.needs if n.services][:waiting]
    for need in needs:
        queue.check_in(need)


def _demo_day(text: str | None, config: CentreConfig) -> date:
    """``--day``, else the next weekday after today."""
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise GatewayError(f"'{text}' is not a date; use ISO 8601, like 2026-11-27.") from None
    day = business_day(WallClock().now(), config.centre.timezone) + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _opening_hours(config: CentreConfig, day: date) -> tuple[datetime, datetime]:
    weekday = DAYS[day.weekday()]
    span = config.centre.opening_hours.get(weekday, "closed")
    if span == "closed":
        raise GatewayError(
            f"{config.centre.name} is closed on {weekday.title()}s; choose another --day."
        )
    start, end = parse_span(span)
    zone = ZoneInfo(config.centre.timezone)
    return datetime.combine(day, start, zone), datetime.combine(day, end, zone)


def _named_store(url: str, day: date, config: CentreConfig) -> Store:
    """The ``--db`` store, if the demo can play there without touching real data."""
    try:
        store = Store(url)
        if not sa.inspect(store.engine).has_table("ticket"):
            return store  # a new store: the demo sets it up
        with store.read() as session:
            used = session.exec(select(func.count()).where(Ticket.day == day)).one()
            centres = session.exec(select(Centre.code).where(Centre.code != config.centre.code))
            others = sorted(centres)
    except (sa.exc.ArgumentError, ValueError, ModuleNotFoundError):
        raise GatewayError(f"'{url}' is not a store URL or SQLite file I can open.") from None
    except sa.exc.OperationalError:
        raise GatewayError(f"The store at {store.where} cannot be reached; check it.") from None
    if used or others:
        why = f"already has {used} tickets on {day}; a demo never mixes with real data, so "
        why += "choose another --day or a new store."
        if not used:
            why = f"holds another centre ({', '.join(others)}); a demo never mixes with real "
            why += "data, so give it a new store."
        raise GatewayError(f"The store at {store.where} {why}")
    return store
