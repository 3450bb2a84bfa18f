"""``gateway demo``: play a realistic day in a fresh demo centre, fast.

The example centre is loaded into a temporary SQLite store (or the empty store named by
``--db``) and a whole day is played through the queue verbs only, driven by a
``FixedClock`` that jumps from event to event: visits arrive on an hour-of-day profile,
counters open, call, serve, refer, take lunch and close, and the day ends with a summary
of tickets, waits, service levels and referrals. The same seed plays the same day.
``--centre`` and ``--at`` are not used: the demo builds its own centre and drives its clock.
"""

from __future__ import annotations

import argparse
import heapq
import json
import math
import random
import tempfile
import time as timer
from collections import Counter as Tally
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select

from gateway import migrate
from gateway.centres import CentreView, load_centre, open_centre
from gateway.clock import FixedClock, WallClock, business_day
from gateway.config import DAYS, EXAMPLE_CENTRE, CentreConfig, load_centre_file, parse_span
from gateway.errors import GatewayError, NothingWaiting
from gateway.models import Referral, Ticket, Visit
from gateway.queue import Queue
from gateway.store import Store
from gateway.tickets import ENDED, TicketView

# Visits (and information-only kiosk sessions) an hour at scale 1.0, shaped by local hour:
# busy late morning and just after lunch, quiet at the ends of the day.
ARRIVALS_PER_HOUR = 36.0
HOUR_PROFILE = {9: 0.8, 10: 1.05, 11: 1.35, 12: 1.0, 13: 1.3, 14: 1.1, 15: 0.85, 16: 0.55}
LAST_ARRIVAL = timedelta(minutes=10)  # the kiosk stops issuing tickets before closing

# How often each need is chosen at the kiosk (unlisted needs weigh 1).
NEED_WEIGHTS = {
    "pay-council-tax": 22, "council-tax-question": 14, "help-with-rent": 16,
    "universal-credit-help": 4, "universal-credit-question": 14, "money-worries": 4,
    "food-and-energy": 3, "moving-home": 6, "homeless": 4, "housing-register": 5,
    "landlord-problem": 4, "someone-died": 2, "register-birth": 4, "marriage-notice": 2,
    "certificate": 3, "lost-job": 3, "jobcentre-appointment": 14, "find-work": 8,
    "health-check": 6, "stop-smoking": 4, "blue-badge": 6, "bus-pass": 5, "care-at-home": 3,
    "older-person": 5, "independent-advice": 3, "form-help": 3, "not-sure": 14,
    "missed-bin": 7, "new-bin": 4, "street-problem": 3, "parking-permit": 6, "parking-fine": 6,
    "opening-hours": 4, "where-to-go": 7, "toilets": 5, "wifi": 3, "computers": 4,
    "register-to-vote": 2,
}  # fmt: skip
HELP_SHARE = 0.05
HELP_WEIGHTS = {"wheelchair": 4, "interpreter": 3, "hearing_loop": 2, "bsl": 1}
APPOINTMENT_SHARE = {"jobcentre-appointment": 1.0, "health-check": 0.6}  # else 0.5 if asked
DISTRICTS = ("ME14", "ME15", "ME16", "ME17", "ME18", "ME20", "TN12")
NO_ANSWER, LATE_AFTER_RECALL = 0.035, 0.35
# Where a counter sends a customer whose need is better met elsewhere.
REFER_TO = {
    "reception": ["council-tax", "benefits", "housing", "advice", "waste", "blue-badge"],
    "council-tax": ["benefits", "debt-advice"],
    "benefits": ["debt-advice", "help-to-claim", "housing"],
    "housing": ["advice", "benefits", "social-care"],
    "waste": ["parking"], "parking": ["blue-badge"], "registrar": ["council-tax", "benefits"],
    "blue-badge": ["social-care", "age-uk"], "social-care": ["age-uk", "health-check"],
    "jobcentre": ["help-to-claim", "benefits", "advice"],
    "jobcentre-appointment": ["help-to-claim", "debt-advice"],
    "health-check": ["stop-smoking", "age-uk"], "stop-smoking": ["health-check"],
    "advice": ["debt-advice", "benefits", "housing"], "debt-advice": ["benefits", "advice"],
    "help-to-claim": ["jobcentre", "benefits"], "age-uk": ["social-care", "blue-badge"],
}  # fmt: skip
REFER_SHARE = {"reception": 0.35}  # triage desk; other services 0.06
HANDOVER_SHARE = 0.55
OUTCOME_WEIGHTS = {"resolved": 64, "partly-resolved": 14, "follow-up": 12, "referred-out": 4}
AVOIDABLE_SHARE = {"reception": 0.3, "council-tax": 0.15, "waste": 0.25, "parking": 0.2}
CLOSING = "centre closing"


