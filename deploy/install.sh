#!/usr/bin/env bash
# Installs a Gateway role on a Debian 12 or Ubuntu 24.04 machine: the packages it needs,
# the gateway user, Gateway itself in /opt/gateway, its settings in /etc/gateway, the
# systemd units, the printer rules, and enables the units. Run it as root from a checkout
# of Gateway; run it again to update (it never overwrites settings or credentials).
# The steps, and what to do before and after, are in docs/DEPLOY.md.
set -euo pipefail
shopt -u patsub_replacement 2>/dev/null || true  # "&" in a URL is just "&"

usage() {
    cat <<'USAGE'
usage: deploy/install.sh [OPTIONS] ROLE...

Roles (at most one of kiosk, counter, board and board-browser: they take tty1):
  single         a whole small centre on one machine: kiosk + board-server + nightly,
                 on an SQLite store in /var/lib/gateway (made with `gateway init`)
  kiosk          the check-in kiosk, full screen on this machine's touchscreen
  counter        a counter desk, full screen (needs --counter ID)
  board          the waiting-room board in a terminal, full screen on this machine's TV
  board-server   serves the board to the TVs' browsers (gateway display --serve)
  board-browser  the board in Chromium, full screen on this machine's TV, from a
                 board-server (Gateway itself is not installed)
  nightly        close-day, purge and backup every night (one machine per store)

Options:
  --db URL              the store, written to a new /etc/gateway/gateway.env (needed
                        the first time, except for single and board-browser)
  --owner-db URL        (nightly) the store as its owner, when --db names another role
  --counter ID          (counter) this desk's counter code
  --centre-file FILE    (SQLite) the centre file to load into a new store, kept as
                        /etc/gateway/centre.toml (else the example centre)
  --board-listen H:P    (board-server) this machine's address and port, as TVs reach it
  --board-url URL       (board-browser) the board server's page
  --source SPEC         what pip installs (default: this checkout)
  --keep-usblp          do not keep the usblp driver off USB printers
  --root DIR            install into DIR instead of / (to stage or test: no packages,
                        users, ownership, venv, store or starting anything). Or DESTDIR=DIR
  --no-apt              do not install packages (or GATEWAY_NO_APT=1)
  --no-venv             do not make or update the venv in /opt/gateway (or GATEWAY_NO_VENV=1)
  --no-enable           do not enable or start the units (or GATEWAY_NO_ENABLE=1)
  -h, --help            this text
USAGE
}

fail() {
    echo "install.sh: $*" >&2
    exit 1
}

say() {
    echo "== $*"
}

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
checkout=$(dirname "$here")

root=${DESTDIR:-}
no_apt=${GATEWAY_NO_APT:-}
no_venv=${GATEWAY_NO_VENV:-}
no_enable=${GATEWAY_NO_ENABLE:-}
db=
owner_db=
counter=
centre_file=
board_listen=
board_url=
source_spec=$checkout
keep_usblp=
roles=()

while [ $# -gt 0 ]; do
    case $1 in
        --db) db=${2:?--db needs a URL}; shift 2 ;;
        --owner-db) owner_db=${2:?--owner-db needs a URL}; shift 2 ;;
        --counter) counter=${2:?--counter needs an ID}; shift 2 ;;
        --centre-file) centre_file=${2:?--centre-file needs a FILE}; shift 2 ;;
        --board-listen) board_listen=${2:?--board-listen needs HOST:PORT}; shift 2 ;;
        --board-url) board_url=${2:?--board-url needs a URL}; shift 2 ;;
        --source) source_spec=${2:?--source needs a path}; shift 2 ;;
        --keep-usblp) keep_usblp=1; shift ;;
        --root) root=${2:?--root needs a folder}; shift 2 ;;
        --no-apt) no_apt=1; shift ;;
        --no-venv) no_venv=1; shift ;;
        --no-enable) no_enable=1; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) usage >&2; fail "unknown option $1." ;;
        *) roles+=("$1"); shift ;;
    esac
done

