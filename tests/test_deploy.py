"""deploy/: from a bare machine to a running role. The units pass systemd's own checks and
start real gateway commands; install.sh lays every file down with the right modes, never
overwrites settings or credentials, and can run twice; the nightly job closes the day,
purges, backs up and keeps the newest backups, on a real store; the printer rule, the
terminal's settings and the scripts pass their tools' checks."""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / "deploy"
INSTALL = DEPLOY / "install.sh"
NIGHTLY = DEPLOY / "bin" / "gateway-nightly"
VENV_BIN = Path(sys.executable).parent
GATEWAY = VENV_BIN / "gateway"
SCREENS = ("gateway-kiosk.service", "gateway-board.service", "gateway-board-browser.service")
PG_URL = (
    "postgresql://gateway_counter@db.example/gateway"
    "?sslmode=verify-full&sslrootcert=/etc/gateway/ca.crt"
)


def run(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
    )


def install(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """install.sh into ``root`` (a staged install: no packages, users or venv)."""
    flags = [] if shutil.which("systemctl") else ["--no-enable"]
    done = run("bash", INSTALL, "--root", root, *flags, *args)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def tree(root: Path) -> dict[str, tuple[int, str]]:
    """Every path under ``root``: its mode and its content (or where a link points)."""
    out = {}
    for path in sorted(root.rglob("*")):
        if path.is_symlink():
            content = "-> " + os.readlink(path)
        elif path.is_file():
            content = path.read_text(encoding="utf-8", errors="replace")
        else:
            content = "/"
        out[str(path.relative_to(root))] = (mode(path), content)
    return out


def unit_values(text: str, key: str) -> list[str]:
    """The values of ``key=`` in a unit file (lines continued with a backslash joined)."""
    text = re.sub(r"\\\n", " ", text)
    return [m.group(1).strip() for m in re.finditer(rf"^{key}=(.*)$", text, re.M)]


# -- install.sh ----------------------------------------------------------------------------


@pytest.fixture
def single(tmp_path: Path) -> Path:
    """A whole small centre (kiosk, board server, nightly, SQLite) installed into a folder."""
    root = tmp_path / "root"
    install(root, "single")
    return root


def test_install_keeps_secrets_owner_only_and_settings_group_readable(single: Path) -> None:
    etc = single / "etc" / "gateway"
    assert mode(etc / "credentials") == 0o700
    for secret in ("kiosk.pin", "gateway_kiosk.password", "gateway_owner.password"):
        assert mode(etc / "credentials" / secret) == 0o600, secret
    assert re.fullmatch(r"\d{6}\n", (etc / "credentials" / "kiosk.pin").read_text())
    # SQLite has no password: the files that stand in are empty.
    assert (etc / "credentials" / "gateway_kiosk.password").read_text() == ""
    for settings in ("gateway.env", "kiosk.toml"):
        assert mode(etc / settings) == 0o640, settings
    env = (etc / "gateway.env").read_text()
    assert 'GATEWAY_DB="sqlite:////var/lib/gateway/gateway.db"' in env
    assert "@" not in re.sub(r"(?m)^#.*$", "", env), "a template placeholder was left"
    assert "staff_pin" not in (etc / "kiosk.toml").read_text().replace("# ", "")
    for state in ("var/lib/gateway", "var/log/gateway", "var/backups/gateway"):
        assert mode(single / state) == 0o750, state
    assert mode(single / "opt" / "gateway" / "libexec" / "gateway-nightly") == 0o755
    assert mode(single / "usr" / "local" / "sbin" / "gateway-as") == 0o755
    units = single / "etc" / "systemd" / "system"
    for unit in DEPLOY.joinpath("systemd").iterdir():
        assert (units / unit.name).read_text() == unit.read_text()
        assert mode(units / unit.name) == 0o644
    assert (single / "etc/udev/rules.d/60-gateway-printers.rules").exists()
    assert "blacklist usblp" in (single / "etc/modprobe.d/gateway-no-usblp.conf").read_text()


@pytest.mark.skipif(not shutil.which("systemctl"), reason="systemctl is not installed")
def test_install_enables_the_roles_units_and_boots_to_the_screen(single: Path) -> None:
    units = single / "etc" / "systemd" / "system"
    assert (units / "graphical.target.wants" / "gateway-kiosk.service").is_symlink()
    assert (units / "multi-user.target.wants" / "gateway-board-server.service").is_symlink()
    assert (units / "timers.target.wants" / "gateway-nightly.timer").is_symlink()
    assert os.readlink(units / "default.target").endswith("/graphical.target")
    # Only the role's units: the other screens stay off tty1.
    assert not list(units.glob("*.wants/gateway-board.service"))
    assert not list(units.glob("*.wants/gateway-board-browser.service"))


def test_install_twice_changes_nothing_and_never_overwrites_settings(single: Path) -> None:
    etc = single / "etc" / "gateway"
    (etc / "gateway.env").write_text('GATEWAY_DB="sqlite:////srv/gateway/centre.db"\n')
    (etc / "credentials" / "kiosk.pin").write_text("271828\n")
    (etc / "kiosk.toml").write_text('[kiosk]\nname = "door-left"\n')
    before = tree(single)
    again = install(single, "single")
    assert tree(single) == before
    assert "kept" in again.stdout and "wrote" not in again.stdout
    assert (etc / "credentials" / "kiosk.pin").read_text() == "271828\n"


def test_install_a_counter_desk_on_postgresql(tmp_path: Path) -> None:
    root = tmp_path / "root"
    done = install(root, "--db", PG_URL, "counter", "--counter", "3", "nightly")
    env = (root / "etc/gateway/gateway.env").read_text()
    assert f'GATEWAY_DB="{PG_URL}"' in env  # "&" and "?" arrive as they are
    # PostgreSQL passwords are never made up here: the installer names the files to bring.
    credentials = root / "etc/gateway/credentials"
    assert list(credentials.iterdir()) == []
    assert str(credentials / "gateway_counter.password") in done.stdout
    assert str(credentials / "gateway_owner.password") in done.stdout
    assert not (root / "etc/gateway/kiosk.toml").exists()
    assert not (root / "etc/modprobe.d/gateway-no-usblp.conf").exists()
    if shutil.which("systemctl"):
        wants = root / "etc/systemd/system/graphical.target.wants"
        assert (wants / "gateway-counter@3.service").is_symlink()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["kiosk", "board"], "choose one per machine"),
        (["--db", PG_URL, "counter"], "needs --counter"),
        (["kiosk"], "say which store"),
        (["cashier"], "is not a role"),
        ([], "say which role"),
    ],
)
def test_install_refuses_what_cannot_work(tmp_path: Path, args: list[str], says: str) -> None:
    done = run("bash", INSTALL, "--root", tmp_path / "root", "--no-enable", *args)
    assert done.returncode != 0
    assert says in done.stderr
    assert not (tmp_path / "root" / "etc" / "gateway").exists()