@dataclass
class Desk:
    """What the demo knows of one counter: its skills, state and the ticket in hand."""

    code: str
    skills: set[str]
    state: str = "closed"
    busy: bool = False  # serving or wrapping up, even once the ticket has ended
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
    closing: bool = False
    _events: list[tuple[datetime, int, str, tuple[Any, ...]]] = field(default_factory=list)
    _seq: int = 0

    def at(self, when: datetime, kind: str, *payload: Any) -> None:
        self._seq += 1
        heapq.heappush(self._events, (when, self._seq, kind, payload))

    def later(self, minutes: float, kind: str, *payload: Any) -> None:
        self.at(self.clock.now() + timedelta(minutes=minutes), kind, *payload)

    def play(self, scale: float) -> None:
        config = self.queue.centre.config
        long_day = self.closes - self.opens >= timedelta(hours=6)
        for counter in config.counters:
            desk = self.desks[counter.code] = Desk(counter.code, set(counter.services))
            self.at(self.opens + timedelta(minutes=self.rng.choice((0, 0, 2, 5, 8))), "open", desk)
            if long_day and self.rng.random() < 0.7:  # staggered lunch; the rest have cover
                lunch = self.opens.replace(hour=12) + timedelta(minutes=self.rng.uniform(-15, 120))
                desk.break_minutes = self.rng.choice((30, 30, 45))
                self.at(lunch, "break", desk)
        self._arrivals(scale)
        self.at(self.closes, "close")
        while self._events:
            when, _, kind, payload = heapq.heappop(self._events)
            self.clock.set(when)
            getattr(self, f"_on_{kind}")(*payload)
            self._dispatch()

    def _arrivals(self, scale: float) -> None:
        """Poisson arrivals minute by minute, at the profile's rate for that local hour."""
        zone = ZoneInfo(self.queue.centre.timezone)
        minute = self.opens
        while minute < self.closes - LAST_ARRIVAL:
            hour = minute.astimezone(zone).hour
            rate = ARRIVALS_PER_HOUR * HOUR_PROFILE.get(hour, 0.5) * scale / 60
            for _ in range(_poisson(self.rng, rate)):
                self.at(minute + timedelta(seconds=self.rng.uniform(0, 60)), "arrive")
            minute += timedelta(minutes=1)

    # -- what happens ---------------------------------------------------------------

    def _on_arrive(self) -> None:
        config = self.queue.centre.config
        needs = [n for n in config.needs]
        need = self.rng.choices(needs, [NEED_WEIGHTS.get(n.code, 1) for n in needs])[0]
        if not need.services:  # answered on screen: footfall, but no visit and no ticket
            self.information_only += 1
            return
        langs = config.centre.languages
        language = self.rng.choices(
            langs, [0.8] + [0.2 / max(1, len(langs) - 1)] * (len(langs) - 1)
        )[0]
        help_needed = None
        if self.rng.random() < HELP_SHARE:
            kinds = dict(HELP_WEIGHTS)
            if language != langs[0]:
                kinds["interpreter"] *= 4
            help_needed = self.rng.choices(list(kinds), list(kinds.values()))[0]
        ref = slot = None
        asked = need.questions
        if "appointment" in asked and self.rng.random() < APPOINTMENT_SHARE.get(need.code, 0.5):
            ref = f"APT-{self.rng.randint(10000, 99999)}"
            early = self.clock.now() + timedelta(minutes=self.rng.uniform(0, 12))
            slot = early.replace(minute=early.minute - early.minute % 10, second=0, microsecond=0)
            slot += timedelta(minutes=10)
        ticket = self.queue.check_in(
            need.code,
            language=language,
            help_needed=help_needed,
            postcode_district=self.rng.choice(DISTRICTS) if "postcode" in asked else None,
            appointment_ref=ref,
            appointment_at=slot,
            consent_share="consent" in asked and self.rng.random() < 0.75,
        )
        self._queued(ticket)

    def _on_open(self, desk: Desk) -> None:
        if not self.closing:
            desk.state = self.queue.set_counter_state(desk.code, "open")

    def _on_break(self, desk: Desk) -> None:
        desk.break_due = True
        self._rest(desk)

    def _on_reopen(self, desk: Desk) -> None:
        if desk.state == "paused":
            desk.state = self.queue.set_counter_state(desk.code, "open")

    def _on_answer(self, desk: Desk, ticket: int) -> None:
        if self.rng.random() < NO_ANSWER:  # nobody comes up: call again in two minutes
            self.later(2, "recall", desk, ticket)
            return
        self._serve(desk, ticket)

    def _on_recall(self, desk: Desk, ticket: int) -> None:
        self.queue.recall(ticket)
        if self.rng.random() < LATE_AFTER_RECALL:
            self.later(self.rng.uniform(0.5, 1.5), "serve", desk, ticket)
        else:
            self.later(2, "no_show", desk, ticket)

    def _on_serve(self, desk: Desk, ticket: int) -> None:
        self._serve(desk, ticket)

    def _on_no_show(self, desk: Desk, ticket: int) -> None:
        self.queue.no_show(ticket)
        self._free(desk, 0.3)

    def _on_finish(self, desk: Desk, ticket: int, service: str, visit: int) -> None:
        rng = self.rng
        targets = [s for s in REFER_TO.get(service, []) if s != service]
        follow: TicketView | None
        if (
            targets
            and visit not in self.referred_visits
            and rng.random() < REFER_SHARE.get(service, 0.06)
        ):
            self.referred_visits.add(visit)
            to = rng.choice(targets)
            kind = "handover" if rng.random() < HANDOVER_SHARE else "signpost"
            target = self.queue.centre.service_by_code(to)
            _, follow = self.queue.refer(
                ticket, to, kind=kind, reason=f"needs {target.name}", consent=rng.random() < 0.8
            )
        else:
            outcome = rng.choices(list(OUTCOME_WEIGHTS), list(OUTCOME_WEIGHTS.values()))[0]
            avoidable = rng.random() < AVOIDABLE_SHARE.get(service, 0.04)
            _, follow = self.queue.complete(ticket, outcome=outcome, avoidable=avoidable)
        if follow is not None:
            self._queued(follow)
        self._free(desk, rng.uniform(0.5, 2.0))

    def _on_ready(self, desk: Desk) -> None:
        desk.busy = False
        if self.closing:
            desk.state = self.queue.set_counter_state(desk.code, "closed")
        else:
            self._rest(desk)

    def _on_close(self) -> None:
        """Closing time: nobody new is called; those still waiting are sent home."""
        self.closing = True
        for ticket in list(self.waiting):
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

    def _serve(self, desk: Desk, ticket: int) -> None:
        view = self.queue.start_serving(ticket)
        typical = self.queue.centre.service_by_code(view.service).typical_service_minutes
        sigma = 0.45  # lognormal around the typical time, with a long tail of hard cases
        minutes = self.rng.lognormvariate(math.log(typical) - sigma**2 / 2, sigma)
        self.later(
            min(max(minutes, 1.0), typical * 4), "finish", desk, ticket, view.service, view.visit_id
        )

    def _free(self, desk: Desk, wrap_up: float) -> None:
        self.later(wrap_up, "ready", desk)

    def _rest(self, desk: Desk) -> None:
        if desk.break_due and not desk.busy and desk.state == "open":
            desk.break_due = False
            desk.state = self.queue.set_counter_state(desk.code, "paused")
            self.later(desk.break_minutes, "reopen", desk)

    def _dispatch(self) -> None:
        """Every open counter with nothing in hand calls next, if anyone waits for it."""
        if self.closing or not self.waiting:
            return
        for desk in self.desks.values():
            if desk.state != "open" or desk.busy or desk.break_due:
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


