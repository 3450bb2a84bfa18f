"""The managers' reports, proved right: every figure is checked against hand-counted answers
and against an independent computation from the raw event log (``tests/reportlog.py``), on
both stores. The scenarios are driven through the real CLI with ``--at`` where it has a
command for the step, and through the engine's verbs with a fixed clock elsewhere (kiosk
sessions, door counts, staff).

All times in November are GMT, so local time and UTC agree there.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlmodel import col, select

from gateway import migrate
from gateway.centres import CentreView, open_centre
from gateway.cli import main
from gateway.clock import FixedClock
from gateway.config import EXAMPLE_CENTRE
from gateway.errors import NotAllowed
from gateway.footfall import KioskSessionRecord
from gateway.models import Ticket, Visit
from gateway.queue import Queue
from gateway.reports import Days, footfall, referrals, staffing, summary, waits
from gateway.store import Store
from tests import reportlog
from tests.conftest import SMALL_CENTRE, create_pg_database, drop_pg_database

LONDON = ZoneInfo("Europe/London")
FRI, SAT, SUN, MON = (date(2026, 11, d) for d in (20, 21, 22, 23))
LATE = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)  # "now" for every report: after it all
SMALL_LABEL = "districts with fewer than 5 visits"
TIME_AND_PLACE = ("hour", "day", "week", "month", "weekday", "centre")
BY = (*TIME_AND_PLACE, "agency", "service", "need", "counter", "language", "district")
ALLOWED = {  # the breakdowns each report offers; the others are refused
    "summary": BY,
    "waits": BY,
    "footfall": tuple(b for b in BY if b not in ("agency", "service", "counter")),
    "referrals": tuple(b for b in BY if b != "counter"),
    "staffing": ("day", "week", "month", "weekday", "centre", "counter", "agency"),
}
REPORTS = {
    "summary": summary,
    "waits": waits,
    "footfall": footfall,
    "referrals": referrals,
    "staffing": staffing,
}


# -- driving the CLI in-process --------------------------------------------------------------


def run_cli(*argv: str) -> str:
    """``gateway ARGV`` in this process; its standard output (fails on a non-zero exit)."""
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(list(argv))
    assert code == 0, f"gateway {' '.join(argv)}: {err.getvalue()}"
    return out.getvalue()


@dataclass
class Cli:
    """The CLI on one store and centre: ``cli("call", "1", at="2026-11-23T09:04")``."""

    db: str
    centre: str
    numbers: list[str] = field(default_factory=list)

    def __call__(self, *argv: str, at: str) -> dict[str, Any]:
        args = [*argv, "--db", self.db, "--centre", self.centre, "--at", at, "--json"]
        result: dict[str, Any] = json.loads(run_cli(*args))
        for ticket in (result, result.get("next") or {}):
            if "number" in ticket:
                self.numbers.append(ticket["number"])
        return result


def engine(store: Store, centre: str, at: datetime) -> tuple[Queue, FixedClock]:
    clock = FixedClock(at)
    return Queue(store, centre, clock=clock, actor="test"), clock


def utc(day: date, hhmm: str) -> datetime:
    """A local time on a November day (GMT): the same instant in UTC."""
    hour, minute = (int(p) for p in hhmm.split(":"))
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def kiosk(q: Queue, clock: FixedClock, at: datetime, outcome: str, step: str, **more: Any) -> None:
    clock.set(at)
    started = at - timedelta(minutes=1)
    q.record_kiosk_session(
        KioskSessionRecord("kiosk-1", f"s{at:%d%H%M}", started, outcome, step, **more)
    )


def doors(q: Queue, clock: FixedClock, *moments: datetime) -> None:
    for at in moments:
        clock.set(at)
        q.count_door_entry("door-1")


# -- comparing reports ---------------------------------------------------------------------


def normal(value: Any) -> Any:
    """Lists of rows keyed by their labels (the text in them: a breakdown's key, a route's
    agencies and kind, an outcome), so that two reports compare row by row whatever
    their order (checked on its own where it means something)."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items()}
    if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        keyed = {
            "/".join(str(v) for v in row.values() if isinstance(v, str)): normal(row)
            for row in value
        }
        assert len(keyed) == len(value), f"rows with the same labels: {value}"
        return keyed
    return value


def differences(got: Any, expected: Any, path: str = "") -> list[str]:
    if isinstance(got, dict) and isinstance(expected, dict):
        return [
            line
            for k in sorted(set(got) | set(expected), key=str)
            for line in differences(got.get(k, "(none)"), expected.get(k, "(none)"), f"{path}.{k}")
        ]
    return [] if got == expected else [f"{path}: report {got!r}, event log {expected!r}"]


def rows_by(report: dict[str, Any], by: str) -> dict[str, dict[str, Any]]:
    out = {row[by]: {k: v for k, v in row.items() if k != by} for row in report["rows"]}
    assert len(out) == len(report["rows"]), f"two rows share a {by}"
    return out


def assert_same(report: dict[str, Any], log: dict[str, Any]) -> None:
    """The report equals the event log's figures, every one of them."""
    wrong = differences(normal(report), normal(log))
    assert not wrong, "the report and the event log disagree:\n" + "\n".join(wrong)


def numbers_in(value: Any) -> Iterator[int]:
    """Every whole number in a report (not booleans, not labels)."""
    if isinstance(value, dict):
        for v in value.values():
            yield from numbers_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from numbers_in(v)
    elif isinstance(value, int) and not isinstance(value, bool):
        yield value


# -- the known week: two centres, Friday, Saturday, closed Sunday, Monday ----------------------


@dataclass
class KnownWeek:
    store: Store
    db: str
    before_close: dict[str, Any]  # Monday's summary at Maidstone at 17:00
    before_close_log: dict[str, Any]
    numbers: list[str]
    visits: dict[str, int]  # name in the scenario -> visit id
    repeat_keys: tuple[str, ...]

    def log(self, centres: str | list[str], first: date, last: date) -> reportlog.Figures:
        return reportlog.figures(self.store, centres, first, last, LATE)


def second_centre(folder: Path) -> Path:
    """The example centre again, as Sittingbourne: two centres in one store."""
    text = EXAMPLE_CENTRE.read_text(encoding="utf-8")
    text = text.replace('code = "maidstone"', 'code = "sittingbourne"', 1)
    text = text.replace('name = "Maidstone Gateway"', 'name = "Sittingbourne Gateway"', 1)
    path = folder / "sittingbourne.toml"
    path.write_text(text, encoding="utf-8")
    return path


IDENTIFIERS = ("AB 12 34 56 C", "LIB-0042-XYZ")  # what customers chose to give
PSEUDONYM_SECRET = "a test secret, long enough"


