#!/usr/bin/env bash
# The compose stack, run for real. Builds every image from Debian's packages and PyPI (no image registry needed:
# docker/debian/build-base.sh + docker-compose.debian.yml), starts docker-compose.yml in production mode, waits
# for the health checks, seeds a small demo shop, then over HTTP as a shopper behind a TLS proxy would: opens
# pages, adds a product to the cart, checks out (scripts/smoke_shopper.py); checks the product photo comes from
# the S3 service, the Celery worker ran the order email task, the web image has no torch and the worker image
# has it; crawls the shop, the API and the admin for errors; tears everything down (containers, volumes,
# network; the images stay as a build cache). Exits 0 only if every check holds.
#
#   scripts/compose_smoke.sh           # as root, with debootstrap and docker-compose (1.29) or docker compose (v2)
#   KEEP=1 scripts/compose_smoke.sh    # leave the stack up for a look; it prints how to tear it down
#
# Starts dockerd itself when no Docker engine answers (and stops it again). Secrets are generated for the run
# and live only in a temporary folder. The release check: README "Running with Docker Compose" gives its time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PROJECT=${SMOKE_PROJECT:-shopsmoke}
T0=$(date +%s)
say() { printf '[%4ss] %s\n' "$(( $(date +%s) - T0 ))" "$*"; }
fail() { say "FAILED: $*"; exit 1; }
mmss() { printf '%dm%02ds' $(($1 / 60)) $(($1 % 60)); }

# --- a Docker engine and compose ---------------------------------------------------------------------------
started_dockerd=""
if ! docker info >/dev/null 2>&1; then
  command -v dockerd >/dev/null && [ "$(id -u)" = 0 ] || fail "no Docker engine answers (start dockerd)"
  say "starting dockerd"
  dockerd >/var/log/dockerd-smoke.log 2>&1 &
  started_dockerd=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || fail "dockerd did not start (see /var/log/dockerd-smoke.log)"
fi
if docker compose version >/dev/null 2>&1; then COMPOSE=(docker compose); else COMPOSE=(docker-compose); fi
command -v "${COMPOSE[0]}" >/dev/null || fail "neither docker compose nor docker-compose is installed"

# --- the checkout, copied, with its own .env -----------------------------------------------------------------
work=$(mktemp -d /var/tmp/shop-smoke.XXXXXX)
src=$work/src
mkdir -p "$src"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] && printf '%s\0' "$f"; done | tar --null -T - -c | tar -x -C "$src"
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(40))'; }
WEB_PORT=$(free_port); MINIO_PORT=$(free_port); MINIO_CONSOLE_PORT=$(free_port)
ADMIN_PASSWORD=$(secret)
export ADMIN_PASSWORD
cat > "$src/.env" <<EOF
SECRET_KEY=$(secret)$(secret)
ALLOWED_HOSTS=localhost,127.0.0.1
POSTGRES_PASSWORD=$(secret)
MINIO_ROOT_USER=smoke-root
MINIO_ROOT_PASSWORD=$(secret)
AWS_ACCESS_KEY_ID=smoke-shop
AWS_SECRET_ACCESS_KEY=$(secret)
ADMIN_PASSWORD=$ADMIN_PASSWORD
EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend
EMAIL_FILE_PATH=/app/var/mail
DEFAULT_FROM_EMAIL=shop@example.com
GUNICORN_WORKERS=2
CELERY_CONCURRENCY=1
WEB_PORT=$WEB_PORT
MINIO_PORT=$MINIO_PORT
MINIO_CONSOLE_PORT=$MINIO_CONSOLE_PORT
SHOP_WEB_IMAGE=shop-smoke/web:latest
SHOP_IMAGE=shop-smoke/worker:latest
EOF
chmod 600 "$src/.env"
dc() { (cd "$src" && "${COMPOSE[@]}" -p "$PROJECT" -f docker-compose.yml -f docker-compose.debian.yml "$@"); }

status=1
teardown() {
  if [ "$status" != 0 ]; then
    say "logs of the failed run (last 60 lines per service):"
    dc logs --no-color --tail=60 2>&1 | sed 's/^/    /' || true
  fi
  if [ -n "${KEEP:-}" ]; then
    say "KEEP set: the stack is up on http://127.0.0.1:$WEB_PORT (admin / \$ADMIN_PASSWORD in $src/.env)."
    say "tear down: (cd $src && ${COMPOSE[*]} -p $PROJECT -f docker-compose.yml -f docker-compose.debian.yml down -v)"
  else
    dc down -v --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$work"
    [ -z "$started_dockerd" ] || { kill "$started_dockerd"; wait "$started_dockerd" 2>/dev/null || true; }
  fi
}
trap teardown EXIT
dc down -v --remove-orphans >/dev/null 2>&1 || true   # what an interrupted earlier run left

