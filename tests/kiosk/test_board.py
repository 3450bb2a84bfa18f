"""The waiting-room board: what it shows, what it says, and how it waits for the store."""

from __future__ import annotations

from typing import Any

from gateway.board import board_state
from gateway.queue import Queue
from kiosk import board as board_module
from kiosk.board import CALL_WORDS, BoardApp, spoken_number
from kiosk.i18n import translation
from tests.kiosk.conftest import StoreAway, wait_for

SIZE = (120, 36)


def shown(app: BoardApp, selector: str) -> str:
    return str(app.query_one(selector).render())


def test_the_board_shows_each_ticket_once_at_its_latest_call(kiosk_store, clock):
    queue = Queue(kiosk_store, clock=clock)
    first = queue.check_in("pay-council-tax", language="pl")
    second = queue.check_in("pay-council-tax")
    queue.call_ticket("1", first.number)
    clock.advance(minutes=1)
    queue.call_ticket("2", second.number)
    clock.advance(minutes=1)
    queue.recall(first.number)
    state = board_state(kiosk_store, queue.centre, clock.now())
    assert [(c.number, c.counter, c.recall) for c in state.calls] == [
        (first.number, "1", True),
        (second.number, "2", False),
    ]
    assert state.calls[0].language == "pl"
    assert state.messages == list(queue.centre.config.centre.board_messages)
    names = [name for name, _ in state.waiting]
    assert len(names) == len(queue.centre.config.agencies)
    assert sum(count for _, count in state.waiting) == 0  # both were called


async def test_a_call_shows_within_a_second_and_is_announced_in_two_languages(kiosk_store, clock):
    queue = Queue(kiosk_store, clock=clock)
    waiting = queue.check_in("pay-council-tax", language="pl")
    app = BoardApp(kiosk_store, clock=clock, chime=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state is not None)
        borough = next(n for n, c in app.state.waiting if c == 1)
        assert f"{borough:<22}   1" in shown(app, "#waiting")
        called = queue.call_next("3")
        assert called.number == waiting.number
        await wait_for(pilot, lambda: waiting.number in shown(app, "#newest-counter"), 2.0)
        counter = queue.centre.counter_by_code("3").name
        assert shown(app, "#newest-counter") == f"{waiting.number}  →  {counter}"
        await wait_for(pilot, lambda: len(app.announcer.spoken) == 2)
        english, polish = app.announcer.spoken
        number = spoken_number(waiting.number)
        assert english == ("en", CALL_WORDS % {"number": number, "counter": counter})
        words = translation("pl").gettext(CALL_WORDS)
        assert polish == ("pl", words % {"number": number, "counter": counter})
        assert words != CALL_WORDS

        queue.recall(waiting.number)  # announced again
        await wait_for(pilot, lambda: "(again)" in shown(app, "#newest-counter"), 2.0)
        await wait_for(pilot, lambda: len(app.announcer.spoken) == 4)


async def test_calls_before_the_board_opened_are_shown_not_announced(kiosk_store, clock):
    queue = Queue(kiosk_store, clock=clock)
    ticket = queue.check_in("pay-council-tax")
    queue.call_next("1")
    app = BoardApp(kiosk_store, clock=clock, chime=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state is not None)
        assert ticket.number in shown(app, "#newest-counter")
        await pilot.pause(0.3)
        assert app.announcer.spoken == []


async def test_a_board_that_loses_the_store_says_please_wait_and_recovers(
    kiosk_store, clock, monkeypatch
):
    store = StoreAway(monkeypatch, board_module, "board_state")
    app = BoardApp(kiosk_store, clock=clock, chime=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state is not None and not app.waiting_for_store)
        store.down = True
        await wait_for(pilot, lambda: app.waiting_for_store, 3.0)
        assert app.query_one("#wait").display and not app.query_one("#main").display
        assert shown(app, "#wait") == "Please wait…"
        store.down = False
        await wait_for(pilot, lambda: not app.waiting_for_store, 3.0)
        assert app.query_one("#main").display


def test_board_snapshot(snap_compare, kiosk_store, clock):
    """The board on a TV: the newest call large and highlighted, two earlier ones, the
    waits per agency and a centre message."""
    queue = Queue(kiosk_store, clock=clock)
    for need in ("pay-council-tax", "pay-council-tax", "help-with-rent", "pay-council-tax"):
        queue.check_in(need)
    for counter in ("1", "2", "3"):
        queue.call_next(counter)
        clock.advance(minutes=1)

    async def ready(pilot: Any) -> None:
        app = pilot.app
        await wait_for(pilot, lambda: app.state is not None and len(app.state.calls) == 3)
        await pilot.pause(0.1)

    app = BoardApp(kiosk_store, clock=clock, chime=False)
    assert snap_compare(app, terminal_size=SIZE, run_before=ready)


def test_serving_on_a_port_that_is_not_one_is_one_sentence(kiosk_store, capsys):
    from gateway.cli import main

    code = main(["display", "--serve", "localhost:tv", "--db", kiosk_store.url])
    assert code == 1
    assert (
        capsys.readouterr().err.strip()
        == "'localhost:tv' is not a port (like 8000 or 0.0.0.0:8000)."
    )


async def test_the_board_reads_the_room_only_when_something_happened(
    kiosk_store, clock, monkeypatch
):
    reads = []
    real = board_module.board_state

    def counted(*args: Any, **kwargs: Any) -> Any:
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(board_module, "board_state", counted)
    monkeypatch.setattr(board_module, "WAIT_SECONDS", 0.1)
    app = BoardApp(kiosk_store, clock=clock, chime=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.state is not None)
        await pilot.pause(1.0)  # ten quiet waits for news
        assert len(reads) == 1
        Queue(kiosk_store, clock=clock).check_in("pay-council-tax")
        await wait_for(pilot, lambda: len(reads) == 2, 2.0)
