"""A ticket as plain data, and its ESC/POS bytes.

Devices never see the database: the kiosk (or the CLI) turns a ticket into a
``PrintedTicket`` and hands it over. The bytes are built with python-escpos's ``Dummy``
printer, which is pure, so building a ticket is testable without hardware; a printer
connection then only sends them.
"""

from __future__ import annotations

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


def ticket_bytes(ticket: PrintedTicket, *, profile: str = "TM-T88V") -> bytes:
    """The ESC/POS bytes of one ticket, with a cut at the end."""
    dummy = _printer_module().Dummy(profile=profile)
    dummy.set(align="center", bold=True)
    dummy.textln(ticket.centre)
    dummy.set(align="center", bold=True, custom_size=True, width=4, height=4)
    dummy.textln(ticket.number)
    dummy.set(align="center", normal_textsize=True, bold=True)
    if ticket.service != ticket.service_en and _latin(ticket.service):
        dummy.textln(ticket.service)
    dummy.set(align="center", normal_textsize=True, bold=False)
    dummy.textln(ticket.service_en)
    if ticket.ahead is not None:
        wait = f"about {ticket.wait_minutes} min" if ticket.wait_minutes is not None else "-"
        dummy.textln(f"Ahead of you: {ticket.ahead}   Wait: {wait}")
    dummy.textln(ticket.issued)
    dummy.qr(ticket.reference, size=6, center=True)
    dummy.set(align="center", font="b")
    dummy.textln(ticket.privacy)
    dummy.cut()
    return bytes(dummy.output)
