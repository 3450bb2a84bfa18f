"""``gateway demo --live``: the whole centre working, side by side, in one terminal.

After the demo day is played, the room opens today with a few people waiting, and tmux
shows three panes on the same store: the kiosk (left), counter 1 (top right; sign in as
``demo`` with PIN 0000) and the waiting-room board (bottom right). Meanwhile the other
counters and a second kiosk keep the room moving (``gateway.live``), so a newcomer sees
a ticket taken at the kiosk reach the queue, get called and appear on the board.

Without tmux, it prints the three commands to run in three terminals and keeps the room
moving until Ctrl+C.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

from gateway.centres import CentreView
from gateway.errors import GatewayError, NotAllowed
from gateway.live import LiveTraffic
from gateway.queue import Queue
from gateway.store import Store

SESSION = "gateway-demo"
DEMO_STAFF = ("demo", "Demo Staff", "0000")
DEMO_SUPERVISOR = ("super", "Demo Supervisor", "0000")


def panes(store: Store, centre: CentreView, tickets: str) -> list[tuple[str, list[str]]]:
    """The three screens, as commands (the store goes in the environment, not argv)."""
    gateway = [sys.executable, "-m", "gateway.cli"]
    where = ["--centre", centre.code]
    return [
        ("kiosk", [*gateway, "kiosk", *where, "--name", "kiosk-1", "--printer", tickets]),
        ("counter", [*gateway, "counter", *where, "--counter", "1"]),
        ("board", [*gateway, "display", *where, "--quiet"]),
    ]


def add_demo_staff(store: Store, centre: CentreView) -> None:
    queue = Queue(store, centre, actor="demo")
    for (code, name, pin), role in ((DEMO_STAFF, "counter"), (DEMO_SUPERVISOR, "supervisor")):
        try:
            queue.add_staff(code, name=name, pin=pin, role=role)
        except NotAllowed:
            queue.set_staff_pin(code, pin)  # the store had them already (a --db demo)


def open_tour(args: argparse.Namespace, store: Store, centre: CentreView) -> int:
    """The ``tour`` entry point of ``gateway.screens`` (``gateway demo --live``)."""
    add_demo_staff(store, centre)
    tickets = f"preview:{tempfile.mkdtemp(prefix='gateway-tickets-')}"
    commands = panes(store, centre, tickets)
    env = {"GATEWAY_DB": store.url, "GATEWAY_KIOSK_PIN": "0000"}
    stop = threading.Event()
    traffic = LiveTraffic(store, centre, keep=("1",), seed=getattr(args, "seed", 1))
    mover = threading.Thread(target=traffic.run, args=(stop,), name="demo-traffic", daemon=True)
    session = getattr(args, "session", None) or SESSION
    tmux = shutil.which("tmux")
    print(
        "\nThe live tour: the kiosk, counter 1 and the board, on one store, with the other "
        f"counters busy.\n  Counter 1: sign in as '{DEMO_STAFF[0]}', PIN {DEMO_STAFF[2]}; "
        "N calls the next customer.\n"
        f"  Supervisor (another terminal): gateway supervisor, as '{DEMO_SUPERVISOR[0]}', "
        f"PIN {DEMO_SUPERVISOR[2]}.\n"
        f"  Printed tickets are pictures in {tickets.removeprefix('preview:')}.\n",
        flush=True,
    )
    if tmux is None:
        print("tmux is not installed, so open three terminals and run, in each:")
        for name, argv in commands:
            print(f"  ({name})  GATEWAY_DB={shlex.quote(store.url)} {shlex.join(argv)}")
        print("\nThe room keeps moving here until Ctrl+C.", flush=True)
        mover.start()
        try:
            while mover.is_alive():
                mover.join(1.0)
        except KeyboardInterrupt:
            pass
        stop.set()
        return 0
    if not args.attach:
        print(f"Started tmux session '{session}'; watch it with: tmux attach -t {session}")
    else:
        print("Leave the tour with Ctrl+B then D; everything stops.", flush=True)
        time.sleep(2.0)
    _start_session(tmux, session, commands, env)
    mover.start()
    try:
        if args.attach and sys.stdin.isatty():
            subprocess.run([tmux, "attach-session", "-t", session], check=False)
        else:  # keep the room moving until the session is closed
            while _alive(tmux, session):
                time.sleep(1.0)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        subprocess.run([tmux, "kill-session", "-t", session], capture_output=True, check=False)
        mover.join(5.0)
    print(
        f"Tour over: {traffic.issued} visits arrived, {traffic.called} calls made by the "
        "other counters."
    )
    return 0


def _start_session(
    tmux: str, session: str, commands: list[tuple[str, list[str]]], env: dict[str, str]
) -> None:
    if _alive(tmux, session):
        raise GatewayError(
            f"A tour is already running (tmux session '{session}'); "
            f"attach with: tmux attach -t {session}"
        )
    width, height = shutil.get_terminal_size((200, 50))
    width, height = max(width, 160), max(height, 45)
    # The store's URL reaches the panes through tmux's environment (-e), never a command
    # line, where a password would show in the process list.
    values = [arg for key, value in env.items() for arg in ("-e", f"{key}={value}")]
    (_, kiosk), (_, counter), (_, board) = commands

    # Each pane ends by waiting for Enter, so a screen that stops shows why.
    def shell(argv: list[str]) -> str:
        return shlex.join(argv) + "; echo; echo 'Press Enter to close.'; read _"

    run = [tmux, "new-session", "-d", "-s", session, "-x", str(width), "-y", str(height)]
    steps = [
        [*run, *values, shell(kiosk)],
        [tmux, "split-window", *values, "-h", "-t", f"{session}:0.0", "-p", "55", shell(counter)],
        [tmux, "split-window", *values, "-v", "-t", f"{session}:0.1", "-p", "45", shell(board)],
        [tmux, "set-option", "-t", session, "mouse", "on"],
        [tmux, "select-pane", "-t", f"{session}:0.1"],
    ]
    for step in steps:
        done = subprocess.run(step, capture_output=True, text=True, check=False, env=os.environ)
        if done.returncode != 0:
            raise GatewayError(f"tmux could not start the tour: {done.stderr.strip()}")


def _alive(tmux: str, session: str) -> bool:
    found = subprocess.run([tmux, "has-session", "-t", session], capture_output=True, check=False)
    return found.returncode == 0
