#!/usr/bin/env bash
# `make test`: install what is missing (packages, PostgreSQL, Chromium), lint,
# then run the whole suite twice: on SQLite and on a real PostgreSQL server.
# Extra arguments go to pytest, e.g. `make test ARGS="-k auth -x"`.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
source "$(dirname "$0")/test-deps.sh"

echo "== ruff ==" >&2
ruff check .
ruff format --check .

for kind in sqlite postgresql; do
  echo "== test suite on $kind ==" >&2
  IMGAPP_TEST_DB="$kind" python -m pytest "$@"
done