def play_known_week(db: str, folder: Path) -> KnownWeek:
    """The scenario, with its known answers in the tests below.

    Maidstone, Monday 23 November (waits / service times in minutes):
      C001 09:00 called 09:04 (4), served 09:05-09:15 (10)
      C002 09:02 called 09:10 (8), recalled, served 09:12-09:20 (8), avoidable
      H001 09:05 (wheelchair, ME15) called 09:25 (20 > target 15), serving 09:26,
           handed over to benefits 09:40 as B002 ("lives at 1 Secret Street", consent)
      U001 09:10 (lost-job journey: jobcentre, benefits, advice) called 09:16 (6),
           served 09:17-09:31 (14); its next step B001 issued 09:31
      B001 called 09:45 (14), signposted to Age UK 09:55; next step A001 waits all day
      B002 called 09:50 (10), served 09:52-10:04 (12), outcome follow-up
      U002 10:00 (appointment APT-SECRET-99) called 10:12 (12), held, called again 10:30,
           served 10:31-10:41 (10), partly resolved
      C003 11:00 cancelled by the customer 11:20
      R001 11:30 (ME16) called 11:33 (3), recalled, no-show 11:40
      C004 16:30 waiting at closing; H002 16:40 (ME15) called 16:50 (10), at the counter
           at closing; close_day at 17:30 walks out C004 and A001 (still waiting) and
           cancels H002 (being seen, so not walked out).
    Counters 1, 2, 3, 4 and 8 open 09:00 to 17:30; counter 1 paused 12:00-12:30.
    Friday: C001 14:00 called 14:05 (5), done 14:10. Saturday: C001 09:30 called 09:40
    (10), served 09:41-09:50. Sunday: closed. Sittingbourne, Monday: U001 09:30 called
    09:33 (3), done 09:40; C001 10:00 cancelled 10:05.
    Repeat keys: the same identifier on Friday's C001 and Monday's C001 and C003 at
    Maidstone, and on Sittingbourne's U001; another on Monday's C002.

    Friday goes through the CLI with ``--at``, the rest through the engine's verbs (the
    same verbs, many more steps, much faster).
    """
    run_cli("init", str(EXAMPLE_CENTRE), "--db", db, "--at", "2026-11-20T08:00")
    run_cli("init", str(second_centre(folder)), "--db", db, "--at", "2026-11-20T08:00")
    store = Store(db)
    m = Cli(db, "maidstone")
    q, clock = engine(store, "maidstone", utc(FRI, "08:00"))
    q.add_staff("asha", "Asha Secret", "2468")
    visits: dict[str, int] = {}
    same, other = IDENTIFIERS

    def on(day: date) -> Any:
        return lambda hhmm: f"{day.isoformat()}T{hhmm}"

    # Friday at Maidstone.
    t = on(FRI)
    m("counter-state", "1", "open", at=t("09:00"))
    visits["fri"] = m("checkin", "pay-council-tax", at=t("14:00"))["visit_id"]
    m("remember", "C001", same, "--consent", at=t("14:01"))
    m("call", "1", "--ticket", "C001", at=t("14:05"))
    m("done", "C001", at=t("14:10"))
    m("close-day", at=t("17:30"))
    kiosk(q, clock, utc(FRI, "14:00"), "ticket", "ticket", need="pay-council-tax", ticket="C001")
    doors(q, clock, utc(FRI, "13:59"), utc(FRI, "14:30"))

    # Saturday at Maidstone (open 09:00-13:00), and from here on through the verbs.
    def at(hhmm: str, day: date = MON) -> None:
        clock.set(utc(day, hhmm))

    at("09:00", SAT)
    q.set_counter_state("2", "open")
    at("09:30", SAT)
    visits["sat"] = q.check_in("council-tax-question", language="uk").visit_id
    at("09:40", SAT)
    q.call_ticket("2", "C001")
    at("09:41", SAT)
    q.start_serving("C001")
    at("09:50", SAT)
    q.complete("C001")
    at("13:00", SAT)
    q.close_day()
    doors(q, clock, utc(SAT, "09:29"))

    # Monday at Maidstone.
    def issued(ticket: Any) -> Any:
        m.numbers.append(ticket.number)
        return ticket

    at("09:00")
    for counter in ("1", "2", "3", "4", "8"):
        q.set_counter_state(counter, "open")
    visits["v1"] = issued(q.check_in("pay-council-tax", postcode_district="ME15 6JQ")).visit_id
    q.remember("C001", same.lower(), consent=True)
    at("09:02")
    visits["v2"] = issued(q.check_in("pay-council-tax", language="pl")).visit_id
    q.remember("C002", other, consent=True)
    at("09:04")
    q.call_ticket("1", "C001")
    at("09:05")
    visits["v3"] = issued(
        q.check_in("homeless", postcode_district="ME15", help_needed="wheelchair")
    ).visit_id
    q.start_serving("C001")
    at("09:10")
    visits["v4"] = issued(q.check_in("lost-job", consent_share=True)).visit_id
    q.call_ticket("2", "C002")
    at("09:11")
    q.recall("C002")
    at("09:12")
    q.start_serving("C002")
    at("09:15")
    q.complete("C001")
    at("09:16")
    q.call_ticket("8", "U001")
    at("09:17")
    q.start_serving("U001")
    at("09:20")
    q.complete("C002", outcome="resolved", avoidable=True)
    at("09:25")
    q.call_ticket("4", "H001", staff="asha")
    at("09:26")
    q.start_serving("H001")
    at("09:31")
    assert issued(q.complete("U001")[1]).number == "B001"
    at("09:40")
    handed = q.refer(
        "H001",
        "benefits",
        kind="handover",
        reason="lives at 1 Secret Street",
        consent=True,
        staff="asha",
    )[1]
    assert issued(handed).number == "B002"
    at("09:45")
    q.call_ticket("2", "B001")
    at("09:50")
    q.call_ticket("3", "B002")
    at("09:52")
    q.start_serving("B002")
    at("09:55")
    # Signposted: the journey goes on to its next step, advice.
    assert issued(q.refer("B001", "age-uk", kind="signpost")[1]).number == "A001"
    at("10:00")
    visits["v5"] = issued(q.check_in("find-work", appointment_ref="APT-SECRET-99")).visit_id
    at("10:04")
    q.complete("B002", outcome="follow-up")
    at("10:12")
    q.call_ticket("8", "U002")
    at("10:14")
    q.hold("U002")
    at("10:20")
    q.unhold("U002")
    at("10:30")
    q.call_ticket("8", "U002")
    at("10:31")
    q.start_serving("U002")
    at("10:41")
    q.complete("U002", outcome="partly-resolved")
    at("11:00")
    visits["v6"] = issued(q.check_in("pay-council-tax")).visit_id
    q.remember("C003", same, consent=True)
    at("11:20")
    q.cancel("C003", reason="changed their mind")
    at("11:30")
    visits["v7"] = issued(q.check_in("not-sure", postcode_district="ME16")).visit_id
    at("11:33")
    q.call_ticket("1", "R001")
    at("11:34")
    q.recall("R001")
    at("11:40")
    q.no_show("R001")
    at("12:00")
    q.set_counter_state("1", "paused", reason="lunch")
    at("12:30")
    q.set_counter_state("1", "open")
    at("16:30")
    visits["v8"] = issued(q.check_in("pay-council-tax")).visit_id
    at("16:40")
    visits["v9"] = issued(q.check_in("homeless", postcode_district="ME15")).visit_id
    at("16:50")
    q.call_ticket("4", "H002")
    before = summary(store, store_centre(store, "maidstone"), Days(MON, MON))
    before_log = reportlog.figures(store, "maidstone", MON, MON, LATE).summary()
    at("17:30")
    assert q.close_day() == 3

    kiosk(q, clock, utc(MON, "09:00"), "ticket", "ticket", need="pay-council-tax", ticket="C001")
    kiosk(q, clock, utc(MON, "09:02"), "ticket", "ticket", need="pay-council-tax", language="pl")
    kiosk(q, clock, utc(MON, "09:05"), "ticket", "ticket", need="homeless", ticket="H001")
    kiosk(q, clock, utc(MON, "10:00"), "ticket", "ticket", need="find-work", ticket="U002")
    kiosk(q, clock, utc(MON, "10:10"), "information", "answer", need="opening-hours")
    kiosk(q, clock, utc(MON, "13:00"), "information", "answer", need="toilets", language="pl")
    kiosk(q, clock, utc(MON, "11:10"), "abandoned", "need", language="en")
    kiosk(q, clock, utc(MON, "14:00"), "abandoned", "language")
    kiosk(q, clock, utc(MON, "15:00"), "failed", "print", need="pay-council-tax")
    door_times = ("08:59", "09:01", "09:04", "09:09", "09:59", "10:59", "11:29", "13:00")
    doors(q, clock, *(utc(MON, hhmm) for hhmm in (*door_times, "14:00", "16:29", "16:39")))

    # Monday at Sittingbourne.
    sq, sclock = engine(store, "sittingbourne", utc(MON, "09:00"))
    sq.set_counter_state("9", "open")
    sclock.set(utc(MON, "09:30"))
    visits["s1"] = issued(sq.check_in("find-work", language="ro")).visit_id
    sclock.set(utc(MON, "09:31"))
    sq.remember("U001", same, consent=True)
    sclock.set(utc(MON, "09:33"))
    sq.call_ticket("9", "U001")
    sclock.set(utc(MON, "09:40"))
    sq.complete("U001")
    sclock.set(utc(MON, "10:00"))
    issued(sq.check_in("pay-council-tax"))
    sclock.set(utc(MON, "10:05"))
    sq.cancel("C001")
    sclock.set(utc(MON, "17:30"))
    sq.close_day()
    kiosk(sq, sclock, utc(MON, "09:30"), "ticket", "ticket", need="find-work", language="ro")
    doors(sq, sclock, utc(MON, "09:29"), utc(MON, "09:59"))

    with store.read() as session:
        keys = session.exec(select(Visit.repeat_key).where(col(Visit.repeat_key).is_not(None)))
        repeat_keys = tuple(sorted(set(keys)))
    assert len(repeat_keys) == 2  # one per identifier, whatever its case and spaces
    return KnownWeek(store, db, before, before_log, m.numbers, visits, repeat_keys)


