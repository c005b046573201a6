#!/usr/bin/env bash
# `make bench`: benchmarks against a real PostgreSQL server (installed when missing).
# Extra arguments go to bench/ledger.py; the others run with their defaults, e.g. `make bench ARGS="--seconds 20 --rounds 5"`.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
source "$(dirname "$0")/test-deps.sh"
python -m pip install --quiet --disable-pip-version-check -r bench/requirements.txt
python bench/ledger.py "$@"
python bench/task_queue.py
for concurrency in 4 10; do
  python bench/live_latency.py --concurrency "$concurrency"
done
python bench/live_latency.py --concurrency 10 --render-processes 0  # drawing in the server's threads
python bench/live_latency.py --concurrency 10 --clients 10  # the same renders, a fifth of the browsers
python bench/usage_export.py
python bench/load.py
python bench/startup.py
