"""``gateway demo``: a realistic day played through the queue verbs, and its summary.

Each run plays a small day (scale 0.3, about 80 visits) on a Monday, so the figures do not
depend on today's date.
"""

from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from gateway.cli import main
from gateway.config import EXAMPLE_CENTRE, load_centre_file
from gateway.demo import _demo_day
from tests.conftest import SMALL_CENTRE

MONDAY = "2026-11-23"


def play(db: Path, *extra: str) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    args = ["demo", "--db", str(db), "--json", "--seed", "3", "--scale", "0.3", *extra]
    with redirect_stdout(out), redirect_stderr(err):
        code = main(args)
    assert code == 0, err.getvalue()
    figures: dict[str, Any] = json.loads(out.getvalue())
    return figures


@pytest.fixture(scope="module")
def store_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("demo") / "d.db"


@pytest.fixture(scope="module")
def day(store_file: Path) -> dict[str, Any]:
    """One demo day, played once for the whole module (it takes a second or two)."""
    return play(store_file, "--day", MONDAY)


def test_a_demo_day_serves_people_and_every_ticket_ends(day: dict[str, Any]) -> None:
    assert day["day"] == MONDAY and day["centre"] == "maidstone"
    assert 40 <= day["visits"] <= 160
    assert day["tickets"] >= day["visits"] > 0  # journeys and handovers add tickets
    assert 0 < day["served"] <= day["tickets"]
    assert day["not_ended"] == 0
    assert day["footfall"] == day["visits"] + day["information_only"]
    assert day["information_only"] > 0


def test_figures_add_up_across_agencies_and_services(day: dict[str, Any]) -> None:
    for key in ("tickets", "served", "no_shows", "referred"):
        assert sum(a[key] for a in day["agencies"]) == day[key]
        assert sum(s[key] for s in day["services"]) == day[key]
    assert len(day["agencies"]) >= 4
    assert {"mbc", "dwp"} <= {a["agency"] for a in day["agencies"]}


def test_waits_are_minutes_not_hours(day: dict[str, Any]) -> None:
    rows = [day, *day["agencies"], *day["services"]]
    for row in rows:
        if row["served"]:
            assert row["avg_wait_minutes"] >= 0 and row["p90_wait_minutes"] >= 0
            assert 0 <= row["within_target_percent"] <= 100
    assert day["avg_wait_minutes"] < 30


def test_referrals_help_and_appointments_happen(day: dict[str, Any]) -> None:
    referrals = day["referrals"]
    assert referrals["total"] > 0
    assert referrals["handover"] + referrals["signpost"] == referrals["total"]
    assert 0 <= referrals["cross_agency"] <= referrals["total"]
    assert day["referred"] == referrals["total"]
    assert day["help_requests"] > 0
    assert day["appointments"] > 0
    assert day["journeys"] > 0


def test_same_seed_plays_the_same_day(day: dict[str, Any], tmp_path: Path) -> None:
    again = play(tmp_path / "again.db", "--day", MONDAY)
    assert {**again, "store": None} == {**day, "store": None}


def test_a_second_demo_on_the_same_day_and_store_is_refused(
    day: dict[str, Any], store_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["demo", "--db", str(store_file), "--json", "--day", MONDAY])
    out = capsys.readouterr()
    assert code != 0
    assert out.out == ""
    assert "already has" in out.err and MONDAY in out.err
    assert out.err.strip().endswith(".") and out.err.count("\n") == 1


def test_a_store_holding_another_centre_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = str(tmp_path / "real.db")
    assert main(["init", str(SMALL_CENTRE), "--db", db]) == 0
    capsys.readouterr()
    assert main(["demo", "--db", db, "--day", MONDAY]) != 0
    assert "holds another centre (testing)" in capsys.readouterr().err
    assert main(["status", "--db", db]) == 0  # still one centre: the CLI needs no --centre


def test_a_day_the_centre_is_closed_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["demo", "--day", "2026-11-29"])  # a Sunday
    assert code != 0
    assert "closed on Sundays" in capsys.readouterr().err


def test_the_default_day_is_the_next_weekday() -> None:
    today = datetime.now(ZoneInfo("Europe/London")).date()
    day = _demo_day(None, load_centre_file(EXAMPLE_CENTRE))
    assert day.weekday() < 5
    assert 1 <= (day - today).days <= 3


def test_the_summary_tables_name_the_agencies(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    db = tmp_path / "text.db"
    code = main(["demo", "--db", str(db), "--seed", "3", "--scale", "0.3", "--day", MONDAY])
    text = capsys.readouterr().out
    assert code == 0
    for words in ("By agency", "By service", "Borough council", "Jobcentre Plus", "referrals"):
        assert words in text
    assert f"gateway status --db {db}" in text
