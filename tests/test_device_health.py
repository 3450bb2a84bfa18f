"""The core's record of the edge: device health, door counts and reprints."""

from __future__ import annotations

import pytest
from sqlmodel import select

from gateway.errors import UnknownError
from gateway.events import watch
from gateway.models import DeviceHealth
from gateway.status import room_status


def _events(queue, kind):
    return [e for e in watch(queue.store, queue.centre.id) if e.kind == kind]


def test_health_is_kept_per_device_and_each_change_is_one_event(any_queue, clock):
    q = any_queue
    assert q.report_device_health("kiosk-1", "printer", "ok", spec="tcp:printer:9100")
    clock.advance(minutes=5)
    assert not q.report_device_health("kiosk-1", "printer", "ok", spec="tcp:printer:9100")
    clock.advance(minutes=5)
    assert q.report_device_health(
        "kiosk-1", "printer", "paper_low", spec="tcp:printer:9100", detail="low"
    )
    q.report_device_health("kiosk-2", "scanner", "unplugged", spec="serial:/dev/ttyACM0")

    changes = _events(q, "device_health")
    assert [(e.data["place"], e.data["health"], e.data.get("previous")) for e in changes] == [
        ("kiosk-1", "ok", None),
        ("kiosk-1", "paper_low", "ok"),
        ("kiosk-2", "unplugged", None),
    ]
    assert [e.data["alert"] for e in changes] == [False, True, True]
    with q.store.read() as session:
        rows = session.exec(select(DeviceHealth).order_by(DeviceHealth.place)).all()
    assert [(r.place, r.device, r.health) for r in rows] == [
        ("kiosk-1", "printer", "paper_low"),
        ("kiosk-2", "scanner", "unplugged"),
    ]
    printer = rows[0]
    assert printer.checked_at == clock.now() and printer.changed_at == clock.now()


def test_the_room_status_shows_each_devices_last_health(queue, clock):
    queue.report_device_health("kiosk-1", "printer", "paper_out", spec="usb:04b8:0202")
    clock.advance(minutes=12)
    status = room_status(queue.store, queue.centre, clock.now())
    (device,) = status.devices
    assert (device.place, device.device, device.health) == ("kiosk-1", "printer", "paper_out")
    assert device.checked_minutes == 12 and device.since_minutes == 12
    assert status.as_dict()["devices"][0]["health"] == "paper_out"


def test_nonsense_health_or_device_is_refused_and_writes_nothing(queue):
    before = list(watch(queue.store, queue.centre.id))
    with pytest.raises(UnknownError, match="not a device health"):
        queue.report_device_health("kiosk-1", "printer", "fine", spec="none")
    with pytest.raises(UnknownError, match="not a device"):
        queue.report_device_health("kiosk-1", "toaster", "ok", spec="none")
    assert list(watch(queue.store, queue.centre.id)) == before


def test_each_door_entry_is_a_footfall_event_at_the_time_seen(any_queue, clock):
    seen = clock.now()
    clock.advance(minutes=3)  # written late (the store was down)
    any_queue.count_door_entry("front-door", at=seen)
    any_queue.count_door_entry("front-door")
    entries = _events(any_queue, "door_entry")
    assert [e.at for e in entries] == [seen, clock.now()]
    assert {e.data["sensor"] for e in entries} == {"front-door"}


def test_a_reprint_is_recorded_against_the_ticket(queue):
    ticket = queue.check_in("council-tax")
    view = queue.record_reprint(ticket.number, printer="preview:/tmp/x")
    assert view.number == ticket.number
    (event,) = _events(queue, "ticket_reprinted")
    assert event.ticket_id == ticket.id and event.data["printer"] == "preview:/tmp/x"
    assert queue.visit_language(ticket) == "en"


def test_an_unchanged_report_moves_checked_but_not_since(queue, clock):
    queue.report_device_health("kiosk-1", "scanner", "ok", spec="serial:/dev/ttyACM0")
    clock.advance(minutes=7)
    queue.report_device_health("kiosk-1", "scanner", "ok", spec="serial:/dev/ttyACM0")
    (device,) = room_status(queue.store, queue.centre, clock.now()).devices
    assert (device.since_minutes, device.checked_minutes) == (7, 0)
    assert len(_events(queue, "device_health")) == 1
