"""TLS and passwords end to end, on a PostgreSQL server of the test's own: ``ssl = on`` with a
certificate from a test CA, and ``pg_hba.conf`` taking only TLS connections with SCRAM
passwords. The roles ``gateway db roles`` makes log in with the password files it wrote,
over ``sslmode=verify-full``; a wrong CA or a wrong password is one sentence.

Needs PostgreSQL's server programs (``initdb``, ``pg_ctl``), ``openssl``, and root (to run
the server as the ``postgres`` user); without them it skips and says why.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway import roles
from gateway.doctor import run_checks
from gateway.errors import StoreUnavailable
from gateway.store import Store
from tests.conftest import SMALL_CENTRE

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin"))


def _reason() -> str | None:
    if not BIN or not Path(BIN[-1], "initdb").exists():
        return "PostgreSQL's server programs (initdb, pg_ctl) are not installed"
    if shutil.which("openssl") is None:
        return "openssl is not installed"
    if os.geteuid() != 0 or shutil.which("runuser") is None:
        return "starting a PostgreSQL server of its own needs root (runuser -u postgres)"
    try:
        subprocess.run(["id", "postgres"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        return "there is no postgres user to run the server as"
    return None


pytestmark = pytest.mark.skipif(_reason() is not None, reason=_reason() or "")


def _as_postgres(*command: str, cwd: Path | None = None) -> None:
    subprocess.run(
        ["runuser", "-u", "postgres", "--", *command],
        check=True,
        capture_output=True,
        cwd=cwd,
        timeout=60,
    )


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=cwd, timeout=60)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _certificates(folder: Path) -> None:
    """A test CA, and a server certificate for localhost signed by it."""
    _openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=Gateway test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        cwd=folder,
    )
    _openssl(
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        cwd=folder,
    )
    (folder / "san.ext").write_text("subjectAltName=DNS:localhost\n")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.crt",
             cwd=folder)  # fmt: skip
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
             "-subj", "/CN=Someone else's CA", "-keyout", "other.key", "-out", "other.crt",
             cwd=folder)  # fmt: skip


@pytest.fixture(scope="module")
def tls_server() -> Iterator[tuple[int, Path, Path]]:
    """A server on a free port taking TLS + SCRAM only (and trust on its own socket, for
    the test's set-up as the superuser). Yields (port, folder with ca.crt, socket folder).
    Its folder is outside pytest's own, which only root may enter."""
    folder = Path(tempfile.mkdtemp(prefix="gateway-tls-"))
    os.chmod(folder, 0o755)
    data, sockets = folder / "data", folder / "run"
    for own in (sockets, data):
        own.mkdir(mode=0o700)
        shutil.chown(own, "postgres", "postgres")
    bin_dir = Path(BIN[-1])
    _as_postgres(str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres",
                 "--auth-local=trust", "--auth-host=reject")  # fmt: skip
    _certificates(folder)
    for name in ("server.crt", "server.key"):
        shutil.copy(folder / name, data / name)
        shutil.chown(data / name, "postgres")
        os.chmod(data / name, 0o600)
    (data / "pg_hba.conf").write_text(
        "local all all trust\n"
        "hostssl all all 127.0.0.1/32 scram-sha-256\n"
        "hostnossl all all 127.0.0.1/32 reject\n"
    )
    port = _free_port()
    options = (
        f"-c port={port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={sockets} "
        "-c ssl=on -c password_encryption=scram-sha-256"
    )
    _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-w",
                 "-l", str(sockets / "server.log"), "start", cwd=folder)  # fmt: skip
    try:
        yield port, folder, sockets
    finally:
        _as_postgres(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop",
                     cwd=folder)  # fmt: skip
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def tls_building(tls_server, tmp_path_factory):
    """The test centre in a database on that server, and the four roles with passwords."""
    from gateway import migrate
    from gateway.centres import load_centre
    from gateway.clock import WallClock
    from gateway.config import load_centre_file

    port, folder, sockets = tls_server
    admin = f"postgresql://postgres@/postgres?host={sockets}&port={port}"
    import psycopg

    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute("CREATE DATABASE gateway")
    admin = admin.replace("/postgres?", "/gateway?")
    store = Store(admin)
    migrate.upgrade(store)
    load_centre(store, load_centre_file(SMALL_CENTRE), WallClock())
    credentials = tmp_path_factory.mktemp("credentials")
    roles.create_roles(store, prefix="gateway", password_dir=credentials)
    store.dispose()
    return port, folder, credentials


def _ask(store: Store) -> None:
    with store.read() as session:
        session.execute(sa.text("SELECT 1"))


def _url(role: str, port: int, ca: Path, mode: str = "verify-full") -> str:
    return f"postgresql://{role}@localhost:{port}/gateway?sslmode={mode}&sslrootcert={ca}"


def test_each_role_logs_in_over_verified_tls_with_its_password_file(tls_building, monkeypatch):
    port, folder, credentials = tls_building
    for job in roles.JOBS:
        role = roles.role_name("gateway", job)
        monkeypatch.setenv("GATEWAY_DB_PASSWORD_FILE", str(credentials / f"{role}.password"))
        store = Store(_url(role, port, folder / "ca.crt"))
        try:
            with store.read() as session:
                user, ssl = (
                    session.connection()
                    .exec_driver_sql(
                        "SELECT current_user, ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()"
                    )
                    .one()
                )
            assert (user, ssl) == (role, True)
        finally:
            store.dispose()


def test_doctor_says_the_connection_is_encrypted_and_checked(tls_building, monkeypatch):
    port, folder, credentials = tls_building
    monkeypatch.setenv("GATEWAY_DB_PASSWORD_FILE", str(credentials / "gateway_kiosk.password"))
    checks = {c.name: c for c in run_checks(_url("gateway_kiosk", port, folder / "ca.crt"))}
    assert checks["store"].ok is True, checks["store"].detail
    assert checks["encryption"].ok is True
    assert checks["encryption"].detail.startswith("The connection is encrypted (TLSv1.")


def test_a_server_signed_by_another_ca_is_refused_in_one_sentence(tls_building, monkeypatch):
    port, folder, credentials = tls_building
    monkeypatch.setenv("GATEWAY_DB_PASSWORD_FILE", str(credentials / "gateway_kiosk.password"))
    store = Store(_url("gateway_kiosk", port, folder / "other.crt"))
    try:
        with pytest.raises(StoreUnavailable, match="did not pass this machine's TLS check"):
            _ask(store)
    finally:
        store.dispose()


def test_a_wrong_password_or_no_tls_is_refused(tls_building, monkeypatch, tmp_path):
    port, folder, _ = tls_building
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password")
    monkeypatch.setenv("GATEWAY_DB_PASSWORD_FILE", str(wrong))
    for url, said in (
        (_url("gateway_kiosk", port, folder / "ca.crt"), "refused the password for"),
        (_url("gateway_kiosk", port, folder / "ca.crt", mode="disable"), "cannot be reached"),
    ):
        store = Store(url)
        try:
            with pytest.raises(StoreUnavailable, match=said) as caught:
                _ask(store)
            assert "not-the-password" not in str(caught.value)
        finally:
            store.dispose()
