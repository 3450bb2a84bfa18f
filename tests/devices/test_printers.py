"""Printers chosen by one string, what they say about themselves, and what happens when one
will not take a ticket.

Serial and network printers are the fakes in ``tests.devices.fakes``: a pseudo-terminal and a
socket on 127.0.0.1 that answer ESC/POS status queries like an Epson. What they received is
read back with ``tests.devices.escpos_reader``, as the paper would show it.
"""

from __future__ import annotations

import time
from dataclasses import replace

import pytest
from PIL import Image

from devices.printers import KINDS, PrintFailed, open_printer
from devices.tickets import PAPER_DOTS, ticket_bytes
from tests.devices.escpos_reader import read_escpos
from tests.devices.fakes import FakeNetworkPrinter, FakeSerialPrinter
from tests.devices.test_tickets import NEPALI

TICKET = replace(NEPALI, service="Podatek lokalny", language="pl")
SILENT_PRINTER_SECONDS = 3  # a printer that says nothing is declared unknown within this
PREVIEW_MARGIN = 24  # pixels either side of the printed area in a preview picture
CUT = b"\x1dV"  # GS V


def assert_one_sentence(text: str) -> None:
    """What staff read: one line, a full stop at the end, no traceback."""
    assert text and "\n" not in text, text
    assert text.endswith("."), text
    assert "Traceback" not in text and "Errno" not in text, text


def printed(data: bytes):
    """What the paper shows for these bytes."""
    return read_escpos(data)


# --- the ticket's bytes ------------------------------------------------------------------


def test_the_ticket_bytes_carry_the_number_the_qr_and_a_cut():
    paper = printed(ticket_bytes(TICKET))
    assert "C014" in paper.text
    assert "Council tax" in paper.text and "Podatek lokalny" in paper.text
    assert paper.qr_payloads == [TICKET.reference]
    assert paper.cuts == 1


# --- specs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("usb:04b8:0202", {"kind": "usb", "vendor": 0x04B8, "product": 0x0202}),
        ("serial:/dev/ttyUSB0", {"kind": "serial", "target": "/dev/ttyUSB0", "baud": 9600}),
        (
            "serial:/dev/ttyUSB0?baud=19200",
            {"kind": "serial", "target": "/dev/ttyUSB0", "baud": 19200},
        ),
        ("tcp:10.0.0.7", {"kind": "tcp", "target": "10.0.0.7", "port": 9100}),
        ("tcp:printer.local:9101", {"kind": "tcp", "target": "printer.local", "port": 9101}),
        ("file:/dev/usb/lp0", {"kind": "file", "target": "/dev/usb/lp0"}),
        ("preview:/tmp/tickets", {"kind": "preview", "target": "/tmp/tickets"}),
        ("none", {"kind": "none", "configured": False}),
        ("", {"kind": "none", "configured": False}),
        ("tcp:10.0.0.7?profile=TM-T20II", {"kind": "tcp", "profile": "TM-T20II"}),
        ("usb:04b8:0202?width=58", {"kind": "usb", "width_mm": 58}),
        ("preview:/tmp/t?width=58mm", {"target": "/tmp/t", "width_mm": 58}),
        ("serial:/dev/ttyS0?status=off", {"kind": "serial", "asks_status": False}),
        ("tcp:10.0.0.7", {"asks_status": True, "width_mm": 80, "profile": "TM-T88V"}),
        ("file:/dev/usb/lp0", {"asks_status": False}),  # a device file cannot answer
    ],
)
def test_each_kind_of_spec_names_its_printer(spec, expected):
    printer = open_printer(spec)
    assert {name: getattr(printer, name) for name in expected} == expected
    assert printer.configured == (printer.kind != "none")


def test_no_spec_at_all_is_no_printer():
    assert not open_printer(None).configured


