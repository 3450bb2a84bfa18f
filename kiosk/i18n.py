"""Languages at the kiosk: gettext catalogues in ``locales/``, one translation per session.

Textual has no translation support, and a process-wide ``gettext.install()`` would leak one
customer's language into the next. Each session gets its own translation object; screens
call its ``gettext`` (bound to ``_``). Catalogues are ``locales/<lang>/LC_MESSAGES/kiosk.po``,
compiled to ``.mo`` with Babel (``pybabel compile -d locales -D kiosk``).
"""

from __future__ import annotations

from functools import cache

from locales import DOMAIN, LOCALE_DIR, translation

__all__ = ["DOMAIN", "LOCALE_DIR", "language_name", "shipped_languages", "translation"]

# Each language by its own name, in its own script.
LANGUAGE_NAMES = {
    "en": "English",
    "pl": "Polski",
    "ro": "Română",
    "ne": "नेपाली",
    "uk": "Українська",
    "tr": "Türkçe",
    "ar": "العربية",
    "pa": "ਪੰਜਾਬੀ",
    "bg": "Български",
    "lt": "Lietuvių",
    "fa": "فارسی",
    "ur": "اردو",
}

# espeak-ng voice per language (all shipped languages have one).
VOICES = {"en": "en-gb", "pl": "pl", "ro": "ro", "ne": "ne", "uk": "uk", "tr": "tr"}


def shipped_languages() -> list[str]:
    """Languages with a compiled catalogue, English first."""
    return list(_shipped())


@cache
def _shipped() -> tuple[str, ...]:
    # Read from disk once: the catalogues do not change while the kiosk runs.
    found = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.mo"))
    return ("en", *[lang for lang in found if lang != "en"])


def language_name(language: str) -> str:
    return LANGUAGE_NAMES.get(language, language)
