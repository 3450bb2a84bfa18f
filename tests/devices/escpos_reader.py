"""Read ESC/POS bytes back into what a thermal printer would put on paper. For tests only.

``read_escpos(data)`` walks the bytes the way a printer does: text is decoded with the code
page chosen by the last ESC t (looked up in the python-escpos printer profile), each printed
line keeps the character size, emphasis, alignment and font it was printed with, images
(GS v 0, GS ( L and ESC *) are rebuilt as 1-bit Pillow images, and QR codes, native or
drawn as images, are decoded back to their payloads. A command the reader does not know
raises ``ValueError`` naming the offset and bytes, so a test notices new bytes instead of
reading past them.
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import zxingcpp
from PIL import Image, ImageOps

ESC, GS, FS, DLE = 0x1B, 0x1D, 0x1C, 0x10
LF, HT = 0x0A, 0x09
PREFIXES = {ESC: "ESC", GS: "GS", FS: "FS", DLE: "DLE"}
CODE_NAMES = {0x04: "EOT", 0x05: "ENQ", 0x14: "DC4", 0x20: "SP"}
# Control bytes that are a whole command on their own (LF and HT are handled as text).
SINGLE = {0x00: "NUL", 0x07: "BEL", 0x0B: "VT", 0x0C: "FF", 0x0D: "CR", 0x18: "CAN"}
# Commands with a fixed number of parameter bytes after the two-byte name.
FIXED: dict[tuple[int, int], int] = {
    **{(ESC, ord(code)): 0 for code in "@2"},
    **{(ESC, ord(code)): 1 for code in "3A+aEG-M!tdeJr{V =?KU"},
    **{(ESC, ord(code)): 2 for code in "B$\\c"},
    (ESC, ord("p")): 3,
    **{(GS, ord(code)): 1 for code in "!Bb|HfhwarI"},
    **{(GS, ord(code)): 2 for code in "LWP"},
    **{(FS, ord(code)): 0 for code in "&."},
    **{(FS, ord(code)): 1 for code in "C!-"},
    (DLE, 0x04): 1,  # DLE EOT n: real-time status
    (DLE, 0x05): 1,  # DLE ENQ n: real-time request
    (DLE, 0x14): 3,  # DLE DC4 fn m t: real-time pulse
}
ALIGNS = {0: "left", 1: "center", 2: "right"}
QR_FORMATS = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.MicroQRCode)


@dataclass(frozen=True)
class Command:
    """One command as sent: ``name`` as in the Epson manuals ("ESC a", "GS V", "GS v 0",
    "GS ( k"), its parameters, where it starts, and any data block it carries (image bits,
    QR payload, barcode digits)."""

    name: str
    args: tuple[int, ...]
    offset: int
    data: bytes = b""


@dataclass(frozen=True)
class Line:
    """One printed line. ``size`` is the (width, height) multiplier of its largest
    characters, as the printer sizes the whole line by them; ``bold`` is true if any of it
    was emphasised; ``align`` and ``font`` are those in effect when it began."""

    text: str
    size: tuple[int, int]
    bold: bool
    align: str
    font: int


@dataclass
class Reading:
    """What the bytes print. ``text`` is every printed line followed by a newline; feeds
    (ESC d, ESC J) end the line being built but add no blank lines; images are not text."""

    text: str = ""
    lines: list[Line] = field(default_factory=list)
    codepages: list[tuple[int, str]] = field(default_factory=list)
    images: list[Image.Image] = field(default_factory=list)
    qr_payloads: list[str] = field(default_factory=list)
    cuts: int = 0
    commands: list[Command] = field(default_factory=list)

    def line_with(self, fragment: str) -> Line:
        """The first printed line containing ``fragment``; LookupError lists the lines."""
        for line in self.lines:
            if fragment in line.text:
                return line
        printed = [line.text for line in self.lines]
        raise LookupError(f"no printed line contains {fragment!r}; lines: {printed}")

    def named(self, name: str) -> list[Command]:
        """Every command called ``name``, in order."""
        return [command for command in self.commands if command.name == name]


def read_escpos(data: bytes, profile: str = "TM-T88V") -> Reading:
    """Read ``data`` as a printer with python-escpos profile ``profile`` would.

    Raises ValueError, naming the offset, for an unknown command, a command cut short by
    the end of the data, or an ESC t code page the profile does not have."""
    return _Reader(bytes(data), profile).read()


@cache
def _escpos_capabilities() -> Any:
    # Same care as devices.tickets: python-escpos calls logging.basicConfig() on import
    # and makes a new temporary folder each time unless told where to keep its cache.
    cache_dir = os.environ.setdefault(
        "ESCPOS_CAPABILITIES_PICKLE_DIR", os.path.join(tempfile.gettempdir(), "gateway-escpos")
    )
    os.makedirs(cache_dir, exist_ok=True)
    root = logging.getLogger()
    handlers = list(root.handlers)
    from escpos import capabilities, printer  # noqa: F401  (printer: for dummy_printer)

    root.handlers = handlers
    return capabilities


def dummy_printer(profile: str = "TM-T88V") -> Any:
    """A python-escpos ``Dummy`` printer, imported without touching logging."""
    _escpos_capabilities()
    from escpos.printer import Dummy

    return Dummy(profile=profile)


@cache
def code_pages(profile: str) -> dict[int, str]:
    """ESC t number -> encoding name, from the python-escpos profile."""
    pages = _escpos_capabilities().get_profile(profile).codePages
    return {int(number): name for number, name in pages.items()}


@cache
def _upper_half(encoding: str) -> str:
    """Characters for bytes 0x80-0xFF in ``encoding``, from the same table python-escpos
    encodes with; U+FFFD where the code page has no known character."""
    known = _escpos_capabilities().CAPABILITIES["encodings"].get(encoding, {})
    if "data" in known:
        return "".join(known["data"])
    if "python_encode" not in known:
        return "\ufffd" * 128
    return "".join(
        bytes([code]).decode(known["python_encode"], errors="replace")[:1] or "\ufffd"
        for code in range(0x80, 0x100)
    )


def _decode(chunk: bytes, encoding: str) -> str:
    upper = _upper_half(encoding)
    return "".join(chr(code) if code < 0x80 else upper[code - 0x80] for code in chunk)


def _image_from_bits(bits: bytes, width_bytes: int, height: int) -> Image.Image:
    """A 1-bit image, black on white, from rows of bits where a set bit is a printed dot."""
    return Image.frombytes("1", (width_bytes * 8, height), bytes(b ^ 0xFF for b in bits))


def _column_stripe(bits: bytes, columns: int, dots_high: int) -> Image.Image:
    """One ESC * stripe: each column is ``dots_high`` bits, the top dot in the high bit."""
    sideways = _image_from_bits(bits, dots_high // 8, columns)
    return sideways.transpose(Image.Transpose.TRANSPOSE)


def _stack(stripes: list[Image.Image]) -> Image.Image:
    width = max(stripe.width for stripe in stripes)
    image = Image.new("1", (width, sum(stripe.height for stripe in stripes)), 1)
    top = 0
    for stripe in stripes:
        image.paste(stripe, (0, top))
        top += stripe.height
    return image


def qr_payloads_in(image: Image.Image) -> list[str]:
    """Payloads of the QR codes drawn in ``image``. A code with a thin quiet zone or tiny
    modules may not be found as printed, so a padded, enlarged copy is tried next."""
    grey = image.convert("L")
    found = zxingcpp.read_barcodes(grey, formats=QR_FORMATS)
    if not found:
        padded = ImageOps.expand(grey, border=32, fill=255)
        enlarged = padded.resize((padded.width * 3, padded.height * 3), Image.Resampling.NEAREST)
        found = zxingcpp.read_barcodes(enlarged, formats=QR_FORMATS)
    return [barcode.text for barcode in found]


def _name(prefix: int, code: int) -> str:
    return f"{PREFIXES[prefix]} {CODE_NAMES.get(code) or chr(code)}"


def _shown(code: int) -> str:
    return f"0x{code:02x}" + (f" ({chr(code)!r})" if 0x20 < code < 0x7F else "")


class _Reader:
    """The printer's state while reading: modes, the line being built, stored symbols."""

    def __init__(self, data: bytes, profile: str) -> None:
        self.data = data
        self.profile = profile
        self.pages = code_pages(profile)
        self.reading = Reading()
        self.text_parts: list[str] = []
        self.chunks: list[str] = []  # the line being built
        self.line_size, self.line_bold, self.line_align, self.line_font = (1, 1), False, "", 0
        self.stripes: list[Image.Image] = []  # ESC * stripes of one column-format image
        self.stripe_awaits_feed = False
        self.graphic: Image.Image | None = None  # GS ( L stored graphic
        self.qr_data: bytes | None = None  # GS ( k stored QR symbol
        self._reset_modes()

    def _reset_modes(self) -> None:
        self.size, self.bold, self.align, self.font = (1, 1), False, "left", 0
        self.encoding = self.pages.get(0, "CP437")

    # --- walking the bytes

    def read(self) -> Reading:
        pos = 0
        while pos < len(self.data):
            code = self.data[pos]
            if code >= 0x20 or code == HT:
                end = pos + 1
                while end < len(self.data) and (self.data[end] >= 0x20 or self.data[end] == HT):
                    end += 1
                self._text(self.data[pos:end])
                pos = end
            elif code == LF:
                self._line_feed()
                pos += 1
            elif code in SINGLE:
                self._command(Command(SINGLE[code], (), pos))
                pos += 1
            elif code in PREFIXES:
                pos = self._prefixed(pos)
            else:
                raise ValueError(f"unknown ESC/POS control byte {_shown(code)} at offset {pos}")
        self._finish_stripes()
        if self.chunks:
            self._end_line(newline=False)
        self.reading.text = "".join(self.text_parts)
        return self.reading

    def _take(self, pos: int, start: int, count: int, name: str) -> bytes:
        """``count`` bytes from ``pos + start``; ValueError if the data ends first."""
        end = pos + start + count
        if end > len(self.data):
            raise ValueError(f"{name} at offset {pos} runs past the end of the data")
        return self.data[pos + start : end]

    def _until_nul(self, pos: int, start: int, name: str) -> bytes:
        end = self.data.find(b"\x00", pos + start)
        if end < 0:
            raise ValueError(f"{name} at offset {pos} has no closing NUL")
        return self.data[pos + start : end]

    def _prefixed(self, pos: int) -> int:
        """Read the command starting with ESC, GS, FS or DLE at ``pos``; return its end."""
        prefix = self.data[pos]
        code = self._take(pos, 1, 1, PREFIXES[prefix])[0]
        if (prefix, code) in FIXED:
            name = _name(prefix, code)
            args = tuple(self._take(pos, 2, FIXED[prefix, code], name))
            command, end = Command(name, args, pos), pos + 2 + len(args)
        elif (prefix, code) in VARIABLE:
            command, end = VARIABLE[prefix, code](self, pos)
        else:
            raise ValueError(
                f"unknown ESC/POS command {PREFIXES[prefix]} {_shown(code)} at offset {pos}"
            )
        self._command(command)
        return end

    # --- commands whose length depends on their parameters

    def _bit_image_column(self, pos: int) -> tuple[Command, int]:
        m, low, high = self._take(pos, 2, 3, "ESC *")
        if m not in (0, 1, 32, 33):
            raise ValueError(f"ESC * at offset {pos} has unknown mode {m}")
        columns = low + 256 * high
        bits = self._take(pos, 5, columns * (3 if m >= 32 else 1), "ESC *")
        return Command("ESC *", (m, columns), pos, bits), pos + 5 + len(bits)

    def _tab_positions(self, pos: int) -> tuple[Command, int]:
        stops = self._until_nul(pos, 2, "ESC D")
        return Command("ESC D", tuple(stops), pos), pos + 3 + len(stops)

    def _cut(self, pos: int) -> tuple[Command, int]:
        m = self._take(pos, 2, 1, "GS V")[0]
        if m in (0, 1, 48, 49):
            return Command("GS V", (m,), pos), pos + 3
        if m in (65, 66, 97, 98, 103, 104):
            return Command("GS V", (m, self._take(pos, 3, 1, "GS V")[0]), pos), pos + 4
        raise ValueError(f"GS V at offset {pos} has unknown cut mode {m}")

    def _raster_image(self, pos: int) -> tuple[Command, int]:
        zero, m, x_low, x_high, y_low, y_high = self._take(pos, 2, 6, "GS v")
        if zero != 0x30:
            raise ValueError(f"unknown ESC/POS command GS v {_shown(zero)} at offset {pos}")
        width_bytes, height = x_low + 256 * x_high, y_low + 256 * y_high
        bits = self._take(pos, 8, width_bytes * height, "GS v 0")
        return Command("GS v 0", (m, width_bytes, height), pos, bits), pos + 8 + len(bits)

    def _length_prefixed(self, pos: int) -> tuple[Command, int]:
        """GS ( x pL pH body: every GS ( command says its own length."""
        function, low, high = self._take(pos, 2, 3, "GS (")
        name = f"GS ( {chr(function)}"
        body = self._take(pos, 5, low + 256 * high, name)
        if len(body) < 2:
            raise ValueError(f"{name} at offset {pos} is too short to name its function")
        return Command(name, tuple(body[:2]), pos, body[2:]), pos + 5 + len(body)

    def _barcode(self, pos: int) -> tuple[Command, int]:
        m = self._take(pos, 2, 1, "GS k")[0]
        if m <= 6:  # GS k m d1...dk NUL
            digits = self._until_nul(pos, 3, "GS k")
            return Command("GS k", (m,), pos, digits), pos + 4 + len(digits)
        if 65 <= m <= 78:  # GS k m n d1...dn
            count = self._take(pos, 3, 1, "GS k")[0]
            digits = self._take(pos, 4, count, "GS k")
            return Command("GS k", (m, count), pos, digits), pos + 4 + count
        raise ValueError(f"GS k at offset {pos} has unknown barcode system {m}")

    # --- what the printer does

    def _text(self, chunk: bytes) -> None:
        self._finish_stripes()
        if not self.chunks:
            self._begin_line()
        self.line_size = max(self.line_size, self.size, key=lambda s: (s[0] * s[1], s[1]))
        self.line_bold = self.line_bold or self.bold
        self.chunks.append(_decode(chunk, self.encoding))

    def _line_feed(self) -> None:
        if self.stripe_awaits_feed:  # the LF that prints an ESC * stripe
            self.stripe_awaits_feed = False
            return
        self._finish_stripes()
        if not self.chunks:
            self._begin_line()
        self._end_line()

    def _begin_line(self) -> None:
        self.line_size, self.line_bold = self.size, self.bold
        self.line_align, self.line_font = self.align, self.font

    def _end_line(self, newline: bool = True) -> None:
        text = "".join(self.chunks)
        self.chunks = []
        line = Line(text, self.line_size, self.line_bold, self.line_align, self.line_font)
        self.reading.lines.append(line)
        self.text_parts.append(text + "\n" if newline else text)

    def _print_pending_line(self) -> None:
        if self.chunks:
            self._end_line()

    def _command(self, command: Command) -> None:
        if command.name != "ESC *":
            self._finish_stripes()
        self.reading.commands.append(command)
        handler = HANDLERS.get(command.name)
        if handler is not None:
            handler(self, command)

    def _add_image(self, image: Image.Image) -> None:
        self._print_pending_line()
        self.reading.images.append(image)
        self.reading.qr_payloads.extend(qr_payloads_in(image))

    def _finish_stripes(self) -> None:
        if self.stripes:
            stripes, self.stripes = self.stripes, []
            self.stripe_awaits_feed = False
            self._add_image(_stack(stripes))

    def _initialise(self, command: Command) -> None:
        self.chunks = []  # ESC @ clears the print buffer: unprinted text is lost
        self._reset_modes()

    def _set_align(self, command: Command) -> None:
        self.align = ALIGNS.get(command.args[0] % 48, self.align)

    def _set_bold(self, command: Command) -> None:
        self.bold = bool(command.args[0] & 1)

    def _set_font(self, command: Command) -> None:
        self.font = command.args[0] % 48

    def _set_print_mode(self, command: Command) -> None:
        mode = command.args[0]
        self.font, self.bold = mode & 1, bool(mode & 0x08)
        self.size = (2 if mode & 0x20 else 1, 2 if mode & 0x10 else 1)

    def _set_size(self, command: Command) -> None:
        n = command.args[0]
        self.size = ((n >> 4 & 7) + 1, (n & 7) + 1)

    def _set_code_page(self, command: Command) -> None:
        number = command.args[0]
        if number not in self.pages:
            raise ValueError(
                f"ESC t {number} at offset {command.offset}: "
                f"code page {number} is not in profile {self.profile}"
            )
        self.encoding = self.pages[number]
        self.reading.codepages.append((number, self.encoding))

    def _feed(self, command: Command) -> None:
        self._print_pending_line()

    def _count_cut(self, command: Command) -> None:
        self._print_pending_line()
        self.reading.cuts += 1

    def _print_raster(self, command: Command) -> None:
        _, width_bytes, height = command.args
        self._add_image(_image_from_bits(command.data, width_bytes, height))

    def _print_column_stripe(self, command: Command) -> None:
        if self.stripe_awaits_feed:  # two stripes on one line: keep them apart
            self._finish_stripes()
        self._print_pending_line()
        m, columns = command.args
        self.stripes.append(_column_stripe(command.data, columns, 24 if m >= 32 else 8))
        self.stripe_awaits_feed = True

    def _graphics(self, command: Command) -> None:
        """GS ( L: function 112 stores a raster graphic, function 50 prints it."""
        _, function = command.args
        if function == 112 and len(command.data) >= 8:
            width = command.data[4] + 256 * command.data[5]
            height = command.data[6] + 256 * command.data[7]
            picture = _image_from_bits(command.data[8:], (width + 7) // 8, height)
            self.graphic = picture.crop((0, 0, width, height))
        elif function == 50 and self.graphic is not None:
            self._add_image(self.graphic)

    def _symbol(self, command: Command) -> None:
        """GS ( k for QR (cn 49): function 80 stores the data, function 81 prints it."""
        kind, function = command.args
        if kind != 49:
            return
        if function == 80:
            self.qr_data = command.data[1:]  # after m
        elif function == 81 and self.qr_data is not None:
            self._print_pending_line()
            self.reading.qr_payloads.append(self.qr_data.decode("utf-8", errors="replace"))


VARIABLE: dict[tuple[int, int], Callable[[_Reader, int], tuple[Command, int]]] = {
    (ESC, ord("*")): _Reader._bit_image_column,
    (ESC, ord("D")): _Reader._tab_positions,
    (GS, ord("V")): _Reader._cut,
    (GS, ord("v")): _Reader._raster_image,
    (GS, ord("(")): _Reader._length_prefixed,
    (GS, ord("k")): _Reader._barcode,
}

HANDLERS: dict[str, Callable[[_Reader, Command], None]] = {
    "ESC @": _Reader._initialise,
    "ESC a": _Reader._set_align,
    "ESC E": _Reader._set_bold,
    "ESC M": _Reader._set_font,
    "ESC !": _Reader._set_print_mode,
    "GS !": _Reader._set_size,
    "ESC t": _Reader._set_code_page,
    "ESC d": _Reader._feed,
    "ESC J": _Reader._feed,
    "FF": _Reader._feed,
    "GS V": _Reader._count_cut,
    "GS v 0": _Reader._print_raster,
    "ESC *": _Reader._print_column_stripe,
    "GS ( L": _Reader._graphics,
    "GS ( k": _Reader._symbol,
}
