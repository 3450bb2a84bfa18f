"""The supervisor's view: the whole room live, and pausing, closing and moving a queue."""

from __future__ import annotations

from typing import Any

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, OptionList

from counter import staffapp
from counter import supervisor as supervisor_module
from counter.staffapp import STORE_AWAY, SignInScreen
from counter.supervisor import MoveScreen, PauseScreen, SupervisorApp
from gateway.queue import Queue
from gateway.status import room_status
from tests.counter.conftest import sign_in, wait_for
from tests.kiosk.conftest import StoreAway

SIZE = (120, 36)


def shown(app: SupervisorApp, selector: str) -> str:
    """What a widget shows, on the screen on top or else on the room beneath it."""
    screen = app.screen if app.screen.query(selector) else app.default_screen
    return str(screen.query_one(selector).render())


def counter_row(app: SupervisorApp, code: str) -> str:
    """The counter's row as one line of plain text."""
    table = app.query_one("#counters", DataTable)
    return " | ".join(str(cell) for cell in table.get_row(code))


def queue_row(app: SupervisorApp, service: str) -> str:
    table = app.query_one("#queues", DataTable)
    return " | ".join(str(cell) for cell in table.get_row(service))


def alerts(app: SupervisorApp) -> str:
    return str(app.query_one("#alerts").render())


def status(app: SupervisorApp) -> str:
    return shown(app, "#status")


def counter_now(queue: Queue, code: str) -> Any:
    room = room_status(queue.store, queue.centre, queue.clock.now())
    return next(c for c in room.counters if c.counter == code)


async def room_shown(pilot: Pilot[Any]) -> SupervisorApp:
    """Sign Sam in and wait until the room is on screen."""
    app = pilot.app
    assert isinstance(app, SupervisorApp)
    await sign_in(pilot, "sam")
    await wait_for(pilot, lambda: app.state is not None and len(app.screen_stack) == 1)
    await pilot.pause()
    return app


async def select(pilot: Pilot[Any], code: str) -> None:
    table = pilot.app.query_one("#counters", DataTable)
    table.focus()
    table.move_cursor(row=table.get_row_index(code), animate=False)
    await pilot.pause()


async def test_only_a_supervisor_gets_in(staff_store, clock):
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "asha")
        refusal = "Asha Patel is not a supervisor; ask a supervisor to sign in."
        await wait_for(pilot, lambda: shown(app, "#refusal") == refusal)
        assert isinstance(app.screen, SignInScreen)
        assert app.person is None and app.state is None

        await room_shown(pilot)
        assert app.person is not None and app.person.code == "sam"
        assert "Sam Reed (supervisor)" in shown(app, "#top")
        assert "Maidstone Gateway" in shown(app, "#top")