def test_profile_and_width_given_by_the_caller_are_defaults_the_spec_overrides():
    printer = open_printer("tcp:10.0.0.7", profile="TM-T20II", width_mm=58)
    assert (printer.profile, printer.width_mm) == ("TM-T20II", 58)
    printer = open_printer("tcp:10.0.0.7?profile=TM-T88V&width=80", profile="TM-T20II", width_mm=58)
    assert (printer.profile, printer.width_mm) == ("TM-T88V", 80)


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("lp0", "not a printer this kiosk understands"),
        ("usb", "not a printer this kiosk understands"),
        ("tcp:", "not a printer this kiosk understands"),
        ("file:", "not a printer this kiosk understands"),
        ("tcp:10.0.0.7:99999", "not a printer this kiosk understands"),
        ("serial:/dev/ttyUSB0?baud=12345", "12345 is not a serial speed"),
        ("serial:/dev/ttyUSB0?baud=fast", "fast is not a serial speed"),
        ("preview:/tmp/t?width=60", "paper width must be 58 or 80"),
        ("preview:/tmp/t?width=wide", "paper width must be 58 or 80"),
        ("tcp:10.0.0.7?profile=TM-NOPE", "'TM-NOPE' is not a printer profile"),
        ("tcp:10.0.0.7?colour=red", "colour is not a printer option"),
        ("tcp:10.0.0.7?status=maybe", "status must be on or off"),
        ("tcp:10.0.0.7?baud", "not name=value pairs"),
        ("usb:04b8", "usb:VENDOR:PRODUCT in hex"),
        ("usb:epson:tm88", "usb:VENDOR:PRODUCT in hex"),
    ],
)
def test_nonsense_specs_are_refused_with_a_sentence(spec, says):
    with pytest.raises(ValueError, match=says) as refused:
        open_printer(spec)
    assert_one_sentence(str(refused.value))


def test_an_unknown_kind_of_printer_is_told_the_choices():
    with pytest.raises(ValueError) as refused:
        open_printer("lp0")
    assert all(kind in str(refused.value) for kind in KINDS)


# --- preview -----------------------------------------------------------------------------


@pytest.mark.parametrize("width_mm", [80, 58])
def test_a_preview_printer_writes_the_bytes_and_a_picture_of_the_paper(tmp_path, width_mm):
    printer = open_printer(f"preview:{tmp_path}?width={width_mm}")
    result = printer.print_ticket(TICKET)
    raw, picture = tmp_path / "C014.bin", tmp_path / "C014.png"
    assert set(result.files) == {raw, picture}
    assert raw.read_bytes() == printer.ticket_bytes(TICKET)
    assert printer.ticket_bytes(TICKET) == ticket_bytes(TICKET, width_mm=width_mm)
    with Image.open(picture) as image:
        assert image.width == PAPER_DOTS[width_mm] + 2 * PREVIEW_MARGIN
        assert image.height > image.width  # a ticket is a strip of paper
    assert result.after.health == "ok"


def test_a_preview_folder_that_cannot_be_written_is_one_sentence(tmp_path):
    (tmp_path / "tickets").write_text("a file where the folder should be")
    printer = open_printer(f"preview:{tmp_path}/tickets/today")
    assert printer.status().health == "unknown"
    with pytest.raises(PrintFailed, match="cannot be written") as failed:
        printer.print_ticket(TICKET)
    assert_one_sentence(str(failed.value))


def test_the_test_page_shows_what_a_ticket_may_carry_and_a_qr_code(tmp_path):
    printer = open_printer(f"preview:{tmp_path}")
    result = printer.print_test_page(centre="Maidstone Gateway")
    raw, picture = tmp_path / "printer-test.bin", tmp_path / "printer-test.png"
    assert set(result.files) == {raw, picture}
    paper = printed(raw.read_bytes())
    assert "Printer test page" in paper.text and "Maidstone Gateway" in paper.text
    assert "gateway:printer-test" in paper.qr_payloads
    assert paper.cuts == 1
    with Image.open(picture) as image:
        assert image.width == PAPER_DOTS[80] + 2 * PREVIEW_MARGIN


