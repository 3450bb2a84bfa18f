"""The kiosk's devices: its printer's health, an appointment scanner and a door sensor.

Mixed into ``KioskApp``. Devices report from their own threads; what they report (a
printer's health, a scanner unplugged, people coming through the door) is written to the
store off the UI thread, and kept while the store is down until it is back. Health is
written when it changes, so staff screens see "paper low" or "scanner unplugged" as an
alert, and the last known health of each device stays in the store.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from textual.message import Message

from gateway.errors import StoreUnavailable

if TYPE_CHECKING:
    from devices.lines import LineDevice, Scan
    from gateway.clock import Clock
    from gateway.queue import Queue
    from kiosk.settings import KioskSettings

log = logging.getLogger("gateway.kiosk")

MAX_DOOR_ENTRIES = 5000  # door counts kept while the store is down
HEALTH_REFRESH_SECONDS = 300.0  # unchanged health is written again this often ("checked")


class ScanArrived(Message):
    """A line from the serial scanner, for the app's UI thread."""

    def __init__(self, scan: Scan) -> None:
        super().__init__()
        self.scan = scan


class KioskHardware:
    queue: Queue | None
    settings: KioskSettings
    printer: Any
    clock: Clock

    def start_devices(self) -> None:
        """Open the scanner and the door sensor (if set), each in its own thread."""
        self._device_lock = threading.Lock()
        self._health_written: dict[str, tuple[str, float]] = {}
        self._health_news: dict[str, tuple[str, str, str | None]] = {}
        self._door_entries: deque[datetime] = deque(maxlen=MAX_DOOR_ENTRIES)
        self._health_stale = False  # set after an outage: write every health again
        self.scanner = self._open_line_device("scanner", self.settings.scanner, self._scanner_line)
        self.door = self._open_line_device("door", self.settings.door, self._door_line)

    def _open_line_device(
        self, name: str, spec: str | None, on_line: Callable[[Scan], None]
    ) -> LineDevice | None:
        from devices.lines import LineDevice

        if not spec:
            return None
        return LineDevice(
            spec,
            on_line,
            lambda state, detail: self.device_health(name, state, spec, detail),
            name=name,
        ).start()

    def stop_devices(self) -> None:
        for device in (getattr(self, "scanner", None), getattr(self, "door", None)):
            if device is not None:
                device.stop()

    # -- health ----------------------------------------------------------------------

    def device_health(self, device: str, health: str, spec: str, detail: str | None) -> None:
        """A device's health, from any thread; written to the store when it changed."""
        with self._device_lock:
            self._health_news[device] = (health, spec, detail)
        self.write_device_news()

    def printer_checked(self, status: Any, detail: str | None = None) -> None:
        """What the printer said before or after a job (``PrinterStatus``)."""
        if self.printer.configured:
            if detail is None and status.health != "ok":
                detail = status.sentence()
            self.device_health("printer", status.health, self.printer.spec, detail)

    def write_device_news(self) -> None:
        """Write changed health and door counts; keep them if the store is down."""
        with self._device_lock:
            queue = self.queue
            if queue is None:
                return
            if self._health_stale:
                self._health_stale = False
                self._health_written.clear()
            for device, (health, spec, detail) in list(self._health_news.items()):
                written, at = self._health_written.get(device, (None, 0.0))
                now = time.monotonic()
                if written != health or now - at >= HEALTH_REFRESH_SECONDS:
                    try:
                        queue.report_device_health(
                            self.settings.name, device, health, spec=spec, detail=detail
                        )
                    except StoreUnavailable as exc:
                        log.warning("device health kept for later: %s", exc)
                        return
                    except Exception:
                        log.exception("device health not recorded: %s %s", device, health)
                    self._health_written[device] = (health, now)
                del self._health_news[device]
            while self._door_entries:
                try:
                    queue.count_door_entry(self.settings.name, at=self._door_entries[0])
                except StoreUnavailable as exc:
                    log.warning("door counts kept for later: %s", exc)
                    return
                except Exception:
                    log.exception("door count not recorded")
                self._door_entries.popleft()

    def forget_written_health(self) -> None:
        """After an outage, write each device's health again. Called on the UI thread, so
        it only raises a flag: the lock may be held by a slow write in another thread."""
        self._health_stale = True

    # -- lines from the devices (their own threads) ---------------------------------------

    def _scanner_line(self, scan: Scan) -> None:
        # A message, not call_from_thread: that waits for the app, and a reader thread
        # waiting on an app that is shutting down would never return.
        self.post_message(ScanArrived(scan))  # type: ignore[attr-defined]

    def _door_line(self, scan: Scan) -> None:
        with self._device_lock:
            self._door_entries.append(self.clock.now())
        self.write_device_news()
