"""Secrets reach Gateway from files or systemd credentials, never from the centre file, a
unit, the command line or a log."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from gateway.backup import _run
from gateway.errors import GatewayError
from gateway.store import Store, password_from_file
from kiosk.run import _staff_pin


@pytest.fixture(autouse=True)
def clean(monkeypatch):
    for name in (
        "GATEWAY_DB_PASSWORD_FILE",
        "CREDENTIALS_DIRECTORY",
        "GATEWAY_KIOSK_PIN",
        "GATEWAY_KIOSK_PIN_FILE",
    ):
        monkeypatch.delenv(name, raising=False)


def test_the_password_comes_from_the_named_file(tmp_path, monkeypatch):
    secret = tmp_path / "kiosk.password"
    secret.write_text("s3cret-Value\n")
    monkeypatch.setenv("GATEWAY_DB_PASSWORD_FILE", str(secret))
    assert password_from_file() == "s3cret-Value"
    store = Store("postgresql://gateway_kiosk@db.example/gateway")
    try:
        assert store.connect_args["password"] == "s3cret-Value"
        assert "s3cret-Value" not in store.where and "s3cret-Value" not in store.url
    finally:
        store.dispose()


def test_the_password_comes_from_a_systemd_credential(tmp_path, monkeypatch):
    (tmp_path / "db-password").write_text("from-systemd")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert password_from_file() == "from-systemd"


def test_no_file_or_an_empty_one_means_no_password(tmp_path, monkeypatch):
    assert password_from_file() is None
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))  # no db-password in it
    assert password_from_file() is None
    (tmp_path / "db-password").write_text("\n")
    assert password_from_file() is None


def test_an_unreadable_password_file_is_one_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("GATEWAY_DB_PASSWORD_FILE", str(tmp_path / "missing.password"))
    with pytest.raises(GatewayError, match=r"password file .*missing.password cannot be read"):
        password_from_file()


def test_pg_tools_get_the_credential_in_their_environment_only(tmp_path, monkeypatch):
    """pg_dump and pg_restore (backups) log in as the store does: the credential goes in
    PGPASSWORD, never in their arguments."""
    (tmp_path / "db-password").write_text("nightly-secret")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    seen = tmp_path / "seen"
    url = make_url("postgresql://gateway_owner@db.example/gateway")
    _run(["sh", "-c", f'printf %s "$PGPASSWORD" > {seen}'], url, failed="test")
    assert seen.read_text() == "nightly-secret"


def test_the_kiosk_pin_comes_from_a_file_or_a_credential(tmp_path, monkeypatch):
    assert _staff_pin() is None
    (tmp_path / "kiosk-pin").write_text("482913\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert _staff_pin() == "482913"
    named = tmp_path / "pin"
    named.write_text("1357")
    monkeypatch.setenv("GATEWAY_KIOSK_PIN_FILE", str(named))
    assert _staff_pin() == "1357"
    monkeypatch.setenv("GATEWAY_KIOSK_PIN", "2468")
    assert _staff_pin() == "2468"
    monkeypatch.delenv("GATEWAY_KIOSK_PIN")
    monkeypatch.setenv("GATEWAY_KIOSK_PIN_FILE", str(tmp_path / "nope"))
    with pytest.raises(GatewayError, match=r"PIN file .*nope cannot be read"):
        _staff_pin()


def test_the_centre_file_cannot_carry_a_store_or_a_password(tmp_path):
    """The centre file is shared and versioned: it has no place for a store URL or a
    password, and one put there is refused, not quietly used."""
    from gateway.config import load_centre_file

    text = (Path(__file__).parent / "centres" / "small.toml").read_text()
    bad = tmp_path / "centre.toml"
    bad.write_text('db = "postgresql://gateway:hunter2@db/gateway"\n' + text)
    with pytest.raises(GatewayError) as caught:
        load_centre_file(bad)
    assert "db" in str(caught.value) or "db" in " ".join(getattr(caught.value, "problems", []))