def store_centre(store: Store, code: str) -> CentreView:
    return open_centre(store, code)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def week(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """The known week, played once per store and read by many tests (they only read)."""
    folder = tmp_path_factory.mktemp("week")
    server = request.getfixturevalue("pg_server") if request.param == "postgresql" else None
    db = create_pg_database(server) if server else f"sqlite:///{folder / 'gateway.db'}"
    with pytest.MonkeyPatch.context() as env:
        env.delenv("GATEWAY_PSEUDONYM_KEY_FILE", raising=False)
        env.setenv("GATEWAY_PSEUDONYM_KEY", PSEUDONYM_SECRET)
        played = play_known_week(db, folder)
    yield played
    played.store.dispose()
    if server:
        drop_pg_database(server, db)


def centres(week: KnownWeek, *codes: str) -> list[CentreView]:
    return [store_centre(week.store, code) for code in codes]


# -- 1. the summary of a known day ---------------------------------------------------------


def test_the_known_monday_has_the_hand_counted_summary_and_agrees_with_the_log(week):
    [m] = centres(week, "maidstone")
    got = summary(week.store, m, Days(MON, MON), now=LATE)
    assert_same(got, week.log("maidstone", MON, MON).summary())

    assert got["footfall"] == {
        "sessions": 9,
        "checkins": 9,
        "information_only": 2,
        "abandoned": 2,
        "door": 11,
    }
    assert got["tickets"] == {
        "issued": 12,
        "served": 5,
        "no_show": 1,
        "cancelled": 2,  # C003 by the customer, H002 at the counter at closing
        "walked_out": 2,  # C004 and A001, still waiting
        "referred": 2,
        "still_open": 0,
    }
    # Waits 3, 4, 6, 8, 10, 10, 12, 14, 20: nearest rank median is the 5th, p90 the 9th.
    assert got["wait_minutes"] == {
        "called": 9,
        "mean": 9.7,
        "median": 10.0,
        "p90": 20.0,
        "max": 20.0,
    }
    # Service times 8, 10, 10, 12, 14 (C001 from serve, U002 after the hold, not from a call).
    assert got["service_minutes"] == {
        "served": 5,
        "mean": 10.8,
        "median": 10.0,
        "p90": 14.0,
        "max": 14.0,
    }
    # Each against its own service's target: only H001 (20 > housing's 15) is above.
    assert got["service_level"] == {
        "within_target": 8,
        "above_target": 1,
        "within_target_pct": 88.9,
    }
    assert got["avoidable"] == {
        "completed": 5,
        "avoidable": 1,
        "avoidable_pct": 20.0,
        "outcomes": [
            {"outcome": "follow-up", "count": 1, "avoidable": 0},
            {"outcome": "partly-resolved", "count": 1, "avoidable": 0},
            {"outcome": "resolved", "count": 3, "avoidable": 1},
        ],
    }
    assert normal(got["referrals"]) == normal(
        [
            {
                "from_agency": "mbc",
                "to_agency": "mbc",
                "kind": "handover",
                "count": 1,
                "served": 1,  # B002 was served
                "agreed_to_share": 1,
            },
            {
                "from_agency": "mbc",
                "to_agency": "ageuk",
                "kind": "signpost",
                "count": 1,
                "agreed_to_share": 0,
            },
        ]
    )
    # Only the lost-job visit touched two or more agencies (jobcentre, council, advice).
    assert got["journeys"] == {"visits": 9, "multi_agency": 1, "multi_agency_pct": 11.1}
    assert got["repeat_visits"] == {
        "keyed_visits": 3,
        "customers": 2,
        "repeat_visits": 1,
        "returning_customers": 1,
    }


def test_the_known_week_over_two_centres_agrees_with_the_log(week):
    both = centres(week, "maidstone", "sittingbourne")
    log = week.log(["maidstone", "sittingbourne"], FRI, MON)
    got = summary(week.store, both, Days(FRI, MON), now=LATE)
    assert got["centre"] == "maidstone,sittingbourne"
    assert got["tickets"]["issued"] == 12 + 1 + 1 + 2
    assert got["footfall"]["checkins"] == 9 + 1 + 1 + 2
    assert got["footfall"]["door"] == 11 + 2 + 1 + 2
    assert got["wait_minutes"]["called"] == 9 + 1 + 1 + 1
    # Monday's 87 minutes, Friday's 5, Saturday's 10, Sittingbourne's 3: 105 / 12 = 8.75.
    assert got["wait_minutes"]["mean"] == 8.8
    # The same key at another centre is the same customer (one secret for the store):
    # four visits by one person (Friday, Monday twice, and Sittingbourne), one by another.
    assert got["repeat_visits"] == {
        "keyed_visits": 5,
        "customers": 2,
        "repeat_visits": 3,
        "returning_customers": 1,
    }
    assert_same(got, log.summary())
    for report in ("waits", "footfall", "referrals", "staffing"):
        assert_same(
            REPORTS[report](week.store, both, Days(FRI, MON), None, LATE),
            getattr(log, report)(None),
        )


def test_footfall_waits_referrals_and_staffing_of_the_known_monday(week):
    [m] = centres(week, "maidstone")
    log = week.log("maidstone", MON, MON)
    day = Days(MON, MON)

    foot = footfall(week.store, m, day, now=LATE)
    assert_same(foot, log.footfall())
    assert foot["footfall"] == {
        "checkins": 9,
        "sessions": 9,
        "ticket": 4,
        "information_only": 2,
        "abandoned": 2,
        "failed": 1,
        "door": 11,
    }
    assert foot["abandoned_at"] == [{"step": "language", "count": 1}, {"step": "need", "count": 1}]
    assert foot["profile"]["hours"] == ["09", "10", "11", "12", "13", "14", "15", "16"]
    assert foot["profile"]["rows"][0] == {"weekday": "Mon", "checkins": [4, 1, 2, 0, 0, 0, 0, 2]}

    by_service = rows_by(waits(week.store, m, day, now=LATE), "service")
    assert by_service == rows_by(log.waits("service"), "service")
    assert by_service["housing"]["service_level"] == {
        "within_target": 1,
        "above_target": 1,
        "within_target_pct": 50.0,
    }
    assert by_service["benefits"]["wait_minutes"]["called"] == 2

    routes = referrals(week.store, m, day, now=LATE)
    assert_same(routes, log.referrals())
    assert routes["matrix"] == {
        "agencies": ["ageuk", "mbc"],
        "rows": [
            {
                "from_agency": "mbc",
                "to": {
                    "ageuk": {"handover": 0, "signpost": 1, "served": 0},
                    "mbc": {"handover": 1, "signpost": 0, "served": 1},
                },
            }
        ],
    }

    # Five counters open 09:00-17:30, counter 1 paused half an hour: 42 h open.
    # Serving: C001 10, C002 8, U001 14, H001 14 (until the handover), B002 12, U002 10.
    staff = staffing(week.store, m, day, None, now=LATE)
    assert_same(staff, log.staffing(None))
    assert staff["staffing"] == {
        "open_hours": 42.0,
        "paused_hours": 0.5,
        "serving_hours": 1.13,
        "served": 6,
        "utilisation_pct": 2.7,
    }


# -- 2. every breakdown --------------------------------------------------------------------

KNOWN_ISSUED = {  # Friday to Monday, both centres
    "centre": {"maidstone": 14, "sittingbourne": 2},
    "day": {"2026-11-20": 1, "2026-11-21": 1, "2026-11-23": 14},
    "week": {"2026-11-16": 2, "2026-11-23": 14},
    "month": {"2026-11": 16},
    "weekday": {"Fri": 1, "Sat": 1, "Mon": 14},
    "agency": {"mbc": 12, "dwp": 3, "cab": 1},
    "counter": {
        "maidstone/1": 3,
        "maidstone/2": 3,
        "maidstone/3": 1,
        "maidstone/4": 2,
        "maidstone/8": 2,
        "sittingbourne/9": 1,
        "not given": 4,
    },
    "language": {"en": 13, "pl": 1, "uk": 1, "ro": 1},
}
SUMMED = {
    "tickets": ("issued", "served", "no_show", "cancelled", "walked_out", "referred", "still_open"),
    "wait_minutes": ("called",),
    "service_minutes": ("served",),
    "service_level": ("within_target", "above_target"),
    "avoidable": ("completed", "avoidable"),
}


@pytest.mark.parametrize("by", BY)
def test_every_breakdown_agrees_with_the_log_and_adds_up_to_the_total(week, by):
    both = centres(week, "maidstone", "sittingbourne")
    days = Days(FRI, MON)
    got: dict[str, dict[str, Any]] = {}
    for name, report in REPORTS.items():
        if by in ALLOWED[name]:
            got[name] = report(week.store, both, days, by, LATE)
            assert_no_personal_data(week, json.dumps(got[name]))
        else:
            with pytest.raises(NotAllowed):
                report(week.store, both, days, by, LATE)

    # Known answers, and the rows adding up to the whole.
    total = summary(week.store, both, days, now=LATE)
    rows = rows_by(got["summary"], by)
    if by in KNOWN_ISSUED:
        assert {k: r["tickets"]["issued"] for k, r in rows.items()} == KNOWN_ISSUED[by]
    if by == "district":  # all three districts are small: folded, and left out
        assert set(rows) == {"not given", SMALL_LABEL}
        assert rows[SMALL_LABEL]["tickets"]["issued"] is None
    else:
        for group, names in SUMMED.items():
            for n in names:
                assert sum(r[group][n] for r in rows.values()) == total[group][n], (group, n)
        if "referrals" in got:
            assert sum(r["count"] for r in got["referrals"]["referrals"]) == 2
    if by in ALLOWED["footfall"] and by != "district":
        foot = rows_by(got["footfall"], by)
        assert sum(r["checkins"] for r in foot.values()) == total["footfall"]["checkins"] == 13
        assert sum(r["sessions"] for r in foot.values()) == total["footfall"]["sessions"] == 11
        if by in TIME_AND_PLACE:  # door counts know nothing else
            assert sum(r["door"] for r in foot.values()) == total["footfall"]["door"] == 16
    if by in ALLOWED["staffing"]:
        staff = rows_by(got["staffing"], by)
        whole = staffing(week.store, both, days, None, LATE)["staffing"]
        assert whole["open_hours"] == 8.5 + 4.0 + 42.0 + 8.5
        assert sum(r["open_hours"] for r in staff.values()) == pytest.approx(whole["open_hours"])
        assert sum(r["served"] for r in staff.values()) == whole["served"] == 1 + 1 + 6 + 1

    # Every figure, per key, as the event log gives it.
    log = week.log(["maidstone", "sittingbourne"], FRI, MON)
    for name, report in got.items():
        expected = getattr(log, name)(by)
        assert_same(report, expected)
        if "rows" in report:
            assert rows_by(report, by) == rows_by(expected, by), name


@pytest.mark.parametrize("by", ["hour", "day", "week", "month", "weekday"])
def test_time_breakdowns_come_in_time_order(week, by):
    both = centres(week, "maidstone", "sittingbourne")
    for name in ("summary", "footfall", "staffing"):
        if by not in ALLOWED[name]:
            continue
        labels = [r[by] for r in REPORTS[name](week.store, both, Days(FRI, MON), by, LATE)["rows"]]
        order = sorted(labels, key=reportlog.WEEKDAYS.index) if by == "weekday" else sorted(labels)
        assert labels == order, name


# -- 5. closed days --------------------------------------------------------------------------


def test_a_closed_sunday_has_no_rows_and_counts_nothing(week):
    [m] = centres(week, "maidstone")
    weekend = Days(SAT, MON)
    log = week.log("maidstone", SAT, MON)
    got = {name: REPORTS[name](week.store, m, weekend, "day", LATE) for name in REPORTS}
    for name in ("summary", "waits", "footfall", "staffing"):
        assert [r["day"] for r in got[name]["rows"]] == ["2026-11-21", "2026-11-23"], name
    # Saturday: one counter open 09:00-13:00, one ticket served in 9 minutes (9 / 240).
    assert rows_by(got["staffing"], "day")["2026-11-21"] == {
        "open_hours": 4.0,
        "paused_hours": 0.0,
        "serving_hours": 0.15,
        "served": 1,
        "utilisation_pct": 3.8,
    }
    for name, report in got.items():
        assert_same(report, getattr(log, name)("day"))
    by_weekday = summary(week.store, m, weekend, "weekday", LATE)
    assert [r["weekday"] for r in by_weekday["rows"]] == ["Mon", "Sat"]  # Monday first

    sunday = Days(SUN, SUN)
    alone = summary(week.store, m, sunday, now=LATE)
    assert_same(alone, week.log("maidstone", SUN, SUN).summary())
    assert alone["tickets"]["issued"] == alone["footfall"]["checkins"] == 0
    assert alone["footfall"]["door"] == alone["footfall"]["sessions"] == 0
    assert alone["wait_minutes"] == {
        "called": 0,
        "mean": None,
        "median": None,
        "p90": None,
        "max": None,
    }
    assert alone["referrals"] == [] and alone["journeys"]["visits"] == 0
    assert staffing(week.store, m, sunday, None, LATE)["staffing"]["open_hours"] == 0.0
    for name in ("summary", "waits", "footfall", "staffing", "referrals"):
        got = REPORTS[name](week.store, m, sunday, "day", LATE)
        assert got.get("rows", got.get("referrals")) == [], name

    # The weekend's total is Saturday's plus Monday's, and Sunday adds nothing.
    total = summary(week.store, m, weekend, now=LATE)
    assert total["tickets"]["issued"] == 1 + 12
    assert staffing(week.store, m, weekend, None, LATE)["staffing"]["open_hours"] == 4.0 + 42.0


# -- 6. tickets still open at closing -----------------------------------------------------------


def test_tickets_open_at_closing_walk_out_and_their_visits_end(week):
    [m] = centres(week, "maidstone")
    before = week.before_close
    assert_same(before, week.before_close_log)
    assert before["tickets"]["still_open"] == 3 and before["tickets"]["walked_out"] == 0
    assert before["tickets"]["cancelled"] == 1

    after = summary(week.store, m, Days(MON, MON), now=LATE)["tickets"]
    assert (after["walked_out"], after["cancelled"], after["still_open"]) == (2, 2, 0)

    log = week.log("maidstone", MON, MON).log
    closing = utc(MON, "17:30")
    walked = {t.id: t for t in log.tickets.values() if t.walked_out}
    assert sorted(t.service for t in walked.values()) == ["advice", "council-tax"]
    assert all(t.state == "cancelled" and t.ended_at == closing for t in walked.values())
    assert all(t.visit.ended_at == closing for t in walked.values())
    by_customer = [t for t in log.tickets.values() if t.state == "cancelled" and not t.walked_out]
    assert sorted((t.visit.id, t.ended_at) for t in by_customer) == [
        (week.visits["v6"], utc(MON, "11:20")),  # C003, the customer left
        (week.visits["v9"], closing),  # H002, at the counter when the centre closed
    ]
    with week.store.read() as session:
        rows = session.exec(select(Ticket).where(Ticket.centre_id == m.id, Ticket.day == MON))
        flagged = {t.id for t in rows if t.walked_out}
        assert flagged == set(walked)
        ended = session.get(Visit, week.visits["v9"])
        assert ended is not None and ended.ended_at == closing


# -- 9. personal data never appears ------------------------------------------------------------


def personal_data(week: KnownWeek) -> list[str]:
    """What the known week was told that no report may show."""
    assert {"C001", "H001", "B002", "A001", "U002", "R001"} <= set(week.numbers)
    return [
        "APT-SECRET-99",
        "Secret",  # the referral reason (1 Secret Street) and the staff member's name
        "Asha",
        "wheelchair",
        "ME15",  # districts with fewer than 5 visits are never named
        "ME16",
        *IDENTIFIERS,
        "AB123456C",
        *week.repeat_keys,
        *sorted(set(week.numbers)),
    ]


def assert_no_personal_data(week: KnownWeek, text: str) -> None:
    for secret in personal_data(week):
        assert secret.lower() not in text.lower(), secret


def test_no_personal_data_appears_in_any_report_or_format(week):
    """Every report by every breakdown is checked in the breakdown test above; here each
    report whole, and through the CLI in every format, by district (the breakdown that
    names places), and the tables with their charts."""
    both = centres(week, "maidstone", "sittingbourne")
    days = Days(FRI, MON)
    for report in REPORTS.values():
        for chosen in (both, both[0]):
            assert_no_personal_data(week, json.dumps(report(week.store, chosen, days, None, LATE)))
    base = ["--from", "2026-11-20", "--to", "2026-11-23", "--db", week.db]
    base += ["--centre", "maidstone,sittingbourne"]
    for name in REPORTS:
        for fmt in ("table", "csv", "json"):
            assert_no_personal_data(week, run_cli("report", name, *base, "--format", fmt))
        if "district" in ALLOWED[name]:
            text = run_cli("report", name, *base, "--format", "csv", "--by", "district")
            assert SMALL_LABEL in text
            assert_no_personal_data(week, text)
    assert_no_personal_data(week, run_cli("report", "summary", *base, "--format", "html"))
    assert_no_personal_data(week, run_cli("report", "summary", *base, "--chart"))

    # The CLI's JSON is the report itself.
    cli = json.loads(run_cli("report", "summary", *base, "--format", "json"))
    assert cli == json.loads(json.dumps(summary(week.store, both, days, now=LATE)))
    assert cli["tickets"]["issued"] == 16


# -- 3. midnight -------------------------------------------------------------------------------


def init_small(db: str, at: str) -> Cli:
    run_cli("init", str(SMALL_CENTRE), "--db", db, "--at", at)
    return Cli(db, "testing")


def test_check_ins_either_side_of_midnight_fall_on_their_own_days_and_hours(store_url):
    """In June (BST) local midnight is 23:00 UTC: 00:10 on Tuesday is still Monday in UTC."""
    mon, tue = date(2026, 6, 15), date(2026, 6, 16)
    cli = init_small(store_url, "2026-06-15T08:00")
    moments = {  # local time -> need
        "2026-06-15T09:15": "council-tax",
        "2026-06-15T09:45": "housing",
        "2026-06-15T14:20": "jobs",
        "2026-06-15T23:30": "council-tax",
        "2026-06-16T00:10": "council-tax",
        "2026-06-16T10:05": "housing",
    }
    numbers = [cli("checkin", need, at=at)["number"] for at, need in moments.items()]
    assert numbers == ["C001", "H001", "J001", "C002", "C001", "H001"]  # per local day
    store = Store(store_url)
    try:
        q, clock = engine(store, "testing", datetime(2026, 6, 15, 22, 50, tzinfo=UTC))
        kiosk(q, clock, datetime(2026, 6, 15, 22, 50, tzinfo=UTC), "ticket", "ticket")  # 23:50
        doors(q, clock, datetime(2026, 6, 15, 22, 40, tzinfo=UTC))  # 23:40 BST, Monday
        doors(q, clock, datetime(2026, 6, 15, 23, 5, tzinfo=UTC))  # 00:05 BST, Tuesday
        centre = store_centre(store, "testing")
        both = Days(mon, tue)
        log = reportlog.figures(store, "testing", mon, tue, LATE)

        by_hour = footfall(store, centre, both, "hour", LATE)
        assert_same(by_hour, log.footfall("hour"))
        assert {
            h: (r["checkins"], r["sessions"], r["door"])
            for h, r in rows_by(by_hour, "hour").items()
        } == {
            "00:00": (1, 0, 1),
            "09:00": (2, 0, 0),
            "10:00": (1, 0, 0),
            "14:00": (1, 0, 0),
            "23:00": (1, 1, 1),
        }
        by_day = footfall(store, centre, both, "day", LATE)
        assert_same(by_day, log.footfall("day"))
        assert {
            d: (r["checkins"], r["sessions"], r["door"]) for d, r in rows_by(by_day, "day").items()
        } == {"2026-06-15": (4, 1, 1), "2026-06-16": (2, 0, 1)}
        profile = footfall(store, centre, both, None, LATE)["profile"]
        assert profile == log.footfall()["profile"]
        assert profile["hours"] == [f"{h:02d}" for h in range(24)]
        monday, tuesday = profile["rows"][0]["checkins"], profile["rows"][1]["checkins"]
        assert {h: n for h, n in enumerate(monday) if n} == {9: 2, 14: 1, 23: 1}
        assert {h: n for h, n in enumerate(tuesday) if n} == {0: 1, 10: 1}
        assert all(sum(r["checkins"]) == 0 for r in profile["rows"][2:])

        tickets = rows_by(summary(store, centre, both, "hour", LATE), "hour")
        assert {h: r["tickets"]["issued"] for h, r in tickets.items()} == {
            "00:00": 1,
            "09:00": 2,
            "10:00": 1,
            "14:00": 1,
            "23:00": 1,
        }
        assert_same(summary(store, centre, both, "day", LATE), log.summary("day"))
        assert summary(store, centre, Days(tue, tue))["tickets"]["issued"] == 2
    finally:
        store.dispose()


# -- 4. the clock changes ---------------------------------------------------------------------

SPRING = {  # 29 March 2026: 01:00 GMT becomes 02:00 BST
    "day": date(2026, 3, 29),
    "open": "2026-03-29T00:00",
    "checkins": [
        ("2026-03-29T00:30", "council-tax"),  # local, GMT: 00:30 UTC
        ("2026-03-29T00:50", "housing"),  # 00:50 GMT, called at 02:10 BST: 20 minutes
        ("2026-03-29T01:30+00:00", "council-tax"),  # 01:30 local never happens: 02:30 BST
        ("2026-03-29T03:30", "jobs"),  # local, BST: 02:30 UTC
    ],
    "call": "2026-03-29T02:10",  # BST: 01:10 UTC
    "done": "2026-03-29T02:20",
    "close": "2026-03-29T04:00",  # BST: 03:00 UTC, three hours after 00:00 GMT
    "hours": {"00:00": 2, "02:00": 1, "03:00": 1},
    "service": 10.0,
    "open_hours": 3.0,
}
AUTUMN = {  # 25 October 2026: 02:00 BST becomes 01:00 GMT; 01:00-02:00 happens twice
    "day": date(2026, 10, 25),
    "open": "2026-10-25T00:00",  # BST: 23:00 UTC on the 24th
    "checkins": [
        ("2026-10-25T00:30", "council-tax"),  # BST: 23:30 UTC on the 24th
        ("2026-10-25T01:30+01:00", "council-tax"),  # the first 01:30 (BST)
        ("2026-10-25T01:50+01:00", "housing"),  # BST, called at 01:10 GMT: 20 minutes
        ("2026-10-25T01:30+00:00", "council-tax"),  # the second 01:30 (GMT)
        ("2026-10-25T03:30", "jobs"),  # GMT
    ],
    "call": "2026-10-25T01:10+00:00",
    "done": "2026-10-25T01:15+00:00",
    "close": "2026-10-25T04:00",  # GMT: five hours after 00:00 BST
    "hours": {"00:00": 1, "01:00": 3, "03:00": 1},
    "service": 5.0,
    "open_hours": 5.0,
}


def local_hour(at: str) -> str:
    moment = datetime.fromisoformat(at)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LONDON)
    return f"{moment.astimezone(UTC).astimezone(LONDON).hour:02d}:00"


