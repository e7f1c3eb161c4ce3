# backend-architect: the template's own commands. Needs only python3 and make:
# the first run creates .venv/ with uv and the tools pinned in requirements-dev.txt.
#
#   make demo        render the default answers into ./demo and serve it on 127.0.0.1:8000
#   make tags        tag the releases of releases.toml (vX.Y.Z) in this clone, which
#                    Copier reads the template's versions from (tools/release_tags.py)
#   make test        the whole test suite, slow tests included (what CI runs)
#   make test-fast   everything but the tests marked slow
#   make clean       remove .venv/, the uv cache and the other caches (./demo is kept)
#   make fleet REPOS="../svc-a ../svc-b"
#                    template version, newest release, drift and state of generated
#                    services (tools/fleet.py report; ARGS=--json for JSON)
#
# PYTEST_ARGS adds pytest options: make test PYTEST_ARGS="-k boot -x"

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test-fast

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.requirements-dev.stamp
# One source of truth for the uv version: its pin in requirements-dev.txt.
UV_VERSION := $(shell sed -n 's/^uv==\([^[:space:]]*\).*/\1/p' requirements-dev.txt)
PYTEST_ARGS ?=
# make fleet: the checkouts of generated services, and options of `fleet.py report`.
REPOS ?=
ARGS ?=

# One uv cache for the tools, every generated project and every pytest-xdist worker
# (uv locks its cache, so concurrent installs share it safely).
UV_CACHE_DIR ?= $(CURDIR)/.uv-cache
export UV_CACHE_DIR

.PHONY: demo tags browser promtool redocly mermaid backstage test test-fast clean fleet

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# Re-runs only when requirements-dev.txt changes.
$(STAMP): requirements-dev.txt | $(BIN)/python
	@test -n "$(UV_VERSION)" || { echo "requirements-dev.txt pins no uv==X.Y.Z" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(BIN)/uv pip install --python $(BIN)/python -r requirements-dev.txt
	@touch $@

tags:
	@$(PYTHON) tools/release_tags.py

# The release tags are local until pushed, so making them is harmless, and it lets
# Copier name the version it renders (demo/.copier-answers.yml, `_commit`). A clone
# that cannot have them (a shallow one) still gets its demo.
demo: $(STAMP)
	@$(PYTHON) tools/release_tags.py >/dev/null || echo "demo: rendering without release tags" >&2
	@if [ -e demo ]; then \
		echo "./demo already exists: serving it as it is (rm -rf demo to render it again)."; \
	else \
		$(BIN)/copier copy --trust --defaults --vcs-ref HEAD "$(CURDIR)" demo; \
	fi
	@sed -n 's/^_commit: */demo: generated from the template at /p' demo/.copier-answers.yml
	$(MAKE) -C demo run UV="$(CURDIR)/$(BIN)/uv"

# The boot test opens the default service's /docs in headless Chromium: Debian's
# package, installed here when missing and allowed (as root, CI), else asked for.
# $(call need,COMMAND,PACKAGE,WHAT FOR): install Debian's PACKAGE when COMMAND is
# missing and this is root on Debian; otherwise say what to install.
define need
	@command -v $(1) >/dev/null || { \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			echo "Installing $(2) for $(3) (apt-get install $(2))"; \
			export DEBIAN_FRONTEND=noninteractive; \
			apt-get install -y -q $(2) >/dev/null \
				|| { apt-get update -q >/dev/null && apt-get install -y -q $(2) >/dev/null; }; \
		else \
			echo "The tests need $(2) for $(3): sudo apt-get install $(2)" >&2; exit 1; \
		fi; \
	}
endef

browser:
	$(call need,chromium,chromium,the browser test)

promtool:
	$(call need,promtool,prometheus,the alert rules' tests)

# The OpenAPI lint of tests/test_generated.py: Redocly CLI, pinned, from npm.
REDOCLY_VERSION := 2.77.0
REDOCLY := .npm-tools/node_modules/.bin/redocly
$(REDOCLY):
	$(call need,npm,npm,the OpenAPI lint)
	npm install --silent --no-audit --no-fund --prefix .npm-tools @redocly/cli@$(REDOCLY_VERSION)
redocly: $(REDOCLY)

# tests/test_diagrams.py renders the generated Mermaid diagrams with Mermaid's CLI, in
# Debian's Chromium (Puppeteer's own download is skipped).
MERMAID_CLI_VERSION := 11.17.0
MMDC := .npm-tools/node_modules/.bin/mmdc
$(MMDC):
	$(call need,npm,npm,the diagram tests)
	PUPPETEER_SKIP_DOWNLOAD=1 npm install --silent --no-audit --no-fund --prefix .npm-tools @mermaid-js/mermaid-cli@$(MERMAID_CLI_VERSION)
mermaid: browser $(MMDC)

# tests/test_render.py checks each catalog-info.yaml with Backstage's own entity model
# (tools/catalog_check.cjs).
BACKSTAGE_MODEL_VERSION := 1.10.3
BACKSTAGE_MODEL := .npm-tools/node_modules/@backstage/catalog-model/package.json
$(BACKSTAGE_MODEL):
	$(call need,npm,npm,the software catalog check)
	npm install --silent --no-audit --no-fund --prefix .npm-tools @backstage/catalog-model@$(BACKSTAGE_MODEL_VERSION)
backstage: $(BACKSTAGE_MODEL)

# --durations: the slowest tests, where CI time goes.
test: $(STAMP) browser promtool redocly mermaid backstage
	$(BIN)/pytest -n auto --durations=30 $(PYTEST_ARGS)

# The docs' build test copies Mermaid's script from the npm install into the site.
test-fast: $(STAMP) promtool $(MMDC) $(BACKSTAGE_MODEL)
	$(BIN)/pytest -n auto -m "not slow" $(PYTEST_ARGS)

fleet: $(STAMP)
	@test -n "$(REPOS)" || { echo 'usage: make fleet REPOS="../svc-a ../svc-b" [ARGS=--json]' >&2; exit 2; }
	$(BIN)/python tools/fleet.py report $(ARGS) $(REPOS)

clean:
	rm -rf $(VENV) .uv-cache .npm-tools .pytest_cache .ruff_cache .mypy_cache site
	find . -path ./demo -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +
	@if [ -e demo ]; then echo "./demo was kept (it may hold your changes): rm -rf demo to remove it."; fi
