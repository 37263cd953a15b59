#!/usr/bin/env bash
# The whole suite, once on SQLite and once on PostgreSQL (UNIHUB_TEST_BACKENDS=sqlite skips PG).
set -uo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
BACKENDS="${UNIHUB_TEST_BACKENDS:-sqlite postgresql}"
status=0

eval "$(scripts/services.sh start)" || { echo "could not start PostgreSQL/Redis" >&2; exit 1; }

for backend in $BACKENDS; do
  echo "==================== test suite on $backend ===================="
  if [ "$backend" = postgresql ]; then
    $PY scripts/createdb.py "$UNIHUB_PG_ADMIN_URL" unihub_test || exit 1
    export UNIHUB_TEST_DATABASE_URL="${UNIHUB_PG_ADMIN_URL%/postgres}/unihub_test"
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
