"""Ticket bytes: scripts the printer's code pages lack go out as raster images."""

from __future__ import annotations

from dataclasses import replace

import pytest

from devices.fonts import find_font, script_runs
from devices.tickets import PrintedTicket, text_image, ticket_bytes

RASTER = b"\x1dv0"  # GS v 0: a raster bit image

NEPALI = PrintedTicket(
    centre="Maidstone Gateway",
    number="C014",
    service="काउन्सिल कर (council tax)",
    service_en="Council tax",
    ahead=2,
    wait_minutes=8,
    issued="23/11/2026 09:14",
    reference="maidstone:2026-11-23:C014",
    language="ne",
)

needs_devanagari = pytest.mark.skipif(
    find_font("DEVANAGARI") is None or "Devanagari" not in find_font("DEVANAGARI").name,
    reason="no Devanagari font (apt install fonts-noto-core, or set GATEWAY_FONT_DIR)",
)


def test_a_mixed_line_is_cut_into_runs_of_one_script():
    assert script_runs("काउन्सिल कर (council tax)") == [
        ("DEVANAGARI", "काउन्सिल कर ("),
        (None, "council tax)"),
    ]
    assert script_runs("Podatek lokalny") == [(None, "Podatek lokalny")]


@needs_devanagari
def test_devanagari_goes_out_as_an_image_not_as_question_marks():
    nepali = ticket_bytes(NEPALI)
    untranslated = ticket_bytes(replace(NEPALI, service="Council tax"))
    # One more raster image than the same Nepali ticket without the Nepali service (the
    # others are the QR code and the Nepali wait and privacy lines), and none of the
    # Devanagari reached the printer as text.
    assert nepali.count(RASTER) == untranslated.count(RASTER) + 1 == 5
    assert "काउन्सिल".encode("cp437", errors="replace") not in nepali
    assert b"C014" in nepali and b"Council tax" in nepali


@needs_devanagari
def test_each_script_is_drawn_with_ink_across_the_line():
    image = text_image(NEPALI.service)
    assert image is not None and image.width == 512
    ink = [x for x in range(image.width) for y in range(image.height) if not image.getpixel((x, y))]
    # Both the Devanagari words (left) and "council tax" (right) are drawn, not boxes.
    assert min(ink) < 150 and max(ink) > 350


def test_latin_and_polish_stay_text():
    polish = replace(NEPALI, service="Podatek lokalny", language="pl")
    data = ticket_bytes(polish)
    assert b"Podatek lokalny" in data
    assert data.count(RASTER) == 1  # the QR code only


def test_the_customers_lines_are_in_their_language_and_cyrillic_stays_text():
    from locales import translation
    from tests.devices.escpos_reader import read_escpos

    ukrainian = replace(NEPALI, service="Муніципальний податок", language="uk")
    reading = read_escpos(ticket_bytes(ukrainian))
    words = " ".join(reading.text.split())
    uk = translation("uk")
    ahead = uk.ngettext("%(n)d person is ahead of you.", "%(n)d people are ahead of you.", 2)
    assert ahead % {"n": 2} in words and ahead != "%(n)d people are ahead of you."
    assert "Муніципальний податок" in words and "Council tax" in words
    assert reading.images and len(reading.images) == 1  # the QR code: Cyrillic is text
    assert any(encoding.startswith("CP8") for _, encoding in reading.codepages[1:])
