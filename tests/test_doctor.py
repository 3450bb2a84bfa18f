"""``gateway doctor``: a ready machine passes every check; each kind of trouble fails its own
check with one sentence, never a traceback. Real stores, real files, fake hardware on
pseudo-terminals; only the disk's size is made up (``shutil.disk_usage``)."""

from __future__ import annotations

import contextlib
import io
import json
import re
import shutil
import time
from collections import namedtuple
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway import migrate
from gateway.centres import load_centre
from gateway.clock import FixedClock, WallClock
from gateway.config import load_centre_file
from gateway.doctor import GIB, Check, disk_check, exit_code, render_text, report, run_checks
from gateway.errors import ConfigError
from gateway.store import Store
from tests.conftest import SMALL_CENTRE
from tests.devices.fakes import FakeSerialLine, FakeSerialPrinter

Usage = namedtuple("Usage", "total used free")


def _head() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(migrate.MIGRATIONS)).get_current_head()
    assert head is not None
    return head


def by_name(checks: list[Check]) -> dict[str, Check]:
    names = [c.name for c in checks]
    assert len(names) == len(set(names)), names
    return {c.name: c for c in checks}


@pytest.fixture
def disk(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """A roomy disk (500 GiB free of 1000), whatever this machine has; records where asked."""
    asked: list[Path] = []

    def usage(path: Path) -> Usage:
        asked.append(Path(path))
        return Usage(1000 * GIB, 500 * GIB, 500 * GIB)

    monkeypatch.setattr(shutil, "disk_usage", usage)
    return asked


def _bad_centre(tmp_path: Path, old: str, new: str) -> Path:
    text = SMALL_CENTRE.read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "centre.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _kiosk(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text("[kiosk]\n" + body, encoding="utf-8")
    return path


# -- a ready machine -----------------------------------------------------------------------


def test_a_good_sqlite_store_passes_every_check(store, clock, disk, tmp_path):
    checks = run_checks(store.url, centre_file=SMALL_CENTRE, clock=clock)

    assert [c.name for c in checks] == [
        "configuration", "store", "migrated", "centre", "time zone", "clock", "devices", "disk",
        "logs",
    ]  # fmt: skip
    assert [c.ok for c in checks] == [True] * 9, render_text(checks)
    found = by_name(checks)
    assert found["configuration"].detail == (
        f"{SMALL_CENTRE} is a valid centre file for Test Gateway (testing)."
    )
    assert re.fullmatch(
        rf"The store at {re.escape(store.where)} answers \(SQLite, \d+ ms\)\.",
        found["store"].detail,
    )
    assert found["migrated"].detail == f"The store is at the newest revision ({_head()})."
    assert found["centre"].detail == "The store holds Test Gateway (testing)."
    assert found["time zone"].detail == (
        "Europe/London is at UTC+00:00, 09:00 on Monday 23 November 2026 (business day 2026-11-23)."
    )
    assert found["clock"].detail == "This machine's clock says 2026-11-23 09:00:00 UTC."
    assert found["devices"].detail == "No printer or scanner was given to check."
    assert found["disk"].detail == f"500.0 GiB free of 1000 GiB (50 %) at {tmp_path}."
    assert disk == [tmp_path], "the free space is measured where the SQLite file lives"
    assert exit_code(checks) == 0
    assert report(checks)["ok"] is True
    assert render_text(checks).splitlines()[-1] == "Ready: every check passed."


def test_a_store_object_is_checked_the_same_as_its_url(store, clock, disk):
    checks = run_checks(store, centre="testing", clock=clock)
    assert [c.ok for c in checks] == [True] * 9, render_text(checks)


def test_summer_time_and_the_local_business_day_show_in_the_zones_detail(store, disk):
    late_evening = FixedClock(datetime(2026, 7, 1, 23, 30, tzinfo=UTC))  # 00:30 BST, 2 July
    found = by_name(run_checks(store, clock=late_evening))
    assert found["time zone"].detail == (
        "Europe/London is at UTC+01:00, 00:30 on Thursday 2 July 2026 (business day 2026-07-02)."
    )


# -- the store ---------------------------------------------------------------------------------


def test_an_empty_store_fails_migrated_and_says_to_run_init(tmp_path, clock, disk):
    empty = tmp_path / "empty.db"
    empty.touch()  # an empty file is an SQLite database with no tables
    checks = run_checks(str(empty), clock=clock)
    found = by_name(checks)
    assert found["store"].ok is True
    assert found["migrated"].ok is False
    assert found["migrated"].detail == (
        "The store has no tables yet; run `gateway init` to set it up."
    )
    assert "centre" not in found, "nothing to ask a store without tables"
    assert exit_code(checks) == 1
    assert report(checks)["ok"] is False


def test_a_store_one_migration_behind_says_run_db_upgrade(tmp_path, clock, disk):
    from alembic.script import ScriptDirectory

    head = _head()
    before = ScriptDirectory(str(migrate.MIGRATIONS)).get_revision(head).down_revision
    assert isinstance(before, str)
    store = Store(str(tmp_path / "old.db"))
    migrate.upgrade(store, before)
    found = by_name(run_checks(store, clock=clock))
    store.dispose()
    assert found["migrated"].ok is False
    assert found["migrated"].detail == (
        f"The store is at revision {before}, but this Gateway needs {head}; run "
        "`gateway db upgrade`."
    )


def test_a_migrated_store_without_a_centre_fails_centre(tmp_path, clock, disk):
    store = Store(str(tmp_path / "bare.db"))
    migrate.upgrade(store)
    found = by_name(run_checks(store, clock=clock))
    assert found["migrated"].ok is True
    assert found["centre"].ok is False
    assert found["centre"].detail == (
        "The store holds no centre yet; run `gateway init FILE` to load one."
    )


def test_asking_for_a_centre_the_store_does_not_hold_fails_centre(store, clock, disk):
    found = by_name(run_checks(store, centre="elsewhere", clock=clock))
    assert found["centre"].ok is False
    assert found["centre"].detail == (
        "There is no centre called 'elsewhere' in the store (it holds testing); "
        "`gateway init FILE` loads one."
    )


def test_a_missing_sqlite_file_fails_store_and_is_not_created(tmp_path, clock, disk):
    missing = tmp_path / "nowhere" / "gateway.db"
    checks = run_checks(str(missing), clock=clock)
    found = by_name(checks)
    assert found["store"].ok is False
    assert found["store"].detail == (
        f"There is no store at {missing}; run `gateway init` to make one, or point --db or "
        "GATEWAY_DB at the right file."
    )
    assert "migrated" not in found
    assert not missing.parent.exists(), "the doctor must not create a store"
    assert disk == [tmp_path], "the free space is measured in the nearest folder that exists"


def test_an_unreachable_postgresql_fails_store_quickly_with_a_sentence(clock, disk):
    began = time.monotonic()
    checks = run_checks("postgresql://postgres@127.0.0.1:1/gateway", clock=clock)
    took = time.monotonic() - began
    found = by_name(checks)
    assert found["store"].ok is False
    assert found["store"].detail == (
        "The store at postgresql+psycopg://postgres@127.0.0.1:1/gateway cannot be reached "
        "(connection refused); check that it is running and the URL is right."
    )
    assert "migrated" not in found
    assert found["clock"].detail == "This machine's clock says 2026-11-23 09:00:00 UTC."
    assert took < 5
    assert exit_code(checks) == 1


def test_a_store_url_that_makes_no_sense_fails_store(clock, disk):
    found = by_name(run_checks("nosuchdb://x/y", clock=clock))
    assert found["store"].ok is False
    assert found["store"].detail.startswith("'nosuchdb://x/y' is not a store URL I understand")


def _pg_store(url: str) -> Store:
    store = Store(url)
    migrate.upgrade(store)
    load_centre(store, load_centre_file(SMALL_CENTRE), WallClock())
    return store


@pytest.mark.postgres
def test_a_postgresql_store_passes_and_its_clock_agrees(pg_url, disk):
    store = _pg_store(pg_url)
    try:
        checks = run_checks(pg_url, clock=WallClock())
    finally:
        store.dispose()
    assert [c.ok for c in checks] == [True] * 10, render_text(checks)
    found = by_name(checks)
    assert found["encryption"].detail == "The store is on this machine: no network to encrypt."
    assert re.fullmatch(
        rf"The store at {re.escape(store.where)} answers \(PostgreSQL \d+[.\d]*, \d+ ms\)\.",
        found["store"].detail,
    )
    assert re.fullmatch(
        r"This machine's clock says \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, and the database "
        r"server's agrees \(within [0-9] s\)\.",
        found["clock"].detail,
    )
    assert disk == [Path.cwd()], "no SQLite file: the free space is measured here"


@pytest.mark.postgres
def test_a_database_server_clock_minutes_away_fails_clock(pg_url, disk):
    store = _pg_store(pg_url)
    five_minutes_ahead = FixedClock(datetime.now(UTC) + timedelta(minutes=5))
    try:
        found = by_name(run_checks(store, clock=five_minutes_ahead))
    finally:
        store.dispose()
    assert found["clock"].ok is False
    match = re.fullmatch(
        r"The database server's clock is (\d+) s behind this machine's; set both by NTP "
        r"\(timedatectl set-ntp true\) so tickets and reports agree\.",
        found["clock"].detail,
    )
    assert match and 295 <= int(match[1]) <= 305, found["clock"].detail


def test_a_clock_that_lost_its_time_fails(store, disk):
    found = by_name(run_checks(store, clock=FixedClock(datetime(2001, 1, 1, tzinfo=UTC))))
    assert found["clock"].ok is False
    assert found["clock"].detail == (
        "This machine's clock says 2001-01-01 00:00:00 UTC, which cannot be right; set the "
        "date and time (timedatectl set-ntp true)."
    )


# -- configuration ---------------------------------------------------------------------------


def test_a_malformed_centre_file_fails_configuration_with_the_configs_sentence(
    tmp_path, store, clock, disk
):
    path = tmp_path / "centre.toml"
    path.write_text("[centre\ncode = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_centre_file(path)
    found = by_name(run_checks(store, centre_file=path, clock=clock))
    assert found["configuration"].ok is False
    assert found["configuration"].detail == str(raised.value)
    assert found["configuration"].detail.startswith(f"{path}: is not valid TOML: ")
    assert found["store"].ok is True, "the other checks still run"


def test_a_broken_centre_file_still_lets_the_kiosks_printer_be_checked(
    tmp_path, store, clock, disk
):
    centre = _bad_centre(tmp_path, 'name = "Test Gateway"\n', "")
    kiosk = _kiosk(tmp_path, f'printer = "preview:{tmp_path}"\n')
    found = by_name(run_checks(store, centre_file=centre, kiosk_settings=kiosk, clock=clock))
    assert found["configuration"].detail == f"{centre}: centre.name: is required but missing"
    assert found["printer"].detail == f"The printer preview:{tmp_path} is ready."


def test_a_centre_file_missing_a_field_names_the_field(tmp_path, store, clock, disk):
    path = _bad_centre(tmp_path, 'name = "Test Gateway"\n', "")
    found = by_name(run_checks(store, centre_file=path, clock=clock))
    assert found["configuration"].detail == f"{path}: centre.name: is required but missing"


def test_an_unknown_time_zone_in_a_centre_file_fails_configuration_and_time_zone(
    tmp_path, store, clock, disk
):
    path = _bad_centre(tmp_path, '"Europe/London"', '"Mars/Olympus_Mons"')
    checks = run_checks(store, centre_file=path, clock=clock)
    found = by_name(checks)
    assert found["configuration"].ok is False
    assert found["configuration"].detail == (
        f"{path}: centre.timezone: is not a known time zone (like Europe/London) "
        "(got 'Mars/Olympus_Mons')"
    )
    assert found["time zone"].ok is False
    assert found["time zone"].detail == (
        "The time zone 'Mars/Olympus_Mons' is not one this machine knows; correct the "
        "centre's timezone (like Europe/London) or update tzdata."
    )
    assert exit_code(checks) == 1


def test_a_kiosk_settings_file_that_is_not_toml_fails_configuration(tmp_path, store, clock, disk):
    path = _kiosk(tmp_path, "printer = \n")
    found = by_name(run_checks(store, kiosk_settings=path, clock=clock))
    assert found["configuration"].ok is False
    assert found["configuration"].detail.startswith(f"{path}: cannot be read (")


def test_a_kiosk_settings_printer_that_is_not_a_string_fails_configuration(
    tmp_path, store, clock, disk
):
    path = _kiosk(tmp_path, "printer = 5\n")
    found = by_name(run_checks(store, kiosk_settings=path, clock=clock))
    assert found["configuration"].detail == f"{path}: kiosk.printer: must be a string"


def test_the_kiosk_settings_printer_scanner_and_door_are_checked(tmp_path, store, clock, disk):
    folder = tmp_path / "paper"
    with FakeSerialLine() as scanner, FakeSerialLine() as door:
        path = _kiosk(
            tmp_path,
            f'printer = "preview:{folder}"\nscanner = "{scanner.spec}"\ndoor = "{door.spec}"\n',
        )
        checks = run_checks(store, kiosk_settings=path, clock=clock)
    found = by_name(checks)
    assert found["configuration"].detail == f"{path} names the kiosk's devices."
    assert found["printer"].ok is True
    assert found["printer"].detail == f"The printer preview:{folder} is ready."
    assert found["scanner"].detail == f"The scanner {scanner.spec} opens."
    assert found["door"].detail == f"The door {door.spec} opens."
    assert "devices" not in found
    assert exit_code(checks) == 0, render_text(checks)


def test_a_printer_given_on_the_command_line_wins_over_the_kiosk_settings(
    tmp_path, store, clock, disk
):
    path = _kiosk(tmp_path, 'printer = "file:/nowhere/lp0"\n')
    found = by_name(
        run_checks(store, kiosk_settings=path, printer=f"preview:{tmp_path}", clock=clock)
    )
    assert found["printer"].detail == f"The printer preview:{tmp_path} is ready."


def test_a_bad_paper_width_in_the_kiosk_settings_fails_the_printer(tmp_path, store, clock, disk):
    path = _kiosk(tmp_path, f'printer = "preview:{tmp_path}"\npaper_width = 60\n')
    found = by_name(run_checks(store, kiosk_settings=path, clock=clock))
    assert found["printer"].ok is False
    assert (
        found["printer"].detail == f"'preview:{tmp_path}': the paper width must be 58 or 80 (mm)."
    )


# -- printers and scanners -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "ok", "says"),
    [
        ("online", True, "is ready."),
        ("low", None, "is low on paper; load a new roll soon."),
        ("out", False, "is out of paper; check its power, cable, paper and cover."),
        ("cover", False, "has its cover open; check its power, cable, paper and cover."),
        (
            "silent",
            False,
            "did not answer (no answer within 1 s); check its power, cable, paper and cover.",
        ),
    ],
)
def test_a_serial_printer_is_asked_its_status(mode, ok, says, store, clock, disk):
    with FakeSerialPrinter(mode) as printer:
        found = by_name(run_checks(store, printer=printer.spec, clock=clock))
        assert printer.queries, "the printer was asked (DLE EOT)"
    assert found["printer"].ok is ok
    assert found["printer"].detail == f"The printer {printer.spec} {says}"
    assert exit_code(list(found.values())) == (1 if ok is False else 0)


def test_a_serial_printer_that_is_not_plugged_in_fails(tmp_path, store, clock, disk):
    spec = f"serial:{tmp_path / 'ttyUSB9'}"
    found = by_name(run_checks(store, printer=spec, clock=clock))
    assert found["printer"].ok is False
    assert found["printer"].detail == (
        f"The printer {spec} did not answer (it cannot be reached); check its power, cable, "
        "paper and cover."
    )


def test_a_preview_printer_is_ready_and_nothing_is_printed(tmp_path, store, clock, disk):
    folder = tmp_path / "paper"
    found = by_name(run_checks(store, printer=f"preview:{folder}", clock=clock))
    assert found["printer"] == Check("printer", True, f"The printer preview:{folder} is ready.")
    assert not folder.exists()


def test_a_file_printer_cannot_report_status_so_is_a_warning_and_is_never_opened(
    tmp_path, store, clock, disk
):
    device = tmp_path / "lp0"
    device.write_bytes(b"earlier bytes")
    found = by_name(run_checks(store, printer=f"file:{device}", clock=clock))
    assert found["printer"].ok is None
    assert found["printer"].detail == (
        f"The printer file:{device} cannot report its status; `gateway printer test` shows "
        "whether it prints."
    )
    assert device.read_bytes() == b"earlier bytes", "opening the file would have emptied it"
    assert exit_code(list(found.values())) == 0, "a warning is not a failure"


def test_a_file_printer_whose_device_is_missing_fails(tmp_path, store, clock, disk):
    found = by_name(run_checks(store, printer=f"file:{tmp_path}/lp0", clock=clock))
    assert found["printer"] == Check(
        "printer", False, f"The printer file:{tmp_path}/lp0 is not there: {tmp_path}/lp0 does "
        "not exist."
    )  # fmt: skip


def test_a_printer_spec_that_makes_no_sense_fails_with_the_devices_sentence(store, clock, disk):
    found = by_name(run_checks(store, printer="lpt:1", clock=clock))
    assert found["printer"].ok is False
    assert found["printer"].detail.startswith("'lpt:1' is not a printer this kiosk understands")


def test_a_scanner_that_is_not_there_fails_with_the_reason(tmp_path, store, clock, disk):
    spec = f"serial:{tmp_path / 'ttyACM0'}"
    found = by_name(run_checks(store, scanner=spec, clock=clock))
    assert found["scanner"].ok is False
    assert found["scanner"].detail == (
        f"The scanner {spec} cannot be opened (no such file or directory); check its cable "
        "and that this user is in the dialout group."
    )


def test_a_scanner_spec_that_is_not_serial_fails(store, clock, disk):
    found = by_name(run_checks(store, scanner="usb:1234", clock=clock))
    assert found["scanner"].detail == (
        "'usb:1234' is not a serial device (use serial:/dev/ttyACM0 or "
        "serial:/dev/ttyUSB0?baud=9600)."
    )


def test_the_device_checks_are_a_registered_plugin_not_an_import():
    from importlib.metadata import entry_points

    (plugin,) = entry_points(group="gateway.devices", name="doctor")
    assert plugin.value == "devices.doctor:device_checks"
    assert callable(plugin.load())


def test_without_the_devices_plugin_the_doctor_says_to_reinstall(
    monkeypatch, store, clock, disk, tmp_path
):
    import gateway.doctor

    monkeypatch.setattr(gateway.doctor, "_devices_plugin", lambda: None)
    found = by_name(run_checks(store, printer=f"preview:{tmp_path}", clock=clock))
    assert found["devices"] == Check(
        "devices", False, "The device checks are not installed here; reinstall gateway-centre."
    )


# -- disk ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("free", "total", "ok", "detail"),
    [
        (10, 100, True, "10.0 GiB free of 100 GiB (10 %) at {where}."),
        (4, 50, None, "Only 4.0 GiB free of 50 GiB (8 %) at {where}; free some space soon."),
        (
            0.5,
            8,
            False,
            "Only 0.5 GiB free of 8 GiB (6 %) at {where}; free some space now: a full disk "
            "stops the store.",
        ),
        (
            9.9,
            200,
            False,
            "Only 9.9 GiB free of 200 GiB (4 %) at {where}; free some space now: a full disk "
            "stops the store.",
        ),
    ],
)
def test_free_disk_space_under_5_gib_warns_and_under_1_gib_or_5_percent_fails(
    free, total, ok, detail, monkeypatch, tmp_path
):
    monkeypatch.setattr(
        shutil,
        "disk_usage",
        lambda _path: Usage(int(total * GIB), int((total - free) * GIB), int(free * GIB)),
    )
    assert disk_check(tmp_path) == Check("disk", ok, detail.format(where=tmp_path))


