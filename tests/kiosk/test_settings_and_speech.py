"""The kiosk's settings file and spoken guidance."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from gateway.errors import ConfigError
from kiosk.i18n import VOICES, shipped_languages
from kiosk.settings import MIN_WARN_SECONDS, KioskSettings, load_settings
from kiosk.speech import Speaker


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
