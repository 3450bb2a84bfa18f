"""Today's alerts for staff, each one plain sentence, newest first."""

from __future__ import annotations

import json

import pytest

from gateway.alerts import todays_alerts
from gateway.cli import main
from gateway.errors import NotAllowed
from gateway.staff import MAX_WRONG_PINS


def test_each_kind_of_alert_is_one_sentence_newest_first(any_queue, clock):
    q = any_queue
    ticket = q.check_in("council-tax")
    q.ask_for_help("hearing_loop", ticket=ticket.number, kiosk="door-left")
    clock.advance(minutes=1)
    q.report_print_failed(ticket.number, reason="The printer tcp:p:9100 did not answer.")
    clock.advance(minutes=1)
    q.report_device_health("door-left", "printer", "paper_low", spec="tcp:p:9100")
    q.report_device_health("door-left", "printer", "ok", spec="tcp:p:9100")  # fine again
    clock.advance(minutes=1)
    q.add_staff("asha", "Asha Patel", "4821")
    for _ in range(MAX_WRONG_PINS):
        with pytest.raises(NotAllowed):
            q.sign_in("asha", "0000", counter="1")
    texts = [a.text for a in todays_alerts(q.store, q.centre, clock.now())]
    assert texts == [
        "asha is locked out after too many wrong PINs.",
        "door-left: the printer is low on paper.",
        f"Ticket {ticket.number} did not print: The printer tcp:p:9100 did not answer.",
        f"Someone at door-left asked for the hearing loop (ticket {ticket.number}).",
    ]


def test_yesterdays_alerts_are_not_todays(queue, clock):
    queue.report_device_health("k", "scanner", "unplugged", spec="serial:/dev/ttyACM0")
    clock.advance(days=1)
    assert todays_alerts(queue.store, queue.centre, clock.now()) == []


def test_gateway_alerts_prints_them_with_the_local_time(tmp_path, capsys):
    from tests.conftest import SMALL_CENTRE

    db = f"sqlite:///{tmp_path / 'alerts.db'}"
    at = ["--db", db, "--at", "2026-11-23T10:15"]
    assert main(["init", str(SMALL_CENTRE), *at]) == 0
    capsys.readouterr()
    assert main(["alerts", *at]) == 0
    assert capsys.readouterr().out.strip() == "No alerts today."
    assert main(["checkin", "council-tax", "--help-needed", "wheelchair", *at]) == 0
    capsys.readouterr()
    assert main(["alerts", *at]) == 0
    assert capsys.readouterr().out.strip().startswith("10:15  Someone asked for wheelchair")
    assert main(["alerts", "--json", *at]) == 0
    (alert,) = json.loads(capsys.readouterr().out)["alerts"]
    assert alert["kind"] == "help_requested"