@pytest.mark.parametrize("change", [SPRING, AUTUMN], ids=["spring", "autumn"])
def test_the_clock_changes_give_the_local_hours_zoneinfo_gives(store_url, change):
    day: date = change["day"]
    cli = init_small(store_url, "2026-03-01T08:00")
    cli("counter-state", "2", "open", at=change["open"])
    for at, need in change["checkins"]:
        cli("checkin", need, at=at)
    cli("call", "2", "--ticket", "H001", at=change["call"])
    cli("done", "H001", at=change["done"])
    cli("counter-state", "2", "close", at=change["close"])

    expected: dict[str, int] = {}
    for at, _ in change["checkins"]:
        expected[local_hour(at)] = expected.get(local_hour(at), 0) + 1
    assert expected == change["hours"]

    store = Store(store_url)
    try:
        centre = store_centre(store, "testing")
        one = Days(day, day)
        log = reportlog.figures(store, "testing", day, day, LATE)
        by_hour = footfall(store, centre, one, "hour", LATE)
        assert_same(by_hour, log.footfall("hour"))
        assert {h: r["checkins"] for h, r in rows_by(by_hour, "hour").items()} == expected
        tickets = summary(store, centre, one, "hour", LATE)
        assert_same(tickets, log.summary("hour"))
        assert {h: r["tickets"]["issued"] for h, r in rows_by(tickets, "hour").items()} == expected
        whole = summary(store, centre, one, now=LATE)
        assert_same(whole, log.summary())
        assert whole["tickets"]["issued"] == len(change["checkins"])
        assert whole["wait_minutes"]["max"] == 20.0  # real minutes, not the wall clock's
        assert whole["service_minutes"]["max"] == change["service"]
        staff = staffing(store, centre, one, "day", LATE)
        assert_same(staff, log.staffing("day"))
        assert rows_by(staff, "day")[day.isoformat()]["open_hours"] == change["open_hours"]
        profile = footfall(store, centre, one, None, LATE)["profile"]
        assert profile == log.footfall()["profile"]
        assert profile["rows"][6]["weekday"] == "Sun"
        sunday = dict(zip(profile["hours"], profile["rows"][6]["checkins"], strict=True))
        assert {f"{h}:00": n for h, n in sunday.items() if n} == expected
    finally:
        store.dispose()


