"""``gateway status`` cold start: the installed console script, run as a fresh process.

The store holds the example centre (Maidstone, 13 counters) with a history of past days
(done tickets, their visits and events, as nothing is deleted) and a live morning made
with the queue verbs: counters open, people waiting, some at counters. Each run is a new
``gateway status --db ...`` process, timed from spawn to exit; one warm-up run is not
counted (it fills the OS file cache, as any earlier command on the machine would).

    python -m tests.bench.bench_status                    # SQLite, 15 runs
    python -m tests.bench.bench_status --runs 25 --days 180 --json status.json
    python -m tests.bench.bench_status --store pg         # PostgreSQL (GATEWAY_TEST_PG)
    python -m tests.bench.bench_status --imports          # where the start-up time goes

Target: median under 0.6 s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

TARGET_S = 0.6
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
CHECK_IN_EVERY_S = 30  # the live morning: one check-in every half minute, ending now


def gateway_script() -> str:
    beside = Path(sys.executable).parent / "gateway"
    found = str(beside) if beside.exists() else shutil.which("gateway")
    if not found:
        raise SystemExit("The `gateway` console script is not installed; pip install -e . first.")
    return found


# -- building the store -----------------------------------------------------------------


def build_store(url: str, days: int, per_day: int, live: int, seed: int) -> dict[str, int]:
    """The example centre, ``days`` past days of ``per_day`` done tickets, and a live
    morning of ``live`` check-ins. Returns what it made."""
    from gateway import migrate
    from gateway.centres import load_centre
    from gateway.clock import FixedClock
    from gateway.config import EXAMPLE_CENTRE, load_centre_file
    from gateway.store import Store

    rng = random.Random(seed)
    store = Store(url)
    try:
        migrate.upgrade(store)
        # The live morning ends now, so waits on the status screen look like a real day's.
        morning = datetime.now(UTC) - timedelta(seconds=CHECK_IN_EVERY_S * live + 60)
        config = load_centre_file(EXAMPLE_CENTRE)
        centre_id = load_centre(store, config, FixedClock(morning - timedelta(days=days + 1)))
        history = _bulk_history(store, centre_id, config, morning, days, per_day, rng)
        made = _live_morning(store, config, morning, live, rng)
    finally:
        store.dispose()
    return {"history_tickets": history, **made}


def _bulk_history(
    store: Any,
    centre_id: int,
    config: Any,
    morning: datetime,
    days: int,
    per_day: int,
    rng: random.Random,
) -> int:
    """Past days as rows, written in bulk (the verbs would take minutes for months)."""
    import sqlalchemy as sa

    from gateway.centres import open_centre
    from gateway.clock import business_day
    from gateway.models import Centre, Event, NumberSeries, Ticket, Visit

    centre = open_centre(store)
    services = {s.code: s for s in centre.services.values()}
    counters = list(centre.counters.values())
    needs = [n for n in config.needs if n.services]
    with store.write() as session:
        seq = session.execute(
            sa.select(Centre.event_seq).where(Centre.id == centre_id)  # type: ignore[arg-type]
        ).scalar_one()
    made = 0
    for back in range(days, 0, -1):
        opening = morning - timedelta(days=back)
        day = business_day(opening, centre.timezone)
        visits, tickets, events, numbers = [], [], [], {}
        visit_id_base = _next_id(store, Visit)
        ticket_id_base = _next_id(store, Ticket)
        for i in range(per_day):
            need = rng.choice(needs)
            service = services[need.services[0]]
            arrived = opening + timedelta(seconds=rng.randrange(0, 8 * 3600))
            called = arrived + timedelta(minutes=rng.randrange(0, 40))
            ended = called + timedelta(minutes=rng.randrange(2, 30))
            numbers[service.id] = numbers.get(service.id, 0) + 1
            visit_id, ticket_id = visit_id_base + i, ticket_id_base + i
            counter = rng.choice([c for c in counters if service.id in c.skills])
            visits.append(
                {
                    "id": visit_id,
                    "centre_id": centre_id,
                    "day": day,
                    "need": need.code,
                    "language": "en",
                    "consent_share": False,
                    "journey": [service.code],
                    "arrived_at": arrived,
                    "ended_at": ended,
                }
            )
            tickets.append(
                {
                    "id": ticket_id,
                    "centre_id": centre_id,
                    "visit_id": visit_id,
                    "service_id": service.id,
                    "day": day,
                    "seq": numbers[service.id],
                    "number": f"{service.prefix}{numbers[service.id]:03d}",
                    "state": "done",
                    "step": 0,
                    "arrived_at": arrived,
                    "issued_at": arrived,
                    "called_at": called,
                    "serving_at": called,
                    "ended_at": ended,
                    "changed_at": ended,
                    "counter_id": None,
                    "recalls": 0,
                    "outcome": "resolved",
                    "avoidable": False,
                }
            )
            for kind, at, counter_id in (
                ("checked_in", arrived, None),
                ("ticket_issued", arrived, None),
                ("called", called, counter.id),
                ("done", ended, counter.id),
                ("visit_ended", ended, None),
            ):
                seq += 1
                events.append(
                    {
                        "centre_id": centre_id,
                        "seq": seq,
                        "kind": kind,
                        "at": at,
                        "ticket_id": ticket_id,
                        "visit_id": visit_id,
                        "counter_id": counter_id,
                        "actor": "history",
                    }
                )
        with store.write() as session:
            session.execute(sa.insert(Visit), visits)
            session.execute(sa.insert(Ticket), tickets)
            session.execute(sa.insert(Event), events)
            session.execute(
                sa.insert(NumberSeries),
                [
                    {"centre_id": centre_id, "service_id": sid, "day": day, "last": last}
                    for sid, last in numbers.items()
                ],
            )
            session.execute(
                sa.update(Centre).where(Centre.id == centre_id).values(event_seq=seq)  # type: ignore[arg-type]
            )
        made += per_day
    if store.dialect == "postgresql":
        # Rows given explicit ids leave the sequences behind: move them on.
        with store.write() as session:
            for table in ("visit", "ticket", "event"):
                session.execute(
                    sa.text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
    return made


def _next_id(store: Any, model: Any) -> int:
    import sqlalchemy as sa

    with store.read() as session:
        return int(session.execute(sa.select(sa.func.max(model.id))).scalar() or 0) + 1


def _live_morning(
    store: Any, config: Any, morning: datetime, live: int, rng: random.Random
) -> dict[str, int]:
    """This morning through the verbs: every counter open, check-ins every half minute,
    counters calling and completing, so some wait, some are being served."""
    from gateway.clock import FixedClock
    from gateway.errors import NothingWaiting
    from gateway.queue import Queue

    clock = FixedClock(morning)
    queue = Queue(store, clock=clock, actor="bench")
    codes = [c.code for c in config.counters]
    for code in codes:
        queue.set_counter_state(code, "open")
    needs = [n.code for n in config.needs if n.services]
    at_counter: dict[str, int] = {}
    for i in range(live):
        clock.advance(seconds=CHECK_IN_EVERY_S)
        queue.check_in(rng.choice(needs), help_needed="wheelchair" if i % 25 == 0 else None)
        # Most half-minutes a counter finishes with someone and calls the next, so a
        # queue of a few dozen builds up, as on a busy morning.
        if rng.random() < 0.95 and i < live - 10:
            code = rng.choice(codes)
            if code in at_counter:
                queue.complete(at_counter.pop(code))
            with contextlib.suppress(NothingWaiting):
                at_counter[code] = queue.call_next(code).id
    status = _count_states(store)
    return {"live_checkins": live, **status}


def _count_states(store: Any) -> dict[str, int]:
    import sqlalchemy as sa

    from gateway.models import Ticket

    with store.read() as session:
        rows = session.execute(
            sa.select(Ticket.state, sa.func.count()).group_by(Ticket.state)  # type: ignore[arg-type]
        ).all()
    return {f"tickets_{state}": int(n) for state, n in rows}


# -- timing -----------------------------------------------------------------------------


def time_status(url: str, runs: int) -> list[float]:
    command = [gateway_script(), "status", "--db", url]
    env = {k: v for k, v in os.environ.items() if k != "GATEWAY_DB"}
    took = []
    for i in range(runs + 1):
        t0 = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        elapsed = time.perf_counter() - t0
        if done.returncode != 0:
            raise SystemExit(f"gateway status failed: {done.stderr.strip()}")
        if i:  # the first run only warms the file cache
            took.append(elapsed)
    return took


def baseline(runs: int) -> dict[str, float]:
    """Bare interpreter start, and importing the CLI module only, for comparison."""
    out = {}
    for name, code in (("python -c pass", "pass"), ("import gateway.cli", "import gateway.cli")):
        took = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
            took.append(time.perf_counter() - t0)
        out[name] = round(statistics.median(took), 3)
    return out


def import_profile(url: str, top: int = 15) -> list[tuple[str, float]]:
    """The slowest imports of one ``gateway status`` run (``python -X importtime``)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "gateway.cli", "status", "--db", url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    rows = []
    for line in done.stderr.splitlines():
        parts = line.split("|")
        if not line.startswith("import time:") or len(parts) != 3 or "cumulative" in line:
            continue
        field = parts[2][1:]  # "  " per level of nesting after one space
        depth = (len(field) - len(field.lstrip())) // 2
        if depth <= 1:
            rows.append(("  " * depth + field.strip(), int(parts[1]) / 1e6))
    rows.sort(key=lambda r: -r[1])
    return rows[:top]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--pg", default=os.environ.get("GATEWAY_TEST_PG") or DEFAULT_PG)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--days", type=int, default=90, help="days of history in the store")
    parser.add_argument("--per-day", type=int, default=400, help="tickets per past day")
    parser.add_argument("--live", type=int, default=240, help="check-ins this morning")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--imports", action="store_true", help="also show the slowest imports")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as folder:
        admin = args.pg
        url = _create_pg(admin) if args.store == "pg" else f"sqlite:///{Path(folder)}/status.db"
        try:
            t0 = time.perf_counter()
            made = build_store(url, args.days, args.per_day, args.live, args.seed)
            built = time.perf_counter() - t0
            took = time_status(url, args.runs)
            imports = import_profile(url) if args.imports else []
        finally:
            if args.store == "pg":
                _drop_pg(admin, url)
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "store": args.store,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "runs": args.runs,
        "store_contents": made,
        "build_s": round(built, 1),
        "median_s": round(statistics.median(took), 3),
        "p90_s": round(percentile(took, 0.9), 3),
        "min_s": round(min(took), 3),
        "max_s": round(max(took), 3),
        "baseline_median_s": baseline(5),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "target_s": TARGET_S,
    }
    verdict = "met" if result["median_s"] < TARGET_S else "MISSED"
    print(
        f"gateway status ({args.store}, {made['history_tickets'] + args.live} tickets "
        f"over {args.days + 1} days): median {result['median_s']} s, p90 {result['p90_s']} s, "
        f"min {result['min_s']} s, max {result['max_s']} s over {args.runs} runs; "
        f"target median < {TARGET_S} s: {verdict}"
    )
    print(f"  store: {made}; built in {result['build_s']} s")
    print(f"  for comparison (median of 5): {result['baseline_median_s']}")
    print(f"  load average {result['load_average']}")
    if imports:
        print("  slowest imports (cumulative s):")
        for name, seconds in imports:
            print(f"    {seconds:6.3f}  {name}")
        result["imports"] = imports
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


def _create_pg(admin_url: str) -> str:
    import psycopg

    name = f"gateway_bench_{uuid.uuid4().hex[:10]}"
    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{plain.rsplit('/', 1)[0]}/{name}"


def _drop_pg(admin_url: str, url: str) -> None:
    import psycopg

    plain = admin_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain, autocommit=True, connect_timeout=5) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
