#!/usr/bin/env bash
# Start the demo shop on http://127.0.0.1:8000 with the embedded defaults: SQLite in var/, media in media/,
# Celery tasks in-process. Installs into .venv, migrates, loads the demo data if the shop is empty (about a
# minute), prints the admin login, then serves with gunicorn. Any setting in README.md can be overridden.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh run
PORT=${PORT:-8000}
.venv/bin/python manage.py migrate --noinput -v0
.venv/bin/python manage.py collectstatic --noinput -v0
.venv/bin/python manage.py seed_demo --if-empty
.venv/bin/python manage.py ensure_admin | sed "s/127.0.0.1:8000/127.0.0.1:${PORT}/"
echo "Shop: http://127.0.0.1:${PORT}/"
exec .venv/bin/gunicorn config.wsgi --bind "127.0.0.1:${PORT}" --workers "${GUNICORN_WORKERS:-2}" --access-logfile -
