"""Synthetic history (``gateway demo --history``): two centres over ten days that hold two
Sundays (closed) and the autumn clock change, filled once per store (SQLite, PostgreSQL),
then checked for what the queue verbs would guarantee."""

from __future__ import annotations

import itertools
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from gateway.config import DAYS, EXAMPLE_CENTRE, load_centre_file, parse_span
from gateway.counters import CENTRE_CLOSED
from gateway.errors import GatewayError, NotAllowed
from gateway.history import HistorySummary, fill_history, parse_history
from gateway.models import Centre, Event, NumberSeries, Referral, Ticket, Visit
from gateway.store import Store
from tests.conftest import create_pg_database, drop_pg_database

# Sunday 18 October to Tuesday 27 October 2026: the clocks go back on Sunday 25th, so
# Saturday 24th opens at 08:00 UTC and Monday 26th at 09:00 UTC.
END = date(2026, 10, 27)
DAYS_FILLED = 10
LONDON = ZoneInfo("Europe/London")
ENDED = {"done", "no_show", "cancelled", "referred"}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def filled(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Store, HistorySummary]]:
    server = request.getfixturevalue("pg_server") if request.param == "postgresql" else None
    if server:
        url = create_pg_database(server)
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('history') / 'gateway.db'}"
    store = Store(url)
    config = load_centre_file(EXAMPLE_CENTRE)
    summary = fill_history(store, config, days=DAYS_FILLED, centres=2, end=END, seed=7)
    yield store, summary
    store.dispose()
    if server:
        drop_pg_database(server, url)


def rows(store: Store, model: type, *where: object) -> list[sa.Row]:
    table = model.__table__  # type: ignore[attr-defined]
    with store.read() as session:
        return list(session.execute(sa.select(table).where(*where)).all())


def test_two_centres_are_filled_with_distinct_codes(filled):
    store, summary = filled
    centres = rows(store, Centre)
    assert sorted(c.code for c in centres) == ["maidstone-01", "maidstone-02"]
    assert summary.codes == ("maidstone-01", "maidstone-02")
    assert summary.tickets == len(rows(store, Ticket)) > 1000
    assert summary.visits == len(rows(store, Visit))
    assert summary.events == len(rows(store, Event)) - 2  # less each centre_loaded


def test_event_numbers_are_gap_free_and_in_time_order_for_each_centre(filled):
    store, _ = filled
    for centre in rows(store, Centre):
        events = sorted(rows(store, Event, Event.centre_id == centre.id), key=lambda e: e.seq)
        assert [e.seq for e in events] == list(range(1, len(events) + 1))
        assert centre.event_seq == len(events)
        times = [e.at for e in events]
        assert times == sorted(times)
        assert {e.actor for e in events[1:]} == {"history"}


def test_every_ticket_moves_forward_in_time_and_has_ended(filled):
    store, _ = filled
    for t in rows(store, Ticket):
        steps = [t.arrived_at, t.issued_at, t.first_called_at, t.serving_at, t.ended_at]
        present = [at for at in steps if at is not None]
        assert present == sorted(present), t
        assert t.state in ENDED and t.ended_at == t.changed_at and t.counter_id is None
        assert t.called_at == t.first_called_at
        if t.state == "done":
            assert t.serving_at is not None and t.outcome is not None
        if t.first_called_at is not None:
            assert t.last_counter_id is not None


def test_a_counter_serves_one_customer_at_a_time(filled):
    store, _ = filled
    by_counter = defaultdict(list)
    for t in rows(store, Ticket, Ticket.serving_at.is_not(None)):
        by_counter[t.last_counter_id].append((t.serving_at, t.ended_at))
    for spans in by_counter.values():
        spans.sort()
        for (_, ended), (started, _) in itertools.pairwise(spans):
            assert ended <= started


def test_numbers_are_unique_per_service_and_day_and_the_series_holds_the_last(filled):
    store, _ = filled
    numbers = defaultdict(list)
    for t in rows(store, Ticket):
        numbers[(t.centre_id, t.service_id, t.day)].append((t.issued_at, t.seq, t.number))
    for issued in numbers.values():
        issued.sort()
        assert [seq for _, seq, _ in issued] == list(range(1, len(issued) + 1))
        assert len({number for _, _, number in issued}) == len(issued)
    series = {(s.centre_id, s.service_id, s.day): s.last for s in rows(store, NumberSeries)}
    assert series == {key: len(issued) for key, issued in numbers.items()}


def test_closed_days_have_nothing_and_open_days_keep_local_hours_across_the_clock_change(
    filled,
):
    store, _ = filled
    hours = load_centre_file(EXAMPLE_CENTRE).centre.opening_hours
    visits = rows(store, Visit)
    days = Counter(v.day for v in visits)
    for offset in range(DAYS_FILLED):
        day = END - timedelta(days=offset)
        if hours.get(DAYS[day.weekday()], "closed") == "closed":
            assert days[day] == 0, day
        else:
            assert days[day] > 0, day
    assert days[date(2026, 10, 18)] == days[date(2026, 10, 25)] == 0  # the two Sundays
    for v in visits:
        opens, closes = parse_span(hours[DAYS[v.day.weekday()]])
        local = v.arrived_at.astimezone(LONDON)
        assert local.date() == v.day
        assert opens <= local.time() < closes, v
    saturday = [v.arrived_at for v in visits if v.day == date(2026, 10, 24)]
    monday = [v.arrived_at for v in visits if v.day == date(2026, 10, 26)]
    assert min(saturday).hour == 8 and min(monday).hour == 9  # UTC: BST, then GMT
    with store.read() as session:
        sunday = datetime.combine(date(2026, 10, 25), time(0), LONDON)
        on_sunday = session.execute(
            sa.select(sa.func.count())
            .select_from(Event.__table__)  # type: ignore[attr-defined]
            .where(Event.at >= sunday, Event.at < sunday + timedelta(hours=25))
        ).scalar_one()
    assert on_sunday == 0


