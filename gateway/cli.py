"""``gateway``: drive a centre with no screen. Integrators, tests and the demo use it.

Every command takes ``--db URL``, ``--centre ID``, ``--json`` and ``--at ISO-TIME``.
Failures print one sentence on stderr and exit non-zero (3 when ``call`` finds nobody
waiting), leaving the store unchanged. Imports are lazy so ``gateway status`` starts fast.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

log = logging.getLogger("gateway")

COUNTER_STATES = {"open": "open", "pause": "paused", "close": "closed"}
PRINTER_HELP = (
    "none, usb:VID:PID, serial:PATH?baud=19200, tcp:HOST:9100, file:PATH or preview:DIR "
    "(add ?profile=TM-T20II or ?width=58 to any)"
)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", help="store URL or SQLite file (else $GATEWAY_DB, else default)")
    common.add_argument("--centre", help="centre code, when the store holds several")
    common.add_argument("--json", action="store_true", help="print one JSON object")
    common.add_argument("--at", help="time of the action, ISO 8601 (backfill, simulations)")
    common.add_argument("--as", dest="actor", help="who acts (staff code), for the audit trail")

    parser = argparse.ArgumentParser(
        prog="gateway", description="Gateway: the front desk of a one-stop-shop centre."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, help: str) -> argparse.ArgumentParser:
        return sub.add_parser(name, help=help, parents=[common], description=help)

    p = add("init", "create or upgrade the store and load a centre file")
    p.add_argument("file", nargs="?", help="centre file (default: the example centre)")
    p = add("check-config", "check a centre file and say what is wrong")
    p.add_argument("file")
    p = add("db", "schema migrations, and PostgreSQL roles with least privilege")
    p.add_argument("action", choices=["upgrade", "current", "check", "roles"])
    p.add_argument("--prefix", default="gateway", help="(roles) role names: PREFIX_kiosk, ...")
    p.add_argument(
        "--password-dir",
        metavar="DIR",
        help="(roles) read each role's password from DIR/ROLE.password, or make it there",
    )
    p.add_argument("--sql", action="store_true", help="(roles) print the SQL, change nothing")
    add("centre", "list agencies, services, needs (with journeys) and counters")
    p = add("checkin", "check a visit in for a need and issue its ticket")
    p.add_argument("need")
    p.add_argument("--lang", default="en")
    p.add_argument("--help-needed", metavar="KIND")
    p.add_argument("--appointment", metavar="REF")
    p.add_argument("--appointment-time", metavar="ISO-TIME")
    p.add_argument("--postcode", metavar="DISTRICT")
    p.add_argument("--consent", action="store_true", help="agrees to share details")
    p.add_argument("--printer", metavar="SPEC", help="print the ticket here: " + PRINTER_HELP)
    p = add("call", "call the next ticket (or --ticket T) to a counter; exit 3 if none")
    p.add_argument("counter")
    p.add_argument("--ticket")
    for name, help in [
        ("recall", "call a ticket again"),
        ("serve", "start serving a called ticket"),
        ("no-show", "mark a called ticket as not come"),
        ("hold", "set a ticket aside; frees the counter"),
        ("unhold", "return a held ticket to the queue"),
        ("ticket", "show one ticket"),
    ]:
        add(name, help).add_argument("ticket")
    p = add("done", "complete a ticket; queues the journey's next step")
    p.add_argument("ticket")
    p.add_argument("--outcome")
    p.add_argument("--avoidable", action="store_true", help="tag as an avoidable contact")
    p = add("cancel", "cancel a ticket (the customer left)")
    p.add_argument("ticket")
    p.add_argument("--reason")
    p = add("remember", "keep a pseudonymous key for repeat visits (with the customer's consent)")
    p.add_argument("ticket")
    p.add_argument("identifier", help="what the customer chose to give, e.g. a reference")
    p.add_argument("--consent", action="store_true", help="the customer agrees (required)")
    p = add("refer", "refer a visit to another service: handover or signpost")
    p.add_argument("ticket")
    p.add_argument("--to", required=True, metavar="SERVICE")
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--handover", action="store_const", const="handover", dest="kind")
    kind.add_argument("--signpost", action="store_const", const="signpost", dest="kind")
    p.add_argument("--reason")
    p.add_argument("--consent", action="store_true")
    p = add("counter-state", "open, pause or close a counter")
    p.add_argument("counter")
    p.add_argument("state", choices=list(COUNTER_STATES))
    p.add_argument("--reason", help="why it is paused (shown to the supervisor)")
    p = add("transfer", "send a ticket to another counter (it waits for that counter only)")
    p.add_argument("ticket")
    p.add_argument("--to", required=True, metavar="COUNTER")
    p.add_argument("--reason")
    p = add("move-queue", "move a counter's waiting customers to another counter")
    p.add_argument("counter", help="the counter closing or paused for long")
    p.add_argument("--to", required=True, metavar="COUNTER")
    add("close-day", "closing time: cancel what is still open and close all counters")
    add("status", "what is waiting, for how long, and who is at which counter")
    add("alerts", "today's alerts: help asked for, failed prints, devices, lockouts")
    p = add("report", "managers' figures for a range of days: tables, CSV, JSON or HTML")
    p.add_argument("kind", choices=["summary", "footfall", "waits", "referrals", "staffing"])
    p.add_argument("--from", dest="first", metavar="DATE", help="first day (default: today)")
    p.add_argument("--to", dest="last", metavar="DATE", help="last day (default: --from)")
    p.add_argument(
        "--by",
        metavar="WHAT",
        help="break down by hour, day, week, month, weekday, centre, agency, service, need, "
        "counter, language or district (all centres unless --centre; --centre a,b for some)",
    )
    p.add_argument("--format", choices=["table", "json", "csv", "html"], default="table")
    p.add_argument("--chart", action="store_true", help="with tables: the trend and heatmap")
    p.add_argument("--output", metavar="FILE", help="write the report here, not to stdout")
    p = add("purge", "clear personal details from visits older than the retention period")
    p.add_argument(
        "--older-than", dest="days", type=int, required=True, metavar="DAYS",
        help="visits more than DAYS days old (every centre in the store unless --centre)",
    )  # fmt: skip
    p = add("backup", "copy the store into FILE, safely while Gateway runs (or --verify FILE)")
    p.add_argument("file", help="the backup file to write, or to check with --verify")
    p.add_argument("--overwrite", action="store_true", help="replace FILE if it exists")
    p.add_argument("--verify", action="store_true", help="check FILE is a usable backup")
    p = add("restore", "bring a backup back into the store given by --db, then check it")
    p.add_argument("file", help="a file made by gateway backup")
    p.add_argument("--replace", action="store_true", help="overwrite a store that holds data")
    p = add("watch", "print events after a cursor (commit order)")
    p.add_argument("--after", type=int, default=0)
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for news")
    p = add("staff", "add, list or disable staff, or set a PIN (asked for, never an option)")
    p.add_argument("action", choices=["add", "list", "disable", "pin"])
    p.add_argument("code", nargs="?", help="the staff code (add, disable, pin)")
    p.add_argument("--name", help="the person's name (add)")
    p.add_argument("--role", choices=["counter", "supervisor", "manager"], default="counter")
    p.add_argument("--agency", help="the agency they work for (add; for reports)")
    p = add("reprint", "print a ticket again (--printer, else $GATEWAY_PRINTER)")
    p.add_argument("ticket")
    p.add_argument("--printer", metavar="SPEC", help=PRINTER_HELP)
    p.add_argument("--lang", help="the language of the service line (default: the visit's)")
    p = add("printer", "print a test page on a printer, or only ask its status")
    p.add_argument("action", choices=["test", "status"])
    p.add_argument("--printer", metavar="SPEC", help=PRINTER_HELP)
    p.add_argument("--profile", help="python-escpos printer profile (default TM-T88V)")
    p.add_argument("--width", type=int, choices=[58, 80], help="paper width in mm (default 80)")
    add("devices", "list the USB printers and serial ports this machine can see")
    p = add("doctor", "check this machine: configuration, store, clock, devices, disk")
    p.add_argument("--centre-file", metavar="FILE", help="a centre file to check as well")
    p.add_argument("--config", metavar="FILE", help="kiosk settings file: its printer and scanner")
    p.add_argument("--printer", metavar="SPEC", help=PRINTER_HELP)
    p.add_argument("--scanner", metavar="SPEC", help="a serial appointment scanner: serial:PATH")
    p = add("door", "count people at the door from a sensor (one line per person)")
    p.add_argument("--door", required=True, metavar="SPEC", help="serial:PATH?baud=9600")
    p.add_argument("--name", help="where the door is, in events (default door)")
    p = add("demo", "play a realistic day in a fresh demo centre, fast")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--day", help="the date to play (default: the next weekday)")
    p.add_argument("--scale", type=float, default=1.0, help="arrivals multiplier")
    p.add_argument("--kiosk", action="store_true", help="then open the kiosk on a demo centre")
    p.add_argument(
        "--live",
        action="store_true",
        help="then the live tour: kiosk, counter and board side by side (tmux), room moving",
    )
    p.add_argument(
        "--no-attach",
        dest="attach",
        action="store_false",
        help="(--live) start the tour's tmux session without attaching to it",
    )
    p.add_argument("--session", help="(--live) the tmux session's name (default gateway-demo)")
    p.add_argument(
        "--history",
        metavar="SPAN",
        help="instead of a day: fill the store with synthetic history (2y, 18m, 6w, 90d) "
        "ending yesterday (or --day), for trying reports at size",
    )
    p.add_argument("--centres", type=int, default=1, help="(--history) how many centres")
    _kiosk_options(p)
    p = add("display", "open the waiting-room board (full screen, for a TV)")
    p.add_argument("--speech", action="store_true", help="speak each call through espeak-ng")
    p.add_argument("--quiet", action="store_true", help="no chime (the terminal bell)")
    p.add_argument(
        "--serve",
        metavar="[HOST:]PORT",
        help="serve the board to browsers (a TV's) with textual-serve instead",
    )
    p.add_argument(
        "--public-url",
        metavar="URL",
        help="(--serve) the address TVs use, e.g. http://board.example:8000 (default: this "
        "machine's name when serving on every address)",
    )
    p = add("counter", "open the counter desk: call, serve, refer (staff sign in with a PIN)")
    p.add_argument("--counter", required=True, metavar="ID", help="this desk's counter code")
    add("supervisor", "open the supervisor's view of the whole room (supervisors sign in)")
    add("dashboard", "open the managers' dashboard: today live and the last four weeks")
    p = add("kiosk", "open the check-in kiosk (full screen; staff leave with the PIN)")
    _kiosk_options(p)
    return parser


def _kiosk_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="kiosk settings file ([kiosk] table)")
    p.add_argument("--name", help="this kiosk's name in events and alerts (default kiosk-1)")
    p.add_argument("--printer", metavar="SPEC", help=PRINTER_HELP)
    p.add_argument("--scanner", metavar="SPEC", help="a serial appointment scanner: serial:PATH")
    p.add_argument("--door", metavar="SPEC", help="a door-counter sensor: serial:PATH")
    p.add_argument("--speech", action="store_true", help="spoken guidance through espeak-ng")
    p.add_argument("--large-text", action="store_true", help="start in large-text mode")
    p.add_argument("--high-contrast", action="store_true", help="start in high contrast")
    p.add_argument("--idle", type=float, metavar="SECONDS", help="idle time before the warning")
    p.add_argument("--log", metavar="FILE", help="kiosk log file (default: the user log folder)")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from gateway.errors import GatewayError
    from gateway.logs import configure

    configure(f"gateway-{args.command}")  # only where GATEWAY_LOG asks

    try:
        return _dispatch(args)
    except GatewayError as exc:
        from gateway.status import printable

        print(printable(str(exc)), file=sys.stderr)  # a refusal may quote what was typed
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: not a problem
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception:  # never a traceback for a user: log it, say one sentence
        where = _log_crash()
        print(f"Gateway hit an unexpected problem; the details are in {where}.", file=sys.stderr)
        return 1


def _log_crash() -> str:
    import tempfile
    import traceback

    path = Path(tempfile.gettempdir()) / "gateway-error.log"
    with path.open("a", encoding="utf-8") as out:
        traceback.print_exc(file=out)
    return str(path)


def _store(args: argparse.Namespace) -> Any:
    from sqlalchemy.exc import ArgumentError

    from gateway.errors import StoreUnavailable
    from gateway.store import Store

    try:
        return Store(args.db)
    except (ArgumentError, ValueError) as exc:
        raise StoreUnavailable(f"'{args.db}' is not a store URL I understand ({exc}).") from None
    except ModuleNotFoundError as exc:
        raise StoreUnavailable(
            f"The store URL needs a driver that is missing: {exc.name}."
        ) from None


def _clock(args: argparse.Namespace, timezone: str) -> Any:
    from gateway.clock import FixedClock, WallClock, parse_at
    from gateway.errors import GatewayError

    if not args.at:
        return WallClock()
    try:
        return FixedClock(parse_at(args.at, timezone))
    except ValueError:
        raise GatewayError(
            f"'{args.at}' is not a time; use ISO 8601, like 2026-11-26T10:30."
        ) from None


def _queue(args: argparse.Namespace) -> Any:
    from gateway.centres import open_centre
    from gateway.queue import Queue

    store = _store(args)
    centre = open_centre(store, args.centre)
    return Queue(store, centre, clock=_clock(args, centre.timezone), actor=args.actor or "cli")


# json escapes C0 controls (ESC) but, with ensure_ascii=False, leaves C1 ones (U+009B is a
# one-byte CSI to many terminals) as they are: escaped too, the JSON means the same.
C1_ESCAPES = {code: f"\\u{code:04x}" for code in range(0x80, 0xA0)}


def _emit(args: argparse.Namespace, obj: dict[str, Any], text: str) -> None:
    if args.json:
        print(json.dumps(obj, ensure_ascii=False, default=str).translate(C1_ESCAPES))
    else:
        print(text)


def _ticket_line(t: Any) -> str:
    where = f" at counter {t.counter}" if t.counter else ""
    wait = ""
    if t.wait is not None:
        minutes = "unknown (no counter open)" if t.wait.minutes is None else f"{t.wait.minutes} min"
        wait = f"; {t.wait.ahead} ahead, about {minutes}"
    return f"{t.number} {t.service_name} ({t.agency_name}): {t.state}{where}{wait}"


def _pair(args: argparse.Namespace, pair: tuple[Any, Any]) -> int:
    ticket, follow = pair
    obj = ticket.as_dict() | {"next": follow.as_dict() if follow else None}
    text = _ticket_line(ticket) + (f"\nnext: {_ticket_line(follow)}" if follow else "")
    _emit(args, obj, text)
    return 0


def _one(args: argparse.Namespace, ticket: Any) -> int:
    _emit(args, ticket.as_dict(), _ticket_line(ticket))
    return 0


def _dispatch(args: argparse.Namespace) -> int:
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {
        "init": _init,
        "check-config": _check_config,
        "db": _db,
        "centre": _centre,
        "status": _status,
        "alerts": _alerts,
        "report": _report,
        "purge": _purge,
        "doctor": _doctor,
        "backup": _backup,
        "restore": _restore,
        "watch": _watch,
        "demo": _demo,
        "kiosk": _kiosk,
        "display": lambda a: _screen("display")(a, _store(a)),
        "counter": lambda a: _screen("counter")(a, _store(a)),
        "supervisor": lambda a: _screen("supervisor")(a, _store(a)),
        "dashboard": lambda a: _screen("dashboard")(a, _store(a)),
        "printer": lambda a: _plugin("gateway.devices", "printer-test")(a),
        "devices": lambda a: _plugin("gateway.devices", "list")(a),
    }
    if args.command in handlers:
        return handlers[args.command](args)
    queue = _queue(args)
    verbs: dict[str, Callable[[], Any]] = {
        "recall": lambda: _one(args, queue.recall(args.ticket)),
        "serve": lambda: _one(args, queue.start_serving(args.ticket)),
        "no-show": lambda: _one(args, queue.no_show(args.ticket)),
        "hold": lambda: _one(args, queue.hold(args.ticket)),
        "unhold": lambda: _one(args, queue.unhold(args.ticket)),
        "ticket": lambda: _one(args, queue.ticket(args.ticket)),
        "cancel": lambda: _one(args, queue.cancel(args.ticket, reason=args.reason)),
        "remember": lambda: _one(
            args, queue.remember(args.ticket, args.identifier, consent=args.consent)
        ),
        "done": lambda: _pair(
            args, queue.complete(args.ticket, outcome=args.outcome, avoidable=args.avoidable)
        ),
        "refer": lambda: _pair(
            args,
            queue.refer(
                args.ticket,
                args.to,
                kind=args.kind,
                reason=args.reason,
                consent=args.consent,
                staff=args.actor,
            ),
        ),
        "checkin": lambda: _checkin(args, queue),
        "staff": lambda: _staff(args, queue),
        "call": lambda: _one(
            args,
            queue.call_ticket(args.counter, args.ticket, staff=args.actor)
            if args.ticket
            else queue.call_next(args.counter, staff=args.actor),
        ),
        "reprint": lambda: _plugin("gateway.devices", "reprint")(args, queue),
        "door": lambda: _plugin("gateway.devices", "door")(args, queue),
        "counter-state": lambda: _counter_state(args, queue),
        "transfer": lambda: _one(args, queue.transfer(args.ticket, args.to, reason=args.reason)),
        "move-queue": lambda: _move_queue(args, queue),
        "close-day": lambda: _close_day(args, queue),
    }
    result: int = verbs[args.command]()
    return result


def _checkin(args: argparse.Namespace, queue: Any) -> int:
    from gateway.clock import parse_at
    from gateway.errors import GatewayError

    appointment_at = None
    if args.appointment_time:
        try:
            appointment_at = parse_at(args.appointment_time, queue.centre.timezone)
        except ValueError:
            raise GatewayError(f"'{args.appointment_time}' is not a time.") from None
    ticket = queue.check_in(
        args.need,
        language=args.lang,
        help_needed=args.help_needed,
        postcode_district=args.postcode,
        appointment_ref=args.appointment,
        appointment_at=appointment_at,
        consent_share=args.consent,
    )
    _one(args, ticket)
    if args.printer:
        code: int = _plugin("gateway.devices", "print-ticket")(args, queue, ticket)
        return code
    return 0


def _staff(args: argparse.Namespace, queue: Any) -> int:
    from gateway.errors import GatewayError
    from gateway.status import printable

    if args.action == "list":
        people = queue.list_staff()
        lines = [  # names and codes as stored: a row made from --as holds any text
            f"{printable(p.code):<16} {printable(p.name):<24} {p.role:<10} "
            f"{p.agency or '-':<12} "
            + ("disabled" if not p.active else "locked" if p.locked_until else "active")
            + ("" if p.has_pin else " (no PIN)")
            for p in people
        ]
        _emit(args, {"staff": [p.as_dict() for p in people]}, "\n".join(lines) or "no staff")
        return 0
    if not args.code:
        raise GatewayError(f"Say whose: gateway staff {args.action} CODE.")
    if args.action == "disable":
        person = queue.disable_staff(args.code)
        _emit(args, person.as_dict(), f"{person.code} can no longer sign in.")
        return 0
    if args.action == "add" and not args.name:
        raise GatewayError("Give the person's name with --name.")
    pin = _read_pin()
    if args.action == "add":
        person = queue.add_staff(args.code, args.name, pin, role=args.role, agency=args.agency)
        _emit(args, person.as_dict(), f"{person.code} ({person.name}) can sign in now.")
    else:
        person = queue.set_staff_pin(args.code, pin)
        _emit(args, person.as_dict(), f"{person.code} has a new PIN.")
    return 0


def _read_pin() -> str:
    """A PIN, typed twice at a terminal (not shown), or one line on standard input. Never
    an option: options show in the process list and the shell's history."""
    from gateway.errors import GatewayError

    if sys.stdin.isatty():
        import getpass

        pin = getpass.getpass("PIN (4-8 digits): ")
        if getpass.getpass("The same PIN again: ") != pin:
            raise GatewayError("The two PINs were not the same; nothing was changed.")
        return pin
    return sys.stdin.readline().strip()