# -- 7. staffing --------------------------------------------------------------------------------


def test_staffing_hours_from_counter_states_and_known_service_times(any_store):
    day, tue = date(2026, 11, 23), date(2026, 11, 24)
    q, clock = engine(any_store, "testing", utc(day, "09:00"))

    def at(hhmm: str, on: date = day) -> None:
        clock.set(utc(on, hhmm))

    q.set_counter_state("1", "open")
    at("09:05")
    t1 = q.check_in("council-tax").number
    at("09:10")
    q.call_ticket("1", t1)
    at("09:12")
    q.start_serving(t1)
    at("09:30")
    q.complete(t1)  # 18 minutes
    at("09:50")
    t2 = q.check_in("council-tax").number
    at("10:00")
    q.call_ticket("1", t2)
    q.set_counter_state("4", "open")
    at("10:20")
    q.complete(t2)  # 20 minutes: from the call, never marked as serving
    at("11:00")
    q.set_counter_state("4", "closed")
    at("12:00")
    q.set_counter_state("1", "paused", reason="lunch")
    at("12:30")
    q.set_counter_state("1", "open")
    at("13:50")
    t3 = q.check_in("council-tax").number
    at("14:00")
    q.call_ticket("1", t3)
    q.start_serving(t3)
    at("14:15")
    q.refer(t3, "jobs", kind="signpost")  # 15 minutes, counted: served, then referred
    at("15:00")
    t4 = q.check_in("housing").number
    at("15:05")
    q.call_ticket("1", t4)
    at("15:06")
    q.cancel(t4)  # left at the counter: not serving time
    at("17:00")
    q.set_counter_state("1", "closed")
    # Tuesday: counter 1 opens at 09:00 and is still open when the report is read.
    at("09:00", tue)
    q.set_counter_state("1", "open")
    at("09:10", tue)
    t5 = q.check_in("council-tax").number
    at("09:20", tue)
    q.call_ticket("1", t5)
    at("09:40", tue)
    q.complete(t5)

    centre = q.centre
    monday = Days(day, day)
    log = reportlog.figures(any_store, "testing", day, day, LATE)
    by_counter = staffing(any_store, centre, monday, "counter", LATE)
    assert_same(by_counter, log.staffing("counter"))
    assert rows_by(by_counter, "counter") == {
        "1": {
            "open_hours": 7.5,
            "paused_hours": 0.5,
            "serving_hours": 0.88,  # 18 + 20 + 15 = 53 minutes
            "served": 3,
            "utilisation_pct": 11.8,  # 53 / 450
        },
        "4": {
            "open_hours": 1.0,
            "paused_hours": 0.0,
            "serving_hours": 0.0,
            "served": 0,
            "utilisation_pct": 0.0,
        },
    }
    by_agency = staffing(any_store, centre, monday, "agency", LATE)
    assert_same(by_agency, log.staffing("agency"))
    assert rows_by(by_agency, "agency") == {
        "borough": rows_by(by_counter, "counter")["1"],
        "dwp": rows_by(by_counter, "counter")["4"],
    }
    whole = staffing(any_store, centre, monday, None, LATE)
    assert_same(whole, log.staffing(None))
    assert whole["staffing"] == {
        "open_hours": 8.5,
        "paused_hours": 0.5,
        "serving_hours": 0.88,
        "served": 3,
        "utilisation_pct": 10.4,  # 53 / 510
    }

    # A range ending today counts a counter still open up to now.
    now = utc(tue, "11:00")
    both = Days(day, tue)
    log = reportlog.figures(any_store, "testing", day, tue, now)
    by_day = staffing(any_store, centre, both, "day", now)
    assert_same(by_day, log.staffing("day"))
    assert rows_by(by_day, "day")["2026-11-24"] == {
        "open_hours": 2.0,
        "paused_hours": 0.0,
        "serving_hours": 0.33,
        "served": 1,
        "utilisation_pct": 16.7,  # 20 / 120
    }
    assert rows_by(by_day, "day")["2026-11-23"]["open_hours"] == 8.5
    earlier = staffing(any_store, centre, Days(tue, tue), None, utc(tue, "10:30"))
    assert earlier["staffing"]["open_hours"] == 1.5
    assert_same(
        earlier, reportlog.figures(any_store, "testing", tue, tue, utc(tue, "10:30")).staffing(None)
    )


