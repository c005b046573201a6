#!/usr/bin/env bash
# `make run`: set up what is missing, migrate the database, serve the production
# build (UI, websocket and /api) on one port, http://localhost:3000 by default.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
python -m imgapp check-env --quiet
python -m imgapp migrate
port="$(python -m imgapp port)"
echo "imgapp: serving on http://localhost:${port}" >&2
exec reflex run --env prod --backend-port "$port" --frontend-port "$port"
