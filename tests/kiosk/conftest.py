"""Fixtures for the kiosk: the example centre (six languages) in a SQLite store, a kiosk
app factory with a hand-driven idle clock, and a TCP proxy that can take PostgreSQL away."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway import migrate
from gateway.centres import load_centre
from gateway.clock import FixedClock
from gateway.config import EXAMPLE_CENTRE, load_centre_file
from gateway.queue import Queue
from gateway.store import Store
from kiosk.app import KioskApp
from kiosk.screens.journey import LanguageScreen
from kiosk.settings import KioskSettings

OPEN_DESKS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12", "13")


class Ticker:
    """The kiosk's idle clock (``monotonic``), moved by hand: tests never sleep."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def ready_store(url: str, clock: FixedClock) -> Store:
    store = Store(url)
    migrate.upgrade(store)
    load_centre(store, load_centre_file(EXAMPLE_CENTRE), clock)
    queue = Queue(store, clock=clock, actor="test")
    for code in OPEN_DESKS:
        queue.set_counter_state(code, "open")
    return store


@pytest.fixture
def kiosk_store(tmp_path: Path, clock: FixedClock) -> Iterator[Store]:
    """The example centre (Maidstone, six languages) with every desk open."""
    store = ready_store(f"sqlite:///{tmp_path / 'kiosk.db'}", clock)
    yield store
    store.dispose()


@pytest.fixture
def ticker() -> Ticker:
    return Ticker()


@pytest.fixture
def make_kiosk(kiosk_store: Store, clock: FixedClock, ticker: Ticker) -> Callable[..., KioskApp]:
    """``make_kiosk(printer="preview:DIR", store=..., **settings)`` builds a kiosk app."""

    def build(*, store: Store | None = None, **settings: Any) -> KioskApp:
        values = {"name": "kiosk-test", "retry_seconds": 5.0} | settings
        return KioskApp(
            store or kiosk_store,
            settings=KioskSettings(**values),
            clock=clock,
            monotonic=ticker,
        )

    return build


class StoreAway:
    """Takes the store away from a screen and gives it back: while ``down``, the screen's
    read (``module.name``) and every wait for news on the event log fail, as they do when
    the store stops answering. The screen (whose ``RETRY_SECONDS`` and ``WAIT_SECONDS``
    live in ``timing``, by default ``module``) retries after 0.1 s."""

    def __init__(self, monkeypatch: Any, module: Any, name: str, timing: Any = None) -> None:
        from gateway import events

        self.down = False
        monkeypatch.setattr(module, name, self._flaky(getattr(module, name)))
        monkeypatch.setattr(events, "wait_for_events", self._flaky(events.wait_for_events))
        monkeypatch.setattr(timing or module, "RETRY_SECONDS", 0.1)
        monkeypatch.setattr(timing or module, "WAIT_SECONDS", 0.2)

    def _flaky(self, read: Callable[..., Any]) -> Callable[..., Any]:
        def read_or_fail(*args: Any, **kwargs: Any) -> Any:
            if self.down:
                raise ConnectionError("the store went away")
            return read(*args, **kwargs)

        return read_or_fail


async def wait_for(pilot: Any, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Let the app run until ``condition()`` holds (workers report back on the UI loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out; screen is {type(pilot.app.screen).__name__}")
        await pilot.pause(0.02)


async def started(pilot: Any) -> None:
    """Wait until the kiosk has opened the centre and shows the language screen."""
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LanguageScreen))
    await pilot.pause()
    await wait_for(pilot, lambda: bool(pilot.app.screen.query("#choice-0")))


class TcpProxy:
    """A TCP forwarder between the kiosk and PostgreSQL. ``stop()`` cuts every
    connection and refuses new ones (the store is down); ``start()`` brings it back on
    the same port."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone does not.
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
            self._listener = None
        with self._lock:
            for conn in self._conns:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                    conn.close()
                except OSError:
                    pass
            self._conns.clear()
