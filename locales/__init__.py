"""gettext catalogues, one folder per language (``locales/<lang>/LC_MESSAGES/``).

Compiled with Babel; the kiosk loads one translation object per customer session.
"""
