"""Attacks from the staff side, each tried for real, each failing (issue 7).

- Trying every 4-digit PIN: after the fifth wrong one the right PIN is refused too, for 15
  minutes by the clock (driven, never slept); every try is an event; then the count starts
  afresh.
- Wrong PINs from several processes at once, on SQLite and PostgreSQL: exactly five are
  counted before the lockout (no lost update), and the lockout is raised once.
- SQL, terminal escapes (ESC, the C1 CSI), Rich/Textual markup, spreadsheet formulas, HTML,
  very long text and line breaks, typed wherever staff type (sign-in, names, reasons,
  outcomes, the repeat-visit reference): stored as typed or refused with one sentence, and
  shown as plain text by the desk, the supervisor's view, the dashboard and the command
  line, with no control character reaching the terminal.
"""

from __future__ import annotations

import csv
import io
import json
import multiprocessing
import queue as stdlib_queue
import re
import traceback
from collections import Counter as Tally
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, func, select
from textual.events import Paste
from textual.geometry import Region
from textual.widgets import DataTable, Input, Static

from counter.dashboard import DashboardApp
from counter.desk import CounterApp
from counter.staffapp import SignInScreen
from counter.supervisor import SupervisorApp, clip
from gateway import staff as staff_module
from gateway.cli import main
from gateway.clock import FixedClock
from gateway.errors import GatewayError, NotAllowed
from gateway.events import watch
from gateway.models import Counter, Event, Referral, Staff, Ticket, Visit
from gateway.pseudonym import repeat_key
from gateway.queue import Queue
from gateway.report_html import render as as_html
from gateway.report_output import as_csv, tables
from gateway.staff import LOCKOUT_MINUTES, MAX_WRONG_PINS, MISMATCH
from gateway.status import printable
from gateway.store import Store
from gateway.views import render
from tests.conftest import MONDAY_9AM
from tests.counter.conftest import sign_in, staff_store, wait_for

COUNTER_FIXTURES = (staff_store,)  # the counter tests' store, used here as desk_store

SIZE = (130, 40)
SECRET = "a-pseudonym-secret-for-the-tests"
LOCKED = f"Too many wrong PINs: try again in {LOCKOUT_MINUTES} minutes, or ask a supervisor."

# What an attacker types. Every one is tried in every place staff can type.
PAYLOADS = {
    "sql": "'); DROP TABLE ticket;--",
    "osc-title": "\x1b]0;pwned\x07",
    "clear-screen": "\x1b[2J\x1b[H",
    "c1-csi": "\x9b31mred",
    "rich-link": "[link=file:///etc/passwd]x[/link]",
    "close-tag": "[/]",
    "style": "[bold red]loud",
    "csv-hyperlink": '=HYPERLINK("http://x")',
    "csv-dde": "+cmd|' /C calc'!A0",
    "html": "<script>alert(1)</script>",
    "long": "long" * 1250,
    "newline": "lunch\nAgreed to share details: yes",
}
# The ones a name may not hold: control characters (line breaks too), and 5,000 characters.
NOT_A_NAME = {"osc-title", "clear-screen", "c1-csi", "long", "newline"}
MARKUP = ("[link=file:///etc/passwd]x[/link]", "[/]", "[bold red]loud")


def controls(text: str) -> list[str]:
    """The control characters in ``text`` (C0 but for line breaks, DEL, C1)."""
    return [
        f"U+{ord(c):04X}" for c in text if (ord(c) < 0x20 and c != "\n") or 0x7F <= ord(c) < 0xA0
    ]


def one_sentence(text: str) -> bool:
    return "\n" not in text.strip() and not controls(text) and text.strip().endswith(".")


def pause_reason(typed: str) -> str:
    """A pause reason as the core keeps it: on one line, at most 80 characters."""
    return " ".join(typed.split())[:80]


@pytest.fixture
def cheap_pins(monkeypatch: pytest.MonkeyPatch) -> None:
    """PINs added from now on are hashed at a tiny scrypt cost (the hash says its cost), so
    that thousands of tries take seconds. The lockout, not the hash, is what is tested."""
    monkeypatch.setattr(staff_module, "SCRYPT_N", 2**4)


@pytest.fixture
def desk_store(staff_store: Store) -> Store:
    """The example centre, every desk open, with the staff of the counter screens' tests."""
    return staff_store


