#!/bin/sh
# Web container entrypoint. It waits for nothing itself: docker-compose.yml starts it only once PostgreSQL and
# Redis are healthy and the media bucket exists. Migrations run here, once per web start, before gunicorn.
set -eu

python manage.py migrate --noinput
python manage.py collectstatic --noinput

exec gunicorn config.wsgi:application \
    --bind "0.0.0.0:${PORT:-8000}" \
    --workers "${GUNICORN_WORKERS:-3}" \
    --threads "${GUNICORN_THREADS:-1}" \
    --timeout "${GUNICORN_TIMEOUT:-60}" \
    --forwarded-allow-ips "${FORWARDED_ALLOW_IPS:-*}" \
    --access-logfile - \
    --error-logfile -
