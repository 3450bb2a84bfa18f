"""Fixtures: a centre file, a clock, and fresh stores (SQLite file; PostgreSQL if reachable).

PostgreSQL tests read the server URL from ``GATEWAY_TEST_PG`` (``.ci/run`` sets it, e.g.
``postgresql://postgres@127.0.0.1:5432/postgres``). Each test gets a database of its own,
dropped afterwards. Without the variable, or with the server down, they skip and say why.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway import migrate
from gateway.centres import load_centre
from gateway.clock import FixedClock
from gateway.config import load_centre_file
from gateway.queue import Queue
from gateway.store import Store

SMALL_CENTRE = Path(__file__).parent / "centres" / "small.toml"
# A Monday, 09:00 in London (GMT in winter).
MONDAY_9AM = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def pg_admin_url() -> str | None:
    return os.environ.get("GATEWAY_TEST_PG")


def _pg_reason() -> str | None:
    url = pg_admin_url()
    if not url:
        return "PostgreSQL tests need GATEWAY_TEST_PG (a server URL); .ci/run sets it"
    try:
        import psycopg

        psycopg.connect(_plain(url), connect_timeout=3).close()
    except Exception as exc:  # any failure means: skip, and say why
        return f"PostgreSQL at {url} is not reachable ({exc.__class__.__name__})"
    return None


def _plain(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def pg_server() -> str:
    reason = _pg_reason()
    if reason:
        pytest.skip(reason)
    url = pg_admin_url()
    assert url is not None
    return url


def create_pg_database(admin_url: str) -> str:
    """A new empty database on the test server; returns its URL."""
    import psycopg

    name = f"gateway_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_plain(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = _plain(admin_url).rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_pg_database(admin_url: str, url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(_plain(admin_url), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(MONDAY_9AM)


@pytest.fixture
def centre_file() -> Path:
    return SMALL_CENTRE


def _ready(url: str, centre_file: Path, clock: FixedClock) -> Store:
    store = Store(url)
    migrate.upgrade(store)
    load_centre(store, load_centre_file(centre_file), clock)
    return store


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'gateway.db'}"


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    url = create_pg_database(pg_server)
    yield url
    drop_pg_database(pg_server, url)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each test using this runs on both stores."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gateway.db'}"
    else:
        server = request.getfixturevalue("pg_server")
        url = create_pg_database(server)
        yield url
        drop_pg_database(server, url)


@pytest.fixture
def store(sqlite_url: str, centre_file: Path, clock: FixedClock) -> Iterator[Store]:
    """A migrated SQLite store with the small test centre loaded."""
    s = _ready(sqlite_url, centre_file, clock)
    yield s
    s.dispose()


@pytest.fixture
def any_store(store_url: str, centre_file: Path, clock: FixedClock) -> Iterator[Store]:
    """Like ``store``, once on SQLite and once on PostgreSQL."""
    s = _ready(store_url, centre_file, clock)
    yield s
    s.dispose()


@pytest.fixture
def queue(store: Store, clock: FixedClock) -> Queue:
    """The engine on the small centre with every counter open."""
    q = Queue(store, clock=clock, actor="test")
    for code in ("1", "2", "3", "4"):
        q.set_counter_state(code, "open")
    return q


@pytest.fixture
def any_queue(any_store: Store, clock: FixedClock) -> Queue:
    q = Queue(any_store, clock=clock, actor="test")
    for code in ("1", "2", "3", "4"):
        q.set_counter_state(code, "open")
    return q
