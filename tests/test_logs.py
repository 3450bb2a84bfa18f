"""Structured logs to the journal, with no personal data in them.

A test journal is a datagram socket in a temporary folder, spoken to in journald's native
protocol, exactly as /run/systemd/journal/socket would be."""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway import logs
from gateway.cli import main
from gateway.store import Store

PERSONAL = [
    "APT-778812",  # appointment reference
    "Priya Sharma",  # a member of staff's name
    "her husband died last week",  # a referral reason typed by staff
    "shouted at the kiosk",  # a cancel reason
    "AB123456C",  # what a customer gave for repeat visits (an NI number)
    "ME15",  # postcode district
]


def parse_entries(datagram: bytes) -> dict[str, str]:
    """journald's native protocol: NAME=value lines, or NAME, newline, 64-bit size, data."""
    fields: dict[str, str] = {}
    at = 0
    while at < len(datagram):
        end = datagram.index(b"\n", at)
        line = datagram[at:end]
        if b"=" in line:
            name, value = line.split(b"=", 1)
            at = end + 1
        else:
            name = line
            (size,) = struct.unpack("<Q", datagram[end + 1 : end + 9])
            value = datagram[end + 9 : end + 9 + size]
            assert datagram[end + 9 + size : end + 10 + size] == b"\n"
            at = end + 10 + size
        fields[name.decode()] = value.decode()
    return fields


class Journal:
    """Reads the socket as journald would, on its own thread, so it never falls behind."""

    def __init__(self, path: Path) -> None:
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.server.bind(str(path))
        self.server.settimeout(0.05)
        self.datagrams: list[bytes] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        while not self.stopping.is_set():
            try:
                self.datagrams.append(self.server.recv(1 << 20))
            except TimeoutError:
                continue

    def close(self) -> list[bytes]:
        """Stop reading once everything sent has arrived; return what came."""
        deadline = time.monotonic() + 5
        count = -1
        while count != len(self.datagrams) and time.monotonic() < deadline:
            count = len(self.datagrams)
            time.sleep(0.1)
        self.stopping.set()
        self.thread.join()
        self.server.close()
        return self.datagrams


@pytest.fixture
def journal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Journal]:
    path = tmp_path / "journal.socket"
    journal = Journal(path)
    monkeypatch.setenv("GATEWAY_LOG", "journal")
    monkeypatch.setenv("GATEWAY_JOURNAL_SOCKET", str(path))
    yield journal
    journal.close()
    _forget_handlers()


def _forget_handlers() -> None:
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "gateway", False)]:
        root.removeHandler(handler)
        handler.close()
    root.setLevel(logging.WARNING)


def received(journal: Journal) -> list[bytes]:
    return journal.close()


@pytest.fixture
def db(tmp_path: Path) -> str:
    path = str(tmp_path / "g.db")
    assert main(["init", "--db", path, "tests/centres/small.toml"]) == 0
    return path


def test_a_day_at_the_centre_reaches_the_journal_without_personal_data(
    journal, db, monkeypatch, tmp_path, capsys
):
    key = tmp_path / "pseudonym.key"
    key.write_text("a secret of at least sixteen characters\n")
    monkeypatch.setenv("GATEWAY_PSEUDONYM_KEY_FILE", str(key))
    at = ["--db", db, "--at", "2026-11-23T09:00:00+00:00"]
    steps = [
        ["counter-state", "1", "open"],
        ["counter-state", "3", "open"],
        [
            "checkin", "council-tax", "--appointment", "APT-778812", "--postcode", "ME15 6AB",
            "--help-needed", "hearing_loop", "--consent",
        ],
        ["checkin", "housing"],
        ["call", "1"],
        ["serve", "C001"],
        ["remember", "C001", "AB123456C", "--consent"],
        ["refer", "C001", "--to", "jobs", "--handover", "--reason",
         "her husband died last week", "--consent"],
        ["cancel", "H001", "--reason", "shouted at the kiosk"],
    ]  # fmt: skip
    for step in steps:
        assert main([*step, *at]) == 0, capsys.readouterr().err
    capsys.readouterr()

    datagrams = received(journal)
    entries = [parse_entries(d) for d in datagrams]
    events = [e for e in entries if "GATEWAY_EVENT" in e]
    kinds = [e["GATEWAY_EVENT"] for e in events]
    assert kinds == [
        "counter_open", "counter_open",
        "checked_in", "ticket_issued", "help_requested",
        "checked_in", "ticket_issued",
        "called", "serving", "repeat_key_kept",
        "referred", "ticket_issued", "referral",
        "cancelled", "visit_ended",
    ]  # fmt: skip
    checked = next(e for e in events if e["GATEWAY_EVENT"] == "checked_in")
    assert checked["SYSLOG_IDENTIFIER"] == "gateway-checkin"
    assert checked["PRIORITY"] == "6"
    assert checked["GATEWAY_CENTRE"] == "testing"
    assert {e.get("GATEWAY_TICKET") for e in events} >= {"C001", "H001"}
    raw = b"".join(datagrams).decode()
    for secret in PERSONAL:
        assert secret not in raw, secret
    # stderr stayed empty: a screen's terminal is its customers' screen.
    assert capsys.readouterr().err == ""