def _poisson(rng: random.Random, rate: float) -> int:
    """Knuth's method: fine for the small rates of one minute."""
    limit, count, product = math.exp(-rate), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


# -- the run --------------------------------------------------------------------------


def run_demo(args: argparse.Namespace) -> int:
    """Play a demo day and print its summary. Refuses a ``--db`` that already has tickets
    on that day, so a demo never mixes with real data."""
    if not args.scale > 0:
        raise GatewayError("--scale must be a number above 0, like 0.5 or 1.5.")
    config = load_centre_file(EXAMPLE_CENTRE)
    day = _demo_day(args.day, config)
    opens, closes = _opening_hours(config, day)
    if args.db:
        store = Store(args.db)
        _refuse_if_used(store, day)
    else:
        folder = Path(tempfile.mkdtemp(prefix="gateway-demo-"))
        store = Store(str(folder / "demo.db"))
    migrate.upgrade(store)
    clock = FixedClock(opens - timedelta(minutes=30))
    load_centre(store, config, clock)
    centre = open_centre(store, config.centre.code)
    queue = Queue(store, centre, clock=clock, actor=args.actor or "demo")
    started = timer.perf_counter()
    demo = DemoDay(queue, clock, random.Random(args.seed), opens, closes)
    demo.play(args.scale)
    figures = summarise(store, centre, day, demo.information_only)
    figures |= {"store": store.where, "seed": args.seed, "scale": args.scale}
    store.dispose()
    if args.json:
        print(json.dumps(figures, ensure_ascii=False))
    else:
        print(summary_text(figures, timer.perf_counter() - started))
    return 0


