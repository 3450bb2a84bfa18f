"""The managers' reports over a county's history: ten centres, two years, a million tickets.

The store is filled by ``gateway.history`` (what ``gateway demo --history 2y --centres 10``
does), or reused if an earlier run filled it with the same history. Then each report of
``gateway.reports`` is timed, first run and best of ``--runs``, for one centre over one
calendar month, one centre over a year, all centres over the whole history, and all
centres over the whole history broken down by day, hour, agency and district (where the
report offers that breakdown). Memory: the five reports are run over 3 months, 1 year and
2 years of all centres, each in a fresh process, and the growth of its peak resident size
and the peak of Python's own allocations (tracemalloc) are shown; both should stay flat.

    python -m tests.bench.bench_reports                        # SQLite, 2y x 10 centres
    python -m tests.bench.bench_reports --store pg             # PostgreSQL (GATEWAY_TEST_PG)
    python -m tests.bench.bench_reports --history 3m --centres 2 --runs 1   # a quick look
    python -m tests.bench.bench_reports --json reports.json --refill

The SQLite store is a file under /tmp named by history and centres; the PostgreSQL store
is the database ``gateway_bench_reports`` on the server (made if missing, and dropped and
made again with ``--refill``). Target: every report under 2 s, on both stores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import time
import tracemalloc
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict
from datetime import UTC, date, datetime, timedelta
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from tests.bench.bench_queue import machine

TARGET_S = 2.0
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "gateway_bench_reports"
REPORTS = ("summary", "footfall", "waits", "referrals", "staffing")
BREAKDOWNS = ("day", "hour", "agency", "district")
MEMORY_SPANS = (("3 months", 91), ("1 year", 365), ("2 years", 730))


# -- the store ------------------------------------------------------------------------------


def store_url(args: argparse.Namespace) -> str:
    if args.store == "sqlite":
        return f"sqlite:///{sqlite_path(args)}"
    server = args.pg.replace("postgresql+psycopg://", "postgresql://").rsplit("/", 1)[0]
    return f"{server}/{PG_DATABASE}"


def sqlite_path(args: argparse.Namespace) -> Path:
    return Path(f"/tmp/gateway-bench-reports-{args.history}-{args.centres}.db")


def fill_record(args: argparse.Namespace) -> Path:
    """What the fill made and how long it took, kept beside the store for later runs."""
    name = sqlite_path(args).name if args.store == "sqlite" else f"{PG_DATABASE}.db"
    return Path("/tmp") / f"{name}.fill.json"


def prepare(args: argparse.Namespace) -> dict[str, Any]:
    """Reuse a store already filled with this history, or make a new one and fill it."""
    from gateway.config import EXAMPLE_CENTRE, load_centre_file
    from gateway.history import fill_history, parse_history
    from gateway.store import Store

    days = parse_history(args.history)
    record = fill_record(args)
    if args.refill:
        drop_store(args)
    url = store_url(args)
    if store_exists(args) and record.exists():
        found = json.loads(record.read_text())
        if found["days"] == days and found["centres"] == args.centres:
            print(f"Reusing {found['store']} ({found['tickets']:,} tickets); --refill to refill.")
            return found | {"reused": True, "size_mb": store_size_mb(args, url)}
        raise SystemExit(
            f"{url} holds other history ({found['days']} days, {found['centres']} centres); "
            "run again with --refill."
        )
    if store_exists(args):
        raise SystemExit(f"{url} exists but was not filled by this benchmark; use --refill.")
    create_store(args)
    end = date.fromisoformat(args.end) if args.end else date.today() - timedelta(days=1)
    store = Store(url)
    try:
        made = fill_history(
            store,
            load_centre_file(EXAMPLE_CENTRE),
            days=days,
            centres=args.centres,
            end=end,
            seed=args.seed,
            progress=print,
        )
        analysed = analyse(store)
    finally:
        store.dispose()
    found = asdict(made) | {
        "store": url,
        "first": (end - timedelta(days=days - 1)).isoformat(),
        "last": end.isoformat(),
        "analyse_s": analysed,
        "fill_peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "filled_on": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    record.write_text(json.dumps(found, indent=2) + "\n", encoding="utf-8")
    return found | {"reused": False, "size_mb": store_size_mb(args, url)}


def analyse(store: Any) -> float | None:
    """PostgreSQL: gather the planner's statistics, as autovacuum would soon after a bulk
    load. SQLite is left as the app leaves it (it never runs ANALYZE)."""
    if store.dialect != "postgresql":
        return None
    t0 = time.perf_counter()
    with store.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("ANALYZE")
    return round(time.perf_counter() - t0, 1)


def store_exists(args: argparse.Namespace) -> bool:
    if args.store == "sqlite":
        return sqlite_path(args).exists()
    with _pg_admin(args) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,))
        return found.fetchone() is not None


def create_store(args: argparse.Namespace) -> None:
    if args.store == "pg":
        with _pg_admin(args) as conn:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')


def drop_store(args: argparse.Namespace) -> None:
    fill_record(args).unlink(missing_ok=True)
    if args.store == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(f"{sqlite_path(args)}{suffix}").unlink(missing_ok=True)
        return
    with _pg_admin(args) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{PG_DATABASE}" WITH (FORCE)')


def store_size_mb(args: argparse.Namespace, url: str) -> float:
    if args.store == "sqlite":
        files = [Path(f"{sqlite_path(args)}{s}") for s in ("", "-wal")]
        return round(sum(f.stat().st_size for f in files if f.exists()) / 1e6, 1)
    with _pg_admin(args) as conn:
        size = conn.execute("SELECT pg_database_size(%s)", (PG_DATABASE,)).fetchone()
        return round(size[0] / 1e6, 1) if size else 0.0


def _pg_admin(args: argparse.Namespace) -> Any:
    import psycopg

    plain = args.pg.replace("postgresql+psycopg://", "postgresql://")
    return psycopg.connect(plain, autocommit=True, connect_timeout=5)


# -- timing ---------------------------------------------------------------------------------


def last_whole_month(last: date) -> tuple[date, date]:
    """The last calendar month that ends on or before ``last``."""
    end = last if (last + timedelta(days=1)).day == 1 else last.replace(day=1) - timedelta(days=1)
    return end.replace(day=1), end


def scenarios(found: dict[str, Any]) -> list[tuple[str, str, date, date, str | None]]:
    """(name, which centres, first day, last day, by) for each timing."""
    first, last = date.fromisoformat(found["first"]), date.fromisoformat(found["last"])
    month = last_whole_month(last)
    year = max(first, last - timedelta(days=364))
    whole = f"{len(found['codes'])} centres x {(last - first).days + 1} days"
    one_month = f"1 centre x {month[0]:%b %Y}" if month[0] >= first else "1 centre x a month"
    out: list[tuple[str, str, date, date, str | None]] = [
        (one_month, "one", max(first, month[0]), month[1], None),
        (f"1 centre x {(last - year).days + 1} days", "one", year, last, None),
        (whole, "all", first, last, None),
    ]
    out += [(whole, "all", first, last, by) for by in BREAKDOWNS]
    return out


def time_reports(url: str, found: dict[str, Any], runs: int) -> list[dict[str, Any]]:
    from gateway import reports
    from gateway.centres import open_centre
    from gateway.errors import GatewayError
    from gateway.store import Store

    store = Store(url)
    centres = [open_centre(store, code) for code in found["codes"]]
    results = []
    try:
        for name, which, first, last, by in scenarios(found):
            chosen = centres[:1] if which == "one" else centres
            days = reports.Days(first, last)
            for report in REPORTS:
                run = getattr(reports, report)
                kwargs = {} if by is None else {"by": by}
                took = []
                try:
                    for _ in range(runs + 1):
                        t0 = time.perf_counter()
                        run(store, chosen, days, **kwargs)
                        took.append(time.perf_counter() - t0)
                except GatewayError:
                    continue  # the report does not offer this breakdown
                best = min(took[1:]) if runs else took[0]
                row = {
                    "report": report,
                    "scope": name,
                    "by": by or _default_by(run),
                    "first_s": round(took[0], 3),
                    "best_s": round(best, 3),
                    "met": max(took[0], best) < TARGET_S,
                }
                results.append(row)
                print(_line(row), flush=True)
    finally:
        store.dispose()
    return results


def _default_by(run: Any) -> str:
    import inspect

    default = inspect.signature(run).parameters["by"].default
    return f"({default})" if default else "-"


# -- memory ---------------------------------------------------------------------------------


def memory_child(url: str, codes: list[str], first: str, last: str) -> dict[str, Any]:
    """In a fresh process: the five reports over one range; how far memory rose."""
    from gateway import reports
    from gateway.centres import open_centre
    from gateway.store import Store

    store = Store(url)
    centres = [open_centre(store, code) for code in codes]
    days = reports.Days(date.fromisoformat(first), date.fromisoformat(last))
    reports.summary(store, centres[:1], reports.Days(days.last, days.last))  # warm up
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    resident_before = _resident_mb()
    tracemalloc.start()
    t0 = time.perf_counter()
    for report in REPORTS:
        getattr(reports, report)(store, centres, days)
    seconds = time.perf_counter() - t0
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    resident_after = _resident_mb()
    store.dispose()
    return {
        "resident_before_mb": resident_before,
        "resident_after_mb": resident_after,
        "rss_before_mb": round(before_kb / 1024, 1),
        "rss_peak_mb": round(after_kb / 1024, 1),
        "rss_growth_mb": round((after_kb - before_kb) / 1024, 1),
        "python_peak_mb": round(peak / 1e6, 2),
        "seconds_under_tracemalloc": round(seconds, 1),
    }


def _resident_mb() -> float:
    """Resident size now (VmRSS), as opposed to the high-water mark."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return 0.0