@pytest.fixture
def pseudonym_key(monkeypatch: pytest.MonkeyPatch) -> bytes:
    monkeypatch.delenv("GATEWAY_PSEUDONYM_KEY_FILE", raising=False)
    monkeypatch.setenv("GATEWAY_PSEUDONYM_KEY", SECRET)
    return SECRET.encode()


def _events(store: Store, kind: str, after: int = 0) -> list[Event]:
    every = watch(store, Queue(store).centre.id, after=after, limit=100_000)
    return [e for e in every if e.kind == kind]


def _staff(store: Store, code: str) -> Staff:
    with store.read() as session:
        return session.exec(select(Staff).where(Staff.code == code)).one()


def _write_name(store: Store, code: str, name: str) -> None:
    """A name that reached the store without the check ``add_staff`` makes (an older
    version, a restore, a row made from ``--as``): the screens must still show it safely."""
    with store.write() as session:
        row = session.exec(select(Staff).where(Staff.code == code)).one()
        row.name = name
        session.add(row)


def _repeat_key(store: Store, visit_id: int) -> str | None:
    with store.read() as session:
        visit = session.get(Visit, visit_id)
        return visit.repeat_key if visit is not None else None


def _write_need(store: Store, visit_id: int, need: str) -> None:
    """A visit whose need is no longer in the centre file: the desk shows the stored code."""
    with store.write() as session:
        visit = session.get(Visit, visit_id)
        assert visit is not None
        visit.need = need
        session.add(visit)


# -- 1a. brute force through the core's sign-in ----------------------------------------


@pytest.mark.parametrize(
    ("tries", "right"),
    [(1000, "0731"), pytest.param(10_000, "9999", marks=pytest.mark.stress)],
    ids=["first-thousand", "all-ten-thousand"],
)
def test_trying_every_pin_never_gets_in_once_five_are_wrong(
    any_queue, clock, cheap_pins, tries, right
):
    q = any_queue
    q.add_staff("asha", "Asha Patel", right)
    locked_at = clock.now()
    before = watch(q.store, q.centre.id)[-1].seq
    answers: Tally[str] = Tally()
    for n in range(tries):
        try:
            q.sign_in("asha", f"{n:04d}", counter="1")
        except NotAllowed as exc:
            answers[str(exc)] += 1
        else:
            pytest.fail(f"PIN {n:04d} got in after {n} tries")
    # Five wrong PINs counted; every later try, the right PIN among them, refused as locked.
    assert answers == {MISMATCH: MAX_WRONG_PINS, LOCKED: tries - MAX_WRONG_PINS}
    refused = _events(q.store, "sign_in_refused", before)
    assert len(refused) == tries  # every refusal is an event
    assert [bool((e.data or {}).get("locked")) for e in refused] == (
        [False] * MAX_WRONG_PINS + [True] * (tries - MAX_WRONG_PINS)
    )
    (alert,) = _events(q.store, "staff_locked_out", before)
    assert alert.data == {"code": "asha", "alert": True}
    row = _staff(q.store, "asha")
    assert row.failed_pins == 0 and row.locked_until == locked_at + timedelta(minutes=15)

    # The lock is measured by the clock: a second before it ends, still locked ...
    clock.set(locked_at + timedelta(minutes=LOCKOUT_MINUTES, seconds=-1))
    with pytest.raises(NotAllowed, match=re.escape(LOCKED.replace("15 minutes", "1 minutes"))):
        q.sign_in("asha", right, counter="1")
    # ... and at 15 minutes the right PIN works.
    clock.set(locked_at + timedelta(minutes=LOCKOUT_MINUTES))
    assert q.sign_in("asha", right, counter="1").code == "asha"
    # The count starts afresh: four wrong PINs do not lock, a fifth does.
    for n in range(MAX_WRONG_PINS - 1):
        with pytest.raises(NotAllowed, match=MISMATCH):
            q.sign_in("asha", f"{n:04d}", counter="1")
    assert q.sign_in("asha", right, counter="1").code == "asha"
    assert _staff(q.store, "asha").failed_pins == 0
    for n in range(MAX_WRONG_PINS):
        with pytest.raises(NotAllowed, match=MISMATCH):
            q.sign_in("asha", f"{n:04d}", counter="1")
    with pytest.raises(NotAllowed, match=re.escape(LOCKED)):
        q.sign_in("asha", right, counter="1")
    assert len(_events(q.store, "staff_locked_out", before)) == 2


# -- 1b. wrong PINs from several processes at once --------------------------------------