# -- the units -----------------------------------------------------------------------------


def verify_problems(units: list[Path]) -> list[str]:
    """``systemd-analyze verify``'s complaints about these unit files: every line of its
    output that names one of them, and a non-zero exit (it exits 0 on many warnings)."""
    done = run("systemd-analyze", "verify", "--man=no", *units)
    ours = {u.name for u in units} | {str(u.parent) for u in units}
    problems = [
        line
        for line in (done.stdout + done.stderr).splitlines()
        if any(name in line for name in ours)
    ]
    if done.returncode != 0:
        problems.append(f"exit status {done.returncode}: {done.stderr.strip()}")
    return problems


@pytest.fixture
def verifiable_units(single: Path, tmp_path: Path) -> list[Path]:
    """The installed units, as systemd-analyze can check them here: /opt/gateway is the
    test's own venv (what install.sh would have made) and its libexec the installed
    scripts; the counter template as an instance."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze is not installed")
    missing = [p for p in ("cage", "foot", "chromium") if not shutil.which(p)]
    if missing:
        pytest.skip(f"{', '.join(missing)} not installed (.ci/run installs them)")
    if not GATEWAY.exists():
        pytest.skip(f"no gateway command beside {sys.executable}")
    (single / "opt" / "gateway" / "bin").symlink_to(VENV_BIN)
    checked = tmp_path / "units"
    checked.mkdir()
    for unit in (single / "etc" / "systemd" / "system").glob("gateway-*"):
        text = unit.read_text().replace("/opt/gateway/", f"{single}/opt/gateway/")
        name = unit.name.replace("@.service", "@3.service")
        (checked / name).write_text(text)
    return sorted(checked.iterdir())


def test_every_unit_passes_systemd_analyze_verify(verifiable_units: list[Path]) -> None:
    names = {u.name for u in verifiable_units}
    assert {
        "gateway-kiosk.service",
        "gateway-counter@3.service",
        "gateway-board.service",
        "gateway-board-server.service",
        "gateway-board-browser.service",
        "gateway-nightly.service",
        "gateway-nightly.timer",
    } <= names
    assert verify_problems(verifiable_units) == []


def test_the_verify_check_sees_a_broken_unit(verifiable_units: list[Path]) -> None:
    kiosk = next(u for u in verifiable_units if u.name == "gateway-kiosk.service")
    kiosk.write_text(kiosk.read_text().replace("Restart=always", "Restart=sometimes"))
    problems = verify_problems(verifiable_units)
    assert any("gateway-kiosk.service" in p and "sometimes" in p for p in problems), problems


@pytest.mark.parametrize("screen", (*SCREENS, "gateway-counter@.service"))
def test_screens_run_full_screen_on_tty1_instead_of_the_login_prompt(screen: str) -> None:
    text = (DEPLOY / "systemd" / screen).read_text()
    for line in (
        "User=gateway",
        "PAMName=login",
        "TTYPath=/dev/tty1",
        "Conflicts=getty@tty1.service",
        "Restart=always",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "PrivateTmp=yes",
    ):
        assert re.search(rf"^{re.escape(line)}$", text, re.M), f"{screen}: {line}"
    (start,) = unit_values(text, "ExecStart")
    assert start.startswith("/usr/bin/cage -d -- ")
    # What would break the screen: /run/user hidden, devices cut off.
    assert not re.search(r"^(ProtectHome|PrivateDevices|ProtectClock|DevicePolicy)=", text, re.M)


def test_no_unit_carries_a_password_and_every_one_logs_to_the_journal() -> None:
    for unit in (DEPLOY / "systemd").glob("*.service"):
        text = unit.read_text()
        assert "GATEWAY_LOG=journal" in " ".join(unit_values(text, "Environment")), unit.name
        assert unit_values(text, "EnvironmentFile") == ["/etc/gateway/gateway.env"]
        assert not re.search(r"(?i)password=|PGPASSWORD|GATEWAY_KIOSK_PIN=", text), unit.name
        for credential in unit_values(text, "LoadCredential"):
            assert credential.split(":", 1)[1].startswith("/etc/gateway/credentials/")
    kiosk = (DEPLOY / "systemd" / "gateway-kiosk.service").read_text()
    assert "kiosk-pin:/etc/gateway/credentials/kiosk.pin" in unit_values(kiosk, "LoadCredential")
    nightly = (DEPLOY / "systemd" / "gateway-nightly.service").read_text()
    assert unit_values(nightly, "LoadCredential") == [
        "db-password:/etc/gateway/credentials/gateway_owner.password"
    ]
    timer = (DEPLOY / "systemd" / "gateway-nightly.timer").read_text()
    assert unit_values(timer, "Persistent") == ["true"]


def test_every_file_an_enabled_unit_names_is_installed(single: Path) -> None:
    """For the single role: the settings, credentials and programs its units name exist."""
    units = single / "etc" / "systemd" / "system"
    enabled = ["gateway-kiosk.service", "gateway-board-server.service", "gateway-nightly.service"]
    for name in enabled:
        text = (units / name).read_text()
        paths = unit_values(text, "EnvironmentFile")
        paths += [c.split(":", 1)[1] for c in unit_values(text, "LoadCredential")]
        for start in unit_values(text, "ExecStart"):
            paths += re.findall(r"(?:--config[= ])(/\S+)", start)
            paths += re.findall(r"/opt/gateway/libexec/\S+", start)
        assert paths, name
        for path in paths:
            assert (single / path.lstrip("/")).exists(), f"{name} needs {path}"


def test_settings_each_unit_reads_are_in_the_env_template() -> None:
    template = (DEPLOY / "etc" / "gateway.env.in").read_text()
    offered = set(re.findall(r"(?m)^#?(GATEWAY_[A-Z_]+)=", template))
    for unit in (DEPLOY / "systemd").glob("*.service"):
        text = unit.read_text()
        defaults = set(
            re.findall(r"(GATEWAY_[A-Z_]+)=", " ".join(unit_values(text, "Environment")))
        )
        for start in unit_values(text, "ExecStart"):
            for used in re.findall(r"\$\{?(\w+)\}?", start):
                assert used in offered | defaults, f"{unit.name} uses ${used}, set nowhere"
    script = NIGHTLY.read_text()
    for setting in re.findall(r"\$\{(GATEWAY_[A-Z_]+):-", script):
        if setting not in {"GATEWAY_BIN", "GATEWAY_NIGHTLY_CLOCK", "GATEWAY_BACKUP_DIR"}:
            assert setting in offered, f"gateway-nightly reads {setting}; gateway.env lacks it"


# -- the commands the units run ------------------------------------------------------------


def gateway_calls() -> list[tuple[str, str, list[str]]]:
    """(where, subcommand, options) for each gateway command a unit or script runs."""
    calls = []
    wrappers: dict[str, str] = {}
    for unit in (DEPLOY / "systemd").glob("*.service"):
        for start in unit_values(unit.read_text(), "ExecStart"):
            words = start.split()
            for i, word in enumerate(words):
                name = word.rsplit("/", 1)[-1]
                if word.startswith("/opt/gateway/") and name in ("gateway", *wrappers):
                    rest = words[i + 1 :]
                    sub = wrappers.get(name) or rest.pop(0)
                    options = [w.split("=")[0] for w in rest if w.startswith("--")]
                    calls.append((unit.name, sub, options))
    for script in (DEPLOY / "bin").iterdir():
        for line in script.read_text().splitlines():
            match = re.search(r'"\$gateway" ([a-z-]+)(.*)', line)
            if match:
                options = re.findall(r"(--[a-z-]+)", match.group(2))
                calls.append((script.name, match.group(1), options))
    return calls


@pytest.mark.skipif(not GATEWAY.exists(), reason="no gateway command beside the test's Python")
def test_every_gateway_command_the_units_run_exists_with_its_options() -> None:
    calls = gateway_calls()
    subs = sorted({sub for _, sub, _ in calls})
    assert {"kiosk", "counter", "display", "close-day", "purge", "backup"} <= set(subs)
    top = run(GATEWAY, "--help").stdout
    commands = set(re.findall(r"^ {4}([a-z][a-z-]+)", top, re.M))
    with ThreadPoolExecutor() as pool:
        helps = dict(
            zip(subs, pool.map(lambda s: run(GATEWAY, s, "--help").stdout, subs), strict=True)
        )
    for where, sub, options in calls:
        assert sub in commands, f"{where}: gateway {sub} does not exist"
        for option in options:
            assert re.search(rf"{option}\b", helps[sub]), f"{where}: gateway {sub} {option}"


# -- the nightly job -----------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A real SQLite store made by `gateway init`, and the nightly job's settings for it."""
    if not GATEWAY.exists():
        pytest.skip(f"no gateway command beside {sys.executable}")
    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    made = run(GATEWAY, "init", "--db", url)
    assert made.returncode == 0, made.stderr
    backups = tmp_path / "backups"
    backups.mkdir()
    yield {
        "GATEWAY_DB": url,
        "GATEWAY_BIN": str(GATEWAY),
        "GATEWAY_BACKUP_DIR": str(backups),
        "GATEWAY_BACKUP_KEEP": "2",
        "GATEWAY_RETAIN_DAYS": "30",
        "GATEWAY_OWNER_DB": "",
        "GATEWAY_CENTRES": "",
        "GATEWAY_NIGHT_STARTS": "20:00",
        "GATEWAY_NIGHT_ENDS": "06:00",
    }


