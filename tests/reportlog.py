"""The managers' report figures computed again, in plain Python, from the raw event log.

The report tests check ``gateway.reports`` against this. It reads the ``event`` rows of
the chosen centres in ``seq`` order, replays them into visits, tickets, referrals, kiosk
sessions, door entries and counter state changes, and computes each figure from the
definitions the reports module states. It does not import ``gateway.reports`` and shares
none of its SQL. Three facts are not in the log, so they are read from their own rows: a
visit's postcode district and repeat key, and a referral's consent to share.

Each report comes back in the report's own shape (``summary``, ``waits``, ``footfall``,
``referrals``, ``staffing``), so a test can compare the two whole.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlmodel import col, select

from gateway.centres import open_centre
from gateway.models import Event
from gateway.store import Store

WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
NOT_GIVEN = "not given"
FOLDED = "districts with fewer than 5 visits"
SMALL = 5
CENTRE_CLOSED = "centre closed"
OPEN = ("waiting", "held", "called", "recalled", "serving")
TIME_KEYS = ("hour", "day", "week", "month", "weekday", "centre")


@dataclass
class Place:
    """One centre, as its file describes it."""

    id: int
    code: str
    zone: ZoneInfo
    agency: dict[str, str]  # service code -> agency code
    target: dict[str, int]  # service code -> target wait (minutes)
    counter: dict[int, str]  # counter id -> code
    counter_agency: dict[int, str]  # counter id -> the agency of its first skill

    def local(self, at: datetime) -> datetime:
        return at.astimezone(self.zone)

    def midnight(self, day: date) -> datetime:
        return datetime.combine(day, time(0), self.zone)


@dataclass
class Visit:
    id: int
    place: Place
    arrived_at: datetime
    need: str | None
    language: str | None
    district: str | None = None
    repeat_key: str | None = None
    ended_at: datetime | None = None
    tickets: list[Ticket] = field(default_factory=list)

    @property
    def day(self) -> date:
        return self.place.local(self.arrived_at).date()


@dataclass
class Ticket:
    id: int
    visit: Visit
    service: str
    issued_at: datetime
    state: str = "waiting"
    first_called_at: datetime | None = None
    called_at: datetime | None = None
    serving_at: datetime | None = None
    ended_at: datetime | None = None
    last_counter: int | None = None
    walked_out: bool = False
    outcome: str | None = None
    avoidable: bool = False

    @property
    def place(self) -> Place:
        return self.visit.place

    @property
    def day(self) -> date:
        return self.place.local(self.issued_at).date()

    @property
    def agency(self) -> str:
        return self.place.agency[self.service]

    @property
    def wait(self) -> float | None:
        if self.first_called_at is None:
            return None
        return minutes(self.first_called_at - self.issued_at)

    @property
    def service_time(self) -> float | None:
        if self.state != "done" or self.serving_at is None or self.ended_at is None:
            return None
        return minutes(self.ended_at - self.serving_at)


@dataclass
class Referral:
    id: int
    visit: Visit
    from_ticket: Ticket
    kind: str
    to_service: str
    to_ticket: Ticket | None
    at: datetime
    consent: bool = False


@dataclass
class Happening:
    """A kiosk session's end or a door entry: an instant and what the event said."""

    place: Place
    at: datetime
    data: dict[str, Any]

    @property
    def day(self) -> date:
        return self.place.local(self.at).date()


@dataclass
class Interval:
    """A counter open or paused from ``start`` until its next state change (or never)."""

    place: Place
    counter: int
    kind: str
    start: datetime
    until: datetime | None


def minutes(delta: timedelta) -> float:
    return delta.total_seconds() / 60


@dataclass
class Log:
    places: list[Place]
    visits: dict[int, Visit] = field(default_factory=dict)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    referrals: list[Referral] = field(default_factory=list)
    kiosk: list[Happening] = field(default_factory=list)
    doors: list[Happening] = field(default_factory=list)
    intervals: list[Interval] = field(default_factory=list)


