"""Logs for the people who run the building: structured, to the journal, no personal data.

``GATEWAY_LOG`` says where they go:

- ``journal``: one journal entry per record, through journald's native protocol (the
  socket ``/run/systemd/journal/socket``), with fields ``journalctl -o json`` shows and
  can filter on (``GATEWAY_EVENT=called``, ``GATEWAY_CENTRE=maidstone``). A screen's
  terminal is its customers' screen, so nothing is ever written to stderr there.
- ``json``: one JSON object per line on stderr (for the CLI, or a container's log).
- a file path: the same JSON lines, appended to that file.
- unset: the screens keep their own log file; the CLI logs nothing but a crash.

What a record may carry: event kinds and sequence numbers, centre, counter and ticket
numbers, device names and states, times, error classes. What it never carries: needs
in the customer's words, postcodes, appointment references, names, reasons typed by
staff, PINs or identifiers. The store hides SQL parameters from its errors, and
:class:`Scrub` removes the shapes of personal details (postcodes, National Insurance
numbers, e-mail addresses, phone numbers) from anything that slips into a message or a
traceback anyway.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import struct
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

LOG_ENV = "GATEWAY_LOG"
JOURNAL_SOCKET = "/run/systemd/journal/socket"
# journald takes datagrams up to its socket buffer; a longer message is cut, not lost.
_MAX_VALUE = 48 * 1024

_PERSONAL = [
    # A full UK postcode (the outward code alone, like ME15, is no one's address).
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.I), "[postcode]"),
    (re.compile(r"\b[A-CEGHJ-PR-TW-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", re.I), "[ni-number]"),
    (re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+"), "[e-mail]"),
    # UK phone numbers: +44 or a leading 0, then 9-10 digits in groups.
    (re.compile(r"(?:\+44\s?\(?0?\)?|\b0)\d{2,4}[\s-]?\d{3,4}[\s-]?\d{3,4}\b"), "[phone]"),
]


def scrub(text: str) -> str:
    """``text`` with the shapes of personal details replaced by what they are."""
    for pattern, stand_in in _PERSONAL:
        text = pattern.sub(stand_in, text)
    return text


class Scrub(logging.Filter):
    """Scrubs every record's message and traceback before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub(record.getMessage())
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = "".join(traceback.format_exception(*record.exc_info))
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        record.exc_info = None
        return True


def fields_of(record: logging.LogRecord) -> dict[str, str]:
    """The record's own fields (``extra={"fields": {...}}``), upper-cased, GATEWAY_-named."""
    extra = getattr(record, "fields", None) or {}
    return {
        "GATEWAY_" + re.sub(r"[^A-Z0-9_]", "_", str(key).upper()): str(value)
        for key, value in extra.items()
        if value is not None
    }


# syslog priorities, as journald wants them.
def _priority(level: int) -> int:
    if level >= logging.CRITICAL:
        return 2
    if level >= logging.ERROR:
        return 3
    if level >= logging.WARNING:
        return 4
    if level >= logging.INFO:
        return 6
    return 7


def _field(name: str, value: str) -> bytes:
    data = value.encode("utf-8", "replace")[:_MAX_VALUE]
    if b"\n" in data:
        # The binary-safe form: name, newline, length (64-bit little-endian), data.
        return name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
    return name.encode() + b"=" + data + b"\n"


class JournalHandler(logging.Handler):
    """Sends each record to journald as one structured entry. If the journal is not
    there (a machine without systemd), records are dropped rather than written where
    a customer could see them; ``gateway doctor`` says so."""

    def __init__(self, identifier: str, path: str = JOURNAL_SOCKET) -> None:
        super().__init__()
        self.identifier = identifier
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        # A journal that falls behind costs a record, never a customer's tap.
        self.socket.setblocking(False)

    def entry(self, record: logging.LogRecord) -> bytes:
        message = record.getMessage()
        parts = [
            _field("MESSAGE", message),
            _field("PRIORITY", str(_priority(record.levelno))),
            _field("SYSLOG_IDENTIFIER", self.identifier),
            _field("LOGGER", record.name),
            _field("CODE_FILE", record.pathname),
            _field("CODE_LINE", str(record.lineno)),
            _field("CODE_FUNC", record.funcName),
        ]
        if record.exc_text:
            parts.append(_field("EXCEPTION", record.exc_text))
        parts.extend(_field(name, value) for name, value in fields_of(record).items())
        return b"".join(parts)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.socket.sendto(self.entry(record), self.path)
        except OSError:
            pass  # no journal here, or it is full: never fall back to the terminal
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self.socket.close()
        super().close()


class JsonLines(logging.Formatter):
    def __init__(self, identifier: str) -> None:
        super().__init__()
        self.identifier = identifier

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "at": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "program": self.identifier,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update({k.removeprefix("GATEWAY_").lower(): v for k, v in fields_of(record).items()})
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False)


def configure(
    identifier: str, *, default_file: Path | None = None, file: Path | None = None
) -> str | None:
    """Send this process's logs to ``file`` if given, else where ``GATEWAY_LOG`` says,
    else to ``default_file``, else nowhere. Returns where, or None. Safe to call again."""
    target = str(file) if file else os.environ.get(LOG_ENV, "").strip()
    handler: logging.Handler
    if target == "journal":
        path = os.environ.get("GATEWAY_JOURNAL_SOCKET", JOURNAL_SOCKET)
        handler, where = JournalHandler(identifier, path), "the journal"
    elif target in ("json", "stderr"):
        handler, where = logging.StreamHandler(sys.stderr), "stderr"
        handler.setFormatter(JsonLines(identifier))
    elif target or default_file:
        file = Path(target) if target else default_file
        assert file is not None
        file.parent.mkdir(parents=True, exist_ok=True)
        handler, where = logging.FileHandler(file, encoding="utf-8"), str(file)
        handler.setFormatter(JsonLines(identifier))
    else:
        return None
    handler.addFilter(Scrub())
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "gateway", False)]:
        root.removeHandler(old)
        old.close()
    setattr(handler, "gateway", True)  # noqa: B010  (ours, to replace on a second call)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    return where