# --- build ---------------------------------------------------------------------------------------------------
t=$(date +%s)
docker/debian/build-base.sh
dc build > "$work/build.log" 2>&1 || { tail -n 40 "$work/build.log"; fail "docker compose build"; }
BUILD_S=$(( $(date +%s) - t ))
say "images built in $(mmss $BUILD_S)"

# --- up and healthy ------------------------------------------------------------------------------------------
t=$(date +%s)
dc up -d > "$work/up.log" 2>&1 || { cat "$work/up.log"; fail "docker compose up"; }
state() { docker inspect -f "$1" "$(dc ps -q "$2")" 2>/dev/null; }
for _ in $(seq 120); do
  pending=""
  for s in postgres redis minio web; do [ "$(state '{{.State.Health.Status}}' $s)" = healthy ] || pending+=" $s"; done
  for s in worker beat; do [ "$(state '{{.State.Status}}' $s)" = running ] || pending+=" $s"; done
  [ "$(state '{{.State.Status}} {{.State.ExitCode}}' createbucket)" = "exited 0" ] || pending+=" createbucket"
  [ -z "$pending" ] && break
  sleep 2
done
[ -z "$pending" ] || fail "not healthy after 4 minutes:$pending"
UP_S=$(( $(date +%s) - t ))
say "healthy in $(mmss $UP_S): postgres redis minio(moto S3) web; running: worker beat; createbucket exited 0"

# --- a small demo shop, an admin ------------------------------------------------------------------------------
t=$(date +%s)
dc exec -T web python manage.py seed_demo --products 24 --customers 40 --days 90 | tail -n 1
dc exec -T web python manage.py ensure_admin >/dev/null
SEED_S=$(( $(date +%s) - t ))

# --- the shopper --------------------------------------------------------------------------------------------
t=$(date +%s)
python3 scripts/smoke_shopper.py --base "http://127.0.0.1:$WEB_PORT" --behind-tls --crawl 60 \
  --media-endpoint http://minio.localhost:9000 --media-via "127.0.0.1:$MINIO_PORT" \
  --admin-user admin > "$work/shopper.json" || fail "the shopper's path"
field() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, d))' \
  "$work/shopper.json" "$1"; }
ORDER=$(field order)
say "order $ORDER placed over HTTP: $(field product) -> cart -> checkout -> confirmation (HSTS: $(field 'hsts is not None'))"
say "photo: $(field photo_type), $(field photo_bytes) bytes, HTTP $(field photo_status) from the S3 service $(field 'photo_url.split("/")[2]') (server: $(field photo_server))"
say "crawled $(field 'crawl["pages"]') pages and $(field 'crawl["assets"]') static files, $(field 'admin_crawl["pages"]') admin pages: no errors"

# --- the worker sent the order email -------------------------------------------------------------------------
for _ in $(seq 60); do
  task=$(dc logs --no-color worker 2>/dev/null | grep -E "send_order_confirmation\[[^]]+\] succeeded.*$ORDER" | tail -n 1 || true)
  [ -n "$task" ] && break
  sleep 1
done
[ -n "$task" ] || fail "the worker did not run the order email task for $ORDER"
say "worker: ${task##*| }"
mail=$(dc exec -T worker sh -c "grep -l -- '$ORDER' /app/var/mail/*" | head -n 1 | tr -d '\r')
[ -n "$mail" ] || fail "no email file mentions $ORDER"
say "email for $ORDER written by the worker's mail backend: $mail"
SHOP_S=$(( $(date +%s) - t ))

# --- torch only in the worker --------------------------------------------------------------------------------
web_torch=$(dc exec -T web python -c 'import importlib.util as u; print(u.find_spec("torch") is not None)' | tr -d '\r')
worker_torch=$(dc exec -T worker python -c 'import torch; print(torch.__version__)' | tr -d '\r')
[ "$web_torch" = False ] || fail "the web image has torch"
[ -n "$worker_torch" ] || fail "the worker image has no torch"
size() { docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1 / 1e6}'; }
say "images: web $(size shop-smoke/web:latest) (no torch), worker $(size shop-smoke/worker:latest) (torch $worker_torch)"

status=0
say "PASSED in $(mmss $(( $(date +%s) - T0 ))): build $(mmss $BUILD_S), up+healthy $(mmss $UP_S), seed $(mmss $SEED_S), shop+email $(mmss $SHOP_S)"
