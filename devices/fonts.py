"""Fonts for text that a printer's code pages cannot carry (Devanagari, Arabic, ...).

Such text is drawn with Pillow (its wheels shape complex scripts through raqm) and printed
as a raster image. Install the fonts with ``apt install fonts-noto-core`` (Debian/Ubuntu),
or point ``GATEWAY_FONT_DIR`` at a folder of .ttf/.otf files.
"""

from __future__ import annotations

import os
import unicodedata
from functools import cache
from pathlib import Path

FONT_DIRS = (
    "/usr/share/fonts/truetype/noto",
    "/usr/share/fonts/opentype/noto",
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts",
)

# The font file for a script, by the first word of its characters' Unicode names.
SCRIPT_FONTS = {
    "DEVANAGARI": ("NotoSansDevanagari-Regular.ttf", "NotoSerifDevanagari-Regular.ttf"),
    "ARABIC": ("NotoSansArabic-Regular.ttf", "NotoNaskhArabic-Regular.ttf"),
    "GURMUKHI": ("NotoSansGurmukhi-Regular.ttf",),
    "BENGALI": ("NotoSansBengali-Regular.ttf",),
}
GENERAL_FONTS = ("NotoSans-Regular.ttf", "DejaVuSans.ttf")


def script_of(text: str) -> str | None:
    """The first non-Latin, non-common script in ``text`` (by Unicode name), or None."""
    for ch in text:
        if ord(ch) < 0x0250 or not (ch.isalpha() or _mark(ch)):
            continue
        name = unicodedata.name(ch, "")
        word = name.split(" ")[0]
        if word in SCRIPT_FONTS:
            return word
    return None


def script_runs(text: str) -> list[tuple[str | None, str]]:
    """``text`` cut into runs of one script each (None: Latin, digits and the like).
    Spaces and punctuation stay with the run they are in, so words keep together."""
    runs: list[tuple[str | None, str]] = []
    for ch in text:
        script = script_of(ch) if ch.isalpha() or unicodedata.category(ch).startswith("M") else None
        if runs and (script == runs[-1][0] or not (ch.isalpha() or _mark(ch))):
            runs[-1] = (runs[-1][0], runs[-1][1] + ch)
        else:
            runs.append((script, ch))
    return runs


def _mark(ch: str) -> bool:
    return unicodedata.category(ch).startswith("M")


@cache
def find_font(script: str | None, *, bold: bool = False) -> Path | None:
    """A font file that has ``script`` (None: Latin and the like), or None if there is
    none on this machine. ``bold`` prefers the bold face where one is installed."""
    names: tuple[str, ...] = (*SCRIPT_FONTS.get(script or "", ()), *GENERAL_FONTS)
    if bold:
        names = tuple(_bold(name) for name in names) + names
    dirs = [os.environ["GATEWAY_FONT_DIR"]] if os.environ.get("GATEWAY_FONT_DIR") else []
    for folder in (*dirs, *FONT_DIRS):
        base = Path(folder)
        if not base.is_dir():
            continue
        for name in names:
            found = next(iter(base.rglob(name)), None)
            if found is not None:
                return found
    return None


def _bold(name: str) -> str:
    if "-Regular" in name:
        return name.replace("-Regular", "-Bold")
    return name.replace(".ttf", "-Bold.ttf")