def read_log(store: Store, codes: str | list[str]) -> Log:
    """Replay the event log of the centres named by ``codes``."""
    places = [_place(store, code) for code in ([codes] if isinstance(codes, str) else codes)]
    log = Log(places)
    by_id = {p.id: p for p in places}
    with store.read() as session:
        events = list(
            session.exec(
                select(Event)
                .where(col(Event.centre_id).in_(list(by_id)))
                .order_by(col(Event.centre_id), col(Event.seq))
            ).all()
        )
        visits_extra = {
            row[0]: (row[1], row[2])
            for row in session.execute(
                sa.text("SELECT id, postcode_district, repeat_key FROM visit")
            )
        }
        consents = {
            row[0]: bool(row[1])
            for row in session.execute(sa.text("SELECT id, consent_share FROM referral"))
        }
    changes: dict[int, list[tuple[Place, str, datetime]]] = defaultdict(list)
    for e in events:
        place = by_id[e.centre_id]
        data = e.data or {}
        ticket = log.tickets.get(e.ticket_id) if e.ticket_id is not None else None
        kind = e.kind
        if kind == "checked_in":
            assert e.visit_id is not None
            district, key = visits_extra[e.visit_id]
            log.visits[e.visit_id] = Visit(
                e.visit_id, place, e.at, data.get("need"), data.get("language"), district, key
            )
        elif kind == "ticket_issued":
            assert e.ticket_id is not None and e.visit_id is not None
            visit = log.visits[e.visit_id]
            issued = Ticket(e.ticket_id, visit, data["service"], e.at)
            visit.tickets.append(issued)
            log.tickets[e.ticket_id] = issued
        elif kind == "called":
            assert ticket is not None
            ticket.state = "called"
            ticket.first_called_at = ticket.first_called_at or e.at
            ticket.called_at = e.at
            ticket.last_counter = e.counter_id
        elif kind == "recalled":
            assert ticket is not None
            ticket.state = "recalled"
        elif kind == "serving":
            assert ticket is not None
            ticket.state, ticket.serving_at = "serving", e.at
        elif kind in ("held", "transferred", "returned"):
            assert ticket is not None
            ticket.state = "held" if kind == "held" else "waiting"
            if kind != "returned":
                ticket.serving_at = None  # served again from the start
        elif kind in ("done", "no_show", "cancelled", "referred"):
            assert ticket is not None
            before = ticket.state
            ticket.state, ticket.ended_at = kind, e.at
            if kind == "done":
                ticket.serving_at = ticket.serving_at or ticket.called_at
                ticket.outcome = data.get("outcome")
                ticket.avoidable = bool(data.get("avoidable"))
            if kind == "cancelled":
                # Walked out: still waiting (or set aside) when the centre closed; someone
                # at a counter then was being seen, not waiting.
                ticket.walked_out = data.get("reason") == CENTRE_CLOSED and before in (
                    "waiting",
                    "held",
                )
        elif kind == "referral":
            assert ticket is not None
            visit = ticket.visit
            handed = visit.tickets[-1] if data["referral"] == "handover" else None
            assert handed is None or handed.service == data["to"]
            log.referrals.append(
                Referral(
                    data["referral_id"],
                    visit,
                    ticket,
                    data["referral"],
                    data["to"],
                    handed,
                    e.at,
                    consents[data["referral_id"]],
                )
            )
        elif kind == "visit_ended":
            assert e.visit_id is not None
            log.visits[e.visit_id].ended_at = e.at
        elif kind == "kiosk_session_ended":
            log.kiosk.append(Happening(place, e.at, data))
        elif kind == "door_entry":
            log.doors.append(Happening(place, e.at, data))
        elif kind in ("counter_open", "counter_paused", "counter_closed"):
            assert e.counter_id is not None
            changes[e.counter_id].append((place, kind.removeprefix("counter_"), e.at))
    for counter, steps in changes.items():
        for n, (place, state, at) in enumerate(steps):
            if state != "closed":
                until = steps[n + 1][2] if n + 1 < len(steps) else None
                log.intervals.append(Interval(place, counter, state, at, until))
    return log


def _place(store: Store, code: str) -> Place:
    centre = open_centre(store, code)
    services = {s.code: s for s in centre.config.services}
    ids = {c.code: c.id for c in centre.counters.values()}
    return Place(
        id=centre.id,
        code=centre.code,
        zone=ZoneInfo(centre.config.centre.timezone),
        agency={s.code: s.agency for s in centre.config.services},
        target={s.code: s.target_wait_minutes for s in centre.config.services},
        counter={i: c for c, i in ids.items() if i is not None},
        counter_agency={
            ids[c.code]: services[c.services[0]].agency for c in centre.config.counters
        },
    )


