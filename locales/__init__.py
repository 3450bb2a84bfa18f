"""gettext catalogues, one folder per language (``locales/<lang>/LC_MESSAGES/``).

Compiled with Babel. The kiosk loads one translation object per customer session, and
printed tickets use the same catalogue for their lines, so screen and paper agree.
"""

from __future__ import annotations

import gettext
from functools import cache
from pathlib import Path

DOMAIN = "kiosk"
LOCALE_DIR = Path(__file__).parent


@cache
def translation(language: str) -> gettext.NullTranslations:
    """The translation for one language; English (the source text) when there is none.

    Cached per language: a translation object is read-only, so sessions can share it;
    what must never be shared is a process-wide *current* language.
    """
    if language == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[language], fallback=True)
