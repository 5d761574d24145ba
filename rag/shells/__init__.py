"""The shells over the core: the command line and the web UI (the eval harness is the top-level ``evals`` package)."""