def _demo_day(text: str | None, config: CentreConfig) -> date:
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise GatewayError(f"'{text}' is not a date; use ISO 8601, like 2026-11-27.") from None
    today = business_day(WallClock().now(), config.centre.timezone)
    day = today + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def _opening_hours(config: CentreConfig, day: date) -> tuple[datetime, datetime]:
    weekday = DAYS[day.weekday()]
    span = config.centre.opening_hours.get(weekday, "closed")
    if span == "closed":
        raise GatewayError(
            f"{config.centre.name} is closed on {weekday}s; choose another --day for the demo."
        )
    zone = ZoneInfo(config.centre.timezone)
    start, end = parse_span(span)
    return (datetime.combine(day, start, zone), datetime.combine(day, end, zone))


def _refuse_if_used(store: Store, day: date) -> None:
    import sqlalchemy as sa

    if not sa.inspect(store.engine).has_table("ticket"):
        return
    with store.read() as session:
        used = session.exec(select(func.count()).select_from(Ticket).where(Ticket.day == day)).one()
    if used:
        raise GatewayError(
            f"The store at {store.where} already has {used} tickets on {day.isoformat()}; "
            "a demo never mixes with real data, so choose another --day or a new store."
        )


# -- the summary ----------------------------------------------------------------------


def _waits(tickets: list[Ticket], targets: dict[int, int]) -> dict[str, Any]:
    """Minutes from joining this queue to being called, for the tickets that were called."""
    waits = sorted(
        ((t.called_at - t.issued_at).total_seconds() / 60, targets[t.service_id])
        for t in tickets
        if t.called_at is not None
    )
    minutes = [w for w, _ in waits]
    within = sum(1 for w, target in waits if w <= target)
    return {
        "avg_wait_minutes": round(sum(minutes) / len(minutes), 1) if minutes else None,
        "p90_wait_minutes": round(minutes[math.ceil(0.9 * len(minutes)) - 1], 1)
        if minutes
        else None,
        "within_target_percent": round(100 * within / len(waits)) if waits else None,
    }


def _counts(tickets: list[Ticket]) -> dict[str, Any]:
    return {
        "tickets": len(tickets),
        "served": sum(1 for t in tickets if t.serving_at is not None),
        "no_shows": sum(1 for t in tickets if t.state == "no_show"),
        "referred": sum(1 for t in tickets if t.state == "referred"),
    }


