"""Loading a centre file into the store, and finding a loaded centre again.

Loading is an upsert by code: re-running ``gateway init`` updates names, targets and
skills, adds what is new, and marks what left the file inactive. Nothing is deleted, so
old tickets keep their service and reports keep their history.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

from sqlmodel import Session, SQLModel, select

from gateway import models
from gateway.clock import Clock
from gateway.config import CentreConfig, config_from_json
from gateway.errors import UnknownError
from gateway.events import EventLog
from gateway.store import Store

T = TypeVar("T", bound=SQLModel)


def load_centre(store: Store, config: CentreConfig, clock: Clock) -> int:
    """Create or update the centre described by ``config``. Returns its id. Atomic."""

    def work(session: Session) -> int:
        now = clock.now()
        info = config.centre
        centre = session.exec(select(models.Centre).where(models.Centre.code == info.code)).first()
        created = centre is None
        if centre is None:
            centre = models.Centre(
                code=info.code, name=info.name, timezone=info.timezone, config={}
            )
        centre.name, centre.timezone = info.name, info.timezone
        centre.config = config.model_dump(mode="json")
        centre.loaded_at = now
        session.add(centre)
        session.flush()
        assert centre.id is not None
        cid = centre.id

        agencies = _upsert(
            session, models.Agency, cid, {a.code: {"name": a.name} for a in config.agencies}
        )
        services = _upsert(
            session,
            models.Service,
            cid,
            {
                s.code: {
                    "agency_id": agencies[s.agency].id,
                    "name": s.name,
                    "prefix": s.prefix,
                    "target_wait_minutes": s.target_wait_minutes,
                    "typical_service_minutes": s.typical_service_minutes,
                }
                for s in config.services
            },
        )
        _upsert(
            session,
            models.Counter,
            cid,
            {
                c.code: {"name": c.name, "skills": [services[code].id for code in c.services]}
                for c in config.counters
            },
        )
        log = EventLog(cid, actor="init")
        log.add("centre_loaded" if created else "centre_updated", now, code=info.code)
        log.flush(session)
        return cid

    result: int = store.retrying(work)
    return result


def _upsert(
    session: Session, model: type[T], centre_id: int, wanted: dict[str, dict[str, Any]]
) -> dict[str, T]:
    existing = {
        row.code: row  # type: ignore[attr-defined]
        for row in session.exec(select(model).where(model.centre_id == centre_id))  # type: ignore[attr-defined]
    }
    out: dict[str, T] = {}
    for code, fields in wanted.items():
        row = existing.get(code) or model(centre_id=centre_id, code=code, **fields)
        for name, value in fields.items():
            setattr(row, name, value)
        row.active = True
        session.add(row)
        out[code] = row
    for code, row in existing.items():
        if code not in wanted:
            row.active = False
            session.add(row)
    session.flush()
    return out


@dataclass(frozen=True)
class CentreView:
    """A loaded centre's fixed parts, read once: ids, codes and the parsed file."""

    id: int
    code: str
    name: str
    timezone: str
    config: CentreConfig
    agencies: dict[int, models.Agency]
    services: dict[int, models.Service]
    counters: dict[int, models.Counter]

    def service_by_code(self, code: str) -> models.Service:
        for service in self.services.values():
            if service.code == code and service.active:
                return service
        raise UnknownError(f"There is no service called '{code}' at {self.name}.")

    def counter_by_code(self, code: str) -> models.Counter:
        for counter in self.counters.values():
            if counter.code == code and counter.active:
                return counter
        raise UnknownError(f"There is no counter called '{code}' at {self.name}.")


def list_centres(store: Store) -> list[models.Centre]:
    with store.read() as session:
        return list(session.exec(select(models.Centre).order_by(models.Centre.code)))


def open_centre(store: Store, code: str | None = None) -> CentreView:
    """The centre named ``code``; with no code, the only centre in the store."""
    with store.read() as session:
        if code is None:
            centres = list(session.exec(select(models.Centre)))
            if not centres:
                raise UnknownError(
                    f"The store at {store.where} holds no centre yet; run `gateway init`."
                )
            if len(centres) > 1:
                codes = ", ".join(sorted(c.code for c in centres))
                raise UnknownError(
                    f"The store holds several centres ({codes}); choose one with --centre."
                )
            centre: models.Centre | None = centres[0]
        else:
            centre = session.exec(select(models.Centre).where(models.Centre.code == code)).first()
        if centre is None:
            raise UnknownError(f"There is no centre called '{code}' in the store.")
        assert centre.id is not None

        def by_id(model: type[T]) -> dict[int, T]:
            rows = session.exec(select(model).where(model.centre_id == centre.id))  # type: ignore[attr-defined]
            return {row.id: row for row in rows}  # type: ignore[attr-defined]

        return CentreView(
            id=centre.id,
            code=centre.code,
            name=centre.name,
            timezone=centre.timezone,
            config=config_from_json(centre.config),
            agencies=by_id(models.Agency),
            services=by_id(models.Service),
            counters=by_id(models.Counter),
        )
