"""The counter desk under Pilot: signing in, the ticket in hand, the one-key actions and
their dialogs, two desks and the board sharing one store, a handover reaching the other
agency's desk, and the PIN lockout."""

from __future__ import annotations

import asyncio
from typing import Any

from textual.widgets import Checkbox, DataTable, Input, OptionList, RadioSet

from counter.desk import CONSENT_QUESTION, CounterApp, DoneDialog, ReferDialog
from counter.staffapp import SignInScreen
from gateway.events import watch
from gateway.queue import Queue
from gateway.staff import MAX_WRONG_PINS
from gateway.status import room_status
from kiosk.board import BoardApp
from locales import translation
from tests.counter.conftest import sign_in, wait_for
from tests.kiosk.conftest import StoreAway

SIZE = (130, 36)


def text(app: Any, selector: str) -> str:
    return str(app.query_one(selector).render())


def waiting_numbers(app: CounterApp) -> list[str]:
    table = app.query_one("#waiting", DataTable)
    return [str(table.get_row_at(i)[0]) for i in range(table.row_count)]


def highlight(options: OptionList, option_id: str) -> None:
    """Move an option list's highlight to the option with this id."""
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index(option_id)


async def signed_in(pilot: Any, code: str = "asha") -> None:
    await sign_in(pilot, code)
    await wait_for(pilot, lambda: pilot.app.state is not None)


async def test_signing_in_shows_the_desk_and_the_queue_it_calls_from(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    first = queue.check_in("pay-council-tax")
    clock.advance(minutes=3)
    helped = queue.check_in("pay-council-tax", help_needed="wheelchair")
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        assert isinstance(app.screen, SignInScreen)
        await signed_in(pilot)
        assert "Asha Patel" in text(app, "#where") and "OPEN" in text(app, "#where")
        # Priority first (help asked for), then the longest wait.
        assert waiting_numbers(app) == [helped.number, first.number]
        row = app.query_one("#waiting", DataTable).get_row_at(0)
        assert "★ wheelchair" in str(row[3])
        assert "No one at this counter" in text(app, "#number")
        # A kiosk checks someone in: the desk shows it within a second, without a key.
        later = queue.check_in("pay-council-tax")
        await wait_for(pilot, lambda: later.number in waiting_numbers(app), 5.0)
    events = [e.kind for e in watch(staff_store, queue.centre.id)]
    assert "signed_in" in events


async def test_a_wrong_pin_is_one_sentence_and_five_lock_the_person_out(staff_store, clock):
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(MAX_WRONG_PINS):
            await sign_in(pilot, "asha", "0000")
            await wait_for(pilot, lambda: "do not match" in text(app.screen, "#refusal"))
            app.screen.query_one("#refusal").update("")
        # The right PIN is now refused too: locked out.
        await sign_in(pilot, "asha", "4821")
        await wait_for(pilot, lambda: "Too many wrong PINs" in text(app.screen, "#refusal"))
        assert isinstance(app.screen, SignInScreen) and app.person is None
        assert app.screen.query_one("#pin", Input).value == ""  # never left on screen
    kinds = [e.kind for e in watch(staff_store, Queue(staff_store).centre.id)]
    assert kinds.count("staff_locked_out") == 1 and "signed_in" not in kinds


async def test_call_recall_no_show_and_the_ticket_in_hand(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    ticket = queue.check_in("pay-council-tax", language="pl", help_needed="interpreter")
    clock.advance(minutes=7)
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: ticket.number in text(app, "#number"))
        about = text(app, "#about")
        assert "Language: Polish" in about and "interpreter" in about
        assert "Waited 7 min" in about
        assert f"Called {ticket.number}" in text(app, "#status")
        await pilot.press("x")  # no-show before any recall: refused, one sentence
        await wait_for(pilot, lambda: "recall it" in text(app, "#status"))
        assert app.query_one("#status").has_class("-refused")
        await pilot.press("r")
        await wait_for(pilot, lambda: "RECALLED" in text(app, "#number"))
        await pilot.press("x")
        await wait_for(pilot, lambda: "No one at this counter" in text(app, "#number"))
    assert queue.ticket(ticket.number).state == "no_show"


async def test_done_asks_for_the_outcome_and_the_avoidable_tick(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    ticket = queue.check_in("pay-council-tax")
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: ticket.number in text(app, "#number"))
        await pilot.press("s")
        await wait_for(pilot, lambda: "SERVING" in text(app, "#number"))
        await pilot.press("d")
        await wait_for(pilot, lambda: isinstance(app.screen, DoneDialog))
        outcomes = queue.centre.config.outcomes
        await pilot.press("a")  # tick "avoidable"
        assert app.screen.query_one(Checkbox).value
        await pilot.press("down", "enter")  # the second outcome
        await wait_for(pilot, lambda: "No one at this counter" in text(app, "#number"))
    done = queue.ticket(ticket.number)
    assert (done.state, done.outcome) == ("done", outcomes[1].code)
    event = [e for e in watch(staff_store, queue.centre.id) if e.kind == "done"][-1]
    assert event.data["avoidable"] is True and event.actor == "asha"


async def test_refer_reads_the_consent_question_in_their_language_and_records_the_answer(
    staff_store, clock
):
    queue = Queue(staff_store, clock=clock)
    ticket = queue.check_in("pay-council-tax", language="uk")
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: ticket.number in text(app, "#number"))
        await pilot.press("f")
        await wait_for(pilot, lambda: isinstance(app.screen, ReferDialog))
        dialog = app.screen
        options = dialog.query_one("#service", OptionList)
        highlight(options, "debt-advice")
        await pilot.pause(0.1)
        question = text(dialog, "#question")
        agency = "Citizens Advice in Maidstone"
        assert CONSENT_QUESTION % {"agency": agency} in question
        ukrainian = translation("uk").gettext(CONSENT_QUESTION) % {"agency": agency}
        assert ukrainian in question and ukrainian != CONSENT_QUESTION % {"agency": agency}
        dialog.query_one("#kind", RadioSet).query("RadioButton")[1].value = True  # signpost
        dialog.query_one("#reason", Input).value = "debts on three cards"
        await pilot.click("#no")
        await wait_for(pilot, lambda: "signposted" in text(app, "#status"))
    with staff_store.read() as session:
        from sqlmodel import select

        from gateway.models import Referral

        referral = session.exec(select(Referral)).one()
    assert (referral.kind, referral.reason, referral.consent_share) == (
        "signpost",
        "debts on three cards",
        False,
    )
    assert queue.ticket(ticket.number).state == "referred"


