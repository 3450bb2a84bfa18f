"""``gateway doctor``: is this machine ready to run a centre?

``run_checks`` looks at the configuration, the store (reachable, migrated, holding the
centre), the clock and the time zone, the printer and scanner, and the free disk space,
and returns one ``Check`` per question, each with one plain sentence. It never raises for
what it finds: a store that is down or a printer that is silent is a failed check, not a
traceback. Checks that need the store are left out when it cannot be reached (the store's
own check says why).

Printers and scanners are asked through the ``doctor`` entry point of ``gateway.devices``,
so the core never imports ``devices/``. The kiosk's settings file is read here only for
the device specs it names; the devices plugin checks those specs.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.clock import Clock, WallClock, business_day
from gateway.errors import ConfigError

if TYPE_CHECKING:  # devices/doctor.py imports Check: this module must not load the database
    from gateway.store import Store

log = logging.getLogger("gateway")

GIB = 1024**3
FAIL_FREE_BYTES = 1 * GIB  # less than this free, or less than FAIL_FREE_SHARE: a failure
FAIL_FREE_SHARE = 0.05
WARN_FREE_BYTES = 5 * GIB  # less than this free: a warning
SKEW_SECONDS = 60  # the database server's clock and this machine's may differ this much
EARLIEST_YEAR = 2024  # a clock before this has lost its time (a flat RTC battery)
PING_SECONDS = 3  # to reach the store and get an answer
DEFAULT_ZONE = "Europe/London"  # a centre file's zone when it names none
MARKS = {"ok": "✓", "warning": "!", "failed": "✗"}


@dataclass(frozen=True)
class Check:
    """One answer: ``ok`` is True (passed), None (a warning) or False (failed)."""

    name: str
    ok: bool | None
    detail: str

    @property
    def status(self) -> str:
        return "ok" if self.ok else "warning" if self.ok is None else "failed"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "status": self.status, "detail": self.detail}


@dataclass
class _Facts:
    """What the checks learnt that later checks use."""

    zones: list[str] = field(default_factory=list)  # centre file's, then the store's centres'
    server_skew: float | None = None  # database server minus this machine, seconds
    store_file: Path | None = None  # the SQLite file, if the store is one
    tls: str | None = None  # the TLS version of the PostgreSQL connection, "" if none
    devices: dict[str, Any] = field(default_factory=dict)


def run_checks(
    db: Store | str | None = None,
    *,
    centre: str | None = None,
    centre_file: str | Path | None = None,
    kiosk_settings: str | Path | None = None,
    printer: str | None = None,
    scanner: str | None = None,
    clock: Clock | None = None,
) -> list[Check]:
    """Every check, in order: configuration, store, migrated, centre, time zone, clock,
    devices (printer, scanner, door), disk. ``db`` is a store, or its URL (``None``:
    ``GATEWAY_DB``, else the default file). ``printer`` and ``scanner`` win over the
    kiosk settings' ones. It changes nothing in the store, and a missing SQLite file is
    not created."""
    clock = clock or WallClock()
    facts = _Facts()
    checks = [_configuration(centre_file, kiosk_settings, facts)]
    checks += _store_checks(db, centre, clock, facts)
    checks += _clock_checks(clock.now(), facts)
    if printer is not None:
        facts.devices["printer"] = printer
    if scanner is not None:
        facts.devices["scanner"] = scanner
    checks += _device_checks(facts.devices)
    checks.append(disk_check(facts.store_file.parent if facts.store_file else Path.cwd()))
    checks.append(logs_check())
    return checks


def logs_check() -> Check:
    """Where this machine's logs go (``GATEWAY_LOG``), and whether anything is there."""
    from gateway.logs import JOURNAL_SOCKET, LOG_ENV

    target = os.environ.get(LOG_ENV, "").strip()
    if target == "journal":
        socket = os.environ.get("GATEWAY_JOURNAL_SOCKET", JOURNAL_SOCKET)
        if Path(socket).exists():
            return Check("logs", True, "Logs go to the journal (journalctl -t gateway-kiosk ...).")
        return Check(
            "logs",
            False,
            f"GATEWAY_LOG says the journal, but there is none here ({socket} is missing): "
            "logs are lost. Run under systemd, or set GATEWAY_LOG to a file.",
        )
    if target in ("json", "stderr"):
        return Check("logs", True, "Logs go to standard error, as JSON lines.")
    if target:
        folder = Path(target).expanduser().parent
        if not os.access(folder if folder.exists() else folder.parent, os.W_OK):
            return Check("logs", False, f"Logs cannot be written to {target}: check the folder.")
        return Check("logs", True, f"Logs go to {target}, as JSON lines.")
    return Check(
        "logs",
        True,
        "GATEWAY_LOG is not set: screens log to a file in the user's log folder "
        "(the systemd units set GATEWAY_LOG=journal).",
    )


