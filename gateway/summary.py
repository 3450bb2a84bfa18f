"""A day's figures for one centre: tickets, waits, service levels, referrals, footfall.

Read through the store, never written. The demo prints it at the end of its day; the
managers' reports will grow from here.
"""

from __future__ import annotations

import math
from collections import Counter as Tally
from datetime import date
from typing import Any

from sqlmodel import select

from gateway.centres import CentreView
from gateway.models import Referral, Ticket, Visit
from gateway.store import Store
from gateway.tickets import ENDED


def _wait(ticket: Ticket) -> float:
    """Minutes from joining this queue to being called; an appointment that came early
    waits from its time (never below zero: a counter may call it before)."""
    assert ticket.called_at is not None
    since = max(ticket.issued_at, ticket.priority_from or ticket.issued_at)
    return max(0.0, (ticket.called_at - since).total_seconds() / 60)


def _figures(tickets: list[Ticket], targets: dict[int, int]) -> dict[str, Any]:
    """Counts, average and 90th percentile wait, and the share called within target."""
    called = [t for t in tickets if t.called_at is not None]
    minutes = sorted(_wait(t) for t in called)
    within = sum(1 for t in called if _wait(t) <= targets[t.service_id])
    avg = round(sum(minutes) / len(minutes), 1) if minutes else None
    p90 = round(minutes[math.ceil(len(minutes) * 0.9) - 1], 1) if minutes else None
    return {
        "tickets": len(tickets),
        "served": sum(1 for t in tickets if t.serving_at is not None),
        "no_shows": sum(1 for t in tickets if t.state == "no_show"),
        "referred": sum(1 for t in tickets if t.state == "referred"),
        "avg_wait_minutes": avg,
        "p90_wait_minutes": p90,
        "within_target_percent": round(100 * within / len(called)) if called else None,
    }


def summarise(store: Store, centre: CentreView, day: date, information_only: int) -> dict[str, Any]:
    """The day's figures, read through the store (the demo writes only through verbs)."""
    with store.read() as session:
        of_day = (Visit.centre_id == centre.id, Visit.day == day)
        visits = list(session.exec(select(Visit).where(*of_day)))
        tickets = list(session.exec(select(Ticket).join(Visit).where(*of_day)))
        referrals = list(session.exec(select(Referral).join(Visit).where(*of_day)))
    services = centre.services
    targets = {sid: s.target_wait_minutes for sid, s in services.items()}
    short = {a.code: a.short_name or a.name for a in centre.config.agencies}
    by_service = [
        {"service": s.code, "name": s.name, "agency": centre.agencies[s.agency_id].code,
         "target_wait_minutes": s.target_wait_minutes}
        | _figures(mine, targets)
        for s in sorted(services.values(), key=lambda s: (s.agency_id, s.id or 0))
        if (mine := [t for t in tickets if t.service_id == s.id])
    ]  # fmt: skip
    by_agency = [
        {"agency": a.code, "name": short.get(a.code, a.name)} | _figures(mine, targets)
        for aid, a in centre.agencies.items()
        if (mine := [t for t in tickets if services[t.service_id].agency_id == aid])
    ]
    kinds = Tally(r.kind for r in referrals)
    return {
        "centre": centre.code,
        "name": centre.name,
        "day": day.isoformat(),
        "footfall": len(visits) + information_only,
        "visits": len(visits),
        "information_only": information_only,
        **_figures(tickets, targets),
        "cancelled_at_close": sum(1 for t in tickets if t.state == "cancelled"),
        "not_ended": sum(1 for t in tickets if t.state not in ENDED),
        "referrals": {
            "total": len(referrals),
            "handover": kinds["handover"],
            "signpost": kinds["signpost"],
            "cross_agency": sum(1 for r in referrals if r.from_agency_id != r.to_agency_id),
        },
        "help_requests": sum(1 for v in visits if v.help_needed),
        "appointments": sum(1 for v in visits if v.appointment_ref),
        "journeys": sum(1 for v in visits if len(v.journey) > 1),
        "not_in_english": sum(1 for v in visits if v.language != "en"),
        "avoidable": sum(1 for t in tickets if t.avoidable),
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
        ("tickets", f"{f['tickets']} ({f['journeys']} visits on a journey of several services)"),
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
        "Waits run from joining a service's queue (or an appointment's time) to being called.\n"
        f"The demo store is {f['store']}; explore it with\n"
        f"  gateway status --db {f['store']}\n  gateway watch --db {f['store']}"
    )
    return render(title, day, agencies, services, foot)
