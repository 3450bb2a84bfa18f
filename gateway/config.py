"""The centre file: one TOML file describes one centre.

``load_centre_file`` validates it (shape with pydantic, then cross-references) and raises
``ConfigError`` with one line per problem, each naming the file, the field's path and what
is wrong. It never lets a traceback reach the user.
"""

from __future__ import annotations

import re
import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from gateway.errors import ConfigError

EXAMPLE_CENTRE = Path(__file__).parent / "centres" / "example.toml"

HELP_KINDS = ("wheelchair", "hearing_loop", "interpreter", "bsl", "other")
QUESTIONS = ("appointment", "postcode", "consent")
DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

Code = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
Translations = dict[str, str]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Agency(_Strict):
    code: Code
    name: str = Field(min_length=1)
    short_name: str | None = None


class Service(_Strict):
    code: Code
    agency: str
    name: str = Field(min_length=1)
    prefix: str = Field(pattern=r"^[A-Z]{1,2}$")
    target_wait_minutes: int = Field(gt=0, le=480)
    typical_service_minutes: float = Field(gt=0, le=240)
    bring: list[str] = []
    translations: Translations = {}
    bring_translations: dict[str, list[str]] = {}

    def name_in(self, language: str) -> str:
        return self.translations.get(language, self.name)

    def bring_in(self, language: str) -> list[str]:
        """What to bring, in the language when every line is translated, else in English."""
        lines = self.bring_translations.get(language)
        return lines if lines and len(lines) == len(self.bring) else list(self.bring)


class Category(_Strict):
    code: Code
    text: str = Field(min_length=1)
    translations: Translations = {}

    def text_in(self, language: str) -> str:
        return self.translations.get(language, self.text)


class Need(_Strict):
    """A kiosk choice. Exactly one of ``service``, ``journey`` or ``answer``."""

    code: Code
    category: str
    text: str = Field(min_length=1)
    translations: Translations = {}
    service: str | None = None
    journey: list[str] = []
    answer: str | None = None
    answer_translations: Translations = {}
    questions: list[Literal["appointment", "postcode", "consent"]] = []
    # The references on this need's appointment letters, as a regular expression (for
    # example "RB-[0-9]{6}"): a code scanned anywhere on the kiosk that matches it checks
    # the customer in for this need straight away.
    appointment_codes: str | None = None

    @field_validator("appointment_codes")
    @classmethod
    def _compiles(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"is not a regular expression ({exc})") from None
        return value

    def text_in(self, language: str) -> str:
        return self.translations.get(language, self.text)

    def takes_code(self, code: str) -> bool:
        """Whether a scanned appointment reference is one of this need's."""
        pattern = self.appointment_codes
        return pattern is not None and re.fullmatch(pattern, code) is not None

    def answer_in(self, language: str) -> str:
        return self.answer_translations.get(language, self.answer or "")

    @property
    def services(self) -> list[str]:
        """The services this need queues for, in order (empty for information needs)."""
        if self.service:
            return [self.service]
        return list(self.journey)


class Counter(_Strict):
    code: Code
    name: str = Field(min_length=1)
    services: list[str] = Field(min_length=1)
    location: str | None = None


class Outcome(_Strict):
    code: Code
    text: str = Field(min_length=1)


DEFAULT_OUTCOMES = (
    Outcome(code="resolved", text="Resolved"),
    Outcome(code="partly-resolved", text="Partly resolved"),
    Outcome(code="follow-up", text="Follow-up booked"),
    Outcome(code="unresolved", text="Could not be resolved"),
)


