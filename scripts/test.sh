#!/usr/bin/env bash
# The whole suite, once on SQLite and once on PostgreSQL (UNIHUB_TEST_BACKENDS=sqlite skips PG).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
DBNAME="${UNIHUB_TEST_DB_NAME:-unihub_test}"
# The checkout's own sources win over whatever the venv was installed from.
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
BACKENDS="${UNIHUB_TEST_BACKENDS:-sqlite postgresql}"
status=0

eval "$(scripts/services.sh start)" || { echo "could not start PostgreSQL/Redis" >&2; exit 1; }
# Debian's chromium for the browser tests (tests/webchat); they skip, saying why, without it,
# unless UNIHUB_REQUIRE_BROWSER=1 (set by .ci/run, and here under any CI that sets CI): then
# they fail.
if [ -n "${CI:-}" ]; then export UNIHUB_REQUIRE_BROWSER="${UNIHUB_REQUIRE_BROWSER:-1}"; fi
eval "$(scripts/browser.sh)" || true
if [ -z "${UNIHUB_CHROMIUM:-}" ]; then
  case "${UNIHUB_REQUIRE_BROWSER:-0}" in
    ""|0) echo "no chromium: the browser tests will be skipped" >&2 ;;
    *) echo "no chromium and UNIHUB_REQUIRE_BROWSER is set: the browser tests will fail" >&2 ;;
  esac
fi

for backend in $BACKENDS; do
  echo "==================== test suite on $backend ===================="
  if [ "$backend" = postgresql ]; then
    $PY scripts/createdb.py "$UNIHUB_PG_ADMIN_URL" "$DBNAME" || exit 1
    export UNIHUB_TEST_DATABASE_URL="${UNIHUB_PG_ADMIN_URL%/postgres}/$DBNAME"
    export UNIHUB_TEST_DATABASE_URL="postgresql+asyncpg://${UNIHUB_TEST_DATABASE_URL#postgresql://}"
  else
    unset UNIHUB_TEST_DATABASE_URL
  fi
  $PY -m pytest -p no:cacheprovider "$@"
  rc=$?
  echo "==================== $backend: pytest exit $rc ===================="
  [ $rc -ne 0 ] && status=$rc
done
exit $status
