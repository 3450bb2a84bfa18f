"""A ticket as plain data, its layout, and the layout's two renderings: ESC/POS bytes
for a thermal printer and a PNG picture that looks like the paper.

Devices never see the database: the kiosk (or the CLI) turns a ticket into a
``PrintedTicket`` and hands it over. ``ticket_layout`` decides what goes on the paper, in
which order and at which size; ``ticket_bytes`` and ``ticket_png`` only draw it, so the
preview shows what the printer gets. The bytes are built with python-escpos's ``Dummy``
printer, which is pure, so building a ticket is testable without hardware; a printer
connection then only sends them.

Text the printer's code pages carry (£, accented Latin, Polish, Cyrillic, Greek) goes out
as text, python-escpos switching code pages as needed. Other scripts (Devanagari,
Arabic, ...) are drawn with Pillow in a font that has them (``devices.fonts``) and go out
as a raster image, never as question marks.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import tempfile
import textwrap
from dataclasses import dataclass
from functools import cache
from typing import Any


def N_(message: str) -> str:
    """Marks a message for the catalogue (``locales/``); translated where it is used."""
    return message


PRIVACY_LINE = N_("We keep your visit details only as long as the law allows.")

# Printable width in dots, and characters per line in font A (12 dots wide), by paper width.
PAPER_DOTS = {80: 512, 58: 384}
PAPER_WIDTHS = tuple(PAPER_DOTS)
LINE_DOTS = 24  # font A is 24 dots high
NUMBER_SIZE = 4  # the ticket number: four times the normal width and height
# C0 and C1 control characters (and DEL) other than the whitespace textwrap turns into
# spaces. On the paper they would be printer commands (ESC @ resets, GS V cuts, ESC p
# opens the cash drawer), so a line's text never carries them, whoever wrote it.
CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
LINE_BREAKS = str.maketrans("\t\n\v\f\r", "     ")


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


# -- the layout -------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    """One line of text, centred. ``size`` multiplies width and height (1 to 8);
    ``small`` is the printer's narrow font B."""

    text: str
    size: int = 1
    bold: bool = False
    small: bool = False


@dataclass(frozen=True)
class Qr:
    payload: str


@dataclass(frozen=True)
class Rule:
    """A thin line across the paper."""


Block = Line | Qr | Rule