def test_a_nearly_full_disk_under_the_store_fails_the_doctor(monkeypatch, store, clock):
    monkeypatch.setattr(shutil, "disk_usage", lambda _path: Usage(100 * GIB, 99.5 * GIB, GIB // 2))
    checks = run_checks(store, clock=clock)
    assert by_name(checks)["disk"].ok is False
    assert exit_code(checks) == 1


# -- what the operator reads ---------------------------------------------------------------------


def test_the_text_marks_each_line_and_ends_with_a_verdict():
    checks = [
        Check("store", True, "The store answers."),
        Check("printer", None, "The printer is low on paper."),
        Check("disk", False, "Only 0.5 GiB free."),
    ]
    assert render_text(checks) == (
        "✓ store    The store answers.\n"
        "! printer  The printer is low on paper.\n"
        "✗ disk     Only 0.5 GiB free.\n"
        "1 check failed: this machine is not ready."
    )
    assert render_text(checks[:2]).splitlines()[-1] == "Ready, with 1 warning."
    assert report(checks) == {
        "checks": [
            {"name": "store", "ok": True, "status": "ok", "detail": "The store answers."},
            {
                "name": "printer",
                "ok": None,
                "status": "warning",
                "detail": "The printer is low on paper.",
            },
            {"name": "disk", "ok": False, "status": "failed", "detail": "Only 0.5 GiB free."},
        ],
        "ok": False,
    }
    assert exit_code(checks) == 1 and exit_code(checks[:2]) == 0


# -- the command (once `gateway doctor` is wired into gateway/cli.py) ---------------------------


def _cli_has_doctor() -> bool:
    from gateway.cli import _parser

    with contextlib.redirect_stderr(io.StringIO()):
        try:
            _parser().parse_args(["doctor"])
        except SystemExit:
            return False
    return True


needs_cli = pytest.mark.skipif(
    not _cli_has_doctor(), reason="`gateway doctor` is not wired into gateway/cli.py yet"
)


@needs_cli
def test_gateway_doctor_prints_json_and_exits_0_on_a_ready_store(store, capsys, disk):
    from gateway.cli import main

    capsys.readouterr()
    code = main(["doctor", "--db", store.url, "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0, out
    assert out["ok"] is True
    names = [c["name"] for c in out["checks"]]
    assert names[:4] == ["configuration", "store", "migrated", "centre"]


@needs_cli
def test_gateway_doctor_exits_1_with_a_cross_on_a_missing_store(tmp_path, capsys, disk):
    from gateway.cli import main

    capsys.readouterr()
    code = main(["doctor", "--db", str(tmp_path / "none.db")])
    out = capsys.readouterr().out
    assert code == 1
    assert f"✗ store          There is no store at {tmp_path / 'none.db'};" in out
    assert out.splitlines()[-1] == "1 check failed: this machine is not ready."


@pytest.mark.postgres
def test_a_remote_store_without_tls_or_with_a_password_in_its_url_is_a_warning(pg_url, disk):
    """The same server reached by a name that is not this machine's, with a password in
    the URL: both are said, as warnings (the centre still runs)."""
    import socket

    store = _pg_store(pg_url)
    store.dispose()
    remote = pg_url.replace("127.0.0.1", socket.gethostname()).replace(
        "postgres@", "postgres:secret@"
    )
    checks = by_name(run_checks(remote, clock=WallClock()))
    if checks["store"].ok is False:
        pytest.skip(f"the server does not answer on {socket.gethostname()}")
    assert checks["encryption"].ok is None
    assert "is not encrypted: add sslmode=verify-full" in checks["encryption"].detail
    assert checks["password"].ok is None
    assert "GATEWAY_DB_PASSWORD_FILE" in checks["password"].detail


@pytest.mark.postgres
def test_sslmode_require_against_a_server_without_tls_is_one_sentence(pg_url, disk):
    checks = by_name(run_checks(pg_url + "?sslmode=require", clock=WallClock()))
    assert checks["store"].ok is False
    assert "cannot be reached" in checks["store"].detail
    assert "SSL" in checks["store"].detail or "ssl" in checks["store"].detail


def test_logs_check_says_where_logs_go(tmp_path, monkeypatch):
    from gateway.doctor import logs_check

    monkeypatch.delenv("GATEWAY_LOG", raising=False)
    assert logs_check().ok is True
    monkeypatch.setenv("GATEWAY_LOG", "journal")
    monkeypatch.setenv("GATEWAY_JOURNAL_SOCKET", str(tmp_path / "none"))
    missing = logs_check()
    assert missing.ok is False and "logs are lost" in missing.detail
    (tmp_path / "none").touch()
    assert logs_check().ok is True
    monkeypatch.setenv("GATEWAY_LOG", str(tmp_path / "gw" / "gateway.jsonl"))
    assert logs_check().ok is True