def report(checks: list[Check]) -> dict[str, Any]:
    """The JSON shape: every check, and ``ok`` when none failed (warnings allowed)."""
    return {"checks": [c.as_dict() for c in checks], "ok": exit_code(checks) == 0}


def exit_code(checks: list[Check]) -> int:
    return 1 if any(c.ok is False for c in checks) else 0


def render_text(checks: list[Check]) -> str:
    """One line per check (✓ passed, ! warning, ✗ failed), then a verdict."""
    width = max((len(c.name) for c in checks), default=0)
    lines = [f"{MARKS[c.status]} {c.name:<{width}}  {c.detail}" for c in checks]
    failed = sum(c.ok is False for c in checks)
    warnings = sum(c.ok is None for c in checks)
    if failed:
        lines.append(f"{_count(failed, 'check')} failed: this machine is not ready.")
    elif warnings:
        lines.append(f"Ready, with {_count(warnings, 'warning')}.")
    else:
        lines.append("Ready: every check passed.")
    return "\n".join(lines)


# -- configuration ----------------------------------------------------------------------


def _configuration(
    centre_file: str | Path | None, kiosk_settings: str | Path | None, facts: _Facts
) -> Check:
    """The centre file parses (the first of its problems, as ``check-config`` words it);
    the kiosk settings file reads and names its devices."""
    from gateway.config import load_centre_file

    said, wrong = [], []
    if centre_file is not None:
        facts.zones.append(_zone_named_in(Path(centre_file)))
        try:
            info = load_centre_file(centre_file).centre
            said.append(f"{centre_file} is a valid centre file for {info.name} ({info.code})")
        except ConfigError as exc:
            wrong.append(str(exc))
    if kiosk_settings is not None:
        try:
            facts.devices = _kiosk_devices(Path(kiosk_settings))
            said.append(f"{kiosk_settings} names the kiosk's devices")
        except ConfigError as exc:
            wrong.append(str(exc))
    if wrong:
        return Check("configuration", False, "; ".join(wrong))
    if not said:
        return Check("configuration", True, "No centre file or kiosk settings were given to check.")
    return Check("configuration", True, "; ".join(said) + ".")


def _zone_named_in(path: Path) -> str:
    """The zone a centre file names, read even when the file is otherwise broken."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
        zone = raw.get("centre", {}).get("timezone", DEFAULT_ZONE)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError, AttributeError):
        return DEFAULT_ZONE
    return zone if isinstance(zone, str) else DEFAULT_ZONE


def _kiosk_devices(path: Path) -> dict[str, Any]:
    """The device specs in a kiosk settings file's ``[kiosk]`` table (the kiosk itself
    checks its timers and PIN when it starts; the devices plugin checks these)."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError([f"{path}: cannot be read ({exc})"]) from None
    table = raw.get("kiosk", {})
    if not isinstance(table, dict):
        raise ConfigError([f"{path}: [kiosk] must be a table"])
    wanted = {"printer": str, "printer_profile": str, "paper_width": int}
    wanted |= {"scanner": str, "door": str}
    found: dict[str, Any] = {}
    for key, kind in wanted.items():
        value = table.get(key)
        if value is not None and not isinstance(value, kind):
            what = "a number" if kind is int else "a string"
            raise ConfigError([f"{path}: kiosk.{key}: must be {what}"])
        if value is not None:
            found[key] = value
    found.setdefault("printer", "none")
    return found


# -- the store ----------------------------------------------------------------------------


