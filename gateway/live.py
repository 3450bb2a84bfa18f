"""Live traffic for the demo tour (``gateway demo --live``): the room keeps moving while a
newcomer watches the kiosk, a counter and the board.

Visits arrive every so often (as if from a second kiosk) and the counters other than the
newcomer's call, serve, sometimes refer, and finish, on the wall clock and through the
queue verbs only, as staff would. Compressed: a service takes seconds, not minutes.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from gateway.centres import CentreView
from gateway.errors import GatewayError, NothingWaiting
from gateway.queue import Queue
from gateway.store import Store

ARRIVAL_SECONDS = (3.0, 8.0)  # between two arrivals
CALLED_SECONDS = (2.0, 5.0)  # from the call to the customer reaching the counter
SERVING_SECONDS = (25.0, 70.0)
IDLE_SECONDS = (2.0, 6.0)  # a counter's pause between customers
REFER_SHARE = 0.12


@dataclass
class _Desk:
    code: str
    ticket: str | None = None
    next_at: float = 0.0
    step: str = "idle"  # idle -> called -> serving -> idle


class LiveTraffic:
    """Runs in its own thread (or process) until ``stop`` is set."""

    def __init__(
        self,
        store: Store,
        centre: CentreView,
        *,
        keep: tuple[str, ...] = (),
        seed: int = 1,
        kiosk: str = "kiosk-2",
    ) -> None:
        self.queue = Queue(store, centre, actor="demo")
        self.rng = random.Random(seed)
        self.kiosk = kiosk
        config = centre.config
        self.needs = [n.code for n in config.needs if n.services]
        self.services = [s.code for s in config.services]
        self.desks = [_Desk(c.code) for c in config.counters if c.code not in keep]
        self.issued = self.called = self.finished = self.faults = 0

    def run(self, stop: threading.Event, tick: float = 0.5) -> None:
        for desk in self.desks:
            self._try(partial(self.queue.set_counter_state, desk.code, "open"))
        arrival = time.monotonic()
        while not stop.is_set():
            now = time.monotonic()
            if now >= arrival:
                self._arrive()
                arrival = now + self.rng.uniform(*ARRIVAL_SECONDS)
            for desk in self.desks:
                if now >= desk.next_at:
                    self._move(desk, now)
            stop.wait(tick)

    def _arrive(self) -> None:
        need = self.rng.choice(self.needs)
        language = self.rng.choice(("en", "en", "en", "pl", "ro", "uk", "ne", "tr"))
        help_needed = "wheelchair" if self.rng.random() < 0.05 else None
        if self._try(
            lambda: self.queue.check_in(
                need, language=language, help_needed=help_needed, kiosk=self.kiosk
            )
        ):
            self.issued += 1

    def _move(self, desk: _Desk, now: float) -> None:
        rng = self.rng
        if desk.step == "idle":
            try:
                desk.ticket = self.queue.call_next(desk.code).number
            except NothingWaiting:
                desk.next_at = now + rng.uniform(*IDLE_SECONDS)
                return
            except GatewayError:
                self.faults += 1
                desk.next_at = now + 5
                return
            self.called += 1
            desk.step, desk.next_at = "called", now + rng.uniform(*CALLED_SECONDS)
        elif desk.step == "called" and desk.ticket:
            ticket = desk.ticket
            self._try(lambda: self.queue.start_serving(ticket))
            desk.step, desk.next_at = "serving", now + rng.uniform(*SERVING_SECONDS)
        elif desk.step == "serving" and desk.ticket:
            ticket, to = desk.ticket, rng.choice(self.services)
            finished = (
                rng.random() < REFER_SHARE
                and self._try(lambda: self.queue.refer(ticket, to, kind="handover", consent=True))
            ) or self._try(lambda: self.queue.complete(ticket))
            if not finished:  # the store was busy or away: try again soon, keep the ticket
                desk.next_at = now + 2.0
                return
            self.finished += 1
            desk.ticket, desk.step = None, "idle"
            desk.next_at = now + rng.uniform(*IDLE_SECONDS)

    def _try(self, verb: Callable[[], object]) -> bool:
        """Run a verb; a refusal (a ticket someone else moved, say) is skipped, not fatal."""
        try:
            verb()
        except GatewayError:
            self.faults += 1
            return False
        return True
