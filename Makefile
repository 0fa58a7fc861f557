.PHONY: run test test-fast compose-smoke mutation
run:        ## start the demo shop on http://127.0.0.1:8000
	scripts/run.sh
test:       ## the whole test suite (PostgreSQL, Redis, Celery worker, moto S3, gunicorn, Chromium)
	scripts/test.sh
test-fast:  ## everything but the slow and browser tests
	scripts/test.sh -m "not slow and not e2e"
compose-smoke:  ## release check: build from Debian's packages, docker compose up, place an order, tear down
	scripts/compose_smoke.sh
mutation:   ## mutation testing of the shop's money/stock/import/analytics code and the engines' metrics, by hand (not CI)
	scripts/mutation.sh
