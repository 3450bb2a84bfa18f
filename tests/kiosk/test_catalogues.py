"""The kiosk's gettext catalogues: complete, consistent with the code, compiled, and used one
translation object per session (never gettext's process-wide state)."""

from __future__ import annotations

import builtins
import gettext
import io
import re
import unicodedata
from datetime import UTC, datetime
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from kiosk.i18n import DOMAIN, LANGUAGE_NAMES, LOCALE_DIR, shipped_languages
from kiosk.session import KioskSession

ROOT = Path(__file__).resolve().parents[2]
POT = LOCALE_DIR / f"{DOMAIN}.pot"
# The extraction command of babel.cfg, word for word (run from the project root).
EXTRACT = [
    "extract",
    "-F",
    "babel.cfg",
    "-k",
    "_",
    "-k",
    "gettext",
    "-k",
    "N_",
    "-k",
    "session_ngettext:1,2",
    "--no-location",
    "--omit-header",
    "--sort-output",
    "-o",
    "locales/kiosk.pot",
    "kiosk",
    "devices",
    "counter",
]
EXTRACT_COMMAND = "pybabel " + " ".join(EXTRACT)
UPDATE_COMMAND = "pybabel update -i locales/kiosk.pot -d locales -D kiosk"
COMPILE_COMMAND = "pybabel compile -d locales -D kiosk"

TRANSLATED = [lang for lang in shipped_languages() if lang != "en"]
# A python-format placeholder: %(name) then flags, width, precision and the conversion.
PLACEHOLDER = re.compile(r"%\((\w+)\)[#0 +-]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa%]")


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def mo_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.mo"


def shown(path: Path) -> str:
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def messages(catalog: Catalog) -> dict[object, Message]:
    """The catalogue's messages by id (a plural's id is its (singular, plural) pair),
    without the header."""
    return {m.id: m for m in catalog if m.id}


def singular(msgid: object) -> str:
    return msgid[0] if isinstance(msgid, tuple | list) else str(msgid)


def placeholders(text: str) -> set[str]:
    return {m.group(0) for m in PLACEHOLDER.finditer(text)}


def forms(message: Message) -> list[str]:
    value = message.string
    return list(value) if isinstance(value, tuple | list) else [value]


@pytest.fixture(scope="module")
def pot() -> Catalog:
    return read_catalog(POT)


# -- the shipped languages -------------------------------------------------------------


def test_at_least_six_languages_two_in_non_latin_scripts():
    shipped = shipped_languages()
    assert shipped[0] == "en"
    assert len(shipped) >= 6, f"only {shipped} have a compiled catalogue"

    def non_latin(name: str) -> bool:
        return any(c.isalpha() and not unicodedata.name(c, "").startswith("LATIN") for c in name)

    missing = [lang for lang in shipped if lang not in LANGUAGE_NAMES]
    assert not missing, f"no endonym in kiosk.i18n.LANGUAGE_NAMES for {missing}"
    scripts = [lang for lang in shipped if non_latin(LANGUAGE_NAMES[lang])]
    assert len(scripts) >= 2, f"non-Latin scripts among {shipped}: only {scripts}"


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_shipped_language_has_its_po_source(lang):
    assert po_path(lang).is_file(), f"{mo_path(lang)} is shipped without its .po source"


# -- completeness ------------------------------------------------------------------------


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_translates_every_message(lang, pot):
    catalog = read_catalog(po_path(lang), locale=lang)
    found = messages(catalog)
    problems = []
    for msgid in messages(pot):
        message = found.get(msgid)
        if message is None:
            problems.append(f"missing: {singular(msgid)!r} (run: {UPDATE_COMMAND})")
            continue
        if message.fuzzy:
            problems.append(f"fuzzy: {singular(msgid)!r}")
        strings = forms(message)
        if isinstance(msgid, tuple | list) and len(strings) != catalog.num_plurals:
            problems.append(
                f"{len(strings)} plural forms for {singular(msgid)!r}, "
                f"but the catalogue has nplurals={catalog.num_plurals}"
            )
        empty = [i for i, s in enumerate(strings) if not s or not s.strip()]
        if empty:
            problems.append(f"untranslated (form {empty}): {singular(msgid)!r}")
    stale = sorted(singular(m) for m in set(found) - set(messages(pot)))
    problems += [f"not in kiosk.pot any more: {m!r} (run: {UPDATE_COMMAND})" for m in stale]
    assert not problems, f"{shown(po_path(lang))}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_placeholders_match(lang):
    catalog = read_catalog(po_path(lang), locale=lang)
    problems = []
    for message in messages(catalog).values():
        ids = list(message.id) if isinstance(message.id, tuple | list) else [message.id]
        wanted: set[str] = set().union(*(placeholders(i) for i in ids))
        python_format = "python-format" in message.flags or bool(wanted)
        for i, text in enumerate(forms(message)):
            if not text:
                continue  # untranslated: the completeness test reports it
            got = placeholders(text)
            if python_format and got != wanted:
                problems.append(
                    f"{singular(message.id)!r} form {i}: {sorted(got)} != {sorted(wanted)}"
                )
            if python_format:
                # The app formats it with a dict: a stray % or %d would raise there.
                names = {m.group(1) for m in PLACEHOLDER.finditer(text)}
                try:
                    text % dict.fromkeys(names, 3)
                except (TypeError, ValueError, KeyError) as exc:
                    problems.append(f"{singular(message.id)!r} form {i}: {exc!r}: {text!r}")
    assert not problems, f"{shown(po_path(lang))}:\n  " + "\n  ".join(problems)


