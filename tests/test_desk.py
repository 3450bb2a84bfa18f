"""The counter desk's core: transfers, moving a closed counter's queue, pauses with a
reason, who is signed in where, and what a desk and the supervisor read."""

from __future__ import annotations

import pytest

from gateway.desk import desk_state
from gateway.errors import NotAllowed, NothingWaiting
from gateway.events import watch
from gateway.status import room_status

# The small centre: counter 1 serves council-tax then housing, 2 housing then registrar,
# 3 registrar then council-tax, 4 jobs only.


def kinds(queue, after=0):
    return [e.kind for e in watch(queue.store, queue.centre.id, after)]


def test_a_transferred_ticket_waits_for_that_counter_only_and_is_called_there_first(
    any_queue, clock
):
    early = any_queue.check_in("council-tax")
    clock.advance(minutes=1)
    moving = any_queue.check_in("council-tax")
    any_queue.call_ticket("1", moving.number)
    any_queue.start_serving(moving.number)
    sent = any_queue.transfer(moving.number, "4", reason="needs the jobs adviser")
    assert (sent.state, sent.counter) == ("waiting", None)
    # Counter 3 serves council tax but the ticket was sent to 4: 3 gets the other one.
    assert any_queue.call_next("3").number == early.number
    with pytest.raises(NothingWaiting):
        any_queue.call_next("1")
    # Counter 4 does not serve council tax, but calls the ticket sent to it.
    called = any_queue.call_next("4")
    assert (called.number, called.counter, called.arrived_at) == (
        moving.number,
        "4",
        moving.arrived_at,
    )
    event = [e for e in watch(any_queue.store, any_queue.centre.id) if e.kind == "transferred"]
    assert event[0].data["from_counter"] == "1" and event[0].data["counter"] == "4"
    assert event[0].data["reason"] == "needs the jobs adviser"


def test_a_ticket_sent_to_a_counter_is_called_before_its_own_queue(queue, clock):
    queue.check_in("jobs")
    clock.advance(minutes=5)
    late = queue.check_in("council-tax")
    queue.call_ticket("1", late.number)
    queue.transfer(late.number, "4")
    assert queue.call_next("4").number == late.number


def test_transfer_is_refused_to_a_closed_counter_or_the_same_one(queue):
    ticket = queue.check_in("council-tax")
    queue.call_ticket("1", ticket.number)
    queue.set_counter_state("2", "closed")
    with pytest.raises(NotAllowed, match="closed"):
        queue.transfer(ticket.number, "2")
    with pytest.raises(NotAllowed, match="already at counter 1"):
        queue.transfer(ticket.number, "1")
    assert queue.ticket(ticket.number).state == "called"


def test_another_counter_cannot_call_a_ticket_sent_elsewhere_out_of_turn(queue):
    ticket = queue.check_in("council-tax")
    queue.transfer(ticket.number, "3")
    with pytest.raises(NotAllowed, match="sent to counter 3"):
        queue.call_ticket("1", ticket.number)


def test_a_held_ticket_returns_to_the_counter_that_set_it_aside(queue, clock):
    ticket = queue.check_in("council-tax")
    queue.call_next("1")
    queue.hold(ticket.number)
    clock.advance(minutes=3)
    queue.unhold(ticket.number)
    with pytest.raises(NothingWaiting):
        queue.call_next("3")  # serves council tax, but the ticket goes back to 1
    assert queue.call_next("1").number == ticket.number


def test_moving_a_closed_counters_queue_sends_what_nobody_else_could_call(any_queue, clock):
    q = any_queue
    jobs = [q.check_in("jobs") for _ in range(3)]
    tax = q.check_in("council-tax")
    q.set_counter_state("4", "closed")
    moved = q.move_queue("4", "2")
    # The three jobs tickets move (no other counter serves jobs); council tax stays in the
    # shared queue, which counters 1 and 3 call from.
    assert moved == 3
    called = []
    for _ in jobs:
        t = q.call_next("2")
        called.append(t.number)
        q.complete(t.number)
    assert called == [j.number for j in jobs]  # in their usual order: arrival here
    assert q.call_next("1").number == tax.number
    assert [e.data["moved"] for e in watch(q.store, q.centre.id) if e.kind == "queue_moved"] == [3]


