"""Thermal printers chosen by one string, their status, and sending a ticket to them.

Specs (``?profile=``, ``?width=``, ``?status=off`` and ``?qr=native`` may follow any):

- ``usb:VID:PID``: a USB printer, e.g. ``usb:04b8:0202`` (needs a udev rule, and no
  usblp or CUPS holding the device);
- ``serial:/dev/ttyUSB0?baud=19200``: a serial printer (9600 baud unless told);
- ``tcp:HOST:9100``: a network printer (port 9100 unless told);
- ``file:/dev/usb/lp0``: a device file that takes bytes (it cannot report status);
- ``preview:DIR``: writes each ticket as ``DIR/<number>.png`` (a picture of the paper) and
  ``DIR/<number>.bin`` (the raw ESC/POS bytes), for demos and tests;
- ``none``: no printer.

Before and after each job the printer is asked (ESC/POS real-time status, DLE EOT) if it
is online, has paper and has its cover closed. No answer is *unknown*, never "ok": a
printer that answers nothing before the job is not sent the ticket, so it cannot print it
later by surprise. Every wait is short (``STATUS_SECONDS``, ``CONNECT_SECONDS``) so a
silent printer is declared unknown within about two seconds. Sending raises
``PrintFailed`` with one sentence for staff; callers run it off the UI thread.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import select
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from devices.tickets import (
    PAPER_WIDTHS,
    PrintedTicket,
    escpos_printer_module,
    known_profile,
    layout_bytes,
    layout_png,
    test_page_layout,
    ticket_layout,
)

log = logging.getLogger("gateway.devices")

CONNECT_SECONDS = 2.0  # to reach a network printer
STATUS_SECONDS = 1.0  # for the printer to answer one status question
SEND_SECONDS = 5.0  # for a job's bytes to go out (serial adds the time the baud rate needs)
KINDS = ("usb", "serial", "tcp", "file", "preview", "none")
SPEC_HELP = (
    "use none, usb:VID:PID, serial:/dev/ttyUSB0?baud=19200, tcp:HOST:9100, "
    "file:/dev/usb/lp0 or preview:FOLDER"
)

# ESC/POS real-time status: DLE EOT n, answered with one byte whose bits 1 and 4 are set
# and bits 0 and 7 clear.
DLE_EOT = b"\x10\x04"
PRINTER_STATUS, OFFLINE_CAUSE, PAPER_SENSOR = 1, 2, 4
OFFLINE_BIT = 0x08  # n=1
COVER_OPEN_BIT = 0x04  # n=2
PAPER_STOP_BIT = 0x20  # n=2: stopped because the paper ran out
PAPER_NEAR_END = 0x0C  # n=4
PAPER_END = 0x60  # n=4


class PrintFailed(Exception):
    """The ticket did not print. The message is one sentence for staff; ``status`` is
    what the printer last said (unknown if it said nothing)."""

    def __init__(self, message: str, status: PrinterStatus | None = None) -> None:
        super().__init__(message)
        self.status = status or PrinterStatus()


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said. ``None`` in a field means it did not say."""

    online: bool | None = None
    paper: str | None = None  # ok | low | out
    cover_open: bool | None = None
    note: str = ""  # why it is unknown, when it is
    asked: bool = True  # False: this connection cannot report status, so was not asked

    @property
    def answered(self) -> bool:
        return self.online is not None

    @property
    def health(self) -> str:
        """ok, paper_low, paper_out, cover_open, offline or unknown (the words of the
        store's ``device_health``)."""
        if self.online is None:
            return "unknown"
        if self.paper == "out":
            return "paper_out"
        if self.cover_open:
            return "cover_open"
        if not self.online:
            return "offline"
        if self.paper == "low":
            return "paper_low"
        return "ok" if self.paper == "ok" else "unknown"

    @property
    def can_print(self) -> bool:
        return self.health in ("ok", "paper_low")

    def sentence(self) -> str:
        return {
            "ok": "The printer is ready.",
            "paper_low": "The printer is running low on paper.",
            "paper_out": "The printer is out of paper.",
            "cover_open": "The printer's cover is open.",
            "offline": "The printer is offline.",
            "unknown": f"The printer did not answer{': ' + self.note if self.note else ''}."
            if self.asked
            else "This printer cannot report its status.",
        }[self.health]


