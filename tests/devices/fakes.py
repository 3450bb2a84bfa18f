"""Fake hardware for tests: printers and serial lines with no device attached.

Standard library only. A serial device is a pseudo-terminal: the app opens the slave side
(``path``) with pyserial exactly as it would open ``/dev/ttyUSB0``, and the fake plays the device
on the master side. A network printer is a socket on 127.0.0.1.

Printers answer the ESC/POS real-time status query DLE EOT n like an Epson TM-T88V. The answer
depends on a mode (``PRINTER_MODES``), which a test may change while the fake runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import socket
import struct
import termios
import threading
import time
import tty
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

DLE, EOT = 0x10, 0x04
PRINTER_MODES = ("online", "low", "out", "cover", "silent")

# Status bytes per mode for DLE EOT 1..4. Bits 1 and 4 are always set on an Epson.
#   n=1 printer status: bit 3 offline.          n=2 offline cause: bit 2 cover, bit 5 paper end.
#   n=3 error status.                           n=4 roll paper: bits 2,3 near end; 5,6 paper end.
STATUS_ANSWERS: dict[str, dict[int, int]] = {
    "online": {1: 0x16, 2: 0x12, 3: 0x12, 4: 0x12},
    "low": {1: 0x16, 2: 0x12, 3: 0x12, 4: 0x1E},
    "out": {1: 0x1E, 2: 0x32, 3: 0x12, 4: 0x7E},
    "cover": {1: 0x1E, 2: 0x16, 3: 0x12, 4: 0x12},
    "silent": {},
}


def _check_mode(mode: str) -> str:
    if mode not in PRINTER_MODES:
        raise ValueError(f"unknown printer mode {mode!r}; choose one of {PRINTER_MODES}")
    return mode


class QuerySplitter:
    """Splits one byte stream into job bytes and DLE EOT n queries (n = 1..4).

    A query cut by a read boundary is held in ``pending`` until the rest arrives. Like a real
    printer, a DLE EOT n inside image data is taken as a query too.
    """

    def __init__(self) -> None:
        self.pending = b""

    def feed(self, data: bytes) -> tuple[bytes, list[int]]:
        buf = self.pending + data
        self.pending = b""
        job = bytearray()
        queries: list[int] = []
        i = 0
        while i < len(buf):
            if buf[i] != DLE:
                job.append(buf[i])
                i += 1
            elif len(buf) - i < 3 and buf[i + 1 : i + 2] in (b"", bytes([EOT])):
                self.pending = buf[i:]  # maybe the start of a query: wait for more
                break
            elif buf[i + 1] == EOT and buf[i + 2] in (1, 2, 3, 4):
                queries.append(buf[i + 2])
                i += 3
            else:
                job.append(buf[i])
                i += 1
        return bytes(job), queries


class _Recording:
    """What a fake printer was sent: ``received`` (job bytes) and ``queries`` (each n)."""

    def __init__(self) -> None:
        self._changed = threading.Condition(threading.RLock())
        self._received = bytearray()
        self._queries: list[int] = []
        self._splitters: list[QuerySplitter] = []  # one per open stream

    @property
    def received(self) -> bytes:
        """Everything that was not a status query (a half-arrived query's bytes included)."""
        with self._changed:
            return bytes(self._received) + b"".join(s.pending for s in self._splitters)

    @property
    def queries(self) -> list[int]:
        with self._changed:
            return list(self._queries)

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 3) -> bool:
        """Wait until ``predicate()`` is true (checked whenever bytes arrive); False on timeout."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def wait_received(self, expected: int | bytes, timeout: float = 3) -> bool:
        """Wait for at least ``expected`` job bytes, or for that byte string among them."""
        if isinstance(expected, int):
            return self.wait_for(lambda: len(self.received) >= expected, timeout)
        return self.wait_for(lambda: expected in self.received, timeout)

    def _open_stream(self) -> QuerySplitter:
        with self._changed:
            splitter = QuerySplitter()
            self._splitters.append(splitter)
            return splitter

    def _close_stream(self, splitter: QuerySplitter) -> None:
        with self._changed:
            self._received += splitter.pending  # the stream ended: it was never a query
            splitter.pending = b""
            self._splitters.remove(splitter)
            self._changed.notify_all()

    def _take(self, splitter: QuerySplitter, data: bytes, mode: str) -> bytes:
        """Record ``data``; return the answers a printer in ``mode`` sends back."""
        with self._changed:
            job, queries = splitter.feed(data)
            self._received += job
            self._queries += queries
            self._changed.notify_all()
        answers = STATUS_ANSWERS[mode]
        return bytes(answers[n] for n in queries if n in answers)


class _Wakeup:
    """A pipe a stopping thread selects on, so it can be told to stop without closing its fd."""

    def __init__(self) -> None:
        self.r, self.w = os.pipe()

    def fileno(self) -> int:
        return self.r

    def set(self) -> None:
        os.write(self.w, b"x")

    def close(self) -> None:
        os.close(self.r)
        os.close(self.w)


class _Pty:
    """A pseudo-terminal whose slave we keep open, so the master never reads EIO when the app
    closes its port; ``link``, if given, is a symlink to the slave like /dev/serial/by-id."""

    def __init__(self, link: Path | None, raw: bool, packet: bool) -> None:
        self.master, self.slave = os.openpty()
        self.tty = os.ttyname(self.slave)
        if raw:
            tty.setraw(self.slave)
        if packet:
            fcntl.ioctl(self.master, termios.TIOCPKT, struct.pack("i", 1))
        self.link = link
        if link is not None:
            link.parent.mkdir(parents=True, exist_ok=True)
            fresh = link.with_name(link.name + ".new")
            fresh.unlink(missing_ok=True)
            os.symlink(self.tty, fresh)
            os.replace(fresh, link)  # re-point atomically

    def close(self) -> None:
        # Closing the master hangs up the slave: the app's reads and writes fail.
        os.close(self.master)
        os.close(self.slave)
        if self.link is not None:
            self.link.unlink(missing_ok=True)


class _Device:
    """Context-manager plumbing shared by the fakes: ``start()`` on enter, ``stop()`` on exit."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class _PtyDevice(_Device):
    """A fake on a pseudo-terminal: its path (the ``link`` if given, else the tty), its spec,
    and start/stop as plug/unplug."""

    link: Path | None
    tty: str | None

    @property
    def path(self) -> str:
        if self.link is not None:
            return str(self.link)
        if self.tty is None:
            raise RuntimeError(f"the {type(self).__name__} is not plugged in")
        return self.tty

    @property
    def spec(self) -> str:
        return f"serial:{self.path}"

    def start(self) -> None:
        self.plug()

    def stop(self) -> None:
        self.unplug()

    def plug(self) -> None:
        raise NotImplementedError

    def unplug(self) -> None:
        raise NotImplementedError


