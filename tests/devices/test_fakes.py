"""The fake devices behave like the real ones, seen the way a driver sees them."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator

import pytest
import serial

from tests.devices.fakes import (
    PRINTER_MODES,
    FakeNetworkPrinter,
    FakeSerialLine,
    FakeSerialPrinter,
    QuerySplitter,
)

# What an Epson TM-T88V answers to DLE EOT 1, 2, 3 and 4 in each state.
EXPECTED = {
    "online": b"\x16\x12\x12\x12",
    "low": b"\x16\x12\x12\x1e",
    "out": b"\x1e\x32\x12\x7e",
    "cover": b"\x1e\x16\x12\x12",
}
QUERIES = b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04"


@pytest.fixture(autouse=True)
def no_leaks() -> Iterator[None]:
    """Every fake stops its threads and closes its fds on exit: the suite runs them many times."""
    threads, fds = threading.active_count(), len(os.listdir("/proc/self/fd"))
    yield
    assert threading.active_count() == threads
    assert len(os.listdir("/proc/self/fd")) == fds


def ask(port: serial.Serial, n: int) -> bytes:
    port.write(bytes([0x10, 0x04, n]))
    return port.read(1)


# --- serial printer ---------------------------------------------------------------------


@pytest.mark.parametrize("mode", EXPECTED)
def test_a_serial_printer_answers_each_status_query_for_its_state(mode):
    with (
        FakeSerialPrinter(mode) as printer,
        serial.Serial(printer.path, 9600, timeout=2) as port,
    ):
        assert b"".join(ask(port, n) for n in (1, 2, 3, 4)) == EXPECTED[mode]
        assert printer.queries == [1, 2, 3, 4]
        assert printer.spec == f"serial:{printer.path}"


def test_a_silent_serial_printer_lets_the_query_time_out():
    with (
        FakeSerialPrinter("silent") as printer,
        serial.Serial(printer.path, 9600, timeout=0.2) as port,
    ):
        assert ask(port, 1) == b""
        assert printer.queries == [1]


def test_a_printer_that_runs_out_mid_shift_says_so_at_the_next_query():
    with (
        FakeSerialPrinter() as printer,
        serial.Serial(printer.path, 9600, timeout=2) as port,
    ):
        assert ask(port, 4) == b"\x12"
        printer.mode = "out"
        assert ask(port, 4) == b"\x7e"
        assert ask(port, 1) == b"\x1e"  # offline


def test_job_bytes_land_in_received_without_the_status_queries():
    job = b"\x1b@C014\n\x10\x10\x04\x09\x1dVA\x00"  # DLE DLE and DLE EOT 9 are not queries
    with (
        FakeSerialPrinter() as printer,
        serial.Serial(printer.path, 9600, timeout=2) as port,
    ):
        port.write(job[:5] + b"\x10\x04\x01" + job[5:] + QUERIES)
        assert port.read(5) == b"\x16" + EXPECTED["online"]
        assert printer.received == job  # the raw pty translated nothing (no \n -> \r\n)
        assert printer.queries == [1, 1, 2, 3, 4]


@pytest.mark.parametrize("cut", [1, 2])
def test_a_query_split_across_reads_is_still_answered(cut):
    query = b"\x10\x04\x04"
    with (
        FakeSerialPrinter("low") as printer,
        serial.Serial(printer.path, 9600, timeout=2) as port,
    ):
        port.write(b"job" + query[:cut])
        assert printer.wait_received(b"job" + query[:cut])  # the fake has read the first half
        port.write(query[cut:])
        assert port.read(1) == b"\x1e"
        assert printer.received == b"job"


def test_the_splitter_finds_queries_at_every_read_boundary():
    stream = b"ab\x10\x04\x01c\x10d\x10\x04\x04\x10\x04\x09e\x10"
    for cut in range(len(stream) + 1):
        splitter = QuerySplitter()
        first, second = splitter.feed(stream[:cut]), splitter.feed(stream[cut:])
        assert first[0] + second[0] + splitter.pending == b"ab" + b"c\x10d" + b"\x10\x04\x09e\x10"
        assert first[1] + second[1] == [1, 4]


def test_unplugging_a_serial_printer_fails_the_open_port_and_plugging_it_back_works(tmp_path):
    link = tmp_path / "serial" / "by-id" / "usb-EPSON_TM-T88V-if00"
    with FakeSerialPrinter(link=link) as printer:
        assert printer.path == str(link) and link.resolve() == type(link)(printer.tty)
        with serial.Serial(printer.path, 9600, timeout=2) as port:
            assert ask(port, 1) == b"\x16"
            printer.unplug()
            # On Linux the hung-up slave reads b"" at once and pyserial raises SerialException
            # ("device reports readiness to read but returned no data"); writes raise
            # SerialException (EIO) and in_waiting a plain OSError (EIO). SerialException is
            # an OSError, so a driver catching OSError sees every kind of unplug.
            with pytest.raises(serial.SerialException):
                ask(port, 1)
            with pytest.raises(OSError):
                port.in_waiting  # noqa: B018
        assert not link.exists()
        with pytest.raises(serial.SerialException):
            serial.Serial(printer.path, 9600)
        printer.plug()
        with serial.Serial(printer.path, 9600, timeout=2) as port:
            assert ask(port, 1) == b"\x16"


# --- network printer --------------------------------------------------------------------


@pytest.mark.parametrize("status", EXPECTED)
def test_a_network_printer_answers_each_status_query_for_its_state(status):
    with (
        FakeNetworkPrinter(status=status) as printer,
        socket.create_connection(("127.0.0.1", printer.port), timeout=2) as conn,
    ):
        conn.sendall(b"job" + QUERIES)
        answers = b""
        while len(answers) < 4:
            answers += conn.recv(4)
        assert answers == EXPECTED[status]
        assert printer.wait_received(b"job")
        assert printer.received == b"job"
        assert printer.spec == f"tcp:127.0.0.1:{printer.port}"


def test_a_network_printer_keeps_every_connections_job():
    with FakeNetworkPrinter(status="silent") as printer:
        for ticket in (b"C014", b"C015"):
            with socket.create_connection(("127.0.0.1", printer.port), timeout=2) as conn:
                conn.sendall(ticket + b"\x10\x04\x01")
                conn.settimeout(0.1)
                with pytest.raises(TimeoutError):
                    conn.recv(1)  # silent: no answer
            assert printer.wait_received(ticket)
        assert printer.connections == 2
        assert printer.received == b"C014C015"
        assert printer.queries == [1, 1]


def test_a_refusing_network_printer_refuses():
    with (
        FakeNetworkPrinter("refuse") as printer,
        pytest.raises(ConnectionRefusedError),
    ):
        socket.create_connection(("127.0.0.1", printer.port), timeout=2)


def test_a_stalled_network_printer_accepts_but_never_answers():
    with FakeNetworkPrinter("stall") as printer:
        with socket.create_connection(("127.0.0.1", printer.port), timeout=0.2) as conn:
            conn.sendall(b"job\x10\x04\x01")
            with pytest.raises(TimeoutError):
                conn.recv(1)
            assert printer.wait_for(lambda: printer.connections == 1)
        assert printer.received == b""


# --- serial line (scanner, door counter) -----------------------------------------------


def test_a_line_sent_before_the_app_opens_the_port_is_lost():
    with FakeSerialLine() as line:
        line.send_line("0123456789")
        with serial.Serial(line.path, 9600, timeout=0.1) as port:
            assert port.read(100) == b""  # pyserial flushed it on open


def test_a_line_sent_after_wait_opened_reaches_the_app():
    with FakeSerialLine() as line:
        assert not line.wait_opened(timeout=0.05)
        for attempt in range(20):  # the app opens in its own thread, as a worker would
            got: list[bytes] = []

            def app(got: list[bytes] = got) -> None:
                with serial.serial_for_url(line.path, 9600, timeout=2) as port:
                    got.append(port.readline())

            worker = threading.Thread(target=app)
            worker.start()
            assert line.wait_opened()
            line.send_line(f"scan {attempt}")
            worker.join()
            assert got == [f"scan {attempt}\r\n".encode()]


def test_a_serial_line_survives_unplug_and_plug(tmp_path):
    link = tmp_path / "by-id" / "usb-door-counter"
    with FakeSerialLine(link=link) as line:
        assert line.spec == f"serial:{link}"
        with serial.Serial(line.path, 9600, timeout=2) as port:
            assert line.wait_opened()
            line.send_bytes(b"IN 1\n")
            assert port.readline() == b"IN 1\n"
            line.unplug()
            with pytest.raises(serial.SerialException):  # see the serial printer's test
                port.read(1)
        assert not link.exists()
        line.plug()
        with serial.Serial(line.path, 9600, timeout=2) as port:
            assert line.wait_opened()
            line.send_line("OUT 2")
            assert port.readline() == b"OUT 2\r\n"


def test_unknown_modes_are_refused():
    assert set(EXPECTED) | {"silent"} == set(PRINTER_MODES)
    with pytest.raises(ValueError):
        FakeSerialPrinter("jammed")
    with pytest.raises(ValueError):
        FakeNetworkPrinter(status="jammed")
    with pytest.raises(ValueError):
        FakeNetworkPrinter("hang")
