"""Printers chosen by one string, and sending a ticket's bytes to them.

Specs: ``none``, ``file:/dev/usb/lp0``, ``tcp:HOST:PORT`` (a network printer, with a
short timeout so a silent printer never freezes the kiosk) and ``preview:DIR`` (writes
each ticket's bytes to ``DIR/<number>.bin``, for demos and tests). Sending raises
``PrintFailed`` with a sentence; callers run it off the UI thread.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from pathlib import Path

from devices.tickets import PrintedTicket, ticket_bytes

TIMEOUT_SECONDS = 2.0


class PrintFailed(Exception):
    """The ticket did not reach the printer. The message is one sentence for staff."""


@dataclass(frozen=True)
class Printer:
    spec: str
    kind: str
    target: str = ""
    port: int = 9100
    profile: str = "TM-T88V"

    @property
    def configured(self) -> bool:
        return self.kind != "none"

    def print_ticket(self, ticket: PrintedTicket) -> None:
        if not self.configured:
            return
        data = ticket_bytes(ticket, profile=self.profile)
        try:
            if self.kind == "file":
                with open(self.target, "wb", buffering=0) as device:
                    device.write(data)
            elif self.kind == "preview":
                folder = Path(self.target)
                folder.mkdir(parents=True, exist_ok=True)
                (folder / f"{ticket.number}.bin").write_bytes(data)
            elif self.kind == "tcp":
                with socket.create_connection(
                    (self.target, self.port), timeout=TIMEOUT_SECONDS
                ) as conn:
                    conn.settimeout(TIMEOUT_SECONDS)
                    conn.sendall(data)
        except OSError as exc:
            reason = exc.strerror or exc.__class__.__name__
            raise PrintFailed(
                f"The printer {self.spec} did not take the ticket ({reason})."
            ) from None


def open_printer(spec: str | None, *, profile: str = "TM-T88V") -> Printer:
    """Parse a printer spec; raises ValueError with a sentence if it makes no sense."""
    spec = (spec or "none").strip()
    kind, _, rest = spec.partition(":")
    if kind == "none" and not rest:
        return Printer(spec, "none")
    if kind in ("file", "preview") and rest:
        return Printer(spec, kind, rest, profile=profile)
    if kind == "tcp" and rest:
        host, _, port = rest.rpartition(":")
        if host and port.isdigit():
            return Printer(spec, "tcp", host, int(port), profile=profile)
        if not host:
            return Printer(spec, "tcp", rest, 9100, profile=profile)
    raise ValueError(
        f"'{spec}' is not a printer this kiosk understands "
        "(use none, file:/dev/usb/lp0, tcp:HOST:9100 or preview:FOLDER)."
    )
