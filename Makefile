# The two jobs of the README: `make site` (the main job) and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1

.PHONY: site test lint golden bench fuzz clean

# The site needs the package alone; the tests, its `test` extra too.
$(VENV)/.installed-site: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

site: $(VENV)/.installed-site
	scripts/system-deps site
	$(BIN)/runbook validate
	$(BIN)/runbook build
	$(BIN)/mkdocs build --strict
	@echo "The site is in $(CURDIR)/site/ (open site/index.html, or run: $(BIN)/mkdocs serve)"

test: lint
	scripts/system-deps test
	$(BIN)/python -m pytest -n auto

# Lint, format and types (pyproject.toml has the settings); part of `make test`.
lint: $(VENV)/.installed-test
	$(BIN)/ruff check generator tests benchmarks
	$(BIN)/ruff format --check generator tests benchmarks
	$(BIN)/mypy

golden: $(VENV)/.installed-test
	$(BIN)/python -m pytest tests/test_golden.py --update-golden

# Regeneration benchmark (benchmarks/README.md): make bench, or make bench BENCH_N=10 for a
# quick run at one size. Installs the optional `bench` extra (mkdocs-gen-files, for comparison).
BENCH_N ?=
bench: $(VENV)/.installed-test
	$(BIN)/pip install --quiet -e '.[bench]'
	BENCH_N=$(BENCH_N) $(BIN)/python benchmarks/bench_regeneration.py

# Long fuzz run (issue 6): 10,000 examples per property; the normal suite runs 200.
FUZZ_EXAMPLES ?= 10000
fuzz: $(VENV)/.installed-test
	RUNBOOK_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) $(BIN)/python -m pytest tests/test_fuzz.py -q

clean:
	rm -rf site build .pytest_cache .hypothesis
