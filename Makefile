# Two commands from a fresh clone: `make run` (the main job on the embedded default) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: run test bench bench-status-sync bench-reconcile lint install clean

$(STAMP): requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(PY) scripts/run.py

test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	@for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

bench-status-sync: $(STAMP)
	$(PY) bench/status_sync.py --orders 2000 --time-scale 10

bench-reconcile: $(STAMP)
	$(PY) bench/reconcile_scale.py --orders 1000000

lint: $(STAMP)
	$(VENV)/bin/ruff check dags plugins include tests bench scripts

clean:
	rm -rf airflow_home var .pytest_cache