async def test_a_handover_reaches_the_other_agencys_desk_keeping_the_arrival_time(
    staff_store, clock
):
    """Borough desk 1 hands a customer to the Jobcentre; Ben at desk 8 sees them waiting,
    with the original arrival time, and the referral note when he calls them."""
    queue = Queue(staff_store, clock=clock)
    ticket = queue.check_in("pay-council-tax")
    clock.advance(minutes=12)
    borough = CounterApp(staff_store, counter="1", clock=clock)
    jobcentre = CounterApp(staff_store, counter="8", clock=clock)
    async with borough.run_test(size=SIZE) as one, jobcentre.run_test(size=SIZE) as eight:
        await signed_in(one, "asha")
        await signed_in(eight, "ben")
        await one.press("n")
        await wait_for(one, lambda: ticket.number in text(borough, "#number"))
        await one.press("f")
        await wait_for(one, lambda: isinstance(borough.screen, ReferDialog))
        options = borough.screen.query_one("#service", OptionList)
        highlight(options, "jobcentre")
        borough.screen.query_one("#reason", Input).value = "lost job last week"
        await one.click("#yes")
        await wait_for(one, lambda: "handed over" in text(borough, "#status"))
        handed = text(borough, "#status").split(" as ")[1].rstrip(".")
        await wait_for(eight, lambda: handed in waiting_numbers(jobcentre), 5.0)
        await eight.press("n")
        await wait_for(eight, lambda: handed in text(jobcentre, "#number"))
        about = text(jobcentre, "#about")
        assert "handover from Maidstone Borough Council" in about
        assert "lost job last week" in about and "consent given" in about
        assert "12 min since arriving" in about
    assert queue.ticket(handed).arrived_at == ticket.arrived_at


