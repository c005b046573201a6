#!/usr/bin/env bash
# Render deploy/nginx/imgapp.conf for one site and write the header maps of
# the current build next to it.
#
#   deploy/render-nginx.sh OUT_DIR LISTEN SERVER_NAME STATIC_ROOT UPSTREAM...
#
# UPSTREAM: "PORT" (on 127.0.0.1) or "HOST:PORT", one per app process.
# Writes OUT_DIR/imgapp.conf and OUT_DIR/imgapp-headers.conf. The headers come
# from the app's own code (`python -m imgapp.api.hardening nginx`), so run this
# with the app's environment (SITE_URL decides the websocket origin and HSTS)
# and the virtualenv's python on PATH (or PYTHON=...), after every build.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -lt 5 ]; then
  sed -n '2,11p' "$0" >&2
  exit 2
fi
out_dir="$1" listen="$2" server_name="$3" static_root="$4"
shift 4
python="${PYTHON:-python}"

[ -f "$static_root/index.html" ] || { echo "render-nginx: no build in $static_root" >&2; exit 1; }
mkdir -p "$out_dir"
servers=""
for upstream in "$@"; do
  case "$upstream" in
    *:*) address="$upstream" ;;
    *) address="127.0.0.1:$upstream" ;;
  esac
  servers+="server ${address} max_fails=0; "
done

# Written to temporary files and moved into place, so a reload never reads half a file.
"$python" -m imgapp.api.hardening nginx "$static_root" >"$out_dir/imgapp-headers.conf.new"
sed -e "/^[[:space:]]*#/!s|@LISTEN@|${listen}|g" \
    -e "/^[[:space:]]*#/!s|@SERVER_NAME@|${server_name}|g" \
    -e "/^[[:space:]]*#/!s|@UPSTREAM_SERVERS@|${servers}|g" \
    -e "/^[[:space:]]*#/!s|@STATIC_ROOT@|${static_root}|g" \
    -e "/^[[:space:]]*#/!s|@HEADERS@|${out_dir}/imgapp-headers.conf|g" \
    "$here/nginx/imgapp.conf" >"$out_dir/imgapp.conf.new"
mv "$out_dir/imgapp-headers.conf.new" "$out_dir/imgapp-headers.conf"
mv "$out_dir/imgapp.conf.new" "$out_dir/imgapp.conf"