def wait_sentences(words: Any, ahead: int | None, minutes: int | None) -> list[str]:
    """How many are ahead and how long the wait is, in the words of a translation
    (``locales.translation``): the ticket screen and the paper say the same."""
    if ahead is None:
        return []
    if ahead == 0:
        out = [words.gettext("You are next.")]
    else:
        out = [
            words.ngettext("%(n)d person is ahead of you.", "%(n)d people are ahead of you.", ahead)
            % {"n": ahead}
        ]
    if minutes is None:
        out.append(words.gettext("A member of staff will call you."))
    elif minutes <= 1:
        out.append(words.gettext("You should be called very soon."))
    else:
        out.append(
            words.ngettext(
                "Expected wait: about %(minutes)d minute.",
                "Expected wait: about %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes}
        )
    return out


def ticket_layout(ticket: PrintedTicket) -> list[Block]:
    """What the paper carries, top to bottom (the cut comes after). The lines for the
    customer are in their language; the service is in English too, for staff."""
    from locales import translation

    words = translation(ticket.language)
    blocks: list[Block] = [Line(ticket.centre, bold=True), Rule()]
    blocks.append(Line(ticket.number, size=NUMBER_SIZE, bold=True))
    if ticket.service != ticket.service_en:
        blocks.append(Line(ticket.service, size=1, bold=True))
        blocks.append(Line(ticket.service_en))
    else:
        blocks.append(Line(ticket.service_en, bold=True))
    blocks += [Line(text) for text in wait_sentences(words, ticket.ahead, ticket.wait_minutes)]
    blocks.append(Line(ticket.issued))
    blocks.append(Qr(ticket.reference))
    blocks.append(Line(words.gettext(ticket.privacy), small=True))
    return blocks


def test_page_layout(
    spec: str, *, profile: str, width_mm: int, status: str, centre: str = "Gateway"
) -> list[Block]:
    """A printer test page: what the printer is, what it said, and a line of each kind
    of text a ticket may carry, so a glance shows whether £, Polish and Nepali print."""
    return [
        Line(centre, bold=True),
        Rule(),
        Line("TEST", size=NUMBER_SIZE, bold=True),
        Line("Printer test page", bold=True),
        Line(f"{spec}"),
        Line(f"profile {profile}, {width_mm} mm paper"),
        Line(f"status: {status}"),
        Line("£ € Zażółć gęślą jaźń Română Türkçe"),
        Line("Українська"),
        Line("नेपाली"),
        Qr("gateway:printer-test"),
        Line(PRIVACY_LINE, small=True),
    ]


def columns(width_mm: int, *, size: int = 1, small: bool = False) -> int:
    """Characters per line at this size (font A is 12 dots wide, font B 9)."""
    return max(1, PAPER_DOTS[width_mm] // ((9 if small else 12) * size))


def printable(text: str) -> str:
    """The text with control characters dropped and line breaks and tabs as spaces: a
    line of a ticket is text only, never a printer command."""
    return CONTROLS.sub("", text).translate(LINE_BREAKS)


def wrapped(line: Line, width_mm: int) -> list[str]:
    """The line cut at word boundaries to fit the paper (long words are broken)."""
    text = printable(line.text)
    return textwrap.wrap(text, columns(width_mm, size=line.size, small=line.small)) or [""]


# -- rendering: ESC/POS bytes ------------------------------------------------------------


@cache
def escpos_printer_module() -> Any:
    """python-escpos's printer classes (Dummy, Network, Serial, Usb, File), imported once
    and quietly: importing it calls ``logging.basicConfig()`` and makes a new temporary
    folder per import unless told where to keep its capabilities cache."""
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


def known_profile(profile: str) -> bool:
    """Whether python-escpos knows a printer profile of this name (TM-T88V, TM-T20II...)."""
    escpos_printer_module()
    from escpos.capabilities import CAPABILITIES

    return profile in CAPABILITIES["profiles"]


def _latin(text: str) -> bool:
    """Text the printer's code pages can carry (Latin, Polish, Cyrillic, Greek)."""
    return all(ord(ch) < 0x0530 or ch in "£€–—‘’“”" for ch in text)


def layout_bytes(
    blocks: list[Block], *, profile: str = "TM-T88V", width_mm: int = 80, native_qr: bool = False
) -> bytes:
    """The ESC/POS bytes of a layout, with a cut at the end.

    Pictures (QR codes, lines in other scripts) are cropped to their ink and centred by
    the printer (ESC a), not padded to the paper's width: a ticket stays a few kilobytes,
    a few seconds on a 9600-baud serial line. ``native_qr`` sends the printer's own QR
    command (GS ( k: about 70 bytes) instead of a picture, for printers that have it."""
    dots = PAPER_DOTS[width_mm]
    dummy = escpos_printer_module().Dummy(profile=profile)
    dummy.hw("INIT")
    for block in blocks:
        if isinstance(block, Rule):
            dummy.set(align="center", normal_textsize=True, bold=False, font="a")
            dummy.textln("-" * columns(width_mm))
        elif isinstance(block, Qr):
            dummy.set(align="center", normal_textsize=True, bold=False, font="a")
            with contextlib.redirect_stdout(io.StringIO()):  # escpos prints notes to stdout
                dummy.qr(block.payload, size=6 if width_mm == 80 else 5, native=native_qr)
        elif _latin(printable(block.text)):
            if block.size > 1:
                dummy.set(
                    align="center",
                    bold=block.bold,
                    custom_size=True,
                    width=block.size,
                    height=block.size,
                    font="a",
                )
            else:
                dummy.set(
                    align="center",
                    bold=block.bold,
                    normal_textsize=True,
                    font="b" if block.small else "a",
                )
            for text in wrapped(block, width_mm):
                dummy.textln(text)
        else:
            picture = text_image(
                printable(block.text), size=_font_pixels(block), width=dots, bold=block.bold
            )
            if picture is not None:  # no font for it here: left off rather than "????"
                dummy.set(align="center", normal_textsize=True, bold=False, font="a")
                with contextlib.redirect_stdout(io.StringIO()):
                    dummy.image(_inked(picture), impl="bitImageRaster", center=False)
    dummy.cut()
    return bytes(dummy.output)


def ticket_bytes(
    ticket: PrintedTicket, *, profile: str = "TM-T88V", width_mm: int = 80, native_qr: bool = False
) -> bytes:
    """The ESC/POS bytes of one ticket, with a cut at the end."""
    return layout_bytes(
        ticket_layout(ticket), profile=profile, width_mm=width_mm, native_qr=native_qr
    )


def _inked(picture: Any) -> Any:
    """The picture cut down to the columns that have ink (whole bytes of 8 dots)."""
    from PIL import ImageOps

    box = ImageOps.invert(picture.convert("L")).getbbox()
    if box is None:
        return picture
    left = box[0] // 8 * 8
    right = min(picture.width, -(-box[2] // 8) * 8)
    return picture.crop((left, 0, right, picture.height))


# -- rendering: a PNG picture of the paper ----------------------------------------------


def _font_pixels(line: Line) -> int:
    """A Pillow font size that matches the printer's glyphs at this size."""
    return round((18 if line.small else LINE_DOTS + 2) * line.size)


def text_image(
    text: str, *, size: int = 26, width: int = PAPER_DOTS[80], bold: bool = False
) -> Any | None:
    """``text`` drawn black on white, centred, each script in a font that has it (shaped
    by Pillow's raqm), made smaller if it would not fit across the paper; None if this
    machine lacks a font for it (the line is then left off rather than printed as ?)."""
    from PIL import Image, ImageDraw, ImageFont

    from devices.fonts import find_font, script_runs

    files = []
    for script, part in script_runs(text):
        font_file = find_font(script, bold=bold)
        if font_file is None:
            return None
        files.append((part, str(font_file)))
    while True:
        runs = [(part, ImageFont.truetype(file, size)) for part, file in files]
        widths = [font.getlength(part) for part, font in runs]
        if sum(widths) <= width - 8 or size <= 10:
            break
        size = max(10, int(size * min(0.95, (width - 8) / sum(widths))))
    ascent = max(font.getmetrics()[0] for _, font in runs)
    descent = max(font.getmetrics()[1] for _, font in runs)
    image = Image.new("1", (width, ascent + descent + 8), 1)
    draw = ImageDraw.Draw(image)
    x = max(0.0, (width - sum(widths)) / 2)
    for (part, font), run_width in zip(runs, widths, strict=True):
        draw.text((x, 4 + ascent), part, font=font, fill=0, anchor="ls")
        x += run_width
    return image


def layout_png(blocks: list[Block], *, width_mm: int = 80) -> bytes:
    """A PNG of the paper: the same blocks, drawn the width of the printed area with a
    margin either side, and a dashed cut line at the bottom."""
    from PIL import Image, ImageDraw

    dots = PAPER_DOTS[width_mm]
    pieces: list[Any] = []
    for block in blocks:
        if isinstance(block, Rule):
            rule = Image.new("1", (dots, 12), 1)
            ImageDraw.Draw(rule).line((16, 6, dots - 16, 6), fill=0, width=2)
            pieces.append(rule)
        elif isinstance(block, Qr):
            pieces.append(_qr_image(block.payload, box=6 if width_mm == 80 else 5, width=dots))
        else:
            shown = printable(block.text)
            for text in wrapped(block, width_mm) if _latin(shown) else [shown]:
                picture = text_image(text, size=_font_pixels(block), width=dots, bold=block.bold)
                if picture is not None:
                    pieces.append(picture)
    margin = 24
    height = sum(p.height for p in pieces) + 2 * margin + 16
    paper = Image.new("L", (dots + 2 * margin, height), 255)
    y = margin
    for piece in pieces:
        paper.paste(piece.convert("L"), (margin, y))
        y += piece.height
    draw = ImageDraw.Draw(paper)
    for x in range(0, paper.width, 12):  # where the printer cuts
        draw.line((x, height - 8, x + 6, height - 8), fill=128, width=1)
    out = io.BytesIO()
    paper.save(out, format="PNG", optimize=True)
    return out.getvalue()


def ticket_png(ticket: PrintedTicket, *, width_mm: int = 80) -> bytes:
    return layout_png(ticket_layout(ticket), width_mm=width_mm)


def _qr_image(payload: str, *, box: int, width: int) -> Any:
    import qrcode
    from PIL import Image

    code = qrcode.QRCode(border=1, box_size=box)
    code.add_data(payload)
    picture = code.make_image().get_image().convert("1")
    line = Image.new("1", (width, picture.height), 1)
    line.paste(picture, ((width - picture.width) // 2, 0))
    return line
