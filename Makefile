# The two commands (README.md): `make run` serves the app, `make test` runs every test.
.PHONY: run test dev bench lint

run:
	scripts/run.sh

test:
	scripts/test.sh $(ARGS)

dev:
	scripts/dev.sh

bench:
	scripts/bench.sh $(ARGS)

lint:
	.venv/bin/ruff check . && .venv/bin/ruff format --check .
