#!/usr/bin/env bash
# Sourced by test.sh: the Debian packages the test suite runs against
# (a PostgreSQL server, Redis for the event bus tests, nginx for the production
# shape's, and Chromium), installed only when missing.
set -euo pipefail
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -x /usr/bin/chromium ] || missing+=(chromium)
[ -x /usr/sbin/nginx ] || missing+=(nginx)  # the production shape's tests (tests/prod)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi
id -u postgres >/dev/null 2>&1 || as_root useradd --system --home-dir /var/lib/postgresql postgres