def _counter_state(args: argparse.Namespace, queue: Any) -> int:
    state = queue.set_counter_state(args.counter, COUNTER_STATES[args.state], reason=args.reason)
    _emit(args, {"counter": args.counter, "state": state}, f"counter {args.counter}: {state}")
    return 0


def _move_queue(args: argparse.Namespace, queue: Any) -> int:
    moved = queue.move_queue(args.counter, args.to)
    _emit(
        args,
        {"counter": args.counter, "to": args.to, "moved": moved},
        f"Moved {moved} waiting from counter {args.counter} to counter {args.to}.",
    )
    return 0


def _close_day(args: argparse.Namespace, queue: Any) -> int:
    ended = queue.close_day()
    _emit(
        args,
        {"centre": queue.centre.code, "cancelled": ended},
        f"{queue.centre.name} is closed: {ended} tickets still open were cancelled.",
    )
    return 0


def _init(args: argparse.Namespace) -> int:
    from gateway import migrate
    from gateway.centres import load_centre
    from gateway.config import EXAMPLE_CENTRE, load_centre_file

    config = load_centre_file(args.file or EXAMPLE_CENTRE)
    store = _store(args)
    _guard(store, lambda: migrate.upgrade(store))
    load_centre(store, config, _clock(args, config.centre.timezone))
    info = config.centre
    _emit(
        args,
        {"centre": info.code, "name": info.name, "store": store.where},
        f"{info.name} ({info.code}) is loaded in {store.where}.",
    )
    return 0


