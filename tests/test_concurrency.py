"""Two counters never call the same customer: proved with real processes on both stores.

Threads share one interpreter and hide races, so every test here starts separate processes
(``spawn``), each with its own ``Store`` and ``Queue``, and then checks the store itself:
every ticket called once, no number given twice, events gap-free, and no worker saw an
error other than ``NothingWaiting``.

The centre used is a race track: one agency, three services, and counters that all serve
every service, so every counter competes for every ticket.
"""

from __future__ import annotations

import multiprocessing
import queue as stdlib_queue
import time
import traceback
from collections import Counter as Tally
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, func, select

from gateway.errors import NothingWaiting
from gateway.events import watch
from gateway.models import Event, Ticket
from gateway.queue import Queue
from gateway.store import Store
from tests.race import NEEDS, open_race_centre

SPAWN = multiprocessing.get_context("spawn")
START_TIMEOUT_S = 60.0  # every worker imports the engine before the start line
# A counter that finds nobody waits before pressing again, longer each time (up to the
# cap), as staff would: sixteen counters pressing in a tight loop would only starve the kiosks.
IDLE_PAUSE_S = 0.003
IDLE_PAUSE_CAP_S = 0.25


# -- the workers (module level, so a spawned process can import them) -----------------


def _failure(exc: BaseException) -> str:
    where = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    place = f" at {where[0].filename}:{where[0].lineno}" if where else ""
    return f"{type(exc).__name__}: {exc}{place}"


def kiosk_worker(
    url: str, name: str, count: int, start: Any, results: Any, deadline: float
) -> None:
    """Check ``count`` visits in as fast as possible; report the ticket ids issued."""
    report: dict[str, Any] = {"worker": name, "role": "kiosk", "issued": [], "errors": []}
    try:
        store = Store(url)
        kiosk = Queue(store, "race", actor=name)
        start.wait(START_TIMEOUT_S)
        began = time.monotonic()
        for i in range(count):
            if time.time() > deadline:
                report["errors"].append(f"{name} ran out of time after {i} check-ins")
                break
            try:
                report["issued"].append(kiosk.check_in(NEEDS[i % len(NEEDS)]).id)
            except Exception as exc:
                report["errors"].append(_failure(exc))
        report["seconds"] = time.monotonic() - began
        store.dispose()
    except Exception as exc:
        report["errors"].append(_failure(exc))
    finally:
        results.put(report)


def counter_worker(
    url: str, code: str, start: Any, kiosks_done: Any, results: Any, deadline: float
) -> None:
    """Call next and complete until the kiosks have finished and nobody is waiting."""
    name = f"counter-{code}"
    report: dict[str, Any] = {
        "worker": name,
        "role": "counter",
        "called": [],
        "nobody": 0,
        "errors": [],
    }
    try:
        store = Store(url)
        desk = Queue(store, "race", actor=name)
        start.wait(START_TIMEOUT_S)
        began = time.monotonic()
        pause = IDLE_PAUSE_S
        while True:
            if time.time() > deadline:
                report["errors"].append(f"{name} ran out of time")
                break
            # Read the flag before calling: once it is set, every ticket is committed, so
            # finding nobody then means the queue really is empty.
            finished = kiosks_done.is_set()
            try:
                ticket = desk.call_next(code)
            except NothingWaiting:
                if finished:
                    break
                report["nobody"] += 1
                time.sleep(pause)
                pause = min(pause * 2, IDLE_PAUSE_CAP_S)
                continue
            pause = IDLE_PAUSE_S
            report["called"].append(ticket.id)
            desk.complete(ticket.id)
        report["seconds"] = time.monotonic() - began
        store.dispose()
    except Exception as exc:  # the counter may hold a ticket now: stop, and say why
        report["errors"].append(_failure(exc))
    finally:
        results.put(report)


def watcher_worker(url: str, centre_id: int, start: Any, stop: Any, results: Any) -> None:
    """Follow ``watch(after=cursor)`` as a screen would, recording every seq seen."""
    report: dict[str, Any] = {"worker": "watcher", "seen": [], "batches": 0, "errors": []}
    try:
        store = Store(url)
        start.wait(START_TIMEOUT_S)
        cursor = 0
        while True:
            stopping = stop.is_set()  # read first: an empty answer after it is final
            events = watch(store, centre_id, after=cursor)
            if events:
                report["seen"].extend(e.seq for e in events)
                report["batches"] += 1
                cursor = events[-1].seq
            elif stopping:
                break
            else:
                time.sleep(IDLE_PAUSE_S)
        store.dispose()
    except Exception as exc:
        report["errors"].append(_failure(exc))
    finally:
        results.put(report)


