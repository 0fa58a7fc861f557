#!/bin/sh
# Web container entrypoint. It waits for nothing itself: docker-compose.yml starts it only once PostgreSQL and
# Redis are healthy and the media bucket exists. Migrations run here, once per web start, before gunicorn.
set -eu

python manage.py migrate --noinput
python manage.py collectstatic --noinput
# The chat assistant's first model is trained by a worker (the web image never trains).
python manage.py chat_train --if-missing --enqueue || echo "chat assistant: could not queue its training"

exec gunicorn config.wsgi:application \
    --bind "0.0.0.0:${PORT:-8000}" \
    --workers "${GUNICORN_WORKERS:-3}" \
    --threads "${GUNICORN_THREADS:-1}" \
    --timeout "${GUNICORN_TIMEOUT:-60}" \
    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" \
    --no-control-socket \
    --access-logfile - \
    --error-logfile -