class CentreInfo(_Strict):
    code: Code
    name: str = Field(min_length=1)
    timezone: str = "Europe/London"
    languages: list[str] = Field(default=["en"], min_length=1)
    address: str | None = None
    opening_hours: dict[str, str] = {}
    starvation_factor: float = Field(default=2.0, ge=1.0, le=10.0)
    recalls_before_no_show: int = Field(default=1, ge=0, le=10)
    # The need behind "Something else / I'm not sure" on the kiosk (a general enquiry).
    general_need: str | None = None
    # Postcode districts the kiosk offers as buttons when a need asks for one ("ME15").
    postcode_districts: list[Annotated[str, Field(pattern=r"^[A-Z]{1,2}[0-9][0-9A-Z]?$")]] = []
    # A line of messages along the bottom of the waiting-room board, shown in turn.
    board_messages: list[Annotated[str, Field(min_length=1, max_length=200)]] = []
    # What a ticket's QR code holds, on screen and on paper (may be a URL).
    ticket_qr: str = Field(default="{centre}:{day}:{number}", min_length=1, max_length=200)

    @field_validator("ticket_qr")
    @classmethod
    def _qr_fields(cls, value: str) -> str:
        try:
            value.format(centre="c", day="d", number="n")
        except (KeyError, IndexError, ValueError):
            raise ValueError("may use only {centre}, {day} and {number}") from None
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError("is not a known time zone (like Europe/London)") from exc
        return value

    @field_validator("opening_hours")
    @classmethod
    def _hours(cls, value: dict[str, str]) -> dict[str, str]:
        for day, span in value.items():
            if day not in DAYS:
                raise ValueError(f"'{day}' is not a day of the week (use {', '.join(DAYS)})")
            if span != "closed":
                try:
                    parse_span(span)
                except ValueError as exc:
                    raise ValueError(f"{day}: {exc}") from None
        return value

    @field_validator("languages")
    @classmethod
    def _languages(cls, value: list[str]) -> list[str]:
        for lang in value:
            if not re.fullmatch(r"[a-z]{2,3}(_[A-Z]{2})?", lang):
                raise ValueError(f"'{lang}' is not a language code (like en, pl or ne)")
        if len(set(value)) != len(value):
            raise ValueError("lists a language twice")
        return value


def parse_span(span: str) -> tuple[time, time]:
    """``"09:00-17:00"`` to two times; raises ValueError with a sentence."""
    match = re.fullmatch(r"(\d{2}):(\d{2})-(\d{2}):(\d{2})", span)
    if not match:
        raise ValueError(f"'{span}' should look like 09:00-17:00 or be \"closed\"")
    h1, m1, h2, m2 = (int(x) for x in match.groups())
    if h1 > 23 or h2 > 23 or m1 > 59 or m2 > 59:
        raise ValueError(f"'{span}' is not a real time of day")
    start, end = time(h1, m1), time(h2, m2)
    if end <= start:
        raise ValueError(f"'{span}' closes before it opens")
    return start, end


class CentreConfig(_Strict):
    centre: CentreInfo
    agencies: list[Agency] = Field(min_length=1)
    services: list[Service] = Field(min_length=1)
    categories: list[Category] = Field(min_length=1)
    needs: list[Need] = Field(min_length=1)
    counters: list[Counter] = Field(min_length=1)
    outcomes: list[Outcome] = Field(default=list(DEFAULT_OUTCOMES), min_length=1)

    def service(self, code: str) -> Service | None:
        return next((s for s in self.services if s.code == code), None)

    def need(self, code: str) -> Need | None:
        return next((n for n in self.needs if n.code == code), None)

    def need_for_code(self, code: str) -> Need | None:
        """The need whose appointment letters carry this reference (the first in the
        file, if several patterns match), or None."""
        return next((n for n in self.needs if n.takes_code(code)), None)


