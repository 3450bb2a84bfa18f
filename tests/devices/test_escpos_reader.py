"""What a printed ticket really says, read back from its ESC/POS bytes; and the reader."""

from __future__ import annotations

import contextlib
import io
from dataclasses import replace

import pytest
from PIL import Image, ImageChops, ImageDraw

from devices.tickets import ticket_bytes
from locales import translation
from tests.devices.escpos_reader import Line, Reading, dummy_printer, read_escpos
from tests.devices.test_tickets import NEPALI, needs_devanagari

POLISH = replace(NEPALI, service="Podatek lokalny £5 Zażółć gęślą jaźń", language="pl")
PAYLOAD = "maidstone:2026-11-23:C014"
IMAGE_COMMANDS = ["bitImageRaster", "bitImageColumn", "graphics"]


@pytest.fixture(scope="module")
def polish_ticket() -> Reading:
    return read_escpos(ticket_bytes(POLISH))


def area(line: Line) -> int:
    return line.size[0] * line.size[1]


def has_ink(image: Image.Image) -> bool:
    return image.convert("L").getextrema()[0] == 0


# --- the ticket


def test_a_polish_ticket_prints_pound_and_polish_letters_not_question_marks(polish_ticket):
    assert polish_ticket.line_with("Podatek").text == POLISH.service
    assert "?" not in polish_ticket.text
    # £ comes from the printer's first code page, the Polish letters from its Latin-2 one.
    assert polish_ticket.codepages == [(0, "CP437"), (18, "CP852")]


def test_every_part_of_the_ticket_reaches_the_paper_as_text(polish_ticket):
    words = " ".join(polish_ticket.text.split())
    for part in (POLISH.centre, POLISH.number, POLISH.service_en, POLISH.issued):
        assert polish_ticket.line_with(part)
    # The privacy line and the wait are in the customer's language (it may wrap).
    polish = translation("pl")
    assert polish.gettext(POLISH.privacy) in words
    assert polish.gettext(POLISH.privacy) != POLISH.privacy
    assert "2 osoby" in words and "8 minut" in words


def test_the_ticket_number_is_the_largest_text_on_the_ticket(polish_ticket):
    number = polish_ticket.line_with(POLISH.number)
    others = [line for line in polish_ticket.lines if line.text.strip() and line is not number]
    assert number.text.strip() == POLISH.number
    assert number.size[0] > 1 and number.size[1] > 1
    assert all(area(number) > area(other) for other in others)


def test_the_qr_code_carries_the_ticket_reference(polish_ticket):
    assert polish_ticket.qr_payloads == [POLISH.reference]
    assert len(polish_ticket.images) == 1  # the QR code is the only picture


def test_the_ticket_is_cut_once_after_everything_else(polish_ticket):
    assert polish_ticket.cuts == 1
    assert polish_ticket.commands[-1].name == "GS V"


@needs_devanagari
def test_devanagari_is_printed_as_a_picture_and_never_as_question_marks():
    nepali = read_escpos(ticket_bytes(NEPALI))
    untranslated = read_escpos(ticket_bytes(replace(NEPALI, service=NEPALI.service_en)))
    # The Nepali line adds one picture with ink on it, and not a character of text.
    assert len(nepali.images) == len(untranslated.images) + 1
    assert nepali.text == untranslated.text
    assert "?" not in nepali.text
    assert has_ink(nepali.images[0])
    assert nepali.qr_payloads == [NEPALI.reference]


# --- the reader


def test_pound_and_polish_letters_switch_code_pages_and_read_back():
    printer = dummy_printer()
    printer.textln("Podatek £5 łódź")
    reading = read_escpos(printer.output)
    assert reading.text == "Podatek £5 łódź\n"
    assert reading.codepages == [(0, "CP437"), (18, "CP852")]


def test_size_bold_and_alignment_follow_set_and_set_with_default():
    printer = dummy_printer()
    printer.set(align="right", bold=True, custom_size=True, width=3, height=2)
    printer.textln("big")
    printer.set(double_width=True, double_height=True)
    printer.textln("quad")
    printer.set_with_default()
    printer.text("small ")
    printer.set(custom_size=True, width=2, height=5)
    printer.textln("TALL")
    printer.set_with_default(font="b")
    printer.textln("plain")
    assert read_escpos(printer.output).lines == [
        Line("big", (3, 2), bold=True, align="right", font=0),
        Line("quad", (2, 2), bold=False, align="right", font=0),  # ESC ! clears bold
        Line("small TALL", (2, 5), bold=False, align="left", font=0),
        Line("plain", (1, 1), bold=False, align="left", font=1),
    ]


