"""The kiosk's two themes. Both keep every text colour at 7:1 or more against what it sits
on (WCAG AAA); ``tests/kiosk/test_accessibility.py`` computes it from these colours."""

from __future__ import annotations

from textual.theme import Theme

KIOSK = Theme(
    name="gateway-kiosk",
    primary="#12324f",
    secondary="#1d4466",
    accent="#ffd23f",
    foreground="#ffffff",
    background="#0b1d2e",
    surface="#12324f",
    panel="#12324f",
    warning="#ffd23f",
    error="#ffb3b3",
    success="#9be7a4",
    dark=True,
    variables={
        "kiosk-button": "#12324f",
        "kiosk-button-text": "#ffffff",
        # Focus is white, so it never looks like the yellow "I need help" button.
        "kiosk-focus": "#ffffff",
        "kiosk-focus-text": "#0b1d2e",
        "kiosk-help": "#ffd23f",
        "kiosk-help-text": "#0b1d2e",
        "kiosk-muted": "#d6e4f0",
    },
)

HIGH_CONTRAST = Theme(
    name="gateway-contrast",
    primary="#000000",
    secondary="#000000",
    accent="#ffff00",
    foreground="#ffffff",
    background="#000000",
    surface="#000000",
    panel="#000000",
    warning="#ffff00",
    error="#ffffff",
    success="#ffffff",
    dark=True,
    variables={
        "kiosk-button": "#000000",
        "kiosk-button-text": "#ffff00",
        "kiosk-focus": "#ffffff",
        "kiosk-focus-text": "#000000",
        "kiosk-help": "#ffff00",
        "kiosk-help-text": "#000000",
        "kiosk-muted": "#ffffff",
    },
)

THEMES = (KIOSK, HIGH_CONTRAST)

# (text, background) pairs the stylesheet uses, by theme field or variable name.
COLOUR_PAIRS = (
    ("foreground", "background"),
    ("kiosk-muted", "background"),
    ("kiosk-button-text", "kiosk-button"),
    ("kiosk-focus-text", "kiosk-focus"),
    ("kiosk-help-text", "kiosk-help"),
    ("accent", "background"),
)


def colour(theme: Theme, name: str) -> str:
    value = theme.variables.get(name) or getattr(theme, name.replace("-", "_"), None)
    assert isinstance(value, str), f"{theme.name} has no colour {name}"
    return value


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""

    def luminance(hex_colour: str) -> float:
        rgb = [int(hex_colour.lstrip("#")[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)
