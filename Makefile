# The README's two commands: `make run` and `make test`. `make test-fast` runs the fast lane only
# (tests marked `fast`: no PostgreSQL, Redis or network), in seconds.
# Both install exactly what requirements.lock pins (with hashes); pyproject.toml keeps the ranges
# for people who embed the package. `make lock` re-resolves the newest versions those ranges allow
# (pip-tools in a throwaway venv); `make upgrade` does that and runs the suite on them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := requirements.lock
TOOLS  := .venv-tools

.PHONY: run test test-fast lint bench clean lock upgrade messages ext-check extension-assets

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Re-made whenever the lock (or pyproject.toml) changes: installs the pinned set, then the project
# itself without letting pip resolve anything.
$(VENV)/.installed: $(LOCK) pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

# The lock holds the test extra too: what is tested is what runs.
$(VENV)/.installed-test: $(VENV)/.installed
	touch $@

run: $(VENV)/.installed
	$(BIN)/loyalty demo

test: $(VENV)/.installed-test ext-check
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

# The Shopify UI extensions (extensions/, see extensions/README.md): the pinned npm packages
# (`npm ci` from package.json and package-lock.json at the root, where Shopify CLI reads them),
# `tsc --noEmit` over each extension, and their unit tests.
# `make test` runs it first; without npm, or with a Node older than 20, it says so and skips.
ext-check:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "ext-check: npm is not installed: SKIPPED the Shopify extensions' type check and tests"; \
	elif [ "$$(node -p 'process.versions.node.split(".")[0]')" -lt 20 ]; then \
		echo "ext-check: Node $$(node --version) is older than 20: SKIPPED the Shopify extensions' type check and tests"; \
	else \
		npm ci --no-audit --no-fund --loglevel=error && npm run --silent check; \
	fi

# The theme app extension's copies of the widgets (extensions/loyalty-embed/assets/, served by
# Shopify's CDN): rebuilt from widgets/ and the launcher's texts in the catalogue. Run it after
# changing either; tests/test_widget_assets.py fails while the shipped copies are stale.
extension-assets: $(VENV)/.installed
	$(BIN)/python -m plugin_app.http.assets

test-fast: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m fast -q

# Which texts the code and the templates use that a language's catalogue lacks (exit 1 if any);
# `make messages STUB=missing.po` also writes them as a .po stub to translate.
messages: $(VENV)/.installed
	$(BIN)/python -m plugin_app.i18n.extract $(if $(STUB),--stub $(STUB))

bench: $(VENV)/.installed-test
	$(BIN)/python bench/ledger.py
	$(BIN)/python bench/pipeline.py
	$(BIN)/python bench/profile_orders.py
	$(BIN)/python bench/profile_intake.py
	$(BIN)/python bench/ingest.py
	$(BIN)/python bench/cart.py
	$(BIN)/python bench/widget.py
	$(BIN)/python bench/floors.py
	$(BIN)/python bench/analytics.py
	$(BIN)/python bench/finance.py
	$(BIN)/python bench/imports.py
	$(BIN)/python bench/segments.py
	$(BIN)/python bench/simulate.py
	$(BIN)/python bench/scale.py --members 1000000

$(TOOLS)/bin/pip-compile:
	$(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip pip-tools

lock: $(TOOLS)/bin/pip-compile
	$(TOOLS)/bin/pip-compile --quiet --upgrade --generate-hashes --allow-unsafe --strip-extras --extra test \
		--no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml

upgrade: lock test

clean:
	rm -rf $(VENV) $(TOOLS) instance .pytest_cache .hypothesis
