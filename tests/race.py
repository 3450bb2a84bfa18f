"""The race centre: one agency, three services and N counters that all serve all three, so
every counter competes for the same tickets. Shared by the concurrency tests and the
queue benchmark."""

from __future__ import annotations

NEEDS = ("council-tax", "housing", "parking")
PREFIXES = {"council-tax": "C", "housing": "H", "parking": "P"}
CODE = "race"


def race_centre_toml(counters: int) -> str:
    skills = ", ".join(f'"{need}"' for need in NEEDS)
    parts = [
        f'[centre]\ncode = "{CODE}"\nname = "Race Gateway"\ntimezone = "Europe/London"\n',
        '[[agencies]]\ncode = "council"\nname = "Race Borough Council"\n',
        '[[categories]]\ncode = "everything"\ntext = "Everything"\n',
    ]
    for need in NEEDS:
        parts.append(
            f'[[services]]\ncode = "{need}"\nagency = "council"\nname = "{need.title()}"\n'
            f'prefix = "{PREFIXES[need]}"\ntarget_wait_minutes = 10\n'
            "typical_service_minutes = 5\n"
        )
        parts.append(
            f'[[needs]]\ncode = "{need}"\ncategory = "everything"\n'
            f'text = "I need help with {need}"\nservice = "{need}"\n'
        )
    for n in range(1, counters + 1):
        parts.append(f'[[counters]]\ncode = "{n}"\nname = "Counter {n}"\nservices = [{skills}]\n')
    return "\n".join(parts)


def open_race_centre(url: str, counters: int) -> int:
    """Migrate the store, load the race centre and open every counter. Returns its id."""
    from gateway import migrate
    from gateway.centres import load_centre
    from gateway.clock import WallClock
    from gateway.config import parse_centre
    from gateway.queue import Queue
    from gateway.store import Store

    store = Store(url)
    try:
        migrate.upgrade(store)
        centre_id = load_centre(store, parse_centre(race_centre_toml(counters)), WallClock())
        desk = Queue(store, CODE, actor="supervisor")
        for n in range(1, counters + 1):
            desk.set_counter_state(str(n), "open")
        return centre_id
    finally:
        store.dispose()
