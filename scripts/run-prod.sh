#!/usr/bin/env bash
# `make run-prod`: the production shape on one machine, for trying it out.
# PostgreSQL, Redis and nginx from Debian, 2 app processes (reflex --backend-only)
# behind nginx, 2 standalone workers, the in-app processor off; everything
# under $IMGAPP_DATA_DIR/prod (default data/prod), on loopback ports.
# Ctrl-C or SIGTERM stops it all. Like systemd's Restart=always, a process
# that ends on its own (app, worker, Redis, nginx) is started again; SIGHUP
# restarts the app processes one at a time, then the workers (a rolling
# restart: `kill -HUP $(cat data/prod/run-prod.pid)`). What runs where is in
# $IMGAPP_DATA_DIR/prod/run-prod.state (KEY=VALUE lines). See deploy/README.md.
#
#   RUN_PROD_PORT     nginx's port (default 8080); the app processes take the next ones
#   RUN_PROD_APPS     app processes (2)          RUN_PROD_WORKERS  workers (2)
#   RUN_PROD_PG_PORT  PostgreSQL (port + 100)    RUN_PROD_REDIS_PORT  Redis (port + 101)
# shellcheck disable=SC2317 # cleanup and the helpers run from traps and wait_for
set -euo pipefail
# shellcheck source=scripts/bootstrap.sh
source "$(dirname "$0")/bootstrap.sh"

port="${RUN_PROD_PORT:-8080}"
apps="${RUN_PROD_APPS:-2}"
workers="${RUN_PROD_WORKERS:-2}"
pg_port="${RUN_PROD_PG_PORT:-$((port + 100))}"
redis_port="${RUN_PROD_REDIS_PORT:-$((port + 101))}"
base="$(mkdir -p "${IMGAPP_DATA_DIR:-$ROOT/data}" && cd "${IMGAPP_DATA_DIR:-$ROOT/data}" && pwd)"
prod="$base/prod"
log="$prod/log"
site_url="http://127.0.0.1:${port}"
started=$SECONDS
say() { echo "run-prod: $*" >&2; }

# --- Debian packages ---------------------------------------------------------
missing=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
[ -x /usr/bin/redis-server ] || missing+=(redis-server)
[ -x /usr/sbin/nginx ] || missing+=(nginx)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
fi
pg_bin="$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin | sort -V | tail -1)"

mkdir -p "$prod"/{pg,redis,nginx/tmp,images,metrics} "$log"
rm -rf "${prod:?}/metrics" && mkdir -p "$prod/metrics"

# PostgreSQL refuses to run as root: then it runs as `postgres`, which must
# reach the data directory.
if [ "$(id -u)" = 0 ]; then
  id -u postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql postgres
  pg_as=(runuser -u postgres --)
  chown postgres:postgres "$prod/pg"
  if ! runuser -u postgres -- test -x "$prod/pg"; then
    say "the postgres user cannot reach $prod (a parent folder is private); set IMGAPP_DATA_DIR elsewhere"
    exit 1
  fi
else
  pg_as=()
fi
as_pg() { "${pg_as[@]}" "$@"; }

# --- stopping everything, whatever happens -----------------------------------
app_pids=()
worker_pids=()
redis_pid=""
nginx_pid=""
stopping=0

