# Two entry points, both from a fresh clone: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# pytest keeps its assertion-rewritten test modules only where Python may write bytecode.
TESTENV := PYTHONDONTWRITEBYTECODE=
# Enterprise Gateway 3.x needs older jupyter_client/jupyter_server: its own environment, as deployed.
EG_VENV := .venv-eg
EG_STAMP := $(EG_VENV)/.installed

.PHONY: demo test bench bench-smoke

$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	$(PY) -m codemode_kernel install --sys-prefix
	$(PY) -m compileall -q codemode_kernel  # editable installs are not byte-compiled
	touch $(STAMP)

demo: $(STAMP)  ## install the kernel and run the tour notebook end to end
	$(VENV)/bin/jupyter execute --kernel_name=codemode notebooks/tour.ipynb --output=tour.executed.ipynb
	$(PY) notebooks/show.py notebooks/tour.executed.ipynb

$(EG_STAMP):
	python3 -m venv $(EG_VENV)
	$(EG_VENV)/bin/pip install --quiet "jupyter_enterprise_gateway==3.3.0"
	touch $(EG_STAMP)

test: $(STAMP) $(EG_STAMP)  ## lint, check the layers, type-check, then the fast tier and the rest
	$(VENV)/bin/ruff check codemode_kernel tests benches examples notebooks
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy
	$(TESTENV) $(VENV)/bin/pytest -m unit
	$(TESTENV) $(VENV)/bin/pytest -m "not unit and not bench"

bench-smoke: $(STAMP)  ## the benchmarks' quick runs (numbers printed, never asserted)
	$(TESTENV) $(VENV)/bin/pytest -m bench

bench: $(STAMP)
	$(PY) benches/run_all.py
