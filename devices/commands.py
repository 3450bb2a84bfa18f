"""The hardware commands of ``gateway``: print a ticket at check-in, reprint one, test a
printer, list the devices this machine can see, and count people at the door.

They are registered as ``gateway.devices`` entry points, so the headless core finds them
without importing this package. Each takes the parsed arguments (and the queue, where it
needs the store), prints one sentence when something is wrong, and returns the exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from devices.printers import Printer, PrintFailed, PrintResult, open_printer
from devices.tickets import PrintedTicket
from gateway.errors import GatewayError


class NotPrinted(GatewayError):
    """The ticket is issued (it is in the store) but did not print."""

    exit_code = 4


def ticket_reference(centre_code: str, ticket: Any, qr_template: str) -> str:
    """What a ticket's QR code holds: the template with the centre, day and number."""
    return qr_template.format(centre=centre_code, day=ticket.day.isoformat(), number=ticket.number)


def printed_ticket(
    queue: Any, ticket: Any, language: str = "en", qr_template: str | None = None
) -> PrintedTicket:
    """What goes on the paper for a ticket (a ``TicketView``), from the centre file; the
    QR code holds the centre's ``ticket_qr`` unless a kiosk gives its own template."""
    centre = queue.centre
    qr_template = qr_template or centre.config.centre.ticket_qr
    service = centre.config.service(ticket.service)
    local = ticket.issued_at.astimezone(ZoneInfo(centre.timezone))
    return PrintedTicket(
        centre=centre.name,
        number=ticket.number,
        service=service.name_in(language) if service else ticket.service_name,
        service_en=ticket.service_name,
        ahead=ticket.wait.ahead if ticket.wait else None,
        wait_minutes=ticket.wait.minutes if ticket.wait else None,
        issued=local.strftime("%d/%m/%Y %H:%M"),
        reference=ticket_reference(centre.code, ticket, qr_template),
        language=language,
    )


def _printer(args: argparse.Namespace) -> Printer:
    spec = getattr(args, "printer", None) or os.environ.get("GATEWAY_PRINTER")
    if not spec:
        raise GatewayError("Say which printer with --printer SPEC (or set GATEWAY_PRINTER).")
    try:
        return open_printer(
            spec, profile=getattr(args, "profile", None), width_mm=getattr(args, "width", None)
        )
    except ValueError as exc:
        raise GatewayError(str(exc)) from None


def _print(queue: Any, ticket: Any, printer: Printer, language: str) -> PrintResult:
    """Print a ticket; a failure is recorded (``print_failed``) before it is raised."""
    try:
        return printer.print_ticket(printed_ticket(queue, ticket, language))
    except PrintFailed as exc:
        queue.report_print_failed(ticket.number, reason=str(exc), printer=printer.spec)
        raise


def print_ticket(args: argparse.Namespace, queue: Any, ticket: Any) -> int:
    """``gateway checkin … --printer SPEC``: reception issues a ticket for someone who
    cannot use the kiosk. The ticket is in the store already; if it does not print, exit
    4 with a sentence (the number is on the screen for staff to write down)."""
    try:
        printer = _printer(args)
    except GatewayError as exc:
        raise NotPrinted(f"Ticket {ticket.number} is issued, but {_lower(str(exc))}") from None
    try:
        _print(queue, ticket, printer, args.lang)
    except PrintFailed as exc:
        raise NotPrinted(f"Ticket {ticket.number} is issued but did not print: {exc}") from None
    return 0


def reprint(args: argparse.Namespace, queue: Any) -> int:
    """``gateway reprint TICKET [--printer SPEC]``: the same ticket on paper again."""
    printer = _printer(args)
    ticket = queue.ticket(args.ticket)
    language = args.lang or queue.visit_language(ticket)
    try:
        result = _print(queue, ticket, printer, language)
    except PrintFailed as exc:
        raise GatewayError(f"Ticket {ticket.number} did not print: {exc}") from None
    queue.record_reprint(ticket.number, printer=printer.spec)
    text = f"Ticket {ticket.number} printed again on {printer.spec}."
    _say(args, {"ticket": ticket.number, "printer": printer.spec, **_health(result)}, text)
    return 0


