"""The centre file: the shipped example, and what IT staff see when their copy is wrong.

Every bad file must give a ``ConfigError`` whose lines name the file, the field's path and
what is wrong, so whoever edits the file can find the mistake without reading code.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.config import EXAMPLE_CENTRE, load_centre_file, parse_centre
from gateway.errors import ConfigError

# A small centre that loads: two agencies, a single-service need, a two-agency journey and an
# information need. Tests break it one way at a time with ``mutated``.
MINIMAL_CENTRE = """\
[centre]
code = "testville"
name = "Testville Gateway"
timezone = "Europe/London"
languages = ["en", "pl"]

[centre.opening_hours]
monday = "09:00-17:00"
sunday = "closed"

[[agencies]]
code = "council"
name = "Testville Borough Council"

[[agencies]]
code = "advice"
name = "Testville Citizens Advice"

[[services]]
code = "council-tax"
agency = "council"
name = "Council tax"
prefix = "C"
target_wait_minutes = 15
typical_service_minutes = 8

[[services]]
code = "debt"
agency = "advice"
name = "Debt advice"
prefix = "D"
target_wait_minutes = 30
typical_service_minutes = 25

[[categories]]
code = "money"
text = "Money, benefits and bills"

[[needs]]
code = "pay-council-tax"
category = "money"
text = "I want to pay my council tax"
service = "council-tax"

[[needs]]
code = "money-worries"
category = "money"
text = "I'm worried about money or debt"
journey = ["council-tax", "debt"]

[[needs]]
code = "opening-hours"
category = "money"
text = "When are you open?"
answer = "Monday 9am to 5pm."

