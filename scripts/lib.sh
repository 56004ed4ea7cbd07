# shellcheck shell=bash
# Sourced by the scripts (not run): how they get root, Debian packages, a
# Python venv of pinned tools under .tools/, and how they probe a port (with
# a time limit of their own). One place, so every script installs the same
# way and says so. Only bash and POSIX tools: no GNU-only ones (macOS).
# Callers set `who` (their name, for messages) and run from the repository root.
who=${who:-scripts}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    echo "$who: needs root for: $*" >&2
    echo "$who: run it as root, or install sudo, or do that step by hand" >&2
    return 1
  fi
}

# Installs Debian packages (apt-get update once a run).
apt_updated=0
apt_install() {
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "$who: needs the packages $* and this is not a Debian-like system (no apt-get): install them, then run again" >&2
    return 1
  fi
  if [ "$apt_updated" -eq 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# Makes sure `python3 -m venv` works: the tools come from PyPI into venvs,
# because Debian's own Python refuses `pip install` outside one (PEP 668).
# Debian ships venv (with ensurepip) apart from python3, in python3-venv.
need_python_venv() {
  if command -v python3 >/dev/null 2>&1 && python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    return 0
  fi
  if ! command -v python3 >/dev/null 2>&1; then
    echo "$who: python3 not found; the tools below come from PyPI into .tools/ and need python3 with venv"
  else
    echo "$who: python3 has no venv module (on Debian it is the python3-venv package)"
  fi
  if command -v apt-get >/dev/null 2>&1; then
    echo "$who: installing python3 and python3-venv from Debian packages"
    apt_install python3 python3-venv
  fi
  if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
    echo "$who: need python3 with its venv module (Debian: apt-get install python3 python3-venv)" >&2
    return 1
  fi
}

# tools_venv DIR PINS: a venv at DIR holding PINS (name==version words),
# made again whenever the pins change. The pins are written last, so an
# interrupted install is redone on the next run; a venv made by hand (as the
# README shows for grpcurl) is kept when it holds those versions.
tools_venv() {
  local venv=$1 pins=$2
  if [ "$(cat "$venv/.pins" 2>/dev/null)" = "$pins" ]; then
    return 0
  fi
  # shellcheck disable=SC2086 # one package a word
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" - $pins >/dev/null 2>&1 <<'PY'; then
import sys
from importlib.metadata import version
sys.exit(any(version(name) != want for name, _, want in (pin.partition("==") for pin in sys.argv[1:])))
PY
    printf '%s' "$pins" >"$venv/.pins"
    return 0
  fi
  need_python_venv
  echo "$who: installing ${pins//$'\n'/ } from PyPI into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  # shellcheck disable=SC2086 # one package a word
  "$venv/bin/pip" install --quiet --disable-pip-version-check $pins
  printf '%s' "$pins" >"$venv/.pins"
}

# with_timeout SECS COMMAND...: COMMAND, killed after SECS seconds (then
# fails). Bash alone: GNU `timeout` is not on macOS.
with_timeout() {
  local secs=$1 pid watcher status
  shift
  "$@" &
  pid=$!
  (sleep "$secs" && kill "$pid" 2>/dev/null) &
  watcher=$!
  status=0
  wait "$pid" || status=$?
  kill "$watcher" 2>/dev/null || true
  wait "$watcher" 2>/dev/null || true
  return "$status"
}

# port_open HOST PORT: something accepts TCP connections there (bash's
# /dev/tcp, so no client is needed).
port_open() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  with_timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2"' _ "$1" "$2" >/dev/null 2>&1
}

# The machine's package manager for the servers: Homebrew where it is (macOS,
# or Linux with brew), else Debian's apt.
have_brew() { command -v brew >/dev/null 2>&1; }
