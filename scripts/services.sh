#!/usr/bin/env bash
# Installs (from Debian, when absent) and starts the services the tests and benchmarks use:
# a throw-away PostgreSQL 15 cluster and a Redis server, both on 127.0.0.1 only.
#   scripts/services.sh start        -> prints `export VAR=...` lines for the caller to eval
#   scripts/services.sh start-bench  -> the same, with the benchmarks' own cluster
#   scripts/services.sh stop         (stops both clusters and Redis)
# The tests' cluster runs with fsync, synchronous_commit and full_page_writes off (speed; it
# holds nothing worth keeping). The benchmarks' cluster (`start-bench`, port 55433, data in
# $STATE/pg-bench) runs with PostgreSQL's defaults, so its figures include durable commits.
set -euo pipefail

PG_PORT="${UNIHUB_PG_PORT:-55432}"
REDIS_PORT="${UNIHUB_REDIS_PORT:-56379}"
STATE="${UNIHUB_SERVICES_DIR:-/tmp/unihub-services}"
PGDATA="$STATE/pg"
BENCH_PG_PORT="${UNIHUB_BENCH_PG_PORT:-55433}"
BENCH_PGDATA="$STATE/pg-bench"

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

start_cluster() {  # data dir, port, extra server options
  local data="$1" port="$2" opts="$3" bin; bin=$(pg_bin)
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data"
    [ "$(id -u)" = 0 ] && chown postgres "$data"
    run_pg "$bin/initdb -D $data -U postgres --auth=trust -E UTF8 >/dev/null"
  fi
  if ! run_pg "$bin/pg_ctl -D $data status" >/dev/null 2>&1; then
    run_pg "$bin/pg_ctl -D $data -l $data/server.log -w -o \"-h 127.0.0.1 -p $port -k /tmp $opts\" start" >&2
  fi
}

start() {  # "" for the tests' cluster, "bench" for the benchmarks'
  ensure_pg
  ensure_redis
  mkdir -p "$STATE"
  chmod 755 "$STATE"
  if [ "${1:-}" = bench ]; then
    PG_PORT="$BENCH_PG_PORT"
    start_cluster "$BENCH_PGDATA" "$PG_PORT" "-c max_connections=300"
  else
    start_cluster "$PGDATA" "$PG_PORT" "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=300"
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
  local data
  for data in "$PGDATA" "$BENCH_PGDATA"; do
    if [ -n "${bin:-}" ] && [ -f "$data/PG_VERSION" ] && run_pg "$bin/pg_ctl -D $data status" >/dev/null 2>&1; then
      run_pg "$bin/pg_ctl -D $data -m fast stop" >&2 || true
    fi
  done
  redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
}

case "${1:-start}" in
  start) start ;;
  start-bench) start bench ;;
  stop) stop ;;
  *) echo "usage: $0 start|start-bench|stop" >&2; exit 2 ;;
esac
