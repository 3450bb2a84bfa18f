"""Accessibility at the kiosk: contrast of every text (WCAG AAA, 7:1), touch targets (at
least 5 rows by 20 columns, never touching), help / larger text / high contrast on every
screen, and what the two modes actually do.

Most checks walk one tour of the kiosk (``tour``) and look at each screen it stops on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import pytest
from textual.color import Color
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Button, Static

from gateway.errors import StoreUnavailable
from kiosk.app import KIOSK_SIZE
from kiosk.screens.base import KioskScreen
from kiosk.screens.dialogs import HelpDialog, IdleWarning, SorryScreen
from kiosk.screens.journey import AnswerScreen, CategoryScreen, LanguageScreen, NeedScreen
from kiosk.screens.questions import QuestionScreen
from kiosk.screens.ticket import TicketScreen
from kiosk.theme import COLOUR_PAIRS, HIGH_CONTRAST, KIOSK, THEMES, colour, contrast_ratio
from kiosk.widgets import Choices, QrCode
from tests.kiosk.conftest import started, wait_for

AAA = 7.0
MIN_ROWS, MIN_COLUMNS = 5, 20
THEME_NAMES = [theme.name for theme in THEMES]
# Screens every tour-based check must have looked at.
CORE_STOPS = {"language", "category", "need", "help", "ticket"}
FAILING_PRINTER = "file:/nonexistent/gateway-test/lp0"  # so the ticket shows its QR code


# -- driving the kiosk ---------------------------------------------------------------------


async def settle(pilot: Any) -> None:
    await pilot.pause()


async def tap(pilot: Any, selector: str) -> None:
    """Click a button once it takes taps again (a tapped button ignores taps while it
    flashes, 0.2 s)."""
    await wait_for(pilot, lambda: not pilot.app.screen.query_one(selector).has_class("-active"))
    await pilot.click(selector)
    await settle(pilot)


async def choose(pilot: Any, value: str) -> None:
    """Tap the choice with this value on the current screen, paging with "More" if it is
    not on the page shown."""
    choices = pilot.app.screen.query_one(Choices)
    for _ in range(len(choices.pages()) + 1):
        pages = choices.pages()
        page = pages[min(choices.page, len(pages) - 1)]
        for i, choice in enumerate(page):
            if choice.value == value:
                await tap(pilot, f"#choice-{i}")
                return
        await tap(pilot, "#page-more")
    raise AssertionError(f"no choice {value!r} on {type(pilot.app.screen).__name__}")


async def showing(pilot: Any, kind: type, **where: Any) -> None:
    app = pilot.app

    def ready() -> bool:
        screen = app.screen
        if not isinstance(screen, kind):
            return False
        return all(getattr(screen, k) == v for k, v in where.items())

    await wait_for(pilot, ready)
    await settle(pilot)
    if app.screen.query(Choices):  # its page is fitted to the room once it is laid out
        await wait_for(pilot, lambda: bool(app.screen.query("#choice-0")))
        await settle(pilot)


async def set_modes(pilot: Any, *, theme: str | None, large: bool | None) -> None:
    """Switch high contrast and larger text with the bar's buttons, as a customer would."""
    app = pilot.app
    where = type(app.screen).__name__
    if theme is not None and app.theme != theme:
        await tap(pilot, "#contrast")
        assert app.theme == theme, f"High contrast on {where} left the theme {app.theme}"
    if large is not None and app.large != large:
        await tap(pilot, "#large")
        assert app.large == large, f"Larger text on {where} left app.large {app.large}"


def idle_countdown(app: Any) -> str:
    screen = app.screen
    if not isinstance(screen, IdleWarning):
        return ""
    widget = next(screen.query("#countdown").results(Static), None)
    return str(widget.render()) if widget is not None else ""


