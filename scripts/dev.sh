#!/usr/bin/env bash
# `make dev`: hot-reload development. The backend reloads on every Python
# change and rebuilds the UI, all on one port (http://localhost:3000), so the
# session cookie and /api work exactly as in production.
set -euo pipefail
source "$(dirname "$0")/bootstrap.sh"
python -m imgapp migrate
port="$(python -m imgapp port)"
exec reflex run --env preview --backend-port "$port" --frontend-port "$port"