def gateway(settings: dict[str, str], *args: str) -> str:
    done = run(GATEWAY, *args, env={"GATEWAY_DB": settings["GATEWAY_DB"]})
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_nightly_closes_the_day_purges_backs_up_and_keeps_the_newest(
    store: dict[str, str],
) -> None:
    long_ago = date.today() - timedelta(days=400)
    long_ago -= timedelta(days=long_ago.weekday())  # a Monday, when the centre is open
    gateway(
        store,
        "checkin",
        "pay-council-tax",
        "--at",
        f"{long_ago}T10:00",
        "--help-needed",
        "wheelchair",
    )
    gateway(store, "checkin", "pay-council-tax")  # today's C001, still waiting
    backups = Path(store["GATEWAY_BACKUP_DIR"])
    for old in ("gateway-2020-01-01T000000.db", "gateway-2020-01-02T000000.db"):
        (backups / old).write_text("an old backup")
    (backups / "notes.txt").write_text("not a backup")

    # A run in the morning (a night missed while the machine was off): it must not end
    # today's tickets, but it still purges and backs up.
    morning = run(NIGHTLY, env={**store, "GATEWAY_NIGHTLY_CLOCK": "08:30"})
    assert morning.returncode == 0, morning.stderr
    assert "Not closing the day" in morning.stdout
    assert "is closed:" not in morning.stdout
    assert "cleared the details of 1 visit(s)" in morning.stdout
    first = sorted(backups.glob("gateway-2*.db"))[-1]
    assert first.name.startswith(f"gateway-{date.today().isoformat()}T")
    assert sorted(p.name for p in backups.iterdir()) == [
        "gateway-2020-01-02T000000.db",
        first.name,
        "notes.txt",
    ]

    night = run(NIGHTLY, env={**store, "GATEWAY_NIGHTLY_CLOCK": "23:30"})
    assert night.returncode == 0, night.stderr
    # Both tickets were still open after the morning: closing time ends them now.
    assert "is closed: 2 tickets still open were cancelled" in night.stdout
    assert "cleared the details of 0 visit(s)" in night.stdout  # done the first time
    kept = sorted(backups.glob("gateway-*"))
    assert len(kept) == 2 and kept[0] == first, kept
    assert (backups / "notes.txt").exists()
    assert all(mode(backup) == 0o600 for backup in kept)
    checked = gateway(store, "backup", "--verify", str(kept[-1]), "--json")
    assert json.loads(checked)["tickets"] == 2


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("GATEWAY_BACKUP_KEEP", "0", "GATEWAY_BACKUP_KEEP must be a whole number"),
        ("GATEWAY_RETAIN_DAYS", "a year", "GATEWAY_RETAIN_DAYS must be a whole number"),
        ("GATEWAY_NIGHT_STARTS", "8pm", "GATEWAY_NIGHT_STARTS must be a local time"),
        ("GATEWAY_DB", "", "GATEWAY_DB is not set"),
        ("GATEWAY_BACKUP_DIR", "/nonexistent/backups", "does not exist"),
    ],
)
def test_nightly_refuses_bad_settings_before_touching_the_store(
    tmp_path: Path, setting: str, value: str, says: str
) -> None:
    calls = tmp_path / "calls"
    fake = tmp_path / "gateway"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    fake.chmod(0o755)
    settings = {
        "GATEWAY_DB": f"sqlite:///{tmp_path / 'gateway.db'}",
        "GATEWAY_BIN": str(fake),
        "GATEWAY_BACKUP_DIR": str(tmp_path),
        "GATEWAY_NIGHTLY_CLOCK": "23:30",
        setting: value,
    }
    done = run(NIGHTLY, env=settings)
    assert done.returncode == 1
    assert says in done.stderr
    if setting != "GATEWAY_BACKUP_DIR":
        assert not calls.exists()
    else:  # the folder is looked at after the purge; no backup is attempted
        assert "backup" not in calls.read_text()


