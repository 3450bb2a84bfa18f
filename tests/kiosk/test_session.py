"""A kiosk session as plain data: its steps become the footfall events managers read."""

from __future__ import annotations

from datetime import timedelta

from gateway.config import EXAMPLE_CENTRE, load_centre_file
from gateway.events import watch
from kiosk.session import KioskSession
from tests.kiosk.conftest import ready_store

CONFIG = load_centre_file(EXAMPLE_CENTRE)


def test_each_step_is_recorded_once_with_its_own_value(clock):
    start = clock.now()
    visit = KioskSession(kiosk="k1", started_at=start)
    visit.choose_language("uk", start)
    visit.choose_category("money", start + timedelta(seconds=3))
    visit.choose_need(CONFIG.need("pay-council-tax"), start + timedelta(seconds=6))
    assert [(s.step, s.value) for s in visit.steps] == [
        ("language", "uk"),
        ("category", "money"),
        ("need", "pay-council-tax"),
    ]
    assert visit.step == "ticket"
    assert visit.gettext("I need help") != "I need help"  # Ukrainian, for this session only


def test_footfall_of_a_session_has_one_language_and_one_need(tmp_path, clock):
    from gateway.queue import Queue

    store = ready_store(f"sqlite:///{tmp_path / 'k.db'}", clock)
    queue = Queue(store, clock=clock)
    start = clock.now()
    visit = KioskSession(kiosk="k1", started_at=start)
    visit.ask_for_help("wheelchair", start)
    visit.choose_language("pl", start)
    visit.choose_category("money", start)
    visit.choose_need(CONFIG.need("money-worries"), start)
    record = visit.end("abandoned")
    assert record is not None and visit.end("abandoned") is None  # ends once
    queue.record_kiosk_session(record)
    kinds = [(e.kind, (e.data or {}).get("value")) for e in watch(store, queue.centre.id)]
    kiosk = [k for k in kinds if k[0].startswith("kiosk_")]
    assert kiosk == [
        ("kiosk_session_started", None),
        ("kiosk_language", "pl"),
        ("kiosk_need", "money-worries"),
        ("kiosk_session_ended", None),
    ]
    ended = watch(store, queue.centre.id)[-1].data
    assert ended["help"] == "wheelchair" and ended["step"] == "ticket"


def test_only_one_caller_may_issue_a_sessions_ticket(clock):
    visit = KioskSession(kiosk="k1", started_at=clock.now())
    assert not visit.may_issue()  # no need chosen yet
    visit.choose_need(CONFIG.need("pay-council-tax"), clock.now())
    assert visit.may_issue()
    assert not visit.may_issue()
    info = KioskSession(kiosk="k1", started_at=clock.now())
    info.choose_need(CONFIG.need("opening-hours"), clock.now())
    assert not info.may_issue()  # information needs never take a ticket


def test_an_untouched_start_screen_is_not_footfall(clock):
    assert KioskSession(kiosk="k1", started_at=clock.now()).end("abandoned") is None
