"""One installable distribution: the four packages, the example centre and the migrations."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_carries_packages_example_centre_and_migrations(tmp_path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    wheel = next(tmp_path.glob("*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for package in ("gateway", "kiosk", "counter", "devices", "locales"):
        assert f"{package}/__init__.py" in names
    assert "gateway/centres/example.toml" in names
    assert "gateway/migrations/env.py" in names
    assert "gateway/migrations/script.py.mako" in names
    assert any(n.startswith("gateway/migrations/versions/0001") for n in names)
    assert any(n.startswith("gateway/migrations/versions/0002") for n in names)
    # The kiosk needs its stylesheet and every language's compiled catalogue.
    assert "kiosk/kiosk.tcss" in names
    for language in ("pl", "ro", "ne", "uk", "tr"):
        assert f"locales/{language}/LC_MESSAGES/kiosk.mo" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "gateway = gateway.cli:main" in text
    # The hardware commands are found through entry points, as the screens are.
    assert "[gateway.devices]" in text and "reprint = devices.commands:reprint" in text
    assert "kiosk = kiosk.run:open_kiosk" in text