# --- serial printers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mode", "health"),
    [
        ("online", "ok"),
        ("low", "paper_low"),
        ("out", "paper_out"),
        ("cover", "cover_open"),
        ("silent", "unknown"),
    ],
)
def test_a_serial_printer_reports_its_state(mode, health):
    with FakeSerialPrinter(mode) as fake:
        status = open_printer(fake.spec).status()
    assert status.health == health
    assert status.can_print == (health in ("ok", "paper_low"))
    assert_one_sentence(status.sentence())
    assert fake.received == b""  # asking is not printing


@pytest.mark.parametrize(("mode", "health"), [("online", "ok"), ("low", "paper_low")])
def test_a_ready_serial_printer_prints_the_whole_ticket(mode, health):
    with FakeSerialPrinter(mode) as fake:
        printer = open_printer(fake.spec)
        result = printer.print_ticket(TICKET)
        assert fake.received == printer.ticket_bytes(TICKET)
    paper = printed(fake.received)
    assert "C014" in paper.text
    assert paper.cuts == 1
    assert (result.before.health, result.after.health) == (health, health)


@pytest.mark.parametrize(
    ("mode", "health", "says"),
    [
        ("out", "paper_out", "is out of paper"),
        ("cover", "cover_open", "has its cover open"),
        ("silent", "unknown", "did not answer"),
    ],
)
def test_a_serial_printer_that_cannot_print_is_not_sent_the_ticket(mode, health, says):
    with FakeSerialPrinter(mode) as fake:
        printer = open_printer(fake.spec)
        began = time.monotonic()
        with pytest.raises(PrintFailed, match=says) as failed:
            printer.print_ticket(TICKET)
        took = time.monotonic() - began
    assert failed.value.status.health == health
    assert "not sent" in str(failed.value)
    assert_one_sentence(str(failed.value))
    assert fake.received == b""  # no job bytes: nothing to print later by surprise
    assert took < SILENT_PRINTER_SECONDS


class PaperRunsOutDuringTheJob(FakeSerialPrinter):
    """Online and full of paper for the questions asked before the job (DLE EOT 1 and 4),
    out of paper for every question after: the roll ends while the ticket prints. Counting
    questions is deterministic because the driver waits for each answer before it goes on."""

    QUESTIONS_BEFORE_THE_JOB = 2

    @property
    def mode(self) -> str:
        return "out" if len(self.queries) >= self.QUESTIONS_BEFORE_THE_JOB else "online"

    @mode.setter
    def mode(self, mode: str) -> None:
        pass


def test_a_printer_that_runs_out_of_paper_during_the_job_says_so():
    with PaperRunsOutDuringTheJob() as fake:
        printer = open_printer(fake.spec)
        with pytest.raises(PrintFailed, match="ran out of paper") as failed:
            printer.print_ticket(TICKET)
        assert fake.received == printer.ticket_bytes(TICKET)  # it was sent, then the paper ended
    assert fake.queries[:2] == [1, 4]  # asked before the job
    assert failed.value.status.health == "paper_out"
    assert_one_sentence(str(failed.value))


def test_a_printer_without_status_support_prints_when_told_not_to_ask():
    with FakeSerialPrinter("silent") as fake:
        printer = open_printer(f"{fake.spec}?status=off")
        began = time.monotonic()
        result = printer.print_ticket(TICKET)
        took = time.monotonic() - began
        # No question after the job tells us the fake has read it all: wait until it has.
        assert fake.wait_received(len(printer.ticket_bytes(TICKET)))
        assert fake.received == printer.ticket_bytes(TICKET)
    assert fake.queries == []  # not asked, so no waiting for an answer that never comes
    assert result.after.health == "unknown"
    assert took < 1


