"""Schema migrations (Alembic), run from code: ``gateway db upgrade`` and ``gateway init``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.store import Store

MIGRATIONS = Path(__file__).parent / "migrations"


def _config(connection: Any) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def upgrade(store: Store, revision: str = "head") -> None:
    """Bring the store's schema up to ``revision``. Safe to run again: it does nothing."""
    from alembic import command

    with store.engine.connect() as connection:
        # SQLite rebuilds a table to change its constraints; with foreign keys enforced,
        # dropping the old table would break the rows that point at it. They are
        # switched off for the migration (only possible outside a transaction) and the
        # result is checked before it commits.
        sqlite = store.dialect == "sqlite"
        raw = connection.connection.driver_connection if sqlite else None
        if raw is not None:
            raw.execute("PRAGMA foreign_keys=OFF")
        try:
            with connection.begin():
                command.upgrade(_config(connection), revision)
                if store.dialect == "postgresql":
                    from gateway.roles import refresh_after_upgrade

                    refresh_after_upgrade(connection)
                if sqlite:
                    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise RuntimeError(f"the migration left broken references: {broken[:5]}")
        finally:
            if raw is not None:
                raw.execute("PRAGMA foreign_keys=ON")


def current(store: Store) -> str | None:
    from alembic.migration import MigrationContext

    with store.engine.connect() as connection:
        result: str | None = MigrationContext.configure(connection).get_current_revision()
        return result


def differences(store: Store) -> list[Any]:
    """What the models have that the migrated store lacks (empty when they agree)."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlmodel import SQLModel

    import gateway.models  # noqa: F401

    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs: list[Any] = compare_metadata(context, SQLModel.metadata)
        return diffs


def revision(store: Store, message: str) -> None:
    """Write a new migration by comparing the models with the store (for developers)."""
    from alembic import command

    with store.engine.begin() as connection:
        command.revision(_config(connection), message=message, autogenerate=True)
