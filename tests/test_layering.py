"""The core stays headless: importing every gateway module pulls in no UI or hardware code."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import gateway

FORBIDDEN = ("textual", "escpos", "serial", "kiosk", "counter", "devices")


def loaded_by(modules: list[str]) -> list[str]:
    """Every module a fresh interpreter has loaded after importing ``modules``."""
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded: list[str] = json.loads(result.stdout)
    return loaded


def test_gateway_imports_no_textual_escpos_or_serial():
    modules = [
        m.name
        for m in pkgutil.walk_packages(gateway.__path__, "gateway.")
        if ".migrations" not in m.name
    ]
    assert "gateway.queue" in modules and "gateway.cli" in modules
    bad = [m for m in loaded_by(modules) if m.split(".")[0] in FORBIDDEN]
    assert bad == [], f"gateway/ pulled in {bad}"


def test_running_the_cli_imports_no_ui_either(tmp_path):
    code = (
        "import json, sys\n"
        "from gateway.cli import main\n"
        f"main(['init', '--db', {str(tmp_path / 'x.db')!r}])\n"
        f"main(['status', '--db', {str(tmp_path / 'x.db')!r}])\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert [m for m in loaded if m.split(".")[0] in FORBIDDEN] == []


def test_no_core_source_imports_a_screen_or_device_even_lazily():
    import re
    from pathlib import Path

    pattern = re.compile(r"^\s*(from|import)\s+(kiosk|counter|devices|textual|escpos|serial)\b")
    offenders = [
        f"{path}:{n}"
        for path in Path(gateway.__file__).parent.rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if pattern.match(line)
    ]
    assert offenders == []


def test_the_kiosk_registers_itself_as_a_screen():
    from importlib.metadata import entry_points

    (kiosk,) = entry_points(group="gateway.screens", name="kiosk")
    assert kiosk.value == "kiosk.run:open_kiosk"
    assert callable(kiosk.load())


def test_devices_know_tickets_as_plain_data_never_the_database_or_a_screen():
    import devices

    modules = [m.name for m in pkgutil.walk_packages(devices.__path__, "devices.")]
    assert "devices.printers" in modules and "devices.commands" in modules
    bad = [
        m
        for m in loaded_by(modules)
        if m.split(".")[0] in ("sqlmodel", "sqlalchemy", "psycopg", "textual", "kiosk", "counter")
    ]
    assert bad == [], f"devices/ pulled in {bad}"