async def idle_warning_shown(pilot: Any, timeout: float = 5.0) -> None:
    """Wait for the idle warning and its countdown. Polls without ``pilot.pause``: if
    showing it faults, the app's message loop has stopped and a pause would hang."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not idle_countdown(pilot.app):
        assert loop.time() < deadline, (
            f"no idle warning with a countdown; screen is {type(pilot.app.screen).__name__} "
            "(see test_idle_warning_shows_the_time_left)"
        )
        await asyncio.sleep(0.02)
    await settle(pilot)


async def tour(
    pilot: Any,
    *,
    language: str = "en",
    theme: str | None = None,
    large: bool | None = None,
) -> AsyncIterator[str]:
    """Walk the kiosk, yielding the name of each screen it stops on (the app is idle there).
    ``theme`` and ``large`` are switched on with the bar's buttons wherever needed (a new
    customer gets the kiosk's defaults back)."""
    app = pilot.app

    async def stop(name: str) -> str:
        await set_modes(pilot, theme=theme, large=large)
        # A tapped button flashes for 0.2 s; look at the screen once that is over
        # (test_pressed_button_keeps_contrast looks at the flash itself).
        await wait_for(pilot, lambda: not app.screen.query(".-active"))
        await settle(pilot)
        return name

    await started(pilot)
    yield await stop("language")
    await choose(pilot, language)
    await showing(pilot, CategoryScreen)
    yield await stop("category")

    await tap(pilot, "#help")
    await showing(pilot, HelpDialog)
    yield await stop("help")
    await choose(pilot, "")  # Cancel
    await showing(pilot, CategoryScreen)

    await choose(pilot, "information")
    await showing(pilot, NeedScreen, category="information")
    yield await stop("need")
    await choose(pilot, "opening-hours")
    await showing(pilot, AnswerScreen)
    yield await stop("answer")
    await choose(pilot, "another")
    await showing(pilot, CategoryScreen)

    await choose(pilot, "life-events")
    await showing(pilot, NeedScreen, category="life-events")
    await choose(pilot, "someone-died")
    await showing(pilot, QuestionScreen, question="appointment")
    await tap(pilot, "#key-4")
    await tap(pilot, "#key-2")
    yield await stop("question:appointment")
    await tap(pilot, "#continue")
    await showing(pilot, QuestionScreen, question="consent")
    yield await stop("question:consent")
    await choose(pilot, "no")
    await wait_for(
        pilot,
        lambda: isinstance(app.screen, TicketScreen) and app.screen.print_state != "printing",
    )
    await settle(pilot)
    yield await stop("ticket")

    await choose(pilot, "done")  # a new customer
    await showing(pilot, LanguageScreen)
    await set_modes(pilot, theme=theme, large=large)
    await choose(pilot, language)
    await showing(pilot, CategoryScreen)
    await choose(pilot, "housing")
    await showing(pilot, NeedScreen, category="housing")
    await choose(pilot, "homeless")
    await showing(pilot, QuestionScreen, question="postcode")
    yield await stop("question:postcode")

    app.monotonic.advance(app.settings.idle_seconds)  # nobody touches the screen
    await idle_warning_shown(pilot)
    yield await stop("idle")
    await choose(pilot, "stay")
    await showing(pilot, QuestionScreen, question="postcode")

    app.store_down(StoreUnavailable("the test took the store away"))
    await showing(pilot, SorryScreen)
    yield await stop("sorry")


# -- looking at a screen -------------------------------------------------------------------


def on_screen(widget: Widget) -> Region:
    """The part of the widget that is drawn (empty if it is hidden or scrolled away)."""
    if not widget.display or not widget.visible:
        return Region()
    try:
        return widget.screen.find_widget(widget).visible_region
    except Exception:
        return Region()


def buttons(app: Any) -> list[Button]:
    return [b for b in app.screen.query(Button) if on_screen(b)]


def text_of(widget: Widget) -> str:
    if isinstance(widget, Button):
        return str(widget.label)
    if isinstance(widget, Static):
        return str(widget.render())
    return ""


def wcag(foreground: Color, background: Color) -> float:
    """Contrast of text over its background; a translucent colour is blended first."""
    background = Color(0, 0, 0) + background if background.a < 1 else background
    return contrast_ratio((background + foreground).hex6, background.hex6)