READY = PrinterStatus(online=True, paper="ok", cover_open=False)
PROBLEMS = {
    "paper_out": "is out of paper",
    "cover_open": "has its cover open",
    "offline": "is offline",
    "unknown": "did not answer",
}


@dataclass(frozen=True)
class PrintResult:
    """A job that went out, with the printer's status before and after it."""

    before: PrinterStatus
    after: PrinterStatus
    seconds: float
    files: tuple[Path, ...] = ()


@dataclass(frozen=True)
class Printer:
    spec: str
    kind: str
    target: str = ""
    port: int = 9100
    baud: int = 9600
    vendor: int = 0
    product: int = 0
    profile: str = "TM-T88V"
    width_mm: int = 80
    asks_status: bool = True
    native_qr: bool = False

    @property
    def configured(self) -> bool:
        return self.kind != "none"

    # -- what a caller uses ------------------------------------------------------------

    def ticket_bytes(self, ticket: PrintedTicket) -> bytes:
        return layout_bytes(
            ticket_layout(ticket),
            profile=self.profile,
            width_mm=self.width_mm,
            native_qr=self.native_qr,
        )

    def print_ticket(self, ticket: PrintedTicket) -> PrintResult:
        """Print one ticket; raises ``PrintFailed`` with a sentence if it did not."""
        blocks = ticket_layout(ticket)
        return self._job(blocks, _file_name(ticket.number))

    def print_test_page(self, *, centre: str = "Gateway") -> PrintResult:
        status = self.status() if self.kind not in ("preview", "none") else READY
        blocks = test_page_layout(
            self.spec,
            profile=self.profile,
            width_mm=self.width_mm,
            status=status.health.replace("_", " "),
            centre=centre,
        )
        return self._job(blocks, "printer-test")

    def status(self) -> PrinterStatus:
        """Ask the printer how it is (opens and closes the connection)."""
        if self.kind == "none":
            return PrinterStatus(note="no printer is set")
        if self.kind == "preview":
            return READY if _writable(Path(self.target)) else PrinterStatus(note="no folder")
        if not self.asks_status:  # and never open a file: opening it would empty it
            return PrinterStatus(asked=False)
        began = time.monotonic()
        try:
            with self._connection() as connection:
                return self._ask(connection)
        except PrintFailed as exc:
            return replace(exc.status, note=exc.status.note or str(exc).rstrip("."))
        finally:
            log.debug("status of %s took %.2f s", self.spec, time.monotonic() - began)

    # -- the job -----------------------------------------------------------------------

    def _job(self, blocks: list[Any], name: str) -> PrintResult:
        if not self.configured:
            raise PrintFailed("No printer is set for this kiosk.")
        began = time.monotonic()
        data = layout_bytes(
            blocks, profile=self.profile, width_mm=self.width_mm, native_qr=self.native_qr
        )
        if self.kind == "preview":
            files = self._preview(data, blocks, name)
            return PrintResult(READY, READY, time.monotonic() - began, files)
        with self._connection() as connection:
            before = self._ask(connection)
            if self.asks_status and not before.can_print:
                why = PROBLEMS[before.health]
                raise PrintFailed(
                    f"The printer {self.spec} {why}, so the ticket was not sent.", before
                )
            try:
                self._send(connection, data)
            except Exception as exc:
                raise PrintFailed(
                    f"The printer {self.spec} did not take the ticket ({_reason(exc)}).", before
                ) from None
            after = self._ask(connection)
        if self.asks_status and after.paper == "out":
            raise PrintFailed(f"The printer {self.spec} ran out of paper while printing.", after)
        if self.asks_status and not after.answered:
            raise PrintFailed(
                f"The printer {self.spec} stopped answering; the ticket may not have printed.",
                after,
            )
        return PrintResult(before, after, time.monotonic() - began)

    def _preview(self, data: bytes, blocks: list[Any], name: str) -> tuple[Path, ...]:
        folder = Path(self.target)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            raw, picture = folder / f"{name}.bin", folder / f"{name}.png"
            raw.write_bytes(data)
            picture.write_bytes(layout_png(blocks, width_mm=self.width_mm))
        except OSError as exc:
            raise PrintFailed(
                f"The preview folder {folder} cannot be written ({_reason(exc)})."
            ) from None
        return (raw, picture)

    # -- connections, through python-escpos --------------------------------------------

    @contextlib.contextmanager
    def _connection(self) -> Iterator[Any]:
        """An open python-escpos printer for this spec, closed afterwards. Failing to
        open is ``PrintFailed`` with a sentence."""
        escpos = escpos_printer_module()
        try:
            if self.kind == "tcp":
                connection = escpos.Network(
                    self.target, self.port, timeout=CONNECT_SECONDS, profile=self.profile
                )
            elif self.kind == "serial":
                connection = escpos.Serial(
                    self.target,
                    baudrate=self.baud,
                    timeout=STATUS_SECONDS,
                    dsrdtr=False,
                    profile=self.profile,
                )
            elif self.kind == "usb":
                connection = escpos.Usb(
                    self.vendor, self.product, timeout=int(STATUS_SECONDS * 1000),
                    profile=self.profile,
                )  # fmt: skip
            else:
                connection = escpos.File(self.target, profile=self.profile)
            connection.open()
        except Exception as exc:
            raise PrintFailed(
                f"The printer {self.spec} cannot be reached ({_reason(exc)}).",
                PrinterStatus(note="it cannot be reached"),
            ) from None
        try:
            if self.kind == "tcp":
                connection.device.settimeout(STATUS_SECONDS)
            yield connection
        finally:
            with contextlib.suppress(Exception):
                connection.close()

    def _send(self, connection: Any, data: bytes) -> None:
        if self.kind == "tcp":
            connection.device.settimeout(SEND_SECONDS)
            try:
                connection.device.sendall(data)
            finally:
                connection.device.settimeout(STATUS_SECONDS)
        elif self.kind == "serial":
            device = connection.device
            device.write_timeout = SEND_SECONDS + len(data) * 10 / self.baud
            device.write(data)
            device.flush()
        else:
            connection._raw(data)

    # -- status ------------------------------------------------------------------------

    def _ask(self, connection: Any) -> PrinterStatus:
        """Online? Then paper; if offline, why. The first silence ends the questions."""
        if not self.asks_status:  # file: and ?status=off
            return PrinterStatus(asked=False)
        online = self._question(connection, PRINTER_STATUS)
        if online is None:
            return PrinterStatus(note=f"no answer within {STATUS_SECONDS:g} s")
        paper = self._question(connection, PAPER_SENSOR)
        cause = self._question(connection, OFFLINE_CAUSE) if online & OFFLINE_BIT else 0
        paper_word = None
        if paper is not None:
            paper_word = "out" if paper & PAPER_END else "low" if paper & PAPER_NEAR_END else "ok"
        if cause is not None and cause & PAPER_STOP_BIT:
            paper_word = "out"
        return PrinterStatus(
            online=not online & OFFLINE_BIT,
            paper=paper_word,
            cover_open=None if cause is None else bool(cause & COVER_OPEN_BIT),
        )

    def _question(self, connection: Any, n: int) -> int | None:
        """One DLE EOT question; the answer byte, or None for silence or nonsense."""
        try:
            self._drain(connection)
            connection._raw(DLE_EOT + bytes([n]))
            answer = self._read_byte(connection)
        except Exception as exc:
            log.info("printer %s: no status (%s)", self.spec, _reason(exc))
            return None
        if answer is None or answer & 0x93 != 0x12:
            return None
        return answer

    def _read_byte(self, connection: Any) -> int | None:
        device = connection.device
        if self.kind == "serial":
            got = device.read(1)
        elif self.kind == "tcp":
            try:
                got = device.recv(1)
            except TimeoutError:
                return None
        else:
            got = bytes(connection._read())
        return got[-1] if got else None

    def _drain(self, connection: Any) -> None:
        """Forget stale answers (status bytes that came in late, or a printer that
        answers status questions it found inside image data)."""
        device = connection.device
        if self.kind == "serial":
            device.reset_input_buffer()
        elif self.kind == "tcp":
            while select.select([device], [], [], 0)[0]:
                if not device.recv(64):
                    raise ConnectionError("the printer closed the connection")