async def test_two_desks_pressing_call_next_together_get_different_tickets_and_the_board_shows_both(
    staff_store, clock
):
    queue = Queue(staff_store, clock=clock)
    tickets = {queue.check_in("pay-council-tax").number for _ in range(2)}
    one = CounterApp(staff_store, counter="1", clock=clock)
    two = CounterApp(staff_store, counter="2", clock=clock)
    board = BoardApp(staff_store, clock=clock, chime=False)
    async with (
        one.run_test(size=SIZE) as p1,
        two.run_test(size=SIZE) as p2,
        board.run_test(size=(120, 36)) as pb,
    ):
        await signed_in(p1, "asha")
        await signed_in(p2, "ben")
        await wait_for(pb, lambda: board.state is not None)
        await asyncio.gather(p1.press("n"), p2.press("n"))
        await wait_for(p1, lambda: one.state is not None and one.state.in_hand is not None)
        await wait_for(p2, lambda: two.state is not None and two.state.in_hand is not None)
        assert one.state is not None and two.state is not None
        assert one.state.in_hand is not None and two.state.in_hand is not None
        got = {one.state.in_hand.ticket.number, two.state.in_hand.ticket.number}
        assert got == tickets
        await wait_for(pb, lambda: board.state is not None and len(board.state.calls) == 2, 5.0)
        assert {c.number for c in board.state.calls} == tickets
        assert {c.counter for c in board.state.calls} == {"1", "2"}


async def test_transfer_hold_and_return_and_pause_with_a_reason(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    first = queue.check_in("pay-council-tax")
    second = queue.check_in("pay-council-tax")
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: first.number in text(app, "#number"))
        await pilot.press("t")
        await wait_for(pilot, lambda: bool(app.screen.query(OptionList)))
        options = app.screen.query_one(OptionList)
        highlight(options, "5")
        await pilot.press("enter")
        await wait_for(pilot, lambda: bool(app.screen.query("#reason")))
        app.screen.query_one("#reason", Input).value = "needs the parking team"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "sent to counter 5" in text(app, "#status"), 5.0)
        await pilot.press("n")
        await wait_for(pilot, lambda: second.number in text(app, "#number"))
        await pilot.press("h")
        await wait_for(pilot, lambda: "Set aside here" in text(app, "#about"))
        await pilot.press("u")
        await wait_for(pilot, lambda: second.number in waiting_numbers(app))
        await pilot.press("p")
        await wait_for(pilot, lambda: bool(app.screen.query("#reason")))
        app.screen.query_one("#reason", Input).value = "training"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "PAUSED (training)" in text(app, "#where"))
        await pilot.press("n")  # a paused counter does not call: one sentence
        await wait_for(pilot, lambda: "open it before calling" in text(app, "#status"))
    assert queue.call_next("5").number == first.number
    assert queue.ticket(second.number).state == "waiting"
    moved = [e for e in watch(staff_store, queue.centre.id) if e.kind == "transferred"]
    assert moved[0].data["reason"] == "needs the parking team"


async def test_keys_before_signing_in_or_with_no_ticket_change_nothing(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    queue.check_in("pay-council-tax")
    before = len(watch(staff_store, queue.centre.id))
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        app.screen.query_one("#code", Input).blur()
        await pilot.press(*"nrsdxfkthupoc")
        assert isinstance(app.screen, SignInScreen)
        app.screen.query_one("#code", Input).focus()
        await signed_in(pilot)
        await pilot.press("r", "s", "x", "h", "k")
        await wait_for(pilot, lambda: "no ticket" in text(app, "#status"))
    kinds = [e.kind for e in watch(staff_store, queue.centre.id)][before:]
    assert kinds == ["signed_in"]


async def test_signing_out_leaves_the_desk_for_the_next_person(staff_store, clock):
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "asha")
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        await signed_in(pilot, "ben")
        assert "Ben Cole" in text(app, "#where")
    kinds = [e.kind for e in watch(staff_store, Queue(staff_store).centre.id)]
    assert kinds[-3:] == ["signed_in", "signed_out", "signed_in"]


