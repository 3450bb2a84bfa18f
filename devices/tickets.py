"""A ticket as plain data, and its ESC/POS bytes.

Devices never see the database: the kiosk (or the CLI) turns a ticket into a
``PrintedTicket`` and hands it over. The bytes are built with python-escpos's ``Dummy``
printer, which is pure, so building a ticket is testable without hardware; a printer
connection then only sends them.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from dataclasses import dataclass
from functools import cache
from typing import Any

PRIVACY_LINE = "We keep your visit details only as long as the law allows."


@dataclass(frozen=True)
class PrintedTicket:
    centre: str
    number: str
    service: str  # in the customer's language
    service_en: str
    ahead: int | None
    wait_minutes: int | None
    issued: str  # local date and time, already formatted
    reference: str  # the QR payload
    language: str = "en"
    privacy: str = PRIVACY_LINE


def _escpos() -> Any:
    """Import python-escpos quietly: it calls ``logging.basicConfig()`` and makes a new
    temporary folder per import unless told where to keep its capabilities cache."""
    cache_dir = os.environ.setdefault(
        "ESCPOS_CAPABILITIES_PICKLE_DIR", os.path.join(tempfile.gettempdir(), "gateway-escpos")
    )
    os.makedirs(cache_dir, exist_ok=True)
    import logging

    root = logging.getLogger()
    handlers = list(root.handlers)
    from escpos import printer

    root.handlers = handlers  # undo basicConfig
    return printer


@cache
def _printer_module() -> Any:
    return _escpos()


def _latin(text: str) -> bool:
    """Text the printer's code pages can carry (Latin, Polish, Cyrillic, Greek)."""
    return all(ord(ch) < 0x0530 or ch in "£€–—‘’“”" for ch in text)


PAPER_DOTS = 512  # printable width of 80 mm paper at 180 dpi (TM-T88V)


def text_image(text: str, *, size: int = 34, width: int = PAPER_DOTS) -> Any | None:
    """``text`` drawn black on white, centred, each script in a font that has it (shaped
    by Pillow's raqm); None if this machine lacks a font for it (the line is then left
    off rather than printed as ?)."""
    from PIL import Image, ImageDraw, ImageFont

    from devices.fonts import find_font, script_runs

    runs = []
    for script, part in script_runs(text):
        font_file = find_font(script)
        if font_file is None:
            return None
        runs.append((part, ImageFont.truetype(str(font_file), size)))
    widths = [font.getlength(part) for part, font in runs]
    ascent = max(font.getmetrics()[0] for _, font in runs)
    descent = max(font.getmetrics()[1] for _, font in runs)
    image = Image.new("1", (width, ascent + descent + 8), 1)
    draw = ImageDraw.Draw(image)
    x = max(0.0, (width - sum(widths)) / 2)
    for (part, font), run_width in zip(runs, widths, strict=True):
        draw.text((x, 4 + ascent), part, font=font, fill=0, anchor="ls")
        x += run_width
    return image


def ticket_bytes(ticket: PrintedTicket, *, profile: str = "TM-T88V") -> bytes:
    """The ESC/POS bytes of one ticket, with a cut at the end. Text the printer's code
    pages carry is sent as text; other scripts (Devanagari, ...) as a raster image."""
    dummy = _printer_module().Dummy(profile=profile)
    dummy.set(align="center", bold=True)
    dummy.textln(ticket.centre)
    dummy.set(align="center", bold=True, custom_size=True, width=4, height=4)
    dummy.textln(ticket.number)
    dummy.set(align="center", normal_textsize=True, bold=True)
    if ticket.service != ticket.service_en:
        if _latin(ticket.service):
            dummy.textln(ticket.service)
        elif (picture := text_image(ticket.service)) is not None:
            with contextlib.redirect_stdout(io.StringIO()):  # escpos prints notes to stdout
                dummy.image(picture, impl="bitImageRaster", center=False)
    dummy.set(align="center", normal_textsize=True, bold=False)
    dummy.textln(ticket.service_en)
    if ticket.ahead is not None:
        wait = f"about {ticket.wait_minutes} min" if ticket.wait_minutes is not None else "-"
        dummy.textln(f"Ahead of you: {ticket.ahead}   Wait: {wait}")
    dummy.textln(ticket.issued)
    with contextlib.redirect_stdout(io.StringIO()):
        dummy.qr(ticket.reference, size=6, center=True)
    dummy.set(align="center", font="b")
    dummy.textln(ticket.privacy)
    dummy.cut()
    return bytes(dummy.output)
