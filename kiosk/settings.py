"""The kiosk's own settings: which kiosk it is, its printer, scanner and door sensor, the
staff PIN and its timers.

They come from a small TOML file (``gateway kiosk --config kiosk.toml``), then from the
command line. The centre's needs and languages come from the store, not from here.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from gateway.errors import ConfigError

MIN_WARN_SECONDS = 20  # the idle warning gives at least this long to carry on


@dataclass(frozen=True)
class KioskSettings:
    name: str = "kiosk-1"
    printer: str = "none"
    printer_profile: str = "TM-T88V"
    paper_width: int = 80  # mm: 80 or 58
    scanner: str | None = None  # a serial appointment scanner: serial:/dev/ttyACM0?baud=9600
    door: str | None = None  # a door-counter sensor, one line per person: serial:...
    staff_pin: str | None = None
    idle_seconds: float = 60.0  # no touch for this long: the warning shows
    warn_seconds: float = 30.0  # then this long to tap "I'm still here"
    ticket_seconds: float = 30.0  # the ticket stays on screen this long
    retry_seconds: float = 5.0  # while the store is down, try it this often
    speech: bool = False
    large_text: bool = False
    high_contrast: bool = False
    qr_template: str | None = None  # None: the centre file's ``ticket_qr``

    def problems(self) -> list[str]:
        out = []
        if self.warn_seconds < MIN_WARN_SECONDS:
            out.append(f"warn_seconds: must be at least {MIN_WARN_SECONDS}")
        if self.idle_seconds < 10:
            out.append("idle_seconds: must be at least 10")
        if self.staff_pin is not None and not (
            self.staff_pin.isdigit() and 4 <= len(self.staff_pin) <= 8
        ):
            out.append("staff_pin: must be 4 to 8 digits")
        if not self.name or len(self.name) > 40:
            out.append("name: must be 1 to 40 characters")
        try:
            if self.qr_template is not None:
                self.qr_template.format(centre="c", day="d", number="n")
        except (KeyError, IndexError, ValueError):
            out.append("qr_template: may use only {centre}, {day} and {number}")
        out += self._device_problems()
        return out

    def _device_problems(self) -> list[str]:
        from devices.lines import parse_line_spec
        from devices.printers import open_printer

        out = []
        if self.paper_width not in (58, 80):
            out.append("paper_width: must be 58 or 80 (mm)")
        else:
            try:
                open_printer(self.printer, profile=self.printer_profile, width_mm=self.paper_width)
            except ValueError as exc:
                out.append(f"printer: {exc}")
        for name in ("scanner", "door"):
            spec = getattr(self, name)
            if spec is not None:
                try:
                    parse_line_spec(spec)
                except ValueError as exc:
                    out.append(f"{name}: {exc}")
        return out


def load_settings(path: str | Path | None = None, **overrides: Any) -> KioskSettings:
    """Read ``[kiosk]`` from a TOML file, apply overrides (None means "not given"), check.
    Raises ``ConfigError`` listing every problem."""
    values: dict[str, Any] = {}
    where = str(path) if path else "kiosk settings"
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
        except FileNotFoundError:
            raise ConfigError([f"{where}: no such file"]) from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError([f"{where}: cannot be read ({exc})"]) from None
        values = raw.get("kiosk", {})
        if not isinstance(values, dict):
            raise ConfigError([f"{where}: [kiosk] must be a table"])
    known = {f.name: f for f in fields(KioskSettings)}
    problems = [f"{where}: kiosk.{k}: is not a kiosk setting" for k in values if k not in known]
    values = {k: v for k, v in values.items() if k in known}
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "staff_pin" in values and values["staff_pin"] is not None:
        values["staff_pin"] = str(values["staff_pin"])
    try:
        settings = replace(KioskSettings(), **values)
    except TypeError as exc:
        raise ConfigError([f"{where}: {exc}"]) from None
    problems += [f"{where}: kiosk.{p}" for p in settings.problems()]
    if problems:
        raise ConfigError(problems)
    return settings
