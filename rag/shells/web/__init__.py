"""The Gradio web UI: chat handlers, page assembly, HTML rendering, trusted-host checking."""
