"""The device checks of ``gateway doctor``: is the printer ready, does the scanner open?

Registered as the ``doctor`` entry point of ``gateway.devices``, so the headless core asks
these questions without importing this package. Each answer is a ``gateway.doctor.Check``
with one sentence; nothing here raises for what it finds. The printer is asked the way a
kiosk asks it before each ticket (``Printer.status``); a serial scanner or door sensor is
opened the way the kiosk's ``LineDevice`` opens it, then let go at once.
"""

from __future__ import annotations

import os
from pathlib import Path

from devices.lines import READ_SECONDS, parse_line_spec
from devices.printers import PROBLEMS, _reason, open_printer
from gateway.doctor import Check


def device_checks(
    *,
    printer: str | None = None,
    scanner: str | None = None,
    door: str | None = None,
    profile: str | None = None,
    width: int | None = None,
) -> list[Check]:
    """One check for each device given. ``profile`` and ``width`` are the printer's
    defaults (a kiosk's ``printer_profile`` and ``paper_width``), as for printing."""
    checks = []
    if printer is not None:
        checks.append(printer_check(printer, profile=profile, width=width))
    if scanner:
        checks.append(line_check("scanner", scanner))
    if door:
        checks.append(line_check("door", door))
    return checks


def printer_check(spec: str, *, profile: str | None = None, width: int | None = None) -> Check:
    """Ready is ok; low on paper is a warning; out of paper, cover open, offline and
    silent are failures. A printer that cannot report status (``file:``, ``?status=off``)
    is a warning: only a test page shows that it prints."""
    try:
        printer = open_printer(spec, profile=profile, width_mm=width)
    except ValueError as exc:
        return Check("printer", False, str(exc))
    if not printer.configured:
        return Check("printer", True, "No printer is set (none): tickets show on screen only.")
    status = printer.status()
    if status.health == "ok":
        return Check("printer", True, f"The printer {spec} is ready.")
    if status.health == "paper_low":
        return Check("printer", None, f"The printer {spec} is low on paper; load a new roll soon.")
    if not status.asked:
        return _silent_by_design(spec, printer.kind, printer.target)
    note = f" ({status.note})" if status.note else ""
    return Check(
        "printer",
        False,
        f"The printer {spec} {PROBLEMS[status.health]}{note}; check its power, cable, paper "
        "and cover.",
    )


def _silent_by_design(spec: str, kind: str, target: str) -> Check:
    # A file is never opened here: opening it for writing would empty it.
    if kind == "file" and not Path(target).exists():
        return Check("printer", False, f"The printer {spec} is not there: {target} does not exist.")
    if kind == "file" and not os.access(target, os.W_OK):
        return Check(
            "printer",
            False,
            f"The printer {spec} cannot be written to by this user; see the udev rule in "
            "DEVICES.md.",
        )
    return Check(
        "printer",
        None,
        f"The printer {spec} cannot report its status; `gateway printer test` shows whether "
        "it prints.",
    )


def line_check(name: str, spec: str) -> Check:
    """A serial scanner or door sensor: it opens as the kiosk opens it, or why not."""
    import serial

    try:
        line = parse_line_spec(spec)
    except ValueError as exc:
        return Check(name, False, str(exc))
    try:
        serial.Serial(line.path, line.baud, timeout=READ_SECONDS).close()
    except (OSError, ValueError, serial.SerialException) as exc:
        return Check(
            name,
            False,
            f"The {name} {spec} cannot be opened ({_why(exc)}); check its cable and that "
            "this user is in the dialout group.",
        )
    return Check(name, True, f"The {name} {spec} opens.")


def _why(exc: BaseException) -> str:
    """The OS's words for why a port did not open. pyserial puts its whole message (with
    the path) in ``strerror``, but keeps the error number."""
    if isinstance(exc, OSError) and isinstance(exc.errno, int) and exc.errno > 0:
        return os.strerror(exc.errno).lower()
    return _reason(exc)
