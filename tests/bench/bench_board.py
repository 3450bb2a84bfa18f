"""From "call next" to the waiting-room board showing it, and from a kiosk check-in to a
counter desk listing the new ticket (``--screen desk``).

A real board (``BoardApp``, run headless by Textual's Pilot) follows a real store holding
the example centre. A counter thread checks a visit in, calls it (``call_next``: the time
starts when the call has committed), then finishes it; the time stops when the board has
put that number in its newest-call box. The board learns of calls the way it does in a
building: LISTEN/NOTIFY on PostgreSQL, a 0.25 s poll on SQLite.

    python -m tests.bench.bench_board                  # SQLite, 40 calls
    python -m tests.bench.bench_board --store pg       # PostgreSQL (GATEWAY_TEST_PG)
    python -m tests.bench.bench_board --calls 100 --json board.json
    python -m tests.bench.bench_board --screen desk    # a signed-in CounterApp instead

Targets: under 1 s on SQLite, under 250 ms on PostgreSQL (the slowest call). A desk must
show what other counters and kiosks do within 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from tests.bench.bench_queue import machine
from tests.bench.bench_status import percentile

TARGETS_MS = {"sqlite": 1000.0, "pg": 250.0}
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


async def measure(url: str, calls: int) -> list[float]:
    from gateway.board import BoardState
    from gateway.clock import WallClock
    from gateway.queue import Queue
    from kiosk.board import BoardApp
    from tests.kiosk.conftest import ready_store

    store = ready_store(url, WallClock())  # type: ignore[arg-type]
    queue = Queue(store, clock=WallClock())
    seen: dict[str, float] = {}

    class TimedBoard(BoardApp):
        def show(self, state: BoardState) -> None:
            super().show(state)
            if state.calls:
                seen.setdefault(state.calls[0].number, time.perf_counter())

    app = TimedBoard(store, chime=False)
    latencies: list[float] = []
    try:
        async with app.run_test(size=(120, 36)) as pilot:
            while app.state is None:
                await pilot.pause(0.01)
            for i in range(calls):
                counter = str(1 + i % 3)  # the desks that serve council tax
                await asyncio.to_thread(queue.check_in, "pay-council-tax")
                called = await asyncio.to_thread(queue.call_next, counter)
                committed = time.perf_counter()
                deadline = committed + 5
                while called.number not in seen and time.perf_counter() < deadline:
                    await asyncio.sleep(0.002)
                latencies.append((seen.get(called.number, deadline) - committed) * 1000)
                await asyncio.to_thread(queue.start_serving, called.number)
                await asyncio.to_thread(queue.complete, called.number)
                await asyncio.sleep(0.05)  # counters do not call back to back
    finally:
        store.dispose()
    return latencies


async def measure_desk(url: str, calls: int) -> list[float]:
    """A kiosk checks a visit in; the time stops when desk 1 lists its number."""
    from counter.desk import CounterApp
    from gateway.clock import WallClock
    from gateway.desk import DeskState
    from gateway.queue import Queue
    from tests.counter.conftest import sign_in
    from tests.kiosk.conftest import ready_store

    store = ready_store(url, WallClock())  # type: ignore[arg-type]
    queue = Queue(store, clock=WallClock())
    queue.add_staff("bench", name="Bench", pin="2580")
    seen: dict[str, float] = {}

    class TimedDesk(CounterApp):
        def show(self, state: DeskState) -> None:
            super().show(state)
            now = time.perf_counter()
            for waiting in state.waiting:
                seen.setdefault(waiting.number, now)

    app = TimedDesk(store, counter="1")
    latencies: list[float] = []
    try:
        async with app.run_test(size=(130, 36)) as pilot:
            await sign_in(pilot, "bench", "2580")
            while app.state is None:
                await pilot.pause(0.01)
            for _ in range(calls):
                ticket = await asyncio.to_thread(queue.check_in, "pay-council-tax")
                committed = time.perf_counter()
                deadline = committed + 5
                while ticket.number not in seen and time.perf_counter() < deadline:
                    await asyncio.sleep(0.002)
                latencies.append((seen.get(ticket.number, deadline) - committed) * 1000)
                await asyncio.to_thread(queue.cancel, ticket.number)  # keeps the list short
                await asyncio.sleep(0.05)
    finally:
        store.dispose()
    return latencies


def run(store_kind: str, calls: int, pg: str, screen: str = "board") -> dict[str, Any]:
    timed = measure if screen == "board" else measure_desk
    if store_kind == "sqlite":
        folder = tempfile.mkdtemp(prefix="gateway-bench-board-")
        url = f"sqlite:///{Path(folder) / 'board.db'}"
        latencies = asyncio.run(timed(url, calls))
    else:
        from tests.conftest import create_pg_database, drop_pg_database

        url = create_pg_database(pg)
        try:
            latencies = asyncio.run(timed(url, calls))
        finally:
            drop_pg_database(pg, url)
    target = TARGETS_MS[store_kind]
    return {
        "screen": screen,
        "store": store_kind,
        "calls": calls,
        "median_ms": round(statistics.median(latencies), 1),
        "p95_ms": round(percentile(latencies, 0.95), 1),
        "max_ms": round(max(latencies), 1),
        "target_ms": target,
        "met": max(latencies) < target,
        "latencies_ms": [round(x, 1) for x in latencies],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--pg", default=os.environ.get("GATEWAY_TEST_PG") or DEFAULT_PG)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--screen", choices=["board", "desk"], default="board")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args(argv)
    result = run(args.store, args.calls, args.pg, args.screen)
    result |= {"machine": machine(), "id": uuid.uuid4().hex}
    what = "call next -> board" if args.screen == "board" else "check-in -> counter desk"
    print(
        f"{what}, {result['store']}, {result['calls']} calls: "
        f"median {result['median_ms']} ms, p95 {result['p95_ms']} ms, "
        f"max {result['max_ms']} ms (target max < {result['target_ms']:g} ms: "
        f"{'met' if result['met'] else 'MISSED'}); load {os.getloadavg()[0]:.2f}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