def summarise(store: Store, centre: CentreView, day: date, information_only: int) -> dict[str, Any]:
    """The day's figures, read through the store (the demo writes only through verbs)."""
    with store.read() as session:
        tickets = list(
            session.exec(select(Ticket).where(Ticket.centre_id == centre.id, Ticket.day == day))
        )
        visits = list(
            session.exec(select(Visit).where(Visit.centre_id == centre.id, Visit.day == day))
        )
        referrals = list(
            session.exec(
                select(Referral)
                .join(Visit, col(Visit.id) == col(Referral.visit_id))
                .where(Referral.centre_id == centre.id, Visit.day == day)
            )
        )
    services = centre.services
    targets = {sid: s.target_wait_minutes for sid, s in services.items()}
    short = {a.code: a.short_name or a.name for a in centre.config.agencies}
    per_service, per_agency = [], []
    for service in sorted(services.values(), key=lambda s: (s.agency_id, s.id or 0)):
        mine = [t for t in tickets if t.service_id == service.id]
        if mine:
            agency = centre.agencies[service.agency_id].code
            per_service.append(
                {"service": service.code, "name": service.name, "agency": agency,
                 "target_wait_minutes": service.target_wait_minutes}
                | _counts(mine) | _waits(mine, targets)
            )  # fmt: skip
    for agency_id, agency in centre.agencies.items():
        mine = [t for t in tickets if services[t.service_id].agency_id == agency_id]
        if mine:
            per_agency.append(
                {"agency": agency.code, "name": short.get(agency.code, agency.name)}
                | _counts(mine) | _waits(mine, targets)
            )  # fmt: skip
    kinds = Tally(r.kind for r in referrals)
    return {
        "centre": centre.code,
        "name": centre.name,
        "day": day.isoformat(),
        "visits": len(visits),
        "information_only": information_only,
        "footfall": len(visits) + information_only,
        **_counts(tickets),
        "cancelled_at_close": sum(1 for t in tickets if t.state == "cancelled"),
        "not_ended": sum(1 for t in tickets if t.state not in ENDED),
        **_waits(tickets, targets),
        "referrals": {
            "total": len(referrals),
            "handover": kinds["handover"],
            "signpost": kinds["signpost"],
            "cross_agency": sum(1 for r in referrals if r.from_agency_id != r.to_agency_id),
        },
        "help_requests": sum(1 for v in visits if v.help_needed),
        "appointments": sum(1 for v in visits if v.appointment_ref),
        "journeys": sum(1 for v in visits if len(v.journey) > 1),
        "not_in_english": sum(1 for v in visits if v.language != "en"),
        "avoidable": sum(1 for t in tickets if t.avoidable),
        "agencies": per_agency,
        "services": per_service,
    }


def summary_text(figures: dict[str, Any], seconds: float) -> str:
    from rich.table import Table

    from gateway.views import render

    def row(f: dict[str, Any]) -> list[str]:
        def minutes(value: float | None) -> str:
            return "-" if value is None else f"{value:g} min"

        within = f["within_target_percent"]
        return [
            str(f["tickets"]), str(f["served"]), str(f["no_shows"]), str(f["referred"]),
            minutes(f["avg_wait_minutes"]), minutes(f["p90_wait_minutes"]),
            "-" if within is None else f"{within}%",
        ]  # fmt: skip

    figures_head = [
        "tickets",
        "served",
        "no-shows",
        "referred",
        "avg wait",
        "p90 wait",
        "in target",
    ]
    agencies = Table("agency", *figures_head, title="By agency")
    for a in figures["agencies"]:
        agencies.add_row(a["name"], *row(a))
    agencies.add_row("All agencies", *row(figures), style="bold")
    services = Table("service", "agency", "target", *figures_head, title="By service")
    for s in figures["services"]:
        services.add_row(s["name"], s["agency"], f"{s['target_wait_minutes']} min", *row(s))
    r = figures["referrals"]
    totals = Table("footfall", "visits", "information only", "tickets", "journeys",
                   "help asked", "appointments", "referrals", "cancelled at close",
                   title="The day")  # fmt: skip
    totals.add_row(
        str(figures["footfall"]), str(figures["visits"]), str(figures["information_only"]),
        str(figures["tickets"]), str(figures["journeys"]), str(figures["help_requests"]),
        str(figures["appointments"]),
        f"{r['total']} ({r['handover']} handover, {r['signpost']} signpost; "
        f"{r['cross_agency']} across agencies)",
        str(figures["cancelled_at_close"]),
    )  # fmt: skip
    head = (
        f"{figures['name']}: a demo day on {figures['day']} (seed {figures['seed']}, "
        f"scale {figures['scale']:g}), played in {seconds:.1f} s."
    )
    store = figures["store"]
    foot = (
        f"Waits run from joining a queue to being called. The demo store is {store}: explore it "
        f"with `gateway status --db {store}` or `gateway watch --db {store}`."
    )
    return render(head, totals, agencies, services, foot)
