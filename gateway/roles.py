"""PostgreSQL roles with least privilege: ``gateway db roles``.

A real building runs every machine under the role for its job:

- ``<prefix>_kiosk``: kiosks, the waiting-room board and door sensors. Checks visits in,
  asks for help, records kiosk sessions, device health and door counts; reads the board.
  It cannot call, serve or end a ticket, and cannot read staff records.
- ``<prefix>_counter``: counter desks and the supervisor's view. Acts on tickets,
  counters and referrals; signs staff in and out.
- ``<prefix>_manager``: the managers' dashboard and reports. Reads everything but writes
  only the events of signing in (and the lockout count of a wrong PIN).
- ``<prefix>_owner``: owns the tables. Runs migrations, loads centre files, adds staff,
  purges and backs up (the nightly job).

No role but the owner can drop or alter a table, and none can delete or change an event:
no role is ever granted DELETE, TRUNCATE, REFERENCES or TRIGGER, nor UPDATE on the event
log. The grants are one table (:data:`GRANTS`), so a new table is refused until it is
named there (a test checks every table is).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gateway.errors import GatewayError
from gateway.store import Store

JOBS = ("owner", "kiosk", "counter", "manager")
DEFAULT_PREFIX = "gateway"
_PREFIX = re.compile(r"[a-z][a-z0-9_]{0,40}")

# What each role may do to each table, beyond the owner (who owns them all). Column lists
# limit UPDATE to what the role's verbs change; everything not named is refused.
GRANTS: dict[str, dict[str, list[str]]] = {
    "alembic_version": {
        "kiosk": ["SELECT"],
        "counter": ["SELECT"],
        "manager": ["SELECT"],
    },
    "centre": {
        # event_seq: every writing transaction numbers its events on the centre's row.
        "kiosk": ["SELECT", "UPDATE (event_seq)"],
        "counter": ["SELECT", "UPDATE (event_seq)"],
        "manager": ["SELECT", "UPDATE (event_seq)"],
    },
    "agency": {"kiosk": ["SELECT"], "counter": ["SELECT"], "manager": ["SELECT"]},
    "service": {"kiosk": ["SELECT"], "counter": ["SELECT"], "manager": ["SELECT"]},
    "counter": {
        "kiosk": ["SELECT"],
        "counter": ["SELECT", "UPDATE (state, pause_reason, staff_id)"],
        "manager": ["SELECT"],
    },
    "staff": {
        # Signing in reads the PIN hash and counts wrong PINs; adding staff or setting a
        # PIN is the owner's.
        "counter": ["SELECT", "UPDATE (failed_pins, locked_until)"],
        "manager": ["SELECT", "UPDATE (failed_pins, locked_until)"],
    },
    "visit": {
        # Not the appointment, the postcode district or the repeat key: a kiosk is the
        # most exposed machine, and it never needs to read them back.
        "kiosk": [
            "SELECT (id, centre_id, day, need, language, help_needed, consent_share, journey, "
            "arrived_at, ended_at)",
            "INSERT",
            "UPDATE (help_needed)",
        ],
        "counter": ["SELECT", "UPDATE (help_needed, repeat_key, ended_at)"],
        "manager": ["SELECT"],
    },
    "ticket": {
        # Help asked for after checking in gives a waiting ticket priority: that is all a
        # kiosk may change on a ticket.
        "kiosk": ["SELECT", "INSERT", "UPDATE (priority_from, changed_at)"],
        "counter": ["SELECT", "INSERT", "UPDATE"],
        "manager": ["SELECT"],
    },
    "number_series": {
        "kiosk": ["SELECT", "INSERT", "UPDATE"],
        "counter": ["SELECT", "INSERT", "UPDATE"],
        "manager": ["SELECT"],
    },
    "referral": {"counter": ["SELECT", "INSERT"], "manager": ["SELECT"]},
    "event": {
        "kiosk": ["SELECT", "INSERT"],
        "counter": ["SELECT", "INSERT"],
        "manager": ["SELECT", "INSERT"],
    },
    "device_health": {
        "kiosk": ["SELECT", "INSERT", "UPDATE"],
        "counter": ["SELECT"],
        "manager": ["SELECT"],
    },
}


def role_name(prefix: str, job: str) -> str:
    return f"{prefix}_{job}"


def check_prefix(prefix: str) -> str:
    if not _PREFIX.fullmatch(prefix):
        raise GatewayError(
            f"'{prefix}' cannot start role names: use lower-case letters, digits and _, "
            "starting with a letter."
        )
    return prefix


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def grant_statements(prefix: str, tables: list[str], sequences: list[str]) -> list[str]:
    """The statements that give each role exactly its grants on the tables that exist.
    Safe to run again: everything is revoked first, then granted."""
    check_prefix(prefix)
    owner = role_name(prefix, "owner")
    apps = [role_name(prefix, job) for job in JOBS if job != "owner"]
    statements = [
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT USAGE, CREATE ON SCHEMA public TO {_q(owner)}",
        f"GRANT USAGE ON SCHEMA public TO {', '.join(_q(r) for r in apps)}",
    ]
    for table in tables:
        statements.append(f"ALTER TABLE {_q(table)} OWNER TO {_q(owner)}")
        statements.append(f"REVOKE ALL ON {_q(table)} FROM PUBLIC, {', '.join(map(_q, apps))}")
        for job, privileges in GRANTS.get(table, {}).items():
            statements.append(
                f"GRANT {', '.join(privileges)} ON {_q(table)} TO {_q(role_name(prefix, job))}"
            )
    for sequence in sequences:
        # A table's own id sequence follows it to its new owner. USAGE is nextval only:
        # a role that may insert rows needs the ids.
        statements.append(f"GRANT USAGE ON SEQUENCE {_q(sequence)} TO {', '.join(map(_q, apps))}")
    return statements


def _tables(connection: sa.Connection) -> tuple[list[str], list[str]]:
    tables = connection.execute(
        sa.text("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
    ).scalars()
    sequences = connection.execute(
        sa.text("SELECT sequencename FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1")
    ).scalars()
    return list(tables), list(sequences)


def scram_verifier(password: str, *, salt: bytes | None = None, iterations: int = 4096) -> str:
    """A SCRAM-SHA-256 verifier, as PostgreSQL stores it (RFC 5802/7677), made here so the
    password itself never travels to the server or its statement log."""
    salt = salt or os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.digest(salted, b"Client Key", "sha256")
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.digest(salted, b"Server Key", "sha256")

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


def _password(folder: Path, role: str) -> tuple[str, bool]:
    """The role's password from ``folder/<role>.password``, made (owner-only) if absent."""
    path = folder / f"{role}.password"
    if path.exists():
        text = path.read_text(encoding="utf-8").strip()
        if not text or not text.isascii() or not text.isprintable():
            raise GatewayError(f"{path} must hold one line of printable ASCII: the password.")
        return text, False
    text = secrets.token_urlsafe(24)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write(text + "\n")
    return text, True