SPAWN = multiprocessing.get_context("spawn")
ATTACKERS = 4
TRIES_EACH = 4
START_TIMEOUT_S = 60.0


def wrong_pins_worker(url: str, name: str, tries: int, start: Any, results: Any) -> None:
    """One machine trying wrong PINs for asha as fast as it can, from the start line."""
    report: dict[str, Any] = {"worker": name, "answers": [], "errors": []}
    try:
        store = Store(url)
        desk = Queue(store, clock=FixedClock(MONDAY_9AM), actor=name)
        start.wait(START_TIMEOUT_S)  # a barrier: everyone starts together
        for n in range(tries):
            try:
                desk.sign_in("asha", f"{n:04d}")
                report["errors"].append(f"{name} got in with {n:04d}")
            except NotAllowed as exc:
                report["answers"].append(str(exc))
        store.dispose()
    except Exception as exc:
        where = traceback.format_exception(exc)[-2:]
        report["errors"].append(f"{type(exc).__name__}: {exc} {''.join(where)}")
    finally:
        results.put(report)


def test_wrong_pins_raced_from_several_processes_lock_after_exactly_five(
    any_store, clock, cheap_pins
):
    q = Queue(any_store, clock=clock, actor="test")
    q.add_staff("asha", "Asha Patel", "4821")
    start, results = SPAWN.Barrier(ATTACKERS), SPAWN.Queue()
    workers = [
        SPAWN.Process(
            target=wrong_pins_worker,
            args=(any_store.url, f"attacker-{n}", TRIES_EACH, start, results),
        )
        for n in range(ATTACKERS)
    ]
    for worker in workers:
        worker.start()
    reports = []
    try:
        for _ in workers:
            reports.append(results.get(timeout=START_TIMEOUT_S + 60))
    except stdlib_queue.Empty:
        pytest.fail(f"only {len(reports)} of {ATTACKERS} attackers reported back")
    finally:
        for worker in workers:
            worker.join(10)
            if worker.is_alive():
                worker.kill()
    assert [e for r in reports for e in r["errors"]] == []
    answers = Tally(a for r in reports for a in r["answers"])
    total = ATTACKERS * TRIES_EACH
    # No lost update: five wrong PINs counted, not more; every other try refused as locked.
    assert answers == {MISMATCH: MAX_WRONG_PINS, LOCKED: total - MAX_WRONG_PINS}
    refused = _events(any_store, "sign_in_refused")
    assert len(refused) == total
    assert sum(1 for e in refused if not (e.data or {}).get("locked")) == MAX_WRONG_PINS
    assert len(_events(any_store, "staff_locked_out")) == 1
    row = _staff(any_store, "asha")
    assert row.failed_pins == 0 and row.locked_until == MONDAY_9AM + timedelta(minutes=15)
    with pytest.raises(NotAllowed, match=re.escape(LOCKED)):
        q.sign_in("asha", "4821", counter="1")
    clock.advance(minutes=LOCKOUT_MINUTES)
    assert q.sign_in("asha", "4821", counter="1").code == "asha"


# -- 1c. the desk after a lockout -------------------------------------------------------


