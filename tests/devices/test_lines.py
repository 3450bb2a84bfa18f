"""Scanners and door counters on a serial line: every line arrives, cleaned; nothing a device
sends can reach a screen as a control sequence; unplugging and plugging back in just works.

The device is ``FakeSerialLine``, a pseudo-terminal. pyserial empties the input buffer when it
opens a port, so every test waits for the reader to have opened it before sending.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import serial

from devices import lines
from devices.lines import (
    MAX_LINE,
    LineDevice,
    Scan,
    clean_line,
    parse_line_spec,
)
from tests.devices.fakes import FakeSerialLine


def wait_for_state(device: LineDevice, state: str, timeout: float = 3.0) -> bool:
    """Wait until the device reaches ``state``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if device.state == state:
            return True
        time.sleep(0.02)
    return device.state == state


RETRY_SECONDS = 0.1
WAIT_SECONDS = 3  # generous: a poll ends as soon as the thing happens


class Scanner:
    """A LineDevice under test, with what it delivered and each state it reported."""

    def __init__(self, spec: str, *, retry_seconds: float = RETRY_SECONDS) -> None:
        self.scans: queue.Queue[Scan] = queue.Queue()
        self.states: list[str] = []
        self.device = LineDevice(
            spec,
            self.scans.put,
            lambda state, detail: self.states.append(state),
            retry_seconds=retry_seconds,
            name="test-scanner",
        )

    def next(self, count: int = 1) -> list[Scan]:
        return [self.scans.get(timeout=WAIT_SECONDS) for _ in range(count)]

    def reaches(self, state: str) -> bool:
        return wait_for_state(self.device, state, timeout=WAIT_SECONDS)


