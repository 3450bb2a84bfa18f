"""Staff accounts: adding, listing and disabling staff, and signing in at a counter.

A PIN is 4 to 8 digits and is kept only as a salted scrypt hash (``hash_pin``): never in
the store as typed, never in an event, never in a log. Five wrong PINs in a row lock that
person out for ``LOCKOUT_MINUTES``; a right PIN clears the count. Each sign-in, sign-out,
refused PIN and lockout is an event, so the audit trail shows who worked where.

Roles: ``counter`` (call, serve, refer) and ``supervisor`` (also pause, close and move other
counters' queues). A counter may be used by staff of several agencies: staff sign in to a
counter, they do not belong to one.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlmodel import Session, col, select

from gateway.engine import Engine
from gateway.errors import NotAllowed, UnknownError
from gateway.events import EventLog
from gateway.models import Counter, Staff
from gateway.status import printable

ROLES = ("counter", "supervisor", "manager")
MAX_WRONG_PINS = 5
LOCKOUT_MINUTES = 15
PIN = re.compile(r"[0-9]{4,8}")
STAFF_CODE = re.compile(r"[a-z0-9][a-z0-9._-]{0,39}")
MAX_NAME = 100
# scrypt's cost: 16 MiB and about 50 ms a try on a small PC, so a stolen store's PINs
# cannot be tried quickly (a 4-digit PIN is still few tries: the lockout is the defence).
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MISMATCH = "That staff code and PIN do not match."


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash``, with a new random salt unless one is given."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def pin_matches(pin: str, stored: str | None) -> bool:
    """Whether ``pin`` is the one behind ``stored`` (compared in constant time)."""
    try:
        kind, n, r, p, salt, digest = (stored or "").split("$")
        if kind != "scrypt":
            return False
        tried = hashlib.scrypt(
            pin.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p), dklen=32
        )
    except ValueError:
        return False
    return hmac.compare_digest(tried.hex(), digest)


@cache
def _decoy_hash() -> str:
    """A hash no PIN is tried against in earnest: an unknown staff code costs the same
    scrypt as a known one, so timing does not tell which codes exist."""
    return hash_pin(secrets.token_hex(8))


def check_name(name: str) -> str:
    """The person's name as kept: trimmed, on one line, of a sensible length."""
    name = name.strip()
    if not name:
        raise NotAllowed("Give the person's name.")
    if printable(name) != name:
        raise NotAllowed("A name cannot hold line breaks, tabs or control characters.")
    if len(name) > MAX_NAME:
        raise NotAllowed(f"A name is at most {MAX_NAME} characters.")
    return name


def check_pin(pin: str) -> str:
    if not PIN.fullmatch(pin):
        raise NotAllowed("A PIN is 4 to 8 digits.")
    return pin


@dataclass(frozen=True)
class StaffView:
    code: str
    name: str
    role: str
    agency: str | None
    active: bool
    has_pin: bool
    locked_until: datetime | None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["locked_until"] = self.locked_until.isoformat() if self.locked_until else None
        return out


def _view(row: Staff, now: datetime) -> StaffView:
    locked = row.locked_until if row.locked_until and row.locked_until > now else None
    return StaffView(
        code=row.code,
        name=row.name,
        role=row.role,
        agency=row.agency,
        active=row.active,
        has_pin=row.pin_hash is not None,
        locked_until=locked,
    )


