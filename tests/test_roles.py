"""PostgreSQL roles with least privilege, proved on the real server: each role does its job
through the same verbs the screens use, and is refused everything else."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from gateway import migrate, reports, roles
from gateway.alerts import todays_alerts
from gateway.board import board_state
from gateway.cli import main
from gateway.clock import FixedClock
from gateway.desk import desk_state
from gateway.errors import GatewayError, NotPermitted
from gateway.footfall import KioskSessionRecord
from gateway.queue import Queue
from gateway.status import room_status
from gateway.store import Store
from tests.conftest import _plain, _ready, create_pg_database, drop_pg_database
from tests.kiosk.conftest import kiosk_store, make_kiosk, ticker

KIOSK_FIXTURES = (kiosk_store, make_kiosk, ticker)  # the kiosk tests' fixtures, used here

pytestmark = pytest.mark.postgres


@dataclass
class Building:
    """A migrated PostgreSQL store with a centre, and the four roles made for it."""

    prefix: str
    urls: dict[str, str]
    admin: str
    password_dir: Path

    def store(self, job: str) -> Store:
        return Store(self.urls[job])

    def queue(self, job: str, clock: FixedClock) -> Queue:
        return Queue(self.store(job), clock=clock, actor=f"test-{job}")


def _url_as(url: str, role: str) -> str:
    scheme, rest = _plain(url).split("://", 1)
    return f"{scheme}://{role}@{rest.split('@', 1)[1]}"


def _drop_roles(admin: str, prefix: str) -> None:
    with psycopg.connect(_plain(admin), autocommit=True) as conn:
        for job in reversed(roles.JOBS):
            conn.execute(f'DROP ROLE IF EXISTS "{roles.role_name(prefix, job)}"')


@pytest.fixture
def building(
    pg_server: str, centre_file: Path, clock: FixedClock, tmp_path: Path
) -> Iterator[Building]:
    url = create_pg_database(pg_server)
    prefix = f"gwt{uuid.uuid4().hex[:10]}"
    try:
        admin_store = _ready(url, centre_file, clock)  # loaded by the superuser
        roles.create_roles(admin_store, prefix=prefix, password_dir=tmp_path / "credentials")
        admin_store.dispose()
        urls = {job: _url_as(url, roles.role_name(prefix, job)) for job in roles.JOBS}
        yield Building(prefix, urls, url, tmp_path / "credentials")
    finally:
        drop_pg_database(pg_server, url)
        _drop_roles(pg_server, prefix)


def refused(store: Store, sql: str) -> str:
    """Run raw SQL as the store's role; return PostgreSQL's refusal (fail if it runs)."""
    with pytest.raises(sa.exc.DBAPIError) as caught, store.engine.begin() as connection:
        connection.exec_driver_sql(sql)
    sqlstate = getattr(caught.value.orig, "sqlstate", None)
    assert sqlstate == "42501", f"{sql!r} failed for another reason: {caught.value.orig}"
    return str(caught.value.orig)


# What no role but the owner may ever do.
NEVER = [
    "DROP TABLE ticket",
    "ALTER TABLE ticket ADD COLUMN sneaky integer",
    "ALTER TABLE event DISABLE TRIGGER ALL",
    "TRUNCATE event",
    "DELETE FROM event",
    "UPDATE event SET kind = 'served'",
    "DELETE FROM ticket",
    "DELETE FROM visit",
    "CREATE TABLE sneaky (id integer)",
    "UPDATE centre SET config = '{}'",
    "UPDATE staff SET pin_hash = 'x', role = 'supervisor'",
    "INSERT INTO staff (centre_id, code, name, active, role, failed_pins) "
    "VALUES (1, 'evil', 'Evil', true, 'supervisor', 0)",
    "ALTER ROLE CURRENT_USER SUPERUSER",
    "CREATE ROLE sneaky",
]


class TestKiosk:
    def test_kiosk_checks_in_asks_for_help_and_reads_the_board(self, building, clock):
        owner = building.queue("owner", clock)
        owner.set_counter_state("1", "open")
        kiosk = building.queue("kiosk", clock)
        ticket = kiosk.check_in(
            "council-tax", language="pl", postcode_district="ME15", kiosk="kiosk-1"
        )
        assert ticket.number == "C001"
        helped = kiosk.ask_for_help("wheelchair", ticket=ticket.number, kiosk="kiosk-1")
        assert helped is not None
        kiosk.record_kiosk_session(
            KioskSessionRecord(
                kiosk="kiosk-1",
                session="s-1",
                started_at=clock.now() - timedelta(minutes=1),
                outcome="ticket",
                step="ticket",
                ticket=ticket.number,
            )
        )
        kiosk.report_print_failed(ticket.number, reason="paper out", printer="usb")
        kiosk.report_device_health("kiosk-1", "printer", "paper_low", spec="usb", detail="low")
        kiosk.report_device_health("kiosk-1", "printer", "ok", spec="usb")
        kiosk.count_door_entry("front")
        board = board_state(kiosk.store, kiosk.centre, clock.now())
        assert sum(count for _agency, count in board.waiting) == 1
        assert kiosk.ticket(ticket.number).state == "waiting"
        # Every one of those was written: the events are there, read by the owner.
        with building.store("owner").read() as session:
            kinds = set(session.execute(sa.text("SELECT kind FROM event")).scalars())
        wanted = {"checked_in", "help_requested", "print_failed", "door_entry", "device_health"}
        assert wanted <= kinds

    def test_kiosk_cannot_call_serve_or_end_a_ticket(self, building, clock):
        owner = building.queue("owner", clock)
        owner.set_counter_state("1", "open")
        kiosk = building.queue("kiosk", clock)
        ticket = kiosk.check_in("council-tax")
        with pytest.raises(NotPermitted, match=building.prefix + "_kiosk"):
            kiosk.call_next("1")
        with pytest.raises(NotPermitted):
            kiosk.cancel(ticket.number, reason="mischief")
        with pytest.raises(NotPermitted):
            kiosk.set_counter_state("1", "closed")
        # Nothing changed: the ticket still waits, and counter 1 is still open.
        assert owner.ticket(ticket.number).state == "waiting"
        assert room_status(owner.store, owner.centre, clock.now()).counters[0].state == "open"

    def test_kiosk_cannot_read_staff_records(self, building, clock):
        owner = building.queue("owner", clock)
        owner.add_staff("amy", name="Amy Adams", pin="4821")
        refused(building.store("kiosk"), "SELECT pin_hash FROM staff")
        with pytest.raises(NotPermitted):
            building.queue("kiosk", clock).sign_in("amy", "4821")

    @pytest.mark.parametrize(
        "sql",
        [
            *NEVER,
            "UPDATE ticket SET state = 'called'",
            "SELECT appointment_ref FROM visit",
            "SELECT postcode_district FROM visit",
            "SELECT repeat_key FROM visit",
            "SELECT reason FROM referral",
        ],
    )
    def test_kiosk_is_refused(self, building, sql):
        refused(building.store("kiosk"), sql)


class TestCounter:
    def test_counter_runs_a_day_at_the_desk(self, building, clock):
        owner = building.queue("owner", clock)
        owner.add_staff("amy", name="Amy Adams", pin="4821", role="supervisor")
        kiosk = building.queue("kiosk", clock)
        first = kiosk.check_in("council-tax", consent_share=True)
        second = kiosk.check_in("council-tax")
        desk = building.queue("counter", clock)
        desk.sign_in("amy", "4821", counter="1")
        desk.set_counter_state("1", "open")
        desk.set_counter_state("2", "open")
        called = desk.call_next("1", staff="amy")
        assert called.number == first.number
        desk.recall(called.number)
        desk.start_serving(called.number)
        desk.refer(called.number, "jobs", kind="handover", reason="work search", consent=True)
        desk.call_next("1", staff="amy")
        desk.hold(second.number)
        desk.unhold(second.number)
        desk.transfer(second.number, "2")
        desk.set_counter_state("1", "paused", reason="break")
        desk.move_queue("1", "2")
        state = desk_state(desk.store, desk.centre, "2", clock.now())
        assert second.number in [w.number for w in state.waiting]
        assert todays_alerts(desk.store, desk.centre, clock.now()) == []
        desk.sign_out("amy", counter="1")
        assert desk.close_day() >= 1
        # The handover is a referral row the counter role wrote.
        with building.store("owner").read() as session:
            kinds = session.execute(sa.text("SELECT kind, consent_share FROM referral")).all()
        assert [tuple(k) for k in kinds] == [("handover", True)]

    def test_wrong_pins_count_and_lock_under_the_counter_role(self, building, clock):
        building.queue("owner", clock).add_staff("bob", name="Bob", pin="1234")
        desk = building.queue("counter", clock)
        for _ in range(5):
            with pytest.raises(GatewayError):
                desk.sign_in("bob", "0000", counter="1")
        with pytest.raises(GatewayError, match="Too many wrong PINs"):
            desk.sign_in("bob", "1234", counter="1")

    def test_counter_cannot_add_staff_set_pins_or_load_a_centre(self, building, clock):
        desk = building.queue("counter", clock)
        with pytest.raises(NotPermitted):
            desk.add_staff("mallory", name="Mallory", pin="9999", role="supervisor")
        building.queue("owner", clock).add_staff("bob", name="Bob", pin="1234")
        with pytest.raises(NotPermitted):
            desk.set_staff_pin("bob", "0000")
        assert building.queue("owner", clock).sign_in("bob", "1234") is not None

    @pytest.mark.parametrize("sql", NEVER)
    def test_counter_is_refused(self, building, sql):
        refused(building.store("counter"), sql)


class TestManager:
    def test_manager_reads_every_report_and_signs_in(self, building, clock):
        owner = building.queue("owner", clock)
        owner.add_staff("meg", name="Meg", pin="2468", role="manager")
        owner.set_counter_state("1", "open")
        ticket = building.queue("kiosk", clock).check_in("council-tax", postcode_district="ME15")
        owner.call_next("1")
        owner.start_serving(ticket.number)
        owner.complete(ticket.number)
        manager = building.queue("manager", clock)
        assert manager.sign_in("meg", "2468", role="manager") is not None
        days = reports.Days(clock.now().date(), clock.now().date())
        centres = [manager.centre]
        for report in reports.REPORT_FUNCTIONS.values():
            assert json.dumps(report(manager.store, centres, days, now=clock.now()), default=str)
        summary = reports.summary(manager.store, centres, days, now=clock.now())
        assert summary["tickets"]["served"] == 1

    def test_manager_cannot_act_on_tickets(self, building, clock):
        building.queue("owner", clock).set_counter_state("1", "open")
        manager = building.queue("manager", clock)
        with pytest.raises(NotPermitted):
            manager.check_in("council-tax")
        ticket = building.queue("kiosk", clock).check_in("council-tax")
        with pytest.raises(NotPermitted):
            manager.call_next("1")
        assert manager.ticket(ticket.number).state == "waiting"

    @pytest.mark.parametrize(
        "sql", [*NEVER, "INSERT INTO referral (id) VALUES (1)", "UPDATE ticket SET state = 'x'"]
    )
    def test_manager_is_refused(self, building, sql):
        refused(building.store("manager"), sql)


class TestOwner:
    def test_owner_migrates_purges_and_can_alter(self, building, clock):
        owner = building.store("owner")
        migrate.upgrade(owner)  # nothing to do, and allowed
        queue = building.queue("owner", clock)
        ticket = queue.check_in("council-tax", postcode_district="ME15")
        clock.advance(days=400)
        queue.purge(older_than_days=365)
        with owner.read() as session:
            district = session.execute(
                sa.text("SELECT postcode_district FROM visit WHERE id = :v"),
                {"v": ticket.visit_id},
            ).scalar_one()
        assert district is None
        with owner.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE ticket ADD COLUMN harmless integer")
            connection.exec_driver_sql("ALTER TABLE ticket DROP COLUMN harmless")

    def test_a_new_table_from_a_migration_reaches_the_roles(self, building, clock):
        """An upgrade run by the owner grants what it adds, so kiosks keep working."""
        owner = building.store("owner")
        with owner.engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE ticket_note (id serial PRIMARY KEY)")
            assert roles.refresh_after_upgrade(connection)
            owners = connection.exec_driver_sql(
                "SELECT tableowner FROM pg_tables WHERE tablename = 'ticket_note'"
            ).scalar_one()
        assert owners == roles.role_name(building.prefix, "owner")
        # Not in GRANTS: nobody else may read it until it is named there.
        refused(building.store("kiosk"), "SELECT * FROM ticket_note")


def test_every_table_has_its_grants_named():
    import gateway.models  # noqa: F401

    assert set(roles.GRANTS) == {*SQLModel.metadata.tables, "alembic_version"}
    for table, jobs in roles.GRANTS.items():
        assert "owner" not in jobs, table
        for privileges in jobs.values():
            for privilege in privileges:
                word = privilege.split()[0]
                assert word in {"SELECT", "INSERT", "UPDATE"}, (table, privilege)
        assert not any(p.startswith("UPDATE") for p in jobs.get("kiosk", []) if table == "event")
    assert all(p in {"SELECT", "INSERT"} for job in roles.GRANTS["event"].values() for p in job)


def test_every_role_connects_with_its_password_file(building, monkeypatch):
    for job in roles.JOBS:
        role = roles.role_name(building.prefix, job)
        path = building.password_dir / f"{role}.password"
        assert path.stat().st_mode & 0o777 == 0o600
        monkeypatch.setenv("GATEWAY_DB_PASSWORD_FILE", str(path))
        store = Store(building.urls[job])
        with store.read() as session:
            assert session.execute(sa.text("SELECT current_user")).scalar_one() == role
        store.dispose()


def test_passwords_are_stored_as_postgresql_would_hash_them(building):
    """Our SCRAM verifier equals the server's own for the same salt: the password never
    travels in clear, and logging in with it works wherever scram-sha-256 is required."""
    role = roles.role_name(building.prefix, "kiosk")
    with psycopg.connect(_plain(building.admin), autocommit=True) as conn:
        ours = conn.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role])
        stored = ours.fetchone()[0]
        password = (building.password_dir / f"{role}.password").read_text().strip()
        assert stored.startswith("SCRAM-SHA-256$4096:")
        conn.execute("SET password_encryption = 'scram-sha-256'")
        conn.execute(f"ALTER ROLE \"{role}\" PASSWORD '{password}'")
        server = conn.execute(
            "SELECT rolpassword FROM pg_authid WHERE rolname = %s", [role]
        ).fetchone()[0]
    iterations, rest = server.split("$", 1)[1].split(":", 1)
    salt = base64.b64decode(rest.split("$", 1)[0])
    assert roles.scram_verifier(password, salt=salt, iterations=int(iterations)) == server
    assert stored != server  # a different salt each time, the same password


def test_running_roles_again_changes_nothing(building):
    admin = Store(building.admin)
    passwords = {p.name: p.read_text() for p in building.password_dir.iterdir()}
    again = roles.create_roles(admin, prefix=building.prefix, password_dir=building.password_dir)
    admin.dispose()
    assert again.created == [] and len(again.existing) == 4
    assert again.passwords_written == []
    assert {p.name: p.read_text() for p in building.password_dir.iterdir()} == passwords


def test_cli_roles_then_a_refused_action_is_one_sentence(building, capsys):
    assert main(["db", "roles", "--db", building.admin, "--prefix", building.prefix]) == 0
    assert "Roles created: none" in capsys.readouterr().out
    code = main(["call", "1", "--db", building.urls["kiosk"]])
    err = capsys.readouterr().err
    assert code != 0
    assert "refused this to the database role" in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_cli_roles_needs_a_superuser(building, capsys):
    code = main(["db", "roles", "--db", building.urls["counter"], "--prefix", "other"])
    err = capsys.readouterr().err
    assert code != 0 and "Traceback" not in err
    assert "refused" in err or "permission" in err


def test_roles_sql_matches_the_command(tmp_path):
    """deploy/postgresql/roles.sql is what `gateway db roles --sql` prints."""
    committed = Path(__file__).parent.parent / "deploy" / "postgresql" / "roles.sql"
    assert committed.read_text() == roles.script("gateway")


def test_roles_refuse_a_bad_prefix_and_sqlite(tmp_path):
    with pytest.raises(GatewayError, match="cannot start role names"):
        roles.check_prefix('x"; DROP TABLE ticket; --')
    with pytest.raises(GatewayError, match="PostgreSQL"):
        roles.create_roles(Store(str(tmp_path / "g.db")))


async def test_the_kiosk_app_itself_runs_under_the_kiosk_role(pg_server, clock, make_kiosk):
    """The real kiosk, through its screens, on a store it reaches as ``_kiosk``: three taps
    give a ticket, help asked on the ticket screen flags it, the session is written, and
    nothing was refused on the way."""
    from kiosk.app import KIOSK_SIZE
    from kiosk.screens.dialogs import HelpDialog
    from kiosk.screens.ticket import TicketScreen
    from tests.kiosk.conftest import ready_store, wait_for
    from tests.kiosk.test_journeys import choose, on_screen, to_ticket

    url = create_pg_database(pg_server)
    prefix = f"gwt{uuid.uuid4().hex[:10]}"
    try:
        admin = ready_store(url, clock)  # the example centre, loaded by the superuser
        roles.create_roles(admin, prefix=prefix)
        kiosk = Store(_url_as(url, roles.role_name(prefix, "kiosk")))
        app = make_kiosk(store=kiosk)
        async with app.run_test(size=KIOSK_SIZE) as pilot:
            screen = await to_ticket(pilot, "en")
            await pilot.click("#help")
            await on_screen(pilot, HelpDialog)
            await choose(pilot, "wheelchair")
            await on_screen(pilot, TicketScreen)

            def helped() -> bool:
                with admin.read() as session:
                    return (
                        session.execute(
                            sa.text("SELECT help_needed FROM visit WHERE id = :v"),
                            {"v": screen.ticket.visit_id},
                        ).scalar_one()
                        == "wheelchair"
                    )

            await wait_for(pilot, helped)
        assert app.tickets_issued == 1
        with admin.read() as session:
            kinds = set(session.execute(sa.text("SELECT kind FROM event")).scalars())
        assert {"checked_in", "ticket_issued", "help_requested"} <= kinds
        kiosk.dispose()
        admin.dispose()
    finally:
        drop_pg_database(pg_server, url)
        _drop_roles(pg_server, prefix)
