"""Backups and restores of the store: ``gateway backup`` and ``gateway restore``.

- SQLite: the online backup API copies the store's pages into a new file, in steps, while
  Gateway runs. The copy reads one snapshot (a read transaction held until it ends). In WAL
  mode, which the store always uses, a reader never blocks a writer: kiosks and counters
  carry on, and nothing committed after the snapshot, or half committed, gets in. A plain
  file copy of a live WAL store is not safe.
- PostgreSQL: ``pg_dump -Fc`` of an exported snapshot, the same one the counts are read
  from; ``pg_restore`` brings it back.

A backup is written to a hidden file beside the target and renamed into place only when
complete, readable by its owner only (it holds personal details). A restore refuses a
store that holds data unless told to replace it, brings the schema up to date and checks
the result. Every failure is a ``GatewayError``: one sentence, nothing half written.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError

from gateway import migrate
from gateway.errors import GatewayError, NotAllowed, StoreUnavailable
from gateway.store import BUSY_TIMEOUT_S, Store, resolve_url

STEP_PAGES = 1024  # pages copied per step: 4 MiB at SQLite's default page size
RESTORE_WAIT_S = 30.0  # how long a restore waits for a store in use before giving up
SQLITE_MAGIC = b"SQLite format 3\x00"
PG_MAGIC = b"PGDMP"
LABEL = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

# Called with (done, total) as a copy proceeds: pages on SQLite; 0 of 1 once PostgreSQL's
# snapshot is taken and 1 of 1 when pg_dump has finished.
Progress = Callable[[int, int], None]


class _Result:
    def as_dict(self) -> dict[str, Any]:
        return {k: str(v) if isinstance(v, Path) else v for k, v in vars(self).items()}


@dataclass(frozen=True)
class Counts:
    tickets: int
    visits: int
    events: int


@dataclass(frozen=True)
class BackupResult(_Result):
    path: Path
    kind: str  # sqlite | postgresql
    bytes: int
    seconds: float
    tickets: int
    visits: int
    events: int


@dataclass(frozen=True)
class RestoreResult(_Result):
    source: Path
    store: str  # the URL without its password
    kind: str
    seconds: float
    tickets: int
    visits: int
    events: int
    revision: str | None
    integrity: str | None  # "ok" on SQLite; PostgreSQL has no such check


@dataclass(frozen=True)
class VerifyResult(_Result):
    path: Path
    kind: str
    bytes: int
    tickets: int
    visits: int
    events: int
    revision: str | None
    check: str  # what was checked and passed


# -- backup -----------------------------------------------------------------------------


def backup(
    store: Store,
    target: Path,
    *,
    overwrite: bool = False,
    progress: Progress | None = None,
    pages_per_step: int = STEP_PAGES,
) -> BackupResult:
    """Copy the store, as one consistent snapshot, into the file ``target``.

    Safe while Gateway runs. Refuses an existing ``target`` unless ``overwrite``. On any
    failure (no pg_dump, store down, folder not writable, disk full) raises a
    ``GatewayError`` and leaves ``target`` as it was.
    """
    target = Path(target).expanduser().absolute()
    _check_target(target, overwrite)
    began = time.monotonic()
    partial = _partial(target)
    try:
        if store.dialect == "sqlite":
            counts = _backup_sqlite(store, target, partial, progress, pages_per_step)
        elif store.dialect == "postgresql":
            counts = _backup_postgresql(store, target, partial, progress)
        else:
            raise GatewayError(f"Gateway cannot back up a {store.dialect} store.")
        _sync(partial)
        os.replace(partial, target)
        _sync(target.parent)
    except OSError as exc:
        raise GatewayError(
            f"Could not write {target}: {exc.strerror}; nothing was written."
        ) from None
    finally:
        partial.unlink(missing_ok=True)
    return BackupResult(
        target, store.dialect, target.stat().st_size, time.monotonic() - began, *_fields(counts)
    )


def _check_target(target: Path, overwrite: bool) -> None:
    if target.is_dir():
        raise GatewayError(f"{target} is a folder; give a file name, like {target}/gateway.db.")
    if not target.parent.is_dir():
        raise GatewayError(f"The folder {target.parent} does not exist; create it first.")
    if target.exists() and not overwrite:
        raise NotAllowed(
            f"{target} already exists; choose another name, or pass --overwrite to replace it."
        )


def _partial(target: Path) -> Path:
    """An empty file beside ``target``, readable by its owner only, to write the copy in."""
    try:
        handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial",
                                        dir=target.parent)  # fmt: skip
    except OSError as exc:
        raise GatewayError(
            f"Cannot write in {target.parent} ({exc.strerror}); choose a folder you can write to."
        ) from None
    os.close(handle)
    return Path(name)


def _sync(path: Path) -> None:
    handle = os.open(path, os.O_RDONLY)
    try:
        os.fsync(handle)
    finally:
        os.close(handle)


def _backup_sqlite(
    store: Store, target: Path, partial: Path, progress: Progress | None, pages: int
) -> Counts:
    database = _sqlite_file(store.url)
    if not database.is_file():
        raise StoreUnavailable(f"There is no store at {database}; check --db or GATEWAY_DB.")
    try:
        raw = store.engine.raw_connection()  # the store's own rules: WAL, busy timeout
    except DBAPIError as exc:
        raise _unreachable(store.where, exc) from None
    source: sqlite3.Connection = raw.driver_connection  # type: ignore[assignment]
    try:
        source.execute("BEGIN")
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()  # the snapshot
        with closing(sqlite3.connect(partial)) as copy:
            source.backup(
                copy,
                pages=pages,
                progress=(lambda _s, left, total: progress(total - left, total))
                if progress
                else None,
            )
            # The copy stands alone: one file, no -wal beside it, readable read-only.
            copy.execute("PRAGMA journal_mode=DELETE")
            return _sqlite_counts(
                copy, f"The store at {store.where} is not set up yet; run `gateway init` first."
            )
    except sqlite3.Error as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise StoreUnavailable(
                f"The store at {store.where} stayed locked by another program; try again.",
                transient=True,
            ) from None
        raise GatewayError(
            f"Could not back up {store.where} to {target} ({exc}); nothing was written."
        ) from None
    finally:
        if source.in_transaction:
            source.execute("ROLLBACK")
        raw.close()


def _backup_postgresql(
    store: Store, target: Path, partial: Path, progress: Progress | None
) -> Counts:
    pg_dump = _tool("pg_dump")
    url = make_url(store.url)
    try:
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                # pg_dump reads the snapshot this transaction exports, so the counts below
                # and the dump agree, whatever commits meanwhile.
                conn.exec_driver_sql("SET TRANSACTION READ ONLY")
                snapshot = conn.exec_driver_sql("SELECT pg_export_snapshot()").scalar_one()
                counts = Counts(*(_count(conn, table) for table in ("ticket", "visit", "event")))
                if progress:
                    progress(0, 1)
                _run(
                    [pg_dump, "--format=custom", f"--snapshot={snapshot}", "--no-password",
                     f"--file={partial}", f"--dbname={_dsn(url)}"],
                    url,
                    failed=f"pg_dump could not back up {store.where} to {target}",
                )  # fmt: skip
                if progress:
                    progress(1, 1)
    except DBAPIError as exc:
        raise _unreachable(store.where, exc) from None
    return counts


def _count(conn: Any, table: str) -> int:
    return int(conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


# -- restore ----------------------------------------------------------------------------


def restore(source: Path, store_url: str, *, replace: bool = False) -> RestoreResult:
    """Bring a backup back into the store at ``store_url``, then upgrade its schema and
    check it: counts equal to the backup's, and SQLite's integrity check.

    SQLite: the file is replaced in one transaction (all or nothing); refused if it holds
    tickets, unless ``replace``. PostgreSQL: ``pg_restore`` in one transaction into an
    existing database; refused if that is not empty, unless ``replace``. A backup from a
    newer Gateway is refused before anything is touched.
    """
    source = Path(source).expanduser().absolute()
    kind = _kind_of(source)
    url = resolve_url(store_url)
    try:
        dialect = make_url(url).get_backend_name()
    except ArgumentError:
        raise GatewayError(f"'{store_url}' is not a store URL I understand.") from None
    if kind != dialect:
        raise GatewayError(
            f"{source} is a {LABEL[kind]} backup; restore it into a {LABEL[kind]} store "
            f"(not {LABEL.get(dialect, dialect)})."
        )
    began = time.monotonic()
    if kind == "sqlite":
        expected = _restore_sqlite(source, url, replace)
    else:
        expected = _restore_postgresql(source, url, replace)
    store = Store(url)
    try:
        try:
            migrate.upgrade(store)
            counts, integrity = _check_store(store)
            revision = migrate.current(store)
        except DBAPIError as exc:
            raise _unreachable(store.where, exc) from None
    finally:
        store.dispose()
    if counts != expected:
        raise GatewayError(
            f"The restored store at {store.where} holds {_said(counts)} but {source} holds "
            f"{_said(expected)}; keep the backup and do not use the store."
        )
    return RestoreResult(
        source, store.where, kind, time.monotonic() - began, *_fields(counts), revision, integrity
    )


def _restore_sqlite(source: Path, url: str, replace: bool) -> Counts:
    expected, revision = _inspect_sqlite(source, "quick_check")
    _known_revision(revision, source)
    target = _sqlite_file(url)
    if target.exists():
        held = _tickets_held(target)
        if held and not replace:
            raise NotAllowed(
                f"The store at {target} already holds {held} tickets; restore into a new "
                "file, or pass --replace to overwrite it."
            )
    target.parent.mkdir(parents=True, exist_ok=True)
    began = time.monotonic()

    def give_up_when_busy(status: int, _left: int, _total: int) -> None:
        busy = status in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
        if busy and time.monotonic() - began > RESTORE_WAIT_S:
            raise StoreUnavailable(
                f"The store at {target} stayed in use; stop Gateway's screens and try again."
            )

    try:
        with (
            closing(_open(source, "ro")) as src,
            closing(sqlite3.connect(target, timeout=BUSY_TIMEOUT_S)) as dst,
        ):
            # One step: the target changes all at once, or not at all.
            src.backup(dst, pages=-1, progress=give_up_when_busy)
    except sqlite3.Error as exc:
        raise GatewayError(f"Could not restore {source} into {target} ({exc}).") from None
    return expected


def _restore_postgresql(source: Path, url: str, replace: bool) -> Counts:
    pg_restore = _tool("pg_restore")
    expected, revision = _inspect_archive(pg_restore, source)
    _known_revision(revision, source)
    parsed = make_url(url)
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            tables = conn.exec_driver_sql(
                "SELECT count(*) FROM pg_catalog.pg_tables "
                "WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            ).scalar_one()
    except OperationalError:
        raise StoreUnavailable(
            f"The database at {store.where} cannot be reached; create it first (createdb) "
            "and check that the server is running and the URL is right."
        ) from None
    finally:
        store.dispose()
    if tables and not replace:
        raise NotAllowed(
            f"The database at {store.where} is not empty ({tables} tables); restore into a "
            "new empty database, or pass --replace to overwrite it."
        )
    _run(
        [pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction",
         "--no-password", f"--dbname={_dsn(parsed)}", str(source)],
        parsed,
        failed=f"pg_restore could not restore {source} into {store.where} (nothing was changed)",
    )  # fmt: skip
    return expected


def _check_store(store: Store) -> tuple[Counts, str | None]:
    with store.engine.connect() as conn:
        counts = Counts(*(_count(conn, table) for table in ("ticket", "visit", "event")))
        if store.dialect != "sqlite":
            return counts, None
        problems = [row[0] for row in conn.exec_driver_sql("PRAGMA integrity_check")]
    if problems != ["ok"]:
        raise GatewayError(
            f"The restored store at {store.where} failed its integrity check ({problems[0]}); "
            "do not use it, and try an older backup."
        )
    return counts, "ok"


def _tickets_held(target: Path) -> int:
    try:
        with closing(_open(target, "rw")) as conn:
            return int(conn.execute("SELECT count(*) FROM ticket").fetchone()[0])
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise StoreUnavailable(f"Cannot read the store at {target} ({exc}).") from None
    except sqlite3.DatabaseError:
        raise GatewayError(
            f"{target} is not a Gateway store; choose another --db, or move it aside."
        ) from None


# -- verify -----------------------------------------------------------------------------


def verify(path: Path) -> VerifyResult:
    """Check a backup without restoring it: SQLite's integrity check and the counts, read
    only; for a pg_dump archive, ``pg_restore --list`` and the counts from its data.
    Raises a ``GatewayError`` with a sentence when it is not a usable backup."""
    path = Path(path).expanduser().absolute()
    kind = _kind_of(path)
    if kind == "sqlite":
        counts, revision = _inspect_sqlite(path, "integrity_check")
        check = "integrity_check ok"
    else:
        counts, revision = _inspect_archive(_tool("pg_restore"), path)
        check = "pg_restore --list ok"
    return VerifyResult(path, kind, path.stat().st_size, *_fields(counts), revision, check)


def _kind_of(path: Path) -> str:
    """sqlite or postgresql, from the file's first bytes; a sentence for anything else."""
    if path.is_dir():
        raise GatewayError(f"{path} is a folder, not a backup file.")
    try:
        with path.open("rb") as handle:
            head = handle.read(16)
    except FileNotFoundError:
        raise GatewayError(f"There is no file at {path}; check the name.") from None
    except OSError as exc:
        raise GatewayError(f"Cannot read {path}: {exc.strerror}.") from None
    if head.startswith(SQLITE_MAGIC):
        return "sqlite"
    if head.startswith(PG_MAGIC):
        return "postgresql"
    if not head:
        raise GatewayError(f"{path} is empty: not a backup (was the backup interrupted?).")
    if head.startswith(b"--"):
        raise GatewayError(
            f"{path} looks like a plain SQL dump; restore that with psql, or make backups "
            "with `gateway backup` (pg_dump -Fc)."
        )
    raise GatewayError(
        f"{path} is not a Gateway backup (neither an SQLite file nor a pg_dump archive)."
    )


