#!/usr/bin/env bash
# Create .venv and install the pinned requirements. Re-running is cheap: it only installs again when a
# requirements file changed.
#   scripts/bootstrap.sh [run]   requirements.txt: everything (web set + torch and the ML stack), what run.sh uses
#   scripts/bootstrap.sh dev     requirements-dev.txt: everything + the test tools, what test.sh uses
#   scripts/bootstrap.sh web     requirements-web.txt only: the web process without torch (0.56 GB, not 5.7)
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-run}
case "$which" in
  run) req=requirements.txt ;;
  dev) req=requirements-dev.txt ;;
  web) req=requirements-web.txt ;;
  *) echo "usage: scripts/bootstrap.sh [run|dev|web]" >&2; exit 2 ;;
esac
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.installed-$which"
sum=$(cat requirements-web.txt requirements.txt "$req" | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$req"
  echo "$sum" > "$stamp"
fi
