"""Asking: retrieval, rerank, the question forms, the answerers, citing and verification."""
