"""The store: one SQLAlchemy engine, chosen by URL, the same code for SQLite and PostgreSQL.

- SQLite is the embedded default: WAL, a busy timeout, and ``BEGIN IMMEDIATE`` for every
  writing transaction, so two writers queue for the lock instead of racing (SQLAlchemy
  drops ``FOR UPDATE`` on SQLite; the immediate transaction is what makes it safe).
- PostgreSQL goes through psycopg 3.

Use ``store.write()`` for a transaction that changes anything and ``store.read()`` for one
that only looks. Both turn a store that is down or locked into ``StoreUnavailable``.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlmodel import Session

from gateway.errors import GatewayError, NotPermitted, StoreUnavailable

BUSY_TIMEOUT_S = 10.0
_RETRIES = 5
# PostgreSQL serialization failure and deadlock: the transaction can simply run again.
_TRY_AGAIN = ("40001", "40P01")
# PostgreSQL's "insufficient privilege": this machine's role may not do that.
_REFUSED = "42501"
# Where a PostgreSQL password may come from, never the centre file: a systemd credential
# (LoadCredential=db-password:...), or a file named by GATEWAY_DB_PASSWORD_FILE.
PASSWORD_FILE_ENV = "GATEWAY_DB_PASSWORD_FILE"
CREDENTIAL_NAME = "db-password"


def default_url() -> str:
    """The store when neither ``--db`` nor ``GATEWAY_DB`` says: a file in the data folder."""
    from platformdirs import user_data_dir

    folder = Path(user_data_dir("gateway", appauthor=False))
    return f"sqlite:///{folder / 'gateway.db'}"


def resolve_url(db: str | None = None) -> str:
    """``--db``, else ``GATEWAY_DB``, else the default file. Bare paths become SQLite URLs."""
    url = db or os.environ.get("GATEWAY_DB") or default_url()
    if "://" not in url:
        url = f"sqlite:///{Path(url).expanduser().absolute()}"
    if url.startswith(("postgresql://", "postgres://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


class Store:
    """An engine plus the house rules for transactions on it."""

    def __init__(self, url: str | None = None, *, echo: bool = False) -> None:
        self.url = resolve_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_S, "check_same_thread": False}
        elif self.dialect == "postgresql":
            # No pool_pre_ping: it costs a round trip per transaction, and a dropped
            # connection is already retried by ``retrying`` (StoreUnavailable, transient).
            kwargs["connect_args"] = {"connect_timeout": 5}
            if not parsed.password:
                password = password_from_file()
                if password is not None:
                    kwargs["connect_args"]["password"] = password
        # Statement parameters carry visits' details: keep them out of error messages
        # and so out of every log.
        kwargs["hide_parameters"] = True
        self.connect_args: dict[str, Any] = kwargs.get("connect_args", {})
        self.engine = sa.create_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            _sqlite_rules(self.engine)
        self._writer = self.engine.execution_options(gateway_write=True)

    @property
    def where(self) -> str:
        """The URL without a password, for messages."""
        return make_url(self.url).render_as_string(hide_password=True)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A writing transaction: committed on success, rolled back on any error."""
        with self._session(self._writer) as session:
            yield session

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self._session(self.engine) as session:
            yield session

    @contextmanager
    def _session(self, bind: Any) -> Iterator[Session]:
        session = Session(bind=bind, expire_on_commit=False)
        try:
            with session.begin():
                yield session
        except GatewayError:
            raise
        except DBAPIError as exc:
            if getattr(exc.orig, "sqlstate", None) in _TRY_AGAIN:
                raise
            if getattr(exc.orig, "sqlstate", None) == _REFUSED:
                raise self._refused(exc) from exc
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise self._unavailable(exc) from exc
            raise
        finally:
            session.close()

    def retrying(self, work: Any) -> Any:
        """Run ``work(session)`` in a writing transaction, retrying a few times if the
        store is briefly locked, busy or the connection dropped (safe: each try is a
        whole transaction that either committed or left nothing behind)."""
        for attempt in range(_RETRIES):
            try:
                with self.write() as session:
                    return work(session)
            except StoreUnavailable as exc:
                if not exc.transient or attempt == _RETRIES - 1:
                    raise
            except DBAPIError as exc:
                if getattr(exc.orig, "sqlstate", None) not in _TRY_AGAIN:
                    raise
                if attempt == _RETRIES - 1:
                    raise self._unavailable(exc) from exc
            time.sleep(0.02 * (2**attempt) * (1 + random.random()))
        raise AssertionError("unreachable")

    def _unavailable(self, exc: Exception) -> StoreUnavailable:
        text = str(getattr(exc, "orig", exc)).lower()
        if "locked" in text or "busy" in text or "deadlock" in text:
            return StoreUnavailable(
                f"The store at {self.where} stayed locked by another program; try again.",
                transient=True,
            )
        if "certificate verify failed" in text or ("certificate" in text and "match" in text):
            return StoreUnavailable(
                f"The store at {self.where} did not pass this machine's TLS check: its "
                "certificate is not signed by the CA in sslrootcert, or names another host."
            )
        if "password authentication failed" in text:
            user = make_url(self.url).username or "this user"
            return StoreUnavailable(
                f"The store at {self.where} refused the password for '{user}': check the "
                "password file (GATEWAY_DB_PASSWORD_FILE or the db-password credential)."
            )
        if "no such table" in text or ("does not exist" in text and "relation" in text):
            return StoreUnavailable(
                f"The store at {self.where} is not set up yet; run `gateway init` first."
            )
        return StoreUnavailable(
            f"The store at {self.where} cannot be reached; check that it is running "
            "and the URL is right.",
            transient=True,
        )

    def _refused(self, exc: Exception) -> NotPermitted:
        user = make_url(self.url).username or "this user"
        return NotPermitted(
            f"The store refused this to the database role '{user}': {_first_line(exc)}. "
            "This machine's role is not meant for it; check GATEWAY_DB (see docs/DEPLOY.md)."
        )

    def dispose(self) -> None:
        self.engine.dispose()


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0].rstrip(".")


def password_from_file() -> str | None:
    """The PostgreSQL password from ``$CREDENTIALS_DIRECTORY/db-password`` (systemd) or the
    file in ``GATEWAY_DB_PASSWORD_FILE``; None when neither is set or the file is empty."""
    named = os.environ.get(PASSWORD_FILE_ENV)
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    if named:
        path = Path(named)
    elif credentials and (Path(credentials) / CREDENTIAL_NAME).exists():
        path = Path(credentials) / CREDENTIAL_NAME
    else:
        return None
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise GatewayError(
            f"The database password file {path} cannot be read ({exc.strerror or exc}); "
            "check its path and that this user may read it."
        ) from None
    # Empty: no password (client certificates, ~/.pgpass, or an SQLite machine whose unit
    # still names a credential).
    return text or None


def _sqlite_rules(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let us issue BEGIN ourselves (pysqlite's own handling defers it).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: sa.Connection) -> None:
        if conn.get_execution_options().get("gateway_write"):
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            conn.exec_driver_sql("BEGIN")
