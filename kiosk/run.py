"""``gateway kiosk`` and ``gateway demo --kiosk``: start the kiosk app full screen.

The CLI (in the headless core) imports this module only when asked to open a screen.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from platformdirs import user_log_dir
from textual.app import App

from gateway.errors import ConfigError, GatewayError
from gateway.logs import configure
from gateway.store import Store
from kiosk.settings import KioskSettings, load_settings


def log_to_file(path: str | None) -> str:
    """Kiosk faults go to the log (``--log FILE``, else ``GATEWAY_LOG``, else a file in the
    user's log folder), never the screen: a customer never sees a traceback."""
    default = Path(user_log_dir("gateway")) / "kiosk.log"
    where = configure("gateway-kiosk", default_file=default, file=Path(path) if path else None)
    return where or str(default)


def settings_from(args: argparse.Namespace) -> KioskSettings:
    """The kiosk settings from --config and the options; every problem in one message."""
    try:
        return _settings_from(args)
    except ConfigError as exc:
        raise GatewayError("\n".join(exc.problems)) from None


def _settings_from(args: argparse.Namespace) -> KioskSettings:
    return load_settings(
        args.config,
        name=args.name,
        printer=args.printer,
        scanner=args.scanner,
        door=args.door,
        staff_pin=_staff_pin(),
        speech=True if args.speech else None,
        large_text=True if args.large_text else None,
        high_contrast=True if args.high_contrast else None,
        idle_seconds=args.idle,
    )


def _staff_pin() -> str | None:
    """The PIN that lets staff leave the kiosk: ``GATEWAY_KIOSK_PIN``, else the file in
    ``GATEWAY_KIOSK_PIN_FILE``, else the systemd credential ``kiosk-pin``; never a unit
    or the command line (the process list shows those)."""
    if os.environ.get("GATEWAY_KIOSK_PIN"):
        return os.environ["GATEWAY_KIOSK_PIN"]
    named = os.environ.get("GATEWAY_KIOSK_PIN_FILE")
    credentials = os.environ.get("CREDENTIALS_DIRECTORY")
    path = Path(named) if named else Path(credentials) / "kiosk-pin" if credentials else None
    if path is None or (not named and not path.exists()):
        return None
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except OSError as exc:
        raise GatewayError(
            f"The kiosk's PIN file {path} cannot be read ({exc.strerror or exc})."
        ) from None


def open_kiosk(args: argparse.Namespace, store: Store, *, demo: bool = False) -> int:
    """``gateway kiosk`` and ``gateway demo --kiosk`` (registered as the ``kiosk`` entry
    point of ``gateway.screens``, so the headless core never imports this package)."""
    settings = settings_from(args)
    if demo:
        if settings.staff_pin is None:
            settings = replace(settings, staff_pin="0000")
        print(
            "\nOpening the kiosk. To leave it, tap the centre's name 5 times quickly and "
            f"enter the staff PIN {settings.staff_pin}.",
            flush=True,
        )
        time.sleep(2.5)
    return run_kiosk(args, store, settings)


def run_kiosk(args: argparse.Namespace, store: Store, settings: KioskSettings | None = None) -> int:
    from kiosk.app import KioskApp

    settings = settings or settings_from(args)
    where = log_to_file(args.log)
    code = supervise(
        lambda: KioskApp(store, args.centre, settings=settings, own_process=True),
        lambda a: a.run(),
    )
    if code:
        raise GatewayError(f"The kiosk stopped after repeated faults; see {where}.")
    return 0


def supervise(
    make_app: Callable[[], App[None]],
    run: Callable[[App[None]], None],
    *,
    most: int = 5,
    within: float = 60.0,
) -> int:
    """Run the kiosk; when it stops after a fault, start a fresh one in the same terminal
    (so no shell ever shows). More than ``most`` restarts within ``within`` seconds ends
    with 1, for the service manager to deal with. Returns the last app's return code."""
    from kiosk.app import RESTART

    restarts: deque[float] = deque(maxlen=most)
    while True:
        app = make_app()
        run(app)
        if app.return_code != RESTART:
            return app.return_code or 0
        now = time.monotonic()
        restarts.append(now)
        if len(restarts) == most and now - restarts[0] < within:
            logging.getLogger("gateway.kiosk").error("kiosk restarted %d times; giving up", most)
            return 1
        logging.getLogger("gateway.kiosk").warning("kiosk restarted after a fault")
