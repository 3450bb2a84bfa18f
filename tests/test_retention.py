"""Retention: ``purge`` clears personal details older than the period and keeps the counts,
so every report over a purged period adds up as before (both stores)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlmodel import select

from gateway.events import watch
from gateway.models import Referral, Visit
from gateway.reports import REPORT_FUNCTIONS, Days, summary


@pytest.fixture
def keyed(monkeypatch, tmp_path):
    path = tmp_path / "pseudonym.key"
    path.write_text("a-secret-of-more-than-sixteen")
    monkeypatch.setenv("GATEWAY_PSEUDONYM_KEY_FILE", str(path))


def a_day_with_details(q, clock):
    a = q.check_in("council-tax", postcode_district="ME15 6", help_needed="wheelchair")
    q.remember(a.number, "LIB 99 SECRET", consent=True)
    b = q.check_in("housing", appointment_ref="APT-SECRET-1", postcode_district="ME16")
    c = q.check_in("council-tax", postcode_district="ME15")
    clock.advance(minutes=3)
    q.call_ticket("1", a.number)
    q.refer(a.number, "housing", kind="handover", reason="lives at 1 Secret Street", consent=True)
    q.call_ticket("2", b.number)
    q.transfer(b.number, "3", reason="speaks to Ms Secret only")
    q.cancel(c.number, reason="went to collect Secret child")
    clock.advance(hours=8)
    q.close_day()  # the handover and the transferred ticket are still waiting: walked out


def test_purge_clears_old_details_and_keeps_every_total(any_queue, clock, keyed):
    q = any_queue
    old = clock.now().date()
    a_day_with_details(q, clock)
    clock.advance(days=2)
    q.check_in("council-tax", postcode_district="TN1", appointment_ref="APT-KEEP")
    days = Days(old, clock.now().date())
    now = clock.now()
    reports = {
        (name, by): json.dumps(REPORT_FUNCTIONS[name](q.store, q.centre, days, by=by, now=now))
        for name in REPORT_FUNCTIONS
        for by in (None, "day", "service", "agency")
        if not (name == "footfall" and by in ("service", "agency"))
        if not (name == "staffing" and by == "service")
    }
    before = summary(q.store, q.centre, days, now=now)
    assert before["repeat_visits"]["keyed_visits"] == 1

    cleared = q.purge(1)  # keep yesterday and today: the first day goes
    assert cleared == {
        "before": (days.last - timedelta(days=1)).isoformat(),
        "visits": 3,
        "referral_reasons": 1,
        "event_reasons": 2,  # the customer's cancel reason and the transfer's reason
    }

    after = {
        (name, by): json.dumps(REPORT_FUNCTIONS[name](q.store, q.centre, days, by=by, now=now))
        for name, by in reports
    }
    changed = [key for key in reports if reports[key] != after[key]]
    assert changed == [("summary", None)]  # repeat visits only: the key is gone
    purged = summary(q.store, q.centre, days, now=now)
    assert purged["repeat_visits"]["keyed_visits"] == 0
    assert {k: v for k, v in purged.items() if k != "repeat_visits"} == {
        k: v for k, v in before.items() if k != "repeat_visits"
    }

    with q.store.read() as session:
        visits = {v.day: v for v in session.exec(select(Visit).order_by(Visit.id))}
        old_visits = list(session.exec(select(Visit).where(Visit.day == old)))
        assert all(
            (v.postcode_district, v.appointment_ref, v.help_needed, v.repeat_key)
            == (None, None, None, None)
            for v in old_visits
        )
        assert [r.reason for r in session.exec(select(Referral))] == [None]
        kept = visits[clock.now().date()]
        assert (kept.postcode_district, kept.appointment_ref) == ("TN1", "APT-KEEP")
    log = json.dumps([e.data for e in watch(q.store, q.centre.id)])
    assert "Secret" not in log and "SECRET" not in log
    assert "centre closed" in log  # not about anyone: kept
    assert [e.kind for e in watch(q.store, q.centre.id)][-2:] == ["ticket_issued", "purged"]

    assert q.purge(1)["visits"] == 0  # again: nothing more to clear


def test_purge_refuses_a_period_under_a_day_and_the_cli_says_what_it_did(tmp_path, capsys):
    from gateway.cli import main
    from tests.conftest import SMALL_CENTRE

    db = f"sqlite:///{tmp_path / 'purge.db'}"
    assert main(["init", str(SMALL_CENTRE), "--db", db, "--at", "2026-03-02T09:00"]) == 0
    main(["checkin", "council-tax", "--postcode", "ME15", "--db", db, "--at", "2026-03-02T09:05"])
    capsys.readouterr()
    assert main(["purge", "--older-than", "0", "--db", db]) == 1
    assert "at least 1 day" in capsys.readouterr().err
    assert main(["purge", "--older-than", "30", "--db", db, "--at", "2026-03-10T18:00"]) == 0
    assert "cleared the details of 0 visit(s)" in capsys.readouterr().out
    assert main(["purge", "--older-than", "7", "--db", db, "--at", "2026-03-10T18:00"]) == 0
    assert "cleared the details of 1 visit(s) from before 2026-03-03" in capsys.readouterr().out
