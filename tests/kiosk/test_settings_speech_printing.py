"""The kiosk's settings file, spoken guidance and the first printer paths."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

import pytest

from devices.printers import PrintFailed, open_printer
from devices.tickets import PrintedTicket, ticket_bytes
from gateway.errors import ConfigError
from kiosk.i18n import VOICES, shipped_languages
from kiosk.settings import MIN_WARN_SECONDS, KioskSettings, load_settings
from kiosk.speech import Speaker

TICKET = PrintedTicket(
    centre="Maidstone Gateway",
    number="C014",
    service="Podatek lokalny",
    service_en="Council tax",
    ahead=3,
    wait_minutes=12,
    issued="23/11/2026 09:14",
    reference="maidstone:2026-11-23:C014",
    language="pl",
)


class TestSettings:
    def test_a_settings_file_and_the_command_line_combine(self, tmp_path):
        path = tmp_path / "kiosk.toml"
        path.write_text('[kiosk]\nname = "door-left"\nstaff_pin = 4821\nidle_seconds = 90\n')
        settings = load_settings(path, printer="tcp:10.1.2.3:9100", idle_seconds=None)
        assert settings.name == "door-left"
        assert settings.staff_pin == "4821"
        assert settings.idle_seconds == 90
        assert settings.printer == "tcp:10.1.2.3:9100"

    def test_every_problem_is_listed_at_once(self, tmp_path):
        path = tmp_path / "kiosk.toml"
        path.write_text('[kiosk]\nstaff_pin = "12"\nwarn_seconds = 5\ncolour = "red"\n')
        with pytest.raises(ConfigError) as caught:
            load_settings(path)
        text = "\n".join(caught.value.problems)
        assert "kiosk.colour: is not a kiosk setting" in text
        assert "staff_pin: must be 4 to 8 digits" in text
        assert f"warn_seconds: must be at least {MIN_WARN_SECONDS}" in text

    def test_a_broken_file_is_one_sentence(self, tmp_path):
        path = tmp_path / "kiosk.toml"
        path.write_text("[kiosk\nname=")
        with pytest.raises(ConfigError, match="cannot be read"):
            load_settings(path)
        with pytest.raises(ConfigError, match="no such file"):
            load_settings(tmp_path / "missing.toml")

    def test_the_default_warning_gives_at_least_twenty_seconds(self):
        assert KioskSettings().warn_seconds >= 20
        assert KioskSettings().problems() == []


needs_espeak = pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng is not installed (apt install espeak-ng)"
)


class TestSpeech:
    def test_speech_off_runs_nothing(self):
        assert Speaker(False).command("Hello", "en") is None

    @needs_espeak
    def test_every_shipped_language_has_an_offline_voice(self, tmp_path):
        for language in shipped_languages():
            speaker = Speaker(True)
            argv = speaker.command("Gateway", language)
            assert argv is not None and argv[2] == VOICES[language]
            wav = tmp_path / f"{language}.wav"
            done = subprocess.run([*argv[:-2], "-w", str(wav), "--", "1 2 3"], check=False)
            assert done.returncode == 0, f"espeak-ng has no voice for {language}"
            assert wav.stat().st_size > 1000

    @needs_espeak
    def test_a_new_sentence_cuts_off_the_last(self):
        speaker = Speaker(True)
        speaker.program = shutil.which("sleep")  # a long-running stand-in for the voice
        speaker.command = lambda text, language: [speaker.program, "30"]  # type: ignore[method-assign]
        speaker.say("first", "en")
        first = speaker._current
        speaker.say("second", "en")
        assert first is not None and first.poll() is not None  # killed
        speaker.stop()


class TestPrinting:
    def test_the_ticket_bytes_carry_the_number_the_qr_and_a_cut(self):
        data = ticket_bytes(TICKET)
        assert b"C014" in data
        assert b"Council tax" in data
        assert b"\x1dV" in data  # GS V: cut
        assert b"\x1bv" in data or b"\x1d(k" in data or b"\x1dv0" in data  # QR as image

    def test_a_preview_printer_writes_the_bytes(self, tmp_path):
        printer = open_printer(f"preview:{tmp_path}")
        printer.print_ticket(TICKET)
        assert (tmp_path / "C014.bin").read_bytes() == ticket_bytes(TICKET)

    def test_a_missing_device_is_one_sentence(self, tmp_path):
        printer = open_printer(f"file:{tmp_path}/nowhere/lp0")
        with pytest.raises(PrintFailed, match="did not take the ticket"):
            printer.print_ticket(TICKET)

    def test_a_network_printer_that_refuses_fails_fast(self):
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
        probe.close()  # nothing listens there now
        printer = open_printer(f"tcp:127.0.0.1:{port}")
        began = time.monotonic()
        with pytest.raises(PrintFailed):
            printer.print_ticket(TICKET)
        assert time.monotonic() - began < 3

    def test_nonsense_specs_are_refused_with_the_choices(self):
        for spec in ("lp0", "usb", "tcp:", "file:"):
            with pytest.raises(ValueError, match="none, file:"):
                open_printer(spec)
        assert not open_printer("none").configured
        assert not open_printer(None).configured