def _store_checks(
    db: Store | str | None, centre: str | None, clock: Clock, facts: _Facts
) -> list[Check]:
    from sqlalchemy.engine import make_url

    from gateway.store import Store, resolve_url

    url = db.url if isinstance(db, Store) else resolve_url(db)
    try:
        parsed = make_url(url)
    except Exception:
        return [Check("store", False, f"'{db}' is not a store URL I understand.")]
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        facts.store_file = Path(parsed.database or "")
        if not facts.store_file.is_file():
            return [
                Check(
                    "store",
                    False,
                    f"There is no store at {facts.store_file}; run `gateway init` to make "
                    "one, or point --db or GATEWAY_DB at the right file.",
                )
            ]
    if isinstance(db, Store):
        return _on_store(db, centre, clock, facts)
    try:
        store = Store(url)
    except ModuleNotFoundError as exc:
        return [Check("store", False, f"The store URL needs a driver that is missing: {exc.name}.")]
    except Exception as exc:
        return [Check("store", False, f"'{db}' is not a store URL I understand ({exc}).")]
    try:
        return _on_store(store, centre, clock, facts)
    finally:
        store.dispose()


def _on_store(store: Store, centre: str | None, clock: Clock, facts: _Facts) -> list[Check]:
    ping = _ping(store, clock, facts)
    if ping.ok is False:
        return [ping]
    checks = [ping]
    if store.dialect == "postgresql":
        checks += _connection_checks(store, facts)
    migrated = _migrated(store)
    checks.append(migrated)
    if migrated.ok is False:
        return checks
    return [*checks, _centre(store, centre, facts)]


def _ping(store: Store, clock: Clock, facts: _Facts) -> Check:
    """SELECT 1 (and the server's clock, on PostgreSQL) within a few seconds."""
    import sqlalchemy as sa
    from sqlalchemy.exc import DBAPIError
    from sqlalchemy.pool import NullPool

    postgres = store.dialect == "postgresql"
    engine = store.engine
    if postgres:  # a connection of our own, with short timeouts, not the store's pool
        timeouts = {
            "connect_timeout": PING_SECONDS,
            "options": f"-c statement_timeout={PING_SECONDS * 1000}",
            # The password the store itself found (a file or a credential), not read again.
            **{k: v for k, v in store.connect_args.items() if k == "password"},
        }
        engine = sa.create_engine(store.url, poolclass=NullPool, connect_args=timeouts)
    began = time.monotonic()
    try:
        with engine.connect() as connection:
            before = clock.now()
            connection.exec_driver_sql("SELECT 1")
            if postgres:
                server: datetime = connection.exec_driver_sql(
                    "SELECT clock_timestamp()"
                ).scalar_one()
                version = connection.exec_driver_sql("SHOW server_version").scalar_one()
                facts.tls = connection.exec_driver_sql(
                    "SELECT coalesce(max(version), '') FROM pg_stat_ssl "
                    "WHERE pid = pg_backend_pid() AND ssl"
                ).scalar_one()
                machine = before + (clock.now() - before) / 2
                facts.server_skew = (server - machine).total_seconds()
    except DBAPIError as exc:
        advice = (
            "check that it is running and the URL is right"
            if postgres
            else "check that --db or GATEWAY_DB names Gateway's store"
        )
        return Check(
            "store",
            False,
            f"The store at {store.where} cannot be reached ({_reason(exc)}); {advice}.",
        )
    finally:
        if postgres:
            engine.dispose()
    ms = (time.monotonic() - began) * 1000
    what = f"PostgreSQL {version.split()[0]}" if postgres else "SQLite"
    return Check("store", True, f"The store at {store.where} answers ({what}, {ms:.0f} ms).")


_LOCAL = ("", "localhost", "127.0.0.1", "::1")


