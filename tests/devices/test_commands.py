"""``gateway checkin --printer``, ``reprint``, ``printer test|status`` and ``devices``."""

from __future__ import annotations

import json

from PIL import Image

from gateway.queue import Queue
from gateway.store import Store
from tests.devices.escpos_reader import read_escpos
from tests.devices.fakes import FakeNetworkPrinter, FakeSerialPrinter
from tests.test_cli import AT, db, run  # noqa: F401  (db is a fixture)


def _events(url: str, kind: str) -> list[dict]:
    from gateway.events import watch

    store = Store(url)
    try:
        queue = Queue(store)
        return [e.data or {} for e in watch(store, queue.centre.id) if e.kind == kind]
    finally:
        store.dispose()


def test_assisted_check_in_prints_the_ticket(db, capsys, tmp_path):  # noqa: F811
    folder = tmp_path / "paper"
    code, out, err = run(
        capsys, "checkin", "council-tax", "--lang", "pl", "--printer", f"preview:{folder}",
        "--db", db, "--at", AT,
    )  # fmt: skip
    assert code == 0, err
    number = out.split()[0]
    reading = read_escpos((folder / f"{number}.bin").read_bytes())
    assert number in reading.text
    assert "Council tax" in reading.text
    assert reading.cuts == 1
    assert Image.open(folder / f"{number}.png").width > 400


def test_assisted_check_in_on_a_dead_printer_keeps_the_ticket_and_says_so(db, capsys, tmp_path):  # noqa: F811
    with FakeNetworkPrinter("refuse") as printer:
        code, out, err = run(
            capsys, "checkin", "council-tax", "--printer", printer.spec, "--db", db, "--at", AT
        )
    assert code == 4
    number = out.split()[0]
    assert err.strip().startswith(f"Ticket {number} is issued but did not print:")
    assert len(err.strip().splitlines()) == 1
    (failed,) = _events(db, "print_failed")
    assert failed["number"] == number and failed["printer"] == printer.spec


def test_reprint_prints_the_same_ticket_in_the_visits_language(db, capsys, tmp_path):  # noqa: F811
    code, out, _ = run(capsys, "checkin", "council-tax", "--lang", "pl", "--db", db, "--at", AT)
    number = out.split()[0]
    with FakeSerialPrinter("online") as printer:
        code, out, err = run(
            capsys, "reprint", number, "--printer", printer.spec, "--db", db, "--at", AT
        )
        assert code == 0, err
        assert printer.wait_received(b"\x1dV")
        reading = read_escpos(printer.received)
    assert out.strip() == f"Ticket {number} printed again on {printer.spec}."
    assert number in reading.text
    (reprinted,) = _events(db, "ticket_reprinted")
    assert reprinted["number"] == number


def test_reprint_refuses_an_unknown_ticket_or_a_missing_printer(db, capsys, monkeypatch):  # noqa: F811
    monkeypatch.delenv("GATEWAY_PRINTER", raising=False)
    code, _, err = run(capsys, "reprint", "Z999", "--printer", "none", "--db", db)
    assert code == 1 and "no ticket Z999" in err
    code, _, err = run(capsys, "reprint", "Z999", "--db", db)
    assert (
        code == 1
        and err.strip() == "Say which printer with --printer SPEC (or set GATEWAY_PRINTER)."
    )


def test_printer_test_prints_a_page_and_reports_a_ready_printer(capsys):
    with FakeSerialPrinter("low") as printer:
        code, out, err = run(capsys, "printer", "test", "--printer", printer.spec)
        assert code == 0, err
        assert printer.wait_received(b"\x1dV")
        reading = read_escpos(printer.received)
    assert "Printer test page" in reading.text
    assert "gateway:printer-test" in reading.qr_payloads
    assert out.strip().endswith("The printer is running low on paper.")


def test_printer_test_exits_non_zero_with_one_sentence_when_it_cannot_print(capsys):
    for mode, words in [("silent", "did not answer"), ("out", "is out of paper")]:
        with FakeSerialPrinter(mode) as printer:
            code, _, err = run(capsys, "printer", "test", "--printer", printer.spec)
        assert code == 1, mode
        assert words in err and len(err.strip().splitlines()) == 1
    with FakeNetworkPrinter("refuse") as printer:
        code, _, err = run(capsys, "printer", "status", "--printer", printer.spec)
    assert code == 1 and "did not answer" in err + _