def open_printer(
    spec: str | None, *, profile: str | None = None, width_mm: int | None = None
) -> Printer:
    """Parse a printer spec; raises ValueError with a sentence if it makes no sense.
    ``profile`` and ``width_mm`` are defaults that ``?profile=`` and ``?width=`` in the
    spec override."""
    spec = (spec or "none").strip()
    head, _, query = spec.partition("?")
    kind, _, rest = head.partition(":")
    try:
        options = {k: v[-1] for k, v in parse_qs(query, strict_parsing=bool(query)).items()}
    except ValueError:
        raise ValueError(f"'{spec}': the part after ? is not name=value pairs.") from None
    unknown = set(options) - {"baud", "profile", "width", "status", "qr"}
    if unknown:
        raise ValueError(
            f"'{spec}': {', '.join(sorted(unknown))} is not a printer option "
            "(use baud, profile, width, status or qr)."
        )
    qr = options.get("qr", "image")
    if qr not in ("image", "native"):
        raise ValueError(f"'{spec}': qr must be image or native.")
    profile = options.get("profile", profile or "TM-T88V")
    if not known_profile(profile):
        raise ValueError(
            f"'{profile}' is not a printer profile python-escpos knows "
            "(TM-T88V, TM-T20II, TM-T88IV, ...: see `python-escpos` capabilities)."
        )
    width = options.get("width", str(width_mm or 80)).removesuffix("mm")
    if not width.isdigit() or int(width) not in PAPER_WIDTHS:
        raise ValueError(f"'{spec}': the paper width must be 58 or 80 (mm).")
    asks = options.get("status", "on")
    if asks not in ("on", "off"):
        raise ValueError(f"'{spec}': status must be on or off.")
    common: dict[str, Any] = {
        "profile": profile,
        "width_mm": int(width),
        "asks_status": asks == "on" and kind in ("usb", "serial", "tcp"),
        "native_qr": qr == "native",
    }
    if kind == "none" and not rest:
        return Printer(spec, "none", **common)
    if kind in ("file", "preview") and rest:
        return Printer(spec, kind, rest, **common)
    if kind == "serial" and rest:
        baud = options.get("baud", "9600")
        if not baud.isdigit() or int(baud) not in _BAUDS:
            raise ValueError(f"'{spec}': {baud} is not a serial speed (9600, 19200, 38400, ...).")
        return Printer(spec, "serial", rest, baud=int(baud), **common)
    if kind == "tcp" and rest:
        host, _, port = rest.rpartition(":")
        if host and port.isdigit() and 0 < int(port) < 65536:
            return Printer(spec, "tcp", host, int(port), **common)
        if not host and ":" not in rest:
            return Printer(spec, "tcp", rest, 9100, **common)
    if kind == "usb" and rest:
        vendor, _, product = rest.partition(":")
        try:
            return Printer(spec, "usb", vendor=int(vendor, 16), product=int(product, 16), **common)
        except ValueError:
            raise ValueError(
                f"'{spec}': a USB printer is usb:VENDOR:PRODUCT in hex, like usb:04b8:0202 "
                "(`gateway devices` lists them)."
            ) from None
    raise ValueError(f"'{spec}' is not a printer this kiosk understands ({SPEC_HELP}).")


_BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)


def _file_name(number: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in number) or "ticket"


def _writable(folder: Path) -> bool:
    probe = folder if folder.exists() else folder.parent
    return probe.is_dir() and os.access(probe, os.W_OK)


def _reason(exc: BaseException) -> str:
    """A short reason from an exception: the OS's words where there are some."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    if isinstance(exc, TimeoutError | socket.timeout):
        return "it timed out"
    lines = str(exc).strip().splitlines()
    text = re.sub(r"\[Errno -?\d+\]\s*", "", lines[-1] if lines else "").strip(" ).:")
    text = re.sub(r":\s*'[^']*'$", "", text)  # the path again, after the OS's words
    if "USB device not found" in text:
        return "no such USB device is plugged in"
    text = text.rsplit(": ", 1)[-1]  # "could not open port X: No such file" -> the cause
    if text[1:2].islower():
        text = text[:1].lower() + text[1:]
    return text[:120] or exc.__class__.__name__
