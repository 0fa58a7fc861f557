#!/usr/bin/env bash
# Mutation testing of the shop's money and stock paths and the engines' metrics, by hand (not in CI).
# mutmut (pinned in requirements-dev.txt; configured in pyproject.toml [tool.mutmut]) mutates the modules below and
# runs, for each mutant, the tests that call the mutated function, on the local PostgreSQL and Redis like test.sh.
#   scripts/mutation.sh                 every module, then the score per module (mutants/ holds the results)
#   scripts/mutation.sh 'shop.cart.*'   only the mutants matching these names (mutmut's globs)
#   MUTATION_SAMPLE=40 MUTATION_SEED=1 scripts/mutation.sh
#                                       a random sample of 40 mutants per module (an estimate of the score in
#                                       about an hour on 2 busy shared cores; the whole run takes several hours)
# Then `.venv/bin/mutmut results` lists the survivors, `.venv/bin/mutmut show NAME` shows one.
# MUTATION_JOBS (default 1) mutants run at a time: the mutants share one test database.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/bootstrap.sh dev
export DATABASE_URL="${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/shop}"
export REDIS_URL="${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}"
export CELERY_TASK_ALWAYS_EAGER=true SHOP_EVENT_LOG=direct SHOP_ENV=local DEBUG=false
export SHOP_VAR_DIR="${SHOP_VAR_DIR:-$(mktemp -d)}"
export STATIC_ROOT="${STATIC_ROOT:-$SHOP_VAR_DIR/static}"
mkdir -p "$STATIC_ROOT"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}" CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}"
# The recommender's metrics are the two functions of evaluate.py that compute them; the rest of that file trains
# and tunes models (benchmark orchestration, not metrics).
MUTANTS=(
  'shop.stock.*' 'shop.checkout.*' 'shop.order_flow.*' 'shop.cart.*' 'shop.pricing.*' 'shop.imports.*'
  'shop.analytics.*' 'forecasting.engine.metrics.*'
  'recommender.engine.evaluate.x__rank_metrics__mutmut_*' 'recommender.engine.evaluate.x_evaluate__mutmut_*'
)
if [ $# -gt 0 ]; then MUTANTS=("$@"); fi
only=()
if [ -n "${MUTATION_SAMPLE:-}" ]; then
  mkdir -p mutants
  nice .venv/bin/python scripts/mutation_score.py --sample "$MUTATION_SAMPLE" --seed "${MUTATION_SEED:-0}" \
    "${MUTANTS[@]}" > mutants/sample.txt
  mapfile -t MUTANTS < mutants/sample.txt
  only=(--only mutants/sample.txt)
fi
nice .venv/bin/mutmut run --max-children "${MUTATION_JOBS:-1}" "${MUTANTS[@]}" || true
.venv/bin/python scripts/mutation_score.py "${only[@]}" "${MUTANTS[@]}"
