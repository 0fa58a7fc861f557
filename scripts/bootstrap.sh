#!/usr/bin/env bash
# Create .venv and install the pinned requirements (dev adds the test tools). Re-running is cheap: it only
# installs again when a requirements file changed.
set -euo pipefail
cd "$(dirname "$0")/.."
which=${1:-run}
req=requirements.txt
[ "$which" = dev ] && req=requirements-dev.txt
PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=".venv/.installed-$which"
sum=$(cat requirements.txt "$req" | sha256sum | cut -c1-16)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
  .venv/bin/pip install --quiet --upgrade pip
  .venv/bin/pip install --quiet -r "$req"
  echo "$sum" > "$stamp"
fi
