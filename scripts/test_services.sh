#!/usr/bin/env bash
# Starts the servers the test suites need, idempotently, and prints their addresses as shell
# exports; a second run finds them up and returns at once.
#   PostgreSQL: a throwaway cluster (its own data dir, port and socket dir; loopback only).
#   Redis: a throwaway server (no persistence, its own port; loopback only) for the gateway's
#   scale-out tests (several replicas sharing state).
#   nginx: only installed here (apt-get install nginx); each deploy test starts its own on
#   loopback high ports with a self-signed certificate.
# Usage: eval "$(scripts/test_services.sh)"      (exports AICLONE_TEST_PG_URL, AICLONE_TEST_REDIS_URL)
#        scripts/test_services.sh stop
# Installs PostgreSQL with apt-get when it is missing. As root the server runs as the postgres
# user (runuser); otherwise as the current user.
set -euo pipefail

PG_HOME=${AICLONE_TEST_PG_DIR:-/tmp/aiclone-test-pg}
PG_PORT=${AICLONE_TEST_PG_PORT:-55432}
PG_USER=aiclone_test
PG_PASSWORD=aiclone_test
REDIS_PORT=${AICLONE_TEST_REDIS_PORT:-56379}
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
URL="postgresql+asyncpg://$PG_USER:$PG_PASSWORD@127.0.0.1:$PG_PORT/postgres"

log() { printf 'test_services: %s\n' "$*" >&2; }
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
as_server_user() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

PGBIN=$(pg_bin)
if [ -z "$PGBIN" ] || [ ! -x "$PGBIN/initdb" ]; then
  log "installing PostgreSQL (apt-get install postgresql)"
  if [ "$(id -u)" != 0 ]; then log "PostgreSQL is missing and only root can install it"; exit 1; fi
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; } >&2
  PGBIN=$(pg_bin)
fi

if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  log "installing nginx (apt-get install nginx)"
  if [ "$(id -u)" != 0 ]; then log "nginx is missing and only root can install it"; exit 1; fi
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx; } >&2
fi

if ! command -v redis-server >/dev/null 2>&1; then
  log "installing Redis (apt-get install redis-server)"
  if [ "$(id -u)" != 0 ]; then log "Redis is missing and only root can install it"; exit 1; fi
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server; } >&2
fi

if [ "${1:-}" = "stop" ]; then
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
  [ -f "$PG_HOME/data/postmaster.pid" ] && as_server_user "$PGBIN/pg_ctl" -D "$PG_HOME/data" -m fast -w stop >&2 || true
  exit 0
fi

if ! as_server_user "$PGBIN/pg_ctl" -D "$PG_HOME/data" status >/dev/null 2>&1; then
  if [ ! -f "$PG_HOME/data/PG_VERSION" ]; then
    log "creating a throwaway PostgreSQL cluster in $PG_HOME"
    rm -rf "$PG_HOME" && mkdir -p "$PG_HOME"
    printf '%s\n' "$PG_PASSWORD" > "$PG_HOME/pwfile"
    [ "$(id -u)" = 0 ] && chown -R postgres: "$PG_HOME"
    as_server_user "$PGBIN/initdb" -D "$PG_HOME/data" -U "$PG_USER" --pwfile="$PG_HOME/pwfile" \
      --auth-local=trust --auth-host=scram-sha-256 -E UTF8 --no-sync >&2
  fi
  log "starting PostgreSQL on 127.0.0.1:$PG_PORT"
  as_server_user "$PGBIN/pg_ctl" -D "$PG_HOME/data" -l "$PG_HOME/server.log" -w -t 30 start \
    -o "-p $PG_PORT -k $PG_HOME -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" >&2 \
    || { tail -n 20 "$PG_HOME/server.log" >&2; exit 1; }
fi
"$PGBIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" -t 10 || { log "PostgreSQL does not answer on port $PG_PORT"; exit 1; }
printf '%s\n' "$URL" > "$PG_HOME/url" 2>/dev/null || true
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  log "starting Redis on 127.0.0.1:$REDIS_PORT"
  mkdir -p "$PG_HOME"
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes \
    --dir "$PG_HOME" --logfile "$PG_HOME/redis.log" --maxclients 20000 >&2
  for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
fi
redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 || { log "Redis does not answer on port $REDIS_PORT"; exit 1; }
printf 'export AICLONE_TEST_PG_URL=%q\n' "$URL"
printf 'export AICLONE_TEST_REDIS_URL=%q\n' "$REDIS_URL"
