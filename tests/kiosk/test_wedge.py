"""Telling a keyboard-wedge scanner from a person at the keys."""

from __future__ import annotations

from devices.lines import clean_line
from kiosk.wedge import WEDGE_GAP, WEDGE_MAX, WEDGE_MIN, WedgeReader


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def typed(reader: WedgeReader, clock: Clock, text: str, gap: float) -> str | None:
    for char in text:
        clock.now += gap
        assert reader.feed(char, char) is None
    clock.now += gap
    return reader.feed("enter", "\r")


def test_a_fast_burst_ending_in_enter_is_a_scan_and_only_once():
    clock = Clock()
    reader = WedgeReader(clock)
    assert typed(reader, clock, "RB-123456", WEDGE_GAP / 4) == "RB-123456"
    clock.now += WEDGE_GAP / 4
    assert reader.feed("enter", "\r") is None  # a second Enter is a person's


def test_a_person_typing_or_a_short_burst_is_not_a_scan():
    clock = Clock()
    reader = WedgeReader(clock)
    assert typed(reader, clock, "RB-123456", WEDGE_GAP * 3) is None  # too slow
    assert typed(reader, clock, "x" * (WEDGE_MIN - 1), WEDGE_GAP / 4) is None  # too short


def test_a_pause_in_the_middle_starts_again():
    clock = Clock()
    reader = WedgeReader(clock)
    for char in "GARBAGE":
        clock.now += 0.01
        reader.feed(char, char)
    clock.now += 1.0  # a pause: what came before was someone else
    assert typed(reader, clock, "JC12345678", 0.01) == "JC12345678"


def test_other_keys_break_a_burst():
    clock = Clock()
    reader = WedgeReader(clock)
    for char in "RB-12":
        clock.now += 0.01
        reader.feed(char, char)
    clock.now += 0.01
    reader.feed("tab", None)
    clock.now += 0.01
    assert reader.feed("enter", "\r") is None


def test_a_key_held_down_is_kept_short_and_refused_as_too_long():
    clock = Clock()
    reader = WedgeReader(clock)
    for _ in range(10_000):  # auto-repeat is as fast as a scanner
        clock.now += 0.03
        assert reader.feed("x", "x") is None
    assert len(reader.keys) == WEDGE_MAX
    clock.now += 0.03
    text = reader.feed("enter", "\r")
    assert text is not None and clean_line(text.encode()).too_long
