# Two commands for a new user: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 5000
# Links and QR codes point at the server `make run` starts, unless set otherwise.
PUBLIC_BASE_URL ?= http://127.0.0.1:$(PORT)
export FLASK_APP := app

.PHONY: run test install lint audit translations bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/activate
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

run: export PUBLIC_BASE_URL := $(PUBLIC_BASE_URL)
# gunicorn.conf.py binds 127.0.0.1:$PORT (the same settings as production, docs/deploy.md).
run: export PORT := $(PORT)
run: install
	$(BIN)/flask init-db
	$(BIN)/flask demo --if-empty
	@echo
	@echo "Survey platform: http://127.0.0.1:$(PORT)/"
	@echo "A demo survey:   $$($(BIN)/flask counters list --format csv | sed -n '2p' | cut -d, -f4)"
	@echo "A demo kiosk:    $$($(BIN)/flask kiosks enrol MH-PHT-Q1 2>/dev/null)"
	@echo "                 (opens once, within 15 minutes; another: $(BIN)/flask kiosks enrol MH-PHT-Q1)"
	@echo
	$(BIN)/gunicorn --config gunicorn.conf.py app:app

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

# Known vulnerabilities in the pinned dependencies (pip-audit asks PyPI's advisory service: it
# needs the network, and fails rather than pass when it cannot reach it), and bandit's
# high-severity findings in the code.
audit: install
	@# pip-audit asks PyPI and OSV about each pinned package. Where it cannot (this network
	@# answers neither for every version), it says so per package and still fails on any
	@# vulnerability it does find; the count of packages it could not check is printed.
	@$(BIN)/pip-audit --progress-spinner off --skip-editable > .venv/pip-audit.txt 2>&1; \
	  found=$$?; cat .venv/pip-audit.txt; \
	  echo "make audit: $$(grep -c 'could not be audited' .venv/pip-audit.txt) pinned packages" \
	    "could not be checked from here; pip-audit exit status $$found."; exit $$found
	$(BIN)/bandit -q -r survey analysis app.py gunicorn.conf.py scripts --severity-level high

# The .po catalogues are the one source of the translations: new strings arrive there empty and
# are translated there (Vietnamese: translations/vi/LC_MESSAGES/messages.po).
translations: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --no-location --sort-output -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations --no-fuzzy-matching
	$(BIN)/pybabel compile -d translations --statistics

clean:
	rm -rf $(VENV) instance/*.sqlite3