@dataclass
class RolesResult:
    created: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    passwords_written: list[str] = field(default_factory=list)
    passwords_set: list[str] = field(default_factory=list)
    tables: int = 0


def create_roles(
    store: Store, *, prefix: str = DEFAULT_PREFIX, password_dir: Path | None = None
) -> RolesResult:
    """Create the four roles (if missing), give the owner the tables, and grant each role
    exactly its job. Run as a superuser (or a role with CREATEROLE that owns the tables),
    once at install and again after an upgrade; running it again changes nothing else.
    With ``password_dir``, each role's password is read from ``<role>.password`` there,
    or made and written there (owner-only) the first time."""
    check_prefix(prefix)
    if store.dialect != "postgresql":
        raise GatewayError(
            "Roles are for a shared PostgreSQL store; a single machine's SQLite file is "
            "protected by its file permissions (see docs/OPERATIONS.md)."
        )
    if password_dir is not None:
        password_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    result = RolesResult()
    with store.engine.begin() as connection:
        for job in JOBS:
            role = role_name(prefix, job)
            exists = connection.execute(
                sa.text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}
            ).first()
            if exists:
                result.existing.append(role)
            else:
                connection.exec_driver_sql(f"CREATE ROLE {_q(role)} LOGIN")
                result.created.append(role)
            connection.exec_driver_sql(
                f"ALTER ROLE {_q(role)} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS"
            )
            if password_dir is not None:
                password, made = _password(password_dir, role)
                if made:
                    result.passwords_written.append(role)
                verifier = scram_verifier(password).replace("'", "''")
                connection.exec_driver_sql(f"ALTER ROLE {_q(role)} PASSWORD '{verifier}'")
                result.passwords_set.append(role)
        database = connection.execute(sa.text("SELECT current_database()")).scalar_one()
        connection.exec_driver_sql(f"REVOKE ALL ON DATABASE {_q(database)} FROM PUBLIC")
        everyone = ", ".join(_q(role_name(prefix, job)) for job in JOBS)
        connection.exec_driver_sql(f"GRANT CONNECT ON DATABASE {_q(database)} TO {everyone}")
        result.tables = apply_grants(connection, prefix)
    return result