stop_group() {  # stop_group SIGNAL SECONDS PID...: signal each process group, then wait, then KILL
  local sig="$1" secs="$2" pid deadline
  shift 2
  for pid in "$@"; do kill "-$sig" -- "-$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + secs))
  for pid in "$@"; do
    while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do sleep 0.2; done
    kill -KILL -- "-$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}

cleanup() {
  [ "$stopping" = 1 ] && return
  stopping=1
  trap '' INT TERM
  say "stopping"
  [ -n "$nginx_pid" ] && stop_group QUIT 10 "$nginx_pid"
  # Workers first: on SIGTERM they give their running tasks back to the queue.
  [ ${#worker_pids[@]} -gt 0 ] && stop_group TERM 40 "${worker_pids[@]}"
  [ ${#app_pids[@]} -gt 0 ] && stop_group TERM 20 "${app_pids[@]}"
  [ -n "$redis_pid" ] && stop_group TERM 10 "$redis_pid"
  if [ -f "$prod/pg/data/postmaster.pid" ]; then
    as_pg "$pg_bin/pg_ctl" -D "$prod/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
  say "stopped"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

wait_for() {  # wait_for WHAT SECONDS COMMAND...: retry COMMAND until it succeeds
  local what="$1" secs="$2" deadline
  shift 2
  deadline=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      say "$what did not come up within ${secs}s"
      return 1
    fi
    sleep 0.3
  done
}
http_ok() { curl -fsS -o /dev/null --max-time 2 "$1"; }

# --- PostgreSQL ---------------------------------------------------------------
if [ ! -f "$prod/pg/data/PG_VERSION" ]; then
  say "creating a PostgreSQL cluster in $prod/pg/data"
  as_pg "$pg_bin/initdb" -D "$prod/pg/data" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
fi
if as_pg "$pg_bin/pg_ctl" -D "$prod/pg/data" status >/dev/null 2>&1; then
  say "PostgreSQL from an earlier run is still up: restarting it"
  as_pg "$pg_bin/pg_ctl" -D "$prod/pg/data" -m fast -w stop >/dev/null
fi
# Its own session: a Ctrl-C in the terminal reaches this script only, which stops things in order.
pg_opts="-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$prod/pg -c max_connections=200"
setsid "${pg_as[@]}" "$pg_bin/pg_ctl" -D "$prod/pg/data" \
  -l "$prod/pg/postgresql.log" -w -t 60 start -o "$pg_opts" >/dev/null
as_pg "$pg_bin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -tAc \
  "SELECT 1 FROM pg_database WHERE datname = 'imgapp'" | grep -q 1 \
  || as_pg "$pg_bin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres imgapp

# --- Redis ----------------------------------------------------------------------
start_redis() {
  # Page state lives here: an append-only file (fsync every second) brings it
  # back after a restart, and keyspace notifications (Reflex's lock waits) are
  # on from the start, not only after Reflex's CONFIG SET.
  setsid /usr/bin/redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$prod/redis" \
    --save "" --appendonly yes --appendfsync everysec --notify-keyspace-events 'K$sgxe' \
    --protected-mode no --logfile "$log/redis.log" &
  redis_pid=$!
  wait_for "Redis on $redis_port" 10 bash -c "redis-cli -p $redis_port ping | grep -q PONG"
}
start_redis

# --- the environment of every imgapp process --------------------------------------
export IMGAPP_ENV=development  # the sandbox gateway pays recharges (refused in production)
export IMGAPP_DATA_DIR="$prod"
export SITE_URL="$site_url"
export DATABASE_URL="postgresql://postgres@127.0.0.1:${pg_port}/imgapp"
export REDIS_URL="redis://127.0.0.1:${redis_port}/0"
export EVENT_BUS=auto  # Redis pub/sub, as REDIS_URL is set
export TASK_PROCESSOR_IN_APP=false
export READY_MIN_WORKERS="$workers"
export TRUST_PROXY_HEADERS=true
export PROMETHEUS_MULTIPROC_DIR="$prod/metrics"
export GRANIAN_WORKERS=1
# Only the app processes: REFLEX_BACKEND_ONLY=true also tells rxconfig.py there is no frontend port.

python -m imgapp check-env --quiet
python -m imgapp migrate

# --- the frontend, built once --------------------------------------------------
say "building the frontend for $site_url"
t=$SECONDS
reflex export --frontend-only --no-zip --loglevel warning >"$log/build.log" 2>&1 \
  || { tail -30 "$log/build.log" >&2; say "the build failed (log: $log/build.log)"; exit 1; }
build_secs=$((SECONDS - t))
static="$ROOT/.web/build/client"

# --- app processes and workers ------------------------------------------------
app_ports=()
for i in $(seq 1 "$apps"); do app_ports+=("$((port + i))"); done

start_app() {  # start_app INDEX: the app process on app_ports[INDEX], waited for
  local p="${app_ports[$1]}"
  REFLEX_BACKEND_ONLY=true setsid reflex run --env prod --backend-only --backend-host 127.0.0.1 --backend-port "$p" \
    >>"$log/app-$p.log" 2>&1 &
  app_pids[$1]=$!
  wait_for "the app process on $p (log: $log/app-$p.log)" 180 http_ok "http://127.0.0.1:$p/api/health"
}
start_worker() {  # start_worker INDEX
  setsid python -m imgapp.worker --worker-id "run-prod-worker-$(($1 + 1))" >>"$log/worker-$(($1 + 1)).log" 2>&1 &
  worker_pids[$1]=$!
}

t=$SECONDS
# One at a time: at start Reflex clears its on-disk state folder (.states) in the
# project directory, and two processes starting together race on its files.
for i in "${!app_ports[@]}"; do start_app "$i"; done
for i in $(seq 0 $((workers - 1))); do start_worker "$i"; done
apps_secs=$((SECONDS - t))

# --- nginx: its own config, pid and logs, not the system's ----------------------
deploy/render-nginx.sh "$prod/nginx" "127.0.0.1:$port" 127.0.0.1 "$static" "${app_ports[@]}"
cat >"$prod/nginx/nginx.conf" <<EOF
# Rendered by scripts/run-prod.sh for this run.
worker_processes 1;
pid $prod/nginx/nginx.pid;
error_log $log/nginx-error.log warn;
daemon off;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    sendfile on;
    log_format imgapp '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
                      'upstream=\$upstream_addr \$request_time';
    access_log $log/nginx-access.log imgapp;
    client_body_temp_path $prod/nginx/tmp/body;
    proxy_temp_path $prod/nginx/tmp/proxy;
    fastcgi_temp_path $prod/nginx/tmp/fastcgi;
    uwsgi_temp_path $prod/nginx/tmp/uwsgi;
    scgi_temp_path $prod/nginx/tmp/scgi;
    include $prod/nginx/imgapp.conf;
}
EOF
nginx -t -q -p "$prod/nginx" -c "$prod/nginx/nginx.conf" -e "$log/nginx-error.log"
start_nginx() {
  setsid nginx -p "$prod/nginx" -c "$prod/nginx/nginx.conf" -e "$log/nginx-error.log" &
  nginx_pid=$!
}
start_nginx
wait_for "nginx on $port" 20 http_ok "$site_url/login"
wait_for "readiness through nginx" 60 http_ok "$site_url/api/health/ready"

say "build ${build_secs}s, app processes up ${apps_secs}s after start, all ready $((SECONDS - started))s after start"
say "serving on $site_url (nginx -> ${app_ports[*]}; ${workers} workers; logs in $log). Ctrl-C stops everything."

# --- what runs where, for operators and the production-shape tests -------------
write_state() {
  cat >"$prod/run-prod.state.new" <<EOF
RUN_PROD_PID=$$
SITE_URL=$site_url
DATABASE_URL=$DATABASE_URL
REDIS_URL=$REDIS_URL
PG_BIN=$pg_bin
PG_DATA=$prod/pg/data
PG_OPTS=$pg_opts
PG_LOG=$prod/pg/postgresql.log
REDIS_PID=$redis_pid
NGINX_PID=$nginx_pid
APP_PORTS=${app_ports[*]}
APP_PIDS=${app_pids[*]}
WORKER_PIDS=${worker_pids[*]}
LOG_DIR=$log
EOF
  mv "$prod/run-prod.state.new" "$prod/run-prod.state"
}
echo $$ >"$prod/run-prod.pid"
write_state

# --- supervising: start again what ends on its own; SIGHUP: a rolling restart ---
alive() { kill -0 "$1" 2>/dev/null && ! grep -q '^[0-9]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }

rolling_restart() {
  local i p
  say "rolling restart: app processes one at a time, then workers"
  for i in "${!app_ports[@]}"; do
    p="${app_ports[$i]}"
    # SIGTERM: it stops accepting, finishes its requests and closes its sockets;
    # nginx sends new requests and the pages' reconnects to the others meanwhile.
    stop_group TERM 30 "${app_pids[$i]}"
    start_app "$i"
    wait_for "the app process on $p to be ready" 120 http_ok "http://127.0.0.1:$p/api/health/ready"
    write_state
    say "  app process on $p restarted"
  done
  for i in "${!worker_pids[@]}"; do
    # SIGTERM: the worker gives its running tasks back to the queue, then exits.
    stop_group TERM 40 "${worker_pids[$i]}"
    start_worker "$i"
    write_state
    say "  worker $((i + 1)) restarted"
  done
  wait_for "readiness after the rolling restart" 60 http_ok "$site_url/api/health/ready"
  say "rolling restart done"
}

restart_requested=0
trap 'restart_requested=1' HUP
while true; do
  sleep 1 &
  wait $! || true  # a signal (HUP, INT, TERM) ends the wait at once
  if [ "$restart_requested" = 1 ]; then
    restart_requested=0
    rolling_restart
  fi
  for i in "${!app_pids[@]}"; do
    if ! alive "${app_pids[$i]}"; then
      say "the app process on ${app_ports[$i]} ended; starting it again (log: $log/app-${app_ports[$i]}.log)"
      start_app "$i" || true
      write_state
    fi
  done
  for i in "${!worker_pids[@]}"; do
    if ! alive "${worker_pids[$i]}"; then
      say "worker $((i + 1)) ended; starting it again (log: $log/worker-$((i + 1)).log)"
      start_worker "$i"
      write_state
    fi
  done
  if ! alive "$redis_pid"; then
    say "Redis ended; starting it again"
    start_redis || true
    write_state
  fi
  if ! alive "$nginx_pid"; then
    say "nginx ended; starting it again"
    start_nginx
    write_state
  fi
done