[ ${#roles[@]} -gt 0 ] || { usage >&2; fail "say which role to install (e.g. kiosk)."; }

# Roles -> what this machine runs.
kiosk='' counter_desk='' board='' board_server='' board_browser='' nightly='' single=''
for role in "${roles[@]}"; do
    case $role in
        single) single=1 kiosk=1 board_server=1 nightly=1 ;;
        kiosk) kiosk=1 ;;
        counter) counter_desk=1 ;;
        board) board=1 ;;
        board-server) board_server=1 ;;
        board-browser) board_browser=1 ;;
        nightly) nightly=1 ;;
        *) fail "'$role' is not a role: single, kiosk, counter, board, board-server, board-browser or nightly." ;;
    esac
done
screens=$(( ${kiosk:-0} + ${counter_desk:-0} + ${board:-0} + ${board_browser:-0} ))
[ "$screens" -le 1 ] || fail "kiosk, counter, board and board-browser each take tty1: choose one per machine."
if [ -n "$counter_desk" ]; then
    [ -n "$counter" ] || fail "the counter role needs --counter ID (the counter's code)."
    [[ $counter =~ ^[A-Za-z0-9_.-]+$ ]] || fail "--counter '$counter' must be letters, digits, '_', '.' or '-'."
fi
terminal_screen=$(( ${kiosk:-0} + ${counter_desk:-0} + ${board:-0} ))
needs_gateway=$(( terminal_screen + ${board_server:-0} + ${nightly:-0} ))

# Where: the real machine, or a folder (staging, tests).
if [ -n "$root" ]; then
    mkdir -p "$root"
    root=$(cd "$root" && pwd)
    [ "$root" != / ] || root=
fi
staged=${root:+1}
if [ -z "$staged" ] && [ "$(id -u)" -ne 0 ]; then
    fail "run me as root (sudo), or with --root DIR to install into a folder."
fi
if [ -n "$staged" ]; then
    no_apt=1
    no_venv=1
fi

etc=$root/etc/gateway
credentials=$etc/credentials
env_file=$etc/gateway.env
opt=$root/opt/gateway
units=$root/etc/systemd/system

# The store: what gateway.env already says (the services' truth), else --db, else SQLite
# for single.
if [ -f "$env_file" ]; then
    written=$(sed -n 's/^[[:space:]]*GATEWAY_DB[[:space:]]*=[[:space:]]*//p' "$env_file" \
        | tail -n 1 | sed -e 's/^"\(.*\)"$/\1/' -e "s/^'\(.*\)'$/\1/")
    if [ -n "$db" ] && [ -n "$written" ] && [ "$db" != "$written" ]; then
        echo "install.sh: $env_file already names the store $written; --db is ignored" \
            "(edit that file to change it)." >&2
    fi
    db=${written:-$db}
fi
if [ -z "$db" ] && [ -n "$single" ]; then
    db=sqlite:////var/lib/gateway/gateway.db
fi
if [ -z "$db" ] && [ "$needs_gateway" -gt 0 ]; then
    fail "say which store this machine uses: --db sqlite:////var/lib/gateway/gateway.db, or --db 'postgresql://gateway_kiosk@db.example/gateway?sslmode=verify-full&sslrootcert=/etc/gateway/ca.crt'."
fi
case $db in
    postgres*) store=postgresql ;;
    "") store=none ;;
    *) store=sqlite ;;
esac

