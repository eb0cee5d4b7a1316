# Two entry points do everything on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

CHROMIUM := /usr/bin/chromium

.PHONY: run test bench lint typecheck pytest fuzz clean demo browser

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/silkroute serve

demo: $(STAMP)
	$(BIN)/silkroute route "Xi'an" Tashkent --teu 4 --ready 2026-12-01

lint: $(STAMP)
	$(BIN)/ruff check routing graphs service tests scripts
	$(BIN)/ruff format --check routing graphs service tests scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

# The map page is tested in Debian's headless Chromium; install it where we may (root + apt).
browser:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get install -y --no-install-recommends chromium >/dev/null 2>&1 || \
	    { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium >/dev/null; }; \
	  else echo "warning: $(CHROMIUM) missing and cannot install it; the browser test will skip"; fi; }

# Hypothesis runs derandomized here and in CI (profile "ci"): the same examples every run.
pytest: $(STAMP) browser
	SILKROUTE_HYPOTHESIS_PROFILE=ci $(BIN)/python -m pytest

# Exploration: fresh random examples, ten times as many (SILKROUTE_FUZZ_SCALE to change).
# Random exploration: input fuzzing with random seeds, and thousands of generated networks on
# which the route search must agree with the brute force of tests/oracle.py.
fuzz: $(STAMP)
	SILKROUTE_HYPOTHESIS_PROFILE=fuzz $(BIN)/python -m pytest -p no:cacheprovider \
	  tests/test_fuzz_inputs.py tests/test_properties.py tests/test_service_fuzz.py
	SILKROUTE_HYPOTHESIS_PROFILE=fuzz SILKROUTE_ORACLE_EXAMPLES=3000 \
	  $(BIN)/python -m pytest -p no:cacheprovider tests/test_oracle.py -q

test: lint typecheck pytest

bench: $(STAMP)
	$(BIN)/python scripts/bench.py

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
