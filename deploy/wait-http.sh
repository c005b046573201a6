#!/usr/bin/env bash
# wait-http.sh URL [SECONDS]: wait until URL answers 200 (default 60 s); exit 1 if it never does.
set -euo pipefail
url="$1" limit="${2:-60}"
deadline=$((SECONDS + limit))
until curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; do
  if [ "$SECONDS" -ge "$deadline" ]; then
    echo "wait-http: $url did not answer 200 within ${limit}s" >&2
    exit 1
  fi
  sleep 0.5
done