@pytest.fixture(autouse=True)
def quick_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A read returns after READ_SECONDS of quiet (pyserial waits that long for a full
    buffer), so each line and each stop() costs that much: a shorter wait keeps these tests
    quick and changes nothing else."""
    monkeypatch.setattr(lines, "READ_SECONDS", 0.05)


@pytest.fixture
def line(tmp_path: Path) -> Iterator[FakeSerialLine]:
    # Through a link, as /dev/serial/by-id: the path survives unplug and plug.
    with FakeSerialLine(link=tmp_path / "by-id" / "usb-scanner-if00") as fake:
        yield fake


@pytest.fixture
def scanner(line: FakeSerialLine) -> Iterator[Scanner]:
    """A scanner reading ``line``, started, with the port open and ready to be sent to."""
    reading = Scanner(line.spec)
    reading.device.start()
    try:
        assert line.wait_opened(timeout=WAIT_SECONDS)
        assert reading.reaches("ok")
        yield reading
    finally:
        reading.device.stop()


def pause_until_read() -> None:
    """Let the reader's read return what has arrived so far (it returns after READ_SECONDS
    of quiet), so the next bytes come in a read of their own. Only the split depends on
    it: were the machine too slow, the bytes would come in one read and still pass."""
    time.sleep(lines.READ_SECONDS * 3)


def reader_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "gateway-test-scanner"]


# --- lines -------------------------------------------------------------------------------


def test_a_scanned_code_arrives_whatever_the_line_ending(line, scanner):
    line.send_line("AB-1001", end=b"\r")
    line.send_line("AB-1002", end=b"\n")
    line.send_line("AB-1003", end=b"\r\n")
    assert [scan.text for scan in scanner.next(3)] == ["AB-1001", "AB-1002", "AB-1003"]
    assert scanner.scans.empty()  # CRLF is one ending, not an empty line between


def test_several_lines_in_one_write_arrive_one_by_one(line, scanner):
    line.send_bytes(b"IN 1\r\nIN 2\nOUT 1\r")
    assert [scan.text for scan in scanner.next(3)] == ["IN 1", "IN 2", "OUT 1"]


def test_a_line_split_across_writes_arrives_whole(line, scanner):
    code = "Zażółć-42".encode()
    line.send_bytes(code[:3])  # inside the two bytes of ż
    pause_until_read()
    line.send_bytes(code[3:] + b"\r")
    pause_until_read()
    line.send_bytes(b"\nnext\r\n")  # the LF of a CRLF cut from its CR, then a line
    assert scanner.next(2) == [Scan("Zażółć-42"), Scan("next")]


def test_terminal_escapes_and_control_characters_never_reach_the_text(line, scanner):
    line.send_bytes(b"\x1b[2J\x1b]0;owned\x07AB-1004\r\n")
    line.send_bytes(b"AB\t-\x0710\x7f05\r\n")
    escaped, controlled = scanner.next(2)
    for scan in (escaped, controlled):
        assert scan.text.isprintable(), repr(scan.text)
    assert "\x1b" not in escaped.text and escaped.garbage  # refused by the kiosk
    assert controlled == Scan("AB-1005")  # a stray tab or bell is noise, not garbage


def test_bytes_that_are_not_text_are_marked_garbage(line, scanner):
    line.send_bytes(b"AB\x00-1006\r\n")
    line.send_bytes(b"AB-\xff\xfe1007\r\n")
    line.send_bytes(b"\x07\x07\r\n")  # nothing left once cleaned
    nul, invalid, empty = scanner.next(3)
    assert nul.garbage and "\x00" not in nul.text
    assert invalid.garbage
    assert empty == Scan("", garbage=True)


def test_an_overlong_line_is_cut_and_marked(line, scanner):
    line.send_line("9" * (MAX_LINE + 100))
    line.send_line("AB-1008")
    long, short = scanner.next(2)
    assert long == Scan("9" * MAX_LINE, too_long=True)
    assert short == Scan("AB-1008")


def test_a_device_that_never_ends_its_line_is_not_buffered_forever(line, scanner):
    flood = b"7" * (MAX_LINE * 4 + 1)  # past what the reader holds waiting for a line end
    line.send_bytes(flood)
    (scan,) = scanner.next()
    assert scan.too_long and len(scan.text) == MAX_LINE
    line.send_line("AB-1009")
    assert scanner.next() == [Scan("AB-1009")]


@pytest.mark.parametrize(
    ("raw", "scan"),
    [
        (b"AB-1010", Scan("AB-1010")),
        (b"  AB-1011 ", Scan("AB-1011")),
        (b"AB\x1b[31m-1012", Scan("AB-1012", garbage=True)),  # the escape goes whole
        (b"AB\x00", Scan("AB", garbage=True)),
        (b"\xc3(", Scan("\ufffd(", garbage=True)),  # shown as �, and refused
        ("Łódź".encode(), Scan("Łódź")),
        (b"x" * (MAX_LINE + 1), Scan("x" * MAX_LINE, too_long=True)),
        (b"x" * MAX_LINE, Scan("x" * MAX_LINE)),
    ],
)
def test_clean_line(raw, scan):
    assert clean_line(raw) == scan


# --- plugging and unplugging -------------------------------------------------------------


def test_an_unplugged_scanner_works_again_once_plugged_back_in(line, scanner):
    line.send_line("AB-1013")
    assert scanner.next() == [Scan("AB-1013")]
    line.unplug()
    assert scanner.reaches("unplugged")
    line.plug()
    assert line.wait_opened(timeout=WAIT_SECONDS)
    assert scanner.reaches("ok")
    line.send_line("AB-1014")
    assert scanner.next() == [Scan("AB-1014")]
    assert scanner.states == ["ok", "unplugged", "ok"]


def test_a_missing_scanner_is_unplugged_and_looked_for_until_it_appears(tmp_path, monkeypatch):
    opens: list[str] = []
    real_serial = serial.Serial

    def counting_serial(*args, **kwargs):
        opens.append(args[0] if args else kwargs.get("port"))
        return real_serial(*args, **kwargs)

    monkeypatch.setattr(serial, "Serial", counting_serial)
    link = tmp_path / "by-id" / "usb-door-counter-if00"
    reading = Scanner(f"serial:{link}")
    reading.device.start()
    try:
        assert reading.reaches("unplugged")
        deadline = time.monotonic() + WAIT_SECONDS
        while len(opens) < 3 and time.monotonic() < deadline:
            time.sleep(RETRY_SECONDS / 4)
        assert len(opens) >= 3  # it keeps looking...
        assert reading.states == ["unplugged"]  # ...and says so once
        with FakeSerialLine(link=link) as line:
            assert line.wait_opened(timeout=WAIT_SECONDS)
            assert reading.reaches("ok")
            line.send_line("IN 1")
            assert reading.next() == [Scan("IN 1")]
    finally:
        reading.device.stop()
    assert reading.states[:2] == ["unplugged", "ok"]


# --- stopping ----------------------------------------------------------------------------


def test_stop_ends_the_reader_promptly(line, scanner):
    began = time.monotonic()
    scanner.device.stop()
    assert time.monotonic() - began < 1
    assert reader_threads() == []


def test_stop_ends_the_reader_promptly_while_it_waits_to_look_again(tmp_path):
    reading = Scanner(f"serial:{tmp_path}/missing", retry_seconds=60)
    reading.device.start()
    assert reading.reaches("unplugged")
    began = time.monotonic()
    reading.device.stop()
    assert time.monotonic() - began < 1
    assert reader_threads() == []


# --- specs -------------------------------------------------------------------------------


def test_a_line_spec_names_the_port_and_speed():
    assert parse_line_spec("serial:/dev/ttyACM0") == parse_line_spec(" serial:/dev/ttyACM0 ")
    spec = parse_line_spec("serial:/dev/ttyUSB0?baud=19200")
    assert (spec.path, spec.baud) == ("/dev/ttyUSB0", 19200)
    assert parse_line_spec("serial:/dev/ttyACM0").baud == 9600


@pytest.mark.parametrize(
    "spec",
    [
        "",
        "/dev/ttyACM0",
        "serial:",
        "usb:04b8:0202",
        "tcp:10.0.0.7:9100",
        "serial:/dev/ttyACM0?baud=fast",
        "serial:/dev/ttyACM0?parity=E",
        "serial:/dev/ttyACM0?baud=9600&parity=E",
        "serial:/dev/ttyACM0?baud",
        "serial:/dev/ttyACM0?junk",
        "serial:/dev/ttyACM0?baud=0",
    ],
)
def test_nonsense_line_specs_are_refused_with_a_sentence(spec):
    with pytest.raises(ValueError, match="is not a serial device") as refused:
        parse_line_spec(spec)
    assert str(refused.value).endswith(".")
    with pytest.raises(ValueError):
        LineDevice(spec, lambda scan: None)