def _inspect_sqlite(path: Path, check: str) -> tuple[Counts, str | None]:
    try:
        with closing(_open(path, "ro")) as conn:
            problems = [row[0] for row in conn.execute(f"PRAGMA {check}")]
            if problems != ["ok"]:
                raise GatewayError(f"{path} is damaged ({problems[0]}); use another backup.")
            missing = f"{path} is an SQLite file, but not a Gateway backup."
            return _sqlite_counts(conn, missing), _sqlite_revision(conn)
    except sqlite3.DatabaseError as exc:
        raise GatewayError(f"{path} is not a usable backup ({exc}); use another one.") from None


def _sqlite_counts(conn: sqlite3.Connection, missing: str) -> Counts:
    """Tickets, visits and events; ``missing`` is the sentence if there are no such tables."""
    try:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM ticket), (SELECT count(*) FROM visit), "
            "(SELECT count(*) FROM event)"
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            raise GatewayError(missing) from None
        raise
    return Counts(*row)


def _sqlite_revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None
    return str(row[0]) if row else None


def _inspect_archive(pg_restore: str, path: Path) -> tuple[Counts, str | None]:
    """Counts and schema revision from a pg_dump archive, with no database: its table of
    contents must list, and its data for the counted tables must read to the end."""
    _run([pg_restore, "--list", str(path)], None, failed=f"{path} is not a usable pg_dump archive")
    tables = ("ticket", "visit", "event", "alembic_version")
    rows: dict[str, int] = {}
    revision = None
    with tempfile.TemporaryFile() as errors:
        command = [
            pg_restore,
            "--data-only",
            "--file=-",
            *(f"--table={t}" for t in tables),
            str(path),
        ]
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors, text=True) as out:
            assert out.stdout is not None
            table = None
            for line in out.stdout:
                if table is None:
                    if line.startswith("COPY "):
                        table = line.split()[1].rsplit(".", 1)[-1].strip('"')
                        rows[table] = 0
                elif line == "\\.\n":
                    table = None
                else:
                    rows[table] += 1
                    if table == "alembic_version":
                        revision = line.strip()
        if out.returncode != 0:
            errors.seek(0)
            detail = _first_error(errors.read().decode(errors="replace"), None)
            raise GatewayError(f"{path} is not a usable pg_dump archive: {detail}.")
    if "ticket" not in rows:
        raise GatewayError(f"{path} is a pg_dump archive, but not of a Gateway store.")
    return Counts(rows["ticket"], rows.get("visit", 0), rows.get("event", 0)), revision