def test_closing_a_counter_lets_go_of_tickets_sent_or_held_there(any_queue, clock):
    q = any_queue
    sent = q.check_in("housing")
    q.transfer(sent.number, "4")
    held = q.check_in("council-tax")
    q.call_ticket("3", held.number)
    q.start_serving(held.number)
    q.hold(held.number)
    clock.advance(minutes=1)
    q.set_counter_state("4", "closed")
    q.set_counter_state("3", "closed")
    closed = [e for e in watch(q.store, q.centre.id) if e.kind == "counter_closed"]
    assert [e.data.get("released") for e in closed] == [1, 1]
    # Both go back to the shared queue, keeping their place: nobody waits for a closed
    # counter.
    assert q.call_next("2").number == sent.number
    q.unhold(held.number)
    called = q.call_next("1")
    assert (called.number, called.arrived_at) == (held.number, held.arrived_at)


def test_a_transferred_or_held_ticket_is_served_afresh_at_the_next_counter(queue, clock):
    from gateway.models import Ticket

    ticket = queue.check_in("council-tax")
    queue.call_next("1")
    queue.start_serving(ticket.number)
    clock.advance(minutes=20)
    queue.transfer(ticket.number, "3")
    clock.advance(minutes=5)
    queue.call_next("3")
    with queue.store.read() as session:
        row = session.get(Ticket, ticket.id)
        assert row is not None and row.serving_at is None  # not "serving for 25 minutes"
    queue.start_serving(ticket.number)
    queue.hold(ticket.number)
    with queue.store.read() as session:
        row = session.get(Ticket, ticket.id)
        assert row is not None and row.serving_at is None


def test_closing_time_signs_out_whoever_forgot_and_clears_pause_reasons(queue):
    queue.add_staff("asha", name="Asha Patel", pin="4821")
    queue.sign_in("asha", "4821", counter="2")
    queue.set_counter_state("3", "paused", reason="lunch")
    queue.close_day()
    rows = {
        c.counter: c for c in room_status(queue.store, queue.centre, queue.clock.now()).counters
    }
    assert rows["2"].staff is None and rows["3"].pause_reason is None
    assert {r.state for r in rows.values()} == {"closed"}
    assert "signed_out" in kinds(queue)


def test_moving_a_queue_to_a_closed_counter_is_refused(queue):
    queue.check_in("jobs")
    queue.set_counter_state("4", "closed")
    queue.set_counter_state("3", "closed")
    with pytest.raises(NotAllowed, match="closed"):
        queue.move_queue("4", "3")
    with pytest.raises(NotAllowed, match="different counter"):
        queue.move_queue("4", "4")


def test_a_pause_keeps_its_reason_until_the_counter_opens(queue):
    queue.set_counter_state("2", "paused", reason="  tea   break ")
    state = desk_state(queue.store, queue.centre, "2", queue.clock.now())
    assert (state.state, state.pause_reason) == ("paused", "tea break")
    queue.set_counter_state("2", "open")
    assert desk_state(queue.store, queue.centre, "2", queue.clock.now()).pause_reason is None
    with pytest.raises(NotAllowed, match="Only a pause"):
        queue.set_counter_state("2", "closed", reason="home")
    events = [e for e in watch(queue.store, queue.centre.id) if e.kind == "counter_paused"]
    assert events[-1].data["reason"] == "tea break"


def test_signing_in_puts_the_person_at_the_counter_and_out_takes_them_off(queue):
    queue.add_staff("asha", name="Asha Patel", pin="4821")
    queue.add_staff("ben", name="Ben Cole", pin="1357", agency="dwp")
    queue.sign_in("asha", "4821", counter="1")
    row = next(c for c in room_status(queue.store, queue.centre, queue.clock.now()).counters)
    assert (row.counter, row.staff, row.staff_name) == ("1", "asha", "Asha Patel")
    # Someone from another agency takes the same counter over: Asha's session ends.
    queue.sign_in("ben", "1357", counter="1")
    assert desk_state(queue.store, queue.centre, "1", queue.clock.now()).staff == "ben"
    assert kinds(queue)[-2:] == ["signed_out", "signed_in"]
    queue.sign_out("asha", counter="1")  # no longer there: Ben stays
    assert desk_state(queue.store, queue.centre, "1", queue.clock.now()).staff == "ben"
    queue.sign_out("ben", counter="1")
    assert desk_state(queue.store, queue.centre, "1", queue.clock.now()).staff is None
    # One person, one counter: Asha signing in at 3 ends her session at 2.
    queue.sign_in("asha", "4821", counter="2")
    queue.sign_in("asha", "4821", counter="3")
    staffed = {
        c.counter: c.staff
        for c in room_status(queue.store, queue.centre, queue.clock.now()).counters
        if c.staff
    }
    assert staffed == {"3": "asha"}


