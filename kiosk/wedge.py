"""Keyboard-wedge scanners: a scanner that types its code as keys, then Enter.

Nobody types that fast: keys under ``WEDGE_GAP`` apart, at least ``WEDGE_MIN`` of them,
ending in Enter, are a scan. A person pressing keys (or mashing them) is not.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from devices.lines import MAX_LINE

WEDGE_GAP = 0.08  # seconds: keys closer than this come from a scanner
WEDGE_MIN = 4  # characters: a shorter burst ending in Enter is a person pressing keys
# A burst is kept up to one character past the longest code, so that a key held down
# (or a paste typed as keys) costs no memory and is still refused as too long.
WEDGE_MAX = MAX_LINE + 1


class WedgeReader:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.keys: list[str] = []
        self.at = 0.0

    def feed(self, key: str, character: str | None) -> str | None:
        """One key; the scanned text when this key is the Enter that ends a scan."""
        now = self.clock()
        fast = now - self.at <= WEDGE_GAP
        self.at = now
        if character and len(character) == 1 and character.isprintable() and character != " ":
            if not fast:
                self.keys = [character]
            elif len(self.keys) < WEDGE_MAX:
                self.keys.append(character)
            return None
        if key == "enter" and fast and len(self.keys) >= WEDGE_MIN:
            text, self.keys = "".join(self.keys), []
            return text
        self.keys = []
        return None