async def test_a_counter_shows_who_signed_in_and_the_ticket_in_hand_live(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await room_shown(pilot)
        assert "Asha" not in counter_row(app, "3")

        queue.sign_in("asha", "4821", counter="3")  # another machine: seen via the log
        await wait_for(pilot, lambda: "Asha Patel" in counter_row(app, "3"), 5.0)
        assert counter_row(app, "3").startswith("3 | Desk 3 | open | Asha Patel")

        ticket = queue.check_in("help-with-rent")
        called = queue.call_next("3")
        assert called.number == ticket.number
        await wait_for(pilot, lambda: f"{ticket.number} called 0 min" in counter_row(app, "3"), 5.0)


async def test_a_queue_shows_its_length_and_marks_a_wait_over_target(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    first = queue.check_in("pay-council-tax")
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await room_shown(pilot)
        row = queue_row(app, "council-tax")
        assert row.startswith("Council tax | Borough council | 1 |")
        assert "0 / 15 min" in row and "▲ over" not in row
        assert first.number in row  # next to be called

        clock.advance(minutes=16)
        queue.check_in("pay-council-tax")  # something happens: the room is read again
        await wait_for(pilot, lambda: "| 2 |" in queue_row(app, "council-tax"), 5.0)
        assert "16 / 15 min ▲ over" in queue_row(app, "council-tax")
        assert "(2 waiting)" in str(app.query_one("#queues", DataTable).border_title)


async def test_help_asked_for_and_a_printer_low_on_paper_are_alerts(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await room_shown(pilot)
        assert "No alerts today." in alerts(app)

        ticket = queue.check_in("pay-council-tax", help_needed="wheelchair")
        clock.advance(minutes=1)
        queue.report_device_health("kiosk-1", "printer", "paper_low", spec="usb:0x0416:0x5011")
        needs_someone = "▲ kiosk-1: the printer is low on paper (since 09:01)."
        # The device's state and today's list are read together, but drawn as they come.
        await wait_for(pilot, lambda: needs_someone in alerts(app), 5.0)
        text = alerts(app)
        assert f"Someone asked for wheelchair access (ticket {ticket.number})." in text
        # newest first
        assert text.index("09:01 kiosk-1: the printer") < text.index("09:00 Someone asked")


async def test_the_supervisor_moves_a_closed_counters_queue(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    tickets = []
    for _ in range(3):  # the Jobcentre's queue: only desks 8 and 9 serve it
        tickets.append(queue.check_in("find-work"))
        clock.advance(minutes=1)
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await room_shown(pilot)
        for code in ("9", "8"):
            await select(pilot, code)
            await pilot.press("c")
            await wait_for(pilot, lambda code=code: "| closed |" in counter_row(app, code), 5.0)
        assert counter_now(queue, "8").state == counter_now(queue, "9").state == "closed"

        await select(pilot, "8")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MoveScreen))
        choices = app.screen.query_one(OptionList)
        offered = [choices.get_option_at_index(i).id for i in range(choices.option_count)]
        assert "8" not in offered and "9" not in offered and "2" in offered
        choices.highlighted = offered.index("2")
        await pilot.press("enter")
        moved = "Moved 3 waiting customers from Desk 8 (Jobcentre) to Desk 2."
        await wait_for(pilot, lambda: status(app) == moved, 5.0)
        await wait_for(pilot, lambda: counter_row(app, "2").endswith("| 3"), 2.0)  # sent here

    called = []
    for _ in range(3):
        called.append(queue.call_next("2").number)
        queue.complete(called[-1])
    assert called == [t.number for t in tickets]  # in arrival order


async def test_moving_a_queue_nobody_waits_only_for_says_so(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    queue.check_in("pay-council-tax")  # desks 1, 2 and 3 all serve council tax
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await room_shown(pilot)
        await select(pilot, "2")
        await pilot.press("m")
        await wait_for(pilot, lambda: isinstance(app.screen, MoveScreen))
        await pilot.press("enter")  # the first counter offered: Desk 1
        said = "Nobody was moved from Desk 2: no one waits only for it."
        await wait_for(pilot, lambda: status(app) == said, 5.0)


async def test_a_pause_with_a_reason_shows_on_the_row_and_in_the_store(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await room_shown(pilot)
        await select(pilot, "4")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, PauseScreen))
        queue.check_in("pay-council-tax")  # the room changes under the dialog
        await wait_for(pilot, lambda: "| 1 |" in queue_row(app, "council-tax"), 5.0)
        await pilot.press(*"lunch")
        assert app.screen.query_one("#reason", Input).value == "lunch"
        await pilot.press("enter")
        await wait_for(pilot, lambda: "paused: lunch" in counter_row(app, "4"), 5.0)
        assert status(app) == "Desk 4 is paused (lunch)."
        assert counter_now(queue, "4").pause_reason == "lunch"
        table = app.query_one("#counters", DataTable)
        assert table.get_row_index("4") == table.cursor_row  # the cursor stayed put

        await pilot.press("p")  # Escape changes nothing
        await wait_for(pilot, lambda: isinstance(app.screen, PauseScreen))
        await pilot.press("escape")
        await pilot.press("o")
        await wait_for(pilot, lambda: "| open |" in counter_row(app, "4"), 5.0)
        assert counter_now(queue, "4").pause_reason is None


async def test_waits_grow_with_the_clock_without_reading_the_room_again(
    staff_store, clock, monkeypatch
):
    reads = []
    real = supervisor_module.room_status

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(supervisor_module, "room_status", counted)
    queue = Queue(staff_store, clock=clock)
    queue.check_in("pay-council-tax")
    queue.call_next("1")  # and one in hand at desk 1
    queue.check_in("pay-council-tax")
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await room_shown(pilot)
        assert "0 / 15 min" in queue_row(app, "council-tax")
        read_so_far = len(reads)
        clock.advance(minutes=16)  # nothing happens in the room
        await wait_for(pilot, lambda: "16 / 15 min ▲ over" in queue_row(app, "council-tax"), 5.0)
        assert "called 16 min" in counter_row(app, "1")
        assert "09:16" in shown(app, "#top")
        assert len(reads) == read_so_far  # aged on screen, not read again


async def test_a_wider_screen_shows_the_whole_pause_reason(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    queue.set_counter_state("11", "paused", reason="covering reception until 11")
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await room_shown(pilot)
        assert "paused: coverin…" in counter_row(app, "11")
        await select(pilot, "11")
        await pilot.resize_terminal(150, 36)
        await wait_for(pilot, lambda: "until 11" in counter_row(app, "11"))
        assert "Citizens Advice room 2 | paused: covering reception until 11" in counter_row(
            app, "11"
        )
        table = app.query_one("#counters", DataTable)
        assert table.get_row_index("11") == table.cursor_row


async def test_signing_out_leaves_nothing_to_act_on(staff_store, clock):
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await room_shown(pilot)
        assert app.check_action("close", ()) is True
        await pilot.press("ctrl+x")
        await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))
        await wait_for(pilot, lambda: status(app) == "Sam Reed signed out.")
        assert app.check_action("close", ()) is False
        app._show_top()  # what the next clock tick shows
        assert "nobody signed in" in shown(app, "#top")
        await room_shown(pilot)  # and back in
        assert "Sam Reed (supervisor)" in shown(app, "#top")


async def test_a_counter_with_a_ticket_in_hand_is_not_closed(staff_store, clock):
    queue = Queue(staff_store, clock=clock)
    ticket = queue.check_in("pay-council-tax")
    queue.call_next("1")
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await room_shown(pilot)
        await select(pilot, "1")
        await pilot.press("c")
        refusal = f"Counter 1 still has {ticket.number}; finish with it first."
        await wait_for(pilot, lambda: status(app) == refusal, 5.0)
        assert app.query_one("#status").has_class("-refused")
        assert counter_now(queue, "1").state == "open"
        assert "| open |" in counter_row(app, "1")


async def test_mashing_keys_never_breaks_the_view(staff_store, clock):
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("m", "p", "c", "o")  # on the sign-in screen: typed, not acted on
        assert isinstance(app.screen, SignInScreen)
        app.action_move()  # with no room shown yet: one sentence
        assert status(app) == "There is no counter to choose yet; wait for the room to show."
        await room_shown(pilot)
        await pilot.press(*"mpmcop", "escape", "escape", "escape", "m", "escape")
        await pilot.pause(0.2)
        await pilot.press("escape", "o")
        await wait_for(pilot, lambda: len(app.screen_stack) == 1)
        assert app.is_running and app.state is not None


async def test_a_store_that_goes_away_leaves_the_room_as_of_its_last_read(
    staff_store, clock, monkeypatch
):
    store = StoreAway(monkeypatch, supervisor_module, "room_status", timing=staffapp)
    app = SupervisorApp(staff_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await room_shown(pilot)
        store.down = True
        await wait_for(pilot, lambda: app.away, 5.0)
        assert status(app) == STORE_AWAY
        table = app.query_one("#counters", DataTable)
        assert table.border_title == "Counters (as of 09:00)"
        assert table.has_class("-away") and table.row_count == 13  # the last known room

        store.down = False
        await wait_for(pilot, lambda: not app.away, 5.0)
        assert table.border_title == "Counters" and not table.has_class("-away")


def test_supervisor_snapshot(snap_compare, staff_store, clock):
    """The room at 09:30: three counters signed in, two calling, one paused, one closed;
    council tax over its target; help asked for and a printer low on paper."""
    queue = Queue(staff_store, clock=clock)
    queue.sign_in("asha", "4821", counter="1")
    queue.sign_in("ben", "1357", counter="8")
    for need in ("pay-council-tax", "pay-council-tax", "help-with-rent", "find-work"):
        queue.check_in(need)
        clock.advance(minutes=2)
    queue.check_in("pay-council-tax", help_needed="wheelchair")
    queue.call_next("1")
    queue.call_next("8")
    queue.set_counter_state("4", "paused", reason="training")
    queue.set_counter_state("13", "closed")
    clock.advance(minutes=20)
    queue.report_device_health("kiosk-1", "printer", "paper_low", spec="usb:0x0416:0x5011")

    async def ready(pilot: Pilot[Any]) -> None:
        await room_shown(pilot)
        await select(pilot, "4")
        await pilot.pause(0.1)

    app = SupervisorApp(staff_store, clock=clock)
    assert snap_compare(app, terminal_size=SIZE, run_before=ready)
