"""The append-only event log, and ``watch``: what has happened since a cursor.

Why not just the table's id? On PostgreSQL ids come from a sequence, and sequence order
is not commit order: a watcher reading ``id > cursor`` can skip an event that commits
late. So each centre keeps a counter row (``centre.event_seq``). A transaction collects its
events and, as its last statement, bumps the counter by that many and numbers them. The
bump locks the centre row until commit, so numbers are gap-free and commit-ordered. It is
done last to keep that lock short.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, col
from sqlmodel import select as sql_select

from gateway.models import Centre, Event
from gateway.store import Store

CHANNEL = "gateway_events"


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