class FakeSerialPrinter(_Recording, _PtyDevice):
    """A serial thermal printer on a raw pseudo-terminal.

    ``path`` is ``link`` if given, else the slave tty (which changes on each ``plug()``).
    ``unplug()`` hangs up the app's open port and removes the link; ``plug()`` brings a new pty.
    """

    def __init__(self, mode: str = "online", link: Path | None = None) -> None:
        super().__init__()
        self.mode = _check_mode(mode)
        self.link = link
        self.tty: str | None = None
        self._pty: _Pty | None = None
        self._wakeup: _Wakeup | None = None
        self._thread: threading.Thread | None = None

    @property
    def mode(self) -> str:
        return self._mode

    @mode.setter
    def mode(self, mode: str) -> None:
        self._mode = _check_mode(mode)

    def plug(self) -> None:
        if self._pty is not None:
            return
        self._pty = _Pty(self.link, raw=True, packet=False)
        self.tty = self._pty.tty
        self._wakeup = _Wakeup()
        splitter = self._open_stream()
        self._thread = threading.Thread(
            target=self._serve,
            args=(self._pty.master, self._wakeup.r, splitter),
            name="fake-serial-printer",
            daemon=True,
        )
        self._thread.start()

    def unplug(self) -> None:
        if self._pty is None:
            return
        assert self._wakeup is not None and self._thread is not None
        self._wakeup.set()
        self._thread.join()
        self._wakeup.close()
        self._pty.close()
        self._pty = self._wakeup = self._thread = None

    def _serve(self, master: int, wakeup: int, splitter: QuerySplitter) -> None:
        try:
            while True:
                ready, _, _ = select.select([master, wakeup], [], [])
                if wakeup in ready:
                    return
                try:
                    data = os.read(master, 4096)
                except OSError:
                    return
                if not data:
                    return
                answers = self._take(splitter, data, self.mode)
                if answers:
                    with contextlib.suppress(OSError):
                        os.write(master, answers)
        finally:
            self._close_stream(splitter)


