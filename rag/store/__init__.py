"""The store: Chroma through llama-index (embedded or server), its lock and schema, and the BM25 lexical index."""