# 1. Packages.
packages=()
[ "$needs_gateway" -eq 0 ] || packages+=(python3 python3-venv ca-certificates)
[ "$terminal_screen" -eq 0 ] || packages+=(cage foot fonts-noto-core fonts-noto-mono fonts-dejavu-core)
[ -z "$kiosk" ] || packages+=(espeak-ng libusb-1.0-0 usbutils)
[ -z "$board" ] || packages+=(espeak-ng)
[ -z "$board_browser" ] || packages+=(cage chromium fonts-noto-core)
[ -z "$nightly" ] || [ "$store" != postgresql ] || packages+=(postgresql-client)
if [ -z "$no_apt" ] && [ ${#packages[@]} -gt 0 ]; then
    say "installing packages: ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${packages[@]}"
fi

# 2. The gateway user and group: no shell, no password, its home the state folder.
if [ -z "$staged" ]; then
    if ! getent passwd gateway >/dev/null; then
        say "creating the gateway user"
        useradd --system --user-group --home-dir /var/lib/gateway --no-create-home \
            --shell /usr/sbin/nologin --comment "Gateway front desk" gateway
    fi
    # dialout: serial scanners, door counters and printers; lp: USB printers the system
    # already knows as printers; audio: spoken calls and guidance.
    for group in dialout lp audio; do
        if getent group "$group" >/dev/null; then
            usermod -a -G "$group" gateway
        fi
    done
fi

owned() {  # MODE OWNER:GROUP PATH...: mode always; owner only on the real machine
    local mode=$1 owner=$2
    shift 2
    chmod "$mode" "$@"
    if [ -z "$staged" ]; then
        chown "$owner" "$@"
    fi
}

# 3. Folders.
say "folders"
mkdir -p "$etc" "$credentials" "$opt/libexec" "$units" "$root/var/lib/gateway" \
    "$root/var/log/gateway" "$root/usr/local/sbin" "$root/usr/local/bin" \
    "$root/usr/local/share/doc/gateway"
owned 0755 root:root "$etc"
owned 0700 root:root "$credentials"
owned 0750 gateway:gateway "$root/var/lib/gateway" "$root/var/log/gateway"
if [ -n "$nightly" ]; then
    mkdir -p "$root/var/backups/gateway"
    owned 0750 gateway:gateway "$root/var/backups/gateway"
fi

# 4. Gateway itself, in its own venv.
if [ -z "$no_venv" ] && [ "$needs_gateway" -gt 0 ]; then
    python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
        || fail "Gateway needs Python 3.11 or newer (Debian 12, Ubuntu 24.04)."
    say "installing Gateway in /opt/gateway from $source_spec"
    [ -x "$opt/bin/python" ] || python3 -m venv "$opt"
    "$opt/bin/pip" install -q --upgrade pip
    "$opt/bin/pip" install -q --upgrade "$source_spec"
    # The same version number twice must still install this checkout's code.
    "$opt/bin/pip" install -q --no-deps --force-reinstall "$source_spec"
    ln -sfn /opt/gateway/bin/gateway "$root/usr/local/bin/gateway"
fi

# 5. Our programs, units, rules and documents: replaced on every install.
say "programs and units"
install -m 0755 "$here/bin/gateway-nightly" "$opt/libexec/"
install -m 0755 "$here/bin/gateway-as" "$root/usr/local/sbin/"
install -m 0644 "$here"/systemd/*.service "$here"/systemd/*.timer "$units/"
install -m 0644 -D "$here/udev/60-gateway-printers.rules" \
    "$root/etc/udev/rules.d/60-gateway-printers.rules"
if [ -n "$kiosk" ] && [ -z "$keep_usblp" ]; then
    install -m 0644 -D "$here/modprobe.d/gateway-no-usblp.conf" \
        "$root/etc/modprobe.d/gateway-no-usblp.conf"
fi
if [ -f "$checkout/docs/DEPLOY.md" ]; then
    install -m 0644 "$checkout/docs/DEPLOY.md" "$root/usr/local/share/doc/gateway/"
fi

# 6. Settings and credentials: written once, never overwritten.
new_file() {  # MODE OWNER:GROUP PATH < content: write PATH if it is not there yet
    local mode=$1 owner=$2 path=$3
    if [ -e "$path" ]; then
        cat >/dev/null
        echo "   kept $path"
        return 0
    fi
    (umask 077 && cat >"$path")
    owned "$mode" "$owner" "$path"
    echo "   wrote $path"
}

say "settings in /etc/gateway"
if [ -z "$board_listen" ]; then
    address=$(hostname -I 2>/dev/null | awk '{print $1}') || address=
    board_listen=${address:-127.0.0.1}:8000
fi
board_url=${board_url:-http://$board_listen}
template=$(cat "$here/etc/gateway.env.in")
template=${template//@GATEWAY_DB@/"$db"}
template=${template//@GATEWAY_OWNER_DB@/"$owner_db"}
template=${template//@GATEWAY_BOARD_LISTEN@/"$board_listen"}
template=${template//@GATEWAY_BOARD_URL@/"$board_url"}
new_file 0640 root:gateway "$env_file" <<<"$template"
if [ "$terminal_screen" -gt 0 ]; then
    new_file 0644 root:root "$etc/foot.ini" <"$here/etc/foot.ini"
fi
if [ -n "$kiosk" ]; then
    new_file 0640 root:gateway "$etc/kiosk.toml" <"$here/etc/kiosk.toml"
    # The staff PIN that leaves the kiosk: 6 random digits, until someone chooses another.
    pin=$(od -An -N4 -tu4 /dev/urandom | awk '{printf "%06d", $1 % 1000000}')
    new_file 0600 root:root "$credentials/kiosk.pin" <<<"$pin"
fi
if [ -n "$centre_file" ]; then
    [ -f "$centre_file" ] || fail "the centre file $centre_file does not exist."
    new_file 0644 root:root "$etc/centre.toml" <"$centre_file"
fi

# The database password each unit loads. SQLite has none: an empty file stands in, since
# systemd refuses to start a unit whose credential file is missing. For PostgreSQL the
# files come from `gateway db roles --password-dir` (docs/DEPLOY.md), never from here.
needed=()
[ "$(( ${kiosk:-0} + ${board:-0} + ${board_server:-0} ))" -eq 0 ] || needed+=(gateway_kiosk)
[ -z "$counter_desk" ] || needed+=(gateway_counter)
[ -z "$nightly" ] || needed+=(gateway_owner)
missing=()
for role in "${needed[@]}"; do
    if [ "$store" = sqlite ]; then
        new_file 0600 root:root "$credentials/$role.password" </dev/null
    elif [ ! -s "$credentials/$role.password" ]; then
        missing+=("$credentials/$role.password")
    fi
done

# 7. The store, when it is an SQLite file on this machine: made the first time, brought
# up to date after that. (A shared PostgreSQL store is set up once, by its owner.)
if [ -z "$staged" ] && [ "$store" = sqlite ] && [ -x "$opt/bin/gateway" ]; then
    sqlite_file=${db#sqlite:///}
    gateway_as_owner=(runuser -u gateway -- env HOME=/var/lib/gateway "GATEWAY_DB=$db"
        "$opt/bin/gateway")
    if [ ! -e "$sqlite_file" ]; then
        say "making the store $sqlite_file"
        mkdir -p "$(dirname "$sqlite_file")"
        chown gateway:gateway "$(dirname "$sqlite_file")"
        if [ -f "$etc/centre.toml" ]; then
            "${gateway_as_owner[@]}" init "$etc/centre.toml"
        else
            "${gateway_as_owner[@]}" init
        fi
    else
        say "bringing the store $sqlite_file up to date"
        "${gateway_as_owner[@]}" db upgrade
    fi
fi

# 8. Enable the units: screens start at the next boot (they take tty1 over from the
# login prompt); the board server and the nightly timer start now.
enable=()
at_boot=()
if [ -n "$kiosk" ]; then at_boot+=(gateway-kiosk.service); fi
if [ -n "$counter_desk" ]; then at_boot+=("gateway-counter@$counter.service"); fi
if [ -n "$board" ]; then at_boot+=(gateway-board.service); fi
if [ -n "$board_browser" ]; then at_boot+=(gateway-board-browser.service); fi
if [ -n "$board_server" ]; then enable+=(gateway-board-server.service); fi
if [ -n "$nightly" ]; then enable+=(gateway-nightly.timer); fi
if [ -z "$no_enable" ]; then
    say "enabling ${at_boot[*]} ${enable[*]}"
    if [ -n "$staged" ]; then
        systemctl --root="$root" enable "${at_boot[@]}" "${enable[@]}"
        if [ ${#at_boot[@]} -gt 0 ]; then
            ln -sfn /usr/lib/systemd/system/graphical.target "$units/default.target"
        fi
    else
        systemctl daemon-reload
        udevadm control --reload || true
        udevadm trigger --subsystem-match=usb || true
        if [ ${#at_boot[@]} -gt 0 ]; then
            systemctl enable "${at_boot[@]}"
            systemctl set-default graphical.target
        fi
        if [ ${#enable[@]} -gt 0 ]; then
            systemctl enable "${enable[@]}"
            systemctl restart "${enable[@]}"
        fi
    fi
fi

say "done"
if [ ${#missing[@]} -gt 0 ]; then
    echo "Before the services can start, put each role's PostgreSQL password in (one line,"
    echo "mode 0600, owned by root), from \`gateway db roles --password-dir\`:"
    printf '   %s\n' "${missing[@]}"
fi
if [ -n "$kiosk" ]; then
    echo "The kiosk's staff PIN is in $credentials/kiosk.pin; its settings in $etc/kiosk.toml."
fi
if [ ${#at_boot[@]} -gt 0 ] && [ -z "$no_enable" ]; then
    echo "Reboot to start ${at_boot[*]} on this machine's screen."
fi
