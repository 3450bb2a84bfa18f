"""Managers' summary figures, checked against known answers and against an independent
computation from the raw event log (both stores)."""

from __future__ import annotations

import math
import statistics
from datetime import date, timedelta

from gateway.events import watch
from gateway.reports import Days, summary


def play_a_day(q, clock):
    """Known waits (minutes): C001 2, C002 4, H001 12 (housing target 20), J001 30 (jobs
    target 15: above target); C001 is handed over to housing, recalled once on the way."""
    c1 = q.check_in("council-tax")
    c2 = q.check_in("council-tax")
    h1 = q.check_in("housing")
    j1 = q.check_in("jobs")
    clock.advance(minutes=2)
    q.call_ticket("1", c1.number)
    q.recall(c1.number)  # a recall does not change the first call
    clock.advance(minutes=2)
    q.call_ticket("3", c2.number)
    q.complete(c2.number)
    _, handed = q.refer(c1.number, "housing", kind="handover", reason="rent", consent=True)
    clock.advance(minutes=8)
    q.call_ticket("2", h1.number)
    q.complete(h1.number)
    clock.advance(minutes=18)
    q.call_ticket("4", j1.number)
    q.complete(j1.number, avoidable=True)
    return c1, c2, h1, j1, handed


def from_the_log(q):
    """The same figures, computed from the events alone."""
    events = watch(q.store, q.centre.id)
    issued = {e.ticket_id: e.at for e in events if e.kind == "ticket_issued"}
    first_call = {}
    for e in events:
        if e.kind == "called":
            first_call.setdefault(e.ticket_id, e.at)
    waits = sorted((first_call[t] - issued[t]).total_seconds() / 60 for t in first_call)
    return {
        "checkins": sum(1 for e in events if e.kind == "checked_in"),
        "issued": len(issued),
        "served": sum(1 for e in events if e.kind == "done"),
        "waits": waits,
        "referrals": sum(1 for e in events if e.kind == "referral"),
    }


def test_the_summary_has_the_known_answers_and_agrees_with_the_event_log(any_queue, clock):
    q = any_queue
    day = clock.now().date()
    play_a_day(q, clock)
    figures = summary(q.store, q.centre, Days(day, day))
    log = from_the_log(q)

    assert figures["footfall"]["checkins"] == log["checkins"] == 4
    tickets = figures["tickets"]
    assert (tickets["issued"], tickets["served"], tickets["referred"]) == (5, 3, 1)
    assert tickets["issued"] == log["issued"] and tickets["served"] == log["served"]
    assert tickets["still_open"] == 1  # the handover to housing still waits

    waits = figures["wait_minutes"]
    assert log["waits"] == [2.0, 4.0, 12.0, 30.0]
    assert waits["called"] == 4
    assert waits["mean"] == round(statistics.mean(log["waits"]), 1) == 12.0
    assert waits["median"] == log["waits"][math.ceil(0.5 * 4) - 1] == 4.0  # nearest rank
    assert waits["p90"] == log["waits"][math.ceil(0.9 * 4) - 1] == 30.0
    assert waits["max"] == 30.0
    level = figures["service_level"]
    assert (level["within_target"], level["above_target"], level["within_target_pct"]) == (
        3,
        1,
        75.0,
    )
    assert figures["referrals"] == [
        {
            "from_agency": "borough",
            "to_agency": "borough",
            "kind": "handover",
            "count": 1,
            "served": 0,  # the handover still waits
            "agreed_to_share": 1,
        }
    ]
    assert len(figures["referrals"]) == log["referrals"]


def test_days_outside_the_range_are_left_out(queue, clock):
    day = clock.now().date()
    queue.check_in("council-tax")
    clock.advance(days=1)
    queue.check_in("council-tax")
    assert summary(queue.store, queue.centre, Days(day, day))["tickets"]["issued"] == 1
    both = Days(day, day + timedelta(days=1))
    assert summary(queue.store, queue.centre, both)["footfall"]["checkins"] == 2
    empty = summary(
        queue.store, queue.centre, Days(day - timedelta(days=7), day - timedelta(days=1))
    )
    assert (
        empty["wait_minutes"]["median"] is None
        and empty["service_level"]["within_target_pct"] is None
    )


