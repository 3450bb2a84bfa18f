"""The store: URL choice, migrations that agree with the models, SQLite rules, watching."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

from gateway import migrate
from gateway.events import wait_for_events, watch
from gateway.store import Store, resolve_url


def test_url_comes_from_db_then_environment_then_the_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv("GATEWAY_DB", raising=False)
    default = resolve_url(None)
    assert default.startswith("sqlite:///") and default.endswith("gateway.db")
    monkeypatch.setenv("GATEWAY_DB", "postgresql://u@h/db")
    assert resolve_url(None) == "postgresql+psycopg://u@h/db"
    assert resolve_url(str(tmp_path / "a.db")) == f"sqlite:///{tmp_path / 'a.db'}"


def test_migrations_agree_with_the_models(store_url):
    store = Store(store_url)
    migrate.upgrade(store)
    assert migrate.current(store) is not None
    assert migrate.differences(store) == []
    migrate.upgrade(store)  # running it again changes nothing
    assert migrate.differences(store) == []
    store.dispose()


def test_sqlite_store_uses_wal_and_a_busy_timeout(store):
    with store.read() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert session.execute(text("PRAGMA busy_timeout")).scalar() >= 1000


def test_times_come_back_timezone_aware_in_utc(any_queue):
    ticket = any_queue.check_in("jobs")
    assert ticket.arrived_at.utcoffset().total_seconds() == 0
    assert any_queue.ticket(ticket.number).issued_at == ticket.issued_at


def test_watch_wakes_when_an_event_commits(any_queue):
    store, centre_id = any_queue.store, any_queue.centre.id
    cursor = watch(store, centre_id)[-1].seq
    timer = threading.Timer(0.3, lambda: any_queue.check_in("jobs"))
    started = time.monotonic()
    timer.start()
    events = wait_for_events(store, centre_id, cursor, timeout=10)
    waited = time.monotonic() - started
    timer.join()
    assert [e.kind for e in events][:1] == ["checked_in"]
    assert waited < 5


def test_watch_with_nothing_new_returns_empty_after_the_timeout(any_queue):
    store, centre_id = any_queue.store, any_queue.centre.id
    cursor = watch(store, centre_id)[-1].seq
    assert wait_for_events(store, centre_id, cursor, timeout=0.3) == []


@pytest.mark.postgres
def test_postgres_url_without_driver_name_uses_psycopg(pg_url):
    store = Store(pg_url)
    assert store.engine.dialect.driver == "psycopg"
    store.dispose()
