"""Text for the command line: the centre's listing and the room's status, as rich tables."""

from __future__ import annotations

import io
from typing import Any

from gateway.centres import CentreView
from gateway.status import RoomStatus


def render(*renderables: Any) -> str:
    from rich.console import Console

    console = Console(width=110, record=True, file=io.StringIO(), color_system=None)
    for item in renderables:
        console.print(item)
    return console.export_text().rstrip()


def centre_listing(centre: CentreView) -> tuple[dict[str, Any], str]:
    from rich.table import Table

    config = centre.config
    obj: dict[str, Any] = {
        "centre": centre.code,
        "name": centre.name,
        "timezone": centre.timezone,
        "languages": config.centre.languages,
        "agencies": [a.model_dump() for a in config.agencies],
        "services": [s.model_dump(exclude={"translations"}) for s in config.services],
        "needs": [
            {
                "code": n.code,
                "category": n.category,
                "text": n.text,
                "services": n.services,
                "information": n.answer is not None,
            }
            for n in config.needs
        ],
        "counters": [
            {
                "code": c.code,
                "name": c.name,
                "services": c.services,
                "state": next(
                    (k.state for k in centre.counters.values() if k.code == c.code), "closed"
                ),
            }
            for c in config.counters
        ],
    }
    services = Table("service", "name", "agency", "prefix", "target", "typical", title="Services")
    for s in config.services:
        services.add_row(
            s.code,
            s.name,
            s.agency,
            s.prefix,
            f"{s.target_wait_minutes} min",
            f"{s.typical_service_minutes:g} min",
        )
    needs = Table("need", "in plain words", "goes to", title="Needs")
    for n in config.needs:
        needs.add_row(n.code, n.text, " -> ".join(n.services) or "(answered on screen)")
    counters = Table("counter", "name", "skills, in order of preference", "state", title="Counters")
    for c in obj["counters"]:
        counters.add_row(c["code"], c["name"], ", ".join(c["services"]), c["state"])
    agencies = ", ".join(f"{a.name} ({a.code})" for a in config.agencies)
    head = f"{centre.name} ({centre.code}), {centre.timezone}\nAgencies: {agencies}"
    return obj, render(head, services, needs, counters)


def _plain(*cells: str) -> list[Any]:
    """Cells as plain text: never markup, no control characters (device text is free)."""
    from rich.text import Text

    from gateway.status import printable

    return [Text(printable(cell)) for cell in cells]


def status_text(centre: CentreView, status: RoomStatus) -> str:
    from rich.table import Table

    queues = Table(
        "service",
        "agency",
        "waiting",
        "priority",
        "held",
        "longest",
        "target",
        "next",
        title="Waiting",
    )
    for q in status.queues:
        longest = f"{q.longest_wait_minutes} min" if q.waiting else "-"
        over = " !" if q.waiting and q.longest_wait_minutes > q.target_wait_minutes else ""
        queues.add_row(
            *_plain(
                q.service_name,
                q.agency,
                str(q.waiting),
                str(q.priority),
                str(q.held),
                longest + over,
                f"{q.target_wait_minutes} min",
                q.next or "-",
            )
        )
    counters = Table("counter", "state", "ticket", "service", "for", title="Counters")
    for c in status.counters:
        counters.add_row(
            *_plain(
                c.counter,
                c.state,
                c.ticket or "-",
                f"{c.service} ({c.ticket_state})" if c.service else "-",
                f"{c.since_minutes} min" if c.since_minutes is not None else "-",
            )
        )
    total = sum(q.waiting for q in status.queues)
    parts: list[Any] = [queues, counters]
    if status.devices:
        devices = Table("where", "device", "health", "for", "checked", "detail", title="Devices")
        for d in status.devices:
            devices.add_row(
                *_plain(
                    d.place,
                    d.device,
                    d.health.replace("_", " ") + ("" if d.health == "ok" else " !"),
                    f"{d.since_minutes} min",
                    f"{d.checked_minutes} min ago",
                    d.detail or "-",
                )
            )
        parts.append(devices)
    return render(*_plain(f"{centre.name}: {total} waiting"), *parts)
