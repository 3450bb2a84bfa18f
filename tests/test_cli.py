"""The command line: every command, --json, and bad input giving one sentence, data intact."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.cli import main
from tests.conftest import SMALL_CENTRE

AT = "2026-11-23T09:00"  # a Monday, London time
LATER = "2026-11-23T09:30"


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["init", str(SMALL_CENTRE), "--db", url, "--at", AT]) == 0
    for counter in ("1", "2", "3", "4"):
        assert main(["counter-state", counter, "open", "--db", url, "--at", AT]) == 0
    return url


def run(capsys, *argv: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys, *argv: str) -> dict:
    code, out, err = run(capsys, *argv, "--json")
    assert code == 0, err
    return json.loads(out)


def dump(db: str) -> bytes:
    """Everything in the store, to compare before and after a refused command."""
    import sqlite3

    path = db.removeprefix("sqlite:///")
    with sqlite3.connect(path) as conn:
        return "\n".join(conn.iterdump()).encode()


def test_checkin_call_serve_done_as_json(db, capsys):
    ticket = run_json(capsys, "checkin", "council-tax", "--db", db, "--at", AT)
    assert {"number", "service", "agency", "state", "counter"} <= set(ticket)
    assert (ticket["number"], ticket["state"], ticket["agency"]) == ("C001", "waiting", "borough")
    called = run_json(capsys, "call", "1", "--db", db, "--at", "2026-11-23T09:05")
    assert (called["number"], called["state"], called["counter"]) == ("C001", "called", "1")
    serving = run_json(capsys, "serve", "C001", "--db", db, "--at", "2026-11-23T09:06")
    assert serving["state"] == "serving"
    done = run_json(
        capsys,
        "done",
        "C001",
        "--outcome",
        "resolved",
        "--avoidable",
        "--db",
        db,
        "--at",
        "2026-11-23T09:15",
    )
    assert (done["state"], done["outcome"], done["next"]) == ("done", "resolved", None)


def test_journey_next_step_is_printed(db, capsys):
    run_json(capsys, "checkin", "bereavement", "--db", db, "--at", AT)
    run_json(capsys, "call", "3", "--db", db, "--at", AT)
    done = run_json(capsys, "done", "R001", "--db", db, "--at", AT)
    assert done["next"]["service"] == "council-tax" and done["next"]["state"] == "waiting"


def test_call_exits_3_when_nothing_is_waiting(db, capsys):
    code, _, err = run(capsys, "call", "1", "--db", db)
    assert code == 3
    assert err.strip() == "Nobody is waiting for counter 1."


def test_refer_handover_and_signpost(db, capsys):
    run_json(capsys, "checkin", "council-tax", "--consent", "--db", db, "--at", AT)
    run_json(capsys, "call", "1", "--db", db, "--at", AT)
    handed = run_json(
        capsys,
        "refer",
        "C001",
        "--to",
        "jobs",
        "--handover",
        "--reason",
        "lost job",
        "--consent",
        "--db",
        db,
        "--at",
        AT,
    )
    assert handed["state"] == "referred" and handed["next"]["number"] == "J001"
    run_json(capsys, "call", "4", "--db", db, "--at", AT)
    signposted = run_json(
        capsys, "refer", "J001", "--to", "housing", "--signpost", "--db", db, "--at", AT
    )
    assert signposted["state"] == "referred" and signposted["next"] is None


def test_recall_no_show_hold_unhold_cancel(db, capsys):
    run_json(capsys, "checkin", "housing", "--db", db, "--at", AT)
    run_json(capsys, "checkin", "housing", "--db", db, "--at", AT)
    run_json(capsys, "call", "2", "--db", db, "--at", AT)
    assert run_json(capsys, "recall", "H001", "--db", db, "--at", AT)["recalls"] == 1
    assert run_json(capsys, "no-show", "H001", "--db", db, "--at", AT)["state"] == "no_show"
    run_json(capsys, "call", "2", "--db", db, "--at", AT)
    assert run_json(capsys, "hold", "H002", "--db", db, "--at", AT)["state"] == "held"
    assert run_json(capsys, "unhold", "H002", "--db", db, "--at", AT)["state"] == "waiting"
    assert run_json(capsys, "cancel", "H002", "--db", db, "--at", AT)["state"] == "cancelled"


def test_transfer_move_queue_and_a_pause_with_a_reason(db, capsys):
    run_json(capsys, "checkin", "housing", "--db", db, "--at", AT)
    run_json(capsys, "checkin", "jobs", "--db", db, "--at", AT)
    run_json(capsys, "call", "1", "--ticket", "H001", "--db", db, "--at", AT)
    sent = run_json(capsys, "transfer", "H001", "--to", "3", "--db", db, "--at", AT)
    assert (sent["state"], sent["counter"]) == ("waiting", None)
    # Counter 3 does not serve housing, but calls the ticket sent to it.
    assert run_json(capsys, "call", "3", "--db", db, "--at", AT)["number"] == "H001"
    paused = run_json(
        capsys, "counter-state", "4", "pause", "--reason", "lunch", "--db", db, "--at", AT
    )
    assert paused["state"] == "paused"
    run_json(capsys, "counter-state", "4", "close", "--db", db, "--at", AT)
    moved = run_json(capsys, "move-queue", "4", "--to", "2", "--db", db, "--at", AT)
    assert moved == {"counter": "4", "to": "2", "moved": 1}
    assert run_json(capsys, "call", "2", "--db", db, "--at", AT)["number"] == "J001"
    before = dump(db)
    code, _, err = run(capsys, "move-queue", "1", "--to", "4", "--db", db, "--at", AT)
    assert (code, err.strip()) == (1, "Counter 4 is closed; choose an open counter.")
    assert dump(db) == before


def test_status_shows_waiting_and_counters(db, capsys):
    run_json(capsys, "checkin", "council-tax", "--db", db, "--at", AT)
    run_json(capsys, "checkin", "jobs", "--db", db, "--at", AT)
    run_json(capsys, "call", "4", "--db", db, "--at", AT)
    status = run_json(capsys, "status", "--db", db, "--at", "2026-11-23T09:12")
    council = next(q for q in status["queues"] if q["service"] == "council-tax")
    assert (council["waiting"], council["longest_wait_minutes"], council["next"]) == (1, 12, "C001")
    four = next(c for c in status["counters"] if c["counter"] == "4")
    assert (four["ticket"], four["since_minutes"]) == ("J001", 12)
    code, out, _ = run(capsys, "status", "--db", db, "--at", "2026-11-23T09:12")
    assert code == 0 and "Test Gateway: 1 waiting" in out
    assert "C001" in out and "J001" in out


def test_centre_lists_needs_with_their_journeys(db, capsys):
    listing = run_json(capsys, "centre", "--db", db)
    bereavement = next(n for n in listing["needs"] if n["code"] == "bereavement")
    assert bereavement["services"] == ["registrar", "council-tax", "housing"]
    assert {c["code"] for c in listing["counters"]} == {"1", "2", "3", "4"}
    _, out, _ = run(capsys, "centre", "--db", db)
    assert "registrar -> council-tax -> housing" in out


def test_watch_returns_events_after_a_cursor(db, capsys):
    first = run_json(capsys, "watch", "--db", db)
    run_json(capsys, "checkin", "jobs", "--db", db, "--at", AT)
    later = run_json(capsys, "watch", "--db", db, "--after", str(first["cursor"]))
    assert [e["kind"] for e in later["events"]] == ["checked_in", "ticket_issued"]
    assert later["cursor"] == first["cursor"] + 2


def test_init_again_updates_the_configuration(db, capsys, tmp_path):
    changed = tmp_path / "changed.toml"
    changed.write_text(SMALL_CENTRE.read_text().replace("Test Gateway", "Renamed Gateway"))
    assert run(capsys, "init", str(changed), "--db", db)[0] == 0
    assert run_json(capsys, "centre", "--db", db)["name"] == "Renamed Gateway"


def test_db_check_says_models_and_migrations_agree(db, capsys):
    result = run_json(capsys, "db", "check", "--db", db)
    assert result["revision"] is not None


def test_check_config_names_file_path_and_fault(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text(SMALL_CENTRE.read_text().replace('service = "jobs"', 'service = "jobz"'))
    code, out, err = run(capsys, "check-config", str(bad))
    assert code == 1
    assert f"{bad}: needs[2].service: refers to service 'jobz'" in err
    assert "Traceback" not in err
    code, out, _ = run(capsys, "check-config", str(SMALL_CENTRE))
    assert code == 0 and "is valid" in out


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (["checkin", "flying-lessons"], "'flying-lessons' is not one of the needs"),
        (["call", "99"], "There is no counter called '99'"),
        (["recall", "C999", "--at", LATER], "There is no ticket C999"),
        (["serve", "C001", "--at", LATER], "C001 is waiting, so it cannot be served."),
        (["done", "C001", "--at", LATER], "C001 is waiting, so it cannot be completed."),
        (["no-show", "C001", "--at", LATER], "C001 is waiting, so it cannot be marked no-show."),
        (["refer", "C001", "--to", "nowhere", "--handover"], "There is no service called"),
        (["checkin", "jobs", "--at", "yesterday-ish"], "is not a time"),
        (["serve", "C001", "--at", "2026-11-23T08:00"], "out of order"),
        (["checkin", "jobs", "--centre", "atlantis"], "There is no centre called 'atlantis'"),
    ],
)
def test_bad_input_gives_one_sentence_and_changes_nothing(db, capsys, argv, sentence):
    run_json(capsys, "checkin", "council-tax", "--db", db, "--at", AT)
    before = dump(db)
    code, _, err = run(capsys, *argv, "--db", db)
    assert code not in (0, 3)
    assert sentence in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert dump(db) == before


def test_unreachable_store_is_one_sentence(capsys):
    code, _, err = run(capsys, "status", "--db", "postgresql://nobody@127.0.0.1:1/none")
    assert code == 1
    assert "cannot be reached" in err and len(err.strip().splitlines()) == 1


def test_store_that_was_never_set_up_says_run_init(tmp_path, capsys):
    code, _, err = run(capsys, "status", "--db", str(tmp_path / "empty.db"))
    assert code == 1
    assert "run `gateway init`" in err


def test_locked_store_waits_then_gives_a_sentence(db, capsys, monkeypatch):
    import sqlite3

    import gateway.store

    monkeypatch.setattr(gateway.store, "BUSY_TIMEOUT_S", 0.2)
    monkeypatch.setattr(gateway.store, "_RETRIES", 2)
    blocker = sqlite3.connect(db.removeprefix("sqlite:///"), isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        before_code, _, err = run(capsys, "checkin", "jobs", "--db", db)
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert before_code == 1 and "locked" in err
    assert run(capsys, "checkin", "jobs", "--db", db)[0] == 0  # fine once released


def test_gateway_db_environment_variable_picks_the_store(db, capsys, monkeypatch):
    monkeypatch.setenv("GATEWAY_DB", db)
    assert run_json(capsys, "checkin", "jobs", "--at", AT)["number"] == "J001"


def test_console_script_runs_as_a_real_process(db):
    exe = shutil.which("gateway", path=str(Path(sys.executable).parent))
    assert exe, "the gateway console script is installed with the package"
    result = subprocess.run(
        [exe, "call", "1", "--db", db], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    assert result.stderr.strip() == "Nobody is waiting for counter 1."