def text_contrast(widget: Widget) -> tuple[float, Color, Color]:
    _, _, background, foreground = widget.colors
    opacity = widget.styles.text_opacity
    if opacity < 1:
        foreground = foreground.multiply_alpha(opacity)
    return wcag(foreground, background), foreground, background


def describe(widget: Widget) -> str:
    ident = f"#{widget.id}" if widget.id else ""
    return f"{type(widget).__name__}{ident} {text_of(widget)[:30]!r}"


def low_contrast(app: Any) -> list[str]:
    """Every visible Button and Static with text whose colours are below 7:1."""
    found = []
    for widget in app.screen.query("*"):
        if not isinstance(widget, Button | Static) or not on_screen(widget):
            continue
        if not text_of(widget).strip():
            continue
        ratio, fg, bg = text_contrast(widget)
        if ratio < AAA:
            found.append(f"{describe(widget)}: {ratio:.2f} ({fg.hex} on {bg.hex})")
    return found


def low_contrast_cells(app: Any) -> list[str]:
    """The same, cell by cell from what the compositor draws (includes tints, reverse
    video and markup that ``widget.colors`` does not see)."""
    found: dict[tuple[str, str], str] = {}
    strips = app.screen._compositor.render_strips()  # no public API for the drawn cells
    for y, strip in enumerate(strips):
        x = 0
        for segment in strip:
            text, style = segment.text, segment.style
            if text.strip() and style is not None:
                fg, bg = style.color, style.bgcolor
                if fg is None or bg is None:
                    found.setdefault(("default", "default"), f"row {y} col {x}: {text!r}")
                else:
                    if style.reverse:
                        fg, bg = bg, fg
                    f, b = Color.from_rich_color(fg), Color.from_rich_color(bg)
                    if wcag(f, b) < AAA:
                        key = (f.hex6, b.hex6)
                        found.setdefault(
                            key,
                            f"{f.hex6} on {b.hex6} ({wcag(f, b):.2f}) e.g. row {y} "
                            f"col {x}: {text.strip()[:20]!r}",
                        )
            x += segment.cell_length
    return list(found.values())


def target_problems(app: Any) -> list[str]:
    """Buttons under 5x20, cut off, overlapping or touching another button."""
    problems = []
    screen_region = app.screen.region
    shown = buttons(app)
    for b in shown:
        region = app.screen.find_widget(b).region
        if region.height < MIN_ROWS or region.width < MIN_COLUMNS:
            problems.append(f"{describe(b)} is {region.width}x{region.height}: {region}")
        if on_screen(b) != region or not screen_region.contains_region(region):
            problems.append(f"{describe(b)} is cut off: {region} drawn as {on_screen(b)}")
    for a, b in itertools.combinations(shown, 2):
        ra, rb = app.screen.find_widget(a).region, app.screen.find_widget(b).region
        if ra.intersection(rb).area:
            problems.append(f"{describe(a)} {ra} overlaps {describe(b)} {rb}")
        elif ra.grow((1, 1, 1, 1)).overlaps(rb):
            problems.append(f"{describe(a)} {ra} touches {describe(b)} {rb} (no gap)")
    return problems


# -- contrast --------------------------------------------------------------------------------


@pytest.mark.parametrize("theme", THEMES, ids=lambda t: t.name)
@pytest.mark.parametrize("pair", COLOUR_PAIRS, ids=lambda p: f"{p[0]}-on-{p[1]}")
def test_theme_colours_are_aaa(theme, pair):
    text, ground = (colour(theme, name) for name in pair)
    ratio = contrast_ratio(text, ground)
    assert ratio >= AAA, f"{theme.name}: {pair[0]} {text} on {pair[1]} {ground}: {ratio:.2f}"


def test_contrast_ratio_matches_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1.0)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)
    assert contrast_ratio("#595959", "#ffffff") == pytest.approx(7.0, abs=0.01)


