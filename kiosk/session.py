"""One customer's time at the kiosk, as plain data: what they chose, and where they are.

The screens drive it; it knows nothing of Textual, so its rules (one ticket per session,
questions only when the need asks for them) are tested without a screen.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from gateway.config import Need
from gateway.footfall import KioskSessionRecord, KioskStep
from gateway.tickets import TicketView
from kiosk.i18n import translation

APPOINTMENT_MAX = 32


@dataclass
class KioskSession:
    kiosk: str
    started_at: datetime
    id: str = field(default_factory=lambda: secrets.token_hex(6))
    language: str = "en"
    step: str = "language"
    steps: list[KioskStep] = field(default_factory=list)
    category: str | None = None
    need: Need | None = None
    help: str | None = None
    answers: dict[str, Any] = field(default_factory=dict)
    questions_left: list[str] = field(default_factory=list)
    issuing: bool = False
    answered: bool = False  # was shown an information answer
    ticket: TicketView | None = None
    ended: str | None = None  # the outcome once the session is over

    # -- language ---------------------------------------------------------------------

    def gettext(self, message: str) -> str:
        return translation(self.language).gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return translation(self.language).ngettext(singular, plural, n)

    # -- steps ------------------------------------------------------------------------

    def ask_for_help(self, kind: str, at: datetime) -> None:
        """Help asked for (any screen): the ticket, when it comes, carries it."""
        self.help = kind
        self.steps.append(KioskStep("help", at, kind))

    def choose_language(self, language: str, at: datetime) -> None:
        self.language = language
        self.steps.append(KioskStep("language", at, language))
        self.step = "category"

    def choose_category(self, category: str, at: datetime) -> None:
        self.category = category
        self.steps.append(KioskStep("category", at, category))
        self.step = "need"

    def choose_need(self, need: Need, at: datetime) -> None:
        self.need = need
        self.category = need.category
        self.steps.append(KioskStep("need", at, need.code))
        self.questions_left = list(need.questions)
        self.answers = {}
        self.step = "answer" if need.answer else ("question" if need.questions else "ticket")

    def answer(self, question: str, value: Any, at: datetime) -> None:
        """Record an answer (None: skipped) and move on to the next question."""
        if question in self.questions_left:
            self.questions_left.remove(question)
        if value is not None:
            self.answers[question] = value
        self.steps.append(KioskStep(f"question:{question}", at, None))
        if not self.questions_left:
            self.step = "ticket"

    @property
    def next_question(self) -> str | None:
        return self.questions_left[0] if self.questions_left else None

    def may_issue(self) -> bool:
        """True once: the first caller gets to issue this session's ticket."""
        if self.issuing or self.ticket is not None or self.ended or self.need is None:
            return False
        if not self.need.services:
            return False
        self.issuing = True
        return True

    def check_in_arguments(self) -> dict[str, Any]:
        assert self.need is not None
        return {
            "need": self.need.code,
            "language": self.language,
            "help_needed": self.help,
            "postcode_district": self.answers.get("postcode"),
            "appointment_ref": self.answers.get("appointment"),
            "consent_share": bool(self.answers.get("consent", False)),
            "kiosk": self.kiosk,
        }

    def end(self, outcome: str) -> KioskSessionRecord | None:
        """Close the session; returns what to write, or None if it had already ended or
        nobody touched it (a reset of the idle start screen is not footfall)."""
        if self.ended or not self.steps:
            self.ended = self.ended or outcome
            return None
        self.ended = outcome
        return KioskSessionRecord(
            kiosk=self.kiosk,
            session=self.id,
            started_at=self.started_at,
            outcome=outcome,
            step=self.step,
            steps=list(self.steps),
            language=self.language,
            need=self.need.code if self.need else None,
            ticket=self.ticket.number if self.ticket else None,
            help=self.help,
        )