def caller_worker(url: str, code: str, rounds: int, barrier: Any, results: Any) -> None:
    """Each round: wait at the barrier with the other counter, then press call next."""
    try:
        store = Store(url)
        desk = Queue(store, "race", actor=f"counter-{code}")
        for _ in range(rounds):
            barrier.wait(START_TIMEOUT_S)
            try:
                ticket = desk.call_next(code)
            except NothingWaiting:
                results.put((code, "nothing", None))
                continue
            except Exception as exc:
                results.put((code, "error", _failure(exc)))
                return
            desk.complete(ticket.id)
            results.put((code, "called", ticket.id))
        store.dispose()
    except Exception as exc:
        results.put((code, "error", _failure(exc)))


# -- running a floor of processes ------------------------------------------------------


@dataclass
class Floor:
    """What the workers reported back."""

    reports: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    def of(self, role: str) -> list[dict[str, Any]]:
        return [r for r in self.reports if r.get("role") == role]

    @property
    def errors(self) -> list[str]:
        return [f"{r['worker']}: {e}" for r in self.reports for e in r["errors"]]


def _reap(processes: list[Any]) -> None:
    """Join every process briefly; terminate, then kill, any straggler."""
    for proc in processes:
        proc.join(10)
    for proc in processes:
        if proc.is_alive():
            proc.terminate()
            proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join(5)


def run_floor(
    url: str, *, counters: int, kiosks: int, tickets: int, timeout: float, watcher: int = 0
) -> Floor:
    """Start the counters and kiosks (and a watcher of centre ``watcher``), and collect
    every report. The kiosks share ``tickets`` check-ins between them."""
    deadline = time.monotonic() + timeout
    # Workers get a wall-clock deadline (comparable across processes) a little before
    # ours, so that they stop and report in time.
    worker_deadline = time.time() + timeout * 0.9
    workers = counters + kiosks + (1 if watcher else 0)
    start = SPAWN.Barrier(workers)
    kiosks_done, stop = SPAWN.Event(), SPAWN.Event()
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(
            target=counter_worker,
            args=(url, str(n), start, kiosks_done, results, worker_deadline),
        )
        for n in range(1, counters + 1)
    ]
    share = [tickets // kiosks + (1 if k < tickets % kiosks else 0) for k in range(kiosks)]
    processes += [
        SPAWN.Process(
            target=kiosk_worker,
            args=(url, f"kiosk-{k + 1}", share[k], start, results, worker_deadline),
        )
        for k in range(kiosks)
    ]
    if watcher:
        processes.append(
            SPAWN.Process(target=watcher_worker, args=(url, watcher, start, stop, results))
        )
    floor = Floor()
    began = time.monotonic()
    try:
        for proc in processes:
            proc.start()
        while len(floor.reports) < workers:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                floor.reports.append(results.get(timeout=min(left, 5.0)))
            except stdlib_queue.Empty:
                continue
            if len(floor.of("kiosk")) == kiosks:
                kiosks_done.set()
            if len(floor.of("counter")) == counters and len(floor.of("kiosk")) == kiosks:
                stop.set()
        floor.seconds = time.monotonic() - began
    finally:
        stop.set()
        kiosks_done.set()
        _reap(processes)
    missing = workers - len(floor.reports)
    assert missing == 0, f"{missing} of {workers} workers never reported within {timeout:.0f} s"
    return floor


# -- checking the store ----------------------------------------------------------------


def assert_each_ticket_called_once(url: str, centre_id: int, floor: Floor, tickets: int) -> None:
    store = Store(url)
    try:
        with store.read() as session:
            states = Tally(
                state
                for state in session.exec(
                    select(Ticket.state).where(Ticket.centre_id == centre_id)
                ).all()
            )
            calls = dict(
                session.exec(
                    select(Event.ticket_id, func.count())
                    .where(Event.centre_id == centre_id, Event.kind == "called")
                    .group_by(col(Event.ticket_id))
                ).all()
            )
            numbers_twice = session.exec(
                select(Ticket.service_id, Ticket.day, Ticket.number, func.count())
                .where(Ticket.centre_id == centre_id)
                .group_by(col(Ticket.service_id), col(Ticket.day), col(Ticket.number))
                .having(func.count() > 1)
            ).all()
            ticket_ids = set(
                session.exec(select(Ticket.id).where(Ticket.centre_id == centre_id)).all()
            )
            seqs = list(
                session.exec(
                    select(Event.seq).where(Event.centre_id == centre_id).order_by(col(Event.seq))
                ).all()
            )
            kinds = Tally(
                session.exec(select(Event.kind).where(Event.centre_id == centre_id)).all()
            )
    finally:
        store.dispose()

    assert floor.errors == []
    assert states == {"done": tickets}, "every ticket issued was called and completed"
    assert set(calls) == ticket_ids
    assert {n for n in calls.values()} == {1}, "a ticket was called more than once"
    assert numbers_twice == [], "a ticket number was given twice for one service and day"

    issued = [t for r in floor.of("kiosk") for t in r["issued"]]
    called = [t for r in floor.of("counter") for t in r["called"]]
    assert sorted(issued) == sorted(ticket_ids)
    assert sorted(called) == sorted(ticket_ids), "two counters reported the same ticket"
    busy = [r["worker"] for r in floor.of("counter") if r["called"]]
    assert len(busy) > 1, f"only {busy} served: the counters did not really compete"

    assert seqs == list(range(1, len(seqs) + 1)), "event numbers have a gap or a repeat"
    counters = len(floor.of("counter"))
    per_ticket = ("checked_in", "ticket_issued", "called", "done", "visit_ended")
    expected = Tally({kind: tickets for kind in per_ticket})
    expected.update({"centre_loaded": 1, "counter_open": counters})
    assert kinds == expected


def _floor_test(url: str, tmp_path: Path, counters: int, kiosks: int, tickets: int) -> Floor:
    centre_id = open_race_centre(url, counters)
    floor = run_floor(url, counters=counters, kiosks=kiosks, tickets=tickets, timeout=600)
    assert_each_ticket_called_once(url, centre_id, floor, tickets)
    return floor


# -- the tests -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("counters", "kiosks", "tickets"),
    [
        pytest.param(4, 2, 300, id="4-counters-300-tickets"),
        pytest.param(8, 2, 2100, id="8-counters-2100-tickets", marks=pytest.mark.stress),
    ],
)
def test_counters_racing_on_sqlite_call_every_ticket_exactly_once(
    sqlite_url: str, tmp_path: Path, counters: int, kiosks: int, tickets: int
) -> None:
    _floor_test(sqlite_url, tmp_path, counters, kiosks, tickets)