@pytest.mark.parametrize("theme", THEME_NAMES)
async def test_every_text_on_screen_is_aaa(make_kiosk, theme):
    """Both themes, switched with the high contrast button, on every screen of the tour
    (the ticket's print fails, so its QR code shows too)."""
    app = make_kiosk(printer=FAILING_PRINTER)
    seen: set[str] = set()
    problems: dict[str, list[str]] = {}
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        async for stop in tour(pilot, theme=theme):
            seen.add(stop)
            assert app.theme == theme
            found = low_contrast(app) + [f"drawn: {p}" for p in low_contrast_cells(app)]
            if found:
                problems[stop] = found
            if stop == "ticket":
                qr = app.screen.query_one(QrCode)
                assert on_screen(qr), "the QR code is not shown after a failed print"
                assert text_contrast(qr)[0] >= AAA
                _, _, bg, fg = qr.colors
                assert (fg.hex6, bg.hex6) == ("#000000", "#FFFFFF"), "QR: dark on light"
    assert seen >= CORE_STOPS
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())


async def test_pressed_button_keeps_contrast(make_kiosk):
    """The 0.2 s flash of a tapped button (Textual's ``Button.-active``) keeps 7:1 too."""
    app = make_kiosk()
    problems = {}
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        for theme in THEME_NAMES:
            await set_modes(pilot, theme=theme, large=None)
            for ident in ("#choice-0", "#choice-1", "#help", "#large"):
                button = app.screen.query_one(ident, Button)
                button.add_class("-active")  # what Button.press() does for 0.2 s
                await settle(pilot)
                found = low_contrast(app) + low_contrast_cells(app)
                if found:
                    problems[f"{theme} {ident}"] = found
                button.remove_class("-active")
    assert not problems, "\n".join(f"{k}: {v}" for k, v in problems.items())


# -- touch targets ---------------------------------------------------------------------------


@pytest.mark.parametrize("large", [False, True], ids=["normal", "large-text"])
async def test_touch_targets_are_big_and_apart(make_kiosk, large):
    app = make_kiosk()
    seen: set[str] = set()
    problems: dict[str, list[str]] = {}
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        async for stop in tour(pilot, large=large):
            seen.add(stop)
            assert buttons(app), f"no buttons on {stop}"
            found = target_problems(app)
            if found:
                problems[stop] = found
    assert seen >= CORE_STOPS
    assert not problems, "\n".join(f"{k}:\n  " + "\n  ".join(v) for k, v in problems.items())


def test_target_check_sees_touching_buttons():
    """The gap rule itself: side by side with no column between is touching."""
    a = Region(0, 0, 20, 5)
    assert a.grow((1, 1, 1, 1)).overlaps(Region(20, 0, 20, 5))  # no gap
    assert not a.grow((1, 1, 1, 1)).overlaps(Region(21, 0, 20, 5))  # one column
    assert a.grow((1, 1, 1, 1)).overlaps(Region(0, 5, 20, 5))  # no row between
    assert not a.grow((1, 1, 1, 1)).overlaps(Region(0, 6, 20, 5))


# -- help, larger text and high contrast everywhere -------------------------------------------


@pytest.mark.parametrize("language", ["en", "ne"])
async def test_help_text_size_and_contrast_on_every_screen(make_kiosk, language):
    app = make_kiosk()
    seen: list[str] = []
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        async for stop in tour(pilot, language=language):
            seen.append(stop)
            screen = app.screen
            _ = app.gettext  # the customer's language (English before they choose)
            wanted = {"large": _("Larger text"), "contrast": _("High contrast")}
            if isinstance(screen, KioskScreen):
                wanted["help"] = _("I need help")
            else:
                assert isinstance(screen, HelpDialog | IdleWarning | SorryScreen), stop
            for ident, label in wanted.items():
                found = screen.query(f"#{ident}").results(Button)
                button = next(found, None)
                assert button is not None, f"{stop}: no #{ident} button"
                assert on_screen(button), f"{stop}: #{ident} is not shown"
                assert str(button.label) == label, f"{stop}: #{ident} says {button.label}"
            if language != "en" and stop != "language":
                assert wanted["large"] != "Larger text", f"not translated into {language}"
    assert {"help", "idle"} <= set(seen)
    assert set(seen) >= CORE_STOPS


