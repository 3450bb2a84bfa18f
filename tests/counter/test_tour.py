"""The live tour (``gateway demo --live``): real tmux, real screens, a moving room."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gateway import live
from gateway.centres import open_centre
from gateway.events import watch
from gateway.live import LiveTraffic
from gateway.store import Store

TMUX = shutil.which("tmux")


def test_live_traffic_moves_the_room_through_the_verbs(staff_store, monkeypatch):
    for name in ("ARRIVAL_SECONDS", "CALLED_SECONDS", "SERVING_SECONDS", "IDLE_SECONDS"):
        monkeypatch.setattr(live, name, (0.05, 0.1))
    centre = open_centre(staff_store)
    traffic = LiveTraffic(staff_store, centre, keep=("1",), seed=3)
    stop = threading.Event()
    mover = threading.Thread(target=traffic.run, args=(stop, 0.02))
    mover.start()
    time.sleep(3.0)
    stop.set()
    mover.join(5)
    assert not mover.is_alive()
    kinds = [e.kind for e in watch(staff_store, centre.id)]
    assert traffic.issued > 5 and kinds.count("checked_in") == traffic.issued
    assert kinds.count("called") >= 3 and kinds.count("done") >= 1
    # Counter 1 is the newcomer's: the traffic never calls to it.
    assert all(
        e.data.get("counter") != "1" for e in watch(staff_store, centre.id) if e.kind == "called"
    )


def capture(session: str, pane: int) -> str:
    done = subprocess.run(
        [TMUX, "capture-pane", "-p", "-t", f"{session}:0.{pane}"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout


def wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.3)
    return False


# Four real apps plus the room's traffic on 2 cores: in the default run it starved the
# Pilot tests beside it (and itself); it runs in CI's stress stage, one test at a time.
@pytest.mark.stress
@pytest.mark.skipif(TMUX is None, reason="the live tour needs tmux (Debian package tmux)")
def test_the_live_tour_opens_kiosk_counter_and_board_side_by_side(tmp_path: Path):
    session = f"gateway-test-{time.monotonic_ns()}"
    db = f"sqlite:///{tmp_path / 'tour.db'}"
    tour = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gateway.cli",
            "demo",
            "--live",
            "--no-attach",
            "--db",
            db,
            "--session",
            session,
            "--scale",
            "0.3",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert wait_until(lambda: "Choose your language" in capture(session, 0), 120), capture(
            session, 0
        )
        # Four processes start at once on a loaded 2-core CI machine: as long as the kiosk.
        assert wait_until(lambda: "sign in" in capture(session, 1), 120), capture(session, 1)
        assert wait_until(lambda: "Waiting" in capture(session, 2), 120), capture(session, 2)
        # Sign in at counter 1 as the demo's member of staff.
        for keys in (["demo", "Enter"], ["0000", "Enter"]):
            subprocess.run([TMUX, "send-keys", "-t", f"{session}:0.1", *keys], check=True)
            time.sleep(0.5)
        assert wait_until(lambda: "Demo Staff" in capture(session, 1), 60), capture(session, 1)
        # The other counters call people: the board shows calls ("→ Desk ...").
        assert wait_until(lambda: "→" in capture(session, 2), 90), capture(session, 2)
    finally:
        subprocess.run([TMUX, "kill-session", "-t", session], capture_output=True, check=False)
    out, _ = tour.communicate(timeout=60)
    assert tour.returncode == 0, out
    assert "Tour over:" in out
    store = Store(db)  # the traffic went through the verbs into the same store
    try:
        arrivals = [
            e
            for e in watch(store, open_centre(store).id)
            if e.kind == "checked_in" and (e.data or {}).get("kiosk") == "kiosk-2"
        ]
    finally:
        store.dispose()
    assert arrivals
