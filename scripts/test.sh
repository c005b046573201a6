#!/usr/bin/env bash
# `make test`: install what is missing (packages, PostgreSQL, Redis, nginx,
# Chromium), lint, then run the whole suite twice: on SQLite and on a real
# PostgreSQL server; then the production shape's tests (tests/prod: `make
# run-prod` started by the tests, with faults), once.
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

echo "== production shape (tests/prod) ==" >&2
IMGAPP_TEST_DB=postgresql IMGAPP_TEST_SHAPE=production python -m pytest tests/prod "$@"