def load_centre_file(path: str | Path) -> CentreConfig:
    """Read and validate a centre file. Raises ``ConfigError`` naming file, path and fault."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is harmless
    except FileNotFoundError:
        raise ConfigError([f"{path}: no such file"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot be read ({exc.__class__.__name__})"]) from None
    return parse_centre(text, str(path))


def parse_centre(text: str, name: str = "<centre file>") -> CentreConfig:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{name}: is not valid TOML: {exc}"]) from None
    try:
        config = CentreConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError([_describe(name, err) for err in exc.errors()]) from None
    problems = [f"{name}: {p}" for p in _cross_references(config)]
    if problems:
        raise ConfigError(problems)
    return config


def config_from_json(data: dict[str, Any]) -> CentreConfig:
    """Rebuild a config stored in the database (already validated when it was loaded)."""
    return CentreConfig.model_validate(data)


def _describe(name: str, err: Any) -> str:
    path = _path(err["loc"])
    kind = err["type"]
    if kind == "missing":
        what = "is required but missing"
    elif kind == "extra_forbidden":
        what = "is not a field this file understands (check the spelling)"
    else:
        what = err["msg"].removeprefix("Value error, ")
        if "input" in err and not isinstance(err["input"], dict | list):
            what += f" (got {err['input']!r})"
    return f"{name}: {path or '(top level)'}: {what}"


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _duplicates(items: list[Any], attr: str, where: str) -> list[str]:
    seen: set[str] = set()
    problems = []
    for i, item in enumerate(items):
        value = getattr(item, attr)
        if value in seen:
            problems.append(f"{where}[{i}].{attr}: '{value}' is used twice")
        seen.add(value)
    return problems


def _cross_references(config: CentreConfig) -> list[str]:
    agencies = {a.code for a in config.agencies}
    services = {s.code for s in config.services}
    categories = {c.code for c in config.categories}
    languages = set(config.centre.languages)
    problems: list[str] = []
    problems += _duplicates(config.agencies, "code", "agencies")
    problems += _duplicates(config.services, "code", "services")
    problems += _duplicates(config.services, "prefix", "services")
    problems += _duplicates(config.categories, "code", "categories")
    problems += _duplicates(config.needs, "code", "needs")
    problems += _duplicates(config.counters, "code", "counters")
    problems += _duplicates(config.outcomes, "code", "outcomes")

    def unknown(path: str, kind: str, value: str, section: str) -> str:
        return f"{path}: refers to {kind} '{value}', which is not defined in [[{section}]]"

    for i, s in enumerate(config.services):
        if s.agency not in agencies:
            problems.append(unknown(f"services[{i}].agency", "agency", s.agency, "agencies"))
        problems += _languages(f"services[{i}].translations", s.translations, languages)
        problems += _languages(f"services[{i}].bring_translations", s.bring_translations, languages)
        for lang, lines in s.bring_translations.items():
            if len(lines) != len(s.bring):
                problems.append(
                    f"services[{i}].bring_translations.{lang}: has {len(lines)} lines but "
                    f"bring has {len(s.bring)}; translate every line, in the same order"
                )
    served: set[str] = set()
    for i, c in enumerate(config.counters):
        for j, code in enumerate(c.services):
            if code not in services:
                problems.append(
                    unknown(f"counters[{i}].services[{j}]", "service", code, "services")
                )
            served.add(code)
        if len(set(c.services)) != len(c.services):
            problems.append(f"counters[{i}].services: lists a service twice")
    for i, n in enumerate(config.needs):
        where = f"needs[{i}]"
        if n.category not in categories:
            problems.append(unknown(f"{where}.category", "category", n.category, "categories"))
        chosen = sum(bool(x) for x in (n.service, n.journey, n.answer))
        if chosen != 1:
            problems.append(
                f"{where}: give exactly one of service, journey or answer (found {chosen})"
            )
        for j, code in enumerate(n.journey):
            if code not in services:
                problems.append(unknown(f"{where}.journey[{j}]", "service", code, "services"))
        if n.service and n.service not in services:
            problems.append(unknown(f"{where}.service", "service", n.service, "services"))
        for code in n.services:
            if code in services and code not in served:
                problems.append(f"{where}: service '{code}' is not served by any counter")
        if len(set(n.journey)) != len(n.journey):
            problems.append(f"{where}.journey: lists a service twice")
        if n.appointment_codes and "appointment" not in n.questions:
            problems.append(
                f"{where}.appointment_codes: the need must ask the appointment question"
            )
        problems += _languages(f"{where}.translations", n.translations, languages)
        problems += _languages(f"{where}.answer_translations", n.answer_translations, languages)
    general = config.centre.general_need
    if general is not None:
        found = config.need(general)
        if found is None:
            problems.append(unknown("centre.general_need", "need", general, "needs"))
        elif not found.services:
            problems.append("centre.general_need: must be a need that gives a ticket")
    for i, category in enumerate(config.categories):
        problems += _languages(f"categories[{i}].translations", category.translations, languages)
    return problems


def _languages(path: str, translations: dict[str, Any], languages: set[str]) -> list[str]:
    return [
        f"{path}.{lang}: '{lang}' is not one of the centre's languages"
        for lang in translations
        if lang not in languages
    ]
