# The two jobs of the README: `make site` (the main job) and `make test`.
VENV ?= .venv
BIN := $(VENV)/bin
export NO_MKDOCS_2_WARNING := 1

.PHONY: site test golden bench fuzz clean

$(BIN)/runbook: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@

site: $(BIN)/runbook
	$(BIN)/runbook validate
	$(BIN)/runbook build
	$(BIN)/mkdocs build --strict
	@echo "The site is in $(CURDIR)/site/ (open site/index.html, or run: $(BIN)/mkdocs serve)"

test: $(BIN)/runbook
	scripts/system-deps
	$(BIN)/python -m pytest

golden: $(BIN)/runbook
	$(BIN)/python -m pytest tests/test_golden.py --update-golden

clean:
	rm -rf site build .pytest_cache .hypothesis
