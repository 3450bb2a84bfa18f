"""The board in a TV's browser: `gateway display --serve` through textual-serve, loaded in
headless Chromium (Debian's ``chromium``, driven by playwright), shows a call made from the
command line.

The terminal is drawn on a canvas, so the test reads pixels, not text: before any call the
page shows no highlighted box; after ``gateway call`` the newest call's yellow box appears.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

import pytest
from PIL import Image

from tests.kiosk.conftest import ready_store

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
HIGHLIGHT = (255, 216, 77)  # the newest call's box (#ffd84d)
BACKGROUND = (16, 21, 28)  # the board (#10151c)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium here (apt install chromium); .ci/run installs it"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def share(png: bytes, colour: tuple[int, int, int]) -> float:
    """The share of the picture's pixels close to ``colour``."""
    image = Image.open(BytesIO(png)).convert("RGB").resize((320, 200))
    pixels = list(image.get_flattened_data())
    close = sum(1 for p in pixels if all(abs(a - b) <= 12 for a, b in zip(p, colour, strict=True)))
    return close / len(pixels)


def gateway(*args: str, db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args, "--db", db],
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def served(tmp_path: Any, clock: Any) -> Iterator[tuple[str, str]]:
    """The example centre's board served on a free port: (page URL, store URL)."""
    store = ready_store(f"sqlite:///{tmp_path / 'board.db'}", clock)
    db = store.url
    store.dispose()
    port = free_port()
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gateway.cli", "display"),
            *("--serve", f"127.0.0.1:{port}", "--db", db, "--quiet"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so the boards it starts go with it
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                time.sleep(0.2)
        else:
            raise AssertionError("gateway display --serve never listened")
        yield f"http://127.0.0.1:{port}/", db
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)
        assert group_ends(server.pid, 15), "a board process outlived its server"


def group_ends(group: int, seconds: float) -> bool:
    """Whether every process of the group (the server and the boards it started) ended:
    a board left behind would follow the store for ever."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.2)
    os.killpg(group, signal.SIGKILL)
    return False


def wait_until(page: Any, test: Callable[[bytes], bool], seconds: float) -> bytes:
    deadline = time.monotonic() + seconds
    while True:
        shot = page.screenshot()
        if test(shot) or time.monotonic() > deadline:
            return bytes(shot)
        time.sleep(0.3)


def test_the_served_board_shows_a_call_made_from_the_command_line(served):
    sync_api = pytest.importorskip("playwright.sync_api")
    url, db = served
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.goto(url)
            # The board has started in the browser: its background fills the page.
            before = wait_until(page, lambda shot: share(shot, BACKGROUND) > 0.5, 40)
            assert share(before, BACKGROUND) > 0.5, "the board never appeared in the browser"
            assert share(before, HIGHLIGHT) == 0  # nobody called yet
            assert gateway("checkin", "pay-council-tax", db=db).returncode == 0
            called = gateway("call", "1", db=db)
            assert called.returncode == 0, called.stderr
            after = wait_until(page, lambda shot: share(shot, HIGHLIGHT) > 0.05, 15)
        finally:
            browser.close()
    assert share(after, HIGHLIGHT) > 0.05, "the call never showed in the browser"


def test_a_board_served_on_every_address_links_to_an_address_a_tv_can_load(tmp_path, clock):
    """textual-serve builds the page's links from the address it listens on; served on
    0.0.0.0 they must name the public URL, or a TV's browser cannot load the board."""
    import urllib.request

    store = ready_store(f"sqlite:///{tmp_path / 'board.db'}", clock)
    db = store.url
    store.dispose()
    port = free_port()
    public = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            *(sys.executable, "-m", "gateway.cli", "display"),
            *("--serve", f"0.0.0.0:{port}", "--public-url", public + "/", "--db", db),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        page = ""
        while time.monotonic() < deadline and not page:
            try:
                page = urllib.request.urlopen(public + "/", timeout=2).read().decode()
            except OSError:
                time.sleep(0.2)
        assert page, "gateway display --serve never answered"
        assert f"{public}/static/" in page
        assert "0.0.0.0" not in page
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=10)


def test_the_public_url_defaults_to_this_machines_name_on_every_address():
    from kiosk.board import public_url

    assert public_url("0.0.0.0", 8000, None) == f"http://{socket.getfqdn()}:8000"
    assert public_url("127.0.0.1", 8000, None) is None  # links already work
    assert public_url("0.0.0.0", 8000, "http://board.example:80/") == "http://board.example:80"