def measure_memory(url: str, found: dict[str, Any]) -> list[dict[str, Any]]:
    last = date.fromisoformat(found["last"])
    first_day = date.fromisoformat(found["first"])
    out = []
    for name, days in MEMORY_SPANS:
        first = max(first_day, last - timedelta(days=days - 1))
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
            args = (url, list(found["codes"]), first.isoformat(), last.isoformat())
            row = {"span": name, "days": (last - first).days + 1}
            row |= pool.submit(memory_child, *args).result()
        out.append(row)
        print(
            f"  {row['span']:>9} ({row['days']} days): peak RSS {row['rss_peak_mb']} MB "
            f"(+{row['rss_growth_mb']} MB over {row['rss_before_mb']} MB; resident "
            f"{row['resident_before_mb']} -> {row['resident_after_mb']} MB), Python peak "
            f"{row['python_peak_mb']} MB",
            flush=True,
        )
    return out


# -- the run --------------------------------------------------------------------------------


def _line(row: dict[str, Any]) -> str:
    verdict = "" if row["met"] else "  MISSED"
    return (
        f"  {row['report']:<9} {row['scope']:<26} {row['by']:<10} "
        f"first {row['first_s']:7.3f} s  best {row['best_s']:7.3f} s{verdict}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--store", choices=["sqlite", "pg"], default="sqlite")
    parser.add_argument("--pg", default=os.environ.get("GATEWAY_TEST_PG") or DEFAULT_PG)
    parser.add_argument("--history", default="2y", help="how much history (2y, 18m, 90d)")
    parser.add_argument("--centres", type=int, default=10)
    parser.add_argument("--end", help="the history's last day (default yesterday)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="timed runs after the first")
    parser.add_argument("--refill", action="store_true", help="drop the store and fill again")
    parser.add_argument("--no-memory", action="store_true", help="skip the memory runs")
    parser.add_argument("--no-timing", action="store_true", help="skip the timed runs")
    parser.add_argument("--json", metavar="PATH", help="also write the results here")
    args = parser.parse_args(argv)

    result: dict[str, Any] = {"machine": machine(), "store": args.store}
    result["load_average_before"] = [round(x, 2) for x in os.getloadavg()]
    found = prepare(args)
    result["history"] = found
    print(
        f"History: {found['tickets']:,} tickets, {found['visits']:,} visits, "
        f"{found['events']:,} events, {found['centres']} centres x {found['days']} days "
        f"({found['first']} to {found['last']}); filled in {found['seconds']} s; "
        f"store {found['size_mb']:,} MB{' (reused)' if found['reused'] else ''}"
    )
    url = found["store"]
    result["reports"] = []
    if not args.no_timing:
        print(f"Reports (first run, best of {args.runs} after it; target < {TARGET_S} s):")
        result["reports"] = time_reports(url, found, args.runs)
    if not args.no_memory:
        print("Memory (the five reports, all centres, each span in a fresh process):")
        result["memory"] = measure_memory(url, found)
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if result["reports"]:
        missed = [r for r in result["reports"] if not r["met"]]
        slowest = max(result["reports"], key=lambda r: r["best_s"])
        print(
            f"{len(result['reports']) - len(missed)} of {len(result['reports'])} timings under "
            f"{TARGET_S} s; slowest {slowest['report']} {slowest['scope']} by "
            f"{slowest['by']}: {slowest['best_s']} s"
        )
    print(
        f"Load average before {result['load_average_before']}, after {result['load_average_after']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
