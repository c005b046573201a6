#!/usr/bin/env bash
# Sourced by the other scripts: prepares .venv (pinned packages), bun, and the
# environment Reflex needs, all inside the project folder. Safe to run repeatedly.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  # apt_install PKG... : install Debian packages once, quietly.
  echo "imgapp: installing Debian packages: $*" >&2
  export DEBIAN_FRONTEND=noninteractive
  mkdir -p "$ROOT/.cache"
  if [ ! -f "$ROOT/.cache/apt-updated" ]; then
    as_root apt-get update -qq >>"$ROOT/.cache/apt.log" 2>&1
    touch "$ROOT/.cache/apt-updated"
  fi
  as_root apt-get install -y -qq --no-install-recommends "$@" >>"$ROOT/.cache/apt.log" 2>&1 \
    || { tail -20 "$ROOT/.cache/apt.log" >&2; echo "imgapp: apt-get install $* failed" >&2; exit 1; }
}

PYTHON="${PYTHON:-python3}"
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "imgapp needs Python 3.11 or newer as '$PYTHON' (set PYTHON=/path/to/python3.11)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import venv, ensurepip' 2>/dev/null; then
  apt_install python3-venv
fi

# Python packages: reinstall only when requirements.txt changes.
stamp=".venv/.requirements.sha256"
want="$(sha256sum requirements.txt | cut -d' ' -f1)"
if [ ! -x .venv/bin/python ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "imgapp: installing Python packages into .venv" >&2
  [ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -r requirements.txt >&2
  echo "$want" > "$stamp"
fi
export PATH="$ROOT/.venv/bin:$PATH"
export VIRTUAL_ENV="$ROOT/.venv"

# The JavaScript toolchain Reflex builds the UI with: node/npm from Debian, bun from npm.
if ! command -v npm >/dev/null 2>&1; then
  apt_install nodejs npm
fi
# CJK glyphs for the pictures the app draws (invite posters, the offline renderer's captions).
[ -d /usr/share/fonts/opentype/noto ] || apt_install fonts-noto-cjk
mkdir -p .cache/tools .cache/bun .cache/reflex
if ! command -v bun >/dev/null 2>&1 && [ ! -x .cache/tools/node_modules/.bin/bun ]; then
  echo "imgapp: installing bun from npm into .cache/tools" >&2
  npm install --prefix .cache/tools --no-save --no-audit --no-fund --loglevel=error bun >&2
fi
[ -x .cache/tools/node_modules/.bin/bun ] && export PATH="$ROOT/.cache/tools/node_modules/.bin:$PATH"

export REFLEX_USE_SYSTEM_BUN=1
export REFLEX_DIR="$ROOT/.cache/reflex"
export BUN_INSTALL_CACHE_DIR="$ROOT/.cache/bun"
NPM_CONFIG_REGISTRY="${NPM_CONFIG_REGISTRY:-$(npm config get registry 2>/dev/null || echo https://registry.npmjs.org/)}"
export NPM_CONFIG_REGISTRY
export PYTHONUNBUFFERED=1
# Nothing at start-up may need the internet: no PyPI version check.
export REFLEX_CHECK_LATEST_VERSION=0
