"""Referrals: passing a visit from one agency's service to another's."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from gateway.engine import Engine
from gateway.errors import NotAllowed, UnknownError
from gateway.events import EventLog
from gateway.models import Referral, Ticket, Visit
from gateway.tickets import AT_COUNTER, TicketView


class ReferralVerbs(Engine):
    # -- referrals --------------------------------------------------------------------

    def refer(
        self,
        ticket: str | int,
        to_service: str,
        *,
        kind: str,
        reason: str | None = None,
        consent: bool = False,
        staff: str | None = None,
    ) -> tuple[TicketView, TicketView | None]:
        """Refer the visit at a counter to another service.

        ``handover``: queued there now, keeping its original arrival time; the new ticket
        takes the place of this journey step. ``signpost``: logged, and the customer is
        told where to go; the journey goes on to its next step. Either way this ticket
        ends as ``referred``. Returns it and the new ticket (handover or next step).
        """
        if kind not in ("handover", "signpost"):
            raise UnknownError(f"'{kind}' is not a kind of referral (handover or signpost).")
        target = self.centre.service_by_code(to_service)

        def work(session: Session, log: EventLog, now: datetime) -> tuple[Ticket, Ticket | None]:
            row = self._ticket(session, ticket, now)
            self._require(row, AT_COUNTER, "referred")
            if row.service_id == target.id:
                raise NotAllowed(f"{row.number} is already at {target.name}.")
            source = self.centre.services[row.service_id]
            visit = session.get(Visit, row.visit_id)
            assert visit is not None and visit.id is not None and row.id is not None
            assert target.id is not None and source.id is not None
            referral = Referral(
                centre_id=self.centre.id,
                visit_id=visit.id,
                from_ticket_id=row.id,
                from_agency_id=source.agency_id,
                from_service_id=source.id,
                to_agency_id=target.agency_id,
                to_service_id=target.id,
                kind=kind,
                reason=reason,
                consent_share=consent,
                staff_id=self._staff_id(session, staff) or row.staff_id,
                at=now,
            )
            self._end(session, log, row, "referred", now, referral=kind, to=target.code)
            follow: Ticket | None
            if kind == "handover":
                handed = self._issue(
                    session, log, visit, target.code, row.step, now, row.priority_from
                )
                referral.to_ticket_id = handed.id
                follow = handed
            else:
                follow = self._next_step(session, log, row, now)
            session.add(referral)
            session.flush()
            log.add(
                "referral",
                now,
                ticket_id=row.id,
                visit_id=visit.id,
                referral=kind,
                to=target.code,
                referral_id=referral.id,
                cross_agency=source.agency_id != target.agency_id,
            )
            return row, follow

        return self._run_ending(work)