# -- the scripts' other jobs ---------------------------------------------------------------


def test_gateway_as_runs_as_the_gateway_user_with_the_urls_role_password(tmp_path: Path) -> None:
    env_file = tmp_path / "gateway.env"
    env_file.write_text(
        f'GATEWAY_DB="{PG_URL}"\nGATEWAY_OWNER_DB=postgresql://gateway_owner@db.example/gateway\n'
    )
    env = {"GATEWAY_AS_PRINT": "1", "GATEWAY_ENV_FILE": str(env_file)}
    script = DEPLOY / "bin" / "gateway-as"
    desk = run(script, "doctor", env=env).stdout
    assert "User=gateway" in desk
    assert "LoadCredential=db-password:/etc/gateway/credentials/gateway_counter.password" in desk
    assert desk.rstrip().endswith("/opt/gateway/bin/gateway doctor")
    owner = run(script, "--owner", "db", "upgrade", env=env).stdout
    assert "credentials/gateway_owner.password" in owner
    env_file.write_text("GATEWAY_DB=sqlite:////var/lib/gateway/gateway.db\n")
    assert "LoadCredential" not in run(script, "status", env=env).stdout


# -- printers, terminal, shell -------------------------------------------------------------

RULES = DEPLOY / "udev" / "60-gateway-printers.rules"
UDEV_KEYS = r"ACTION|SUBSYSTEM|ENV\{\w+\}|ATTR\{\w+\}|ATTRS\{\w+\}|MODE|GROUP|GOTO|LABEL"