class FakeNetworkPrinter(_Recording, _Device):
    """A network printer on 127.0.0.1 at a port the OS chose.

    ``mode``: "accept" (records and answers status per ``status``), "refuse" (nothing listens:
    connections are refused) or "stall" (accepts but never reads nor answers, like a hung
    printer). ``status`` takes the serial printer's modes and may change while running.
    """

    def __init__(self, mode: str = "accept", status: str = "online") -> None:
        super().__init__()
        if mode not in ("accept", "refuse", "stall"):
            raise ValueError(f"unknown network printer mode {mode!r}")
        self.mode = mode
        self.status = _check_mode(status)
        self.port = 0
        self.connections = 0
        self._server: socket.socket | None = None
        self._wakeup: _Wakeup | None = None
        self._thread: threading.Thread | None = None

    @property
    def status(self) -> str:
        return self._status

    @status.setter
    def status(self, status: str) -> None:
        self._status = _check_mode(status)

    @property
    def spec(self) -> str:
        return f"tcp:127.0.0.1:{self.port}"

    def start(self) -> None:
        if self.mode == "refuse":
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
            return  # closed again: connecting there is refused
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self._wakeup = _Wakeup()
        self._thread = threading.Thread(
            target=self._serve, name="fake-network-printer", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._thread is None:
            return
        assert self._wakeup is not None and self._server is not None
        self._wakeup.set()
        self._thread.join()
        self._wakeup.close()
        self._server.close()
        self._server = self._wakeup = self._thread = None

    def _serve(self) -> None:
        assert self._server is not None and self._wakeup is not None
        reading: dict[socket.socket, QuerySplitter] = {}
        stalled: list[socket.socket] = []
        try:
            while True:
                watched: list[socket.socket | _Wakeup] = [self._server, self._wakeup, *reading]
                ready, _, _ = select.select(watched, [], [])
                if self._wakeup in ready:
                    return
                if self._server in ready:
                    conn, _ = self._server.accept()
                    with self._changed:
                        self.connections += 1
                        self._changed.notify_all()
                    if self.mode == "stall":
                        stalled.append(conn)
                    else:
                        reading[conn] = self._open_stream()
                for conn in [c for c in ready if c in reading]:
                    if not self._answer(conn, reading[conn]):
                        self._close_stream(reading.pop(conn))
                        conn.close()
        finally:
            for conn, splitter in reading.items():
                self._close_stream(splitter)
                conn.close()
            for conn in stalled:
                conn.close()

    def _answer(self, conn: socket.socket, splitter: QuerySplitter) -> bool:
        """Read what arrived and answer it; False once the connection is over."""
        try:
            data = conn.recv(4096)
            if data:
                answers = self._take(splitter, data, self.status)
                if answers:
                    conn.sendall(answers)
        except OSError:
            return False
        return bool(data)


class FakeSerialLine(_PtyDevice):
    """A serial barcode scanner or door-counter sensor on a pseudo-terminal.

    pyserial empties the input buffer when it opens a port, so send only after
    ``wait_opened()``. The master is in packet mode (TIOCPKT): the kernel reports each flush of
    the slave's input (pyserial's open ends with one), which is how ``wait_opened`` knows.
    ``received`` holds what the app wrote to the device, seen while waiting.
    """

    def __init__(self, link: Path | None = None) -> None:
        self.link = link
        self.tty: str | None = None
        self.received = b""
        self._pty: _Pty | None = None

    def plug(self) -> None:
        """A new pty (cooked, like a fresh device node) and the link pointed at it."""
        if self._pty is None:
            self._pty = _Pty(self.link, raw=False, packet=True)
            self.tty = self._pty.tty

    def unplug(self) -> None:
        """Hang up: the app's reads fail, the link disappears."""
        if self._pty is not None:
            self._pty.close()
            self._pty = None

    def send_bytes(self, data: bytes) -> None:
        master = self._plugged().master
        view = memoryview(data)
        while view:
            view = view[os.write(master, view) :]

    def send_line(self, text: str, end: bytes = b"\r\n") -> None:
        self.send_bytes(text.encode() + end)

    def wait_opened(self, timeout: float = 3) -> bool:
        """Wait until the app has opened the port (since plug or the last call): True, or False
        on timeout. Several opens between calls count once. An app that flushes its input
        (``reset_input_buffer``) also counts as an open."""
        master = self._plugged().master
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            ready, _, _ = select.select([master], [], [], left)
            if not ready:
                break
            packet = os.read(master, 4096)
            if packet[0] == termios.TIOCPKT_DATA:
                self.received += packet[1:]
            elif packet[0] & termios.TIOCPKT_FLUSHREAD:
                return True
        return False

    def _plugged(self) -> _Pty:
        if self._pty is None:
            raise RuntimeError("the fake serial line is not plugged in")
        return self._pty
