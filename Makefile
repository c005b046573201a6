# The two commands (README.md): `make run` serves the app, `make test` runs every test.
.PHONY: run run-prod test dev bench lint

run:
	scripts/run.sh

run-prod:
	scripts/run-prod.sh

test:
	scripts/test.sh $(ARGS)

dev:
	scripts/dev.sh

bench:
	scripts/bench.sh $(ARGS)

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
