# kefu developer targets. `make help` lists them.
.DEFAULT_GOAL := help
VENV := .venv/bin

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install: ## Install kefu and the dev tools into .venv, build front-end assets
	scripts/install dev

demo: ## Serve the demo center on http://127.0.0.1:8000
	scripts/demo

test: ## Install what the tests need and run the whole suite (the CI command)
	scripts/test

native: ## Compile the routing engine with mypyc (scripts/build-native; also run by install)
	scripts/build-native

lint: ## ruff (with DTZ: no naive datetimes)
	$(VENV)/ruff check .

types: ## mypy (strict on pure modules)
	$(VENV)/mypy kefu

check: ## lint, types and tests
	scripts/test

migration: ## Autogenerate a migration: make migration m="what changed"
	$(VENV)/python -c "from alembic import command; from kefu.schema import alembic_config; \
	c = alembic_config('sqlite:///var/kefu.db'); \
	c.set_main_option('file_template', '%%(year)d%%(month).2d%%(day).2d_%%(rev)s_%%(slug)s'); \
	command.revision(c, message='$(m)', autogenerate=True)"

.PHONY: help install demo test native lint types check migration
