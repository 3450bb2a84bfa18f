"""Printers chosen by one string, and what happens when one will not take a ticket."""

from __future__ import annotations

import socket
import time
from dataclasses import replace

import pytest

from devices.printers import PrintFailed, open_printer
from devices.tickets import ticket_bytes
from tests.devices.test_tickets import NEPALI

TICKET = replace(NEPALI, service="Podatek lokalny", language="pl")


def test_the_ticket_bytes_carry_the_number_the_qr_and_a_cut():
    data = ticket_bytes(TICKET)
    assert b"C014" in data
    assert b"Council tax" in data
    assert b"\x1dV" in data  # GS V: cut
    assert b"\x1bv" in data or b"\x1d(k" in data or b"\x1dv0" in data  # QR as image


def test_a_preview_printer_writes_the_bytes(tmp_path):
    printer = open_printer(f"preview:{tmp_path}")
    printer.print_ticket(TICKET)
    assert (tmp_path / "C014.bin").read_bytes() == ticket_bytes(TICKET)


def test_a_missing_device_is_one_sentence(tmp_path):
    printer = open_printer(f"file:{tmp_path}/nowhere/lp0")
    with pytest.raises(PrintFailed, match="did not take the ticket"):
        printer.print_ticket(TICKET)


def test_a_network_printer_that_refuses_fails_fast():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    printer = open_printer(f"tcp:127.0.0.1:{port}")
    began = time.monotonic()
    with pytest.raises(PrintFailed):
        printer.print_ticket(TICKET)
    assert time.monotonic() - began < 3


def test_nonsense_specs_are_refused_with_the_choices():
    for spec in ("lp0", "usb", "tcp:", "file:"):
        with pytest.raises(ValueError, match="none, file:"):
            open_printer(spec)
    assert not open_printer("none").configured
    assert not open_printer(None).configured
