"""The append-only event log, and ``watch``: what has happened since a cursor.

Why not just the table's id? On PostgreSQL ids come from a sequence, and sequence order
is not commit order: a watcher reading ``id > cursor`` can skip an event that commits
late. So each centre keeps a counter row (``centre.event_seq``). A transaction collects its
events and, as its last statement, bumps the counter by that many and numbers them. The
bump locks the centre row until commit, so numbers are gap-free and commit-ordered. It is
done last to keep that lock short.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeVar

import sqlalchemy as sa
from sqlmodel import Session, col
from sqlmodel import select as sql_select

from gateway.models import Centre, Event
from gateway.store import Store

if TYPE_CHECKING:
    from gateway.centres import CentreView

CHANNEL = "gateway_events"
log = logging.getLogger("gateway.events")


@dataclass
class EventLog:
    """Events of one transaction, written together by ``flush`` just before commit."""

    centre_id: int
    actor: str | None = None
    pending: list[Event] = field(default_factory=list)

    def add(
        self,
        kind: str,
        at: datetime,
        *,
        ticket_id: int | None = None,
        visit_id: int | None = None,
        counter_id: int | None = None,
        staff_id: int | None = None,
        **data: Any,
    ) -> None:
        self.pending.append(
            Event(
                centre_id=self.centre_id,
                seq=0,
                kind=kind,
                at=at,
                ticket_id=ticket_id,
                visit_id=visit_id,
                counter_id=counter_id,
                staff_id=staff_id,
                actor=self.actor,
                data={k: v for k, v in data.items() if v is not None} or None,
            )
        )

    def flush(self, session: Session) -> list[Event]:
        if not self.pending:
            return []
        session.flush()  # everything else first: the counter lock is taken last
        table = Centre.__table__  # type: ignore[attr-defined]
        returning: list[Any] = [table.c.event_seq]
        if session.get_bind().dialect.name == "postgresql":
            # Delivered at commit, so a woken watcher always finds the events; asked for
            # in the same statement to save a round trip.
            returning.append(sa.func.pg_notify(CHANNEL, str(self.centre_id)))
        last = session.execute(
            sa.update(table)
            .where(table.c.id == self.centre_id)
            .values(event_seq=table.c.event_seq + len(self.pending))
            .returning(*returning)
        ).one()[0]
        first = last - len(self.pending) + 1
        for offset, event in enumerate(self.pending):
            event.seq = first + offset
            session.add(event)
        session.flush()
        written, self.pending = self.pending, []
        return written


def log_events(centre: str, events: list[Event]) -> None:
    """One log record per committed event, for the journal: its kind, number, ticket
    number and counter. Never its data's free text, nor who did it."""
    if not log.isEnabledFor(logging.INFO):
        return
    for event in events:
        number = (event.data or {}).get("number")
        fields = {"event": event.kind, "seq": event.seq, "centre": centre, "ticket": number}
        fields["counter_id"] = event.counter_id
        log.info("%s %s", event.kind, number or f"#{event.seq}", extra={"fields": fields})


def watch(store: Store, centre_id: int, after: int = 0, limit: int = 1000) -> list[Event]:
    """Events of a centre with ``seq > after``, in commit order. Never skips one."""
    with store.read() as session:
        rows = session.exec(
            sql_select(Event)
            .where(Event.centre_id == centre_id, col(Event.seq) > after)
            .order_by(col(Event.seq))
            .limit(limit)
        ).all()
        return list(rows)


def latest(store: Store, centre_id: int) -> int:
    """The cursor now: the number of the centre's latest event (0 if none). Read it before
    reading a state, then follow after it: nothing that happens in between is missed."""
    with store.read() as session:
        seq = session.exec(sql_select(sa.func.max(Event.seq)).where(Event.centre_id == centre_id))
        return int(seq.one() or 0)


def wait_for_events(
    store: Store, centre_id: int, after: int, timeout: float, poll: float = 0.25
) -> list[Event]:
    """Like ``watch``, but waits up to ``timeout`` seconds for something to happen.

    On PostgreSQL a LISTEN wakes the caller at once; on SQLite it polls.
    """
    deadline = time.monotonic() + timeout
    if store.dialect != "postgresql":
        while True:
            events = watch(store, centre_id, after)
            if events or time.monotonic() >= deadline:
                return events
            time.sleep(min(poll, max(0.0, deadline - time.monotonic())))
    with store.engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        conn.exec_driver_sql(f"LISTEN {CHANNEL}")
        raw: Any = conn.connection.driver_connection
        while True:
            events = watch(store, centre_id, after)
            left = deadline - time.monotonic()
            if events or left <= 0:
                conn.exec_driver_sql(f"UNLISTEN {CHANNEL}")
                return events
            # Wake on the first notification (any centre's: then re-read ours).
            for _ in raw.notifies(timeout=left, stop_after=1):
                pass


S = TypeVar("S")


def follow(
    store: Store,
    centre: str | None,
    read: Callable[[CentreView], tuple[S, int]],
    stop: threading.Event,
    *,
    wait: float = 1.0,
    retry: float = 2.0,
    again: Callable[[CentreView], bool] = lambda _centre: False,
) -> Iterator[S | None]:
    """Follow the log for a screen: yield ``read``'s result at once, then again each time
    something happens, never on a timer. ``read(centre)`` returns the state and the
    cursor it read up to; ``again(centre)`` may ask for a read without news (a new day).

    ``None`` is yielded when the store is down or locked; the loop waits ``retry``
    seconds and tries again, so a screen recovers by itself. Ends when ``stop`` is set.
    It runs in the screen's own thread: the UI thread never waits on the store.
    """
    from gateway.centres import open_centre

    opened: CentreView | None = None
    cursor: int | None = None
    while not stop.is_set():
        try:
            opened = opened or open_centre(store, centre)
            if cursor is None or again(opened):
                state, cursor = read(opened)
                yield state
            if wait_for_events(store, opened.id, cursor, timeout=wait):
                cursor = None  # news: read again
        except Exception as exc:  # any store fault: say so, wait, try again
            log.warning("lost the store: %s", exc)
            cursor = None
            yield None
            stop.wait(retry)
