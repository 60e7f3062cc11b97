# avatarcam: `make demo` runs the demo, `make test` passes the tests. Both set up
# everything they need (system packages, .venv, the package) and can be re-run safely.

VENV := .venv
PY := $(VENV)/bin/python
# The first Python 3.10–3.12 on PATH (3.11 first: our CPU torch build is for it).
PYTHON ?= $(shell for v in python3.11 python3.12 python3.10 python3; do \
	command -v $$v >/dev/null 2>&1 && $$v -c 'import sys; sys.exit(not (3, 10) <= sys.version_info[:2] < (3, 13))' 2>/dev/null \
	&& { command -v $$v; break; }; done)
# A fixed torch: a newer or unpinned one pulls several GB of CUDA packages. For an NVIDIA
# GPU, install the CUDA build afterwards (see README, "GPU").
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed

.PHONY: help system venv demo test test-slow bench doctor clean

help:
	@echo "make demo       set up and run the live pipeline on the bundled portrait (writes out/demo.mp4)"
	@echo "make test       set up and run the test suite"
	@echo "make test-slow  set up and run only the slow tests"
	@echo "make bench      set up and print the benchmarks"
	@echo "make doctor     set up and check this machine"

system:
	@bash install/system-packages.sh

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "No Python 3.10–3.12 found: install python3.11 (e.g. apt install python3.11-venv)." >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "$(TORCH_SPEC)"
	$(PY) -m pip install -q -e ".[dev]"
	touch $(STAMP)

venv: system $(STAMP)

demo: venv
	$(VENV)/bin/avatarcam demo --out out

test: venv
	$(PY) -m pytest

test-slow: venv
	$(PY) -m pytest -m slow

bench: venv
	$(VENV)/bin/avatarcam bench audio --plot docs/images/bench_audio.png
	$(VENV)/bin/avatarcam bench render
	$(VENV)/bin/avatarcam bench motion
	$(VENV)/bin/avatarcam bench e2e --plot docs/images/bench_e2e_latency.png

doctor: venv
	-$(VENV)/bin/avatarcam doctor

clean:
	rm -rf $(VENV) build *.egg-info