def test_printer_status_as_json(capsys):
    with FakeSerialPrinter("cover") as printer:
        code, out, _ = run(capsys, "printer", "status", "--printer", printer.spec, "--json")
    assert code == 1
    assert json.loads(out) == {"printer": printer.spec, "health": "cover_open"}


def test_a_nonsense_printer_spec_is_one_sentence(capsys):
    code, _, err = run(capsys, "printer", "test", "--printer", "lp0")
    assert code == 1 and "is not a printer" in err and len(err.strip().splitlines()) == 1


def test_devices_lists_serial_ports_with_their_specs(capsys, monkeypatch):
    from devices import commands

    monkeypatch.setattr(
        commands, "serial_ports", lambda: [{"spec": "serial:/dev/ttyACM0", "name": "Scanner"}]
    )
    code, out, _ = run(capsys, "devices")
    assert code == 0
    assert "serial:/dev/ttyACM0" in out and "Scanner" in out
    code, out, _ = run(capsys, "devices", "--json")
    assert json.loads(out)["serial_ports"] == [{"spec": "serial:/dev/ttyACM0", "name": "Scanner"}]


def test_usb_printers_are_found_by_their_printer_interface(tmp_path):
    from devices.commands import usb_printers

    epson = tmp_path / "1-1"
    (epson / "1-1:1.0").mkdir(parents=True)
    (epson / "idVendor").write_text("04b8\n")
    (epson / "idProduct").write_text("0202\n")
    (epson / "manufacturer").write_text("EPSON\n")
    (epson / "product").write_text("TM-T88V\n")
    (epson / "1-1:1.0" / "bInterfaceClass").write_text("07\n")
    mouse = tmp_path / "1-2"
    (mouse / "1-2:1.0").mkdir(parents=True)
    (mouse / "idVendor").write_text("046d\n")
    (mouse / "idProduct").write_text("c077\n")
    (mouse / "1-2:1.0" / "bInterfaceClass").write_text("03\n")
    found = [d for d in usb_printers(tmp_path) if d["spec"].startswith("usb:")]
    assert found == [{"spec": "usb:04b8:0202", "name": "EPSON TM-T88V"}]


def test_gateway_door_counts_each_line_and_stops_cleanly(db):  # noqa: F811
    import signal
    import subprocess
    import sys
    import time

    from tests.devices.fakes import FakeSerialLine

    with FakeSerialLine() as sensor:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "door", "--door", sensor.spec,
             "--name", "front-door", "--db", db],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        try:
            assert sensor.wait_opened(timeout=15), "gateway door never opened the sensor"
            for _ in range(4):
                sensor.send_line("IN")
            deadline = time.monotonic() + 15
            while len(_events(db, "door_entry")) < 4 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            process.send_signal(signal.SIGTERM)
            _, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    entries = _events(db, "door_entry")
    assert len(entries) == 4 and {e["sensor"] for e in entries} == {"front-door"}
    (health,) = _events(db, "device_health")
    assert (health["place"], health["device"], health["health"]) == ("front-door", "door", "ok")


def test_printed_qr_codes_hold_the_centres_ticket_qr(tmp_path, clock):
    from dataclasses import replace as replaced

    from devices.commands import printed_ticket
    from tests.kiosk.conftest import ready_store

    store = ready_store(f"sqlite:///{tmp_path / 'qr.db'}", clock)
    try:
        queue = Queue(store, clock=clock)
        ticket = queue.check_in("pay-council-tax")
        assert printed_ticket(queue, ticket).reference == f"maidstone:2026-11-23:{ticket.number}"
        config = queue.centre.config
        info = config.centre.model_copy(update={"ticket_qr": "https://gw.example/t/{number}"})
        queue.centre = replaced(queue.centre, config=config.model_copy(update={"centre": info}))
        assert printed_ticket(queue, ticket).reference == f"https://gw.example/t/{ticket.number}"
        assert printed_ticket(queue, ticket, qr_template="k:{number}").reference == (
            f"k:{ticket.number}"
        )
    finally:
        store.dispose()
