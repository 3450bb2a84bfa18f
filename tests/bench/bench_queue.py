"""Queue latency under load: counters calling and kiosks checking in, in real processes.

Every counter serves every service, so all of them compete for the same tickets. Kiosk
processes check visits in while counter processes loop call next -> complete. Each worker
times every verb call (``time.perf_counter`` around it) and sends its timings back; the
report gives p50/p99/max per verb, throughput, and the duplicates found in the store
afterwards (which must be 0).

    python -m tests.bench.bench_queue                       # SQLite (8) and PostgreSQL (16)
    python -m tests.bench.bench_queue --store sqlite --json results.json
    python -m tests.bench.bench_queue --store pg --pg postgresql://postgres@127.0.0.1/postgres

Targets: call-next and check-in p99 under 25 ms on SQLite with 8 counters, and under 15 ms
on PostgreSQL with 16. ``--rate`` paces the kiosks (check-ins a second, all kiosks
together); the default, 0, checks in as fast as the machine allows (saturation).
``--serve-ms`` is how long a counter keeps each customer before completing. ``--statements``
also times every SQL statement and commit, to show where a verb's time goes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import multiprocessing
import os
import platform
import queue as stdlib_queue
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.conftest import create_pg_database, drop_pg_database
from tests.race import CODE as RACE
from tests.race import NEEDS, open_race_centre

SPAWN = multiprocessing.get_context("spawn")
TARGET_P99_MS = {"sqlite": 25.0, "postgresql": 15.0}
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
IDLE_PAUSE_S, IDLE_PAUSE_CAP_S = 0.003, 0.25  # staff press again, a little later each time
START_TIMEOUT_S = 120.0


# -- workers ----------------------------------------------------------------------------


def trace_statements(store: Any, sink: dict[str, list[float]]) -> None:
    """Time every SQL statement, and each commit (until the connection is back in the
    pool), keyed by the statement's first words: where a verb's time goes."""
    from sqlalchemy import event

    def key(statement: str) -> str:
        words = " ".join(statement.split())
        if words.startswith("SELECT") and "FOR UPDATE SKIP LOCKED" in words:
            return "SELECT ticket ... FOR UPDATE SKIP LOCKED (pick next)"
        for table in ("centre", "ticket", "counter", "visit", "event", "number_series"):
            if f"FROM {table} " in words + " " or f"INTO {table} " in words:
                return f"{words.split()[0]} {table}" + (" FOR UPDATE" * ("FOR UPDATE" in words))
        return " ".join(words.split()[:3])[:50]

    def add(name: str, seconds: float) -> None:
        entry = sink.setdefault(name, [0, 0.0, 0.0])
        entry[0] += 1
        entry[1] += seconds
        entry[2] = max(entry[2], seconds)

    @event.listens_for(store.engine, "before_cursor_execute")
    def _before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        conn.info["bench_t0"] = time.perf_counter()

    @event.listens_for(store.engine, "after_cursor_execute")
    def _after(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        add(key(statement), time.perf_counter() - conn.info.pop("bench_t0"))

    @event.listens_for(store.engine, "commit")
    def _commit(conn: Any) -> None:
        conn.connection.info["bench_commit"] = time.perf_counter()

    @event.listens_for(store.engine.pool, "checkin")
    def _checkin(dbapi_connection: Any, record: Any) -> None:
        began = record.info.pop("bench_commit", None) if record is not None else None
        if began is not None:
            add("COMMIT (until back in the pool)", time.perf_counter() - began)


def kiosk_worker(
    url: str, name: str, count: int, interval: float, trace: bool, start: Any, results: Any
) -> None:
    """Check ``count`` visits in, one every ``interval`` seconds (0: flat out)."""
    report: dict[str, Any] = {"worker": name, "check_in": [], "errors": [], "statements": {}}
    try:
        from gateway.queue import Queue
        from gateway.store import Store

        store = Store(url)
        if trace:
            trace_statements(store, report["statements"])
        kiosk = Queue(store, RACE, actor=name)
        start.wait(START_TIMEOUT_S)
        began = time.perf_counter()
        for i in range(count):
            if interval:
                # Keep to the timetable, not "interval after the last one finished".
                delay = began + i * interval - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            try:
                t0 = time.perf_counter()
                kiosk.check_in(NEEDS[i % len(NEEDS)])
                report["check_in"].append(time.perf_counter() - t0)
            except Exception as exc:
                report["errors"].append(f"{type(exc).__name__}: {exc}")
        report["seconds"] = time.perf_counter() - began
    except Exception as exc:
        report["errors"].append(f"{type(exc).__name__}: {exc}")
    finally:
        results.put(report)


def counter_worker(
    url: str,
    code: str,
    serve_s: float,
    trace: bool,
    start: Any,
    kiosks_done: Any,
    results: Any,
) -> None:
    """Call next -> (serve) -> complete until the kiosks are done and nobody waits."""
    from gateway.errors import NothingWaiting

    report: dict[str, Any] = {
        "worker": f"counter-{code}",
        "call_next": [],
        "call_next_nobody": [],
        "complete": [],
        "called": [],
        "errors": [],
        "statements": {},
    }
    try:
        from gateway.queue import Queue
        from gateway.store import Store

        store = Store(url)
        if trace:
            trace_statements(store, report["statements"])
        desk = Queue(store, RACE, actor=f"counter-{code}")
        # Warm up (connection, compiled statements) before the start: nobody waits yet.
        with contextlib.suppress(NothingWaiting):
            desk.call_next(code)
        start.wait(START_TIMEOUT_S)
        pause = IDLE_PAUSE_S
        while True:
            finished = kiosks_done.is_set()
            t0 = time.perf_counter()
            try:
                ticket = desk.call_next(code)
            except NothingWaiting:
                report["call_next_nobody"].append(time.perf_counter() - t0)
                if finished:
                    break
                time.sleep(pause)  # staff press again a little later, not in a tight loop
                pause = min(pause * 2, IDLE_PAUSE_CAP_S)
                continue
            report["call_next"].append(time.perf_counter() - t0)
            report["called"].append(ticket.id)
            pause = IDLE_PAUSE_S
            if serve_s:
                time.sleep(serve_s)
            t0 = time.perf_counter()
            desk.complete(ticket.id)
            report["complete"].append(time.perf_counter() - t0)
    except Exception as exc:
        report["errors"].append(f"{type(exc).__name__}: {exc}")
    finally:
        results.put(report)


# -- one run ----------------------------------------------------------------------------


def run(
    url: str,
    *,
    counters: int,
    kiosks: int,
    tickets: int,
    rate: float,
    serve_ms: float,
    timeout: float,
    trace: bool = False,
) -> dict[str, Any]:
    centre_id = open_race_centre(url, counters)
    start = SPAWN.Barrier(counters + kiosks + 1)
    kiosks_done = SPAWN.Event()
    results = SPAWN.Queue()
    interval = kiosks / rate if rate else 0.0
    share = [tickets // kiosks + (1 if k < tickets % kiosks else 0) for k in range(kiosks)]
    procs = [
        SPAWN.Process(
            target=counter_worker,
            args=(url, str(n), serve_ms / 1000, trace, start, kiosks_done, results),
        )
        for n in range(1, counters + 1)
    ] + [
        SPAWN.Process(
            target=kiosk_worker,
            args=(url, f"kiosk-{k + 1}", share[k], interval, trace, start, results),
        )
        for k in range(kiosks)
    ]
    reports: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    try:
        for proc in procs:
            proc.start()
        start.wait(START_TIMEOUT_S)  # every worker has imported the engine: go
        began = time.perf_counter()
        deadline = time.monotonic() + timeout
        while len(reports) < len(procs) and time.monotonic() < deadline:
            try:
                reports.append(results.get(timeout=1.0))
            except stdlib_queue.Empty:
                continue
            if sum(1 for r in reports if r["worker"].startswith("kiosk")) == kiosks:
                kiosks_done.set()
        wall = time.perf_counter() - began
    finally:
        kiosks_done.set()
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
    load_after = os.getloadavg()
    if len(reports) < len(procs):
        raise SystemExit(f"{len(procs) - len(reports)} workers did not finish in {timeout} s")

    def pooled(key: str) -> list[float]:
        return [x for r in reports for x in r.get(key, [])]

    verbs = {
        key: summarise(pooled(key))
        for key in ("check_in", "call_next", "complete", "call_next_nobody")
    }
    called = pooled("called")
    statements: dict[str, list[float]] = {}
    for r in reports:
        for name, (n, total, worst) in r.get("statements", {}).items():
            entry = statements.setdefault(name, [0, 0.0, 0.0])
            entry[0] += n
            entry[1] += total
            entry[2] = max(entry[2], worst)
    return {
        "counters": counters,
        "kiosks": kiosks,
        "tickets": tickets,
        "rate_per_s": rate or None,
        "serve_ms": serve_ms,
        "wall_s": round(wall, 2),
        "tickets_per_s": round(len(called) / wall, 1) if wall else None,
        "verbs": verbs,
        "duplicates": duplicates(url, centre_id),
        "called_twice_by_workers": len(called) - len(set(called)),
        "errors": [f"{r['worker']}: {e}" for r in reports for e in r["errors"]],
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in load_after],
        "statements": {
            name: {
                "n": n,
                "total_s": round(total, 2),
                "mean_ms": round(total / n * 1000, 2),
                "max_ms": round(worst * 1000, 1),
            }
            for name, (n, total, worst) in sorted(statements.items(), key=lambda kv: -kv[1][1])
        },
    }


def summarise(seconds: list[float]) -> dict[str, Any]:
    if not seconds:
        return {"n": 0}
    ms = sorted(s * 1000 for s in seconds)
    return {
        "n": len(ms),
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2),
        "max_ms": round(ms[-1], 2),
    }


def duplicates(url: str, centre_id: int) -> dict[str, int]:
    """Tickets called more than once and ticket numbers given twice, from the store."""
    from sqlmodel import col, func, select

    from gateway.models import Event, Ticket
    from gateway.store import Store

    store = Store(url)
    try:
        with store.read() as session:
            calls = session.exec(
                select(Event.ticket_id)
                .where(Event.centre_id == centre_id, Event.kind == "called")
                .group_by(col(Event.ticket_id))
                .having(func.count() > 1)
            ).all()
            numbers = session.exec(
                select(Ticket.service_id, Ticket.day, Ticket.number)
                .where(Ticket.centre_id == centre_id)
                .group_by(col(Ticket.service_id), col(Ticket.day), col(Ticket.number))
                .having(func.count() > 1)
            ).all()
            seqs = session.exec(
                select(func.count(), func.max(Event.seq)).where(Event.centre_id == centre_id)
            ).one()
            not_done = session.exec(
                select(func.count()).where(Ticket.centre_id == centre_id, Ticket.state != "done")
            ).one()
    finally:
        store.dispose()
    return {
        "called_twice": len(calls),
        "numbers_twice": len(numbers),
        "event_seq_gaps": int(seqs[1] - seqs[0]),
        "tickets_not_done": int(not_done),
    }


# -- report -----------------------------------------------------------------------------


def table(name: str, result: dict[str, Any]) -> str:
    target = TARGET_P99_MS[result["store"]]
    head = (
        f"{name}: {result['counters']} counters, {result['kiosks']} kiosks, "
        f"{result['tickets']} tickets, "
        + (f"{result['rate_per_s']}/s paced" if result["rate_per_s"] else "flat out")
        + (f", {result['serve_ms']:g} ms serving" if result["serve_ms"] else "")
        + f"; {result['wall_s']} s, {result['tickets_per_s']} tickets/s"
    )
    lines = [head, f"  {'verb':<18}{'n':>7}{'p50 ms':>10}{'p99 ms':>10}{'max ms':>10}  target"]
    for verb, s in result["verbs"].items():
        if not s["n"]:
            continue
        mark = ""
        if verb in ("check_in", "call_next"):
            mark = f"p99 < {target:g} ms: " + ("met" if s["p99_ms"] < target else "MISSED")
        lines.append(
            f"  {verb:<18}{s['n']:>7}{s['p50_ms']:>10}{s['p99_ms']:>10}{s['max_ms']:>10}  {mark}"
        )
    dup = result["duplicates"]
    lines.append(
        f"  duplicates: called twice {dup['called_twice']}, numbers twice "
        f"{dup['numbers_twice']}, event seq gaps {dup['event_seq_gaps']}, "
        f"not done {dup['tickets_not_done']}; errors {len(result['errors'])}"
    )
    lines.append(
        f"  load average before {result['load_average_before']}, after "
        f"{result['load_average_after']}"
    )
    if result["statements"]:
        lines.append(
            f"  {'statement (all workers)':<52}{'n':>7}{'total s':>9}{'mean ms':>9}{'max ms':>9}"
        )
        for name, st in list(result["statements"].items())[:14]:
            lines.append(
                f"  {name:<52}{st['n']:>7}{st['total_s']:>9}{st['mean_ms']:>9}{st['max_ms']:>9}"
            )
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "pg", "both"], default="both")
    parser.add_argument("--pg", default=os.environ.get("GATEWAY_TEST_PG") or DEFAULT_PG)
    parser.add_argument("--sqlite-counters", type=int, default=8)
    parser.add_argument("--pg-counters", type=int, default=16)
    parser.add_argument("--kiosks", type=int, default=2)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=0.0, help="check-ins a second (0: flat out)")
    parser.add_argument("--serve-ms", type=float, default=0.0, help="time between call and done")
    parser.add_argument("--timeout", type=float, default=900.0)
    parser.add_argument(
        "--statements", action="store_true", help="time each SQL statement and commit, too"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)

    results: dict[str, Any] = {"machine": machine(), "runs": {}}
    common = {
        "kiosks": args.kiosks,
        "tickets": args.tickets,
        "rate": args.rate,
        "serve_ms": args.serve_ms,
        "timeout": args.timeout,
        "trace": args.statements,
    }
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            url = f"sqlite:///{Path(folder) / 'bench.db'}"
            result = run(url, counters=args.sqlite_counters, **common)
        result["store"] = "sqlite"
        results["runs"]["sqlite"] = result
        print(table("SQLite", result), flush=True)
    if args.store in ("pg", "both"):
        url = create_pg_database(args.pg)
        try:
            import psycopg

            with psycopg.connect(url) as conn:
                row = conn.execute("SHOW server_version").fetchone()
                results["machine"]["postgresql"] = row[0] if row else None
            result = run(url, counters=args.pg_counters, **common)
        finally:
            drop_pg_database(args.pg, url)
        result["store"] = "postgresql"
        results["runs"]["postgresql"] = result
        print(table("PostgreSQL", result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    bad = [
        name
        for name, r in results["runs"].items()
        if r["errors"] or any(r["duplicates"].values()) or r["called_twice_by_workers"]
    ]
    if bad:
        print(f"Duplicates or errors in: {', '.join(bad)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