async def test_the_desk_refuses_the_right_pin_while_locked_in_one_plain_sentence(desk_store, clock):
    app = CounterApp(desk_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        refusal = app.screen.query_one("#refusal", Static)
        for _ in range(MAX_WRONG_PINS):
            await sign_in(pilot, "asha", "0000")
            await wait_for(pilot, lambda: str(refusal.render()) == MISMATCH)
            refusal.update("")
        await sign_in(pilot, "asha", "4821")  # the right PIN
        await wait_for(pilot, lambda: str(refusal.render()) != "")
        assert str(refusal.render()) == LOCKED and one_sentence(LOCKED)
        assert isinstance(app.screen, SignInScreen) and app.person is None
        # A quarter of an hour later (by the clock) the same desk lets her in.
        clock.advance(minutes=LOCKOUT_MINUTES)
        await sign_in(pilot, "asha", "4821")
        await wait_for(pilot, lambda: app.person is not None)
    kinds = [e.kind for e in watch(desk_store, Queue(desk_store).centre.id)]
    assert kinds.count("sign_in_refused") == MAX_WRONG_PINS + 1
    assert kinds.count("staff_locked_out") == 1 and kinds[-1] == "signed_in"


# -- 1d. what a refusal gives away ------------------------------------------------------


def test_an_unknown_code_is_refused_like_a_wrong_pin_in_the_same_time(
    queue, cheap_pins, monkeypatch
):
    """An unknown code never locks (there is nobody to lock) and is refused in the very
    words of a wrong PIN, after the same scrypt: timing does not tell which codes exist.
    Only a lockout tells that a code is real; that sentence stays, as it tells the person
    to wait or ask a supervisor, and desks show staff names anyway (see the report)."""
    queue.add_staff("asha", "Asha Patel", "4821")
    hashed: list[str | None] = []
    real = staff_module.pin_matches

    def counting(pin: str, stored: str | None) -> bool:
        hashed.append(stored)
        return real(pin, stored)

    monkeypatch.setattr(staff_module, "pin_matches", counting)
    for _ in range(MAX_WRONG_PINS + 2):
        with pytest.raises(NotAllowed) as refused:
            queue.sign_in("nobody", "4821", counter="1")
        assert str(refused.value) == MISMATCH
    with pytest.raises(NotAllowed) as wrong:
        queue.sign_in("asha", "0000", counter="1")
    assert str(wrong.value) == MISMATCH
    # Every try, known code or not, paid for one scrypt hash.
    assert len(hashed) == MAX_WRONG_PINS + 3
    assert all(h is not None and h.startswith("scrypt$") for h in hashed)
    assert _events(queue.store, "staff_locked_out") == []


# -- 2. hostile text: stored as typed, or refused in one sentence -----------------------


def test_every_text_staff_type_is_kept_as_typed_or_refused_in_one_sentence(
    any_queue, clock, cheap_pins, pseudonym_key
):
    q = any_queue
    for n, (what, typed) in enumerate(PAYLOADS.items()):
        about = f"payload {what!r}"
        # A name: refused in one sentence, or kept exactly.
        try:
            q.add_staff(f"staff{n}", typed, "4821")
        except NotAllowed as exc:
            assert what in NOT_A_NAME and one_sentence(str(exc)), about
        else:
            assert what not in NOT_A_NAME and _staff(q.store, f"staff{n}").name == typed, about
        # A staff code and a PIN at sign-in: refused like any wrong PIN; the code is kept
        # in the event as typed (up to 40 characters), the PIN nowhere.
        with pytest.raises(NotAllowed, match=MISMATCH):
            q.sign_in(typed, "4821", counter="1")
        assert _events(q.store, "sign_in_refused")[-1].data == {
            "code": typed.strip().lower()[:40]
        }, about
        q.add_staff(f"pin{n}", "Pin Tester", "4821")
        with pytest.raises(NotAllowed, match=MISMATCH):
            q.sign_in(f"pin{n}", typed, counter="1")
        assert _staff(q.store, f"pin{n}").failed_pins == 1, about

        # A ticket in hand: an outcome that is not one is refused, nothing changes.
        ticket = q.check_in("council-tax")
        q.call_ticket("1", ticket.number)
        with pytest.raises(GatewayError):
            q.complete(ticket.number, outcome=typed)
        assert q.ticket(ticket.number).state == "called", about
        # The repeat-visit reference: only its keyed hash is kept.
        q.remember(ticket.number, typed, consent=True)
        # A referral reason, kept as typed.
        _, follow = q.refer(ticket.number, "registrar", kind="handover", reason=typed)
        assert follow is not None
        # A transfer reason and a cancel reason, kept as typed in the event log.
        q.transfer(follow.number, "3", reason=typed)
        q.cancel(follow.number, reason=typed)
        # A pause reason, kept on one line, up to 80 characters.
        q.set_counter_state("4", "paused", reason=typed)
        with q.store.read() as session:
            referral = session.exec(select(Referral).order_by(col(Referral.id).desc())).first()
            visit = session.get(Visit, ticket.visit_id)
            desk = session.exec(select(Counter).where(Counter.code == "4")).one()
        assert referral is not None and referral.reason == typed, about
        assert visit is not None and visit.repeat_key == repeat_key(typed, pseudonym_key), about
        assert desk.pause_reason == pause_reason(typed), about
        assert (_events(q.store, "transferred")[-1].data or {})["reason"] == typed, about
        assert (_events(q.store, "cancelled")[-1].data or {})["reason"] == typed, about
        for event in watch(q.store, q.centre.id):
            if event.kind == "repeat_key_kept":
                assert typed not in json.dumps(event.data or {}), about

    # The tables are all still there, and the centre still works.
    with q.store.read() as session:
        assert session.exec(select(func.count()).select_from(Ticket)).one() == 2 * len(PAYLOADS)
        assert session.exec(select(func.count()).select_from(Referral)).one() == len(PAYLOADS)
    assert q.check_in("council-tax").state == "waiting"


# -- 2. on the staff screens --------------------------------------------------------------


def harmless(app: Any) -> str:
    """What the screen on top sends to the terminal, as text: asserts that none of it is a
    control character (Textual passes ESC and C1 bytes through as they are) and that no
    escape sequence but Textual's own colours and cursor moves goes out."""
    update = app.screen._compositor.render_full_update()
    shown = "\n".join(
        "".join(s.text for strip in line for s in strip if not s.control) for line in update.strips
    )
    assert controls(shown) == []
    sent = update.render_segments(app.console)
    leftover = re.sub(r"\x1b\[[0-9;]*[mH]", "", sent)
    assert controls(leftover.replace("\n", "")) == []
    assert app.is_running  # no MarkupError took it down
    return shown


def shown(widget: Any) -> str:
    return str(widget.render())


async def until_shown(pilot: Any, widget: Any, text: str) -> None:
    await wait_for(pilot, lambda: shown(widget) == text)


def drawn(widget: Any) -> str:
    """The widget as drawn on screen (for an input: what is typed, or its mask)."""
    size = widget.outer_size
    lines = widget.render_lines(Region(0, 0, size.width, size.height))
    return "\n".join("".join(s.text for s in line) for line in lines)


async def test_the_desk_shows_what_staff_typed_as_plain_text(desk_store, clock, cheap_pins):
    """Referral reasons, the pause reason, the name of whoever is signed in and the need
    (here a code no longer in the centre file): literal, one line each, nothing that acts
    on the terminal, and a line break cannot forge a line of the desk."""
    q = Queue(desk_store, clock=clock, actor="test")
    ticket = q.check_in("pay-council-tax")
    # A visit handed over a dozen times, once with every payload as the reason.
    services = {"council-tax": ("2", "benefits"), "benefits": ("4", "council-tax")}
    for typed in PAYLOADS.values():
        counter, other = services[ticket.service]
        q.call_ticket(counter, ticket.number)
        _, follow = q.refer(ticket.number, other, kind="handover", reason=typed)
        assert follow is not None
        ticket = follow
    q.call_ticket("1", ticket.number)
    app = CounterApp(desk_store, counter="1", clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "asha")
        await wait_for(pilot, lambda: app.state is not None)
        about = shown(app.query_one("#about"))
        notes = [line for line in about.splitlines() if line.startswith("  handover from")]
        assert [line.split(": ", 1)[1].rsplit(" (", 1)[0] for line in notes] == [
            printable(p) for p in PAYLOADS.values()
        ]
        assert "Agreed to share details: no" in about.splitlines()
        assert not any(
            line.startswith("Agreed to share details: yes") for line in about.split("\n")
        )
        for markup in MARKUP:
            assert markup in about
        harmless(app)
        for what, typed in PAYLOADS.items():
            _write_name(desk_store, "asha", typed)
            _write_need(desk_store, ticket.visit_id, typed)
            q.set_counter_state("1", "paused", reason=typed)  # news: the desk reads again
            where = f"Desk 1  ·  PAUSED ({printable(pause_reason(typed))})  ·  {printable(typed)}"
            await until_shown(pilot, app.query_one("#where"), where)
            assert f"Need: {printable(typed)}" in shown(app.query_one("#about")).split("\n"), what
            harmless(app)


async def test_boxes_on_the_desk_refuse_a_pasted_escape_and_keep_the_rest(
    desk_store, clock, pseudonym_key
):
    """The pause reason and the repeat-visit reference as staff paste them: a paste with a
    control character (or longer than the box) is refused whole, so it is never echoed to
    the terminal; anything else is kept as pasted, and the reference is never shown."""
    q = Queue(desk_store, clock=clock, actor="test")
    ticket = q.check_in("pay-council-tax")
    q.call_ticket("1", ticket.number)
    app = CounterApp(desk_store, counter="1", clock=clock)

    async def paste_each(key: str, box_id: str) -> Input:
        """Open the dialog behind ``key`` and paste every payload into its box in turn."""
        await pilot.press(key)
        await wait_for(pilot, lambda: bool(app.screen.query(box_id)))
        box = app.screen.query_one(box_id, Input)
        for typed in PAYLOADS.values():
            box.value = ""
            box.post_message(Paste(typed))
            await pilot.pause()
            first = typed.split("\n")[0]  # a paste keeps its first line
            assert box.value == ("" if controls(first) or len(first) > 80 else first), typed
            if box_id == "#identifier" and box.value:  # masked as it is typed
                assert box.value not in drawn(box) and "•" * len(box.value) in drawn(box)
            harmless(app)
        return box

    async with app.run_test(size=SIZE) as pilot:
        await sign_in(pilot, "asha")
        await wait_for(pilot, lambda: app.state is not None)
        box = await paste_each("p", "#reason")
        box.value = ""
        box.post_message(Paste(PAYLOADS["style"]))
        await pilot.pause()
        await pilot.press("enter")  # paused, with the reason as pasted, shown as it is
        await wait_for(pilot, lambda: "PAUSED ([bold red]loud)" in shown(app.query_one("#where")))
        with desk_store.read() as session:
            desk = session.exec(select(Counter).where(Counter.code == "1")).one()
        assert desk.pause_reason == PAYLOADS["style"]
        box = await paste_each("k", "#identifier")
        box.value = ""
        box.post_message(Paste(PAYLOADS["sql"]))
        await pilot.pause()
        await pilot.click("#yes")
        want = repeat_key(PAYLOADS["sql"], pseudonym_key)
        await wait_for(pilot, lambda: _repeat_key(desk_store, ticket.visit_id) == want)
        assert PAYLOADS["sql"] not in harmless(app)


async def test_the_supervisor_sees_names_reasons_and_alerts_as_plain_text(
    desk_store, clock, cheap_pins
):
    q = Queue(desk_store, clock=clock, actor="test")
    ticket = q.check_in("pay-council-tax")
    for n, typed in enumerate(PAYLOADS.values()):
        desk = str(n + 1)
        q.add_staff(f"staff{n}", "Someone", "4821")
        _write_name(desk_store, f"staff{n}", typed)
        q.sign_in(f"staff{n}", "4821", counter=desk)
        q.set_counter_state(desk, "paused", reason=typed)
        q.report_device_health(typed[:40], "printer", "paper_out", spec="usb", detail=typed)
        q.report_print_failed(ticket.number, reason=typed)
        q.ask_for_help("other", kiosk=typed)
    app = SupervisorApp(desk_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        # A refusal quoting a name (not a supervisor) shows the name as it is.
        for n, typed in enumerate(PAYLOADS.values()):
            await sign_in(pilot, f"staff{n}", "4821")
            sentence = printable(f"{typed} is not a supervisor; ask a supervisor to sign in.")
            await until_shown(pilot, app.screen.query_one("#refusal"), sentence)
            harmless(app)
        await sign_in(pilot, "sam")
        await wait_for(pilot, lambda: app.state is not None and len(app.screen_stack) == 1)
        await pilot.pause()
        table = app.query_one("#counters", DataTable)
        for n, typed in enumerate(PAYLOADS.values()):
            row = [cell.plain for cell in table.get_row(str(n + 1))]
            assert row[2] == clip(f"paused: {pause_reason(typed)}", app._widths["state"])
            assert row[3] == clip(typed, 12)
        alerts = shown(app.query_one("#alerts"))  # all of them, scrolled out of sight too
        assert controls(alerts.replace("\n", "")) == []
        for markup in MARKUP:
            assert markup in alerts
        assert "<script>alert(1)</script>" in alerts and "DROP TABLE" in alerts
        harmless(app)
        await pilot.press("m")  # the move dialog lists the other counters and who is in
        await wait_for(pilot, lambda: len(app.screen_stack) == 2)
        harmless(app)
        await pilot.press("escape")


async def test_the_dashboard_shows_the_managers_name_as_plain_text(desk_store, clock, cheap_pins):
    q = Queue(desk_store, clock=clock, actor="test")
    q.add_staff("pat", "Pat Lee", "9753", role="manager")
    app = DashboardApp(desk_store, clock=clock)
    async with app.run_test(size=SIZE) as pilot:
        for what, typed in PAYLOADS.items():
            _write_name(desk_store, "pat", typed)
            await sign_in(pilot, "pat", "9753")
            await wait_for(pilot, lambda: app.person is not None and len(app.screen_stack) == 1)
            assert f"{printable(typed)} (manager)" in shown(app.top), what
            harmless(app)
            await pilot.press("ctrl+x")
            await wait_for(pilot, lambda: isinstance(app.screen, SignInScreen))


# -- 2. on the command line ----------------------------------------------------------------

AT = "2026-11-23T09:30"
DAY = "2026-11-23"


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_staff_names_from_the_command_line_are_kept_or_refused_and_listed_plainly(
    store, sqlite_url, capsys, monkeypatch, cheap_pins
):
    accepted = {}
    for n, (what, typed) in enumerate(PAYLOADS.items()):
        monkeypatch.setattr("sys.stdin", io.StringIO("4821\n"))
        code, out, err = cli(
            capsys, "staff", "add", f"staff{n}", "--name", typed, "--db", sqlite_url
        )
        if what in NOT_A_NAME:
            assert code == 1 and one_sentence(err) and out == "", what
        else:
            assert code == 0 and not controls(out + err), what
            accepted[f"staff{n}"] = typed
    code, out, err = cli(capsys, "staff", "list", "--db", sqlite_url)
    assert code == 0 and not controls(out) and err == ""
    for markup in MARKUP:
        assert markup in out
    code, out, _ = cli(capsys, "staff", "list", "--db", sqlite_url, "--json")
    assert {p["code"]: p["name"] for p in json.loads(out)["staff"]} == accepted
    # A staff code that is not one is refused in one sentence that does not echo it raw.
    for typed in PAYLOADS.values():
        monkeypatch.setattr("sys.stdin", io.StringIO("4821\n"))
        code, out, err = cli(capsys, "staff", "add", typed, "--name", "X", "--db", sqlite_url)
        assert code == 1 and one_sentence(err), typed
        code, out, err = cli(capsys, "staff", "disable", typed, "--db", sqlite_url)
        assert code == 1 and one_sentence(err), typed


def _busy_day(store: Store, clock: FixedClock) -> list[str]:
    """Every payload in every reason, on a day with tickets, referrals and alerts (a
    device's own words are another matter: see the last test)."""
    q = Queue(store, clock=clock, actor="test")
    for code in ("1", "2", "3", "4"):
        q.set_counter_state(code, "open")
    numbers = []
    for typed in PAYLOADS.values():
        ticket = q.check_in("council-tax")
        q.call_ticket("1", ticket.number)
        _, follow = q.refer(ticket.number, "registrar", kind="handover", reason=typed)
        assert follow is not None
        q.transfer(follow.number, "3", reason=typed)
        q.call_ticket("3", follow.number)
        q.complete(follow.number)
        other = q.check_in("housing")
        q.cancel(other.number, reason=typed)
        q.set_counter_state("4", "paused", reason=typed)
        q.report_print_failed(ticket.number, reason=typed)
        q.ask_for_help("other", kiosk=typed)
        numbers += [ticket.number, follow.number, other.number]
    return numbers


def test_the_command_line_prints_what_staff_typed_without_control_characters(
    store, sqlite_url, clock, capsys
):
    numbers = _busy_day(store, clock)
    common = ("--db", sqlite_url, "--at", AT)
    for number in numbers:
        code, out, err = cli(capsys, "ticket", number, *common)
        assert code == 0 and not controls(out + err)
    code, out, err = cli(capsys, "status", *common)
    assert code == 0 and not controls(out + err)
    code, out, err = cli(capsys, "status", *common, "--json")
    counters = {c["counter"]: c for c in json.loads(out)["counters"]}
    assert counters["4"]["pause_reason"] == pause_reason(PAYLOADS["newline"])
    code, out, err = cli(capsys, "alerts", *common)
    assert code == 0 and not controls(out + err)
    for markup in (*MARKUP, "<script>alert(1)</script>", "DROP TABLE ticket"):
        assert markup in out
    code, out, err = cli(capsys, "alerts", *common, "--json")
    assert code == 0 and not controls(out)
    # Reports: counts, codes and the centre file's names only; no one's typing reaches them.
    for kind, by in (("summary", None), ("referrals", "agency"), ("staffing", "counter")):
        for fmt in ("table", "csv", "html", "json"):
            extra = ("--by", by) if by else ()
            code, out, err = cli(
                capsys, "report", kind, "--from", DAY, *extra, "--format", fmt, *common
            )
            assert code == 0 and not controls(out + err), (kind, fmt)
            for typed in PAYLOADS.values():
                assert typed not in out, (kind, fmt, typed)
            assert "HYPERLINK" not in out and "<script>" not in out and "DROP TABLE" not in out


def test_reports_neutralise_formulas_and_markup_whatever_their_labels(capsys):
    """No staff text reaches a report today; if a label ever did (a centre file's name, a
    future breakdown), CSV cells stay text in a spreadsheet, tables stay literal and the
    HTML page stays inert."""
    labels = [*PAYLOADS.values(), "@SUM(A1:A2)", "-2+3", "\t=1"]
    figures = {
        "centre": "testing",
        "from": DAY,
        "to": DAY,
        "by": "counter",
        "rows": [{"counter": label, "tickets": {"issued": 3}} for label in labels],
    }
    cells = [cell for row in csv.reader(io.StringIO(as_csv(figures))) for cell in row]
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert '\'=HYPERLINK("http://x")' in cells and "'+cmd|' /C calc'!A0" in cells
    text = render(*tables("summary", figures, "[/][bold red]Report \x1b]0;pwned\x07"))
    assert not controls(text)
    assert "[/][bold red]Report" in text and "[link=file:///etc/passwd]x[/link]"[:20] in text
    page = as_html("summary", figures, centre_name="<script>alert(1)</script>")
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


# -- the command line: refusals, staff list, status and JSON ------------------------------


def test_a_refusal_never_echoes_an_escape_to_the_terminal(store, sqlite_url, clock, capsys):
    q = Queue(store, clock=clock, actor="test")
    q.set_counter_state("1", "open")
    ticket = q.check_in("council-tax")
    q.call_ticket("1", ticket.number)
    common = ("--db", sqlite_url, "--at", AT)
    for typed in ("\x1b]0;pwned\x07", "\x9b31m", "\x1b[2J\x1b[H"):
        for argv in (
            ("done", ticket.number, "--outcome", typed),
            ("ticket", typed),
            ("counter-state", typed, "open"),
        ):
            code, _, err = cli(capsys, *argv, *common)
            assert code != 0 and not controls(err), (argv, err)


def test_staff_list_never_prints_an_escape(store, sqlite_url, clock, capsys):
    q = Queue(store, clock=clock, actor="test")
    q.set_counter_state("1", "open")
    q.check_in("council-tax")
    code, _, _ = cli(
        capsys, "call", "1", "--as", "\x1b]0;pwned\x07", "--db", sqlite_url, "--at", AT
    )
    assert code == 0  # the call is made, in the name of whoever --as says
    code, out, _ = cli(capsys, "staff", "list", "--db", sqlite_url)
    assert code == 0 and not controls(out)


def test_status_shows_a_devices_detail_plainly(store, sqlite_url, clock, capsys):
    q = Queue(store, clock=clock, actor="test")
    q.report_device_health(
        "kiosk-1", "printer", "offline", spec="usb", detail="[/dev/usb/lp0] \x1b]0;pwned\x07"
    )
    code, out, err = cli(capsys, "status", "--db", sqlite_url, "--at", AT)
    assert code == 0 and not controls(out + err) and "[/dev/usb/lp0]" in out


def test_json_output_carries_no_raw_c1_control(store, sqlite_url, clock, capsys):
    q = Queue(store, clock=clock, actor="test")
    q.set_counter_state("4", "paused", reason=PAYLOADS["c1-csi"])
    code, out, _ = cli(capsys, "status", "--db", sqlite_url, "--at", AT, "--json")
    assert code == 0 and not controls(out)
    counters = {c["counter"]: c for c in json.loads(out)["counters"]}
    assert counters["4"]["pause_reason"] == PAYLOADS["c1-csi"]  # the same data, escaped


def test_a_day_of_zero_waits_charts_without_crashing(store, sqlite_url, clock, capsys):
    """Every customer called the moment they checked in (median wait 0 minutes): the
    trend's minute axis still has a scale, in the terminal chart and the HTML page."""
    q = Queue(store, clock=clock, actor="test")
    q.set_counter_state("1", "open")
    ticket = q.check_in("council-tax")
    q.call_ticket("1", ticket.number)
    q.start_serving(ticket.number)
    q.complete(ticket.number)
    day = clock.now().date().isoformat()
    for extra in (("--chart",), ("--format", "html")):
        code, out, err = cli(capsys, "report", "summary", "--from", day, *extra,
                             "--db", sqlite_url)  # fmt: skip
        assert code == 0, err
        assert "unexpected problem" not in err and out