def count_calls(app: Any, names: list[str]) -> Counter[str]:
    calls: Counter[str] = Counter()
    for name in names:
        method = getattr(app, name)

        def counted(*args: Any, _name: str = name, _method: Any = method) -> Any:
            calls[_name] += 1
            return _method(*args)

        setattr(app, name, counted)
    return calls


async def test_bar_buttons_act_once_on_every_screen(make_kiosk):
    """One tap, one action: larger text and high contrast switch (and switch back), and
    "I need help" opens one dialog, wherever the customer is."""
    app = make_kiosk()
    calls = count_calls(app, ["toggle_large", "toggle_contrast", "ask_help"])
    problems = []
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        async for stop in tour(pilot):
            for ident, action in (("large", "toggle_large"), ("contrast", "toggle_contrast")):
                for _ in range(2):  # on, then off again
                    state = (app.large, app.theme)
                    calls.clear()
                    await tap(pilot, f"#{ident}")
                    if calls[action] != 1 or (app.large, app.theme) == state:
                        problems.append(f"{stop}: #{ident} ran {action} {calls[action]} times")
            if stop in ("help", "idle", "sorry"):
                continue
            calls.clear()
            await tap(pilot, "#help")
            await showing(pilot, HelpDialog)
            if calls["ask_help"] != 1:
                problems.append(f"{stop}: #help ran ask_help {calls['ask_help']} times")
            await choose(pilot, "")
            await wait_for(pilot, lambda: not isinstance(app.screen, HelpDialog))
            await settle(pilot)
    assert not problems, "\n".join(problems)


async def test_start_again_on_a_question_screen_runs_once(make_kiosk):
    app = make_kiosk()
    calls = count_calls(app, ["start_again"])
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        await choose(pilot, "en")
        await showing(pilot, CategoryScreen)
        await choose(pilot, "housing")
        await showing(pilot, NeedScreen)
        await choose(pilot, "homeless")
        await showing(pilot, QuestionScreen, question="postcode")
        await tap(pilot, "#restart")
        await showing(pilot, LanguageScreen)
        assert calls["start_again"] == 1


async def test_a_button_has_focus_on_every_screen(make_kiosk):
    """Keyboard, keypad and switch users (arrow keys and Enter) always have a button to
    press: every screen keeps one focused, also after it redraws itself."""
    app = make_kiosk()
    unfocused = []
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        async for stop in tour(pilot):
            focused = app.focused
            if not isinstance(focused, Button) or not on_screen(focused):
                unfocused.append(f"{stop} ({type(app.screen).__name__}): {focused!r}")
    assert not unfocused, "nothing focused on: " + ", ".join(unfocused)


async def test_dialogs_toggle_text_size_and_contrast(make_kiosk):
    """The bar's toggles work from inside the help dialog and the idle warning."""
    app = make_kiosk()
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        await choose(pilot, "en")
        await showing(pilot, CategoryScreen)
        await tap(pilot, "#help")
        await showing(pilot, HelpDialog)
        await tap(pilot, "#large")
        assert app.large and app.has_class("-large")
        assert isinstance(app.screen, HelpDialog), "the dialog closed"
        await tap(pilot, "#contrast")
        assert app.theme == HIGH_CONTRAST.name
        await choose(pilot, "")
        await showing(pilot, CategoryScreen)

        app.monotonic.advance(app.settings.idle_seconds)
        await idle_warning_shown(pilot)
        await tap(pilot, "#large")
        assert not app.large
        await tap(pilot, "#contrast")
        assert app.theme == KIOSK.name
        assert isinstance(app.screen, IdleWarning)