@pytest.mark.postgres
@pytest.mark.parametrize(
    ("counters", "kiosks", "tickets"),
    [
        pytest.param(6, 2, 300, id="6-counters-300-tickets"),
        pytest.param(16, 4, 2100, id="16-counters-2100-tickets", marks=pytest.mark.stress),
    ],
)
def test_counters_racing_on_postgresql_call_every_ticket_exactly_once(
    pg_url: str, tmp_path: Path, counters: int, kiosks: int, tickets: int
) -> None:
    _floor_test(pg_url, tmp_path, counters, kiosks, tickets)


def test_two_counters_pressing_at_once_for_one_ticket_only_one_gets_it(
    store_url: str, tmp_path: Path
) -> None:
    rounds = 12
    open_race_centre(store_url, 2)
    store = Store(store_url)
    kiosk = Queue(store, "race", actor="kiosk")
    # The test takes part in the barrier too: it checks the ticket in, then releases both.
    barrier = SPAWN.Barrier(3)
    results = SPAWN.Queue()
    processes = [
        SPAWN.Process(target=caller_worker, args=(store_url, code, rounds, barrier, results))
        for code in ("1", "2")
    ]
    rounds_won = []
    try:
        for proc in processes:
            proc.start()
        for _ in range(rounds):
            issued = kiosk.check_in("housing")
            barrier.wait(START_TIMEOUT_S)
            pair = sorted(
                (results.get(timeout=START_TIMEOUT_S) for _ in range(2)), key=lambda r: r[1]
            )
            assert [outcome for _, outcome, _ in pair] == ["called", "nothing"], pair
            assert pair[0][2] == issued.id
            rounds_won.append(pair[0][0])
    finally:
        barrier.abort()  # frees a worker still waiting if a round failed
        _reap(processes)
    try:
        with store.read() as session:
            calls = session.exec(
                select(Event.ticket_id, func.count())
                .where(Event.kind == "called")
                .group_by(col(Event.ticket_id))
            ).all()
            done = session.exec(select(func.count()).where(Ticket.state == "done")).one()
    finally:
        store.dispose()
    assert len(rounds_won) == rounds
    assert sorted(n for _, n in calls) == [1] * rounds, "a ticket was called twice"
    assert done == rounds


@pytest.mark.postgres
def test_a_watcher_following_its_cursor_never_misses_an_event_on_postgresql(
    pg_url: str, tmp_path: Path
) -> None:
    tickets = 240
    centre_id = open_race_centre(pg_url, 4)
    floor = run_floor(pg_url, counters=4, kiosks=2, tickets=tickets, timeout=300, watcher=centre_id)
    assert_each_ticket_called_once(pg_url, centre_id, floor, tickets)
    (watcher,) = [r for r in floor.reports if r["worker"] == "watcher"]
    store = Store(pg_url)
    with store.read() as session:
        total = session.exec(select(func.max(Event.seq)).where(Event.centre_id == centre_id)).one()
    store.dispose()
    assert watcher["seen"] == list(range(1, total + 1)), "the watcher skipped or repeated one"
    # It really followed the writers as they wrote, not just read everything at the end.
    assert watcher["batches"] > 20