def test_printer_rule_names_the_makers_and_gives_them_to_the_gateway_group() -> None:
    rules = [
        line for line in RULES.read_text().splitlines() if line.strip() and not line.startswith("#")
    ]
    token = re.compile(rf'^({UDEV_KEYS})(==|!=|=|\+=)"[^"]*"$')
    for line in rules:
        for part in line.split(", "):
            assert token.match(part), f"not a udev key-operator-value: {part!r} in {line!r}"
    vendors = re.findall(r'ATTR\{idVendor\}=="(\w{4})"', RULES.read_text())
    # Epson, Star, Bixolon, Citizen (both ids), and generic ESC/POS printers' chips.
    assert {"04b8", "0519", "1504", "1d90", "2730", "0416", "0fe6"} <= set(vendors)
    for line in rules:
        if "idVendor" in line:
            assert line.endswith('MODE="0660", GROUP="gateway"'), line
    assert rules[-1] == 'LABEL="gateway_printers_end"'


@pytest.mark.skipif(
    not (shutil.which("udevadm") and shutil.which("unshare") and os.geteuid() == 0),
    reason="needs udevadm, unshare and root (to show udev the rule in a private mount)",
)
def test_udev_parses_the_printer_rule(tmp_path: Path) -> None:
    """udev's own parser, on the rule placed in /etc/udev/rules.d inside a private mount
    namespace (the machine's rules and groups are untouched); the gateway group exists
    there, as install.sh makes it."""
    group = tmp_path / "group"
    group.write_text(Path("/etc/group").read_text() + "gateway:x:999:\n")
    rules_dir = tmp_path / "rules.d"
    rules_dir.mkdir()
    shutil.copy(RULES, rules_dir / RULES.name)
    device = Path("/sys/class/net/lo")
    if not device.exists():
        pytest.skip("no /sys/class/net/lo to run udevadm test against")
    script = (
        f"mount --bind {rules_dir} /etc/udev/rules.d && mount --bind {group} /etc/group && "
        f"udevadm test --action=add {device}"
    )
    done = run("unshare", "--mount", "sh", "-c", script)
    output = done.stdout + done.stderr
    if "Reading rules file: /etc/udev/rules.d/" not in output:
        pytest.skip(f"udevadm test did not run here: {output.strip()[:200]}")
    complaints = [
        line for line in output.splitlines() if RULES.name in line and "Reading rules" not in line
    ]
    assert complaints == []


@pytest.mark.skipif(not shutil.which("foot"), reason="foot is not installed")
def test_foot_settings_are_valid_and_start_no_other_program() -> None:
    settings = DEPLOY / "etc" / "foot.ini"
    done = run("foot", "--check-config", f"--config={settings}")
    assert done.returncode == 0, done.stderr
    text = settings.read_text()
    for escape in ("spawn-terminal", "show-urls-launch", "clipboard-paste", "primary-paste"):
        assert re.search(rf"^{escape}=none$", text, re.M), escape


@pytest.mark.skipif(not shutil.which("shellcheck"), reason="shellcheck is not installed")
def test_scripts_pass_shellcheck() -> None:
    scripts = [INSTALL, *sorted((DEPLOY / "bin").iterdir())]
    done = run("shellcheck", "--severity=style", *scripts)
    assert done.returncode == 0, done.stdout
