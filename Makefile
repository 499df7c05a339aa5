# `make run` and `make test` do all the set-up on a fresh machine (a virtual environment in .venv) first.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: run test lint docs clean

# KaTeX renders the site's formulas. It is served from the site itself (no CDN: the site works offline), taken at
# set-up from the npm registry and checked against this checksum of its package.
KATEX_VERSION := 0.19.1
KATEX_SHA256 := 24da5a599eb2fcede2e270b99a6ff48bca816beecc95feeb84e8cccbd1bb34fd
KATEX := docs/assets/katex/katex.min.js

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(VENV)/bin/resnetlab train

# One worker per core (pytest-xdist); a module's tests stay on one worker, so its shared fixtures are made once.
# tests/conftest.py gives each worker one thread.
test: $(STAMP) $(KATEX) lint
	$(VENV)/bin/python -m pytest -n auto --dist loadscope

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

docs: $(STAMP) $(KATEX)
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

$(KATEX):
	rm -rf .katex && mkdir .katex
	cd .katex && npm pack --silent katex@$(KATEX_VERSION) >/dev/null
	echo "$(KATEX_SHA256)  .katex/katex-$(KATEX_VERSION).tgz" | sha256sum --check --quiet
	rm -rf docs/assets/katex && mkdir -p docs/assets/katex
	tar -xzf .katex/katex-$(KATEX_VERSION).tgz -C docs/assets/katex --strip-components=2 \
		package/dist/katex.min.css package/dist/fonts package/dist/katex.min.js
	rm -rf .katex

clean:
	rm -rf $(VENV) docs/assets/katex
