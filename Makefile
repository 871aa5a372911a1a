# Two commands do everything on a fresh machine with Python 3.11:
#   make demo   - create .venv, install, run a three-node federation on loopback
#   make test   - create .venv if needed, run the tests
#   make faults - the fault-injection suite with its full profile (make test runs it short)
#   make fuzz   - fuzz every adapter's decode, the drop folder and envelope opening (TAMGA_FUZZ_SECONDS per target)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# make test runs the tests on this many pytest-xdist workers, each test file on one worker (module fixtures
# such as a conformance target node are shared within a file). TEST_WORKERS=0 runs them in this process.
TEST_WORKERS ?= 2
BUF_VERSION := 1.75.0
BUF    := $(VENV)/buf/node_modules/.bin/buf

.PHONY: all venv demo test faults fuzz proto proto-check bench lint lint-proto clean browser

all: test

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Tamga needs Python 3.11 or newer; set PYTHON=python3.11")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m tamga.tools.demo

test: $(STAMP) browser
	@if command -v npm >/dev/null 2>&1; then $(MAKE) --no-print-directory lint-proto; \
	  else echo "note: npm not found, skipping buf lint of proto/ (make lint runs it)"; fi
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

# The conformance report tests open report.html in real headless Chromium. Debian's package, installed
# when /usr/bin/chromium is missing (needs root or sudo and apt-get).
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  if ! command -v apt-get >/dev/null 2>&1; then \
	    echo "make browser: $(CHROMIUM) is missing and apt-get is not available; install Debian's chromium package or equivalent so that /usr/bin/chromium exists" >&2; exit 1; fi; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium \
	    || { echo "make browser: apt-get could not install chromium (Debian package 'chromium')" >&2; exit 1; }; \
	fi

# The fault-injection suite, full profile: 5,000 records through 20 SIGKILL cycles, 5,000 through 20 network
# faults, a 30 s peer outage, 5,000 through 10 full disks on the receiver (a tmpfs as root, else RLIMIT_FSIZE;
# TAMGA_FAULTS_DISK picks one); one FAULTS line per scenario. `make test` runs the same suite short.
faults: $(STAMP)
	TAMGA_FAULTS_PROFILE=full $(BIN)/python -m pytest -m faults -s -o timeout=1800 tests/faults

# Fuzzing: each adapter's decode, the drop folder of a real node (one per adapter) and envelope opening, for
# TAMGA_FUZZ_SECONDS (default 60) per target, seeded from the samples and from deep, huge and binary inputs; one
# FUZZ line per target, crashes saved (and minimised) in fuzz-crashes/. FUZZ_TARGET=eaeu (or eaeu.drop...) picks.
# atheris (coverage-guided) is installed into the venv when missing; where it cannot be, hypothesis runs instead.
fuzz: $(STAMP)
	@$(BIN)/python -c 'import atheris' 2>/dev/null || $(BIN)/python -m pip install --quiet -e '.[dev,fuzz]' \
	  || echo "make fuzz: atheris could not be installed; fuzzing with hypothesis instead (not coverage-guided)"
	$(BIN)/python -m tamga.tools.fuzz $(if $(FUZZ_TARGET),--target $(FUZZ_TARGET))

proto: $(STAMP)
	$(BIN)/python tools/gen_proto.py

proto-check: $(STAMP)
	$(BIN)/python tools/gen_proto.py --check

bench: $(STAMP)
	$(BIN)/python -m tamga.tools.bench

$(BUF):
	npm install --silent --no-audit --no-fund --prefix $(VENV)/buf @bufbuild/buf@$(BUF_VERSION)

lint-proto: $(STAMP) $(BUF)
	cd proto && ../$(BUF) lint

lint: $(STAMP) lint-proto proto-check
	$(BIN)/ruff check node adapters tools tests

clean:
	rm -rf $(VENV) build *.egg-info demo-federation bench-run