def _known_revision(revision: str | None, source: Path) -> None:
    from alembic.script import ScriptDirectory

    known = {
        script.revision for script in ScriptDirectory(str(migrate.MIGRATIONS)).walk_revisions()
    }
    if revision is None:
        raise GatewayError(f"{source} holds no schema revision; it is not a Gateway backup.")
    if revision not in known:
        raise GatewayError(
            f"{source} comes from a newer Gateway (schema {revision}); upgrade Gateway, "
            "then restore it."
        )


# -- shared -----------------------------------------------------------------------------


def _sqlite_file(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise GatewayError("An in-memory store cannot be backed up or restored; use a file.")
    return Path(database).expanduser().absolute()


def _open(path: Path, mode: str) -> sqlite3.Connection:
    """An existing SQLite file, never created by opening it (``mode`` ro or rw)."""
    return sqlite3.connect(f"{path.as_uri()}?mode={mode}", uri=True, timeout=BUSY_TIMEOUT_S)


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise GatewayError(
            f"{name} is not installed on this machine; install the PostgreSQL client tools "
            "(Debian: apt install postgresql-client) of the server's version or newer."
        )
    return found


def _dsn(url: URL) -> str:
    """A libpq URL without the password (which would show in the process list)."""
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False)


def _run(command: list[str], url: URL | None, *, failed: str) -> None:
    """Run a PostgreSQL tool; the password goes in its environment only, never in its
    arguments or in a message."""
    from gateway.store import password_from_file

    env = dict(os.environ)
    password = str(url.password) if url is not None and url.password else None
    if url is not None and password is None:
        password = password_from_file()  # the unit's credential, as the store uses it
    if password:
        env["PGPASSWORD"] = password
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise GatewayError(f"{failed}: {_first_error(done.stderr, password)}.")


def _first_error(stderr: str, password: str | None) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line] or lines or ["it gave no reason"]
    detail = errors[0].split("error:", 1)[-1].strip().rstrip(".")
    return detail.replace(password, "***") if password else detail


def _unreachable(where: str, exc: DBAPIError) -> StoreUnavailable:
    text = str(exc.orig).lower()
    if "does not exist" in text or "no such table" in text:
        return StoreUnavailable(
            f"The store at {where} is not set up yet; run `gateway init` first."
        )
    return StoreUnavailable(
        f"The store at {where} cannot be reached; check that it is running and the URL is right.",
        transient=True,
    )


def _fields(counts: Counts) -> tuple[int, int, int]:
    return counts.tickets, counts.visits, counts.events


def _said(counts: Counts) -> str:
    return f"{counts.tickets} tickets, {counts.visits} visits and {counts.events} events"
