"""The customer's journey: language, what they need, the answer for information needs."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Static

from kiosk.i18n import language_name, translation
from kiosk.screens.base import KioskScreen
from kiosk.widgets import Choice, Choices


class LanguageScreen(KioskScreen):
    """Start: each language by its own name, in its own script."""

    RESTART = False

    def heading(self) -> str:
        # "Choose your language" in every language offered, so everyone finds their own.
        seen: list[str] = []
        for lang in self.kiosk.languages:
            text = translation(lang).gettext("Choose your language")
            if text not in seen:
                seen.append(text)
        return "\n".join(seen)

    def compose_body(self) -> ComposeResult:
        choices = [Choice(lang, language_name(lang)) for lang in self.kiosk.languages]
        # No language chosen yet: the "More" button shows only an arrow and the page.
        yield Choices(choices, more="", slots=self.kiosk.slots)

    def on_choices_chosen(self, event: Choices.Chosen) -> None:
        self.kiosk.choose_language(event.choice.value)


class CategoryScreen(KioskScreen):
    """What do you need? The centre's categories, and "Something else / not sure"."""

    def heading(self) -> str:
        return self._("What do you need help with today?")

    def compose_body(self) -> ComposeResult:
        lang = self.kiosk.language
        config = self.kiosk.config
        used = {n.category for n in config.needs}
        choices = [Choice(c.code, c.text_in(lang)) for c in config.categories if c.code in used]
        general = self.kiosk.general_need
        pinned = [Choice(general.code, general.text_in(lang), "general")] if general else []
        yield Choices(
            choices,
            more=self._("More"),
            slots=self.kiosk.slots,
            pinned=pinned,
        )

    def on_choices_chosen(self, event: Choices.Chosen) -> None:
        if event.choice.kind == "general":
            self.kiosk.choose_need(event.choice.value)
        else:
            self.kiosk.choose_category(event.choice.value)


class NeedScreen(KioskScreen):
    """The needs of one category, in plain words."""

    def __init__(self, category: str) -> None:
        super().__init__()
        self.category = category

    def heading(self) -> str:
        found = next(c for c in self.kiosk.config.categories if c.code == self.category)
        return found.text_in(self.kiosk.language) + "\n" + self._("Choose what fits best.")

    def compose_body(self) -> ComposeResult:
        lang = self.kiosk.language
        needs = [n for n in self.kiosk.config.needs if n.category == self.category]
        choices = [Choice(n.code, n.text_in(lang)) for n in needs]
        general = self.kiosk.general_need
        pinned = [Choice("back", "◀  " + self._("Back"), "nav")]
        if general is not None and all(n.code != general.code for n in needs):
            pinned.insert(0, Choice(general.code, general.text_in(lang), "general"))
        yield Choices(
            choices,
            more=self._("More"),
            slots=self.kiosk.slots,
            pinned=pinned,
        )

    def on_choices_chosen(self, event: Choices.Chosen) -> None:
        if event.choice.value == "back" and event.choice.kind == "nav":
            self.kiosk.go_back()
        else:
            self.kiosk.choose_need(event.choice.value)


class AnswerScreen(KioskScreen):
    """Information needs are answered on screen: footfall without a ticket."""

    def __init__(self, need: str) -> None:
        super().__init__()
        self.need = need

    def heading(self) -> str:
        need = self.kiosk.config.need(self.need)
        return need.text_in(self.kiosk.language) if need else ""

    def compose_body(self) -> ComposeResult:
        need = self.kiosk.config.need(self.need)
        yield Static(need.answer_in(self.kiosk.language) if need else "", id="answer")
        yield Choices(
            [
                Choice("another", self._("I need something else")),
                Choice("done", self._("Finished, thank you")),
            ],
            more=self._("More"),
            slots=self.kiosk.slots,
        )

    def spoken(self) -> str:
        answer = self.query_one("#answer", Static)
        return f"{self.heading()}. {answer.render()}"

    def on_choices_chosen(self, event: Choices.Chosen) -> None:
        if event.choice.value == "another":
            self.kiosk.another_need()
        else:
            self.kiosk.start_again()
