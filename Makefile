# The two commands of the quick start: `make lab` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8888
STAMP := $(VENV)/.installed-stamp
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test venv sync nbtest pytest wheel browser-deps postgres-deps readme bench clean

# Create .venv when missing and (re)install lepton_nb editable with dev extras when the package spec changes.
$(STAMP): settings.ini setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@echo "Installing lepton_nb[dev] into $(VENV) (log: $(VENV)/install.log) ..."
	@$(BIN)/python -m pip install --upgrade pip > $(VENV)/install.log 2>&1 && \
	  $(BIN)/python -m pip install -e ".[dev]" >> $(VENV)/install.log 2>&1 || \
	  { tail -n 40 $(VENV)/install.log; echo "pip install failed: see $(VENV)/install.log"; exit 1; }
	@touch $(STAMP)

venv: $(STAMP)

lab: $(STAMP)
	@echo "JupyterLab on http://127.0.0.1:$(PORT)/lab (notebooks in nbs/; Ctrl-C to stop)"
	$(BIN)/jupyter lab --no-browser --ip=127.0.0.1 --port=$(PORT) --ServerApp.port_retries=0 \
	  --ServerApp.root_dir=nbs $(ROOT_FLAG)

# Export + clean + README must not change any tracked or untracked file: the library matches the notebooks.
sync: $(STAMP)
	@before=$$(git status --porcelain=v1 -uall | sort; git diff | sha1sum); \
	$(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(BIN)/python tools/readme.py && \
	after=$$(git status --porcelain=v1 -uall | sort; git diff | sha1sum); \
	if [ "$$before" != "$$after" ]; then git status --short; \
	  echo "FAIL: nbdev_export/nbdev_clean/tools/readme.py changed files: notebooks and library are not in sync (commit the result)"; exit 1; fi; \
	echo "sync: library, notebooks and README are in sync"; \
	$(BIN)/python tools/check_notebooks.py nbs && \
	$(BIN)/python tools/check_docments.py lepton_nb && \
	$(BIN)/ruff check --select E9,F lepton_nb tests benchmarks tools && \
	$(BIN)/ruff check --select E501,E702,E703 --line-length 140 --extend-exclude lepton_nb/_modidx.py lepton_nb && \
	echo "lint: ruff clean (E9, F everywhere; exported modules: lines <= 140, no ';'-chained statements)"

nbtest: $(STAMP)
	MPLBACKEND=Agg $(BIN)/nbdev_test --timing --do_print

pytest: $(STAMP)
	MPLBACKEND=Agg $(BIN)/python -m pytest -p no:cacheprovider tests/

# Build sdist + wheel, install the wheel into a clean venv outside the repo and import it from there.
wheel: $(STAMP)
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(BIN)/python -m build --outdir "$$tmp/dist" . > "$$tmp/build.log" 2>&1 || { tail -n 40 "$$tmp/build.log"; exit 1; }; \
	$(PYTHON) -m venv "$$tmp/venv" && \
	"$$tmp/venv/bin/python" -m pip install -q "$$tmp"/dist/*.whl > "$$tmp/pip.log" 2>&1 || { tail -n 40 "$$tmp/pip.log"; exit 1; }; \
	cd "$$tmp" && "$$tmp/venv/bin/python" -c "import lepton_nb, lepton_nb.learner, lepton_nb.data as d; \
	  assert 'site-packages' in lepton_nb.__file__, lepton_nb.__file__; \
	  print('wheel OK:', lepton_nb.__version__, lepton_nb.__file__, d.load_dataset('mnist_sample'))"

# The browser tests drive Debian's Chromium through Playwright (no browser download): install it when missing.
browser-deps:
	@command -v chromium > /dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	    echo "Installing Debian's chromium for the browser tests (apt-get) ..."; \
	    apt-get update -qq > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium > /dev/null; \
	  else echo "chromium is missing and cannot be installed here (not root): the browser tests will be skipped"; fi; }

# The shared-study tests start their own PostgreSQL server (tests/postgres_server.py): install Debian's package when missing.
postgres-deps:
	@ls /usr/lib/postgresql/*/bin/initdb > /dev/null 2>&1 || command -v initdb > /dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get > /dev/null; then \
	    echo "Installing Debian's postgresql for the shared-study tests (apt-get) ..."; \
	    apt-get update -qq > /dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql > /dev/null; \
	  else echo "PostgreSQL is missing and cannot be installed here (not root): the PostgreSQL tests will be skipped"; fi; }

test: sync nbtest wheel browser-deps postgres-deps pytest

readme: $(STAMP)
	$(BIN)/python tools/readme.py

bench: $(STAMP)
	$(BIN)/python benchmarks/loop_overhead.py
	$(BIN)/python benchmarks/precision.py
	$(BIN)/python benchmarks/tune_speed.py
	$(BIN)/python benchmarks/keras_overhead.py
	$(BIN)/python benchmarks/tune_resources.py
	$(BIN)/python benchmarks/serve_load.py
	$(BIN)/python benchmarks/data_path.py
	$(BIN)/python benchmarks/distributed.py --json benchmarks/results/distributed_cpu.json

clean:
	rm -rf build dist *.egg-info _proc _docs
