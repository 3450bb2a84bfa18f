"""The queue engine's verbs, one journey at a time (SQLite; the key ones on PostgreSQL too)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import col, func, select

from gateway.clock import FixedClock
from gateway.errors import NotAllowed, NothingWaiting, OutOfOrder, UnknownError
from gateway.events import watch
from gateway.models import Event, Referral, Ticket, Visit
from gateway.queue import Queue


def snapshot(queue: Queue) -> list[tuple]:
    with queue.store.read() as session:
        tickets = session.exec(select(Ticket).order_by(Ticket.id)).all()
        events = session.exec(select(func.count()).select_from(Event)).one()
        return [(t.id, t.state, t.counter_id, t.changed_at) for t in tickets] + [events]


# -- check in and numbering ------------------------------------------------------------


def test_check_in_issues_numbers_per_prefix_starting_at_one(any_queue):
    first = any_queue.check_in("council-tax")
    second = any_queue.check_in("council-tax")
    housing = any_queue.check_in("housing")
    assert (first.number, second.number, housing.number) == ("C001", "C002", "H001")
    assert first.service == "council-tax" and first.agency == "borough"
    assert first.state == "waiting"


def test_numbering_starts_again_on_the_next_local_day(queue, clock):
    queue.check_in("council-tax")
    clock.advance(days=1)
    assert queue.check_in("council-tax").number == "C001"


def test_numbering_follows_the_local_day_across_the_spring_clock_change(store):
    # 29 March 2026: clocks go forward at 01:00 GMT. 23:30 UTC on the 28th is still the
    # 28th in London; 23:30 UTC on the 29th is 00:30 BST on the 30th: a new local day.
    from datetime import UTC, datetime

    clock = FixedClock(datetime(2026, 3, 28, 23, 30, tzinfo=UTC))
    q = Queue(store, clock=clock)
    assert q.check_in("council-tax").day.isoformat() == "2026-03-28"
    clock.set(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))  # 00:30 GMT = 00:30 local, 29th
    assert q.check_in("council-tax").number == "C001"
    clock.set(datetime(2026, 3, 29, 23, 30, tzinfo=UTC))  # 00:30 BST on the 30th
    ticket = q.check_in("council-tax")
    assert (ticket.number, ticket.day.isoformat()) == ("C001", "2026-03-30")


def test_numbering_follows_the_local_day_across_the_autumn_clock_change(store):
    # 25 October 2026: clocks go back at 02:00 BST. 23:30 UTC on the 24th is 00:30 BST on
    # the 25th, and 23:30 UTC on the 25th is 23:30 GMT, still the 25th.
    from datetime import UTC, datetime

    clock = FixedClock(datetime(2026, 10, 24, 23, 30, tzinfo=UTC))
    q = Queue(store, clock=clock)
    assert q.check_in("council-tax").day.isoformat() == "2026-10-25"
    clock.set(datetime(2026, 10, 25, 23, 30, tzinfo=UTC))
    ticket = q.check_in("council-tax")
    assert (ticket.number, ticket.day.isoformat()) == ("C002", "2026-10-25")


def test_help_needed_gives_priority_and_raises_a_staff_alert(queue):
    ticket = queue.check_in("council-tax", help_needed="wheelchair")
    assert ticket.priority
    kinds = [e.kind for e in watch(queue.store, queue.centre.id)]
    assert "help_requested" in kinds
    alert = next(e for e in watch(queue.store, queue.centre.id) if e.kind == "help_requested")
    assert alert.data == {"help": "wheelchair", "number": ticket.number}


def test_check_in_records_postcode_district_language_and_consent(queue):
    ticket = queue.check_in(
        "housing",
        language="pl",
        postcode_district="me14 1xx",
        consent_share=True,
        appointment_ref="APT-9",
    )
    with queue.store.read() as session:
        visit = session.get(Visit, ticket.visit_id)
    assert (visit.language, visit.postcode_district, visit.consent_share) == ("pl", "ME14", True)
    assert visit.appointment_ref == "APT-9"


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"need": "parking"}, "not one of the needs"),
        ({"need": "opening-hours"}, "answered on screen"),
        ({"need": "housing", "language": "xx"}, "not offered"),
        ({"need": "housing", "help_needed": "jetpack"}, "kind of help"),
        ({"need": "housing", "postcode_district": "!!"}, "postcode district"),
    ],
)
def test_bad_check_in_is_refused_with_a_sentence_and_changes_nothing(queue, kwargs, words):
    before = snapshot(queue)
    with pytest.raises((UnknownError, NotAllowed)) as refused:
        queue.check_in(**kwargs)
    assert words in str(refused.value)
    assert snapshot(queue) == before


# -- calling ---------------------------------------------------------------------------


def test_counter_calls_its_first_preference_before_its_second(queue, clock):
    queue.check_in("housing")  # counter 1's second skill, arrived first
    clock.advance(minutes=1)
    queue.check_in("council-tax")  # counter 1's first skill
    assert queue.call_next("1").number == "C001"


def test_priority_goes_first_then_longest_wait(queue, clock):
    queue.check_in("council-tax")
    clock.advance(minutes=1)
    queue.check_in("council-tax")
    clock.advance(minutes=1)
    queue.check_in("council-tax", help_needed="interpreter")
    assert queue.call_next("1").number == "C003"
    queue.complete("C003")
    assert queue.call_next("1").number == "C001"


def test_priority_never_keeps_anyone_past_twice_their_target(queue, clock):
    queue.check_in("council-tax")  # target 10 minutes: bound 20
    clock.advance(minutes=21)
    queue.check_in("council-tax", help_needed="wheelchair")
    queue.check_in("housing")  # counter 1's second skill; not aged
    assert queue.call_next("1").number == "C001"


def test_aged_ticket_of_a_second_skill_beats_a_fresh_first_skill(queue, clock):
    queue.check_in("housing")  # target 15: aged after 30 minutes
    clock.advance(minutes=31)
    queue.check_in("council-tax")
    assert queue.call_next("1").number == "H001"


def test_appointment_is_priority_only_from_its_time(queue, clock):
    queue.check_in("council-tax")
    clock.advance(minutes=1)
    queue.check_in(
        "council-tax", appointment_ref="A1", appointment_at=clock.now() + timedelta(minutes=5)
    )
    assert queue.call_next("1").number == "C001"  # appointment not due yet
    queue.complete("C001")
    queue.check_in("council-tax")
    clock.advance(minutes=6)
    assert queue.call_next("1").number == "C002"  # now due: ahead of C003


def test_call_with_nobody_waiting_says_so(queue):
    with pytest.raises(NothingWaiting, match="Nobody is waiting for counter 1"):
        queue.call_next("1")


def test_closed_and_paused_counters_cannot_call(queue):
    queue.check_in("council-tax")
    queue.set_counter_state("1", "paused")
    with pytest.raises(NotAllowed, match="paused"):
        queue.call_next("1")
    queue.set_counter_state("1", "closed")
    with pytest.raises(NotAllowed, match="closed"):
        queue.call_next("1")


def test_a_counter_holds_one_ticket_at_a_time(queue):
    queue.check_in("council-tax")
    queue.check_in("council-tax")
    queue.call_next("1")
    with pytest.raises(NotAllowed, match="still has C001"):
        queue.call_next("1")


def test_call_a_specific_ticket_out_of_turn(queue):
    queue.check_in("council-tax")
    queue.check_in("council-tax")
    called = queue.call_ticket("1", "C002")
    assert (called.number, called.state, called.counter) == ("C002", "called", "1")
    with pytest.raises(NotAllowed, match="C002 is called"):
        queue.call_ticket("3", "C002")


def test_closed_counter_is_left_out_of_wait_estimates(queue):
    queue.check_in("jobs")
    second = queue.check_in("jobs")
    assert second.wait.ahead == 1 and second.wait.minutes == 10
    queue.set_counter_state("4", "closed")
    again = queue.ticket(second.number)
    assert again.wait.minutes is None  # nobody open for jobs now


def test_wait_estimate_uses_counters_and_todays_service_times(queue, clock):
    for _ in range(3):
        queue.check_in("bereavement")
    # registrar: counter 3 first skill (1.0) + counter 2 second skill (0.5); 20 min typical
    third = queue.ticket("R003")
    assert third.wait.ahead == 2
    assert third.wait.minutes == 27  # ceil(2 * 20 / 1.5)
    for _ in range(5):  # five quick registrations today pull the estimate down
        queue.check_in("bereavement")
        t = queue.call_next("3")
        queue.start_serving(t.number)
        clock.advance(minutes=2)
        queue.complete(t.number)
    assert queue.ticket("R008").wait.minutes < 27


# -- at the counter --------------------------------------------------------------------


def test_recall_then_no_show_after_the_configured_recalls(queue):
    queue.check_in("council-tax")
    queue.call_next("1")
    with pytest.raises(NotAllowed, match="recall it 1 more"):
        queue.no_show("C001")
    assert queue.recall("C001").recalls == 1
    gone = queue.no_show("C001")
    assert gone.state == "no_show" and gone.counter is None
    queue.check_in("council-tax")
    assert queue.call_next("1").number == "C002"  # the counter is free again


def test_serve_and_complete_with_outcome_and_avoidable_tag(queue):
    queue.check_in("council-tax")
    queue.call_next("1")
    queue.start_serving("C001")
    done, follow = queue.complete("C001", outcome="follow-up", avoidable=True)
    assert (done.state, done.outcome, follow) == ("done", "follow-up", None)
    with queue.store.read() as session:
        ticket = session.exec(select(Ticket).where(Ticket.number == "C001")).one()
        visit = session.get(Visit, ticket.visit_id)
    assert ticket.avoidable and visit.ended_at is not None


def test_unknown_outcome_is_refused(queue):
    queue.check_in("council-tax")
    queue.call_next("1")
    with pytest.raises(UnknownError, match="not an outcome"):
        queue.complete("C001", outcome="sorted")


def test_verbs_refuse_the_wrong_state_and_change_nothing(queue):
    queue.check_in("council-tax")
    before = snapshot(queue)
    for verb in (queue.recall, queue.start_serving, queue.no_show, queue.unhold):
        with pytest.raises(NotAllowed, match="C001 is waiting"):
            verb("C001")
    with pytest.raises(NotAllowed):
        queue.complete("C001")
    assert snapshot(queue) == before


def test_unknown_ticket_is_a_sentence(queue):
    with pytest.raises(UnknownError, match="There is no ticket Z999"):
        queue.recall("Z999")


def test_hold_frees_the_counter_and_return_keeps_the_place(queue, clock):
    queue.check_in("council-tax")
    clock.advance(minutes=1)
    queue.check_in("council-tax")
    queue.call_next("1")
    held = queue.hold("C001")
    assert (held.state, held.counter) == ("held", None)
    clock.advance(minutes=1)
    queue.check_in("council-tax")
    queue.unhold("C001")
    assert queue.call_next("1").number == "C001"  # original arrival: ahead of C002


def test_cancel_ends_the_ticket_and_the_visit(queue):
    t = queue.check_in("council-tax")
    assert queue.cancel("C001", reason="left").state == "cancelled"
    with queue.store.read() as session:
        assert session.get(Visit, t.visit_id).ended_at is not None


def test_counter_cannot_close_while_it_holds_a_ticket(queue):
    queue.check_in("council-tax")
    queue.call_next("1")
    with pytest.raises(NotAllowed, match="still has C001"):
        queue.set_counter_state("1", "closed")
    assert queue.set_counter_state("1", "paused") == "paused"


# -- journeys and referrals ------------------------------------------------------------


def test_journey_queues_the_next_step_keeping_the_original_arrival(any_queue, clock):
    first = any_queue.check_in("bereavement")
    assert first.service == "registrar"
    any_queue.call_next("3")
    clock.advance(minutes=30)
    _, follow = any_queue.complete(first.number)
    assert follow.service == "council-tax" and follow.arrived_at == first.arrived_at
    clock.advance(minutes=1)
    any_queue.call_next("1")
    _, last = any_queue.complete(follow.number)
    assert last.service == "housing"
    any_queue.call_next("2")
    _, after = any_queue.complete(last.number)
    assert after is None


def test_handover_keeps_original_arrival_time(any_queue, clock):
    t = any_queue.check_in("council-tax", consent_share=True)
    any_queue.call_next("1")
    clock.advance(minutes=12)
    referred, handed = any_queue.refer(
        t.number, "jobs", kind="handover", reason="lost job", consent=True
    )
    assert referred.state == "referred"
    assert handed.service == "jobs" and handed.state == "waiting"
    assert handed.arrived_at == t.arrived_at
    with any_queue.store.read() as session:
        referral = session.exec(select(Referral)).one()
    assert (referral.kind, referral.reason, referral.consent_share) == (
        "handover",
        "lost job",
        True,
    )
    assert referral.from_agency_id != referral.to_agency_id
    assert referral.to_ticket_id == handed.id


def test_handover_inside_a_journey_then_the_journey_goes_on(queue):
    t = queue.check_in("bereavement")  # registrar -> council-tax -> housing
    queue.call_next("3")
    _, handed = queue.refer(t.number, "jobs", kind="handover")
    queue.call_next("4")
    _, follow = queue.complete(handed.number)
    assert follow.service == "council-tax"


def test_signpost_is_logged_and_the_customer_leaves(queue):
    t = queue.check_in("council-tax")
    queue.call_next("1")
    referred, follow = queue.refer(t.number, "registrar", kind="signpost")
    assert referred.state == "referred" and follow is None
    with queue.store.read() as session:
        assert session.exec(select(Referral)).one().kind == "signpost"
        assert (
            session.exec(
                select(func.count()).select_from(Ticket).where(Ticket.state == "waiting")
            ).one()
            == 0
        )


def test_referral_to_the_same_service_is_refused(queue):
    queue.check_in("council-tax")
    queue.call_next("1")
    with pytest.raises(NotAllowed, match="already at Council tax"):
        queue.refer("C001", "council-tax", kind="handover")


# -- time and events -------------------------------------------------------------------


def test_backfill_time_before_the_tickets_last_change_is_refused(store, clock):
    q = Queue(store, clock=clock)
    q.set_counter_state("1", "open")
    q.check_in("council-tax")
    clock.advance(minutes=10)
    q.call_next("1")
    earlier = Queue(store, clock=FixedClock(clock.now() - timedelta(minutes=5)))
    with pytest.raises(OutOfOrder, match="out of order"):
        earlier.start_serving("C001")


def test_backfill_never_calls_a_ticket_issued_later(store, clock):
    q = Queue(store, clock=clock)
    q.set_counter_state("1", "open")
    clock.advance(minutes=30)
    q.check_in("council-tax")
    past = Queue(store, clock=FixedClock(clock.now() - timedelta(minutes=10)))
    with pytest.raises(NothingWaiting):
        past.call_next("1")


def test_every_change_writes_an_event_numbered_without_gaps(any_queue):
    any_queue.check_in("council-tax")
    any_queue.call_next("1")
    any_queue.start_serving("C001")
    any_queue.complete("C001")
    events = watch(any_queue.store, any_queue.centre.id)
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    kinds = [e.kind for e in events]
    assert kinds[-6:] == ["checked_in", "ticket_issued", "called", "serving", "done", "visit_ended"]
    called = next(e for e in events if e.kind == "called")
    assert called.actor == "test" and called.counter_id is not None
    assert called.ticket_id is not None and called.visit_id is not None
    assert watch(any_queue.store, any_queue.centre.id, after=events[-2].seq) == events[-1:]


def test_one_store_holds_several_centres(store, clock, tmp_path, centre_file):
    from gateway.centres import load_centre, open_centre
    from gateway.config import load_centre_file

    text = centre_file.read_text().replace('code = "testing"', 'code = "second"', 1)
    (tmp_path / "second.toml").write_text(text)
    load_centre(store, load_centre_file(tmp_path / "second.toml"), clock)
    with pytest.raises(UnknownError, match="several centres"):
        open_centre(store)
    first = Queue(store, "testing", clock=clock)
    second = Queue(store, "second", clock=clock)
    assert first.check_in("council-tax").number == "C001"
    assert second.check_in("council-tax").number == "C001"  # numbering is per centre
    assert [e.seq for e in watch(store, second.centre.id)][-1] == 3  # own event numbers


def test_reloading_the_centre_updates_it_and_keeps_history(
    queue, store, clock, tmp_path, centre_file
):
    from gateway.centres import load_centre, open_centre
    from gateway.config import load_centre_file

    queue.check_in("jobs")
    text = centre_file.read_text().replace('name = "Jobcentre"', 'name = "Jobcentre Plus"')
    (tmp_path / "c.toml").write_text(text)
    load_centre(store, load_centre_file(tmp_path / "c.toml"), clock)
    centre = open_centre(store)
    assert centre.service_by_code("jobs").name == "Jobcentre Plus"
    with store.read() as session:
        assert session.exec(select(func.count()).select_from(Ticket)).one() == 1
        counter = session.exec(select(col(Ticket.state)).where(Ticket.number == "J001")).one()
    assert counter == "waiting"


def test_next_journey_step_is_not_overdue_just_because_the_visit_is_old(queue, clock):
    # The starvation bound counts time waiting in this queue, not time being served.
    journey = queue.check_in("bereavement")  # registrar first, then council tax
    queue.call_next("3")
    clock.advance(minutes=40)  # a long registration: the visit is 40 minutes old
    queue.check_in("council-tax", help_needed="wheelchair")
    clock.advance(minutes=1)
    _, step = queue.complete(journey.number)
    assert step.service == "council-tax"
    assert queue.call_next("1").number == "C001"  # the wheelchair user, waiting longer


def test_yesterdays_leftover_tickets_are_never_called_today(queue, clock):
    queue.check_in("council-tax")  # left waiting when the centre closed
    clock.advance(days=1)
    with pytest.raises(NothingWaiting):
        queue.call_next("1")
    today = queue.check_in("council-tax")
    assert today.number == "C001" and today.wait.ahead == 0
    assert queue.call_next("1").id == today.id


def test_close_day_cancels_what_is_open_and_closes_counters(queue, clock):
    queue.check_in("council-tax")
    queue.check_in("council-tax")
    queue.check_in("jobs")
    queue.call_next("1")
    queue.hold(queue.call_next("4").number)
    assert queue.close_day() == 3
    with queue.store.read() as session:
        states = session.exec(select(Ticket.state)).all()
        visits = session.exec(select(Visit)).all()
    assert sorted(states) == ["cancelled", "cancelled", "cancelled"]
    assert all(v.ended_at == clock.now() for v in visits)
    with pytest.raises(NotAllowed, match="closed"):
        queue.call_next("1")
    assert queue.close_day() == 0  # again: nothing more to end


def test_wait_estimate_counts_only_who_is_called_first(queue, clock):
    early = queue.check_in("council-tax")
    clock.advance(minutes=1)
    helped = queue.check_in("council-tax", help_needed="wheelchair")
    assert queue.ticket(helped.id).wait.ahead == 0  # priority: nobody before them
    assert queue.ticket(early.id).wait.ahead == 1
    clock.advance(minutes=20)  # early has now waited twice the 10-minute target
    assert queue.ticket(early.id).wait.ahead == 0
    assert queue.call_next("1").id == early.id


def test_call_out_of_turn_only_to_a_counter_that_serves_it(queue):
    queue.check_in("jobs")
    with pytest.raises(NotAllowed, match="Counter 1 does not serve Jobcentre"):
        queue.call_ticket("1", "J001")


def test_recalls_start_afresh_when_a_held_ticket_is_called_again(queue):
    queue.check_in("council-tax")
    queue.call_next("1")
    queue.recall("C001")
    queue.hold("C001")
    queue.unhold("C001")
    assert queue.call_next("1").recalls == 0
    with pytest.raises(NotAllowed, match="recall it 1 more"):
        queue.no_show("C001")


def test_wall_clock_behind_the_store_gives_a_sentence_not_a_crash(store, clock):
    from datetime import UTC, datetime

    from gateway.clock import WallClock

    future = FixedClock(datetime.now(UTC) + timedelta(minutes=5))
    ahead = Queue(store, clock=future)
    ahead.set_counter_state("1", "open")
    ahead.check_in("council-tax")
    ahead.call_next("1")
    live = Queue(store, clock=WallClock())
    with pytest.raises(OutOfOrder, match="clock seems to be running behind"):
        live.start_serving(ahead.ticket("C001").id)


def test_a_garbage_appointment_reference_is_refused_and_changes_nothing(queue, store):
    for garbage in ("", "   ", "x" * 41, "APT 1; DROP TABLE", "\x1b[2J"):
        with pytest.raises(NotAllowed, match="appointment reference"):
            queue.check_in("council-tax", appointment_ref=garbage)
    with store.read() as session:
        assert session.exec(select(Ticket)).all() == []
    ticket = queue.check_in("council-tax", appointment_ref=" apt-9/2 ")
    with store.read() as session:
        assert session.get(Visit, ticket.visit_id).appointment_ref == "APT-9/2"
