#!/usr/bin/env bash
# The whole test suite: installs what it needs, then runs pytest against the local PostgreSQL and Redis,
# a Celery worker, moto's S3 server, gunicorn and headless Chromium (the tests start those they need).
# Usage: scripts/test.sh [pytest args]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/shop}"
export REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
export CELERY_TASK_ALWAYS_EAGER=true
export SHOP_EVENT_LOG=direct
export SHOP_ENV=local DEBUG=false
export SHOP_VAR_DIR="${SHOP_VAR_DIR:-$(mktemp -d)}"
export STATIC_ROOT="${STATIC_ROOT:-$SHOP_VAR_DIR/static}"
mkdir -p "$STATIC_ROOT"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
exec .venv/bin/python -m pytest "$@"