def test_a_handover_queues_a_new_ticket_that_keeps_the_original_arrival(filled):
    store, _ = filled
    tickets = {t.id: t for t in rows(store, Ticket)}
    visits = {v.id: v for v in rows(store, Visit)}
    referrals = rows(store, Referral)
    kinds = Counter(r.kind for r in referrals)
    assert kinds["handover"] > 0 and kinds["signpost"] > 0
    for r in referrals:
        source = tickets[r.from_ticket_id]
        assert source.state == "referred" and source.ended_at == r.at
        assert source.visit_id == r.visit_id and source.service_id == r.from_service_id
        if r.kind == "signpost":
            assert r.to_ticket_id is None
            continue
        handed = tickets[r.to_ticket_id]
        assert handed.visit_id == r.visit_id and handed.service_id == r.to_service_id
        assert handed.arrived_at == visits[r.visit_id].arrived_at == source.arrived_at
        assert handed.issued_at == r.at and handed.step == source.step


def test_walked_out_tickets_are_cancelled_by_the_centre_closing(filled):
    store, _ = filled
    walked = {t.id for t in rows(store, Ticket, Ticket.walked_out.is_(True))}
    assert walked
    assert {t.state for t in rows(store, Ticket, Ticket.walked_out.is_(True))} == {"cancelled"}
    closing = {
        e.ticket_id
        for e in rows(store, Event, Event.kind == "cancelled")
        if e.data["reason"] == CENTRE_CLOSED
    }
    assert closing == walked
    closed = rows(store, Event, Event.kind == "day_closed")
    assert sum(e.data["cancelled"] for e in closed) == len(walked)


def test_events_carry_what_the_verbs_write(filled):
    store, _ = filled
    tickets = {t.id: t for t in rows(store, Ticket)}
    events = rows(store, Event)
    kinds = Counter(e.kind for e in events)
    visits = len(rows(store, Visit))
    assert kinds["checked_in"] == kinds["visit_ended"] == visits
    assert kinds["ticket_issued"] == len(tickets)
    assert kinds["kiosk_session_started"] == kinds["kiosk_session_ended"] > visits
    assert kinds["door_entry"] > 0 and kinds["counter_paused"] > 0
    outcomes = Counter(e.data["outcome"] for e in events if e.kind == "kiosk_session_ended")
    assert outcomes["ticket"] == visits and outcomes["information"] and outcomes["abandoned"]
    for e in events:
        if e.ticket_id is not None and e.kind != "referral":
            assert e.data["number"] == tickets[e.ticket_id].number, e
        if e.kind == "called":
            waited = e.at - tickets[e.ticket_id].issued_at
            assert e.data["waited_s"] == int(waited.total_seconds())
            assert e.counter_id == tickets[e.ticket_id].last_counter_id
        if e.kind == "done":
            assert e.data["outcome"] == tickets[e.ticket_id].outcome


def test_events_are_stored_in_the_same_form_as_the_verbs_store_them(filled):
    """Events skip SQLAlchemy's types on the way in (for speed): times and data must
    still be stored exactly as ``UTCDateTime`` and ``JSON`` store them."""
    store, _ = filled
    with store.read() as session:
        found = session.execute(
            sa.text(
                "SELECT kind, CAST(at AS TEXT), CAST(data AS TEXT) FROM event "
                "WHERE kind IN ('centre_loaded', 'visit_ended', 'called') ORDER BY seq"
            )
        ).all()
    loaded = next(row for row in found if row[0] == "centre_loaded")
    ended = next(row for row in found if row[0] == "visit_ended")
    called = next(row for row in found if row[0] == "called")
    assert ended[2] == "null"  # None in a JSON column, as the ORM writes it
    assert json.loads(called[2]).keys() == {"number", "counter", "waited_s"}
    if store.dialect == "sqlite":
        shape = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}")
        assert shape.fullmatch(loaded[1]) and shape.fullmatch(ended[1])


def test_a_second_fill_is_refused_and_changes_nothing(filled):
    store, summary = filled
    with pytest.raises(NotAllowed, match="already has tickets at maidstone-01"):
        fill_history(store, load_centre_file(EXAMPLE_CENTRE), days=3, centres=1, end=END)
    assert len(rows(store, Ticket)) == summary.tickets


def test_the_same_seed_fills_the_same_history(tmp_path):
    config = load_centre_file(EXAMPLE_CENTRE)

    def tickets(name: str, seed: int) -> list[tuple]:
        store = Store(str(tmp_path / name))
        fill_history(store, config, days=2, centres=1, end=END, seed=seed)
        found = [(t.number, t.state, t.issued_at, t.ended_at) for t in rows(store, Ticket)]
        store.dispose()
        return sorted(found)

    assert tickets("a.db", 3) == tickets("b.db", 3) != tickets("c.db", 4)


@pytest.mark.parametrize(
    ("text", "days"),
    [("2y", 730), ("18m", 540), ("6w", 42), ("90d", 90), ("45", 45), (" 1Y ", 365)],
)
def test_history_lengths_are_read_in_days(text, days):
    assert parse_history(text) == days


@pytest.mark.parametrize("text", ["", "0d", "two years", "2x", "-3d", "11y", "1.5y"])
def test_a_bad_history_length_is_refused_with_a_sentence(text):
    with pytest.raises(GatewayError, match="like 2y, 18m, 6w or 90d"):
        parse_history(text)