def apply_grants(connection: sa.Connection, prefix: str) -> int:
    """Grant every table that exists to the roles, as :data:`GRANTS` says. Returns how
    many tables there are."""
    tables, sequences = _tables(connection)
    for statement in grant_statements(prefix, tables, sequences):
        connection.exec_driver_sql(statement)
    return len(tables)


def refresh_after_upgrade(connection: sa.Connection) -> bool:
    """After a migration run by ``<prefix>_owner``: give the roles the new tables too, so
    an upgrade never leaves a kiosk refused. Does nothing for any other user."""
    user = connection.execute(sa.text("SELECT current_user")).scalar_one()
    if not user.endswith("_owner"):
        return False
    prefix = user[: -len("_owner")]
    if not _PREFIX.fullmatch(prefix):
        return False
    found = connection.execute(
        sa.text("SELECT count(*) FROM pg_roles WHERE rolname = ANY(:r)"),
        {"r": [role_name(prefix, job) for job in JOBS]},
    ).scalar_one()
    if found != len(JOBS):
        return False
    tables, sequences = _tables(connection)
    for statement in grant_statements(prefix, tables, sequences):
        if statement.startswith(("REVOKE CREATE ON SCHEMA", "GRANT USAGE, CREATE ON SCHEMA")):
            continue  # the schema's rights are the superuser's to give
        connection.exec_driver_sql(statement)
    return True


def script(prefix: str = DEFAULT_PREFIX, database: str = "gateway") -> str:
    """The same work as SQL, for a DBA who would rather read it and run it with psql."""
    from sqlmodel import SQLModel

    import gateway.models  # noqa: F401  (the tables)

    check_prefix(prefix)
    tables = sorted([*SQLModel.metadata.tables, "alembic_version"])
    sequences = sorted(
        f"{name}_id_seq" for name, table in SQLModel.metadata.tables.items() if "id" in table.c
    )
    lines = [
        f"-- Gateway's PostgreSQL roles (made by `gateway db roles --sql --prefix {prefix}`).",
        "-- Run as a superuser, connected to the Gateway database, after `gateway db upgrade`.",
        "-- Set passwords afterwards: \\password <role> in psql (or use `gateway db roles",
        "-- --password-dir DIR`, which writes them to files and never sends them in clear).",
        "BEGIN;",
    ]
    for job in JOBS:
        role = role_name(prefix, job)
        lines.append(
            f"DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') "
            f"THEN CREATE ROLE {_q(role)} LOGIN; END IF; END $$;"
        )
        lines.append(f"ALTER ROLE {_q(role)} NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;")
    everyone = ", ".join(_q(role_name(prefix, job)) for job in JOBS)
    lines.append(f"REVOKE ALL ON DATABASE {_q(database)} FROM PUBLIC;")
    lines.append(f"GRANT CONNECT ON DATABASE {_q(database)} TO {everyone};")
    lines.extend(f"{s};" for s in grant_statements(prefix, tables, sequences))
    lines.append("COMMIT;")
    return "\n".join(lines) + "\n"


def describe(result: RolesResult, prefix: str) -> dict[str, Any]:
    return {
        "prefix": prefix,
        "created": result.created,
        "existing": result.existing,
        "passwords_written": result.passwords_written,
        "passwords_set": result.passwords_set,
        "tables": result.tables,
    }
