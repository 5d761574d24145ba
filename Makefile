# Two commands on a fresh machine:  make run   (set up, index corpus/ + ../shared/corpus, start the chat UI)
#                                   make test  (set up, run the whole test suite)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup ingest run test bench eval clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

ingest: setup
	$(BIN)/rag ingest

run: ingest
	$(BIN)/python app.py

test: setup
	bash scripts/install_browser.sh
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/compare_naive.py

eval: ingest
	$(BIN)/rag eval --report reports/eval.md

clean:
	rm -rf $(VENV) .rag-store
