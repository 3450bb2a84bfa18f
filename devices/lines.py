"""Serial devices that send lines: appointment scanners and door-counter sensors.

``serial:/dev/ttyACM0?baud=9600`` names one. A ``LineDevice`` reads it in its own thread,
hands each line to a callback, and reports its state (``ok`` when the port is open,
``unplugged`` when it is missing or goes away). It keeps trying to open the port again, so
a scanner that is unplugged and plugged back in works again by itself.

What arrives is not trusted: bytes are decoded leniently, control characters (terminal
escapes included) are dropped, and a line longer than ``MAX_LINE`` is cut off and marked
so the caller can refuse it. Scanners end a code with CR, LF or both.
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

log = logging.getLogger("gateway.devices")

MAX_LINE = 200  # characters; a scanner's longest sensible code
RETRY_SECONDS = 2.0  # how often to look for an unplugged device
READ_SECONDS = 0.2  # how long one read waits, so stop() is quick
BAUDS = (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
# Terminal escape sequences (CSI, OSC, and two-byte ones), removed whole from a line.
ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b[@-_]?")


@dataclass(frozen=True)
class Scan:
    """One line from a device, cleaned. ``too_long`` if it went past ``MAX_LINE``;
    ``garbage`` if it held bytes that are not text."""

    text: str
    too_long: bool = False
    garbage: bool = False


@dataclass(frozen=True)
class LineSpec:
    spec: str
    path: str
    baud: int = 9600


def parse_line_spec(spec: str) -> LineSpec:
    """``serial:PATH[?baud=N]``; raises ValueError with a sentence otherwise."""
    head, _, query = spec.strip().partition("?")
    kind, _, path = head.partition(":")
    refused = ValueError(
        f"'{spec}' is not a serial device (use serial:/dev/ttyACM0 or "
        "serial:/dev/ttyUSB0?baud=9600)."
    )
    try:
        parsed = parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise refused from None
    options = {k: v[-1] for k, v in parsed.items()}
    baud = options.pop("baud", "9600")
    if kind != "serial" or not path or options or not baud.isdigit() or int(baud) not in BAUDS:
        raise refused
    return LineSpec(spec.strip(), path, int(baud))


def clean_line(raw: bytes) -> Scan:
    """Decode one line from a device and make it safe to show and store."""
    text = raw.decode("utf-8", errors="replace")
    # Stray controls (a tab, a bell, STX/ETX framing) are noise and dropped; NUL, escape
    # sequences and bytes that are not UTF-8 mean this is not a code at all.
    garbage = any(ch in "\ufffd\x00\x1b\x9b" for ch in text)
    text = ESCAPES.sub("", text)
    kept = "".join(ch for ch in text if not unicodedata.category(ch).startswith("C")).strip()
    if len(kept) > MAX_LINE:
        return Scan(kept[:MAX_LINE], too_long=True, garbage=garbage)
    return Scan(kept, garbage=garbage or (bool(raw.strip()) and not kept))


class LineDevice:
    """Reads lines from a serial device in a thread until ``stop()``.

    ``on_line(scan)`` is called in the reader's thread for each non-empty line;
    ``on_state("ok" | "unplugged", detail)`` when the device appears or goes away.
    """

    def __init__(
        self,
        spec: str,
        on_line: Callable[[Scan], None],
        on_state: Callable[[str, str], None] | None = None,
        *,
        retry_seconds: float = RETRY_SECONDS,
        name: str = "device",
    ) -> None:
        self.spec = parse_line_spec(spec)
        self.on_line = on_line
        self.on_state = on_state or (lambda state, detail: None)
        self.retry_seconds = retry_seconds
        self.name = name
        self.state: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> LineDevice:
        self._thread = threading.Thread(target=self._run, name=f"gateway-{self.name}", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the reader thread ---------------------------------------------------------------

    def _set_state(self, state: str, detail: str) -> None:
        if state != self.state:
            self.state = state
            log.info("%s %s: %s (%s)", self.name, self.spec.spec, state, detail)
            try:
                self.on_state(state, detail)
            except Exception:
                log.exception("%s: reporting its state failed", self.name)

    def _run(self) -> None:
        import serial

        while not self._stop.is_set():
            try:
                port = serial.Serial(self.spec.path, self.spec.baud, timeout=READ_SECONDS)
            except (OSError, ValueError, serial.SerialException) as exc:
                self._set_state("unplugged", _why(exc))
                self._stop.wait(self.retry_seconds)
                continue
            self._set_state("ok", "connected")
            try:
                self._read_lines(port)
            except (OSError, serial.SerialException) as exc:
                self._set_state("unplugged", _why(exc))
            finally:
                try:
                    port.close()
                except Exception:  # a port that went away may not close cleanly
                    log.debug("%s: closing failed", self.name)
            if not self._stop.is_set():
                self._stop.wait(min(self.retry_seconds, 0.5))

    def _read_lines(self, port: Any) -> None:
        pending = b""
        while not self._stop.is_set():
            chunk = port.read(port.in_waiting or 1)  # b"" after READ_SECONDS of quiet
            if not chunk:
                continue
            pending += chunk
            *lines, pending = pending.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
            if len(pending) > MAX_LINE * 4:  # no line end at all: not a scanner talking
                lines.append(pending)
                pending = b""
            for raw in lines:
                if raw.strip():
                    self._deliver(clean_line(raw))

    def _deliver(self, scan: Scan) -> None:
        try:
            self.on_line(scan)
        except Exception:
            log.exception("%s: handling a line failed", self.name)


def _why(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return (str(exc).splitlines() or [exc.__class__.__name__])[0][:120]