def test_gateway_report_summary_as_json_csv_and_a_table(tmp_path, capsys):
    import json

    from gateway.cli import main
    from tests.conftest import SMALL_CENTRE

    db = f"sqlite:///{tmp_path / 'report.db'}"
    at = "2026-03-02T09:00:00"
    assert main(["init", str(SMALL_CENTRE), "--db", db, "--at", at]) == 0
    main(["counter-state", "1", "open", "--db", db, "--at", at])
    main(["checkin", "council-tax", "--db", db, "--at", at])
    main(["call", "1", "--db", db, "--at", "2026-03-02T09:06:00"])
    capsys.readouterr()
    base = ["report", "summary", "--from", "2026-03-02", "--db", db]
    assert main([*base, "--format", "json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    assert figures["footfall"]["checkins"] == 1 and figures["tickets"]["issued"] == 1
    assert figures["wait_minutes"]["median"] == 6.0
    assert main([*base, "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "figure,value" and "wait_minutes.p90,6.0" in lines
    assert main(base) == 0
    assert "service_level.within_target_pct" in capsys.readouterr().out
    assert main([*base, "--to", "2026-03-01"]) == 1
    assert "before" in capsys.readouterr().err


def test_tickets_still_open_at_closing_count_as_walked_out(any_queue, clock):
    q = any_queue
    day = clock.now().date()
    q.check_in("council-tax")  # still waiting at closing: walked out
    q.cancel(q.check_in("housing").number, reason="changed their mind")
    q.check_in("jobs")
    q.call_next("4")  # at a counter when the centre closes: being seen, not walked out
    clock.advance(hours=8)
    assert q.close_day() == 2
    tickets = summary(q.store, q.centre, Days(day, day))["tickets"]
    assert (tickets["walked_out"], tickets["cancelled"], tickets["still_open"]) == (1, 2, 0)
    closed = [e for e in watch(q.store, q.centre.id) if e.kind == "cancelled"]
    assert sum(1 for e in closed if e.data.get("reason") == "centre closed") == 2


def test_local_days_hold_across_midnight_and_the_clock_changes(store):
    """29 March 2026: clocks go forward at 01:00 GMT, so 23:30 UTC that night is 00:30 on
    the 30th. 25 October 2026: clocks go back at 02:00 BST, so 23:30 UTC on the 24th is
    00:30 on the 25th, and 23:30 UTC on the 25th is still the 25th."""
    from datetime import UTC, datetime

    from gateway.clock import FixedClock
    from gateway.footfall import KioskSessionRecord
    from gateway.queue import Queue

    clock = FixedClock(datetime(2026, 3, 29, 22, 30, tzinfo=UTC))
    q = Queue(store, clock=clock)
    moments = [
        datetime(2026, 3, 29, 22, 30, tzinfo=UTC),  # 23:30 GMT on the 29th
        datetime(2026, 3, 29, 23, 30, tzinfo=UTC),  # 00:30 BST on the 30th
        datetime(2026, 10, 24, 23, 30, tzinfo=UTC),  # 00:30 BST on the 25th
        datetime(2026, 10, 25, 23, 30, tzinfo=UTC),  # 23:30 GMT on the 25th
    ]
    for n, at in enumerate(moments):
        clock.set(at)
        q.check_in("council-tax")
        q.record_kiosk_session(KioskSessionRecord("kiosk-1", f"s{n}", at, "ticket", "ticket"))

    def counted(first: date, last: date) -> tuple[int, int]:
        footfall = summary(store, q.centre, Days(first, last))["footfall"]
        return footfall["checkins"], footfall["sessions"]

    assert counted(date(2026, 3, 29), date(2026, 3, 29)) == (1, 1)
    assert counted(date(2026, 3, 30), date(2026, 3, 30)) == (1, 1)
    assert counted(date(2026, 10, 24), date(2026, 10, 24)) == (0, 0)
    assert counted(date(2026, 10, 25), date(2026, 10, 25)) == (2, 2)


def test_the_room_status_counts_a_handover_wait_from_the_handover(any_queue, clock):
    """The supervisor's and dashboard's "longest wait" follows the reports' definition."""
    from gateway.status import room_status

    q = any_queue
    c1 = q.check_in("council-tax")
    clock.advance(minutes=5)
    q.call_ticket("1", c1.number)
    clock.advance(minutes=25)
    q.refer(c1.number, "housing", kind="handover", reason="rent", consent=True)
    clock.advance(minutes=10)  # 40 minutes since arrival, 10 since the handover
    queues = {s.service: s for s in room_status(q.store, q.centre, clock.now()).queues}
    assert queues["housing"].waiting == 1
    assert queues["housing"].longest_wait_minutes == 10
    day = clock.now().date()
    waits = summary(q.store, q.centre, Days(day, day), by="service")["rows"]
    assert [r["wait_minutes"]["called"] for r in waits if r["service"] == "housing"] == [0]


def test_review_fixes_for_exports_districts_and_ranges(tmp_path, capsys):
    """CSV carries the lists too; by district, no totals to subtract from (no trend or
    heatmap in HTML, no --chart); a range after now has no negative hours; dates far
    outside any centre's life get a sentence."""
    from gateway.cli import main
    from tests.conftest import SMALL_CENTRE

    db = f"sqlite:///{tmp_path / 'report.db'}"
    at = "2026-03-02T09:00:00"
    assert main(["init", str(SMALL_CENTRE), "--db", db, "--at", at]) == 0
    main(["counter-state", "1", "open", "--db", db, "--at", at])
    for district in ("ME15",) * 6 + ("TN1",) * 2:
        main(["checkin", "council-tax", "--postcode", district, "--db", db, "--at", at])
    main(["call", "1", "--db", db, "--at", "2026-03-02T09:06:00"])
    main(["done", "C001", "--db", db, "--at", "2026-03-02T09:10:00"])
    capsys.readouterr()
    base = ["report", "summary", "--from", "2026-03-02", "--db", db]

    assert main([*base, "--format", "csv"]) == 0
    sections = capsys.readouterr().out.split("\n\n")
    assert sections[1].splitlines()[0] == "table,outcome,count,avoidable"
    assert sections[1].splitlines()[1].startswith("outcomes,")

    page = tmp_path / "district.html"
    assert main([*base, "--by", "district", "--format", "html", "--output", str(page)]) == 0
    html = page.read_text()
    assert "ME15" in html and "TN1" not in html
    assert "per day" not in html.lower() and "8 check-ins" not in html
    assert main([*base, "--by", "district", "--chart"]) == 0
    assert "No charts by district" in capsys.readouterr().out

    # The counter opened at 09:00 on the 2nd and never closed; a range starting on the
    # 3rd, read at noon on the 2nd, is in the future: no hours at all, never negative.
    staffing = ["report", "staffing", "--from", "2026-03-03", "--db", db, "--format", "csv"]
    assert main([*staffing, "--at", "2026-03-02T12:00:00"]) == 0
    assert "-" not in capsys.readouterr().out.split("\n", 1)[1]
    assert main([*base[:2], "--from", "9999-01-01", "--db", db]) == 1
    assert "between 2000 and 2199" in capsys.readouterr().err
