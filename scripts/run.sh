#!/usr/bin/env bash
# Start the demo shop on http://127.0.0.1:8000 with the embedded defaults: SQLite in var/, media in media/.
# Installs into .venv, migrates, loads the demo data if the shop is empty (about a minute), prints the admin login,
# starts a Celery worker process (with beat for the nightly jobs) that trains the first sales forecast in the
# background, then serves with gunicorn. Without REDIS_URL the worker and the web process share a broker that
# needs no server (files under var/celery). Meanwhile a background process trains the first recommender (the slots
# show popular products until it is published) and, for the demo shop, simulates the shoppers of the last weeks so
# the recommendations dashboard has numbers (var/log/recommender.log). Any setting in README.md can be overridden.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh run
PORT=${PORT:-8000}
VAR=${SHOP_VAR_DIR:-var}
if [ -z "${REDIS_URL:-}" ] && [ -z "${CELERY_BROKER_URL:-}" ]; then
  export CELERY_BROKER_URL=filesystem://localhost//
fi
export CELERY_TASK_ALWAYS_EAGER=${CELERY_TASK_ALWAYS_EAGER:-false}
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py collectstatic --noinput -v0
seeded=$(.venv/bin/python manage.py seed_demo --if-empty | tee /dev/stderr)
case "$seeded" in *"Demo shop loaded"*) mkdir -p "$VAR" && touch "$VAR/demo-shop" ;; esac
.venv/bin/python manage.py chat_train --if-missing  # the chat assistant; the first time exports its encoder (~1 min)
.venv/bin/python manage.py ensure_admin | sed "s/127.0.0.1:8000/127.0.0.1:${PORT}/"

mkdir -p "$VAR/log"
.venv/bin/celery -A config worker --beat --concurrency "${CELERY_CONCURRENCY:-2}" --loglevel INFO \
  --without-gossip --without-mingle --without-heartbeat >>"$VAR/log/worker.log" 2>&1 &
worker=$!
.venv/bin/python manage.py train_forecaster --if-missing
echo "Forecasts: http://127.0.0.1:${PORT}/admin/forecasting/productforecast/ (the first training runs on the worker;"
echo "progress: http://127.0.0.1:${PORT}/admin/forecasting/forecastmodel/, log: $VAR/log/worker.log)"
(
  nice .venv/bin/python manage.py train_recommender --if-missing --inline
  if [ -f "$VAR/demo-shop" ]; then nice .venv/bin/python manage.py simulate_shoppers --if-empty; fi
) >>"$VAR/log/recommender.log" 2>&1 &
recs=$!
# Ctrl-C or gunicorn exiting stops the worker (a training run it had going is marked failed by the next check)
# and the recommender's background process.
trap 'kill -QUIT "$worker" 2>/dev/null || true; pkill -TERM -P "$recs" 2>/dev/null; kill "$recs" 2>/dev/null || true
      wait "$worker" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
echo "Recommendations: trained in the background (log: $VAR/log/recommender.log); dashboard:"
echo "  http://127.0.0.1:${PORT}/admin/recommender/recommendermodel/"
echo "Shop: http://127.0.0.1:${PORT}/"
.venv/bin/gunicorn config.wsgi --bind "127.0.0.1:${PORT}" --workers "${GUNICORN_WORKERS:-2}" --access-logfile -
