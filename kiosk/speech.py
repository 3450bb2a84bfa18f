"""Spoken guidance through espeak-ng, offline, in the customer's language.

Each new sentence cuts off the one before, so tapping on never leaves a queue of speech.
If espeak-ng is not installed, or has no voice for the language, the kiosk stays silent:
speech is a help, never a reason to fail.
"""

from __future__ import annotations

import shutil
import subprocess

from kiosk.i18n import VOICES


class Speaker:
    def __init__(self, enabled: bool, command: str = "espeak-ng") -> None:
        self.program = shutil.which(command) if enabled else None
        self._current: subprocess.Popen[bytes] | None = None

    @property
    def enabled(self) -> bool:
        return self.program is not None

    def command(self, text: str, language: str) -> list[str] | None:
        voice = VOICES.get(language)
        if self.program is None or voice is None or not text.strip():
            return None
        return [self.program, "-v", voice, "-s", "150", "--", text]

    def say(self, text: str, language: str) -> None:
        argv = self.command(text, language)
        if argv is None:
            return
        self.stop()
        try:
            self._current = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        except OSError:
            self.program = None  # gone since start-up: stay silent

    def stop(self) -> None:
        if self._current is not None and self._current.poll() is None:
            self._current.kill()
            self._current.wait()
        self._current = None