def test_store_errors_keep_statement_parameters_out_of_the_log(journal, tmp_path):
    logs.configure("gateway-test")
    store = Store(str(tmp_path / "x.db"))
    ref = "APT-" + "778812"  # (so the traceback's source lines do not carry it either)
    with store.write() as session:
        session.execute(sa.text("CREATE TABLE visit (id INTEGER PRIMARY KEY, ref TEXT UNIQUE)"))
        session.execute(sa.text("INSERT INTO visit (ref) VALUES (:r)"), {"r": ref})
    with pytest.raises(sa.exc.IntegrityError) as caught, store.write() as session:
        session.execute(sa.text("INSERT INTO visit (ref) VALUES (:r)"), {"r": ref})
    assert "APT-778812" not in str(caught.value)
    try:
        raise caught.value
    except sa.exc.IntegrityError:
        logging.getLogger("gateway.kiosk").exception("check-in failed")
    (entry,) = [parse_entries(d) for d in received(journal)]
    assert entry["MESSAGE"] == "check-in failed"
    assert entry["PRIORITY"] == "3"
    assert "IntegrityError" in entry["EXCEPTION"] and "\n" in entry["EXCEPTION"]
    assert "APT-778812" not in entry["EXCEPTION"]


def test_personal_shapes_are_scrubbed_from_any_message(journal):
    logs.configure("gateway-test")
    logging.getLogger("gateway").warning(
        "odd input %s / %s / %s / %s at C014 in ME15 on 2026-11-26 09:00:00",
        "SW1A 1AA",
        "AB 12 34 56 C",
        "jo.bloggs@example.org",
        "07700 900123",
    )
    (entry,) = [parse_entries(d) for d in received(journal)]
    message = entry["MESSAGE"]
    for secret in ("SW1A 1AA", "AB 12 34 56 C", "jo.bloggs@example.org", "07700 900123"):
        assert secret not in message
    assert "[postcode]" in message and "[ni-number]" in message
    assert "[e-mail]" in message and "[phone]" in message
    # Ticket numbers, districts and times are not personal: they stay readable.
    assert "C014" in message and "ME15" in message and "2026-11-26 09:00:00" in message


def test_no_journal_means_no_output_anywhere(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("GATEWAY_LOG", "journal")
    monkeypatch.setenv("GATEWAY_JOURNAL_SOCKET", str(tmp_path / "nobody-listens"))
    try:
        assert logs.configure("gateway-kiosk") == "the journal"
        logging.getLogger("gateway").error("the printer stopped")
    finally:
        _forget_handlers()
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_json_lines_to_a_file(tmp_path, monkeypatch, db, capsys):
    target = tmp_path / "logs" / "gateway.jsonl"
    monkeypatch.setenv("GATEWAY_LOG", str(target))
    try:
        assert main(["checkin", "jobs", "--db", db, "--postcode", "ME15"]) == 0
    finally:
        _forget_handlers()
    lines = [json.loads(line) for line in target.read_text().splitlines()]
    issued = [line for line in lines if line.get("event") == "checked_in"]
    assert issued and issued[0]["program"] == "gateway-checkin"
    assert issued[0]["level"] == "info" and issued[0]["centre"] == "testing"
    assert "ME15" not in target.read_text()


def test_configuring_twice_keeps_one_handler(journal):
    logs.configure("gateway-a")
    logs.configure("gateway-b")
    ours = [h for h in logging.getLogger().handlers if getattr(h, "gateway", False)]
    assert len(ours) == 1 and isinstance(ours[0], logs.JournalHandler)
    assert ours[0].identifier == "gateway-b"
