# The two commands a new user runs: `make demo` and `make test`.
# Needs only python3, make and git. Label Studio (the server) lives in its own
# virtualenv: it pins Django and friends, and keeping it apart leaves the
# toolkit's own dependencies free (users of a team's server never install it).
PYTHON ?= python3
VENV := .venv
STUDIO_VENV := .venv-studio
PIP_FLAGS := -q --disable-pip-version-check
export NO_ALBUMENTATIONS_UPDATE=1 DVC_NO_ANALYTICS=1 LATEST_VERSION_CHECK=false COLLECT_ANALYTICS=false

.PHONY: demo test install venv studio-venv clean ui-check postgres

# Installs are pinned by constraints files (every package at the version the suite last
# passed with), so a fresh machine gets the environment the tests vouch for.
$(VENV)/.installed: pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -c constraints.txt -e '.[dev]'
	touch $@

$(STUDIO_VENV)/.installed: constraints-studio.txt
	$(PYTHON) -m venv $(STUDIO_VENV)
	$(STUDIO_VENV)/bin/python -m pip install $(PIP_FLAGS) --upgrade pip
	$(STUDIO_VENV)/bin/python -m pip install $(PIP_FLAGS) -c constraints-studio.txt 'label-studio==1.23.2'
	touch $@

venv: $(VENV)/.installed

# The environment alone: `source .venv/bin/activate` then puts dataprep and dvc on PATH.
install: $(VENV)/.installed
	@echo "dataprep is installed in $(abspath $(VENV)); run: source $(VENV)/bin/activate"
studio-venv: $(STUDIO_VENV)/.installed

demo: $(VENV)/.installed
	$(VENV)/bin/dataprep demo

# The PostgreSQL-backed Label Studio tests need Debian's postgresql package (initdb, pg_ctl).
postgres:
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
		(echo "installing Debian's postgresql"; (apt-get update -q && apt-get install -y -q postgresql) || \
		 (sudo apt-get update -q && sudo apt-get install -y -q postgresql))

test: $(VENV)/.installed $(STUDIO_VENV)/.installed postgres
	PATH="$(abspath $(VENV))/bin:$$PATH" DATAPREP_LABEL_STUDIO_BIN="$(abspath $(STUDIO_VENV))/bin/label-studio" \
		$(VENV)/bin/python -m pytest -v --durations=15 -n 2 --dist loadfile --no-loadscope-reorder   # one file per worker (its server and fixtures stay together), slowest first (tests/conftest.py)

# What annotators see: a two-round demo through a local Label Studio, then headless
# Chromium logs in and screenshots a task's labeling page with its pre-annotation.
ui-check: $(VENV)/.installed $(STUDIO_VENV)/.installed
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		(echo "installing Debian's chromium"; apt-get install -y -q chromium || sudo apt-get install -y -q chromium)
	$(VENV)/bin/python -m pip install $(PIP_FLAGS) -c constraints.txt -e '.[ui]'
	PATH="$(abspath $(VENV))/bin:$$PATH" DATAPREP_LABEL_STUDIO_BIN="$(abspath $(STUDIO_VENV))/bin/label-studio" \
		$(VENV)/bin/python -m dataprep.demo.ui_check --out reports/ui-check.png --dir ui-check-project

clean:
	rm -rf $(VENV) $(STUDIO_VENV) demo-project ui-check-project .pytest_cache
