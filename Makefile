# Shipyard: `make up` serves the embedded default, `make test` runs the whole suite.
# Both set up what a fresh machine lacks first (system packages need root; see README).

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
DATA_DIR ?= $(CURDIR)/data
HOST ?= 127.0.0.1
PORT ?= 8090
PYTEST := tools/lane.sh
# The database-backed lanes run on two workers (pytest-xdist); each has its own database.
WORKERS ?= 2

.PHONY: up setup system-up system-test lint typecheck test test-unit test-api test-web \
        test-browser test-agent test-images test-pg messages bench clean

up: system-up setup
	$(BIN)/shipyard up --host $(HOST) --port $(PORT) --data-dir $(DATA_DIR)

setup: $(VENV)/.installed src/shipyard/web/static/vendor/.built

system-up:
	@tools/system-deps.sh up

system-test:
	@tools/system-deps.sh test

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund --ignore-scripts

src/shipyard/web/static/vendor/.built: node_modules/.package-lock.json $(VENV)/.installed \
		tools/build_assets.py $(wildcard src/shipyard/web/templates/*.html) \
		$(wildcard src/shipyard/locale/*/LC_MESSAGES/messages.po)
	$(BIN)/python tools/build_assets.py
	touch $@

lint: setup
	$(BIN)/ruff check src tests bench tools
	$(BIN)/ruff format --check src tests bench tools
	$(BIN)/lint-imports --no-logo --no-cache

typecheck: setup
	$(BIN)/mypy src

test-unit: setup
	$(PYTEST) unit tests/unit

test-api: setup
	$(PYTEST) api -n $(WORKERS) tests/api

test-web: setup
	$(PYTEST) web -n $(WORKERS) tests/web

test-browser: setup
	$(PYTEST) browser -n $(WORKERS) tests/browser

test-agent: setup
	$(PYTEST) agent tests/agent

# The image sources with the real tools (skopeo, umoci, mmdebstrap, uv, docker-registry); the
# Debian bases they build are cached in ~/.cache/shipyard/tests/images/ between runs.
test-images: setup
	$(PYTEST) images tests/images

# The database tests again on PostgreSQL: the one in SHIPYARD_TEST_DATABASE_URL, or a
# throwaway server started (and removed) by tools/with-postgres.sh. Only tests marked `db`
# (how the database behaves: constraints, locks, time windows, sums, statement counts;
# every test of tests/pg) or `smoke` (each main API and console path once) run again here.
test-pg: setup
	tools/with-postgres.sh $(PYTEST) pg -n $(WORKERS) -m "db or smoke" tests/unit tests/api tests/web tests/pg

# Every lane, side by side (tools/lanes.sh): the lanes that keep both cores busy run one
# after another, on CPU time nothing else wants, beside the browser lane; the agent lane,
# whose tests time what real sessions do (a hang-up, /healthz under attack), runs alone
# after them. Each lane's log is printed whole when it ends, with its wall time; the run
# fails if any lane fails and names it. `make test-api` etc. still run one lane alone.
LANE_CHAINS ?= "lint typecheck unit api web pg" "browser images"
LANES_BACKGROUND ?= lint typecheck unit api web pg images
LANES_AFTER ?= agent

test: system-test setup
	@MAKE="$(MAKE)" LANES_BACKGROUND="$(LANES_BACKGROUND)" LANES_AFTER="$(LANES_AFTER)" \
		tools/lanes.sh $(LANE_CHAINS)
	@echo "make test: every lane passed"

messages: setup
	$(BIN)/pybabel extract -F babel.cfg -o src/shipyard/locale/messages.pot --no-location \
		--sort-output --project Shipyard --copyright-holder "The Shipyard developers" \
		-k _ -k ngettext:1,2 .
	$(BIN)/pybabel update -i src/shipyard/locale/messages.pot -d src/shipyard/locale \
		--no-fuzzy-matching --ignore-obsolete

bench: setup
	$(BIN)/python bench/login_summary.py

clean:
	rm -rf $(VENV) node_modules src/shipyard/web/static/vendor dist build