def test_counter_desk_snapshot(snap_compare, staff_store, clock):
    """Desk 1 with a handed-over customer in hand and a queue with marks."""
    queue = Queue(staff_store, clock=clock)
    first = queue.check_in("someone-died", language="pl", help_needed="interpreter")
    queue.call_next("6")
    clock.advance(minutes=9)
    queue.complete(first.number)
    for need in ("pay-council-tax", "blue-badge"):
        queue.check_in(need)
        clock.advance(minutes=2)
    queue.check_in("pay-council-tax", help_needed="wheelchair")
    clock.advance(minutes=20)

    async def ready(pilot: Any) -> None:
        await signed_in(pilot)
        await pilot.press("n")
        await wait_for(pilot, lambda: pilot.app.state.in_hand is not None)
        await pilot.pause(0.1)

    app = CounterApp(staff_store, counter="1", clock=clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


async def test_a_desk_that_loses_the_store_says_so_and_catches_up(staff_store, clock, monkeypatch):
    from counter import desk as desk_module
    from counter import staffapp

    store = StoreAway(monkeypatch, desk_module, "desk_state", timing=staffapp)
    queue = Queue(staff_store, clock=clock)
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        store.down = True
        await wait_for(pilot, lambda: app.away, 5.0)
        assert text(app, "#status") == staffapp.STORE_AWAY
        ticket = queue.check_in("pay-council-tax")  # happens while the desk cannot see
        store.down = False
        await wait_for(pilot, lambda: ticket.number in waiting_numbers(app), 5.0)
        assert not app.away and text(app, "#status") == ""


async def test_waits_grow_on_screen_between_events_without_reading_again(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    ticket = queue.check_in("pay-council-tax")  # council tax: target 15 min
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        read_at = app.state.at
        clock.advance(minutes=16)
        app._tick()
        row = app.query_one("#waiting", DataTable).get_row(ticket.number)
        assert (row[1], "▲ over target" in row[3]) == ("16 min", True)
        assert app.state.at == read_at  # no read: the waits were aged on screen


async def test_a_code_and_pin_typed_in_one_burst_still_sign_in(staff_store, clock):
    """A badge reader (or fast fingers) sends "asha Enter 4821 Enter" before the focus
    has moved: the PIN lands after the code; the sign-in splits them again."""
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query("#code")))
        code = app.screen.query_one("#code", Input)
        code.value = "asha"
        await pilot.press("enter")
        code.focus()
        code.value = "asha4821"
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state is not None)
        assert app.person is not None and app.person.code == "asha"


async def test_quitting_signs_out_and_a_desk_taken_over_elsewhere_stops_acting(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot, "asha")
        queue.sign_in("ben", "1357", counter="1")  # Ben signs in at desk 1 on another screen
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen), 5.0)
        assert app.person is None
        assert "Ben Cole is signed in at this counter now." in text(app, "#status")
        await signed_in(pilot, "asha")
        await pilot.press("ctrl+q")
    rows = room_status(staff_store, queue.centre, clock.now()).counters
    assert next(r for r in rows if r.counter == "1").staff is None  # no ghost at desk 1
    kinds = [e.kind for e in watch(staff_store, queue.centre.id)]
    assert kinds[-1] == "signed_out"


async def test_two_enters_make_one_sign_in_try(staff_store, clock):
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: bool(app.screen.query("#code")))
        screen = app.screen
        screen.query_one("#code", Input).value = "asha"
        screen.query_one("#pin", Input).value = "0000"
        screen._submit()
        screen._submit()  # Enter again before the first try has been checked
        await wait_for(pilot, lambda: "do not match" in text(screen, "#refusal"))
        await pilot.pause(0.3)
    centre = Queue(staff_store).centre
    refused = [e for e in watch(staff_store, centre.id) if e.kind == "sign_in_refused"]
    assert len(refused) == 1
