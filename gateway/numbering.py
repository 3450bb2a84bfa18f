"""Ticket numbers: per service prefix, per centre, per local day (``C001``, ``C002``, ...).

One ``INSERT ... ON CONFLICT DO UPDATE SET last = last + 1 RETURNING last`` on the
(centre, service, day) row: atomic on both stores, so kiosks checking in at the same
moment never share a number, and a new local day starts again at 1.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from gateway.models import NumberSeries


def next_number(session: Session, centre_id: int, service_id: int, day: date) -> int:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = NumberSeries.__table__  # type: ignore[attr-defined]
    stmt: Any = insert(table).values(centre_id=centre_id, service_id=service_id, day=day, last=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=["centre_id", "service_id", "day"],
        set_={"last": table.c.last + 1},
    ).returning(table.c.last)
    return int(session.execute(stmt).scalar_one())


def format_number(prefix: str, seq: int) -> str:
    return f"{prefix}{seq:03d}"