def test_an_unplugged_serial_printer_cannot_be_reached(tmp_path):
    printer = open_printer(f"serial:{tmp_path}/by-id/usb-EPSON-if00")
    with pytest.raises(PrintFailed, match="cannot be reached") as failed:
        printer.print_ticket(TICKET)
    assert_one_sentence(str(failed.value))
    assert printer.status().health == "unknown"


# --- network printers --------------------------------------------------------------------


def test_a_network_printer_that_accepts_prints_the_ticket():
    with FakeNetworkPrinter("accept") as fake:
        printer = open_printer(fake.spec)
        assert printer.status().health == "ok"
        result = printer.print_ticket(TICKET)
        assert fake.received == printer.ticket_bytes(TICKET)
    assert "C014" in printed(fake.received).text
    assert result.after.health == "ok"


def test_a_network_printer_out_of_paper_is_not_sent_the_ticket():
    with FakeNetworkPrinter("accept", status="out") as fake:
        with pytest.raises(PrintFailed, match="out of paper") as failed:
            open_printer(fake.spec).print_ticket(TICKET)
        assert fake.received == b""
    assert failed.value.status.health == "paper_out"


def test_a_network_printer_that_refuses_fails_fast():
    with FakeNetworkPrinter("refuse") as fake:
        printer = open_printer(fake.spec)
        began = time.monotonic()
        with pytest.raises(PrintFailed, match="cannot be reached") as failed:
            printer.print_ticket(TICKET)
        assert time.monotonic() - began < 1
        assert printer.status().health == "unknown"
    assert_one_sentence(str(failed.value))


def test_a_stalled_network_printer_is_declared_unknown_without_hanging():
    with FakeNetworkPrinter("stall") as fake:
        printer = open_printer(fake.spec)
        began = time.monotonic()
        status = printer.status()
        asking = time.monotonic() - began
        began = time.monotonic()
        with pytest.raises(PrintFailed) as failed:
            printer.print_ticket(TICKET)
        printing = time.monotonic() - began
        assert fake.connections == 2  # it was reached both times; it just never answered
    assert status.health == "unknown"
    assert failed.value.status.health == "unknown"
    assert_one_sentence(str(failed.value))
    assert asking < SILENT_PRINTER_SECONDS
    assert printing < SILENT_PRINTER_SECONDS


# --- device files and USB ----------------------------------------------------------------


def test_a_device_file_takes_the_bytes_but_cannot_report(tmp_path):
    device = tmp_path / "lp0"
    device.touch()
    printer = open_printer(f"file:{device}")
    assert printer.status().health == "unknown"
    result = printer.print_ticket(TICKET)
    assert device.read_bytes() == printer.ticket_bytes(TICKET)
    assert (result.before.health, result.after.health) == ("unknown", "unknown")


def test_a_missing_device_file_is_one_sentence(tmp_path):
    printer = open_printer(f"file:{tmp_path}/nowhere/lp0")
    with pytest.raises(PrintFailed, match="cannot be reached") as failed:
        printer.print_ticket(TICKET)
    assert_one_sentence(str(failed.value))
    assert failed.value.status.health == "unknown"


def test_a_usb_printer_that_is_not_plugged_in_is_one_sentence():
    # dead:beef is nobody's printer, so this holds on a machine with a real Epson plugged in.
    printer = open_printer("usb:dead:beef")
    began = time.monotonic()
    with pytest.raises(PrintFailed, match="cannot be reached") as failed:
        printer.print_ticket(TICKET)
    assert time.monotonic() - began < SILENT_PRINTER_SECONDS
    assert str(failed.value).startswith("The printer usb:dead:beef ")
    assert_one_sentence(str(failed.value))
    assert printer.status().health == "unknown"


def test_no_printer_set_is_one_sentence():
    with pytest.raises(PrintFailed, match="No printer is set") as failed:
        open_printer("none").print_ticket(TICKET)
    assert_one_sentence(str(failed.value))
