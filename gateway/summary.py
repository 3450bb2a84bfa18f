"""A day's figures for one centre, for the demo: the managers' reports for one day, with
the few visit counts the demo shows besides (help asked, appointments, journeys).

Read through the store, never written; every figure comes from ``gateway.reports``, so
the demo and the managers agree.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlmodel import col, func, select

from gateway import reports
from gateway.centres import CentreView
from gateway.models import Visit
from gateway.store import Store


def _figures(row: dict[str, Any]) -> dict[str, Any]:
    """Counts, average and 90th percentile wait, and the share called within target."""
    tickets, waits = row["tickets"], row["wait_minutes"]
    within = row["service_level"]["within_target_pct"]
    return {
        "tickets": tickets["issued"],
        "served": tickets["served"],
        "no_shows": tickets["no_show"],
        "referred": tickets["referred"],
        "avg_wait_minutes": waits["mean"],
        "p90_wait_minutes": waits["p90"],
        "within_target_percent": None if within is None else round(within),
    }


def summarise(store: Store, centre: CentreView, day: date, information_only: int) -> dict[str, Any]:
    """The day's figures, read through the store (the demo writes only through verbs)."""
    days = reports.Days(day, day)
    total = reports.summary(store, centre, days)
    per_agency = reports.summary(store, centre, days, by="agency")["rows"]
    per_service = reports.summary(store, centre, days, by="service")["rows"]
    routes = total["referrals"]
    with store.read() as session:
        of_day = (Visit.centre_id == centre.id, Visit.day == day)

        def visits(*where: Any) -> int:
            return int(session.exec(select(func.count()).where(*of_day, *where)).one())

        counts = {
            "visits": visits(),
            "help_requests": visits(col(Visit.help_needed).is_not(None)),
            "appointments": visits(col(Visit.appointment_ref).is_not(None)),
            "not_in_english": visits(Visit.language != "en"),
        }
    services = {s.code: s for s in centre.services.values()}
    agencies = {a.code: a for a in centre.config.agencies}
    by_service = [
        {
            "service": row["service"],
            "name": services[row["service"]].name,
            "agency": centre.agencies[services[row["service"]].agency_id].code,
            "target_wait_minutes": services[row["service"]].target_wait_minutes,
        }
        | _figures(row)
        for row in per_service
    ]
    by_service.sort(key=lambda s: (s["agency"], s["service"]))
    by_agency = [
        {
            "agency": row["agency"],
            "name": agencies[row["agency"]].short_name or agencies[row["agency"]].name,
        }
        | _figures(row)
        for row in per_agency
    ]

    def routes_of(kind: str) -> int:
        return sum(r["count"] for r in routes if r["kind"] == kind)

    tickets = total["tickets"]
    return {
        "centre": centre.code,
        "name": centre.name,
        "day": day.isoformat(),
        "footfall": counts["visits"] + information_only,
        "information_only": information_only,
        **counts,
        **_figures(total),
        "cancelled_at_close": tickets["walked_out"],
        "not_ended": tickets["still_open"],
        "referrals": {
            "total": sum(r["count"] for r in routes),
            "handover": routes_of("handover"),
            "signpost": routes_of("signpost"),
            "cross_agency": sum(r["count"] for r in routes if r["from_agency"] != r["to_agency"]),
        },
        "journeys": total["journeys"]["multi_agency"],
        "avoidable": total["avoidable"]["avoidable"],
        "agencies": by_agency,
        "services": by_service,
    }


def summary_text(figures: dict[str, Any], seconds: float) -> str:
    from rich.table import Table

    from gateway.views import render

    def row(f: dict[str, Any]) -> list[str]:
        avg, p90, within = f["avg_wait_minutes"], f["p90_wait_minutes"], f["within_target_percent"]
        return [
            str(f["tickets"]), str(f["served"]), str(f["no_shows"]), str(f["referred"]),
            "-" if avg is None else f"{avg:g} min", "-" if p90 is None else f"{p90:g} min",
            "-" if within is None else f"{within}%",
        ]  # fmt: skip

    f, r = figures, figures["referrals"]
    day = Table("the day", "", title="Footfall and referrals")
    for name, value in [
        ("footfall", f"{f['footfall']}: {f['visits']} visits, {f['information_only']} "
                     "information only (answered on screen, no ticket)"),
        ("tickets", f"{f['tickets']} ({f['journeys']} visits went to two or more agencies)"),
        ("referrals", f"{r['total']}: {r['handover']} handover, {r['signpost']} signpost; "
                      f"{r['cross_agency']} to another agency"),
        ("help asked", f"{f['help_requests']} (wheelchair, interpreter, hearing loop, BSL)"),
        ("appointments", str(f["appointments"])),
        ("not in English", str(f["not_in_english"])),
        ("avoidable contacts", str(f["avoidable"])),
        ("sent home at closing", str(f["cancelled_at_close"])),
    ]:  # fmt: skip
        day.add_row(name, value)
    head = ("tickets", "served", "no-shows", "referred", "avg wait", "p90 wait", "in target")
    agencies = Table("agency", *head, title="By agency")
    for a in f["agencies"]:
        agencies.add_row(a["name"], *row(a))
    agencies.add_row("All agencies", *row(f), style="bold")
    services = Table("service", "agency", "target", *head, title="By service")
    for s in f["services"]:
        services.add_row(s["service"], s["agency"], f"{s['target_wait_minutes']} min", *row(s))
    title = (
        f"{f['name']}: a demo day on {f['day']} (seed {f['seed']}, scale {f['scale']:g}), "
        f"played in {seconds:.1f} s."
    )
    foot = (
        "Waits run from joining a service's queue (arrival, or a handover) to the first call.\n"
        f"The demo store is {f['store']}; explore it with\n"
        f"  gateway status --db {f['store']}\n  gateway watch --db {f['store']}"
    )
    return render(title, day, agencies, services, foot)