def _guard(store: Any, work: Callable[[], Any]) -> Any:
    """Turn a store that is down, or a role refused, during migrations into one sentence."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    from gateway.errors import NotPermitted, StoreUnavailable

    try:
        return work()
    except OperationalError as exc:
        raise StoreUnavailable(
            f"The store at {store.where} cannot be reached; check that it is running "
            "and the URL is right."
        ) from exc
    except DBAPIError as exc:
        if getattr(exc.orig, "sqlstate", None) != "42501":
            raise
        from sqlalchemy.engine import make_url

        user = make_url(store.url).username or "this user"
        raise NotPermitted(
            f"The store refused this to the database role '{user}' "
            f"({str(exc.orig).strip().splitlines()[0]}): run it as the role that owns "
            "the tables (PREFIX_owner), or as a superuser for `gateway db roles`."
        ) from None


def _check_config(args: argparse.Namespace) -> int:
    from gateway.config import load_centre_file
    from gateway.errors import ConfigError

    try:
        config = load_centre_file(args.file)
    except ConfigError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return 1
    c = config.centre
    _emit(
        args,
        {
            "ok": True,
            "centre": c.code,
            "agencies": len(config.agencies),
            "services": len(config.services),
            "needs": len(config.needs),
            "counters": len(config.counters),
        },
        f"{args.file}: {c.name} is valid: {len(config.agencies)} agencies, "
        f"{len(config.services)} services, {len(config.needs)} needs, "
        f"{len(config.counters)} counters.",
    )
    return 0


def _db(args: argparse.Namespace) -> int:
    from gateway import migrate

    if args.action == "roles":
        return _roles(args)
    store = _store(args)
    if args.action == "upgrade":
        _guard(store, lambda: migrate.upgrade(store))
    if args.action == "check":
        diffs = _guard(store, lambda: migrate.differences(store))
        if diffs:
            print(f"The models and the migrations disagree: {diffs}", file=sys.stderr)
            return 1
    revision = _guard(store, lambda: migrate.current(store))
    _emit(
        args,
        {"store": store.where, "revision": revision},
        f"{store.where} is at revision {revision or '(none)'}.",
    )
    return 0


def _roles(args: argparse.Namespace) -> int:
    from gateway import roles

    if args.sql:
        print(roles.script(roles.check_prefix(args.prefix)), end="")
        return 0
    store = _store(args)
    folder = Path(args.password_dir) if args.password_dir else None
    result = _guard(
        store, lambda: roles.create_roles(store, prefix=args.prefix, password_dir=folder)
    )
    made = ", ".join(result.created) or "none (all there already)"
    text = [f"Roles created: {made}. {result.tables} tables granted."]
    if result.passwords_written:
        text.append(f"New passwords written to {folder}: {', '.join(result.passwords_written)}.")
    if folder is None:
        text.append("No passwords set: give each role one (\\password in psql), or --password-dir.")
    _emit(args, roles.describe(result, args.prefix), "\n".join(text))
    return 0


def _centre(args: argparse.Namespace) -> int:
    from gateway.centres import open_centre
    from gateway.views import centre_listing

    centre = open_centre(_store(args), args.centre)
    obj, text = centre_listing(centre)
    _emit(args, obj, text)
    return 0


def _status(args: argparse.Namespace) -> int:
    from gateway.centres import open_centre
    from gateway.status import room_status
    from gateway.views import status_text

    store = _store(args)
    centre = open_centre(store, args.centre)
    status = room_status(store, centre, _clock(args, centre.timezone).now())
    if args.json:
        _emit(args, status.as_dict(), "")
    else:
        print(status_text(centre, status))
    return 0


def _alerts(args: argparse.Namespace) -> int:
    from zoneinfo import ZoneInfo

    from gateway.alerts import todays_alerts
    from gateway.centres import open_centre

    store = _store(args)
    centre = open_centre(store, args.centre)
    now = _clock(args, centre.timezone).now()
    alerts = todays_alerts(store, centre, now)
    zone = ZoneInfo(centre.timezone)
    text = "\n".join(f"{a.at.astimezone(zone):%H:%M}  {a.text}" for a in alerts)
    _emit(args, {"alerts": [a.as_dict() for a in alerts]}, text or "No alerts today.")
    return 0


def _report(args: argparse.Namespace) -> int:
    from gateway.clock import business_day
    from gateway.errors import GatewayError
    from gateway.reports import BY, REPORT_FUNCTIONS, Days

    store = _store(args)
    centres = _centres(args, store)
    clock = _clock(args, centres[0].timezone)
    today = business_day(clock.now(), centres[0].timezone)
    first = _day(args.first) if args.first else today
    last = _day(args.last) if args.last else first
    if last < first:
        raise GatewayError(f"--to {last} is before --from {first}; give the days in order.")
    if args.by is not None and args.by not in BY:
        raise GatewayError(f"'{args.by}' is not a breakdown; use {', '.join(BY)}.")
    days = Days(first, last)
    report = REPORT_FUNCTIONS[args.kind]
    extra = {} if args.by is None else {"by": args.by}
    figures = report(store, centres, days, now=clock.now(), **extra)
    title = f"{', '.join(c.name for c in centres)}: {args.kind}, {first} to {last}"
    if args.json or args.format == "json":
        text = json.dumps(figures, ensure_ascii=False, indent=None) + "\n"
    elif args.format == "csv":
        from gateway.report_output import as_csv

        text = as_csv(figures)
    elif args.format == "html":
        from gateway.report_html import render as as_html

        # By district, no totals beside the rows: a total minus the rows shown would give
        # back the counts left out.
        private = args.by == "district"
        trend, profile = (
            (None, None) if private else _chart_data(args, figures, store, centres, days, clock)
        )
        names = ", ".join(c.name for c in centres)
        text = as_html(args.kind, figures, trend=trend, footfall=profile, centre_name=names)
    else:
        text = _report_text(args, title, figures, store, centres, days, clock)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise GatewayError(f"Could not write {args.output}: {exc.strerror}.") from None
        print(f"Wrote the {args.kind} report to {args.output}.", file=sys.stderr)
    else:
        print(text, end="")
    return 0


def _centres(args: argparse.Namespace, store: Any) -> list[Any]:
    """The centres ``--centre a,b`` names, or every centre in the store."""
    from gateway.centres import list_centres, open_centre

    codes = args.centre.split(",") if args.centre else [c.code for c in list_centres(store)]
    if not codes:
        open_centre(store)  # says the store holds no centre yet
    return [open_centre(store, code.strip()) for code in codes]


def _purge(args: argparse.Namespace) -> int:
    from gateway.queue import Queue

    store = _store(args)
    results, lines = [], []
    for centre in _centres(args, store):
        queue = Queue(store, centre, clock=_clock(args, centre.timezone), actor=args.actor)
        cleared = queue.purge(args.days) | {"centre": centre.code}
        results.append(cleared)
        lines.append(
            f"{centre.code}: cleared the details of {cleared['visits']} visit(s) from before "
            f"{cleared['before']} ({cleared['referral_reasons']} referral reason(s), "
            f"{cleared['event_reasons']} note(s) in the event log); counts are kept."
        )
    _emit(args, {"purged": results}, "\n".join(lines))
    return 0


def _backup(args: argparse.Namespace) -> int:
    from gateway.backup import backup, verify

    if args.verify:
        good = verify(Path(args.file))
        _emit(
            args,
            good.as_dict(),
            f"{good.path} is a usable {good.kind} backup ({good.check}): {good.tickets} "
            f"tickets, {good.visits} visits, {good.events} events, schema {good.revision}.",
        )
        return 0
    made = backup(_store(args), Path(args.file), overwrite=args.overwrite)
    _emit(
        args,
        made.as_dict(),
        f"Backed up {made.tickets} tickets, {made.visits} visits and {made.events} events "
        f"to {made.path} ({made.bytes / 1e6:.1f} MB) in {made.seconds:.1f} s.",
    )
    return 0


def _restore(args: argparse.Namespace) -> int:
    from gateway.backup import restore
    from gateway.errors import GatewayError

    if not args.db:  # never the default store by accident
        raise GatewayError("Say which store to restore into: gateway restore FILE --db URL.")
    done = restore(Path(args.file), args.db, replace=args.replace)
    checked = "integrity ok, " if done.integrity == "ok" else ""
    _emit(
        args,
        done.as_dict(),
        f"Restored {done.tickets} tickets, {done.visits} visits and {done.events} events "
        f"into {done.store} ({checked}schema {done.revision}) in {done.seconds:.1f} s.",
    )
    return 0


def _report_text(
    args: argparse.Namespace,
    title: str,
    figures: Any,
    store: Any,
    centres: Any,
    days: Any,
    clock: Any,
) -> str:
    from gateway.report_output import tables
    from gateway.views import render

    parts = [render(table) for table in tables(args.kind, figures, title)]
    if args.chart and args.by == "district":
        parts.append("No charts by district: their totals would give back the counts left out.")
    elif args.chart:
        import os
        import shutil

        from gateway.charts import heatmap, trend

        tty = not args.output and sys.stdout.isatty() and "NO_COLOR" not in os.environ
        columns = shutil.get_terminal_size((80, 24)).columns
        daily, visits = _chart_data(args, figures, store, centres, days, clock)
        parts.append(
            trend(daily["rows"], first=daily["from"], last=daily["to"], width=columns, color=tty)
        )
        parts.append(heatmap(visits["profile"], width=columns, color=tty))
    return "\n".join(p.rstrip("\n") for p in parts) + "\n"


def _chart_data(
    args: argparse.Namespace, figures: Any, store: Any, centres: Any, days: Any, clock: Any
) -> tuple[Any, Any]:
    """What the charts draw: the summary by day (the trend) and the footfall (its weekday ×
    hour profile), read only when the report asked for is not already that."""
    from gateway.reports import footfall, summary

    same = args.kind == "summary" and args.by == "day"
    daily = figures if same else summary(store, centres, days, by="day", now=clock.now())
    same = args.kind == "footfall" and args.by is None
    visits = figures if same else footfall(store, centres, days, now=clock.now())
    return daily, visits


def _day(text: str) -> Any:
    from datetime import date

    from gateway.errors import GatewayError

    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise GatewayError(f"'{text}' is not a date; use ISO 8601, like 2026-11-27.") from None
    if not 2000 <= day.year <= 2199:
        raise GatewayError(f"{day} is out of range; give a date between 2000 and 2199.")
    return day


def _watch(args: argparse.Namespace) -> int:
    from gateway.centres import open_centre
    from gateway.events import wait_for_events

    store = _store(args)
    centre = open_centre(store, args.centre)
    events = wait_for_events(store, centre.id, args.after, args.wait)
    rows = [
        {
            "seq": e.seq,
            "kind": e.kind,
            "at": e.at.isoformat(),
            "ticket_id": e.ticket_id,
            "visit_id": e.visit_id,
            "counter_id": e.counter_id,
            "actor": e.actor,
            "data": e.data,
        }
        for e in events
    ]
    cursor = rows[-1]["seq"] if rows else args.after
    text = "\n".join(f"{r['seq']:>6} {r['at']} {r['kind']} {r['data'] or ''}" for r in rows)
    _emit(args, {"events": rows, "cursor": cursor}, text or f"nothing after {args.after}")
    return 0


def _plugin(group: str, name: str) -> Callable[..., int]:
    """A screen (``gateway.screens``: the kiosk, ...) or a hardware command
    (``gateway.devices``: printing, ...) registered as an entry point.

    The core never imports screens or devices: they register themselves when installed,
    so the CLI can open them while ``gateway/`` stays headless.
    """
    from importlib.metadata import entry_points

    from gateway.errors import GatewayError

    found = entry_points(group=group, name=name)
    if not found:
        raise GatewayError(f"'{name}' is not installed here; reinstall gateway-centre.")
    opener: Callable[..., int] = next(iter(found)).load()
    return opener


def _doctor(args: argparse.Namespace) -> int:
    import os

    from gateway.doctor import exit_code, render_text, report, run_checks

    # The kiosk's settings name its printer; GATEWAY_PRINTER is reception's.
    printer = args.printer or (None if args.config else os.environ.get("GATEWAY_PRINTER"))
    checks = run_checks(
        args.db,
        centre=args.centre,
        centre_file=args.centre_file,
        kiosk_settings=args.config,
        printer=printer,
        scanner=args.scanner,
    )
    _emit(args, report(checks), render_text(checks))
    return exit_code(checks)


def _screen(name: str) -> Callable[..., int]:
    return _plugin("gateway.screens", name)


def _kiosk(args: argparse.Namespace) -> int:
    return _screen("kiosk")(args, _store(args))


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    if args.history:
        return _history(args)
    if args.live:
        return run_demo(args, then=lambda store, centre: _screen("tour")(args, store, centre))
    if not args.kiosk:
        return run_demo(args)

    def open_kiosk(store: Any, centre: Any) -> int:
        args.centre = centre.code
        return _screen("kiosk")(args, store, demo=True)

    return run_demo(args, then=open_kiosk)


def _history(args: argparse.Namespace) -> int:
    import tempfile
    from datetime import UTC, datetime, timedelta

    from gateway.clock import business_day
    from gateway.config import EXAMPLE_CENTRE, load_centre_file
    from gateway.history import fill_history, parse_history
    from gateway.store import Store

    days = parse_history(args.history)
    config = load_centre_file(EXAMPLE_CENTRE)
    if args.day:
        end = _day(args.day)
    else:
        now = datetime.now(UTC)
        end = business_day(now, config.centre.timezone) - timedelta(days=1)
    if args.db:
        store = _store(args)
    else:
        store = Store(str(Path(tempfile.mkdtemp(prefix="gateway-history-")) / "history.db"))
    print(
        f"Filling {store.where} with {days} days of history for {args.centres} centre(s) "
        f"ending {end}...",
        file=sys.stderr,
    )
    made = fill_history(
        store,
        config,
        days=days,
        centres=args.centres,
        end=end,
        seed=args.seed,
        progress=lambda line: print(line, file=sys.stderr),
    )
    first = end - timedelta(days=days - 1)
    text = (
        f"{made.tickets:,} tickets, {made.visits:,} visits and {made.events:,} events for "
        f"{made.centres} centre(s) over {made.days} days, in {made.seconds:.0f} s.\n"
        f"Try: gateway report summary --db {store.where} --from {first} --to {end} --by month"
    )
    _emit(args, {**made.__dict__, "store": store.where, "from": str(first), "to": str(end)}, text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