# -- up to date --------------------------------------------------------------------------


def test_pot_is_up_to_date_with_the_code(tmp_path, monkeypatch, pot):
    """Extract the strings as babel.cfg says, in-process, and compare the message ids."""
    fresh = tmp_path / "kiosk.pot"
    argv = [str(fresh) if a == "locales/kiosk.pot" else a for a in EXTRACT]
    monkeypatch.chdir(ROOT)
    CommandLineInterface().run(["pybabel", "-q", *argv])
    extracted = set(messages(read_catalog(fresh)))
    shipped = set(messages(pot))
    new = sorted(singular(m) for m in extracted - shipped)
    gone = sorted(singular(m) for m in shipped - extracted)
    assert extracted == shipped, (
        "locales/kiosk.pot is out of date with the code; run from the project root:\n"
        f"  {EXTRACT_COMMAND}\n  {UPDATE_COMMAND}\n  (translate) then {COMPILE_COMMAND}\n"
        f"in the code but not in kiosk.pot: {new}\nin kiosk.pot but not in the code: {gone}"
    )


def _compiled(catalog: Catalog) -> gettext.GNUTranslations:
    buffer = io.BytesIO()
    write_mo(buffer, catalog)  # as pybabel compile does: fuzzy and empty entries left out
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_mo_is_compiled_from_the_current_po(lang):
    expected = _compiled(read_catalog(po_path(lang), locale=lang))
    with mo_path(lang).open("rb") as f:
        shipped = gettext.GNUTranslations(f)
    hint = f"{shown(mo_path(lang))} is stale; run: {COMPILE_COMMAND}"
    # Compare the messages, not the bytes (the header's dates may be written differently).
    want = {k: v for k, v in expected._catalog.items() if k != ""}  # type: ignore[attr-defined]
    got = {k: v for k, v in shipped._catalog.items() if k != ""}  # type: ignore[attr-defined]
    missing = sorted(str(k) for k in set(want) - set(got))
    extra = sorted(str(k) for k in set(got) - set(want))
    differ = sorted(str(k) for k in set(want) & set(got) if want[k] != got[k])
    assert want == got, f"{hint}\nnot in .mo: {missing}\nonly in .mo: {extra}\ndiffer: {differ}"
    plural_rule = [expected.plural(n) for n in range(200)]  # type: ignore[attr-defined]
    assert [shipped.plural(n) for n in range(200)] == plural_rule, hint  # type: ignore[attr-defined]


# -- one translation per session ---------------------------------------------------------


def test_each_session_has_its_own_language():
    assert {"ne", "uk"} <= set(TRANSLATED)
    message = "I need help"
    before = gettext.textdomain()
    at = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    nepali = KioskSession(kiosk="k1", started_at=at, language="ne")
    ukrainian = KioskSession(kiosk="k2", started_at=at, language="uk")
    english = KioskSession(kiosk="k3", started_at=at)

    ne_text = nepali.gettext(message)
    uk_text = ukrainian.gettext(message)
    assert ne_text != message, "not translated in ne"
    assert uk_text != message, "not translated in uk"
    assert ne_text != uk_text
    # Interleaved, both at once: neither changes the other.
    assert nepali.gettext(message) == ne_text
    assert english.gettext(message) == message
    assert ukrainian.gettext(message) == uk_text
    plural = ("%(n)d person is ahead of you.", "%(n)d people are ahead of you.")
    assert ukrainian.ngettext(*plural, 5) != nepali.ngettext(*plural, 5)
    assert english.ngettext(*plural, 5) == plural[1]

    # A new customer on the same kiosk gets English, whatever the last one chose.
    nepali.choose_language("uk", at)
    assert nepali.gettext(message) == uk_text
    assert KioskSession(kiosk="k1", started_at=at).gettext(message) == message

    # gettext's process-wide state is untouched.
    assert gettext.gettext(message) == message
    assert gettext.ngettext(*plural, 5) == plural[1]
    assert gettext.textdomain() == before
    assert "_" not in vars(builtins), "something called gettext.install()"
