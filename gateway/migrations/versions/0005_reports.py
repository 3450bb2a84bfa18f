"""reports: a ticket's first call, last counter and walked out; a visit's repeat key; indexes

The new ticket columns are filled in from the event log, so reports over days before
this migration agree with the days after.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 15:39:55.738811
"""
from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import gateway.models


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.create_index('ix_event_kind_at', ['centre_id', 'kind', 'at'], unique=False)
        batch_op.create_index('ix_event_ticket', ['ticket_id', 'kind'], unique=False)

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_called_at', gateway.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('last_counter_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('walked_out', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_foreign_key('fk_ticket_last_counter_id_counter', 'counter', ['last_counter_id'], ['id'])

    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('repeat_key', sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True))
        batch_op.create_index('ix_visit_centre_day', ['centre_id', 'day'], unique=False)
        batch_op.create_index('ix_visit_repeat_key', ['centre_id', 'repeat_key'], unique=False)

    # Fill the ticket columns from the event log.
    sqlite = op.get_bind().dialect.name == "sqlite"
    reason = "json_extract(e.data, '$.reason')" if sqlite else "e.data ->> 'reason'"
    yes = "1" if sqlite else "true"
    op.execute(
        "UPDATE ticket SET first_called_at = (SELECT MIN(e.at) FROM event e"
        " WHERE e.ticket_id = ticket.id AND e.kind = 'called'),"
        " last_counter_id = (SELECT e.counter_id FROM event e"
        " WHERE e.ticket_id = ticket.id AND e.kind = 'called' ORDER BY e.seq DESC LIMIT 1)"
    )
    # Walked out: cancelled at closing while still waiting or set aside (the ticket's
    # event before the cancellation was not a call, a recall or the start of serving).
    op.execute(
        f"UPDATE ticket SET walked_out = {yes} WHERE state = 'cancelled' AND EXISTS"
        " (SELECT 1 FROM event e WHERE e.ticket_id = ticket.id AND e.kind = 'cancelled'"
        f" AND {reason} = 'centre closed'"
        " AND COALESCE((SELECT p.kind FROM event p WHERE p.ticket_id = ticket.id"
        " AND p.seq < e.seq ORDER BY p.seq DESC LIMIT 1), '')"
        " NOT IN ('called', 'recalled', 'serving'))"
    )


def downgrade() -> None:
    with op.batch_alter_table('visit', schema=None) as batch_op:
        batch_op.drop_index('ix_visit_repeat_key')
        batch_op.drop_index('ix_visit_centre_day')
        batch_op.drop_column('repeat_key')

    with op.batch_alter_table('ticket', schema=None) as batch_op:
        batch_op.drop_constraint('fk_ticket_last_counter_id_counter', type_='foreignkey')
        batch_op.drop_column('walked_out')
        batch_op.drop_column('last_counter_id')
        batch_op.drop_column('first_called_at')

    with op.batch_alter_table('event', schema=None) as batch_op:
        batch_op.drop_index('ix_event_ticket')
        batch_op.drop_index('ix_event_kind_at')
