"""The models: the sentence embedder, the trained reader, the local or remote LLM, the yes/no model, CPU precision."""
