"""``gateway counter``, ``gateway supervisor`` and ``gateway dashboard`` (entry points of
``gateway.screens``, so the headless core never imports this package)."""

from __future__ import annotations

import argparse

from gateway.store import Store


def open_counter(args: argparse.Namespace, store: Store) -> int:
    from counter.desk import CounterApp

    CounterApp(store, args.centre, counter=args.counter).run()
    return 0


def open_supervisor(args: argparse.Namespace, store: Store) -> int:
    from counter.supervisor import SupervisorApp

    SupervisorApp(store, args.centre).run()
    return 0


def open_dashboard(args: argparse.Namespace, store: Store) -> int:
    from counter.dashboard import DashboardApp

    DashboardApp(store, args.centre).run()
    return 0