# -- plain arithmetic ----------------------------------------------------------------------


def nearest_rank(values: list[float], num: int, den: int) -> float | None:
    """The value at rank ceil(num/den × n) of the sorted values (in integers: no float
    rounding picks the wrong rank)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = -(-num * len(ordered) // den)
    return round(ordered[rank - 1], 1)


def pct(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


def spread(values: list[float], count_name: str) -> dict[str, Any]:
    return {
        count_name: len(values),
        "mean": mean(values),
        "median": nearest_rank(values, 1, 2),
        "p90": nearest_rank(values, 9, 10),
        "max": round(max(values), 1) if values else None,
    }


def ticket_figures(tickets: list[Ticket]) -> dict[str, Any]:
    states = Counter(t.state for t in tickets)
    waits = [t.wait for t in tickets if t.wait is not None]
    services = [t.service_time for t in tickets if t.service_time is not None]
    within = sum(1 for t in tickets if t.wait is not None and t.wait <= t.place.target[t.service])
    done = states["done"]
    avoidable = sum(1 for t in tickets if t.state == "done" and t.avoidable)
    return {
        "tickets": {
            "issued": len(tickets),
            "served": done,
            "no_show": states["no_show"],
            "cancelled": sum(1 for t in tickets if t.state == "cancelled" and not t.walked_out),
            "walked_out": sum(1 for t in tickets if t.walked_out),
            "referred": states["referred"],
            "still_open": sum(states[s] for s in OPEN),
        },
        "wait_minutes": spread(waits, "called"),
        "service_minutes": spread(services, "served"),
        "service_level": {
            "within_target": within,
            "above_target": len(waits) - within,
            "within_target_pct": pct(within, len(waits)),
        },
        "avoidable": {
            "completed": done,
            "avoidable": avoidable,
            "avoidable_pct": pct(avoidable, done),
        },
    }


def suppress(row: dict[str, Any], label: str = "district") -> dict[str, Any]:
    """A by-district row as the rule says it must be shown: under 5 of its first count,
    no figures at all; otherwise any group (the row's own figures, or a nested group)
    that holds a count from 1 to 4 is left out whole."""

    def numbers(value: Any) -> list[Any]:
        if isinstance(value, dict):
            return [n for v in value.values() for n in numbers(v)]
        if isinstance(value, int | float) and not isinstance(value, bool):
            return [value]
        return []

    def is_figure(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool)

    def small(group: dict[str, Any]) -> bool:
        return any(
            isinstance(v, int) and not isinstance(v, bool) and 0 < v < SMALL for v in group.values()
        )

    def blank(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: blank(v) for k, v in value.items()}
        return None if is_figure(value) else value

    def walk(group: dict[str, Any]) -> dict[str, Any]:
        hide = small(group)
        return {
            k: (walk(v) if isinstance(v, dict) else (None if hide and is_figure(v) else v))
            for k, v in group.items()
        }

    body = {k: v for k, v in row.items() if k != label}
    first = next(iter(n for n in numbers(body) if isinstance(n, int)), 0)
    shown = blank(body) if first < SMALL else walk(body)
    return {label: row[label], **shown}


# -- one range of days over the log ------------------------------------------------------------


class Figures:
    """The five reports over one range of days, from the replayed log."""

    def __init__(self, log: Log, first: date, last: date, now: datetime) -> None:
        self.log, self.first, self.last, self.now = log, first, last, now
        visits = self.visits()
        sizes = Counter(v.district for v in visits if v.district is not None)
        self.big = {d for d, n in sizes.items() if n >= SMALL}

    def head(self, by: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "centre": ",".join(p.code for p in self.log.places),
            "from": self.first.isoformat(),
            "to": self.last.isoformat(),
        }
        if by is not None:
            out["by"] = by
        return out

    def counter(self, place: Place, counter: int | None) -> str | None:
        """A counter's code; with several centres, ``centre/counter``."""
        if counter is None or counter not in place.counter:
            return None
        code = place.counter[counter]
        return f"{place.code}/{code}" if len(self.log.places) > 1 else code

    def within(self, day: date) -> bool:
        return self.first <= day <= self.last

    def visits(self) -> list[Visit]:
        return [v for v in self.log.visits.values() if self.within(v.day)]

    def tickets(self) -> list[Ticket]:
        return [t for t in self.log.tickets.values() if self.within(t.day)]

    def district(self, visit: Visit) -> str:
        if visit.district is None:
            return NOT_GIVEN
        return visit.district if visit.district in self.big else FOLDED

    @staticmethod
    def label(by: str, place: Place, day: date, at: datetime, attrs: dict[str, Any]) -> Any:
        """The row a thing falls in: ``day`` its business day, ``at`` its instant."""
        if by == "hour":
            return f"{place.local(at).hour:02d}:00"
        if by == "day":
            return day.isoformat()
        if by == "week":
            return (day - timedelta(days=day.weekday())).isoformat()
        if by == "month":
            return f"{day:%Y-%m}"
        if by == "weekday":
            return WEEKDAYS[day.weekday()]
        if by == "centre":
            return place.code
        value = attrs[by]
        return NOT_GIVEN if value is None else value

    def ticket_label(self, by: str, t: Ticket) -> Any:
        attrs = {
            "agency": t.agency,
            "service": t.service,
            "need": t.visit.need,
            "counter": self.counter(t.place, t.last_counter),
            "language": t.visit.language,
            "district": self.district(t.visit),
        }
        return self.label(by, t.place, t.day, t.issued_at, attrs)

    def visit_label(self, by: str, v: Visit, at: datetime | None = None) -> Any:
        attrs = {"need": v.need, "language": v.language, "district": self.district(v)}
        return self.label(by, v.place, v.day, at or v.arrived_at, attrs)

    def rows(self, by: str, figures: dict[Any, dict[str, Any]]) -> dict[str, Any]:
        listed = [{by: label, **f} for label, f in figures.items()]
        if by == "district":
            listed = [suppress(r) for r in listed]
        return {**self.head(by), "rows": listed}

    # -- tickets ------------------------------------------------------------------------

    def ticket_groups(self, by: str | None) -> dict[Any, dict[str, Any]]:
        groups: dict[Any, list[Ticket]] = defaultdict(list)
        for t in self.tickets():
            groups[self.ticket_label(by, t) if by else None].append(t)
        return {label: ticket_figures(ts) for label, ts in groups.items()}

    def outcomes(self) -> list[dict[str, Any]]:
        done = [t for t in self.tickets() if t.state == "done"]
        codes = sorted({t.outcome or NOT_GIVEN for t in done})
        return [
            {
                "outcome": code,
                "count": sum(1 for t in done if (t.outcome or NOT_GIVEN) == code),
                "avoidable": sum(
                    1 for t in done if (t.outcome or NOT_GIVEN) == code and t.avoidable
                ),
            }
            for code in codes
        ]

    def summary(self, by: str | None = None) -> dict[str, Any]:
        groups = self.ticket_groups(by)
        if by:
            return self.rows(by, groups)
        out = self.head(None)
        foot = self.footfall_groups(None).get(None) or self.empty_footfall()
        out["footfall"] = {
            k: foot[k] for k in ("sessions", "checkins", "information_only", "abandoned", "door")
        }
        out.update(groups.get(None) or ticket_figures([]))
        out["avoidable"]["outcomes"] = self.outcomes()
        out["referrals"] = self.routes(None)
        out["journeys"] = self.journeys(None).get(None) or {
            "visits": 0,
            "multi_agency": 0,
            "multi_agency_pct": None,
        }
        out["repeat_visits"] = self.repeat_visits()
        return out

    def waits(self, by: str | None = "service") -> dict[str, Any]:
        keep = ("wait_minutes", "service_minutes", "service_level")
        groups = {k: {n: v[n] for n in keep} for k, v in self.ticket_groups(by).items()}
        if by:
            return self.rows(by, groups)
        empty = ticket_figures([])
        return {**self.head(None), **(groups.get(None) or {n: empty[n] for n in keep})}

    # -- footfall -----------------------------------------------------------------------

    @staticmethod
    def empty_footfall() -> dict[str, int]:
        keys = ("checkins", "sessions", "ticket", "information_only", "abandoned", "failed")
        return {**dict.fromkeys(keys, 0), "door": 0}

    def kiosk(self) -> list[Happening]:
        return [k for k in self.log.kiosk if self.within(k.day)]

    def doors(self) -> list[Happening]:
        return [d for d in self.log.doors if self.within(d.day)]

    def footfall_groups(self, by: str | None) -> dict[Any, dict[str, Any]]:
        checkins = Counter(self.visit_label(by, v) if by else None for v in self.visits())
        sessions: dict[Any, Counter[str]] = defaultdict(Counter)
        kiosk_keys = (*TIME_KEYS, "need", "language")
        if by is None or by in kiosk_keys:
            for k in self.kiosk():
                attrs = {"need": k.data.get("need"), "language": k.data.get("language")}
                label = self.label(by, k.place, k.day, k.at, attrs) if by else None
                sessions[label]["sessions"] += 1
                sessions[label][k.data["outcome"]] += 1
        door: Counter[Any] = Counter()
        if by is None or by in TIME_KEYS:
            for d in self.doors():
                door[self.label(by, d.place, d.day, d.at, {}) if by else None] += 1
        out: dict[Any, dict[str, Any]] = {}
        for label in set(checkins) | set(sessions) | set(door):
            s = sessions.get(label, Counter())
            known = by is None or by in kiosk_keys
            out[label] = {
                "checkins": checkins[label],
                "sessions": s["sessions"] if known else None,
                "ticket": s["ticket"] if known else None,
                "information_only": s["information"] if known else None,
                "abandoned": s["abandoned"] if known else None,
                "failed": s["failed"] if known else None,
                "door": door[label] if by is None or by in TIME_KEYS else None,
            }
        return out

    def abandoned_steps(self) -> list[dict[str, Any]]:
        steps = Counter(
            k.data.get("step") or NOT_GIVEN
            for k in self.kiosk()
            if k.data.get("outcome") == "abandoned"
        )
        ordered = sorted(steps.items(), key=lambda kv: (-kv[1], kv[0]))
        return [{"step": s, "count": n} for s, n in ordered]

    def profile(self) -> dict[str, Any]:
        counts = Counter((v.day.weekday(), v.place.local(v.arrived_at).hour) for v in self.visits())
        seen = sorted(h for _, h in counts)
        hours = list(range(seen[0], seen[-1] + 1)) if seen else []
        return {
            "hours": [f"{h:02d}" for h in hours],
            "rows": [
                {"weekday": name, "checkins": [counts[(d, h)] for h in hours]}
                for d, name in enumerate(WEEKDAYS)
            ],
        }

    def footfall(self, by: str | None = None) -> dict[str, Any]:
        groups = self.footfall_groups(by)
        if by:
            return self.rows(by, groups)
        return {
            **self.head(None),
            "footfall": groups.get(None) or self.empty_footfall(),
            "abandoned_at": self.abandoned_steps(),
            "profile": self.profile(),
        }

    # -- referrals, journeys and repeat visits -------------------------------------------

    def routes(self, by: str | None) -> list[dict[str, Any]]:
        groups: dict[tuple[Any, ...], list[Referral]] = defaultdict(list)
        for r in self.log.referrals:
            if not self.within(r.visit.day):
                continue
            place = r.visit.place
            if by in ("agency", "service"):
                attrs = {
                    "agency": place.agency[r.from_ticket.service],
                    "service": r.from_ticket.service,
                }
                label = self.label(by, place, r.visit.day, r.at, attrs)
            else:
                label = self.visit_label(by, r.visit, r.at) if by else None
            route = (label, place.agency[r.from_ticket.service], place.agency[r.to_service], r.kind)
            groups[route].append(r)
        out = []
        for (label, a, b, kind), rs in sorted(groups.items(), key=lambda kv: str(kv[0])):
            row: dict[str, Any] = {by: label} if by else {}
            row.update({"from_agency": a, "to_agency": b, "kind": kind, "count": len(rs)})
            if kind == "handover":
                row["served"] = sum(1 for r in rs if r.to_ticket and r.to_ticket.state == "done")
            row["agreed_to_share"] = sum(1 for r in rs if r.consent)
            out.append(row)
        return out

    def journeys(self, by: str | None) -> dict[Any, dict[str, Any]]:
        groups: dict[Any, list[Visit]] = defaultdict(list)
        for v in self.visits():
            if v.tickets:
                groups[self.visit_label(by, v) if by else None].append(v)
        out = {}
        for label, vs in groups.items():
            multi = sum(1 for v in vs if len({t.agency for t in v.tickets}) >= 2)
            out[label] = {
                "visits": len(vs),
                "multi_agency": multi,
                "multi_agency_pct": pct(multi, len(vs)),
            }
        return out

    def referrals(self, by: str | None = None) -> dict[str, Any]:
        out = self.head(by)
        routes = self.routes(by)
        if by == "district":
            routes = [suppress(r) for r in routes]
        out["referrals"] = routes
        per_visit = by if by not in ("agency", "service") else None
        journeys = self.journeys(per_visit)
        if per_visit:
            rows = [{by: label, **f} for label, f in journeys.items()]
            out["journeys"] = [suppress(r) for r in rows] if by == "district" else rows
        else:
            out["journeys"] = journeys.get(None) or {
                "visits": 0,
                "multi_agency": 0,
                "multi_agency_pct": None,
            }
        if by is None:
            out["matrix"] = self.matrix(routes)
        return out

    @staticmethod
    def matrix(routes: list[dict[str, Any]]) -> dict[str, Any]:
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
                {"from_agency": a, "to": {b: cells[(a, b)] for b in agencies if (a, b) in cells}}
                for a in agencies
                if any((a, b) in cells for b in agencies)
            ],
        }

    def repeat_visits(self) -> dict[str, Any]:
        # The same key at any centre is the same person.
        per_key = Counter(v.repeat_key for v in self.visits() if v.repeat_key)
        keyed = sum(per_key.values())
        return {
            "keyed_visits": keyed,
            "customers": len(per_key),
            "repeat_visits": keyed - len(per_key),
            "returning_customers": sum(1 for n in per_key.values() if n >= 2),
        }

    # -- staffing ---------------------------------------------------------------------

    def staffing_groups(self, by: str | None) -> dict[Any, dict[str, Any]]:
        opened: dict[Any, float] = defaultdict(float)
        paused: dict[Any, float] = defaultdict(float)
        busy: dict[Any, float] = defaultdict(float)
        served: Counter[Any] = Counter()
        labels: set[Any] = set()
        for i in self.log.intervals:
            start = i.place.midnight(self.first)
            end = min(i.place.midnight(self.last + timedelta(days=1)), self.now)
            if i.start >= end or (i.until is not None and i.until <= start):
                continue
            begin, finish = max(i.start, start), min(i.until or end, end)
            attrs = {
                "counter": self.counter(i.place, i.counter),
                "agency": i.place.counter_agency.get(i.counter),
            }
            day = i.place.local(begin).date()
            label = self.label(by, i.place, day, begin, attrs) if by else None
            labels.add(label)
            (opened if i.kind == "open" else paused)[label] += minutes(finish - begin)
        for t in self.tickets():
            if t.state not in ("done", "referred") or t.serving_at is None or t.ended_at is None:
                continue
            attrs = {
                "counter": self.counter(t.place, t.last_counter),
                "agency": t.place.counter_agency.get(t.last_counter) if t.last_counter else None,
            }
            label = self.label(by, t.place, t.day, t.serving_at, attrs) if by else None
            labels.add(label)
            busy[label] += minutes(t.ended_at - t.serving_at)
            served[label] += 1
        return {
            label: {
                "open_hours": round(opened[label] / 60, 2),
                "paused_hours": round(paused[label] / 60, 2),
                "serving_hours": round(busy[label] / 60, 2),
                "served": served[label],
                "utilisation_pct": pct(busy[label], opened[label]),
            }
            for label in labels
        }

    def staffing(self, by: str | None = "counter") -> dict[str, Any]:
        groups = self.staffing_groups(by)
        if by:
            return self.rows(by, groups)
        return {
            **self.head(None),
            "staffing": groups.get(None)
            or {
                "open_hours": 0.0,
                "paused_hours": 0.0,
                "serving_hours": 0.0,
                "served": 0,
                "utilisation_pct": None,
            },
        }


def figures(
    store: Store, codes: str | list[str], first: date, last: date, now: datetime
) -> Figures:
    """The reports over ``first``..``last`` at the centres named, from their event log."""
    return Figures(read_log(store, codes), first, last, now)