# -- 8. small districts ------------------------------------------------------------------------


def test_districts_with_fewer_than_5_visits_are_folded_and_small_counts_left_out(any_queue, clock):
    """ME15: 6 visits (council tax); five handed over within the council to housing (two of
    those served, three agreed to share), one handed over to the jobcentre (the one visit
    that touched two agencies). ME16: 3 visits, TN1: 1, and one gave no district."""
    q = any_queue
    day = clock.now().date()

    def visit(district: str | None, need: str = "council-tax") -> str:
        clock.advance(minutes=1)
        return q.check_in(need, postcode_district=district).number

    for n in range(6):
        number = visit("ME15 6JQ")
        clock.advance(minutes=3)
        q.call_ticket("1" if n % 2 == 0 else "3", number)  # waits 3 minutes
        clock.advance(minutes=3)
        if n == 5:
            q.refer(number, "jobs", kind="handover")
            continue
        _, handed = q.refer(number, "housing", kind="handover", consent=n < 3)
        assert handed is not None
        if n < 2:  # two of the handovers are served at once (wait 1 minute)
            clock.advance(minutes=1)
            q.call_ticket("2", handed.number)
            clock.advance(minutes=4)
            q.complete(handed.number)
    for n in range(3):
        number = visit("ME16")
        if n == 0:
            q.call_ticket("1", number)
            clock.advance(minutes=5)
            q.complete(number)
    number = visit("TN1 1AA", "jobs")
    q.call_ticket("4", number)
    clock.advance(minutes=5)
    q.complete(number)
    visit(None)

    store, centre, days = q.store, q.centre, Days(day, day)
    log = reportlog.figures(store, "testing", day, day, LATE)

    tickets = rows_by(summary(store, centre, days, "district", LATE), "district")
    assert set(tickets) == {"ME15", SMALL_LABEL, "not given"}
    me15 = tickets["ME15"]
    # 12 tickets: 6 council tax, 5 housing, 1 jobs; 8 called, all within target.
    assert me15["wait_minutes"]["called"] == 8
    assert me15["service_level"]["within_target"] == 8
    # Served 2, still open 4: the group holds small counts, so all of it is left out.
    assert set(me15["tickets"].values()) == {None}
    assert set(me15["service_minutes"].values()) == {None}
    assert set(me15["avoidable"].values()) == {None}
    assert me15["wait_minutes"]["mean"] == 2.5  # (6 × 3 + 2 × 1) / 8
    folded = tickets[SMALL_LABEL]  # ME16 and TN1: 4 visits, 4 tickets
    assert all(v is None for group in folded.values() for v in group.values())
    assert_same(summary(store, centre, days, "district", LATE), log.summary("district"))
    assert_same(waits(store, centre, days, "district", LATE), log.waits("district"))

    foot = footfall(store, centre, days, "district", LATE)
    assert rows_by(foot, "district")["ME15"]["checkins"] == 6
    assert rows_by(foot, "district")[SMALL_LABEL]["checkins"] is None
    assert_same(foot, log.footfall("district"))

    for name in ("summary", "waits", "footfall", "referrals"):
        report = REPORTS[name](store, centre, days, "district", LATE)
        small = [n for n in numbers_in(report) if 0 < n < 5]
        assert small == [], f"{name} by district shows counts under 5: {small}"
        text = json.dumps(report)
        assert "ME16" not in text and "TN1" not in text

    routes = referrals(store, centre, days, "district", LATE)
    me15_routes = [r for r in routes["referrals"] if r["district"] == "ME15"]
    assert {(r["to_agency"], r["count"]) for r in me15_routes} >= {("dwp", None)}
    journeys = rows_by({"rows": routes["journeys"]}, "district")
    assert journeys[SMALL_LABEL]["visits"] is None
    # Within the council: count 5, but 2 served and 3 agreed are small counts.
    council = [r for r in me15_routes if r["to_agency"] == "borough"]
    assert council == [
        {
            "district": "ME15",
            "from_agency": "borough",
            "to_agency": "borough",
            "kind": "handover",
            "count": None,
            "served": None,
            "agreed_to_share": None,
        }
    ]
    # 6 visits, 1 of them multi-agency: the small count (and its percentage) is left out,
    # and with it the group it belongs to.
    assert journeys["ME15"] == {"visits": None, "multi_agency": None, "multi_agency_pct": None}
    assert_same(routes, log.referrals("district"))


