"""The desk's K, "keep for repeat visits": the question read aloud in English and the
customer's language, the reference they choose, and their answer. Only a keyed hash is
kept, only when they agree, and the reference is never shown back, logged or put in an
event."""

from __future__ import annotations

import logging
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select
from textual.widgets import Input

from counter.desk import REPEAT_QUESTION, CounterApp, RepeatDialog
from gateway.events import watch
from gateway.models import Visit
from gateway.pseudonym import repeat_key
from gateway.queue import Queue
from gateway.store import Store
from locales import translation
from tests.counter.conftest import wait_for
from tests.counter.test_desk_app import SIZE, signed_in, text

SECRET = "a-secret-of-more-than-sixteen"
REFERENCE = "LIB00427731"  # a library card number the customer chose to give


@pytest.fixture
def key_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    path = tmp_path / "pseudonym.key"
    path.write_text(SECRET + "\n")
    monkeypatch.delenv("GATEWAY_PSEUDONYM_KEY", raising=False)
    monkeypatch.setenv("GATEWAY_PSEUDONYM_KEY_FILE", str(path))
    return path


def kept(store: Store, visit_id: int) -> str | None:
    with store.read() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        return visit.repeat_key


def any_keys(store: Store) -> list[str]:
    with store.read() as session:
        return [k for k in session.exec(select(Visit.repeat_key)) if k is not None]


def on_screen(app: Any) -> str:
    """Everything the desk shows now, as text."""
    return unescape(app.export_screenshot()).replace("\xa0", " ")


async def called(pilot: Any, number: str) -> None:
    await signed_in(pilot)
    await pilot.press("n")
    await wait_for(pilot, lambda: number in text(pilot.app, "#number"))


async def asked(pilot: Any) -> RepeatDialog:
    await pilot.press("k")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, RepeatDialog))
    assert isinstance(pilot.app.screen, RepeatDialog)
    return pilot.app.screen


async def test_they_agree_and_only_a_key_made_from_their_reference_is_kept(
    staff_store, clock, key_file, caplog
):
    caplog.set_level(logging.DEBUG)
    queue = Queue(staff_store, clock=clock)
    ticket = queue.check_in("pay-council-tax", language="pl")
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await called(pilot, ticket.number)
        dialog = await asked(pilot)
        question = text(dialog, "#question")
        polish = translation("pl").gettext(REPEAT_QUESTION)
        assert REPEAT_QUESTION in question
        assert f"Polish: {polish}" in question and polish != REPEAT_QUESTION
        await pilot.press(*REFERENCE)  # typed at the desk as the customer reads it out
        assert dialog.query_one("#identifier", Input).value == REFERENCE
        assert REFERENCE not in on_screen(app)  # masked while typed
        await pilot.click("#yes")
        await wait_for(pilot, lambda: "Kept for counting repeat visits." in text(app, "#status"))
        assert not app.query_one("#status").has_class("-refused")
        assert REFERENCE not in on_screen(app)
    key = kept(staff_store, ticket.visit_id)
    assert key == repeat_key(REFERENCE, SECRET.encode()) and key != REFERENCE
    assert "LIB" not in key and "0042" not in key
    events = watch(staff_store, queue.centre.id)
    assert [e.actor for e in events if e.kind == "repeat_key_kept"] == ["asha"]
    assert not any(REFERENCE in str(e.data) or key in str(e.data) for e in events)
    assert REFERENCE not in caplog.text


async def test_they_do_not_agree_and_nothing_is_kept(staff_store, clock, key_file, caplog):
    caplog.set_level(logging.DEBUG)
    queue = Queue(staff_store, clock=clock)
    ticket = queue.check_in("pay-council-tax")
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await called(pilot, ticket.number)
        dialog = await asked(pilot)
        assert "Polish" not in text(dialog, "#question")  # English only for an English visit
        dialog.query_one("#identifier", Input).value = REFERENCE
        await pilot.click("#no")
        await wait_for(pilot, lambda: "they did not agree" in text(app, "#status"))
        assert f"Nothing kept for {ticket.number}" in text(app, "#status")
        assert REFERENCE not in on_screen(app)
    assert any_keys(staff_store) == []
    kinds = [e.kind for e in watch(staff_store, queue.centre.id)]
    assert "repeat_key_kept" not in kinds
    assert REFERENCE not in caplog.text


async def test_an_empty_reference_is_asked_for_again_and_escape_keeps_nothing(
    staff_store, clock, key_file
):
    queue = Queue(staff_store, clock=clock)
    ticket = queue.check_in("pay-council-tax")
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await called(pilot, ticket.number)
        dialog = await asked(pilot)
        dialog.query_one("#identifier", Input).value = "   "
        await pilot.click("#yes")
        await wait_for(pilot, lambda: "Type the reference" in text(dialog, "#refusal"))
        assert app.screen is dialog  # still asking: nothing was sent to the core
        await pilot.press("escape")
        await wait_for(pilot, lambda: not isinstance(app.screen, RepeatDialog))
        await pilot.pause(0.1)
    assert any_keys(staff_store) == []


async def test_without_a_secret_the_desk_says_why_and_keeps_nothing(
    staff_store, clock, key_file, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    queue = Queue(staff_store, clock=clock)
    ticket = queue.check_in("pay-council-tax")
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await called(pilot, ticket.number)
        # No secret configured: the core's sentence, before anyone is asked anything.
        monkeypatch.delenv("GATEWAY_PSEUDONYM_KEY_FILE")
        await pilot.press("k")
        await wait_for(pilot, lambda: "set GATEWAY_PSEUDONYM_KEY_FILE" in text(app, "#status"))
        assert app.query_one("#status").has_class("-refused")
        assert not isinstance(app.screen, RepeatDialog)
        # The key file goes missing while the customer is being asked: the core's sentence
        # again, from the worker, and no traceback.
        monkeypatch.setenv("GATEWAY_PSEUDONYM_KEY_FILE", str(key_file))
        dialog = await asked(pilot)
        dialog.query_one("#identifier", Input).value = REFERENCE
        key_file.unlink()
        await pilot.click("#yes")
        await wait_for(pilot, lambda: "cannot be read" in text(app, "#status"))
        assert "repeat visits are not counted" in text(app, "#status")
        assert REFERENCE not in on_screen(app)
    assert any_keys(staff_store) == []
    assert "Traceback" not in caplog.text and REFERENCE not in caplog.text


async def test_the_key_does_nothing_with_no_ticket_in_hand(staff_store, clock, key_file):
    queue = Queue(staff_store, clock=clock)
    queue.check_in("pay-council-tax")
    before = len(watch(staff_store, queue.centre.id))
    app = CounterApp(staff_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await signed_in(pilot)
        await pilot.press("k")
        await wait_for(pilot, lambda: "no ticket" in text(app, "#status"))
        assert not isinstance(app.screen, RepeatDialog)
    kinds = [e.kind for e in watch(staff_store, queue.centre.id)][before:]
    assert kinds == ["signed_in"]
    assert any_keys(staff_store) == []