[[counters]]
code = "1"
name = "Desk 1"
services = ["council-tax", "debt"]
"""


def mutated(old: str, new: str, text: str = MINIMAL_CENTRE) -> str:
    """``text`` with its one occurrence of ``old`` replaced (fails loudly if not exactly one)."""
    assert text.count(old) == 1, f"{old!r} should occur exactly once in the centre text"
    return text.replace(old, new)


def write_centre(tmp_path: Path, text: str, name: str = "testville.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def problems_loading(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_centre_file(path)
    return caught.value.problems


def assert_problem(problems: list[str], path: Path, field: str, *words: str) -> str:
    """One problem line starts with ``FILE: field:`` and contains every word; return it."""
    prefix = f"{path}: {field}: " if field else f"{path}: "
    matching = [p for p in problems if p.startswith(prefix) and all(w in p for w in words)]
    assert matching, f"no problem starting {prefix!r} containing {words!r} in {problems!r}"
    return matching[0]


# --- the shipped example -------------------------------------------------------------------


@pytest.fixture(scope="module")
def example():
    return load_centre_file(EXAMPLE_CENTRE)


def test_example_centre_loads_and_meets_the_brief(example):
    assert example.centre.timezone == "Europe/London"
    assert len(example.agencies) >= 5
    assert len(example.needs) >= 25
    assert len(example.counters) >= 10
    assert any(len(counter.services) >= 2 for counter in example.counters)


def test_example_centre_offers_six_languages(example):
    assert example.centre.languages[0] == "en"
    assert sorted(example.centre.languages) == sorted(["en", "pl", "ro", "ne", "uk", "tr"])


def test_example_has_journeys_that_cross_agencies(example):
    agency_of = {service.code: service.agency for service in example.services}
    crossing = [
        need.code
        for need in example.needs
        if need.journey and len({agency_of[code] for code in need.journey}) >= 2
    ]
    assert len(crossing) >= 2, crossing
    assert "someone-died" in crossing


def test_example_has_information_needs_that_print_no_ticket(example):
    information = [need for need in example.needs if need.answer]
    assert len(information) >= 4
    assert all(need.services == [] for need in information)


def test_customer_who_is_not_sure_goes_to_reception(example):
    not_sure = example.need("not-sure")
    assert not_sure is not None
    assert not_sure.services == ["reception"]


def test_every_service_a_customer_can_choose_is_served_by_a_counter(example):
    served = {code for counter in example.counters for code in counter.services}
    chosen = {code for need in example.needs for code in need.services}
    assert chosen <= served, chosen - served


def test_example_counters_chain_across_agencies(example):
    agency_of = {service.code: service.agency for service in example.services}
    mixed = [c for c in example.counters if len({agency_of[s] for s in c.services}) >= 2]
    assert len(mixed) >= 2, "skills should overlap across agencies somewhere"


def test_example_answer_translations_use_the_centres_languages(example):
    offered = set(example.centre.languages)
    for need in example.needs:
        assert set(need.answer_translations) <= offered, need.code


# --- a good file -------------------------------------------------------------------------


def test_minimal_centre_loads_with_default_outcomes(tmp_path):
    centre = load_centre_file(write_centre(tmp_path, MINIMAL_CENTRE))
    assert [need.services for need in centre.needs] == [
        ["council-tax"],
        ["council-tax", "debt"],
        [],
    ]
    assert [outcome.code for outcome in centre.outcomes] == [
        "resolved",
        "partly-resolved",
        "follow-up",
        "unresolved",
    ]


def test_translation_in_an_offered_language_is_accepted(tmp_path):
    text = mutated(
        'text = "I want to pay my council tax"\n',
        'text = "I want to pay my council tax"\n'
        'translations = { pl = "Chcę zapłacić podatek lokalny" }\n',
    )
    centre = load_centre_file(write_centre(tmp_path, text))
    assert centre.needs[0].translations == {"pl": "Chcę zapłacić podatek lokalny"}


# --- bad files -----------------------------------------------------------------------------


def test_missing_file_says_no_such_file(tmp_path):
    path = tmp_path / "nowhere.toml"
    problems = problems_loading(path)
    assert problems == [f"{path}: no such file"]


def test_file_that_is_not_toml_names_the_file_and_the_line(tmp_path):
    path = write_centre(tmp_path, mutated('code = "testville"', "code = testville"))
    line = assert_problem(problems_loading(path), path, "", "is not valid TOML")
    assert "line 2" in line


def test_missing_required_field_names_its_path(tmp_path):
    path = write_centre(tmp_path, mutated('name = "Council tax"\n', ""))
    assert_problem(problems_loading(path), path, "services[0].name", "required but missing")


def test_missing_centre_section_is_reported(tmp_path):
    text = mutated('[centre]\ncode = "testville"\nname = "Testville Gateway"\n', "")
    text = mutated('timezone = "Europe/London"\nlanguages = ["en", "pl"]\n', "", text)
    text = mutated('[centre.opening_hours]\nmonday = "09:00-17:00"\nsunday = "closed"\n', "", text)
    path = write_centre(tmp_path, text)
    assert_problem(problems_loading(path), path, "centre", "required but missing")


def test_misspelt_field_is_rejected_not_ignored(tmp_path):
    path = write_centre(tmp_path, mutated("target_wait_minutes = 15", "target_wait_mins = 15"))
    problems = problems_loading(path)
    assert_problem(problems, path, "services[0].target_wait_mins", "check the spelling")
    assert_problem(problems, path, "services[0].target_wait_minutes", "required but missing")


def test_need_pointing_at_missing_service_names_the_path(tmp_path):
    path = write_centre(tmp_path, mutated('service = "council-tax"', 'service = "counciltax"'))
    assert_problem(problems_loading(path), path, "needs[0].service", "'counciltax'", "not defined")


def test_journey_step_pointing_at_missing_service_names_the_step(tmp_path):
    path = write_centre(
        tmp_path,
        mutated('journey = ["council-tax", "debt"]', 'journey = ["council-tax", "debts"]'),
    )
    problems = problems_loading(path)
    assert_problem(problems, path, "needs[1].journey[1]", "'debts'", "not defined")
    assert not any("journey[0]" in p for p in problems), problems


def test_counter_pointing_at_missing_service_names_the_path(tmp_path):
    path = write_centre(
        tmp_path,
        mutated('services = ["council-tax", "debt"]', 'services = ["council-tax", "dept"]'),
    )
    problems = problems_loading(path)
    assert_problem(problems, path, "counters[0].services[1]", "'dept'", "not defined")
    # and the journey that needed "debt" now has nowhere to go
    assert_problem(problems, path, "needs[1]", "'debt'", "not served by any counter")


def test_need_whose_service_no_counter_serves_is_rejected(tmp_path):
    path = write_centre(
        tmp_path, mutated('services = ["council-tax", "debt"]', 'services = ["debt"]')
    )
    problems = problems_loading(path)
    assert_problem(problems, path, "needs[0]", "'council-tax'", "not served by any counter")
    assert_problem(problems, path, "needs[1]", "'council-tax'", "not served by any counter")


def test_two_services_with_the_same_ticket_prefix_are_rejected(tmp_path):
    path = write_centre(tmp_path, mutated('prefix = "D"', 'prefix = "C"'))
    assert_problem(problems_loading(path), path, "services[1].prefix", "'C'", "used twice")


def test_lower_case_ticket_prefix_is_rejected(tmp_path):
    path = write_centre(tmp_path, mutated('prefix = "D"', 'prefix = "d"'))
    assert_problem(problems_loading(path), path, "services[1].prefix", "'d'")


def test_service_of_unknown_agency_is_rejected(tmp_path):
    path = write_centre(tmp_path, mutated('agency = "advice"', 'agency = "cab"'))
    assert_problem(problems_loading(path), path, "services[1].agency", "'cab'", "not defined")


def test_need_in_unknown_category_is_rejected(tmp_path):
    path = write_centre(
        tmp_path,
        mutated('category = "money"\ntext = "When', 'category = "info"\ntext = "When'),
    )
    assert_problem(problems_loading(path), path, "needs[2].category", "'info'", "not defined")


def test_duplicate_need_code_is_rejected(tmp_path):
    path = write_centre(tmp_path, mutated('code = "money-worries"', 'code = "pay-council-tax"'))
    assert_problem(problems_loading(path), path, "needs[1].code", "used twice")


def test_unknown_time_zone_is_rejected(tmp_path):
    path = write_centre(
        tmp_path, mutated('timezone = "Europe/London"', 'timezone = "Europe/Londres"')
    )
    assert_problem(
        problems_loading(path), path, "centre.timezone", "'Europe/Londres'", "not a known time zone"
    )


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ('monday = "9-5"', ("'9-5'", "should look like 09:00-17:00")),
        ('monday = "17:00-09:00"', ("'17:00-09:00'", "closes before it opens")),
        ('monday = "09:00-25:00"', ("'09:00-25:00'", "not a real time of day")),
        ('monday = "shut"', ("'shut'", "should look like")),
        ('munday = "09:00-17:00"', ("'munday'", "not a day of the week")),
    ],
)
def test_bad_opening_hours_are_rejected(tmp_path, line, words):
    path = write_centre(tmp_path, mutated('monday = "09:00-17:00"', line))
    assert_problem(problems_loading(path), path, "centre.opening_hours", *words)


def test_need_with_both_service_and_answer_is_rejected(tmp_path):
    path = write_centre(
        tmp_path,
        mutated('answer = "Monday 9am to 5pm."', 'answer = "Monday 9am to 5pm."\nservice = "debt"'),
    )
    assert_problem(problems_loading(path), path, "needs[2]", "exactly one of", "found 2")


def test_need_with_no_service_journey_or_answer_is_rejected(tmp_path):
    path = write_centre(tmp_path, mutated('answer = "Monday 9am to 5pm."\n', ""))
    assert_problem(problems_loading(path), path, "needs[2]", "exactly one of", "found 0")


def test_unknown_kiosk_question_is_rejected(tmp_path):
    path = write_centre(
        tmp_path,
        mutated(
            'service = "council-tax"', 'service = "council-tax"\nquestions = ["date-of-birth"]'
        ),
    )
    assert_problem(problems_loading(path), path, "needs[0].questions[0]", "'date-of-birth'")


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        (
            'text = "I want to pay my council tax"',
            'text = "I want to pay my council tax"\ntranslations = { uk = "Сплатити податок" }',
            "needs[0].translations.uk",
        ),
        (
            'text = "Money, benefits and bills"',
            'text = "Money, benefits and bills"\ntranslations = { uk = "Гроші" }',
            "categories[0].translations.uk",
        ),
        (
            'name = "Debt advice"',
            'name = "Debt advice"\ntranslations = { pl = "Długi", uk = "Борги" }',
            "services[1].translations.uk",
        ),
    ],
)
def test_translation_in_a_language_the_centre_does_not_offer_is_rejected(tmp_path, old, new, field):
    path = write_centre(tmp_path, mutated(old, new))
    problems = problems_loading(path)
    assert_problem(problems, path, field, "'uk' is not one of the centre's languages")
    assert not any(".pl:" in p for p in problems), problems


def test_every_problem_is_listed_not_just_the_first(tmp_path):
    text = mutated('service = "council-tax"', 'service = "counciltax"')
    text = mutated('prefix = "D"', 'prefix = "C"', text)
    path = write_centre(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_centre_file(path)
    assert len(caught.value.problems) == 2
    assert str(caught.value) == caught.value.problems[0] + " (and 1 more problem)"


def test_answer_translation_in_a_language_the_centre_does_not_offer_is_rejected(tmp_path):
    path = write_centre(
        tmp_path,
        mutated(
            'answer = "Monday 9am to 5pm."',
            'answer = "Monday 9am to 5pm."\nanswer_translations = { tr = "Pazartesi" }',
        ),
    )
    try:
        load_centre_file(path)
    except ConfigError as error:
        assert_problem(error.problems, path, "needs[2].answer_translations.tr", "'tr'")
    else:
        raise AssertionError("answer_translations in a language not offered was accepted")


def test_time_zone_that_names_a_region_not_a_zone_is_a_config_error(tmp_path):
    path = write_centre(tmp_path, mutated('timezone = "Europe/London"', 'timezone = "Europe"'))
    assert_problem(problems_loading(path), path, "centre.timezone", "'Europe'")


def test_general_need_must_be_a_need_with_a_ticket():
    text = EXAMPLE_CENTRE.read_text().replace(
        'general_need = "not-sure"', 'general_need = "opening-hours"'
    )
    with pytest.raises(ConfigError) as caught:
        parse_centre(text, "c.toml")
    assert (
        "c.toml: centre.general_need: must be a need that gives a ticket" in caught.value.problems
    )
    text = EXAMPLE_CENTRE.read_text().replace('general_need = "not-sure"', 'general_need = "nope"')
    with pytest.raises(ConfigError, match=r"centre\.general_need: refers to need 'nope'"):
        parse_centre(text, "c.toml")


def test_bring_translations_need_every_line():
    text = EXAMPLE_CENTRE.read_text().replace(
        'bring = ["Any letter or document about your question"]',
        'bring = ["Any letter or document about your question", "Your bank card"]',
    )
    with pytest.raises(ConfigError) as caught:
        parse_centre(text, "c.toml")
    assert any(
        "bring_translations.pl: has 1 lines but bring has 2" in p for p in caught.value.problems
    )


def test_postcode_districts_look_like_districts():
    text = EXAMPLE_CENTRE.read_text().replace('"ME14", ', '"me14x", ')
    with pytest.raises(ConfigError, match="postcode_districts"):
        parse_centre(text, "c.toml")


def test_a_ticket_qr_with_other_fields_is_refused(tmp_path):
    text = mutated(
        'languages = ["en", "pl"]\n', 'languages = ["en", "pl"]\nticket_qr = "https://x/{name}"\n'
    )
    path = write_centre(tmp_path, text)
    assert_problem(problems_loading(path), path, "centre.ticket_qr", "{centre}, {day} and {number}")


def test_appointment_codes_must_be_a_pattern_on_a_need_that_asks(tmp_path):
    need = 'text = "I want to pay my council tax"\n'
    path = write_centre(tmp_path, mutated(need, need + 'appointment_codes = "RB-[0-9"\n'))
    problems = problems_loading(path)
    assert_problem(problems, path, "needs[0].appointment_codes", "regular expression")
    path = write_centre(tmp_path, mutated(need, need + 'appointment_codes = "RB-[0-9]{6}"\n'))
    assert_problem(
        problems_loading(path), path, "needs[0].appointment_codes", "appointment question"
    )


def test_a_scanned_code_finds_the_need_whose_letters_carry_it(example):
    assert example.need_for_code("RB-123456").code == "register-birth"
    assert example.need_for_code("JC12345678").code == "jobcentre-appointment"
    assert example.need_for_code("RB-12345") is None
    assert example.need_for_code("ZZ-999999") is None
