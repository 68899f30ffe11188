# Set-up on a fresh Debian machine: `make demo` or `make test` installs what is missing.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
APT_PACKAGES := texlive-latex-base texlive-latex-recommended texlive-pictures poppler-utils \
	chromium texlive-latex-extra texlive-fonts-recommended
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ACCEPTANCE := ../shared/acceptance

.PHONY: setup system python demo test quick docs bench clean

setup: system python

system:
	@missing=""; \
	for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	$(PYTHON) -c "import ensurepip" 2>/dev/null || missing="$$missing python3-venv"; \
	if [ -n "$$missing" ]; then \
	  echo "make: installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

python: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-dev.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt -e .
	touch $@

demo: setup
	$(PY) -m convanim arithmetic -i 5 -k 3 -s 2 -a

# Kernel tests run on Numba's CUDA simulator; CONVANIM_TEST_BACKEND=cuda runs them on a GPU.
test: setup
	NUMBA_ENABLE_CUDASIM=$(if $(filter cuda,$(CONVANIM_TEST_BACKEND)),0,1) $(PY) -m pytest
	@if [ -d $(ACCEPTANCE) ]; then \
	  $(PY) -m pytest -p no:cacheprovider $(ACCEPTANCE); \
	else echo "make: $(ACCEPTANCE) not found, contract tests not run"; fi

# The quick tests: no TeX, no browser, none of the slow ones (about a minute on 2 cores).
quick: setup
	NUMBA_ENABLE_CUDASIM=1 $(PY) -m pytest -q -m "not tex and not browser and not slow"

# The documentation site (docs/source, built by convanim's own Sphinx extension), with
# every warning an error; its pages of kinds, gallery and CLI come from the code.
DOCS_OUT ?= docs/_build
docs: setup
	$(PY) -m sphinx -W --keep-going -q -b html -d $(DOCS_OUT)/doctrees docs/source $(DOCS_OUT)/html
	@echo "make: the site is in $(DOCS_OUT)/html/index.html"

bench: setup
	$(PY) benchmarks/render.py
	$(PY) benchmarks/build.py

clean:
	rm -rf out gif build dist *.egg-info .pytest_cache .hypothesis docs/_build