def test_the_supervisor_view_admits_only_supervisors(queue):
    queue.add_staff("asha", name="Asha Patel", pin="4821")
    queue.add_staff("sam", name="Sam Reed", pin="2468", role="supervisor")
    with pytest.raises(NotAllowed, match="not a supervisor"):
        queue.sign_in("asha", "4821", role="supervisor")
    assert queue.sign_in("sam", "2468", role="supervisor").role == "supervisor"
    assert kinds(queue)[-2:] == ["sign_in_refused", "signed_in"]


def test_the_desk_shows_the_ticket_in_hand_with_its_journey_and_referral_notes(queue, clock):
    first = queue.check_in("bereavement", language="pl", help_needed="interpreter")
    queue.call_next("3")
    clock.advance(minutes=10)
    _, follow = queue.complete(first.number, outcome="resolved")
    assert follow is not None
    called = queue.call_next("1")
    _, handed = queue.refer(
        called.number, "housing", kind="handover", reason="rent arrears", consent=True
    )
    assert handed is not None
    clock.advance(minutes=4)
    queue.call_next("2")
    state = desk_state(queue.store, queue.centre, "2", clock.now())
    hand = state.in_hand
    assert hand is not None and hand.ticket.number == handed.number
    assert (hand.language, hand.help_needed) == ("pl", "interpreter")
    assert [s.state for s in hand.journey] == ["done", "referred", "called"]
    assert hand.journey[-1].current and hand.journey[0].outcome == "resolved"
    assert hand.waited_minutes == 4 and hand.since_arrival_minutes == 14
    assert [(r.kind, r.reason, r.consent) for r in hand.referrals] == [
        ("handover", "rent arrears", True)
    ]
    assert hand.ticket.arrived_at == first.arrived_at


def test_the_desk_lists_its_queue_in_call_order_with_marks(queue, clock):
    plain = queue.check_in("housing")
    clock.advance(minutes=1)
    helped = queue.check_in("housing", help_needed="wheelchair")
    clock.advance(minutes=1)
    tax = queue.check_in("council-tax")
    queue.transfer(tax.number, "2")
    clock.advance(minutes=2)
    state = desk_state(queue.store, queue.centre, "2", clock.now())
    assert [w.number for w in state.waiting] == [tax.number, helped.number, plain.number]
    assert state.waiting_total == 3
    assert state.waiting[0].sent_here and state.waiting[1].priority
    assert state.waiting[1].help_needed == "wheelchair"
    assert state.waiting[2].waited_minutes == 4
    # Counter 1 no longer sees the council-tax ticket sent to 2.
    assert tax.number not in [
        w.number for w in desk_state(queue.store, queue.centre, "1", clock.now()).waiting
    ]
    assert state.waiting[0].number == queue.call_next("2").number


def test_a_sent_ticket_is_told_its_place_at_that_counter(queue, clock):
    for _ in range(4):
        queue.check_in("council-tax")
    ticket = queue.check_in("council-tax")
    queue.call_ticket("1", ticket.number)
    sent = queue.transfer(ticket.number, "4")  # counter 4 (jobs only) will call it next
    assert sent.wait is not None and (sent.wait.ahead, sent.wait.minutes) == (0, 0)
    later = queue.check_in("council-tax")
    # The shared council-tax queue does not count the ticket sent to counter 4.
    assert later.wait is not None and later.wait.ahead == 4


def test_a_referral_reason_reaches_another_agency_only_with_consent(queue, clock):
    """The borough's reason for sending someone to the Jobcentre is read there only if
    the customer agreed; without agreement the desk says a reason exists, not what."""
    for consent in (False, True):
        ticket = queue.check_in("council-tax")
        queue.call_ticket("1", ticket.number)
        queue.start_serving(ticket.number)
        _, handed = queue.refer(
            ticket.number, "jobs", kind="handover", reason="lost job at the mill", consent=consent
        )
        assert handed is not None
        queue.call_ticket("4", handed.number)
        hand = desk_state(queue.store, queue.centre, "4", clock.now()).in_hand
        assert hand is not None
        (note,) = hand.referrals
        assert note.consent is consent
        assert note.reason == ("lost job at the mill" if consent else None)
        assert note.withheld is not consent
        queue.complete(handed.number)
        clock.advance(minutes=1)


def test_the_referring_agency_still_reads_its_own_reason(queue, clock):
    ticket = queue.check_in("council-tax")
    queue.call_ticket("1", ticket.number)
    _, handed = queue.refer(ticket.number, "housing", kind="handover", reason="arrears")
    assert handed is not None
    queue.call_ticket("1", handed.number)  # housing is the borough's too
    hand = desk_state(queue.store, queue.centre, "1", clock.now()).in_hand
    assert hand is not None and hand.referrals[0].reason == "arrears"
    assert not hand.referrals[0].withheld