def printer_test(args: argparse.Namespace) -> int:
    """``gateway printer test|status --printer SPEC``: print a test page (or only ask),
    and say how the printer is. Exits 1 with one sentence when it is silent, refuses, or
    cannot print (out of paper, cover open, offline)."""
    printer = _printer(args)
    if not printer.configured:
        raise GatewayError("No printer: 'none' was given.")
    if args.action == "status":
        status = printer.status()
        _say(args, {"printer": printer.spec, "health": status.health}, status.sentence())
        return 0 if status.can_print else 1
    try:
        result = printer.print_test_page()
    except PrintFailed as exc:
        raise GatewayError(str(exc)) from None
    where = f" ({', '.join(str(f) for f in result.files)})" if result.files else ""
    text = f"Test page printed on {printer.spec}{where}. {result.after.sentence()}"
    if printer.kind == "file":
        text = f"Test page sent to {printer.target}; this kind of printer cannot report status."
    _say(args, {"printer": printer.spec, **_health(result)}, text)
    return 0


def list_devices(args: argparse.Namespace) -> int:
    """``gateway devices``: the USB printers and serial ports this machine can see, each
    with the spec to give ``--printer``, ``scanner`` or ``door``."""
    found = {"usb_printers": usb_printers(), "serial_ports": serial_ports()}
    if args.json:
        print(json.dumps(found, indent=2))
        return 0
    lines = ["USB printers:"]
    lines += [f"  {d['spec']:<22} {d['name']}" for d in found["usb_printers"]] or ["  none found"]
    lines.append("Serial ports (printers, scanners, door sensors):")
    lines += [f"  {d['spec']:<22} {d['name']}" for d in found["serial_ports"]] or ["  none found"]
    print("\n".join(lines))
    return 0


def usb_printers(root: Path = Path("/sys/bus/usb/devices")) -> list[dict[str, str]]:
    """USB devices with a printer interface (class 07), read from sysfs (no libusb
    needed), and any /dev/usb/lp* device files."""
    out: list[dict[str, str]] = []
    for device in sorted(root.glob("*")) if root.is_dir() else []:
        vendor, product = _read(device / "idVendor"), _read(device / "idProduct")
        if not vendor or not product:
            continue
        classes = {_read(i / "bInterfaceClass") for i in device.glob(f"{device.name}:*")}
        if "07" not in classes:
            continue
        name = " ".join(x for x in (_read(device / "manufacturer"), _read(device / "product")) if x)
        out.append({"spec": f"usb:{vendor}:{product}", "name": name or "USB printer"})
    for lp in sorted(Path("/dev/usb").glob("lp*")) if Path("/dev/usb").is_dir() else []:
        out.append({"spec": f"file:{lp}", "name": "printer device file (usblp)"})
    return out


def serial_ports() -> list[dict[str, str]]:
    from serial.tools import list_ports

    return [
        {"spec": f"serial:{port.device}", "name": port.description or port.hwid or ""}
        for port in sorted(list_ports.comports(), key=lambda p: p.device)
    ]


def door(args: argparse.Namespace, queue: Any) -> int:
    """``gateway door --door SPEC``: count people coming in, one ``door_entry`` event
    per line from the sensor, until stopped (Ctrl-C or the service manager). Counts made
    while the store is down are kept and written, with their times, when it is back."""
    from collections import deque

    from devices.lines import LineDevice

    place = args.name or "door"
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    seen: deque[Any] = deque(maxlen=5000)

    def state(health: str, detail: str) -> None:
        print(f"door sensor {args.door}: {health} ({detail})", file=sys.stderr)
        try:
            queue.report_device_health(place, "door", health, spec=args.door, detail=detail)
        except Exception as exc:
            print(f"The door sensor's state was not recorded: {exc}", file=sys.stderr)

    try:
        sensor = LineDevice(
            args.door, lambda _scan: seen.append(queue.clock.now()), state, name="door"
        ).start()
    except ValueError as exc:
        raise GatewayError(str(exc)) from None
    try:
        while not stop.wait(0.5):
            while seen:
                try:
                    queue.count_door_entry(place, at=seen[0])
                except Exception as exc:  # the store is down: keep the counts, try again
                    print(f"Door counts kept for later: {exc}", file=sys.stderr)
                    stop.wait(5)
                    break
                seen.popleft()
    except KeyboardInterrupt:
        pass
    sensor.stop()
    return 0


def _health(result: PrintResult) -> dict[str, str]:
    return {"before": result.before.health, "after": result.after.health}


def _say(args: argparse.Namespace, obj: dict[str, Any], text: str) -> None:
    print(json.dumps(obj) if getattr(args, "json", False) else text)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def _lower(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:]