class StaffVerbs(Engine):
    def _staff_row(self, session: Session, code: str, *, lock: bool = False) -> Staff | None:
        """The person with this code; ``lock`` holds their row until the transaction ends
        (PostgreSQL; SQLite's writing transaction already holds the whole store), so two
        sign-ins at once cannot both count from the same number of wrong PINs."""
        query = select(Staff).where(Staff.centre_id == self.centre.id, Staff.code == code)
        return session.exec(query.with_for_update() if lock else query).first()

    def add_staff(
        self,
        code: str,
        name: str,
        pin: str,
        *,
        role: str = "counter",
        agency: str | None = None,
    ) -> StaffView:
        """Add a member of staff (or give a PIN to one the store knows only by code)."""
        code = code.strip().lower()
        if not STAFF_CODE.fullmatch(code):
            raise NotAllowed(
                f"'{printable(code)}' is not a staff code (letters, digits, dot, dash; up to 40)."
            )
        if role not in ROLES:
            raise UnknownError(f"'{role}' is not a role ({', '.join(ROLES)}).")
        if agency is not None and agency not in {a.code for a in self.centre.config.agencies}:
            raise UnknownError(f"'{agency}' is not one of the agencies at {self.centre.name}.")
        name = check_name(name)
        pin_hash = hash_pin(check_pin(pin))  # slow on purpose: outside the write lock

        def work(session: Session, log: EventLog, now: datetime) -> StaffView:
            row = self._staff_row(session, code, lock=True)
            if row is not None and row.pin_hash is not None:
                raise NotAllowed(f"There is already a member of staff '{code}'.")
            row = row or Staff(centre_id=self.centre.id, code=code, name=name)
            row.name, row.role, row.agency, row.active = name, role, agency, True
            row.pin_hash, row.failed_pins, row.locked_until = pin_hash, 0, None
            session.add(row)
            session.flush()
            log.add("staff_added", now, staff_id=row.id, code=code, role=role, agency=agency)
            return _view(row, now)

        return self._run(work)

    def set_staff_pin(self, code: str, pin: str) -> StaffView:
        """A new PIN (a forgotten one): also lifts a lockout."""
        pin_hash = hash_pin(check_pin(pin))

        def work(session: Session, log: EventLog, now: datetime) -> StaffView:
            row = self._known(session, code)
            row.pin_hash, row.failed_pins, row.locked_until = pin_hash, 0, None
            session.add(row)
            log.add("staff_pin_set", now, staff_id=row.id, code=row.code)
            return _view(row, now)

        return self._run(work)

    def disable_staff(self, code: str) -> StaffView:
        """They can no longer sign in; what they did stays in the event log."""

        def work(session: Session, log: EventLog, now: datetime) -> StaffView:
            row = self._known(session, code)
            if not row.active:
                raise NotAllowed(f"'{row.code}' is already disabled.")
            row.active = False
            session.add(row)
            log.add("staff_disabled", now, staff_id=row.id, code=row.code)
            return _view(row, now)

        return self._run(work)

    def list_staff(self) -> list[StaffView]:
        now = self.clock.now()
        with self.store.read() as session:
            rows = session.exec(
                select(Staff)
                .where(Staff.centre_id == self.centre.id)
                .order_by(col(Staff.active).desc(), col(Staff.code))
            ).all()
            return [_view(row, now) for row in rows]

    def sign_in(
        self, code: str, pin: str, *, counter: str | None = None, role: str | None = None
    ) -> StaffView:
        """Sign in with a PIN at a counter (who is signed in there changes), or without
        one for the supervisor's view (``role="supervisor"`` then refuses anyone else).
        Wrong PINs count towards a lockout; the count and the refusal are written even
        though the sign-in fails. Atomic: sign-ins at once for one person (on any number
        of machines) count every wrong PIN once, and the fifth locks them out.

        A refusal does not say whether the code exists, except that only a real person
        can be locked out (the lockout sentence tells them to wait or ask a supervisor).
        """
        code = code.strip().lower()
        counter_id = self.centre.counter_by_code(counter).id if counter else None
        with self.store.read() as session:
            stored = self._staff_row(session, code)
            stored_hash = stored.pin_hash if stored else None
        # Slow, so outside the write lock; against a decoy for an unknown code (the same time).
        matched = pin_matches(pin, stored_hash or _decoy_hash()) and stored_hash is not None

        def work(session: Session, log: EventLog, now: datetime) -> tuple[StaffView | None, str]:
            row = self._staff_row(session, code, lock=True)
            if row is None or row.pin_hash is None or not row.active:
                log.add("sign_in_refused", now, counter_id=counter_id, code=code[:40])
                return None, MISMATCH
            if row.locked_until is not None and row.locked_until > now:
                minutes = max(1, round((row.locked_until - now).total_seconds() / 60))
                log.add("sign_in_refused", now, counter_id=counter_id, staff_id=row.id, locked=True)
                return (
                    None,
                    f"Too many wrong PINs: try again in {minutes} minutes, or ask a supervisor.",
                )
            if not matched or row.pin_hash != stored_hash:
                row.failed_pins += 1
                log.add("sign_in_refused", now, counter_id=counter_id, staff_id=row.id)
                if row.failed_pins >= MAX_WRONG_PINS:
                    row.failed_pins = 0
                    row.locked_until = now + timedelta(minutes=LOCKOUT_MINUTES)
                    log.add("staff_locked_out", now, staff_id=row.id, code=row.code, alert=True)
                session.add(row)
                return None, MISMATCH
            row.failed_pins, row.locked_until = 0, None
            session.add(row)
            if role is not None and row.role != role:
                log.add("sign_in_refused", now, counter_id=counter_id, staff_id=row.id, role=role)
                return None, f"{row.name} is not a {role}; ask a {role} to sign in."
            if counter is not None:
                desk = self._counter(session, counter)
                if desk.staff_id not in (None, row.id):
                    # The last person did not sign out: their session ends here.
                    log.add("signed_out", now, counter_id=desk.id, staff_id=desk.staff_id)
                # One person, one counter: signing in here ends their session elsewhere.
                for other in session.exec(
                    select(Counter)
                    .where(Counter.staff_id == row.id, Counter.id != desk.id)
                    .with_for_update()
                ):
                    other.staff_id = None
                    session.add(other)
                    log.add("signed_out", now, counter_id=other.id, staff_id=row.id)
                desk.staff_id = row.id
                session.add(desk)
            log.add(
                "signed_in", now, counter_id=counter_id, staff_id=row.id, code=row.code, role=role
            )
            return _view(row, now), ""

        view, refusal = self._run(work)
        if view is None:
            raise NotAllowed(refusal)
        return view

    def sign_out(self, code: str, *, counter: str | None = None) -> None:
        counter_id = self.centre.counter_by_code(counter).id if counter else None

        def work(session: Session, log: EventLog, now: datetime) -> None:
            row = self._known(session, code)
            if counter is not None:
                desk = self._counter(session, counter)
                if desk.staff_id == row.id:
                    desk.staff_id = None
                    session.add(desk)
            log.add("signed_out", now, counter_id=counter_id, staff_id=row.id, code=row.code)

        self._run(work)

    def _known(self, session: Session, code: str) -> Staff:
        row = self._staff_row(session, code.strip().lower(), lock=True)
        if row is None:
            raise UnknownError(
                f"There is no member of staff '{printable(code)}' at {self.centre.name}."
            )
        return row