def test_initialising_the_printer_resets_its_modes_and_drops_unprinted_text():
    printer = dummy_printer()
    printer.set(align="center", bold=True, double_height=True)
    printer.text("never printed")
    printer.hw("INIT")
    printer.textln("printed")
    assert read_escpos(printer.output).lines == [
        Line("printed", (1, 1), bold=False, align="left", font=0)
    ]


def test_a_native_qr_code_is_read_from_its_stored_data():
    printer = dummy_printer()
    printer.qr(PAYLOAD, native=True)
    reading = read_escpos(printer.output)
    assert reading.qr_payloads == [PAYLOAD]
    assert reading.images == []


@pytest.mark.parametrize("impl", IMAGE_COMMANDS)
def test_a_qr_code_drawn_as_a_picture_is_decoded(impl):
    printer = dummy_printer()
    with contextlib.redirect_stdout(io.StringIO()):
        printer.qr(PAYLOAD, size=3, image_arguments={"impl": impl})
    reading = read_escpos(printer.output)
    assert reading.qr_payloads == [PAYLOAD]
    assert len(reading.images) == 1


@pytest.mark.parametrize("impl", IMAGE_COMMANDS)
def test_a_picture_comes_back_dot_for_dot(impl):
    picture = Image.new("1", (21, 11), 1)
    draw = ImageDraw.Draw(picture)
    draw.line((0, 0, 20, 10), fill=0)
    draw.rectangle((14, 1, 19, 4), fill=0)
    printer = dummy_printer()
    printer.image(picture, impl=impl)
    (image,) = read_escpos(printer.output).images
    # The same dots, and blank wherever the printer padded to whole bytes or stripes.
    expected = Image.new("L", image.size, 255)
    expected.paste(picture.convert("L"), (0, 0))
    assert image.width >= picture.width and image.height >= picture.height
    assert ImageChops.difference(image.convert("L"), expected).getbbox() is None


def test_every_command_python_escpos_sends_is_understood():
    printer = dummy_printer()
    printer.hw("INIT")
    printer.hw("SELECT")
    printer.hw("RESET")
    printer.set_with_default()
    printer.set(underline=2, invert=True, smooth=True, flip=True, density=3, font="b")
    printer.line_spacing(40)
    printer.line_spacing(10, divisor=60)
    printer.line_spacing(100, divisor=360)
    printer.line_spacing()
    for control in ("LF", "CR", "HT", "FF", "VT"):
        printer.control(control)
    printer.ln(2)
    printer.print_and_feed(3)
    printer.block_text("Every word of this sentence comes back, wrapped. " * 3)
    printer.ln()
    printer.charcode("CP1252")
    printer.textln("Café")
    printer.charcode("AUTO")
    printer.cashdraw(2)
    printer.panel_buttons(False)
    printer.buzzer()
    printer.target("SLIP")
    printer.eject_slip()
    printer.target("ROLL")
    with contextlib.redirect_stdout(io.StringIO()):
        printer.barcode("4006381333931", "EAN13")
    printer.cut()
    printer.cut(mode="PART")
    printer.cut(feed=False)
    status_query = b"\x10\x04\x04"  # DLE EOT 4: paper status, as paper_status() sends
    reading = read_escpos(bytes(printer.output) + status_query)
    assert reading.cuts == 3
    assert reading.line_with("Café").text == "Café"
    assert (16, "CP1252") in reading.codepages
    assert "comes back, wrapped." in reading.text
    assert reading.named("GS k")[0].data == b"4006381333931"
    assert reading.named("DLE EOT")[0].args == (4,)
    names = {command.name for command in reading.commands}
    assert {"ESC @", "ESC =", "ESC ?", "ESC 3", "ESC A", "ESC +", "ESC 2", "ESC -", "GS B"} <= names
    assert {"ESC {", "GS b", "GS |", "ESC D", "ESC d", "ESC p", "ESC c", "ESC B", "ESC K"} <= names
    assert {"CR", "FF", "VT", "GS h", "GS w", "GS H", "GS f", "GS V"} <= names


def test_an_unknown_command_is_reported_with_its_offset_and_byte():
    with pytest.raises(ValueError, match=r"ESC 0xff at offset 3"):
        read_escpos(b"abc\x1b\xff")
    with pytest.raises(ValueError, match=r"control byte 0x01 at offset 0"):
        read_escpos(b"\x01")


def test_a_command_cut_short_is_reported():
    with pytest.raises(ValueError, match=r"GS v 0 at offset 2 runs past the end"):
        read_escpos(b"ok\x1dv0\x00\x02\x00\x02\x00\xff")


def test_a_code_page_the_profile_lacks_is_reported():
    with pytest.raises(ValueError, match=r"code page 99 is not in profile TM-T88V"):
        read_escpos(b"\x1bt\x63abc\n")