def _connection_checks(store: Store, facts: _Facts) -> list[Check]:
    """How this machine reaches PostgreSQL: encrypted when it crosses a network, and no
    password in the URL (it belongs in a file or a systemd credential)."""
    from sqlalchemy.engine import make_url

    url = make_url(store.url)
    host = url.host or ""
    sslmode = str(url.query.get("sslmode") or os.environ.get("PGSSLMODE") or "")
    checks = []
    if facts.tls:
        if sslmode == "verify-full":
            checks.append(Check("encryption", True, f"The connection is encrypted ({facts.tls})."))
        else:
            checks.append(
                Check(
                    "encryption",
                    None,
                    f"The connection is encrypted ({facts.tls}), but the server's certificate "
                    "is not checked: add sslmode=verify-full&sslrootcert=FILE to the URL.",
                )
            )
    elif host in _LOCAL or host.startswith("/"):
        checks.append(
            Check("encryption", True, "The store is on this machine: no network to encrypt.")
        )
    else:
        checks.append(
            Check(
                "encryption",
                None,
                f"The connection to {host} is not encrypted: add "
                "sslmode=verify-full&sslrootcert=FILE to the URL (docs/DEPLOY.md).",
            )
        )
    if url.password:
        checks.append(
            Check(
                "password",
                None,
                "The store URL carries a password: move it to a file named by "
                "GATEWAY_DB_PASSWORD_FILE, or a systemd credential (docs/DEPLOY.md).",
            )
        )
    return checks


def _migrated(store: Store) -> Check:
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import DBAPIError

    from gateway import migrate

    scripts = ScriptDirectory(str(migrate.MIGRATIONS))
    head = scripts.get_current_head()
    differences: list[Any] = []
    try:
        revision = migrate.current(store)
        if revision == head:
            differences = migrate.differences(store)
    except DBAPIError as exc:
        return Check("migrated", False, f"The store's revision cannot be read ({_reason(exc)}).")
    if revision is None:
        return Check(
            "migrated", False, "The store has no tables yet; run `gateway init` to set it up."
        )
    if revision not in {s.revision for s in scripts.walk_revisions()}:
        return Check(
            "migrated",
            False,
            f"The store is at revision {revision}, which this Gateway does not know (a newer "
            "one set it up); upgrade Gateway on this machine.",
        )
    if revision != head:
        return Check(
            "migrated",
            False,
            f"The store is at revision {revision}, but this Gateway needs {head}; run "
            "`gateway db upgrade`.",
        )
    if differences:
        return Check(
            "migrated",
            False,
            f"The store is at revision {head} but its tables differ from the models in "
            f"{_count(len(differences), 'way')}; `gateway db check` lists them.",
        )
    return Check("migrated", True, f"The store is at the newest revision ({head}).")


def _centre(store: Store, code: str | None, facts: _Facts) -> Check:
    from gateway.centres import list_centres
    from gateway.errors import GatewayError

    try:
        centres = list_centres(store)
    except GatewayError as exc:  # locked for too long, or went away since the ping
        return Check("centre", False, str(exc))
    codes = ", ".join(c.code for c in centres)
    if code is not None:
        centres = [c for c in centres if c.code == code]
        if not centres:
            held = f" (it holds {codes})" if codes else ""
            return Check(
                "centre",
                False,
                f"There is no centre called '{code}' in the store{held}; "
                "`gateway init FILE` loads one.",
            )
    if not centres:
        return Check(
            "centre", False, "The store holds no centre yet; run `gateway init FILE` to load one."
        )
    facts.zones += [c.timezone for c in centres]
    if len(centres) == 1:
        return Check("centre", True, f"The store holds {centres[0].name} ({centres[0].code}).")
    return Check("centre", True, f"The store holds {len(centres)} centres: {codes}.")


# -- clock and time zone ----------------------------------------------------------------


def _clock_checks(now: datetime, facts: _Facts) -> list[Check]:
    zone = _zone_check(now, facts.zones or [DEFAULT_ZONE])
    if zone.ok and not facts.zones:
        zone = Check(zone.name, zone.ok, f"No centre was found, so the default: {zone.detail}")
    return [zone, _clock_check(now, facts)]


