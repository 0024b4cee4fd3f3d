# creditfactory — the same commands a user and CI run.
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench drills lint format clean setup

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench,drills,ocr]'
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(BIN)/creditfactory demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks drills
	$(BIN)/ruff format --check src tests benchmarks drills
	$(BIN)/mypy src

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks drills
	$(BIN)/ruff check --fix src tests benchmarks drills

test: lint
	@# Debian packages some tests need, installed here when root and missing (without root those
	@# tests skip, naming the package): fonts-wqy-zenhei (the ID-card OCR tests draw cards with a
	@# CJK font), curl (the doc runner's curl examples), chromium (the dashboard's browser tests;
	@# Playwright downloads no browser)
	@missing=""; \
	[ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || missing="$$missing fonts-wqy-zenhei"; \
	command -v curl >/dev/null 2>&1 || missing="$$missing curl"; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	if [ -n "$$missing" ] && [ "$$(id -u)" = 0 ]; then \
		echo "installing Debian packages:$$missing"; \
		apt-get install -y -q $$missing >/dev/null 2>&1 \
		|| { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q $$missing >/dev/null 2>&1; } \
		|| echo "could not install:$$missing (the tests that need them skip)"; \
	fi
	$(BIN)/python -m pytest src tests

bench: $(STAMP)
	@# the service benchmark's load generator: Debian's wrk, installed when root and missing
	@command -v wrk >/dev/null 2>&1 || [ "$$(id -u)" != 0 ] || apt-get install -y -q wrk >/dev/null 2>&1 \
		|| { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q wrk >/dev/null 2>&1; } || true
	@command -v wrk >/dev/null 2>&1 || echo "wrk is not installed (Debian package wrk, needs root):" \
		"the service benchmark uses its own asyncio load generator"
	$(BIN)/python benchmarks/run.py $(ARGS)

drills: $(STAMP)
	@# kill -9, tamper, fuzz, authorisation, abuse and database-outage drills against the real
	@# service (SQLite, and PostgreSQL on 127.0.0.1:5432 when it answers); about 4 min; ARGS="--quick"
	$(BIN)/python drills/run.py $(ARGS)

clean:
	rm -rf $(VENV) build dist .pytest_cache .ruff_cache
