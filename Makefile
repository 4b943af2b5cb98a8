# Two entry points, both from a fresh clone: `make demo` and `make test`.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench

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

test: $(STAMP)  ## lint, type-check and run every test
	$(VENV)/bin/ruff check codemode_kernel tests benches examples notebooks
	$(VENV)/bin/mypy
	$(VENV)/bin/pytest

bench: $(STAMP)
	$(PY) benches/run_all.py