def _zone_check(now: datetime, zones: list[str]) -> Check:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    said = []
    for name in dict.fromkeys(zones):  # each once, in order
        try:
            local = now.astimezone(ZoneInfo(name))
        except (ZoneInfoNotFoundError, ValueError, OSError):
            return Check(
                "time zone",
                False,
                f"The time zone '{name}' is not one this machine knows; correct the centre's "
                "timezone (like Europe/London) or update tzdata.",
            )
        day = business_day(now, name)
        said.append(
            f"{name} is at UTC{_offset(local)}, {local:%H:%M} on {local:%A} {local.day} "
            f"{local:%B %Y} (business day {day})"
        )
    return Check("time zone", True, "; ".join(said) + ".")


def _clock_check(now: datetime, facts: _Facts) -> Check:
    said = f"This machine's clock says {now:%Y-%m-%d %H:%M:%S} UTC"
    if now.year < EARLIEST_YEAR:
        return Check(
            "clock",
            False,
            f"{said}, which cannot be right; set the date and time (timedatectl set-ntp true).",
        )
    skew = facts.server_skew
    if skew is None:
        return Check("clock", True, f"{said}.")
    if abs(skew) > SKEW_SECONDS:
        way = "ahead of" if skew > 0 else "behind"
        return Check(
            "clock",
            False,
            f"The database server's clock is {abs(skew):.0f} s {way} this machine's; set "
            "both by NTP (timedatectl set-ntp true) so tickets and reports agree.",
        )
    return Check(
        "clock", True, f"{said}, and the database server's agrees (within {abs(skew):.0f} s)."
    )


def _offset(local: datetime) -> str:
    minutes = round((local.utcoffset() or timedelta(0)).total_seconds() / 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


# -- printers and scanners ----------------------------------------------------------------


def _device_checks(devices: dict[str, Any]) -> list[Check]:
    """The printer and serial devices, through the devices plugin."""
    if not any(devices.get(k) for k in ("printer", "scanner", "door")):
        return [Check("devices", True, "No printer or scanner was given to check.")]
    check = _devices_plugin()
    if check is None:
        return [
            Check(
                "devices",
                False,
                "The device checks are not installed here; reinstall gateway-centre.",
            )
        ]
    try:
        return check(
            printer=devices.get("printer"),
            scanner=devices.get("scanner"),
            door=devices.get("door"),
            profile=devices.get("printer_profile"),
            width=devices.get("paper_width"),
        )
    except Exception as exc:  # never a traceback: log it, say one sentence
        log.exception("the device checks failed")
        return [
            Check(
                "devices",
                False,
                f"The device checks stopped with an unexpected problem "
                f"({exc.__class__.__name__}); the details are in the log.",
            )
        ]


def _devices_plugin() -> Callable[..., list[Check]] | None:
    from importlib.metadata import entry_points

    found = entry_points(group="gateway.devices", name="doctor")
    if not found:
        return None
    check: Callable[..., list[Check]] = next(iter(found)).load()
    return check


# -- disk -----------------------------------------------------------------------------------


def disk_check(folder: Path) -> Check:
    """Free space where the store lives: under 1 GiB or 5 % fails, under 5 GiB warns."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        usage = shutil.disk_usage(folder)
    except OSError as exc:
        return Check("disk", False, f"The free space at {folder} cannot be read ({exc.strerror}).")
    share = usage.free / usage.total if usage.total else 0.0
    # The share is rounded down, so "4 %" is under the 5 % line rather than "5 %" on it.
    said = (
        f"{usage.free / GIB:.1f} GiB free of {usage.total / GIB:.0f} GiB "
        f"({int(share * 100)} %) at {folder}"
    )
    if usage.free < FAIL_FREE_BYTES or share < FAIL_FREE_SHARE:
        return Check(
            "disk", False, f"Only {said}; free some space now: a full disk stops the store."
        )
    if usage.free < WARN_FREE_BYTES:
        return Check("disk", None, f"Only {said}; free some space soon.")
    return Check("disk", True, f"{said[:1].upper()}{said[1:]}.")


# -- sentences --------------------------------------------------------------------------------


def _reason(exc: BaseException) -> str:
    """The driver's own words, short: "connection refused", "unable to open database file"."""
    text = str(getattr(exc, "orig", exc)).strip().splitlines()
    line = text[0] if text else exc.__class__.__name__
    line = line.rsplit(" failed: ", 1)[-1].removeprefix("FATAL:").strip()
    return (line[:1].lower() + line[1:])[:160]


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
