#!/usr/bin/env bash
# Installs (from Debian, when absent) and starts the services the tests and benchmarks use:
# a throw-away PostgreSQL 15 cluster and a Redis server, both on 127.0.0.1 only.
#   scripts/services.sh start   -> prints `export VAR=...` lines for the caller to eval
#   scripts/services.sh stop
set -euo pipefail

PG_PORT="${UNIHUB_PG_PORT:-55432}"
REDIS_PORT="${UNIHUB_REDIS_PORT:-56379}"
STATE="${UNIHUB_SERVICES_DIR:-/tmp/unihub-services}"
PGDATA="$STATE/pg"

log() { echo "services: $*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo -n "$@"; fi; }

apt_install() {
  log "installing $* from Debian"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

pg_bin() {
  local d
  for d in /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  return 1
}

ensure_pg() {
  pg_bin >/dev/null || apt_install postgresql
  # Debian's package starts its own cluster on 5432; ours is separate and disposable.
  id postgres >/dev/null 2>&1 || as_root useradd --system --home "$STATE" postgres
}

ensure_redis() {
  command -v redis-server >/dev/null || apt_install redis-server
}

run_pg() {  # PostgreSQL refuses to run as root
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

start() {
  ensure_pg
  ensure_redis
  local bin; bin=$(pg_bin)
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  if [ ! -f "$PGDATA/PG_VERSION" ]; then
    mkdir -p "$PGDATA"
    [ "$(id -u)" = 0 ] && chown postgres "$PGDATA"
    run_pg "$bin/initdb -D $PGDATA -U postgres --auth=trust -E UTF8 >/dev/null"
  fi
  if ! run_pg "$bin/pg_ctl -D $PGDATA status" >/dev/null 2>&1; then
    run_pg "$bin/pg_ctl -D $PGDATA -l $PGDATA/server.log -w -o \"-h 127.0.0.1 -p $PG_PORT -k /tmp -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300\" start" >&2
  fi
  if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --daemonize yes --save "" \
      --appendonly no --logfile "$STATE/redis.log" >&2
    for _ in $(seq 50); do redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break; sleep 0.1; done
  fi
  echo "export UNIHUB_PG_ADMIN_URL=postgresql://postgres@127.0.0.1:$PG_PORT/postgres"
  echo "export UNIHUB_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
}

stop() {
  local bin; bin=$(pg_bin) || true
  [ -n "${bin:-}" ] && [ -f "$PGDATA/PG_VERSION" ] && run_pg "$bin/pg_ctl -D $PGDATA -m fast stop" >&2 || true
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