# -- 10. migration 0005 fills the new columns from the log ------------------------------------


def step_down_to_0004(store: Store) -> None:
    """Alembic's downgrade to 0004 (test scaffolding). On SQLite it runs with foreign
    keys off: stepping down rebuilds the ticket table, which events point at."""
    from alembic import command

    engine = store.engine
    if store.dialect == "sqlite":
        engine = sa.create_engine(store.url)
        sa.event.listen(engine, "connect", lambda conn, _: conn.execute("PRAGMA foreign_keys=OFF"))
    try:
        with engine.begin() as connection:
            command.downgrade(migrate._config(connection), "0004")
    finally:
        if engine is not store.engine:
            engine.dispose()


def test_migration_0005_backfills_first_call_last_counter_and_walked_out(any_queue, clock):
    q = any_queue
    store = q.store
    day = clock.now().date()
    long = q.check_in("council-tax").number
    at_close = q.check_in("housing").number
    left = q.check_in("jobs").number
    never = q.check_in("council-tax").number
    clock.advance(minutes=2)
    q.call_ticket("1", long)
    clock.advance(minutes=1)
    q.recall(long)
    clock.advance(minutes=1)
    q.hold(long)
    clock.advance(minutes=1)
    q.unhold(long)
    clock.advance(minutes=1)
    q.call_ticket("1", long)  # called again: the first call stays
    clock.advance(minutes=1)
    q.transfer(long, "3")
    clock.advance(minutes=1)
    q.call_ticket("3", long)  # the counter that called it last
    clock.advance(minutes=2)
    q.complete(long)
    q.call_ticket("2", at_close)
    q.cancel(left, reason="went home")
    clock.set(utc(day, "17:30"))
    assert q.close_day() == 2

    def columns() -> dict[str, tuple[Any, ...]]:
        with store.read() as session:
            return {
                t.number: (t.first_called_at, t.last_counter_id, t.walked_out, t.state)
                for t in session.exec(select(Ticket).where(Ticket.centre_id == q.centre.id))
            }

    written = columns()
    counters = {c.code: c.id for c in q.centre.counters.values()}
    start = utc(day, "09:00")
    assert written == {
        long: (start + timedelta(minutes=2), counters["3"], False, "done"),
        at_close: (start + timedelta(minutes=10), counters["2"], False, "cancelled"),
        left: (None, None, False, "cancelled"),
        never: (None, None, True, "cancelled"),
    }
    before = summary(store, q.centre, Days(day, day), now=LATE)

    with store.write() as session:
        session.execute(sa.text("UPDATE ticket SET first_called_at = NULL, last_counter_id = NULL"))
        session.execute(sa.text("UPDATE ticket SET walked_out = :no"), {"no": False})
    assert {n: v[:3] for n, v in columns().items()} == dict.fromkeys(written, (None, None, False))

    head = migrate.current(store)
    step_down_to_0004(store)
    assert migrate.current(store) == "0004"
    migrate.upgrade(store)  # what `gateway db upgrade` does to a store made before 0005
    assert migrate.current(store) == head
    assert columns() == written
    assert summary(store, q.centre, Days(day, day), now=LATE) == before
    assert before["tickets"]["walked_out"] == 1 and before["wait_minutes"]["called"] == 2
