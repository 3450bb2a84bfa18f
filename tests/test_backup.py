"""Backups and restores: a restored backup holds every ticket and event (both stores); a
backup taken while another process checks visits in is one consistent moment; nothing is
overwritten without being told; a bad file or a missing tool is one sentence."""

from __future__ import annotations

import multiprocessing
import sqlite3
from collections.abc import Iterator
from contextlib import closing
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from gateway import migrate
from gateway.backup import backup, restore, verify
from gateway.clock import FixedClock
from gateway.errors import GatewayError, NotAllowed, StoreUnavailable
from gateway.models import Event, Ticket, Visit
from gateway.queue import Queue
from gateway.store import Store
from tests.conftest import MONDAY_9AM, create_pg_database, drop_pg_database

SPAWN = multiprocessing.get_context("spawn")
WRITER_CHECKINS = 300
WAIT_S = 120.0  # for the writer process: it imports the engine first


@pytest.fixture
def empty_url(store_url: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A second, empty store of the same kind as ``store_url``, to restore into."""
    if store_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored' / 'gateway.db'}"
    else:
        server = request.getfixturevalue("pg_server")
        url = create_pg_database(server)
        yield url
        drop_pg_database(server, url)


def play_two_days(q: Queue, clock: FixedClock) -> None:
    """Every ending a ticket can have, a handover, a journey step and a second day."""
    c1 = q.check_in("council-tax", help_needed="wheelchair")
    c2 = q.check_in("council-tax", language="pl")
    h1 = q.check_in("housing")
    j1 = q.check_in("jobs", appointment_ref="AB-12")
    c3 = q.check_in("council-tax")
    clock.advance(minutes=3)
    q.call_ticket("1", c1.number)
    q.recall(c1.number)
    q.start_serving(c1.number)
    clock.advance(minutes=5)
    q.complete(c1.number, outcome="resolved")
    q.call_ticket("3", c2.number)
    q.refer(c2.number, "housing", kind="handover", reason="arrears", consent=True)
    clock.advance(minutes=2)
    q.call_ticket("2", h1.number)
    q.recall(h1.number)
    q.no_show(h1.number)
    q.hold(j1.number)
    q.cancel(c3.number, reason="left")
    clock.advance(days=1)
    bereaved = q.check_in("bereavement")  # registrar, then council tax, then housing
    q.call_ticket("3", bereaved.number)
    q.complete(bereaved.number)
    q.check_in("council-tax")


def everything(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], int]:
    """Every ticket (number, day, state, times, counter), every event and the visits."""
    with store.read() as session:
        tickets = [
            (t.id, t.number, t.day, t.state, t.arrived_at, t.issued_at, t.called_at,
             t.serving_at, t.ended_at, t.counter_id, t.recalls, t.outcome)
            for t in session.exec(select(Ticket).order_by(Ticket.id)).all()
        ]  # fmt: skip
        events = [
            (e.centre_id, e.seq, e.kind, e.at, e.ticket_id, e.visit_id, e.data)
            for e in session.exec(select(Event).order_by(Event.centre_id, Event.seq)).all()
        ]
        visits = len(session.exec(select(Visit.id)).all())
    return tickets, events, visits


# -- a restore gives back everything ---------------------------------------------------


def test_a_restored_backup_holds_every_ticket_and_event(any_queue, clock, empty_url, tmp_path):
    q = any_queue
    play_two_days(q, clock)
    tickets, events, visits = everything(q.store)
    assert len(tickets) == 9 and {t[3] for t in tickets} >= {"done", "referred", "no_show"}
    file = tmp_path / "gateway.backup"

    made = backup(q.store, file)
    assert (made.tickets, made.visits, made.events) == (len(tickets), visits, len(events))
    assert made.bytes == file.stat().st_size > 0
    assert file.stat().st_mode & 0o077 == 0  # personal details: the owner's eyes only
    checked = verify(file)
    assert (checked.tickets, checked.events, checked.revision) == (9, len(events), "0005")
    cut = tmp_path / "cut.backup"  # a copy to the backup disk that was interrupted
    cut.write_bytes(file.read_bytes()[: made.bytes // 2])
    with pytest.raises(GatewayError) as refused:
        verify(cut)
    assert "not a usable" in _one_sentence(refused) or "damaged" in str(refused.value)

    restored = restore(file, empty_url)
    assert (restored.tickets, restored.visits, restored.events) == (9, visits, len(events))
    assert restored.integrity == ("ok" if q.store.dialect == "sqlite" else None)
    back = Store(empty_url)
    try:
        assert everything(back) == (tickets, events, visits)
        assert [e[1] for e in events] == list(range(1, len(events) + 1))
        # The restored store carries on where the backup ended: numbers and events follow.
        after = Queue(back, clock=clock).check_in("council-tax")
        assert after.number == "C003"
        assert everything(back)[1][-1][1] == len(events) + 2  # checked_in, ticket_issued
    finally:
        back.dispose()


def test_a_backup_from_an_older_version_comes_up_to_date(store_url, empty_url, tmp_path):
    old = Store(store_url)
    try:
        migrate.upgrade(old, "0004")
        backup(old, tmp_path / "old.backup")
    finally:
        old.dispose()
    assert verify(tmp_path / "old.backup").revision == "0004"
    assert restore(tmp_path / "old.backup", empty_url).revision == "0005"


# -- a backup while another process writes ---------------------------------------------


def keep_checking_in(url: str, count: int, committed: Any) -> None:
    """Check ``count`` visits in, one transaction each; after each commit, say how many."""
    store = Store(url)
    try:
        q = Queue(store, "testing", clock=FixedClock(MONDAY_9AM + timedelta(hours=1)))
        for n in range(1, count + 1):
            q.check_in(("council-tax", "housing", "jobs")[n % 3])
            committed.put(n)
    except Exception as exc:
        committed.put(f"{type(exc).__name__}: {exc}")
    finally:
        store.dispose()


def wait_for(committed: Any, at_least: int) -> int:
    while True:
        n = committed.get(timeout=WAIT_S)
        assert isinstance(n, int), f"the writer failed: {n}"
        if n >= at_least:
            return n


def test_a_backup_taken_while_another_process_checks_in_is_one_moment(
    any_store, empty_url, tmp_path
):
    committed = SPAWN.Queue()
    writer = SPAWN.Process(
        target=keep_checking_in, args=(any_store.url, WRITER_CHECKINS, committed)
    )
    writer.start()
    try:
        wait_for(committed, 50)
        in_store_mid_backup: list[int] = []

        def mid_backup(done: int, total: int) -> None:
            # Once, between two steps of the copy: three more check-ins must commit.
            if in_store_mid_backup:
                return
            with any_store.read() as session:
                in_store_mid_backup.append(len(session.exec(select(Ticket.id)).all()))
            wait_for(committed, in_store_mid_backup[0] + 3)

        file = tmp_path / "during.backup"
        made = backup(any_store, file, progress=mid_backup, pages_per_step=1)
        last = wait_for(committed, WRITER_CHECKINS)
        writer.join(WAIT_S)
        assert writer.exitcode == 0
    finally:
        if writer.is_alive():
            writer.kill()
    assert last == WRITER_CHECKINS
    # The copy is the moment it began: none of the check-ins made during it.
    assert 50 <= made.tickets <= in_store_mid_backup[0] < WRITER_CHECKINS
    assert verify(file).tickets == made.tickets

    restored = restore(file, empty_url)
    assert restored.integrity in ("ok", None)
    back = Store(empty_url)
    try:
        tickets, events, visits = everything(back)
    finally:
        back.dispose()
    issued = {e[4] for e in events if e[2] == "ticket_issued"}
    assert {t[0] for t in tickets} == issued  # every ticket has its ticket_issued event
    assert visits == sum(1 for e in events if e[2] == "checked_in") == made.tickets
    assert [e[1] for e in events] == list(range(1, len(events) + 1))  # no gap, no half


# -- refusing ---------------------------------------------------------------------------


def test_a_backup_never_overwrites_a_file_unless_told(queue, tmp_path):
    file = tmp_path / "gateway.backup"
    queue.check_in("council-tax")
    backup(queue.store, file)
    first = file.read_bytes()
    queue.check_in("council-tax")

    with pytest.raises(NotAllowed, match="already exists; choose another name, or pass"):
        backup(queue.store, file)
    assert file.read_bytes() == first
    assert backup(queue.store, file, overwrite=True).tickets == 2
    assert verify(file).tickets == 2
    assert [p.name for p in tmp_path.iterdir() if "backup" in p.name] == ["gateway.backup"]


def test_restore_refuses_a_store_that_holds_tickets_unless_told_to_replace(any_queue, tmp_path):
    q = any_queue
    file = tmp_path / "morning.backup"
    q.check_in("council-tax")
    q.check_in("council-tax")
    backup(q.store, file)
    q.check_in("council-tax")

    kind = "already holds 3 tickets" if q.store.dialect == "sqlite" else "is not empty"
    with pytest.raises(NotAllowed, match=f"{kind}.*--replace"):
        restore(file, q.store.url)
    assert len(everything(q.store)[0]) == 3  # untouched

    assert restore(file, q.store.url, replace=True).tickets == 2
    q.store.dispose()  # its connections knew the old tables
    back = Store(q.store.url)
    try:
        assert len(everything(back)[0]) == 2
        assert Queue(back, clock=q.clock).check_in("council-tax").number == "C003"
    finally:
        back.dispose()


def test_a_backup_from_a_newer_gateway_is_refused_before_anything_changes(queue, tmp_path):
    file = tmp_path / "future.backup"
    backup(queue.store, file)
    with sqlite3.connect(file) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099'")
    target = tmp_path / "new" / "gateway.db"
    with pytest.raises(GatewayError, match=r"newer Gateway \(schema 0099\); upgrade Gateway"):
        restore(file, str(target))
    assert not target.exists()


# -- one sentence, never a traceback ---------------------------------------------------


def _one_sentence(exc: pytest.ExceptionInfo[GatewayError]) -> str:
    text = str(exc.value)
    assert "\n" not in text and "Traceback" not in text and text.endswith((".", ")."))
    return text


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (None, "There is no file at"),
        (b"", "is empty: not a backup"),
        (b"council tax,C001\n" * 50, "is not a Gateway backup (neither"),
        (b"--\n-- PostgreSQL database dump\n", "plain SQL dump; restore that with psql"),
        (b"SQLite format 3\x00" + b"\x00" * 200, "is not a usable backup"),
        (b"PGDMP" + b"\xff" * 300, "is not a usable pg_dump archive"),
    ],
    ids=["missing", "empty", "text", "sqlite-header-only", "sql-dump", "pgdmp-header-only"],
)
def test_a_bad_backup_file_is_one_sentence(tmp_path, content, said):
    file = tmp_path / "bad.backup"
    if content is not None:
        file.write_bytes(content)
    target = tmp_path / "new" / "gateway.db"
    url = str(target) if not content or not content.startswith(b"PGDMP") else None
    with pytest.raises(GatewayError) as refused:
        verify(file)
    assert said in _one_sentence(refused)
    if url is not None:
        with pytest.raises(GatewayError) as refused:
            restore(file, url)
        assert said in _one_sentence(refused)
        assert not target.exists()


def test_a_damaged_sqlite_backup_fails_verify(queue, tmp_path):
    for _ in range(30):
        queue.check_in("council-tax")
    file = tmp_path / "gateway.backup"
    backup(queue.store, file)
    data = bytearray(file.read_bytes())
    page = 4096
    data[3 * page : 6 * page] = b"\xa5" * (3 * page)  # three pages of garbage
    file.write_bytes(bytes(data))
    with pytest.raises(GatewayError) as refused:
        verify(file)
    assert "damaged" in _one_sentence(refused) or "not a usable backup" in str(refused.value)


def test_an_unwritable_target_is_one_sentence(queue, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    cases = [
        (tmp_path / "missing" / "gateway.backup", "does not exist; create it first"),
        (tmp_path / "a-file" / "gateway.backup", "does not exist; create it first"),
        (tmp_path, "is a folder; give a file name"),
        (Path("/proc/gateway.backup"), "choose a folder you can write to"),
    ]
    for target, said in cases:
        with pytest.raises(GatewayError) as refused:
            backup(queue.store, target)
        assert said in _one_sentence(refused), target


def test_a_missing_pg_dump_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # no PostgreSQL tools here
    store = Store("postgresql://gateway@127.0.0.1:5432/gateway")
    with pytest.raises(GatewayError) as refused:
        backup(store, tmp_path / "gateway.dump")
    assert "pg_dump is not installed on this machine" in _one_sentence(refused)
    assert list(tmp_path.iterdir()) == []


def test_a_postgresql_store_that_is_down_is_one_sentence_without_the_password(tmp_path):
    import shutil

    if not shutil.which("pg_dump") or not shutil.which("pg_restore"):
        pytest.skip("needs pg_dump and pg_restore")
    down = "postgresql://gateway:s3cret-pw@127.0.0.1:1/gateway"  # nothing listens on port 1
    with pytest.raises(StoreUnavailable) as refused:
        backup(Store(down), tmp_path / "gateway.dump")
    assert "cannot be reached" in _one_sentence(refused)
    assert "s3cret" not in str(refused.value)
    assert list(tmp_path.iterdir()) == []


def test_an_sqlite_file_that_is_not_a_gateway_store_is_one_sentence(tmp_path):
    file = tmp_path / "other.db"
    with closing(sqlite3.connect(file)) as conn:
        conn.execute("CREATE TABLE recipes (name TEXT)")
    target = tmp_path / "new" / "gateway.db"
    for attempt in (lambda: verify(file), lambda: restore(file, str(target))):
        with pytest.raises(GatewayError) as refused:
            attempt()
        assert "is an SQLite file, but not a Gateway backup" in _one_sentence(refused)
    assert not target.exists()
