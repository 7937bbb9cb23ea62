# Two commands do all the set-up: `make run` and `make test`. `make lint` checks the code;
# `make lock` rewrites requirements.lock from the ranges in pyproject.toml.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test lint lock bench migrate clean texts

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $(STAMP)

run: $(STAMP)
	$(PY) -m bot run

migrate: $(STAMP)
	$(PY) -m bot db upgrade

test: $(STAMP)
	$(PY) -m pytest

# ruff's rules and mypy's packages are set in pyproject.toml.
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# Rewrite requirements.lock: a throwaway venv gets ".[dev]" at the newest versions pyproject's
# ranges allow, and its pip freeze (less the project itself) becomes the lock. Run `make test`
# after it, and commit the lock with the change to pyproject.toml that called for it.
lock:
	@set -e; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(PYTHON) -m venv "$$tmp/venv"; \
	"$$tmp/venv/bin/python" -m pip install --quiet --upgrade pip; \
	"$$tmp/venv/bin/python" -m pip install --quiet -e ".[dev]"; \
	{ echo '# Constraints for reproducible installs: pip install -c requirements.lock -e ".[dev]"'; \
	  echo '# Written by `make lock` from the ranges in pyproject.toml: change those, not this file.'; \
	  "$$tmp/venv/bin/python" -m pip freeze --exclude groupkeeper; } > "$$tmp/requirements.lock"; \
	mv "$$tmp/requirements.lock" requirements.lock; \
	echo "requirements.lock: $$(grep -vc '^#' requirements.lock) packages"

# Benchmarks print their figures and write JSON under bench/results/.
# SPAM_DATA_DIR (default ../shared/data/spam) holds the labeled data bench.detect reads.
bench: $(STAMP)
	mkdir -p bench/results
	$(PY) -m bench.ingest --json bench/results/ingest.json
	$(PY) -m bench.fanout --json bench/results/fanout.json
	$(PY) -m bench.detect --json bench/results/detect.json
	$(PY) -m bench.digest --json bench/results/digest.json
	$(PY) -m bench.raid --db both --json bench/results/raid.json

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache

# Refresh the translation catalogs after changing texts; then fill in the new msgstr lines.
texts: $(STAMP)
	$(VENV)/bin/pybabel extract --no-location -k tr:2 -k N_ -o services/locales/messages.pot bot handlers services
	$(VENV)/bin/pybabel update --no-fuzzy-matching -i services/locales/messages.pot -d services/locales -D messages
