"""Kiosk footfall and staff alerts: the core verbs the kiosk calls."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from gateway.errors import NotAllowed, UnknownError
from gateway.events import watch
from gateway.footfall import KioskSessionRecord, KioskStep
from gateway.models import Ticket, Visit


def _kinds(queue):
    return [(e.kind, e.data) for e in watch(queue.store, queue.centre.id)]


def test_a_kiosk_session_without_a_ticket_is_footfall(any_queue, clock):
    start = clock.now()
    record = KioskSessionRecord(
        kiosk="kiosk-1",
        session="abc123",
        started_at=start,
        outcome="information",
        step="answer",
        steps=[
            KioskStep("language", start, "pl"),
            KioskStep("need", start + timedelta(seconds=4), "opening-hours"),
        ],
        language="pl",
        need="opening-hours",
    )
    clock.advance(seconds=20)
    assert any_queue.record_kiosk_session(record) == 4
    events = [e for e in watch(any_queue.store, any_queue.centre.id) if e.kind.startswith("kiosk")]
    assert [e.kind for e in events] == [
        "kiosk_session_started",
        "kiosk_language",
        "kiosk_need",
        "kiosk_session_ended",
    ]
    assert events[1].data == {"kiosk": "kiosk-1", "session": "abc123", "value": "pl"}
    ended = events[-1].data
    assert ended["outcome"] == "information" and ended["step"] == "answer"
    assert ended["seconds"] == 20.0 and ended["need"] == "opening-hours"
    assert events[2].at == start + timedelta(seconds=4)  # each step keeps its own time


def test_an_abandoned_session_says_at_which_step(queue, clock):
    record = KioskSessionRecord("kiosk-2", "s1", clock.now(), "abandoned", "question")
    queue.record_kiosk_session(record)
    ended = [d for k, d in _kinds(queue) if k == "kiosk_session_ended"]
    assert ended == [
        {
            "kiosk": "kiosk-2",
            "session": "s1",
            "outcome": "abandoned",
            "step": "question",
            "seconds": 0.0,
        }
    ]


def test_an_unknown_outcome_is_refused_and_writes_nothing(queue, clock):
    before = len(_kinds(queue))
    with pytest.raises(UnknownError):
        queue.record_kiosk_session(KioskSessionRecord("k", "s", clock.now(), "walked", "x"))
    assert len(_kinds(queue)) == before


def test_help_before_a_ticket_alerts_staff_with_the_kiosk(queue):
    assert queue.ask_for_help("wheelchair", kiosk="kiosk-1") is None
    alerts = [d for k, d in _kinds(queue) if k == "help_requested"]
    assert alerts == [{"help": "wheelchair", "kiosk": "kiosk-1"}]


def test_help_after_check_in_flags_the_visit_and_gives_priority(queue, store, clock):
    first = queue.check_in("council-tax")
    clock.advance(minutes=1)
    second = queue.check_in("council-tax")
    clock.advance(minutes=1)
    flagged = queue.ask_for_help("interpreter", ticket=second.number, kiosk="kiosk-1")
    assert flagged is not None and flagged.priority
    with store.read() as session:
        visit = session.get(Visit, second.visit_id)
        assert visit.help_needed == "interpreter"
    # Priority now puts the second ticket before the first.
    assert queue.call_next("1").number == second.number
    assert first.number != second.number


def test_help_for_an_ended_ticket_is_refused(queue):
    ticket = queue.check_in("council-tax")
    queue.cancel(ticket.number)
    with pytest.raises(NotAllowed):
        queue.ask_for_help("other", ticket=ticket.number)


def test_unknown_help_is_refused(queue):
    with pytest.raises(UnknownError):
        queue.ask_for_help("jetpack")


def test_a_failed_print_is_an_alert_and_the_ticket_stays(queue, store):
    ticket = queue.check_in("council-tax")
    queue.report_print_failed(ticket.number, reason="paper out", printer="tcp:10.0.0.5:9100")
    alerts = [d for k, d in _kinds(queue) if k == "print_failed"]
    assert alerts == [
        {"number": ticket.number, "reason": "paper out", "printer": "tcp:10.0.0.5:9100"}
    ]
    with store.read() as session:
        assert session.exec(select(Ticket.state)).all() == ["waiting"]


def test_check_in_from_a_kiosk_names_it(queue):
    queue.check_in("council-tax", kiosk="kiosk-3")
    checked = [d for k, d in _kinds(queue) if k == "checked_in"]
    assert checked[0]["kiosk"] == "kiosk-3"
