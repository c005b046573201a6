#!/usr/bin/env bash
# Deploy the checked-out code on this machine (as root, from /srv/imgapp/app
# after `git pull`): build once, migrate, restart one process at a time.
#
#   deploy/deploy.sh
#
# Uses the layout of deploy/README.md: the app in /srv/imgapp/app (owned by
# imgapp), its settings in /etc/imgapp/imgapp.env, builds published under
# /srv/imgapp/static/<release>, nginx's include in /etc/nginx/conf.d/imgapp.conf.
# APP_PORTS (default: the enabled imgapp-app@ units) and WORKERS likewise.
set -euo pipefail
app_dir="${APP_DIR:-/srv/imgapp/app}"
env_file="${ENV_FILE:-/etc/imgapp/imgapp.env}"
static_base="${STATIC_BASE:-/srv/imgapp/static}"
nginx_dir="${NGINX_DIR:-/etc/nginx/conf.d}"
listen="${LISTEN:-80}"
cd "$app_dir"

units() {  # units PATTERN: the instances of a template unit that are enabled here
  systemctl list-units --all --plain --no-legend "$1" | awk '{print $1}' | sed -E 's/^[^@]+@([^.]+)\.service$/\1/'
}
read -r -a app_ports <<<"${APP_PORTS:-$(units 'imgapp-app@*.service' | tr '\n' ' ')}"
read -r -a workers <<<"${WORKERS:-$(units 'imgapp-worker@*.service' | tr '\n' ' ')}"
[ ${#app_ports[@]} -gt 0 ] || { echo "deploy: no imgapp-app@ units (set APP_PORTS)" >&2; exit 1; }
as_imgapp() { runuser -u imgapp -- env -i HOME=/srv/imgapp PATH="$app_dir/.venv/bin:/usr/bin:/bin" bash -c "set -a; source '$env_file'; set +a; $1"; }
# shellcheck disable=SC2016 # expanded by the inner shell, which read the env file
site_url="$(as_imgapp 'echo "$SITE_URL"')"
server_name="$(python3 -c 'import sys, urllib.parse as u; print(u.urlsplit(sys.argv[1]).hostname)' "$site_url")"

echo "deploy: 1/5 packages and the frontend build (SITE_URL=$site_url)"
t0=$SECONDS
as_imgapp "source scripts/bootstrap.sh && reflex export --frontend-only --no-zip --loglevel warning"
echo "deploy:     built in $((SECONDS - t0))s"

echo "deploy: 2/5 publish the build as a release (the previous release's assets stay loadable)"
release="$static_base/$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$release"
cp -a .web/build/client/. "$release/"
if [ -d "$static_base/current/assets" ]; then
  cp -an "$static_base/current/assets/." "$release/assets/"
fi
as_imgapp "deploy/render-nginx.sh /tmp/imgapp-nginx '$listen' '$server_name' '$release' ${app_ports[*]}"

echo "deploy: 3/5 migrations"
systemctl restart imgapp-migrate.service

echo "deploy: 4/5 app processes, one at a time (${app_ports[*]})"
for port in "${app_ports[@]}"; do
  systemctl restart "imgapp-app@$port.service"  # returns once /api/health answers
  deploy/wait-http.sh "http://127.0.0.1:$port/api/health/ready" 60
  echo "deploy:     imgapp-app@$port ready"
done
# The pages switch once every process runs the new code (nginx's root is the release).
ln -sfn "$release" "$static_base/current.new" && mv -T "$static_base/current.new" "$static_base/current"
install -m 0644 /tmp/imgapp-nginx/imgapp-headers.conf "$nginx_dir/imgapp-headers.conf.inc"
sed "s|/tmp/imgapp-nginx/imgapp-headers.conf|$nginx_dir/imgapp-headers.conf.inc|" \
  /tmp/imgapp-nginx/imgapp.conf >"$nginx_dir/imgapp.conf"
nginx -t -q && systemctl reload nginx

echo "deploy: 5/5 workers, one at a time (${workers[*]:-none})"
for worker in "${workers[@]}"; do
  systemctl restart "imgapp-worker@$worker.service"  # SIGTERM: running tasks are given back
done
deploy/wait-http.sh "http://127.0.0.1:${app_ports[0]}/api/health/ready" 60

# Keep the five newest releases.
find "$static_base" -mindepth 1 -maxdepth 1 -type d -name '20*' | sort -r | tail -n +6 | xargs -r rm -rf
echo "deploy: done, serving $release"
