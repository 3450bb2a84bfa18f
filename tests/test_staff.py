"""Staff accounts: PINs kept only as salted slow hashes, lockout, sign-in events."""

from __future__ import annotations

import io
import json

import pytest
from sqlmodel import select

from gateway.cli import main
from gateway.errors import NotAllowed, UnknownError
from gateway.events import watch
from gateway.models import Staff
from gateway.staff import LOCKOUT_MINUTES, MAX_WRONG_PINS, MISMATCH, hash_pin, pin_matches


def _events(queue, kind):
    return [e for e in watch(queue.store, queue.centre.id) if e.kind == kind]


def _row(queue, code):
    with queue.store.read() as session:
        return session.exec(select(Staff).where(Staff.code == code)).one()


def test_a_pin_is_kept_only_as_a_salted_slow_hash():
    first, second = hash_pin("4821"), hash_pin("4821")
    assert first != second  # a new salt each time
    assert first.startswith("scrypt$16384$8$1$") and "4821" not in first
    assert pin_matches("4821", first) and pin_matches("4821", second)
    assert not pin_matches("4822", first)
    assert not pin_matches("4821", None) and not pin_matches("4821", "md5$x")


def test_staff_are_added_listed_and_disabled(any_queue):
    q = any_queue
    q.add_staff("asha", "Asha Patel", "4821", agency="borough")
    q.add_staff("ben", "Ben Okoro", "135790", role="supervisor")
    assert [(p.code, p.role, p.agency, p.active) for p in q.list_staff()] == [
        ("asha", "counter", "borough", True),
        ("ben", "supervisor", None, True),
    ]
    q.disable_staff("ben")
    with pytest.raises(NotAllowed, match=MISMATCH):
        q.sign_in("ben", "135790", counter="1")
    assert [p.code for p in q.list_staff() if not p.active] == ["ben"]
    with pytest.raises(NotAllowed, match="already"):
        q.add_staff("asha", "Someone Else", "1111")
    with pytest.raises(UnknownError, match="agencies"):
        q.add_staff("cat", "Cat", "1111", agency="nasa")
    with pytest.raises(NotAllowed, match="4 to 8 digits"):
        q.add_staff("cat", "Cat", "12ab")
    stored = _row(q, "asha").pin_hash
    assert stored and "4821" not in stored
    for event in watch(q.store, q.centre.id):
        assert "4821" not in json.dumps(event.data or {}) and "scrypt" not in json.dumps(
            event.data or {}
        )


def test_signing_in_and_out_are_events_at_the_counter(any_queue):
    q = any_queue
    q.add_staff("asha", "Asha Patel", "4821")
    person = q.sign_in("Asha", "4821", counter="2")
    assert person.code == "asha"
    q.sign_out("asha", counter="2")
    (signed_in,) = _events(q, "signed_in")
    (signed_out,) = _events(q, "signed_out")
    assert signed_in.counter_id == signed_out.counter_id == q.centre.counter_by_code("2").id
    assert signed_in.staff_id == _row(q, "asha").id


def test_five_wrong_pins_lock_the_person_out_for_a_while(any_queue, clock):
    q = any_queue
    q.add_staff("asha", "Asha Patel", "4821")
    for _ in range(MAX_WRONG_PINS):
        with pytest.raises(NotAllowed, match=MISMATCH):
            q.sign_in("asha", "0000", counter="1")
    # Now even the right PIN is refused, with how long to wait.
    with pytest.raises(NotAllowed, match=f"try again in {LOCKOUT_MINUTES} minutes"):
        q.sign_in("asha", "4821", counter="1")
    assert q.list_staff()[0].locked_until is not None
    (locked,) = _events(q, "staff_locked_out")
    assert locked.data["alert"] is True
    assert len(_events(q, "sign_in_refused")) == MAX_WRONG_PINS + 1
    clock.advance(minutes=LOCKOUT_MINUTES + 1)
    assert q.sign_in("asha", "4821", counter="1").code == "asha"


def test_a_right_pin_clears_the_count_and_a_new_pin_lifts_a_lockout(queue, clock):
    queue.add_staff("asha", "Asha Patel", "4821")
    for _ in range(MAX_WRONG_PINS - 1):
        with pytest.raises(NotAllowed):
            queue.sign_in("asha", "0000", counter="1")
    queue.sign_in("asha", "4821", counter="1")
    assert _row(queue, "asha").failed_pins == 0
    for _ in range(MAX_WRONG_PINS):
        with pytest.raises(NotAllowed):
            queue.sign_in("asha", "0000", counter="1")
    queue.set_staff_pin("asha", "97531")
    assert queue.sign_in("asha", "97531", counter="1").code == "asha"


def test_an_unknown_code_is_refused_like_a_wrong_pin(queue):
    with pytest.raises(NotAllowed, match=MISMATCH):
        queue.sign_in("nobody", "4821", counter="1")
    (refused,) = _events(queue, "sign_in_refused")
    assert refused.data["code"] == "nobody"


def test_staff_known_only_from_the_audit_trail_can_be_given_a_pin(queue):
    ticket = queue.check_in("council-tax")
    queue.call_next("1", staff="asha")  # before accounts existed: a code only
    queue.add_staff("asha", "Asha Patel", "4821")
    assert queue.sign_in("asha", "4821", counter="1").name == "Asha Patel"
    assert queue.ticket(ticket.number).state == "called"


def test_the_cli_adds_lists_and_disables_staff_reading_the_pin_from_stdin(
    tmp_path, capsys, monkeypatch
):
    from tests.conftest import SMALL_CENTRE

    db = f"sqlite:///{tmp_path / 'staff.db'}"
    assert main(["init", str(SMALL_CENTRE), "--db", db]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("4821\n"))
    assert main(["staff", "add", "asha", "--name", "Asha Patel", "--db", db]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("12\n"))
    capsys.readouterr()
    assert main(["staff", "add", "ben", "--name", "Ben", "--db", db]) == 1
    assert capsys.readouterr().err.strip() == "A PIN is 4 to 8 digits."
    assert main(["staff", "list", "--db", db, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["staff"]
    assert [(p["code"], p["has_pin"]) for p in listed] == [("asha", True)]
    assert main(["staff", "disable", "asha", "--db", db]) == 0
    assert "can no longer sign in" in capsys.readouterr().out