@pytest.mark.parametrize("when", ["timer", "tick-then-event"])
async def test_idle_warning_shows_the_time_left(make_kiosk, caplog, when):
    """Are you still there? The warning says how long is left (at least 20 seconds) and
    one tap carries on with the customer's session.

    Textual runs an interval's callback in the timer's own task, so ``tick`` pushes the
    warning from outside the app's message loop; "tick-then-event" does the same with one
    more message waiting for the app (a touch, a worker reporting back): the countdown
    must not be set before the warning is composed."""
    app = make_kiosk()
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        await choose(pilot, "en")
        await showing(pilot, CategoryScreen)
        visit = app.visit
        app.monotonic.advance(app.settings.idle_seconds)
        if when == "tick-then-event":
            app.tick()  # as the interval timer calls it
            app.call_later(lambda: None)  # anything else for the app to do just then
        with contextlib.suppress(AssertionError):
            await idle_warning_shown(pilot, timeout=3.0)
        faults = [r for r in caplog.records if r.getMessage() == "kiosk fault"]
        assert not faults, f"showing the idle warning raised {faults[0].exc_info[1]!r}"
        assert "30 seconds" in idle_countdown(app)
        assert app.settings.warn_seconds >= 20

        app.monotonic.advance(10)
        await wait_for(pilot, lambda: "20 seconds" in idle_countdown(app))
        await choose(pilot, "stay")
        await showing(pilot, CategoryScreen)
        assert app.visit is visit and not visit.ended


# -- what the modes do ------------------------------------------------------------------------


def choice_buttons(app: Any) -> list[Button]:
    return [b for b in app.screen.query("Choices Button").results(Button) if on_screen(b)]


async def test_large_text_puts_choices_in_one_column(make_kiosk):
    app = make_kiosk()
    columns: dict[str, set[int]] = {}
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        assert len({b.region.x for b in choice_buttons(app)}) == 2, "two columns normally"
        async for stop in tour(pilot, large=True):
            assert app.has_class("-large")
            shown = choice_buttons(app)
            if len(shown) > 1:
                columns[stop] = {b.region.x for b in shown}
    assert CORE_STOPS - {"ticket"} <= set(columns)
    several = {stop: xs for stop, xs in columns.items() if len(xs) != 1}
    assert not several, f"choices in more than one column: {several}"


async def test_larger_text_toggles_back(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        await choose(pilot, "en")
        await showing(pilot, CategoryScreen)
        await set_modes(pilot, theme=None, large=True)
        assert len({b.region.x for b in choice_buttons(app)}) == 1
        await set_modes(pilot, theme=None, large=False)
        assert len({b.region.x for b in choice_buttons(app)}) == 2


async def test_high_contrast_switches_the_theme(make_kiosk):
    app = make_kiosk()
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        assert app.theme == KIOSK.name
        await tap(pilot, "#contrast")
        assert app.theme == "gateway-contrast"
        assert app.screen.styles.background.hex6 == "#000000"
        button = app.screen.query_one("#choice-1", Button)  # not focused
        assert button.colors[3].hex6 == colour(HIGH_CONTRAST, "kiosk-button-text").upper()
        await tap(pilot, "#contrast")
        assert app.theme == "gateway-kiosk"
        assert app.screen.styles.background.hex6 == colour(KIOSK, "background").upper()


async def test_next_customer_gets_the_default_modes(make_kiosk):
    """Larger text and high contrast are one customer's choice: start again clears them."""
    app = make_kiosk()
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        await choose(pilot, "en")
        await showing(pilot, CategoryScreen)
        await set_modes(pilot, theme=HIGH_CONTRAST.name, large=True)
        await tap(pilot, "#restart")
        await showing(pilot, LanguageScreen)
        assert app.theme == KIOSK.name
        assert not app.large and not app.has_class("-large")


async def test_kiosk_settings_choose_the_starting_modes(make_kiosk):
    app = make_kiosk(large_text=True, high_contrast=True)
    async with app.run_test(size=KIOSK_SIZE) as pilot:
        await started(pilot)
        assert app.theme == HIGH_CONTRAST.name
        assert app.large and app.has_class("-large")
        assert len({b.region.x for b in choice_buttons(app)}) == 1
