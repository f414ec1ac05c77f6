# LAW — Layanan Antrean via WhatsApp. `make run` to chat with the assistant, `make test` to
# run every test. Both set up whatever is missing first (and nothing when nothing changed).
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV      := .venv
PY        := $(VENV)/bin/python
# Rasa's command line through LAW's launcher (law_rasa/cli.py): the pinned version, the patches.
RASA      := $(VENV)/bin/law-rasa
STAMP     := $(VENV)/.installed
MODEL_SRC := config.yml domain.yml $(shell find data addons -type f \( -name '*.yml' -o -name '*.py' \) 2>/dev/null | sort) requirements.txt
MODEL_ID   = $(shell cat $(MODEL_SRC) | sha256sum | cut -c1-12)
MODEL      = models/law-$(MODEL_ID).tar.gz
# What Rasa starts with: the promoted model (models/current.tar.gz, law_retrain/pointer.py)
# when it was promoted after $(MODEL) was trained, else $(MODEL).
LAUNCH_MODEL = $(shell $(PY) -m law_retrain.pointer $(MODEL))

export RASA_TELEMETRY_ENABLED := false
export TF_CPP_MIN_LOG_LEVEL   := 2
export PYTHONDONTWRITEBYTECODE := 1
# PostgreSQL used by the tests (a database of their own is created and dropped there).
export LAW_TEST_POSTGRES_URL  ?= postgresql+psycopg2://postgres@127.0.0.1:5432/test
# Redis used by the production topology test (keys under a prefix of its own, deleted after).
export LAW_TEST_REDIS_URL     ?= redis://127.0.0.1:6379/15

.PHONY: help setup train run test lint db lock clean

help:
	@echo "make run    set up, train if needed, start the action server and chat in the terminal"
	@echo "make test   set up, lint and type-check, train if needed, run every test"
	@echo "make lint   ruff and mypy on the packages (the first step of make test)"
	@echo "make setup  create .venv (Python 3.10) with the pinned dependencies"
	@echo "make train  train a model unless one matches the current data"
	@echo "make run-prod  the production topology here: PostgreSQL, Redis, 2 Rasa, 2 action servers"
	@echo "make bench  production figures (one Rasa process, the production topology) beside a stock rasa init bot, then 1-3 Rasa processes"

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml scripts/find-python310.sh scripts/system-packages.sh
	@scripts/system-packages.sh
	@set -e; \
	if [ ! -x $(PY) ] || ! $(PY) -c 'import sys; assert sys.version_info[:2] == (3, 10)' 2>/dev/null; then \
	  python310="$$(scripts/find-python310.sh)"; \
	  echo "creating $(VENV) with $$python310"; \
	  rm -rf $(VENV); "$$python310" -m venv $(VENV); \
	fi
	$(PY) -m pip install --quiet --disable-pip-version-check "pip==26.3"
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	$(PY) -m pip check
	@touch $(STAMP)

train: setup
	@if [ -f $(MODEL) ]; then echo "model $(MODEL) matches the data: not retraining"; \
	else $(RASA) train --fixed-model-name law-$(MODEL_ID) --out models && \
	  find models -name 'law-*.tar.gz' ! -name 'law-$(MODEL_ID).tar.gz' -mmin +0 -printf '%T@ %p\n' \
	    | sort -n | head -n -2 | cut -d' ' -f2- | xargs -r rm -f; fi

db: setup
	@$(PY) -c "from antrean.store.engine import migrate; migrate()"

run: train db
	@scripts/run-local.sh $(LAUNCH_MODEL)

# The gates, first in `make test`: ruff (import order, docstrings, pyupgrade, bugbear) and mypy,
# configured in pyproject.toml, on the packages that ship.
LINTED := antrean addons actions law_rasa law_launch law_console law_retrain
lint: setup
	@status=0; \
	$(VENV)/bin/ruff check $(LINTED) || status=1; \
	$(VENV)/bin/mypy $(LINTED) || status=1; \
	exit $$status

test: lint train
	LAW_MODEL=$(MODEL) $(PY) -m pytest $(PYTEST_ARGS)

lock: setup
	$(PY) -m pip freeze --all --exclude-editable | grep -v -e "^-e" -e "^pip==" > requirements.txt

clean:
	rm -rf $(VENV) models var .pytest_cache

# Production topology on this machine (docs/deployment.md): PostgreSQL and Redis on 127.0.0.1,
# Rasa processes and action servers behind nginx (round robin), the staff console; Ctrl-C stops
# it all. Options through PROD_ARGS, e.g. `make run-prod PROD_ARGS="--rasa 3 --rest-only"`.
.PHONY: run-prod
run-prod: train
	@$(VENV)/bin/law-prod --model $(LAUNCH_MODEL) --create-databases --notices $(PROD_ARGS)

# Production figures (docs/performance.md): training, start-up, memory, end-to-end latency, CPU
# per message and sustained rate of our bot (one Rasa process on SQLite, and the production
# topology of `make run-prod` on PostgreSQL and Redis) beside a stock `rasa init` bot, measured
# in the same run. Printed, never asserted; about 7 minutes on a quiet machine.
# BENCH_ARGS="--quick" skips training and shortens phases; "--no-topology" needs no PostgreSQL.
# Then bench/bench_scale.py: the topology with 1, 2 and 3 Rasa processes, sustained rate and p95.
.PHONY: bench
bench: setup
	$(PY) bench/bench_prod.py $(BENCH_ARGS)
	$(PY) bench/bench_scale.py $(BENCH_ARGS)
