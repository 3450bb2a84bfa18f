"""Repeat visits through a pseudonymous key: only with consent, never the identifier."""

from __future__ import annotations

import pytest

from gateway.errors import NotAllowed
from gateway.models import Visit
from gateway.pseudonym import repeat_key
from gateway.reports import Days, summary

SECRET = "a-secret-of-more-than-sixteen"


@pytest.fixture
def keyed(monkeypatch, tmp_path):
    path = tmp_path / "pseudonym.key"
    path.write_text(SECRET + "\n")
    monkeypatch.setenv("GATEWAY_PSEUDONYM_KEY_FILE", str(path))
    return path


def keys(q):
    from sqlmodel import select

    with q.store.read() as session:
        return [v.repeat_key for v in session.exec(select(Visit).order_by(Visit.id))]


def test_repeat_visits_are_counted_through_the_key_only(any_queue, clock, keyed):
    q = any_queue
    first = clock.now().date()
    a = q.check_in("council-tax")
    q.remember(a.number, "AB 12 34 C", consent=True)
    b = q.check_in("housing")
    q.remember(b.number, "zz999", consent=True)
    clock.advance(days=1)
    c = q.check_in("council-tax")
    q.remember(c.number, "ab1234c", consent=True)  # the same person: case and spaces ignored
    q.check_in("jobs")  # no key

    stored = keys(q)
    assert stored[0] == stored[2] == repeat_key("AB1234C", SECRET.encode())
    assert stored[1] != stored[0] and stored[3] is None
    assert all("1234" not in (k or "") and "AB" not in (k or "") for k in stored)

    figures = summary(q.store, q.centre, Days(first, clock.now().date()))["repeat_visits"]
    assert figures == {
        "keyed_visits": 3,
        "customers": 2,
        "repeat_visits": 1,
        "returning_customers": 1,
    }
    # The key never leaves the store in a report.
    assert stored[0] not in str(summary(q.store, q.centre, Days(first, first)))


def test_nothing_is_kept_without_consent_or_without_a_secret(any_queue, monkeypatch, keyed):
    q = any_queue
    a = q.check_in("council-tax")
    with pytest.raises(NotAllowed, match="only when the customer agrees"):
        q.remember(a.number, "AB123", consent=False)
    monkeypatch.delenv("GATEWAY_PSEUDONYM_KEY_FILE")
    monkeypatch.setenv("GATEWAY_PSEUDONYM_KEY", "short")
    with pytest.raises(NotAllowed, match="at least 16 characters"):
        q.remember(a.number, "AB123", consent=True)
    monkeypatch.setenv("GATEWAY_PSEUDONYM_KEY_FILE", "/nonexistent/key")
    with pytest.raises(NotAllowed, match="cannot be read"):
        q.remember(a.number, "AB123", consent=True)
    assert keys(q) == [None]


def test_a_different_secret_gives_different_keys():
    assert repeat_key("AB123", b"x" * 16) != repeat_key("AB123", b"y" * 16)
    with pytest.raises(NotAllowed):
        repeat_key("   ", b"x" * 16)
